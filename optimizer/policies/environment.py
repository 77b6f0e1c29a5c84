r"""Limits on what processes at a place may do: environmental caps and production targets.

Both act on the activity :math:`\mathrm{act}_{p,r,t}` of the processes at the
policy's ``sites`` or at the sites of a country or region (:math:`P`).

``environmental_cap[policy, pollutant, period]``
    .. math:: \sum_{(p,r) \in P} e_{p,r,k}\, \mathrm{act}_{p,r,t} \le \bar E

    where :math:`e_{p,r,k}` is the factor of pollutant :math:`k` per unit of
    activity (``emissions.csv``: the row naming process :math:`p`, else the
    row of recipe :math:`r` with a blank process) and :math:`\bar E` is
    ``max``.  The dual is the cost of the cap per unit of pollutant.

``production_target[policy, commodity, period]``
    .. math:: \sum_{(p,r) \in P} \sum_{c \in C} a_{r,c}\, \mathrm{act}_{p,r,t} \ge \underline Q

    (gross output :math:`a_{r,c} > 0` of the commodities :math:`C`; ``min``
    is :math:`\underline Q`).  A hard row without slack: with demand elastic,
    it is the one policy that can make the LP infeasible, alone (capacity,
    co-products that cannot be disposed of) or against another hard limit
    such as an environmental cap; :mod:`optimizer.lp.iis` then names the
    conflict.  The dual is what the target costs per tonne.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.data import periods as P
from optimizer.errors import InfeasibleError
from optimizer.policies.common import in_periods, outputs_with_countries, policy_periods
from optimizer.scenarios.policy_schema import EnvironmentalCap, ProductionTarget

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.model.core import ChainModel
    from optimizer.model.reference import Baseline


def emission_factors(cm: ChainModel, inst: Instance, pollutant: str) -> pd.DataFrame:
    """One row per activity variable that emits ``pollutant``: ``var``, ``site``, ``period``,
    ``factor`` (a process row of ``emissions.csv`` replaces the recipe's blank-process row)."""
    act = cm.var_keys["act"][["id", "recipe", "period"]].copy()
    act["var"] = np.arange(len(act), dtype=np.int64)
    act = act.merge(cm.sets.modes[["id", "recipe", "site"]], on=["id", "recipe"], how="left")
    labels = getattr(cm.sets, "labels", None)  # origin tracing lifts recipe ids to recipe@label
    if labels is not None:
        act["recipe"] = [labels.recipe.get(r, (r, ""))[0] for r in act["recipe"]]
    em = inst.emissions
    em = em.loc[em["pollutant"] == pollutant]
    generic = em.loc[em["process"] == "", ["recipe", "factor"]]
    specific = em.loc[em["process"] != "", ["process", "recipe", "factor"]]
    act = act.merge(generic.rename(columns={"factor": "generic"}), on="recipe", how="left")
    act = act.merge(
        specific.rename(columns={"process": "id", "factor": "specific"}),
        on=["id", "recipe"],
        how="left",
    )
    act["factor"] = act["specific"].fillna(act["generic"]).fillna(0.0)
    return act.loc[act["factor"] > 0, ["var", "id", "recipe", "site", "period", "factor"]]


def add_environmental_caps(
    cm: ChainModel, inst: Instance, policies: list[tuple[str, object]], baseline: Baseline | None
) -> None:
    """Rows ``environmental_cap[policy, pollutant, period]``."""
    pols = [(pid, p) for pid, p in policies if isinstance(p, EnvironmentalCap)]
    keys, tv, tr, tc, rhs = [], [], [], [], []
    for pid, p in pols:
        f = emission_factors(cm, inst, p.pollutant)
        f = f.loc[f["site"].isin(p.site_ids(inst)).to_numpy() & in_periods(f["period"], p.periods)]
        for t, rows in f.groupby("period", sort=True):
            keys.append((pid, p.pollutant, P.plain(t)))
            tv.append(rows["var"].to_numpy())
            tr.append(np.full(len(rows), len(keys) - 1))
            tc.append(rows["factor"].to_numpy(dtype=float))
            rhs.append(p.max * cm.sets.lengths[t])  # max is per year
    if not keys:
        return
    cm.add_rows(
        "environmental_cap",
        pd.DataFrame(keys, columns=["policy", "pollutant", "period"]),
        [("act", np.concatenate(tv), np.concatenate(tr), np.concatenate(tc))],
        "<=",
        np.asarray(rhs, dtype=float),
        doc="sum of emission factor x activity at the place <= max",
    )
    cm.policy_rows.append("environmental_cap")


def _commodity_label(spec: str | list[str]) -> str:
    return spec if isinstance(spec, str) else "|".join(spec)


def add_production_targets(
    cm: ChainModel, inst: Instance, policies: list[tuple[str, object]], baseline: Baseline | None
) -> None:
    """Rows ``production_target[policy, commodity, period]`` (commodity: the policy's spec)."""
    pols = [(pid, p) for pid, p in policies if isinstance(p, ProductionTarget)]
    if not pols:
        return
    out = outputs_with_countries(cm, inst)
    keys, tv, tr, tc, rhs = [], [], [], [], []
    for pid, p in pols:
        sel = out.loc[
            out["site"].isin(p.site_ids(inst)).to_numpy()
            & out["commodity"].isin(inst.commodity_set(p.commodities)).to_numpy()
        ]
        for t in policy_periods(p.periods, cm.sets.periods):
            rows = sel.loc[sel["period"] == t]
            if rows.empty and p.min == 0:
                continue
            if rows.empty:  # pragma: no cover - ProductionTarget.check rejects most of these
                raise InfeasibleError(
                    f"policy {pid} (production_target) cannot be met in {t}: no process "
                    f"{p.place()} makes {p.commodities!r} in the model"
                )
            keys.append((pid, _commodity_label(p.commodities), P.plain(t)))
            tv.append(rows["var"].to_numpy())
            tr.append(np.full(len(rows), len(keys) - 1))
            tc.append(rows["coef"].to_numpy(dtype=float))
            rhs.append(p.min * cm.sets.lengths[t])  # min is per year
    if not keys:
        return
    cm.add_rows(
        "production_target",
        pd.DataFrame(keys, columns=["policy", "commodity", "period"]),
        [("act", np.concatenate(tv), np.concatenate(tr), np.concatenate(tc))],
        ">=",
        np.asarray(rhs, dtype=float),
        doc="output of the commodities at the place >= min",
    )
    cm.policy_rows.append("production_target")
