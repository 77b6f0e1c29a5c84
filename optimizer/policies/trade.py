r"""Trade policies: export controls and tariffs.

``export_control[policy, commodity, period]``
    For the flows :math:`F` of a commodity from sites in the exporter (country
    or region) to sites outside it in the destinations:

    .. math:: \sum_{f \in F} \mathrm{flow}_f \le \bar q
              \quad\text{with}\quad \bar q = \text{quota} \;\text{or}\; s \cdot B

    where :math:`B` is what the same flows carried in the **unconstrained
    baseline** (the instance with the scenarios' table changes but no
    policies, solved first) and :math:`s` is ``max_share``: 0 is a ban,
    0.25 means a quarter of normal exports is licensed.  With ``per: total``
    one row covers the sum over all the commodities.  The dual is the cost of
    the control per tonne of licence (``policies.csv``).

Tariff (objective term)
    Each tonne on a matching flow (exporter → importer) costs
    :math:`\tau_{pt} + \tau_{av} \cdot \max(0, p^B_{o,c,t})`, where
    :math:`p^B` is the baseline marginal cost of the commodity at the shipping
    site (its price at origin, the value basis of the ad valorem rate).
    Reported as ``tariffs`` in the cost breakdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.data import periods as P
from optimizer.policies.common import (
    carries,
    destination_keys,
    destination_mask,
    flows_with_countries,
    in_periods,
)
from optimizer.scenarios.policy_schema import AllExcept, ExportControl, Tariff

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.model.core import ChainModel
    from optimizer.model.reference import Baseline


def _export_flows(cm: ChainModel, inst: Instance, f: pd.DataFrame, p: ExportControl) -> np.ndarray:
    if p.exporter == "all" or isinstance(p.exporter, AllExcept):  # any border crossing
        mask = np.array(f["from_country"] != f["to_country"], dtype=bool)
        if isinstance(p.exporter, AllExcept):
            excluded: set[str] = set()
            for x in p.exporter.all_except:
                excluded |= inst.region_members(x)
            mask &= ~f["from_country"].isin(excluded).to_numpy()
    else:
        exporters = inst.region_members(p.exporter)
        mask = (
            f["from_country"].isin(exporters).to_numpy()
            & ~f["to_country"].isin(exporters).to_numpy()
        )
    tag = p.origin_tag()
    if tag is not None:
        mask &= carries(cm, f["origin"], tag.name)
    mask &= destination_mask(inst, f["to_country"], p.destinations, f["to_site"])
    mask &= f["commodity"].isin(inst.commodity_set(p.commodities)).to_numpy()
    mask &= in_periods(f["period"], p.periods)
    return mask


def add_export_controls(
    cm: ChainModel, inst: Instance, policies: list[tuple[str, object]], baseline: Baseline | None
) -> None:
    """Rows ``export_control[policy, commodity, destination, period]`` (``commodity`` is
    ``*`` for per: total, ``destination`` is ``*`` unless licences are per destination)."""
    pols = [(pid, p) for pid, p in policies if isinstance(p, ExportControl)]
    if not pols:
        return
    f = flows_with_countries(cm, inst)
    base = None
    if baseline is not None:
        base = baseline.flows[["link", "commodity", "origin", "period", "quantity"]]
    keys, terms_var, terms_row, rhs = [], [], [], []
    restricted = np.zeros(len(f), dtype=bool)
    on = ["link", "commodity", "origin", "period"]
    for pid, p in pols:
        mask = _export_flows(cm, inst, f, p)
        restricted |= mask
        sel = f.loc[mask]
        if sel.empty:
            continue
        shares = p.shares()
        group = sel["commodity"] if p.per == "commodity" else pd.Series("*", index=sel.index)
        if isinstance(p.max_share, dict):  # each flow's most specific destination entry
            dest = destination_keys(inst, sel["to_country"], sel["to_site"], list(shares))
        elif p.split == "destination":
            dest = sel["to_country"].to_numpy(dtype=object)
        else:
            dest = np.full(len(sel), "*", dtype=object)
        sel = sel.assign(group=group.to_numpy(), dest=dest)
        if p.needs_baseline():
            assert base is not None, "baseline needed for max_share"
            bq = sel[[*on, "group", "dest"]].merge(base, on=on, how="left")
            bq = bq.groupby(["group", "dest", "period"])["quantity"].sum()
        for (g, d, t), rows in sel.groupby(["group", "dest", "period"], sort=True):
            share = shares.get(d, shares.get("default", 0.0)) if p.quota is None else None
            if p.quota is not None:
                limit = p.quota
            else:  # licences from starts + licence_lag_days (prorated by days)
                share = p.licensed_share(t, share, d)
                limit = 0.0 if share == 0 else share * float(bq.get((g, d, t), 0.0))
            keys.append((pid, g, d, P.plain(t)))
            terms_var.append(rows["var"].to_numpy())
            terms_row.append(np.full(len(rows), len(keys) - 1))
            rhs.append(limit)
    if restricted.any():  # licensed lanes keep their licence as their limit (short run)
        prev = cm.restricted_flows
        cm.restricted_flows = restricted if prev is None else prev | restricted
    if not keys:
        return
    cm.add_rows(
        "export_control",
        pd.DataFrame(keys, columns=["policy", "commodity", "destination", "period"]),
        [
            (
                "flow",
                np.concatenate(terms_var),
                np.concatenate(terms_row),
                np.ones(sum(len(v) for v in terms_var)),
            )
        ],
        "<=",
        np.asarray(rhs),
        doc="controlled exports <= licensed share of baseline, or quota",
    )
    cm.policy_rows.append("export_control")


def add_tariffs(
    cm: ChainModel, inst: Instance, policies: list[tuple[str, object]], baseline: Baseline | None
) -> None:
    """Tariff cost on matching flows, added to the objective under ``tariffs``."""
    pols = [(pid, p) for pid, p in policies if isinstance(p, Tariff)]
    if not pols:
        return
    f = flows_with_countries(cm, inst)
    price = None
    if baseline is not None:
        pr = baseline.prices
        price = pr.set_index(["site", "commodity", "origin", "period"])["marginal_cost"]
    w = f["period"].map(cm.sets.weights).to_numpy(dtype=float)
    rate = np.zeros(len(f))
    for _pid, p in pols:
        importers = inst.region_members(p.importer)
        mask = (
            f["to_country"].isin(importers).to_numpy()
            & ~f["from_country"].isin(importers).to_numpy()
        )
        if p.exporter != "all":
            mask &= f["from_country"].isin(inst.region_members(p.exporter)).to_numpy()
        mask &= f["commodity"].isin(inst.commodity_set(p.commodities)).to_numpy()
        mask &= in_periods(f["period"], p.periods)
        per_t = np.full(len(f), p.per_tonne)
        if p.ad_valorem > 0:
            assert price is not None, "baseline needed for ad valorem tariffs"
            idx = pd.MultiIndex.from_arrays(
                [f["from_site"], f["commodity"], f["origin"], f["period"]]
            )
            value = np.clip(price.reindex(idx).to_numpy(dtype=float), 0, None)
            per_t = per_t + p.ad_valorem * np.nan_to_num(value)
        rate += np.where(mask, per_t, 0.0)
    cm.add_cost("flow", np.arange(len(f)), rate * w, "tariffs")
