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
import pandas as pd

from optimizer.data import periods as P
from optimizer.model.core import ChainModel, by_period, positions
from optimizer.model.transit import transit_terms


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
    cm.balance_terms.append(("flow", idx, out_rows, -np.ones(n)))
    lag = lc["link"].map(s.transit.set_index("link")["lag"]).fillna(0.0).to_numpy(dtype=float)
    now = lag == 0
    if now.any():
        in_rows = positions(
            lc.loc[now].rename(columns={"to_site": "site"}),
            cm.balance_index,
            ["site", "commodity", "period"],
        )
        cm.balance_terms.append(("flow", idx[now], in_rows, np.ones(int(now.sum()))))
    if (~now).any():
        _add_arrivals(cm, lc, idx, lag)


def _add_arrivals(cm: ChainModel, lc, idx: np.ndarray, lag: np.ndarray) -> None:
    """Balance terms of shipments that spend ``lag`` months in transit
    (:func:`transit_terms`): the year wraps round for what is at sea unless the sets carry
    the known ``arrivals`` (then on the right-hand side of the balance)."""
    s = cm.sets
    pos = {p: i for i, p in enumerate(s.periods)}
    sel = np.flatnonzero(lag > 0)
    j = lc["period"].map(pos).to_numpy(dtype=np.int64)[sel]
    src, t, w = transit_terms(j, lag[sel], len(s.periods), s.arrivals is None)
    v = idx[sel][src]
    keys = pd.DataFrame(
        {
            "site": lc["to_site"].to_numpy()[v],
            "commodity": lc["commodity"].to_numpy()[v],
            "period": np.asarray(s.periods, dtype=object)[t],
        }
    )
    keys["period"] = P.tidy(keys["period"])
    rows = positions(keys, cm.balance_index, ["site", "commodity", "period"])
    cm.balance_terms.append(("flow", v, rows, w))


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
