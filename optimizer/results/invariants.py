"""Independent checks of a solved result against the instance it came from.

Recomputes, from the *input tables* and the *output tables* only (not from the
LP), that material is conserved at every site, commodity and period, that no
capacity is exceeded, and that every quantity is non-negative.  The test suite
runs it on every solve; users can too (``check_result(inst, res)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.data import periods as P
from optimizer.model.tracing import site_label, site_tags
from optimizer.model.transit import landed, transit_lags
from optimizer.policies import registry
from optimizer.results.columns import NOISE

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.results.result import Result

#: Absolute tolerance in tonnes, relative to the size of the quantities involved.
ATOL = NOISE
RTOL = 1e-7


def _tol(scale: float) -> float:
    return ATOL + RTOL * abs(scale)


def mass_balance(inst: Instance, res: Result) -> pd.DataFrame:
    """Residual of the commodity balance per (site, commodity, origin, period), from the tables.

    made + received + stock drawn = used + shipped + disposed + served;
    the residual should be zero everywhere.  With origin tracing the balance
    holds for each origin label (``origin``), with the ``use`` and ``relabel``
    steps of ``origins.csv`` moving material between labels; without it
    ``origin`` is "" throughout.
    """
    t = inst.tables
    key = ["site", "commodity", "origin", "period"]
    rec = t["recipes"].assign(
        coef=lambda d: np.where(d["direction"] == "output", 1.0, -1.0) * d["amount"]
    )
    prod = res.production.merge(rec[["recipe", "commodity", "coef"]], on="recipe")
    prod = prod.assign(q=prod["activity"] * prod["coef"])[[*key, "q"]]
    fl = res.flows
    lags = transit_lags(inst)
    arrived = landed(fl, lags, inst.periods, getattr(inst, "arrivals", None) is None)
    inflow = arrived.rename(columns={"target": "site"}).assign(q=arrived["quantity"])[[*key, "q"]]
    outflow = fl.rename(columns={"source": "site"}).assign(q=-fl["quantity"])[[*key, "q"]]
    sh = res.shortages
    served = sh.rename(columns={"market": "site"}).assign(q=-sh["served"], origin="")[[*key, "q"]]
    parts = [prod, inflow, outflow, served]
    if len(res.disposal):
        parts.append(res.disposal.assign(q=-res.disposal["quantity"])[[*key, "q"]])
    periods = inst.periods
    if len(res.inventory):
        inv = res.inventory
        parts.append(inv.assign(q=-inv["quantity"])[[*key, "q"]])
        nxt = dict(zip(periods, periods[1:], strict=False))
        carried = inv.loc[inv["period"].map(nxt).notna()]
        parts.append(
            carried.assign(period=P.tidy(carried["period"].map(nxt)), q=carried["quantity"])[
                [*key, "q"]
            ]
        )
    st = inst.stocks
    if len(st):
        origin = ""
        if inst.origins:
            trig = site_tags(inst)
            origin = [site_label(inst, trig, x) for x in st["site"]]
        parts.append(st.assign(period=periods[0], q=st["quantity"], origin=origin)[[*key, "q"]])
    arr = getattr(inst, "arrivals", None)
    if arr is not None and len(arr):
        parts.append(arr.assign(q=arr["quantity"], origin="")[[*key, "q"]])
    steps = res.origins
    if len(steps):
        use = steps.loc[steps["step"] == "use"]
        parts.append(use.assign(q=-use["quantity"])[[*key, "q"]])
        parts.append(use.assign(q=use["quantity"], origin="")[[*key, "q"]])
        rel = steps.loc[steps["step"] == "relabel"]
        parts.append(rel.assign(q=-rel["quantity"])[[*key, "q"]])
        parts.append(rel.assign(q=rel["quantity"], origin=rel["to_origin"])[[*key, "q"]])
    allq = pd.concat(parts, ignore_index=True)
    allq["origin"] = allq["origin"].fillna("")
    allq["abs"] = allq["q"].abs()
    out = allq.groupby(key, as_index=False).agg(residual=("q", "sum"), scale=("abs", "sum"))
    return out


def _idle_lines(inst: Instance) -> pd.Series:
    """Process id -> 1 / utilisation of its stage (``short_run.utilisation``), where set."""
    sr = inst.tables.get("short_run")
    if sr is None or "utilisation" not in sr:
        return pd.Series(dtype=float)
    u = sr.set_index("stage")["utilisation"].astype(float).dropna()
    stage = inst.tables["sites"].set_index("id")["stage"]
    site = inst.tables["processes"].drop_duplicates("id").set_index("id")["site"]
    return (1.0 / site.map(stage).map(u)).dropna()


def check_result(inst: Instance, res: Result) -> list[str]:
    """Every violated invariant, as readable strings (empty when all hold)."""
    problems: list[str] = []
    mb = mass_balance(inst, res)
    bad = mb.loc[mb["residual"].abs() > mb["scale"].map(_tol)]
    for r in bad.itertuples(index=False):
        problems.append(
            f"mass balance: {r.site}/{r.commodity}{'@' + r.origin if r.origin else ''}/"
            f"{r.period} residual {r.residual:.6g} t"
        )

    pro = inst.tables["processes"]
    cap = pro.groupby("id")["capacity"].max().dropna()
    # idle lines may restart (short_run.utilisation) wherever a reference plan prices them
    if res.summary.get("horizon") == "short" or "reference_objective" in res.summary:
        cap = cap * _idle_lines(inst).reindex(cap.index).fillna(1.0)
    used = res.production.groupby(["process", "period"])["activity"].sum()
    added: dict[tuple, float] = {}
    if len(res.expansions):
        for r in res.expansions.itertuples(index=False):
            for p in inst.periods:
                if p >= r.in_service:
                    added[(r.process, p)] = added.get((r.process, p), 0.0) + r.built
    for (pid, period), v in used.items():
        limit = cap.get(pid, np.inf) + added.get((pid, period), 0.0)
        if pid in cap.index and v > limit + _tol(limit):
            problems.append(
                f"capacity: process {pid} in {period} runs {v:.6g} > capacity {cap[pid]:.6g}"
            )
    links = inst.tables["links"].set_index("id")["capacity"].dropna()
    lused = res.flows.groupby(["link", "period"])["quantity"].sum()
    for (lid, period), v in lused.items():
        if lid in links.index and v > links[lid] + _tol(links[lid]):
            problems.append(
                f"capacity: link {lid} in {period} carries {v:.6g} > capacity {links[lid]:.6g}"
            )

    for name, col in (
        ("flows", "quantity"),
        ("production", "activity"),
        ("disposal", "quantity"),
        ("inventory", "quantity"),
    ):
        df = getattr(res, name)
        neg = df.loc[df[col] < -ATOL]
        for r in neg.itertuples(index=False):
            problems.append(f"negative {name}: {r}")
    sh = res.shortages
    for r in sh.loc[
        (sh["unmet"] < -ATOL) | (sh["served"] < -ATOL) | (sh["unmet"] > sh["demand"] + ATOL)
    ].itertuples(index=False):
        problems.append(f"shortage out of range: {r}")
    problems += registry.check_result(inst, res)  # the policy families' own invariants
    return problems
