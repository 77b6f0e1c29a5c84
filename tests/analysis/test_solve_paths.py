"""Every solve path runs through optimizer.solve.solve, so the autouse invariant check
(tests/conftest.py) sees all of them: the counts below would fall if a path bypassed it."""

from __future__ import annotations

from optimizer import load
from optimizer.analysis.survive import time_to_survive
from optimizer.analysis.sweep import run_sweep
from tests.conftest import ROOT, TINY

CHAIN = ROOT / "tests" / "golden" / "chain"


def test_instance_solves_are_checked(checked_solves):
    load(TINY).solve()
    load(TINY).with_scenario("south-mine-halved").solve()
    assert checked_solves() == 2


def test_the_baseline_of_a_share_policy_is_checked(checked_solves):
    res = load(CHAIN, ["export-control"]).solve()
    assert "baseline_objective" in res.summary
    assert checked_solves() == 2  # the baseline without policies, then the case


def test_survive_windows_are_checked(checked_solves):
    sv = time_to_survive(load(CHAIN), ["production-target"], 2026, mode="myopic")
    # the undisrupted plan over both periods, then one window (2026)
    assert len(sv.results) == 2 and checked_solves() == 2


def test_sweep_cases_are_checked(checked_solves):
    res = run_sweep(load(TINY), "halved-x-penalty")
    assert len(res.cases) == 4 and checked_solves() == 4


def test_dask_workers_check_their_solves(tmp_path):
    """Sweep cases solved in Dask worker processes check their invariants there: a result
    that violated one would fail the case (solver_error), so every case is optimal."""
    res = run_sweep(load(TINY), "halved-x-penalty", workers=2)
    assert res.info["engine"].startswith("dask")
    assert (res.cases["status"] == "optimal").all()
    from optimizer.analysis import parallel

    seen = parallel.run_chunks(_worker_env, [(None, [1]), (None, [2])], workers=2)
    assert seen == [["1"], ["1"]]  # the workers run with the check switched on


def _worker_env(_payload, chunk):
    import os

    from optimizer.solve import CHECK_ENV

    return [os.environ.get(CHECK_ENV) for _ in chunk]


def test_a_violated_invariant_fails_the_solve(monkeypatch):
    """The check can fail: a result whose tables break mass balance is an error."""
    import pytest

    import optimizer.solve as s
    from optimizer.errors import SolverError

    real = s.collect

    def broken(*a, **kw):
        res = real(*a, **kw)
        res.flows.loc[res.flows.index[0], "quantity"] += 1.0  # one tonne from nowhere
        return res

    monkeypatch.setattr(s, "collect", broken)
    with pytest.raises(SolverError, match="mass balance"):
        load(TINY).solve()
