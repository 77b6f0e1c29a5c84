r"""Structural chokepoints: the min-cut between every source and each market.

For a market *m* demanding commodity *d* in a period, :func:`mincut` answers:
**at most how many tonnes of d per period could the structure of the chain —
plant and lane capacities, recipe yields, initial stocks — deliver to m, and
which capacities limit it?**  Costs, policies and the other markets are
ignored, so the LP can never serve m more than this (``served <= min_cut``).
``docs/analysis.md`` ("Min-cut") has the definition and a worked example.

Recipes convert units and co-produce, so the chain is not a flow network.  It
becomes one by measuring material in **tonnes of d** ("d-equivalents") and by
following one *key input* through the chain (the Leontief min over a recipe's
inputs becomes a min over key inputs):

* ``requires[k, c]``: commodity c cannot be made at all without k (no route
  from extraction and stocks avoids k; a fixpoint over the recipes).  The key
  inputs of d are the commodities d requires (d itself included).
* Along key input k every recipe is followed through **one** input: its
  largest input that requires k, or, if none does (upstream of k), its
  largest input.  The traced commodities are those reached from d backwards.
* ``u[c]``: the most tonnes of d one tonne of traced c can become,
  :math:`u_d = 1`, :math:`u_i = \max_{r:\,i\ \mathrm{followed}} \sum_{o\
  \mathrm{traced}} b_{r,o} u_o / a_{r,i}` (value iteration; recycling loops
  lose material, so it converges).
* Node-split graph in d-equivalents per period: a process is an edge
  ``in -> out`` of capacity :math:`\mathrm{cap}_p \max_r \sum_o b_{r,o} u_o`
  (its recipes share it; projects in service add to cap); a capacitated lane
  carries :math:`\mathrm{cap}_l u_c` of each traced commodity c; a stock gives
  :math:`q\,u_c`; recipes without inputs (mines, collection) and stocks hang
  off one super-source; everything else is uncapacitated.
* The max flow from the super-source to node (m, d) and its min cut.

Each step relaxes the LP (the followed input is credited with the whole output,
the best yield is used everywhere, recipes of one process share one node), so
every key input's cut bounds what m can be served and the smallest is
reported with the cut that attains it.

The max flow is scipy's Dinic on integer capacities (scaled so they sum to
2**30, rounded up); the cut found is valued with the exact capacities.  Each
max flow runs only on the edges between the source and its market (a few per
cent of a large graph), which gives the same value and the same cut.
:func:`graph` gives the same graph as a networkx ``DiGraph`` (tests check that
``networkx.minimum_cut`` agrees).
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.analysis.structure import reachable
from optimizer.data import periods as P
from optimizer.errors import InputError
from optimizer.results.columns import MINCUT_COLUMNS

if TYPE_CHECKING:
    import networkx as nx

    from optimizer.data import periods as P
from optimizer.data.instance import Instance

log = logging.getLogger(__name__)

#: Columns of ``mincut.csv``.
COLUMNS = MINCUT_COLUMNS

#: The super-source node.
SOURCE = "source"
#: Relative change below which the value iteration of the d-equivalents stops.
_EPS = 1e-12
_MAX_ITER = 5_000
#: Two cuts closer than this (relative) are a tie; the earlier key input wins.
_TIE = 1e-9
#: Ranks inputs that require the key input above any other (recipe amounts are far below).
_BIG = 1e12


_SCIPY_IMPORT = threading.Lock()


def _scipy():
    """``scipy.sparse`` and ``scipy.sparse.csgraph``, without what Pyomo adds to a scipy import.

    Once Pyomo is imported, ``pyomo.common.dependencies`` keeps a finder
    (``DeferredImportCallbackFinder``) first on ``sys.meta_path`` that runs Pyomo's
    callback for scipy as soon as anything imports it: ``import scipy.stats``,
    ``scipy.integrate`` and ``scipy.spatial`` (0.6-1.4 s, more than a world-2024
    solve).  The max flows need only csgraph (0.3 s), so the first import of it here
    runs with that finder off ``sys.meta_path``.  Pyomo's deferred ``scipy`` stays
    unresolved, and resolves (with its callback) the first time Pyomo itself uses it.
    """
    if "scipy.sparse.csgraph" not in sys.modules:
        with _SCIPY_IMPORT:  # one thread at a time takes the finder off and puts it back
            deps = sys.modules.get("pyomo.common.dependencies")
            kind = getattr(deps, "DeferredImportCallbackFinder", None)
            hooks = [f for f in sys.meta_path if kind is not None and isinstance(f, kind)]
            for f in hooks:
                sys.meta_path.remove(f)
            try:
                import scipy.sparse.csgraph  # noqa: F401
            finally:
                sys.meta_path[0:0] = hooks
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    return sp, csgraph


def _o(a) -> np.ndarray:
    return np.asarray(a, dtype=object)


@dataclass
class _Chain:
    """The chain at commodity level (dense recipe x commodity arrays) and its sites."""

    coms: pd.Index
    ain: np.ndarray  # recipes x commodities: input amount per unit of activity
    bout: np.ndarray  # recipes x commodities: output amount per unit of activity
    requires: np.ndarray  # requires[k, c]: c cannot be made without k
    multi: np.ndarray  # per commodity: input of some recipe with two inputs or more
    #: node keys ``c|site|commodity`` by (site row, commodity row)
    node: np.ndarray
    # process modes: process code, site row, recipe row
    mode_proc: np.ndarray
    mode_site: np.ndarray
    mode_r: np.ndarray
    procs: np.ndarray  # process ids (by code)
    proc_cap: np.ndarray  # base capacity by code (inf: uncapacitated)
    #: process code, capacity, ready (year it is in service from)
    expansions: pd.DataFrame
    # lanes x carried commodity: commodity row, capacity, link id
    lane_c: np.ndarray
    lane_cap: np.ndarray
    lane_id: np.ndarray
    # stocks: commodity row, quantity, element id
    stock_c: np.ndarray
    stock_q: np.ndarray
    stock_id: np.ndarray
    #: element id -> country (processes and stocks: their site's; links: their origin's)
    country: dict[str, str]
    #: the graph's nodes by integer id (0: source, then c|site|commodity in (site row,
    #: commodity row) order, pi|process, po|process, l|link|commodity): their keys
    names: np.ndarray
    site_row: dict[str, int]
    #: node ids of: c|site|commodity by (site row, commodity row); pi| and po| by process
    #: code; lane tails, heads and middles; stocks
    c_id: np.ndarray
    pi_id: np.ndarray
    po_id: np.ndarray
    lane_a_id: np.ndarray
    lane_b_id: np.ndarray
    lane_mid_id: np.ndarray
    stock_node_id: np.ndarray


def _chain(inst: Instance) -> _Chain:
    t = inst.tables
    coms = pd.Index(t["commodities"]["id"])
    n = len(coms)
    pro = t["processes"]
    recipes = pd.Index(pro["recipe"].unique())
    rec = t["recipes"]
    rec = rec.loc[rec["recipe"].isin(recipes)]
    sign = np.where(rec["direction"].to_numpy() == "output", 1.0, -1.0)
    net = np.zeros((len(recipes), n))
    np.add.at(
        net,
        (recipes.get_indexer(rec["recipe"]), coms.get_indexer(rec["commodity"])),
        sign * rec["amount"].to_numpy(dtype=float),
    )
    ain = np.where(net < 0, -net, 0.0)
    bout = np.where(net > 0, net, 0.0)
    has_in, has_out = ain > 0, bout > 0

    st = inst.stocks
    st = st.loc[st["quantity"].astype(float) > 0]
    st = st.groupby(["site", "commodity"], as_index=False)["quantity"].sum()
    stock_c = coms.get_indexer(st["commodity"]).astype(np.int64)

    # made[k, c]: c can be made without k, from extraction and stocks (a fixpoint)
    start = has_out[~has_in.any(axis=1)].any(axis=0)
    start[stock_c] = True
    made = np.tile(start, (n, 1))
    diag = np.arange(n)
    made[diag, diag] = False
    need, outs = has_in.astype(np.int64).T, has_out.astype(np.int64)
    while True:
        runnable = ((~made).astype(np.int64) @ need) == 0  # k x recipes
        new = made | ((runnable.astype(np.int64) @ outs) > 0)
        new[diag, diag] = False
        if (new == made).all():
            break
        made = new

    country = t["sites"].set_index("id")["country"].astype(str)
    sites = pd.Index(t["sites"]["id"])
    node = ("c|" + _o(sites)[:, None] + "|") + _o(coms)[None, :]
    proc_code, procs = pd.factorize(pro["id"])
    cap = pro.groupby(proc_code)["capacity"].max().reindex(range(len(procs)))
    ex = inst.expansions
    expansions = pd.DataFrame(
        {
            "proc": pd.Index(procs).get_indexer(ex["process"]),
            "capacity": ex["capacity"].to_numpy(dtype=float),
            "ready": ex["earliest"].map(P.start).to_numpy(dtype=float)
            + ex["lead_time"].fillna(0).astype(float).to_numpy(),
        }
    )

    links = t["links"]
    names = {name: inst.commodities_of(name) for name in links["commodity"].unique()}
    lanes = pd.DataFrame(
        {
            "link": _o(links["id"]),
            "from_site": _o(links["from_site"]),
            "to_site": _o(links["to_site"]),
            "capacity": links["capacity"].to_numpy(dtype=float),
            "commodity": _o(links["commodity"].map(names)),
        }
    ).explode("commodity")
    lanes["c"] = coms.get_indexer(lanes["commodity"])
    lanes = lanes.loc[lanes["c"] >= 0]
    com = _o(lanes["commodity"])

    site_of = pro.drop_duplicates("id").set_index("id")["site"]
    where = dict(zip(site_of.index, country.reindex(site_of).fillna(""), strict=True))
    where.update(zip(links["id"], country.reindex(links["from_site"]).fillna(""), strict=True))
    stock_id = _o([f"stock[{s},{c}]" for s, c in zip(st["site"], st["commodity"], strict=True)])
    where.update(zip(stock_id, country.reindex(st["site"]).fillna(""), strict=True))
    n_c, n_p = len(sites) * n, len(procs)
    c_id = 1 + np.arange(n_c, dtype=np.int64).reshape(len(sites), n)
    lane_c = lanes["c"].to_numpy(dtype=np.int64)
    mid_code, mids = pd.factorize(pd.Series("l|" + _o(lanes["link"]) + "|" + com, dtype=object))
    names = np.concatenate(
        [
            np.array([SOURCE], dtype=object),
            node.ravel(),
            "pi|" + _o(procs),
            "po|" + _o(procs),
            _o(mids),
        ]
    )
    return _Chain(
        names=names,
        site_row={x: i for i, x in enumerate(sites)},
        c_id=c_id,
        pi_id=1 + n_c + np.arange(n_p, dtype=np.int64),
        po_id=1 + n_c + n_p + np.arange(n_p, dtype=np.int64),
        lane_a_id=c_id[sites.get_indexer(lanes["from_site"]), lane_c],
        lane_b_id=c_id[sites.get_indexer(lanes["to_site"]), lane_c],
        lane_mid_id=1 + n_c + 2 * n_p + mid_code.astype(np.int64),
        stock_node_id=c_id[sites.get_indexer(st["site"]), stock_c],
        coms=coms,
        ain=ain,
        bout=bout,
        requires=~made,
        multi=(ain[has_in.sum(axis=1) >= 2] > 0).any(axis=0),
        node=node,
        mode_proc=proc_code,
        mode_site=sites.get_indexer(pro["site"]),
        mode_r=recipes.get_indexer(pro["recipe"]),
        procs=_o(procs),
        proc_cap=cap.fillna(np.inf).to_numpy(dtype=float),
        expansions=expansions,
        lane_c=lane_c,
        lane_cap=lanes["capacity"].to_numpy(dtype=float),
        lane_id=_o(lanes["link"]),
        stock_c=stock_c,
        stock_q=st["quantity"].to_numpy(dtype=float),
        stock_id=stock_id,
        country=where,
    )


def _candidates(ch: _Chain, d: int) -> list[int]:
    """Key inputs of ``d`` (the commodities it requires), in order of preference.

    Candidates giving the same graph are cut once, under the first one's name,
    and a tie goes to the first: inputs of multi-input recipes (where the
    Leontief min bites; upstream first), then ``d`` itself, then the others.
    """
    ks = np.flatnonzero(ch.requires[:, d])
    depth = ch.requires[ks][:, ks].sum(axis=0)  # how many key inputs each one requires
    keys = {
        int(k): (0 if ch.multi[k] else 1 if k == d else 2, int(n), str(ch.coms[k]))
        for k, n in zip(ks, depth, strict=True)
    }
    return sorted(keys, key=keys.__getitem__)


@dataclass
class _Trace:
    """The chain followed along one key input, in d-equivalents."""

    key: str
    followed: np.ndarray  # recipes x commodities: the one input each recipe is followed through
    value: np.ndarray  # per recipe: d-equivalents made per unit of activity
    u: np.ndarray  # per commodity: d-equivalents per tonne (0 if not traced)


def _trace(ch: _Chain, d: int, k: int) -> tuple[bytes, _Trace | None]:
    """Follow key input ``k`` back from ``d``; a signature of the graph, and its d-equivalents."""
    pref = np.where((ch.ain > 0) & ch.requires[k][None, :], ch.ain + _BIG, ch.ain)
    fol = np.zeros(ch.ain.shape, dtype=bool)
    rows = np.flatnonzero((ch.ain > 0).any(axis=1))
    fol[rows, pref[rows].argmax(axis=1)] = True
    makes = ch.bout > 0
    traced = np.zeros(len(ch.coms), dtype=bool)
    traced[d] = True
    while True:
        used = (makes & traced[None, :]).any(axis=1)
        new = traced | fol[used].any(axis=0)
        if (new == traced).all():
            break
        traced = new
    fol &= used[:, None]
    sig = np.int64(d).tobytes() + traced.tobytes() + fol.tobytes()
    # value iteration on the used recipes and traced commodities only
    r, c = np.flatnonzero(used), np.flatnonzero(traced)
    a = np.where(fol[np.ix_(r, c)], ch.ain[np.ix_(r, c)], 0.0)
    b = ch.bout[np.ix_(r, c)]
    inv = np.divide(1.0, a, out=np.zeros_like(a), where=a > 0)
    u = (c == d).astype(float)
    for _ in range(_MAX_ITER):
        new = np.maximum(u, ((b @ u)[:, None] * inv).max(axis=0, initial=0.0))
        if np.all(new - u <= _EPS * new):
            break
        u = new
    else:  # a loop that gives back more than it takes: no finite bound along k
        log.debug("min-cut: a recipe loop gains material along %s to %s", ch.coms[k], ch.coms[d])
        return sig, None
    full = np.zeros(len(ch.coms))
    full[c] = u
    value = np.zeros(len(ch.ain))
    value[r] = b @ u
    return sig, _Trace(str(ch.coms[k]), fol, value, full)


def _capacity(ch: _Chain, period) -> np.ndarray:
    """Process capacities in ``period`` (a year or a month): base plus every project in
    service by then."""
    cap = ch.proc_cap.copy()
    ex = ch.expansions.loc[ch.expansions["ready"] <= P.start(period) + 1e-9]
    np.add.at(cap, ex["proc"].to_numpy(dtype=np.int64), ex["capacity"].to_numpy(dtype=float))
    return cap


def _edges(ch: _Chain, tr: _Trace, cap: np.ndarray) -> dict[str, np.ndarray]:
    """The node-split graph in d-equivalents as an edge list.

    Nodes (integer ids, their keys in ``ch.names``): ``source``, ``c|site|commodity``
    (material at a site), ``pi|process`` and ``po|process`` (a process's capacity),
    ``l|link|commodity`` (a capacitated lane).  Arrays: tail, head, capacity (inf:
    uncapacitated), element (the process, link or stock that limits the edge; "" if
    none).
    """
    live = tr.value[ch.mode_r] > 0
    pc, site, r = ch.mode_proc[live], ch.mode_site[live], ch.mode_r[live]
    best = np.zeros(len(ch.procs))
    np.maximum.at(best, pc, tr.value[r])
    on = np.flatnonzero(best > 0)
    ri, ci = np.nonzero(tr.followed[r])
    mines = ~tr.followed[r].any(axis=1)
    ro, co = np.nonzero((ch.bout[r] > 0) & (tr.u > 0)[None, :])
    lane = tr.u[ch.lane_c] > 0
    capped = lane & np.isfinite(ch.lane_cap)
    free = lane & ~capped
    stock = tr.u[ch.stock_c] > 0
    parts = [
        (
            ch.pi_id[on],
            ch.po_id[on],
            np.where(np.isfinite(cap[on]), cap[on] * best[on], np.inf),
            ch.procs[on],
        ),
        (ch.c_id[site[ri], ci], ch.pi_id[pc[ri]], None, None),
        (np.zeros(int(mines.sum()), dtype=np.int64), ch.pi_id[pc[mines]], None, None),
        (ch.po_id[pc[ro]], ch.c_id[site[ro], co], None, None),
        (ch.lane_a_id[free], ch.lane_b_id[free], None, None),
        (
            ch.lane_a_id[capped],
            ch.lane_mid_id[capped],
            ch.lane_cap[capped] * tr.u[ch.lane_c[capped]],
            ch.lane_id[capped],
        ),
        (ch.lane_mid_id[capped], ch.lane_b_id[capped], None, None),
        (
            np.zeros(int(stock.sum()), dtype=np.int64),
            ch.stock_node_id[stock],
            ch.stock_q[stock] * tr.u[ch.stock_c[stock]],
            ch.stock_id[stock],
        ),
    ]
    tail = np.concatenate([p[0] for p in parts])
    head = np.concatenate([p[1] for p in parts])
    capacity = np.concatenate([np.full(len(p[0]), np.inf) if p[2] is None else p[2] for p in parts])
    element = np.concatenate(
        [np.full(len(p[0]), "", dtype=object) if p[3] is None else p[3] for p in parts]
    )
    keep = tail != head
    return {
        "tail": tail[keep],
        "head": head[keep],
        "capacity": capacity[keep],
        "element": element[keep],
    }


class _Net:
    """One edge list, ready to be cut towards any sink.

    Finite capacities are scaled so that they sum to 2**30 and rounded up (scipy's
    max flow takes 32-bit integers); an uncapacitated edge gets more than all
    of them together.  The cut found is valued with the exact capacities: the
    reported value is the exact capacity of a cut, minimal up to the rounding
    (under 1e-9 of the total capacity per cut edge).

    The edges are held sorted by (tail, head) with both adjacencies, so that a cut
    costs time in proportion to the part of the graph that reaches its sink, not to
    the whole graph.
    """

    def __init__(self, edges: dict[str, np.ndarray], n_ids: int) -> None:
        tail, head = edges["tail"].astype(np.int64), edges["head"].astype(np.int64)
        key = tail * n_ids + head
        order = np.argsort(key, kind="stable")  # (tail, head) order, parallel edges in edge order
        new = np.r_[True, key[order][1:] != key[order][:-1]]
        #: each edge's place in the edge list (parallel edges, uncapacitated, once: the first)
        self.place = order[new]
        capacity = edges["capacity"].astype(float)
        finite = np.isfinite(capacity)
        kept = np.sort(self.place)
        total = float(capacity[kept][finite[kept]].sum())  # summed in edge order
        icap = np.where(finite, np.ceil(capacity * (2.0**30 / total if total else 1)), 0)
        self.inf = int(icap[kept].sum()) + 1
        icap[~finite] = self.inf
        # only what the source reaches can carry flow: the rest is dropped
        e = self.place  # edges in (tail, head) order, the order of a CSR matrix's entries
        down = reachable(0, (_starts(tail[e], n_ids), head[e]))
        e = e[down[tail[e]]]
        self.place = e
        #: node id (:func:`_edges`) -> its number here (-1: the source does not reach it)
        self.code_of = np.where(down, np.cumsum(down) - 1, -1)
        self.n = n = int(down.sum())
        self.tail, self.head = self.code_of[tail[e]], self.code_of[head[e]]
        self.capacity, self.finite = capacity[e], finite[e]
        self.icap = icap[e].astype(np.int32)
        self.element = edges["element"][e]
        #: in-edges of node i: ``into[into_first[i]:into_first[i + 1]]`` (edge numbers)
        self.into = np.argsort(self.head, kind="stable")
        self.into_first = _starts(self.head, n)
        self._back = None  # the reversed graph as a CSR matrix, made on the first cut
        self._local = np.zeros(n, dtype=np.int32)  # node -> its number in a cut's subgraph
        self.source = int(self.code_of[0])  # node id 0: the source (0 here when it has edges)

    def _up(self, t: int) -> np.ndarray:
        """The nodes from which ``t`` can be reached (``t`` included), in id order."""
        sp, csgraph = _scipy()
        if self._back is None:  # float64 data: csgraph takes it as it is (no copy per call)
            n = self.n
            tails = self.tail[self.into].astype(np.int32)
            self._back = sp.csr_array((np.ones(len(tails)), tails, self.into_first), shape=(n, n))
        return np.sort(csgraph.breadth_first_order(self._back, t, return_predecessors=False))

    def cut(self, sink: int) -> tuple[float, list[tuple[str, float]]]:
        """Max flow from the source to ``sink``, and its min cut as (element, capacity), largest first.

        Only the edges on some path from the source to ``sink`` carry flow or can be
        cut (for one market a few per cent of the graph), so the max flow runs on
        them alone: same flow value, and the same source side of the cut (the nodes
        the residual graph reaches, which is the same for every maximum flow).
        """
        sp, csgraph = _scipy()
        s, t = self.source, int(self.code_of[sink]) if sink >= 0 else -1
        if t < 0 or not len(self.tail):  # the source reaches no edge, or not the sink
            return 0.0, []
        inside = self._up(t)  # nodes on a path from the source to t, in id order
        lo, count = self.into_first[inside], self.into_first[inside + 1] - self.into_first[inside]
        idx = np.arange(count.sum()) + np.repeat(lo - (np.cumsum(count) - count), count)
        keep = np.sort(self.into[idx])  # the edges into those nodes, all from them
        k = len(inside)
        self._local[inside] = np.arange(k, dtype=np.int32)
        a, b = self._local[self.tail[keep]], self._local[self.head[keep]]
        indptr = _starts(a, k)
        cap = sp.csr_array((self.icap[keep], b, indptr), shape=(k, k))
        rs, rt = int(self._local[s]), int(self._local[t])
        res = csgraph.maximum_flow(cap, rs, rt)
        if res.flow_value >= self.inf:
            return float("inf"), []
        resid = cap - res.flow
        resid.eliminate_zeros()
        side = np.zeros(k, dtype=bool)
        side[csgraph.breadth_first_order(resid, rs, return_predecessors=False)] = True
        # an edge from the source side to a node that cannot reach the sink is not in this
        # subgraph: such an edge is no part of the cut
        cut = keep[side[a] & ~side[b] & self.finite[keep]]
        cut = cut[np.argsort(self.place[cut])]  # in edge order
        value = float(self.capacity[cut].sum())
        if value > 0:  # a closed plant on the cut limits nothing while others carry flow
            cut = cut[self.capacity[cut] > 0]
        caps: dict[str, float] = {}  # summed in edge order
        for e, v in zip(self.element[cut].tolist(), self.capacity[cut].tolist(), strict=True):
            caps[e] = caps.get(e, 0.0) + v
        parts = sorted(((str(e), v) for e, v in caps.items()), key=lambda x: (-x[1], x[0]))
        return value, parts


def _starts(node: np.ndarray, n: int) -> np.ndarray:
    """CSR row starts of edges grouped by ``node`` (``n + 1`` of them)."""
    return np.r_[0, np.cumsum(np.bincount(node, minlength=n))].astype(np.int32)


def mincut(inst: Instance, shortages: pd.DataFrame | None = None) -> pd.DataFrame:
    """The structural min-cut of every demand (``mincut.csv``; columns :data:`COLUMNS`).

    One row per (period, market, commodity) with demand > 0.  ``min_cut`` is
    the most tonnes of the commodity per period the chain's structure could
    deliver to that market alone (module docstring); ``cut_share`` is
    ``min_cut / demand`` (below 1: the structure cannot meet the demand);
    ``structural_gap`` is ``max(demand - min_cut, 0)``, a shortage no
    solution can avoid; ``key_input`` the key input whose cut is smallest;
    ``cut_elements`` the process, link and stock (``stock[site,commodity]``)
    ids of that cut, largest capacity first, and ``cut_countries`` their
    countries.  ``served`` comes from ``shortages`` (a result's table) if given.
    """
    dem = inst.tables["demand"]
    dem = dem.loc[dem["quantity"].astype(float) > 0]
    if dem.empty:
        return pd.DataFrame(columns=COLUMNS)
    dem = dem.groupby(["period", "market", "commodity"], as_index=False)["quantity"].sum()
    ch = _chain(inst)
    traces: dict[bytes, _Trace | None] = {}
    caps = {p: _capacity(ch, p) for p in dem["period"].unique()}
    nets: dict[tuple[bytes, bytes], _Net] = {}  # periods with the same capacities share
    cuts: dict[tuple[bytes, bytes, str], tuple[float, list]] = {}
    rows = []
    for (d_id, period), grp in dem.groupby(["commodity", "period"], sort=True):
        if nets and next(iter(nets))[0][:8] != np.int64(ch.coms.get_loc(d_id)).tobytes():
            nets.clear()  # a graph is of one commodity (its signature starts with it)
        d = ch.coms.get_loc(d_id)
        cap = caps[period]
        ckey = cap.tobytes()
        sigs: list[bytes] = []
        for k in _candidates(ch, d):
            sig, tr = _trace(ch, d, k)
            traces.setdefault(sig, tr)
            if sig not in sigs and traces[sig] is not None:
                sigs.append(sig)
        for market, q in zip(grp["market"], grp["quantity"].astype(float), strict=True):
            value, key_input, parts = float("inf"), "", []
            for sig in sigs:
                tr = traces[sig]
                assert tr is not None
                if (sig, ckey, market) not in cuts:
                    if (sig, ckey) not in nets:
                        nets[sig, ckey] = _Net(_edges(ch, tr, cap), len(ch.names))
                    sink = int(ch.c_id[ch.site_row[market], d]) if market in ch.site_row else -1
                    cuts[sig, ckey, market] = nets[sig, ckey].cut(sink)
                v, p = cuts[sig, ckey, market]
                if not key_input or v < value * (1 - _TIE) - _TIE:
                    value, key_input, parts = v, tr.key, p
            countries = dict.fromkeys(ch.country.get(e, "") for e, _ in parts)
            rows.append(
                {
                    "period": P.plain(period),
                    "market": market,
                    "commodity": d_id,
                    "demand": q,
                    "min_cut": value,
                    "cut_share": value / q,
                    "structural_gap": max(q - value, 0.0),
                    "key_input": key_input,
                    "cut_elements": ";".join(e for e, _ in parts),
                    "cut_countries": ";".join(c for c in countries if c),
                }
            )
    out = pd.DataFrame(rows)
    out["served"] = np.nan
    if shortages is not None and len(shortages):
        s = shortages.groupby(["period", "market", "commodity"])["served"].sum()
        out["served"] = s.reindex(pd.MultiIndex.from_frame(out[COLUMNS[:3]])).to_numpy()
    return out[COLUMNS].sort_values(COLUMNS[:3]).reset_index(drop=True)


def graph(
    inst: Instance, commodity: str, key_input: str | None = None, period: int | None = None
) -> nx.DiGraph:
    """The graph cut for ``commodity`` along ``key_input`` (default: its first) as networkx.

    Nodes are ``source``, ``c|site|commodity``, ``pi|process``/``po|process`` and
    ``l|link|commodity``; capacitated edges carry ``capacity`` (tonnes of
    ``commodity`` per period) and ``element``.  ``networkx.minimum_cut(g,
    "source", f"c|{market}|{commodity}")`` gives the ``min_cut`` of
    :func:`mincut` for that key input.
    """
    ch = _chain(inst)
    if commodity not in ch.coms:
        raise InputError(f"unknown commodity {commodity!r}")
    d = ch.coms.get_loc(commodity)
    keys = _candidates(ch, d)
    if key_input is not None:
        if key_input not in ch.coms or ch.coms.get_loc(key_input) not in keys:
            names = ", ".join(str(ch.coms[k]) for k in keys)
            raise InputError(f"{key_input!r} is not a key input of {commodity} ({names})")
        keys = [ch.coms.get_loc(key_input)]
    _, tr = _trace(ch, d, keys[0])
    if tr is None:
        raise InputError(f"no finite bound for {commodity} along {ch.coms[keys[0]]}")
    import networkx as nx

    e = _edges(ch, tr, _capacity(ch, period if period is not None else inst.periods[0]))
    e = {**e, "tail": ch.names[e["tail"]], "head": ch.names[e["head"]]}
    g = nx.DiGraph()
    g.add_node(SOURCE)
    fin = np.isfinite(e["capacity"])
    g.add_edges_from(zip(e["tail"][~fin], e["head"][~fin], strict=True))
    g.add_edges_from(
        (a, b, {"capacity": c, "element": x})
        for a, b, c, x in zip(
            e["tail"][fin], e["head"][fin], e["capacity"][fin], e["element"][fin], strict=True
        )
    )
    return g
