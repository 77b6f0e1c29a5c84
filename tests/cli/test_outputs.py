"""Outputs: every path checked before any work, result folders replaced all or nothing,
no formula from the data in a workbook, no leftovers of a killed run."""

from __future__ import annotations

import os

import openpyxl
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.fileio import TEMP_PREFIX, clean_leftovers, write_folder
from tests.conftest import TINY

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("not a folder")
    return f


@pytest.mark.parametrize(
    "args, message",
    [
        (["solve", TINY, "--out", "{file}"], "--out: {file} is a file, not a folder"),
        (["solve", TINY, "--report", "{dir}"], "--report: {dir} is a folder: give a file name"),
        (["solve", TINY, "--xlsx", "{dir}/x.csv"], "the file name must end in .xlsx"),
        (["solve", TINY, "--report", "{dir}/r.txt"], "the file name must end in .html or .htm"),
        (["solve", TINY, "--export-model", "{dir}/m.txt"], "must end in .mps or .lp"),
        (["solve", TINY, "--report", "{file}/r.html"], "{file} is a file, not a folder"),
        (["solve", TINY, "--out", "{file}/sub/d"], "{file} is a file, not a folder"),
        (["criticality", TINY, "--out", "{file}"], "is a file, not a folder"),
        (["sweep", TINY, "halved-x-penalty", "--out", "{file}"], "is a file, not a folder"),
        (
            ["compare", TINY, "--baseline", "-s", "south-mine-halved", "--out", "{file}"],
            "not a folder",
        ),
        (["report", "{dir}", "--out", "{dir}"], "is a folder: give a file name"),
    ],
)
def test_bad_output_paths_exit_2_before_any_work(tmp_path, a_file, args, message):
    fill = {"file": str(a_file), "dir": str(tmp_path)}
    r = _run(*[str(a).format(**fill) for a in args])
    assert r.exit_code == 2, r.output
    assert message.format(**fill) in r.output
    assert "Traceback" not in r.output
    assert "optimal" not in r.output  # nothing was solved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_an_infeasible_run_leaves_no_earlier_summary(tmp_path):
    out = tmp_path / "out"
    assert _run("solve", TINY, "--out", out).exit_code == 0
    (out / "criticality.csv").write_text("rank,element\n")  # another command's file
    target = tmp_path / "target.yaml"
    target.write_text(
        "id: target\ntitle: an impossible target\npolicies:\n"
        "  - type: production_target\n    sites: [mine_south]\n"
        "    commodities: [ore_heavy]\n    min: 1.0e+6\n"
    )
    r = _run("solve", TINY, "-s", target, "--out", out)
    assert r.exit_code == 3, r.output
    assert sorted(p.name for p in out.iterdir()) == [
        "criticality.csv",
        "diagnosis.json",
        "infeasible.txt",
        "provenance.json",
    ]
    assert _run("solve", TINY, "--out", out).exit_code == 0  # and back: no diagnosis left
    names = {p.name for p in out.iterdir()}
    assert "summary.json" in names and "criticality.csv" in names
    assert not names & {"infeasible.txt", "diagnosis.json"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_write_folder_swaps_the_whole_folder(tmp_path):
    out = tmp_path / "o"
    write_folder(out, {"a.csv": "1\n", "summary.json": {"run": 1}})
    (out / "mine.txt").write_text("the user's")
    before = os.stat(out).st_ino
    write_folder(out, {"a.csv": "2\n"}, owns=["summary.json"])
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "mine.txt"]
    assert (out / "a.csv").read_text() == "2\n" and (out / "mine.txt").read_text() == "the user's"
    assert os.stat(out).st_ino != before  # a new folder, swapped in at once
    assert oct(os.stat(out).st_mode & 0o777) == oct(0o777 & ~_umask())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]


def _umask() -> int:
    u = os.umask(0)
    os.umask(u)
    return u


def test_leftovers_of_a_killed_run_are_cleaned_or_restored(tmp_path):
    dead = 2**22 + 12345  # above pid_max: no such process
    (tmp_path / f"{TEMP_PREFIX}{dead}-new-abc").mkdir()
    (tmp_path / f"{TEMP_PREFIX}{dead}-x.csv.tmp").write_text("half")
    aside = tmp_path / f"{TEMP_PREFIX}{dead}-old-results"  # killed between two renames
    aside.mkdir()
    (aside / "summary.json").write_text("{}")
    mine = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-new-live"  # a run in progress: kept
    mine.mkdir()
    removed = clean_leftovers(tmp_path)
    assert len(removed) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["results", mine.name])
    assert (tmp_path / "results" / "summary.json").exists()


def test_no_formula_from_the_data_in_the_workbook(tmp_path):
    from optimizer import load

    res = load(TINY).solve()
    hostile = '=HYPERLINK("http://example.invalid","x")'
    res.summary["instance"] = hostile
    res.shortages = res.shortages.assign(market="=cmd|' /C calc'!A0")
    book = res.to_excel(tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(book)
    cells = [c for ws in wb for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert hostile in texts and "=cmd|' /C calc'!A0" in texts  # kept, as text
