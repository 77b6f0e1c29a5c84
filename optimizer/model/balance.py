r"""Commodity balance at every node (site, commodity) and period.

Constraint ``balance[s, c, t]``
    .. math::

        \sum_{p,r} a_{r,c}\,\mathrm{act}_{p,r,t}
        + \sum_{l \in \mathrm{in}(s)} \mathrm{flow}_{l,c,t}
        - \sum_{l \in \mathrm{out}(s)} \mathrm{flow}_{l,c,t}
        + \mathrm{unmet}_{s,c,t} - \mathrm{dispose}_{s,c,t}
        + \mathrm{inventory}_{s,c,t-1} - \mathrm{inventory}_{s,c,t}
        = D_{s,c,t} - S^0_{s,c}[t = t_0]

    Made + received − shipped − disposed − stored equals what is withdrawn
    at the node (served demand).  Nothing appears or vanishes.

Dual
    The dual of ``balance[s, c, t]`` is the **marginal cost** of commodity
    ``c`` at site ``s`` in period ``t``: the change in total cost if one more
    tonne had to be delivered there (USD/t).  It is negative for a surplus
    co-product whose extra tonne would have to be disposed of.
"""

from __future__ import annotations

import numpy as np

from optimizer.model.core import ChainModel, by_period


def balance_index(cm: ChainModel):
    """The rows of the balance: every node in every period."""
    return by_period(cm.sets.nodes, cm.sets.periods)


def add_balance(cm: ChainModel) -> None:
    """Rows ``balance[site, commodity, period]`` from the terms the families contributed."""
    s = cm.sets
    keys = cm.balance_index
    rhs = np.zeros(len(keys))
    if not s.demand.empty:
        d = s.demand.rename(columns={"market": "site"})
        m = keys.reset_index().merge(d, on=["site", "commodity", "period"])
        rhs[m["index"].to_numpy()] += m["quantity"].to_numpy(dtype=float)
    init = s.storage.loc[s.storage["initial"] > 0]
    if not init.empty:
        first = keys.reset_index().merge(
            init.assign(period=s.periods[0]), on=["site", "commodity", "period"]
        )
        rhs[first["index"].to_numpy()] -= first["initial"].to_numpy(dtype=float)
    arr = s.arrivals
    if arr is not None and len(arr):  # shipments made before the first period, landing now
        a = keys.reset_index().merge(
            arr.groupby(["site", "commodity", "period"], as_index=False)["quantity"].sum(),
            on=["site", "commodity", "period"],
        )
        rhs[a["index"].to_numpy()] -= a["quantity"].to_numpy(dtype=float)
    cm.add_rows(
        "balance",
        keys,
        cm.balance_terms,
        "==",
        rhs,
        doc="made + received - shipped - disposed - stored = served demand",
    )
