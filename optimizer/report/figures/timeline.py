"""Month by month: unmet demand per market, safety stocks running down, policy events.

``timeline_unmet_figure`` draws each market's value at risk per month (USD adds up across
commodities; without values, the worst commodity's share of demand unmet), and
``timeline_stock_figure`` each holder's safety stocks as a share of their level, valued
at their keep cost (USD adds up; tonnes of different commodities are never summed).
``timeline_exports_figure`` an exporter's shipments of one product family (China's magnets)
per month, stacked by destination country.  All mark the policy events (:func:`events`)
with a dashed line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from optimizer.data import periods as P
from optimizer.report.figures.common import MUTED, SERIES, base_layout, money, pct, t
from optimizer.report.names import Names, country_colour, esc, short

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.results.result import Result


def months_of(res: Result) -> list:
    """The result's periods when they are months (else ``[]``)."""
    periods = list(res.summary.get("periods") or [])
    return periods if P.monthly(periods) else []


def events(instance: Instance | None, months: list) -> list[tuple[str, str]]:
    """(date ``YYYY-MM-DD``, label) of each policy's start: its ``starts`` date, else the
    first day of its first month."""
    if instance is None or not months:
        return []
    out = []
    for pid, p in instance.policies:
        day = getattr(p, "starts", None)
        ps = getattr(p, "periods", None)
        if day is None:
            first = (P.resolve(ps, months) or [None])[0] if ps is not None else months[0]
            if first is None or first not in months:
                continue
            day = P.bounds(first)[0]
        out.append((day.isoformat(), str(pid)))
    return sorted(out)


def _x(months: list) -> list[str]:
    return [f"{m}-15" for m in months]  # mid-month, so events fall between the bars


def _mark(fig: go.Figure, ev: list[tuple[str, str]]) -> None:
    for i, (day, label) in enumerate(ev):
        fig.add_vline(x=day, line={"dash": "dash", "color": MUTED, "width": 1})
        fig.add_annotation(
            x=day,
            y=1.0 - 0.09 * (i % 4),
            yref="paper",
            text=esc(short(label, 32)),
            showarrow=False,
            xanchor="left",
            font={"size": 10, "color": MUTED},
        )


def timeline_unmet_figure(res: Result, names: Names, ev: list[tuple[str, str]]) -> go.Figure | None:
    """Value at risk per market and month (or the worst share unmet without values)."""
    months = months_of(res)
    s = res.shortages
    if not months or not len(s) or not (s["unmet"] > 1e-6).any():
        return None
    valued = "unmet_value" in s and s["unmet_value"].notna().any()
    if valued:
        g = s.groupby(["market", "period"])["unmet_value"].sum()
        fmt, title = money, "value at risk per month (USD)"
    else:
        share = s["unmet"] / s["demand"].where(s["demand"] > 0, 1)
        g = s.assign(share=share).groupby(["market", "period"])["share"].max()
        fmt, title = pct, "worst share of a commodity's demand unmet"
    g = g.unstack("period").reindex(columns=months).fillna(0.0)
    g = g.loc[g.max(axis=1) > 0]
    g = g.loc[g.max(axis=1).sort_values(ascending=False).index]
    fig = go.Figure()
    for i, (m, row) in enumerate(g.iterrows()):
        label = esc(short(names.site_label(str(m)), 40))
        fig.add_trace(
            go.Scatter(
                x=_x(months),
                y=row.to_numpy(),
                mode="lines+markers",
                name=label,
                line={"color": SERIES[i % len(SERIES)], "width": 2},
                hovertext=[f"{label}<br>{p}: {fmt(v)}" for p, v in zip(months, row, strict=True)],
                hoverinfo="text",
            )
        )
    _mark(fig, ev)
    yaxis = {"title": title} | ({} if valued else {"tickformat": ".0%"})
    fig.update_layout(**base_layout(height=380, yaxis=yaxis, xaxis={"type": "date"}))
    return fig


def stock_levels(res: Result, instance: Instance | None) -> pd.DataFrame:
    """Per holder and month: the USD value (at keep cost) of its safety stocks and of their
    levels, and the share held (``site, period, value, level, share``)."""
    months = months_of(res)
    st = instance.stocks if instance is not None else None
    if not months or st is None or "keep_cost" not in st or not st["keep_cost"].notna().any():
        return pd.DataFrame(columns=["site", "period", "value", "level", "share"])
    kept = st.loc[st["keep_cost"].notna(), ["site", "commodity", "quantity", "keep_cost"]]
    inv = res.inventory.groupby(["site", "commodity", "period"], as_index=False)["quantity"].sum()
    grid = kept.merge(pd.DataFrame({"period": months}), how="cross")
    grid = grid.merge(
        inv.rename(columns={"quantity": "held"}), on=["site", "commodity", "period"], how="left"
    )
    grid["held"] = grid["held"].fillna(0.0)
    grid["value"] = grid["held"] * grid["keep_cost"]
    grid["level"] = grid["quantity"] * grid["keep_cost"]
    out = grid.groupby(["site", "period"], as_index=False)[["value", "level"]].sum()
    out["share"] = out["value"] / out["level"].where(out["level"] > 0, 1)
    return out


def timeline_stock_figure(
    res: Result, instance: Instance | None, names: Names, ev: list[tuple[str, str]]
) -> go.Figure | None:
    """Each holder's safety stocks at the end of each month, as a share of their level."""
    months = months_of(res)
    lv = stock_levels(res, instance)
    if lv.empty:
        return None
    wide = lv.pivot(index="site", columns="period", values="share").reindex(columns=months)
    order = wide.min(axis=1).sort_values().index
    fig = go.Figure()
    for i, site in enumerate(order):
        row = wide.loc[site]
        label = esc(short(names.site_label(str(site)), 40))
        fig.add_trace(
            go.Scatter(
                x=_x(months),
                y=row.to_numpy(),
                mode="lines",
                name=label,
                line={"color": SERIES[i % len(SERIES)], "width": 2},
                hovertext=[f"{label}<br>{p}: {pct(v)} of its level" for p, v in row.items()],
                hoverinfo="text",
            )
        )
    _mark(fig, ev)
    fig.update_layout(
        **base_layout(
            height=380,
            yaxis={"title": "safety stock held (share of level, by value)", "tickformat": ".0%"},
            xaxis={"type": "date"},
        )
    )
    return fig


def exports_by_month(
    res: Result, instance: Instance | None, exporter: str = "CN", commodities: str = "magnets"
) -> pd.DataFrame:
    """Tonnes shipped from ``exporter`` (a country or region) to outside it, per month and
    destination country, of ``commodities`` (an id or group of one product family: tonnes
    of magnets add up, tonnes of different products would not): ``period, country,
    quantity`` (every month, zeros included)."""
    months = months_of(res)
    if instance is None or not months:
        return pd.DataFrame(columns=["period", "country", "quantity"])
    home = instance.region_members(exporter)
    coms = set(instance.commodities_of(commodities))
    f = res.flows
    f = f.loc[
        f["source_country"].isin(home) & ~f["target_country"].isin(home) & f["commodity"].isin(coms)
    ]
    g = f.groupby(["target_country", "period"])["quantity"].sum().unstack("period")
    g = g.reindex(columns=months).fillna(0.0)
    out = g.stack().rename("quantity").reset_index()
    return out.rename(columns={"target_country": "country"})[["period", "country", "quantity"]]


def timeline_exports_figure(
    res: Result,
    instance: Instance | None,
    names: Names,
    ev: list[tuple[str, str]],
    exporter: str = "CN",
    commodities: str = "magnets",
) -> go.Figure | None:
    """``exporter``'s exports of ``commodities`` per month, stacked by destination country
    (the largest destinations first; tonnes of one product family)."""
    months = months_of(res)
    ex = exports_by_month(res, instance, exporter, commodities)
    if ex.empty or not (ex["quantity"] > 1e-6).any():
        return None
    wide = ex.pivot(index="country", columns="period", values="quantity").reindex(columns=months)
    wide = wide.loc[wide.sum(axis=1).sort_values(ascending=False).index]
    fig = go.Figure()
    for code, row in wide.iterrows():
        label = esc(names.country_name(str(code)))
        fig.add_trace(
            go.Bar(
                x=_x(months),
                y=row.to_numpy(),
                name=label,
                marker={"color": country_colour(str(code))},
                hovertext=[f"{label}<br>{p}: {t(v)} t" for p, v in row.items()],
                hoverinfo="text",
            )
        )
    _mark(fig, ev)
    fig.update_layout(
        **base_layout(
            height=380,
            barmode="stack",
            yaxis={"title": f"{esc(commodities)} exported from {esc(exporter)}, t per month"},
            xaxis={"type": "date"},
        )
    )
    return fig
