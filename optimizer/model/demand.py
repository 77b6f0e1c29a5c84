r"""Elastic demand: unmet demand at a penalty, or along a demand curve.

Variables
    ``unmet[m, c, t]`` with :math:`0 \le \mathrm{unmet} \le D_{m,c,t}` —
    tonnes of demand not served.

    With a demand curve (:mod:`optimizer.model.curves`): ``unmet_seg[m, c, t, k]`` with
    :math:`0 \le \mathrm{unmet\_seg}_k \le s_k` — the part of the shortage in segment
    :math:`k` of the curve — and ``extra[m, c, t, k]`` with :math:`0 \le \mathrm{extra}_k
    \le e_k` — tonnes bought beyond :math:`D` below the reference price.

Contribution to the commodity balance
    :math:`+\mathrm{unmet}_{m,c,t} - \sum_k \mathrm{extra}_{m,c,t,k}` at the market node,
    whose right-hand side is :math:`D_{m,c,t}` (see :mod:`optimizer.model.balance`):
    what reaches the market plus what is not served equals demand plus the extra.

Constraint ``demand_curve[m, c, t]`` (rows with a curve)
    .. math:: \mathrm{unmet}_{m,c,t} - \sum_k \mathrm{unmet\_seg}_{m,c,t,k} = 0

Objective
    .. math:: \sum w_t \Big(\pi_{m,c,t}\, \mathrm{unmet}_{m,c,t} + \sum_k \pi_k\,
              \mathrm{unmet\_seg}_{m,c,t,k} - \sum_k \beta_k\, \mathrm{extra}_{m,c,t,k}\Big)

    with :math:`\pi` the shortage penalty (``demand.csv`` or
    ``defaults.shortage_penalty``) on rows without a curve (0 on rows with one),
    :math:`\pi_k` the curve's willingness to pay in segment :math:`k` and
    :math:`\beta_k` the value of the extra tonnes (group ``extra_demand``, negative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.model.core import ChainModel, positions

KEY = ["market", "commodity", "period"]


def add_unmet(cm: ChainModel) -> None:
    """Variables ``unmet`` with their penalty (rows without a curve) and balance term."""
    s = cm.sets
    d = s.demand
    keys = d[KEY]
    cm.add_var(
        "unmet", keys, ub=d["quantity"].to_numpy(dtype=float), doc="tonnes of demand not served"
    )
    w = d["period"].map(s.weights).to_numpy(dtype=float) * _urgency(s, d)
    curved = _curved(d, s.shortage_segments)
    penalty = np.where(curved, 0.0, d["penalty"].to_numpy(dtype=float))
    cm.add_cost("unmet", np.arange(len(d)), penalty * w, "shortage_penalty")
    rows = positions(
        d.rename(columns={"market": "site"}), cm.balance_index, ["site", "commodity", "period"]
    )
    cm.balance_terms.append(("unmet", np.arange(len(d)), rows, np.ones(len(d))))


def _curved(d: pd.DataFrame, seg: pd.DataFrame | None) -> np.ndarray:
    if seg is None or seg.empty:
        return np.zeros(len(d), dtype=bool)
    idx = pd.MultiIndex.from_frame(seg[KEY].drop_duplicates())
    return pd.MultiIndex.from_frame(d[KEY]).isin(idx)


def add_demand_segments(cm: ChainModel) -> None:
    """Variables ``unmet_seg`` priced along the curve, and rows ``demand_curve``."""
    s = cm.sets
    seg = s.shortage_segments
    if seg is None or seg.empty:
        return
    seg = seg.reset_index(drop=True)
    cm.add_var(
        "unmet_seg",
        seg[[*KEY, "segment"]],
        ub=seg["size"].to_numpy(dtype=float),
        doc="tonnes not served in one segment of the demand curve",
    )
    w = seg["period"].map(s.weights).to_numpy(dtype=float) * _urgency(s, seg)
    cm.add_cost(
        "unmet_seg", np.arange(len(seg)), seg["price"].to_numpy(float) * w, "shortage_penalty"
    )
    rows = seg[KEY].drop_duplicates().reset_index(drop=True)
    row_of_seg = positions(seg, rows, KEY)
    unmet_pos = positions(rows, cm.var_keys["unmet"], KEY)
    cm.add_rows(
        "demand_curve",
        rows,
        [
            ("unmet", unmet_pos, np.arange(len(rows)), np.ones(len(rows))),
            ("unmet_seg", np.arange(len(seg)), row_of_seg, -np.ones(len(seg))),
        ],
        "==",
        np.zeros(len(rows)),
        doc="unmet demand = the sum of its segments along the demand curve",
    )


def add_extra_demand(cm: ChainModel) -> None:
    """Variables ``extra``: tonnes bought beyond demand below the reference price."""
    s = cm.sets
    ex = s.extra_segments
    if ex is None or ex.empty:
        return
    ex = ex.reset_index(drop=True)
    cm.add_var(
        "extra",
        ex[[*KEY, "segment"]],
        ub=ex["size"].to_numpy(dtype=float),
        doc="tonnes bought beyond demand in one segment below the reference price",
    )
    w = ex["period"].map(s.weights).to_numpy(dtype=float) * _urgency(s, ex)
    cm.add_cost("extra", np.arange(len(ex)), -ex["price"].to_numpy(float) * w, "extra_demand")
    rows = positions(
        ex.rename(columns={"market": "site"}), cm.balance_index, ["site", "commodity", "period"]
    )
    cm.balance_terms.append(("extra", np.arange(len(ex)), rows, -np.ones(len(ex))))


def _urgency(s, d: pd.DataFrame) -> np.ndarray:
    """Per row, how much more serving demand in its period is worth than serving it in
    the solve's first period (1 unless a rolling plan sets ``urgency``)."""
    if not s.urgency:
        return np.ones(len(d))
    return d["period"].map(s.urgency).to_numpy(dtype=float)
