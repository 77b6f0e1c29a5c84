"""The report's Sankey: flows between stages, nodes by country or by site.

``sankey_trace`` draws one view (small nodes pooled into "Other");
``sankey_figure`` puts the views of every case and period in one figure with
buttons to switch between them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from optimizer.report.figures.common import FONT, INK, MUTED, _period_flows, base_layout, t
from optimizer.report.names import OTHER_COLOUR, Names, esc, rgba, short

if TYPE_CHECKING:
    from optimizer.results.result import Result


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
#: Sites of a stage drawn by site (beyond them, or under 0.4% of the stage, pooled).
SITES_PER_STAGE = 14
#: The filtered by-site views: the N largest sites of each stage, the rest pooled.
TOP_SITES = (10, 5)


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
    top: int | None = None,
) -> tuple[go.Sankey, list[tuple[float, str]], dict]:
    """One Sankey trace: nodes are (stage, country) or (stage, site); small nodes pooled.

    ``cols`` fixes the columns (shared by every trace of a figure); ``top`` (by site)
    keeps the ``top`` largest sites of each stage and pools the rest into one "Other"
    node per stage, whose links carry every pooled tonne (the drawn total is the same
    in every view).  Returns the trace, the column headers ``[(x, label)]`` and facts
    for the caption (tonnes left out because they stay within one stage; number of
    nodes; the most nodes a column has before pooling, ``sites_max``).
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
        # a site that stands for a region (sites.csv represents) is its own node
        f["sg"] = (
            f["source"]
            .map(names.site_group)
            .where(f["source"].map(names.site_group) != "", f["source_country"])
        )
        f["tg"] = (
            f["target"]
            .map(names.site_group)
            .where(f["target"].map(names.site_group) != "", f["target_country"])
        )
        min_share, max_nodes = 0.01, 9
    else:
        f["sg"], f["tg"] = f["source"], f["target"]
        min_share, max_nodes = 0.004, top or SITES_PER_STAGE
    f["sn"] = list(zip(f["sc"], f["sg"], strict=True))
    f["tn"] = list(zip(f["tc"], f["tg"], strict=True))

    inq = f.groupby("tn")["quantity"].sum()
    outq = f.groupby("sn")["quantity"].sum()
    thr = pd.concat([inq, outq], axis=1).fillna(0.0).max(axis=1)
    facts["sites_max"] = max((sum(1 for k in thr.index if k[0] == c) for c in cols), default=0)

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
            code = "" if g in names.regions else f" ({esc(g)})"
            hovers.append(f"<b>{esc(names.country_name(g))}</b>{code}<br>{esc(stage)}")
        else:
            cc = names.site_group(g)
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
    sites_max = 0
    for by, (per_node, lo, hi) in {"country": (44, 320, 560), "site": (34, 380, 840)}.items():
        facts = [
            sankey_trace(res, names, period, by, height=600, cols=cols)[2]
            for _, _, res, period in combos
        ]
        busiest = max(f["max_col"] for f in facts)
        heights[by] = int(min(hi, max(lo, 120 + per_node * busiest)))
        if by == "site":
            sites_max = max(f["sites_max"] for f in facts)
    # the filtered by-site views, where they pool anything
    views: list[tuple[str, int | None]] = [("country", None), ("site", None)]
    views += [("site", n) for n in TOP_SITES if n < min(sites_max, SITES_PER_STAGE)]
    for n in TOP_SITES:
        heights[f"site{n}"] = int(min(840, max(380, 120 + 34 * (n + 1))))
    heights["siteNone"] = heights["site"]
    for k, (_, case, res, period) in enumerate(combos):
        for by, top in views:
            first = k == 0 and by == "country"
            tr, headers, facts = sankey_trace(
                res, names, period, by, height=heights[f"{by}{top}" if by == "site" else by],
                visible=first, cols=cols, top=top,
            )  # fmt: skip
            if first:
                heads = headers
                intra = facts["intra"]
            label = (
                "By country"
                if by == "country"
                else "By site"
                if top is None
                else f"Top {top} sites per stage"
            )
            view = f"site{top}" if by == "site" else by
            prefix = []
            if len(cases) > 1:
                prefix.append(case)
            if len(periods) > 1:
                prefix.append(str(period))
            traces.append(tr)
            menu.append((" · ".join([esc(p) for p in prefix] + [label]), view))
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
