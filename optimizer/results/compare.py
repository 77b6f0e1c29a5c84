"""Comparing solved cases: what moved, who goes short, what it costs.

``Result.compare(base)`` returns a :class:`Comparison`; ``rechain compare``
solves each scenario (``-s a`` is one case; ``-s a+b`` stacks a and b into one
case) and, with ``--baseline``, the instance without scenarios, and compares
every case with the baseline (or, without it, with the first case).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.fileio import write_folder
from optimizer.results.shortfall import value_at_risk

if TYPE_CHECKING:
    from optimizer.results.result import Result

TOL = 1e-6


@dataclass
class Comparison:
    """Differences between a case and a base, as tidy DataFrames (case minus base)."""

    case: str
    base: str
    summary: pd.DataFrame
    shortages: pd.DataFrame
    flows: pd.DataFrame
    prices: pd.DataFrame
    bottlenecks: pd.DataFrame
    concentration: pd.DataFrame
    costs: pd.DataFrame
    #: area prices (countries, price_areas and the rest of the world) in base and case
    area_prices: pd.DataFrame


def _valued(shortages: pd.DataFrame) -> pd.DataFrame:
    return shortages if "unmet_value" in shortages else shortages.assign(unmet_value=np.nan)


def compare(
    case: Result, base: Result, case_name: str = "case", base_name: str = "base"
) -> Comparison:
    """Compare two results solved on the same instance (possibly with different scenarios)."""
    cb, bb = case.summary["cost_breakdown"], base.summary["cost_breakdown"]
    groups = sorted(set(cb) | set(bb))
    costs = pd.DataFrame(
        {
            "group": groups,
            "base": [bb.get(g, 0.0) for g in groups],
            "case": [cb.get(g, 0.0) for g in groups],
        }
    )
    costs["delta"] = costs["case"] - costs["base"]
    summary = pd.DataFrame(
        [
            {
                "case": case_name,
                "base": base_name,
                "objective": case.objective,
                "base_objective": base.objective,
                "delta_objective": case.objective - base.objective,
                # tonnes of every commodity summed (mixed units, kept for the contract)
                "total_unmet": case.total_unmet,
                "base_unmet": base.total_unmet,
                "delta_unmet": case.total_unmet - base.total_unmet,
                "unmet_share": case.summary["unmet_share"],
                "unmet_value": value_at_risk(case.shortages),
                "base_unmet_value": value_at_risk(base.shortages),
                "delta_unmet_value": value_at_risk(case.shortages) - value_at_risk(base.shortages),
            }
        ]
    )

    key = ["period", "market", "commodity"]
    cols = [*key, "demand", "unmet", "unmet_value"]
    sh = _valued(base.shortages)[cols].merge(
        _valued(case.shortages)[cols], on=key, how="outer", suffixes=("_base", "_case")
    )
    sh[["demand_base", "demand_case", "unmet_base", "unmet_case"]] = sh[
        ["demand_base", "demand_case", "unmet_base", "unmet_case"]
    ].fillna(0.0)
    sh["delta_unmet"] = sh["unmet_case"] - sh["unmet_base"]
    sh["delta_unmet_value"] = sh["unmet_value_case"].fillna(0.0) - sh["unmet_value_base"].fillna(
        0.0
    )
    sh.loc[sh["unmet_value_case"].isna() & sh["unmet_value_base"].isna(), "delta_unmet_value"] = (
        np.nan
    )
    sh = sh.loc[(sh["unmet_case"] > TOL) | (sh["unmet_base"] > TOL)]
    # the largest increase in value at risk first, then in the share of its demand
    sh = sh.assign(_share=sh["delta_unmet"] / sh["demand_case"].where(sh["demand_case"] > 0, 1))
    sh = sh.sort_values(["delta_unmet_value", "_share"], ascending=False, na_position="last")
    sh = sh.drop(columns="_share")

    fk = ["period", "source_country", "target_country", "commodity"]
    fb = base.flows.groupby(fk, as_index=False)["quantity"].sum()
    fc = case.flows.groupby(fk, as_index=False)["quantity"].sum()
    fl = fb.merge(fc, on=fk, how="outer", suffixes=("_base", "_case")).fillna(0.0)
    fl["delta"] = fl["quantity_case"] - fl["quantity_base"]
    fl = fl.loc[fl["delta"].abs() > TOL]
    fl = fl.iloc[np.argsort(-fl["delta"].abs().to_numpy(), kind="stable")].reset_index(drop=True)

    pk = ["period", "country", "commodity"]
    pb = base.prices.groupby(pk, as_index=False)["marginal_cost"].median()
    pc = case.prices.groupby(pk, as_index=False)["marginal_cost"].median()
    pr = pb.merge(pc, on=pk, how="outer", suffixes=("_base", "_case"))
    pr["delta"] = pr["marginal_cost_case"] - pr["marginal_cost_base"]
    pr = (
        pr.loc[pr["delta"].abs() > TOL]
        .sort_values("delta", ascending=False, key=np.abs)
        .reset_index(drop=True)
    )

    bk = ["constraint"]
    bb_ = base.bottlenecks[[*bk, "shadow_price"]]
    bc_ = case.bottlenecks[
        [*bk, "kind", "site", "country", "period", "shadow_price", "utilization"]
    ]
    bn = bc_.merge(bb_, on=bk, how="left", suffixes=("", "_base"))
    bn["new"] = bn["shadow_price_base"].isna()
    bn["shadow_price_base"] = bn["shadow_price_base"].fillna(0.0)

    ck = ["period", "stage", "commodity", "scope"]
    cc = base.concentration[[*ck, "hhi", "top", "top_share"]].merge(
        case.concentration[[*ck, "hhi", "top", "top_share"]],
        on=ck,
        how="outer",
        suffixes=("_base", "_case"),
    )
    cc["delta_hhi"] = cc["hhi_case"] - cc["hhi_base"]

    ak = ["period", "commodity", "area"]
    ap = base.area_prices[[*ak, "price"]].merge(
        case.area_prices[[*ak, "price"]], on=ak, how="outer", suffixes=("_base", "_case")
    )
    ap["delta"] = ap["price_case"] - ap["price_base"]

    return Comparison(
        case_name, base_name, summary, sh.reset_index(drop=True), fl, pr, bn, cc, costs, ap
    )


COMPARE_FILES = (
    "summary",
    "costs",
    "shortages",
    "flows",
    "prices",
    "area_prices",
    "bottlenecks",
    "concentration",
)


def write_comparisons(
    comparisons: list[Comparison], out: Path, provenance: dict[str, Any] | None = None
) -> None:
    """``compare_<table>.csv`` files with one block per case (column ``case``), atomically."""
    files = {}
    for name in COMPARE_FILES:
        frames = []
        for c in comparisons:
            df = getattr(c, name)
            if name == "costs":  # the two totals by cost group; ``case`` names the case
                df = df.rename(columns={"base": "base_cost", "case": "case_cost"})
                df = df.assign(base=c.base, case=c.case)
            elif "case" not in df:
                df = df.assign(case=c.case)
            frames.append(df)
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        lead = ["case", "base"] if name == "costs" else ["case"]
        cols = [*lead, *[c for c in df.columns if c not in lead]]
        files[f"compare_{name}.csv"] = df[cols]
    write_folder(out, files, provenance=provenance)
