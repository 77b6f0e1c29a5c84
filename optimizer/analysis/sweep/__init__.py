"""Scenario grids and Monte Carlo sweeps, serially or on ``dask.distributed``.

A sweep file (``docs/sweep.md``) names scenarios applied to every case
(``base``), a grid of axes whose Cartesian product gives the combinations
(an axis lists scenario stacks, or values of one table column), and
optionally ``samples`` Monte Carlo draws of ``uncertain`` table values
(``scale`` or ``set`` a column on the rows a ``where`` picks, like a scenario
``change``, with the value drawn from a distribution).

Each case is the instance + scenarios + column values, rebuilt and solved
from scratch (table changes alter the model, not only its bounds).  All
draws are made up front in the calling process from ``seed``, so results do
not depend on the number of workers: a serial run and a Dask run give
identical tables.  On Dask (:func:`optimizer.analysis.parallel.run_chunks`, the
runner ``criticality`` uses too), every distinct scenario stack is applied once in
the client; each task carries its stack's instance (pickled with the task, so a
worker killed mid-run costs only that task's resubmission) and solves a chunk of
cases of that stack.

The modules, bottom up: :mod:`~optimizer.analysis.sweep.schema` (the file
format and :class:`Spec`), :mod:`~optimizer.analysis.sweep.cases` (draws and
cases), :mod:`~optimizer.analysis.sweep.tables` (result tables),
:mod:`~optimizer.analysis.sweep.spec` (:func:`parse_spec`: checking a file)
and :mod:`~optimizer.analysis.sweep.run` (:func:`run_sweep`, :func:`sweep`).

>>> from optimizer.analysis.sweep import sweep
>>> df = sweep("instances/tiny", "grid.yaml")           # doctest: +SKIP
"""

from optimizer.analysis.sweep.cases import Case, apply_changes, build_cases, draw_samples
from optimizer.analysis.sweep.run import run_sweep, sweep
from optimizer.analysis.sweep.schema import (
    DISTRIBUTIONS,
    NAME_PATTERN,
    NONE_LABELS,
    Axis,
    ColumnAxis,
    Dist,
    Normal,
    Spec,
    SweepFile,
    Target,
    Uncertain,
)
from optimizer.analysis.sweep.spec import parse_spec, resolve_sweep_path
from optimizer.analysis.sweep.tables import (
    ID_COLUMNS,
    MARKET_COLUMNS,
    QUANTILE_COLUMNS,
    QUANTILE_METRICS,
    RESERVED,
    RESULT_COLUMNS,
    TOL,
    SweepResult,
    quantiles,
    ranked,
)

__all__ = [
    "DISTRIBUTIONS",
    "ID_COLUMNS",
    "MARKET_COLUMNS",
    "NAME_PATTERN",
    "NONE_LABELS",
    "QUANTILE_COLUMNS",
    "QUANTILE_METRICS",
    "RESERVED",
    "RESULT_COLUMNS",
    "TOL",
    "Axis",
    "Case",
    "ColumnAxis",
    "Dist",
    "Normal",
    "Spec",
    "SweepFile",
    "SweepResult",
    "Target",
    "Uncertain",
    "apply_changes",
    "build_cases",
    "draw_samples",
    "parse_spec",
    "quantiles",
    "ranked",
    "resolve_sweep_path",
    "run_sweep",
    "sweep",
]
