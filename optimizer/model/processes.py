r"""Processes: activity of each recipe at each plant, and plant capacity.

Variables
    ``act[p, r, t] >= 0`` — units of activity of recipe ``r`` run by process
    (plant) ``p`` in period ``t``.

Contribution to the commodity balance (see :mod:`optimizer.model.balance`)
    .. math:: \sum_{p,r} a_{r,c}\,\mathrm{act}_{p,r,t}

    with :math:`a_{r,c} > 0` for outputs and :math:`< 0` for inputs of
    recipe ``r`` (``recipes.csv``).  A recipe with several outputs is
    co-production: every output is made at once, in fixed proportions.

Constraint ``process_capacity[p, t]``
    .. math:: \sum_{r \in R(p)} \mathrm{act}_{p,r,t} \le \ell_t\,(\mathrm{cap}_p + \text{built}_{p,t})

    with :math:`\ell_t` the period's length in years (1; a month 1/12): capacities
    are per year (optimizer/data/periods.py).

    Alternative recipes of one plant share its capacity; the LP chooses the mix.
    Capacity built by projects in service (:mod:`optimizer.model.expansion`)
    adds to the right-hand side.

Objective
    .. math:: \sum w_t\, \mathrm{cost}_{p,r}\, \mathrm{act}_{p,r,t}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.model.core import ChainModel, by_period, positions
from optimizer.model.expansion import build_terms
from optimizer.model.tracing import PSEUDO


def add_activity(cm: ChainModel) -> None:
    """Variables ``act`` with their cost and their recipe terms in the balance."""
    s = cm.sets
    keys = by_period(s.modes[["id", "recipe"]], s.periods)
    cm.add_var("act", keys, doc="activity of recipe at process (units of activity per period)")
    cost = by_period(s.modes[["cost"]], s.periods)["cost"].to_numpy(dtype=float)
    w = keys["period"].map(s.weights).to_numpy(dtype=float)
    # origin-tracing bookkeeping (relabel tie-breaks) is reported apart from production
    pseudo = keys["id"].str.startswith(PSEUDO).to_numpy()
    pos = np.arange(len(keys))
    cm.add_cost("act", pos[~pseudo], (cost * w)[~pseudo], "production")
    if pseudo.any():
        cm.add_cost("act", pos[pseudo], (cost * w)[pseudo], "tracing")

    terms = by_period(s.mode_coefs, s.periods)
    var_pos = positions(terms, keys, ["id", "recipe", "period"])
    row_pos = positions(terms, cm.balance_index, ["site", "commodity", "period"])
    cm.balance_terms.append(("act", var_pos, row_pos, terms["coef"].to_numpy(dtype=float)))
    cm.act_terms = terms.assign(var=var_pos)


def add_process_capacity(cm: ChainModel) -> None:
    """Rows ``process_capacity[id, period]``: total activity of a plant ≤ its capacity."""
    s = cm.sets
    if s.process_capacity.empty:
        return
    rows = by_period(s.process_capacity[["id", "capacity"]], s.periods)
    act_keys = cm.var_keys["act"]
    # every act whose process has a finite capacity
    merged = act_keys.reset_index().merge(
        rows[["id", "period"]].reset_index().rename(columns={"index": "row"}), on=["id", "period"]
    )
    var_pos = merged["index"].to_numpy(dtype=np.int64)
    row_pos = merged["row"].to_numpy(dtype=np.int64)
    terms = [("act", var_pos, row_pos, np.ones(len(var_pos)))]
    built = build_terms(s)
    if len(built):
        b = built.merge(
            rows[["id", "period"]].reset_index().rename(columns={"index": "row"}),
            on=["id", "period"],
        )
        terms.append(
            (
                "build",
                b["var"].to_numpy(dtype=np.int64),
                b["row"].to_numpy(dtype=np.int64),
                -b["period"].map(s.lengths).to_numpy(dtype=float),
            )
        )
    terms += _headroom_terms(cm, rows)
    cm.add_rows(
        "process_capacity",
        rows[["id", "period"]],
        terms,
        "<=",
        rows["capacity"].to_numpy(dtype=float) * rows["period"].map(s.lengths).to_numpy(float),
        doc="total activity of a process (all its recipes) <= capacity x period length",
    )


#: USD per unit of activity above the reference rent that an idle line costs to restart,
#: so that the undisrupted short run keeps the reference plan rather than a tie
TIE = 0.01


def _headroom_terms(cm: ChainModel, rows: pd.DataFrame) -> list:
    """Variables ``headroom[id, period]`` (short run, ``short_run.utilisation``): activity of
    a plant above its capacity — the reference year's output — on lines idle that year, up
    to ``1/u - 1`` of it, each unit at the capacity's rent in the reference plan, so the
    undisrupted short run keeps the reference (docs/horizon.md, idle capacity)."""
    sr = cm.sets.short_run
    if sr is None or sr.headroom.empty:
        return []
    s = cm.sets
    h = rows.reset_index().rename(columns={"index": "row"}).merge(sr.headroom, on=["id", "period"])
    h = h.loc[h["extra"] > 0].reset_index(drop=True)
    if h.empty:
        return []
    length = h["period"].map(s.lengths).to_numpy(float)
    ub = h["extra"].to_numpy(float) * h["capacity"].to_numpy(float) * length
    cm.add_var(
        "headroom",
        h[["id", "period"]],
        ub=ub,
        doc="activity above capacity on lines idle in the reference year (short run)",
    )
    n = len(h)
    # a cent above the rent, so that ties go to the reference plan
    cm.add_cost("headroom", np.arange(n), h["rent"].to_numpy(float) + TIE, "headroom")
    return [("headroom", np.arange(n), h["row"].to_numpy(dtype=np.int64), -np.ones(n))]
