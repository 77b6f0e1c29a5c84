"""Conflicting hard policies: exit 3, an IIS from HiGHS naming the conflicting policies (and
what else is involved), written to --out as the only output, no traceback.

On the two-mine instance of tests/test_environment.py the cap ``cn-eco`` (at most 100 t of
tailings in China, 2 t per t of ore: at most 50 t of ore) cannot hold together with the
target ``cn-target`` (at least 80 t of ore in China).
"""

from __future__ import annotations

import json
import subprocess
import sys

import highspy
import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.cli import app
from optimizer.errors import InfeasibleError
from tests.builders import cap, target, two_mines
from tests.builders import scenario_file as scenario

runner = CliRunner()


@pytest.fixture
def conflict(tmp_path):
    folder = two_mines(tmp_path / "two")
    return folder, scenario(tmp_path, "policies:\n" + cap(max=100) + target(min=80), "conflict")


def test_conflicting_policies_exit_3_and_name_both(conflict, tmp_path):
    folder, sc = conflict
    out = tmp_path / "out"
    r = runner.invoke(app, ["solve", str(folder), "-s", sc, "--out", str(out)])
    text = r.stdout + r.stderr
    assert r.exit_code == 3, text
    assert "Traceback" not in text
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit)
    assert (
        "policy cn-eco (environmental_cap: tailings <= 100 t in CN, 2024) conflicts with "
        "policy cn-target (production_target: >= 80 t of ore in CN, 2024)" in text
    )
    assert "HiGHS" in text and "IIS" in text
    # the diagnosis, and nothing else
    assert sorted(p.name for p in out.iterdir()) == [
        "diagnosis.json",
        "infeasible.txt",
        "provenance.json",  # the solve part: what the diagnosis is of
    ]
    assert "cn-eco" in (out / "infeasible.txt").read_text()
    diag = json.loads((out / "diagnosis.json").read_text())
    assert diag["status"] == "infeasible"
    assert {p["id"] for p in diag["policies"]} == {"cn-eco", "cn-target"}
    assert sorted(r["constraint"] for r in diag["rows"]) == [
        "environmental_cap[cn-eco,tailings,2024]",
        "production_target[cn-target,ore,2024]",
    ]
    assert diag["method"].startswith("HiGHS") and "irreducible" in diag["method"]


def test_conflict_from_the_real_command_line(conflict, tmp_path):
    folder, sc = conflict
    p = subprocess.run(
        [sys.executable, "-m", "optimizer", "solve", str(folder), "-s", sc],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 3, p.stderr
    assert "cn-eco" in p.stderr and "cn-target" in p.stderr
    assert "Traceback" not in p.stderr + p.stdout


def test_infeasible_error_carries_the_diagnosis(conflict):
    folder, sc = conflict
    with pytest.raises(InfeasibleError) as e:
        load(folder, [sc]).solve()
    assert e.value.exit_code == 3
    d = e.value.details
    assert [p["type"] for p in d.policies] == ["environmental_cap", "production_target"]
    assert d.sentences[0].startswith("policy cn-eco (")
    assert d.bounds == []


def test_target_above_capacity_names_the_capacity(tmp_path):
    # demand 200 t, so the 100 t capacity of cn (not the market) is what stops 150 t
    folder = two_mines(tmp_path / "two", demand=200)
    sc = scenario(tmp_path, "policies:\n" + target(where="sites: [cn]", min=150))
    with pytest.raises(InfeasibleError) as e:
        load(folder, [sc]).solve()
    assert e.value.diagnosis[:2] == [
        "policy cn-target (production_target: >= 150 t of ore at cn, 2024) cannot be met",
        "given: capacity of process cn at cn (100 per period, 2024)",
    ]


def test_target_above_demand_names_the_mass_balance(tmp_path):
    # the mines can make 200 t, but ore cannot be disposed of or stored and the market
    # takes only 100 t
    folder = two_mines(tmp_path / "two")
    sc = scenario(tmp_path, "policies:\n" + target(where="sites: [cn, au]", min=150))
    with pytest.raises(InfeasibleError) as e:
        load(folder, [sc]).solve()
    assert e.value.diagnosis[1] == (
        "given: mass balance of ore at cn (no disposal, 2024); "
        "mass balance of ore at au (no disposal, 2024); "
        "mass balance of ore at eu (demand 100 t, no disposal, 2024)"
    )


def test_deletion_filter_when_highs_gives_no_iis(conflict, monkeypatch):
    folder, sc = conflict
    monkeypatch.setattr(
        highspy.Highs, "getIis", lambda self: (highspy.HighsStatus.kError, highspy.HighsIis())
    )
    with pytest.raises(InfeasibleError) as e:
        load(folder, [sc]).solve()
    d = e.value.details
    assert d.method.startswith("deletion filter")
    assert {p["id"] for p in d.policies} == {"cn-eco", "cn-target"}


def test_a_later_solve_removes_a_stale_diagnosis(conflict, tmp_path):
    folder, sc = conflict
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(folder), "-s", sc, "--out", str(out)]).exit_code == 3
    r = runner.invoke(app, ["solve", str(folder), "--out", str(out)])
    assert r.exit_code == 0, r.stdout + r.stderr
    names = {p.name for p in out.iterdir()}
    assert "summary.json" in names and not names & {"infeasible.txt", "diagnosis.json"}
