"""Running a sweep: each case rebuilt and solved, serially or on Dask (:func:`run_sweep`).

On Dask (:mod:`optimizer.analysis.parallel`) every chunk holds cases of one
scenario stack and carries that stack's instance; a serial run and a Dask
run give identical tables.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer._version import __version__
from optimizer.analysis import parallel
from optimizer.analysis.sweep.cases import Case, apply_changes, build_cases
from optimizer.analysis.sweep.schema import Spec
from optimizer.analysis.sweep.spec import parse_spec
from optimizer.analysis.sweep.tables import SweepResult, result_tables
from optimizer.data.instance import Instance
from optimizer.errors import InfeasibleError, InputError, SolverError
from optimizer.lp.run import choose_method
from optimizer.scenarios.apply import load
from optimizer.solve import solve


def _solve_case(inst: Instance, case_id: str, changes, method: str, time_limit) -> dict:
    """Solve one case; infeasible or failed solves are a status, not an exception."""
    t0, c0 = time.perf_counter(), time.process_time()
    case_inst = apply_changes(inst, changes)
    demand = case_inst.tables["demand"]
    row = {"case": case_id, "status": "", "message": "", "objective": math.nan}
    try:
        res = solve(case_inst, method=method, time_limit=time_limit)
    except InfeasibleError as e:  # the diagnosis' first sentence names the policies
        row.update(status="infeasible", message="; ".join([str(e), *e.diagnosis[:1]]))
        sh = demand[["market", "quantity"]].rename(columns={"quantity": "demand"})
        sh = sh.assign(unmet=math.nan, unmet_value=math.nan)
    except SolverError as e:
        row.update(status="solver_error", message=str(e))
        sh = demand[["market", "quantity"]].rename(columns={"quantity": "demand"})
        sh = sh.assign(unmet=math.nan, unmet_value=math.nan)
    else:
        row.update(status=res.status, objective=res.objective)
        sh = res.shortages[["market", "demand", "unmet", "unmet_value"]]
        sh = sh.assign(unmet_value=sh["unmet_value"].fillna(0.0))  # no value: counts 0 USD
    by = sh.groupby("market", sort=True)[["demand", "unmet", "unmet_value"]].sum(min_count=1)
    row["markets"] = (
        list(by.index),
        by["demand"].to_numpy(float),
        by["unmet"].to_numpy(float),
        by["unmet_value"].to_numpy(float),
    )
    row["seconds"] = time.perf_counter() - t0
    row["cpu_seconds"] = time.process_time() - c0
    return row


def _run_chunk(payload: tuple, chunk: list[tuple[str, tuple]]) -> list:
    """Runs on a worker: ``payload`` is (instance of a scenario stack, method, time limit)."""
    inst, method, time_limit = payload
    return [_solve_case(inst, cid, ch, method, time_limit) for cid, ch in chunk]


# -- running -------------------------------------------------------------------


def run_sweep(
    inst: Instance | str | Path,
    spec: str | Path | dict,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    samples: int | None = None,
    seed: int | None = None,
    method: str = "choose",
    time_limit: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run a sweep; see :func:`sweep`.  Returns every table (:class:`SweepResult`)."""
    choose_method(method, 0)
    if not isinstance(inst, Instance):
        inst = load(inst)
    if workers is not None and workers < 1:
        raise InputError("--workers must be >= 1")
    t0 = time.perf_counter()
    parsed, stacks = parse_spec(inst, spec, samples=samples, seed=seed)
    cases = build_cases(parsed)
    if scheduler or (workers or 1) > 1:
        rows, engine = _run_dask(stacks, cases, workers, scheduler, method, time_limit, progress)
    else:
        rows, engine = [], "serial"
        for i, c in enumerate(cases):
            rows.append(_solve_case(stacks[c.stack], c.case, c.changes, method, time_limit))
            if progress:
                progress(i + 1, len(cases))
    seconds = time.perf_counter() - t0
    out = result_tables(parsed, cases, rows, stacks)
    info = _info(inst, parsed, cases, rows, out[0], engine, seconds)
    return SweepResult(out[0], out[1], out[2], parsed, info)


def _info(
    inst: Instance,
    parsed: Spec,
    cases: list[Case],
    rows: list[dict],
    df: pd.DataFrame,
    engine: str,
    seconds: float,
) -> dict[str, Any]:
    """``sweep.json``: what was run, on what, how, and how long it took."""
    return {
        "sweep": parsed.id,
        "title": parsed.title,
        "file": parsed.label,
        "instance": inst.manifest.name,
        "instance_path": str(inst.path),
        "instance_scenarios": list(inst.scenarios),
        "base": parsed.base,
        "axes": {a.name: a.labels for a in parsed.axes},
        "uncertain": [
            {
                "name": n,
                "table": t.table,
                "where": t.where,
                "column": t.column,
                t.kind: d.model_dump(exclude_none=True),
            }
            for n, t, d in parsed.uncertain
        ],
        "samples": parsed.samples,
        "seed": parsed.seed,
        "cases": len(cases),
        "combinations": int(np.prod([len(a.labels) for a in parsed.axes])) if parsed.axes else 1,
        "baseline": cases[0].case,
        "statuses": df["status"].value_counts().to_dict(),
        "engine": engine,
        "seconds": round(seconds, 3),
        # time to change, build, solve and collect each case (in its worker), seconds
        "case_seconds": {
            "total": round(sum(r["seconds"] for r in rows), 3),
            "mean": round(float(np.mean([r["seconds"] for r in rows])), 4),
            "max": round(max(r["seconds"] for r in rows), 4),
            # CPU time of the worker process: wall >> cpu means the cores were busy elsewhere
            "cpu_total": round(sum(r["cpu_seconds"] for r in rows), 3),
        },
        "rechain_version": __version__,
    }


def sweep(
    inst: Instance | str | Path,
    spec: str | Path | dict,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    samples: int | None = None,
    seed: int | None = None,
    method: str = "choose",
    time_limit: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Solve every case of a sweep and return one row per case (``sweep.csv``).

    ``inst`` is an :class:`~optimizer.data.instance.Instance` (its scenarios stay
    applied) or an instance folder; ``spec`` a sweep YAML path, an id from
    ``INSTANCE/sweeps/``, or the same content as a dict.  ``samples``/``seed``
    override the file's.  ``workers`` > 1 runs on a Dask LocalCluster,
    ``scheduler`` on an existing cluster (``tcp://host:8786``); results are
    identical to a serial run.  Per-market results and Monte Carlo quantiles:
    :func:`run_sweep`.
    """
    return run_sweep(
        inst,
        spec,
        workers=workers,
        scheduler=scheduler,
        samples=samples,
        seed=seed,
        method=method,
        time_limit=time_limit,
        progress=progress,
    ).cases


def _run_dask(stacks, cases, workers, scheduler, method, time_limit, progress):
    """Cases on Dask (:mod:`optimizer.analysis.parallel`): chunks of cases of one stack, the
    stack's instance sent with each chunk."""
    with parallel.client(workers, scheduler) as c:
        n_slots = parallel.slots(c)
        engine = f"dask ({n_slots} worker thread{'s' if n_slots != 1 else ''}" + (
            f" at {scheduler})" if scheduler else ", LocalCluster)"
        )
        tasks = []
        for key in dict.fromkeys(c.stack for c in cases):
            mine = [(x.case, x.changes) for x in cases if x.stack == key]
            tasks += [
                ((stacks[key], method, time_limit), ch) for ch in parallel.chunked(mine, n_slots)
            ]
        results = parallel.run_chunks(_run_chunk, tasks, progress=progress, c=c)
    by_id = {r["case"]: r for chunk in results for r in chunk}
    return [by_id[c.case] for c in cases], engine
