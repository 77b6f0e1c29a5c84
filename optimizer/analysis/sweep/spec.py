"""Reading and checking a sweep file against an instance: :func:`parse_spec`.

Every problem is collected (file, line and key path) before anything is
solved: names, scenario refs, columns and the range of their values, the
distributions, then (once every scenario stack is applied) each ``where``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from optimizer.analysis.sweep.cases import copy_tables
from optimizer.analysis.sweep.schema import (
    DISTRIBUTIONS,
    NAME_PATTERN,
    NONE_LABELS,
    Axis,
    ColumnAxis,
    Dist,
    Spec,
    SweepFile,
    Target,
    Uncertain,
)
from optimizer.analysis.sweep.tables import RESERVED
from optimizer.data.instance import Instance
from optimizer.data.schema import TABLES
from optimizer.data.yamlio import line_of, load_yaml, validation_problems
from optimizer.errors import InputError, Problem
from optimizer.scenarios.apply import apply_change, apply_scenarios, resolve_path

# -- finding the file and its scenarios -----------------------------------------


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


# -- checking one value ----------------------------------------------------------


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
    trial = copy_tables(inst, {target.table})
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
    """Exactly one distribution, with parameters in order and finite."""
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


# -- checking the file ---------------------------------------------------------


@dataclass
class _Checker:
    """The state of checking one sweep file: where it is, and what was found so far."""

    raw: Any
    label: str
    inst_path: Path
    sweep_dir: Path | None
    problems: list[Problem] = field(default_factory=list)
    #: scenario refs as written -> resolved (refs that fail are not kept: each use reports)
    refs: dict[str, str] = field(default_factory=dict)
    #: axis and uncertain names -> where they are given
    names: dict[str, tuple] = field(default_factory=dict)
    #: columns whose `where` is checked against every scenario stack (:func:`_check_wheres`)
    targets: list[tuple[Target, tuple]] = field(default_factory=list)

    def add(self, loc: tuple, key: str, message: str) -> None:
        """A problem at the line of ``loc``, reported under ``key``."""
        self.problems.append(Problem(self.label, line_of(self.raw, loc), key, message))

    def resolve(self, ref: str, loc: tuple, key: str) -> str | None:
        """A scenario ref resolved (:func:`_resolve_ref`), or None after adding its problem."""
        if ref not in self.refs:
            try:
                self.refs[ref] = _resolve_ref(self.inst_path, ref, self.sweep_dir)
            except InputError as e:
                for p in e.problems:
                    self.add(loc, key, p.message)
                return None
        return self.refs[ref]

    def claim(self, name: str, loc: tuple, key: str) -> bool:
        """Take ``name`` for a result column: well formed, not reserved, not used before."""
        if not NAME_PATTERN.match(name):
            self.add(loc, key, f"name {name!r}: use letters, digits, _ . -")
            return False
        if name in RESERVED:
            self.add(loc, key, f"name {name!r} is a result column; rename it")
            return False
        if name in self.names:
            self.add(
                loc,
                key,
                f"name {name!r} is used twice (also line {line_of(self.raw, self.names[name])}); "
                "give each entry its own `name:`",
            )
            return False
        self.names[name] = loc
        return True

    def check_target(self, t: Target, lo: float, hi: float, loc: tuple) -> None:
        """A numeric column, values from ``lo`` to ``hi`` valid; its ``where`` checked later."""
        if _check_column(t, self.raw, loc, self.label, self.problems):
            _check_values(t, lo, hi, self.raw, loc, self.label, self.problems)
            self.targets.append((t, loc))

    def raise_problems(self) -> None:
        if self.problems:
            raise InputError(self.problems)


def _read(inst: Instance, spec: str | Path | dict) -> tuple[dict, str, Path | None]:
    """The file's mapping, its label in messages, and its folder (None for a dict)."""
    if isinstance(spec, dict):
        raw, label, sweep_dir = spec, "<sweep>", None
    else:
        path = resolve_sweep_path(inst.path, spec)
        raw, label, sweep_dir = load_yaml(path, str(path)), str(path), path.parent
    if not isinstance(raw, dict):
        raise InputError(
            Problem(label, None, None, "expected a mapping with id, grid, samples, ...")
        )
    return raw, label, sweep_dir


def _axes(ck: _Checker, grid: dict[str, Any]) -> list[Axis]:
    """The grid's axes, in file order (an axis with problems may be left out)."""
    axes: list[Axis] = []
    for name, value in grid.items():
        loc = ("grid", name)
        ck.claim(str(name), loc, f"grid.{name}")
        ax = None
        if isinstance(value, list):
            ax = _scenario_axis(ck, name, value)
        elif isinstance(value, dict):
            ax = _column_axis(ck, name, value)
        else:
            ck.add(
                loc,
                f"grid.{name}",
                "an axis is a list of scenarios, or a mapping {table, where, column, set|scale: [values]}",
            )
        if ax is not None:
            axes.append(ax)
    return axes


def _scenario_axis(ck: _Checker, name: Any, value: list) -> Axis | None:
    """``name: [none, a, a+b, [c, d]]``: one scenario stack per value."""
    loc = ("grid", name)
    if not value:
        ck.add(loc, f"grid.{name}", "empty axis")
        return None
    stacks, labels = [], []
    for j, item in enumerate(value):
        parts = _split_stack(item)
        if parts is None:
            ck.add(
                (*loc, j),
                f"grid.{name}.{j}",
                f"{item!r}: an axis value is a scenario id or path, 'a+b', a list of them, or none",
            )
            continue
        stacks.append([ck.resolve(r, (*loc, j), f"grid.{name}.{j}") for r in parts])
        labels.append("+".join(parts) or "none")
    if len(set(labels)) != len(labels):
        ck.add(loc, f"grid.{name}", "an axis lists a value twice")
    return Axis(str(name), labels, stacks=stacks)  # type: ignore[arg-type]


def _column_axis(ck: _Checker, name: Any, value: dict) -> Axis | None:
    """``name: {table, where, column, set|scale: [values]}``: one column value per value."""
    loc = ("grid", name)
    ax = _validate(ColumnAxis, value, ck.raw, loc, ck.label, ck.problems)
    if ax is None:
        return None
    if (ax.set is None) == (ax.scale is None):
        ck.add(
            loc,
            f"grid.{name}",
            "a column axis needs `set: [values]` or `scale: [factors]` (one of them)",
        )
        return None
    kind = "set" if ax.set is not None else "scale"
    vals = [float(v) for v in (ax.set if kind == "set" else ax.scale)]  # type: ignore[union-attr]
    t = Target(ax.table, dict(ax.where), ax.column, kind)
    ck.check_target(t, min(vals), max(vals), loc)
    if len(set(vals)) != len(vals):
        ck.add((*loc, kind), kind, "an axis lists a value twice")
    return Axis(str(name), [f"{v:g}" for v in vals], target=t, values=vals)


def _uncertain(ck: _Checker, items: list[Any]) -> list[tuple[str, Target, Dist]]:
    """The ``uncertain`` entries as (name, column, distribution)."""
    out = []
    for i, item in enumerate(items):
        entry = _uncertain_entry(ck, ("uncertain", i), item)
        if entry is not None:
            out.append(entry)
    return out


def _uncertain_entry(ck: _Checker, loc: tuple, item: Any) -> tuple[str, Target, Dist] | None:
    """``{name, table, where, column, scale|set: distribution}``; None if it cannot be used."""
    if not isinstance(item, dict):
        ck.add(loc, _key(loc), "an entry is a mapping {table, where, column, scale|set}")
        return None
    u = _validate(Uncertain, item, ck.raw, loc, ck.label, ck.problems)
    if u is None:
        return None
    if (u.set is None) == (u.scale is None):
        ck.add(
            loc,
            _key(loc),
            "an uncertain value needs `scale: {distribution}` or `set: {distribution}` (one of them)",
        )
        return None
    kind = "set" if u.set is not None else "scale"
    dist: Dist = u.set if kind == "set" else u.scale  # type: ignore[assignment]
    name = u.name or f"{u.table}.{u.column}"
    nloc = (*loc, "name") if u.name else loc
    ck.claim(name, nloc, _key(nloc))
    if not _check_dist(dist, ck.raw, (*loc, kind), ck.label, ck.problems):
        return None
    t = Target(u.table, dict(u.where), u.column, kind)
    ck.check_target(t, *dist.support(), loc)
    return name, t, dist


def _apply_stacks(
    inst: Instance, base: list[str], axes: list[Axis]
) -> dict[tuple[str, ...], Instance]:
    """Every distinct scenario stack, applied once (scenario problems name their own file)."""
    scen_axes = [a for a in axes if a.stacks is not None]
    stacks: dict[tuple[str, ...], Instance] = {}
    problems: list[Problem] = []
    for combo in itertools.product(*[a.stacks for a in scen_axes]):  # type: ignore[misc]
        key = tuple(base) + tuple(r for part in combo for r in part)  # type: ignore[misc]
        if key not in stacks:
            try:
                stacks[key] = apply_scenarios(inst, list(key)) if key else inst
            except InputError as e:
                problems.extend(e.problems)
    if problems:
        raise InputError(problems)
    return stacks


def _check_wheres(ck: _Checker, stacks: dict[tuple[str, ...], Instance]) -> None:
    """Each column's ``where`` against every scenario stack (a scenario may drop rows)."""
    for t, loc in ck.targets:
        for s in stacks.values():
            _check_where(s, t, ck.raw, loc, ck.label, ck.problems)
    ck.raise_problems()


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
    raw, label, sweep_dir = _read(inst, spec)
    ck = _Checker(raw, label, inst.path, sweep_dir)
    top = _validate(SweepFile, raw, raw, (), label, ck.problems)
    if top is None:
        raise InputError(ck.problems)
    n_samples = top.samples if samples is None else samples
    rng_seed = top.seed if seed is None else seed
    if n_samples < 0 or rng_seed < 0:
        raise InputError("--samples and --seed must be >= 0")
    base = [ck.resolve(r, ("base", i), f"base.{i}") for i, r in enumerate(top.base)]
    axes = _axes(ck, top.grid)
    uncertain = _uncertain(ck, top.uncertain)
    if n_samples and not uncertain and not ck.problems:
        ck.problems.append(
            Problem(
                label,
                line_of(raw, ("samples",)) if samples is None else None,
                "samples" if samples is None else "--samples",
                f"{n_samples} samples of nothing: list `uncertain:` values to draw",
            )
        )
    ck.raise_problems()
    stacks = _apply_stacks(inst, base, axes)  # type: ignore[arg-type]
    _check_wheres(ck, stacks)
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
