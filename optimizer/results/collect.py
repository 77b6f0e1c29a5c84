"""Turn the HiGHS solution of a built model into the labelled tables of a :class:`Result`.

Every value comes through :class:`~optimizer.lp.handoff.LpHandle`'s accessors
(``value``, ``dual``, ``row_activity``); each table has its own function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer._version import __version__
from optimizer.lp.handoff import LpHandle
from optimizer.lp.handoff import labels as key_labels
from optimizer.model.tracing import PSEUDO, split_commodity, split_recipe
from optimizer.policies import registry
from optimizer.results.area_prices import area_prices
from optimizer.results.columns import (
    CONTENT_COLUMNS,
    DUAL_TOL,
    EXPANSION_COLUMNS,
    ORIGIN_COLUMNS,
    OUTPUT_COLUMNS,
    POLICY_COLUMNS,
    TOL,
)
from optimizer.results.concentration import concentration
from optimizer.results.result import Result

if TYPE_CHECKING:
    from optimizer.data.instance import Instance


@dataclass
class _Solution:
    """The HiGHS solution of one solve, with what every table needs."""

    handle: LpHandle
    x: np.ndarray  # column values
    y: np.ndarray  # row duals in USD of their own period
    r: np.ndarray  # row activities
    country: pd.Series  # site id -> country

    @classmethod
    def of(cls, inst: Instance, handle: LpHandle) -> _Solution:
        sol = handle.highs.getSolution()
        y = np.asarray(sol.row_dual) if sol.dual_valid else np.full(handle.num_row, np.nan)
        return cls(
            handle,
            np.asarray(sol.col_value),
            y / _row_weights(handle.cm, handle),  # duals in USD of their own period
            np.asarray(sol.row_value),
            inst.tables["sites"].set_index("id")["country"],
        )

    @property
    def labels(self):
        return self.handle.cm.sets.labels


def collect(
    inst: Instance, handle: LpHandle, facts: dict[str, Any], status: str, build_seconds: float
) -> Result:
    """Turn the HiGHS solution into labelled tables."""
    s = _Solution.of(inst, handle)
    cm = handle.cm
    flows = _flows(s)
    production, steps = _production(s)
    shortages = _shortages(inst, s)
    capacities = _capacities(inst, s)
    disposal = _positive(cm.var_keys, s.x, handle, "dispose", ["period", "site", "commodity"])
    inventory = _positive(cm.var_keys, s.x, handle, "inventory", ["period", "site", "commodity"])
    resale = _positive(cm.var_keys, s.x, handle, "resale", ["period", "site", "commodity"])
    if len(resale):  # a stock built for later sale is an end-of-period stock like any
        key = ["period", "site", "commodity"]
        inventory = (
            pd.concat([inventory, resale], ignore_index=True)
            .groupby(key, as_index=False, sort=False)["quantity"]
            .sum()
        )
    for df in (disposal, inventory):
        df["commodity"], df["origin"] = split_commodity(df["commodity"], s.labels)
    prices = _prices(s)
    return Result(
        summary=_summary(inst, s, facts, status, build_seconds, shortages),
        flows=flows,
        production=production,
        shortages=shortages,
        prices=prices,
        area_prices=area_prices(inst, cm.sets, prices, flows),
        bottlenecks=_bottlenecks(capacities),
        concentration=concentration(inst, production),
        policies=_policy_rows(inst, cm, handle, s.x, s.y, s.r),
        expansions=_expansions(inst, cm, handle, s.x),
        capacities=capacities,
        disposal=disposal,
        inventory=inventory,
        origins=_origin_steps(steps, s.labels),
        content=_content(flows) if s.labels is not None else pd.DataFrame(columns=CONTENT_COLUMNS),
        extra={"handle": handle, "instance": inst},
    )


def _flows(s: _Solution) -> pd.DataFrame:
    """``flows.csv``: every flow above :data:`TOL`, with its ends, their countries and cost."""
    sets = s.handle.cm.sets
    lc = sets.link_commodities.set_index(["link", "commodity"])
    fk = s.handle.cm.var_keys["flow"].copy()
    fk["quantity"] = s.handle.value("flow", s.x)
    ends = lc.loc[list(zip(fk["link"], fk["commodity"], strict=True))] if len(fk) else lc.iloc[:0]
    flows = pd.DataFrame(
        {
            "period": fk["period"].to_numpy(),
            "source": ends["from_site"].to_numpy(),
            "target": ends["to_site"].to_numpy(),
            "commodity": fk["commodity"].to_numpy(),
            "quantity": fk["quantity"].to_numpy(),
            "source_country": s.country.reindex(ends["from_site"]).to_numpy(),
            "target_country": s.country.reindex(ends["to_site"]).to_numpy(),
            "link": fk["link"].to_numpy(),
            "unit_cost": ends["cost"].to_numpy(dtype=float),
        }
    )
    flows = flows.loc[flows["quantity"] > TOL].reset_index(drop=True)
    flows["commodity"], flows["origin"] = split_commodity(flows["commodity"], s.labels)
    return flows


def _production(s: _Solution) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``production.csv`` (activity of each process mode above :data:`TOL`), and the origin
    tracing bookkeeping steps apart."""
    sets = s.handle.cm.sets
    ak = s.handle.cm.var_keys["act"].copy()
    ak["activity"] = s.handle.value("act", s.x)
    modes = sets.modes.set_index(["id", "recipe"])
    key = list(zip(ak["id"], ak["recipe"], strict=True))
    msite = modes["site"].reindex(key).to_numpy()
    production = pd.DataFrame(
        {
            "period": ak["period"].to_numpy(),
            "site": msite,
            "process": ak["id"].to_numpy(),
            "recipe": ak["recipe"].to_numpy(),
            "activity": ak["activity"].to_numpy(),
            "country": s.country.reindex(msite).to_numpy(),
            "unit_cost": modes["cost"].reindex(key).to_numpy(dtype=float),
        }
    )
    production = production.loc[production["activity"] > TOL].reset_index(drop=True)
    pseudo = production["process"].str.startswith(PSEUDO)
    steps = production.loc[pseudo]
    production = production.loc[~pseudo].reset_index(drop=True)
    production["recipe"], production["origin"] = split_recipe(production["recipe"], s.labels)
    return production, steps


def _shortages(inst: Instance, s: _Solution) -> pd.DataFrame:
    """``shortages.csv``: every demand row, served and unmet."""
    dem = inst.tables["demand"]
    uk = s.handle.cm.var_keys["unmet"].copy()
    uk["unmet"] = s.handle.value("unmet", s.x)
    out = dem[["period", "market", "commodity", "quantity"]].rename(columns={"quantity": "demand"})
    out = out.merge(uk, on=["market", "commodity", "period"], how="left")
    out["unmet"] = out["unmet"].fillna(0.0).clip(lower=0.0)
    out.loc[out["unmet"] < TOL, "unmet"] = 0.0
    out["extra"] = _extra(s).reindex(pd.MultiIndex.from_frame(out[KEY])).fillna(0.0).to_numpy()
    out["served"] = out["demand"] - out["unmet"] + out["extra"]
    out["unmet_share"] = np.where(
        out["demand"] > 0, out["unmet"] / out["demand"].where(out["demand"] > 0, 1), 0.0
    )
    out["country"] = s.country.reindex(out["market"]).to_numpy()
    value = inst.tables["commodities"].set_index("id")
    value = value["value"] if "value" in value else pd.Series(dtype=float)
    out["unmet_value"] = out["unmet"] * out["commodity"].map(value).astype(float)
    return out[OUTPUT_COLUMNS["shortages"]]


KEY = ["market", "commodity", "period"]


def _extra(s: _Solution) -> pd.Series:
    """Tonnes bought beyond demand per market, commodity and period (demand curves)."""
    keys = s.handle.cm.var_keys.get("extra")
    if keys is None or keys.empty:
        return pd.Series(dtype=float, index=pd.MultiIndex.from_tuples([], names=KEY))
    x = keys[KEY].assign(q=s.handle.value("extra", s.x))
    q = x.groupby(KEY)["q"].sum()
    return q.where(q > TOL, 0.0)


def _prices(s: _Solution) -> pd.DataFrame:
    """``prices.csv``: the dual of every balance row (USD/t of its own period)."""
    bk = s.handle.cm.con_keys["balance"]
    pcom, porigin = split_commodity(bk["commodity"], s.labels)
    return pd.DataFrame(
        {
            "period": bk["period"].to_numpy(),
            "site": bk["site"].to_numpy(),
            "commodity": pcom,
            "marginal_cost": _clean(s.handle.dual("balance", s.y)),
            "country": s.country.reindex(bk["site"]).to_numpy(),
            "origin": porigin,
        }
    )


#: Capacity families, the key column naming their element, and how to find its site.
_CAPACITY_FAMILIES = {"process_capacity": "id", "link_capacity": "link"}


def _capacities(inst: Instance, s: _Solution) -> pd.DataFrame:
    """``capacities.csv``: every capacity row, located at a site, with use and shadow price."""
    cm = s.handle.cm
    where = {
        "process_capacity": cm.sets.process_capacity.set_index("id")["site"],
        "link_capacity": inst.tables["links"].set_index("id")["from_site"],
    }
    caps = []
    for name, col in _CAPACITY_FAMILIES.items():
        if name not in cm.con_keys:
            continue
        k = cm.con_keys[name]
        site = where[name].reindex(k[col]).to_numpy()
        caps.append(
            pd.DataFrame(
                {
                    "constraint": key_labels(name, k[[col, "period"]]),
                    "kind": name,
                    "element": k[col].to_numpy(),
                    "site": site,
                    "country": s.country.reindex(site).to_numpy(),
                    "period": k["period"].to_numpy(),
                    "capacity": k["rhs"].to_numpy(dtype=float),
                    "used": s.handle.row_activity(name, s.r),
                    "dual": s.handle.dual(name, s.y),
                }
            )
        )
    cols = OUTPUT_COLUMNS["capacities"]
    if not caps:
        return pd.DataFrame(columns=cols)
    out = pd.concat(caps, ignore_index=True)
    cap = out["capacity"]
    out["utilization"] = np.where(cap > 0, out["used"] / cap.where(cap > 0, 1), np.nan)
    out["shadow_price"] = _clean(-out["dual"].to_numpy())
    return out[cols]


def _bottlenecks(capacities: pd.DataFrame) -> pd.DataFrame:
    """``bottlenecks.csv``: binding capacities that exist (a zero capacity with a shadow price
    is the value of building something that does not exist yet: kept in capacities.csv)."""
    b = capacities.loc[(capacities["shadow_price"].abs() > DUAL_TOL) & (capacities["capacity"] > 0)]
    b = b.sort_values(["shadow_price", "utilization"], ascending=False).reset_index(drop=True)
    return b[OUTPUT_COLUMNS["bottlenecks"]]


def _summary(
    inst: Instance,
    s: _Solution,
    facts: dict[str, Any],
    status: str,
    build_seconds: float,
    shortages: pd.DataFrame,
) -> dict[str, Any]:
    """``summary.json``."""
    h, handle = s.handle.highs, s.handle
    total_demand = float(inst.tables["demand"]["quantity"].sum())
    total_unmet = float(shortages["unmet"].sum())
    by = shortages.groupby("commodity")[["demand", "unmet"]].sum()
    valued = shortages["unmet_value"].notna()
    return {
        "status": status,
        "objective": float(h.getInfo().objective_function_value),
        # tonnes of every commodity summed (the contract's fields): mixed units — read
        # unmet_by_commodity and unmet_value instead
        "total_demand": total_demand,
        "total_unmet": total_unmet,
        "unmet_share": total_unmet / total_demand if total_demand else 0.0,
        "unmet_value": float(shortages.loc[valued, "unmet_value"].sum()),
        "unmet_by_commodity": {c: float(u) for c, u in by["unmet"].items() if u > 0},
        "demand_by_commodity": {c: float(d) for c, d in by["demand"].items()},
        "cost_breakdown": _cost_breakdown(handle.cm, handle, s.x),
        "cost_by_period": _cost_by_period(handle.cm, handle, s.x),
        "instance": inst.manifest.name,
        "instance_path": str(inst.path),
        "scenarios": list(inst.scenarios),
        "periods": list(handle.cm.sets.periods),
        "solver": {
            "name": "HiGHS",
            "version": h.version(),
            "method": facts["method"],
            "model_status": facts["status_text"],
            "iterations": facts["iterations"],
        },
        "model_size": {
            "variables": handle.num_col,
            "constraints": handle.num_row,
            "nonzeros": handle.nnz,
        },
        "build_seconds": round(build_seconds, 4),
        "handoff_seconds": round(handle.handoff_seconds, 4),
        "solve_seconds": round(facts["solve_seconds"], 4),
        "rechain_version": __version__,
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _origin_steps(steps: pd.DataFrame, labels) -> pd.DataFrame:
    """Tracing bookkeeping as a table: ``use`` (a market consumes c of an origin) and
    ``relabel`` (a site mixes c of one origin into material of a wider one)."""
    if labels is None or steps.empty:
        return pd.DataFrame(columns=ORIGIN_COLUMNS)
    body = steps["recipe"].str.slice(len(PSEUDO))
    step = body.str.split(".", n=1).str[0]
    rest = body.str.split(".", n=1).str[1]
    com, origin, to = [], [], []
    for r in rest:
        c, ab = r.split("@", 1)
        a, _, b = ab.partition(".to.")
        com.append(c)
        origin.append(a)
        to.append(b)
    return pd.DataFrame(
        {
            "period": steps["period"].to_numpy(),
            "site": steps["site"].to_numpy(),
            "country": steps["country"].to_numpy(),
            "step": np.where(step.to_numpy() == "merge", "use", "relabel"),
            "commodity": com,
            "origin": origin,
            "to_origin": to,
            "quantity": steps["activity"].to_numpy(),
        }
    )[ORIGIN_COLUMNS].reset_index(drop=True)


def _content(flows: pd.DataFrame) -> pd.DataFrame:
    """Tonnes of each commodity received by sites of each country, by origin label."""
    if flows.empty:
        return pd.DataFrame(columns=CONTENT_COLUMNS)
    g = flows.groupby(["period", "target_country", "commodity", "origin"], as_index=False)[
        "quantity"
    ].sum()
    g = g.rename(columns={"target_country": "country"})
    tot = g.groupby(["period", "country", "commodity"])["quantity"].transform("sum")
    g["share"] = g["quantity"] / tot
    return (
        g[CONTENT_COLUMNS]
        .sort_values(["period", "country", "commodity", "origin"])
        .reset_index(drop=True)
    )


def _policy_rows(
    inst: Instance, cm, handle: LpHandle, x: np.ndarray, y: np.ndarray, row_val: np.ndarray
) -> pd.DataFrame:
    """One row per policy constraint: limit, value, and the cost of the policy per unit.

    ``shadow_price`` is what the total cost would fall if the limit were relaxed
    by one unit (one tonne of export licence, one unit of share × tonnes).
    Plug-ins without rows report through their hook (price floors: ``limit`` the floor, ``used`` the market
    price, ``shadow_price`` the payment per tonne, ``quantity`` the tonnes paid on
    and ``payment`` the guarantor's bill (USD, undiscounted).
    """
    types = {pid: p.type for pid, p in inst.policies}
    frames = []
    for name in cm.policy_rows:
        k = cm.con_keys[name]
        dual = handle.dual(name, y)
        sign = np.where(k["sense"].to_numpy() == "<=", -1.0, 1.0)
        label = key_labels(name, k)
        shadow = _clean(sign * dual)
        frames.append(
            pd.DataFrame(
                {
                    "policy": k["policy"].to_numpy(),
                    "type": [types.get(p, name) for p in k["policy"]],
                    "constraint": label,
                    "period": k["period"].to_numpy(),
                    "commodity": k["commodity"].to_numpy() if "commodity" in k else "",
                    "country": k["country"].to_numpy()
                    if "country" in k
                    else k["destination"].to_numpy()
                    if "destination" in k
                    else "",
                    "sense": k["sense"].to_numpy(),
                    "limit": k["rhs"].to_numpy(dtype=float),
                    "used": handle.row_activity(name, row_val),
                    "shadow_price": shadow,
                    "binding": np.abs(shadow) > DUAL_TOL,
                }
            )
        )
    extra = registry.report_rows(handle, inst, x, y)
    if extra:
        frames.append(pd.DataFrame(extra))
    if not frames:
        return pd.DataFrame(columns=POLICY_COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=POLICY_COLUMNS)


def _expansions(inst: Instance, cm, handle: LpHandle, x: np.ndarray) -> pd.DataFrame:
    """Capacity each project adds, and what it costs (annualised capex over its periods in service)."""
    ex = cm.sets.expansions
    if ex.empty:
        return pd.DataFrame(columns=EXPANSION_COLUMNS)
    built = handle.value("build", x)
    site = (
        cm.sets.modes.drop_duplicates("id")
        .set_index("id")["site"]
        .reindex(ex["process"])
        .to_numpy()
    )
    cost = np.zeros(len(ex))
    for name, pos, coef, _group in cm.objective_terms:
        if name == "build":
            cost[pos] = coef * built[pos]
    df = pd.DataFrame(
        {
            "id": ex["id"],
            "process": ex["process"],
            "site": site,
            "country": inst.sites.set_index("id")["country"].reindex(site).to_numpy(),
            "in_service": ex["in_service"],
            "committed": ex["committed"],
            "max_capacity": ex["capacity"],
            "built": np.where(np.abs(built) < TOL, 0.0, built),
            "capex_cost": cost,
        }
    )
    return df[EXPANSION_COLUMNS]


def _row_weights(cm, handle: LpHandle) -> np.ndarray:
    """The discount weight of each row's period (1 for rows without a period)."""
    w = np.ones(handle.num_row)
    for name, k in cm.con_keys.items():
        if "period" in k:
            w[handle.rows(name)] = k["period"].map(cm.sets.weights).fillna(1.0).to_numpy(float)
    return w


def _clean(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float).copy()
    a[np.abs(a) < DUAL_TOL] = 0.0
    return a + 0.0  # no negative zeros


def _positive(
    vk: dict, x: np.ndarray, handle: LpHandle, name: str, cols: list[str]
) -> pd.DataFrame:
    if name not in vk:
        return pd.DataFrame(columns=[*cols, "quantity"])
    df = vk[name].copy()
    df["quantity"] = handle.value(name, x)
    return df.loc[df["quantity"] > TOL, [*cols, "quantity"]].reset_index(drop=True)


def _cost_breakdown(cm, handle: LpHandle, x: np.ndarray) -> dict[str, float]:
    out = {g: 0.0 for g in ("production", "transport", "disposal", "storage", "shortage_penalty")}
    for name, pos, coef, group in cm.objective_terms:
        vals = handle.value(name, x)[pos]
        out[group] = out.get(group, 0.0) + float(np.dot(vals, coef))
    return out


def _cost_by_period(cm, handle: LpHandle, x: np.ndarray) -> dict[str, dict[str, float]]:
    """The objective split by period (keys as text: JSON) and cost group; terms of a
    variable without a period (none today) under ``"*"``."""
    out: dict[str, dict[str, float]] = {}
    for name, pos, coef, group in cm.objective_terms:
        vals = handle.value(name, x)[pos] * coef
        keys = cm.var_keys[name]
        per = keys["period"].to_numpy(dtype=object)[pos] if "period" in keys else None
        if per is None:
            d = out.setdefault("*", {})
            d[group] = d.get(group, 0.0) + float(vals.sum())
            continue
        for p, v in pd.Series(vals).groupby(per).sum().items():
            d = out.setdefault(str(p), {})
            d[group] = d.get(group, 0.0) + float(v)
    return out
