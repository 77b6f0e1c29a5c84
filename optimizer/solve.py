"""One solve: reference → baseline → sets → build → hand-off → run → settle → collect.

:func:`solve` raises :class:`~optimizer.errors.InfeasibleError` (exit 3) when the
LP has no solution (only hard policies can cause that: demand is elastic) and
:class:`~optimizer.errors.SolverError` (exit 4) when HiGHS fails or stops without
a usable solution.  Shortages are a result, never an error.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from pathlib import Path
from typing import Any

import highspy

from optimizer.data.instance import Instance
from optimizer.errors import InfeasibleError, SolverError
from optimizer.lp.export import export_model
from optimizer.lp.handoff import LpHandle, to_highs
from optimizer.lp.iis import diagnose
from optimizer.lp.run import choose_method, run_highs
from optimizer.model.build import build_model
from optimizer.model.reference import Baseline
from optimizer.model.sets import build_sets
from optimizer.policies import registry
from optimizer.results.collect import collect
from optimizer.results.invariants import check_result
from optimizer.results.result import Result

log = logging.getLogger(__name__)

MS = highspy.HighsModelStatus

#: Set this environment variable (to anything) and every solve recomputes its invariants
#: from the output tables (:mod:`optimizer.results.invariants`) and fails on a violation.
CHECK_ENV = "RECHAIN_CHECK_INVARIANTS"
#: Solves checked in this process since it started (read by the test suite).
checked = 0

BASELINE_NOTE = (
    "policies with max_share or ad valorem rates refer to a baseline solve of the same "
    "instance and scenario changes without policies"
)


def baseline_solve(
    inst: Instance,
    method: str = "choose",
    time_limit: float | None = None,
    reference_plan: Result | None = None,
) -> Result | None:
    """The reference solve policies defined relative to "normal" refer to: the same
    instance and scenario changes, without policies (``None`` when no policy needs it).
    ``reference_plan``: the undisrupted plan already solved (:func:`reference_solve`), for
    the idle lines of its long run."""
    if not registry.needs_baseline(inst):
        return None
    free = copy.copy(inst)
    free.policies = []
    return solve(
        free.with_horizon("long"),
        method=method,
        time_limit=time_limit,
        reference_plan=reference_plan,
    )


def has_idle_lines(inst: Instance) -> bool:
    """Whether some stage of ``inst`` states its capacities as output at a utilisation
    (``short_run.utilisation``, docs/horizon.md): its idle lines are priced from the
    reference plan in the long run too."""
    sr = inst.tables.get("short_run")
    return sr is not None and "utilisation" in sr and bool(sr["utilisation"].notna().any())


def needs_reference(inst: Instance) -> bool:
    """Whether a solve of ``inst`` refers to a reference plan: every short run, and the
    long run of a disrupted instance (``inst.reference`` set) with idle lines."""
    if inst.horizon == "short":
        return True
    return inst.reference is not None and has_idle_lines(inst)


def reference_solve(
    inst: Instance, method: str = "choose", time_limit: float | None = None
) -> Result | None:
    """The reference plan the short run stays near (docs/horizon.md): the undisrupted
    instance — ``inst.reference``, or ``inst`` itself — solved with the long horizon
    (``None`` when no solve of ``inst`` refers to one, :func:`needs_reference`)."""
    if not needs_reference(inst):
        return None
    ref = inst.reference if inst.reference is not None else inst
    ref = copy.copy(ref.with_horizon("long"))
    ref.reference = None  # the reference's own long run holds its capacities as stated
    return solve(ref, method=method, time_limit=time_limit)


def build(inst: Instance, baseline: Baseline | None = None, reference: Baseline | None = None):
    """Sets and model of ``inst`` with its policies plugged in (and, in the short run, its
    limits against the ``reference`` plan); (model, build seconds)."""
    t0 = time.perf_counter()
    sets = build_sets(inst, reference)
    cm = build_model(sets, registry.plugins(inst, baseline))
    return cm, time.perf_counter() - t0


def _run(handle: LpHandle, inst: Instance, method: str, time_limit: float | None) -> dict:
    """Run HiGHS; an infeasible or unbounded LP is retried without presolve, then diagnosed."""
    facts = run_highs(handle, method, time_limit)
    if facts["model_status"] in (MS.kInfeasible, MS.kUnboundedOrInfeasible, MS.kUnbounded):
        # retry once without presolve: it tells infeasible from unbounded
        facts = run_highs(handle, method, time_limit, presolve=False)
        ms = facts["model_status"]
        if ms != MS.kOptimal:
            diagnosis = diagnose(handle, inst, time_limit) if ms == MS.kInfeasible else None
            raise InfeasibleError(
                f"the LP is {facts['status_text'].lower()} (HiGHS, presolve off); "
                "elastic demand cannot cause this, so check hard limits in the scenario",
                diagnosis.sentences if diagnosis is not None else None,
                diagnosis,
            )
    return facts


def settle(handle: LpHandle, facts: dict, time_limit: float | None = None) -> dict[str, Any]:
    """Run the plug-ins' settle hooks (warm simplex re-solves); updates ``facts`` in place."""

    def rerun() -> bool:  # only costs change: a warm-started simplex from the last basis
        again = run_highs(handle, "simplex", time_limit)
        again["solve_seconds"] += facts["solve_seconds"]
        again["iterations"] += facts["iterations"]
        if facts["method"] != again["method"] and "+" not in facts["method"]:
            again["method"] = f"{facts['method']}+{again['method']}"
        elif "+" in facts["method"]:
            again["method"] = facts["method"]
        facts.update(again)
        return facts["model_status"] == MS.kOptimal

    return registry.settle(handle, rerun)


def _status(facts: dict, time_limit: float | None = None) -> str:
    """``optimal``, or ``time_limit``/``iteration_limit`` for the best feasible solution
    HiGHS had when it stopped (not optimal: summary.json says so); a stop without a
    feasible solution is a :class:`SolverError` (exit 4)."""
    ms = facts["model_status"]
    if ms == MS.kOptimal:
        return "optimal"
    limit = f": {time_limit:g} s" if ms == MS.kTimeLimit and time_limit is not None else ""
    if ms in (MS.kTimeLimit, MS.kIterationLimit, MS.kInterrupt):
        if facts["primal_feasible"]:
            log.warning(
                "HiGHS stopped (%s%s) with a feasible, possibly suboptimal solution: "
                "the result is the best found so far, not the optimum",
                facts["status_text"],
                limit,
            )
            return "time_limit" if ms == MS.kTimeLimit else "iteration_limit"
        hint = "; give a longer --time-limit" if ms == MS.kTimeLimit else ""
        raise SolverError(
            f"HiGHS stopped ({facts['status_text']}{limit}, {facts['method']}) before finding "
            f"a feasible solution{hint}"
        )
    raise SolverError(f"HiGHS failed: {facts['status_text']}")


def solve(
    inst: Instance,
    *,
    method: str = "choose",
    time_limit: float | None = None,
    export: str | Path | None = None,
    reference_plan: Result | None = None,
    baseline_plan: Result | None = None,
) -> Result:
    """Build, hand off, solve and collect results for ``inst``.

    ``reference_plan`` and ``baseline_plan`` are solves already made of the undisrupted
    instance and of the instance without policies (:func:`reference_solve`,
    :func:`baseline_solve`) over periods that include ``inst``'s: rolling decisions solve
    them once for every month's plan (:mod:`optimizer.analysis.rolling`).
    """
    choose_method(method, 0)  # validate early
    ref = (
        reference_plan
        if reference_plan is not None and needs_reference(inst)
        else reference_solve(inst, method, time_limit)
    )
    base = (
        baseline_plan
        if baseline_plan is not None and registry.needs_baseline(inst)
        else baseline_solve(inst, method, time_limit, reference_plan=ref)
    )
    cm, build_seconds = build(
        inst,
        base.as_baseline() if base is not None else None,
        ref.as_baseline() if ref is not None else None,
    )
    handle = to_highs(cm, names=export is not None)
    if export is not None:
        export_model(handle, export)
    facts = _run(handle, inst, method, time_limit)
    settled = settle(handle, facts, time_limit) if facts["model_status"] == MS.kOptimal else {}
    res = collect(inst, handle, facts, _status(facts, time_limit), build_seconds)
    for kind, info in settled.items():
        res.summary[kind] = info
    for kind, info in registry.summaries(handle, res).items():
        res.summary.setdefault(kind, {}).update(info)
    res.summary["horizon"] = inst.horizon
    if ref is not None:
        res.summary["reference_objective"] = ref.objective
        res.summary["reference_scenarios"] = list(ref.summary["scenarios"])
        res.extra["reference"] = ref
    if base is not None:
        res.summary["baseline_objective"] = base.objective
        res.summary["baseline_note"] = BASELINE_NOTE
    if os.environ.get(CHECK_ENV):
        verify(inst, res)
    return res


def verify(inst: Instance, res: Result) -> None:
    """Fail (:class:`SolverError`) when a result violates an invariant of its instance."""
    global checked
    problems = check_result(inst, res)
    if problems:
        raise SolverError("invariants violated:\n" + "\n".join(problems[:20]))
    checked += 1
