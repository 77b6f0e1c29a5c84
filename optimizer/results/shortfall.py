"""Who goes short, said without adding tonnes of different commodities.

A shortage is measured in tonnes *of its own commodity* and, where the commodity has
an end-use ``value`` (``commodities.csv``), in USD of value at risk
(``shortages.unmet_value``).  Headlines, tables and charts use these helpers: per
market, the value at risk (the one thing that adds up across commodities) and the
tonnes of each commodity short, never a sum of tonnes of different commodities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.results.columns import TOL


@dataclass
class MarketShortfall:
    """One market's shortfall: its value at risk and the tonnes short per commodity."""

    market: str
    country: str
    #: USD of end-use value at risk (NaN when none of its short commodities has a value)
    value: float
    #: (commodity, unmet t, demand t), largest share first
    lines: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def worst_share(self) -> float:
        return max((u / d if d else 0.0) for _, u, d in self.lines) if self.lines else 0.0


def _short(shortages: pd.DataFrame) -> pd.DataFrame:
    s = shortages.loc[shortages["unmet"] > TOL]
    if "unmet_value" not in s:
        s = s.assign(unmet_value=np.nan)
    return s


def by_market(shortages: pd.DataFrame, n: int | None = None) -> list[MarketShortfall]:
    """Markets with unmet demand, the largest value at risk first (then the largest share
    of a commodity's demand unmet): at most ``n``."""
    s = _short(shortages)
    out = []
    for (m, country), g in s.groupby(["market", "country"], sort=False, dropna=False):
        per = g.groupby("commodity")[["unmet", "demand"]].sum()
        per = per.assign(share=per["unmet"] / per["demand"].where(per["demand"] > 0, 1))
        per = per.sort_values(["share", "unmet"], ascending=False)
        vals = g["unmet_value"]
        out.append(
            MarketShortfall(
                str(m),
                "" if pd.isna(country) else str(country),
                float(vals.sum()) if vals.notna().any() else float("nan"),
                [(str(c), float(r.unmet), float(r.demand)) for c, r in per.iterrows()],
            )
        )
    out.sort(key=lambda x: (-(0.0 if np.isnan(x.value) else x.value), -x.worst_share, x.market))
    return out[:n] if n is not None else out


def by_commodity(shortages: pd.DataFrame) -> pd.DataFrame:
    """Per commodity short: demand, unmet (t of that commodity), share, value at risk."""
    s = shortages.assign(unmet_value=shortages.get("unmet_value", np.nan))
    g = s.groupby("commodity").agg(
        demand=("demand", "sum"), unmet=("unmet", "sum"), unmet_value=("unmet_value", "sum")
    )
    g = g.loc[g["unmet"] > TOL]
    g["unmet_share"] = g["unmet"] / g["demand"].where(g["demand"] > 0, 1)
    return g.sort_values(["unmet_value", "unmet_share"], ascending=False).reset_index()


def value_at_risk(shortages: pd.DataFrame) -> float:
    """USD of end-use value at risk over every demand row with a value (NaN when none)."""
    v = shortages["unmet_value"] if "unmet_value" in shortages else pd.Series(dtype=float)
    return float(v.sum()) if v.notna().any() else float("nan")


def words(m: MarketShortfall, money, tonnes, top: int = 2) -> str:
    """``market_us: 29.9 M USD (magnet_ht 50 t of 100 t)`` — for terminals and reports."""
    parts = [f"{c} {tonnes(u)} t of {tonnes(d)} t" for c, u, d in m.lines[:top]]
    more = len(m.lines) - top
    tail = ", ".join(parts) + (f", +{more} more" if more > 0 else "")
    head = f"{money(m.value)} USD at risk, " if not np.isnan(m.value) else ""
    return f"{m.market}: {head}{tail}"


#: A market is short of a commodity in a month when at least this share of its demand
#: goes unserved (first_shortage.csv): 1 %, below which an elastic demand curve's
#: cheapest slivers are trimmed rather than a line stopped.
SHORT_SHARE = 0.01
#: The stocks that serve a market are spent when less than this share of their safety
#: level (by value) is held at the end of a month (first_shortage.csv ``first_spent``).
SPENT_SHARE = 0.05


def stock_cover(res) -> pd.DataFrame:
    """Per market, commodity and period: the share of the safety stocks that serve the
    market still held at the end of the period, by value (``keep_cost`` x tonnes; held
    tonnes above a level count as the level).  The stocks that serve a market's demand
    for commodity c are its own stock of c and every stock at a site that delivered c to
    it in the reference plan (at least 1 % of what it received) and is an input of a
    recipe there that makes c (a component maker's magnets for the market's motors).  Empty when
    the result has no instance or the instance no safety stocks."""
    cols = ["market", "commodity", "period", "stock_left"]
    inst = res.extra.get("instance") if getattr(res, "extra", None) else None
    st = inst.stocks if inst is not None else None
    if st is None or st.empty or "keep_cost" not in st or not st["keep_cost"].notna().any():
        return pd.DataFrame(columns=cols)
    st = st.loc[st["keep_cost"].notna()].copy()
    st["level"] = st["level"] if "level" in st else st["quantity"]
    st["level_value"] = st["level"].astype(float) * st["keep_cost"].astype(float)
    st = st.loc[st["level_value"] > 0, ["site", "commodity", "level", "keep_cost", "level_value"]]
    sh = res.shortages[["market", "commodity"]].drop_duplicates()
    # the suppliers: sites whose lanes carried c to the market in the reference plan (the
    # result's own flows without one), at least 1 % of what the market received
    ref = res.extra.get("reference")
    fl = (ref if ref is not None else res).flows
    ends = inst.tables["links"].drop_duplicates("id").set_index("id")[["from_site", "to_site"]]
    fl = fl.join(ends, on="link")
    fl = fl.loc[fl["to_site"].isin(set(sh["market"]))]
    got = fl.groupby(["to_site", "commodity", "from_site"], as_index=False)["quantity"].sum()
    tot = got.groupby(["to_site", "commodity"])["quantity"].transform("sum")
    got = got.loc[(got["quantity"] > 0) & (got["quantity"] >= 0.01 * tot)]
    srv = got.rename(columns={"to_site": "market", "from_site": "site"})
    srv = srv[["market", "commodity", "site"]].drop_duplicates()
    # of a supplier's stocks, those of the inputs of its recipes that make c
    rec = inst.tables["recipes"]
    made = rec.loc[rec["direction"] == "output", ["recipe", "commodity"]]
    used = rec.loc[rec["direction"] == "input", ["recipe", "commodity"]]
    uses = (
        inst.tables["processes"][["site", "recipe"]]
        .merge(made, on="recipe")
        .merge(used.rename(columns={"commodity": "stocked"}), on="recipe")[
            ["site", "commodity", "stocked"]
        ]
        .drop_duplicates()
    )
    upstream = srv.merge(uses, on=["site", "commodity"]).merge(
        st.rename(columns={"commodity": "stocked"}), on=["site", "stocked"]
    )
    own = sh.merge(st, left_on=["market", "commodity"], right_on=["site", "commodity"])
    own = own.assign(stocked=own["commodity"])
    keep = ["market", "commodity", "site", "stocked", "level", "keep_cost", "level_value"]
    pool = pd.concat([upstream[keep], own[keep]], ignore_index=True).drop_duplicates()
    pool = pool.merge(sh, on=["market", "commodity"])
    if pool.empty:
        return pd.DataFrame(columns=cols)
    inv = res.inventory.groupby(["site", "commodity", "period"], as_index=False)["quantity"].sum()
    periods = res.summary.get("periods") or sorted(set(res.shortages["period"]))
    grid = pool.merge(pd.DataFrame({"period": periods}), how="cross")
    grid = grid.merge(
        inv.rename(columns={"commodity": "stocked"}), on=["site", "stocked", "period"], how="left"
    )
    held = np.minimum(grid["quantity"].fillna(0.0), grid["level"].astype(float))
    grid["held_value"] = held * grid["keep_cost"].astype(float)
    out = grid.groupby(["market", "commodity", "period"], as_index=False, sort=False)[
        ["held_value", "level_value"]
    ].sum()
    out["stock_left"] = out["held_value"] / out["level_value"]
    return out[cols]


def first_shortages(res, threshold: float = SHORT_SHARE) -> pd.DataFrame:
    """Per market and commodity of a result (monthly: ``first_shortage.csv``): the first month at least
    ``threshold`` of its demand goes unserved, the months short, the last short month,
    the worst month's share, tonnes unmet and value at risk (``first_shortage.csv``).

    A month short can be rationing rather than a stop: with elastic demand the plan may
    give up the least valuable share of demand while it still holds stock.  So where the
    instance has safety stocks (:func:`stock_cover`), ``stock_left`` is the share of the
    stocks that serve the market still held at the end of its first short month, and
    ``first_spent`` the first month it is short with less than :data:`SPENT_SHARE` of
    them left — when the lines stop for want of material."""
    sh = res.shortages.copy()
    cols = [
        "market",
        "country",
        "commodity",
        "first_short",
        "months_short",
        "last_short",
        "worst_share",
        "unmet",
        "demand",
        "unmet_value",
        "stock_left",
        "first_spent",
    ]
    if sh.empty:
        return pd.DataFrame(columns=cols)
    share = sh["unmet"] / sh["demand"].where(sh["demand"] > 0, np.nan)
    sh["short"] = share.fillna(0.0) >= threshold
    sh["share"] = share.fillna(0.0)
    order = {p: i for i, p in enumerate(res.summary.get("periods", sorted(set(sh["period"]))))}
    sh["_i"] = sh["period"].map(order)
    cover = stock_cover(res)
    if len(cover):
        sh["period"] = sh["period"].astype(str)
        cover = cover.assign(period=cover["period"].astype(str))
        sh = sh.merge(cover, on=["market", "commodity", "period"], how="left")
    else:
        sh["stock_left"] = np.nan
    rows = []
    for (m, c), g in sh.groupby(["market", "commodity"], sort=True):
        g = g.sort_values("_i")
        s = g.loc[g["short"]]
        spent = s.loc[s["stock_left"].fillna(0.0) < SPENT_SHARE]
        has_cover = s["stock_left"].notna().any()
        rows.append(
            {
                "market": m,
                "country": g["country"].iloc[0] if "country" in g else "",
                "commodity": c,
                "first_short": s["period"].iloc[0] if len(s) else None,
                "months_short": int(len(s)),
                "last_short": s["period"].iloc[-1] if len(s) else None,
                "worst_share": float(g["share"].max()),
                "unmet": float(g["unmet"].sum()),
                "demand": float(g["demand"].sum()),
                "unmet_value": float(g["unmet_value"].sum())
                if "unmet_value" in g and g["unmet_value"].notna().any()
                else np.nan,
                "stock_left": float(s["stock_left"].iloc[0]) if has_cover else np.nan,
                "first_spent": spent["period"].iloc[0] if has_cover and len(spent) else None,
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    out["_i"] = out["first_short"].map(order)
    # earliest first; within a month, the most value at risk first
    out = out.sort_values(
        ["_i", "unmet_value", "market"], ascending=[True, False, True], na_position="last"
    )
    return out.drop(columns="_i").reset_index(drop=True)
