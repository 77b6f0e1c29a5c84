"""Scenario overlays: YAML files applied on top of an instance, in order.

A scenario has ``changes`` (set or scale numeric values of any table, on the
rows a ``where`` selector picks) and ``policies`` (export controls, tariffs,
… — see ``docs/scenarios.md``).  Unknown tables, columns, ids or policy types
are errors with the file and line; nothing is silently ignored.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from optimizer.data import periods as P
from optimizer.data import workbook
from optimizer.data.checks import check_gain_loops
from optimizer.data.extends import scenario_folders
from optimizer.data.instance import Instance, read
from optimizer.data.schema import TABLES
from optimizer.data.suggest import did_you_mean
from optimizer.data.yamlio import (
    line_of,
    load_yaml,
    validate_yaml_model,
    validation_problems,
)
from optimizer.errors import InputError, Problem
from optimizer.scenarios.policy_schema import SUPPORTED, PolicyEnvelope, check_origin
from optimizer.scenarios.schema import (
    MAX_TAGS,
    PLANNED_POLICIES,
    Change,
    OriginTag,
    ScenarioFile,
)
from optimizer.scenarios.stockpile import compile_stockpile


def resolve_path(instance_path: Path, ref: str) -> Path:
    """A scenario id from ``INSTANCE/scenarios/`` (or the base's: ``extends``) or a YAML path."""
    p = Path(ref)
    if p.suffix.lower() in (".yaml", ".yml") or p.exists():
        return p
    folders = scenario_folders(instance_path)  # its own, then those of the instances it extends
    for folder in folders:
        cand = folder / f"{ref}.yaml"
        if cand.exists():
            return cand
    known = sorted({x.stem for folder in folders for x in folder.glob("*.yaml")})
    raise InputError(
        Problem(
            str(ref),
            None,
            None,
            f"no scenario {ref!r} in {instance_path / 'scenarios'}"
            + (
                did_you_mean(ref, known) or f" (known: {', '.join(known)})"
                if known
                else " (the folder has none)"
            ),
        )
    )


def load_scenario(path: Path) -> tuple[ScenarioFile, object]:
    """Load and validate one scenario file (returns the model and the raw YAML with lines)."""
    data = load_yaml(path, str(path))
    if not isinstance(data, dict):
        raise InputError(
            Problem(str(path), None, None, "expected a mapping with id, title, changes, policies")
        )
    return validate_yaml_model(ScenarioFile, data, str(path)), data  # type: ignore[return-value]


def load(
    path: str | Path, scenarios: list[str] | None = None, *, base: list[str] | None = None
) -> Instance:
    """Read the instance at ``path``, apply the ``base`` scenarios (part of the reference
    world) and then ``scenarios`` (the disruption) in order; no structure checks.  An
    Excel workbook (``.xlsx``, :mod:`optimizer.data.workbook`) is read through the same
    validation, its problems located at ``FILE.xlsx!sheet!cell``."""
    p = Path(path)
    if p.suffix.lower() == ".xlsx" and p.is_file():
        m = workbook.materialise(p)
        try:
            return load(m.folder, scenarios, base=base)
        except InputError as e:
            raise InputError(workbook.relabel(m, e.problems)) from None
    inst = read(path)
    if base:
        inst = apply_scenarios(inst, list(base), base=True)
    return apply_scenarios(inst, list(scenarios)) if scenarios else inst


def apply_scenarios(inst: Instance, refs: list[str], *, base: bool = False) -> Instance:
    """Return a copy of ``inst`` with the scenarios applied in order.

    The copy's ``reference`` — the undisrupted instance the short run stays near
    (docs/horizon.md) — is ``inst`` (or ``inst``'s own reference if it has one): the
    world before these scenarios.  With ``base=True`` the scenarios are part of the
    reference world instead (a build-out already made, a stockpile already held).
    """
    out = copy.copy(inst)
    if not base:
        out.reference = inst.reference if inst.reference is not None else inst
    out.tables = {k: v.copy() for k, v in inst.tables.items()}
    out.scenarios = list(inst.scenarios)
    out.warnings = list(inst.warnings)
    out.policies = list(inst.policies)
    out.origins = list(inst.origins)
    out.scenario_files = list(inst.scenario_files)
    for ref in refs:
        path = resolve_path(inst.path, ref)
        sc, raw = load_scenario(path)
        problems: list[Problem] = []
        _check_sources(out, sc, raw, str(path), problems)
        for i, ch in enumerate(sc.changes):
            apply_change(out, ch, raw, ("changes", i), str(path), problems)
        edits = [i for i, ch in enumerate(sc.changes) if ch.table == "recipes"]
        if edits and not problems:  # amounts changed: no loop may gain mass now
            check_gain_loops(
                out.tables["recipes"], problems, (str(path), line_of(raw, ("changes", edits[0])))
            )
        new = []
        for i, pol in enumerate(sc.policies):
            parsed = _parse_policy(out, pol, raw, ("policies", i), str(path), problems)
            if parsed is not None:
                pid = parsed.id or f"{sc.id}.{i + 1}"
                if pid in {q for q, _ in out.policies} | {q for q, _ in new}:
                    problems.append(
                        Problem(
                            str(path),
                            line_of(raw, ("policies", i)),
                            "id",
                            f"policy id {pid!r} is used twice",
                        )
                    )
                new.append((pid, _dated(out, parsed)))
        for i, (pid, pol) in enumerate(new):
            if pol.type == "stockpile":
                if not sc.sources:
                    problems.append(
                        Problem(
                            str(path),
                            line_of(raw, ("policies", i)),
                            "sources",
                            "a stockpile adds stock rows: list the scenario's `sources:`",
                        )
                    )
                    continue
                compile_stockpile(out, pid, pol, sc.sources[0])
        _add_origins(out, sc, new, raw, str(path), problems)
        if problems:
            raise InputError(problems)
        if sc.horizon is not None:
            out.horizon_set = sc.horizon
        out.policies.extend(new)
        out.scenarios.append(sc.id)
        out.scenario_files.append(path)
    return out


def _add_origins(inst, sc: ScenarioFile, new: list, raw, label: str, problems: list[Problem]):
    """Origin tags the scenario traces: its ``tracing`` list and its policies' ``origin``."""
    wanted: list[tuple[OriginTag, tuple]] = []
    for i, tr in enumerate(sc.tracing):
        for key, msg in check_origin(inst, tr.origin, tr.from_stage):
            problems.append(Problem(label, line_of(raw, ("tracing", i, key)), key, msg))
        wanted.append((OriginTag(tr.origin, tr.from_stage), ("tracing", i)))
    for i, (_pid, pol) in enumerate(new):
        tag = pol.origin_tag()
        if tag is not None:
            wanted.append((tag, ("policies", i, "origin")))
    for tag, loc in wanted:
        if tag in inst.origins:
            continue
        if len(inst.origins) >= MAX_TAGS:
            problems.append(
                Problem(
                    label,
                    line_of(raw, loc),
                    "origin",
                    f"at most {MAX_TAGS} origins can be traced at once "
                    f"(already: {', '.join(t.name for t in inst.origins)}); "
                    f"each one doubles the traced part of the model",
                )
            )
            continue
        inst.origins = [*inst.origins, tag]


def _check_sources(inst, sc: ScenarioFile, raw, label: str, problems: list[Problem]) -> None:
    known = set(inst.tables["sources"]["id"])
    for i, s in enumerate(sc.sources):
        if s not in known:
            problems.append(
                Problem(
                    label,
                    line_of(raw, ("sources", i)),
                    "sources",
                    f"{s!r} is not a source id in sources.csv",
                )
            )


def apply_change(inst, ch: Change, raw, loc: tuple, label: str, problems: list[Problem]) -> None:
    line = line_of(raw, loc)
    if ch.table not in TABLES:
        problems.append(
            Problem(
                label,
                line_of(raw, (*loc, "table")),
                "table",
                f"unknown table {ch.table!r} (known: {', '.join(TABLES)})",
            )
        )
        return
    table = TABLES[ch.table]
    df = inst.tables.get(ch.table)
    if df is None:
        problems.append(Problem(label, line, "table", f"the instance has no {table.file}"))
        return
    cols = {c.name: c for c in table.columns}
    mask = np.ones(len(df), dtype=bool)
    before = len(problems)
    for col, value in ch.where.items():
        if col not in cols:
            problems.append(
                Problem(
                    label,
                    line_of(raw, (*loc, "where", col)),
                    f"where.{col}",
                    f"{table.file} has no column {col!r}",
                )
            )
            continue
        values = value if isinstance(value, list) else [value]
        have = set(df[col].astype(str))
        missing = sorted({str(v) for v in values} - have)
        if col == "country":  # a region is missing when none of its countries has a row
            members = {str(v): inst.region_members(str(v)) for v in values}
            missing = sorted(v for v, ms in members.items() if not ms & have)
            values = sorted(set().union(*members.values()))
        if cols[col].dtype in ("float", "int"):
            try:
                values = [float(v) for v in values]
            except (TypeError, ValueError):
                problems.append(
                    Problem(
                        label,
                        line_of(raw, (*loc, "where", col)),
                        f"where.{col}",
                        f"{value!r} is not a number",
                    )
                )
                continue
            sel = df[col].isin(values).to_numpy()
        else:
            sel = df[col].astype(str).isin([str(v) for v in values]).to_numpy()
            if missing:
                problems.append(
                    Problem(
                        label,
                        line_of(raw, (*loc, "where", col)),
                        f"where.{col}",
                        f"no row of {table.file} has {col} = {', '.join(map(repr, missing))}",
                    )
                )
        mask &= sel
    if ch.where and not mask.any() and len(problems) == before:
        shown = " and ".join(f"{k} = {v!r}" for k, v in ch.where.items())
        problems.append(
            Problem(
                label,
                line_of(raw, (*loc, "where")),
                "where",
                f"no row of {table.file} has {shown}"
                + (" together" if len(ch.where) > 1 else "")
                + ": the change would do nothing",
            )
        )
    if not (ch.set or ch.scale):
        problems.append(Problem(label, line, None, "a change needs `set` or `scale`"))
    for kind, edits in (("set", ch.set), ("scale", ch.scale)):
        for col, v in edits.items():
            if col not in cols or cols[col].dtype not in ("float", "int") or col == "period":
                numeric = [
                    c.name
                    for c in table.columns
                    if c.dtype in ("float", "int") and c.name != "period"
                ]
                problems.append(
                    Problem(
                        label,
                        line_of(raw, (*loc, kind, col)),
                        f"{kind}.{col}",
                        f"{table.file} has no numeric column {col!r} to {kind} (numeric: {', '.join(numeric)})",
                    )
                )
                continue
            c = cols[col]
            if (
                not np.isfinite(v)
                or (c.ge is not None and kind == "set" and v < c.ge)
                or (kind == "scale" and v < 0)
            ):
                problems.append(
                    Problem(
                        label,
                        line_of(raw, (*loc, kind, col)),
                        f"{kind}.{col}",
                        f"{v} is out of range",
                    )
                )
                continue
            if problems:
                continue
            new = df[col].to_numpy(dtype=float).copy()
            if kind == "set":
                new[mask] = v
            else:
                new[mask] = new[mask] * v
            df[col] = new
    inst.tables[ch.table] = df


def _dated(inst, pol):
    """A policy with ``starts``: its periods narrowed to those that end after that date."""
    if getattr(pol, "starts", None) is None:
        return pol
    within = P.resolve(pol.periods, inst.periods) if pol.periods is not None else inst.periods
    return pol.model_copy(update={"periods": P.after(within, pol.starts)})


def _parse_policy(inst, pol: dict, raw, loc: tuple, label: str, problems: list[Problem]):
    """Validate one policy mapping (schema, then names against the instance)."""
    ptype = pol.get("type") if isinstance(pol, dict) else None
    line = line_of(raw, loc)
    if not isinstance(pol, dict):
        problems.append(Problem(label, line, None, "a policy must be a mapping with a `type`"))
    elif ptype is None:
        problems.append(Problem(label, line, "type", "policy has no `type`"))
    elif ptype in SUPPORTED:
        try:
            model = PolicyEnvelope.model_validate({"policy": pol}).policy
        except ValidationError as e:
            # pydantic's location starts with the wrapper field and the union's tag
            for q in validation_problems(
                e, raw, label, loc, skip=lambda x: x == "policy" or x in SUPPORTED
            ):
                problems.append(Problem(q.file, q.row, q.column or "policy", q.message))
            return None
        for key, msg in model.check(inst):
            problems.append(Problem(label, line_of(raw, (*loc, key)), key, msg))
        return model
    elif ptype in PLANNED_POLICIES:
        problems.append(
            Problem(
                label,
                line,
                "type",
                f"policy type {ptype!r} is not yet supported by this version of rechain; the scenario cannot be applied (it would be silently wrong)",
            )
        )
    else:
        problems.append(
            Problem(
                label,
                line,
                "type",
                f"unknown policy type {ptype!r} (known: {', '.join(sorted(PLANNED_POLICIES | SUPPORTED))})",
            )
        )
    return None


__all__ = ["apply_change", "apply_scenarios", "load", "load_scenario", "resolve_path"]
