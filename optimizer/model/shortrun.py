r"""The short run: the chain cannot reroute overnight (``horizon: short``, docs/horizon.md).

In the long run (``horizon: long``, the default) the LP re-optimises the whole chain
freely.  In the short run it stays near a **reference plan** :math:`R` — the solve of
the undisrupted instance (:mod:`optimizer.model.reference`) — within limits per stage
of the chain from ``short_run.csv``:

``short_run_ramp[p, t]`` — plants cannot ramp up overnight
    .. math:: \sum_{r, L} \mathrm{act}_{p,r@L,t} \le (1 + \rho_s) \sum_r R^{act}_{p,r,t}

    for every process (plant) :math:`p` at a site of stage :math:`s` with a ``ramp``
    :math:`\rho_s` (its recipes, and their origin labels :math:`L` when origins are
    traced, summed).  A plant idle in the reference stays idle.  Alternative recipes of
    one plant share the limit, so a plant may switch between them (a diffusion line
    diffusing Tb instead of Dy), but a switch to another kind of plant (bulk-alloyed to
    grain-boundary-diffusion magnets, separate processes) is held by both plants' limits.
    A process with ``short_run: free`` (a stock release) has no such limit.

``short_run_lane[l, c, t]`` — buyers cannot switch suppliers overnight
    .. math:: \sum_{L} \mathrm{flow}_{l,c@L,t} \le
              \begin{cases} (1 + \lambda_{s(c)})\, R^{flow}_{l,c,t} & R^{flow}_{l,c,t} > 0
              \text{ or the lane is qualified} \\ 0 & \text{otherwise}\end{cases}

    A lane that carried none of commodity :math:`c` in the reference is shut unless
    ``links.csv`` marks it ``qualified: yes`` or the stage that makes :math:`c` has
    ``qualify: no`` in ``short_run.csv`` (a standard grade: ore concentrate, oxide) — then
    it has no short-run limit;
    one that did may carry at most :math:`1 + \lambda` times as much, where
    :math:`\lambda` is the ``lane_ramp`` of the stage that makes :math:`c` (blank: no
    limit on lanes that carried it).

``short_run_contract[l, c, t]`` — contracted volumes are rationed pro rata
    .. math:: \mathrm{flow}_{l,c,t} \ge \kappa_{s(c)}\, \frac{R_{l,c,t}}{\sum_{l' \in O}
              R_{l',c,t}} \sum_{l' \in O} \mathrm{flow}_{l',c,t}

    for every lane :math:`l` that carried :math:`c` in the reference, where :math:`O` is
    every lane that can take :math:`c` out of the same site — old customers and new
    (qualified) ones — that no policy restricts (a licensed export lane keeps its
    licence as its limit): each contracted customer gets at least :math:`\kappa` of
    its reference share of what the supplier still ships, so a supplier short of
    material cuts every contracted customer alike instead of the LP choosing who
    loses, and at most :math:`1 - \kappa` of its output goes to new customers.
    Always feasible (all flows zero satisfies it).

``resale[s, c, t]`` — a stock that cannot be sold now is kept, not thrown away
    Any site holding a commodity :math:`c` of a stage with ``resale_months`` :math:`m_s`
    (at a positive reference price) may keep a stock of it to sell once the disruption is
    over: carried from period to period, each month held costing the carrying rate
    :math:`r` (``defaults.carrying_rate``) of its reference price :math:`p^R_{s,c,t}`, and
    each tonne held at the end of the plan's last period :math:`T` worth its reference
    price less the carrying over the :math:`m_s` months it is still held:

    .. math:: \sum_{t<T} w_t\, r\, 12\ell_t\, p^R_{s,c,t}\, \mathrm{resale}_{s,c,t}
              - w_T\, p^R_{s,c,T} (1 - r\, m_s)\, \mathrm{resale}_{s,c,T}

    A price that falls below that value is held up by stock building (the competitive
    storage floor).  Undisrupted, no stock is built: the value is below the price the
    tonne fetches now (:math:`p^R` is a subgradient of the reference plan's cost).

Each is a family like the others and adds nothing when the horizon is long, the
table has no row for the stage, or the instance has no reference plan — except the idle
lines (``headroom``, ``short_run.utilisation``): a disrupted instance's long run may use
them too, at the same price, so the long run is never tighter than the short run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.model.tracing import PSEUDO

if TYPE_CHECKING:
    from optimizer.model.core import ChainModel


@dataclass
class ShortRun:
    """The short-run limits of one instance against its reference plan (base ids)."""

    #: id, period, limit: most activity of each limited process (all its recipes)
    ramp: pd.DataFrame
    #: link, commodity, period, limit: most tonnes on a lane (0: shut, not qualified)
    lanes: pd.DataFrame
    #: link, commodity, period, from_site, ref, kappa: each contracted lane, its reference
    #: tonnes and the contracted share of its stage
    contracts: pd.DataFrame
    #: site, commodity, period, price, months: where a stock may be built for sale after
    #: the plan, the reference price there (USD/t of its period) and the months it is held
    resale: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(
            columns=["site", "commodity", "period", "price", "months"]
        )
    )
    #: id, period, extra, rent: plants whose capacity is their reference-year output, the
    #: share of it they may run above it in the short run (1 / utilisation - 1: idle lines
    #: restarted) and the reference plan's rent of their capacity, the price of doing so
    headroom: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["id", "period", "extra", "rent"])
    )


def short_run_sets(
    tables: dict[str, pd.DataFrame], sets, reference, *, long: bool = False
) -> ShortRun:
    """The limits of :class:`ShortRun` from the instance's tables, its (untraced) index
    sets and the reference :class:`~optimizer.model.reference.Baseline`.  With ``long``
    (the long run of an instance with a reference plan) only the idle lines
    (``headroom``): the long run may use them as the short run does, at the same price,
    without the ramp, lane, contract and resale limits."""
    sr = tables.get("short_run")
    empty = ShortRun(
        pd.DataFrame(columns=["id", "period", "limit"]),
        pd.DataFrame(columns=["link", "commodity", "period", "limit"]),
        pd.DataFrame(columns=["link", "commodity", "period", "from_site", "ref", "kappa"]),
    )
    if sr is None or sr.empty or reference is None:
        return empty
    stage_of_site = tables["sites"].set_index("id")["stage"]
    stage_of_com = tables["commodities"].set_index("id")["stage"]
    pro = tables["processes"]
    if long:
        empty.headroom = _headroom(sr, pro, stage_of_site, sets, reference)
        return empty
    ramp = sr.set_index("stage")["ramp"].astype(float)
    lane_ramp = sr.set_index("stage")["lane_ramp"].astype(float) if "lane_ramp" in sr else None
    kappa = sr.set_index("stage")["contract"].astype(float) if "contract" in sr else None

    # plants: every limited recipe of a process at a site of a stage with a ramp
    free = pro["short_run"].eq("free") if "short_run" in pro else pd.Series(False, pro.index)
    freed = set(pro.loc[free, "id"])  # a process with a free row is free
    plants = pro.loc[~pro["id"].isin(freed) & ~pro["id"].astype(str).str.startswith(PSEUDO)]
    plants = plants[["id", "site"]].drop_duplicates("id")
    plants = plants.assign(rho=plants["site"].map(stage_of_site).map(ramp)).dropna(subset=["rho"])
    act = reference.production.groupby(["process", "period"])["activity"].sum()
    r = plants.merge(pd.DataFrame({"period": sets.periods}), how="cross")
    ref = act.reindex(pd.MultiIndex.from_frame(r[["id", "period"]])).fillna(0.0)
    r["limit"] = (1.0 + r["rho"]) * ref.to_numpy()
    ramp_rows = r[["id", "period", "limit"]].reset_index(drop=True)

    # lanes: every (link, commodity) the model can carry (base commodity ids)
    lc = sets.link_commodities[["link", "from_site", "commodity"]]
    lc = lc.assign(
        commodity=_base(lc["commodity"], sets.labels.commodity if sets.labels else None)
    ).drop_duplicates()
    lc = lc.merge(pd.DataFrame({"period": sets.periods}), how="cross")
    flow = reference.flows.groupby(["link", "commodity", "period"])["quantity"].sum()
    lc["ref"] = (
        flow.reindex(pd.MultiIndex.from_frame(lc[["link", "commodity", "period"]]))
        .fillna(0.0)
        .to_numpy()
    )
    links = tables["links"].set_index("id")
    qualified = (
        links["qualified"].eq("yes") if "qualified" in links else pd.Series(False, links.index)
    )
    lc["qualified"] = lc["link"].map(qualified).fillna(False).astype(bool).to_numpy()
    lc["stage"] = lc["commodity"].map(stage_of_com)
    lam = lc["stage"].map(lane_ramp) if lane_ramp is not None else pd.Series(np.nan, lc.index)
    standard = set(sr.loc[sr.get("qualify", pd.Series("", sr.index)).eq("no"), "stage"])
    carried = lc["ref"] > 0
    limited = carried & lam.notna()
    shut = ~carried & ~lc["qualified"] & ~lc["stage"].isin(standard)
    lc["limit"] = np.where(limited, (1.0 + lam.fillna(0.0)) * lc["ref"], 0.0)
    lanes = lc.loc[limited | shut, ["link", "commodity", "period", "limit"]].reset_index(drop=True)

    # contracts: lanes that carried a commodity of a stage with a contracted share
    k = lc["stage"].map(kappa) if kappa is not None else pd.Series(np.nan, lc.index)
    c = lc.loc[carried & (k.fillna(0.0) > 0)].assign(kappa=k)
    contracts = c[["link", "commodity", "period", "from_site", "ref", "kappa"]]
    resale = _resale(sr, stage_of_com, sets, reference)
    headroom = _headroom(sr, pro, stage_of_site, sets, reference)
    return ShortRun(ramp_rows, lanes, contracts.reset_index(drop=True), resale, headroom)


def _headroom(sr, pro, stage_of_site, sets, reference) -> pd.DataFrame:
    """Every capacity-limited plant of a stage with a ``utilisation``: the share of its
    capacity it may run above it (``1/u - 1``) and, per period, its reference rent."""
    cols = ["id", "period", "extra", "rent"]
    if "utilisation" not in sr or sr["utilisation"].isna().all():
        return pd.DataFrame(columns=cols)
    u = sr.set_index("stage")["utilisation"].astype(float).dropna()
    site = pro.drop_duplicates("id").set_index("id")["site"]
    extra = (1.0 / site.map(stage_of_site).map(u) - 1.0).dropna()
    capped = sets.process_capacity.loc[sets.process_capacity["id"].isin(extra.index), "id"]
    h = pd.DataFrame({"id": capped.unique()}).merge(
        pd.DataFrame({"period": sets.periods}), how="cross"
    )
    h["extra"] = h["id"].map(extra).to_numpy(dtype=float)
    rent = reference.capacity_rent.set_index(["process", "period"])["shadow_price"]
    rent = rent[~rent.index.duplicated()]
    h["rent"] = (
        rent.reindex(pd.MultiIndex.from_frame(h[["id", "period"]])).fillna(0.0).clip(lower=0.0)
    ).to_numpy(dtype=float)
    return h[cols]


def _resale(sr: pd.DataFrame, stage_of_com: pd.Series, sets, reference) -> pd.DataFrame:
    """Every node of the reference plan holding a commodity of a stage with
    ``resale_months`` at a positive price in every period of the plan (a surplus
    co-product is not worth keeping), with its reference price per period and the
    months a stock built there is held after the plan."""
    cols = ["site", "commodity", "period", "price", "months"]
    if "resale_months" not in sr or sr["resale_months"].isna().all():
        return pd.DataFrame(columns=cols)
    months = sr.set_index("stage")["resale_months"].astype(float)
    pr = reference.prices
    pr = pr.loc[pr["period"].isin(sets.periods)]
    pr = pr.groupby(["site", "commodity", "period"], as_index=False)["marginal_cost"].max()
    pr = pr.assign(months=pr["commodity"].map(stage_of_com).map(months)).dropna(subset=["months"])
    pr = pr.rename(columns={"marginal_cost": "price"})
    node = pr.groupby(["site", "commodity"])["price"].agg(["min", "size"])
    keep = node.loc[(node["min"] > 0) & (node["size"] == len(sets.periods))].index
    idx = pd.MultiIndex.from_frame(pr[["site", "commodity"]])
    return pr.loc[idx.isin(keep), cols].reset_index(drop=True)


def _base(ids: pd.Series, mapping: dict | None) -> np.ndarray:
    """Model ids (possibly ``x@label``) without their origin label."""
    if mapping is None:
        return ids.to_numpy(dtype=object)
    return np.asarray([mapping.get(x, (x, ""))[0] for x in ids], dtype=object)


def add_ramp_limits(cm: ChainModel) -> None:
    """Rows ``short_run_ramp[id, period]``: a plant's activity, all its recipes together."""
    sr = cm.sets.short_run
    if sr is None or sr.ramp.empty:
        return
    act = cm.var_keys["act"]
    keys = pd.DataFrame(
        {"id": act["id"].to_numpy(), "period": act["period"].to_numpy(), "var": np.arange(len(act))}
    )
    rows = sr.ramp.reset_index(drop=True)
    m = keys.merge(rows.reset_index().rename(columns={"index": "row"}), on=["id", "period"])
    cm.add_rows(
        "short_run_ramp",
        rows[["id", "period"]],
        [("act", m["var"].to_numpy(), m["row"].to_numpy(), np.ones(len(m)))],
        "<=",
        rows["limit"].to_numpy(dtype=float),
        doc="activity of a plant (all its recipes) <= (1 + ramp) x its reference (short run)",
    )


def _flow_keys(cm: ChainModel) -> pd.DataFrame:
    f = cm.flow_terms
    labels = cm.sets.labels
    return pd.DataFrame(
        {
            "link": f["link"].to_numpy(),
            "commodity": _base(f["commodity"], labels.commodity if labels else None),
            "period": f["period"].to_numpy(),
            "from_site": f["from_site"].to_numpy(),
            "var": np.arange(len(f)),
        }
    )


def add_lane_limits(cm: ChainModel) -> None:
    """Rows ``short_run_lane[link, commodity, period]``."""
    sr = cm.sets.short_run
    if sr is None or sr.lanes.empty:
        return
    keys = _flow_keys(cm)
    rows = sr.lanes.reset_index(drop=True)
    m = keys.merge(
        rows.reset_index().rename(columns={"index": "row"}), on=["link", "commodity", "period"]
    )
    cm.add_rows(
        "short_run_lane",
        rows[["link", "commodity", "period"]],
        [("flow", m["var"].to_numpy(), m["row"].to_numpy(), np.ones(len(m)))],
        "<=",
        rows["limit"].to_numpy(dtype=float),
        doc="tonnes on a lane <= (1 + lane_ramp) x reference; 0 if unqualified (short run)",
    )


def add_resale(cm: ChainModel) -> None:
    """Variables ``resale[site, commodity, period]``: tonnes held at the end of each period
    for sale after the plan — carried into the next period (each month held costs the
    carrying rate of the reference price), each tonne held at the end of the last period
    worth its reference price less the carrying over ``resale_months`` (a negative cost);
    all under the cost group ``resale``."""
    sr = cm.sets.short_run
    if sr is None or sr.resale.empty:
        return
    s = cm.sets
    b = cm.balance_index
    labels = s.labels
    keys = pd.DataFrame(
        {
            "site": b["site"].to_numpy(),
            "base": _base(b["commodity"], labels.commodity if labels else None),
            "commodity": b["commodity"].to_numpy(),
            "period": b["period"].to_numpy(),
            "row": np.arange(len(b)),
        }
    )
    m = keys.merge(
        sr.resale.rename(columns={"commodity": "base"}), on=["site", "base", "period"]
    ).reset_index(drop=True)
    if m.empty:
        return
    n = len(m)
    cm.add_var(
        "resale",
        m[["site", "commodity", "period"]],
        doc="tonnes held at the end of the period for sale after the plan",
    )
    price = m["price"].to_numpy(dtype=float)
    w = m["period"].map(s.weights).to_numpy(dtype=float)
    last = (m["period"] == s.periods[-1]).to_numpy()
    held = m["period"].map(s.lengths).to_numpy(dtype=float) * 12.0  # months of the period
    r = s.carrying_rate
    cost = np.where(last, -price * (1.0 - r * m["months"].to_numpy(dtype=float)), r * price * held)
    cm.add_cost("resale", np.arange(n), cost * w, "resale")
    cm.balance_terms.append(("resale", np.arange(n), m["row"].to_numpy(), -np.ones(n)))
    nxt = {p: q for p, q in zip(s.periods, s.periods[1:], strict=False)}
    carry = ~last
    if carry.any():
        d_next = m.loc[carry, ["site", "commodity"]].assign(
            period=m.loc[carry, "period"].map(nxt).to_numpy()
        )
        rows = d_next.merge(keys, on=["site", "commodity", "period"], how="left")["row"]
        cm.balance_terms.append(
            (
                "resale",
                np.flatnonzero(carry),
                rows.to_numpy(dtype=np.int64),
                np.ones(int(carry.sum())),
            )
        )


def add_contracts(cm: ChainModel) -> None:
    """Rows ``short_run_contract[link, commodity, period]``.

    The pool of a supplier is every lane that can take the commodity out of its site —
    the reference customers and any new ones (qualified lanes) — except lanes a policy
    restricts (``cm.restricted_flows``: a licensed export keeps its licence as its
    limit).  Added after the plug-ins for that reason.
    """
    sr = cm.sets.short_run
    if sr is None or sr.contracts.empty:
        return
    keys = _flow_keys(cm)
    if cm.restricted_flows is not None:
        keys = keys.loc[~cm.restricted_flows]
    lane = ["link", "commodity", "period"]
    pool = ["from_site", "commodity", "period"]
    con = sr.contracts.merge(keys[lane].drop_duplicates(), on=lane)  # unrestricted ones
    lanes_in_pool = keys.drop_duplicates(lane).groupby(pool)["link"].size().rename("n")
    con = con.merge(lanes_in_pool.reset_index(), on=pool)
    con = con.loc[con["n"] >= 2].reset_index(drop=True)
    if con.empty:
        return
    # each lane's floor: kappa x its share of the reference tonnes x the pool's flow
    share = con["kappa"] * con["ref"] / con.groupby(pool)["ref"].transform("sum")
    rows = con.assign(share=share).reset_index().rename(columns={"index": "row"})
    own = keys.merge(rows[[*lane, "row"]], on=lane)
    pooled = keys.merge(rows[[*pool, "row", "share"]], on=pool)
    cm.add_rows(
        "short_run_contract",
        rows[lane],
        [
            ("flow", own["var"].to_numpy(), own["row"].to_numpy(), np.ones(len(own))),
            (
                "flow",
                pooled["var"].to_numpy(),
                pooled["row"].to_numpy(),
                -pooled["share"].to_numpy(dtype=float),
            ),
        ],
        ">=",
        np.zeros(len(rows)),
        doc="a contracted lane gets >= kappa x its reference share of what the supplier ships",
    )
