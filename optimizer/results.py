"""The :class:`Result` of a solve: tidy DataFrames, a summary, and the contract files.

Sign conventions (see ``docs/analysis.md``):

* ``prices.marginal_cost`` is the dual of the commodity balance: USD per
  extra tonne of the commodity withdrawn at that site in that period
  (negative for a surplus co-product that would have to be disposed of).
  Every dual of a row with a period is divided by that period's discount
  weight, so prices and shadow prices are in USD of their own period.
* ``bottlenecks.shadow_price`` is minus the dual of a capacity row: the
  USD the total cost would fall per extra unit of capacity (≥ 0).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer import __version__
from optimizer.concentration import COLUMNS as CONCENTRATION_COLUMNS
from optimizer.concentration import concentration
from optimizer.mincut import COLUMNS as MINCUT_COLUMNS
from optimizer.tracing import PSEUDO, split_commodity, split_recipe

if TYPE_CHECKING:
    from optimizer.instance import Instance
    from optimizer.solve import LpHandle

#: Values below this (t, activity) are reported as zero flow and left out of flows.csv.
TOL = 1e-7
#: Duals smaller than this (USD) are treated as zero.
DUAL_TOL = 1e-6

#: Files written by ``--out``, in order, with their DataFrame attribute.
TABLE_FILES = {
    "flows.csv": "flows",
    "production.csv": "production",
    "shortages.csv": "shortages",
    "prices.csv": "prices",
    "bottlenecks.csv": "bottlenecks",
    "concentration.csv": "concentration",
    "mincut.csv": "mincut",
    "policies.csv": "policies",
    "expansions.csv": "expansions",
    "capacities.csv": "capacities",
    "disposal.csv": "disposal",
    "inventory.csv": "inventory",
    "origins.csv": "origins",
    "content.csv": "content",
}


@dataclass
class Result:
    """What a solve returns.  Every table is a pandas DataFrame with named columns."""

    summary: dict[str, Any]
    flows: pd.DataFrame
    production: pd.DataFrame
    shortages: pd.DataFrame
    prices: pd.DataFrame
    bottlenecks: pd.DataFrame
    concentration: pd.DataFrame
    policies: pd.DataFrame
    expansions: pd.DataFrame
    capacities: pd.DataFrame
    disposal: pd.DataFrame
    inventory: pd.DataFrame
    #: with origin tracing: market use by origin and relabel steps (empty otherwise)
    origins: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ORIGIN_COLUMNS))
    #: with origin tracing: tonnes received per country, commodity and origin label
    content: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CONTENT_COLUMNS))
    extra: dict[str, Any] = field(default_factory=dict)
    #: structural min-cut per demand (:mod:`optimizer.mincut`), computed on first use
    mincut: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    @property
    def objective(self) -> float:
        return float(self.summary["objective"])

    @property
    def status(self) -> str:
        return str(self.summary["status"])

    @property
    def total_unmet(self) -> float:
        return float(self.summary["total_unmet"])

    def compare(self, base: Result, name: str | None = None, base_name: str | None = None):
        """What changed from ``base`` to this result (a :class:`~optimizer.compare.Comparison`)."""
        from optimizer.compare import compare

        name = name or ("+".join(self.summary["scenarios"]) or "baseline")
        base_name = base_name or ("+".join(base.summary["scenarios"]) or "baseline")
        return compare(self, base, name, base_name)

    def sankey(self, instance: Instance | None = None):
        """Plotly Sankey of the flows through the stages (the report's figure)."""
        from optimizer.report import sankey

        return sankey(self, instance)

    def unmet_by_market(self) -> pd.DataFrame:
        """Unmet demand per market and commodity (rows with unmet > 0), largest first."""
        s = self.shortages
        s = s.loc[s["unmet"] > TOL]
        return (
            s.groupby(["market", "commodity"], as_index=False)[["demand", "unmet"]]
            .sum()
            .sort_values("unmet", ascending=False)
        )

    def to_excel(self, path: str | Path) -> Path:
        """One workbook: a summary sheet and one sheet per table (written atomically)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rechain-", suffix=".xlsx", dir=path.parent)
        os.close(fd)
        try:
            flat = pd.json_normalize(self.summary, sep=".").T.reset_index()
            flat.columns = ["key", "value"]
            flat["value"] = flat["value"].astype(str)
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                flat.to_excel(xw, sheet_name="summary", index=False)
                for fname, attr in TABLE_FILES.items():
                    getattr(self, attr).to_excel(
                        xw, sheet_name=fname.removesuffix(".csv"), index=False
                    )
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    def write(self, out: str | Path) -> Path:
        """Write ``summary.json`` and the CSV tables into folder ``out``.

        Files are written to a temporary folder first and moved in one by one
        with ``os.replace``, so a failure never leaves a half-written file.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".rechain-", dir=out))
        try:
            for fname, attr in TABLE_FILES.items():
                getattr(self, attr).to_csv(tmp / fname, index=False, float_format="%.10g")
            (tmp / "summary.json").write_text(
                json.dumps(self.summary, indent=2, default=_json_default) + "\n"
            )
            for f in tmp.iterdir():
                os.replace(f, out / f.name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return out


def _get_mincut(self: Result) -> pd.DataFrame:
    """Structural min-cut per demand (``mincut.csv``, :func:`optimizer.mincut.mincut`).

    Computed from the solved instance on first use (about 0.5 s on world-2024),
    so solves that never look at it do not pay for it.
    """
    if self._mincut is None:
        from optimizer.mincut import mincut

        inst = (self.extra or {}).get("instance")
        self._mincut = (
            mincut(inst, self.shortages)
            if inst is not None
            else pd.DataFrame(columns=MINCUT_COLUMNS)
        )
    return self._mincut


def _set_mincut(self: Result, value: pd.DataFrame | None) -> None:
    self._mincut = value


Result.mincut = property(_get_mincut, _set_mincut)  # type: ignore[assignment]


def _json_default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    raise TypeError(type(o))


def _slice(arr: np.ndarray, sl: dict[str, tuple[int, int]], name: str) -> np.ndarray:
    if name not in sl:
        return np.zeros(0)
    a, b = sl[name]
    return np.asarray(arr[a:b], dtype=float)


def collect(
    inst: Instance, handle: LpHandle, facts: dict[str, Any], status: str, build_seconds: float
) -> Result:
    """Turn the HiGHS solution into labelled tables."""
    h = handle.highs
    cm = handle.cm
    sets = cm.sets
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    y = np.asarray(sol.row_dual) if sol.dual_valid else np.full(handle.num_row, np.nan)
    y = y / _row_weights(cm, handle)  # duals in USD of their own period, not discounted
    row_val = np.asarray(sol.row_value)
    vk = cm.var_keys
    sites = inst.tables["sites"].set_index("id")
    country = sites["country"]

    labels = sets.labels
    # flows
    lc = sets.link_commodities.set_index(["link", "commodity"])
    fk = vk["flow"].copy()
    fk["quantity"] = _slice(x, handle.col_slices, "flow")
    ends = lc.loc[list(zip(fk["link"], fk["commodity"], strict=True))] if len(fk) else lc.iloc[:0]
    flows = pd.DataFrame(
        {
            "period": fk["period"].to_numpy(),
            "source": ends["from_site"].to_numpy(),
            "target": ends["to_site"].to_numpy(),
            "commodity": fk["commodity"].to_numpy(),
            "quantity": fk["quantity"].to_numpy(),
            "source_country": country.reindex(ends["from_site"]).to_numpy(),
            "target_country": country.reindex(ends["to_site"]).to_numpy(),
            "link": fk["link"].to_numpy(),
            "unit_cost": ends["cost"].to_numpy(dtype=float),
        }
    )
    flows = flows.loc[flows["quantity"] > TOL].reset_index(drop=True)
    flows["commodity"], flows["origin"] = split_commodity(flows["commodity"], labels)

    # production (activity of each process mode)
    ak = vk["act"].copy()
    ak["activity"] = _slice(x, handle.col_slices, "act")
    modes = sets.modes.set_index(["id", "recipe"])
    msite = modes["site"].reindex(list(zip(ak["id"], ak["recipe"], strict=True))).to_numpy()
    production = pd.DataFrame(
        {
            "period": ak["period"].to_numpy(),
            "site": msite,
            "process": ak["id"].to_numpy(),
            "recipe": ak["recipe"].to_numpy(),
            "activity": ak["activity"].to_numpy(),
            "country": country.reindex(msite).to_numpy(),
            "unit_cost": modes["cost"]
            .reindex(list(zip(ak["id"], ak["recipe"], strict=True)))
            .to_numpy(dtype=float),
        }
    )
    production = production.loc[production["activity"] > TOL].reset_index(drop=True)
    steps = production.loc[production["process"].str.startswith(PSEUDO)]
    production = production.loc[~production["process"].str.startswith(PSEUDO)]
    production = production.reset_index(drop=True)
    production["recipe"], production["origin"] = split_recipe(production["recipe"], labels)

    # shortages: every demand row
    dem = inst.tables["demand"]
    uk = vk["unmet"].copy()
    uk["unmet"] = _slice(x, handle.col_slices, "unmet")
    shortages = dem[["period", "market", "commodity", "quantity"]].rename(
        columns={"quantity": "demand"}
    )
    shortages = shortages.merge(uk, on=["market", "commodity", "period"], how="left")
    shortages["unmet"] = shortages["unmet"].fillna(0.0).clip(lower=0.0)
    shortages.loc[shortages["unmet"] < TOL, "unmet"] = 0.0
    shortages["served"] = shortages["demand"] - shortages["unmet"]
    shortages["unmet_share"] = np.where(
        shortages["demand"] > 0,
        shortages["unmet"] / shortages["demand"].where(shortages["demand"] > 0, 1),
        0.0,
    )
    shortages["country"] = country.reindex(shortages["market"]).to_numpy()
    shortages = shortages[
        ["period", "market", "commodity", "demand", "served", "unmet", "unmet_share", "country"]
    ]

    # prices: balance duals
    bk = cm.con_keys["balance"]
    pcom, porigin = split_commodity(bk["commodity"], labels)
    prices = pd.DataFrame(
        {
            "period": bk["period"].to_numpy(),
            "site": bk["site"].to_numpy(),
            "commodity": pcom,
            "marginal_cost": _clean(_slice(y, handle.row_slices, "balance")),
            "country": country.reindex(bk["site"]).to_numpy(),
            "origin": porigin,
        }
    )

    # capacities and bottlenecks: one frame per capacity family, located at a site
    site_of = {
        "process_capacity": ("id", sets.process_capacity.set_index("id")["site"]),
        "link_capacity": ("link", inst.tables["links"].set_index("id")["from_site"]),
    }
    caps = []
    for name, (col, where) in site_of.items():
        if name not in cm.con_keys:
            continue
        k = cm.con_keys[name]
        site = where.reindex(k[col]).to_numpy()
        caps.append(
            pd.DataFrame(
                {
                    "constraint": [
                        f"{name}[{a},{b}]" for a, b in zip(k[col], k["period"], strict=True)
                    ],
                    "kind": name,
                    "element": k[col].to_numpy(),
                    "site": site,
                    "country": country.reindex(site).to_numpy(),
                    "period": k["period"].to_numpy(),
                    "capacity": k["rhs"].to_numpy(dtype=float),
                    "used": _slice(row_val, handle.row_slices, name),
                    "dual": _slice(y, handle.row_slices, name),
                }
            )
        )
    cap_cols = OUTPUT_COLUMNS["capacities"]
    if caps:
        capacities = pd.concat(caps, ignore_index=True)
        capacities["utilization"] = np.where(
            capacities["capacity"] > 0,
            capacities["used"] / capacities["capacity"].where(capacities["capacity"] > 0, 1),
            np.nan,
        )
        capacities["shadow_price"] = _clean(-capacities["dual"].to_numpy())
        capacities = capacities[cap_cols]
    else:
        capacities = pd.DataFrame(columns=cap_cols)
    # A bottleneck limits existing capacity; a zero capacity with a shadow price is the
    # value of building something that does not exist yet (kept in capacities.csv).
    bottlenecks = (
        capacities.loc[(capacities["shadow_price"].abs() > DUAL_TOL) & (capacities["capacity"] > 0)]
        .sort_values(["shadow_price", "utilization"], ascending=False)
        .reset_index(drop=True)
    )
    bottlenecks = bottlenecks[OUTPUT_COLUMNS["bottlenecks"]]

    disposal = _positive(vk, x, handle, "dispose", ["period", "site", "commodity"])
    inventory = _positive(vk, x, handle, "inventory", ["period", "site", "commodity"])
    for df in (disposal, inventory):
        df["commodity"], df["origin"] = split_commodity(df["commodity"], labels)

    cost = _cost_breakdown(cm, handle, x)
    total_demand = float(dem["quantity"].sum())
    total_unmet = float(shortages["unmet"].sum())
    summary = {
        "status": status,
        "objective": float(h.getInfo().objective_function_value),
        "total_demand": total_demand,
        "total_unmet": total_unmet,
        "unmet_share": total_unmet / total_demand if total_demand else 0.0,
        "cost_breakdown": cost,
        "instance": inst.manifest.name,
        "instance_path": str(inst.path),
        "scenarios": list(inst.scenarios),
        "periods": list(sets.periods),
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
    return Result(
        summary=summary,
        flows=flows,
        production=production,
        shortages=shortages,
        prices=prices,
        bottlenecks=bottlenecks,
        concentration=concentration(inst, production),
        policies=_policy_rows(inst, cm, handle, x, y, row_val),
        expansions=_expansions(inst, cm, handle, x),
        capacities=capacities,
        disposal=disposal,
        inventory=inventory,
        origins=_origin_steps(steps, labels),
        content=_content(flows) if labels is not None else pd.DataFrame(columns=CONTENT_COLUMNS),
        extra={"handle": handle, "instance": inst},
    )


ORIGIN_COLUMNS = [
    "period",
    "site",
    "country",
    "step",
    "commodity",
    "origin",
    "to_origin",
    "quantity",
]
CONTENT_COLUMNS = ["period", "country", "commodity", "origin", "quantity", "share"]


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


POLICY_COLUMNS = [
    "policy",
    "type",
    "constraint",
    "period",
    "commodity",
    "country",
    "sense",
    "limit",
    "used",
    "shadow_price",
    "binding",
    "quantity",
    "payment",
]


def _policy_rows(
    inst: Instance, cm, handle: LpHandle, x: np.ndarray, y: np.ndarray, row_val: np.ndarray
) -> pd.DataFrame:
    """One row per policy constraint: limit, value, and the cost of the policy per unit.

    ``shadow_price`` is what the total cost would fall if the limit were relaxed
    by one unit (one tonne of export licence, one unit of share × tonnes).
    Price floors add no row; theirs read: ``limit`` the floor, ``used`` the market
    price, ``shadow_price`` the payment per tonne, ``quantity`` the tonnes paid on
    and ``payment`` the guarantor's bill (USD, undiscounted).
    """
    types = {pid: p.type for pid, p in inst.policies}
    frames = []
    for name in cm.policy_rows:
        k = cm.con_keys[name]
        dual = _slice(y, handle.row_slices, name)
        sign = np.where(k["sense"].to_numpy() == "<=", -1.0, 1.0)
        idx_cols = [c for c in k.columns if c not in ("rhs", "sense")]
        label = [
            f"{name}[{','.join(map(str, r))}]"
            for r in k[idx_cols].itertuples(index=False, name=None)
        ]
        shadow = _clean(sign * dual)
        frames.append(
            pd.DataFrame(
                {
                    "policy": k["policy"].to_numpy(),
                    "type": [types.get(p, name) for p in k["policy"]],
                    "constraint": label,
                    "period": k["period"].to_numpy(),
                    "commodity": k["commodity"].to_numpy() if "commodity" in k else "",
                    "country": k["country"].to_numpy() if "country" in k else "",
                    "sense": k["sense"].to_numpy(),
                    "limit": k["rhs"].to_numpy(dtype=float),
                    "used": _slice(row_val, handle.row_slices, name),
                    "shadow_price": shadow,
                    "binding": np.abs(shadow) > DUAL_TOL,
                }
            )
        )
    from optimizer.policies.price import policy_rows

    floors = policy_rows(cm, inst, x, y, handle)
    if floors:
        frames.append(pd.DataFrame(floors))
    if not frames:
        return pd.DataFrame(columns=POLICY_COLUMNS)
    return pd.concat(frames, ignore_index=True).reindex(columns=POLICY_COLUMNS)


EXPANSION_COLUMNS = [
    "id",
    "process",
    "site",
    "country",
    "in_service",
    "committed",
    "max_capacity",
    "built",
    "capex_cost",
]


#: The output schema: columns of every table a solve writes (contract columns first).
OUTPUT_COLUMNS: dict[str, list[str]] = {
    "flows": [
        "period",
        "source",
        "target",
        "commodity",
        "quantity",
        "source_country",
        "target_country",
        "link",
        "unit_cost",
        "origin",
    ],
    "production": [
        "period",
        "site",
        "process",
        "recipe",
        "activity",
        "country",
        "unit_cost",
        "origin",
    ],
    "shortages": [
        "period",
        "market",
        "commodity",
        "demand",
        "served",
        "unmet",
        "unmet_share",
        "country",
    ],
    "prices": ["period", "site", "commodity", "marginal_cost", "country", "origin"],
    "bottlenecks": [
        "constraint",
        "kind",
        "site",
        "country",
        "period",
        "shadow_price",
        "utilization",
        "element",
        "capacity",
        "used",
    ],
    "capacities": [
        "constraint",
        "kind",
        "element",
        "site",
        "country",
        "period",
        "capacity",
        "used",
        "utilization",
        "shadow_price",
    ],
    "concentration": CONCENTRATION_COLUMNS,
    "mincut": MINCUT_COLUMNS,
    "policies": POLICY_COLUMNS,
    "expansions": EXPANSION_COLUMNS,
    "disposal": ["period", "site", "commodity", "quantity", "origin"],
    "inventory": ["period", "site", "commodity", "quantity", "origin"],
    "origins": ORIGIN_COLUMNS,
    "content": CONTENT_COLUMNS,
}


def _expansions(inst: Instance, cm, handle: LpHandle, x: np.ndarray) -> pd.DataFrame:
    """Capacity each project adds, and what it costs (annualised capex over its periods in service)."""
    ex = cm.sets.expansions
    if ex.empty:
        return pd.DataFrame(columns=EXPANSION_COLUMNS)
    built = _slice(x, handle.col_slices, "build")
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
    for name, (a, b) in handle.row_slices.items():
        k = cm.con_keys.get(name)
        if k is not None and "period" in k and len(k) == b - a:
            w[a:b] = k["period"].map(cm.sets.weights).fillna(1.0).to_numpy(dtype=float)
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
    df["quantity"] = _slice(x, handle.col_slices, name)
    return df.loc[df["quantity"] > TOL, [*cols, "quantity"]].reset_index(drop=True)


def _cost_breakdown(cm, handle: LpHandle, x: np.ndarray) -> dict[str, float]:
    out = {g: 0.0 for g in ("production", "transport", "disposal", "storage", "shortage_penalty")}
    for name, pos, coef, group in cm.objective_terms:
        vals = _slice(x, handle.col_slices, name)[pos]
        out[group] = out.get(group, 0.0) + float(np.dot(vals, coef))
    return out
