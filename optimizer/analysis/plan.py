r"""``rechain plan``: what to build and stock before the disruption comes (docs/plan.md).

A two-stage stochastic LP in extensive form, solved as one HiGHS LP.

* **First stage** (shared by every scenario): capacity expansions (the ``build``
  variables of ``expansions.csv``, in service after their lead times), strategic
  stockpiles ``stockpile[site, commodity]`` (tonnes held from the start of the first
  period, at a holding cost per tonne over the horizon) and, in the short run,
  long-term contracts ``contract[link, commodity]`` (t/yr reserved on a lane against
  its short-run lane limit, at a cost per t/yr).
* **Second stage** (one copy per scenario): everything else the model has — activity,
  flows, shortages — and ``stock_release[site, commodity, period]``, tonnes drawn from
  the stockpile (at its release cost per tonne, at most the tonnes held:
  ``stockpile_release[site, commodity]``).

Each scenario's model is built by the ordinary builders (the instance with that
scenario's changes and policies, plus the stockpile plug-in), compiled to standard
form, and the blocks are stacked block-diagonally with the first-stage columns merged
(same component and key: one shared column).  The objective is

.. math:: \sum_s p_s\, c_s^\top x_s + \lambda \Big(\eta + \frac{1}{1-\alpha}\sum_s p_s z_s\Big),
          \quad z_s \ge L_s(x_s) - \eta,\ z_s \ge 0

with :math:`L_s` the scenario's unmet end-use value (``shortages.unmet_value``:
tonnes short × ``commodities.value``) — the Rockafellar–Uryasev form of
:math:`\mathrm{CVaR}_\alpha`.

The value of the stochastic solution (VSS) fixes the first stage of the
expected-value problem (the scenarios' LP data averaged with their probabilities)
and evaluates it on the same scenarios; the expected value of perfect information
(EVPI) compares with the wait-and-see solution (the same LP with every scenario its
own first stage).  The frontier of expected cost against CVaR
(:func:`frontier_points`) re-solves one assembled extensive form at several weights.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from optimizer.analysis import ph
from optimizer.data.instance import Instance
from optimizer.errors import InfeasibleError, InputError, Problem, SolverError
from optimizer.lp.handoff import StandardForm, highs_lp, labels, standard_form
from optimizer.lp.run import INF, new_highs, run_lp
from optimizer.model.build import build_model
from optimizer.model.core import ChainModel, by_period, positions
from optimizer.model.sets import build_sets
from optimizer.policies import registry

MS = highspy.HighsModelStatus

#: Variable components decided before the scenario is known (shared by every scenario).
FIRST_STAGE = ("build", "stockpile", "contract")
#: Elements and stages of the default stockpile candidates: Dy and Tb oxides and metals.
DEFAULT_ELEMENTS = ("Dy", "Tb")
DEFAULT_STAGES = ("separation", "metal")
#: Countries whose nodes are not default candidates (the stockpiles of the importers).
DEFAULT_EXCLUDE = ("CN",)
#: The undisrupted case in a list of scenarios.
NONE = "none"
#: How the plan's LP is solved: one LP, or progressive hedging over the scenarios.
DECOMPOSITIONS = ("extensive", "ph")
#: Amounts below this are not part of the plan.
TOL = 1e-6


# -- stockpile candidates -------------------------------------------------------------


def stock_candidates(
    inst: Instance,
    pairs: Sequence[tuple[str, str]] | None = None,
    *,
    holding_cost: float | None = None,
    release_cost: float | None = None,
    max_tonnes: float | None = None,
) -> pd.DataFrame:
    """The stockpile candidates: site, commodity, holding_cost, release_cost, max.

    ``pairs`` (site, commodity); ``None``: every node of a Dy or Tb oxide or metal
    (commodities of element Dy or Tb at stage separation or metal) at a site outside
    China, whose commodity has a ``value`` to price the stock with (unless both costs are
    given).  A node is a (site, commodity) pair that makes, uses, ships, stores or
    demands the commodity.  Costs per tonne: ``holding_cost`` (over the whole horizon,
    paid whether the stock is drawn or not; default: ``defaults.carrying_rate`` a month
    of the commodity's ``value`` for every month of the horizon) and ``release_cost``
    (what a tonne drawn costs — buying the stocked material at its price; default the
    commodity's ``value``).  ``max``: most tonnes held per candidate (NaN: no limit).
    """
    sets = build_sets(inst)
    nodes = sets.nodes[["site", "commodity"]].drop_duplicates()
    com = inst.tables["commodities"].set_index("id")
    if pairs is None:
        el = com["element"].fillna("").astype(str)
        pick = com.index[el.isin(DEFAULT_ELEMENTS) & com["stage"].isin(DEFAULT_STAGES)]
        country = inst.tables["sites"].set_index("id")["country"]
        c = nodes.loc[
            nodes["commodity"].isin(pick)
            & ~nodes["site"].map(country).isin(DEFAULT_EXCLUDE).to_numpy()
        ]
    else:
        c = pd.DataFrame(list(pairs), columns=["site", "commodity"]).drop_duplicates()
        known = c.merge(nodes, how="left", indicator=True)["_merge"].eq("both").to_numpy()
        if not known.all():
            raise InputError(
                [
                    Problem(
                        "--stock",
                        None,
                        None,
                        f"{s}:{k}: site {s!r} has no node of commodity {k!r} (it neither makes, "
                        "uses, ships, stores nor demands it)",
                    )
                    for s, k in c.loc[~known, ["site", "commodity"]].itertuples(index=False)
                ]
            )
    c = c.sort_values(["site", "commodity"]).reset_index(drop=True)
    value = (
        com["value"].reindex(c["commodity"]).astype(float).to_numpy()
        if "value" in com
        else np.full(len(c), np.nan)
    )
    if holding_cost is None or release_cost is None:
        # a stock without a price would be free material: leave such defaults out
        unpriced = np.isnan(value)
        if pairs is not None and unpriced.any():
            raise InputError(
                [
                    Problem(
                        "--stock",
                        None,
                        None,
                        f"{s}:{k}: commodity {k!r} has no value (commodities.csv) to price its "
                        "stock: give --stock-cost and --release-cost",
                    )
                    for s, k in c.loc[unpriced, ["site", "commodity"]].itertuples(index=False)
                ]
            )
        c, value = c.loc[~unpriced].reset_index(drop=True), value[~unpriced]
    months = 12.0 * sum(sets.lengths[t] for t in sets.periods)
    c["holding_cost"] = (
        value * sets.carrying_rate * months if holding_cost is None else float(holding_cost)
    )
    c["release_cost"] = value if release_cost is None else float(release_cost)
    c["max"] = np.nan if max_tonnes is None else float(max_tonnes)
    return c


def stockpile_plugin(cands: pd.DataFrame) -> Callable[[ChainModel], None]:
    """The model plug-in of the stockpile candidates: variables ``stockpile`` (first stage)
    and ``stock_release``, their costs, balance terms and rows ``stockpile_release``."""

    def add(cm: ChainModel) -> None:
        if cands.empty:
            return
        s = cm.sets
        n = len(cands)
        keys = cands[["site", "commodity"]].reset_index(drop=True)
        mx = cands["max"].to_numpy(dtype=float)
        cm.add_var(
            "stockpile",
            keys,
            ub=np.where(np.isnan(mx), INF, mx) if not np.isnan(mx).all() else None,
            doc="tonnes held in a strategic stockpile from the start of the first period",
        )
        cm.add_cost("stockpile", np.arange(n), cands["holding_cost"].to_numpy(float), "stockpile")
        rel = by_period(cands[["site", "commodity", "release_cost"]], s.periods)
        nr = len(rel)
        cm.add_var(
            "stock_release",
            rel[["site", "commodity", "period"]],
            doc="tonnes drawn from a stockpile",
        )
        w = rel["period"].map(s.weights).to_numpy(dtype=float)
        cm.add_cost(
            "stock_release", np.arange(nr), rel["release_cost"].to_numpy(float) * w, "stock_release"
        )
        rows = positions(rel, cm.balance_index, ["site", "commodity", "period"])
        cm.balance_terms.append(("stock_release", np.arange(nr), rows, np.ones(nr)))
        own = positions(rel, keys, ["site", "commodity"])
        cm.add_rows(
            "stockpile_release",
            keys,
            [
                ("stock_release", np.arange(nr), own, np.ones(nr)),
                ("stockpile", np.arange(n), np.arange(n), -np.ones(n)),
            ],
            "<=",
            np.zeros(n),
            doc="tonnes drawn over the horizon <= tonnes held",
        )

    return add


# -- long-term contracts -----------------------------------------------------------------


def contract_candidates(
    inst: Instance, lanes: Sequence[str | tuple[str, str]], *, cost: float | None = None
) -> pd.DataFrame:
    """The contract candidates: link, commodity, from_site, to_site, cost (USD per t/yr
    reserved, over the horizon).

    ``lanes``: link ids, or (link, commodity) pairs (the link's commodity by default).
    ``cost`` (default: the holding cost of a stockpiled tonne of the commodity, the
    carrying rate a month of its ``value`` for every month of the horizon: reserving one
    t/yr costs what holding one tonne does) is paid whether the lane is used or not.
    """
    links = inst.tables["links"]
    sets = build_sets(inst)
    months = 12.0 * sum(sets.lengths[t] for t in sets.periods)
    com = inst.tables["commodities"].set_index("id")
    rows, problems = [], []
    for lane in lanes:
        lid, c = (lane, None) if isinstance(lane, str) else lane
        hit = links.loc[links["id"].astype(str) == str(lid)]
        if c is not None:
            hit = hit.loc[hit["commodity"].astype(str) == str(c)]
        if hit.empty:
            what = f"{lid}:{c}" if c is not None else str(lid)
            problems.append(Problem("--contract", None, None, f"{what}: no such link in links.csv"))
            continue
        r = hit.iloc[0]
        k = str(r["commodity"])
        value = float(com["value"].get(k, np.nan)) if "value" in com else np.nan
        if cost is None and not np.isfinite(value):
            problems.append(
                Problem(
                    "--contract",
                    None,
                    None,
                    f"{lid}: commodity {k!r} has no value (commodities.csv) to price the "
                    "reservation: give --contract-cost",
                )
            )
            continue
        rows.append(
            {
                "link": str(r["id"]),
                "commodity": k,
                "from_site": str(r["from_site"]),
                "to_site": str(r["to_site"]),
                "cost": float(cost) if cost is not None else value * sets.carrying_rate * months,
            }
        )
    if problems:
        raise InputError(problems)
    cols = ["link", "commodity", "from_site", "to_site", "cost"]
    return pd.DataFrame(rows, columns=cols).drop_duplicates(["link", "commodity"])


def _add_contracts(
    cm: ChainModel, sf: StandardForm, contracts: pd.DataFrame
) -> tuple[StandardForm, int]:
    """Columns ``contract[link, commodity]`` (t/yr reserved, first stage) appended to
    ``sf``: each relaxes the lane's short-run limit (``short_run_lane``: flow <= limit +
    years of the period x reserved), and nothing else (a policy's rows still hold)."""
    n, k = len(sf.c), len(contracts)
    keys = contracts[["link", "commodity"]].reset_index(drop=True)
    A = sf.A
    if "short_run_lane" in sf.row_slices:
        a, _ = sf.row_slices["short_run_lane"]
        rk = cm.con_keys["short_run_lane"].reset_index(drop=True)
        lk = keys.assign(_col=np.arange(k))
        m = rk[["link", "commodity", "period"]].reset_index().merge(lk, on=["link", "commodity"])
        years = m["period"].map(cm.sets.lengths).to_numpy(dtype=float)
        extra = sp.coo_matrix(
            (-years, (a + m["index"].to_numpy(), m["_col"].to_numpy())), shape=(A.shape[0], k)
        )
    else:
        extra = sp.coo_matrix((A.shape[0], k))
    sf = dataclasses.replace(
        sf,
        c=np.concatenate([sf.c, contracts["cost"].to_numpy(dtype=float)]),
        A=sp.hstack([A, extra]).tocsc(),
        col_lower=np.concatenate([sf.col_lower, np.zeros(k)]),
        col_upper=np.concatenate([sf.col_upper, np.full(k, INF)]),
        col_slices={**sf.col_slices, "contract": (n, n + k)},
    )
    return sf, k


# -- one scenario's block ---------------------------------------------------------------


@dataclass
class _Block:
    """One scenario's model in standard form, with its first-stage labels and losses."""

    name: str
    prob: float
    inst: Instance
    cm: ChainModel
    sf: StandardForm
    #: per column: its first-stage label ('' for a second-stage column)
    first: np.ndarray
    #: per column: the unmet end-use value of one unit (USD; nonzero on ``unmet`` only)
    loss: np.ndarray
    #: the contract candidates whose columns ``contract`` the block has (None: none)
    contracts: pd.DataFrame | None = None


@dataclass(frozen=True)
class Outage:
    """A scenario in which ``sites`` make nothing and ship or receive nothing and
    ``links`` carry nothing (one case of ``rechain criticality``), on ``inst`` (the plan's
    instance when ``None``)."""

    name: str
    sites: frozenset[str] = frozenset()
    links: frozenset[str] = frozenset()
    inst: Instance | None = None


#: One scenario of a plan: a scenario id or YAML path, a stack of them, an instance with
#: its scenarios applied, a (name, instance) pair, or an :class:`Outage`.
ScenarioSpec = str | Sequence[str] | Instance | tuple[str, Instance] | Outage


def _scenario_instance(inst: Instance, spec: ScenarioSpec) -> tuple[str, Instance]:
    from optimizer.scenarios.apply import apply_scenarios

    if isinstance(spec, Outage):
        return spec.name, spec.inst if spec.inst is not None else inst
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Instance):
        return str(spec[0]), spec[1]
    if isinstance(spec, Instance):
        return (",".join(spec.scenarios) or NONE), spec
    refs = [spec] if isinstance(spec, str) else list(spec)
    refs = [r for ref in refs for r in str(ref).split("+") if r]
    if refs == [NONE] or not refs:
        return NONE, inst
    name = "+".join(
        Path(r).stem if Path(r).suffix.lower() in (".yaml", ".yml") else r for r in refs
    )
    return name, apply_scenarios(inst, refs)


def _outage_columns(cm: ChainModel, sf: StandardForm, sites, links) -> np.ndarray:
    """Columns of ``sf`` to hold at zero when ``sites`` and ``links`` fail: the sites'
    activity and every flow into or out of them, the links' flows (as
    :class:`~optimizer.analysis.whatif.WhatIf` switches them off)."""
    parts = [np.zeros(0, dtype=np.int64)]
    if sites and "act" in sf.col_slices:
        a, _ = sf.col_slices["act"]
        site = cm.sets.modes.set_index(["id", "recipe"])["site"]
        ak = cm.var_keys["act"]
        at = site.reindex(list(zip(ak["id"], ak["recipe"], strict=True))).to_numpy()
        parts.append(a + np.flatnonzero(pd.Series(at).isin(sites).to_numpy()))
    if "flow" in sf.col_slices:
        a, _ = sf.col_slices["flow"]
        fr = cm.flow_terms
        hit = fr["link"].isin(links) | fr["from_site"].isin(sites) | fr["to_site"].isin(sites)
        parts.append(a + np.flatnonzero(hit.to_numpy()))
    return np.unique(np.concatenate(parts))


def _block(
    name: str,
    prob: float,
    inst: Instance,
    cands: pd.DataFrame,
    method: str,
    tl: float | None,
    contracts: pd.DataFrame | None = None,
) -> _Block:
    from optimizer.solve import baseline_solve, reference_solve

    settles = sorted({f.type for f in registry.FAMILIES if f.settle is not None})
    bad = sorted({p.type for _, p in inst.policies} & set(settles))
    why = f"{', '.join(bad)} policies re-solve after the LP" if bad else None
    if inst.origins:
        why = "policies that trace origins (procurement bans) relabel commodities"
    if why is not None:
        raise InputError(
            Problem(name, None, "policies", f"{why}: not supported in a plan yet (docs/plan.md)")
        )
    ref = reference_solve(inst, method, tl)
    base = baseline_solve(inst, method, tl, reference_plan=ref)
    sets = build_sets(inst, ref.as_baseline() if ref is not None else None)
    plugins = registry.plugins(inst, base.as_baseline() if base is not None else None)
    cm = build_model(sets, [*plugins, stockpile_plugin(cands)])
    sf = standard_form(cm)
    sf = dataclasses.replace(sf, A=sf.A.to_scipy())  # stacked with scipy.sparse below
    if contracts is not None and len(contracts):
        if inst.horizon != "short":
            raise InputError(
                Problem(
                    "--contract",
                    None,
                    None,
                    f"{name}: a contract holds a lane open against the short run's lane "
                    "limits; in the long run every lane is open already (give --horizon short)",
                )
            )
        sf, _ = _add_contracts(cm, sf, contracts)
    n = len(sf.c)
    first = np.full(n, "", dtype=object)
    for comp in FIRST_STAGE:
        if comp in sf.col_slices:
            a, b = sf.col_slices[comp]
            keys = (
                contracts[["link", "commodity"]].reset_index(drop=True)
                if comp == "contract"
                else cm.var_keys[comp]
            )
            first[a:b] = labels(comp, keys)
    loss = np.zeros(n)
    if "unmet" in sf.col_slices:
        a, b = sf.col_slices["unmet"]
        com = inst.tables["commodities"].set_index("id")
        value = com["value"] if "value" in com else pd.Series(dtype=float)
        loss[a:b] = (
            cm.var_keys["unmet"]["commodity"].map(value).astype(float).fillna(0.0).to_numpy()
        )
    return _Block(
        name, prob, inst, cm, sf, first, loss, contracts if "contract" in sf.col_slices else None
    )


def _blocks(
    inst: Instance,
    scenarios: Sequence[ScenarioSpec],
    p: np.ndarray,
    cands: pd.DataFrame,
    method: str,
    tl: float | None,
    contracts: pd.DataFrame | None = None,
) -> list[_Block]:
    """One block per scenario; scenarios on the same instance (the outages of a
    criticality folder) share one build, their failed columns fixed at zero."""
    built: dict[int, _Block] = {}
    out = []
    for spec, pi in zip(scenarios, p, strict=True):
        name, si = _scenario_instance(inst, spec)
        if id(si) not in built:
            built[id(si)] = _block(name, float(pi), si, cands, method, tl, contracts)
        b = dataclasses.replace(built[id(si)], name=name, prob=float(pi))
        if isinstance(spec, Outage):
            off = _outage_columns(b.cm, b.sf, spec.sites, spec.links)
            lo, hi = b.sf.col_lower.copy(), b.sf.col_upper.copy()
            lo[off] = hi[off] = 0.0
            b = dataclasses.replace(b, sf=dataclasses.replace(b.sf, col_lower=lo, col_upper=hi))
        out.append(b)
    return out


# -- the extensive form -----------------------------------------------------------------


@dataclass
class _Solution:
    objective: float
    first: pd.Series  # first-stage label -> value (shared solves)
    x: list[np.ndarray]  # per block, its columns' values in its own order
    facts: dict[str, Any]
    num_col: int
    num_row: int
    nnz: int


@dataclass
class _Assembled:
    """The extensive form handed to HiGHS, kept to re-solve with other CVaR weights."""

    h: highspy.Highs
    firsts: pd.Index  # the shared first-stage labels (columns 0 .. n1 - 1)
    maps: list[np.ndarray]  # per block: its columns' positions in the extensive form
    #: the column of eta (-1: no CVaR columns); z_s follow it
    eta: int
    probs: np.ndarray
    alpha: float
    num_col: int
    num_row: int
    nnz: int


def _assemble(
    blocks: Sequence[_Block],
    alpha: float,
    risk_weight: float,
    *,
    shared: bool = True,
    fixed: pd.Series | None = None,
    cvar_columns: bool = False,
) -> _Assembled:
    """Stack the blocks (first-stage columns merged when ``shared``; fixed at ``fixed``
    when given) with the CVaR rows (when ``risk_weight`` > 0 or ``cvar_columns``: then
    only the costs of eta and z_s depend on the weight, see :func:`_set_risk_weight`)
    and pass the LP to a new HiGHS instance."""
    firsts = pd.Index(
        sorted({f for b in blocks for f in b.first if f}) if shared else [], dtype=object
    )
    n1 = len(firsts)
    maps, start = [], n1
    for b in blocks:
        cmap = np.empty(len(b.first), dtype=np.int64)
        is1 = (b.first != "") if shared else np.zeros(len(b.first), dtype=bool)
        cmap[is1] = firsts.get_indexer(b.first[is1])
        k = int((~is1).sum())
        cmap[~is1] = start + np.arange(k)
        start += k
        maps.append(cmap)
    S = len(blocks)
    risk = risk_weight > 0 or cvar_columns
    eta = start
    ncol = start + (1 + S if risk else 0)
    c = np.zeros(ncol)
    lo = np.zeros(ncol)
    hi = np.full(ncol, INF)
    lo[:n1], hi[:n1] = -INF, INF
    rows, cols, vals, rlo, rhi = [], [], [], [], []
    r0 = 0
    offset = 0.0
    for b, cmap in zip(blocks, maps, strict=True):
        sf = b.sf
        np.add.at(c, cmap, b.prob * sf.c)
        offset += b.prob * sf.offset
        is1 = cmap < n1
        np.maximum.at(lo, cmap[is1], sf.col_lower[is1])
        np.minimum.at(hi, cmap[is1], sf.col_upper[is1])
        lo[cmap[~is1]] = sf.col_lower[~is1]
        hi[cmap[~is1]] = sf.col_upper[~is1]
        A = sf.A.tocoo()
        rows.append(A.row + r0)
        cols.append(cmap[A.col])
        vals.append(A.data)
        rlo.append(sf.row_lower)
        rhi.append(sf.row_upper)
        r0 += A.shape[0]
    probs = np.array([b.prob for b in blocks], dtype=float)
    if risk:
        # z_s + eta - L_s(x_s) >= 0
        lo[eta], hi[eta] = -INF, INF
        for s, (b, cmap) in enumerate(zip(blocks, maps, strict=True)):
            nz = np.flatnonzero(b.loss)
            rows.append(np.full(len(nz) + 2, r0 + s))
            cols.append(np.concatenate([cmap[nz], [eta, eta + 1 + s]]))
            vals.append(np.concatenate([-b.loss[nz], [1.0, 1.0]]))
        c[eta:] = _risk_costs(risk_weight, probs, alpha)
        rlo.append(np.zeros(S))
        rhi.append(np.full(S, INF))
        r0 += S
    if fixed is not None and n1:
        v = fixed.reindex(firsts).to_numpy(dtype=float)
        has = ~np.isnan(v)
        v = np.clip(np.where(has, v, lo[:n1]), lo[:n1], hi[:n1])
        lo[:n1] = hi[:n1] = v
    A = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r0, ncol)
    ).tocsc()
    lp = highs_lp(
        StandardForm(c, offset, A, lo, hi, np.concatenate(rlo), np.concatenate(rhi), {}, {})
    )
    h = new_highs()
    if h.passModel(lp) == highspy.HighsStatus.kError:  # pragma: no cover - defensive
        raise SolverError("HiGHS rejected the extensive form")
    return _Assembled(h, firsts, maps, eta if risk else -1, probs, alpha, ncol, r0, int(A.nnz))


def _risk_costs(risk_weight: float, probs: np.ndarray, alpha: float) -> np.ndarray:
    """The costs of eta and z_1..z_S: lambda and lambda p_s / (1 - alpha)."""
    return np.concatenate([[risk_weight], risk_weight * probs / (1.0 - alpha)])


def _set_risk_weight(ef: _Assembled, risk_weight: float) -> None:
    """Change the CVaR weight of an assembled extensive form in HiGHS (nothing rebuilt:
    the next run starts from the last basis)."""
    idx = np.arange(ef.eta, ef.num_col, dtype=np.int32)
    cost = _risk_costs(risk_weight, ef.probs, ef.alpha)
    if ef.h.changeColsCost(len(idx), idx, cost) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the new CVaR weight")  # pragma: no cover


def _run(
    ef: _Assembled, method: str, time_limit: float | None, what: str = "the plan"
) -> _Solution:
    """Solve an assembled extensive form (again)."""
    h = ef.h
    facts = run_lp(h, ef.num_col, method, time_limit)
    if facts["model_status"] in (MS.kInfeasible, MS.kUnboundedOrInfeasible, MS.kUnbounded):
        raise InfeasibleError(
            f"{what} is {facts['status_text'].lower()} (HiGHS): elastic demand cannot cause "
            "this, so check hard limits in the scenarios"
        )
    if facts["model_status"] != MS.kOptimal:
        raise SolverError(f"HiGHS stopped on {what}: {facts['status_text']}")
    x = np.asarray(h.getSolution().col_value, dtype=float)
    n1 = len(ef.firsts)
    return _Solution(
        objective=float(facts["objective"]),
        first=pd.Series(x[:n1], index=ef.firsts, dtype=float),
        x=[x[cmap] for cmap in ef.maps],
        facts=facts,
        num_col=ef.num_col,
        num_row=ef.num_row,
        nnz=ef.nnz,
    )


def _extensive(
    blocks: Sequence[_Block],
    alpha: float,
    risk_weight: float,
    *,
    shared: bool = True,
    fixed: pd.Series | None = None,
    method: str = "choose",
    time_limit: float | None = None,
    what: str = "the plan",
) -> _Solution:
    """Stack the blocks (first-stage columns merged when ``shared``; fixed at ``fixed``
    when given) with the CVaR rows, and solve the LP."""
    ef = _assemble(blocks, alpha, risk_weight, shared=shared, fixed=fixed)
    return _run(ef, method, time_limit, what)


def _progressive_hedging(
    blocks: Sequence[_Block],
    alpha: float,
    risk_weight: float,
    *,
    method: str,
    time_limit: float | None,
    **options: Any,
) -> _Solution:
    """The plan by progressive hedging over the blocks (:mod:`optimizer.analysis.ph`):
    the first stage fixed at the consensus, every scenario solved exactly; the objective
    is that of the plan so fixed (an upper bound), the facts say how far the Lagrangian
    lower bound is."""
    firsts = pd.Index(sorted({f for b in blocks for f in b.first if f}), dtype=object)
    n1 = len(firsts)
    probs = np.array([b.prob for b in blocks])
    lo, hi = np.full(n1, -INF), np.full(n1, INF)
    cost, mass = np.zeros(n1), np.zeros(n1)
    subs = []
    for k, b in enumerate(blocks):
        cols = np.flatnonzero(b.first != "")
        glob = firsts.get_indexer(b.first[cols])
        np.maximum.at(lo, glob, b.sf.col_lower[cols])
        np.minimum.at(hi, glob, b.sf.col_upper[cols])
        np.add.at(cost, glob, b.prob * b.sf.c[cols])
        np.add.at(mass, glob, b.prob)
        subs.append(ph.Sub(k, b.sf, cols, glob, b.loss, risk_weight, alpha, method, time_limit))
    cost = cost / np.where(mass > 0, mass, 1.0)
    if risk_weight > 0:
        cost, lo, hi = np.append(cost, risk_weight), np.append(lo, -INF), np.append(hi, INF)

    def objective(costs: np.ndarray, losses: np.ndarray) -> float:
        u = float(probs @ costs)
        return u + risk_weight * var_cvar(losses, probs, alpha)[1] if risk_weight > 0 else u

    res = ph.progressive_hedging(subs, probs, n1, cost, objective, lower=lo, upper=hi, **options)
    objective_value = res.facts["objective"]
    return _Solution(
        objective=objective_value,
        first=pd.Series(res.xbar[:n1], index=firsts, dtype=float),
        x=res.x,
        facts=res.facts,
        num_col=sum(len(b.sf.c) for b in blocks),
        num_row=sum(len(b.sf.row_lower) for b in blocks),
        nnz=sum(int(b.sf.A.nnz) for b in blocks),
    )


def _same_structure(blocks: Sequence[_Block]) -> bool:
    """True when every block has the same columns and rows (labels), as an averaged LP needs."""
    b0 = blocks[0]

    def names(b: _Block) -> tuple[list[str], list[str]]:
        cols = [n for k, v in b.cm.var_keys.items() for n in labels(k, v)]
        rows = [n for k, v in b.cm.con_keys.items() for n in labels(k, v)]
        return cols, rows

    ref = names(b0)
    return all(b.sf.A.shape == b0.sf.A.shape and names(b) == ref for b in blocks[1:])


def _mean_block(blocks: Sequence[_Block]) -> _Block:
    """The expected-value problem: every coefficient, bound and right-hand side averaged."""
    p = [b.prob for b in blocks]

    def avg(get):
        with np.errstate(invalid="ignore"):
            return sum(pi * get(b) for pi, b in zip(p, blocks, strict=True))

    b0 = blocks[0]
    sf = StandardForm(
        c=avg(lambda b: b.sf.c),
        offset=float(avg(lambda b: b.sf.offset)),
        A=sp.csc_matrix(avg(lambda b: b.sf.A)),
        col_lower=avg(lambda b: b.sf.col_lower),
        col_upper=avg(lambda b: b.sf.col_upper),
        row_lower=avg(lambda b: b.sf.row_lower),
        row_upper=avg(lambda b: b.sf.row_upper),
        col_slices=b0.sf.col_slices,
        row_slices=b0.sf.row_slices,
    )
    return _Block(
        "expected value", 1.0, b0.inst, b0.cm, sf, b0.first, avg(lambda b: b.loss), b0.contracts
    )


# -- risk measures ----------------------------------------------------------------------


def var_cvar(
    losses: np.ndarray, probs: np.ndarray, alpha: float
) -> tuple[float, float, np.ndarray]:
    """Value at risk (the α-quantile), CVaR_α and each scenario's weight in the CVaR
    (summing to 1) of a discrete loss distribution."""
    losses = np.asarray(losses, dtype=float)
    probs = np.asarray(probs, dtype=float)
    order = np.argsort(losses, kind="stable")
    cum = np.cumsum(probs[order])
    k = int(np.searchsorted(cum, alpha - 1e-12, side="left"))
    var = float(losses[order][min(k, len(order) - 1)])
    above = losses > var + 1e-9 * max(1.0, abs(var))
    w = np.where(above, probs / (1.0 - alpha), 0.0)
    at = ~above & (losses >= var - 1e-9 * max(1.0, abs(var)))
    rest = max(0.0, 1.0 - w.sum())
    if at.any():
        w[at] = rest * probs[at] / probs[at].sum()
    cvar = var + float(np.sum(probs * np.maximum(losses - var, 0.0))) / (1.0 - alpha)
    return var, cvar, w


# -- the plan ---------------------------------------------------------------------------


@dataclass
class PlanResult:
    """What :func:`plan` returns: the plan, the scenarios' outcomes and the summary."""

    #: what to build or stock: kind, id, site, process, commodity, amount, unit,
    #: from_period, cost, committed, expected_release
    plan: pd.DataFrame
    #: per scenario: scenario, probability, objective, first_stage_cost,
    #: second_stage_cost, unmet_value, cvar_weight, objective_without_plan,
    #: unmet_value_without_plan (the first stage at its lower bounds: committed only)
    scenarios: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    #: with ``frontier``: one row per point of the cost-CVaR frontier (:func:`frontier`)
    frontier: pd.DataFrame | None = None
    #: with ``frontier``: each point's plan (the columns of ``plan`` after point, risk_weight)
    frontier_plans: pd.DataFrame | None = None

    @property
    def objective(self) -> float:
        return float(self.summary["objective"])

    def files(self) -> dict[str, Any]:
        """The output folder's files: plan.csv, scenarios.csv, summary.json."""
        from optimizer.fileio import dumps_json

        files: dict[str, Any] = {
            "plan.csv": self.plan,
            "scenarios.csv": self.scenarios,
            "summary.json": dumps_json(self.summary),
        }
        if self.frontier is not None:
            files["frontier.csv"] = self.frontier
            files["plan_frontier.csv"] = self.frontier_plans
        return files


def _check(
    n: int, probabilities: Sequence[float] | None, alpha: float, risk_weight: float
) -> np.ndarray:
    problems = []
    if n == 0:
        problems.append(Problem("--scenario", None, None, "give at least one scenario"))
    if probabilities is None or len(probabilities) == 0:
        p = np.full(max(n, 1), 1.0 / max(n, 1))
    else:
        p = np.asarray(list(probabilities), dtype=float)
        if len(p) != n:
            problems.append(
                Problem("--prob", None, None, f"{len(p)} probabilities for {n} scenarios")
            )
        elif not np.isfinite(p).all() or (p < 0).any():
            problems.append(Problem("--prob", None, None, "probabilities must be >= 0"))
        elif abs(p.sum() - 1.0) > 1e-6:
            problems.append(
                Problem("--prob", None, None, f"probabilities sum to {p.sum():g}, not 1")
            )
    if not (0.0 < alpha < 1.0):
        problems.append(Problem("--alpha", None, None, f"{alpha:g} is not between 0 and 1"))
    if not np.isfinite(risk_weight) or risk_weight < 0:
        problems.append(Problem("--risk-weight", None, None, f"{risk_weight:g} is not >= 0"))
    if problems:
        raise InputError(problems)
    return p


def plan(
    inst: Instance,
    scenarios: Sequence[ScenarioSpec],
    probabilities: Sequence[float] | None = None,
    *,
    alpha: float = 0.9,
    risk_weight: float = 0.0,
    stockpiles: pd.DataFrame | Sequence[tuple[str, str]] | None = None,
    holding_cost: float | None = None,
    release_cost: float | None = None,
    method: str = "choose",
    time_limit: float | None = None,
    value_of_information: bool = True,
    frontier: int | None = None,
    contracts: pd.DataFrame | Sequence[str | tuple[str, str]] | None = None,
    contract_cost: float | None = None,
    decomposition: str = "extensive",
    workers: int | None = None,
    scheduler: str | None = None,
    ph_rho: float = ph.RHO,
    ph_tol: float = ph.TOL,
    ph_gap: float = ph.GAP,
    ph_max_iter: int = ph.MAX_ITER,
    progress: Callable[[int, int], None] | None = None,
) -> PlanResult:
    """The two-stage stochastic plan of ``inst`` over ``scenarios`` (docs/plan.md).

    ``scenarios``: each a scenario id or YAML path (``a+b`` or a list stacks several into
    one case; ``"none"``: the instance as given) or an instance with its scenarios
    applied; ``probabilities`` (default: equal) must sum to 1.  ``stockpiles``: a frame
    of :func:`stock_candidates`, or (site, commodity) pairs, or ``None`` for the default
    candidates (``[]``: none).  ``alpha`` and ``risk_weight`` (λ) weigh the CVaR of the
    unmet end-use value.  With ``value_of_information`` the VSS and EVPI are computed
    (two more LPs).  ``frontier`` (N >= 2): also the cost-CVaR frontier at up to N risk
    weights (:func:`frontier_points`), the plan itself at ``risk_weight``.
    ``contracts``: a frame of :func:`contract_candidates` or link ids (or (link,
    commodity) pairs) to reserve lanes on at ``contract_cost`` per t/yr (short run only).

    ``decomposition``: ``"extensive"`` (one HiGHS LP) or ``"ph"`` (progressive hedging,
    :mod:`optimizer.analysis.ph`: the scenario subproblems on a Dask LocalCluster of
    ``workers`` processes — default one per scenario up to the cores; 1: in this
    process — or on the cluster at ``scheduler``; ``ph_rho`` scales the penalties,
    ``ph_tol`` is the residual of nonanticipativity to stop at, ``ph_gap`` the relative
    gap to the Lagrangian bound to stop at, ``ph_max_iter`` the most iterations; ``progress(iteration, ph_max_iter)``).
    """
    t0 = time.perf_counter()
    p = _check(len(scenarios), probabilities, alpha, risk_weight)
    if frontier is not None and frontier < 2:
        raise InputError(Problem("--frontier", None, None, f"{frontier}: give at least 2 points"))
    if frontier is not None and decomposition == "ph":
        raise InputError(
            Problem(
                "--frontier",
                None,
                None,
                "the frontier re-solves one extensive form warm; give --decomposition "
                "extensive (the default) or drop --frontier",
            )
        )
    if decomposition not in DECOMPOSITIONS:
        raise InputError(
            Problem(
                "--decomposition",
                None,
                None,
                f"{decomposition!r}: choose one of {', '.join(DECOMPOSITIONS)}",
            )
        )
    if decomposition == "ph":
        ph.check_options(ph_rho, ph_tol, ph_gap, ph_max_iter, workers, scheduler)
    elif workers is not None or scheduler:
        raise InputError(
            Problem(
                "--workers" if workers is not None else "--scheduler",
                None,
                None,
                "the extensive form is one LP: --workers and --scheduler run progressive "
                "hedging's subproblems, give --decomposition ph",
            )
        )
    if isinstance(stockpiles, pd.DataFrame):
        cands = stockpiles.reset_index(drop=True)
    else:
        cands = stock_candidates(
            inst,
            None if stockpiles is None else list(stockpiles),
            holding_cost=holding_cost,
            release_cost=release_cost,
        )
    lanes = None
    if contracts is not None and len(contracts):
        lanes = (
            contracts.reset_index(drop=True)
            if isinstance(contracts, pd.DataFrame)
            else contract_candidates(inst, list(contracts), cost=contract_cost)
        )
    blocks = _blocks(inst, scenarios, p, cands, method, time_limit, lanes)
    build_seconds = time.perf_counter() - t0
    if decomposition == "ph":
        rp = _progressive_hedging(
            blocks,
            alpha,
            risk_weight,
            method=method,
            time_limit=time_limit,
            rho=ph_rho,
            tol=ph_tol,
            gap=ph_gap,
            max_iter=ph_max_iter,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
    else:
        rp = _extensive(blocks, alpha, risk_weight, method=method, time_limit=time_limit)
    out = _outcomes(blocks, rp, alpha)
    var, cvar, w = var_cvar(out["unmet_value"].to_numpy(), p, alpha)
    out["cvar_weight"] = w
    # the same scenarios without the plan: every first-stage decision at its lower bound
    # (committed projects only, no stockpile)
    bare = _extensive(
        blocks,
        alpha,
        risk_weight,
        fixed=pd.Series(dtype=float),
        method=method,
        time_limit=time_limit,
        what="the scenarios without the plan",
    )
    without = _outcomes(blocks, bare, alpha)
    out["objective_without_plan"] = without["objective"].to_numpy()
    out["unmet_value_without_plan"] = without["unmet_value"].to_numpy()
    _, cvar0, _ = var_cvar(without["unmet_value"].to_numpy(), p, alpha)
    expected_cost = float(np.sum(p * out["objective"].to_numpy()))
    summary: dict[str, Any] = {
        "objective": rp.objective,
        "expected_cost": expected_cost,
        "first_stage_cost": float(out["first_stage_cost"].iloc[0]) if len(out) else 0.0,
        "expected_second_stage_cost": float(np.sum(p * out["second_stage_cost"].to_numpy())),
        "alpha": alpha,
        "risk_weight": risk_weight,
        "expected_unmet_value": float(np.sum(p * out["unmet_value"].to_numpy())),
        "var": var,
        "cvar": cvar,
        "without_plan": {
            "objective": bare.objective,
            "expected_unmet_value": float(np.sum(p * without["unmet_value"].to_numpy())),
            "cvar": cvar0,
        },
        "value_of_plan": bare.objective - rp.objective,
        "scenarios": [b.name for b in blocks],
        "probabilities": p.tolist(),
        "stock_candidates": len(cands),
        "contract_candidates": 0 if lanes is None else len(lanes),
        "horizon": sorted({b.inst.horizon for b in blocks}),
        "decomposition": decomposition,
    }
    size = {"columns": rp.num_col, "rows": rp.num_row, "nonzeros": rp.nnz}
    if decomposition == "ph":
        summary["progressive_hedging"] = {**rp.facts, "scenario_blocks": size}
    else:
        summary["extensive_form"] = {
            **size,
            "method": rp.facts["method"],
            "solve_seconds": rp.facts["solve_seconds"],
        }
    if value_of_information:
        summary.update(
            _value_of_information(inst, cands, blocks, rp, alpha, risk_weight, method, time_limit)
        )
    front = front_plans = None
    if frontier is not None:
        front, front_plans, info = frontier_points(
            blocks, cands, alpha, frontier, method=method, time_limit=time_limit
        )
        summary["frontier"] = info
    summary["seconds"] = time.perf_counter() - t0
    summary["build_seconds"] = build_seconds
    return PlanResult(_plan_table(blocks, rp, cands), out, summary, front, front_plans)


# -- the frontier of expected cost against CVaR --------------------------------------

#: The ladder of risk weights that finds the low-CVaR end of the frontier (then filled in).
LADDER = (1.0, 10.0, 100.0, 1_000.0, 10_000.0)
#: Relative tolerance below which two frontier points are the same (expected cost, CVaR).
SAME = 1e-6
#: The ladder stops at the first decade that lowers the CVaR by less than this share of
#: its fall since the weight 0.
FLAT = 0.01


@dataclass
class _Point:
    risk_weight: float
    sol: _Solution
    expected_cost: float
    cvar: float
    var: float
    expected_unmet_value: float
    first_stage_cost: float


def frontier_points(
    blocks: Sequence[_Block],
    cands: pd.DataFrame,
    alpha: float,
    n: int,
    *,
    method: str = "choose",
    time_limit: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The frontier of expected cost against CVaR_alpha of the unmet end-use value: up to
    ``n`` distinct plans, each optimal for its risk weight (docs/plan.md "Frontier").

    One extensive form is assembled with the CVaR columns; between points only the costs
    of eta and z_s change (in HiGHS) and the LP is re-solved by the dual simplex from the
    previous basis.  The weights: 0 (the cheapest plan in expectation); then 1, 10, 100, …
    (at most 10^4) until a decade lowers the CVaR by less than 1 % of its fall since the
    weight 0 (the low-CVaR end); then, while
    fewer than ``n`` distinct points are known, the widest gap between two neighbours
    (a, b) is probed at the weight that makes them equally good, (E_b - E_a) / (C_a - C_b):
    the optimum there is a new point between them or, when it is no better than both,
    the segment a-b is part of the frontier and no plan lies between them (non-inferior
    set estimation, Cohon, Church & Sheer 1979).  Returns ``(frontier, plans, info)``.
    """
    t0 = time.perf_counter()
    ef = _assemble(blocks, alpha, 0.0, cvar_columns=True)
    assemble_seconds = time.perf_counter() - t0
    probs = ef.probs
    solves = 0
    seconds: list[tuple[float, str, float]] = []

    def at(lam: float) -> _Point:
        nonlocal solves
        _set_risk_weight(ef, lam)
        sol = _run(
            ef,
            method if solves == 0 else "simplex",
            time_limit,
            f"the frontier at risk weight {lam:g}",
        )
        solves += 1
        seconds.append((lam, sol.facts["method"], sol.facts["solve_seconds"]))
        out = _outcomes(blocks, sol, alpha)
        loss = out["unmet_value"].to_numpy()
        var, cvar, _ = var_cvar(loss, probs, alpha)
        return _Point(
            lam,
            sol,
            float(np.sum(probs * out["objective"].to_numpy())),
            cvar,
            var,
            float(np.sum(probs * loss)),
            float(out["first_stage_cost"].iloc[0]),
        )

    first = at(0.0)
    scale_e = max(abs(first.expected_cost), 1.0)
    scale_c = max(abs(first.cvar), 1.0)

    def same(a: _Point, b: _Point) -> bool:
        return (
            abs(a.expected_cost - b.expected_cost) <= SAME * scale_e
            and abs(a.cvar - b.cvar) <= SAME * scale_c
        )

    pts = [first]
    lowered = False
    for lam in LADDER:
        q = at(lam)
        drop, total = pts[-1].cvar - q.cvar, first.cvar - q.cvar
        if not same(q, pts[-1]):
            pts.append(q)
        if total > SAME * scale_c:
            if lowered and drop < FLAT * total:
                break
            lowered = True
    closed: set[tuple[float, float]] = set()
    budget = 3 * n + len(LADDER)

    def segments() -> list[tuple[_Point, _Point]]:
        return [
            (a, b)
            for a, b in zip(pts, pts[1:], strict=False)
            if (a.risk_weight, b.risk_weight) not in closed and a.cvar - b.cvar > SAME * scale_c
        ]

    while len(pts) < n and solves < budget:
        open_ = segments()
        if not open_:
            break
        rng_e = max(pts[-1].expected_cost - pts[0].expected_cost, SAME * scale_e)
        rng_c = max(pts[0].cvar - pts[-1].cvar, SAME * scale_c)
        a, b = max(
            open_,
            key=lambda ab: (
                ((ab[1].expected_cost - ab[0].expected_cost) / rng_e) ** 2
                + ((ab[0].cvar - ab[1].cvar) / rng_c) ** 2
            ),
        )
        lam = (b.expected_cost - a.expected_cost) / (a.cvar - b.cvar)
        q = at(lam)
        seg = a.expected_cost + lam * a.cvar
        better = seg - (q.expected_cost + lam * q.cvar) > SAME * max(abs(seg), 1.0)
        if not better or same(q, a) or same(q, b):
            closed.add((a.risk_weight, b.risk_weight))
            continue
        pts.append(q)
        pts.sort(key=lambda p: p.risk_weight)
    if len(pts) > n:  # the ladder found more than asked: keep the ends, drop the closest
        while len(pts) > n:
            gaps = [
                abs(pts[i + 1].cvar - pts[i - 1].cvar) / scale_c
                + abs(pts[i + 1].expected_cost - pts[i - 1].expected_cost) / scale_e
                for i in range(1, len(pts) - 1)
            ]
            del pts[1 + int(np.argmin(gaps))]
    rows, plans = [], []
    for i, q in enumerate(pts, start=1):
        pt = _plan_table(blocks, q.sol, cands)
        chosen = pt.loc[(pt["kind"] == "expansion") & (pt["committed"] == "no")]
        rows.append(
            {
                "point": i,
                "risk_weight": q.risk_weight,
                "expected_cost": q.expected_cost,
                "cvar": q.cvar,
                "var": q.var,
                "expected_unmet_value": q.expected_unmet_value,
                "first_stage_cost": q.first_stage_cost,
                "objective": q.expected_cost + q.risk_weight * q.cvar,
                "stockpile_t": float(pt.loc[pt["kind"] == "stockpile", "amount"].sum()),
                "stockpile_cost": float(pt.loc[pt["kind"] == "stockpile", "cost"].sum()),
                "contract_t": float(pt.loc[pt["kind"] == "contract", "amount"].sum()),
                "projects_chosen": len(chosen),
                "projects_cost": float(pt.loc[pt["kind"] == "expansion", "cost"].sum()),
            }
        )
        plans.append(pt.assign(point=i, risk_weight=q.risk_weight))
    front = pd.DataFrame(rows)
    cols = [
        "point",
        "risk_weight",
        *[c for c in plans[0].columns if c not in ("point", "risk_weight")],
    ]
    plan_rows = pd.concat(plans, ignore_index=True)[cols]
    info = {
        "points": len(pts),
        "asked": n,
        "solves": solves,
        "alpha": alpha,
        # every plan of the frontier is a point: no two neighbours have one between them
        "complete": not segments(),
        "assemble_seconds": assemble_seconds,
        # each solve: its weight, the HiGHS method and seconds (re-solves: warm simplex)
        "solve_seconds": [
            {"risk_weight": lam, "method": m, "seconds": sec} for lam, m, sec in seconds
        ],
        "seconds": time.perf_counter() - t0,
    }
    return front, plan_rows, info


def _outcomes(blocks: Sequence[_Block], sol: _Solution, alpha: float) -> pd.DataFrame:
    rows = []
    for b, x in zip(blocks, sol.x, strict=True):
        is1 = b.first != ""
        first = float(b.sf.c[is1] @ x[is1])
        second = float(b.sf.c[~is1] @ x[~is1]) + b.sf.offset
        rows.append(
            {
                "scenario": b.name,
                "probability": b.prob,
                "objective": first + second,
                "first_stage_cost": first,
                "second_stage_cost": second,
                "unmet_value": float(b.loss @ x),
            }
        )
    return pd.DataFrame(rows)


def _value_of_information(
    inst: Instance,
    cands: pd.DataFrame,
    blocks: Sequence[_Block],
    rp: _Solution,
    alpha: float,
    risk_weight: float,
    method: str,
    time_limit: float | None,
) -> dict[str, Any]:
    """VSS (expected-value plan, fixed, on the same scenarios, less the plan's objective)
    and EVPI (the plan's objective less the wait-and-see objective)."""
    same = _same_structure(blocks)
    if same:
        ev_block = _mean_block(blocks)
        ev_how = "the scenarios' LP data averaged with their probabilities"
    else:
        known = next((b for b in blocks if b.name == NONE), None)
        ev_block = (
            dataclasses.replace(known, prob=1.0)
            if known is not None
            else _block(NONE, 1.0, inst, cands, method, time_limit, blocks[0].contracts)
        )
        ev_how = "the instance without the scenarios (they differ in structure, so no average)"
    ev = _extensive(
        [ev_block],
        alpha,
        risk_weight,
        method=method,
        time_limit=time_limit,
        what="the expected-value problem",
    )
    try:
        eev = _extensive(
            blocks,
            alpha,
            risk_weight,
            fixed=ev.first,
            method=method,
            time_limit=time_limit,
            what="the expected-value plan on the scenarios",
        ).objective
    except InfeasibleError:
        eev = float("inf")
    ws = _extensive(
        blocks,
        alpha,
        risk_weight,
        shared=False,
        method=method,
        time_limit=time_limit,
        what="the wait-and-see problem",
    ).objective
    return {
        "vss": eev - rp.objective,
        "eev": eev,
        "evpi": rp.objective - ws,
        "wait_and_see": ws,
        "expected_value_problem": ev_how,
        "expected_value_plan": {k: float(v) for k, v in ev.first.items() if abs(v) > TOL},
    }


def _plan_table(blocks: Sequence[_Block], sol: _Solution, cands: pd.DataFrame) -> pd.DataFrame:
    """plan.csv: the first-stage decisions with a positive amount."""
    b0 = blocks[0]
    cols = [
        "kind",
        "id",
        "site",
        "process",
        "commodity",
        "amount",
        "unit",
        "from_period",
        "cost",
        "committed",
        "expected_release",
    ]
    out = []
    if "build" in b0.cm.var_keys:
        ex = b0.cm.sets.expansions.reset_index(drop=True)
        lab = labels("build", b0.cm.var_keys["build"])
        amt = sol.first.reindex(lab).to_numpy(dtype=float)
        a, b = b0.sf.col_slices["build"]
        pro = b0.inst.tables["processes"].drop_duplicates("id").set_index("id")["site"]
        site = ex["process"].map(pro)
        out.append(
            pd.DataFrame(
                {
                    "kind": "expansion",
                    "id": ex["id"].to_numpy(),
                    "site": site.to_numpy(),
                    "process": ex["process"].to_numpy(),
                    "commodity": "",
                    "amount": amt,
                    "unit": "capacity (units of activity per year)",
                    "from_period": ex["in_service"].to_numpy(),
                    "cost": b0.sf.c[a:b] * amt,
                    "committed": np.where(ex["committed"].to_numpy(dtype=bool), "yes", "no"),
                    "expected_release": np.nan,
                }
            )
        )
    if "stockpile" in b0.cm.var_keys:
        keys = b0.cm.var_keys["stockpile"]
        lab = labels("stockpile", keys)
        amt = sol.first.reindex(lab).to_numpy(dtype=float)
        a, b = b0.sf.col_slices["stockpile"]
        release = np.zeros(len(keys))
        for blk, x in zip(blocks, sol.x, strict=True):
            ra, rb = blk.sf.col_slices["stock_release"]
            rk = blk.cm.var_keys["stock_release"]
            pos = positions(rk, keys, ["site", "commodity"])
            release += blk.prob * np.bincount(pos, weights=x[ra:rb], minlength=len(keys))
        out.append(
            pd.DataFrame(
                {
                    "kind": "stockpile",
                    "id": (keys["site"] + ":" + keys["commodity"]).to_numpy(),
                    "site": keys["site"].to_numpy(),
                    "process": "",
                    "commodity": keys["commodity"].to_numpy(),
                    "amount": amt,
                    "unit": "t",
                    "from_period": b0.cm.sets.periods[0],
                    "cost": b0.sf.c[a:b] * amt,
                    "committed": "no",
                    "expected_release": release,
                }
            )
        )
    if b0.contracts is not None:
        ct = b0.contracts.reset_index(drop=True)
        keys = ct[["link", "commodity"]]
        amt = sol.first.reindex(labels("contract", keys)).to_numpy(dtype=float)
        a, b = b0.sf.col_slices["contract"]
        out.append(
            pd.DataFrame(
                {
                    "kind": "contract",
                    "id": ct["link"].to_numpy(),
                    "site": ct["from_site"].to_numpy(),
                    "process": "",
                    "commodity": ct["commodity"].to_numpy(),
                    "amount": amt,
                    "unit": "t/yr reserved",
                    "from_period": b0.cm.sets.periods[0],
                    "cost": b0.sf.c[a:b] * amt,
                    "committed": "no",
                    "expected_release": np.nan,
                }
            )
        )
    if not out:
        return pd.DataFrame(columns=cols)
    df = pd.concat(out, ignore_index=True)[cols]
    df = df.loc[df["amount"] > TOL].reset_index(drop=True)
    return df.sort_values(["cost", "kind", "id"], ascending=[False, True, True], ignore_index=True)
