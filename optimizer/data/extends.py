"""Instances that extend another: ``extends: ../world-2024`` in ``instance.yaml``.

An extending instance inherits everything of its base (manifest, tables,
scenarios) and adds to it:

* **manifest** — its keys replace the base's; ``defaults``, ``regions`` and
  ``commodity_groups`` are merged entry by entry (an entry of the same name
  replaces the base's);
* **tables** — its CSV files are optional; their rows are added to the base's,
  and a row whose key (the table's key in :mod:`optimizer.data.schema`: ``id`` in
  ``sites.csv``, ``id, recipe`` in ``processes.csv``, …) equals a base row's
  replaces that row in place.  Rows cannot be deleted: set the number to 0
  instead;
* **scenarios** — ``scenarios/<id>.yaml`` is looked up in the instance's own
  folder first, then in its base's (and so on up the chain).

The base must be a valid instance on its own; it may itself extend another.
Every problem keeps its location: rows that come from the base are reported
in the base's files, relative to the extending instance
(``../world-2024/demand.csv:12:market: …``).  Inherited rows carry their file
in a ``_file`` column (beside ``_line``).
"""

from __future__ import annotations

import contextvars
import os
import posixpath
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.data import periods
from optimizer.data.schema import TABLES, Table
from optimizer.data.tables import LINE
from optimizer.data.yamlio import _LinedDict, line_of, load_yaml
from optimizer.errors import InputError, Problem, Problems

#: Name of the column holding, for each row of an extending instance, the file
#: it comes from (relative to the extending instance's folder).
FILE = "_file"

#: Manifest keys merged entry by entry instead of replaced.
MERGED_KEYS = ("defaults", "regions", "commodity_groups")

#: Folders being loaded in this context (cycle detection).
_loading: contextvars.ContextVar[tuple[Path, ...]] = contextvars.ContextVar(
    "rechain_extends_loading", default=()
)


def _label(prefix: str, file: str) -> str:
    if os.path.isabs(file) or prefix in ("", "."):
        return file
    return posixpath.normpath(f"{prefix}/{file}")


def read_base(folder: Path, data: dict, read: Callable[[Path], Any]) -> tuple[Any, str]:
    """Read the instance named by ``data["extends"]`` (relative to ``folder``) with ``read``.

    Returns the base :class:`~optimizer.data.instance.Instance` and the base
    folder relative to ``folder`` (the prefix of its files in messages).
    Raises :class:`InputError` located at the ``extends`` key when the path
    is wrong or makes a cycle, and with the base's own problems (relabelled)
    when the base is invalid.
    """
    ref = data.get("extends")
    line = line_of(data, ("extends",))
    if not isinstance(ref, str) or not ref.strip():
        raise InputError(
            Problem(
                "instance.yaml",
                line,
                "extends",
                "expected the path of the base instance folder, e.g. ../world-2024",
            )
        )
    base = (folder / ref).resolve()
    if not (base / "instance.yaml").is_file():
        what = "no such folder" if not base.exists() else "no instance.yaml in it"
        raise InputError(
            Problem(
                "instance.yaml",
                line,
                "extends",
                f"{ref!r} is not an instance folder ({what}: {base})",
            )
        )
    chain = _loading.get()
    me = folder.resolve()
    if base in (*chain, me):
        names = " -> ".join(p.name for p in (*chain, me, base))
        raise InputError(
            Problem(
                "instance.yaml", line, "extends", f"instances extend each other in a cycle: {names}"
            )
        )
    prefix = base.as_posix() if os.path.isabs(ref) else Path(os.path.relpath(base, me)).as_posix()
    token = _loading.set((*chain, me))
    try:
        inst = read(base)
    except InputError as e:
        moved = Problems(
            Problem(_label(prefix, p.file), p.row, p.column, p.message) for p in e.problems
        )
        for file, n in e.omitted.items():
            moved.omit(_label(prefix, file), n)
        raise InputError(moved) from None
    finally:
        _loading.reset(token)
    return inst, prefix


def merge_manifest(base: Any, data: dict) -> dict:
    """The base manifest's keys, overlaid by ``data`` (the extending instance's YAML).

    The result keeps the extending file's line numbers, so that a problem in a
    key it sets is located in its ``instance.yaml``.
    """
    merged = base.manifest.model_dump()
    merged.pop("redate", None)  # the base's re-dating of its own base is not inherited
    lines = dict(getattr(data, "lines", {}))
    for key, value in data.items():
        if key in MERGED_KEYS and isinstance(value, dict) and isinstance(merged.get(key), dict):
            inner = {**merged[key], **value}
            merged[key] = _LinedDict(
                inner, dict(getattr(value, "lines", {})), getattr(value, "line", None)
            )
        else:
            merged[key] = value
    return _LinedDict(merged, lines, getattr(data, "line", None))


def optional(table: Table) -> Table:
    """``table`` as read in an extending instance: every file is optional there."""
    return replace(table, required=False)


def merge_tables(
    base: Any, prefix: str, own: dict[str, pd.DataFrame], redate: dict[int, int] | None = None
) -> dict[str, pd.DataFrame]:
    """The base's tables with the extending instance's rows added or replaced by key;
    ``redate`` maps the years of the base's period columns to this instance's."""
    out: dict[str, pd.DataFrame] = {}
    for name, table in TABLES.items():
        b = base.tables.get(name)
        mine = own.get(name)
        if b is not None:
            b = b.copy()
            for c in table.columns:
                if c.dtype == "period" and redate and c.name in b.columns:
                    b[c.name] = periods.tidy(b[c.name].map(lambda v: redate.get(v, v)))
            files = b[FILE] if FILE in b.columns else pd.Series(table.file, index=b.index)
            b[FILE] = [_label(prefix, f) for f in files]
        if mine is not None:
            mine = mine.copy()
            mine[FILE] = table.file
        if b is None or mine is None:
            if b is not None or mine is not None:
                out[name] = b if b is not None else mine  # type: ignore[assignment]
            continue
        both = pd.concat([b, mine], ignore_index=True)
        key = list(table.key)
        order = list(range(len(b)))
        rest = list(range(len(b), len(both)))
        if key and len(mine) and len(b):
            kb = pd.MultiIndex.from_frame(b[key].astype(str))
            km = pd.MultiIndex.from_frame(mine[key].astype(str))
            pos = km.get_indexer(kb)  # for each base row: the row of ``mine`` replacing it, or -1
            order = [len(b) + int(j) if j >= 0 else i for i, j in enumerate(pos)]
            used = {int(j) for j in pos if j >= 0}
            rest = [len(b) + j for j in range(len(mine)) if j not in used]
        merged = both.iloc[order + rest].reset_index(drop=True)
        for c in table.columns:
            if c.dtype == "int" and merged[c.name].notna().all() and len(merged):
                merged[c.name] = merged[c.name].astype("int64")
            if c.dtype == "period" and len(merged):
                merged[c.name] = periods.tidy(merged[c.name])
        out[name] = merged
    return out


def located_checks(
    run: Callable[[dict[str, pd.DataFrame], list[Problem]], None],
    tables: dict[str, pd.DataFrame],
    problems: list[Problem],
) -> None:
    """Run cross-table checks on merged tables and locate each problem in its own file.

    The checks name a table's file and a row's ``_line``; in merged tables two
    rows (one inherited, one own) can share a line number.  So the checks run
    on copies whose ``_line`` is the row's position, which is mapped back to
    the row's ``_file`` and ``_line`` afterwards.
    """
    tokens = {}
    for name, df in tables.items():
        c = df.copy()
        c[LINE] = range(1, len(c) + 1)
        tokens[name] = c
    found = Problems()
    run(tokens, found)
    by_file = {TABLES[n].file: n for n in tables}
    for p in found:
        name = by_file.get(p.file)
        if name is None or p.row is None or not (1 <= p.row <= len(tables[name])):
            problems.append(p)
            continue
        row = tables[name].iloc[p.row - 1]
        problems.append(Problem(str(row[FILE]), int(row[LINE]), p.column, p.message))
    for file, n in found.omitted.items():  # counted where the table's own rows are
        if isinstance(problems, Problems):
            problems.omit(file, n)


def scenario_folders(folder: Path) -> list[Path]:
    """``scenarios/`` of an instance and of the instances it extends, nearest first.

    Reads only the ``extends`` key of each ``instance.yaml``; a broken chain
    ends the list (loading the instance reports it).
    """
    out: list[Path] = []
    seen: set[Path] = set()
    cur: Path | None = Path(folder)
    while cur is not None and cur.resolve() not in seen:
        seen.add(cur.resolve())
        out.append(cur / "scenarios")
        try:
            data = load_yaml(cur / "instance.yaml", "instance.yaml")
        except InputError:
            break
        ref = data.get("extends") if isinstance(data, dict) else None
        cur = cur / ref if isinstance(ref, str) and ref.strip() else None
    return out
