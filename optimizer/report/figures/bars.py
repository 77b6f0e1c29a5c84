"""Bar charts of one result: shortages, chokepoints, N-k criticality, concentration.

``shortage_figure`` (unmet demand by market), ``bottleneck_figure`` (shadow
prices of capacities), ``criticality_figure`` (unmet demand when an element is
removed) and ``concentration_figure`` (HHI per stage, by country and company).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from optimizer.report.figures.common import (
    MUTED,
    SERIES,
    _hbar_height,
    base_layout,
    money,
    pct,
    t,
)
from optimizer.report.names import Names, esc, short

if TYPE_CHECKING:
    from optimizer.results.result import Result


def shortage_figure(res: Result, names: Names) -> go.Figure | None:
    """Unmet demand by market: USD of value at risk stacked by commodity (values add up);
    without values, the share of each commodity's demand unmet, side by side — never a sum
    of tonnes of different commodities."""
    s = res.shortages
    s = s.loc[s["unmet"] > 1e-6]
    if not len(s):
        return None
    valued = "unmet_value" in s and s["unmet_value"].notna().any()
    g = s.groupby(["market", "commodity"], as_index=False).agg(
        demand=("demand", "sum"),
        unmet=("unmet", "sum"),
        value=("unmet_value", "sum") if valued else ("unmet", "size"),
    )
    g["share"] = g["unmet"] / g["demand"].where(g["demand"] > 0, 1)
    x = "value" if valued else "share"
    order = g.groupby("market")[x].max().sort_values().index.tolist()
    coms = g.groupby("commodity")[x].sum().sort_values(ascending=False).index.tolist()
    mlabel = {m: esc(short(names.site_label(m), 48)) for m in order}
    traces = []
    for i, c in enumerate(coms):
        gc = g.loc[g["commodity"] == c].set_index("market").reindex(order)
        gc = gc.loc[gc["unmet"].notna()]
        traces.append(
            go.Bar(
                orientation="h",
                y=[mlabel[m] for m in gc.index],
                x=gc[x],
                name=esc(names.commodity_name(c)),
                marker={"color": SERIES[i % len(SERIES)]},
                customdata=[
                    f"<b>{mlabel[m]}</b><br>{esc(names.commodity_name(c))}: {t(u)} t unmet of "
                    f"{t(d)} t ({pct(u / d if d else 0)})"
                    + (f"<br>{money(v)} at risk" if valued else "")
                    for m, u, d, v in zip(
                        gc.index, gc["unmet"], gc["demand"], gc["value"], strict=True
                    )
                ],
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    axis = (
        {"title": {"text": "end-use value at risk, USD"}, "tickformat": ",.3s"}
        if valued
        else {"title": {"text": "share of the commodity's demand unmet"}, "tickformat": ".0%"}
    )
    fig.update_layout(
        **base_layout(
            barmode="stack" if valued else "group",
            height=_hbar_height(len(order) * (1 if valued else max(1, len(coms) // 2))),
            xaxis=axis,
            yaxis={"categoryorder": "array", "categoryarray": [mlabel[m] for m in order]},
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            margin={"l": 10, "r": 10, "t": 40, "b": 40},
        )
    )
    return fig


def bottleneck_figure(
    b: pd.DataFrame, names: Names, currency: str, top: int = 15
) -> go.Figure | None:
    """Chokepoint ranking by shadow price: what one more unit of capacity would save."""
    if not len(b):
        return None
    b = b.sort_values("shadow_price", ascending=False).head(top).iloc[::-1]
    labels = [
        esc(f"{short(names.site_name(s), 40)} · {short(str(e), 28)}")
        for s, e in zip(b["site"], b["element"] if "element" in b else b["constraint"], strict=True)
    ]
    # same label twice would merge bars: make them unique
    seen: dict[str, int] = {}
    for i, lab in enumerate(labels):
        if lab in seen:
            seen[lab] += 1
            labels[i] = f"{lab} ({seen[lab]})"
        else:
            seen[lab] = 1
    fig = go.Figure(
        go.Bar(
            orientation="h",
            y=labels,
            x=b["shadow_price"],
            marker={"color": [names.country_colour(c) for c in b["country"]]},
            customdata=[
                f"<b>{esc(c)}</b><br>{esc(names.country_name(cc))}<br>shadow price "
                f"{money(sp)} {esc(currency)} per unit of capacity<br>utilization {pct(u, 0)}"
                for c, cc, sp, u in zip(
                    b["constraint"], b["country"], b["shadow_price"], b["utilization"], strict=True
                )
            ],
            hovertemplate="%{customdata}<extra></extra>",
        )
    )
    fig.update_layout(
        **base_layout(
            height=_hbar_height(len(b)),
            xaxis={
                "title": {"text": f"{esc(currency)} saved per extra unit of capacity"},
                "tickformat": ",.0f",
            },
            margin={"l": 10, "r": 10, "t": 20, "b": 40},
        )
    )
    return fig


def _element_label(names: Names, element: str) -> str:
    """A site id becomes its name; other elements (countries, links, pairs) stay as they are."""
    return names.site_label(element) if element in names.sites.index else element


def criticality_figure(c: pd.DataFrame, names: Names, top: int = 15) -> go.Figure | None:
    """N-k ranking: what removing the element adds — USD of end-use value at risk when the
    instance has values, else the cost increase (never a sum of tonnes of different
    commodities)."""
    if c is None or not len(c) or "cost_increase" not in c:
        return None
    c = c.loc[c["cost_increase"].notna()]  # infeasible cases have no bar (the table names them)
    if not len(c):
        return None
    valued = "unmet_value" in c and c["unmet_value"].notna().any()
    x = "unmet_value" if valued else "cost_increase"
    c = c.sort_values([x, "cost_increase"], ascending=False).head(top).iloc[::-1]
    worst = c.get("worst_market", pd.Series([""] * len(c), index=c.index)).fillna("")
    wcom = c.get("worst_commodity", pd.Series([""] * len(c), index=c.index)).fillna("")
    fig = go.Figure(
        go.Bar(
            orientation="h",
            y=[esc(short(_element_label(names, str(e)), 60)) for e in c["element"]],
            x=c[x],
            marker={"color": "#d1495b"},
            customdata=[
                f"<b>{esc(e)}</b>"
                + (f"<br>{money(v)} at risk" if valued else "")
                + f"<br>cost +{money(ci)}"
                + (f"<br>worst hit: {esc(w)}" + (f" · {esc(wc)}" if wc else "") if w else "")
                for e, v, ci, w, wc in zip(
                    c["element"], c[x], c["cost_increase"], worst, wcom, strict=True
                )
            ],
            hovertemplate="%{customdata}<extra></extra>",
        )
    )
    title = "end-use value at risk if removed, USD" if valued else "cost increase if removed, USD"
    fig.update_layout(
        **base_layout(
            height=_hbar_height(len(c)),
            xaxis={"title": {"text": title}, "tickformat": ",.3s"},
            margin={"l": 10, "r": 10, "t": 20, "b": 40},
        )
    )
    return fig


def concentration_figure(conc: pd.DataFrame, names: Names, period) -> go.Figure | None:
    """HHI per stage (all commodities), by country and by company, with the usual thresholds."""
    if not len(conc):
        return None
    c = conc.loc[conc["commodity"] == "*"]
    if period is not None:
        c = c.loc[c["period"] == period]
    if not len(c):
        return None
    order = [s for s in names.stages_present() if s in set(c["stage"])] or sorted(set(c["stage"]))
    traces = []
    for scope, colour in (("country", "#4c78a8"), ("company", "#f58518")):
        cs = c.loc[c["scope"] == scope].set_index("stage").reindex(order).dropna(subset=["hhi"])
        if not len(cs):
            continue
        traces.append(
            go.Bar(
                x=[esc(names.stage_label(s)) for s in cs.index],
                y=cs["hhi"],
                name=f"by {scope}",
                marker={"color": colour},
                customdata=[
                    f"<b>{esc(names.stage_label(s))}</b>, by {scope}<br>HHI {h:,.0f}<br>top: "
                    f"{esc(top if scope == 'company' else names.country_name(tc))} {pct(sh)}"
                    for s, h, top, tc, sh in zip(
                        cs.index,
                        cs["hhi"],
                        cs["top"].fillna(""),
                        cs["top_country"].fillna(""),
                        cs["top_share"],
                        strict=True,
                    )
                ],
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    shapes, notes = [], []
    for level, text in ((1500, "moderately concentrated"), (2500, "highly concentrated")):
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": level,
                "y1": level,
                "layer": "below",
                "line": {"color": "#7b8794", "width": 1, "dash": "dot"},
            }
        )
        notes.append(
            {
                "xref": "paper",
                "x": 1.005,
                "y": level,
                "xanchor": "left",
                "yanchor": "middle",
                "text": f"{level:,}<br>{text}",
                "showarrow": False,
                "align": "left",
                "font": {"size": 10, "color": MUTED},
            }
        )
    fig.update_layout(
        **base_layout(
            barmode="group",
            height=360,
            yaxis={"title": {"text": "HHI (0–10,000)"}, "range": [0, 10400], "tickformat": ",.0f"},
            shapes=shapes,
            annotations=notes,
            legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            margin={"l": 10, "r": 130, "t": 40, "b": 30},
        )
    )
    return fig


def build_plan_figure(e: pd.DataFrame, names: Names, currency: str) -> go.Figure | None:
    """Capital spent on the projects built, by the period they enter service and country
    (USD: capacities of different stages are never added)."""
    if e is None or not len(e):
        return None
    b = e.loc[e["built"] > 1e-6]
    if b.empty:
        return None
    g = b.groupby(["in_service", "country"], as_index=False)["capex_cost"].sum()
    years = sorted(g["in_service"].unique())
    fig = go.Figure()
    for c in sorted(
        g["country"].unique(), key=lambda c: -g.loc[g["country"] == c, "capex_cost"].sum()
    ):
        d = (
            g.loc[g["country"] == c]
            .set_index("in_service")["capex_cost"]
            .reindex(years, fill_value=0)
        )
        fig.add_trace(
            go.Bar(
                x=[str(y) for y in years],
                y=[float(v) for v in d.to_numpy()],
                name=esc(names.country_name(c)),
                marker={"color": names.country_colour(c)},
                hovertemplate=f"{esc(names.country_name(c))} · in service %{{x}}<br>%{{y:,.0f}} "
                f"{esc(currency)} of capital<extra></extra>",
            )
        )
    fig.update_layout(
        **base_layout(
            height=320,
            barmode="stack",
            yaxis={"title": {"text": f"capital, {esc(currency)}"}, "tickformat": "~s"},
            xaxis={"title": {"text": "enters service"}, "type": "category"},
            margin={"l": 10, "r": 10, "t": 20, "b": 40},
        )
    )
    return fig
