r"""Price floors: a guarantor tops up the market price of what a place makes.

``price_floor`` pays, on every tonne of the covered commodities made at the
policy's sites in period :math:`t`, the gap between the floor :math:`F` and
the market price :math:`p`:

.. math:: s_t = \max(0,\ F - p_t), \qquad
          \text{objective} \mathrel{{+}{=}} -\,w_t\, s_t \Big(\sum_{(j,r) \in P} a_{r,c}\,
          \mathrm{act}_{j,r,t} - \mathrm{dispose}_{P,c,t}\Big)

(gross output :math:`a_{r,c}` of recipe :math:`r`, discount weight :math:`w_t`):
tonnes made and not disposed of at the site, so output made only to be
dumped earns nothing.
The payment is income to the chain, so it lowers the objective (cost group
``price_floor``); the guarantor's bill is reported apart.  No row is added:
the floor acts on costs only.

``reference: <number>`` fixes :math:`p_t` and :math:`s_t` is a constant.  With
``reference: market`` (the default) :math:`p_t` is the model's own marginal
cost of the commodity at the site, which itself depends on :math:`s_t` — more
subsidised output lowers the price.  :func:`settle` solves the fixed point
:math:`s = \max(0, F - p(s))` by re-solving with updated costs (warm-started
simplex), from :math:`s = F` down: fixed-point steps alternate with bisection
of the bracket the rates asked for so far, so it ends in a few re-solves when
the covered producer takes the market price and in at most
:math:`2\log_2(F/0.01)` when it sets it.  The result is what a producer who is
paid :math:`\max(p, F)` chooses.  Where the LP's price at the site is not
unique (degenerate duals), it is the largest consistent payment.

Caveat: demand is fixed, so when the covered producer becomes the marginal
supplier of its market the model's price is its own subsidised cost; the
iteration then drives the price to zero and the payment to the whole floor
(reported as ``price <= 0`` in the log).  A fixed ``reference`` is the
honest choice there.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.lp.handoff import label
from optimizer.model.tracing import PSEUDO, split_commodity
from optimizer.policies.common import in_periods
from optimizer.scenarios.policy_schema import PriceFloor

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.lp.handoff import LpHandle
    from optimizer.model.core import ChainModel
    from optimizer.model.reference import Baseline

log = logging.getLogger(__name__)

#: Most re-solves :func:`settle` does before it reports no convergence.
MAX_ITERATIONS = 60
#: Payment rates agree when no rate moves by more than this (USD/t).
RATE_TOL = 0.01
GROUP = "price_floor"

#: Columns of the terms frame :func:`add_price_floors` returns (one row per covered output term).
TERM_COLUMNS = [
    "policy",
    "name",
    "var",
    "site",
    "commodity",
    "origin",
    "period",
    "coef",
    "weight",
    "row",
    "floor",
    "reference",
    "rate",
]


def add_price_floors(
    cm: ChainModel, inst: Instance, policies: list[tuple[str, object]], baseline: Baseline | None
) -> pd.DataFrame | None:
    """Payment terms of every ``price_floor`` (cost group ``price_floor``).

    Returns the terms (:data:`TERM_COLUMNS`), the state :func:`settle` and
    :func:`policy_rows` work on; ``None`` when no floor covers anything.
    """
    pols = [(pid, p) for pid, p in policies if isinstance(p, PriceFloor)]
    if not pols:
        return None
    t = cm.act_terms
    t = t.loc[(t["coef"] > 0) & ~t["id"].str.startswith(PSEUDO)]
    t = t[["var", "site", "commodity", "period", "coef"]].assign(name="act")
    if "dispose" in cm.var_keys:  # disposal at the site is paid back
        d = cm.var_keys["dispose"][["site", "commodity", "period"]]
        t = pd.concat(
            [t, d.assign(var=np.arange(len(d)), coef=-1.0, name="dispose")], ignore_index=True
        )
    com, origin = split_commodity(t["commodity"], cm.sets.labels)
    com, origin = np.asarray(com, dtype=object), np.asarray(origin, dtype=object)
    rows = pd.Series(
        np.arange(len(cm.balance_index)),
        index=pd.MultiIndex.from_frame(cm.balance_index[["site", "commodity", "period"]]),
    )
    row = rows.reindex(pd.MultiIndex.from_frame(t[["site", "commodity", "period"]])).to_numpy()
    weight = t["period"].map(cm.sets.weights).to_numpy(dtype=float)
    frames = []
    for pid, p in pols:
        sel = (
            t["site"].isin(p.site_ids(inst)).to_numpy()
            & np.isin(com, list(inst.commodity_set(p.commodities)))
            & in_periods(t["period"], p.periods)
        )
        if not sel[t["name"].to_numpy() == "act"].any():
            continue
        ref = np.nan if p.reference == "market" else float(p.reference)
        s = t.loc[sel]
        frames.append(
            pd.DataFrame(
                {
                    "policy": pid,
                    "name": s["name"].to_numpy(),
                    "var": s["var"].to_numpy(dtype=np.int64),
                    "site": s["site"].to_numpy(),
                    "commodity": com[sel],
                    "origin": origin[sel],
                    "period": s["period"].to_numpy(),
                    "coef": s["coef"].to_numpy(dtype=float),
                    "weight": weight[sel],
                    "row": row[sel],
                    "floor": p.floor,
                    "reference": ref,
                    # a fixed reference gives the final rate; a market one starts at the
                    # whole floor and settle() lowers it
                    "rate": p.floor if np.isnan(ref) else max(0.0, p.floor - ref),
                }
            )
        )
    if not frames:
        return None
    terms = pd.concat(frames, ignore_index=True)[TERM_COLUMNS]
    # every covered variable gets an objective term, also at rate 0, so settle() can move it
    for name, var, coef in _per_var(terms):
        cm.objective_terms.append((name, var, coef, GROUP))
    return terms


def _per_var(terms: pd.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Objective coefficients of the payment, summed per variable: (name, positions, coefs)."""
    c = -(terms["weight"] * terms["rate"] * terms["coef"])
    out = []
    for name in ("act", "dispose"):
        m = (terms["name"] == name).to_numpy()
        if m.any():
            g = c[m].groupby(terms["var"].to_numpy()[m]).sum()
            out.append((name, g.index.to_numpy(dtype=np.int64), g.to_numpy(dtype=float)))
    return out


def settle(terms: pd.DataFrame, handle: LpHandle, rerun) -> dict[str, Any]:
    """Solve the market-referenced floors to their fixed point (see the module text).

    ``handle`` holds an optimal solution; ``rerun()`` re-solves it and returns
    True when the result is optimal.  Updates the HiGHS costs, the model's
    objective terms and the ``rate`` column of ``terms``; returns what happened.
    """
    cm = handle.cm
    market = terms["reference"].isna().to_numpy()
    info: dict[str, Any] = {"iterations": 0, "converged": True}
    if not market.any():
        return info
    h = handle.highs
    slots = [i for i, x in enumerate(cm.objective_terms) if x[3] == GROUP]
    cols = np.concatenate(
        [handle.cols(cm.objective_terms[i][0], cm.objective_terms[i][1]) for i in slots]
    ).astype(np.int32)
    now = np.concatenate([cm.objective_terms[i][2] for i in slots])
    other = np.asarray(h.getLp().col_cost_, dtype=float)[cols] - now
    floor = terms["floor"].to_numpy()
    rows = handle.rows("balance", terms["row"].to_numpy(dtype=np.int64))
    weight = terms["weight"].to_numpy()
    lo, hi = np.zeros(len(terms)), floor.copy()  # brackets of each market rate
    for it in range(1, MAX_ITERATIONS + 1):
        s_now = terms["rate"].to_numpy()
        y = np.asarray(h.getSolution().row_dual, dtype=float)
        target = np.clip(floor - y[rows] / weight, 0.0, floor)
        # the consistent rate lies above rates that ask for more and below those asking less
        lo = np.where(market & (target > s_now), np.maximum(lo, s_now), lo)
        hi = np.where(market & (target < s_now), np.minimum(hi, s_now), hi)
        done = ~market | (np.abs(target - s_now) <= RATE_TOL) | (hi - lo <= RATE_TOL)
        if done.all():
            break
        # fixed-point steps (fast while the covered producer takes the price), a bisection
        # step every other time (the rate moves by floor minus cost per step while it
        # sets the price itself)
        step = target if it % 2 else 0.5 * (lo + hi)
        step = np.where((step <= lo) | (step >= hi), 0.5 * (lo + hi), step)
        terms["rate"] = np.where(done, s_now, step)
        parts = _per_var(terms)
        for i, part in zip(slots, parts, strict=True):
            cm.objective_terms[i] = (*part, GROUP)
        h.changeColsCost(len(cols), cols, other + np.concatenate([c for _, _, c in parts]))
        info["iterations"] = it
        if not rerun():
            info["converged"] = False
            break
    else:
        info["converged"] = False
    if not info["converged"]:
        log.warning(
            "price floor payments did not settle after %d re-solves; the last rates are used",
            info["iterations"],
        )
    x = np.asarray(h.getSolution().col_value)
    made = np.zeros(len(terms), dtype=bool)
    act = (terms["name"] == "act").to_numpy()
    made[act] = handle.value("act", x)[terms["var"].to_numpy()[act]] > 1e-9
    if (market & made & (terms["rate"].to_numpy() >= floor - RATE_TOL)).any():
        log.warning(
            "a price floor pays its whole floor: the market price at a covered site fell to "
            "zero or below (the covered producer sets the price; see docs/policies.md)"
        )
    return info


def policy_rows(
    terms: pd.DataFrame, handle: LpHandle, inst: Instance, x: np.ndarray, y: np.ndarray
) -> list:
    """Rows for ``policies.csv``: per policy, site, commodity and period the floor (limit),
    the market price (used), the payment per tonne (shadow_price), the tonnes paid on
    (made minus disposed of at the site) and the payment."""
    t = terms.copy()
    val = np.zeros(len(t))
    for name in ("act", "dispose"):
        m = (t["name"] == name).to_numpy()
        if m.any():
            val[m] = handle.value(name, x)[t["var"].to_numpy(dtype=np.int64)[m]]
    t["tonnes"] = t["coef"] * val
    t["price"] = handle.dual("balance", y)[t["row"].to_numpy(dtype=np.int64)]  # per-period duals
    # one price and rate per (site, labelled commodity, period): the act rows carry them
    t["payment"] = t["tonnes"] * t["rate"]
    t["price_x_t"] = t["price"] * t["tonnes"]
    g = t.groupby(["policy", "site", "commodity", "period"], as_index=False, sort=True).agg(
        floor=("floor", "first"),
        tonnes=("tonnes", "sum"),
        payment=("payment", "sum"),
        price_x_t=("price_x_t", "sum"),
        price=("price", "mean"),
        rate=("rate", "mean"),
    )
    paid = g["tonnes"] > 1e-9
    # tonne-weighted over origin labels when something was paid for, else the plain mean
    g.loc[paid, "price"] = g["price_x_t"] / g["tonnes"]
    g.loc[paid, "rate"] = g["payment"] / g["tonnes"]
    country = inst.sites.set_index("id")["country"]
    return [
        {
            "policy": r.policy,
            "type": "price_floor",
            "constraint": label("price_floor", [r.policy, r.site, r.commodity, r.period]),
            "period": r.period,
            "commodity": r.commodity,
            "country": country.get(r.site, ""),
            "sense": ">=",
            "limit": r.floor,
            "used": r.price,
            "shadow_price": r.rate,
            "binding": r.rate > 0,
            "quantity": r.tonnes,
            "payment": r.payment,
        }
        for r in g.itertuples(index=False)
    ]


def check_result(inst: Instance, res) -> list[str]:
    """Invariant: a market-referenced price floor pays floor minus the market price it
    reports (from the output tables only; run by :mod:`optimizer.results.invariants`)."""
    market = {pid for pid, p in inst.policies if getattr(p, "reference", None) == "market"}
    pol = res.policies
    pol = pol.loc[(pol["type"] == "price_floor") & pol["policy"].isin(market)]
    pol = pol.loc[pol["quantity"] > 1e-6]
    want = np.clip(pol["limit"] - pol["used"], 0.0, pol["limit"])
    return [
        f"price floor: {r.constraint} pays {r.shadow_price:.6g}/t, floor - price = {w:.6g}"
        for r, w in zip(pol.itertuples(index=False), want, strict=True)
        if abs(r.shadow_price - w) > 0.05 + 1e-6 * r.limit
    ]


def summary(terms: pd.DataFrame, res) -> dict[str, Any]:
    """What ``summary.json`` says of the floors: the guarantor's payments per policy."""
    pol = res.policies.loc[res.policies["type"] == "price_floor"]
    return {"payments": {k: float(v) for k, v in pol.groupby("policy")["payment"].sum().items()}}
