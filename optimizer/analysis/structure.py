"""Pre-solve structure checks on the chain as a networkx graph.

Nodes are (site, commodity) pairs; edges are recipe steps inside a site
(each input to each output of a recipe) and links between sites (only for
commodities the link can carry, see :mod:`optimizer.model.sets`).  A super-source
feeds every extraction recipe (no inputs) and every stock; a super-sink is fed
by every demand.  Two graph searches answer both questions, whatever the size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import networkx as nx
import pandas as pd

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.model.sets import IndexSets

SOURCE = ("__source__", "")
SINK = ("__sink__", "")


def _pairs(df: pd.DataFrame, site: str, com: str = "commodity") -> list[tuple]:
    return list(
        zip(
            df[site].to_numpy(dtype=object).tolist(),
            df[com].to_numpy(dtype=object).tolist(),
            strict=True,
        )
    )


def chain_graph(inst: Instance, sets: IndexSets | None = None) -> nx.DiGraph:
    """The chain as a directed graph of (site, commodity) nodes, with SOURCE and SINK."""
    from optimizer.model.sets import build_sets

    s = sets if sets is not None else build_sets(inst)
    g = nx.DiGraph()
    g.add_node(SOURCE)
    g.add_node(SINK)
    mc = s.mode_coefs
    ins = mc.loc[mc["coef"] < 0, ["id", "recipe", "site", "commodity"]]
    outs = mc.loc[mc["coef"] > 0, ["id", "recipe", "site", "commodity"]]
    steps = ins.merge(outs, on=["id", "recipe", "site"], suffixes=("_in", "_out")).drop_duplicates(
        ["site", "commodity_in", "commodity_out"]
    )
    g.add_edges_from(
        zip(
            _pairs(steps, "site", "commodity_in"),
            _pairs(steps, "site", "commodity_out"),
            strict=True,
        )
    )
    has_input = ins[["id", "recipe"]].drop_duplicates()
    extraction = outs.merge(has_input, on=["id", "recipe"], how="left", indicator=True)
    extraction = extraction.loc[extraction["_merge"] == "left_only"]
    g.add_edges_from((SOURCE, n) for n in _pairs(extraction, "site"))
    stocked = s.storage.loc[s.storage["initial"] > 0]
    g.add_edges_from((SOURCE, n) for n in _pairs(stocked, "site"))
    lc = s.link_commodities[["from_site", "to_site", "commodity"]].drop_duplicates()
    g.add_edges_from(zip(_pairs(lc, "from_site"), _pairs(lc, "to_site"), strict=True))
    g.add_edges_from((n, SINK) for n in _pairs(s.demand, "market"))
    return g


def check(inst: Instance, sets: IndexSets | None = None) -> list[str]:
    """Warnings: demand no mine or stock can reach, and sites whose output reaches no market."""
    g = chain_graph(inst, sets)
    reach = nx.descendants(g, SOURCE)
    feeds_market = nx.ancestors(g, SINK)
    warnings: list[str] = []
    dem = inst.tables["demand"]
    dem = dem.loc[dem["quantity"] > 0]
    unreachable = sorted({n for n in _pairs(dem, "market") if n not in reach})
    for m, c in unreachable:
        warnings.append(
            f"unreachable demand: no mine or stock can supply {c} to market {m}; it will be unmet"
        )
    if len(dem):
        useful_sites = {n[0] for n in feeds_market}
        sites = inst.tables["sites"]
        for sid, stage in zip(sites["id"], sites["stage"], strict=True):
            if stage != "market" and sid not in useful_sites:
                warnings.append(
                    f"dead-end site: nothing made at {sid} can reach a market with demand"
                )
    return warnings
