"""``rechain plan --frontier`` and the scenario sources ``--from-criticality`` and
``--from-sweep``, checked by hand on the worked example of docs/plan.md.

The chain (tests/analysis/test_plan.py): a mine (100 t, 10 USD/t) ships ore to a market
(1 USD/t) that wants 100 t; a tonne short costs 1,000 USD; ore is worth 500 USD/t.
One stockpile candidate, ore at the market: holding cost h, release cost 20 USD/t.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.analysis.plan import plan
from optimizer.analysis.plan_sources import from_criticality, from_sweep
from optimizer.cli import app
from optimizer.errors import InputError
from tests.analysis.test_plan import CUT, _chain, _stock
from tests.builders import one_mine_one_market, scenario_file

runner = CliRunner()
HALF = "changes:\n  - table: processes\n    where: {id: mine}\n    set: {capacity: 50}\n"


def test_frontier_of_the_worked_example_is_its_two_plans(tmp_path):
    """p(cut) = 0.2, h = 250: a stocked tonne adds 54 USD of expected cost and removes
    500 USD of CVaR, so the plan is empty below lambda = 0.108 and stocks 100 t above."""
    inst, cut = _chain(tmp_path, value=500)
    res = plan(inst, [cut, "none"], [0.2, 0.8], stockpiles=_stock(250), frontier=5)
    f = res.frontier
    assert f["risk_weight"].tolist() == [0.0, 1.0]
    # empty: 0.8 x 1,100 + 0.2 x 100,000; the cut (p 0.2 > 1 - alpha) is the tail
    assert f["expected_cost"].tolist() == pytest.approx([20_880, 26_280])
    assert f["cvar"].tolist() == pytest.approx([50_000, 0], abs=1e-6)
    assert f["stockpile_t"].tolist() == pytest.approx([0, 100])
    assert f["first_stage_cost"].tolist() == pytest.approx([0, 25_000])
    assert f["expected_unmet_value"].tolist() == pytest.approx([10_000, 0], abs=1e-6)
    assert f["objective"].tolist() == pytest.approx([20_880, 26_280])
    info = res.summary["frontier"]
    # weights 0, 1, 10 (no lower CVaR: the end), then 54 / 500 = 0.108, where both tie:
    # the segment is the frontier, nothing lies between
    assert info["solves"] == 4 and info["points"] == 2 and info["complete"]
    p = res.frontier_plans
    assert p[["point", "kind", "id", "amount"]].values.tolist() == [
        [2, "stockpile", "mkt:ore", 100.0]
    ]
    # the plan itself is the one at weight 0
    assert res.plan.empty and res.objective == pytest.approx(20_880)


def test_frontier_finds_the_plan_between_two_breakpoints(tmp_path):
    """Scenarios: none 0.8, half (the mine at 50 t) 0.15, cut 0.05; alpha 0.9, h = 250.

    Stocking S <= 50 t saves 0.2 x 980 = 196 USD a tonne (E + 54/t) and lowers the CVaR
    (the tail: the cut and 0.05 of the half) by 500 USD/t; beyond 50 t only the cut
    draws it: 0.05 x 980 = 49 saved (E + 201/t), CVaR - 250/t.  So S = 0 for
    lambda < 0.108, 50 t up to 0.804 and 100 t above; the ladder finds 0 and 100, the
    weight 12,750 / 37,500 = 0.34 between them the 50 t plan."""
    inst, cut = _chain(tmp_path, value=500)
    half = scenario_file(tmp_path, HALF, "half")
    res = plan(inst, ["none", half, cut], [0.8, 0.15, 0.05], stockpiles=_stock(250), frontier=6)
    f = res.frontier
    assert f["stockpile_t"].tolist() == pytest.approx([0, 50, 100])
    assert f["risk_weight"].tolist() == pytest.approx([0, 0.34, 1.0])
    assert f["expected_cost"].tolist() == pytest.approx([13_462.5, 16_162.5, 26_212.5])
    assert f["cvar"].tolist() == pytest.approx([37_500, 12_500, 0], abs=1e-6)
    assert res.summary["frontier"]["complete"] and res.summary["frontier"]["solves"] == 6
    # each point is the plan of a separate solve at its weight (one LP, costs changed)
    for lam, obj in zip(f["risk_weight"], f["objective"], strict=True):
        one = plan(
            inst,
            ["none", half, cut],
            [0.8, 0.15, 0.05],
            stockpiles=_stock(250),
            risk_weight=lam,
            value_of_information=False,
        )
        assert one.objective == pytest.approx(obj)


def test_frontier_of_at_least_two_points():
    with pytest.raises(InputError, match="--frontier: 1: give at least 2 points"):
        plan(load_tiny(), ["none"], frontier=1)


def load_tiny():
    from tests.conftest import TINY

    return load(TINY)


def _crit(tmp_path, *extra: str):
    inst_dir = one_mine_one_market(tmp_path / "i", [2024], {2024: 100}, storage_cost="")
    crit = tmp_path / "crit"
    r = runner.invoke(app, ["criticality", str(inst_dir), "--out", str(crit), *extra])
    assert r.exit_code == 0, r.output
    return inst_dir, crit


STOCK = ["--stock", "mkt:ore", "--stock-cost", "150", "--release-cost", "20"]


def test_plan_from_criticality_is_the_worked_example(tmp_path):
    """The only non-market element is the mine; its failure with p = 0.2 is the cut of
    the worked example: stock 100 t, RP 16,280, EVPI 12,000."""
    inst_dir, crit = _crit(tmp_path)
    out = tmp_path / "out"
    r = runner.invoke(
        app,
        [
            "plan",
            str(inst_dir),
            "--from-criticality",
            str(crit),
            "--failure-prob",
            "0.2",
            *STOCK,
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    sc = pd.read_csv(out / "scenarios.csv")
    assert sc["scenario"].tolist() == ["none", "without mine"]
    assert sc["probability"].tolist() == pytest.approx([0.8, 0.2])
    assert sc["objective"].tolist() == pytest.approx([16_100, 17_000])
    s = json.loads((out / "summary.json").read_text())
    assert s["objective"] == pytest.approx(16_280)
    assert s["evpi"] == pytest.approx(12_000)
    # the failure holds the mine's columns at 0: averaged with the unbounded columns of
    # none they stay unbounded, so the expected-value problem is the undisrupted chain,
    # stocks nothing, and its plan on the scenarios is the one without a plan
    assert s["vss"] == pytest.approx(s["value_of_plan"]) == pytest.approx(4_600)
    assert s["scenario_source"]["source"] == "criticality"
    assert s["scenario_source"]["failure_prob"] == 0.2
    # by link: the lane's failure is the same cut
    inst = load(inst_dir)
    crit2 = tmp_path / "crit-link"
    assert (
        runner.invoke(
            app, ["criticality", str(inst_dir), "--by", "link", "--out", str(crit2)]
        ).exit_code
        == 0
    )
    specs, probs, _ = from_criticality(inst, crit2, failure_prob=0.2)
    assert [s if isinstance(s, tuple) else s.name for s in specs][1] == "without lane"
    res = plan(inst, specs, probs, stockpiles=_stock(150))
    assert res.objective == pytest.approx(16_280)


def test_from_criticality_errors_exit_2(tmp_path):
    inst_dir, crit = _crit(tmp_path)
    base = ["plan", str(inst_dir)]
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["--from-criticality", str(empty)], "is not a rechain criticality output"),
        (["--from-criticality", str(tmp_path / "gone")], "is not a folder"),
        (["--from-criticality", str(crit), "--failure-prob", "1.5"], "1.5 is not in (0, 1]"),
        (["--from-criticality", str(crit), "-s", "none"], "not both"),
        (["--from-criticality", str(crit), "--prob", "1"], "--prob: probabilities go with -s"),
        (["-s", "none", "--failure-prob", "0.1"], "goes with --from-criticality only"),
        (["-s", "none", "--frontier", "3", "--risk-weight", "0.5"], "not both"),
    ]
    for extra, message in cases:
        r = runner.invoke(app, [*base, *extra])
        assert r.exit_code == 2, (extra, r.output)
        assert message in r.output, (extra, r.output)
    # an element the instance does not have: file, line and column
    t = pd.read_csv(crit / "criticality.csv")
    t.loc[0, "element"] = "atlantis"
    t.to_csv(crit / "criticality.csv", index=False)
    r = runner.invoke(app, [*base, "--from-criticality", str(crit)])
    assert r.exit_code == 2
    assert "criticality.csv:2:element" in r.output.replace("\n", "")
    assert "'atlantis' is not a site" in r.output
    # a table that is not a criticality ranking
    (crit / "criticality.csv").write_text("a,b\n1,2\n")
    r = runner.invoke(app, [*base, "--from-criticality", str(crit)])
    assert r.exit_code == 2 and "not a criticality table" in r.output


def test_from_criticality_probabilities_must_leave_room_for_none(tmp_path):
    folder = tmp_path / "i"
    inst_dir = one_mine_one_market(folder, [2024], {2024: 100}, storage_cost="")
    crit = tmp_path / "crit"
    t = pd.DataFrame(
        {
            "rank": [1, 2],
            "element": ["mine", "mine"],
            "kind": ["site", "site"],
            "status": ["optimal", "optimal"],
        }
    )
    crit.mkdir()
    t.to_csv(crit / "criticality.csv", index=False)
    inst = load(inst_dir)
    with pytest.raises(InputError, match=r"2 cases x 0.6 = 1.2 > 1"):
        from_criticality(inst, crit, failure_prob=0.6)
    specs, probs, info = from_criticality(inst, crit, failure_prob=0.3, cases=1)
    assert probs == pytest.approx([0.7, 0.3]) and info["cases"] == 1


def test_plan_from_sweep_cases_equally_likely(tmp_path):
    """A grid of the cut and no cut: each p = 0.5, so a stocked tonne saves 0.5 x 980 =
    490 > 150: stock 100 t; RP = 15,000 + 0.5 x 1,100 + 0.5 x 100 x 20 = 16,550."""
    inst_dir = one_mine_one_market(tmp_path / "i", [2024], {2024: 100}, storage_cost="")
    spec = tmp_path / "cap.yaml"
    spec.write_text(
        "id: cap\ngrid:\n  mine_cap:\n    table: processes\n    where: {id: mine}\n"
        "    column: capacity\n    set: [100, 0]\n"
    )
    out = tmp_path / "out"
    r = runner.invoke(
        app, ["plan", str(inst_dir), "--from-sweep", str(spec), *STOCK, "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    sc = pd.read_csv(out / "scenarios.csv")
    assert sc["scenario"].tolist() == ["c1: mine_cap=100.0", "c2: mine_cap=0.0"]
    assert sc["probability"].tolist() == [0.5, 0.5]
    s = json.loads((out / "summary.json").read_text())
    assert s["objective"] == pytest.approx(16_550)
    p = pd.read_csv(out / "plan.csv")
    assert p["amount"].tolist() == [100.0]
    # a bad sweep is the sweep's own error (exit 2, file and key)
    spec.write_text(
        "id: cap\ngrid:\n  mine_cap:\n    table: nowhere\n    column: x\n    set: [1]\n"
    )
    r = runner.invoke(app, ["plan", str(inst_dir), "--from-sweep", str(spec)])
    assert r.exit_code == 2 and "cap.yaml" in r.output


def test_from_sweep_with_samples_names_the_draws(tmp_path):
    inst_dir = one_mine_one_market(tmp_path / "i", [2024], {2024: 100}, storage_cost="")
    spec = {
        "id": "mc",
        "samples": 3,
        "seed": 1,
        "uncertain": [
            {
                "name": "cap",
                "table": "processes",
                "where": {"id": "mine"},
                "column": "capacity",
                "scale": {"uniform": [0.5, 1.0]},
            }
        ],
    }
    specs, probs, info = from_sweep(load(inst_dir), spec)
    assert len(specs) == 4 and probs == pytest.approx([0.25] * 4)
    assert specs[0][0] == "c1-s0"
    assert specs[1][0].startswith("c1-s1: cap=")
    caps = [s[1].tables["processes"]["capacity"].iloc[0] for s in specs]
    assert caps[0] == 100 and all(50 <= c <= 100 for c in caps[1:])
    assert info["samples"] == 3 and info["cases"] == 4


def test_cli_frontier_writes_frontier_csv(tmp_path):
    folder = tmp_path / "i"
    inst_dir = one_mine_one_market(folder, [2024], {2024: 100}, storage_cost="")
    com = pd.read_csv(inst_dir / "commodities.csv")
    com["value"] = 500
    com.to_csv(inst_dir / "commodities.csv", index=False)
    cut = scenario_file(tmp_path, CUT, "cut")
    out = tmp_path / "out"
    r = runner.invoke(
        app,
        [
            "plan",
            str(inst_dir),
            "-s",
            cut,
            "-s",
            "none",
            "--prob",
            "0.2",
            "--prob",
            "0.8",
            "--stock",
            "mkt:ore",
            "--stock-cost",
            "250",
            "--release-cost",
            "20",
            "--frontier",
            "4",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    f = pd.read_csv(out / "frontier.csv")
    assert f["point"].tolist() == [1, 2]
    assert f["expected_cost"].tolist() == pytest.approx([20_880, 26_280])
    assert np.allclose(f["cvar"], [50_000, 0])
    p = pd.read_csv(out / "plan_frontier.csv")
    assert p[["point", "risk_weight", "id", "amount"]].values.tolist() == [
        [2, 1.0, "mkt:ore", 100.0]
    ]
    assert "Frontier" in r.output
