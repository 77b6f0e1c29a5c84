"""Stockpile sizing: the smallest strategic stock of one commodity that keeps markets whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer._version import __version__
from optimizer.analysis.survive.outputs import (
    CURVE_COLUMNS,
    DRAWDOWN_COLUMNS,
    NEEDS_COLUMNS,
    OTHERS,
    SIZING_MARKET_COLUMNS,
    TOL,
    StockpileInfeasible,
    StockpileSize,
    span,
)
from optimizer.analysis.survive.stages import Stages
from optimizer.analysis.survive.window import (
    check_common,
    on_hand,
    resolve_commodities,
    resolve_markets,
    start_index,
    start_stocks,
    window,
)
from optimizer.data import periods as P
from optimizer.data.instance import Instance
from optimizer.errors import InputError, Problem
from optimizer.lp.run import INF
from optimizer.results.result import Result
from optimizer.scenarios.apply import apply_scenarios
from optimizer.scenarios.policy_schema import Stockpile
from optimizer.scenarios.stockpile import compile_stockpile
from optimizer.solve import solve


@dataclass(frozen=True)
class StockpileQuestion:
    """What :func:`size_stockpile` is asked: which stock, where, for whom, for how long.

    ``markets`` are market site ids or countries/regions (their market sites);
    default: the markets of ``region``.  ``demand_commodities`` restricts the
    demand kept whole (default: all the markets demand).  The stock sits at
    ``site`` or at a new site ``stockpile.<region>.<commodity>`` linked (at
    ``release_cost``) to every site of the region that uses the commodity, and
    is on hand at the start of ``start``, on top of the baseline's stocks.  The
    window is ``duration`` periods from ``start``.  ``others="held"``: no other
    market's unmet demand (per market and commodity, over the window) may
    exceed what it is without the stockpile; ``"free"``: other markets may be
    starved to serve the chosen ones.
    """

    commodity: str
    region: str
    start: int
    duration: int
    markets: Sequence[str] | None = None
    demand_commodities: Sequence[str] | None = None
    site: str | None = None
    release_cost: float = 0.0
    others: str = "held"
    tol: float = TOL


def size_stockpile(
    inst: Instance,
    disruption: Sequence[str],
    question: StockpileQuestion | None = None,
    **fields,
) -> StockpileSize:
    """The smallest stock of ``question.commodity`` in ``question.region`` that keeps the
    chosen markets whole through the disruption (:class:`StockpileQuestion`; its fields
    may be given as keywords instead).

    Raises :class:`StockpileInfeasible` (exit 3) naming the other commodities
    that would also have to be stocked when this one alone cannot do it.
    """
    q = question if question is not None else StockpileQuestion(**fields)
    pol, chosen, coms = _checked(inst, q)
    i = start_index(inst, q.start)
    horizon = inst.periods[i : i + q.duration]
    dis = apply_scenarios(inst, list(disruption)) if disruption else inst
    protect = _protected(dis, chosen, coms, horizon)
    results: list[Result] = []
    baseline = None
    if i > 0:
        baseline = solve(inst)
        results.append(baseline)
    stocks = start_stocks(inst, dis, on_hand(inst, q.start, baseline))
    built = baseline.expansions if baseline is not None else None

    w = window(dis, horizon, stocks, built, q.start, new_projects=True)
    stock_site = _compile_sizing_stock(w, pol, "--commodity")
    res = solve(w)
    results.append(res)
    lp = Stages(res)
    s_col = lp.add_stock_column(stock_site, q.commodity, horizon[0])
    prot_key = set(zip(protect["market"], protect["commodity"], protect["period"], strict=True))
    keys = lp.unmet_keys
    unmet_upper = np.asarray(lp.h.getLp().col_upper_, dtype=float)[lp.unmet_cols]
    is_prot = np.fromiter(
        (k in prot_key for k in zip(keys["market"], keys["base"], keys["period"], strict=True)),
        dtype=bool,
        count=len(keys),
    )
    # stage 0: no stockpile
    lp.fix(s_col, -1.0, -1.0)
    x0 = lp.run("the disrupted window without a stockpile")
    cost_without = lp.objective()
    unmet0 = lp.unmet(x0)
    groups0 = _other_groups(keys, unmet0, is_prot)
    # stage 1: smallest stockpile
    lp.fix(s_col, -1.0, INF)
    lp.set_costs({s_col: 1.0})
    lp.fix(lp.unmet_cols[is_prot], 0.0, 0.0)
    if q.others == "held":
        lp.hold(groups0, q.tol)
    x1 = lp.try_run()
    summary = {
        "instance": inst.manifest.name,
        "instance_path": str(inst.path),
        "scenarios": list(inst.scenarios),
        "disruption": list(dis.scenarios[len(inst.scenarios) :]),
        "commodity": q.commodity,
        "region": q.region,
        "site": stock_site,
        "release_cost": q.release_cost,
        "markets": chosen,
        "demand_commodities": coms,
        "start": int(q.start),
        "duration": int(q.duration),
        "horizon": [P.plain(p) for p in horizon],
        "others": q.others,
        "tol": q.tol,
        "stocks_on_hand": float(stocks["quantity"].sum()),
        "protected_demand": float(protect["quantity"].sum()),
        "unmet_without": float(unmet0[is_prot].sum()),
        "cost_without": float(cost_without),
        "rechain_version": __version__,
    }
    if x1 is None:
        raise _infeasible(dis, horizon, stocks, built, q, pol, prot_key, groups0, summary)
    quantity = max(float(x1[s_col]) + 1.0, 0.0)
    if quantity < q.tol:
        quantity = 0.0
    x2, cost = _cheapest_with(lp, s_col, x1, quantity, stock_site, q.commodity)
    unmet2 = lp.unmet(x2)
    table = _sizing_table(dis, horizon, keys, unmet0, unmet2, prot_key, q.tol)
    drawdown = _drawdown(lp, x2, stock_site, q.commodity, horizon, stocks, quantity, q.tol)
    curve = _curve(
        lp, s_col, is_prot, unmet_upper, quantity, float(protect["quantity"].sum()), q.tol
    )
    summary.update(
        status="optimal",
        quantity=quantity,
        cost=float(cost),
        unmet_with=float(unmet2[is_prot].sum()),
        left_at_end=float(drawdown["closing"].iloc[-1]) if len(drawdown) else 0.0,
    )
    return StockpileSize(summary, table, drawdown, stocks, results, curve)


#: Points of the size-vs-outcome curve, as fractions of the smallest stockpile.
CURVE_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25)


def _curve(
    lp: Stages,
    s_col: int,
    is_prot: np.ndarray,
    unmet_upper: np.ndarray,
    quantity: float,
    demand: float,
    tol: float,
) -> pd.DataFrame:
    """The size-vs-outcome curve: the least unmet protected demand with a stockpile of S t.

    Run last, on the stage-1 instance (other markets held as in the sizing): the protected
    rows get their bounds back, the cost is their unmet demand, and S is fixed at each
    fraction of the smallest stockpile (:data:`CURVE_FRACTIONS`; 0 and the smallest alone
    when it is 0).  The curve falls to 0 at ``quantity`` (convex: an LP's optimal value in
    a right-hand side).
    """
    prot = lp.unmet_cols[is_prot]
    if len(prot):
        n = len(prot)
        lp.h.changeColsBounds(n, prot.astype(np.int32), np.zeros(n), unmet_upper[is_prot])
    lp.set_costs(dict.fromkeys(prot.tolist(), 1.0))
    sizes = [quantity * f for f in CURVE_FRACTIONS] if quantity > 0 else [0.0]
    rows = []
    for size in sizes:
        lp.fix(s_col, size - 1.0, size - 1.0)  # the column stands for S - 1 (a 1 t sentinel)
        x = lp.run(f"the window with a stockpile of {size:,.1f} t")
        u = float(lp.unmet(x)[is_prot].sum())
        rows.append({"stockpile": size, "unmet": 0.0 if u <= tol else u})
    lp.restore_costs()
    out = pd.DataFrame(rows, columns=["stockpile", "unmet"])
    out["unmet_share"] = out["unmet"] / demand if demand > 0 else 0.0
    return out[CURVE_COLUMNS]


def _checked(inst: Instance, q: StockpileQuestion) -> tuple[Stockpile, list[str], list | None]:
    """The question checked against the instance: (sizing policy, markets, commodities)."""
    problems = check_common(inst, q.start, q.tol)
    i = start_index(inst, q.start) if not problems else 0
    if q.duration < 1:
        problems.append(Problem("--duration", None, None, f"{q.duration}: give at least 1 period"))
    elif not problems and i + q.duration > len(inst.periods):
        left = inst.periods[i:]
        problems.append(
            Problem(
                "--duration",
                None,
                None,
                f"{q.duration} periods from {q.start} runs past the instance's last period: it "
                f"has {len(left)} from {q.start} ({', '.join(map(str, left))})",
            )
        )
    if q.others not in OTHERS:
        problems.append(Problem("--others", None, None, f"{q.others!r}: choose held or free"))
    if q.release_cost < 0:
        problems.append(Problem("--release-cost", None, None, "must be >= 0"))
    pol = None
    try:
        pol = Stockpile(
            type="stockpile",
            region=q.region,
            commodity=q.commodity,
            initial=1.0,
            site=q.site,
            release_cost=max(q.release_cost, 0.0),
        )
        for key, msg in pol.check(inst):
            problems.append(Problem(f"--{key}", None, None, msg))
    except ValueError as e:  # pydantic: an empty region or commodity
        problems.append(Problem("--region", None, None, str(e).splitlines()[0]))
    chosen = resolve_markets(inst, q.markets, q.region, problems)
    coms = resolve_commodities(inst, q.demand_commodities, problems)
    if problems:
        raise InputError(problems)
    assert pol is not None
    return pol, chosen, coms


def _protected(
    dis: Instance, chosen: list[str], coms: list[str] | None, horizon: list[int]
) -> pd.DataFrame:
    """The demand rows kept whole (exit 2 when there are none)."""
    dem = dis.demand
    protect = dem.loc[
        dem["market"].isin(chosen)
        & dem["period"].isin(horizon)
        & (dem["quantity"] > 0)
        & (dem["commodity"].isin(coms) if coms is not None else True)
    ]
    if protect.empty:
        raise InputError(
            Problem(
                "--market",
                None,
                None,
                f"{', '.join(chosen)} demand nothing"
                + (f" of {', '.join(coms)}" if coms is not None else "")
                + f" in {span(horizon)}: there is nothing to keep whole",
            )
        )
    return protect


def _cheapest_with(
    lp: Stages, s_col: int, x1: np.ndarray, quantity: float, site: str, commodity: str
) -> tuple[np.ndarray, float]:
    """Stage 2: the cheapest plan with the smallest stockpile, and among those the one that
    keeps the stock at the stockpile longest; (column values, cost)."""
    lp.restore_costs()
    lp.fix(s_col, -1.0, float(x1[s_col]) + max(1e-9, 1e-9 * quantity))
    x2 = lp.run("the window with the smallest stockpile")
    cost = lp.objective()
    inv = lp.values("inventory", x2)
    at = np.flatnonzero(((inv["site"] == site) & (inv["commodity"] == commodity)).to_numpy())
    if len(at):
        w = np.zeros(lp.h.getNumCol())
        w[lp.handle.cols("inventory", at)] = -1.0
        x3 = lp.among_optimal(cost, w)
        x2 = x2 if x3 is None else x3
    return x2, cost


def _compile_sizing_stock(w: Instance, pol, key: str) -> str:
    """Add a 1 t sentinel stock of ``pol.commodity`` (a new site and links, or at ``pol.site``)."""
    dedicated = f"stockpile.{pol.region}.{pol.commodity}"
    if pol.site is None and dedicated in set(w.sites["id"]):
        pol = pol.model_copy(update={"site": dedicated})
    site = pol.site or dedicated
    compile_stockpile(w, "sizing", pol, "")
    if pol.site is None and not (w.links["from_site"] == site).any():
        raise InputError(
            Problem(
                key,
                None,
                None,
                f"no site in {pol.region} uses {pol.commodity} (as a recipe input or a demand): "
                "a stockpile there could not be drawn on (give --site)",
            )
        )
    return site


def _other_groups(
    keys: pd.DataFrame, unmet: np.ndarray, protected: np.ndarray
) -> list[tuple[np.ndarray, float, tuple[str, str]]]:
    """Positions (in the unmet keys) of each unprotected (market, commodity), and its total."""
    out = []
    idx = np.flatnonzero(~protected)
    if not len(idx):
        return out
    sub = keys.iloc[idx]
    for (m, c), pos in sub.groupby(["market", "base"]).indices.items():
        cols = idx[pos]
        out.append((cols, float(unmet[cols].sum()), (m, c)))
    return out


def _sizing_table(
    dis: Instance,
    horizon: list[int],
    keys: pd.DataFrame,
    unmet0: np.ndarray,
    unmet2: np.ndarray,
    prot_key: set,
    tol: float,
) -> pd.DataFrame:
    k = ["market", "commodity", "period"]
    u = (
        pd.DataFrame(
            {
                "market": keys["market"].to_numpy(),
                "commodity": keys["base"].to_numpy(),
                "period": keys["period"].to_numpy(),
                "unmet_without": unmet0,
                "unmet_with": unmet2,
            }
        )
        .groupby(k, as_index=False)[["unmet_without", "unmet_with"]]
        .sum()
    )
    dem = dis.demand
    d = dem.loc[dem["period"].isin(horizon), [*k, "quantity"]].rename(
        columns={"quantity": "demand"}
    )
    t = d.merge(u, on=k, how="left").fillna({"unmet_without": 0.0, "unmet_with": 0.0})
    for c in ("unmet_without", "unmet_with"):
        t.loc[t[c] <= tol, c] = 0.0
    t["protected"] = [
        (a, b, p) in prot_key
        for a, b, p in zip(t["market"], t["commodity"], t["period"], strict=True)
    ]
    t["country"] = dis.sites.set_index("id")["country"].reindex(t["market"]).to_numpy()
    return t.sort_values(
        ["protected", "market", "commodity", "period"], ascending=[False, True, True, True]
    ).reset_index(drop=True)[SIZING_MARKET_COLUMNS]


def _drawdown(
    lp: Stages,
    x: np.ndarray,
    site: str,
    commodity: str,
    horizon: list[int],
    stocks: pd.DataFrame,
    quantity: float,
    tol: float,
) -> pd.DataFrame:
    inv = lp.values("inventory", x)
    inv = inv.loc[(inv["site"] == site) & (inv["commodity"] == commodity)]
    closing = inv.groupby("period")["quantity"].sum().reindex(horizon).fillna(0.0).clip(lower=0.0)
    there = stocks.loc[(stocks["site"] == site) & (stocks["commodity"] == commodity), "quantity"]
    first = quantity + float(there.sum())
    opening = closing.shift(1)
    opening.iloc[0] = first
    out = pd.DataFrame(
        {
            "period": horizon,
            "site": site,
            "commodity": commodity,
            "opening": opening.to_numpy(),
            "drawn": (opening - closing).clip(lower=0.0).to_numpy(),
            "closing": closing.to_numpy(),
        }
    )
    for c in ("opening", "drawn", "closing"):
        out.loc[out[c] < tol, c] = 0.0
    return out[DRAWDOWN_COLUMNS]


def _region_users(inst: Instance, region: str) -> list[str]:
    """Commodities some site of ``region`` uses (a recipe input or a demand)."""
    members = inst.region_members(region)
    sites = inst.sites
    inside = set(sites.loc[sites["country"].isin(members), "id"])
    rec = inst.recipes
    inputs = rec.loc[rec["direction"] == "input", ["recipe", "commodity"]]
    pro = inst.processes.loc[inst.processes["site"].isin(inside), ["recipe"]]
    used = set(pro.merge(inputs, on="recipe")["commodity"])
    dem = inst.demand
    used |= set(dem.loc[dem["market"].isin(inside) & (dem["quantity"] > 0), "commodity"])
    return sorted(used)


def _infeasible(
    dis, horizon, stocks, built, q: StockpileQuestion, pol, prot_key, groups0, summary
) -> StockpileInfeasible:
    """Which other commodities would also have to be stocked (a third LP), as an error."""
    w = window(dis, horizon, stocks, built, q.start, new_projects=True)
    main_site = _compile_sizing_stock(w, pol, "--commodity")
    extra = [c for c in _region_users(dis, pol.region) if c != pol.commodity]
    sites = {}
    for c in extra:
        p = pol.model_copy(update={"commodity": c, "site": None})
        try:
            sites[c] = _compile_sizing_stock(w, p, "--commodity")
        except InputError:  # nothing in the region could draw on it
            continue
    res = solve(w)
    lp = Stages(res)
    main = lp.add_stock_column(main_site, pol.commodity, horizon[0])
    cols = {c: lp.add_stock_column(s, c, horizon[0]) for c, s in sites.items()}
    keys = lp.unmet_keys
    is_prot = np.fromiter(
        (k in prot_key for k in zip(keys["market"], keys["base"], keys["period"], strict=True)),
        dtype=bool,
        count=len(keys),
    )
    lp.fix(main, -1.0, INF)
    lp.set_costs(dict.fromkeys(cols.values(), 1.0))
    lp.fix(lp.unmet_cols[is_prot], 0.0, 0.0)
    if q.others == "held":
        totals = {g[2]: g[1] for g in groups0}
        mine = _other_groups(keys, np.zeros(len(keys)), is_prot)
        lp.hold([(c, totals.get(name, 0.0), name) for c, _, name in mine], q.tol)
    x = lp.try_run()
    markets = ", ".join(summary["markets"])
    what = f"no stockpile of {pol.commodity} alone keeps {markets} whole in {span(horizon)}" + (
        " without leaving other markets shorter" if q.others == "held" else ""
    )
    diagnosis = [
        f"without a stockpile {summary['unmet_without']:,.1f} t of their demand is unmet",
    ]
    if x is None:
        needs = pd.DataFrame(columns=NEEDS_COLUMNS)
        diagnosis.append(
            f"even unlimited stocks of every commodity used in {pol.region} cannot: what limits "
            "them lies outside the region's stocks (a plant or link capacity, or a market the "
            "region's sites do not supply)"
        )
    else:
        rows = [
            {"commodity": c, "site": sites[c], "quantity": float(x[j]) + 1.0}
            for c, j in cols.items()
            if float(x[j]) + 1.0 > q.tol
        ]
        needs = (
            pd.DataFrame(rows, columns=NEEDS_COLUMNS)
            .sort_values("quantity", ascending=False)
            .reset_index(drop=True)
        )
        # with the others at their minimum, the least of the main commodity
        j = np.array(list(cols.values()), dtype=np.int32)
        total = float(x[j].sum())
        lp.h.addRow(-INF, total + 1e-7 + 1e-9 * abs(total), len(j), j, np.ones(len(j)))
        lp.set_costs({main: 1.0})
        x = lp.try_run() if len(j) else x
        with_main = max(float(x[main]) + 1.0, 0.0) if x is not None else float("nan")
        summary["with_others"] = with_main
        diagnosis.append(
            "other commodities also go short; the fewest extra tonnes that would do it: "
            + "; ".join(
                f"{r.quantity:,.1f} t of {r.commodity} ({r.site})" for r in needs.itertuples()
            )
            + f" (with {with_main:,.1f} t of {pol.commodity})"
        )
    summary = {**summary, "status": "infeasible", "message": what, "diagnosis": diagnosis}
    summary["needs"] = needs.to_dict(orient="records")
    return StockpileInfeasible(what, diagnosis, needs, summary)
