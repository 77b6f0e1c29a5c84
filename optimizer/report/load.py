"""Reading a saved ``--out`` folder back into :class:`~optimizer.results.Result` objects.

``rechain solve --out DIR`` writes ``summary.json`` and one CSV per table;
``rechain compare --out DIR`` writes ``compare_*.csv`` plus one such folder per
case.  :func:`load_saved` reads either kind, so ``rechain report DIR`` can
build the HTML report without solving again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Problem, RechainError
from optimizer.results import OUTPUT_COLUMNS, TABLE_FILES, Result

if TYPE_CHECKING:
    from optimizer.compare import Comparison
    from optimizer.instance import Instance

log = logging.getLogger(__name__)

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
}


@dataclass
class Saved:
    """What a saved folder holds: one result, or several compared cases."""

    kind: str  # "result" or "compare"
    results: list[tuple[str, Result]]
    comparisons: list[Comparison] = field(default_factory=list)
    instance: Instance | None = None
    notes: list[str] = field(default_factory=list)


def read_table(path: Path) -> pd.DataFrame:
    """One CSV written by ``Result.write``: ids as text ("NA" is Namibia, not missing)."""
    head = pd.read_csv(path, nrows=0)
    dtype = {c: str for c in head.columns if c in TEXT_COLUMNS}
    df = pd.read_csv(path, dtype=dtype, keep_default_na=False, na_values=[""])
    for c in dtype:
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
    extra: dict[str, Any] = {"folder": str(folder)}
    crit = folder / "criticality.csv"
    if crit.is_file():
        extra["criticality"] = read_table(crit)
    return Result(summary=summary, extra=extra, **tables)


def find_instance(
    summary: dict[str, Any], folder: Path, override: str | Path | None = None
) -> tuple[Instance | None, list[str]]:
    """The instance a saved result was solved on (without scenarios), if it can be found.

    Tries ``override``, then ``summary["instance_path"]`` as given (relative to
    the working directory) and relative to the folder's parents.  Returns the
    instance (or None) and notes for the reader of the report.
    """
    from optimizer.instance import load

    cands: list[Path] = []
    if override is not None:
        cands.append(Path(override))
    ipath = summary.get("instance_path")
    if ipath:
        p = Path(str(ipath))
        cands.append(p)
        if not p.is_absolute():
            cands += [parent / p for parent in folder.resolve().parents]
    name = summary.get("instance")
    if name:
        cands += [parent / "instances" / str(name) for parent in folder.resolve().parents]
    for c in cands:
        if (c / "instance.yaml").is_file():
            try:
                inst = load(c, structure_checks=False)
            except RechainError as e:
                return None, [
                    f"instance folder {c} could not be loaded ({e}); names and stages "
                    "are inferred from the result tables"
                ]
            if override is None and name and inst.name != name:
                continue
            return inst, []
    if override is not None:
        raise InputError(Problem(str(override), None, None, "no instance.yaml in this folder"))
    return None, [
        f"instance folder {ipath or name!r} not found: site names, stages and sources are "
        "missing, stages are inferred from the flows (give --instance PATH)"
    ]


def load_saved(folder: str | Path, instance: str | Path | None = None) -> Saved:
    """Read a ``rechain solve --out`` or ``rechain compare --out`` folder."""
    from optimizer.compare import compare

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(Problem(str(folder), None, None, "result folder not found"))
    csum = folder / "compare_summary.csv"
    if (folder / "summary.json").is_file():
        res = load_result(folder)
        inst, notes = find_instance(res.summary, folder, instance)
        return Saved("result", [(_case_name(res), res)], [], inst, notes)
    if not csum.is_file():
        raise InputError(
            Problem(
                str(folder),
                None,
                None,
                "neither summary.json (rechain solve --out) nor compare_summary.csv "
                "(rechain compare --out) in this folder",
            )
        )
    cs = read_table(csum)
    if not len(cs) or not {"case", "base"} <= set(cs.columns):
        raise InputError(Problem(str(csum), None, "case", "no cases listed"))
    names = [str(cs["base"].iloc[0]), *[str(c) for c in cs["case"]]]
    results = []
    for name in names:
        sub = folder / name.replace("/", "_")
        if not (sub / "summary.json").is_file():
            raise InputError(
                Problem(str(sub), None, None, f"tables of case {name!r} missing (summary.json)")
            )
        results.append((name, load_result(sub)))
    base_name, base = results[0]
    comps = [compare(res, base, name, base_name) for name, res in results[1:]]
    inst, notes = find_instance(base.summary, folder, instance)
    return Saved("compare", results, comps, inst, notes)


def _case_name(res: Result) -> str:
    return "+".join(res.summary.get("scenarios") or []) or "baseline"
