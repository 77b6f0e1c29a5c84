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
identical tables.  On Dask, every distinct scenario stack is applied once in
the client and sent once to every worker (``scatter(broadcast=True)``);
workers solve chunks of cases of one stack.

>>> from optimizer.analysis.sweep import sweep
>>> df = sweep("instances/tiny", "grid.yaml")           # doctest: +SKIP
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from optimizer._version import __version__
from optimizer.analysis import parallel
from optimizer.data.instance import Instance
from optimizer.data.schema import TABLES
from optimizer.data.yamlio import line_of, load_yaml, validation_problems
from optimizer.errors import InfeasibleError, InputError, Problem, SolverError
from optimizer.fileio import write_folder
from optimizer.lp.run import choose_method
from optimizer.scenarios.apply import apply_change, apply_scenarios, load, resolve_path
from optimizer.scenarios.schema import Change
from optimizer.solve import solve

#: Values below this (t, USD) are solver noise and reported as zero.
TOL = 1e-6

#: Result columns of ``sweep.csv`` (axis and uncertain columns sit between them).
ID_COLUMNS = ["case", "combo", "sample"]
RESULT_COLUMNS = [
    "status",
    "objective",
    "total_demand",
    "total_unmet",
    "unmet_share",
    "cost_increase",
    "unmet_increase",
    "paired_cost_increase",
    "paired_unmet_increase",
    "worst_market",
    "worst_market_unmet",
    "message",
]
MARKET_COLUMNS = ["case", "market", "demand", "unmet", "unmet_share", "unmet_increase"]
QUANTILE_COLUMNS = ["metric", "n", "mean", "min", "p5", "p50", "p95", "max"]
QUANTILE_METRICS = (
    "total_unmet",
    "unmet_share",
    "objective",
    "cost_increase",
    "paired_cost_increase",
    "paired_unmet_increase",
)
RESERVED = {
    *ID_COLUMNS,
    *RESULT_COLUMNS,
    *MARKET_COLUMNS,
    *QUANTILE_COLUMNS,
    "scenarios",
    "rank",
}
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
NONE_LABELS = {"none", "baseline"}
DISTRIBUTIONS = ("uniform", "triangular", "normal", "choice")


# -- the file format ---------------------------------------------------------


class SweepFile(BaseModel):
    """Top level of a sweep YAML file (axes and uncertain entries are checked one by one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1)
    title: str = ""
    description: str = ""
    base: list[str] = Field(default_factory=list)
    grid: dict[str, Any] = Field(default_factory=dict)
    samples: int = Field(0, ge=0, le=1_000_000)
    seed: int = Field(0, ge=0)
    uncertain: list[Any] = Field(default_factory=list)


class ColumnAxis(BaseModel):
    """A grid axis over values of one table column: ``{table, where, column, set|scale: [...]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    table: str
    where: dict[str, Any] = Field(default_factory=dict)
    column: str
    set: list[float] | None = Field(None, min_length=1)
    scale: list[float] | None = Field(None, min_length=1)


class Normal(BaseModel):
    """``normal: {mean, sd, clip: [lo, hi]}`` (either clip bound may be null)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mean: float
    sd: float
    clip: tuple[float | None, float | None] | None = None


class Dist(BaseModel):
    """One distribution: exactly one of its keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    uniform: tuple[float, float] | None = None
    triangular: tuple[float, float, float] | None = None
    normal: Normal | None = None
    choice: list[float] | None = Field(None, min_length=1)

    @property
    def kind(self) -> str | None:
        given = [k for k in DISTRIBUTIONS if getattr(self, k) is not None]
        return given[0] if len(given) == 1 else None

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        if self.uniform is not None:
            return self.uniform[0], self.uniform[1]
        if self.triangular is not None:
            return self.triangular[0], self.triangular[2]
        if self.normal is not None:
            lo, hi = self.normal.clip or (None, None)
            if self.normal.sd == 0:
                v = self.normal.mean
                return (max(v, lo) if lo is not None else v, min(v, hi) if hi is not None else v)
            return (-math.inf if lo is None else lo, math.inf if hi is None else hi)
        assert self.choice is not None
        return min(self.choice), max(self.choice)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws from ``rng`` (the first k of n draws equal k draws: samples extend)."""
        if self.uniform is not None:
            return rng.uniform(self.uniform[0], self.uniform[1], n)
        if self.triangular is not None:
            return rng.triangular(*self.triangular, n)
        if self.normal is not None:
            x = rng.normal(self.normal.mean, self.normal.sd, n)
            lo, hi = self.normal.clip or (None, None)
            return np.clip(x, -np.inf if lo is None else lo, np.inf if hi is None else hi)
        assert self.choice is not None
        return np.asarray(self.choice, dtype=float)[rng.integers(0, len(self.choice), n)]


class Uncertain(BaseModel):
    """One uncertain value: ``{name, table, where, column, scale|set: distribution}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str | None = None
    table: str
    where: dict[str, Any] = Field(default_factory=dict)
    column: str
    set: Dist | None = None
    scale: Dist | None = None


@dataclass(frozen=True)
class Target:
    """A column of the rows a ``where`` picks, and how a value acts on it."""

    table: str
    where: dict[str, Any]
    column: str
    kind: str  # "set" | "scale"

    def change(self, value: float) -> Change:
        return Change(table=self.table, where=self.where, **{self.kind: {self.column: value}})


@dataclass
class Axis:
    """One grid axis: scenario stacks, or values of one column."""

    name: str
    labels: list[str]
    #: scenario axis: refs per value (resolved paths or ids); column axis: None
    stacks: list[list[str]] | None = None
    target: Target | None = None
    values: list[float] | None = None


@dataclass
class Spec:
    """A validated sweep: what to run (built by :func:`parse_spec`)."""

    id: str
    title: str
    label: str
    base: list[str]
    axes: list[Axis]
    samples: int
    seed: int
    uncertain: list[tuple[str, Target, Dist]]
    raw: Any = field(repr=False, default=None)


@dataclass
class SweepResult:
    """Tables of a sweep run."""

    cases: pd.DataFrame
    markets: pd.DataFrame
    quantiles: pd.DataFrame
    spec: Spec
    info: dict[str, Any]

    def write(self, out: str | Path) -> Path:
        """``sweep.csv``, ``sweep_markets.csv`` (+ ``sweep_quantiles.csv``), ``sweep.json``, atomically."""
        files: dict[str, Any] = {"sweep.csv": self.cases, "sweep_markets.csv": self.markets}
        if self.spec.samples:
            files["sweep_quantiles.csv"] = self.quantiles
        files["sweep.json"] = self.info
        return write_folder(out, files)


# -- parsing and checking ------------------------------------------------------


def _sweep_folders(instance_path: Path) -> list[Path]:
    """``INSTANCE/sweeps``, then those of the instances it ``extends`` (like scenarios)."""
    folders = [Path(instance_path) / "sweeps"]
    try:
        from optimizer.data.extends import scenario_folders
    except ImportError:  # pragma: no cover - instance inheritance not available
        return folders
    for f in scenario_folders(Path(instance_path)):
        if f.parent / "sweeps" not in folders:
            folders.append(f.parent / "sweeps")
    return folders


def resolve_sweep_path(instance_path: Path, ref: str | Path) -> Path:
    """A sweep id from ``INSTANCE/sweeps/`` (or a base instance's) or a path to a YAML file."""
    p = Path(ref)
    if p.suffix.lower() in (".yaml", ".yml") or p.exists():
        return p
    folders = _sweep_folders(instance_path)
    for folder in folders:
        cand = folder / f"{ref}.yaml"
        if cand.exists():
            return cand
    known = sorted({x.stem for f in folders if f.is_dir() for x in f.glob("*.yaml")})
    raise InputError(
        Problem(
            str(ref),
            None,
            None,
            f"no sweep {str(ref)!r} in {folders[0]}"
            + (f" (known: {', '.join(known)})" if known else " (no sweeps there)"),
        )
    )


def _validate(model: type[BaseModel], data: Any, raw: Any, loc: tuple, label: str, problems):
    """Validate a sub-mapping of the file; errors located at their line and key path."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems.extend(validation_problems(e, raw, label, loc))
        return None


def _key(loc: tuple) -> str:
    """A key path as written in messages: ``uncertain.0.scale``."""
    return ".".join(str(x) for x in loc)


def _check_column(
    target: Target, raw: Any, loc: tuple, label: str, problems: list[Problem]
) -> bool:
    """Is ``target`` a numeric column of a known table (messages as for scenario ``changes``)?"""
    if target.table not in TABLES:
        problems.append(
            Problem(
                label,
                line_of(raw, (*loc, "table")),
                _key((*loc, "table")),
                f"unknown table {target.table!r} (known: {', '.join(TABLES)})",
            )
        )
        return False
    table = TABLES[target.table]
    cols = {c.name: c for c in table.columns}
    c = cols.get(target.column)
    if c is None or c.dtype not in ("float", "int") or target.column == "period":
        numeric = [
            x.name for x in table.columns if x.dtype in ("float", "int") and x.name != "period"
        ]
        problems.append(
            Problem(
                label,
                line_of(raw, (*loc, "column")),
                _key((*loc, "column")),
                f"{table.file} has no numeric column {target.column!r} to {target.kind} "
                f"(numeric: {', '.join(numeric)})",
            )
        )
        return False
    return True


def _check_where(
    inst: Instance, target: Target, raw: Any, loc: tuple, label: str, problems: list[Problem]
) -> None:
    """The ``where`` of ``target`` against ``inst``: the checks (and messages) of
    scenario ``changes`` (:func:`optimizer.scenarios.apply._apply_change`), on a scratch copy."""
    trial = _copy_tables(inst, {target.table})
    c = TABLES[target.table].col(target.column)
    nominal = 1.0 if target.kind == "scale" else _nominal(c)
    apply_change(trial, target.change(nominal), raw, loc, label, problems)


def _nominal(c) -> float:
    """A value inside a column's range (only used to check the ``where``)."""
    if c.ge is not None:
        return float(c.ge)
    if c.gt is not None:
        return float(c.gt) + 1.0
    return 0.0


def _check_values(
    target: Target, lo: float, hi: float, raw: Any, loc: tuple, label: str, problems: list[Problem]
) -> bool:
    """Values between ``lo`` and ``hi`` are valid for the column (scale factors >= 0)."""
    c = TABLES[target.table].col(target.column)
    bad = None
    if not (math.isfinite(lo) or lo == -math.inf) or not (math.isfinite(hi) or hi == math.inf):
        bad = "values must be numbers"
    elif target.kind == "scale" and lo < 0:
        bad = f"a scale factor must be >= 0, but values down to {lo:g} are possible" + (
            " (give normal a clip: [0, null])" if lo == -math.inf else ""
        )
    elif target.kind == "set":
        if c.ge is not None and lo < c.ge:
            bad = f"{target.column} must be >= {c.ge:g}, but values down to {lo:g} are possible"
        elif c.gt is not None and lo <= c.gt:
            bad = f"{target.column} must be > {c.gt:g}, but values down to {lo:g} are possible"
        elif c.le is not None and hi > c.le:
            bad = f"{target.column} must be <= {c.le:g}, but values up to {hi:g} are possible"
    if bad:
        problems.append(
            Problem(label, line_of(raw, (*loc, target.kind)), _key((*loc, target.kind)), bad)
        )
        return False
    return True


def _check_dist(dist: Dist, raw: Any, loc: tuple, label: str, problems: list[Problem]) -> bool:
    line = line_of(raw, loc)
    path = _key(loc)
    given = [k for k in DISTRIBUTIONS if getattr(dist, k) is not None]
    if len(given) != 1:
        problems.append(
            Problem(
                label,
                line,
                path,
                f"give exactly one distribution ({', '.join(DISTRIBUTIONS)})"
                + (f", not {' and '.join(given)}" if given else ""),
            )
        )
        return False
    kind = given[0]
    msg = None
    values: list[float | None] = []
    if kind == "uniform":
        values = list(dist.uniform)  # type: ignore[arg-type]
        if dist.uniform[0] > dist.uniform[1]:  # type: ignore[index]
            msg = "uniform: [lo, hi] needs lo <= hi"
    elif kind == "triangular":
        values = list(dist.triangular)  # type: ignore[arg-type]
        lo, mode, hi = dist.triangular  # type: ignore[misc]
        if not (lo <= mode <= hi) or lo == hi:
            msg = "triangular: [lo, mode, hi] needs lo <= mode <= hi and lo < hi"
    elif kind == "normal":
        nrm = dist.normal
        values = [nrm.mean, nrm.sd, *(nrm.clip or ())]  # type: ignore[union-attr]
        if nrm.sd < 0:  # type: ignore[union-attr]
            msg = "normal: sd must be >= 0"
        elif nrm.clip and None not in nrm.clip and nrm.clip[0] > nrm.clip[1]:  # type: ignore[union-attr,operator]
            msg = "normal: clip: [lo, hi] needs lo <= hi"
    else:
        values = list(dist.choice)  # type: ignore[arg-type]
    if msg is None and any(v is not None and not math.isfinite(v) for v in values):
        msg = f"{kind}: values must be finite numbers"
    if msg:
        problems.append(Problem(label, line_of(raw, (*loc, kind)), f"{path}.{kind}", msg))
        return False
    return True


def _resolve_ref(inst_path: Path, ref: str, sweep_dir: Path | None) -> str:
    """Scenario id, or a YAML path (relative paths are tried next to the sweep file first)."""
    p = Path(ref)
    if sweep_dir is not None and p.suffix.lower() in (".yaml", ".yml") and not p.is_absolute():
        cand = sweep_dir / p
        if cand.exists():
            return str(cand)
    path = resolve_path(inst_path, ref)
    if not path.exists():
        raise InputError(Problem(ref, None, None, f"scenario file {ref!r} not found"))
    return ref if path == inst_path / "scenarios" / f"{ref}.yaml" else str(path)


def _split_stack(value: Any) -> list[str] | None:
    """An axis value as a list of scenario refs: ``none`` -> [], ``a+b`` -> [a, b]."""
    if value is None:
        return []
    if isinstance(value, str):
        if value.strip().lower() in NONE_LABELS:
            return []
        parts = [s.strip() for s in value.split("+")]
        return parts if all(parts) else None
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return [v.strip() for v in value]
    return None


def parse_spec(
    inst: Instance,
    spec: str | Path | dict,
    *,
    samples: int | None = None,
    seed: int | None = None,
) -> tuple[Spec, dict[tuple[str, ...], Instance]]:
    """Read and check a sweep file (or mapping) against ``inst``.

    Returns the :class:`Spec` and every distinct scenario stack applied to
    ``inst`` (keyed by its refs).  Raises :class:`InputError` listing every
    problem with the file, line and key; scenario files with problems report
    their own file and line.
    """
    if isinstance(spec, dict):
        raw, label, sweep_dir = spec, "<sweep>", None
    else:
        path = resolve_sweep_path(inst.path, spec)
        raw, label, sweep_dir = load_yaml(path, str(path)), str(path), path.parent
    if not isinstance(raw, dict):
        raise InputError(
            Problem(label, None, None, "expected a mapping with id, grid, samples, ...")
        )
    problems: list[Problem] = []
    top = _validate(SweepFile, raw, raw, (), label, problems)
    if top is None:
        raise InputError(problems)
    n_samples = top.samples if samples is None else samples
    rng_seed = top.seed if seed is None else seed
    if n_samples < 0 or rng_seed < 0:
        raise InputError("--samples and --seed must be >= 0")

    refs: dict[str, str] = {}  # as written -> resolved

    def resolve(ref: str, loc: tuple, key: str) -> str | None:
        if ref not in refs:
            try:
                refs[ref] = _resolve_ref(inst.path, ref, sweep_dir)
            except InputError as e:
                for p in e.problems:
                    problems.append(Problem(label, line_of(raw, loc), key, p.message))
                return None
        return refs[ref]

    base = [resolve(r, ("base", i), f"base.{i}") for i, r in enumerate(top.base)]
    names: dict[str, tuple] = {}

    def claim(name: str, loc: tuple, key: str) -> bool:
        if not NAME_PATTERN.match(name):
            problems.append(
                Problem(label, line_of(raw, loc), key, f"name {name!r}: use letters, digits, _ . -")
            )
            return False
        if name in RESERVED:
            problems.append(
                Problem(
                    label, line_of(raw, loc), key, f"name {name!r} is a result column; rename it"
                )
            )
            return False
        if name in names:
            problems.append(
                Problem(
                    label,
                    line_of(raw, loc),
                    key,
                    f"name {name!r} is used twice (also line {line_of(raw, names[name])}); "
                    "give each entry its own `name:`",
                )
            )
            return False
        names[name] = loc
        return True

    axes: list[Axis] = []
    targets: list[tuple[Target, tuple]] = []  # `where` checked against each stack below
    for name, value in top.grid.items():
        loc = ("grid", name)
        claim(str(name), loc, f"grid.{name}")
        if isinstance(value, list):
            if not value:
                problems.append(Problem(label, line_of(raw, loc), f"grid.{name}", "empty axis"))
                continue
            stacks, labels = [], []
            for j, item in enumerate(value):
                parts = _split_stack(item)
                if parts is None:
                    problems.append(
                        Problem(
                            label,
                            line_of(raw, (*loc, j)),
                            f"grid.{name}.{j}",
                            f"{item!r}: an axis value is a scenario id or path, 'a+b', a list of them, or none",
                        )
                    )
                    continue
                stacks.append([resolve(r, (*loc, j), f"grid.{name}.{j}") for r in parts])
                labels.append("+".join(parts) or "none")
            if len(set(labels)) != len(labels):
                problems.append(
                    Problem(label, line_of(raw, loc), f"grid.{name}", "an axis lists a value twice")
                )
            axes.append(Axis(str(name), labels, stacks=stacks))  # type: ignore[arg-type]
        elif isinstance(value, dict):
            ax = _validate(ColumnAxis, value, raw, loc, label, problems)
            if ax is None:
                continue
            if (ax.set is None) == (ax.scale is None):
                problems.append(
                    Problem(
                        label,
                        line_of(raw, loc),
                        f"grid.{name}",
                        "a column axis needs `set: [values]` or `scale: [factors]` (one of them)",
                    )
                )
                continue
            kind = "set" if ax.set is not None else "scale"
            vals = [float(v) for v in (ax.set if kind == "set" else ax.scale)]  # type: ignore[union-attr]
            t = Target(ax.table, dict(ax.where), ax.column, kind)
            if _check_column(t, raw, loc, label, problems):
                _check_values(t, min(vals), max(vals), raw, loc, label, problems)
                targets.append((t, loc))
            if len(set(vals)) != len(vals):
                problems.append(
                    Problem(label, line_of(raw, (*loc, kind)), kind, "an axis lists a value twice")
                )
            axes.append(Axis(str(name), [f"{v:g}" for v in vals], target=t, values=vals))
        else:
            problems.append(
                Problem(
                    label,
                    line_of(raw, loc),
                    f"grid.{name}",
                    "an axis is a list of scenarios, or a mapping {table, where, column, set|scale: [values]}",
                )
            )

    uncertain: list[tuple[str, Target, Dist]] = []
    for i, item in enumerate(top.uncertain):
        loc = ("uncertain", i)
        if not isinstance(item, dict):
            problems.append(
                Problem(
                    label,
                    line_of(raw, loc),
                    _key(loc),
                    "an entry is a mapping {table, where, column, scale|set}",
                )
            )
            continue
        u = _validate(Uncertain, item, raw, loc, label, problems)
        if u is None:
            continue
        if (u.set is None) == (u.scale is None):
            problems.append(
                Problem(
                    label,
                    line_of(raw, loc),
                    _key(loc),
                    "an uncertain value needs `scale: {distribution}` or `set: {distribution}` (one of them)",
                )
            )
            continue
        kind = "set" if u.set is not None else "scale"
        dist: Dist = u.set if kind == "set" else u.scale  # type: ignore[assignment]
        name = u.name or f"{u.table}.{u.column}"
        nloc = (*loc, "name") if u.name else loc
        claim(name, nloc, _key(nloc))
        if not _check_dist(dist, raw, (*loc, kind), label, problems):
            continue
        t = Target(u.table, dict(u.where), u.column, kind)
        if _check_column(t, raw, loc, label, problems):
            _check_values(t, *dist.support(), raw, loc, label, problems)
            targets.append((t, loc))
        uncertain.append((name, t, dist))
    if n_samples and not uncertain and not problems:
        problems.append(
            Problem(
                label,
                line_of(raw, ("samples",)) if samples is None else None,
                "samples" if samples is None else "--samples",
                f"{n_samples} samples of nothing: list `uncertain:` values to draw",
            )
        )
    if problems:
        raise InputError(problems)

    # every distinct scenario stack, applied once (scenario problems name their own file)
    scen_axes = [a for a in axes if a.stacks is not None]
    stacks: dict[tuple[str, ...], Instance] = {}
    for combo in itertools.product(*[a.stacks for a in scen_axes]):  # type: ignore[misc]
        key = tuple(base) + tuple(r for part in combo for r in part)  # type: ignore[misc]
        if key not in stacks:
            try:
                stacks[key] = apply_scenarios(inst, list(key)) if key else inst
            except InputError as e:
                problems.extend(e.problems)
    if problems:
        raise InputError(problems)
    for t, loc in targets:
        for s in stacks.values():
            _check_where(s, t, raw, loc, label, problems)
    if problems:
        raise InputError(problems)
    return (
        Spec(
            id=top.id,
            title=top.title,
            label=label,
            base=list(base),  # type: ignore[arg-type]
            axes=axes,
            samples=n_samples,
            seed=rng_seed,
            uncertain=uncertain if n_samples else [],
            raw=raw,
        ),
        stacks,
    )


# -- cases -------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One solve: a scenario stack plus column changes."""

    case: str
    combo: int
    sample: int
    stack: tuple[str, ...]
    labels: dict[str, Any]
    values: dict[str, float]
    changes: tuple[Change, ...]


def draw_samples(spec: Spec) -> pd.DataFrame:
    """The ``samples`` draws of every uncertain value (rows = samples 1..N).

    Each uncertain entry has its own random stream
    (``SeedSequence(seed).spawn``), so adding an entry does not change the
    draws of the others, and the first k of N samples equal a k-sample run.
    """
    streams = np.random.SeedSequence(spec.seed).spawn(len(spec.uncertain))
    data = {
        name: dist.draw(np.random.default_rng(ss), spec.samples)
        for (name, _, dist), ss in zip(spec.uncertain, streams, strict=True)
    }
    return pd.DataFrame(data, index=pd.RangeIndex(1, spec.samples + 1, name="sample"))


def build_cases(spec: Spec) -> list[Case]:
    """Grid combinations (first axis slowest) × samples; with samples, the nominal baseline first."""
    combos = list(itertools.product(*[range(len(a.labels)) for a in spec.axes]))
    draws = draw_samples(spec) if spec.samples else None
    cases: list[Case] = []
    for k, idx in enumerate(combos, start=1):
        labels: dict[str, Any] = {}
        stack = list(spec.base)
        changes: list[Change] = []
        for a, j in zip(spec.axes, idx, strict=True):
            if a.stacks is not None:
                stack.extend(a.stacks[j])
                labels[a.name] = a.labels[j]
            else:
                assert a.target is not None and a.values is not None
                changes.append(a.target.change(a.values[j]))
                labels[a.name] = a.values[j]
        if draws is None:
            cases.append(Case(f"c{k}", k, 0, tuple(stack), labels, {}, tuple(changes)))
            continue
        if k == 1:  # the baseline: first combination at nominal values
            nominal = {name: math.nan for name, _, _ in spec.uncertain}
            cases.append(Case("c1-s0", 1, 0, tuple(stack), labels, nominal, tuple(changes)))
        for s, row in draws.iterrows():
            vals = {name: float(row[name]) for name, _, _ in spec.uncertain}
            extra = tuple(t.change(vals[name]) for name, t, _ in spec.uncertain)
            cases.append(
                Case(f"c{k}-s{s}", k, int(s), tuple(stack), labels, vals, (*changes, *extra))  # type: ignore[arg-type]
            )
    return cases


def _copy_tables(inst: Instance, names: set[str]) -> Instance:
    out = copy.copy(inst)
    out.tables = dict(inst.tables)
    for n in names:
        if n in out.tables:
            out.tables[n] = out.tables[n].copy()
    return out


def apply_changes(inst: Instance, changes: Sequence[Change]) -> Instance:
    """A copy of ``inst`` with the column changes applied in order (scenario semantics)."""
    if not changes:
        return inst
    out = _copy_tables(inst, {c.table for c in changes})
    problems: list[Problem] = []
    for ch in changes:
        apply_change(out, ch, None, (), "<sweep>", problems)
    if problems:
        raise InputError(problems)
    return out


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
        sh = sh.assign(unmet=math.nan)
    except SolverError as e:
        row.update(status="solver_error", message=str(e))
        sh = demand[["market", "quantity"]].rename(columns={"quantity": "demand"})
        sh = sh.assign(unmet=math.nan)
    else:
        row.update(status=res.status, objective=res.objective)
        sh = res.shortages[["market", "demand", "unmet"]]
    by = sh.groupby("market", sort=True)[["demand", "unmet"]].sum(min_count=1)
    row["markets"] = (list(by.index), by["demand"].to_numpy(float), by["unmet"].to_numpy(float))
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
    out = _tables(parsed, cases, rows, stacks)
    info = {
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
        "statuses": out[0]["status"].value_counts().to_dict(),
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
    }
    info["rechain_version"] = __version__
    return SweepResult(out[0], out[1], out[2], parsed, info)


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


def _clean(x: float) -> float:
    return 0.0 if abs(x) < TOL else float(x)


def _tables(spec: Spec, cases: list[Case], rows: list[dict], stacks) -> tuple:
    base = rows[0]
    base_markets = dict(zip(base["markets"][0], base["markets"][2], strict=True))
    base_obj = base["objective"]
    base_unmet = _clean(float(np.sum(base["markets"][2]))) if not np.isnan(base_obj) else math.nan
    axis_names = [a.name for a in spec.axes]
    unc_names = [n for n, _, _ in spec.uncertain]
    recs, mrecs = [], []
    for c, r in zip(cases, rows, strict=True):
        markets, demand, unmet = r["markets"]
        solved = not np.isnan(r["objective"])
        total_demand = float(demand.sum())
        total_unmet = _clean(float(unmet.sum())) if solved else math.nan
        worst, worst_unmet = "", 0.0
        if solved and len(unmet) and unmet.max() > TOL:
            i = int(np.argmax(unmet))  # first market (alphabetical) among ties
            worst, worst_unmet = markets[i], _clean(float(unmet[i]))
        rec: dict[str, Any] = {"case": c.case, "combo": c.combo, "sample": c.sample}
        rec.update({n: c.labels[n] for n in axis_names})
        rec["scenarios"] = "+".join(stacks[c.stack].scenarios) or "none"
        rec.update({n: c.values.get(n, math.nan) for n in unc_names})
        rec.update(
            status=r["status"],
            objective=r["objective"],
            total_demand=total_demand,
            total_unmet=total_unmet,
            unmet_share=(total_unmet / total_demand if total_demand else 0.0)
            if solved
            else math.nan,
            cost_increase=_clean(r["objective"] - base_obj) if solved else math.nan,
            unmet_increase=_clean(total_unmet - base_unmet) if solved else math.nan,
            worst_market=worst,
            worst_market_unmet=worst_unmet if solved else math.nan,
            message=r["message"],
        )
        recs.append(rec)
        for m, d, u in zip(markets, demand, unmet, strict=True):
            u = _clean(u) if solved else math.nan
            mrecs.append(
                {
                    "case": c.case,
                    "market": m,
                    "demand": float(d),
                    "unmet": u,
                    "unmet_share": (u / d if d > 0 else 0.0) if solved else math.nan,
                    "unmet_increase": _clean(u - base_markets.get(m, 0.0)) if solved else math.nan,
                }
            )
    cols = [*ID_COLUMNS, *axis_names, "scenarios", *unc_names, *RESULT_COLUMNS]
    df = pd.DataFrame(recs, columns=cols)
    # paired: against the first combination at the same draw (common random numbers), so
    # that the spread of the draws cancels out; without samples equal to *_increase
    first = df.loc[df["combo"] == 1].set_index("sample")
    for col, of in (
        ("paired_cost_increase", "objective"),
        ("paired_unmet_increase", "total_unmet"),
    ):
        d = df[of] - df["sample"].map(first[of])
        df[col] = d.where(d.abs() >= TOL, 0.0).where(d.notna())
    markets_df = pd.DataFrame(mrecs, columns=MARKET_COLUMNS)
    return df, markets_df, quantiles(df, axis_names) if spec.samples else _empty_q(axis_names)


def _empty_q(axis_names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=["combo", *axis_names, *QUANTILE_COLUMNS])


def quantiles(df: pd.DataFrame, axis_names: list[str] | None = None) -> pd.DataFrame:
    """P5/P50/P95 (and mean, min, max) of each metric per grid combination, over the samples.

    Only sampled cases (``sample`` >= 1) with a value count; ``n`` says how many.
    """
    axis_names = axis_names or []
    out = []
    for combo, g in df.loc[df["sample"] >= 1].groupby("combo", sort=True):
        first = g.iloc[0]
        for m in QUANTILE_METRICS:
            v = g[m].to_numpy(float)
            v = v[np.isfinite(v)]
            rec = {"combo": combo, **{a: first[a] for a in axis_names}, "metric": m, "n": len(v)}
            if len(v):
                p5, p50, p95 = np.percentile(v, [5, 50, 95])
                rec.update(mean=v.mean(), min=v.min(), p5=p5, p50=p50, p95=p95, max=v.max())
            else:
                rec.update(
                    mean=math.nan,
                    min=math.nan,
                    p5=math.nan,
                    p50=math.nan,
                    p95=math.nan,
                    max=math.nan,
                )
            out.append(rec)
    return pd.DataFrame(out, columns=["combo", *axis_names, *QUANTILE_COLUMNS])


def ranked(df: pd.DataFrame) -> pd.DataFrame:
    """Cases by unmet demand, then cost increase (largest first); unsolved cases last."""
    return df.sort_values(
        ["total_unmet", "cost_increase", "combo", "sample"],
        ascending=[False, False, True, True],
        kind="stable",
        na_position="last",
    ).reset_index(drop=True)


__all__ = ["SweepResult", "parse_spec", "quantiles", "ranked", "run_sweep", "sweep"]
