"""The ``rechain`` command line (typer + rich).

Exit codes (DESIGN.md §4): 0 solved, 2 bad input or usage, 3 infeasible or
unbounded, 4 solver failure or time limit without a usable solution.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from optimizer.errors import EXIT_INPUT, InfeasibleError, InputError, RechainError

app = typer.Typer(
    name="rechain",
    help="Where the rare-earth magnet chain breaks: solve supply-chain LPs under policies and outages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# When piped, do not fold tables at 80 columns: logs and greps want whole lines.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(
    stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160
)

Scenario = Annotated[
    list[str] | None,
    typer.Option(
        "--scenario",
        "-s",
        help="Scenario id (from INSTANCE/scenarios/) or YAML path; repeat to stack.",
    ),
]
InstanceArg = Annotated[Path, typer.Argument(help="Instance folder (e.g. instances/world-2024).")]
Method = Annotated[
    str, typer.Option("--method", help="HiGHS algorithm: choose, simplex, ipm, pdlp.")
]
TimeLimitPerSolve = Annotated[
    float | None,
    typer.Option("--time-limit", min=0, help="HiGHS time limit per solve, seconds."),
]
Scheduler = Annotated[
    str | None,
    typer.Option("--scheduler", help="Run cases on an existing Dask cluster (tcp://host:8786)."),
]


@contextlib.contextmanager
def case_progress(label: str) -> Iterator:
    """A progress bar for many cases on a terminal (quiet otherwise); yields ``progress(done, total)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("cases", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


@contextlib.contextmanager
def _step(message: str) -> Iterator[None]:
    """A spinner on a terminal; silent when not a TTY."""
    if err.is_terminal:
        with err.status(message):
            yield
    else:
        yield


def _fail(e: RechainError) -> None:
    if isinstance(e, InputError):
        err.print(
            f"[bold red]error:[/] {len(e.problems)} problem{'s' if len(e.problems) != 1 else ''} in the input",
            markup=True,
        )
        for p in e.problems:
            err.print(f"  {p}", markup=False)
    elif isinstance(e, InfeasibleError):
        err.print(f"[bold red]infeasible:[/] {escape(str(e))}", markup=True)
        for line in e.diagnosis:
            err.print(f"  {line}", markup=False)
    else:
        err.print(f"[bold red]error:[/] {escape(str(e))}", markup=True)
    raise typer.Exit(e.exit_code)


def _warn(inst) -> None:
    """Print the instance's load warnings (unreachable demand, dead ends) to stderr."""
    for w in inst.warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}", markup=True)


@app.command()
def validate(instance: InstanceArg, scenario: Scenario = None) -> None:
    """Check an instance (and scenarios) without solving; exit 2 listing every problem."""
    from optimizer.instance import load

    try:
        with _step("validating"):
            inst = load(instance, scenario or [])
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
    out.print(t)
    t = Table(title="Sites by country", show_edge=False)
    t.add_column("country")
    t.add_column("sites", justify="right")
    for k, v in list(s["sites_by_country"].items())[:15]:
        t.add_row(escape(str(k)), str(v))
    out.print(t)
    t = Table(title="Demand by commodity (t, all periods)", show_edge=False)
    t.add_column("commodity")
    t.add_column("demand", justify="right")
    for k, v in sorted(s["demand_by_commodity"].items(), key=lambda kv: -kv[1])[:20]:
        t.add_row(escape(str(k)), f"{v:,.0f}")
    out.print(t)
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
) -> None:
    """Solve an instance (with scenarios) and show shortages, costs and bottlenecks."""
    from optimizer.instance import load

    if export_model is not None and export_model.suffix.lower() not in (".mps", ".lp"):
        err.print(
            f"[bold red]error:[/] --export-model {export_model}: the file name must end in .mps or .lp",
            markup=True,
        )
        raise typer.Exit(EXIT_INPUT)
    try:
        with _step("loading and validating"):
            inst = load(instance, scenario or [])
        _warn(inst)
        with _step("building and solving"):
            res = inst.solve(method=method, time_limit=time_limit, export=export_model)
        if out_dir is not None:
            res.write(out_dir)
            from optimizer.iis import DIAGNOSIS_FILES

            for stale in DIAGNOSIS_FILES:  # from an earlier infeasible run
                (out_dir / stale).unlink(missing_ok=True)
        if xlsx is not None:
            res.to_excel(xlsx)
        if report is not None:
            from optimizer.report import write_report

            with _step("writing the report"):
                write_report(report, res, inst, scenario_refs=scenario or [])
    except InfeasibleError as e:
        if out_dir is not None:  # the diagnosis, and no other (partial) output
            from optimizer.iis import DIAGNOSIS_FILES, write_diagnosis

            write_diagnosis(out_dir, str(e), e.details)
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
) -> None:
    """Solve several cases and show what changes against the baseline: cost, shortages, flows."""
    from rich.progress import Progress

    from optimizer.compare import write_comparisons
    from optimizer.instance import load

    cases = ([("baseline", [])] if baseline else []) + [(s, s.split("+")) for s in scenario]
    if len(cases) < 2:
        err.print(
            "[bold red]error:[/] compare needs at least two cases: give --baseline or several -s",
            markup=True,
        )
        raise typer.Exit(EXIT_INPUT)
    try:
        base_inst = load(instance)
        insts = [
            (name, base_inst.with_scenario(*refs) if refs else base_inst) for name, refs in cases
        ]
        results = []
        with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("solving cases", total=len(insts))
            for name, inst in insts:
                results.append((name, inst.solve(method=method, time_limit=time_limit)))
                bar.advance(task)
        base_name, base_res = results[0]
        comps = [res.compare(base_res, name, base_name) for name, res in results[1:]]
        if out_dir is not None:
            for name, res in results:
                res.write(out_dir / name.replace("/", "_"))
            write_comparisons(comps, out_dir)
        if report is not None:
            from optimizer.report import write_compare_report

            write_compare_report(report, results, comps, base_inst)
    except RechainError as e:
        _fail(e)
        return
    t = Table(title=f"Cases against {base_name}", show_edge=False)
    for c in ("case", "total cost USD", "change USD", "unmet t", "unmet %", "worst-hit markets"):
        t.add_column(
            c, justify="left" if c in ("case", "worst-hit markets") else "right", overflow="fold"
        )
    t.add_row(
        escape(base_name),
        f"{base_res.objective:,.0f}",
        "—",
        f"{base_res.total_unmet:,.1f}",
        f"{100 * base_res.summary['unmet_share']:.2f}",
        _worst(base_res),
    )
    for (name, res), c in zip(results[1:], comps, strict=True):
        t.add_row(
            escape(name),
            f"{res.objective:,.0f}",
            f"{c.summary['delta_objective'].iloc[0]:+,.0f}",
            f"{res.total_unmet:,.1f}",
            f"{100 * res.summary['unmet_share']:.2f}",
            _worst(res),
        )
    out.print(t)
    for c in comps:
        if len(c.shortages):
            st = Table(
                title=f"{escape(c.case)}: who goes short (vs {escape(c.base)})", show_edge=False
            )
            for col in ("market", "commodity", "period", "demand t", "unmet t", "change t"):
                st.add_column(
                    col,
                    justify="right" if col.endswith("t") or col == "period" else "left",
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
            out.print(st)
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
            out.print(ft)
    if out_dir is not None:
        out.print(f"comparison tables written to {out_dir}/", markup=False)
    if report is not None:
        out.print(f"report written to {report}", markup=False)


@app.command("report")
def report_cmd(
    result_dir: Annotated[
        Path,
        typer.Argument(help="Folder written by `rechain solve --out` or `rechain compare --out`."),
    ],
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    instance: Annotated[
        Path | None,
        typer.Option("--instance", help="Instance folder (default: the one in summary.json)."),
    ] = None,
) -> None:
    """Build the HTML report from a saved --out folder, without solving again."""
    from optimizer.report import load_saved, write_saved_report

    try:
        with _step("writing the report"):
            saved = load_saved(result_dir, instance)
            write_saved_report(saved, out_file)
    except RechainError as e:
        _fail(e)
        return
    for n in saved.notes:
        err.print(f"[yellow]warning:[/] {escape(n)}", markup=True)
    out.print(f"report written to {out_file}", markup=False)


def _worst(res, n: int = 3) -> str:
    u = res.shortages.groupby("market")["unmet"].sum().sort_values(ascending=False)
    u = u[u > 1e-6].head(n)
    return escape(", ".join(f"{m} {v:,.0f} t" for m, v in u.items())) or "none"


def show_result(res, top: int = 10) -> None:
    """Rich terminal summary of a :class:`~optimizer.results.Result`."""
    s = res.summary
    colour = "green" if s["status"] == "optimal" else "yellow"
    out.print(
        f"[bold {colour}]{s['status']}[/] {escape(s['instance'])}"
        + (f" + {escape(', '.join(s['scenarios']))}" if s["scenarios"] else ""),
        markup=True,
    )
    out.print(
        f"total cost {s['objective']:,.0f} USD · demand {s['total_demand']:,.1f} t · "
        f"unmet {s['total_unmet']:,.1f} t ({100 * s['unmet_share']:.2f}%)",
        markup=False,
    )
    ms = s["model_size"]
    out.print(
        f"{ms['variables']:,} variables · {ms['constraints']:,} rows · build {s['build_seconds']:.2f}s · "
        f"hand-off {s['handoff_seconds']:.2f}s · solve {s['solve_seconds']:.2f}s (HiGHS {s['solver']['version']}, {s['solver']['method']})",
        markup=False,
    )
    cb = s["cost_breakdown"]
    out.print(
        "cost: " + " · ".join(f"{k} {v:,.0f}" for k, v in cb.items() if abs(v) > 0.5), markup=False
    )
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
    short = res.unmet_by_market()
    if len(short):
        t = Table(title="Shortages (unmet demand)", show_edge=False)
        for c in ("market", "commodity", "demand t", "unmet t", "unmet %"):
            t.add_column(c, justify="right" if c.endswith(("t", "%")) else "left", overflow="fold")
        for r in short.head(top).itertuples(index=False):
            t.add_row(
                escape(str(r.market)),
                escape(str(r.commodity)),
                f"{r.demand:,.1f}",
                f"{r.unmet:,.1f}",
                f"{100 * r.unmet / r.demand:.1f}",
            )
        out.print(t)
    else:
        out.print("no shortages: every market is fully served", markup=False)
    b = res.bottlenecks
    if len(b):
        t = Table(
            title="Bottlenecks (binding capacities; shadow price = cost saved per extra unit of capacity)",
            show_edge=False,
        )
        for c in ("constraint", "country", "period", "shadow price USD", "utilization"):
            t.add_column(
                c,
                justify="right" if c in ("shadow price USD", "utilization", "period") else "left",
                overflow="fold",
            )
        for r in b.head(top).itertuples(index=False):
            t.add_row(
                escape(str(r.constraint)),
                escape(str(r.country)),
                str(r.period),
                f"{r.shadow_price:,.2f}",
                _pct(r.utilization),
            )
        out.print(t)


def _pct(x: float) -> str:
    return "—" if x != x else f"{100 * x:.0f}%"


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()

import optimizer.cli_survive  # noqa: E402,F401  (registers `rechain survive`, `stockpile-size`)
import optimizer.cli_sweep  # noqa: E402,F401  (registers `rechain sweep`)
from optimizer import cli_analysis  # noqa: E402,F401  (registers `rechain criticality`)
