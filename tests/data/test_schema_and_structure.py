"""The schema document is current; structure checks find what they should."""

from __future__ import annotations

from optimizer import load
from optimizer.data.schema import updated_doc
from tests.conftest import ROOT
from tests.mutations import append_line, set_cell


def test_instance_format_doc_is_generated_from_schema():
    doc = (ROOT / "docs" / "instance-format.md").read_text()
    assert doc == updated_doc(doc), "run: python -m optimizer.data.schema docs/instance-format.md"


def test_tiny_has_no_structure_warnings():
    assert load(ROOT / "instances" / "tiny").warnings == []


def test_unreachable_demand_and_dead_end_are_named(tiny_copy):
    # cut the only lane into the US market, and add a mine whose ore nobody can use
    set_cell("links.csv", 7, "to_site", "market_eu")(tiny_copy)  # magnets_to_us now goes to EU
    set_cell("links.csv", 7, "id", "magnets_to_eu_2")(tiny_copy)
    append_line("sites.csv", "mine_x,Lonely mine,AU,mine,X,-28,122,,illustrative")(tiny_copy)
    append_line("commodities.csv", "ore_x,Ore X,mine,t REO,,,,")(tiny_copy)
    append_line("recipes.csv", "mine_x_recipe,ore_x,output,1,illustrative")(tiny_copy)
    append_line("processes.csv", "mine_x,mine_x,mine_x_recipe,10,1,illustrative")(tiny_copy)
    inst = load(tiny_copy)
    text = "\n".join(inst.warnings)
    assert "unreachable demand: no mine or stock can supply magnet_ht to market market_us" in text
    assert "dead-end site: nothing made at mine_x can reach a market" in text
    res = inst.solve()
    assert (
        res.shortages.set_index(["market", "commodity"])["unmet"]["market_us", "magnet_ht"] == 100
    )


def _networkx_reach(inst):
    """The two searches of the checks, by networkx on :func:`chain_graph`."""
    import networkx as nx

    from optimizer.analysis.structure import SINK, SOURCE, chain_graph

    g = chain_graph(inst)
    return nx.descendants(g, SOURCE), nx.ancestors(g, SINK)


def test_numpy_searches_agree_with_networkx_on_every_instance(tiny_copy):
    import numpy as np
    import pandas as pd

    from optimizer.analysis import structure

    # tiny with an unreachable market and a dead end (so both searches leave nodes out)
    set_cell("links.csv", 7, "to_site", "market_eu")(tiny_copy)
    set_cell("links.csv", 7, "id", "magnets_to_eu_2")(tiny_copy)
    folders = [tiny_copy] + sorted(p for p in (ROOT / "instances").iterdir() if p.is_dir())
    for folder in folders:
        inst = load(folder, structure_checks=False)
        down, up = _networkx_reach(inst)
        tails, heads = structure._edges(inst)
        codes, nodes = pd.factorize(pd.Series(tails + heads, dtype=object))
        m = len(tails)
        src = nodes.get_loc(structure.SOURCE)
        snk = nodes.get_loc(structure.SINK)
        mine = {
            nodes[i]
            for i in np.flatnonzero(
                structure.reachable(src, structure.adjacency(codes[:m], codes[m:], len(nodes)))
            )
        }
        assert mine - {structure.SOURCE} == down, folder.name
        back = structure.reachable(snk, structure.adjacency(codes[m:], codes[:m], len(nodes)))
        assert {nodes[i] for i in np.flatnonzero(back)} - {structure.SINK} == up, folder.name
        if folder == tiny_copy:  # the cut lane leaves the US market's magnets unreached
            assert ("market_us", "magnet_ht") in set(nodes) - down
