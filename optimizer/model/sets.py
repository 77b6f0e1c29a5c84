"""Sparse index sets of the LP, computed once with pandas.

Variables exist only where a flow or process can exist: a link carries a
commodity only if its origin can ever have it and its destination can ever use
it (computed as a forward/backward closure over the links, so relay hubs
work).  Everything here is vectorised; no Python loop runs per variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.data import periods as P
from optimizer.data.instance import Instance
from optimizer.model import curves
from optimizer.model.reference import Baseline
from optimizer.model.shortrun import ShortRun, short_run_sets
from optimizer.model.tracing import Labels, lift, lifted_id
from optimizer.model.transit import transit_lags


@dataclass
class IndexSets:
    """The sparse sets and coefficient tables the model is built from."""

    periods: list  # period ids: years (int) or months ("YYYY-MM"), optimizer/data/periods.py
    weights: dict  # objective weight (discount factor) per period
    #: length of each period in years (1, or 1/12 for a month): per-year figures x length
    lengths: dict
    #: process modes: id, site, recipe, cost
    modes: pd.DataFrame
    #: process capacity per id: id, site, capacity (finite only)
    process_capacity: pd.DataFrame
    #: recipe coefficients joined to modes: id, recipe, site, commodity, coef (+out / -in)
    mode_coefs: pd.DataFrame
    #: link x commodity actually carried: link, from_site, to_site, commodity, cost
    link_commodities: pd.DataFrame
    #: link capacity: id, capacity (finite only)
    link_capacity: pd.DataFrame
    #: nodes (site, commodity) that get a balance row in every period
    nodes: pd.DataFrame
    #: demand with quantity > 0: market, commodity, period, quantity, penalty
    demand: pd.DataFrame
    #: disposal allowed: site, commodity, cost
    disposal: pd.DataFrame
    #: inventory nodes: site, commodity, cost, initial
    storage: pd.DataFrame
    #: capacity projects: id, process, capacity, capex, in_service (first period), committed
    expansions: pd.DataFrame
    #: safety stocks (``stocks.keep_cost``): site, commodity, level, keep_cost
    safety: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["site", "commodity", "level", "keep_cost"])
    )
    #: share of keep_cost a tonne below a safety level costs per month
    safety_rate: float = 0.0
    #: share of keep_cost holding a tonne of safety stock costs per month
    carrying_rate: float = 0.0
    #: link, lag in months (monthly instances with ``links.transit_days``; empty otherwise)
    transit: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["link", "lag"]))
    #: factor on the value of serving demand per period (rolling plans: an order met now
    #: is worth more than one met later, so stocks are drawn before lines stop); empty: 1
    urgency: dict = field(default_factory=dict)
    #: arrivals from shipments made before the first period (site, commodity, period,
    #: quantity), when the caller knows them (rolling decisions); None: the months wrap round
    arrivals: pd.DataFrame | None = None
    #: origin labels when the instance is traced (commodity and recipe ids are lifted)
    labels: Labels | None = None
    #: short-run limits against the reference plan (``horizon: short``; None: long run)
    short_run: ShortRun | None = None
    #: shortage segments of the demand rows a curve matches (:mod:`optimizer.model.curves`):
    #: market, commodity, period, segment, size, price
    shortage_segments: pd.DataFrame | None = None
    #: extra demand below the reference price, same columns
    extra_segments: pd.DataFrame | None = None


def _carried(
    sites: pd.Index,
    coms: pd.Index,
    links: pd.DataFrame,
    member: np.ndarray,
    name_idx: np.ndarray,
    have: pd.DataFrame,
    need: pd.DataFrame,
) -> tuple[np.ndarray, np.ndarray]:
    """(link row, commodity code) pairs a link actually carries.

    ``avail[s, c]``: site ``s`` can ever have ``c`` (made, stocked, or received);
    ``want[s, c]``: site ``s`` can ever use ``c`` (consumed, demanded, or passed
    on).  Both are closures over the links, computed on dense boolean
    site × commodity matrices (one vectorised step per chain depth).
    """
    ns, nc = len(sites), len(coms)
    a = sites.get_indexer(links["from_site"])
    b = sites.get_indexer(links["to_site"])
    avail = np.zeros((ns, nc), dtype=bool)
    avail[sites.get_indexer(have["site"]), coms.get_indexer(have["commodity"])] = True
    want = np.zeros((ns, nc), dtype=bool)
    want[sites.get_indexer(need["site"]), coms.get_indexer(need["commodity"])] = True
    mem = member[name_idx]  # links x commodities
    for grid, src, dst in ((avail, a, b), (want, b, a)):
        order = np.argsort(dst, kind="stable")
        s_src, s_dst, s_mem = src[order], dst[order], mem[order]
        starts = (
            np.flatnonzero(np.r_[True, s_dst[1:] != s_dst[:-1]])
            if len(s_dst)
            else np.zeros(0, dtype=np.int64)
        )
        targets = s_dst[starts]
        while len(starts):
            before = int(grid.sum())
            grid[targets] |= np.logical_or.reduceat(grid[s_src] & s_mem, starts, axis=0)
            if int(grid.sum()) == before:
                break
    li, ci = np.nonzero(avail[a] & mem & want[b])
    return li, ci


def build_sets(inst: Instance, reference: Baseline | None = None) -> IndexSets:
    """Compute every sparse index set of the LP for ``inst``.

    With a ``reference`` plan, the short-run limits against it too
    (:mod:`optimizer.model.shortrun`): all of them with ``inst.horizon == "short"``, the
    idle lines alone in the long run.
    """
    sets = _build_sets(inst)
    if reference is not None:
        sets.short_run = short_run_sets(inst.tables, sets, reference, long=inst.horizon != "short")
    return sets


def _build_sets(inst: Instance) -> IndexSets:
    labels = None
    if inst.origins:
        inst, labels = lift(inst)
    t = inst.tables
    m = inst.manifest
    periods = list(m.periods)
    r = m.defaults.discount_rate
    weights = {p: float((1.0 + r) ** -(P.start(p) - m.base_year)) if r else 1.0 for p in periods}
    lengths = {p: P.length(p) for p in periods}

    pro = t["processes"]
    modes = pro[["id", "site", "recipe", "cost"]].reset_index(drop=True)
    cap = (
        pro.groupby("id", sort=False)
        .agg(site=("site", "first"), capacity=("capacity", "max"))
        .reset_index()
    )
    cap = cap.loc[cap["capacity"].notna()].reset_index(drop=True)

    rec = t["recipes"]
    coef = np.where(rec["direction"].to_numpy() == "output", 1.0, -1.0) * rec["amount"].to_numpy(
        dtype=float
    )
    rec = pd.DataFrame({"recipe": rec["recipe"], "commodity": rec["commodity"], "coef": coef})
    mode_coefs = modes[["id", "recipe", "site"]].merge(rec, on="recipe")

    produced = mode_coefs.loc[mode_coefs["coef"] > 0, ["site", "commodity"]].drop_duplicates()
    consumed = mode_coefs.loc[mode_coefs["coef"] < 0, ["site", "commodity"]].drop_duplicates()
    dem = t["demand"]
    demanded = dem[["market", "commodity"]].rename(columns={"market": "site"}).drop_duplicates()
    stocks = inst.stocks
    stocked = stocks[["site", "commodity"]].drop_duplicates()

    # Which commodities each link carries (its id, group or *, as far as the chain allows).
    links = t["links"].reset_index(drop=True)
    sites = pd.Index(t["sites"]["id"])
    coms = pd.Index(t["commodities"]["id"])
    names = pd.Index(links["commodity"].unique())
    member = np.zeros((len(names), len(coms)), dtype=bool)
    for i, n in enumerate(names):
        ids = inst.commodities_of(n)
        if labels is not None and n != "*":
            ids = ids + [lifted_id(c, lab) for c in ids for lab in labels.sets]
        member[i, coms.get_indexer(ids)] = True
    li, ci = _carried(
        sites,
        coms,
        links,
        member,
        names.get_indexer(links["commodity"]),
        pd.concat([produced, stocked], ignore_index=True),
        pd.concat([consumed, demanded], ignore_index=True),
    )
    lc = pd.DataFrame(
        {
            "link": links["id"].to_numpy()[li],
            "from_site": links["from_site"].to_numpy()[li],
            "to_site": links["to_site"].to_numpy()[li],
            "cost": links["cost"].to_numpy(dtype=float)[li],
            "commodity": coms.to_numpy()[ci],
        }
    )

    lcap = links.loc[links["capacity"].notna(), ["id", "capacity"]]
    lcap = lcap.loc[lcap["id"].isin(lc["link"])].reset_index(drop=True)

    nodes = (
        pd.concat(
            [
                produced,
                consumed,
                demanded,
                stocked,
                lc[["from_site", "commodity"]].rename(columns={"from_site": "site"}),
                lc[["to_site", "commodity"]].rename(columns={"to_site": "site"}),
            ],
            ignore_index=True,
        )
        .drop_duplicates()
        .reset_index(drop=True)
    )

    penalty = dem["shortage_penalty"].fillna(m.defaults.shortage_penalty)
    demand = pd.DataFrame(
        {
            "market": dem["market"],
            "commodity": dem["commodity"],
            "period": P.tidy(dem["period"]).to_numpy(),
            "quantity": dem["quantity"].astype(float),
            "penalty": penalty.astype(float),
        }
    )
    demand = demand.loc[demand["quantity"] > 0].reset_index(drop=True)
    shortage_segments, extra_segments = curves.segments(inst, demand)

    com = t["commodities"].set_index("id")
    disp = pd.concat([produced, stocked], ignore_index=True).drop_duplicates()
    disp["cost"] = disp["commodity"].map(com["disposal_cost"])
    disposal = disp.loc[disp["cost"].notna()].reset_index(drop=True)

    store = stocked.copy()
    if len(periods) > 1:
        storable = nodes.loc[nodes["commodity"].map(com["storage_cost"]).notna()]
        store = pd.concat([store, storable], ignore_index=True).drop_duplicates()
    store["cost"] = store["commodity"].map(com["storage_cost"]).fillna(0.0).astype(float)
    init = stocks.groupby(["site", "commodity"])["quantity"].sum()
    store = store.merge(init.rename("initial").reset_index(), on=["site", "commodity"], how="left")
    store["initial"] = store["initial"].fillna(0.0)
    storage = store.reset_index(drop=True)
    safety = pd.DataFrame(columns=["site", "commodity", "level", "keep_cost"])
    if "keep_cost" in stocks and stocks["keep_cost"].notna().any():
        kept = stocks.loc[stocks["keep_cost"].notna()]
        level = kept["level"] if "level" in kept else kept["quantity"]
        safety = (
            pd.DataFrame(
                {
                    "site": kept["site"].to_numpy(),
                    "commodity": kept["commodity"].to_numpy(),
                    "level": level.astype(float).to_numpy(),
                    "keep_cost": kept["keep_cost"].astype(float).to_numpy(),
                }
            )
            .groupby(["site", "commodity"], as_index=False)
            .agg(level=("level", "sum"), keep_cost=("keep_cost", "max"))
        )
        safety = safety.loc[safety["level"] > 0].reset_index(drop=True)
    lags = transit_lags(inst)
    transit = pd.DataFrame({"link": lags.index.to_numpy(), "lag": lags.to_numpy()})

    ex = inst.expansions
    ready = (
        (ex["earliest"].map(P.start) + ex["lead_time"].fillna(0).astype(float)).to_numpy()
        if len(ex)
        else np.zeros(0)
    )
    in_service = [next((p for p in periods if P.start(p) >= r - 1e-9), None) for r in ready]
    expansions = pd.DataFrame(
        {
            "id": ex["id"].to_numpy(dtype=object),
            "process": ex["process"].to_numpy(dtype=object),
            "capacity": ex["capacity"].to_numpy(dtype=float),
            "capex": ex["capex"].to_numpy(dtype=float),
            "in_service": in_service,
            "committed": (ex["committed"] == "yes").to_numpy()
            if len(ex)
            else np.zeros(0, dtype=bool),
        }
    )
    expansions = expansions.loc[expansions["in_service"].notna()].reset_index(drop=True)
    expansions["in_service"] = P.tidy(expansions["in_service"])

    return IndexSets(
        periods=periods,
        weights=weights,
        lengths=lengths,
        modes=modes,
        process_capacity=cap,
        mode_coefs=mode_coefs,
        link_commodities=lc,
        link_capacity=lcap,
        nodes=nodes,
        demand=demand,
        disposal=disposal,
        storage=storage,
        expansions=expansions,
        safety=safety,
        safety_rate=float(m.defaults.safety_stock_rate),
        carrying_rate=float(m.defaults.carrying_rate),
        transit=transit,
        arrivals=inst.arrivals,
        urgency={p: (1.0 + inst.urgency) ** -i for i, p in enumerate(periods)}
        if inst.urgency
        else {},
        labels=labels,
        shortage_segments=shortage_segments,
        extra_segments=extra_segments,
    )
