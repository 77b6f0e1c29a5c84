"""Pre-solve structure checks on the chain as a networkx graph.

Nodes are (site, commodity) pairs; edges are recipe steps inside a site
(each input to each output) and links between sites.  A super-source feeds
every extraction recipe (no inputs) and every stock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    from optimizer.instance import Instance

SOURCE = ("__source__", "")


def chain_graph(inst: Instance) -> nx.DiGraph:
    """The chain as a directed graph of (site, commodity) nodes."""
    from optimizer.sets import build_sets

    s = build_sets(inst)
    g = nx.DiGraph()
    g.add_node(SOURCE)
    mc = s.mode_coefs
    for (pid, _recipe), grp in mc.groupby(["id", "recipe"], sort=False):
        site = grp["site"].iloc[0]
        ins = grp.loc[grp["coef"] < 0, "commodity"].tolist()
        outs = grp.loc[grp["coef"] > 0, "commodity"].tolist()
        for o in outs:
            g.add_node((site, o))
            if not ins:
                g.add_edge(SOURCE, (site, o), kind="extraction", process=pid)
            for i in ins:
                g.add_edge((site, i), (site, o), kind="recipe", process=pid)
    for r in s.storage.itertuples(index=False):
        if r.initial > 0:
            g.add_edge(SOURCE, (r.site, r.commodity), kind="stock")
    for r in s.link_commodities.itertuples(index=False):
        g.add_edge((r.from_site, r.commodity), (r.to_site, r.commodity), kind="link", link=r.link)
    for r in s.demand.itertuples(index=False):
        g.add_node((r.market, r.commodity))
    return g


def check(inst: Instance) -> list[str]:
    """Warnings: demand no mine can reach, and sites whose output reaches no market."""
    g = chain_graph(inst)
    reach = nx.descendants(g, SOURCE)
    warnings: list[str] = []
    dem = inst.tables["demand"]
    dem = dem.loc[dem["quantity"] > 0]
    unreachable = sorted(
        {
            (m, c)
            for m, c in zip(dem["market"], dem["commodity"], strict=True)
            if (m, c) not in reach
        }
    )
    for m, c in unreachable:
        warnings.append(
            f"unreachable demand: no mine or stock can supply {c} to market {m}; it will be unmet"
        )
    demand_nodes = {(m, c) for m, c in zip(dem["market"], dem["commodity"], strict=True)}
    if demand_nodes:
        rev = g.reverse(copy=False)
        useful: set = set()
        for n in demand_nodes:
            if n in rev:
                useful.add(n)
                useful |= nx.descendants(rev, n)
        useful_sites = {n[0] for n in useful}
        sites = inst.tables["sites"]
        for sid, stage in zip(sites["id"], sites["stage"], strict=True):
            if stage != "market" and sid not in useful_sites:
                warnings.append(
                    f"dead-end site: nothing made at {sid} can reach a market with demand"
                )
    return warnings
