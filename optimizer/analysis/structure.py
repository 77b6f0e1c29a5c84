"""Pre-solve structure checks on the chain as a directed graph.

Nodes are (site, commodity) pairs; edges are recipe steps inside a site
(each input to each output of a recipe) and links between sites (only for
commodities the link can carry, see :mod:`optimizer.model.sets`).  A super-source
feeds every extraction recipe (no inputs) and every stock; a super-sink is fed
by every demand.  Two graph searches answer both questions, whatever the size:
:func:`check` runs them on the edge list with numpy (no networkx to import on
every ``load``); :func:`chain_graph` gives the same graph as a networkx ``DiGraph``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import networkx as nx

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


def _edges(inst: Instance, sets: IndexSets | None = None) -> tuple[list[tuple], list[tuple]]:
    """(tails, heads) of the chain's edges, as (site, commodity) nodes, SOURCE and SINK."""
    from optimizer.model.sets import build_sets

    s = sets if sets is not None else build_sets(inst)
    tails: list[tuple] = []
    heads: list[tuple] = []
    mc = s.mode_coefs
    ins = mc.loc[mc["coef"] < 0, ["id", "recipe", "site", "commodity"]]
    outs = mc.loc[mc["coef"] > 0, ["id", "recipe", "site", "commodity"]]
    steps = ins.merge(outs, on=["id", "recipe", "site"], suffixes=("_in", "_out")).drop_duplicates(
        ["site", "commodity_in", "commodity_out"]
    )
    tails += _pairs(steps, "site", "commodity_in")
    heads += _pairs(steps, "site", "commodity_out")
    has_input = ins[["id", "recipe"]].drop_duplicates()
    extraction = outs.merge(has_input, on=["id", "recipe"], how="left", indicator=True)
    extraction = extraction.loc[extraction["_merge"] == "left_only"]
    stocked = s.storage.loc[s.storage["initial"] > 0]
    for n in _pairs(extraction, "site") + _pairs(stocked, "site"):
        tails.append(SOURCE)
        heads.append(n)
    lc = s.link_commodities[["from_site", "to_site", "commodity"]].drop_duplicates()
    tails += _pairs(lc, "from_site")
    heads += _pairs(lc, "to_site")
    for n in _pairs(s.demand, "market"):
        tails.append(n)
        heads.append(SINK)
    return tails, heads


def chain_graph(inst: Instance, sets: IndexSets | None = None) -> nx.DiGraph:
    """The chain as a directed graph of (site, commodity) nodes, with SOURCE and SINK."""
    import networkx as nx

    g = nx.DiGraph()
    g.add_node(SOURCE)
    g.add_node(SINK)
    g.add_edges_from(zip(*_edges(inst, sets), strict=True))
    return g


def adjacency(tail: np.ndarray, head: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The edges ``tail -> head`` of a graph on nodes ``0..n-1`` in CSR form: (first, succ),
    the successors of node i being ``succ[first[i]:first[i + 1]]``."""
    order = np.argsort(tail, kind="stable")
    return np.searchsorted(tail[order], np.arange(n + 1)), np.asarray(head)[order]


def reachable(start: int, adj: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Nodes reachable from ``start`` in the graph ``adj`` (:func:`adjacency`), ``start``
    included, as a boolean mask (breadth first, one numpy step per level)."""
    first, succ = adj
    seen = np.zeros(len(first) - 1, dtype=bool)
    seen[start] = True
    frontier = np.array([start])
    while len(frontier):
        lo, count = first[frontier], first[frontier + 1] - first[frontier]
        # the successors of every frontier node: the CSR ranges [lo, lo + count) at once
        idx = np.arange(count.sum()) + np.repeat(lo - (np.cumsum(count) - count), count)
        cand = succ[idx]
        frontier = np.unique(cand[~seen[cand]])
        seen[frontier] = True
    return seen


def check(inst: Instance, sets: IndexSets | None = None) -> list[str]:
    """Warnings: demand no mine or stock can reach, and sites whose output reaches no market."""
    tails, heads = _edges(inst, sets)
    codes, nodes = pd.factorize(pd.Series(tails + heads + [SOURCE, SINK], dtype=object))
    m, n = len(tails), len(nodes)
    tail, head = codes[:m], codes[m : 2 * m]
    src, snk = codes[-2], codes[-1]
    down = reachable(src, adjacency(tail, head, n))
    up = reachable(snk, adjacency(head, tail, n))
    reach = {nodes[i] for i in np.flatnonzero(down) if i != src}
    feeds_market = {nodes[i] for i in np.flatnonzero(up) if i != snk}
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
