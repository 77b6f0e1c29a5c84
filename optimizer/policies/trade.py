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

    With ``cumulative_since`` :math:`d_0` the share is of everything requested
    since :math:`d_0` (the published approval rates are shares of requests to
    date): for each period :math:`t`, summed over the periods :math:`\tau`
    from the one containing :math:`d_0` to :math:`t`,

    .. math:: \sum_{\tau \le t} \sum_{f} \mathrm{flow}_{f\tau} \le
              \sum_{\tau \le t} B_\tau \bigl(b_\tau + s_t\, g_t\, (1 - b_\tau)\bigr)

    where :math:`b_\tau` is the share of :math:`\tau` before :math:`d_0`,
    :math:`s_t` the share in force in :math:`t` and :math:`g_t` is 1 once the
    first licence can be granted (``starts`` + ``licence_lag_days``) before
    :math:`t` ends, else 0.  Exports already made before the model's first
    period (month-by-month decisions: ``Instance.shipped``) are a constant
    on the left; the right side does not fall below it.

Tariff (objective term)
    Each tonne on a matching flow (exporter → importer) costs
    :math:`\tau_{pt} + \tau_{av} \cdot \max(0, p^B_{o,c,t})`, where
    :math:`p^B` is the baseline marginal cost of the commodity at the shipping
    site (its price at origin, the value basis of the ad valorem rate).
    Reported as ``tariffs`` in the cost breakdown.
"""

from __future__ import annotations

from collections.abc import Callable
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
    policy_periods,
)
from optimizer.scenarios.policy_schema import AllExcept, ExportControl, Tariff

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.model.core import ChainModel
    from optimizer.model.reference import Baseline


def _export_flows(
    cm: ChainModel, inst: Instance, f: pd.DataFrame, p: ExportControl, *, periods: bool = True
) -> np.ndarray:
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
    if periods:
        mask &= in_periods(f["period"], p.periods)
    return mask


def _destinations(inst: Instance, sel: pd.DataFrame, p: ExportControl) -> pd.DataFrame:
    """``sel`` with ``group`` (commodity, or ``*`` for per: total) and ``dest`` (the
    destination key its licence is counted under, ``*`` when not per destination)."""
    group = sel["commodity"] if p.per == "commodity" else pd.Series("*", index=sel.index)
    if isinstance(p.max_share, dict):  # each flow's most specific destination entry;
        # ``default`` is each other destination country's own licence, not one pool
        dest = destination_keys(inst, sel["to_country"], sel["to_site"], list(p.shares()))
        dest = np.where(dest == "default", sel["to_country"].to_numpy(dtype=object), dest)
    elif p.split == "destination":
        dest = sel["to_country"].to_numpy(dtype=object)
    else:
        dest = np.full(len(sel), "*", dtype=object)
    return sel.assign(group=group.to_numpy(), dest=dest)


def _seen_shares(cm, inst, p: ExportControl, pols) -> Callable[[str, object], float | None]:
    """``seen(dest, t)``: the approval share destination key ``dest`` saw granted in period
    ``t`` under the licensing programme of ``p`` (the export controls with its exporter
    and ``cumulative_since``, the regimes of months already decided included), or None
    when no licence was being granted then."""
    prog = []
    for q, active in [(q, policy_periods(q.periods, cm.sets.periods)) for _, q in pols] + [
        (q, list(q.periods)) for _, q in getattr(inst, "past_policies", [])
    ]:
        if (
            isinstance(q, ExportControl)
            and q.cumulative_since == p.cumulative_since
            and q.exporter == p.exporter
        ):
            prog.append((q, {P.plain(t) for t in active}))

    def seen(dest: str, t) -> float | None:
        for q, active in prog:
            if P.plain(t) in active:
                granted = q.granted(dest)
                if granted is not None and P.bounds(t)[1] <= granted:
                    return None  # still under review
                sh = q.shares()
                return float(sh.get(dest, sh.get("default", 0.0)))
        return None

    return seen


def _asked(b: pd.DataFrame, seen) -> np.ndarray:
    """Requests per tonne of need of each row of ``b`` (dest, period) under shortage
    gaming: 1 / the share seen the period before, 1 when none (or 0) was seen."""
    order = sorted(set(b["period"]), key=P.start)
    prev = dict(zip(order[1:], order[:-1], strict=False))
    out = np.ones(len(b))
    for i, (d, t) in enumerate(zip(b["dest"], b["period"], strict=True)):
        s = seen(d, prev[t]) if t in prev else None
        if s is not None and s > 0:
            out[i] = 1.0 / s
    return out


def _to_date_rows(cm, inst, f, p: ExportControl, base: pd.DataFrame, seen=None):
    """The rows of an export control with ``cumulative_since`` (module docstring): per
    (group, destination, period t) the flow variables from the period of the date to t
    and the right-hand side, net of what was shipped before the model's first period;
    ``seen`` (:func:`_seen_shares`) for ``requests: shortage_gaming``."""
    since = p.cumulative_since
    sel = f.loc[_export_flows(cm, inst, f, p, periods=False)]
    if sel.empty:
        return
    sel = _destinations(inst, sel, p)
    counted = [t for t in cm.sets.periods if P.bounds(t)[1] > since]
    sel = sel.loc[sel["period"].isin(counted)]
    sel = sel.assign(start=sel["period"].map(lambda t: P.bounds(t)[0]))
    key = sel[["link", "commodity", "origin", "group", "dest"]].drop_duplicates(
        ["link", "commodity", "origin"]
    )

    def by_period(flows: pd.DataFrame | None) -> pd.DataFrame:
        if flows is None or flows.empty:
            return pd.DataFrame(columns=["group", "dest", "start", "period", "quantity"])
        x = flows[["link", "commodity", "origin", "period", "quantity"]].merge(
            key, on=["link", "commodity", "origin"]
        )
        x = x.loc[x["period"].map(lambda t: P.bounds(t)[1] > since)]
        x = x.groupby(["group", "dest", "period"], as_index=False)["quantity"].sum()
        x["start"] = x["period"].map(lambda t: P.bounds(t)[0])
        return x

    b = by_period(base)
    b["before"] = 1.0 - b["period"].map(lambda t: P.share_after(t, since)).astype(float)
    b["asked"] = 1.0 if p.requests == "need" else _asked(b, seen)
    first = P.bounds(cm.sets.periods[0])[0]
    done = by_period(getattr(inst, "shipped", None))
    done = done.loc[done["start"] < first]
    shares = p.shares()
    active = set(policy_periods(p.periods, cm.sets.periods))
    base_of = dict(tuple(b.groupby(["group", "dest"])))
    past_of = done.groupby(["group", "dest"])["quantity"].sum()
    for (g, d), rows in sel.groupby(["group", "dest"], sort=True):
        share = shares.get(d, shares.get("default", 0.0))
        granted = p.granted(d)
        bg = base_of.get((g, d), b.iloc[:0])
        past = float(past_of.get((g, d), 0.0))
        for t in counted:
            if t not in active:
                continue
            end = P.bounds(t)[1]
            upto = rows.loc[rows["start"] < end]
            if upto.empty:
                continue
            bt = bg.loc[bg["start"] < end]
            s_t = share if granted is None or end > granted else 0.0
            asked = bt["asked"] * (1.0 - bt["before"])  # requests per tonne of need
            limit = float((bt["quantity"] * (bt["before"] + s_t * asked)).sum())
            yield (g, d, P.plain(t)), upto["var"].to_numpy(), max(limit - past, 0.0)


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
        if p.cumulative_since is not None:
            assert base is not None, "baseline needed for cumulative_since"
            seen = _seen_shares(cm, inst, p, pols) if p.requests != "need" else None
            for (g, d, t), var, limit in _to_date_rows(cm, inst, f, p, base, seen):
                keys.append((pid, g, d, t))
                terms_var.append(var)
                terms_row.append(np.full(len(var), len(keys) - 1))
                rhs.append(limit)
            continue
        shares = p.shares()
        sel = _destinations(inst, sel, p)
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
