"""What the survival and stockpile-sizing analyses return and write."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from optimizer.errors import InfeasibleError
from optimizer.fileio import write_folder
from optimizer.results.columns import NOISE

if TYPE_CHECKING:
    from optimizer.results.result import Result

MODES = ("rationed", "myopic")
OTHERS = ("held", "free")

#: Unmet demand above this (t) counts as a shortage; stocks below it as empty.
TOL = NOISE

SURVIVAL_COLUMNS = [
    "period",
    "market",
    "commodity",
    "demand",
    "served",
    "unmet",
    "first_short_period",
    "periods_survived",
    "survives_horizon",
    "country",
]
MARKET_COLUMNS = [
    "market",
    "commodity",
    "country",
    "first_short_period",
    "periods_survived",
    "survives_horizon",
    "demand",
    "unmet",
    "unmet_share",
]
STOCK_PATH_COLUMNS = ["period", "site", "commodity", "country", "opening", "closing"]
SIZING_MARKET_COLUMNS = [
    "period",
    "market",
    "commodity",
    "demand",
    "unmet_without",
    "unmet_with",
    "protected",
    "country",
]
CURVE_COLUMNS = ["stockpile", "unmet", "unmet_share"]
DRAWDOWN_COLUMNS = ["period", "site", "commodity", "opening", "drawn", "closing"]
NEEDS_COLUMNS = ["commodity", "site", "quantity"]


@dataclass
class Survival:
    """What :func:`time_to_survive` returns.

    ``table`` (``survival.csv``): one row per demand row of the disrupted
    horizon — demand, served, unmet, and for its market and commodity the
    first period with unmet demand above ``tol`` (``<NA>`` if none) and the
    number of periods survived from ``start``.  ``markets``
    (``survival_markets.csv``): one row per market and commodity.  ``stocks``
    (``survival_stocks.csv``): opening and closing stock per site, commodity
    and period.  ``on_hand``: the stocks at the start of ``start``.
    ``results``: the :class:`~optimizer.results.Result` of each solve (the
    baseline first when one was needed; for ``rationed`` the window's
    cost-optimal solve, before the later-shortage tie-break the tables use).
    """

    summary: dict[str, Any]
    table: pd.DataFrame
    markets: pd.DataFrame
    stocks: pd.DataFrame
    on_hand: pd.DataFrame
    results: list[Result] = field(default_factory=list, repr=False)

    @property
    def horizon(self) -> list[int]:
        return list(self.summary["horizon"])

    def write(self, out: str | Path, provenance: dict[str, Any] | None = None) -> Path:
        """Write ``survival.csv``, ``survival_markets.csv``, ``survival_stocks.csv`` and
        ``survival.json`` into folder ``out`` (replaced all or nothing; ``provenance``:
        :func:`optimizer.results.provenance.provenance`)."""
        return write_outputs(
            out,
            {
                "survival.csv": self.table,
                "survival_markets.csv": self.markets,
                "survival_stocks.csv": self.stocks,
            },
            {"survival.json": self.summary},
            provenance,
        )


@dataclass
class StockpileSize:
    """What :func:`size_stockpile` returns.

    ``quantity``: the smallest stock (t) at ``site`` at the start of the
    disruption.  ``markets`` (``stockpile_markets.csv``): every demand row of
    the window with its unmet demand without and with the stockpile and
    whether it is ``protected``.  ``drawdown`` (``stockpile_drawdown.csv``):
    stock at the site per period.  ``summary`` (``stockpile.json``): the
    question, the answer, costs with and without.  ``curve`` (``stockpile_curve.csv``):
    the least unmet protected demand (t, and its share of the protected demand) with a
    stockpile of each size from 0 to 1.25 × ``quantity``, other markets held as in the
    sizing; 0 from ``quantity`` on.  ``results``: the baseline
    (when one was needed) and the window's first solve, which holds a 1 t
    marker stock at the stockpile site (the stages run on its HiGHS instance).
    """

    summary: dict[str, Any]
    markets: pd.DataFrame
    drawdown: pd.DataFrame
    on_hand: pd.DataFrame
    results: list[Result] = field(default_factory=list, repr=False)
    curve: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CURVE_COLUMNS))

    @property
    def quantity(self) -> float:
        return float(self.summary["quantity"])

    @property
    def cost(self) -> float:
        return float(self.summary["cost"])

    def write(self, out: str | Path, provenance: dict[str, Any] | None = None) -> Path:
        """Write ``stockpile.json``, ``stockpile_markets.csv``, ``stockpile_drawdown.csv`` and
        ``stockpile_curve.csv``."""
        return write_outputs(
            out,
            {
                "stockpile_markets.csv": self.markets,
                "stockpile_drawdown.csv": self.drawdown,
                "stockpile_curve.csv": self.curve,
            },
            {"stockpile.json": self.summary},
            provenance,
        )


class StockpileInfeasible(InfeasibleError):
    """No stock of the commodity alone keeps the markets whole (exit code 3).

    ``needs`` lists the other commodities that would also have to be stocked
    (commodity, site, quantity), empty when even unlimited stocks of every
    commodity the region uses cannot; ``summary`` is what ``stockpile.json``
    holds.
    """

    def __init__(
        self, message: str, diagnosis: list[str], needs: pd.DataFrame, summary: dict[str, Any]
    ):
        super().__init__(message, diagnosis)
        self.needs = needs
        self.summary = summary

    def write(self, out: str | Path, provenance: dict[str, Any] | None = None) -> Path:
        """Write ``stockpile.json`` (status ``infeasible``) and ``stockpile_needs.csv``."""
        return write_outputs(
            out, {"stockpile_needs.csv": self.needs}, {"stockpile.json": self.summary}, provenance
        )


def span(periods: list[int]) -> str:
    return str(periods[0]) if len(periods) == 1 else f"{periods[0]}–{periods[-1]}"


def int_or_none(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def write_outputs(
    out: str | Path,
    tables: dict[str, pd.DataFrame],
    docs: dict[str, dict],
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write the tables (CSV) and documents (JSON) into folder ``out`` (all or nothing)."""
    return write_folder(out, {**tables, **docs}, provenance=provenance)
