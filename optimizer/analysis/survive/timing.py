"""Time to survive: how many periods each market runs on the stocks on hand."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from optimizer._version import __version__
from optimizer.analysis.survive.outputs import (
    MARKET_COLUMNS,
    MODES,
    STOCK_PATH_COLUMNS,
    SURVIVAL_COLUMNS,
    TOL,
    Survival,
    int_or_none,
)
from optimizer.analysis.survive.stages import delay_shortages
from optimizer.analysis.survive.window import (
    check_common,
    grouped,
    on_hand,
    start_index,
    start_stocks,
    storable_nodes,
    window,
)
from optimizer.data import periods as P
from optimizer.data.instance import Instance
from optimizer.errors import InputError, Problem
from optimizer.results.result import Result
from optimizer.scenarios.apply import apply_scenarios
from optimizer.solve import solve


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
    problems = check_common(inst, start, tol)
    if mode not in MODES:
        problems.append(Problem("--mode", None, None, f"{mode!r}: choose {' or '.join(MODES)}"))
    if problems:
        raise InputError(problems)
    dis = apply_scenarios(inst, list(disruption)) if disruption else inst
    i = start_index(inst, start)
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
    stocks = start_stocks(inst, dis, held)
    built = baseline.expansions if baseline is not None else None

    if mode == "rationed":
        w = window(dis, horizon, stocks, built, start, new_projects=True)
        res = solve(w)
        results.append(res)
        tick()
        unmet, closing = delay_shortages(res, horizon)
        cost = res.objective
    else:
        storable = storable_nodes(dis)
        parts_u, parts_c = [], []
        cost = 0.0
        carry = stocks
        for t in horizon:
            opening = pd.concat(
                [carry, storable.assign(quantity=0.0)], ignore_index=True
            ).drop_duplicates(["site", "commodity"], keep="first")
            w = window(dis, [t], opening, built, start, new_projects=False)
            res = solve(w)
            results.append(res)
            tick()
            sh = res.shortages
            parts_u.append(sh[["market", "commodity", "period", "unmet"]])
            inv = grouped(res.inventory, keep_period=True)
            parts_c.append(inv)
            carry = inv[["site", "commodity", "quantity"]]
            cost += res.objective
        unmet = pd.concat(parts_u, ignore_index=True)
        closing = pd.concat(parts_c, ignore_index=True)

    table, markets = survival_tables(dis, horizon, unmet, tol)
    path = stock_path(dis, horizon, stocks, closing, tol)
    summary = {
        "instance": inst.manifest.name,
        "instance_path": str(inst.path),
        "scenarios": list(inst.scenarios),
        "disruption": list(dis.scenarios[len(inst.scenarios) :]),
        "start": P.plain(start),
        "mode": mode,
        "horizon": [P.plain(p) for p in horizon],
        "tol": tol,
        # tonnes of every commodity summed (kept for earlier readers): do not quote them
        "stocks_on_hand": float(stocks["quantity"].sum()),
        "total_demand": float(table["demand"].sum()),
        "total_unmet": float(table["unmet"].sum()),
        "stocks_by_commodity": {
            str(c): float(q) for c, q in stocks.groupby("commodity")["quantity"].sum().items()
        },
        "unmet_by_commodity": {
            str(c): float(q) for c, q in table.groupby("commodity")["unmet"].sum().items() if q > 0
        },
        "unmet_value": _value_at_risk(dis, table),
        "cost": float(cost),
        "markets_short": int((~markets["survives_horizon"]).sum()),
        "first_short_period": _first(markets["first_short_period"]),
        "rechain_version": __version__,
    }
    return Survival(summary, table, markets, path, stocks, results)


def _value_at_risk(dis: Instance, table: pd.DataFrame) -> float:
    """USD of end-use value unmet (``commodities.value``; 0 for a commodity without one)."""
    com = dis.tables["commodities"]
    if "value" not in com or table.empty:
        return 0.0
    value = pd.to_numeric(com.set_index("id")["value"], errors="coerce")
    return float((table["unmet"] * table["commodity"].map(value).fillna(0.0)).sum())


def survival_tables(
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
    t["first_short_period"] = _periods(t["first_short_period"])
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
    m["first_short_period"] = _periods(m["first_short_period"])
    m["unmet_share"] = np.where(
        m["demand"] > 0, m["unmet"] / m["demand"].where(m["demand"] > 0, 1), 0.0
    )
    m = m.sort_values(
        ["periods_survived", "unmet", "market", "commodity"], ascending=[True, False, True, True]
    ).reset_index(drop=True)
    return t, m[MARKET_COLUMNS]


def stock_path(
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


def _periods(col: pd.Series) -> pd.Series:
    """A column of periods with gaps: nullable integers for years, text for months."""
    vals = col.dropna()
    if len(vals) and not all(P.is_year(v) or isinstance(v, float) for v in vals):
        return col.astype(object).where(col.notna(), None)
    return col.astype("Int64")


def _first(col: pd.Series):
    """The earliest period of a column (None if empty)."""
    vals = list(col.dropna())
    if not vals:
        return None
    if isinstance(vals[0], float):
        return int_or_none(min(vals))
    return P.plain(min(vals, key=P.start))
