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
    assert checked_solves["n"] == 2


def test_the_baseline_of_a_share_policy_is_checked(checked_solves):
    res = load(CHAIN, ["export-control"]).solve()
    assert "baseline_objective" in res.summary
    assert checked_solves["n"] == 2  # the baseline without policies, then the case


def test_survive_windows_are_checked(checked_solves):
    sv = time_to_survive(load(CHAIN), ["production-target"], 2026, mode="myopic")
    # the undisrupted plan over both periods, then one window (2026)
    assert len(sv.results) == 2 and checked_solves["n"] == 2


def test_sweep_cases_are_checked(checked_solves):
    res = run_sweep(load(TINY), "halved-x-penalty")
    assert len(res.cases) == 4 and checked_solves["n"] == 4
