"""``rechain survive`` and ``rechain stockpile-size`` (registered on the main app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from optimizer.cli.common import (
    Base,
    InstanceArg,
    Report,
    Scenario,
    _fail,
    _step,
    _warn,
    app,
    case_progress,
    check_outputs,
    err,
    out,
    show,
)
from optimizer.errors import EXIT_INPUT, RechainError

Start = Annotated[
    str,
    typer.Option(
        "--start",
        help="Period the disruption starts in (one of the instance's: 2026, or 2025-04).",
    ),
]


def _period(start: str):
    """``--start`` as a period id (a year or a month); a bad one is an input error."""
    from optimizer.data import periods as P
    from optimizer.errors import InputError, Problem

    try:
        return P.parse(start)
    except ValueError as e:
        raise InputError(Problem("--start", None, None, str(e))) from None


Tol = Annotated[
    float, typer.Option("--tol", min=0, help="Unmet demand above this (t) counts as a shortage.")
]


def _need_disruption(scenario: list[str] | None) -> list[str]:
    if not scenario:
        err.print(
            "[bold red]error:[/] give the disruption with -s SCENARIO (repeat to stack)",
            markup=True,
        )
        raise typer.Exit(EXIT_INPUT)
    return scenario


@app.command()
def survive(
    instance: InstanceArg,
    start: Start,
    scenario: Scenario = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="rationed: one LP over the disrupted periods, stocks released optimally "
            "(shortages as late as possible); myopic: period by period, stocks drawn whenever "
            "cheapest.",
        ),
    ] = "rationed",
    base: Base = None,
    tol: Tol = 1e-6,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for survival.csv, survival_markets.csv, survival_stocks.csv, survival.json.",
        ),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to show.")] = 15,
    report: Report = None,
) -> None:
    """How many periods each market runs on the stocks on hand when a disruption starts."""
    from optimizer.analysis.survive import time_to_survive
    from optimizer.api import load

    check_outputs({"--out": out_dir}, {"--report": (report, (".html", ".htm"))})
    disruption = _need_disruption(scenario)
    try:
        inst = load(instance, base or [])
        _warn(inst)
        with case_progress("solving") as progress:
            sv = time_to_survive(
                inst, disruption, _period(start), mode=mode, tol=tol, progress=progress
            )
        if out_dir is not None:
            sv.write(out_dir, provenance(inst, "survive", scenarios=disruption))
        if report is not None:
            from optimizer.report import write_survival_report

            with _step("writing the report"):
                write_survival_report(report, sv, inst)
    except RechainError as e:
        _fail(e)
        return
    s = sv.summary
    h = s["horizon"]
    span = f"{h[0]}–{h[-1]}" if len(h) > 1 else str(h[0])
    how = (
        "stocks released optimally over the disruption, shortages as late as possible"
        if mode == "rationed"
        else "period by period, stocks drawn whenever cheapest"
    )
    out.print(
        f"[bold]time to survive[/] {escape(s['instance'])} + {escape(', '.join(s['disruption']))} "
        f"from {start} ({escape(mode)}: {how})",
        markup=True,
    )
    stocks = s.get("stocks_by_commodity") or {}
    held = ", ".join(f"{escape(c)} {q:,.1f} t" for c, q in stocks.items() if q > 0) or "none"
    short = s.get("unmet_by_commodity") or {}
    risk = (
        f"value at risk {s['unmet_value']:,.0f} USD"
        if s.get("unmet_value", 0) > 0 or not short
        else "short (t): " + ", ".join(f"{escape(c)} {q:,.1f}" for c, q in short.items())
    )
    out.print(
        f"stocks on hand at the start of {start}: {held} · {span}: {risk} · "
        f"cost {s['cost']:,.0f} USD",
        markup=False,
    )
    t = Table(title=f"Periods each market runs before unmet demand ({span})", show_edge=False)
    for c in (
        "market",
        "commodity",
        "first short",
        "periods survived",
        "demand t",
        "unmet t",
        "unmet %",
    ):
        t.add_column(
            c, justify="left" if c in ("market", "commodity") else "right", overflow="fold"
        )
    for r in sv.markets.head(top).itertuples(index=False):
        whole = bool(r.survives_horizon)
        t.add_row(
            escape(str(r.market)),
            escape(str(r.commodity)),
            "—" if whole else str(r.first_short_period),
            f"≥{r.periods_survived} (all)" if whole else str(r.periods_survived),
            f"{r.demand:,.1f}",
            f"{r.unmet:,.1f}",
            f"{100 * r.unmet_share:.1f}",
        )
    show(t)
    if len(sv.markets) > top:
        out.print(f"… {len(sv.markets) - top} more rows (--top, --out)", markup=False)
    if out_dir is not None:
        out.print(f"tables written to {out_dir}/", markup=False)
    if report is not None:
        out.print(f"report written to {report}", markup=False)


@app.command("stockpile-size")
def stockpile_size(
    instance: InstanceArg,
    start: Start,
    duration: Annotated[
        int, typer.Option("--duration", help="Periods from --start to keep the markets whole.")
    ],
    commodity: Annotated[str, typer.Option("--commodity", help="Commodity to stockpile.")],
    region: Annotated[
        str, typer.Option("--region", help="Country or region where the stockpile sits.")
    ],
    scenario: Scenario = None,
    market: Annotated[
        list[str] | None,
        typer.Option(
            "--market",
            help="Market site, or country/region (its markets), to keep whole; repeat. "
            "Default: the markets of --region.",
        ),
    ] = None,
    demand_commodity: Annotated[
        list[str] | None,
        typer.Option(
            "--demand-commodity",
            help="Keep only this demand whole (commodity id or group); repeat. Default: all.",
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option(
            "--site",
            help="Hold the stock at this existing site (default: a new site "
            "stockpile.REGION.COMMODITY linked to the region's users).",
        ),
    ] = None,
    release_cost: Annotated[
        float, typer.Option("--release-cost", min=0, help="USD/t on the stockpile's links.")
    ] = 0.0,
    others: Annotated[
        str,
        typer.Option(
            "--others",
            help="held: no other market may end up shorter than without the stockpile; "
            "free: other markets may be starved to serve these.",
        ),
    ] = "held",
    base: Base = None,
    tol: Tol = 1e-6,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for stockpile.json, stockpile_markets.csv, stockpile_drawdown.csv, "
            "stockpile_curve.csv.",
        ),
    ] = None,
    report: Report = None,
) -> None:
    """The smallest stockpile of one commodity that keeps markets whole through a disruption."""
    from optimizer.analysis.survive import StockpileInfeasible, size_stockpile
    from optimizer.api import load

    check_outputs({"--out": out_dir}, {"--report": (report, (".html", ".htm"))})
    disruption = _need_disruption(scenario)
    try:
        inst = load(instance, base or [])
        _warn(inst)
        with _step("sizing the stockpile"):
            try:
                sz = size_stockpile(
                    inst,
                    disruption,
                    commodity=commodity,
                    region=region,
                    start=_period(start),
                    duration=duration,
                    markets=market,
                    demand_commodities=demand_commodity,
                    site=site,
                    release_cost=release_cost,
                    others=others,
                    tol=tol,
                )
            except StockpileInfeasible as e:
                if out_dir is not None:
                    e.write(out_dir, provenance(inst, "stockpile", scenarios=disruption))
                    err.print(f"diagnosis written to {out_dir}/", markup=False)
                raise
        if out_dir is not None:
            sz.write(out_dir, provenance(inst, "stockpile", scenarios=disruption))
        if report is not None:
            from optimizer.report import write_stockpile_report

            with _step("writing the report"):
                write_stockpile_report(report, sz, inst)
    except RechainError as e:
        _fail(e)
        return
    s = sz.summary
    h = s["horizon"]
    span = f"{h[0]}–{h[-1]}" if len(h) > 1 else str(h[0])
    who = ", ".join(s["markets"])
    out.print(
        f"[bold green]{s['quantity']:,.1f} t[/] of {escape(commodity)} at {escape(s['site'])}, "
        f"on hand at the start of {start}, keeps {escape(who)} whole through {span} "
        f"under {escape(', '.join(s['disruption']))}",
        markup=True,
    )
    if s["quantity"] == 0:
        out.print(
            "no stockpile needed: the stocks on hand and the remaining supply can keep them "
            f"whole, at {s['cost'] - s['cost_without']:+,.0f} USD against letting them go short",
            markup=False,
        )
    out.print(
        f"without it: {s['unmet_without']:,.1f} t of {s['protected_demand']:,.1f} t unmet, "
        f"cost {s['cost_without']:,.0f} USD · with it: cost {s['cost']:,.0f} USD · "
        f"left at the end: {s['left_at_end']:,.1f} t",
        markup=False,
    )
    t = Table(title=f"Stock at {escape(s['site'])} (t)", show_edge=False)
    for c in ("period", "opening", "drawn", "closing"):
        t.add_column(c, justify="right")
    for r in sz.drawdown.itertuples(index=False):
        t.add_row(str(r.period), f"{r.opening:,.1f}", f"{r.drawn:,.1f}", f"{r.closing:,.1f}")
    show(t)
    if out_dir is not None:
        out.print(f"tables written to {out_dir}/", markup=False)
    if report is not None:
        out.print(f"report written to {report}", markup=False)


def provenance(*args, **kw):
    """:func:`optimizer.results.provenance.provenance`, imported when a folder is written
    (``import optimizer.cli`` stays light: tests/cli/test_startup.py)."""
    from optimizer.results.provenance import provenance as made

    return made(*args, **kw)
