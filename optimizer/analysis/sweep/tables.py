"""The result tables of a sweep: one row per case, per market, and Monte Carlo quantiles.

Cost and unmet demand are compared with the first case (the baseline), and,
``paired``, with the first grid combination at the same draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.analysis.sweep.cases import Case
from optimizer.analysis.sweep.schema import Spec
from optimizer.fileio import write_folder

#: Values below this (t, USD) are solver noise and reported as zero.
TOL = 1e-6

#: Result columns of ``sweep.csv`` (axis and uncertain columns sit between them).
ID_COLUMNS = ["case", "combo", "sample"]
RESULT_COLUMNS = [
    "status",
    "objective",
    "total_demand",
    "total_unmet",
    "unmet_share",
    "unmet_value",
    "cost_increase",
    "unmet_increase",
    "value_increase",
    "paired_cost_increase",
    "paired_unmet_increase",
    "paired_value_increase",
    "worst_market",
    "worst_market_unmet",
    "worst_market_value",
    "message",
]
MARKET_COLUMNS = [
    "case",
    "market",
    "demand",
    "unmet",
    "unmet_share",
    "unmet_increase",
    "unmet_value",
    "value_increase",
]
QUANTILE_COLUMNS = ["metric", "n", "mean", "min", "p5", "p50", "p95", "max"]
QUANTILE_METRICS = (
    "unmet_value",
    "value_increase",
    "total_unmet",
    "unmet_share",
    "objective",
    "cost_increase",
    "paired_cost_increase",
    "paired_unmet_increase",
)
#: Names an axis or uncertain value may not take (they would clash with a result column).
RESERVED = {
    *ID_COLUMNS,
    *RESULT_COLUMNS,
    *MARKET_COLUMNS,
    *QUANTILE_COLUMNS,
    "scenarios",
    "rank",
}


@dataclass
class SweepResult:
    """Tables of a sweep run."""

    cases: pd.DataFrame
    markets: pd.DataFrame
    quantiles: pd.DataFrame
    spec: Spec
    info: dict[str, Any]

    def write(self, out: str | Path, provenance: dict[str, Any] | None = None) -> Path:
        """``sweep.csv``, ``sweep_markets.csv`` (+ ``sweep_quantiles.csv``), ``sweep.json``, all
        or nothing (``provenance``: :func:`optimizer.results.provenance.provenance`)."""
        files: dict[str, Any] = {"sweep.csv": self.cases, "sweep_markets.csv": self.markets}
        if self.spec.samples:
            files["sweep_quantiles.csv"] = self.quantiles
        files["sweep.json"] = self.info
        return write_folder(out, files, provenance=provenance)


def _clean(x: float) -> float:
    return 0.0 if abs(x) < TOL else float(x)


def result_tables(spec: Spec, cases: list[Case], rows: list[dict], stacks) -> tuple:
    """Cases, markets and quantiles from the solved ``rows`` (``rows[0]`` is the baseline)."""
    base = rows[0]
    base_markets = {
        m: (u, v) for m, u, v in zip(base["markets"][0], *base["markets"][2:], strict=True)
    }
    base_obj = base["objective"]
    solved = not np.isnan(base_obj)
    base_unmet = _clean(float(np.sum(base["markets"][2]))) if solved else math.nan
    base_value = _clean(float(np.sum(base["markets"][3]))) if solved else math.nan
    axis_names = [a.name for a in spec.axes]
    unc_names = [n for n, _, _ in spec.uncertain]
    recs, mrecs = [], []
    for c, r in zip(cases, rows, strict=True):
        rec: dict[str, Any] = {"case": c.case, "combo": c.combo, "sample": c.sample}
        rec.update({n: c.labels[n] for n in axis_names})
        rec["scenarios"] = "+".join(stacks[c.stack].scenarios) or "none"
        rec.update({n: c.values.get(n, math.nan) for n in unc_names})
        rec.update(_case_results(r, base_obj, base_unmet, base_value))
        recs.append(rec)
        mrecs.extend(_market_records(c.case, r, base_markets))
    cols = [*ID_COLUMNS, *axis_names, "scenarios", *unc_names, *RESULT_COLUMNS]
    df = _add_paired(pd.DataFrame(recs, columns=cols))
    markets_df = pd.DataFrame(mrecs, columns=MARKET_COLUMNS)
    return df, markets_df, quantiles(df, axis_names) if spec.samples else _empty_q(axis_names)


def _case_results(r: dict, base_obj: float, base_unmet: float, base_value: float) -> dict:
    """The result columns of one solved case (``paired_*`` aside: :func:`_add_paired`).

    ``total_demand``/``total_unmet`` sum tonnes of every commodity (the columns of the
    contract: do not quote them); ``unmet_value`` is USD of end-use value and adds up.
    The worst market is the one with the most value at risk (most tonnes if no demand
    has a value)."""
    markets, demand, unmet, value = r["markets"]
    solved = not np.isnan(r["objective"])
    total_demand = float(demand.sum())
    total_unmet = _clean(float(unmet.sum())) if solved else math.nan
    total_value = _clean(float(value.sum())) if solved else math.nan
    worst, worst_unmet, worst_value = "", 0.0, 0.0
    if solved and len(unmet) and unmet.max() > TOL:
        key = value if value.max() > TOL else unmet
        i = int(np.argmax(key))  # first market (alphabetical) among ties
        worst, worst_unmet, worst_value = markets[i], _clean(float(unmet[i])), _clean(value[i])
    nan = math.nan
    return dict(
        status=r["status"],
        objective=r["objective"],
        total_demand=total_demand,
        total_unmet=total_unmet,
        unmet_share=(total_unmet / total_demand if total_demand else 0.0) if solved else nan,
        unmet_value=total_value,
        cost_increase=_clean(r["objective"] - base_obj) if solved else nan,
        unmet_increase=_clean(total_unmet - base_unmet) if solved else nan,
        value_increase=_clean(total_value - base_value) if solved else nan,
        worst_market=worst,
        worst_market_unmet=worst_unmet if solved else nan,
        worst_market_value=worst_value if solved else nan,
        message=r["message"],
    )


def _market_records(case: str, r: dict, base_markets: dict) -> list[dict[str, Any]]:
    """The ``sweep_markets.csv`` rows of one case."""
    markets, demand, unmet, value = r["markets"]
    solved = not np.isnan(r["objective"])
    out = []
    for m, d, u, v in zip(markets, demand, unmet, value, strict=True):
        u = _clean(u) if solved else math.nan
        v = _clean(v) if solved else math.nan
        bu, bv = base_markets.get(m, (0.0, 0.0))
        out.append(
            {
                "case": case,
                "market": m,
                "demand": float(d),
                "unmet": u,
                "unmet_share": (u / d if d > 0 else 0.0) if solved else math.nan,
                "unmet_increase": _clean(u - bu) if solved else math.nan,
                "unmet_value": v,
                "value_increase": _clean(v - bv) if solved else math.nan,
            }
        )
    return out


def _add_paired(df: pd.DataFrame) -> pd.DataFrame:
    """Fill the ``paired_*`` columns of ``df`` (in place) and return it.

    Paired: against the first combination at the same draw (common random numbers), so
    that the spread of the draws cancels out; without samples equal to ``*_increase``.
    """
    first = df.loc[df["combo"] == 1].set_index("sample")
    for col, of in (
        ("paired_cost_increase", "objective"),
        ("paired_unmet_increase", "total_unmet"),
        ("paired_value_increase", "unmet_value"),
    ):
        d = df[of] - df["sample"].map(first[of])
        df[col] = d.where(d.abs() >= TOL, 0.0).where(d.notna())
    return df


def _empty_q(axis_names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=["combo", *axis_names, *QUANTILE_COLUMNS])


def quantiles(df: pd.DataFrame, axis_names: list[str] | None = None) -> pd.DataFrame:
    """P5/P50/P95 (and mean, min, max) of each metric per grid combination, over the samples.

    Only sampled cases (``sample`` >= 1) with a value count; ``n`` says how many.
    """
    axis_names = axis_names or []
    out = []
    for combo, g in df.loc[df["sample"] >= 1].groupby("combo", sort=True):
        first = g.iloc[0]
        for m in QUANTILE_METRICS:
            v = g[m].to_numpy(float)
            v = v[np.isfinite(v)]
            rec = {"combo": combo, **{a: first[a] for a in axis_names}, "metric": m, "n": len(v)}
            if len(v):
                p5, p50, p95 = np.percentile(v, [5, 50, 95])
                rec.update(mean=v.mean(), min=v.min(), p5=p5, p50=p50, p95=p95, max=v.max())
            else:
                rec.update(
                    mean=math.nan,
                    min=math.nan,
                    p5=math.nan,
                    p50=math.nan,
                    p95=math.nan,
                    max=math.nan,
                )
            out.append(rec)
    return pd.DataFrame(out, columns=["combo", *axis_names, *QUANTILE_COLUMNS])


def ranked(df: pd.DataFrame) -> pd.DataFrame:
    """Cases by value at risk, then tonnes short, then cost increase (largest first);
    unsolved cases last."""
    return df.sort_values(
        ["unmet_value", "total_unmet", "cost_increase", "combo", "sample"],
        ascending=[False, False, False, True, True],
        kind="stable",
        na_position="last",
    ).reset_index(drop=True)
