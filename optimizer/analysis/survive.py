r"""Time to survive a disruption on the stocks really on hand, and the stockpile that would.

Both questions are about a disruption (scenarios: table changes and policies,
e.g. an export ban) that **starts** in a period ``start`` of a multi-period
instance, and both avoid the perfect-foresight trap: one LP over the whole
horizon that knows the disruption is coming would build stocks before it
starts, which is not what "time to survive" means.  So:

1. The **undisrupted** instance is solved over its whole horizon.  Its
   end-of-period inventories of the period before ``start`` are what is on
   hand when the disruption strikes (:func:`on_hand`).  If ``start`` is the
   first period, the instance's ``stocks.csv`` is.  Stocks that the
   disruption's own scenarios add (a ``stockpile`` policy) come on top, at
   ``start``: a stockpile released when the disruption strikes.
2. Capacity projects whose construction could start before ``start``
   (``earliest < start``) keep the baseline's decision: built at the amount
   the baseline built (committed), or not at all.  Later candidates may be
   built in response to the disruption (``rationed``), or follow the
   baseline too (``myopic``).
3. The periods from ``start`` on are solved with the disruption applied,
   starting from those stocks (:func:`time_to_survive`).

What remains of foresight inside the disrupted horizon depends on ``mode``:

``rationed`` (default)
    One LP over the periods from ``start`` to the horizon's end: it knows how
    long the disruption lasts and releases stocks where and when they do the
    most good (Simchi-Levi's *time to survive*: how long the chain can match
    supply with demand using its inventories and every other source, with an
    optimal response).  Among the cost-optimal plans it takes the one whose
    shortages come **latest** (a second, lexicographic LP: total cost held at
    its optimum, minimise :math:`\sum_k (n - k)\,\mathrm{unmet}_k`), so a tie
    between "short now" and "short later" never shortens survival.  This is
    an upper bound on survival under any release rule.
``myopic``
    Period by period: each period's LP knows nothing of later periods, draws
    on stocks whenever that is the cheapest way to serve this period, and
    passes its end-of-period inventories on to the next.  Capacity projects
    follow the undisrupted plan (built as the baseline builds them, nothing
    new in response).  A lower bound: stocks are used up as fast as the chain
    would use them.

:func:`size_stockpile` answers the converse: the smallest strategic stock of
one commodity, held in a region (at a new site ``stockpile.<region>.<commodity>``
linked to every site of the region that uses it, as the ``stockpile`` policy
makes, or at a given site) at the start of the disruption, that keeps chosen
markets' unmet demand at zero through a given number of periods.  It is a
lexicographic LP on the ``rationed`` window: first minimise the stock
:math:`S` with those markets' unmet demand fixed at zero and no other market
worse off than without the stockpile; then, with :math:`S` at that minimum,
minimise cost.  When no stock of that commodity alone can do it, a third LP
lets unlimited stocks of it and of every other commodity the region uses be
drawn on, and minimises the tonnes of the others: those are the commodities
that also go short.

The worked examples are in ``docs/analysis.md`` (and ``tests/test_survive.py``).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np
import pandas as pd

from optimizer._version import __version__
from optimizer.errors import InfeasibleError, InputError, Problem, SolverError
from optimizer.fileio import write_folder
from optimizer.model.sets import build_sets
from optimizer.scenarios.apply import apply_scenarios
from optimizer.scenarios.policy_schema import Stockpile
from optimizer.scenarios.stockpile import compile_stockpile
from optimizer.solve import solve

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.results.result import Result

log = logging.getLogger(__name__)

MODES = ("rationed", "myopic")
OTHERS = ("held", "free")

#: Unmet demand above this (t) counts as a shortage; stocks below it as empty.
TOL = 1e-6

SURVIVAL_COLUMNS = [
    "period",
    "market",
    "commodity",
    "demand",
    "served",
    "unmet",
    "first_short_period",
    "periods_survived",
    "survives_horizon",
    "country",
]
MARKET_COLUMNS = [
    "market",
    "commodity",
    "country",
    "first_short_period",
    "periods_survived",
    "survives_horizon",
    "demand",
    "unmet",
    "unmet_share",
]
STOCK_PATH_COLUMNS = ["period", "site", "commodity", "country", "opening", "closing"]
SIZING_MARKET_COLUMNS = [
    "period",
    "market",
    "commodity",
    "demand",
    "unmet_without",
    "unmet_with",
    "protected",
    "country",
]
DRAWDOWN_COLUMNS = ["period", "site", "commodity", "opening", "drawn", "closing"]
NEEDS_COLUMNS = ["commodity", "site", "quantity"]

_INF = highspy.kHighsInf


# -- results -----------------------------------------------------------------


@dataclass
class Survival:
    """What :func:`time_to_survive` returns.

    ``table`` (``survival.csv``): one row per demand row of the disrupted
    horizon — demand, served, unmet, and for its market and commodity the
    first period with unmet demand above ``tol`` (``<NA>`` if none) and the
    number of periods survived from ``start``.  ``markets``
    (``survival_markets.csv``): one row per market and commodity.  ``stocks``
    (``survival_stocks.csv``): opening and closing stock per site, commodity
    and period.  ``on_hand``: the stocks at the start of ``start``.
    ``results``: the :class:`~optimizer.results.Result` of each solve (the
    baseline first when one was needed; for ``rationed`` the window's
    cost-optimal solve, before the later-shortage tie-break the tables use).
    """

    summary: dict[str, Any]
    table: pd.DataFrame
    markets: pd.DataFrame
    stocks: pd.DataFrame
    on_hand: pd.DataFrame
    results: list[Result] = field(default_factory=list, repr=False)

    @property
    def horizon(self) -> list[int]:
        return list(self.summary["horizon"])

    def write(self, out: str | Path) -> Path:
        """Write ``survival.csv``, ``survival_markets.csv``, ``survival_stocks.csv`` and
        ``survival.json`` into folder ``out`` (each file replaced atomically)."""
        return _write(
            out,
            {
                "survival.csv": self.table,
                "survival_markets.csv": self.markets,
                "survival_stocks.csv": self.stocks,
            },
            {"survival.json": self.summary},
        )


@dataclass
class StockpileSize:
    """What :func:`size_stockpile` returns.

    ``quantity``: the smallest stock (t) at ``site`` at the start of the
    disruption.  ``markets`` (``stockpile_markets.csv``): every demand row of
    the window with its unmet demand without and with the stockpile and
    whether it is ``protected``.  ``drawdown`` (``stockpile_drawdown.csv``):
    stock at the site per period.  ``summary`` (``stockpile.json``): the
    question, the answer, costs with and without.  ``results``: the baseline
    (when one was needed) and the window's first solve, which holds a 1 t
    marker stock at the stockpile site (the stages run on its HiGHS instance).
    """

    summary: dict[str, Any]
    markets: pd.DataFrame
    drawdown: pd.DataFrame
    on_hand: pd.DataFrame
    results: list[Result] = field(default_factory=list, repr=False)

    @property
    def quantity(self) -> float:
        return float(self.summary["quantity"])

    @property
    def cost(self) -> float:
        return float(self.summary["cost"])

    def write(self, out: str | Path) -> Path:
        """Write ``stockpile.json``, ``stockpile_markets.csv`` and ``stockpile_drawdown.csv``."""
        return _write(
            out,
            {"stockpile_markets.csv": self.markets, "stockpile_drawdown.csv": self.drawdown},
            {"stockpile.json": self.summary},
        )


class StockpileInfeasible(InfeasibleError):
    """No stock of the commodity alone keeps the markets whole (exit code 3).

    ``needs`` lists the other commodities that would also have to be stocked
    (commodity, site, quantity), empty when even unlimited stocks of every
    commodity the region uses cannot; ``summary`` is what ``stockpile.json``
    holds.
    """

    def __init__(
        self, message: str, diagnosis: list[str], needs: pd.DataFrame, summary: dict[str, Any]
    ):
        super().__init__(message, diagnosis)
        self.needs = needs
        self.summary = summary

    def write(self, out: str | Path) -> Path:
        """Write ``stockpile.json`` (status ``infeasible``) and ``stockpile_needs.csv``."""
        return _write(out, {"stockpile_needs.csv": self.needs}, {"stockpile.json": self.summary})


# -- the public functions -------------------------------------------------------


def on_hand(inst: Instance, start: int, baseline: Result | None = None) -> pd.DataFrame:
    """Stocks on hand at the start of period ``start`` when nothing is disrupted.

    The end-of-period inventories of the period before ``start`` in the
    undisrupted solve of ``inst`` (solved here unless ``baseline`` is given),
    or the instance's initial stocks if ``start`` is its first period.
    Columns ``site, commodity, quantity`` (t), positive rows only.
    """
    i = _start_index(inst, start)
    if i == 0:
        return _grouped(inst.stocks)
    base = baseline if baseline is not None else solve(inst)
    inv = base.inventory
    return _grouped(inv.loc[inv["period"] == inst.periods[i - 1]])


def time_to_survive(
    inst: Instance,
    disruption: Sequence[str],
    start: int,
    *,
    mode: str = "rationed",
    tol: float = TOL,
    progress: Callable[[int, int], None] | None = None,
) -> Survival:
    """How many periods each market runs on the stocks on hand before unmet demand appears.

    ``disruption`` are scenario ids or YAML paths, applied from ``start`` on;
    ``mode`` is ``rationed`` (one LP over the disrupted periods, stocks
    released optimally, shortages as late as the optimum allows) or
    ``myopic`` (period by period).  See the module docstring and
    ``docs/analysis.md`` for the exact definitions.
    """
    problems = _check_common(inst, start, tol)
    if mode not in MODES:
        problems.append(Problem("--mode", None, None, f"{mode!r}: choose {' or '.join(MODES)}"))
    if problems:
        raise InputError(problems)
    dis = apply_scenarios(inst, list(disruption)) if disruption else inst
    i = _start_index(inst, start)
    horizon = inst.periods[i:]
    n_solves = (0 if i == 0 else 1) + (1 if mode == "rationed" else len(horizon))
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, n_solves)

    ex = inst.expansions
    # myopic: every project follows the undisrupted plan, so that plan is needed even at i == 0
    plan = mode == "myopic" and bool(len(ex)) and bool((ex["committed"] != "yes").any())
    n_solves += 1 if i == 0 and plan else 0
    results: list[Result] = []
    baseline = None
    if i > 0 or plan:
        baseline = solve(inst)
        results.append(baseline)
        tick()
    held = on_hand(inst, start, baseline)
    stocks = _start_stocks(inst, dis, held)
    built = baseline.expansions if baseline is not None else None

    if mode == "rationed":
        w = _window(dis, horizon, stocks, built, start, new_projects=True)
        res = solve(w)
        results.append(res)
        tick()
        unmet, closing = _delay_shortages(res, horizon)
        cost = res.objective
    else:
        storable = _storable_nodes(dis)
        parts_u, parts_c = [], []
        cost = 0.0
        carry = stocks
        for t in horizon:
            opening = pd.concat(
                [carry, storable.assign(quantity=0.0)], ignore_index=True
            ).drop_duplicates(["site", "commodity"], keep="first")
            w = _window(dis, [t], opening, built, start, new_projects=False)
            res = solve(w)
            results.append(res)
            tick()
            sh = res.shortages
            parts_u.append(sh[["market", "commodity", "period", "unmet"]])
            inv = _grouped(res.inventory, keep_period=True)
            parts_c.append(inv)
            carry = inv[["site", "commodity", "quantity"]]
            cost += res.objective
        unmet = pd.concat(parts_u, ignore_index=True)
        closing = pd.concat(parts_c, ignore_index=True)

    table, markets = _survival_tables(dis, horizon, unmet, tol)
    path = _stock_path(dis, horizon, stocks, closing, tol)
    summary = {
        "instance": inst.manifest.name,
        "instance_path": str(inst.path),
        "scenarios": list(inst.scenarios),
        "disruption": list(dis.scenarios[len(inst.scenarios) :]),
        "start": int(start),
        "mode": mode,
        "horizon": [int(p) for p in horizon],
        "tol": tol,
        "stocks_on_hand": float(stocks["quantity"].sum()),
        "total_demand": float(table["demand"].sum()),
        "total_unmet": float(table["unmet"].sum()),
        "cost": float(cost),
        "markets_short": int((~markets["survives_horizon"]).sum()),
        "first_short_period": _int_or_none(markets["first_short_period"].min()),
        "rechain_version": __version__,
    }
    return Survival(summary, table, markets, path, stocks, results)


def size_stockpile(
    inst: Instance,
    disruption: Sequence[str],
    *,
    commodity: str,
    region: str,
    start: int,
    duration: int,
    markets: Sequence[str] | None = None,
    demand_commodities: Sequence[str] | None = None,
    site: str | None = None,
    release_cost: float = 0.0,
    others: str = "held",
    tol: float = TOL,
) -> StockpileSize:
    """The smallest stock of ``commodity`` in ``region`` that keeps ``markets`` whole.

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

    Raises :class:`StockpileInfeasible` (exit 3) naming the other commodities
    that would also have to be stocked when this one alone cannot do it.
    """
    problems = _check_common(inst, start, tol)
    i = _start_index(inst, start) if not problems else 0
    if duration < 1:
        problems.append(Problem("--duration", None, None, f"{duration}: give at least 1 period"))
    elif not problems and i + duration > len(inst.periods):
        left = inst.periods[i:]
        problems.append(
            Problem(
                "--duration",
                None,
                None,
                f"{duration} periods from {start} runs past the instance's last period: it has "
                f"{len(left)} from {start} ({', '.join(map(str, left))})",
            )
        )
    if others not in OTHERS:
        problems.append(Problem("--others", None, None, f"{others!r}: choose held or free"))
    if release_cost < 0:
        problems.append(Problem("--release-cost", None, None, "must be >= 0"))
    try:
        pol = Stockpile(
            type="stockpile",
            region=region,
            commodity=commodity,
            initial=1.0,
            site=site,
            release_cost=max(release_cost, 0.0),
        )
        for key, msg in pol.check(inst):
            problems.append(Problem(f"--{key}", None, None, msg))
    except ValueError as e:  # pydantic: an empty region or commodity
        problems.append(Problem("--region", None, None, str(e).splitlines()[0]))
        pol = None
    chosen = _resolve_markets(inst, markets, region, problems)
    coms = _resolve_commodities(inst, demand_commodities, problems)
    if problems:
        raise InputError(problems)
    assert pol is not None
    horizon = inst.periods[i : i + duration]
    dis = apply_scenarios(inst, list(disruption)) if disruption else inst
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
                + f" in {_span(horizon)}: there is nothing to keep whole",
            )
        )
    results: list[Result] = []
    baseline = None
    if i > 0:
        baseline = solve(inst)
        results.append(baseline)
    stocks = _start_stocks(inst, dis, on_hand(inst, start, baseline))
    built = baseline.expansions if baseline is not None else None

    w = _window(dis, horizon, stocks, built, start, new_projects=True)
    stock_site = _compile_sizing_stock(w, pol, "--commodity")
    res = solve(w)
    results.append(res)
    lp = _Lex(res)
    s_col = lp.add_stock_column(stock_site, commodity, horizon[0])
    prot_key = set(zip(protect["market"], protect["commodity"], protect["period"], strict=True))
    keys = lp.unmet_keys
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
    lp.fix(s_col, -1.0, _INF)
    lp.set_costs({s_col: 1.0})
    lp.fix(lp.unmet_cols[is_prot], 0.0, 0.0)
    if others == "held":
        lp.hold(groups0, tol)
    x1 = lp.try_run()
    summary = {
        "instance": inst.manifest.name,
        "instance_path": str(inst.path),
        "scenarios": list(inst.scenarios),
        "disruption": list(dis.scenarios[len(inst.scenarios) :]),
        "commodity": commodity,
        "region": region,
        "site": stock_site,
        "release_cost": release_cost,
        "markets": chosen,
        "demand_commodities": coms,
        "start": int(start),
        "duration": int(duration),
        "horizon": [int(p) for p in horizon],
        "others": others,
        "tol": tol,
        "stocks_on_hand": float(stocks["quantity"].sum()),
        "protected_demand": float(protect["quantity"].sum()),
        "unmet_without": float(unmet0[is_prot].sum()),
        "cost_without": float(cost_without),
        "rechain_version": __version__,
    }
    if x1 is None:
        raise _infeasible(
            inst, dis, horizon, stocks, built, start, pol, prot_key, groups0, others, tol, summary
        )
    quantity = max(float(x1[s_col]) + 1.0, 0.0)
    if quantity < tol:
        quantity = 0.0
    # stage 2: cheapest plan with that stockpile
    lp.restore_costs()
    lp.fix(s_col, -1.0, float(x1[s_col]) + max(1e-9, 1e-9 * quantity))
    x2 = lp.run("the window with the smallest stockpile")
    cost = lp.objective()
    # among the cheapest plans, the one that keeps the stock at the stockpile longest
    inv = lp.values("inventory", x2)
    at = np.flatnonzero(((inv["site"] == stock_site) & (inv["commodity"] == commodity)).to_numpy())
    if len(at):
        w = np.zeros(lp.h.getNumCol())
        w[lp.handle.col_slices["inventory"][0] + at] = -1.0
        x3 = lp.among_optimal(cost, w)
        x2 = x2 if x3 is None else x3
    unmet2 = lp.unmet(x2)
    table = _sizing_table(dis, horizon, keys, unmet0, unmet2, prot_key, tol)
    drawdown = _drawdown(lp, x2, stock_site, commodity, horizon, stocks, quantity, tol)
    summary.update(
        status="optimal",
        quantity=quantity,
        cost=float(cost),
        unmet_with=float(unmet2[is_prot].sum()),
        left_at_end=float(drawdown["closing"].iloc[-1]) if len(drawdown) else 0.0,
    )
    return StockpileSize(summary, table, drawdown, stocks, results)


# -- checks ----------------------------------------------------------------------


def _start_index(inst: Instance, start: int) -> int:
    periods = inst.periods
    if start not in periods:
        raise InputError(_start_problem(inst, start))
    return periods.index(start)


def _start_problem(inst: Instance, start: int) -> Problem:
    return Problem(
        "--start",
        None,
        None,
        f"{start} is not a period of {inst.manifest.name} "
        f"(periods: {', '.join(map(str, inst.periods))})",
    )


def _check_common(inst: Instance, start: int, tol: float) -> list[Problem]:
    out = []
    if start not in inst.periods:
        out.append(_start_problem(inst, start))
    if not tol >= 0:
        out.append(Problem("--tol", None, None, f"{tol}: must be >= 0"))
    return out


def _resolve_markets(
    inst: Instance, markets: Sequence[str] | None, region: str, problems: list[Problem]
) -> list[str]:
    sites = inst.sites
    mk = sites.loc[sites["stage"] == "market"]
    demanded = set(inst.demand["market"])
    mk = mk.loc[mk["id"].isin(demanded)]
    if not markets and not inst.region_members(region) & set(sites["country"]):
        return []  # the region itself is reported as unknown
    names = list(markets) if markets else [region]
    out: list[str] = []
    for name in names:
        if name in set(mk["id"]):
            out.append(name)
            continue
        members = inst.region_members(name)
        hit = mk.loc[mk["country"].isin(members), "id"].tolist()
        if name in set(sites["id"]):
            problems.append(
                Problem("--market", None, None, f"site {name!r} is not a market with demand")
            )
        elif hit:
            out.extend(hit)
        else:
            known = sorted(mk["id"])
            problems.append(
                Problem(
                    "--market",
                    None,
                    None,
                    f"{name!r} is neither a market with demand nor a country or region with one "
                    f"(markets: {', '.join(known[:12])}{', …' if len(known) > 12 else ''})",
                )
            )
    return list(dict.fromkeys(out))


def _resolve_commodities(
    inst: Instance, names: Sequence[str] | None, problems: list[Problem]
) -> list[str] | None:
    if not names:
        return None
    known = set(inst.commodities["id"]) | set(inst.manifest.commodity_groups)
    out: list[str] = []
    for n in names:
        if n not in known:
            problems.append(
                Problem("--demand-commodity", None, None, f"{n!r} is not a commodity id or group")
            )
        else:
            out.extend(inst.commodities_of(n))
    return list(dict.fromkeys(out))


# -- the disrupted window ---------------------------------------------------------


def _grouped(df: pd.DataFrame, keep_period: bool = False) -> pd.DataFrame:
    """Quantities summed by site and commodity (and period), positive rows only."""
    cols = ["site", "commodity", *(["period"] if keep_period else [])]
    if df is None or df.empty:
        return pd.DataFrame(columns=[*cols, "quantity"])
    g = df.groupby(cols, as_index=False, sort=True)["quantity"].sum()
    return g.loc[g["quantity"] > 0].reset_index(drop=True)


def _start_stocks(inst: Instance, dis: Instance, held: pd.DataFrame) -> pd.DataFrame:
    """On-hand stocks plus what the disruption's scenarios add to the initial stocks."""
    key = ["site", "commodity"]
    base = _grouped(inst.stocks).set_index(key)["quantity"]
    new = _grouped(dis.stocks).set_index(key)["quantity"]
    extra = new.sub(base, fill_value=0.0)
    total = held.set_index(key)["quantity"].add(extra, fill_value=0.0).clip(lower=0.0)
    out = total[total > 0].rename("quantity").reset_index()
    return out.sort_values(key).reset_index(drop=True)


def _window(
    dis: Instance,
    periods: list[int],
    stocks: pd.DataFrame,
    built: pd.DataFrame | None,
    start: int,
    *,
    new_projects: bool,
) -> Instance:
    """``dis`` restricted to ``periods``, starting from ``stocks``.

    With a baseline (``built``), projects with ``earliest < start`` keep its
    decision (committed at the amount built, or dropped); so do later ones
    unless ``new_projects``, in which case they stay as the data has them.
    """
    w = copy.copy(dis)
    w.tables = {k: v.copy() for k, v in dis.tables.items()}
    w.manifest = dis.manifest.model_copy(update={"periods": list(periods)})
    w.warnings = []
    dem = w.tables["demand"]
    w.tables["demand"] = dem.loc[dem["period"].isin(periods)].reset_index(drop=True)
    st = stocks[["site", "commodity", "quantity"]].copy()
    st["source"] = ""
    st["_line"] = 0
    w.tables["stocks"] = st.reset_index(drop=True)
    ex = w.tables.get("expansions")
    if ex is not None and len(ex):
        ex = ex.copy()
        decided = ((ex["earliest"].astype(float) < start).to_numpy() | (not new_projects)) & (
            built is not None
        )
        amount = (
            ex["id"].map(built.set_index("id")["built"]).fillna(0.0).to_numpy(dtype=float)
            if built is not None and len(built)
            else np.zeros(len(ex))
        )
        committed = (ex["committed"] == "yes").to_numpy()
        keep = np.where(decided, amount > TOL, committed | new_projects)
        ex.loc[decided, "capacity"] = amount[decided]
        ex.loc[decided, "committed"] = "yes"
        w.tables["expansions"] = ex.loc[keep].reset_index(drop=True)
    pols = []
    for pid, p in dis.policies:
        ps = getattr(p, "periods", None)
        if ps is None:
            pols.append((pid, p))
            continue
        inside = [t for t in ps if t in periods]
        if inside:
            pols.append((pid, p.model_copy(update={"periods": inside})))
    w.policies = pols
    return w


def _storable_nodes(dis: Instance) -> pd.DataFrame:
    """(site, commodity) nodes that can hold stock between periods in the multi-period model."""
    if len(dis.periods) < 2:
        return pd.DataFrame(columns=["site", "commodity"])
    s = build_sets(dis).storage[["site", "commodity"]].copy()
    s["commodity"] = _base_commodity(s["commodity"])
    return s.drop_duplicates().reset_index(drop=True)


def _base_commodity(col: pd.Series) -> pd.Series:
    """Commodity ids without an origin label (``Dy_oxide@CN`` -> ``Dy_oxide``)."""
    return col.astype(str).str.split("@", n=1).str[0]


# -- LP stages on a solved window ---------------------------------------------------


class _Lex:
    """Lexicographic stages on the HiGHS instance of a solved window."""

    def __init__(self, res: Result):
        handle = res.extra.get("handle") if res.extra else None
        if handle is None:  # pragma: no cover - programming error
            raise SolverError("internal error: the solve kept no HiGHS handle")
        self.handle = handle
        self.h = handle.highs
        self.cm = handle.cm
        lp = self.h.getLp()
        self.cost = np.asarray(lp.col_cost_, dtype=float).copy()
        self.offset = float(lp.offset_)
        a, b = handle.col_slices.get("unmet", (0, 0))
        self.unmet_cols = np.arange(a, b, dtype=np.int32)
        keys = self.cm.var_keys.get(
            "unmet", pd.DataFrame(columns=["market", "commodity", "period"])
        )
        self.unmet_keys = keys.assign(base=_base_commodity(keys["commodity"])).reset_index(
            drop=True
        )

    def add_stock_column(self, site: str, commodity: str, period: int) -> int:
        """A column S with +1 in the balance row where ``site``'s stock of ``commodity`` enters."""
        bk = self.cm.con_keys["balance"]
        hit = bk.loc[
            (bk["site"] == site)
            & (bk["period"] == period)
            & (_base_commodity(bk["commodity"]) == commodity)
        ]
        if hit.empty:  # pragma: no cover - compile_stockpile always makes this node
            raise SolverError(f"internal error: no balance row for {site}, {commodity}, {period}")
        # with origin tracing a node has one row per label: the stock enters the one with
        # the lowest right-hand side (the sizing stock is a 1 t sentinel)
        pos = int(hit["rhs"].astype(float).idxmin())
        row = self.handle.row_slices["balance"][0] + pos
        col = self.h.getNumCol()
        self.h.addCol(0.0, -1.0, _INF, 1, np.array([row], dtype=np.int32), np.array([1.0]))
        self.cost = np.append(self.cost, 0.0)
        return col

    def fix(self, cols, lo: float, hi: float) -> None:
        cols = np.atleast_1d(np.asarray(cols, dtype=np.int32))
        if len(cols):
            n = len(cols)
            self.h.changeColsBounds(n, cols, np.full(n, lo), np.full(n, hi))

    def set_costs(self, costs: dict[int, float]) -> None:
        c = np.zeros(self.h.getNumCol())
        for j, v in costs.items():
            c[j] = v
        self._costs(c)

    def restore_costs(self) -> None:
        self._costs(self.cost)

    def _costs(self, c: np.ndarray) -> None:
        n = len(c)
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(c, dtype=float))

    def hold(self, groups: list[tuple[np.ndarray, float, Any]], tol: float) -> None:
        """Rows: the unmet demand of each group (positions in ``unmet_keys``) at most its total."""
        if not groups:
            return
        starts, idx, ub = [], [], []
        for pos, total, _name in groups:
            starts.append(sum(len(c) for c in idx))
            idx.append(self.unmet_cols[pos])
            ub.append(total + tol + 1e-9 * total)
        ind = np.concatenate(idx).astype(np.int32)
        n = len(groups)
        self.h.addRows(
            n,
            np.full(n, -_INF),
            np.asarray(ub, dtype=float),
            len(ind),
            np.asarray(starts, dtype=np.int32),
            ind,
            np.ones(len(ind)),
        )

    def try_run(self) -> np.ndarray | None:
        """Solve; the column values, or None if infeasible."""
        self.h.run()
        ms = self.h.getModelStatus()
        MS = highspy.HighsModelStatus
        if ms in (MS.kInfeasible, MS.kUnboundedOrInfeasible):
            return None
        if ms != MS.kOptimal:
            raise SolverError(f"HiGHS failed: {self.h.modelStatusToString(ms)}")
        return np.asarray(self.h.getSolution().col_value, dtype=float).copy()

    def run(self, what: str) -> np.ndarray:
        x = self.try_run()
        if x is None:  # pragma: no cover - elastic demand keeps these feasible
            raise InfeasibleError(f"{what} is infeasible; check hard limits in the scenarios")
        return x

    def among_optimal(self, opt: float, weights: np.ndarray) -> np.ndarray | None:
        """Minimise ``weights · x`` keeping the cost at most ``opt`` (+1e-9 relative).

        The cost row is removed and the costs restored afterwards, so the
        instance is left as it was; returns the column values, or None.
        """
        nz = np.flatnonzero(self.cost)
        slack = 1e-9 * max(1.0, abs(opt)) + 1e-7
        row = self.h.getNumRow()
        self.h.addRow(
            -_INF, opt - self.offset + slack, len(nz), nz.astype(np.int32), self.cost[nz].copy()
        )
        self._costs(weights)
        try:
            return self.try_run()
        finally:
            self.h.deleteRows(1, np.array([row], dtype=np.int32))
            self.restore_costs()

    def objective(self) -> float:
        x = np.asarray(self.h.getSolution().col_value, dtype=float)
        return float(np.dot(self.cost[: len(x)], x) + self.offset)

    def unmet(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x[self.unmet_cols], 0.0, None)

    def values(self, name: str, x: np.ndarray) -> pd.DataFrame:
        if name not in self.handle.col_slices:
            return pd.DataFrame(columns=["site", "commodity", "period", "quantity"])
        a, b = self.handle.col_slices[name]
        keys = self.cm.var_keys[name]
        return pd.DataFrame(
            {
                "site": keys["site"].to_numpy(),
                "commodity": _base_commodity(keys["commodity"]).to_numpy(),
                "period": keys["period"].to_numpy(),
                "quantity": x[a:b],
            }
        )


def _delay_shortages(res: Result, horizon: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unmet demand and closing inventories of the cost-optimal plan whose shortages come latest.

    Second LP on the same HiGHS instance: total cost at most its optimum
    (plus 1e-9 relative), minimise the sum over unmet demand of
    ``unmet × (periods left until the horizon's end, counting its own)``.
    """
    lp = _Lex(res)
    x = np.asarray(lp.h.getSolution().col_value, dtype=float).copy()
    if len(horizon) > 1 and len(lp.unmet_cols):
        left = {p: len(horizon) - k for k, p in enumerate(horizon)}
        w = np.zeros(lp.h.getNumCol())
        w[lp.unmet_cols] = lp.unmet_keys["period"].map(left).to_numpy(dtype=float)
        x2 = lp.among_optimal(float(res.objective), w)
        if x2 is None:  # pragma: no cover - the cost-optimal point is feasible
            log.warning("the later-shortage tie-break failed; keeping the cost-optimal plan")
        else:
            x = x2
    keys = lp.unmet_keys
    unmet = pd.DataFrame(
        {
            "market": keys["market"].to_numpy(),
            "commodity": keys["base"].to_numpy(),
            "period": keys["period"].to_numpy(),
            "unmet": lp.unmet(x),
        }
    )
    inv = lp.values("inventory", x)
    return unmet, _grouped(inv, keep_period=True)


# -- time-to-survive tables ----------------------------------------------------------


def _survival_tables(
    dis: Instance, horizon: list[int], unmet: pd.DataFrame, tol: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    key = ["market", "commodity", "period"]
    dem = dis.demand
    d = (
        dem.loc[dem["period"].isin(horizon), key + ["quantity"]]
        .rename(columns={"quantity": "demand"})
        .groupby(key, as_index=False)["demand"]
        .sum()
    )
    u = unmet.groupby(key, as_index=False)["unmet"].sum()
    t = d.merge(u, on=key, how="left")
    t["unmet"] = t["unmet"].fillna(0.0).clip(lower=0.0)
    t.loc[t["unmet"] <= tol, "unmet"] = 0.0  # solver noise (the tie-break's cost slack)
    t["served"] = t["demand"] - t["unmet"]
    short = t.loc[t["unmet"] > tol]
    first = short.groupby(["market", "commodity"])["period"].min().rename("first_short_period")
    t = t.merge(first.reset_index(), on=["market", "commodity"], how="left")
    pos = {p: k for k, p in enumerate(horizon)}
    t["periods_survived"] = (
        t["first_short_period"].map(pos).fillna(len(horizon)).astype(int).to_numpy()
    )
    t["survives_horizon"] = t["first_short_period"].isna()
    t["first_short_period"] = t["first_short_period"].astype("Int64")
    country = dis.sites.set_index("id")["country"]
    t["country"] = country.reindex(t["market"]).to_numpy()
    t = t.sort_values(["market", "commodity", "period"]).reset_index(drop=True)[SURVIVAL_COLUMNS]
    m = t.groupby(["market", "commodity"], as_index=False, sort=True).agg(
        country=("country", "first"),
        first_short_period=("first_short_period", "first"),
        periods_survived=("periods_survived", "first"),
        survives_horizon=("survives_horizon", "first"),
        demand=("demand", "sum"),
        unmet=("unmet", "sum"),
    )
    m["first_short_period"] = m["first_short_period"].astype("Int64")
    m["unmet_share"] = np.where(
        m["demand"] > 0, m["unmet"] / m["demand"].where(m["demand"] > 0, 1), 0.0
    )
    m = m.sort_values(
        ["periods_survived", "unmet", "market", "commodity"], ascending=[True, False, True, True]
    ).reset_index(drop=True)
    return t, m[MARKET_COLUMNS]


def _stock_path(
    dis: Instance, horizon: list[int], stocks: pd.DataFrame, closing: pd.DataFrame, tol: float
) -> pd.DataFrame:
    """Opening and closing stock per site, commodity and period of the horizon."""
    key = ["site", "commodity"]
    close = (
        closing.pivot_table(index=key, columns="period", values="quantity", aggfunc="sum")
        if len(closing)
        else pd.DataFrame()
    )
    nodes = (
        pd.MultiIndex.from_frame(
            pd.concat([stocks[key], closing[key]], ignore_index=True).drop_duplicates()
        )
        if len(stocks) or len(closing)
        else pd.MultiIndex.from_tuples([], names=key)
    )
    close = close.reindex(index=nodes, columns=horizon).fillna(0.0)
    first = stocks.set_index(key)["quantity"].reindex(nodes).fillna(0.0)
    opening = close.shift(1, axis=1)
    opening[horizon[0]] = first.to_numpy()
    out = (
        opening.stack(future_stack=True)
        .rename("opening")
        .to_frame()
        .join(close.stack(future_stack=True).rename("closing"))
        .reset_index()
    )
    out.columns = ["site", "commodity", "period", "opening", "closing"]
    for c in ("opening", "closing"):
        out.loc[out[c] <= tol, c] = 0.0
    out = out.loc[(out["opening"] > tol) | (out["closing"] > tol)]
    country = dis.sites.set_index("id")["country"]
    out["country"] = country.reindex(out["site"]).to_numpy()
    return out.sort_values(["period", "site", "commodity"]).reset_index(drop=True)[
        STOCK_PATH_COLUMNS
    ]


# -- stockpile sizing ---------------------------------------------------------------


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
    lp: _Lex,
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
    inst, dis, horizon, stocks, built, start, pol, prot_key, groups0, others, tol, summary
) -> StockpileInfeasible:
    """Which other commodities would also have to be stocked (a third LP), as an error."""
    w = _window(dis, horizon, stocks, built, start, new_projects=True)
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
    lp = _Lex(res)
    main = lp.add_stock_column(main_site, pol.commodity, horizon[0])
    cols = {c: lp.add_stock_column(s, c, horizon[0]) for c, s in sites.items()}
    keys = lp.unmet_keys
    is_prot = np.fromiter(
        (k in prot_key for k in zip(keys["market"], keys["base"], keys["period"], strict=True)),
        dtype=bool,
        count=len(keys),
    )
    lp.fix(main, -1.0, _INF)
    lp.set_costs(dict.fromkeys(cols.values(), 1.0))
    lp.fix(lp.unmet_cols[is_prot], 0.0, 0.0)
    if others == "held":
        totals = {g[2]: g[1] for g in groups0}
        mine = _other_groups(keys, np.zeros(len(keys)), is_prot)
        lp.hold([(c, totals.get(name, 0.0), name) for c, _, name in mine], tol)
    x = lp.try_run()
    markets = ", ".join(summary["markets"])
    what = f"no stockpile of {pol.commodity} alone keeps {markets} whole in {_span(horizon)}" + (
        " without leaving other markets shorter" if others == "held" else ""
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
            if float(x[j]) + 1.0 > tol
        ]
        needs = (
            pd.DataFrame(rows, columns=NEEDS_COLUMNS)
            .sort_values("quantity", ascending=False)
            .reset_index(drop=True)
        )
        # with the others at their minimum, the least of the main commodity
        j = np.array(list(cols.values()), dtype=np.int32)
        total = float(x[j].sum())
        lp.h.addRow(-_INF, total + 1e-7 + 1e-9 * abs(total), len(j), j, np.ones(len(j)))
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


# -- helpers ------------------------------------------------------------------------


def _span(periods: list[int]) -> str:
    return str(periods[0]) if len(periods) == 1 else f"{periods[0]}–{periods[-1]}"


def _int_or_none(v: Any) -> int | None:
    return None if v is None or pd.isna(v) else int(v)


def _write(out: str | Path, tables: dict[str, pd.DataFrame], docs: dict[str, dict]) -> Path:
    """Write the tables (CSV) and documents (JSON) into folder ``out`` (atomically per file)."""
    return write_folder(out, {**tables, **docs})


__all__ = [
    "MODES",
    "StockpileInfeasible",
    "StockpileSize",
    "Survival",
    "on_hand",
    "size_stockpile",
    "time_to_survive",
]
