"""Prices by area: what a commodity costs inside a country or region and outside it.

``prices.csv`` holds the dual of every balance row, one per site.  An analyst asks
"what does Dy oxide cost outside China?", so ``area_prices.csv`` condenses them per
period, commodity and area:

* the sites of an area that *take the commodity in* count: targets of a lane that
  carries it, and markets with demand for it (the buyers' side of the market);
* ``price`` is the mean of their prices weighted by the tonnes they receive (a
  volume-weighted average price).  Where the area receives nothing (a market cut off by a control), it is the plain mean over
  those sites and ``basis`` says ``sites``: the price a buyer would pay for the
  first tonne, not a traded price;
* ``price_min`` and ``price_max`` bound it; ``receipts`` is the tonnes received;
  ``sites`` the number of sites.

Areas are every country with such a site, and for each entry ``X`` of the manifest's
``price_areas`` (a country or region), ``X`` and ``all_except:X`` (the rest of the
world) — e.g. ``price_areas: [CN]`` puts China and outside China side by side.
With origin tracing a site has one price per label; the cheapest label counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.model.tracing import split_commodity
from optimizer.results.columns import OUTPUT_COLUMNS, TOL

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.model.sets import IndexSets

COLUMNS = OUTPUT_COLUMNS["area_prices"]
#: Prefix of the rest-of-the-world area of a ``price_areas`` entry.
OUTSIDE = "all_except:"


def area_names(area: str) -> str:
    """``all_except:CN`` → ``outside CN`` (for terminals and reports)."""
    return f"outside {area.removeprefix(OUTSIDE)}" if area.startswith(OUTSIDE) else area


def buyers(sets: IndexSets) -> pd.DataFrame:
    """(site, commodity) pairs of sites that take a commodity in: the targets of the lanes
    the model carries it on, and markets with demand for it (origin labels dropped)."""
    lanes = sets.link_commodities[["to_site", "commodity"]].rename(columns={"to_site": "site"})
    dem = sets.demand[["market", "commodity"]].rename(columns={"market": "site"})
    b = pd.concat([lanes, dem], ignore_index=True)
    b["commodity"] = split_commodity(b["commodity"], sets.labels)[0]
    return b.drop_duplicates()


def area_prices(
    inst: Instance,
    sets: IndexSets,
    prices: pd.DataFrame,
    flows: pd.DataFrame,
) -> pd.DataFrame:
    """``area_prices.csv`` from a solve's prices and flows (see the module)."""
    if not len(prices):
        return pd.DataFrame(columns=COLUMNS)
    b = buyers(sets)
    p = prices.groupby(["period", "site", "commodity"], as_index=False)["marginal_cost"].min()
    p = p.merge(b, on=["site", "commodity"], how="inner")
    received = flows[["period", "target", "commodity", "quantity"]].rename(
        columns={"target": "site"}
    )
    received = received.groupby(["period", "site", "commodity"], as_index=False)["quantity"].sum()
    p = p.merge(received, on=["period", "site", "commodity"], how="left")
    p["quantity"] = p["quantity"].fillna(0.0)
    country = inst.tables["sites"].set_index("id")["country"]
    p["country"] = country.reindex(p["site"]).to_numpy()

    groups: list[tuple[str, pd.Series]] = [
        (str(c), p["country"] == c) for c in sorted(p["country"].dropna().unique())
    ]
    for name in inst.manifest.price_areas:
        inside = p["country"].isin(inst.region_members(name))
        if name in inst.manifest.regions:
            groups.append((name, inside))
        groups.append((OUTSIDE + name, ~inside))
    code = p.groupby(["period", "commodity"], sort=True).ngroup().to_numpy()
    out = _summarise(p, code, [(a, m.to_numpy()) for a, m in groups if m.any()])
    return (
        out[COLUMNS]
        .sort_values(["period", "commodity", "area"], kind="stable")
        .reset_index(drop=True)
    )


def _summarise(
    p: pd.DataFrame, code: np.ndarray, groups: list[tuple[str, np.ndarray]]
) -> pd.DataFrame:
    """One row per area and (period, commodity) group of its rows of ``p``.

    ``code`` numbers the (period, commodity) groups of ``p`` in sorted order.  Each
    group's numbers are numpy reductions over its rows in their order (as a
    ``groupby().apply`` would see them), without a pandas object per group.
    """
    q_all = p["quantity"].to_numpy(dtype=float)
    mc_all = p["marginal_cost"].to_numpy(dtype=float)
    names = ("area", "price", "price_min", "price_max", "receipts", "sites", "basis")
    cols: dict[str, list] = {k: [] for k in names}
    firsts = []
    for area, mask in groups:
        rows = np.flatnonzero(mask)
        rows = rows[np.argsort(code[rows], kind="stable")]
        c = code[rows]
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        bounds = np.r_[starts, len(rows)].tolist()
        firsts.append(rows[starts])
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            q, mc = q_all[rows[lo:hi]], mc_all[rows[lo:hi]]
            weighted = q.sum() > TOL
            cols["area"].append(area)
            cols["price"].append(float(np.average(mc, weights=q)) if weighted else float(mc.mean()))
            cols["price_min"].append(float(mc.min()))
            cols["price_max"].append(float(mc.max()))
            cols["receipts"].append(float(q.sum()))
            cols["sites"].append(hi - lo)
            cols["basis"].append("receipts" if weighted else "sites")
    first = p.iloc[np.concatenate(firsts)] if firsts else p.iloc[:0]
    return pd.DataFrame(
        {
            "period": first["period"].to_numpy(),
            "commodity": first["commodity"].to_numpy(),
            **cols,
        }
    )


def side_by_side(area_prices: pd.DataFrame, area: str) -> pd.DataFrame:
    """One row per (period, commodity): the price inside ``area`` and outside it, and their
    ratio (outside ÷ inside; NaN where either is missing or the inside price is ≤ 0)."""
    a = area_prices
    inside = a.loc[a["area"] == area, ["period", "commodity", "price", "basis"]]
    outside = a.loc[a["area"] == OUTSIDE + area, ["period", "commodity", "price", "basis"]]
    m = inside.merge(outside, on=["period", "commodity"], suffixes=("_inside", "_outside"))
    m["ratio"] = m["price_outside"] / m["price_inside"].where(m["price_inside"] > 0)
    return m


def gaps(area_prices: pd.DataFrame, area: str, min_gap: float = 0.05) -> pd.DataFrame:
    """:func:`side_by_side` rows whose prices differ by more than ``min_gap`` (a share of the
    larger), the widest gap first (on a log scale, prices floored at 1 USD)."""
    m = side_by_side(area_prices, area)
    a, b = m["price_inside"].to_numpy(float), m["price_outside"].to_numpy(float)
    big = np.maximum(np.abs(a), np.abs(b))
    m = m.loc[np.abs(b - a) > min_gap * np.where(big > 0, big, 1)]
    key = np.abs(
        np.log(np.maximum(m["price_outside"].to_numpy(float), 1.0))
        - np.log(np.maximum(m["price_inside"].to_numpy(float), 1.0))
    )
    return m.iloc[np.argsort(-key, kind="stable")].reset_index(drop=True)
