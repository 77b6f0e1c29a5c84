"""An instance as one Excel workbook, and back (``rechain export-xlsx``, ``load("x.xlsx")``).

:func:`write_workbook` writes a loaded instance — its base's tables merged in when it
``extends`` one — as one sheet per table: row 1 the column names, row 2 their units
(``[t/yr]``, skipped when read back), data from row 3, the header frozen, lists of the
valid ids and choices as data validation, every text cell stored as text (never a
formula).  A ``README`` sheet says what each sheet holds; ``instance.yaml`` holds the
manifest as YAML, one line per row; ``scenarios`` holds each scenario file's YAML.

:func:`materialise` turns a workbook back into an instance folder (``instance.yaml``,
the CSV tables, ``scenarios/``) in a cache folder named by the workbook's content hash,
so that the one loader validates it exactly as it validates a folder; :func:`relabel`
turns every problem found there into the workbook's terms, ``FILE.xlsx!sheet!C5``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from optimizer.data.extends import scenario_folders
from optimizer.data.schema import TABLES
from optimizer.data.tables import COMMENT_COLUMNS
from optimizer.errors import InputError, Problem

if TYPE_CHECKING:
    from optimizer.data.instance import Instance

#: Sheets that are not tables.
README, MANIFEST, SCENARIOS = "README", "instance.yaml", "scenarios"
#: Rows above the data: the column names, then their units.
HEADER_ROW, UNITS_ROW, FIRST_ROW = 1, 2, 3
_UNIT_CELL = re.compile(r"^\[.*\]$")
#: Largest workbook read (bytes).
MAX_BYTES = 64 * 1024 * 1024


def _columns(table, df: pd.DataFrame) -> list[str]:
    cols = [c.name for c in table.columns]
    return cols + [c for c in COMMENT_COLUMNS if c in df.columns and c not in cols]


def _cell(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, str) and v == "":
        return None
    return v


def _manifest_yaml(inst: Instance) -> str:
    data = inst.manifest.model_dump(mode="json", exclude_none=True)
    # the base's tables are merged in and redated: the workbook stands alone
    data.pop("extends", None)
    data.pop("redate", None)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _scenario_files(inst: Instance) -> list[tuple[str, str]]:
    """(id, YAML text) of every scenario file of the instance and of its bases."""
    out: dict[str, str] = {}
    for folder in scenario_folders(inst.path):
        if folder.is_dir():
            for f in sorted(folder.glob("*.y*ml")):
                out.setdefault(f.stem, f.read_text(encoding="utf-8"))
    return sorted(out.items())


def write_workbook(inst: Instance, path: Path) -> None:
    """The tables, manifest and scenarios of ``inst`` as one workbook at ``path``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from optimizer.fileio import text_only

    wb = Workbook()
    readme = wb.active
    readme.title = README
    bold, grey = Font(bold=True), Font(italic=True, color="666666")
    fill = PatternFill("solid", fgColor="DDEBF7")
    sheets: dict[str, tuple[Any, list[str], int]] = {}
    for name, table in TABLES.items():
        df = inst.tables.get(name)
        if df is None:
            continue
        if name == "demand" and not inst.scenarios and inst.demand_as_given is not None:
            df = inst.demand_as_given  # a year's rows as given, not spread (exact numbers)
        cols = _columns(table, df)
        ws = wb.create_sheet(name)
        units = {c.name: c.unit for c in table.columns}
        for j, c in enumerate(cols, start=1):
            h = ws.cell(HEADER_ROW, j, c)
            h.font, h.fill = bold, fill
            u = ws.cell(UNITS_ROW, j, f"[{units.get(c) or '-'}]")
            u.font = grey
            ws.column_dimensions[get_column_letter(j)].width = min(
                60,
                max(10, len(c) + 2, *(len(str(v)) + 2 for v in df[c].head(200)))
                if c in df.columns
                else 12,
            )
        values = [df[c].to_numpy(dtype=object) if c in df.columns else None for c in cols]
        for i in range(len(df)):
            ws.append([_cell(v[i]) if v is not None else None for v in values])
        ws.freeze_panes = ws.cell(FIRST_ROW, 1)
        sheets[name] = (ws, cols, len(df))
    # lists of valid ids and choices (Excel warns on anything else typed in)
    for name, (ws, cols, n) in sheets.items():
        table = TABLES[name]
        last = max(FIRST_ROW + n + 500, FIRST_ROW + 1000)
        for j, c in enumerate(cols, start=1):
            col = next((x for x in table.columns if x.name == c), None)
            if col is None:
                continue
            formula = None
            if col.choices and len(",".join(col.choices)) < 250:
                formula = '"' + ",".join(col.choices) + '"'
            elif col.references:
                ref_table, _, ref_col = col.references.partition(".")
                if ref_table in sheets and ref_table != name:
                    rws, rcols, rn = sheets[ref_table]
                    if ref_col in rcols and rn:
                        letter = get_column_letter(rcols.index(ref_col) + 1)
                        formula = (
                            f"'{ref_table}'!${letter}${FIRST_ROW}:${letter}${FIRST_ROW + rn - 1}"
                        )
            if formula is None:
                continue
            dv = DataValidation(type="list", formula1=formula, allow_blank=True)
            dv.error = f"not a valid {c}"
            dv.showErrorMessage = False  # a warning in Excel, the loader decides
            letter = get_column_letter(j)
            dv.add(f"{letter}{FIRST_ROW}:{letter}{last}")
            ws.add_data_validation(dv)
    man = wb.create_sheet(MANIFEST)
    for line in _manifest_yaml(inst).splitlines():
        man.append([line])
    man.column_dimensions["A"].width = 100
    sc = wb.create_sheet(SCENARIOS)
    sc.append(["id", "yaml"])
    for c in sc[1]:
        c.font, c.fill = bold, fill
    for sid, text in _scenario_files(inst):
        sc.append([sid, text])
    sc.column_dimensions["A"].width, sc.column_dimensions["B"].width = 34, 100
    sc.freeze_panes = "A2"
    m = inst.manifest
    readme.append([m.title])
    readme["A1"].font = Font(bold=True, size=14)
    readme.append([f"{m.name}: exported by rechain export-xlsx from {inst.path.name}"])
    readme.append([" ".join(str(m.description).split())])
    readme.append([])
    readme.append(
        [
            "Edit the table sheets, then solve the workbook itself: rechain solve FILE.xlsx "
            "(or load('FILE.xlsx') in Python). Row 1 holds the column names, row 2 their "
            "units (in brackets, skipped when read), data start at row 3. Blank cells are "
            "blank values. Errors name the sheet and cell (FILE.xlsx!sites!C5)."
        ]
    )
    readme.append([])
    readme.append(["sheet", "rows", "what it holds"])
    for c in readme[readme.max_row]:
        c.font = bold
    for name, (_, _, n) in sheets.items():
        readme.append([name, n, " ".join(TABLES[name].description.split())])
    readme.append([MANIFEST, None, "instance.yaml: name, periods, defaults, regions (YAML)"])
    readme.append([SCENARIOS, None, "scenario files: id and YAML (rechain solve FILE.xlsx -s ID)"])
    readme.column_dimensions["A"].width, readme.column_dimensions["C"].width = 18, 120
    text_only(wb)  # no text from the data is ever a formula
    wb.save(path)


# ----------------------------------------------------------------------------- reading


@dataclass
class Materialised:
    """An instance folder made from a workbook, and where each of its lines came from."""

    workbook: Path
    folder: Path
    #: table file -> (CSV line -> sheet row), and its column names in sheet order
    rows: dict[str, dict[int, int]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    #: scenario file name -> sheet row
    scenarios: dict[str, int] = field(default_factory=dict)


def _text(v: Any) -> str:
    """A cell as the text a CSV would hold (numbers exactly, dates as months)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, dt.datetime | dt.date):
        d = v.date() if isinstance(v, dt.datetime) else v
        return f"{d.year:04d}-{d.month:02d}" if d.day == 1 else d.isoformat()
    return str(v)


def _csv(rows: list[list[str]]) -> tuple[str, list[int]]:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow(r)
    text = buf.getvalue()
    reader = csv.reader(io.StringIO(text, newline=""))
    ends = []
    for _ in reader:
        ends.append(reader.line_num)
    return text, ends


def _digest(path: Path) -> str:
    if path.stat().st_size > MAX_BYTES:
        raise InputError(
            Problem(path.name, None, None, f"larger than {MAX_BYTES // 2**20} MB: not read")
        )
    return hashlib.sha256(path.read_bytes()).hexdigest()


def materialise(path: Path) -> Materialised:
    """The instance folder of workbook ``path`` (made once per workbook content)."""
    from openpyxl import load_workbook

    label = path.name
    digest = _digest(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds for a file that is not a workbook
        raise InputError(
            Problem(label, None, None, f"not an Excel workbook (.xlsx): {e}")
        ) from None
    out = Materialised(path, Path(tempfile.gettempdir()) / f"rechain-xlsx-{digest[:20]}")
    files: dict[str, str] = {}
    problems: list[Problem] = []
    names = set(wb.sheetnames)
    if MANIFEST not in names:
        problems.append(Problem(label, None, None, f"no sheet {MANIFEST!r} (the manifest)"))
    for sheet in wb.sheetnames:
        ws = wb[sheet]
        if sheet == README:
            continue
        if sheet == MANIFEST:
            lines = [_text(r[0]) if r else "" for r in ws.iter_rows(values_only=True)]
            files["instance.yaml"] = "\n".join(lines) + "\n"
            continue
        if sheet == SCENARIOS:
            for i, r in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
                sid, text = (list(r) + [None, None])[:2]
                if sid is None and text is None:
                    continue
                sid = _text(sid).strip()
                if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", sid):
                    problems.append(
                        Problem(f"{label}!{SCENARIOS}!A{i}", None, None, f"bad scenario id {sid!r}")
                    )
                    continue
                files[f"scenarios/{sid}.yaml"] = _text(text)
                out.scenarios[f"{sid}.yaml"] = i
            continue
        if sheet not in TABLES:
            problems.append(
                Problem(
                    f"{label}!{sheet}",
                    None,
                    None,
                    f"unknown sheet (tables: {', '.join(TABLES)}; and {README}, {MANIFEST}, "
                    f"{SCENARIOS})",
                )
            )
            continue
        rows: list[list[str]] = []
        sheet_rows: list[int] = []
        for i, r in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = [_text(v) for v in r]
            while cells and cells[-1] == "":
                cells.pop()
            if i == UNITS_ROW and all(not c or _UNIT_CELL.match(c) for c in cells):
                continue
            if not cells and i > HEADER_ROW:
                continue
            rows.append(cells)
            sheet_rows.append(i)
        if rows:
            width = len(rows[0])
            rows = [r + [""] * (width - len(r)) if len(r) < width else r for r in rows]
        text, ends = _csv(rows)
        file = TABLES[sheet].file
        files[file] = text
        out.rows[file] = dict(zip(ends, sheet_rows, strict=True))
        out.columns[file] = rows[0] if rows else []
    wb.close()
    if problems:
        raise InputError(problems)
    if not (out.folder / ".complete").exists():
        tmp = Path(tempfile.mkdtemp(prefix=".rechain-xlsx-", dir=out.folder.parent))
        for name, text in files.items():
            p = tmp / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
        (tmp / ".complete").write_text(str(path), encoding="utf-8")
        try:
            os.rename(tmp, out.folder)
        except OSError:  # made meanwhile by another process, or a stale partial copy
            if not (out.folder / ".complete").exists():
                shutil.rmtree(out.folder, ignore_errors=True)
                os.rename(tmp, out.folder)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    return out


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i)


def relabel(m: Materialised, problems: list[Problem]) -> list[Problem]:
    """``problems`` found in the folder of ``m``, located in the workbook's sheets."""
    book = m.workbook.name
    out = []
    for p in problems:
        f = p.file
        if f in m.rows:
            sheet = f[: -len(".csv")]
            where = f"{book}!{sheet}"
            row = m.rows[f].get(p.row) if p.row is not None else None
            cols = m.columns.get(f, [])
            if row is not None and p.column in cols:
                where += f"!{_letter(cols.index(p.column) + 1)}{row}"
            elif row is not None:
                where += f"!A{row}:{row}"
            elif p.column in cols:
                where += f"!{_letter(cols.index(p.column) + 1)}:{_letter(cols.index(p.column) + 1)}"
            elif p.column:
                where += f" (column {p.column})"
            out.append(Problem(where, None, None, p.message))
        elif f == "instance.yaml":
            where = f"{book}!{MANIFEST}" + (f"!A{p.row}" if p.row is not None else "")
            out.append(Problem(where, None, p.column, p.message))
        elif Path(f).name in m.scenarios and str(m.folder) in f:
            where = f"{book}!{SCENARIOS}!B{m.scenarios[Path(f).name]}"
            line = f" (line {p.row})" if p.row is not None else ""
            out.append(Problem(where + line, None, p.column, p.message))
        else:
            out.append(p)
    return out
