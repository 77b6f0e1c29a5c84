r"""Demand curves: willingness to pay instead of one shortage penalty (``demand_curves.csv``).

A demand row with quantity :math:`Q_0` matched by a curve (reference price :math:`P_0`,
elasticity :math:`\varepsilon < 0`, most any buyer pays :math:`\bar P`) has the inverse
demand curve of constant elasticity, capped:

.. math:: P(q) = \min\Big(\bar P,\; P_0 \big(q / Q_0\big)^{1/\varepsilon}\Big)

Cutting what is served from :math:`Q_0` to :math:`(1 - m) Q_0` loses the buyers whose
willingness to pay lies between :math:`P_0` and :math:`P((1-m) Q_0)`.  The cut is split
into segments at the shares :data:`CUTS` of :math:`Q_0`; segment :math:`k` (shares
:math:`a_k` to :math:`b_k`) costs, per tonne not served, the curve's average over it,

.. math:: \pi_k = \frac{1}{b_k - a_k} \int_{a_k}^{b_k} P\big((1 - m) Q_0\big)\, dm ,

which rises from segment to segment, so the LP cuts the buyers who value the material
least first, and the price of a shortage — the dual of the market's balance — is the
willingness to pay of the last buyer cut, out of the model rather than assumed.  With
``expand`` :math:`e > 0` buyers also take up to :math:`e\,Q_0` more below :math:`P_0`
(segments at :data:`EXTRAS` of :math:`e`, each worth the curve's average there): a
surplus is consumed at a falling price instead of being thrown away at once.

With :math:`\varepsilon = -0.1` a 10 % cut raises the price 2.9-fold, a 20 % cut 9.3-fold
and a 35 % cut 74-fold — the short-run inelasticity of materials that are a small share
of the cost of what they go into — until the cap :math:`\bar P` (the value of what is lost
without them; blank: the row's shortage penalty).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from optimizer.data.instance import Instance

#: Cumulative shares of the quantity at which shortage segments end.
CUTS = (0.02, 0.05, 0.10, 0.20, 0.35, 0.50, 0.75, 1.00)
#: Cumulative shares of ``expand`` at which extra-demand segments end.
EXTRAS = (0.10, 0.25, 0.50, 1.00)
#: Points of the numerical average over one segment.
_POINTS = 400

SEGMENT_COLUMNS = ["market", "commodity", "period", "segment", "size", "price"]


def _average(p0, eps, cap, a, b, sign: float) -> np.ndarray:
    """Average of min(cap, p0 (1 + sign m)^(1/eps)) over m in [a, b] (midpoint rule), for
    arrays of segments (one row of :data:`_POINTS` points each)."""
    p0, eps, cap, a, b = (np.asarray(v, dtype=float)[:, None] for v in (p0, eps, cap, a, b))
    m = a + (np.arange(_POINTS) + 0.5) * (b - a) / _POINTS
    with np.errstate(divide="ignore", over="ignore"):
        p = p0 * np.power(np.clip(1.0 + sign * m, 1e-300, None), 1.0 / eps)
    return np.minimum(p, cap).mean(axis=1)


def _match(inst: Instance, demand: pd.DataFrame) -> pd.DataFrame:
    """The curve row (index into demand_curves) of each demand row, most specific first:
    a market id before a country before a region before every market; an id before a
    group.  -1 where no curve applies."""
    curves = inst.tables.get("demand_curves")
    out = np.full(len(demand), -1, dtype=np.int64)
    if curves is None or curves.empty or demand.empty:
        return out
    country = inst.tables["sites"].set_index("id")["country"]
    mk_country = country.reindex(demand["market"]).to_numpy()
    groups = inst.manifest.commodity_groups
    best = np.full(len(demand), -1.0)
    for i, c in enumerate(curves.itertuples(index=False)):
        coms = set(inst.commodities_of(c.commodity))
        cscore = 2.0 if c.commodity not in groups else 1.0
        where = str(c.market or "")
        if where == "":
            mask, mscore = np.ones(len(demand), dtype=bool), 0.0
        elif where in set(demand["market"]):
            mask, mscore = (demand["market"] == where).to_numpy().copy(), 30.0
        elif where in inst.manifest.regions:
            mask, mscore = np.isin(mk_country, list(inst.region_members(where))), 10.0
        else:
            mask, mscore = mk_country == where, 20.0
        mask &= demand["commodity"].isin(coms).to_numpy()
        score = mscore + cscore
        better = mask & (score > best)
        out[better] = i
        best[better] = score
    return out


def segments(inst: Instance, demand: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(shortage segments, extra-demand segments) of the demand rows a curve matches.

    ``demand`` has market, commodity, period, quantity, penalty; each output row is one
    segment: market, commodity, period, segment (0, 1, …), size (t), price (USD/t).
    """
    which = _match(inst, demand)
    on = which >= 0
    curves = inst.tables.get("demand_curves")
    if not on.any():
        return pd.DataFrame(columns=SEGMENT_COLUMNS), pd.DataFrame(columns=SEGMENT_COLUMNS)
    c = curves.iloc[which[on]]
    d = demand.loc[on]
    p0 = c["price"].to_numpy(dtype=float)
    eps = c["elasticity"].to_numpy(dtype=float)
    cap = d["penalty"].to_numpy(dtype=float)
    if "max_price" in c:
        given = c["max_price"].to_numpy(dtype=float)
        cap = np.where(np.isnan(given), cap, given)
    cap = np.maximum(cap, p0)
    e = c["expand"].to_numpy(dtype=float) if "expand" in c else np.zeros(len(c))
    e = np.where(np.isnan(e), 0.0, e)
    q = d["quantity"].to_numpy(dtype=float)

    def frame(r, k, size, price) -> pd.DataFrame:
        if not len(r):
            return pd.DataFrame(columns=SEGMENT_COLUMNS)
        return pd.DataFrame(
            {
                "market": d["market"].to_numpy()[r],
                "commodity": d["commodity"].to_numpy()[r],
                "period": d["period"].to_numpy()[r],
                "segment": k,
                "size": size,
                "price": price,
            },
            columns=SEGMENT_COLUMNS,
        )

    # every segment of a demand row, then the next row's (in the order of ``demand``)
    r, k, a, b = _split(CUTS, np.ones(len(c), dtype=bool))
    short = frame(r, k, (b - a) * q[r], _average(p0[r], eps[r], cap[r], a, b, -1.0))
    r, k, a, b = _split(EXTRAS, e > 0)
    e = e[r]
    extra = frame(r, k, (b - a) * e * q[r], _average(p0[r], eps[r], p0[r], a * e, b * e, 1.0))
    return short, extra


def _split(ends: tuple[float, ...], rows: np.ndarray):
    """(row, segment, start, end) of every segment of the ``rows`` (a mask), row by row."""
    b = np.asarray(ends, dtype=float)
    a = np.r_[0.0, b[:-1]]
    r = np.repeat(np.flatnonzero(rows), len(b))
    k = np.tile(np.arange(len(b)), int(rows.sum()))
    return r, k, a[k], b[k]
