r"""Elastic demand: unmet demand at a penalty.

Variables
    ``unmet[m, c, t]`` with :math:`0 \le \mathrm{unmet} \le D_{m,c,t}` —
    tonnes of demand not served.  Served demand is :math:`D - \mathrm{unmet}`.

Contribution to the commodity balance
    :math:`+\mathrm{unmet}_{m,c,t}` at the market node, whose right-hand side
    is :math:`D_{m,c,t}` (see :mod:`optimizer.model.balance`): what reaches the
    market plus what is not served equals demand.

Objective
    .. math:: \sum w_t\, \pi_{m,c,t}\, \mathrm{unmet}_{m,c,t}

    with :math:`\pi` the shortage penalty (``demand.csv`` or
    ``defaults.shortage_penalty``).
"""

from __future__ import annotations

import numpy as np

from optimizer.model.core import ChainModel, positions


def add_unmet(cm: ChainModel) -> None:
    """Variables ``unmet`` with their penalty and their balance term."""
    s = cm.sets
    d = s.demand
    keys = d[["market", "commodity", "period"]]
    cm.add_var(
        "unmet", keys, ub=d["quantity"].to_numpy(dtype=float), doc="tonnes of demand not served"
    )
    w = d["period"].map(s.weights).to_numpy(dtype=float)
    cm.add_cost(
        "unmet", np.arange(len(d)), d["penalty"].to_numpy(dtype=float) * w, "shortage_penalty"
    )
    rows = positions(
        d.rename(columns={"market": "site"}), cm.balance_index, ["site", "commodity", "period"]
    )
    cm.balance_terms.append(("unmet", np.arange(len(d)), rows, np.ones(len(d))))
