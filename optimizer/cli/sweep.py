"""``rechain sweep``: scenario grids and Monte Carlo from the command line (registered on the main app)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from optimizer.cli.common import (
    Base,
    Horizon,
    InstanceArg,
    Method,
    Report,
    Scenario,
    Scheduler,
    TimeLimitPerSolve,
    _fail,
    _step,
    app,
    case_progress,
    check_outputs,
    err,
    out,
    show,
)
from optimizer.errors import EXIT_INFEASIBLE, EXIT_SOLVER, RechainError

if TYPE_CHECKING:
    import pandas as pd


@app.command()
def sweep(
    instance: InstanceArg,
    sweep_file: Annotated[
        str,
        typer.Argument(
            metavar="SWEEP", help="Sweep YAML file, or a sweep id from INSTANCE/sweeps/."
        ),
    ],
    scenario: Scenario = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples", min=0, help="Monte Carlo draws (overrides the file; 0: grid at nominal)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Random seed (overrides the file).")
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for sweep.csv, sweep_markets.csv, sweep_quantiles.csv and sweep.json.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Run cases on a Dask LocalCluster of N worker processes (1: serial).",
        ),
    ] = None,
    scheduler: Scheduler = None,
    method: Method = "choose",
    time_limit: TimeLimitPerSolve = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Cases to show in the ranking.")] = 15,
    horizon: Horizon = None,
    base: Base = None,
    report: Report = None,
) -> None:
    """Solve a grid of scenario combinations and/or Monte Carlo draws; rank cases, show quantiles.

    Every case is the instance (+ -s scenarios) + the sweep's base scenarios +
    one value per grid axis (+ drawn uncertain values); cost and unmet demand
    are compared with the first case (the baseline).  Exit 0 when every case
    solved; files are written either way, and the exit code is 3 (or 4) when
    some case was infeasible (or the solver failed).
    """

    from optimizer.analysis.sweep import run_sweep
    from optimizer.api import load

    check_outputs({"--out": out_dir}, {"--report": (report, (".html", ".htm"))})
    try:
        inst = load(instance, scenario or [], base=base, horizon=horizon, structure_checks=False)
        with case_progress("solving cases") as progress:
            res = run_sweep(
                inst,
                sweep_file,
                workers=workers,
                scheduler=scheduler,
                samples=samples,
                seed=seed,
                method=method,
                time_limit=time_limit,
                progress=progress,
            )
        if out_dir is not None:
            from optimizer.analysis.sweep.spec import resolve_sweep_path

            spec_file = resolve_sweep_path(inst.path, sweep_file)
            res.write(out_dir, provenance=provenance(inst, "sweep", files=[spec_file]))
        if report is not None:
            from optimizer.report import write_sweep_report

            with _step("writing the report"):
                write_sweep_report(report, res, inst)
    except RechainError as e:
        _fail(e)
        return
    show_sweep(res, top=top)
    if out_dir is not None:
        out.print(f"tables written to {out_dir}/", markup=False)
    if report is not None:
        out.print(f"report written to {report}", markup=False)
    statuses = res.cases["status"]
    infeasible = int((statuses == "infeasible").sum())
    failed = int((statuses == "solver_error").sum())
    if infeasible or failed:
        err.print(
            f"[bold red]warning:[/] {infeasible} case{'s' if infeasible != 1 else ''} infeasible, "
            f"{failed} solver failure{'s' if failed != 1 else ''} (see the status and message columns)",
            markup=True,
        )
        raise typer.Exit(EXIT_SOLVER if failed else EXIT_INFEASIBLE)


def _num(x: float, fmt: str) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def show_sweep(res, top: int = 15) -> None:
    """Rich summary of a sweep: headline, ranked cases, and Monte Carlo quantiles."""
    from optimizer.analysis.sweep import ranked

    info, df, spec = res.info, res.cases, res.spec
    axes = [a.name for a in spec.axes]
    unc = [n for n, _, _ in spec.uncertain]
    shape = " × ".join(str(len(a.labels)) for a in spec.axes)
    parts = [
        f"{info['combinations']} combination{'s' if info['combinations'] != 1 else ''} ({shape})"
    ]
    if spec.samples:
        parts = parts if spec.axes else []
        parts.append(f"{spec.samples} samples (seed {spec.seed}) + the nominal baseline")
    what = " × ".join(parts) or "the instance alone"
    out.print(
        f"[bold]sweep {escape(spec.id)}[/] on {escape(info['instance'])}: {info['cases']} cases, "
        f"{escape(what)} · {escape(info['engine'])} · {info['seconds']:.1f}s",
        markup=True,
    )
    b = df.iloc[0]
    # without end-use values (commodities.value) the only measure is tonnes, summed over
    # the demanded commodities: said so under the tables
    valued = bool((df["unmet_value"].fillna(0) > 0).any()) or not bool(
        (df["total_unmet"].fillna(0) > 0).any()
    )
    out.print(
        f"baseline {b['case']} ({escape(_combo(b, axes))}): total cost {_num(b['objective'], ',.0f')} USD · "
        + (
            f"value at risk {_num(b['unmet_value'], ',.0f')} USD"
            if valued
            else f"unmet {_num(b['total_unmet'], ',.1f')} t"
        ),
        markup=False,
    )
    if spec.samples:
        q = res.quantiles
        t = Table(
            title="Monte Carlo quantiles per combination (P5 / P50 / P95 over the samples)",
            show_edge=False,
        )
        costs = q.loc[q["metric"].isin(["cost_increase", "paired_cost_increase", "unmet_value"])]
        unit, div = _money_unit(costs[["p5", "p50", "p95"]].abs().max().max())
        risk = f"at risk {unit}" if valued else "unmet t"
        cols = (*axes, "n", risk, f"cost vs baseline {unit}", f"paired cost {unit}")
        for c in cols:
            t.add_column(c, justify="left" if c in axes else "right", overflow="fold")
        for _, g in q.groupby("combo", sort=True):
            m = g.set_index("metric")
            first = g.iloc[0]
            t.add_row(
                *[escape(_fmt_label(first[a])) for a in axes],
                str(int(m.loc["unmet_value", "n"])),
                _triple(m.loc["unmet_value"], ",.1f" if div > 1 else ",.0f", 1 / div)
                if valued
                else _triple(m.loc["total_unmet"], ",.1f"),
                _triple(m.loc["cost_increase"], "+,.1f" if div > 1 else "+,.0f", 1 / div),
                _triple(m.loc["paired_cost_increase"], "+,.1f" if div > 1 else "+,.0f", 1 / div),
            )
        t.caption = (
            "paired: against the first combination at the same draws (the grid's effect alone)"
        )
        show(t)
    r = ranked(df).head(top)
    title = f"Cases ranked by {'value at risk' if valued else 'unmet demand'}, then cost" + (
        f" (worst {len(r)} of {len(df)})" if len(df) > len(r) else ""
    )
    t = Table(title=title, show_edge=False)
    money = r[["unmet_value", "cost_increase"]].abs().max().max() if len(r) else math.nan
    unit, div = _money_unit(float(money))
    mfmt = ",.1f" if div > 1 else ",.0f"
    cols = [
        "rank",
        "case",
        *axes,
        *unc,
        f"at risk {unit}" if valued else "unmet t",
        f"cost vs baseline {unit}",
        "worst market",
    ]
    if (df["status"] != "optimal").any():
        cols.append("status")
    for c in cols:
        t.add_column(
            c,
            justify="left" if c in ("case", "worst market", "status", *axes) else "right",
            overflow="fold",
        )
    for i, rec in enumerate(r.to_dict("records"), start=1):
        cells = [str(i), escape(str(rec["case"]))]
        cells += [escape(_fmt_label(rec[a])) for a in axes]
        cells += [_num(rec[u], ".4g") for u in unc]
        cells += [
            _num(rec["unmet_value"] / div, mfmt) if valued else _num(rec["total_unmet"], ",.1f"),
            _num(rec["cost_increase"] / div, "+" + mfmt),
            escape(str(rec["worst_market"])) or "—",
        ]
        if "status" in cols:
            cells.append(escape(str(rec["status"])))
        t.add_row(*cells)
    if not valued:
        t.caption = "unmet t: tonnes of every demanded commodity summed (no commodities.value)"
    show(t)


def _fmt_label(v) -> str:
    return format(v, "g") if isinstance(v, float) else str(v)


def _combo(row: pd.Series, axes: list[str]) -> str:
    return ", ".join(f"{a}={_fmt_label(row[a])}" for a in axes) or "the instance"


def _triple(s: pd.Series, fmt: str, factor: float = 1.0) -> str:
    return " / ".join(_num(factor * float(s[k]), fmt) for k in ("p5", "p50", "p95"))


def _money_unit(largest: float) -> tuple[str, float]:
    """A unit that keeps money columns short: USD, k USD, M USD or bn USD."""
    if math.isnan(largest):  # nothing solved
        return "USD", 1.0
    for unit, div in (("bn USD", 1e9), ("M USD", 1e6), ("k USD", 1e3)):
        if largest >= 10 * div:
            return unit, div
    return "USD", 1.0


def provenance(*args, **kw):
    """:func:`optimizer.results.provenance.provenance`, imported when a folder is written
    (``import optimizer.cli`` stays light: tests/cli/test_startup.py)."""
    from optimizer.results.provenance import provenance as made

    return made(*args, **kw)
