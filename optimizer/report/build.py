"""Build one self-contained HTML report from solved results.

The page is a Jinja2 template (autoescaped) with plotly figures embedded as
inert JSON (``<script type="application/json">``) and rendered by plotly.js,
which is inlined together with the world map topojson it needs, so the file
makes no network request at all.  A Content-Security-Policy in the page
forbids any fetch as a second line of defence.

Public entry points: :func:`write_report` (one result), :func:`write_compare_report`
(several cases against a base) and :func:`write_saved_report` (a folder read
back by :func:`optimizer.report.load.load_saved`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from optimizer._version import __version__
from optimizer.errors import RechainError
from optimizer.fileio import write_file
from optimizer.report import figures as F
from optimizer.report.names import Names, short
from optimizer.results import shortfall
from optimizer.results.area_prices import OUTSIDE, gaps, side_by_side

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from optimizer.data.instance import Instance
    from optimizer.report.load import Saved
    from optimizer.results.compare import Comparison
    from optimizer.results.result import Result

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TOL = 1e-6

# ---------------------------------------------------------------------------
# safe embedding


_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_RE = re.compile("[<>&\u2028\u2029]")


def script_json(text: str) -> Markup:
    """JSON text made safe inside ``<script>``: no ``</script>``, ``<!--`` or ``]]>`` can form.

    Only characters that can appear inside JSON strings are replaced, by
    their ``\\uXXXX`` escapes, so the JSON parses to exactly the same value.
    """
    return Markup(_JSON_RE.sub(lambda m: _JSON_ESCAPES[m.group(0)], text))


def fig_json(fig: go.Figure) -> Markup:
    """A figure as safe JSON (plotly's own encoder handles numpy and NaN)."""
    return script_json(fig.to_json(validate=False, pretty=False, engine="json"))


#: plotly.js as the report embeds it: a partial bundle of the trace types its figures use
#: (assets/README.md; a third of the full plotly.min.js, which Chromium took 1.5-3 s to
#: parse and run before the first chart could draw).
PLOTLY_JS = "plotly-rechain.min.js"


@cache
def _plotly_js() -> Markup:
    js = _asset(PLOTLY_JS)
    # the bundle has no "</script"; make sure it stays that way.
    return Markup(re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE))


@cache
def _asset(name: str) -> str:
    return (HERE / "assets" / name).read_text(encoding="utf-8")


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["t"] = F.t
    env.filters["money"] = F.money
    env.filters["pct"] = F.pct
    return env


# ---------------------------------------------------------------------------
# pieces of the context


class _Figures:
    """Collects figures under stable ids for the template."""

    def __init__(self) -> None:
        self.items: dict[str, Markup] = {}

    def add(self, key: str, fig: go.Figure | None) -> str | None:
        if fig is None:
            return None
        self.items[key] = fig_json(fig)
        return key


def _scenario_info(
    instance: Instance | None, ids: list[str], refs: list[str] | None = None
) -> list[dict[str, Any]]:
    """Title, question and description of each scenario applied, from its YAML file."""
    from optimizer.scenarios.apply import load_scenario, resolve_path

    found: dict[str, Any] = {}
    ipath = Path(instance.path) if instance is not None else None
    paths: list[Path] = []
    if ipath is not None:
        for ref in refs or []:
            try:
                paths.append(resolve_path(ipath, ref))
            except RechainError:
                continue
        paths += [ipath / "scenarios" / f"{i}.yaml" for i in ids]
        paths += (
            sorted((ipath / "scenarios").glob("*.y*ml")) if (ipath / "scenarios").is_dir() else []
        )
    for p in paths:
        if all(i in found for i in ids):
            break
        if not p.is_file():
            continue
        try:
            sc, _ = load_scenario(p)
        except RechainError:
            continue
        if sc.id in ids and sc.id not in found:
            found[sc.id] = sc
    out = []
    for i in ids:
        sc = found.get(i)
        if sc is None:
            out.append(
                {
                    "id": i,
                    "title": "",
                    "question": "",
                    "description": "",
                    "sources": [],
                    "changes": 0,
                    "policies": [],
                }
            )
            continue
        out.append(
            {
                "id": i,
                "title": sc.title,
                "question": " ".join(sc.question.split()),
                "description": " ".join(sc.description.split()),
                "sources": list(sc.sources),
                "changes": len(sc.changes),
                "policies": [str(p.get("type", "")) for p in sc.policies],
            }
        )
    return out


def _worst(res: Result, names: Names, n: int = 3) -> list[dict[str, Any]]:
    """The worst-hit markets: value at risk first, then tonnes of each commodity short."""
    return [
        {
            "market": m.market,
            "label": names.site_label(m.market),
            "value": m.value,
            "lines": [
                {
                    "commodity": names.commodity_name(c),
                    "unmet": u,
                    "demand": d,
                    "share": u / d if d else 0.0,
                }
                for c, u, d in m.lines[:3]
            ],
            "more": max(0, len(m.lines) - 3),
        }
        for m in shortfall.by_market(res.shortages, n)
    ]


def _headline(res: Result, names: Names) -> dict[str, Any]:
    s = res.summary
    cb = s.get("cost_breakdown") or {}
    total = float(s["objective"])
    costs = [
        {
            "group": k.replace("_", " "),
            "value": float(v),
            "share": float(v) / total if total else 0.0,
        }
        for k, v in cb.items()
        if abs(float(v)) > 0.5
    ]
    coms = shortfall.by_commodity(res.shortages)
    var = shortfall.value_at_risk(res.shortages)
    return {
        "status": str(s.get("status", "")),
        "objective": total,
        "costs": costs,
        "unmet_value": var,
        "valued": var == var,
        "short": [
            {
                "commodity": names.commodity_name(r.commodity),
                "unmet": float(r.unmet),
                "demand": float(r.demand),
                "share": float(r.unmet_share),
            }
            for r in coms.itertuples(index=False)
        ],
        "commodities_short": len(coms),
        "worst": _worst(res, names),
        "markets_short": len(shortfall.by_market(res.shortages)),
        "horizon": s.get("horizon", "long"),
        "reference": "+".join(s.get("reference_scenarios") or []) or "the undisrupted instance",
    }


def _shortage_rows(res: Result, names: Names) -> list[dict[str, Any]]:
    s = res.shortages
    s = s.loc[s["unmet"] > TOL].sort_values("unmet", ascending=False)
    return [
        {
            "market": names.site_label(r.market),
            "country": names.place(str(r.market), str(getattr(r, "country", ""))),
            "commodity": names.commodity_name(r.commodity),
            "period": r.period,
            "demand": r.demand,
            "served": r.served if "served" in s else r.demand - r.unmet,
            "unmet": r.unmet,
            "share": r.unmet / r.demand if r.demand else 0.0,
            "value": float(getattr(r, "unmet_value", float("nan"))),
        }
        for r in s.itertuples(index=False)
    ]


def _times(x: float) -> str:
    """``1.04×`` / ``38×`` / ``5.5k×`` (— for a missing ratio)."""
    if x != x:
        return "—"
    return f"{x:.2f}×" if x < 10 else f"{x:,.0f}×" if x < 1000 else f"{F.money(x)}×"


def _area_price_rows(res: Result, names: Names, top: int = 15) -> list[dict[str, Any]]:
    """Per ``price_areas`` entry: the commodities whose price inside and outside it differ
    most (:func:`optimizer.results.area_prices.gaps`)."""
    ap = res.area_prices
    out = []
    if ap is None or not len(ap):
        return out
    areas = sorted({a.removeprefix(OUTSIDE) for a in ap["area"] if str(a).startswith(OUTSIDE)})
    for area in areas:
        both = side_by_side(ap, area)
        g = gaps(ap, area)
        label = names.country_name(area) if len(area) == 2 else area
        out.append(
            {
                "area": label,
                "compared": len(both),
                "differ": len(g),
                "rows": [
                    {
                        "commodity": names.commodity_name(r.commodity),
                        "period": r.period,
                        "inside": float(r.price_inside),
                        "outside": float(r.price_outside),
                        "ratio": _times(float(r.ratio)),
                        "first_tonne": "sites" in (r.basis_inside, r.basis_outside),
                    }
                    for r in g.head(top).itertuples(index=False)
                ],
            }
        )
    return out


def _plain(name: str) -> str:
    """A commodity name without its parenthetical details, for running text."""
    return re.sub(r"\s*\([^)]*\)", "", name).strip() or name


def _activity_units(names: Names) -> dict[str, str]:
    """What one unit of a process's capacity is, in words (from its recipes)."""
    inst = names.instance
    if inst is None:
        return {}
    procs, rec = inst.tables["processes"], inst.tables["recipes"]
    out: dict[str, str] = {}
    for pid, g in procs.groupby("id", sort=False):
        stage = names.stage(str(g["site"].iloc[0]))
        phrase = ""
        for recipe in g["recipe"]:
            r = rec.loc[rec["recipe"] == recipe]
            ins = r.loc[(r["direction"] == "input") & (r["amount"] == 1)]
            outs = r.loc[(r["direction"] == "output") & (r["amount"] == 1)]
            if len(outs) and (stage == "mine" or not len(ins)):
                verb = {"mine": "mined", "recycling": "recovered"}.get(stage, "made")
                phrase = f"1 more t of {_plain(names.commodity_name(str(outs['commodity'].iloc[0])))} {verb}"
            elif len(ins):
                phrase = f"1 more t of {_plain(names.commodity_name(str(ins['commodity'].iloc[0])))} processed"
            if phrase:
                break
        out[str(pid)] = phrase
    return out


def _project_rows(res: Result, names: Names) -> list[dict[str, Any]]:
    """The projects built (expansions.csv): where, from when, committed or chosen."""
    e = res.expansions
    if e is None or not len(e):
        return []
    b = e.loc[e["built"] > 1e-6].sort_values(["in_service", "capex_cost"], ascending=[True, False])
    return [
        {
            "id": str(r.id),
            "site": names.site_label(str(r.site)),
            "country": names.place(str(r.site), str(r.country)),
            "in_service": r.in_service,
            "how": "committed" if bool(r.committed) else "chosen by the LP",
            "built": float(r.built),
            "max": float(r.max_capacity),
            "capex": float(r.capex_cost),
        }
        for r in b.itertuples(index=False)
    ]


def _bottleneck_rows(res: Result, names: Names, currency: str) -> list[dict[str, Any]]:
    b = res.bottlenecks
    links = None
    if names.instance is not None:
        links = names.instance.tables["links"].set_index("id")
    units = _activity_units(names)
    rows = []
    for r in b.itertuples(index=False):
        element = str(getattr(r, "element", "") or "")
        sp = float(r.shadow_price)
        util = float(r.utilization) if r.utilization == r.utilization else float("nan")
        full = f"It runs at {F.pct(util, 0)} of capacity. " if util == util else ""
        if r.kind == "link_capacity":
            if links is not None and element in links.index:
                lk = links.loc[element]
                what = (
                    f"{names.site_name(str(lk['from_site']))} → "
                    f"{names.site_name(str(lk['to_site']))} ({names.commodity_name(str(lk['commodity']))})"
                )
            else:
                what = f"link {element}"
            words = (
                f"{full}If this route could carry one more tonne, the total cost would fall by "
                f"{F.money(sp)} {currency}."
            )
        else:
            what = f"{names.site_name(str(r.site))}: {element}"
            unit = units.get(element)
            words = (
                f"{full}Capacity for {unit} would cut the total cost by {F.money(sp)} {currency}."
                if unit
                else f"{full}One more unit of capacity would cut the total cost by "
                f"{F.money(sp)} {currency}."
            )
        rows.append(
            {
                "what": what,
                "constraint": r.constraint,
                "country": names.place(str(getattr(r, "site", "") or ""), str(r.country)),
                "period": r.period,
                "capacity": getattr(r, "capacity", float("nan")),
                "used": getattr(r, "used", float("nan")),
                "utilization": util,
                "shadow_price": sp,
                "words": words,
            }
        )
    return rows


def _mincut_rows(res: Result, names: Names, top: int = 15) -> list[dict[str, Any]]:
    """The demands with the least structural headroom (``mincut.csv``), tightest first."""
    m = res.mincut
    if m is None or not len(m) or "cut_share" not in m:
        return []
    site_of: dict[str, str] = {}
    if names.instance is not None:
        pro = names.instance.tables["processes"]
        site_of = dict(zip(pro["id"], pro["site"], strict=True))
    rows = []
    for r in (
        m.sort_values(["cut_share", "demand"], ascending=[True, False])
        .head(top)
        .itertuples(index=False)
    ):
        parts = [e for e in str(r.cut_elements or "").split(";") if e]
        shown = [f"{names.site_name(site_of[e])} ({e})" if e in site_of else e for e in parts[:4]]
        if len(parts) > 4:
            shown.append(f"{len(parts) - 4} more")
        rows.append(
            {
                "market": names.site_label(str(r.market)),
                "commodity": names.commodity_name(str(r.commodity)),
                "period": r.period,
                "demand": float(r.demand),
                "served": float(r.served),
                "min_cut": float(r.min_cut),
                "share": float(r.cut_share),
                "key_input": names.commodity_name(str(r.key_input)) if r.key_input else "",
                "cut": "; ".join(shown),
                "countries": ", ".join(
                    names.country_name(c) for c in str(r.cut_countries or "").split(";") if c
                ),
            }
        )
    return rows


def _concentration_rows(res: Result, names: Names) -> tuple[list[dict], list[dict]]:
    c = res.concentration
    if not len(c):
        return [], []
    rows = []
    star = c.loc[c["commodity"] == "*"]
    for (period, stage), g in star.groupby(["period", "stage"], sort=False):
        row: dict[str, Any] = {
            "period": period,
            "stage": names.stage_label(str(stage)),
            "_order": 0,
        }
        for scope in ("country", "company"):
            gs = g.loc[g["scope"] == scope]
            if len(gs):
                x = gs.iloc[0]
                row[f"hhi_{scope}"] = float(x["hhi"])
                row[f"top_{scope}"] = (
                    names.country_name(str(x["top_country"]))
                    if scope == "country"
                    else str(x["top"])
                )
                row[f"share_{scope}"] = float(x["top_share"])
        order = names.stages_present()
        row["_order"] = order.index(stage) if stage in order else 99
        rows.append(row)
    rows.sort(key=lambda r: (r["period"], r["_order"]))
    detail = []
    d = c.loc[(c["commodity"] != "*") & (c["scope"] == "country")].sort_values(
        ["period", "hhi"], ascending=[True, False]
    )
    for r in d.itertuples(index=False):
        detail.append(
            {
                "period": r.period,
                "stage": names.stage_label(str(r.stage)),
                "commodity": names.commodity_name(str(r.commodity)),
                "hhi": float(r.hhi),
                "top": names.country_name(str(r.top_country)),
                "share": float(r.top_share),
                "total": float(getattr(r, "total", float("nan"))),
            }
        )
    return rows, detail


def _policy_words(r, sp: float, binding: bool, currency: str) -> str:
    """What a policies.csv row means, in a sentence."""
    if r.type == "price_floor":
        return (
            f"The guarantor pays {F.money(sp)} {currency}/t over the market price of "
            f"{F.money(float(r.used))} on {F.t(float(r.quantity))} t: "
            f"{F.money(float(r.payment))} {currency}."
            if binding
            else "The market price is above the floor: nothing is paid."
        )
    if binding:
        return f"Loosening this limit by one unit would save {F.money(abs(sp))} {currency}."
    return "Not binding: the policy costs nothing at the margin."


def _policy_rows(res: Result, names: Names, currency: str) -> list[dict[str, Any]]:
    p = res.policies
    if not len(p):
        return []
    p = p.sort_values(["binding", "shadow_price"], ascending=[False, False], key=None)
    rows = []
    for r in p.itertuples(index=False):
        sp = float(r.shadow_price)
        binding = bool(r.binding) if not isinstance(r.binding, str) else r.binding == "True"
        rows.append(
            {
                "policy": r.policy,
                "type": str(r.type).replace("_", " "),
                "constraint": r.constraint,
                "period": r.period,
                "commodity": names.commodity_name(str(r.commodity)) if r.commodity else "",
                "country": str(r.country or ""),
                "sense": r.sense,
                "limit": float(r.limit),
                "used": float(r.used),
                "shadow_price": sp,
                "binding": binding,
                "words": _policy_words(r, sp, binding, currency),
            }
        )
    return rows


_KIND = {"[V]": "primary", "[S]": "secondary", "[E]": "estimate"}


def _sources(instance: Instance | None, used: set[str]) -> list[dict[str, Any]]:
    if instance is None:
        return []
    s = instance.tables.get("sources")
    if s is None:
        return []
    rows = []
    for r in s.itertuples(index=False):
        url = str(getattr(r, "url", "") or "").strip()
        note = str(getattr(r, "note", "") or "")
        if note == "nan":
            note = ""
        kind = next((v for k, v in _KIND.items() if note.lstrip().startswith(k)), "")
        year = getattr(r, "year", "")
        rows.append(
            {
                "id": r.id,
                "title": str(r.title),
                "publisher": str(getattr(r, "publisher", "") or ""),
                "year": "" if year != year or year in ("", None) else str(year).removesuffix(".0"),
                "url": url if re.match(r"^https?://", url, flags=re.IGNORECASE) else "",
                "note": note,
                "kind": kind,
                "scenario": r.id in used,
            }
        )
    return rows


def _instance_info(instance: Instance | None, summary: dict[str, Any]) -> dict[str, Any]:
    if instance is None:
        return {
            "name": str(summary.get("instance", "")),
            "title": str(summary.get("instance", "")),
            "description": "",
            "base_year": "",
            "currency": "USD",
            "periods": list(summary.get("periods", [])),
            "path": str(summary.get("instance_path", "")),
            "shortage_penalty": None,
            "counts": {},
        }
    m = instance.manifest
    tb = instance.tables
    return {
        "name": m.name,
        "title": m.title,
        "description": " ".join(m.description.split()),
        "base_year": m.base_year,
        "currency": m.currency,
        "periods": list(m.periods),
        "path": str(instance.path),
        "shortage_penalty": m.defaults.shortage_penalty,
        "counts": {
            "sites": len(tb["sites"]),
            "commodities": len(tb["commodities"]),
            "links": len(tb["links"]),
            "sources": len(tb["sources"]),
            "countries": tb["sites"]["country"].nunique(),
        },
    }


def _legend(names: Names, results: list[Result]) -> list[dict[str, str]]:
    """Country colour chips (and regions sites stand for), largest flow first."""
    tot: dict[str, float] = {}
    for r in results:
        for site, country in (("source", "source_country"), ("target", "target_country")):
            g = r.flows.groupby([site, country])["quantity"].sum()
            for (sid, c), q in g.items():
                key = names.site_group(str(sid)) or str(c)
                tot[key] = tot.get(key, 0.0) + float(q)
    codes = sorted(tot, key=lambda c: -tot[c])
    return [
        {"code": c, "name": names.country_name(c), "colour": names.country_colour(c)}
        for c in codes
        if c
    ]


def _filtered_views(fig: go.Figure | None) -> bool:
    """Whether the Sankey has "Top N sites per stage" views."""
    menus = fig.layout.updatemenus if fig is not None else ()
    return any("Top " in (b.label or "") for m in menus for b in m.buttons)


def _meta(summary: dict[str, Any]) -> dict[str, Any]:
    solver = summary.get("solver") or {}
    ms = summary.get("model_size") or {}
    return {
        "rechain_version": __version__,
        "solved_with": summary.get("rechain_version", ""),
        "run_at": summary.get("run_at", ""),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "solver": " ".join(
            str(x)
            for x in (solver.get("name", ""), solver.get("version", ""), solver.get("method", ""))
            if x
        ),
        "model_status": solver.get("model_status", ""),
        "size": ms,
        "seconds": {
            k: summary.get(f"{k}_seconds")
            for k in ("build", "handoff", "solve")
            if summary.get(f"{k}_seconds") is not None
        },
    }


def _first_period(res: Result, instance: Instance | None) -> tuple[Any, list]:
    periods = list(res.summary.get("periods") or [])
    if not periods and len(res.flows):
        periods = sorted(res.flows["period"].unique().tolist())
    if not periods and instance is not None:
        periods = instance.periods
    return (periods[0] if periods else None), periods


def _origin_rows(res: Result, names: Names) -> list[dict[str, Any]]:
    """With origin tracing: what each market uses, and the share carrying each origin tag."""
    o = getattr(res, "origins", None)
    if o is None or not len(o):
        return []
    use = o.loc[o["step"] == "use"]
    rows = []
    for (period, market), g in use.groupby(["period", "site"], sort=True):
        total = float(g["quantity"].sum())
        by = g.groupby("origin")["quantity"].sum().sort_values(ascending=False)
        rows.append(
            {
                "period": period,
                "market": names.site_label(str(market)),
                "used": total,
                "clean": float(by.get("clean", 0.0)) / total if total else 0.0,
                "labels": [
                    {"label": str(lab).replace("&", " + "), "share": float(q) / total}
                    for lab, q in by.items()
                    if lab != "clean" and total
                ],
            }
        )
    return rows


def _timeline(
    key: str, res: Result, names: Names, figs: _Figures, instance: Instance | None
) -> dict[str, Any] | None:
    """Monthly results: when each market first goes short, and the timeline figures."""
    from optimizer.report.figures import timeline as TL
    from optimizer.results.shortfall import SHORT_SHARE, SPENT_SHARE, first_shortages

    months = TL.months_of(res)
    if not months:
        return None
    ev = TL.events(instance, months)
    areas = list(instance.manifest.price_areas) if instance is not None else []
    exporter = areas[0] if areas else None
    fs = first_shortages(res)
    fs = fs.loc[fs["first_short"].notna()]
    d = res.summary.get("decisions") or {}
    return {
        "months": f"{months[0]} to {months[-1]}",
        "threshold": SHORT_SHARE,
        "spent": SPENT_SHARE,
        "cover": bool(fs["stock_left"].notna().any()),
        "decisions": d,
        "events": [{"date": a, "label": b} for a, b in ev],
        "first": [
            {
                "market": names.site_label(str(r.market)),
                "commodity": names.commodity_name(str(r.commodity)),
                "first": r.first_short,
                "months": int(r.months_short),
                "last": r.last_short,
                "worst": float(r.worst_share),
                "left": None if r.stock_left != r.stock_left else float(r.stock_left),
                "spent": r.first_spent if isinstance(r.first_spent, str) else None,
                "value": float(r.unmet_value),
            }
            for r in fs.head(40).itertuples(index=False)
        ],
        "fig": {
            "unmet": figs.add(f"{key}-tl-unmet", TL.timeline_unmet_figure(res, names, ev)),
            "stocks": figs.add(
                f"{key}-tl-stocks", TL.timeline_stock_figure(res, instance, names, ev)
            ),
            # the first price area's (CN in world-2025-monthly) magnet exports by destination
            "exports": figs.add(
                f"{key}-tl-exports",
                TL.timeline_exports_figure(res, instance, names, ev, exporter)
                if exporter
                else None,
            ),
        },
        "exporter": names.country_name(exporter) if exporter else "",
    }


def _result_sections(
    key: str,
    res: Result,
    names: Names,
    currency: str,
    figs: _Figures,
    period,
    instance: Instance | None = None,
) -> dict[str, Any]:
    """Everything a single result contributes (used alone and per case in comparisons)."""
    conc_rows, conc_detail = _concentration_rows(res, names)
    crit = res.extra.get("criticality") if isinstance(res.extra, dict) else None
    crit_rows = []
    if isinstance(crit, pd.DataFrame) and len(crit):
        for r in crit.head(50).itertuples(index=False):
            crit_rows.append(
                {
                    "rank": getattr(r, "rank", ""),
                    "element": F._element_label(names, str(getattr(r, "element", ""))),
                    "kind": str(getattr(r, "kind", "")),
                    "unmet": float(getattr(r, "unmet", float("nan"))),
                    "unmet_share": float(getattr(r, "unmet_share", float("nan"))),
                    "unmet_value": float(getattr(r, "unmet_value", float("nan"))),
                    "worst_commodity": names.commodity_name(str(getattr(r, "worst_commodity", "")))
                    if getattr(r, "worst_commodity", "")
                    else "",
                    "worst_amount": float(getattr(r, "worst_market_unmet", float("nan"))),
                    "cost_increase": float(getattr(r, "cost_increase", float("nan"))),
                    "infeasible": getattr(r, "status", "") == "infeasible",
                    "worst_market": names.site_label(str(getattr(r, "worst_market", "") or ""))
                    if getattr(r, "worst_market", "")
                    else "",
                }
            )
    return {
        "headline": _headline(res, names),
        "timeline": _timeline(key, res, names, figs, instance),
        "shortages": _shortage_rows(res, names),
        "area_prices": _area_price_rows(res, names),
        "bottlenecks": _bottleneck_rows(res, names, currency),
        "projects": _project_rows(res, names),
        "projects_offered": 0 if res.expansions is None else len(res.expansions),
        "mincut": _mincut_rows(res, names),
        "concentration": conc_rows,
        "concentration_detail": conc_detail,
        "origins": _origin_rows(res, names),
        "policies": _policy_rows(res, names, currency),
        "criticality": crit_rows,
        "fig": {
            "map": figs.add(f"{key}-map", F.map_figure(res, names, period)),
            "shortages": figs.add(f"{key}-short", F.shortage_figure(res, names)),
            "bottlenecks": figs.add(
                f"{key}-bottlenecks", F.bottleneck_figure(res.bottlenecks, names, currency)
            ),
            "projects": figs.add(
                f"{key}-projects", F.build_plan_figure(res.expansions, names, currency)
            ),
            "criticality": figs.add(
                f"{key}-criticality",
                F.criticality_figure(crit, names) if isinstance(crit, pd.DataFrame) else None,
            ),
            "concentration": figs.add(
                f"{key}-conc", F.concentration_figure(res.concentration, names, period)
            ),
        },
    }


def _common(
    instance: Instance | None,
    results: list[Result],
    figs: _Figures,
    notes: list[str] | None,
) -> dict[str, Any]:
    return {
        "plotly_js": _plotly_js(),
        "topojson": script_json(_asset("world_110m.json")),
        "css": Markup(_asset("report.css")),
        "js": Markup(_asset("report.js").replace("</", "<\\/")),
        "figures": figs.items,
        "notes": list(notes or []),
        "inferred_stages": False,
        "legend": [],
        "sources": [],
        "source_kinds": {},
    }


def _finish(ctx: dict[str, Any], names: Names, instance, results, used_sources: set[str]) -> None:
    ctx["inferred_stages"] = names.inferred_stages
    ctx["legend"] = _legend(names, results)
    ctx["sources"] = _sources(instance, used_sources)
    kinds: dict[str, int] = {}
    for s in ctx["sources"]:
        kinds[s["kind"] or "other"] = kinds.get(s["kind"] or "other", 0) + 1
    ctx["source_kinds"] = kinds


# ---------------------------------------------------------------------------
# public API


def render_report(
    res: Result,
    instance: Instance | None = None,
    *,
    scenario_refs: list[str] | None = None,
    criticality: pd.DataFrame | None = None,
    notes: list[str] | None = None,
) -> str:
    """The HTML text of the report for one solved result.

    ``instance`` (the instance as solved, or the base instance) supplies site
    names, stages, coordinates and sources; without it the report falls back
    to ids and inferred stages.  ``criticality`` (a ranking from
    ``rechain criticality``) adds the N-k chokepoint chart.
    """
    if criticality is not None:
        res = dataclasses.replace(res, extra={**(res.extra or {}), "criticality": criticality})
    names = Names(instance, [res])
    info = _instance_info(instance, res.summary)
    currency = info["currency"]
    period, periods = _first_period(res, instance)
    figs = _Figures()
    scen = _scenario_info(instance, list(res.summary.get("scenarios") or []), scenario_refs)
    sankey, intra = F.sankey_figure([("result", res)], names, periods)
    ctx = _common(instance, [res], figs, notes)
    ctx.update(
        kind="result",
        title=info["title"],
        instance=info,
        scenarios=scen,
        currency=currency,
        period=period,
        periods=periods,
        sankey=figs.add("sankey", sankey),
        sankey_intra=intra,
        sankey_top=_filtered_views(sankey),
        r=_result_sections("r", res, names, currency, figs, period, instance),
        meta=_meta(res.summary),
    )
    _finish(ctx, names, instance, [res], {s for sc in scen for s in sc["sources"]})
    return _env().get_template("report.html.j2").render(**ctx)


def sankey(res: Result, instance: Instance | None = None) -> go.Figure:
    """The report's Sankey of one result as a plotly Figure (for notebooks)."""
    names = Names(instance, [res])
    _, periods = _first_period(res, instance)
    fig, _ = F.sankey_figure([("result", res)], names, periods)
    return fig


def write_report(path: str | Path, res: Result, instance: Instance | None = None, **kw) -> Path:
    """Write the report for one result to ``path`` atomically (temp file + rename)."""
    return write_file(path, render_report(res, instance, **kw))


def render_compare_report(
    cases: list[tuple[str, Result]],
    comparisons: list[Comparison],
    instance: Instance | None = None,
    *,
    notes: list[str] | None = None,
) -> str:
    """The HTML text of a comparison: the first case is the base, each comparison a case vs it."""
    if len(cases) < 2 or len(comparisons) != len(cases) - 1:
        raise ValueError("a comparison report needs a base and one Comparison per other case")
    base_name, base = cases[0]
    names = Names(instance, [r for _, r in cases])
    info = _instance_info(instance, base.summary)
    currency = info["currency"]
    period, periods = _first_period(base, instance)
    figs = _Figures()
    rows = []
    used: set[str] = set()
    for i, (name, res) in enumerate(cases):
        refs = [] if name == "baseline" else name.split("+")
        scen = _scenario_info(instance, list(res.summary.get("scenarios") or []), refs)
        used |= {s for sc in scen for s in sc["sources"]}
        h = _headline(res, names)
        rows.append(
            {
                "name": name,
                "is_base": i == 0,
                "scenarios": scen,
                "status": h["status"],
                "objective": h["objective"],
                "delta_objective": h["objective"] - float(base.objective),
                "unmet_value": h["unmet_value"],
                "valued": h["valued"],
                "commodities_short": h["commodities_short"],
                "worst": h["worst"],
            }
        )
    comp_ctx = []
    for j, c in enumerate(comparisons):
        case_res = cases[j + 1][1]
        key = f"c{j}"
        sh = c.shortages
        short_rows = [
            {
                "market": names.site_label(str(r.market)),
                "market_id": str(r.market),
                "commodity": names.commodity_name(str(r.commodity)),
                "period": r.period,
                "demand": float(r.demand_case),
                "unmet_base": float(r.unmet_base),
                "unmet_case": float(r.unmet_case),
                "delta": float(r.delta_unmet),
                "share": float(r.unmet_case / r.demand_case) if r.demand_case else 0.0,
            }
            for r in sh.itertuples(index=False)
        ]
        flow_rows = [
            {
                "from": names.country_name(str(r.source_country)),
                "to": names.country_name(str(r.target_country)),
                "commodity": names.commodity_name(str(r.commodity)),
                "period": r.period,
                "base": float(r.quantity_base),
                "case": float(r.quantity_case),
                "delta": float(r.delta),
            }
            for r in c.flows.head(25).itertuples(index=False)
        ]
        price_rows = [
            {
                "country": names.country_name(str(r.country)),
                "commodity": names.commodity_name(str(r.commodity)),
                "period": r.period,
                "base": float(r.marginal_cost_base),
                "case": float(r.marginal_cost_case),
                "delta": float(r.delta),
            }
            for r in c.prices.head(15).itertuples(index=False)
        ]
        bn = c.bottlenecks.copy()
        if len(bn):
            bn["change"] = bn["shadow_price"] - bn["shadow_price_base"]
            bn = bn.iloc[(-bn["change"].abs()).argsort(kind="stable")]
        bn_rows = [
            {
                "constraint": r.constraint,
                "where": names.site_name(str(r.site)),
                "country": names.place(str(r.site), str(r.country)),
                "base": float(r.shadow_price_base),
                "case": float(r.shadow_price),
                "new": bool(r.new),
            }
            for r in bn.head(15).itertuples(index=False)
        ]
        cc = c.concentration
        conc_rows = []
        if len(cc):
            cs = cc.loc[(cc["commodity"] == "*") & (cc["delta_hhi"].abs() > 0.5)]
            cs = cs.sort_values("delta_hhi", key=lambda s: -s.abs())
            conc_rows = [
                {
                    "stage": names.stage_label(str(r.stage)),
                    "scope": r.scope,
                    "period": r.period,
                    "base": float(r.hhi_base),
                    "case": float(r.hhi_case),
                    "delta": float(r.delta_hhi),
                }
                for r in cs.itertuples(index=False)
            ]
        cost_rows = [
            {
                "group": str(r.group).replace("_", " "),
                "base": r.base,
                "case": r.case,
                "delta": r.delta,
            }
            for r in c.costs.itertuples(index=False)
            if abs(r.delta) > 0.5 or abs(r.base) > 0.5
        ]
        comp_ctx.append(
            {
                "key": key,
                "case": c.case,
                "base": c.base,
                "row": rows[j + 1],
                "delta_objective": float(c.summary["delta_objective"].iloc[0]),
                "delta_unmet_value": float(c.summary["delta_unmet_value"].iloc[0]),
                "shortages": short_rows,
                "new_short": [r for r in short_rows if r["delta"] > TOL],
                "flows": flow_rows,
                "prices": price_rows,
                "bottlenecks": bn_rows,
                "concentration": conc_rows,
                "costs": cost_rows,
                "policies": _policy_rows(case_res, names, currency),
                "fig": {
                    "flows": figs.add(f"{key}-flows", F.flow_change_figure(c.flows, names)),
                    "costs": figs.add(f"{key}-costs", F.cost_change_figure(c.costs, currency)),
                    "map": figs.add(
                        f"{key}-map", F.change_map_figure(case_res, base, names, period)
                    ),
                },
            }
        )
    sankey, intra = F.sankey_figure(cases, names, periods)
    ctx = _common(instance, [r for _, r in cases], figs, notes)
    ctx.update(
        kind="compare",
        title=info["title"],
        instance=info,
        scenarios=[sc for row in rows for sc in row["scenarios"]],
        currency=currency,
        period=period,
        periods=periods,
        cases=rows,
        comparisons=comp_ctx,
        sankey=figs.add("sankey", sankey),
        sankey_intra=intra,
        sankey_top=_filtered_views(sankey),
        fig_cases=figs.add("cases", F.cases_figure(rows, currency)),
        fig_short=figs.add("cmp-short", F.compare_shortage_figure(cases, names)),
        base=_result_sections("base", base, names, currency, figs, period),
        base_name=base_name,
        meta=_meta(base.summary),
    )
    _finish(ctx, names, instance, [r for _, r in cases], used)
    return _env().get_template("report.html.j2").render(**ctx)


def write_compare_report(
    path: str | Path,
    cases: list[tuple[str, Result]],
    comparisons: list[Comparison],
    instance: Instance | None = None,
    **kw,
) -> Path:
    """Write a comparison report to ``path`` atomically."""
    return write_file(path, render_compare_report(cases, comparisons, instance, **kw))


def write_saved_report(saved: Saved, path: str | Path) -> Path:
    """Write the report for a folder read by :func:`~optimizer.report.load.load_saved`."""
    if saved.kind == "compare":
        return write_compare_report(
            path, saved.results, saved.comparisons, saved.instance, notes=saved.notes
        )
    _, res = saved.results[0]
    return write_report(path, res, saved.instance, notes=saved.notes)


__all__ = [
    "render_compare_report",
    "render_report",
    "sankey",
    "script_json",
    "short",
    "write_compare_report",
    "write_report",
    "write_saved_report",
]
