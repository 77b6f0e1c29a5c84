"""``rechain validate``, ``rechain solve`` and ``rechain report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from optimizer.cli.common import (
    Base,
    Decisions,
    Horizon,
    InstanceArg,
    Lookahead,
    Method,
    Scenario,
    Start,
    _fail,
    _step,
    _warn,
    app,
    check_outputs,
    err,
    out,
    say,
    show,
)
from optimizer.errors import InfeasibleError, RechainError

# pandas, Pyomo and the result modules are imported inside the commands that use
# them, so that ``rechain --help`` and argument errors start fast (issue 16; the test
# tests/cli/test_startup.py checks what ``import optimizer.cli`` loads).


@app.command()
def validate(
    instance: InstanceArg, scenario: Scenario = None, base: Base = None, horizon: Horizon = None
) -> None:
    """Check an instance (and scenarios) without solving; exit 2 listing every problem."""
    from optimizer.api import load

    try:
        with _step("validating"):
            inst = load(instance, scenario or [], base=base, horizon=horizon)
    except RechainError as e:
        _fail(e)
        return
    s = inst.summary()
    out.print(f"[bold green]valid[/] {escape(s['name'])}: {escape(s['title'])}", markup=True)
    if inst.scenarios:
        out.print(f"scenarios: {', '.join(inst.scenarios)}", markup=False)
    out.print(
        f"periods {', '.join(map(str, s['periods']))} · {s['commodities']} commodities · {s['sites']} sites · "
        f"{s['processes']} processes · {s['recipes']} recipes · {s['links']} links · {s['sources']} sources",
        markup=False,
    )
    t = Table(title="Sites by stage", show_edge=False)
    t.add_column("stage")
    t.add_column("sites", justify="right")
    for k, v in s["sites_by_stage"].items():
        t.add_row(escape(str(k)), str(v))
    show(t)
    t = Table(title="Sites by country", show_edge=False)
    t.add_column("country")
    t.add_column("sites", justify="right")
    for k, v in list(s["sites_by_country"].items())[:15]:
        t.add_row(escape(str(k)), str(v))
    show(t)
    t = Table(title="Demand by commodity (t, all periods)", show_edge=False)
    t.add_column("commodity")
    t.add_column("demand", justify="right")
    for k, v in sorted(s["demand_by_commodity"].items(), key=lambda kv: -kv[1])[:20]:
        t.add_row(escape(str(k)), f"{v:,.0f}")
    show(t)
    _warn(inst)


@app.command()
def solve(
    instance: InstanceArg,
    scenario: Scenario = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for summary.json and the CSV tables.")
    ] = None,
    export_model: Annotated[
        Path | None, typer.Option("--export-model", help="Write the exact LP solved (.mps or .lp).")
    ] = None,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="Also write every table to one Excel workbook.")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=0, help="HiGHS time limit in seconds.")
    ] = None,
    method: Method = "choose",
    top: Annotated[
        int, typer.Option("--top", min=1, help="Rows to show in the terminal tables.")
    ] = 10,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Also write a self-contained HTML report (FILE.html)."),
    ] = None,
    horizon: Horizon = None,
    base: Base = None,
    decisions: Decisions = None,
    start: Start = None,
    lookahead: Lookahead = None,
) -> None:
    """Solve an instance (with scenarios) and show shortages, costs and bottlenecks."""
    from optimizer.api import load

    check_outputs(
        {"--out": out_dir},
        {
            "--export-model": (export_model, (".mps", ".lp")),
            "--xlsx": (xlsx, (".xlsx",)),
            "--report": (report, (".html", ".htm")),
        },
    )
    try:
        with _step("loading and validating"):
            inst = load(
                instance,
                scenario or [],
                base=base,
                horizon=horizon,
                decisions=decisions,
                start=start,
                lookahead=lookahead,
            )
        _warn(inst)
        with _step("building and solving"):
            res = inst.solve(method=method, time_limit=time_limit, export=export_model)
        if out_dir is not None:
            from optimizer.lp.iis import DIAGNOSIS_FILES
            from optimizer.results.provenance import provenance

            # an earlier diagnosis goes
            res.write(out_dir, owns=DIAGNOSIS_FILES, provenance=provenance(inst, "solve"))
        if xlsx is not None:
            res.to_excel(xlsx, inst)
        if report is not None:
            from optimizer.report import write_report

            with _step("writing the report"):
                write_report(report, res, inst, scenario_refs=scenario or [])
    except InfeasibleError as e:
        if out_dir is not None:  # the diagnosis, and no other (partial) output
            from optimizer.lp.iis import DIAGNOSIS_FILES, write_diagnosis
            from optimizer.results.columns import TABLE_FILES
            from optimizer.results.provenance import provenance

            # the diagnosis, and nothing of an earlier solve
            write_diagnosis(
                out_dir,
                str(e),
                e.details,
                owns=(*TABLE_FILES, "summary.json"),
                provenance=provenance(inst, "solve"),
            )
            e.diagnosis.append(f"written to {out_dir}/ ({', '.join(DIAGNOSIS_FILES)})")
        _fail(e)
        return
    except RechainError as e:
        _fail(e)
        return
    show_result(res, top=top)
    if out_dir is not None:
        out.print(f"tables written to {out_dir}/", markup=False)
    if export_model is not None:
        out.print(f"model written to {export_model}", markup=False)
    if xlsx is not None:
        out.print(f"workbook written to {xlsx}", markup=False)
    if report is not None:
        out.print(f"report written to {report}", markup=False)


@app.command("report")
def report_cmd(
    result_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder written by `rechain solve --out`, `rechain compare --out` or "
            "`rechain plan --out`."
        ),
    ],
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    instance: Annotated[
        Path | None,
        typer.Option("--instance", help="Instance folder (default: the one in summary.json)."),
    ] = None,
) -> None:
    """Build the HTML report from a saved --out folder, without solving again."""
    from optimizer.report import load_saved, write_saved_report

    check_outputs(files={"--out": (out_file, (".html", ".htm"))})

    try:
        from optimizer.report.plan import is_plan_folder, load_saved_plan, write_plan_report

        with _step("writing the report"):
            if result_dir.is_dir() and is_plan_folder(result_dir):
                plan, inst, notes = load_saved_plan(result_dir, instance)
                write_plan_report(out_file, plan, inst)
            else:
                saved = load_saved(result_dir, instance)
                write_saved_report(saved, out_file)
                notes = saved.notes
    except RechainError as e:
        _fail(e)
        return
    for n in notes:
        err.print(f"[yellow]warning:[/] {escape(n)}", markup=True)
    out.print(f"report written to {out_file}", markup=False)


def money(x: float) -> str:
    """``29.9 M`` / ``1.24 bn`` / ``850``: USD amounts that stay short."""
    if x != x:
        return "—"
    for unit, div in (("bn", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:,.{1 if abs(x) < 100 * div else 0}f} {unit}"
    return f"{x:,.0f}"


def tonnes(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"


def _worst(res, n: int = 3) -> str:
    """The worst-hit markets: value at risk first, tonnes per commodity (never summed)."""
    from optimizer.results import shortfall

    worst = shortfall.by_market(res.shortages, n)
    return escape("; ".join(shortfall.words(m, money, tonnes, top=1) for m in worst)) or "none"


def headline(res) -> str:
    """``value at risk 1.2 bn USD · short: 3 commodities in 4 markets`` (no unlike sums)."""
    from optimizer.results import shortfall

    sh = res.shortages
    markets = shortfall.by_market(sh)
    if not markets:
        return "no shortage: every market is fully served"
    coms = shortfall.by_commodity(sh)
    var = shortfall.value_at_risk(sh)
    head = f"value at risk {money(var)} USD · " if var == var else ""
    return (
        f"{head}short: {len(coms)} commodit{'y' if len(coms) == 1 else 'ies'} in "
        f"{len(markets)} market{'s' if len(markets) != 1 else ''}"
    )


def decision_words(summary: dict) -> str:
    """`` · myopic from 2025-04 (3-month plans)`` for a month-by-month solve, else ``""``."""
    d = summary.get("decisions")
    if not d:
        return ""
    if d["mode"] == "myopic":
        return f" · myopic from {d['start']} ({d['lookahead']}-month plans)"
    return f" · foresight from {d['start']}"


def _show_projects(res, top: int) -> None:
    """Multi-period instances with expansions: which projects are built, where, when."""
    e = res.expansions
    if e is None or e.empty:
        return
    built = e.loc[e["built"] > 1e-6].sort_values(["in_service", "id"])
    t = Table(
        title=f"Projects built ({len(built)} of {len(e)}: committed ones are in the plan, "
        "the rest chosen by the LP)",
        show_edge=False,
    )
    for c in ("project", "site", "country", "from", "how", "built t/yr", "of t/yr", "capex USD"):
        t.add_column(c, justify="left" if c in ("project", "site", "country", "how") else "right")
    for r in built.head(top).itertuples(index=False):
        t.add_row(
            escape(str(r.id)),
            escape(str(r.site)),
            escape(str(r.country)),
            str(r.in_service),
            "committed" if bool(r.committed) else "chosen",
            tonnes(r.built),
            tonnes(r.max_capacity),
            money(r.capex_cost),
        )
    if len(built) > top:
        t.caption = f"+{len(built) - top} more in expansions.csv"
    show(t)


def _show_first_shortages(res, top: int) -> None:
    """Monthly results: when each market first goes short, and for how long."""
    from optimizer.data import periods
    from optimizer.results import shortfall

    if "decisions" not in res.summary and not periods.monthly(res.summary.get("periods", [])):
        return
    fs = shortfall.first_shortages(res)
    fs = fs.loc[fs["first_short"].notna()]
    if fs.empty:
        return
    t = Table(
        title=f"When lines stop (first month with ≥{shortfall.SHORT_SHARE:.0%} of demand unmet)",
        show_edge=False,
    )
    cover = fs["stock_left"].notna().any()
    heads = ["market", "commodity", "first", "months", "worst %"]
    heads += ["left %", "spent"] if cover else []
    for c in [*heads, "at risk USD"]:
        t.add_column(
            c, justify="left" if c in ("market", "commodity", "first", "spent") else "right"
        )
    for r in fs.head(top).itertuples(index=False):
        row = [
            escape(str(r.market)),
            escape(str(r.commodity)),
            str(r.first_short),
            str(r.months_short),
            f"{100 * r.worst_share:.0f}",
        ]
        if cover:
            left = "" if r.stock_left != r.stock_left else f"{100 * r.stock_left:.0f}"
            row += [left, str(r.first_spent) if isinstance(r.first_spent, str) else "-"]
        t.add_row(*row, money(r.unmet_value) if r.unmet_value == r.unmet_value else "")
    show(t)
    if cover:
        say(
            "left %: share of the stocks that serve the market (by value) still held at "
            f"the end of its first short month; spent: first month short with under "
            f"{shortfall.SPENT_SHARE:.0%} of them left. Short with stock left is rationing "
            "(the least valuable demand given up first), not a stopped line."
        )


def horizon_words(summary: dict) -> str:
    """``short run (near the plan of world-2024)`` or ``long run (free re-optimisation)``."""
    if summary.get("horizon") == "short":
        ref = "+".join(summary.get("reference_scenarios") or []) or "the undisrupted instance"
        return f"short run (near the plan of {escape(ref)})"
    return "long run (free re-optimisation)"


def show_result(res, top: int = 10) -> None:
    """Rich terminal summary of a :class:`~optimizer.results.Result`."""
    s = res.summary
    colour = "green" if s["status"] == "optimal" else "yellow"
    out.print(
        f"[bold {colour}]{s['status']}[/] {escape(s['instance'])}"
        + (f" + {escape(', '.join(s['scenarios']))}" if s["scenarios"] else "")
        + f" · {horizon_words(s)}{decision_words(s)}",
        markup=True,
        soft_wrap=False,
    )
    say(f"total cost {s['objective']:,.0f} USD · {headline(res)}")
    ms = s["model_size"]
    say(
        f"{ms['variables']:,} variables · {ms['constraints']:,} rows · build {s['build_seconds']:.2f}s · "
        f"hand-off {s['handoff_seconds']:.2f}s · solve {s['solve_seconds']:.2f}s (HiGHS {s['solver']['version']}, {s['solver']['method']})"
    )
    cb = s["cost_breakdown"]
    say("cost USD: " + " · ".join(f"{k} {v:,.0f}" for k, v in cb.items() if abs(v) > 0.5))
    pf = res.policies.loc[res.policies["type"] == "price_floor"]
    for pid, g in pf.groupby("policy", sort=True):
        q = g["quantity"].sum()
        lo, hi = f"{g['used'].min():,.0f}", f"{g['used'].max():,.0f}"
        out.print(
            f"price floor {pid}: the guarantor pays {g['payment'].sum():,.0f} USD on {q:,.1f} t "
            f"(floor {g['limit'].iloc[0]:,.0f} USD/t, market {lo if lo == hi else lo + '–' + hi}"
            " USD/t; undiscounted)"
            + ("" if s.get("price_floor", {}).get("converged", True) else " — NOT SETTLED"),
            markup=False,
        )
    from optimizer.data import periods

    pers = s.get("periods") or []
    years = len(pers) > 1 and not periods.monthly(pers)  # representative years: never summed
    short = res.unmet_by_market(by_period=years)
    if len(short):
        valued = short["unmet_value"].notna().any()
        t = Table(
            title="Shortages (unmet demand, in tonnes of each commodity"
            + (", per period)" if years else ")"),
            show_edge=False,
        )
        cols = ["market", "commodity", *(["period"] if years else [])]
        cols += ["demand t", "unmet t", "unmet %", *(["at risk USD"] if valued else [])]
        for c in cols:
            t.add_column(c, justify="left" if c in ("market", "commodity") else "right")
        for r in short.head(top).itertuples(index=False):
            cells = [escape(str(r.market)), escape(str(r.commodity))]
            cells += [str(r.period)] if years else []
            cells += [tonnes(r.demand), tonnes(r.unmet), f"{100 * r.unmet / r.demand:.1f}"]
            t.add_row(*cells, *([money(r.unmet_value)] if valued else []))
        show(t)
    _show_projects(res, top=top)
    _show_first_shortages(res, top=top)
    _show_area_prices(res, top=min(top, 8))
    b = res.bottlenecks
    if len(b):
        t = Table(
            title="Bottlenecks (binding capacities: what one more unit would save)",
            show_edge=False,
        )
        for c in ("capacity of", "site", "country", "period", "USD per unit", "used"):
            t.add_column(c, justify="left" if c in ("capacity of", "site", "country") else "right")
        for r in b.head(top).itertuples(index=False):
            what = str(getattr(r, "element", "") or r.constraint)
            t.add_row(
                escape(what),
                escape(str(r.site)),
                escape(str(r.country)),
                str(r.period),
                money(r.shadow_price),
                _pct(r.utilization),
            )
        t.caption = "capacity of: the process or link (bottlenecks.csv has each constraint id)"
        show(t)


def _show_area_prices(res, top: int) -> None:
    """The widest price gaps inside vs outside each ``price_areas`` entry (USD/t)."""
    from optimizer.results.area_prices import OUTSIDE, gaps

    ap = res.area_prices
    if ap is None or not len(ap):
        return
    for area in sorted({a.removeprefix(OUTSIDE) for a in ap["area"] if a.startswith(OUTSIDE)}):
        g = gaps(ap, area)
        if not len(g):
            out.print(f"prices inside and outside {area} agree within 5 %", markup=False)
            continue
        t = Table(
            title=f"Prices inside and outside {escape(area)} (USD/t; {len(g)} differ by > 5 %)",
            show_edge=False,
        )
        for c in ("commodity", "period", f"in {area}", f"outside {area}", "ratio"):
            t.add_column(escape(c), justify="left" if c == "commodity" else "right")
        for r in g.head(top).itertuples(index=False):
            ratio = (
                "—"
                if r.ratio != r.ratio
                else f"{r.ratio:,.2f}"
                if r.ratio < 10
                else f"{r.ratio:,.0f}"
            )
            t.add_row(
                escape(str(r.commodity)),
                str(r.period),
                money(r.price_inside),
                money(r.price_outside),
                ratio,
            )
        show(t)


def _pct(x: float) -> str:
    return "—" if x != x else f"{100 * x:.0f}%"
