"""`rechain solve` end to end: contract files, exported model, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import highspy
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from tests.conftest import TINY

runner = CliRunner()

CONTRACT = {
    "flows.csv": [
        "period",
        "source",
        "target",
        "commodity",
        "quantity",
        "source_country",
        "target_country",
    ],
    "production.csv": ["period", "site", "process", "activity"],
    "shortages.csv": ["period", "market", "commodity", "demand", "served", "unmet"],
    "prices.csv": ["period", "site", "commodity", "marginal_cost"],
    "bottlenecks.csv": [
        "constraint",
        "kind",
        "site",
        "country",
        "period",
        "shadow_price",
        "utilization",
    ],
}
SUMMARY_KEYS = {
    "status",
    "objective",
    "total_demand",
    "total_unmet",
    "instance",
    "scenarios",
    "solver",
    "build_seconds",
    "solve_seconds",
}


def _highs_objective(path) -> float:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


@pytest.mark.parametrize("suffix", [".mps", ".lp"])
def test_solve_writes_contract_files_and_exact_model(tmp_path, suffix):
    out = tmp_path / "out"
    model = out / f"model{suffix}"
    r = runner.invoke(app, ["solve", str(TINY), "--out", str(out), "--export-model", str(model)])
    assert r.exit_code == 0, r.stdout + r.stderr
    for fname, cols in CONTRACT.items():
        df = pd.read_csv(out / fname)
        assert set(cols) <= set(df.columns), (fname, df.columns)
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= SUMMARY_KEYS
    assert summary["status"] == "optimal"
    assert summary["objective"] == pytest.approx(2_925_000)
    assert summary["total_demand"] == pytest.approx(350)
    assert summary["total_unmet"] == 0
    # the exported file is the LP that was solved: same optimum with raw HiGHS
    assert _highs_objective(model) == pytest.approx(summary["objective"], rel=1e-9)
    assert not [p for p in out.iterdir() if p.name.startswith(".rechain-")], (
        "temp files left behind"
    )


def test_terminal_summary_names_shortages_and_bottlenecks():
    r = runner.invoke(app, ["solve", str(TINY), "-s", "south-mine-halved"])
    assert r.exit_code == 0
    assert "optimal" in r.stdout
    assert "market_us" in r.stdout
    # the bottleneck by its process and site, not a bracketed constraint id
    assert re.search(r"mine_south\w*\s+│ mine_south\s+│ MM\s+│\s+2024 │", r.stdout), r.stdout
    assert "process_capacity[" not in r.stdout
    assert "7,559,000" in r.stdout


def test_python_dash_m_is_the_cli(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "optimizer", "solve", str(TINY), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert "Running HiGHS" not in p.stdout  # the solver banner is swallowed
    assert json.loads((tmp_path / "summary.json").read_text())["objective"] == pytest.approx(
        2_925_000
    )


def test_validate_prints_summary():
    r = runner.invoke(app, ["validate", str(TINY)])
    assert r.exit_code == 0
    assert "valid" in r.stdout and "Sites by stage" in r.stdout and "magnet_ht" in r.stdout


def test_time_limit_without_solution_exits_4(tmp_path):
    # a zero time limit stops HiGHS before any solution
    r = runner.invoke(app, ["solve", str(TINY), "--time-limit", "0", "--method", "ipm"])
    assert r.exit_code == 4, r.stdout + r.stderr
    assert "HiGHS stopped" in r.stderr


def test_method_choice_gives_same_optimum():
    from optimizer import load

    inst = load(TINY)
    objs = {m: inst.solve(method=m).objective for m in ("simplex", "ipm")}
    assert objs["simplex"] == pytest.approx(objs["ipm"], rel=1e-8)


def test_unknown_method_is_input_error():
    r = runner.invoke(app, ["solve", str(TINY), "--method", "magic"])
    assert r.exit_code == 2
    assert "unknown solver method" in r.stderr


def test_xlsx_workbook(tmp_path):
    book = tmp_path / "r.xlsx"
    r = runner.invoke(app, ["solve", str(TINY), "--xlsx", str(book)])
    assert r.exit_code == 0, r.stderr
    sheets = pd.read_excel(book, sheet_name=None)
    assert {"summary", "flows", "shortages", "prices", "bottlenecks", "concentration"} <= set(
        sheets
    )
    assert sheets["flows"]["quantity"].sum() == pytest.approx(900)


def test_multi_year_terminal_shows_periods_and_the_projects_built():
    # representative years (2024, 2026, ... 2035) are never summed: one row per period;
    # the projects built are listed with where, when, committed or chosen
    from tests.conftest import INSTANCES

    r = runner.invoke(
        app, ["solve", str(INSTANCES / "world-2024-2035"), "-s", "cn-controls-2025-04-from-2026"]
    )
    assert r.exit_code == 0, r.stdout
    assert "per period)" in r.stdout
    short = r.stdout.split("per period)")[1].split("Projects built")[0]
    assert " 2035 " in short and " 2024 " not in short  # no shortage before the controls
    assert "Projects built (28 of 35" in r.stdout
    assert "evac_sumter" in r.stdout and "committed" in r.stdout and "chosen" in r.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["solve", "world-2024", "-s", "cn-export-controls-2025-04", "--horizon", "short"],
        ["compare", "world-2024", "--baseline", "-s", "cn-export-controls-2025-04"],
    ],
    ids=["solve", "compare"],
)
def test_terminal_output_fits_80_columns_without_folding_numbers(args):
    import os
    import re
    import shlex
    import shutil

    from tests.conftest import INSTANCES

    if shutil.which("script") is None:
        pytest.skip("needs script(1) for a pseudo-terminal")
    args = [str(INSTANCES / a) if a == "world-2024" else a for a in args]
    cmd = shlex.join([sys.executable, "-m", "optimizer", *args]) + " 2>/dev/null"
    # a real terminal 80 columns wide (script(1) gives the command a pseudo-terminal)
    run = subprocess.run(
        ["script", "-qec", cmd, "/dev/null"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80", "LINES": "50", "TERM": "dumb"},
    )
    assert run.returncode == 0, run.stdout
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", run.stdout).replace("\r", "")
    lines = text.splitlines()
    run.stdout = text
    assert max(len(line) for line in lines) <= 80, [x for x in lines if len(x) > 80]
    # table rows: every cell that holds a number holds all of it (no digit group split
    # over two lines, so no row continues with a lone digit group)
    rows = [x for x in lines if "│" in x]
    assert rows
    for x in rows:
        first = x.split("│")[0].strip()
        numbers = [c.strip() for c in x.split("│")[1:]]
        if not first:  # a continuation line holds text only, never part of a number
            assert all(not re.search(r"\d", c) or not re.fullmatch(r"[\d,.]+", c) for c in numbers)
    if args[0] == "solve":
        assert re.search(r"mkt_us_defense\s+│ defense\s+│\s+1,021 │\s+901 │\s+88.3 │", run.stdout)
