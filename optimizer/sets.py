"""Sparse index sets of the LP, computed once with pandas.

Variables exist only where a flow or process can exist: a link carries a
commodity only if its origin can ever have it and its destination can ever use
it (computed as a forward/backward closure over the links, so relay hubs
work).  Everything here is vectorised; no Python loop runs per variable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.instance import Instance


@dataclass
class IndexSets:
    """The sparse sets and coefficient tables the model is built from."""

    periods: list[int]
    weights: dict[int, float]  # objective weight (discount factor) per period
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


def _closure(pairs: pd.DataFrame, lc: pd.DataFrame, src: str, dst: str) -> pd.DataFrame:
    """Propagate (site, commodity) pairs along link-commodity edges src -> dst to a fixpoint."""
    cur = pairs.drop_duplicates()
    edges = lc[[src, dst, "commodity"]].drop_duplicates()
    while True:
        step = edges.merge(cur, left_on=[src, "commodity"], right_on=["site", "commodity"])
        new = pd.DataFrame(
            {"site": step[dst].to_numpy(), "commodity": step["commodity"].to_numpy()}
        )
        nxt = pd.concat([cur, new], ignore_index=True).drop_duplicates()
        if len(nxt) == len(cur):
            return cur
        cur = nxt


def build_sets(inst: Instance) -> IndexSets:
    """Compute every sparse index set of the LP for ``inst``."""
    t = inst.tables
    m = inst.manifest
    periods = list(m.periods)
    r = m.defaults.discount_rate
    weights = {p: float((1.0 + r) ** -(p - m.base_year)) if r else 1.0 for p in periods}

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

    # Expand link commodity names (id, group or *) into one row per commodity.
    links = t["links"]
    all_com = list(t["commodities"]["id"])
    names = links["commodity"].unique()
    expansion = pd.DataFrame(
        [(n, c) for n in names for c in inst.commodities_of(n)], columns=["name", "commodity"]
    )
    if expansion.empty:
        expansion = pd.DataFrame(columns=["name", "commodity"])
    lc = links[["id", "from_site", "to_site", "commodity", "cost"]].rename(
        columns={"commodity": "name"}
    )
    lc = lc.merge(expansion, on="name").drop(columns="name")
    del all_com

    avail = _closure(pd.concat([produced, stocked], ignore_index=True), lc, "from_site", "to_site")
    want = _closure(pd.concat([consumed, demanded], ignore_index=True), lc, "to_site", "from_site")
    lc = lc.merge(avail, left_on=["from_site", "commodity"], right_on=["site", "commodity"]).drop(
        columns="site"
    )
    lc = lc.merge(want, left_on=["to_site", "commodity"], right_on=["site", "commodity"]).drop(
        columns="site"
    )
    lc = lc.rename(columns={"id": "link"}).reset_index(drop=True)

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
            "period": dem["period"].astype(int),
            "quantity": dem["quantity"].astype(float),
            "penalty": penalty.astype(float),
        }
    )
    demand = demand.loc[demand["quantity"] > 0].reset_index(drop=True)

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

    return IndexSets(
        periods=periods,
        weights=weights,
        modes=modes,
        process_capacity=cap,
        mode_coefs=mode_coefs,
        link_commodities=lc,
        link_capacity=lcap,
        nodes=nodes,
        demand=demand,
        disposal=disposal,
        storage=storage,
    )
