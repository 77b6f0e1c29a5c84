r"""Disposal of surplus and inventories between periods.

Co-production makes commodities nobody may want (La and Ce from separating
for Nd: the balance problem).  They never vanish: they are shipped, stored,
or disposed of at a cost.

Variables
    ``dispose[s, c, t] >= 0`` — tonnes disposed of, only where ``c`` is made
    (or stocked) and ``commodities.disposal_cost`` is given.

    ``inventory[s, c, t] >= 0`` — tonnes held at the end of period ``t``, at
    nodes with an initial stock (``stocks.csv``) and, in multi-period
    instances, at every node of a commodity with a ``storage_cost``.

Contribution to the commodity balance
    :math:`-\mathrm{dispose}_{s,c,t} - \mathrm{inventory}_{s,c,t} + \mathrm{inventory}_{s,c,t-1}`;
    the initial stock enters the first period's right-hand side.

Objective
    .. math:: \sum w_t (\delta_c\, \mathrm{dispose}_{s,c,t} + \ell_t\, h_c\, \mathrm{inventory}_{s,c,t})

    with :math:`h_c` per tonne and year and :math:`\ell_t` the period's length in years.
"""

from __future__ import annotations

import numpy as np

from optimizer.model.core import ChainModel, by_period, positions


def add_disposal(cm: ChainModel) -> None:
    """Variables ``dispose`` with their cost and their balance term."""
    s = cm.sets
    if s.disposal.empty:
        return
    d = by_period(s.disposal, s.periods)
    cm.add_var("dispose", d[["site", "commodity", "period"]], doc="tonnes disposed of")
    cost = d["cost"].to_numpy(dtype=float) * d["period"].map(s.weights).to_numpy(dtype=float)
    cm.add_cost("dispose", np.arange(len(d)), cost, "disposal")
    rows = positions(d, cm.balance_index, ["site", "commodity", "period"])
    cm.balance_terms.append(("dispose", np.arange(len(d)), rows, -np.ones(len(d))))


def add_inventory(cm: ChainModel) -> None:
    """Variables ``inventory`` (end-of-period stock) with holding cost and balance terms."""
    s = cm.sets
    if s.storage.empty:
        return
    d = by_period(s.storage, s.periods)
    n = len(d)
    cm.add_var(
        "inventory", d[["site", "commodity", "period"]], doc="tonnes held at the end of the period"
    )
    cost = (
        d["cost"].to_numpy(dtype=float)
        * d["period"].map(s.weights).to_numpy(dtype=float)
        * d["period"].map(s.lengths).to_numpy(dtype=float)
    )  # storage_cost is per tonne and year: a month holds for 1/12 of it
    cm.add_cost("inventory", np.arange(n), cost, "storage")
    idx = np.arange(n, dtype=np.int64)
    rows = positions(d, cm.balance_index, ["site", "commodity", "period"])
    cm.balance_terms.append(("inventory", idx, rows, -np.ones(n)))
    nxt = {p: q for p, q in zip(s.periods, s.periods[1:], strict=False)}
    has_next = d["period"].map(nxt)
    carry = has_next.notna().to_numpy()
    if carry.any():
        d_next = d.loc[carry, ["site", "commodity"]].assign(period=has_next[carry].to_numpy())
        next_rows = positions(d_next, cm.balance_index, ["site", "commodity", "period"])
        cm.balance_terms.append(("inventory", idx[carry], next_rows, np.ones(int(carry.sum()))))


def add_safety_stocks(cm: ChainModel) -> None:
    r"""Variables ``below[s, c, t]`` and rows ``safety_stock[s, c, t]``:
    :math:`\mathrm{inventory}_{s,c,t} + \mathrm{below}_{s,c,t} \ge L_{s,c}` for every
    safety stock (``stocks.keep_cost`` given), each tonne below costing
    :math:`k_{s,c}\,(\sigma\,12\,\ell_t + [t = t_{last}])` — the rate
    ``defaults.safety_stock_rate`` per month below and the full replacement value at the
    end of the last period; each tonne held costs ``defaults.carrying_rate`` of
    :math:`k_{s,c}` per month (so a stock is kept at its level, not above it)."""
    s = cm.sets
    if s.safety.empty or s.storage.empty:
        return
    d = by_period(s.safety, s.periods)
    inv = cm.var_keys["inventory"][["site", "commodity", "period"]].reset_index()
    m = (
        d.reset_index()
        .rename(columns={"index": "row"})
        .merge(inv, on=["site", "commodity", "period"])
    )
    n = len(d)
    cm.add_var("below", d[["site", "commodity", "period"]], doc="tonnes below a safety level")
    months = d["period"].map(s.lengths).to_numpy(dtype=float) * 12.0
    last = (d["period"] == s.periods[-1]).to_numpy(dtype=float)
    w = d["period"].map(s.weights).to_numpy(dtype=float)
    keep = d["keep_cost"].to_numpy(dtype=float)
    cm.add_cost("below", np.arange(n), keep * w * (s.safety_rate * months + last), "safety_stock")
    # holding a safety stock costs the carrying rate of its keep cost
    cm.add_cost(
        "inventory",
        m["index"].to_numpy(dtype=np.int64),
        (keep * w * s.carrying_rate * months)[m["row"].to_numpy(dtype=np.int64)],
        "storage",
    )
    cm.add_rows(
        "safety_stock",
        d[["site", "commodity", "period"]],
        [
            (
                "inventory",
                m["index"].to_numpy(dtype=np.int64),
                m["row"].to_numpy(dtype=np.int64),
                np.ones(len(m)),
            ),
            ("below", np.arange(n), np.arange(n), np.ones(n)),
        ],
        ">=",
        d["level"].to_numpy(dtype=float),
        doc="inventory + below >= safety level",
    )
