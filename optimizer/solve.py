"""Hand the Pyomo model to HiGHS and solve it.

The hand-off uses Pyomo's ``LinearStandardFormCompiler`` (mixed form: rows
keep their ``<=``/``==``/``>=`` sense) and passes the resulting sparse matrix
to ``highspy`` in one call — measured 1.6–3.9× faster than Pyomo's persistent
HiGHS interface (DESIGN.md §10).  Column and row orders are ours, so values
and duals map straight back onto the labelled keys of
:class:`~optimizer.model.core.ChainModel`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np
from pyomo.common.gc_manager import PauseGC
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optimizer.errors import InfeasibleError, InputError, SolverError
from optimizer.model import ChainModel, build_model
from optimizer.sets import build_sets

if TYPE_CHECKING:
    from optimizer.instance import Instance
    from optimizer.results import Result

log = logging.getLogger(__name__)

INF = highspy.kHighsInf

#: Below this many columns the dual simplex wins; above it interior point with
#: crossover does: they tie at 5-7k columns, IPM is 1.4-3x faster from 1e4 and 13x
#: at 1e5 on cold solves (benchmarks/bench_build_solve.py, docs/performance.md).
SIMPLEX_MAX_COLUMNS = 5_000

METHODS = ("choose", "simplex", "ipm", "pdlp")


_BANNER_SHOWN = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance.

    HiGHS prints a banner on stdout when the first instance of a process is
    created, before any option can be set; we swallow it at the file-descriptor
    level so that CLI output and piped CSV stay clean.
    """
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        import sys

        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    return h


@dataclass
class LpHandle:
    """The LP as passed to HiGHS, with the maps back to model components."""

    highs: highspy.Highs
    cm: ChainModel
    #: component name -> (first column, last column + 1) in HiGHS column order
    col_slices: dict[str, tuple[int, int]]
    #: component name -> (first row, last row + 1) in HiGHS row order
    row_slices: dict[str, tuple[int, int]]
    num_col: int
    num_row: int
    nnz: int
    handoff_seconds: float


def to_highs(cm: ChainModel, names: bool = False) -> LpHandle:
    """Compile the Pyomo model to standard form and pass it to a new HiGHS instance."""
    t0 = time.perf_counter()
    col_order = [v for name in cm.var_data for v in cm.var_data[name]]
    row_order = [c for name in cm.con_data for c in cm.con_data[name]]
    with PauseGC():
        repn = LinearStandardFormCompiler().write(
            cm.m, mixed_form=True, set_sense=None, column_order=col_order, row_order=row_order
        )
    if len(repn.columns) != len(col_order) or len(repn.rows) != len(row_order):
        # A variable in no row and not in the objective is dropped by the compiler;
        # our builders never create one, so this is a programming error.
        raise SolverError(
            f"internal error: compiled LP has {len(repn.columns)} columns / {len(repn.rows)} rows, "
            f"model has {len(col_order)} / {len(row_order)}"
        )
    col_slices, start = {}, 0
    for name, data in cm.var_data.items():
        col_slices[name] = (start, start + len(data))
        start += len(data)
    row_slices, start = {}, 0
    for name, data in cm.con_data.items():
        row_slices[name] = (start, start + len(data))
        start += len(data)

    n, m = len(col_order), len(row_order)
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = m
    c = repn.c.toarray().ravel() if repn.c.shape[0] else np.zeros(n)
    lp.col_cost_ = c
    lp.offset_ = float(repn.c_offset[0]) if len(repn.c_offset) else 0.0
    lb = np.zeros(n)
    ub = np.full(n, INF)
    for name, (a, b) in col_slices.items():
        if cm.var_ub.get(name) is not None:
            ub[a:b] = cm.var_ub[name]
        if cm.var_lb.get(name) is not None:
            lb[a:b] = cm.var_lb[name]
    lp.col_lower_ = lb
    lp.col_upper_ = ub
    sense = np.fromiter((s for _, s in repn.rows), dtype=np.int64, count=m)
    rhs = np.asarray(repn.rhs, dtype=float)
    lp.row_lower_ = np.where(sense <= 0, rhs, -INF)  # -1: >=, 0: ==
    lp.row_upper_ = np.where(sense >= 0, rhs, INF)  # +1: <=, 0: ==
    A = repn.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    if names:
        lp.col_names_ = column_names(cm)
        lp.row_names_ = row_names(cm)
    h = new_highs()
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:  # pragma: no cover - defensive
        raise SolverError("HiGHS rejected the model")
    return LpHandle(h, cm, col_slices, row_slices, n, m, int(A.nnz), time.perf_counter() - t0)


def _label(name: str, keys) -> list[str]:
    cols = [keys[c].astype(str) for c in keys.columns if c not in ("rhs", "sense")]
    joined = cols[0]
    for col in cols[1:]:
        joined = joined + "," + col
    return (name + "(" + joined + ")").tolist()


def column_names(cm: ChainModel) -> list[str]:
    """Readable, export-safe column names: ``act(proc,recipe,2024)``."""
    out: list[str] = []
    for name, keys in cm.var_keys.items():
        out.extend(_label(name, keys))
    return out


def row_names(cm: ChainModel) -> list[str]:
    """Readable, export-safe row names: ``balance(site,commodity,2024)``."""
    out: list[str] = []
    for name, keys in cm.con_keys.items():
        out.extend(_label(name, keys))
    return out


def choose_method(method: str, num_col: int) -> str:
    """HiGHS algorithm: the user's choice, or the measured best for this size."""
    if method not in METHODS:
        raise InputError(f"unknown solver method {method!r} (choose one of {', '.join(METHODS)})")
    if method == "choose":
        return "simplex" if num_col <= SIMPLEX_MAX_COLUMNS else "ipm"
    return method


def export_model(handle: LpHandle, path: str | Path) -> None:
    """Write the exact LP passed to HiGHS as MPS or LP (by extension), atomically."""
    path = Path(path)
    if path.suffix.lower() not in (".mps", ".lp"):
        raise InputError(f"--export-model: {path.name}: the file name must end in .mps or .lp")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".rechain-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        status = handle.highs.writeModel(tmp)
        if status == highspy.HighsStatus.kError:
            raise SolverError(f"HiGHS could not write {path}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def run_highs(
    handle: LpHandle, method: str = "choose", time_limit: float | None = None, presolve: bool = True
) -> dict[str, Any]:
    """Run HiGHS on the handle; returns status facts (does not raise on infeasibility)."""
    h = handle.highs
    algo = choose_method(method, handle.num_col)
    h.setOptionValue("solver", algo)
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


def solve(
    inst: Instance,
    *,
    method: str = "choose",
    time_limit: float | None = None,
    export: str | Path | None = None,
) -> Result:
    """Build, hand off, solve and collect results for ``inst``.

    Raises :class:`InfeasibleError` (exit 3) when the LP has no solution and
    :class:`SolverError` (exit 4) on solver failure or a limit hit without a
    usable solution.  Shortages are a result, never an error.
    """
    from optimizer.policies import needs_baseline
    from optimizer.results import collect

    choose_method(method, 0)  # validate early
    baseline = None
    if needs_baseline(inst):
        # share-of-baseline limits and ad valorem tariffs refer to the unconstrained solve
        import copy

        free = copy.copy(inst)
        free.policies = []
        baseline = solve(free, method=method, time_limit=time_limit)
    t0 = time.perf_counter()
    sets = build_sets(inst)
    cm = build_model(sets, inst, baseline)
    build_seconds = time.perf_counter() - t0
    handle = to_highs(cm, names=export is not None)
    if export is not None:
        export_model(handle, export)
    facts = run_highs(handle, method, time_limit)
    ms = facts["model_status"]
    MS = highspy.HighsModelStatus
    if ms in (MS.kInfeasible, MS.kUnboundedOrInfeasible, MS.kUnbounded):
        # retry once without presolve: it tells infeasible from unbounded
        facts = run_highs(handle, method, time_limit, presolve=False)
        ms = facts["model_status"]
        if ms != MS.kOptimal:
            diagnosis = None
            if ms == MS.kInfeasible:
                from optimizer.iis import diagnose

                diagnosis = diagnose(handle, inst, time_limit)
            raise InfeasibleError(
                f"the LP is {facts['status_text'].lower()} (HiGHS, presolve off); "
                "elastic demand cannot cause this, so check hard limits in the scenario",
                diagnosis.sentences if diagnosis is not None else None,
                diagnosis,
            )
    floor_info = None
    if ms == MS.kOptimal and "price_floor" in cm.frames:
        from optimizer.policies.price import settle

        def rerun() -> bool:  # only costs change: a warm-started simplex from the last basis
            nonlocal facts
            first, facts = facts, run_highs(handle, "simplex", time_limit)
            facts["solve_seconds"] += first["solve_seconds"]
            facts["iterations"] += first["iterations"]
            if first["method"] != facts["method"]:  # e.g. ipm, then warm simplex re-solves
                facts["method"] = f"{first['method']}+{facts['method']}"
            return facts["model_status"] == MS.kOptimal

        floor_info = settle(handle, rerun)
        ms = facts["model_status"]
    if ms == MS.kOptimal:
        status = "optimal"
    elif ms in (MS.kTimeLimit, MS.kIterationLimit, MS.kInterrupt) and facts["primal_feasible"]:
        status = "time_limit" if ms == MS.kTimeLimit else "iteration_limit"
        log.warning(
            "HiGHS stopped (%s) with a feasible, possibly suboptimal solution", facts["status_text"]
        )
    elif ms in (MS.kTimeLimit, MS.kIterationLimit, MS.kInterrupt):
        raise SolverError(
            f"HiGHS stopped ({facts['status_text']}) before finding a feasible solution"
        )
    else:
        raise SolverError(f"HiGHS failed: {facts['status_text']}")
    res = collect(inst, handle, facts, status, build_seconds)
    if floor_info is not None:
        pol = res.policies.loc[res.policies["type"] == "price_floor"]
        res.summary["price_floor"] = {
            **floor_info,
            "payments": {k: float(v) for k, v in pol.groupby("policy")["payment"].sum().items()},
        }
    if baseline is not None:
        res.summary["baseline_objective"] = baseline.objective
        res.summary["baseline_note"] = (
            "policies with max_share or ad valorem rates refer to a baseline solve of the same "
            "instance and scenario changes without policies"
        )
    return res
