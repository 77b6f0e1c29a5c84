"""plotly figures of a report: Sankey, map, shortages, chokepoints, concentration, diffs.

Every string that comes from an instance passes through :func:`esc` before it
reaches plotly (labels, hover text, category names), so plotly's small HTML
subset never sees markup from the data.  Figures are returned as
``go.Figure``; :mod:`optimizer.report.build` serialises them safely.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from optimizer.report.names import OTHER_COLOUR, Names, esc, rgba, short

if TYPE_CHECKING:
    from optimizer.results.result import Result

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
MUTED = "#616e7c"
#: Categorical colours for commodities and cases (countries have their own).
SERIES = [
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#b279a2",
    "#eeca3b",
    "#9d755d",
    "#ff9da6",
    "#bab0ac",
]
STAGE_SYMBOL = {
    "mine": "triangle-up",
    "separation": "square",
    "metal": "diamond",
    "magnet": "circle",
    "recycling": "hexagon",
    "component": "pentagon",
    "market": "star",
}


def base_layout(**kw) -> dict:
    lay = {
        "template": "plotly_white",
        "font": {"family": FONT, "size": 12, "color": INK},
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "hoverlabel": {"font": {"family": FONT, "size": 12}, "align": "left"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "bargap": 0.25,
    }
    lay.update(kw)
    return lay


def t(x: float) -> str:
    """Tonnes, with as many decimals as make sense."""
    x = float(x)
    if x != x:
        return "—"
    a = abs(x)
    if a >= 100 or a == 0:
        return f"{x:,.0f}"
    if a >= 1:
        return f"{x:,.1f}"
    return f"{x:,.3g}"


def money(x: float) -> str:
    x = float(x)
    if x != x:
        return "—"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:,.2f} bn"
    if a >= 1e6:
        return f"{x / 1e6:,.2f} M"
    return f"{x:,.0f}"


def pct(x: float, digits: int = 1) -> str:
    x = float(x)
    return "—" if x != x else f"{100 * x:.{digits}f}%"


def _period_flows(res: Result, period) -> pd.DataFrame:
    f = res.flows
    if period is not None and len(f):
        f = f.loc[f["period"] == period]
    return f


# ---------------------------------------------------------------------------
# Sankey


def _columns(names: Names, f: pd.DataFrame) -> list[str]:
    """Column keys left to right; recycling is split into scrap (in) and recycled feed (out)."""
    order = [s for s in names.stages_present() if s != "recycling"]
    if "recycling" not in names.stages_present():
        return order
    idx = {s: i for i, s in enumerate(order)}
    tgt = [idx[s] for s in f.loc[f["ss"] == "recycling", "ts"] if s in idx]
    src = [idx[s] for s in f.loc[f["ts"] == "recycling", "ss"] if s in idx]
    cols = list(order)
    if src:
        cols.insert(max(src) + 1, "scrap")
    if tgt:
        pos = min(tgt)
        anchor = order[pos]
        cols.insert(cols.index(anchor), "recycled")
    return cols


COLUMN_LABEL = {"scrap": "Scrap collected", "recycled": "Recycled feed"}


def _staged_flows(res: Result, names: Names, period) -> pd.DataFrame:
    """Flows of one period with the stage of both ends (``ss``, ``ts``)."""
    f = _period_flows(res, period)
    f = f[["source", "target", "commodity", "quantity", "source_country", "target_country"]].copy()
    f["ss"] = [names.stage(s) for s in f["source"]]
    f["ts"] = [names.stage(s) for s in f["target"]]
    return f


def sankey_trace(
    res: Result,
    names: Names,
    period,
    by: str,
    *,
    height: int,
    visible: bool = True,
    cols: list[str] | None = None,
) -> tuple[go.Sankey, list[tuple[float, str]], dict]:
    """One Sankey trace: nodes are (stage, country) or (stage, site); small nodes pooled.

    ``cols`` fixes the columns (shared by every trace of a figure).  Returns the
    trace, the column headers ``[(x, label)]`` and facts for the caption
    (tonnes left out because they stay within one stage; number of nodes).
    """
    f = _staged_flows(res, names, period)
    facts = {"intra": float(f.loc[f["ss"] == f["ts"], "quantity"].sum()), "nodes": 0}
    f = f.loc[(f["ss"] != f["ts"]) & (f["ss"] != "") & (f["ts"] != "")]
    if cols is None:
        cols = _columns(names, f)
    f["sc"] = np.where(f["ss"] == "recycling", "recycled", f["ss"])
    f["tc"] = np.where(f["ts"] == "recycling", "scrap", f["ts"])
    f = f.loc[f["sc"].isin(cols) & f["tc"].isin(cols)]
    if by == "country":
        f["sg"] = (
            f["source"]
            .map(names.site_country)
            .where(f["source"].map(names.site_country) != "", f["source_country"])
        )
        f["tg"] = (
            f["target"]
            .map(names.site_country)
            .where(f["target"].map(names.site_country) != "", f["target_country"])
        )
        min_share, max_nodes = 0.01, 9
    else:
        f["sg"], f["tg"] = f["source"], f["target"]
        min_share, max_nodes = 0.004, 14
    f["sn"] = list(zip(f["sc"], f["sg"], strict=True))
    f["tn"] = list(zip(f["tc"], f["tg"], strict=True))

    inq = f.groupby("tn")["quantity"].sum()
    outq = f.groupby("sn")["quantity"].sum()
    thr = pd.concat([inq, outq], axis=1).fillna(0.0).max(axis=1)

    # pool small nodes of each column into "Other"
    pooled: dict[tuple, tuple] = {}
    members: dict[tuple, list] = defaultdict(list)
    for col in cols:
        nodes = thr[[k for k in thr.index if k[0] == col]].sort_values(ascending=False)
        total = float(nodes.sum())
        keep = [
            k for i, (k, v) in enumerate(nodes.items()) if i < max_nodes and v >= min_share * total
        ]
        rest = [k for k in nodes.index if k not in keep]
        if len(rest) == 1:
            keep, rest = keep + rest, []
        for k in keep:
            pooled[k] = k
        for k in rest:
            pooled[k] = (col, "__other__")
            members[(col, "__other__")].append(k[1])
    f["sp"] = f["sn"].map(pooled)
    f["tp"] = f["tn"].map(pooled)
    agg = f.groupby(["sp", "tp"], sort=False)["quantity"].sum()
    bycom = {
        k: g.groupby("commodity")["quantity"].sum().sort_values(ascending=False)
        for k, g in f.groupby(["sp", "tp"], sort=False)
    }

    # node throughput after pooling, order within columns: largest first, Other last
    pthr = defaultdict(float)
    for k, v in thr.items():
        pthr[pooled[k]] += float(v)
    node_keys: list[tuple] = []
    for col in cols:
        ks = [k for k in pthr if k[0] == col]
        ks.sort(key=lambda k: (k[1] == "__other__", -pthr[k]))
        node_keys.extend(ks)
    index = {k: i for i, k in enumerate(node_keys)}
    facts["nodes"] = len(node_keys)
    facts["max_col"] = max((sum(1 for k in node_keys if k[0] == c) for c in cols), default=0)

    def col_label(col: str) -> str:
        return COLUMN_LABEL.get(col) or names.stage_label(col)

    labels, colours, hovers = [], [], []
    for col, g in node_keys:
        stage = col_label(col)
        if g == "__other__":
            mem = members[(col, g)]
            if by == "country":
                labels.append(f"Other ({len(mem)} countries)")
                listed = ", ".join(esc(names.country_name(m)) for m in mem[:12])
            else:
                labels.append(f"Other ({len(mem)} sites)")
                listed = "<br>".join(esc(short(names.site_name(m), 60)) for m in mem[:12])
            more = f" and {len(mem) - 12} more" if len(mem) > 12 else ""
            colours.append(OTHER_COLOUR)
            hovers.append(f"<b>{esc(stage)}: other</b><br>{listed}{more}")
        elif by == "country":
            labels.append(esc(names.country_name(g)))
            colours.append(names.country_colour(g))
            hovers.append(f"<b>{esc(names.country_name(g))}</b> ({esc(g)})<br>{esc(stage)}")
        else:
            cc = names.site_country(g)
            labels.append(esc(short(names.site_name(g), 25)))
            colours.append(names.country_colour(cc))
            comp = names.company(g)
            hovers.append(
                f"<b>{esc(names.site_name(g))}</b><br>{esc(g)} · {esc(stage)} · "
                f"{esc(names.country_name(cc))}" + (f"<br>{esc(comp)}" if comp else "")
            )
    for i, k in enumerate(node_keys):
        hovers[i] += f"<br>{t(pthr[k])} t through this node"

    src, tgt, val, lcol, lhover = [], [], [], [], []
    for (a, b), q in agg.items():
        if a == b or q <= 0:
            continue
        src.append(index[a])
        tgt.append(index[b])
        val.append(float(q))
        lcol.append(
            rgba(colours[index[a]], 0.38) if a[1] != "__other__" else "rgba(154,160,166,0.35)"
        )
        coms = bycom[(a, b)]
        parts = [f"{esc(names.commodity_name(c))} {t(v)} t" for c, v in coms.head(4).items()]
        if len(coms) > 4:
            parts.append(f"{len(coms) - 4} more commodities")
        lhover.append(
            f"<b>{labels[index[a]]} → {labels[index[b]]}</b><br>{t(q)} t<br>" + "<br>".join(parts)
        )

    # positions: one column per stage, nodes stacked from the top
    # the last gap is wider: labels of the last column sit left of its nodes
    gaps = [1.0] * (len(cols) - 1)
    if gaps:
        gaps[-1] = 1.6 if by == "site" else 1.2
    cum = np.concatenate([[0.0], np.cumsum(gaps)])
    span = cum[-1] if len(cols) > 1 else 1.0
    xs = {c: 0.01 + 0.98 * (cum[i] / span if len(cols) > 1 else 0.5) for i, c in enumerate(cols)}
    plot_h = height - 50
    pad = 10 if by == "country" else 6
    ky = math.inf
    for col in cols:
        vals = [pthr[k] for k in node_keys if k[0] == col]
        if vals and sum(vals) > 0:
            ky = min(ky, (plot_h - pad * (len(vals) - 1)) / sum(vals))
    if not math.isfinite(ky):
        ky = 1.0
    x, y = [], []
    top: dict[str, float] = defaultdict(float)
    for k in node_keys:
        h = pthr[k] * ky
        yc = (top[k[0]] + h / 2) / plot_h
        top[k[0]] += h + pad
        x.append(xs[k[0]])
        y.append(min(max(yc, 0.001), 0.999))

    trace = go.Sankey(
        arrangement="snap",
        visible=visible,
        valueformat=",.0f",
        valuesuffix=" t",
        node={
            "label": labels,
            "color": colours,
            "x": x,
            "y": y,
            "pad": pad,
            "thickness": 14,
            "line": {"color": "rgba(0,0,0,0.25)", "width": 0.5},
            "customdata": hovers,
            "hovertemplate": "%{customdata}<extra></extra>",
        },
        link={
            "source": src,
            "target": tgt,
            "value": val,
            "color": lcol,
            "customdata": lhover,
            "hovertemplate": "%{customdata}<extra></extra>",
        },
        textfont={"family": FONT, "size": 11 if by == "country" else 10, "color": INK},
    )
    headers = [(xs[c], col_label(c)) for c in cols]
    return trace, headers, facts


def sankey_figure(
    cases: list[tuple[str, Result]], names: Names, periods: list
) -> tuple[go.Figure | None, float]:
    """Sankey with buttons: by country / by site (and case, period when several).

    Returns the figure (None when nothing flows in any case) and the tonnes of
    the first view left out because they stay within one stage.
    """
    traces, menu, heads = [], [], None
    intra = 0.0
    staged = {
        (ci, period): _staged_flows(res, names, period)
        for ci, (_, res) in enumerate(cases)
        for period in (periods or [None])
    }
    # a case or period with no flow gets no button (plotly cannot draw an empty Sankey)
    combos = [
        (ci, case, res, period)
        for ci, (case, res) in enumerate(cases)
        for period in (periods or [None])
        if (
            (staged[(ci, period)]["ss"] != staged[(ci, period)]["ts"])
            & (staged[(ci, period)]["ss"] != "")
            & (staged[(ci, period)]["ts"] != "")
        ).any()
    ]
    if not combos:
        return None, 0.0
    # the same columns for every view, from all flows
    allf = pd.concat(list(staged.values()), ignore_index=True)
    allf = allf.loc[(allf["ss"] != allf["ts"]) & (allf["ss"] != "") & (allf["ts"] != "")]
    cols = _columns(names, allf)
    # height from the busiest column over all cases and periods (a tiny chain stays small)
    heights = {}
    for by, (per_node, lo, hi) in {"country": (44, 320, 560), "site": (34, 380, 840)}.items():
        busiest = max(
            sankey_trace(res, names, period, by, height=600, cols=cols)[2]["max_col"]
            for _, _, res, period in combos
        )
        heights[by] = int(min(hi, max(lo, 120 + per_node * busiest)))
    for k, (_, case, res, period) in enumerate(combos):
        for by in ("country", "site"):
            first = k == 0 and by == "country"
            tr, headers, facts = sankey_trace(
                res, names, period, by, height=heights[by], visible=first, cols=cols
            )
            if first:
                heads = headers
                intra = facts["intra"]
            label = "By country" if by == "country" else "By site"
            prefix = []
            if len(cases) > 1:
                prefix.append(case)
            if len(periods) > 1:
                prefix.append(str(period))
            traces.append(tr)
            menu.append((" · ".join([esc(p) for p in prefix] + [label]), by))
    n = len(traces)
    buttons = []
    for i, (label, by) in enumerate(menu):
        vis = [j == i for j in range(n)]
        buttons.append(
            {
                "label": label,
                "method": "update",
                "args": [{"visible": vis}, {"height": heights[by]}],
            }
        )
    fig = go.Figure(traces)
    annotations = [
        {
            "x": x,
            "y": 1.0,
            "xref": "paper",
            "yref": "paper",
            "yanchor": "bottom",
            "text": f"<b>{esc(lab)}</b>",
            "showarrow": False,
            "font": {"size": 12, "color": MUTED},
        }
        for x, lab in (heads or [])
    ]
    fig.update_layout(
        **base_layout(
            height=heights["country"],
            margin={"l": 16, "r": 16, "t": 62, "b": 10},
            annotations=annotations,
            updatemenus=[
                {
                    "type": "buttons" if n <= 4 else "dropdown",
                    "direction": "right" if n <= 4 else "down",
                    "buttons": buttons,
                    "x": 0.0,
                    "xanchor": "left",
                    "y": 1.0,
                    "yanchor": "bottom",
                    "pad": {"b": 24},
                    "showactive": True,
                    "bgcolor": "#f1f3f5",
                    "bordercolor": "#c5ccd6",
                    "font": {"size": 12},
                }
            ],
        )
    )
    return fig, intra


# ---------------------------------------------------------------------------
# Map


def _site_xy(names: Names) -> pd.DataFrame:
    s = names.sites
    if not {"lat", "lon"} <= set(s.columns):
        return pd.DataFrame(columns=["lat", "lon"])
    xy = s[["lat", "lon"]].apply(pd.to_numeric, errors="coerce").dropna()
    return xy


GEO = {
    "projection": {"type": "natural earth"},
    "showland": True,
    "landcolor": "#eceff3",
    "showocean": True,
    "oceancolor": "#f6f9fc",
    "showcountries": True,
    "countrycolor": "#c3cad4",
    "countrywidth": 0.5,
    "showcoastlines": True,
    "coastlinecolor": "#aab3bf",
    "coastlinewidth": 0.5,
    "showlakes": False,
    "showframe": False,
    "resolution": 110,
    "lataxis": {"range": [-50, 78]},
    "bgcolor": "rgba(0,0,0,0)",
}


def _unwrap(lon: float, centre: float) -> float:
    """Longitude moved into [centre - 180, centre + 180)."""
    return ((lon - centre + 180.0) % 360.0) - 180.0 + centre


def _path(la0: float, lo0: float, la1: float, lo1: float, centre: float, n: int = 28):
    """A gently bowed line between two sites that never crosses the map's edge.

    plotly draws geo lines as great circles, which wrap around the edge of a
    world map (Japan → US leaves on the right and comes back on the left).
    We draw short segments along a bowed straight line in (lon, lat) instead,
    keeping both ends on the same side of the map's seam.
    """
    u0, u1 = _unwrap(lo0, centre), _unwrap(lo1, centre)
    dx, dy = u1 - u0, la1 - la0
    length = math.hypot(dx, dy) or 1.0
    ts = np.linspace(0.0, 1.0, n)
    bow = 0.12 * length * np.sin(np.pi * ts)
    lon = u0 + ts * dx - bow * dy / length
    lat = la0 + ts * dy + bow * dx / length
    return np.clip(lat, -85, 85).tolist(), lon.tolist()


def map_centre(pairs: pd.DataFrame, xy: pd.DataFrame, weight: str) -> float:
    """Central longitude of the map: no site near the map's seam, heaviest flows kept short.

    Candidates every 10°; those leaving every site at least 12° from the seam
    are preferred; among them the one with the least flow-weighted east-west
    span of the lines wins (a slight preference for the usual 10°E breaks ties).
    """
    lons = xy["lon"].to_numpy(dtype=float)
    if len(pairs):
        lo0 = xy.loc[pairs["source"], "lon"].to_numpy(dtype=float)
        lo1 = xy.loc[pairs["target"], "lon"].to_numpy(dtype=float)
        w = pairs[weight].abs().to_numpy(dtype=float)
    else:
        lo0 = lo1 = w = np.zeros(0)
    best, best_key = 10.0, (True, math.inf)
    for c in range(-170, 190, 10):
        seam_gap = np.abs(((lons - c + 180) % 360) - 180).max() if len(lons) else 0.0
        near_seam = bool(seam_gap > 168)
        span = np.abs(((lo1 - c + 180) % 360) - ((lo0 - c + 180) % 360))
        cost = float((w * span).sum()) * (1 + 0.0005 * abs(c - 10))
        key = (near_seam, cost)
        if key < best_key:
            best, best_key = float(c), key
    return best


def _map_figure(traces: list, centre, height: int, legend_title: str | None = None) -> go.Figure:
    """A world-map figure with the legend in one row under the map."""
    legend = {"orientation": "h", "x": 0.5, "xanchor": "center", "y": -0.02, "yanchor": "top"}
    if legend_title:
        legend["title"] = {"text": legend_title}
    fig = go.Figure(traces)
    fig.update_layout(
        **base_layout(
            height=height, geo=_geo(centre), margin={"l": 0, "r": 0, "t": 10, "b": 0}, legend=legend
        )
    )
    return fig


def _geo(centre: float) -> dict:
    g = dict(GEO)
    g["projection"] = {"type": "natural earth", "rotation": {"lon": centre}}
    return g


def _lines(pairs: pd.DataFrame, xy: pd.DataFrame, centre: float, colour_of, width_of, legend):
    """One scattergeo trace per flow line, plus one trace of hover points at mid-line."""
    traces = []
    mid_lat, mid_lon, mid_text = [], [], []
    for r in pairs.itertuples(index=False):
        a, b = r.source, r.target
        lat, lon = _path(xy.at[a, "lat"], xy.at[a, "lon"], xy.at[b, "lat"], xy.at[b, "lon"], centre)
        traces.append(
            go.Scattergeo(
                lat=lat,
                lon=lon,
                mode="lines",
                line={"width": width_of(r), "color": colour_of(r)},
                hoverinfo="skip",
                showlegend=False,
            )
        )
        mid_lat.append(lat[len(lat) // 2])
        mid_lon.append(lon[len(lon) // 2])
        mid_text.append(legend(r))
    if mid_lat:
        traces.append(
            go.Scattergeo(
                lat=mid_lat,
                lon=mid_lon,
                mode="markers",
                marker={"size": 8, "color": "rgba(255,255,255,0.01)"},
                customdata=mid_text,
                hovertemplate="%{customdata}<extra></extra>",
                showlegend=False,
                name="flows",
            )
        )
    return traces


def _site_traces(names: Names, xy: pd.DataFrame, thr: pd.Series) -> list:
    traces = []
    mx = float(thr.max()) if len(thr) and thr.max() > 0 else 1.0
    s = names.sites.loc[names.sites.index.isin(xy.index)]
    for stage in names.stages_present():
        ids = [i for i in s.index if str(s.at[i, "stage"]) == stage]
        if not ids:
            continue
        q = np.array([float(thr.get(i, 0.0)) for i in ids])
        size = 7 + 17 * np.sqrt(q / mx)
        col = [names.country_colour(names.site_country(i)) for i in ids]
        hover = [
            f"<b>{esc(names.site_name(i))}</b><br>{esc(i)} · {esc(names.stage_label(stage))} · "
            f"{esc(names.country_name(names.site_country(i)))}"
            + (f"<br>{esc(names.company(i))}" if names.company(i) else "")
            + (f"<br>{t(v)} t through the site" if v > 0 else "<br>idle in this solution")
            for i, v in zip(ids, q, strict=True)
        ]
        traces.append(
            go.Scattergeo(
                lat=[xy.at[i, "lat"] for i in ids],
                lon=[xy.at[i, "lon"] for i in ids],
                mode="markers",
                name=esc(names.stage_label(stage)),
                legendgroup=stage,
                showlegend=False,
                marker={
                    "size": size,
                    "color": [
                        c if v > 0 else "rgba(255,255,255,0.9)" for c, v in zip(col, q, strict=True)
                    ],
                    "symbol": STAGE_SYMBOL.get(stage, "circle"),
                    "line": {
                        "width": [0.6 if v > 0 else 1.4 for v in q],
                        "color": [
                            "rgba(0,0,0,0.45)" if v > 0 else c for c, v in zip(col, q, strict=True)
                        ],
                    },
                    "opacity": 0.92,
                },
                customdata=hover,
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
        # legend entry in neutral grey (marker colours are countries)
        traces.append(
            go.Scattergeo(
                lat=[None],
                lon=[None],
                mode="markers",
                name=esc(names.stage_label(stage)),
                legendgroup=stage,
                marker={
                    "size": 10,
                    "color": "#7b8794",
                    "symbol": STAGE_SYMBOL.get(stage, "circle"),
                },
                hoverinfo="skip",
            )
        )
    return traces


def _throughput(res: Result, period) -> pd.Series:
    f = _period_flows(res, period)
    a = f.groupby("source")["quantity"].sum()
    b = f.groupby("target")["quantity"].sum()
    return pd.concat([a, b], axis=1).fillna(0.0).max(axis=1)


def map_figure(res: Result, names: Names, period, top: int = 80) -> go.Figure | None:
    """Sites (symbol = stage, colour = country, size = throughput) and the largest flows."""
    xy = _site_xy(names)
    if not len(xy):
        return None
    f = _period_flows(res, period)
    f = f.loc[f["source"].isin(xy.index) & f["target"].isin(xy.index)]
    pairs = f.groupby(["source", "target"], as_index=False)["quantity"].sum()
    same = [
        (xy.at[a, "lat"], xy.at[a, "lon"]) == (xy.at[b, "lat"], xy.at[b, "lon"])
        for a, b in zip(pairs["source"], pairs["target"], strict=True)
    ]
    pairs = pairs.loc[~np.array(same, dtype=bool)] if len(pairs) else pairs
    pairs = pairs.sort_values("quantity", ascending=False).head(top)
    qmax = float(pairs["quantity"].max()) if len(pairs) else 1.0
    coms = f.groupby(["source", "target", "commodity"])["quantity"].sum()

    def legend(r) -> str:
        c = coms.loc[(r.source, r.target)].sort_values(ascending=False)
        parts = "<br>".join(
            f"{esc(names.commodity_name(k))} {t(v)} t" for k, v in c.head(4).items()
        )
        return (
            f"<b>{esc(short(names.site_name(r.source), 50))} → "
            f"{esc(short(names.site_name(r.target), 50))}</b><br>{t(r.quantity)} t<br>{parts}"
        )

    centre = map_centre(pairs, xy, "quantity")
    traces = _lines(
        pairs,
        xy,
        centre,
        colour_of=lambda r: rgba(names.country_colour(names.site_country(r.source)), 0.5),
        width_of=lambda r: 0.6 + 6.5 * math.sqrt(r.quantity / qmax),
        legend=legend,
    )
    traces += _site_traces(names, xy, _throughput(res, period))
    return _map_figure(traces, centre, 540, "Stage (colour = country)  ")


def change_map_figure(
    case: Result, base: Result, names: Names, period, top: int = 50
) -> go.Figure | None:
    """Site-to-site flows that changed most: blue more, red less (case minus base)."""
    xy = _site_xy(names)
    if not len(xy):
        return None
    k = ["source", "target"]
    a = _period_flows(base, period).groupby(k)["quantity"].sum()
    b = _period_flows(case, period).groupby(k)["quantity"].sum()
    d = pd.concat([a.rename("base"), b.rename("case")], axis=1).fillna(0.0)
    d["delta"] = d["case"] - d["base"]
    d = d.loc[d["delta"].abs() > 1e-6].reset_index()
    d = d.loc[d["source"].isin(xy.index) & d["target"].isin(xy.index)]
    if not len(d):
        return None
    d = d.iloc[np.argsort(-d["delta"].abs().to_numpy(), kind="stable")].head(top)
    dmax = float(d["delta"].abs().max())

    def legend(r) -> str:
        return (
            f"<b>{esc(short(names.site_name(r.source), 50))} → "
            f"{esc(short(names.site_name(r.target), 50))}</b><br>"
            f"{t(r.base)} t → {t(r.case)} t ({'+' if r.delta > 0 else ''}{t(r.delta)} t)"
        )

    centre = map_centre(d, xy, "delta")
    traces = _lines(
        d,
        xy,
        centre,
        colour_of=lambda r: "rgba(46,111,186,0.7)" if r.delta > 0 else "rgba(209,73,91,0.7)",
        width_of=lambda r: 0.8 + 6.5 * math.sqrt(abs(r.delta) / dmax),
        legend=legend,
    )
    traces += _site_traces(names, xy, _throughput(case, period))
    for name, colour in (
        ("more flow", "rgba(46,111,186,0.9)"),
        ("less flow", "rgba(209,73,91,0.9)"),
    ):
        traces.append(
            go.Scattergeo(
                lat=[None], lon=[None], mode="lines", name=name, line={"color": colour, "width": 4}
            )
        )
    fig = _map_figure(traces, centre, 500)
    return fig


# ---------------------------------------------------------------------------
# Bars


def _hbar_height(n: int) -> int:
    return max(150, 80 + 26 * n)


def shortage_figure(res: Result, names: Names) -> go.Figure | None:
    """Unmet demand by market, stacked by commodity (all periods)."""
    s = res.shortages
    s = s.loc[s["unmet"] > 1e-6]
    if not len(s):
        return None
    g = s.groupby(["market", "commodity"], as_index=False)[["demand", "unmet"]].sum()
    order = g.groupby("market")["unmet"].sum().sort_values().index.tolist()
    coms = g.groupby("commodity")["unmet"].sum().sort_values(ascending=False).index.tolist()
    mlabel = {m: esc(short(names.site_label(m), 48)) for m in order}
    traces = []
    for i, c in enumerate(coms):
        gc = g.loc[g["commodity"] == c].set_index("market").reindex(order)
        gc = gc.loc[gc["unmet"].notna()]
        traces.append(
            go.Bar(
                orientation="h",
                y=[mlabel[m] for m in gc.index],
                x=gc["unmet"],
                name=esc(names.commodity_name(c)),
                marker={"color": SERIES[i % len(SERIES)]},
                customdata=[
                    f"<b>{mlabel[m]}</b><br>{esc(names.commodity_name(c))}: {t(u)} t unmet of "
                    f"{t(d)} t ({pct(u / d if d else 0)})"
                    for m, u, d in zip(gc.index, gc["unmet"], gc["demand"], strict=True)
                ],
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        **base_layout(
            barmode="stack",
            height=_hbar_height(len(order)),
            xaxis={"title": {"text": "unmet demand, t"}, "tickformat": ",.0f"},
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
    """N-k ranking: unmet demand when the element is removed."""
    if c is None or not len(c) or "unmet" not in c:
        return None
    c = c.loc[c["unmet"].notna()]  # infeasible cases have no bar (the table names them)
    if not len(c):
        return None
    c = c.sort_values(
        ["unmet", "cost_increase"] if "cost_increase" in c else ["unmet"], ascending=False
    )
    c = c.head(top).iloc[::-1]
    fig = go.Figure(
        go.Bar(
            orientation="h",
            y=[esc(short(_element_label(names, str(e)), 60)) for e in c["element"]],
            x=c["unmet"],
            marker={"color": "#d1495b"},
            customdata=[
                f"<b>{esc(e)}</b><br>{t(u)} t unmet"
                + (f" · cost +{money(ci)}" if ci == ci else "")
                + (f"<br>worst hit: {esc(w)}" if w else "")
                for e, u, ci, w in zip(
                    c["element"],
                    c["unmet"],
                    c.get("cost_increase", pd.Series([float("nan")] * len(c))),
                    c.get("worst_market", pd.Series([""] * len(c))).fillna(""),
                    strict=True,
                )
            ],
            hovertemplate="%{customdata}<extra></extra>",
        )
    )
    fig.update_layout(
        **base_layout(
            height=_hbar_height(len(c)),
            xaxis={"title": {"text": "unmet demand if removed, t"}, "tickformat": ",.0f"},
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


# ---------------------------------------------------------------------------
# Comparisons


def cases_figure(rows: list[dict], currency: str) -> go.Figure:
    """Cost change and unmet demand per case, side by side."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"total cost change vs base, {esc(currency)}", "unmet demand, t"),
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
    fig.add_trace(
        go.Bar(
            x=names,
            y=[r["total_unmet"] for r in rows],
            marker={"color": ["#9aa5b1" if r["is_base"] else "#d1495b" for r in rows]},
            hovertemplate="%{x}: %{y:,.1f} t<extra></extra>",
            showlegend=False,
        ),
        row=1,
        col=2,
    )
    fig.update_layout(**base_layout(height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10}))
    fig.update_yaxes(tickformat=",.3s")
    return fig


def compare_shortage_figure(cases: list[tuple[str, Result]], names: Names) -> go.Figure | None:
    """Unmet demand per market in every case (grouped bars)."""
    frames = []
    for name, res in cases:
        s = res.shortages.groupby("market")["unmet"].sum()
        frames.append(s.rename(name))
    d = pd.concat(frames, axis=1).fillna(0.0)
    d = d.loc[(d > 1e-6).any(axis=1)]
    if not len(d):
        return None
    d = d.loc[d.max(axis=1).sort_values().index]
    labels = [esc(short(names.site_label(m), 48)) for m in d.index]
    traces = []
    for i, (name, _) in enumerate(cases):
        traces.append(
            go.Bar(
                orientation="h",
                y=labels,
                x=d[name],
                name=esc(name),
                marker={"color": "#9aa5b1" if i == 0 else SERIES[(i - 1) % len(SERIES)]},
                hovertemplate="%{y}<br>" + esc(name) + ": %{x:,.1f} t unmet<extra></extra>",
            )
        )
    fig = go.Figure(traces)
    fig.update_layout(
        **base_layout(
            barmode="group",
            height=max(240, 60 + 18 * len(d) * len(cases)),
            xaxis={"title": {"text": "unmet demand, t"}, "tickformat": ",.0f"},
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
