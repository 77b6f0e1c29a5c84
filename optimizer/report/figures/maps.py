"""World maps: sites and the largest flows, and the flows that changed between two cases.

``map_figure`` shows one result, ``change_map_figure`` a case against the base.
The geo helpers draw flow lines that never cross the map's seam and choose the
map's frame (``map_frame``: every site visible, the seam in the widest gap between
sites).  A site that stands for a region (sites.csv ``represents``) is drawn as a
labelled ring, not as a point of the country it is filed under.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from optimizer.report.figures.common import _period_flows, base_layout, t
from optimizer.report.names import REGION_COLOUR, Names, esc, rgba, short

if TYPE_CHECKING:
    from optimizer.results.result import Result

STAGE_SYMBOL = {
    "mine": "triangle-up",
    "separation": "square",
    "metal": "diamond",
    "magnet": "circle",
    "recycling": "hexagon",
    "component": "pentagon",
    "market": "star",
}


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


def map_frame(xy: pd.DataFrame, pad: float = 12.0) -> dict:
    """The map's frame: central longitude and longitude/latitude ranges that show every site.

    The map's seam goes in the middle of the widest stretch of longitude without a site
    (usually the Pacific or the Atlantic), and the longitude range spans the sites from
    one side of that gap to the other, ``pad`` degrees beyond each end; the latitude
    range spans them too.  Returns ``{"centre", "lon", "lat"}`` (ranges in degrees,
    longitudes unwrapped around the centre, so both ends are within 180° of it).
    """
    lons = np.sort(((xy["lon"].to_numpy(dtype=float) + 180.0) % 360.0) - 180.0)
    lats = xy["lat"].to_numpy(dtype=float)
    if not len(lons):
        return {"centre": 10.0, "lon": [-170.0, 190.0], "lat": [-50.0, 78.0]}
    gaps = np.append(np.diff(lons), lons[0] + 360.0 - lons[-1])
    i = int(np.argmax(gaps))  # the widest gap runs from lons[i] east to the next site
    lo = float(lons[(i + 1) % len(lons)])
    hi = lo + 360.0 - float(gaps[i])
    half = min(180.0, (hi - lo) / 2 + pad)
    centre = float(((lo + hi) / 2 + 180.0) % 360.0 - 180.0)
    lat = [max(-85.0, float(lats.min()) - pad), min(85.0, float(lats.max()) + pad)]
    if lat[1] - lat[0] < 60.0:  # a small region still shows its surroundings
        mid = (lat[0] + lat[1]) / 2
        lat = [max(-85.0, mid - 30.0), min(85.0, mid + 30.0)]
    return {"centre": centre, "lon": [centre - half, centre + half], "lat": lat}


def _map_figure(
    traces: list, frame: dict, height: int, legend_title: str | None = None
) -> go.Figure:
    """A world-map figure framed to the sites, with the legend in one row under the map."""
    legend = {"orientation": "h", "x": 0.5, "xanchor": "center", "y": -0.02, "yanchor": "top"}
    if legend_title:
        legend["title"] = {"text": legend_title}
    fig = go.Figure(traces)
    fig.update_layout(
        **base_layout(
            height=height, geo=_geo(frame), margin={"l": 0, "r": 0, "t": 10, "b": 0}, legend=legend
        )
    )
    return fig


def _geo(frame: dict) -> dict:
    g = dict(GEO)
    g["projection"] = {"type": "natural earth", "rotation": {"lon": frame["centre"]}}
    g["center"] = {"lon": frame["centre"], "lat": (frame["lat"][0] + frame["lat"][1]) / 2}
    g["lonaxis"] = {"range": frame["lon"]}
    g["lataxis"] = {"range": frame["lat"]}
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
    regions = [i for i in s.index if i in names.represents]
    for stage in names.stages_present():
        ids = [i for i in s.index if str(s.at[i, "stage"]) == stage and i not in names.represents]
        if not ids:
            continue
        q = np.array([float(thr.get(i, 0.0)) for i in ids])
        size = 7 + 17 * np.sqrt(q / mx)
        col = [names.country_colour(names.site_country(i)) for i in ids]
        hover = [
            f"<b>{esc(names.site_name(i))}</b><br>{esc(i)} · {esc(names.stage_label(stage))} · "
            f"{esc(names.place(i))}"
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
    if regions:
        q = np.array([float(thr.get(i, 0.0)) for i in regions])
        traces.append(
            go.Scattergeo(
                lat=[xy.at[i, "lat"] for i in regions],
                lon=[xy.at[i, "lon"] for i in regions],
                mode="markers+text",
                name="Region (a site that stands for one)",
                marker={
                    "size": 18 + 22 * np.sqrt(q / mx),
                    "symbol": "circle-open",
                    "color": REGION_COLOUR,
                    "line": {"width": 2.5},
                },
                text=[esc(names.represents[i]) for i in regions],
                textposition="bottom center",
                textfont={"size": 12, "color": REGION_COLOUR},
                customdata=[
                    f"<b>{esc(names.represents[i])}</b><br>{esc(names.site_name(i))} ({esc(i)})"
                    f"<br>stands for a region: drawn at {xy.at[i, 'lat']:.1f}°, "
                    f"{xy.at[i, 'lon']:.1f}°; filed under "
                    f"{esc(names.country_name(names.site_country(i)))} for policies"
                    + (f"<br>{t(v)} t through the site" if v > 0 else "")
                    for i, v in zip(regions, q, strict=True)
                ],
                hovertemplate="%{customdata}<extra></extra>",
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

    frame = map_frame(xy)
    centre = frame["centre"]
    traces = _lines(
        pairs,
        xy,
        centre,
        colour_of=lambda r: rgba(names.country_colour(names.site_country(r.source)), 0.5),
        width_of=lambda r: 0.6 + 6.5 * math.sqrt(r.quantity / qmax),
        legend=legend,
    )
    traces += _site_traces(names, xy, _throughput(res, period))
    return _map_figure(traces, frame, 540, "Stage (colour = country)  ")


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

    frame = map_frame(xy)
    centre = frame["centre"]
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
    fig = _map_figure(traces, frame, 500)
    return fig
