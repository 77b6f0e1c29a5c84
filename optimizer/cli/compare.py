"""``rechain compare``: several cases side by side against a reference case."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from optimizer.cli.common import (
    EXIT_INPUT,
    Base,
    Decisions,
    InstanceArg,
    Lookahead,
    Method,
    Start,
    TimeLimitPerSolve,
    _fail,
    app,
    case_progress,
    check_outputs,
    err,
    out,
    say,
    show,
)
from optimizer.cli.solve import _worst, money
from optimizer.errors import RechainError


@app.command()
def compare(
    instance: InstanceArg,
    scenario: Annotated[
        list[str],
        typer.Option(
            "--scenario",
            "-s",
            help="A case: scenario id or YAML path; 'a+b' stacks a and b. Repeat for more cases.",
        ),
    ],
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline",
            help="Also solve the instance without scenarios and compare every case with it.",
        ),
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for compare_*.csv and one sub-folder of tables per case."
        ),
    ] = None,
    method: Method = "choose",
    time_limit: TimeLimitPerSolve = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to show per table.")] = 8,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Also write a self-contained HTML comparison report."),
    ] = None,
    horizon: Annotated[
        str | None,
        typer.Option(
            "--horizon",
            help="short, long, or short,long: every case in each horizon, and what the "
            "long run does differently (docs/horizon.md).",
        ),
    ] = None,
    base: Base = None,
    decisions: Decisions = None,
    start: Start = None,
    lookahead: Lookahead = None,
) -> None:
    """Solve several cases and show what changes against the baseline: cost, shortages, flows."""
    from optimizer.api import load
    from optimizer.results.compare import write_comparisons

    horizons = _horizons(horizon)
    modes = _modes(decisions)
    cases = ([("baseline", [])] if baseline else []) + [(s, s.split("+")) for s in scenario]
    if len(cases) * len(horizons) * len(modes) < 2:
        err.print(
            "[bold red]error:[/] compare needs at least two cases: give --baseline or several -s",
            markup=True,
        )
        raise typer.Exit(EXIT_INPUT)
    check_outputs({"--out": out_dir}, {"--report": (report, (".html", ".htm"))})
    try:
        base_inst = load(instance, base=base)
        insts = [
            (
                name + (f"@{h}" if len(horizons) > 1 else "") + (f"@{d}" if len(modes) > 1 else ""),
                (base_inst.with_scenario(*refs) if refs else base_inst)
                .with_horizon(h)
                .with_decisions(d, start, lookahead),
            )
            for name, refs in cases
            for h in horizons
            for d in modes
        ]
        results = []
        with case_progress("solving cases") as progress:
            for name, inst in insts:
                results.append((name, inst.solve(method=method, time_limit=time_limit)))
                progress(len(results), len(insts))
        base_name, base_res = results[0]
        comps = [res.compare(base_res, name, base_name) for name, res in results[1:]]
        adapt = _adaptations(results, horizons)
        if out_dir is not None:
            from optimizer.results.provenance import provenance

            cases = {}
            for (name, res), (_, inst) in zip(results, insts, strict=True):
                case = provenance(inst, "solve")
                res.write(out_dir / name.replace("/", "_"), provenance=case)
                cases[name] = case["inputs_sha256"]
            write_comparisons(comps, out_dir, {**provenance(base_inst, "compare"), "cases": cases})
        if report is not None:
            from optimizer.report import write_compare_report

            write_compare_report(report, results, comps, base_inst)
    except RechainError as e:
        _fail(e)
        return
    from optimizer.results import shortfall

    valued = any(r.shortages["unmet_value"].notna().any() for _, r in results)
    t = Table(title=f"Cases against {base_name}", show_edge=False)
    cols = ["case", "total cost USD", "change USD"]
    cols += ["at risk USD", "change at risk"] if valued else []
    for c in cols:
        t.add_column(c, justify="left" if c == "case" else "right", overflow="fold")
    var0 = shortfall.value_at_risk(base_res.shortages)
    t.add_row(
        escape(base_name),
        f"{base_res.objective:,.0f}",
        "—",
        *([money(var0), "—"] if valued else []),
    )
    worst = [(base_name, _worst(base_res))]
    for (name, res), c in zip(results[1:], comps, strict=True):
        var = shortfall.value_at_risk(res.shortages)
        t.add_row(
            escape(name),
            f"{res.objective:,.0f}",
            f"{c.summary['delta_objective'].iloc[0]:+,.0f}",
            *(
                [money(var), "+" + money(var - var0) if var >= var0 else money(var - var0)]
                if valued
                else []
            ),
        )
        worst.append((name, _worst(res)))
    show(t)
    say("Worst-hit markets (value at risk; tonnes of each commodity):")
    for name, words in worst:
        say(f"  {name}: {words}")
    for c in comps:
        if len(c.shortages):
            st = Table(
                title=f"{escape(c.case)}: who goes short (vs {escape(c.base)})", show_edge=False
            )
            for col in ("market", "commodity", "period", "demand t", "unmet t", "change t"):
                st.add_column(
                    col,
                    justify="right" if col.endswith(" t") or col == "period" else "left",
                    overflow="fold",
                )
            for r in c.shortages.head(top).itertuples(index=False):
                st.add_row(
                    escape(str(r.market)),
                    escape(str(r.commodity)),
                    str(r.period),
                    f"{r.demand_case:,.1f}",
                    f"{r.unmet_case:,.1f}",
                    f"{r.delta_unmet:+,.1f}",
                )
            show(st)
        if len(c.flows):
            ft = Table(title=f"{escape(c.case)}: flows that moved most (t)", show_edge=False)
            for col in ("from", "to", "commodity", "base t", "case t", "change t"):
                ft.add_column(
                    col, justify="right" if col.endswith("t") else "left", overflow="fold"
                )
            for r in c.flows.head(top).itertuples(index=False):
                ft.add_row(
                    escape(str(r.source_country)),
                    escape(str(r.target_country)),
                    escape(str(r.commodity)),
                    f"{r.quantity_base:,.1f}",
                    f"{r.quantity_case:,.1f}",
                    f"{r.delta:+,.1f}",
                )
            show(ft)
    for c in adapt:
        _show_adaptation(c, top)
    if out_dir is not None:
        out.print(f"comparison tables written to {out_dir}/", markup=False)
    if report is not None:
        out.print(f"report written to {report}", markup=False)


def _horizons(spec: str | None) -> list[str | None]:
    """``--horizon``: one horizon, or ``short,long`` for both (None: the cases' own)."""
    if spec is None:
        return [None]
    hs = [h.strip() for h in spec.split(",") if h.strip()]
    bad = [h for h in hs if h not in ("short", "long")]
    if bad or not hs or len(set(hs)) != len(hs):
        err.print(
            f"[bold red]error:[/] --horizon {escape(spec)}: give short, long or short,long",
            markup=True,
        )
        raise typer.Exit(EXIT_INPUT)
    return hs


def _modes(spec: str | None) -> list[str | None]:
    """``--decisions``: one mode, or ``myopic,foresight`` for both (None: the instance's)."""
    if spec is None:
        return [None]
    ms = [m.strip() for m in spec.split(",") if m.strip()]
    if not ms or len(ms) > 1 and (len(set(ms)) != len(ms) or set(ms) - {"myopic", "foresight"}):
        err.print(
            f"[bold red]error:[/] --decisions {escape(spec)}: give myopic, foresight or "
            "myopic,foresight",
            markup=True,
        )
        raise typer.Exit(EXIT_INPUT)
    return ms


def _adaptations(results: list, horizons: list) -> list:
    """For each case solved in both horizons: what the long run does that the short run
    cannot (the comparison of case@long against case@short)."""
    if set(horizons) != {"short", "long"}:
        return []
    by = dict(results)
    out = []
    for name, _ in results:
        if name.endswith("@short") and name.removesuffix("@short") + "@long" in by:
            case = name.removesuffix("@short")
            out.append(by[f"{case}@long"].compare(by[name], f"{case}@long", name))
    return out


def _show_adaptation(c, top: int) -> None:
    """How the long run adapts, in words: the flows it moves most, and the shortages it ends."""
    case = c.case.removesuffix("@long")
    d = c.summary["delta_objective"].iloc[0]
    out.print(
        f"[bold]{escape(case)}: how the long run adapts[/] (cost {d:+,.0f} USD against the "
        "short run)",
        markup=True,
    )
    for r in c.flows.head(top).itertuples(index=False):
        verb = "ships" if r.delta > 0 else "no longer ships"
        out.print(
            f"  {escape(str(r.source_country))} {verb} {escape(str(r.commodity))} to "
            f"{escape(str(r.target_country))}: {r.delta:+,.1f} t "
            f"({r.quantity_base:,.1f} → {r.quantity_case:,.1f} t)",
            markup=False,
        )
