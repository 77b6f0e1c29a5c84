r"""Capacity expansion: projects that add capacity to a process from a period on.

Variables
    ``build[e]`` with :math:`0 \le \mathrm{build}_e \le \bar K_e` (committed
    projects: :math:`\mathrm{build}_e = \bar K_e`) — capacity added by project
    *e* (``expansions.csv``), in service from the first period :math:`\tau_e`
    on or after ``earliest + lead_time``.

Contribution to ``process_capacity[p, t]``
    .. math:: \sum_{r} \mathrm{act}_{p,r,t} \le \ell_t\,(\mathrm{cap}_p + \sum_{e \in E(p),\ \tau_e \le t} \mathrm{build}_e)

Objective
    .. math:: \sum_e \mathrm{capex}_e \, \mathrm{build}_e \sum_{t \ge \tau_e} w_t\,\ell_t

    (annualised capex, paid in every period the capacity is in service, in proportion
    to the period's length :math:`\ell_t` in years).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.model.core import ChainModel
from optimizer.model.sets import IndexSets


def add_expansion(cm: ChainModel) -> None:
    """Variables ``build`` with their capex; their terms in the capacity rows are added by
    :func:`optimizer.model.processes.add_process_capacity` (from :func:`build_terms`)."""
    ex = cm.sets.expansions
    if ex.empty:
        return
    cap = ex["capacity"].to_numpy(dtype=float)
    lb = np.where(ex["committed"].to_numpy(), cap, 0.0)
    cm.add_var("build", ex[["id"]], ub=cap, lb=lb, doc="capacity added by a project")
    w = cm.sets.weights
    ln = cm.sets.lengths
    service = np.array(
        [sum(w[t] * ln[t] for t in cm.sets.periods if t >= s) for s in ex["in_service"]]
    )
    cm.add_cost("build", np.arange(len(ex)), ex["capex"].to_numpy(dtype=float) * service, "capex")


def build_terms(sets: IndexSets) -> pd.DataFrame:
    """(var, id, period): project ``var`` (position of its ``build`` variable) adds to the
    capacity of process ``id`` in ``period`` (every period from its first in service)."""
    ex = sets.expansions
    per = (
        ex[["process", "in_service"]]
        .reset_index()
        .rename(columns={"index": "var", "process": "id"})
    )
    terms = per.merge(pd.DataFrame({"period": sets.periods}), how="cross")
    return terms.loc[terms["period"] >= terms["in_service"], ["var", "id", "period"]].reset_index(
        drop=True
    )
