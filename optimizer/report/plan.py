"""The HTML report of a plan (``rechain plan … --report FILE.html``; docs/plan.md).

One self-contained page, made like the solve and compare reports
(:mod:`optimizer.report.build`): an autoescaped Jinja2 template, figures as inert
JSON rendered by the inlined plotly.js, the world map's outlines inline, no network
request.  Sections: the summary (cost, value at risk, value of the plan, VSS, EVPI),
the frontier of expected cost against CVaR (with ``--frontier``), the portfolio (a
table with names and units, and on the map), and per scenario the outcome with and
without the plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from optimizer.fileio import write_file
from optimizer.report.build import (
    _activity_units,
    _asset,
    _env,
    _Figures,
    _instance_info,
    _meta,
    _plotly_js,
    script_json,
)
from optimizer.report.figures.common import SERIES, base_layout, money
from optimizer.report.figures.maps import _map_figure, _site_xy, map_frame
from optimizer.report.names import Names, esc

if TYPE_CHECKING:
    from optimizer.analysis.plan import PlanResult
    from optimizer.data.instance import Instance

KIND_COLOUR = {"expansion": SERIES[0], "stockpile": SERIES[1], "contract": SERIES[2]}
KIND_LABEL = {"expansion": "project", "stockpile": "stockpile", "contract": "contract"}
KIND_SYMBOL = {"expansion": "circle", "stockpile": "square", "contract": "diamond"}


def _project_notes(instance: Instance | None) -> dict[str, str]:
    """Each project's description: the first clause of its ``note`` in expansions.csv."""
    if instance is None or "expansions" not in instance.tables:
        return {}
    ex = instance.tables["expansions"]
    if "note" not in ex:
        return {}
    out = {}
    for pid, note in zip(ex["id"].astype(str), ex["note"].fillna("").astype(str), strict=True):
        first = note.split(";")[0].strip()
        out[pid] = first if len(first) <= 110 else first[:107].rstrip() + "…"
    return out


def _link_end(names: Names, link: str) -> str:
    """The site a link goes to ('' without an instance)."""
    if names.instance is None:
        return ""
    lk = names.instance.tables["links"]
    hit = lk.loc[lk["id"].astype(str) == link, "to_site"]
    return str(hit.iloc[0]) if len(hit) else ""


def _portfolio(res: PlanResult, names: Names) -> list[dict[str, Any]]:
    """plan.csv in words: what, where, how much (with its unit), from when, at what cost."""
    units = _activity_units(names)
    notes = _project_notes(names.instance)
    rows = []
    for r in res.plan.itertuples(index=False):
        site = str(r.site)
        if r.kind == "stockpile":
            what = f"{names.commodity_name(str(r.commodity))} stockpile"
            unit, note = "t", ""
        elif r.kind == "contract":
            to = _link_end(names, str(r.id))
            what = f"{names.commodity_name(str(r.commodity))} from {names.site_name(site)}" + (
                f" to {names.site_name(to)}" if to else ""
            )
            unit, note = "t a year reserved", f"lane {r.id}"
        else:
            what = str(r.id)
            phrase = units.get(str(r.process), "")
            unit = (
                f"t a year of {phrase.removeprefix('1 more t of ')}"
                if phrase.startswith("1 more t of ")
                else "units of activity a year"
            )
            note = notes.get(str(r.id), "")
        rows.append(
            {
                "kind": KIND_LABEL.get(str(r.kind), str(r.kind)),
                "what": what,
                "note": note,
                "site": names.site_label(site),
                "country": names.country_name(names.site_country(site)),
                "amount": float(r.amount),
                "unit": unit,
                "from": r.from_period,
                "cost": float(r.cost),
                "committed": str(r.committed) == "yes",
                "release": float(r.expected_release),
            }
        )
    return rows


def _portfolio_map(res: PlanResult, names: Names) -> go.Figure | None:
    """The portfolio's sites on the world map: one marker per site and kind, sized by cost."""
    xy = _site_xy(names)
    p = res.plan.loc[res.plan["site"].astype(str).isin(xy.index)]
    if p.empty:
        return None
    g = p.groupby(["kind", "site"], sort=True).agg(cost=("cost", "sum"), n=("id", "size"))
    top = float(g["cost"].abs().max()) or 1.0
    traces = []
    for kind, sub in g.groupby(level=0):
        sites = [s for _, s in sub.index]
        detail = []
        for s in sites:
            items = p.loc[(p["kind"] == kind) & (p["site"] == s)]
            lines = [
                f"{esc(names.commodity_name(str(r.commodity)))} {r.amount:,.0f} t"
                if kind == "stockpile"
                else f"{esc(names.commodity_name(str(r.commodity)))} {r.amount:,.0f} t/yr on "
                f"{esc(str(r.id))}"
                if kind == "contract"
                else f"{esc(str(r.id))}: {r.amount:,.0f} from {r.from_period}"
                + (" (committed)" if r.committed == "yes" else "")
                for r in items.itertuples(index=False)
            ]
            detail.append(
                f"<b>{esc(names.site_name(s))}</b> · {esc(names.country_name(names.site_country(s)))}"
                f"<br>{'<br>'.join(lines[:8])}"
                + (f"<br>+{len(lines) - 8} more" if len(lines) > 8 else "")
                + f"<br>{money(float(sub.loc[(kind, s), 'cost']))} USD"
            )
        traces.append(
            go.Scattergeo(
                lat=[float(xy.at[s, "lat"]) for s in sites],
                lon=[float(xy.at[s, "lon"]) for s in sites],
                mode="markers",
                name=f"{KIND_LABEL.get(str(kind), str(kind))}s",
                marker={
                    "size": [8 + 22 * (abs(float(c)) / top) ** 0.5 for c in sub["cost"]],
                    "color": KIND_COLOUR.get(str(kind), SERIES[2]),
                    "symbol": KIND_SYMBOL.get(str(kind), "circle"),
                    "line": {"width": 0.8, "color": "#ffffff"},
                    "opacity": 0.85,
                },
                text=detail,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    # framed like every map of the reports: to all the chain's sites, the seam in the
    # widest gap without one
    return _map_figure(traces, map_frame(xy), 460)


def _frontier_figure(front: pd.DataFrame, chosen: float, currency: str) -> go.Figure:
    """Expected cost against CVaR, one marker per plan, the chosen weight highlighted."""
    hover = [
        f"<b>point {r.point}</b>: risk weight {r.risk_weight:.4g}<br>expected cost "
        f"{money(r.expected_cost)} {esc(currency)}<br>CVaR {money(r.cvar)} {esc(currency)}"
        f"<br>stockpile {r.stockpile_t:,.0f} t · {r.projects_chosen} projects chosen"
        for r in front.itertuples(index=False)
    ]
    pick = front["risk_weight"].sub(chosen).abs() < 1e-12
    fig = go.Figure(
        [
            go.Scatter(
                x=front["cvar"],
                y=front["expected_cost"],
                mode="lines+markers+text",
                text=[str(p) for p in front["point"]],
                textposition="top right",
                marker={"size": 10, "color": SERIES[0]},
                line={"color": SERIES[0]},
                name="frontier",
                hovertext=hover,
                hoverinfo="text",
            ),
            go.Scatter(
                x=front.loc[pick, "cvar"],
                y=front.loc[pick, "expected_cost"],
                mode="markers",
                marker={
                    "size": 16,
                    "color": "rgba(0,0,0,0)",
                    "line": {"width": 2, "color": SERIES[3]},
                },
                name="the plan of this report",
                hoverinfo="skip",
            ),
        ]
    )
    fig.update_layout(
        **base_layout(
            height=420,
            xaxis={"title": {"text": f"CVaR of the end-use value at risk ({currency})"}},
            yaxis={"title": {"text": f"expected cost ({currency})"}},
            legend={"orientation": "h", "y": -0.2},
        )
    )
    return fig


def _scenario_figure(sc: pd.DataFrame, currency: str) -> go.Figure:
    """Per scenario: the end-use value at risk with and without the plan."""
    fig = go.Figure(
        [
            go.Bar(
                y=sc["scenario"].map(esc),
                x=sc["unmet_value_without_plan"],
                orientation="h",
                name="without the plan",
                marker={"color": "#b8c0cc"},
            ),
            go.Bar(
                y=sc["scenario"].map(esc),
                x=sc["unmet_value"],
                orientation="h",
                name="with the plan",
                marker={"color": SERIES[0]},
            ),
        ]
    )
    fig.update_layout(
        **base_layout(
            height=max(180, 90 + 44 * len(sc)),
            barmode="group",
            xaxis={"title": {"text": f"end-use value at risk ({currency})"}},
            yaxis={"autorange": "reversed"},
            legend={"orientation": "h", "y": -0.25},
        )
    )
    return fig


def render_plan_report(res: PlanResult, instance: Instance | None = None) -> str:
    """The HTML text of the report of a plan."""
    s = res.summary
    names = Names(instance, [])
    info = _instance_info(instance, s)
    currency = info["currency"]
    figs = _Figures()
    sc = res.scenarios
    scen = [
        {
            "name": r.scenario,
            "probability": float(r.probability),
            "objective": float(r.objective),
            "objective_without": float(r.objective_without_plan),
            "unmet": float(r.unmet_value),
            "unmet_without": float(r.unmet_value_without_plan),
            "cvar_weight": float(r.cvar_weight),
        }
        for r in sc.itertuples(index=False)
    ]
    front = None
    if res.frontier is not None and len(res.frontier):
        front = [
            {
                "point": int(r.point),
                "risk_weight": float(r.risk_weight),
                "expected_cost": float(r.expected_cost),
                "cvar": float(r.cvar),
                "expected_unmet": float(r.expected_unmet_value),
                "first_stage": float(r.first_stage_cost),
                "stockpile_t": float(r.stockpile_t),
                "projects": int(r.projects_chosen),
                "chosen": abs(float(r.risk_weight) - float(s["risk_weight"])) < 1e-12,
            }
            for r in res.frontier.itertuples(index=False)
        ]
    ctx = {
        "plotly_js": _plotly_js(),
        "topojson": script_json(_asset("world_110m.json")),
        "css": _asset_markup("report.css"),
        "js": _asset_markup("report.js", script=True),
        "title": info["title"],
        "instance": info,
        "currency": currency,
        "s": s,
        "source": s.get("scenario_source"),
        "portfolio": _portfolio(res, names),
        "scenarios": scen,
        "frontier": front,
        "fig": {
            "frontier": figs.add(
                "frontier",
                _frontier_figure(res.frontier, float(s["risk_weight"]), currency)
                if front
                else None,
            ),
            "map": figs.add("plan-map", _portfolio_map(res, names)),
            "scenarios": figs.add("plan-scenarios", _scenario_figure(sc, currency)),
        },
        "figures": figs.items,
        "meta": _meta({"solve_seconds": s.get("extensive_form", {}).get("solve_seconds")}),
    }
    return _env().get_template("plan.html.j2").render(**ctx)


def _asset_markup(name: str, script: bool = False):
    from markupsafe import Markup

    text = _asset(name)
    return Markup(text.replace("</", "<\\/") if script else text)


def write_plan_report(path: str | Path, res: PlanResult, instance: Instance | None = None) -> Path:
    """Write the report of a plan to ``path`` atomically (temp file + rename)."""
    return write_file(path, render_plan_report(res, instance))


#: Text columns of a plan folder's tables (ids stay text: "NA" is Namibia).
_TEXT = {"kind", "id", "site", "process", "commodity", "unit", "committed", "scenario"}
PLAN_FILES = ("plan.csv", "scenarios.csv", "summary.json")


def is_plan_folder(folder: str | Path) -> bool:
    """True when ``folder`` was written by ``rechain plan --out`` (its provenance says so)."""
    from optimizer.results.provenance import read_parts

    return "plan" in read_parts(Path(folder))


def load_saved_plan(
    folder: str | Path, instance: str | Path | None = None
) -> tuple[PlanResult, Instance | None, list[str]]:
    """A ``rechain plan --out`` folder read back: the result, its instance (when it can be
    found, as :func:`optimizer.report.load.find_instance` finds a solve's) and notes."""
    import json

    from optimizer.analysis.plan import PlanResult
    from optimizer.errors import InputError, Problem
    from optimizer.fileio import unescape_formulas
    from optimizer.report.load import find_instance
    from optimizer.results.provenance import read_parts

    folder = Path(folder)
    missing = [f for f in PLAN_FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(
            Problem(str(folder), None, None, f"a plan folder without {', '.join(missing)}")
        )

    def read(name: str) -> pd.DataFrame | None:
        f = folder / name
        if not f.is_file():
            return None
        head = pd.read_csv(f, nrows=0)
        text = [c for c in head.columns if c in _TEXT]
        df = pd.read_csv(f, dtype=dict.fromkeys(text, str), keep_default_na=False, na_values=[""])
        unescape_formulas(df)
        for c in text:
            df[c] = df[c].fillna("")
        return df

    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        res = PlanResult(
            read("plan.csv"),  # type: ignore[arg-type]
            read("scenarios.csv"),  # type: ignore[arg-type]
            summary,
            read("frontier.csv"),
            read("plan_frontier.csv"),
        )
    except (OSError, ValueError) as e:
        raise InputError(Problem(str(folder), None, None, f"cannot read the plan: {e}")) from None
    prov = read_parts(folder).get("plan", {})
    inst, notes = find_instance(
        {"instance_path": prov.get("instance_path"), "instance": prov.get("instance")},
        folder,
        instance,
    )
    return res, inst, notes
