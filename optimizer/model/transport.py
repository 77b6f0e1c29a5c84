r"""Transport: flows of commodities on links (lanes), and lane capacity.

Variables
    ``flow[l, c, t] >= 0`` — tonnes of commodity ``c`` moved on link ``l`` in
    period ``t``; only for commodities the origin can have and the destination
    can use (:mod:`optimizer.model.sets`).

Contribution to the commodity balance
    :math:`-\mathrm{flow}_{l,c,t}` at the origin, :math:`+\mathrm{flow}_{l,c,t}` at the destination.

Constraint ``link_capacity[l, t]``
    .. math:: \sum_c \mathrm{flow}_{l,c,t} \le \mathrm{cap}_l

Objective
    .. math:: \sum w_t\, \mathrm{cost}_l\, \mathrm{flow}_{l,c,t}
"""

from __future__ import annotations

import numpy as np

from optimizer.model.core import ChainModel, by_period, positions


def add_flows(cm: ChainModel) -> None:
    """Variables ``flow`` with their cost and their balance terms at both ends."""
    s = cm.sets
    lc = by_period(s.link_commodities, s.periods)
    keys = lc[["link", "commodity", "period"]]
    cm.add_var("flow", keys, doc="tonnes moved on a link per period")
    cm.flow_terms = lc
    cost = lc["cost"].to_numpy(dtype=float) * lc["period"].map(s.weights).to_numpy(dtype=float)
    cm.add_cost("flow", np.arange(len(lc)), cost, "transport")
    n = len(lc)
    idx = np.arange(n, dtype=np.int64)
    out_rows = positions(
        lc.rename(columns={"from_site": "site"}), cm.balance_index, ["site", "commodity", "period"]
    )
    in_rows = positions(
        lc.rename(columns={"to_site": "site"}), cm.balance_index, ["site", "commodity", "period"]
    )
    cm.balance_terms.append(("flow", idx, out_rows, -np.ones(n)))
    cm.balance_terms.append(("flow", idx, in_rows, np.ones(n)))


def add_link_capacity(cm: ChainModel) -> None:
    """Rows ``link_capacity[link, period]``: total tonnes on a lane ≤ its capacity."""
    s = cm.sets
    if s.link_capacity.empty:
        return
    rows = by_period(s.link_capacity.rename(columns={"id": "link"}), s.periods)
    merged = (
        cm.var_keys["flow"]
        .reset_index()
        .merge(
            rows[["link", "period"]].reset_index().rename(columns={"index": "row"}),
            on=["link", "period"],
        )
    )
    cm.add_rows(
        "link_capacity",
        rows[["link", "period"]],
        [
            (
                "flow",
                merged["index"].to_numpy(dtype=np.int64),
                merged["row"].to_numpy(dtype=np.int64),
                np.ones(len(merged)),
            )
        ],
        "<=",
        rows["capacity"].to_numpy(dtype=float) * rows["period"].map(s.lengths).to_numpy(float),
        doc="total tonnes on a link <= capacity x period length",
    )
