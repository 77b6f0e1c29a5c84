"""Running HiGHS: the method choice and the status of a run (the silent instance,
:func:`new_highs`, is :mod:`optimizer.highs`'s)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np

from optimizer.errors import InputError
from optimizer.highs import new_highs as new_highs  # (re-exported: the solve path imports it here)

if TYPE_CHECKING:
    from optimizer.lp.handoff import LpHandle

INF = highspy.kHighsInf

#: Below this many columns the dual simplex wins; above it interior point with
#: crossover does: they tie at 5-7k columns, IPM is 1.4-3x faster from 1e4 and 13x
#: at 1e5 on cold solves (benchmarks/bench_build_solve.py, docs/performance.md).
SIMPLEX_MAX_COLUMNS = 5_000

METHODS = ("choose", "simplex", "ipm", "pdlp")

#: Objective coefficients above this are scaled down (by a power of two, HiGHS's
#: ``user_objective_scale``) before a run: willingness-to-pay caps of 1e8 USD/t beside
#: transport costs of 10 USD/t make the dual simplex's ratio test fail otherwise.
#: HiGHS unscales the solution, so values, duals and the objective are unchanged.
COST_SCALE_ABOVE = 1e6


def choose_method(method: str, num_col: int) -> str:
    """HiGHS algorithm: the user's choice, or the measured best for this size."""
    if method not in METHODS:
        raise InputError(f"unknown solver method {method!r} (choose one of {', '.join(METHODS)})")
    if method == "choose":
        return "simplex" if num_col <= SIMPLEX_MAX_COLUMNS else "ipm"
    return method


def run_highs(
    handle: LpHandle, method: str = "choose", time_limit: float | None = None, presolve: bool = True
) -> dict[str, Any]:
    """Run HiGHS on the handle; returns status facts (does not raise on infeasibility)."""
    return run_lp(handle.highs, handle.num_col, method, time_limit, presolve)


def run_lp(
    h: highspy.Highs,
    num_col: int,
    method: str = "choose",
    time_limit: float | None = None,
    presolve: bool = True,
) -> dict[str, Any]:
    """Run HiGHS instance ``h`` (an LP of ``num_col`` columns): the facts of
    :func:`run_highs`, for an LP that is not a model's (the extensive form of a plan)."""
    algo = choose_method(method, num_col)
    h.setOptionValue("solver", algo)
    h.setOptionValue("user_objective_scale", objective_scale(h))
    if algo == "ipm":
        h.setOptionValue("run_crossover", "on")
    h.setOptionValue("presolve", "on" if presolve else "off")
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    t0 = time.perf_counter()
    h.run()
    secs = time.perf_counter() - t0
    ms = h.getModelStatus()
    info = h.getInfo()
    return {
        "model_status": ms,
        "status_text": h.modelStatusToString(ms),
        "method": algo,
        "solve_seconds": secs,
        "primal_feasible": info.primal_solution_status == 2,
        "dual_feasible": info.dual_solution_status == 2,
        "objective": info.objective_function_value,
        "iterations": int(info.simplex_iteration_count) + int(info.ipm_iteration_count),
    }


def objective_scale(h: highspy.Highs) -> int:
    """The power of two that brings the largest objective coefficient under
    :data:`COST_SCALE_ABOVE` (0: no scaling)."""
    cost = np.abs(np.asarray(h.getLp().col_cost_, dtype=float))
    top = float(cost.max()) if len(cost) else 0.0
    return -int(np.ceil(np.log2(top / COST_SCALE_ABOVE))) if top > COST_SCALE_ABOVE else 0


def is_optimal(handle: LpHandle) -> bool:
    """True when the last run of ``handle`` ended optimal."""
    return handle.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal


def rerun_simplex(handle: LpHandle, time_limit: float | None = None) -> dict[str, Any]:
    """A warm-started dual simplex from the current basis (after cost or bound changes)."""
    return run_highs(handle, "simplex", time_limit)
