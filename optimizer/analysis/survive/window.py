"""The disrupted window: what is on hand when a disruption starts, and the instance of the
periods from then on."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import pandas as pd

from optimizer.analysis.survive.outputs import TOL
from optimizer.data.instance import Instance
from optimizer.errors import InputError, Problem
from optimizer.model.sets import build_sets
from optimizer.model.tracing import split_commodity
from optimizer.results.result import Result
from optimizer.solve import solve


def on_hand(inst: Instance, start: int, baseline: Result | None = None) -> pd.DataFrame:
    """Stocks on hand at the start of period ``start`` when nothing is disrupted.

    The end-of-period inventories of the period before ``start`` in the
    undisrupted solve of ``inst`` (solved here unless ``baseline`` is given),
    or the instance's initial stocks if ``start`` is its first period.
    Columns ``site, commodity, quantity`` (t), positive rows only.
    """
    i = start_index(inst, start)
    if i == 0:
        return grouped(inst.stocks)
    base = baseline if baseline is not None else solve(inst)
    inv = base.inventory
    return grouped(inv.loc[inv["period"] == inst.periods[i - 1]])


def start_index(inst: Instance, start: int) -> int:
    periods = inst.periods
    if start not in periods:
        raise InputError(start_problem(inst, start))
    return periods.index(start)


def start_problem(inst: Instance, start: int) -> Problem:
    return Problem(
        "--start",
        None,
        None,
        f"{start} is not a period of {inst.manifest.name} "
        f"(periods: {', '.join(map(str, inst.periods))})",
    )


def check_common(inst: Instance, start: int, tol: float) -> list[Problem]:
    out = []
    if start not in inst.periods:
        out.append(start_problem(inst, start))
    if not tol >= 0:
        out.append(Problem("--tol", None, None, f"{tol}: must be >= 0"))
    return out


def resolve_markets(
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


def resolve_commodities(
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


def grouped(df: pd.DataFrame, keep_period: bool = False) -> pd.DataFrame:
    """Quantities summed by site and commodity (and period), positive rows only."""
    cols = ["site", "commodity", *(["period"] if keep_period else [])]
    if df is None or df.empty:
        return pd.DataFrame(columns=[*cols, "quantity"])
    g = df.groupby(cols, as_index=False, sort=True)["quantity"].sum()
    return g.loc[g["quantity"] > 0].reset_index(drop=True)


def start_stocks(inst: Instance, dis: Instance, held: pd.DataFrame) -> pd.DataFrame:
    """On-hand stocks plus what the disruption's scenarios add to the initial stocks."""
    key = ["site", "commodity"]
    base = grouped(inst.stocks).set_index(key)["quantity"]
    new = grouped(dis.stocks).set_index(key)["quantity"]
    extra = new.sub(base, fill_value=0.0)
    total = held.set_index(key)["quantity"].add(extra, fill_value=0.0).clip(lower=0.0)
    out = total[total > 0].rename("quantity").reset_index()
    return out.sort_values(key).reset_index(drop=True)


def window(
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


def storable_nodes(dis: Instance) -> pd.DataFrame:
    """(site, commodity) nodes that can hold stock between periods in the multi-period model."""
    if len(dis.periods) < 2:
        return pd.DataFrame(columns=["site", "commodity"])
    sets = build_sets(dis)
    s = sets.storage[["site", "commodity"]].copy()
    s["commodity"] = split_commodity(s["commodity"], sets.labels)[0]
    return s.drop_duplicates().reset_index(drop=True)
