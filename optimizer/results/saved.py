"""Reading a saved ``rechain solve --out`` folder back into a :class:`~.result.Result`.

Ids are read as text ("NA" is Namibia, not a missing value), every table of
:data:`~optimizer.results.columns.TABLE_FILES` that is missing from an older folder
comes back empty with its columns.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem
from optimizer.fileio import unescape_formula, unescape_formulas
from optimizer.results.columns import OUTPUT_COLUMNS, TABLE_FILES
from optimizer.results.provenance import check_parts
from optimizer.results.result import Result

#: Columns of each table (used for tables missing from an older folder).
COLUMNS = OUTPUT_COLUMNS

#: Columns read as text (ids and names), whatever they look like.
TEXT_COLUMNS = {
    "source",
    "target",
    "commodity",
    "source_country",
    "target_country",
    "link",
    "site",
    "process",
    "recipe",
    "country",
    "market",
    "constraint",
    "kind",
    "element",
    "stage",
    "scope",
    "top_country",
    "top",
    "policy",
    "type",
    "sense",
    "worst_market",
    "origin",
    "to_origin",
    "step",
    "case",
    "base",
    "group",
    "key_input",
    "cut_elements",
    "cut_countries",
    "area",
    "basis",
}


def read_table(path: Path) -> pd.DataFrame:
    """One CSV written by rechain (``Result.write`` …): ids as text ("NA" is Namibia, not
    missing), text that was stored escaped against formulas (``'=HYPERLINK(...)``,
    :func:`optimizer.fileio.escape_formulas`) as it was before (``=HYPERLINK(...)``)."""
    head = pd.read_csv(path, nrows=0)
    dtype = {c: str for c in head.columns if unescape_formula(c) in TEXT_COLUMNS}
    df = pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=[""])
    unescape_formulas(df)
    for c in dtype:
        c = unescape_formula(c)
        df[c] = df[c].fillna("")
    if (
        "period" in df.columns
        and len(df)
        and pd.api.types.is_float_dtype(df["period"])
        and df["period"].notna().all()
    ):
        df["period"] = df["period"].astype(int)
    return df


def load_result(folder: str | Path) -> Result:
    """Read ``summary.json`` and the CSV tables of a ``rechain solve --out`` folder."""
    folder = Path(folder)
    sfile = folder / "summary.json"
    if not sfile.is_file():
        raise InputError(
            Problem(str(folder), None, None, "no summary.json: not a `rechain solve --out` folder")
        )
    try:
        summary = json.loads(sfile.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(Problem(str(sfile), None, None, f"cannot read: {e}")) from e
    if not isinstance(summary, dict) or "objective" not in summary:
        raise InputError(Problem(str(sfile), None, "objective", "not a rechain summary"))
    parts = check_parts(folder)  # a criticality of another instance is not merged
    tables: dict[str, pd.DataFrame] = {}
    for fname, attr in TABLE_FILES.items():
        path = folder / fname
        if path.is_file():
            try:
                tables[attr] = read_table(path)
            except (OSError, ValueError, pd.errors.ParserError) as e:
                raise InputError(Problem(str(path), None, None, f"cannot read: {e}")) from e
        else:
            tables[attr] = pd.DataFrame(columns=COLUMNS.get(attr, []))
    sh = tables["shortages"]
    if "unmet_share" not in sh.columns and {"demand", "unmet"} <= set(sh.columns):
        d = sh["demand"].astype(float)
        sh["unmet_share"] = np.where(d > 0, sh["unmet"] / d.where(d > 0, 1), 0.0)
    summary.setdefault("scenarios", [])
    summary.setdefault("cost_breakdown", {})
    summary.setdefault("status", "unknown")
    summary.setdefault("total_demand", float(sh["demand"].sum()) if "demand" in sh else 0.0)
    summary.setdefault("total_unmet", float(sh["unmet"].sum()) if "unmet" in sh else 0.0)
    if "unmet_share" not in summary:
        td = float(summary["total_demand"] or 0.0)
        summary["unmet_share"] = float(summary["total_unmet"]) / td if td else 0.0
    extra: dict[str, Any] = {"folder": str(folder), "provenance": parts}
    crit = folder / "criticality.csv"
    if crit.is_file():
        extra["criticality"] = read_table(crit)
    return Result(summary=summary, extra=extra, **tables)
