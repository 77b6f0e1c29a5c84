"""Reading instance CSV tables and checking them against :mod:`optimizer.data.schema`.

Every problem is reported as ``file:line:column: message`` and all problems of
all tables are collected before anything fails.  Checks are vectorised with
pandas so that a 10^5-row table validates in well under a second.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.data import periods
from optimizer.data.limits import MAX_CSV_BYTES, read_limited
from optimizer.data.schema import ID_PATTERN, Table
from optimizer.errors import InputError, Problem, kept_part

#: Free-text columns that any table may carry; they are kept and never interpreted.
COMMENT_COLUMNS = ("note", "notes", "comment")

#: Name of the column holding each row's 1-based line number in its file.
LINE = "_line"


def read_table(folder: Path, table: Table, problems: list[Problem]) -> pd.DataFrame | None:
    """Read ``folder/<table>.csv`` as text cells; structural problems go to ``problems``.

    Returns ``None`` when the table cannot be read at all.  Cells are stripped
    strings ("" for blank).  A column ``_line`` holds each row's line number.
    """
    path = folder / table.file
    label = table.file
    if not path.exists():
        if table.required:
            problems.append(Problem(label, None, None, "required file is missing"))
        return None
    try:
        raw = read_limited(path, label, MAX_CSV_BYTES, "a CSV table")
    except InputError as e:
        problems.extend(e.problems)
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        problems.append(
            Problem(
                label,
                line,
                None,
                f"not UTF-8 text (byte 0x{raw[e.start]:02x} at character {col}); save the file as UTF-8",
            )
        )
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for rec in reader:
            if not rec or not "".join(rec).strip():
                continue
            if header is None:
                header = [c.strip() for c in rec]
                header_line = reader.line_num
                continue
            if len(rec) != len(header):
                problems.append(
                    Problem(
                        label,
                        reader.line_num,
                        None,
                        f"row has {len(rec)} fields, the header has {len(header)}",
                    )
                )
                continue
            rows.append([c.strip() for c in rec])
            lines.append(reader.line_num)
    except csv.Error as e:
        problems.append(Problem(label, reader.line_num, None, f"malformed CSV: {e}"))
        return None
    if header is None:
        problems.append(Problem(label, None, None, "file is empty (expected a header row)"))
        return None
    bad = False
    seen = set()
    for name in header:
        if not name:
            problems.append(Problem(label, header_line, None, "header has an empty column name"))
            bad = True
        elif name in seen:
            problems.append(Problem(label, header_line, name, "column appears twice in the header"))
            bad = True
        seen.add(name)
    known = {c.name for c in table.columns}
    unknown = [n for n in header if n and n not in known and n not in COMMENT_COLUMNS]
    expected = ", ".join(sorted(known))
    for name in kept_part(problems, label, unknown):
        problems.append(Problem(label, header_line, name, f"unknown column (expected: {expected})"))
    bad = bad or bool(unknown)
    for c in table.columns:
        if c.required and c.name not in header:
            problems.append(Problem(label, header_line, c.name, "required column is missing"))
            bad = True
    if bad:
        return None
    df = (
        pd.DataFrame(rows, columns=header, dtype=object)
        if rows
        else pd.DataFrame(columns=header, dtype=object)
    )
    for c in table.columns:
        if c.name not in df.columns:
            df[c.name] = ""
    df[LINE] = np.asarray(lines, dtype=np.int64)
    if df.empty and table.required:
        problems.append(Problem(label, None, None, "table has no rows"))
    return df


def _report_found(
    found: list[tuple[np.ndarray, str, Callable[[int], str]]],
    label: str,
    line: np.ndarray,
    problems: list[Problem],
) -> None:
    """Append the problems of ``found`` in line order; only as many as ``problems`` keeps
    of ``label`` get a message, the others are counted."""
    if not found:
        return
    rows = np.concatenate([idx for idx, _, _ in found])
    which = np.concatenate([np.full(len(idx), k) for k, (idx, _, _) in enumerate(found)])
    order = np.lexsort((which, line[rows]))
    for j in kept_part(problems, label, order):
        i, (_, col, msg_for) = int(rows[j]), found[which[j]]
        problems.append(Problem(label, int(line[i]), col, msg_for(i)))


_NONFINITE = {
    "nan",
    "+nan",
    "-nan",
    "inf",
    "+inf",
    "-inf",
    "infinity",
    "+infinity",
    "-infinity",
    "na",
    "n/a",
    "null",
    "none",
}


def coerce_table(df: pd.DataFrame, table: Table, problems: list[Problem]) -> pd.DataFrame:
    """Convert cells to their schema types and check blanks, ranges, choices and keys.

    Bad cells are reported and the rows that hold them are dropped, so later
    cross-table checks do not pile follow-on errors on top.  Messages are written
    only for the problems ``problems`` keeps (:class:`~optimizer.errors.Problems`:
    the first by line), the others are counted: a junk file costs one vectorised
    pass, not a message per cell.
    """
    label = table.file
    line = df[LINE].to_numpy()
    out = pd.DataFrame(index=df.index)
    bad_rows = np.zeros(len(df), dtype=bool)
    #: (rows, column, message for row i) of every check that failed somewhere
    found: list[tuple[np.ndarray, str, Callable[[int], str]]] = []

    def report(mask: np.ndarray, col: str, msg_for: Callable[[int], str]) -> None:
        idx = np.flatnonzero(mask)
        if len(idx):
            found.append((idx, col, msg_for))
            bad_rows[idx] = True

    for c in table.columns:
        text = df[c.name].astype(str)
        tv = text.to_numpy(dtype=object)
        blank = (text == "").to_numpy()
        if not c.nullable:
            report(blank, c.name, lambda i: "is blank, a value is required")
        if c.dtype in ("float", "int"):
            lowered = text.str.lower()
            nonfinite = lowered.isin(_NONFINITE).to_numpy()
            report(nonfinite & ~blank, c.name, lambda i, t=tv: f"{t[i]!r} is not a finite number")
            nums = pd.to_numeric(text.where(~nonfinite, ""), errors="coerce").to_numpy(
                dtype=float, copy=True
            )
            unparsable = np.isnan(nums) & ~blank & ~nonfinite
            report(unparsable, c.name, lambda i, t=tv: f"{t[i]!r} is not a number")
            overflow = np.isinf(nums)  # 1e400 parses to inf
            report(
                overflow,
                c.name,
                lambda i, t=tv: f"{t[i]!r} is not a finite number (too large for a float)",
            )
            nums[overflow] = np.nan
            valid = ~np.isnan(nums)
            if c.dtype == "int":
                frac = valid & (nums != np.round(nums))
                report(frac, c.name, lambda i, t=tv: f"{t[i]!r} is not a whole number")
            if c.ge is not None:
                report(
                    valid & (nums < c.ge),
                    c.name,
                    lambda i, n=nums, g=c.ge: f"must be ≥ {g:g}, got {n[i]:g}",
                )
            if c.gt is not None:
                report(
                    valid & (nums <= c.gt),
                    c.name,
                    lambda i, n=nums, g=c.gt: f"must be > {g:g}, got {n[i]:g}",
                )
            if c.le is not None:
                report(
                    valid & (nums > c.le),
                    c.name,
                    lambda i, n=nums, g=c.le: f"must be ≤ {g:g}, got {n[i]:g}",
                )
            out[c.name] = nums
        elif c.dtype == "period":
            vals: list = [None] * len(text)
            unparsed = np.zeros(len(text), dtype=bool)
            for i, t in enumerate(tv):
                if not blank[i]:
                    try:
                        vals[i] = periods.parse(t)
                    except ValueError:
                        unparsed[i] = True
            report(
                unparsed,
                c.name,
                lambda i, t=tv: (
                    f"{t[i]!r} is not a period (a year such as 2024 or a month such as 2025-04)"
                ),
            )
            out[c.name] = pd.Series(vals, index=df.index, dtype=object)
        else:
            if c.dtype == "id":
                badid = ~blank & ~text.str.match(ID_PATTERN).to_numpy()
                report(
                    badid,
                    c.name,
                    lambda i, t=tv: (
                        f"{t[i]!r} is not a valid id (letters, digits, _ . - only; no spaces)"
                    ),
                )
            if c.choices:
                badc = ~blank & ~text.isin(c.choices).to_numpy()
                report(
                    badc,
                    c.name,
                    lambda i, t=tv, ch=c.choices: f"{t[i]!r} is not one of {', '.join(ch)}",
                )
            out[c.name] = tv
    if table.key:
        key = list(table.key)
        later = df.duplicated(key, keep="first").to_numpy()
        if later.any():
            keycols = ", ".join(table.key)
            firsts = df.groupby(key, sort=False)[LINE].transform("first").to_numpy()
            keys = df[key].to_numpy(dtype=object)
            report(
                later,
                table.key[0],
                lambda i: (
                    f"duplicate ({keycols}) {'/'.join(keys[i])}: also on line {int(firsts[i])}"
                ),
            )
    _report_found(found, label, line, problems)
    for extra in COMMENT_COLUMNS:
        if extra in df.columns:
            out[extra] = df[extra].to_numpy(dtype=object)
    out[LINE] = line
    out = out.loc[~bad_rows].reset_index(drop=True)
    for c in table.columns:
        if c.dtype == "int" and out[c.name].notna().all():
            out[c.name] = out[c.name].astype(np.int64)
        if c.dtype == "period":
            out[c.name] = periods.tidy(out[c.name])
    return out
