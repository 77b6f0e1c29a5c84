"""A time limit too short for the LP: exit 4 with a message that names the limit, and
nothing written (no half result); the synthetic chain of benchmarks/synthetic.py (about
30,000 variables, ~4 s to optimality with ipm here, longer with simplex) is large enough
that 0.1 s never suffices."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from benchmarks.synthetic import write_instance
from optimizer import load
from optimizer.cli import app
from optimizer.errors import EXIT_SOLVER, SolverError

pytestmark = pytest.mark.slow

runner = CliRunner()
LIMIT = 0.1


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic") / "synth_3e4"
    stats = write_instance(folder, 3e4, seed=0)
    assert stats["vars_estimate"] > 25_000
    return folder


@pytest.mark.parametrize("method", ["simplex", "ipm"])
def test_a_time_limit_hit_before_any_solution_exits_4_and_writes_nothing(large, tmp_path, method):
    out, book = tmp_path / "out", tmp_path / "x.xlsx"
    r = runner.invoke(
        app,
        ["solve", str(large), "--time-limit", str(LIMIT), "--method", method]
        + ["--out", str(out), "--xlsx", str(book)],
    )
    assert r.exit_code == EXIT_SOLVER, r.output
    assert (
        f"HiGHS stopped (Time limit reached: {LIMIT:g} s, {method}) before finding a "
        "feasible solution; give a longer --time-limit"
    ) in r.output
    assert "Traceback" not in r.output
    assert not out.exists() and not book.exists()  # no result, not a half one
    assert list(tmp_path.iterdir()) == []


def test_the_api_raises_a_solver_error(large):
    with pytest.raises(SolverError, match="Time limit reached: 0.1 s") as e:
        load(large).solve(time_limit=LIMIT, method="ipm")
    assert e.value.exit_code == EXIT_SOLVER
