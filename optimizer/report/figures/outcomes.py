"""Charts of the many-case analyses: sweeps, time to survive, stockpile sizing.

``sweep_outcome_figure`` draws the distribution of one outcome (value at risk,
tonnes short or cost against the baseline) per grid combination over the samples
(a box with every sample as a point; a bar per combination without samples);
``sweep_market_figure`` each market's unmet demand over every case.
``survival_figure`` shows how many periods each market lasts on each commodity,
``survival_stock_figure`` the stocks running down (one line per commodity: tonnes of
different commodities are never added) and ``survival_unmet_figure`` the share of demand
unmet per commodity and period.  ``stockpile_curve_figure`` is the size-vs-outcome curve
with the chosen size marked, ``stockpile_drawdown_figure`` the stock per period.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from optimizer.report.figures.common import SERIES, _hbar_height, base_layout, pct, t
from optimizer.report.names import Names, esc, short

BAD = "#d1495b"
GOOD = "#2e7d32"


def _combo_label(row: pd.Series | dict, axes: list[str]) -> str:
    parts = [f"{a} = {_fmt(row[a])}" for a in axes]
    return ", ".join(parts) or "the instance"


def _fmt(v) -> str:
    return format(v, "g") if isinstance(v, float) else str(v)


def sweep_outcome_figure(
    cases: pd.DataFrame, axes: list[str], column: str, title: str, fmt
) -> go.Figure | None:
    """``column`` per grid combination: a box over the samples (every draw a point), or one
    bar per combination when the sweep has no samples.  The baseline (case 1) is grey."""
    df = cases.loc[cases[column].notna()]
    if not len(df):
        return None
    sampled = bool((df["sample"] >= 1).any())
    fig = go.Figure()
    combos = list(dict.fromkeys(df["combo"]))
    labels = {}
    for c in combos:
        first = df.loc[df["combo"] == c].iloc[0]
        labels[c] = esc(short(_combo_label(first, axes), 60))
    if sampled:
        for i, c in enumerate(combos):
            g = df.loc[(df["combo"] == c) & (df["sample"] >= 1)]
            if not len(g):
                continue
            fig.add_trace(
                go.Box(
                    x=g[column].tolist(),
                    name=labels[c],
                    boxpoints="all",
                    jitter=0.4,
                    pointpos=0,
                    marker={"size": 4, "opacity": 0.6, "color": SERIES[i % len(SERIES)]},
                    line={"color": SERIES[i % len(SERIES)]},
                    customdata=[esc(x) for x in g["case"]],
                    hovertemplate="%{customdata}: %{x:,.4s}<extra></extra>",
                    orientation="h",
                    showlegend=False,
                )
            )
        nominal = df.loc[df["sample"] == 0]
        if len(nominal):
            fig.add_trace(
                go.Scatter(
                    x=nominal[column].tolist(),
                    y=[labels[c] for c in nominal["combo"]],
                    mode="markers",
                    name="nominal (no draw)",
                    marker={"symbol": "diamond", "size": 11, "color": "#1f2933"},
                    hovertemplate="nominal: %{x:,.4s}<extra></extra>",
                )
            )
    else:
        g = df.sort_values("combo")
        fig.add_trace(
            go.Bar(
                x=g[column].tolist(),
                y=[labels[c] for c in g["combo"]],
                orientation="h",
                marker={"color": ["#9aa0a6" if c == 1 else SERIES[0] for c in g["combo"]]},
                text=[fmt(v) for v in g[column]],
                textposition="auto",
                hovertemplate="%{y}: %{x:,.4s}<extra></extra>",
                showlegend=False,
            )
        )
    fig.update_layout(
        **base_layout(
            height=_hbar_height(len(combos)) + 40,
            xaxis={"title": {"text": esc(title)}, "zeroline": True},
            yaxis={"autorange": "reversed", "automargin": True},
            legend={"orientation": "h", "y": -0.25},
        )
    )
    return fig


def sweep_market_figure(
    markets: pd.DataFrame, names: Names, column: str, title: str, top: int = 20
) -> go.Figure | None:
    """Each market's ``column`` over every solved case (a box; markets never short left out)."""
    m = markets.loc[markets[column].notna()]
    if not len(m):
        return None
    hit = m.groupby("market")[column].max()
    hit = hit.loc[hit > 1e-6].sort_values(ascending=False).head(top)
    if not len(hit):
        return None
    fig = go.Figure()
    for i, mk in enumerate(hit.index):
        g = m.loc[m["market"] == mk]
        fig.add_trace(
            go.Box(
                x=g[column].tolist(),
                name=esc(short(names.site_name(str(mk)), 40)),
                boxpoints="outliers",
                marker={"color": SERIES[i % len(SERIES)], "size": 4},
                line={"color": SERIES[i % len(SERIES)]},
                orientation="h",
                showlegend=False,
                hovertemplate="%{x:,.4s}<extra></extra>",
            )
        )
    fig.update_layout(
        **base_layout(
            height=_hbar_height(len(hit)) + 40,
            xaxis={"title": {"text": esc(title)}, "rangemode": "tozero"},
            yaxis={"autorange": "reversed", "automargin": True},
        )
    )
    return fig


def survival_figure(markets: pd.DataFrame, names: Names, horizon: list) -> go.Figure | None:
    """Periods each market lasts on each commodity (a heatmap; the text is the first period
    short, ✓ when it lasts the whole horizon)."""
    if not len(markets):
        return None
    n = len(horizon)
    m = markets.copy()
    m["mlabel"] = [short(names.site_name(str(x)), 36) for x in m["market"]]
    m["clabel"] = [short(names.commodity_name(str(x)), 28) for x in m["commodity"]]
    order_m = m.groupby("mlabel")["periods_survived"].min().sort_values(kind="stable").index
    order_c = m.groupby("clabel")["periods_survived"].min().sort_values(kind="stable").index
    z = m.pivot_table(index="mlabel", columns="clabel", values="periods_survived", aggfunc="min")
    z = z.reindex(index=order_m, columns=order_c)
    first = m.pivot_table(
        index="mlabel",
        columns="clabel",
        values="first_short_period",
        aggfunc=lambda s: str(s.dropna().iloc[0]) if s.notna().any() else "✓",
    ).reindex(index=order_m, columns=order_c)
    zs = z.to_numpy(dtype=float)
    text = [
        ["" if math.isnan(v) else str(first.iat[i, j]) for j, v in enumerate(row)]
        for i, row in enumerate(zs)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=[[None if math.isnan(v) else v for v in row] for row in zs],
            x=[esc(c) for c in z.columns],
            y=[esc(r) for r in z.index],
            text=text,
            texttemplate="%{text}",
            textfont={"size": 10},
            zmin=0,
            zmax=n,
            colorscale=[[0, BAD], [0.5, "#f2c14e"], [1, GOOD]],
            colorbar={"title": {"text": "periods<br>survived"}, "tickvals": list(range(n + 1))},
            xgap=1,
            ygap=1,
            hovertemplate="%{y} · %{x}<br>%{z} of " + str(n) + " periods survived"
            "<br>first short: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        **base_layout(
            height=max(260, 120 + 24 * len(z.index)),
            xaxis={"side": "top", "tickangle": -40, "automargin": True},
            yaxis={"autorange": "reversed", "automargin": True},
            margin={"l": 10, "r": 10, "t": 120, "b": 10},
        )
    )
    return fig


def survival_stock_figure(stocks: pd.DataFrame, names: Names, horizon: list) -> go.Figure | None:
    """Stocks of each commodity (all sites) at the start and the end of each period."""
    if not len(stocks) or not (stocks["opening"] > 1e-6).any():
        return None
    x = ["start"] + [f"end of {p}" for p in horizon]
    fig = go.Figure()
    by = stocks.groupby(["commodity", "period"])[["opening", "closing"]].sum()
    coms = by.groupby(level=0)["opening"].max().sort_values(ascending=False).index
    for i, c in enumerate(coms):
        g = by.loc[c].reindex(horizon).fillna(0.0)
        y = [float(g["opening"].iloc[0]), *g["closing"].astype(float).tolist()]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers",
                name=esc(short(names.commodity_name(str(c)), 40)),
                line={"color": SERIES[i % len(SERIES)], "width": 2},
                hovertemplate="%{x}: %{y:,.1f} t<extra>" + esc(str(c)) + "</extra>",
            )
        )
    fig.update_layout(
        **base_layout(
            height=380,
            yaxis={"title": {"text": "stock on hand (t)"}, "rangemode": "tozero"},
            legend={"orientation": "h", "y": -0.2},
        )
    )
    return fig


def survival_unmet_figure(table: pd.DataFrame, names: Names, top: int = 10) -> go.Figure | None:
    """Share of each commodity's demand (all markets) left unmet in each period."""
    if not len(table) or not (table["unmet"] > 1e-6).any():
        return None
    g = table.groupby(["commodity", "period"])[["demand", "unmet"]].sum().reset_index()
    g["share"] = np.where(g["demand"] > 0, g["unmet"] / g["demand"].where(g["demand"] > 0), 0.0)
    worst = g.groupby("commodity")["share"].max().sort_values(ascending=False)
    worst = worst.loc[worst > 1e-6].head(top)
    fig = go.Figure()
    periods = sorted(g["period"].unique().tolist())
    for i, c in enumerate(worst.index):
        s = g.loc[g["commodity"] == c].set_index("period").reindex(periods)
        fig.add_trace(
            go.Scatter(
                x=[str(p) for p in periods],
                y=s["share"].fillna(0.0).tolist(),
                mode="lines+markers",
                name=esc(short(names.commodity_name(str(c)), 40)),
                line={"color": SERIES[i % len(SERIES)]},
                customdata=[[t(u), t(d)] for u, d in zip(s["unmet"], s["demand"], strict=True)],
                hovertemplate="%{x}: %{y:.1%} unmet (%{customdata[0]} t of %{customdata[1]} t)"
                "<extra></extra>",
            )
        )
    fig.update_layout(
        **base_layout(
            height=380,
            xaxis={"type": "category", "title": {"text": "period"}},
            yaxis={
                "title": {"text": "share of demand unmet"},
                "tickformat": ".0%",
                "range": [0, 1.02],
            },
            legend={"orientation": "h", "y": -0.2},
        )
    )
    return fig


def stockpile_curve_figure(
    curve: pd.DataFrame, quantity: float, commodity: str
) -> go.Figure | None:
    """Least unmet protected demand against the stockpile size, the chosen size marked."""
    if len(curve) < 2:
        return None
    fig = go.Figure(
        go.Scatter(
            x=curve["stockpile"].tolist(),
            y=curve["unmet"].tolist(),
            mode="lines+markers",
            name="least unmet demand",
            line={"color": SERIES[0], "width": 3},
            customdata=[pct(s) for s in curve["unmet_share"]],
            hovertemplate="stockpile %{x:,.1f} t → %{y:,.1f} t unmet (%{customdata})"
            "<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[quantity],
            y=[0.0],
            mode="markers+text",
            name="smallest stockpile that keeps them whole",
            marker={"size": 14, "color": GOOD, "symbol": "star"},
            text=[f"{t(quantity)} t"],
            textposition="top center",
            hovertemplate="%{x:,.1f} t: nothing unmet<extra></extra>",
        )
    )
    fig.update_layout(
        **base_layout(
            height=400,
            xaxis={"title": {"text": f"stockpile of {esc(commodity)} (t)"}, "rangemode": "tozero"},
            yaxis={"title": {"text": "protected demand unmet (t)"}, "rangemode": "tozero"},
            legend={"orientation": "h", "y": -0.2},
        )
    )
    return fig


def stockpile_drawdown_figure(drawdown: pd.DataFrame) -> go.Figure | None:
    """The stockpile per period: drawn (bars) and what is left at the end (line)."""
    if not len(drawdown) or not (drawdown["opening"] > 1e-6).any():
        return None
    x = [str(p) for p in drawdown["period"]]
    fig = go.Figure(
        [
            go.Bar(
                x=x,
                y=drawdown["drawn"].tolist(),
                name="drawn in the period",
                marker={"color": SERIES[1]},
                hovertemplate="%{x}: %{y:,.1f} t drawn<extra></extra>",
            ),
            go.Scatter(
                x=x,
                y=drawdown["closing"].tolist(),
                name="left at the end of the period",
                mode="lines+markers",
                line={"color": SERIES[0], "width": 3},
                hovertemplate="%{x}: %{y:,.1f} t left<extra></extra>",
            ),
        ]
    )
    fig.update_layout(
        **base_layout(
            height=340,
            xaxis={"type": "category", "title": {"text": "period"}},
            yaxis={"title": {"text": "t"}, "rangemode": "tozero"},
            legend={"orientation": "h", "y": -0.25},
        )
    )
    return fig


__all__ = [
    "stockpile_curve_figure",
    "stockpile_drawdown_figure",
    "survival_figure",
    "survival_stock_figure",
    "survival_unmet_figure",
    "sweep_market_figure",
    "sweep_outcome_figure",
]
