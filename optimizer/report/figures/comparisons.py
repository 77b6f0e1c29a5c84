"""Bar charts of a comparison: each case against the base.

``cases_figure`` (cost change and unmet demand per case),
``compare_shortage_figure`` (unmet demand per market in every case),
``flow_change_figure`` (country-to-country flows that moved most) and
``cost_change_figure`` (cost groups that changed).  The map of changed flows is
in :mod:`optimizer.report.figures.maps`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from optimizer.report.figures.common import SERIES, _hbar_height, base_layout, t
from optimizer.report.names import Names, esc, short

if TYPE_CHECKING:
    from optimizer.results.result import Result


def cases_figure(rows: list[dict], currency: str) -> go.Figure:
    """Cost change and value at risk per case, side by side (without values: the number of
    commodities short, never a sum of their tonnes)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            f"total cost change vs base, {esc(currency)}",
            f"end-use value at risk, {esc(currency)}"
            if any(r.get("valued") for r in rows)
            else "commodities short",
        ),
        horizontal_spacing=0.12,
    )
    names = [esc(r["name"]) for r in rows]
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r["delta_objective"] for r in rows],
            marker={"color": ["#9aa5b1" if r["is_base"] else "#4c78a8" for r in rows]},
            hovertemplate="%{x}: %{y:,.0f}<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    valued = any(r.get("valued") for r in rows)
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r["unmet_value"] if valued else r["commodities_short"] for r in rows],
            marker={"color": ["#9aa5b1" if r["is_base"] else "#d1495b" for r in rows]},
            hovertemplate="%{x}: %{y:,.3s}<extra></extra>"
            if valued
            else "%{x}: %{y} commodities short<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=2,
    )
    fig.update_layout(**base_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}))
    fig.update_yaxes(tickformat=",.3s")
    return fig


def compare_shortage_figure(cases: list[tuple[str, Result]], names: Names) -> go.Figure | None:
    """Value at risk per market in every case (grouped bars); without values, the share of
    demand unmet per market and commodity — never a sum of tonnes of different commodities."""
    valued = any(
        "unmet_value" in r.shortages and r.shortages["unmet_value"].notna().any() for _, r in cases
    )
    frames = []
    for name, res in cases:
        s = res.shortages
        if valued:
            v = s.groupby("market")["unmet_value"].sum()
        else:
            g = s.groupby(["market", "commodity"])[["unmet", "demand"]].sum()
            v = g["unmet"] / g["demand"].where(g["demand"] > 0, 1)
            v.index = [f"{m} · {c}" for m, c in v.index]
        frames.append(v.rename(name))
    d = pd.concat(frames, axis=1).fillna(0.0)
    d = d.loc[(d > 1e-6).any(axis=1)]
    if not len(d):
        return None
    d = d.loc[d.max(axis=1).sort_values().index]

    def label(k: str) -> str:
        if valued:
            return esc(short(names.site_label(k), 48))
        m, c = k.split(" · ", 1)
        return esc(short(f"{names.site_label(m)} · {names.commodity_name(c)}", 56))

    labels = [label(k) for k in d.index]
    unit = "%{x:,.3s} at risk" if valued else "%{x:.1%} of demand unmet"
    traces = []
    for i, (name, _) in enumerate(cases):
        traces.append(
            go.Bar(
                orientation="h",
                y=labels,
                x=d[name],
                name=esc(name),
                marker={"color": "#9aa5b1" if i == 0 else SERIES[(i - 1) % len(SERIES)]},
                hovertemplate="%{y}<br>" + esc(name) + f": {unit}<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    axis = (
        {"title": {"text": "end-use value at risk, USD"}, "tickformat": ",.3s"}
        if valued
        else {"title": {"text": "share of demand unmet"}, "tickformat": ".0%"}
    )
    fig.update_layout(
        **base_layout(
            barmode="group",
            height=max(240, 60 + 18 * len(d) * len(cases)),
            xaxis=axis,
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            margin={"l": 10, "r": 10, "t": 40, "b": 40},
        )
    )
    return fig


def flow_change_figure(fl: pd.DataFrame, names: Names, top: int = 15) -> go.Figure | None:
    """Country-to-country flows that moved most (case minus base)."""
    if not len(fl):
        return None
    d = fl.head(top).iloc[::-1]
    labels = [
        esc(
            f"{names.country_name(a)} → {names.country_name(b)} · {short(names.commodity_name(c), 28)}"
        )
        for a, b, c in zip(d["source_country"], d["target_country"], d["commodity"], strict=True)
    ]
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        seen[lab] = seen.get(lab, 0) + 1
        if seen[lab] > 1:
            labels[i] = f"{lab} ({d['period'].iloc[i]})"
    fig = go.Figure(
        go.Bar(
            orientation="h",
            y=labels,
            x=d["delta"],
            marker={"color": ["#2e6fba" if v > 0 else "#d1495b" for v in d["delta"]]},
            customdata=[
                f"{t(a)} t → {t(b)} t"
                for a, b in zip(d["quantity_base"], d["quantity_case"], strict=True)
            ],
            hovertemplate="%{y}<br>%{customdata} (%{x:+,.1f} t)<extra></extra>",
        )
    )
    fig.update_layout(
        **base_layout(
            height=_hbar_height(len(d)),
            xaxis={
                "title": {"text": "change in flow, t (case − base)"},
                "tickformat": ",.0f",
                "zeroline": True,
            },
            margin={"l": 10, "r": 10, "t": 20, "b": 40},
        )
    )
    return fig


def cost_change_figure(costs: pd.DataFrame, currency: str) -> go.Figure | None:
    c = costs.loc[costs["delta"].abs() > 0.5]
    if not len(c):
        return None
    fig = go.Figure(
        go.Bar(
            x=[esc(g.replace("_", " ")) for g in c["group"]],
            y=c["delta"],
            marker={"color": ["#d1495b" if v > 0 else "#2e6fba" for v in c["delta"]]},
            hovertemplate="%{x}: %{y:+,.0f}<extra></extra>",
        )
    )
    fig.update_layout(
        **base_layout(
            height=280,
            yaxis={"title": {"text": f"change, {esc(currency)}"}, "tickformat": ",.3s"},
            margin={"l": 10, "r": 10, "t": 20, "b": 30},
        )
    )
    return fig
