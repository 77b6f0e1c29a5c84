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

    def unmet_by_market(self) -> pd.DataFrame:
        """Unmet demand per market and commodity (rows with unmet > 0; tonnes of that
        commodity, and USD of value at risk), the largest value, then share, first."""
        s = self.shortages
        s = s.loc[s["unmet"] > TOL]
        if "unmet_value" not in s:
            s = s.assign(unmet_value=float("nan"))
        g = s.groupby(["market", "commodity"], as_index=False).agg(
            demand=("demand", "sum"),
            unmet=("unmet", "sum"),
            unmet_value=("unmet_value", lambda v: v.sum() if v.notna().any() else float("nan")),
        )
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

    def to_excel(self, path: str | Path) -> Path:
        """One workbook: a summary sheet and one sheet per table (written atomically)."""

        def write(tmp: Path) -> None:
            flat = pd.json_normalize(self.summary, sep=".").T.reset_index()
            flat.columns = ["key", "value"]
            flat["value"] = flat["value"].astype(str)
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                flat.to_excel(xw, sheet_name="summary", index=False)
                for fname, df in self.tables().items():
                    df.to_excel(xw, sheet_name=fname.removesuffix(".csv"), index=False)
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
