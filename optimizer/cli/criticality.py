"""``rechain criticality``: chokepoint ranking from the command line (registered on the main app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from optimizer.cli.common import (
    Base,
    Horizon,
    InstanceArg,
    Scenario,
    Scheduler,
    _fail,
    app,
    case_progress,
    check_outputs,
    out,
    show,
)
from optimizer.cli.solve import money, tonnes
from optimizer.errors import RechainError


@app.command()
def criticality(
    instance: InstanceArg,
    scenario: Scenario = None,
    by: Annotated[
        str,
        typer.Option(
            "--by", help="Element to remove: site, company, country, country-stage, link."
        ),
    ] = "site",
    k: Annotated[
        int,
        typer.Option(
            "--k",
            min=1,
            max=2,
            help="1: one element at a time; 2: pairs among the top N-1 elements.",
        ),
    ] = 1,
    pairs_from: Annotated[
        int,
        typer.Option("--pairs-from", min=2, help="With --k 2: pair up this many top N-1 elements."),
    ] = 10,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for criticality.csv and criticality_detail.csv."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, help="Run cases on a Dask LocalCluster of N worker processes."
        ),
    ] = None,
    scheduler: Scheduler = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to show.")] = 15,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write the HTML report of the base case with the chokepoint ranking.",
        ),
    ] = None,
    horizon: Horizon = None,
    base: Base = None,
    markets: Annotated[
        list[str] | None,
        typer.Option(
            "--markets",
            help="Count the damage only in these markets (site id, country or region; "
            "all_except:CN for every market outside China); repeat.",
        ),
    ] = None,
) -> None:
    """Remove each element (or pair), re-solve, and rank chokepoints by unmet demand, then cost."""

    from optimizer.analysis.criticality import criticality as run
    from optimizer.api import load

    check_outputs({"--out": out_dir}, {"--report": (report, (".html", ".htm"))})
    try:
        inst = load(instance, scenario or [], base=base, horizon=horizon)
        with case_progress("removing elements") as progress:
            ranking, detail = run(
                inst,
                by=by,
                k=k,
                pairs_from=pairs_from,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
                markets=markets,
            )
        if out_dir is not None:
            from optimizer.fileio import write_folder
            from optimizer.results.provenance import provenance

            write_folder(
                out_dir,
                {"criticality.csv": ranking, "criticality_detail.csv": detail},
                provenance=provenance(inst, "criticality"),
            )
        if report is not None:
            from optimizer.report import write_report

            write_report(
                report, inst.solve(), inst, scenario_refs=scenario or [], criticality=ranking
            )
    except RechainError as e:
        _fail(e)
        return
    valued = ranking["unmet_value"].notna().any()
    t = Table(
        title=f"Chokepoints by {by}{' (pairs)' if k == 2 else ''}: what their loss adds"
        + (f" in {', '.join(markets)}" if markets else ""),
        show_edge=False,
    )
    cols = ["rank", "element", *(["at risk USD"] if valued else []), "cost increase USD"]
    cols.append("worst hit (t of its commodity)")
    for c in cols:
        t.add_column(c, justify="left" if c in ("element", cols[-1]) else "right")
    for r in ranking.head(top).itertuples(index=False):
        if r.status == "infeasible":
            cells = [
                "infeasible",
                *(["—"] if valued else []),
                "a hard policy cannot hold without it",
            ]
            t.add_row(str(r.rank), escape(str(r.element)), *cells)
            continue
        hit = (
            f"{r.worst_market}: {r.worst_commodity}"
            + ("" if valued else f" {tonnes(r.worst_market_unmet)} t")
            if r.worst_market
            else "—"
        )
        t.add_row(
            str(r.rank),
            escape(str(r.element)),
            *([money(r.unmet_value)] if valued else []),
            f"{r.cost_increase:,.0f}",
            escape(hit),
        )
    show(t)
    if out_dir is not None:
        out.print(f"tables written to {out_dir}/", markup=False)
    if report is not None:
        out.print(f"report written to {report}", markup=False)
