"""Every output folder records where it came from (``provenance.json``: instance,
scenarios, a content hash of the input files, the rechain version), and ``rechain
report`` refuses to show parts made from different inputs together."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from optimizer import __version__, load
from optimizer.cli import app
from optimizer.results.provenance import provenance
from tests.analysis.test_survive import ban, chain
from tests.conftest import INSTANCES, TINY

runner = CliRunner()
FIELDS = {
    "part",
    "instance",
    "instance_path",
    "scenarios",
    "scenario_files",
    "other_files",
    "horizon",
    "instance_sha256",
    "inputs_sha256",
    "rechain_version",
    "files",
}


def _run(*args, code=0):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == code, r.output
    return r


def _parts(folder):
    return json.loads((folder / "provenance.json").read_text())["parts"]


def test_every_command_that_writes_a_folder_records_its_part(tmp_path):
    out = tmp_path / "out"
    _run("solve", TINY, "-s", "south-mine-halved", "--out", out)
    _run("criticality", TINY, "-s", "south-mine-halved", "--out", out)
    parts = _parts(out)
    assert sorted(parts) == ["criticality", "solve"]
    for name, p in parts.items():
        assert set(p) == FIELDS and p["part"] == name
        assert p["instance"] == "tiny" and p["scenarios"] == ["south-mine-halved"]
        assert p["rechain_version"] == __version__
        assert p["scenario_files"][0].endswith("scenarios/south-mine-halved.yaml")
    assert parts["criticality"]["files"] == ["criticality.csv", "criticality_detail.csv"]
    assert "summary.json" in parts["solve"]["files"] and "flows.csv" in parts["solve"]["files"]
    assert parts["solve"]["inputs_sha256"] == parts["criticality"]["inputs_sha256"]
    assert parts["solve"]["inputs_sha256"] != parts["solve"]["instance_sha256"]
    _run("report", out, "--out", tmp_path / "r.html")  # same inputs: merged

    _run("sweep", TINY, "halved-x-penalty", "--out", tmp_path / "sw")
    sw = _parts(tmp_path / "sw")["sweep"]
    assert sw["other_files"][0].endswith("sweeps/halved-x-penalty.yaml")
    assert sw["instance_sha256"] == parts["solve"]["instance_sha256"]
    assert "sweep.csv" in sw["files"]

    _run("compare", TINY, "--baseline", "-s", "south-mine-halved", "--out", tmp_path / "cmp")
    cmp = _parts(tmp_path / "cmp")["compare"]
    assert cmp["cases"] == {
        "baseline": _parts(tmp_path / "cmp" / "baseline")["solve"]["inputs_sha256"],
        "south-mine-halved": parts["solve"]["inputs_sha256"],
    }

    folder = chain(tmp_path / "i", stock=25)
    s = ban(tmp_path / "s")
    _run("survive", folder, "-s", s, "--start", "2026", "--out", tmp_path / "sv")
    sv = _parts(tmp_path / "sv")["survive"]
    assert sv["scenarios"] == ["ban"] and sv["scenario_files"] == [str(s)]
    assert "survival.json" in sv["files"]


def test_the_inputs_hash_is_the_files_content_only(tmp_path):
    """Stable across runs and across the folder the files sit in; changed by one byte of
    any instance or scenario file."""
    a = provenance(load(TINY, ["south-mine-halved"]), "solve")
    assert provenance(load(TINY, ["south-mine-halved"]), "solve") == a
    copy = tmp_path / "elsewhere" / "tiny"
    shutil.copytree(TINY, copy)
    b = provenance(load(copy, ["south-mine-halved"]), "solve")
    assert (b["instance_sha256"], b["inputs_sha256"]) == (a["instance_sha256"], a["inputs_sha256"])
    assert b["instance_path"] != a["instance_path"]
    demand = copy / "demand.csv"
    demand.write_text(demand.read_text().replace("200", "201", 1))
    c = provenance(load(copy, ["south-mine-halved"]), "solve")
    assert c["instance_sha256"] != a["instance_sha256"]
    sc = copy / "scenarios" / "south-mine-halved.yaml"
    shutil.copytree(TINY, tmp_path / "t2")
    sc2 = tmp_path / "t2" / "scenarios" / "south-mine-halved.yaml"
    sc2.write_text(sc.read_text() + "\n# one more line\n")
    d = provenance(load(tmp_path / "t2", ["south-mine-halved"]), "solve")
    assert d["instance_sha256"] == a["instance_sha256"] != d["inputs_sha256"]
    assert d["inputs_sha256"] != a["inputs_sha256"]
    # an instance that extends another hashes the base's files too
    w = provenance(load(INSTANCES / "world-2024-2035"), "solve")
    assert (
        w["instance_sha256"]
        != provenance(load(INSTANCES / "world-2024"), "solve")["instance_sha256"]
    )


def test_report_refuses_parts_of_different_instances(tmp_path):
    out = tmp_path / "out"
    _run("solve", INSTANCES / "world-2024", "--out", out)
    _run("criticality", TINY, "--out", out)  # the tiny chain's chokepoints, same folder
    assert (out / "criticality.csv").is_file() and (out / "summary.json").is_file()
    r = _run("report", out, "--out", tmp_path / "r.html", code=2)
    assert "parts made from different inputs cannot be shown together" in r.output
    assert "solve (summary.json" in r.output and "instance world-2024" in r.output
    assert "criticality (criticality.csv" in r.output and "instance tiny" in r.output
    assert "Traceback" not in r.output and not (tmp_path / "r.html").exists()


def test_report_refuses_parts_of_different_scenarios(tmp_path):
    out = tmp_path / "out"
    _run("solve", TINY, "--out", out)
    _run("criticality", TINY, "-s", "no-heavy-ore", "--out", out)
    r = _run("report", out, "--out", tmp_path / "r.html", code=2)
    assert "scenarios none" in r.output and "scenarios no-heavy-ore" in r.output
    _run("criticality", TINY, "--out", out)  # the part replaced: the same inputs again
    _run("report", out, "--out", tmp_path / "r.html")
    assert (tmp_path / "r.html").is_file()


def test_report_refuses_a_compare_folder_with_a_foreign_case(tmp_path):
    cmp = tmp_path / "cmp"
    _run("compare", TINY, "--baseline", "-s", "south-mine-halved", "--out", cmp)
    _run("report", cmp, "--out", tmp_path / "ok.html")
    _run("solve", TINY, "-s", "no-heavy-ore", "--out", cmp / "south-mine-halved")  # swapped
    r = _run("report", cmp, "--out", tmp_path / "r.html", code=2)
    assert "case 'south-mine-halved' was not made by this comparison" in r.output
    assert "scenarios no-heavy-ore" in r.output


@pytest.mark.parametrize("text", ["not json", '{"parts": 3}', "[]"])
def test_a_broken_provenance_file_is_an_input_error(tmp_path, text):
    out = tmp_path / "out"
    _run("solve", TINY, "--out", out)
    (out / "provenance.json").write_text(text)
    r = _run("report", out, "--out", tmp_path / "r.html", code=2)
    assert "provenance.json" in r.output and "Traceback" not in r.output
    _run("solve", TINY, "--out", out)  # the next write replaces it
    assert sorted(_parts(out)) == ["solve"]
