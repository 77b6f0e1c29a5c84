"""The :class:`Result` of a solve: tidy DataFrames, a summary, and the contract files.

Sign conventions (see ``docs/analysis.md``):

* ``prices.marginal_cost`` is the dual of the commodity balance: USD per
  extra tonne of the commodity withdrawn at that site in that period
  (negative for a surplus co-product that would have to be disposed of).
  Every dual of a row with a period is divided by that period's discount
  weight, so prices and shadow prices are in USD of their own period.
* ``bottlenecks.shadow_price`` is minus the dual of a capacity row: the
  USD the total cost would fall per extra unit of capacity (≥ 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.data.periods import monthly
from optimizer.fileio import dumps_json, text_only, write_file, write_folder
from optimizer.model.reference import Baseline
from optimizer.results.columns import (
    CONTENT_COLUMNS,
    MINCUT_COLUMNS,
    ORIGIN_COLUMNS,
    OUTPUT_COLUMNS,
    TABLE_FILES,
    TOL,
)


@dataclass
class Result:
    """What a solve returns.  Every table is a pandas DataFrame with named columns."""

    summary: dict[str, Any]
    flows: pd.DataFrame
    production: pd.DataFrame
    shortages: pd.DataFrame
    prices: pd.DataFrame
    bottlenecks: pd.DataFrame
    concentration: pd.DataFrame
    policies: pd.DataFrame
    expansions: pd.DataFrame
    capacities: pd.DataFrame
    disposal: pd.DataFrame
    inventory: pd.DataFrame
    #: with origin tracing: market use by origin and relabel steps (empty otherwise)
    origins: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ORIGIN_COLUMNS))
    #: with origin tracing: tonnes received per country, commodity and origin label
    content: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CONTENT_COLUMNS))
    #: prices per period, commodity and area (countries, ``price_areas`` and the rest of
    #: the world): :mod:`optimizer.results.area_prices`
    area_prices: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=OUTPUT_COLUMNS["area_prices"])
    )
    extra: dict[str, Any] = field(default_factory=dict)
    #: structural min-cut per demand (:mod:`optimizer.analysis.mincut`), computed on first use
    mincut: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def objective(self) -> float:
        return float(self.summary["objective"])

    @property
    def status(self) -> str:
        return str(self.summary["status"])

    @property
    def total_unmet(self) -> float:
        return float(self.summary["total_unmet"])

    def compare(self, base: Result, name: str | None = None, base_name: str | None = None):
        """What changed from ``base`` to this result (a :class:`~optimizer.results.compare.Comparison`)."""
        from optimizer.results.compare import compare

        name = name or ("+".join(self.summary["scenarios"]) or "baseline")
        base_name = base_name or ("+".join(base.summary["scenarios"]) or "baseline")
        return compare(self, base, name, base_name)

    def unmet_by_market(self, by_period: bool = False) -> pd.DataFrame:
        """Unmet demand per market and commodity (and period, ``by_period``) that is ever
        short (tonnes of that commodity over all its periods, and USD of value at risk),
        the largest value, then share, first.  Summing periods is only meaningful when
        they tile the horizon (one year, or its months): representative years of a
        multi-year instance are shown ``by_period``."""
        s = self.shortages
        if "unmet_value" not in s:
            s = s.assign(unmet_value=float("nan"))
        keys = ["market", "commodity", "period"] if by_period else ["market", "commodity"]
        g = s.groupby(keys, as_index=False).agg(
            demand=("demand", "sum"),
            unmet=("unmet", "sum"),
            unmet_value=("unmet_value", lambda v: v.sum() if v.notna().any() else float("nan")),
        )
        g = g.loc[g["unmet"] > TOL]
        g["share"] = g["unmet"] / g["demand"].where(g["demand"] > 0, 1)
        return g.sort_values(["unmet_value", "share"], ascending=False, na_position="last")

    def as_baseline(self) -> Baseline:
        """The flows, production and prices of this solve as a reference plan for policies."""
        return Baseline(
            flows=self.flows[["link", "commodity", "origin", "period", "quantity"]],
            prices=self.prices[["site", "commodity", "origin", "period", "marginal_cost"]],
            production=self.production[["process", "recipe", "origin", "period", "activity"]],
            objective=self.objective,
            capacity_rent=self._capacity_rent(),
        )

    def _capacity_rent(self) -> pd.DataFrame:
        cols = ["process", "period", "shadow_price"]
        c = self.capacities
        if c is None or c.empty:
            return pd.DataFrame(columns=cols)
        c = c.loc[c["kind"] == "process_capacity", ["element", "period", "shadow_price"]]
        return c.rename(columns={"element": "process"}).reset_index(drop=True)[cols]

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every output table by file name (``flows.csv`` …); an unset min-cut is empty."""
        out = {}
        for fname, attr in TABLE_FILES.items():
            df = getattr(self, attr)
            out[fname] = df if df is not None else pd.DataFrame(columns=MINCUT_COLUMNS)
        if monthly(self.summary.get("periods") or []):
            from optimizer.results.shortfall import first_shortages

            out["first_shortage.csv"] = first_shortages(self)
        return out

    def to_excel(self, path: str | Path, instance=None) -> Path:
        """One workbook: a summary sheet and one sheet per table (written atomically), the
        header frozen, columns sized, numbers formatted; with ``instance``, each site and
        commodity id has its name beside it (``source_name``, ``commodity_name``)."""
        names = _names(instance)

        def write(tmp: Path) -> None:
            flat = pd.json_normalize(self.summary, sep=".").T.reset_index()
            flat.columns = ["key", "value"]
            flat["value"] = flat["value"].astype(str)
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                flat.to_excel(xw, sheet_name="summary", index=False)
                for fname, df in self.tables().items():
                    _with_names(df, names).to_excel(
                        xw, sheet_name=fname.removesuffix(".csv"), index=False
                    )
                for ws in xw.book.worksheets:
                    _tidy_sheet(ws)
                text_only(xw.book)  # no cell from the data is ever a formula

        return write_file(path, write)

    def write(
        self, out: str | Path, owns: tuple[str, ...] = (), provenance: dict[str, Any] | None = None
    ) -> Path:
        """Write ``summary.json`` and the CSV tables into folder ``out``, replacing it all or
        nothing (:func:`optimizer.fileio.write_folder`); files named in ``owns`` that this
        result does not write (an earlier run's diagnosis) are removed with the swap;
        ``provenance`` (:func:`optimizer.results.provenance.provenance`) goes into
        ``provenance.json``."""
        files: dict[str, Any] = dict(self.tables())
        files["summary.json"] = dumps_json(self.summary)
        return write_folder(out, files, owns=(*TABLE_FILES, *owns), provenance=provenance)


#: Result columns holding site ids, and those holding commodity ids.
_SITE_COLUMNS = ("source", "target", "site", "market", "from_site", "to_site")
_COMMODITY_COLUMNS = ("commodity",)


def _names(instance) -> dict[str, dict[str, str]]:
    if instance is None:
        return {}
    out = {}
    for key, table in (("site", instance.sites), ("commodity", instance.commodities)):
        if "name" in table:
            named = table.loc[table["name"].astype(str).str.strip() != "", ["id", "name"]]
            out[key] = dict(zip(named["id"], named["name"].astype(str), strict=True))
    return out


def _with_names(df: pd.DataFrame, names: dict[str, dict[str, str]]) -> pd.DataFrame:
    """``df`` with a ``<column>_name`` column after each id column ``names`` can name."""
    if not names or df.empty:
        return df
    out = df.copy()
    for col in list(df.columns):
        kind = (
            "site" if col in _SITE_COLUMNS else "commodity" if col in _COMMODITY_COLUMNS else None
        )
        if kind is None or kind not in names or f"{col}_name" in out:
            continue
        at = list(out.columns).index(col) + 1
        out.insert(at, f"{col}_name", out[col].map(names[kind]).fillna(""))
    return out


def _tidy_sheet(ws) -> None:
    """Freeze the header row, size the columns, format the numbers."""
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = "A2"
    for j, col in enumerate(ws.iter_cols(min_row=1, max_row=min(ws.max_row, 200)), start=1):
        width = max((len(str(c.value)) for c in col if c.value is not None), default=8)
        ws.column_dimensions[get_column_letter(j)].width = min(50, max(8, width + 2))
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if isinstance(c.value, float):
                c.number_format = "#,##0.00" if abs(c.value) >= 1 else "0.000000"
            elif (
                isinstance(c.value, int) and not isinstance(c.value, bool) and abs(c.value) >= 10000
            ):
                c.number_format = "#,##0"
