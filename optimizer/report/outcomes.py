"""HTML reports of the many-case analyses: ``rechain sweep``, ``survive`` and ``stockpile-size``.

Same page as a solve's report (``templates/_base.html.j2``: inline plotly.js, figures as
inert JSON, autoescaped tables, a Content-Security-Policy that forbids any request), made
from the analysis's own result object:

* :func:`write_sweep_report` — a :class:`~optimizer.analysis.sweep.SweepResult`: the
  outcome of every grid combination over the samples (boxes), each market's unmet demand
  over the cases, the quantiles and the ranked cases;
* :func:`write_survival_report` — a :class:`~optimizer.analysis.survive.Survival`: how many
  periods each market lasts on each commodity, the stocks running down, the share of
  demand unmet per period;
* :func:`write_stockpile_report` — a :class:`~optimizer.analysis.survive.StockpileSize`:
  the size-vs-outcome curve with the chosen size, the drawdown, the markets kept whole.

Names, not ids, in the charts and tables (ids beside them where a reader needs them to
find a row in the CSV files); units in the column headers.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from optimizer._version import __version__
from optimizer.fileio import write_file
from optimizer.report import build as B
from optimizer.report.figures import outcomes as O
from optimizer.report.figures.common import money, t
from optimizer.report.names import Names

if TYPE_CHECKING:
    from optimizer.analysis.survive import StockpileSize, Survival
    from optimizer.analysis.sweep import SweepResult
    from optimizer.data.instance import Instance

TEMPLATE = "outcomes.html.j2"


def _page(instance: Instance | None, figs: B._Figures, summary: dict, **ctx: Any) -> str:
    info = B._instance_info(instance, summary)
    names_used = {s for sc in ctx.get("scenarios", []) for s in sc["sources"]}
    page = {
        "plotly_js": B._plotly_js(),
        "topojson": B.script_json("{}"),
        "css": Markup(B._asset("report.css")),
        "js": Markup(B._asset("report.js").replace("</", "<\\/")),
        "figures": figs.items,
        "notes": [],
        "money": money,
        "t": t,
        "instance": info,
        "currency": info["currency"],
        "sources": B._sources(instance, names_used),
        "meta": {
            "rechain_version": __version__,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }
    page.update(ctx)
    return B._env().get_template(TEMPLATE).render(**page)


def _label(row, axes: list[str]) -> str:
    return O._combo_label(row, axes)


def _cleaned(df, cols: list[str], rel: float = 1e-6):
    """``df`` with values below ``rel`` × the largest of ``cols`` shown as 0 (solver noise)."""
    df = df.copy()
    big = float(df[cols].abs().max().max()) if len(df) else 0.0
    for c in cols:
        df.loc[df[c].abs() < rel * big, c] = 0.0
    return df


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


# ---------------------------------------------------------------------------
# sweep


def render_sweep_report(res: SweepResult, instance: Instance | None = None, top: int = 25) -> str:
    """The HTML text of a sweep's report."""
    from optimizer.analysis.sweep import ranked
    from optimizer.analysis.sweep.tables import TOL

    spec, info, df = res.spec, res.info, res.cases
    names = Names(instance, [])
    axes = [a.name for a in spec.axes]
    unc = [n for n, _, _ in spec.uncertain]
    valued = bool((df["unmet_value"].fillna(0) > TOL).any()) or not bool(
        (df["total_unmet"].fillna(0) > TOL).any()
    )
    currency = instance.manifest.currency if instance is not None else "USD"
    risk_col = "unmet_value" if valued else "total_unmet"
    risk_title = f"value at risk ({currency})" if valued else "unmet demand (t, all commodities)"
    figs = B._Figures()
    fig = {
        "risk": figs.add(
            "sweep-risk",
            O.sweep_outcome_figure(df, axes, risk_col, risk_title, money if valued else t),
        ),
        "cost": figs.add(
            "sweep-cost",
            O.sweep_outcome_figure(
                df, axes, "cost_increase", f"total cost against the baseline ({currency})", money
            ),
        ),
        "markets": figs.add(
            "sweep-markets",
            O.sweep_market_figure(
                res.markets,
                names,
                "unmet_value" if valued else "unmet",
                f"value at risk ({currency})" if valued else "unmet demand (t)",
            ),
        ),
    }
    combos = []
    for c, g in df.groupby("combo", sort=True):
        first = g.iloc[0]
        q = res.quantiles.loc[res.quantiles["combo"] == c].set_index("metric")

        def tri(metric: str, q=q) -> list[float] | None:
            if metric not in q.index:
                return None
            return [float(q.at[metric, k]) for k in ("p5", "p50", "p95")]

        nominal = g.loc[g["sample"] == 0]
        row = nominal.iloc[0] if len(nominal) else first
        combos.append(
            {
                "combo": int(c),
                "label": _label(first, axes),
                "scenarios": str(first["scenarios"]),
                "n": int((g["sample"] >= 1).sum()),
                "status": ", ".join(sorted(set(map(str, g["status"])))),
                "objective": _num(row["objective"]),
                "cost": _num(row["cost_increase"]),
                "risk": _num(row[risk_col]),
                "risk_q": tri(risk_col),
                "cost_q": tri("cost_increase"),
                "paired_q": tri("paired_cost_increase"),
            }
        )
    r = ranked(df).head(top)
    rank_rows = [
        {
            "rank": i,
            "case": str(rec["case"]),
            "label": _label(rec, axes),
            "values": [_num(rec[u]) for u in unc],
            "risk": _num(rec[risk_col]),
            "cost": _num(rec["cost_increase"]),
            "worst": names.site_label(str(rec["worst_market"])) if rec["worst_market"] else "",
            "worst_amount": _num(
                rec["worst_market_value"] if valued else rec["worst_market_unmet"]
            ),
            "status": str(rec["status"]),
        }
        for i, rec in enumerate(r.to_dict("records"), start=1)
    ]
    base = df.iloc[0]
    solved = df.loc[df["status"].isin(["optimal", "feasible", "time_limit"])]
    short = solved.loc[solved[risk_col].fillna(0) > TOL]
    scen = B._scenario_info(instance, list(spec.base), list(spec.base))
    return _page(
        instance,
        figs,
        {"instance": info.get("instance", "")},
        kind="sweep",
        title=spec.title or f"Sweep {spec.id}",
        scenarios=scen,
        sweep={
            "id": spec.id,
            "file": str(info.get("file", "")),
            "cases": int(info["cases"]),
            "combinations": int(info["combinations"]),
            "samples": int(spec.samples),
            "seed": spec.seed,
            "engine": str(info.get("engine", "")),
            "seconds": float(info.get("seconds", 0.0)),
            "statuses": dict(info.get("statuses") or {}),
            "axes": [{"name": a.name, "labels": [str(x) for x in a.labels]} for a in spec.axes],
            "uncertain": unc,
            "base_case": str(base["case"]),
            "base_label": _label(base, axes),
            "base_objective": _num(base["objective"]),
            "base_risk": _num(base[risk_col]),
            "short_cases": len(short),
            "solved": len(solved),
            "worst": rank_rows[0] if rank_rows else None,
            "risk_p95": float(solved[risk_col].quantile(0.95)) if len(solved) else math.nan,
            "cost_p95": float(solved["cost_increase"].quantile(0.95)) if len(solved) else math.nan,
        },
        valued=valued,
        combos=combos,
        ranked=rank_rows,
        top=top,
        fig=fig,
    )


def write_sweep_report(
    path: str | Path, res: SweepResult, instance: Instance | None = None, **kw
) -> Path:
    """Write a sweep's report to ``path`` atomically."""
    return write_file(path, render_sweep_report(res, instance, **kw))


# ---------------------------------------------------------------------------
# time to survive


def render_survival_report(sv: Survival, instance: Instance | None = None, top: int = 60) -> str:
    """The HTML text of a time-to-survive report."""
    s = sv.summary
    names = Names(instance, [])
    horizon = list(s["horizon"])
    figs = B._Figures()
    fig = {
        "survival": figs.add("survive-heat", O.survival_figure(sv.markets, names, horizon)),
        "stocks": figs.add("survive-stocks", O.survival_stock_figure(sv.stocks, names, horizon)),
        "unmet": figs.add("survive-unmet", O.survival_unmet_figure(sv.table, names)),
    }
    m = sv.markets
    rows = [
        {
            "market": names.site_label(str(r.market)),
            "country": names.place(str(r.market), str(r.country)),
            "commodity": names.commodity_name(str(r.commodity)),
            "first": "" if bool(r.survives_horizon) else str(r.first_short_period),
            "survived": int(r.periods_survived),
            "whole": bool(r.survives_horizon),
            "demand": float(r.demand),
            "unmet": float(r.unmet),
            "share": float(r.unmet_share),
        }
        for r in m.head(top).itertuples(index=False)
    ]
    per_market = []
    for mk, g in m.groupby("market", sort=False):
        g = g.sort_values(["periods_survived", "unmet"], ascending=[True, False])
        w = g.iloc[0]
        per_market.append(
            {
                "market": names.site_label(str(mk)),
                "survived": int(w["periods_survived"]),
                "whole": bool(g["survives_horizon"].all()),
                "first_commodity": names.commodity_name(str(w["commodity"])),
                "first": "" if bool(w["survives_horizon"]) else str(w["first_short_period"]),
                "lines_short": int((~g["survives_horizon"].astype(bool)).sum()),
                "lines": len(g),
            }
        )
    per_market.sort(key=lambda x: (x["whole"], x["survived"], -x["lines_short"]))
    stocks = [
        {"commodity": names.commodity_name(str(c)), "id": str(c), "quantity": float(q)}
        for c, q in (s.get("stocks_by_commodity") or {}).items()
        if float(q) > 0
    ]
    scen = B._scenario_info(
        instance, list(s.get("disruption") or []), list(s.get("disruption") or [])
    )
    return _page(
        instance,
        figs,
        s,
        kind="survive",
        title=f"Time to survive: {' + '.join(sc['title'] or sc['id'] for sc in scen)}",
        scenarios=scen,
        sv={
            "start": s["start"],
            "mode": s["mode"],
            "horizon": horizon,
            "periods": len(horizon),
            "stocks_on_hand": float(s.get("stocks_on_hand", 0.0)),
            "stocks": stocks,
            "total_demand": float(s.get("total_demand", 0.0)),
            "total_unmet": float(s.get("total_unmet", 0.0)),
            "unmet_value": float(s.get("unmet_value", 0.0)),
            "cost": float(s.get("cost", 0.0)),
            "lines": len(m),
            "lines_short": int((~m["survives_horizon"].astype(bool)).sum()) if len(m) else 0,
            "markets_short": sum(1 for x in per_market if not x["whole"]),
            "markets": len(per_market),
            "first_short_period": s.get("first_short_period"),
        },
        rows=rows,
        more=max(0, len(m) - top),
        per_market=per_market,
        fig=fig,
    )


def write_survival_report(
    path: str | Path, sv: Survival, instance: Instance | None = None, **kw
) -> Path:
    """Write a time-to-survive report to ``path`` atomically."""
    return write_file(path, render_survival_report(sv, instance, **kw))


# ---------------------------------------------------------------------------
# stockpile sizing


def render_stockpile_report(sz: StockpileSize, instance: Instance | None = None) -> str:
    """The HTML text of a stockpile-sizing report."""
    s = sz.summary
    names = Names(instance, [])
    figs = B._Figures()
    com = names.commodity_name(str(s["commodity"]))
    drawdown = _cleaned(sz.drawdown, ["opening", "drawn", "closing"])
    fig = {
        "curve": figs.add("stockpile-curve", O.stockpile_curve_figure(sz.curve, sz.quantity, com)),
        "drawdown": figs.add("stockpile-drawdown", O.stockpile_drawdown_figure(drawdown)),
    }
    mk = sz.markets
    rows = [
        {
            "period": r.period,
            "market": names.site_label(str(r.market)),
            "commodity": names.commodity_name(str(r.commodity)),
            "demand": float(r.demand),
            "without": float(r.unmet_without),
            "with": float(r.unmet_with),
            "protected": bool(r.protected),
        }
        for r in mk.itertuples(index=False)
        if bool(r.protected) or float(r.unmet_without) > 1e-6 or float(r.unmet_with) > 1e-6
    ]
    scen = B._scenario_info(
        instance, list(s.get("disruption") or []), list(s.get("disruption") or [])
    )
    h = list(s["horizon"])
    return _page(
        instance,
        figs,
        s,
        kind="stockpile",
        title=f"Stockpile of {com} in {names.country_name(str(s['region'])) if len(str(s['region'])) == 2 else s['region']}",
        scenarios=scen,
        sp={
            "quantity": sz.quantity,
            "commodity": com,
            "commodity_id": str(s["commodity"]),
            "site": str(s["site"]),
            "region": str(s["region"]),
            "markets": [names.site_label(str(x)) for x in s["markets"]],
            "demand_commodities": [
                names.commodity_name(str(c)) for c in s.get("demand_commodities") or []
            ],
            "horizon": h,
            "span": str(h[0]) if len(h) == 1 else f"{h[0]}–{h[-1]}",
            "start": s["start"],
            "duration": s["duration"],
            "others": s["others"],
            "release_cost": float(s.get("release_cost", 0.0)),
            "protected_demand": float(s["protected_demand"]),
            "unmet_without": float(s["unmet_without"]),
            "cost": float(s["cost"]),
            "cost_without": float(s["cost_without"]),
            "left_at_end": float(drawdown["closing"].iloc[-1]) if len(drawdown) else 0.0,
            "stocks_on_hand": float(s.get("stocks_on_hand", 0.0)),
        },
        curve=sz.curve.to_dict("records"),
        drawdown=drawdown.to_dict("records"),
        rows=rows,
        fig=fig,
    )


def write_stockpile_report(
    path: str | Path, sz: StockpileSize, instance: Instance | None = None
) -> Path:
    """Write a stockpile-sizing report to ``path`` atomically."""
    return write_file(path, render_stockpile_report(sz, instance))
