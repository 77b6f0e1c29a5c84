"""``rechain plan``: the two-stage stochastic plan (registered on the main app; docs/plan.md)."""

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
    Method,
    Scheduler,
    TimeLimitPerSolve,
    _fail,
    _step,
    _warn,
    app,
    case_progress,
    check_outputs,
    out,
)
from optimizer.cli.solve import money
from optimizer.errors import InputError, Problem, RechainError


def _pairs(stock: list[str]) -> list[tuple[str, str]]:
    """``--stock SITE:COMMODITY`` values as pairs (a value without ``:`` is an input error)."""
    bad = [s for s in stock if s.count(":") != 1 or "" in s.split(":")]
    if bad:
        raise InputError(
            [Problem("--stock", None, None, f"{s!r}: expected SITE:COMMODITY") for s in bad]
        )
    return [tuple(s.split(":")) for s in stock]  # type: ignore[misc]


def _lanes(contract: list[str]) -> list[str | tuple[str, str]]:
    """``--contract LINK[:COMMODITY]`` values (an empty part is an input error)."""
    bad = [c for c in contract if c.count(":") > 1 or "" in c.split(":")]
    if bad:
        raise InputError(
            [
                Problem("--contract", None, None, f"{c!r}: expected LINK or LINK:COMMODITY")
                for c in bad
            ]
        )
    return [tuple(c.split(":")) if ":" in c else c for c in contract]  # type: ignore[misc]


@app.command()
def plan(
    instance: InstanceArg,
    scenario: Annotated[
        list[str] | None,
        typer.Option(
            "--scenario",
            "-s",
            help="One scenario of the plan (id from INSTANCE/scenarios/ or YAML path; a+b "
            "stacks two into one case; none: the instance as given); repeat for each.",
        ),
    ] = None,
    prob: Annotated[
        list[float] | None,
        typer.Option(
            "--prob",
            "-p",
            help="Probability of each scenario, in the order of -s (default: equal); they "
            "must sum to 1.",
        ),
    ] = None,
    alpha: Annotated[
        float,
        typer.Option("--alpha", help="CVaR level: the worst 1 - alpha of outcomes count."),
    ] = 0.9,
    risk_weight: Annotated[
        float | None,
        typer.Option(
            "--risk-weight",
            help="lambda: USD of expected cost worth one USD of CVaR of the value at risk "
            "(default 0: expected cost only).",
        ),
    ] = None,
    frontier: Annotated[
        int | None,
        typer.Option(
            "--frontier",
            help="Also the frontier of expected cost against CVaR: up to N plans at risk "
            "weights from 0 to where the CVaR stops falling (frontier.csv, "
            "plan_frontier.csv); the plan itself is the one at weight 0.",
        ),
    ] = None,
    from_criticality: Annotated[
        Path | None,
        typer.Option(
            "--from-criticality",
            help="Scenarios from a rechain criticality --out folder: each case (one "
            "element's failure) with probability --failure-prob, the rest undisrupted.",
        ),
    ] = None,
    failure_prob: Annotated[
        float | None,
        typer.Option(
            "--failure-prob",
            help="With --from-criticality: probability of each case (default 0.05).",
        ),
    ] = None,
    cases: Annotated[
        int | None,
        typer.Option(
            "--cases",
            help="With --from-criticality: plan for the N highest-ranked cases (default 10).",
        ),
    ] = None,
    from_sweep: Annotated[
        str | None,
        typer.Option(
            "--from-sweep",
            help="Scenarios from the cases of a sweep (id from INSTANCE/sweeps/ or YAML "
            "path; docs/sweep.md), equally likely.",
        ),
    ] = None,
    stock: Annotated[
        list[str] | None,
        typer.Option(
            "--stock",
            help="Stockpile candidate SITE:COMMODITY; repeat. Default: every Dy and Tb oxide "
            "and metal node outside China.",
        ),
    ] = None,
    no_stockpiles: Annotated[
        bool, typer.Option("--no-stockpiles", help="Plan capacity expansions only.")
    ] = False,
    stock_cost: Annotated[
        float | None,
        typer.Option(
            "--stock-cost",
            min=0,
            help="Holding cost of a stockpiled tonne over the horizon, USD/t (default: the "
            "carrying rate a month of the commodity's value).",
        ),
    ] = None,
    release_cost: Annotated[
        float | None,
        typer.Option(
            "--release-cost",
            min=0,
            help="Cost of a tonne drawn from a stockpile, USD/t (default: the commodity's value).",
        ),
    ] = None,
    contract: Annotated[
        list[str] | None,
        typer.Option(
            "--contract",
            help="Long-term contract candidate LINK or LINK:COMMODITY: t/yr reserved on the "
            "lane, usable in every scenario despite the short run's lane limits (not against "
            "a policy); repeat. Short-run horizon only.",
        ),
    ] = None,
    contract_cost: Annotated[
        float | None,
        typer.Option(
            "--contract-cost",
            min=0,
            help="Cost of reserving 1 t/yr over the horizon, USD (default: the holding cost "
            "of a stockpiled tonne of the commodity).",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for plan.csv, scenarios.csv and summary.json."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Also write a self-contained HTML report of the plan (FILE.html).",
        ),
    ] = None,
    horizon: Horizon = None,
    base: Base = None,
    method: Method = "choose",
    time_limit: TimeLimitPerSolve = None,
    decomposition: Annotated[
        str,
        typer.Option(
            "--decomposition",
            help="extensive: one HiGHS LP; ph: progressive hedging over the scenarios, "
            "their subproblems on Dask (docs/plan.md).",
        ),
    ] = "extensive",
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="--decomposition ph: a Dask LocalCluster of N worker processes (1: in "
            "this process; default: one per scenario up to the cores).",
        ),
    ] = None,
    scheduler: Scheduler = None,
    ph_rho: Annotated[
        float,
        typer.Option("--ph-rho", help="PH: multiplier of the cost-proportional penalties."),
    ] = 1.0,
    ph_tol: Annotated[
        float,
        typer.Option(
            "--ph-tol",
            help="PH: stop when the scenarios' first stages and their consensus move by at "
            "most this (relative).",
        ),
    ] = 1e-6,
    ph_gap: Annotated[
        float,
        typer.Option(
            "--ph-gap",
            help="PH: stop when the plan's objective is within this relative gap of the "
            "Lagrangian lower bound.",
        ),
    ] = 1e-4,
    ph_max_iter: Annotated[int, typer.Option("--ph-max-iter", help="PH: most iterations.")] = 500,
) -> None:
    """The cheapest plan of capacity expansions, stockpiles and contracts over several
    disruptions (two-stage stochastic LP, expected cost + lambda CVaR of the value at risk)."""
    from optimizer.analysis.plan import plan as run
    from optimizer.api import load

    check_outputs({"--out": out_dir}, {"--report": (report, (".html", ".htm"))})
    try:
        _exclusive(
            scenario, prob, risk_weight, frontier, from_criticality, from_sweep, failure_prob, cases
        )
        inst = load(instance, base=base, horizon=horizon)
        _warn(inst)
        source: dict | None = None
        if from_criticality is not None:
            from optimizer.analysis.plan_sources import CASES, FAILURE_PROB
            from optimizer.analysis.plan_sources import from_criticality as crit

            specs, probs, source = crit(
                inst,
                from_criticality,
                failure_prob=FAILURE_PROB if failure_prob is None else failure_prob,
                cases=CASES if cases is None else cases,
            )
        elif from_sweep is not None:
            from optimizer.analysis.plan_sources import from_sweep as sweep_cases

            specs, probs, source = sweep_cases(inst, from_sweep)
        else:
            specs, probs = list(scenario or []), prob or None
        pairs = [] if no_stockpiles else (_pairs(stock) if stock else None)
        ph = decomposition == "ph"
        label = f"planning over {len(specs)} scenarios" + (" (PH)" if ph else "")
        with case_progress(label) if ph else _step(label) as progress:
            res = run(
                inst,
                specs,
                probs,
                alpha=alpha,
                risk_weight=risk_weight or 0.0,
                stockpiles=pairs,
                holding_cost=stock_cost,
                release_cost=release_cost,
                method=method,
                time_limit=time_limit,
                frontier=frontier,
                contracts=_lanes(contract or []),
                contract_cost=contract_cost,
                decomposition=decomposition,
                workers=workers,
                scheduler=scheduler,
                ph_rho=ph_rho,
                ph_tol=ph_tol,
                ph_gap=ph_gap,
                ph_max_iter=ph_max_iter,
                progress=progress if ph else None,
            )
        if source is not None:
            res.summary["scenario_source"] = source
        if out_dir is not None:
            from optimizer.fileio import write_folder
            from optimizer.results.provenance import provenance

            write_folder(out_dir, res.files(), provenance=provenance(inst, "plan"))
        if report is not None:
            from optimizer.report.plan import write_plan_report

            with _step("writing the report"):
                write_plan_report(report, res, inst)
    except RechainError as e:
        _fail(e)
        return
    _print(res)
    if out_dir is not None:
        out.print(f"tables written to {out_dir}/", markup=False)
    if report is not None:
        out.print(f"report written to {report}", markup=False)


def _exclusive(scenario, prob, risk_weight, frontier, crit, sweep, failure_prob, cases) -> None:
    """The sources of scenarios exclude each other, as do --frontier and --risk-weight."""
    problems = []
    given = [
        o for o, v in (("-s", scenario), ("--from-criticality", crit), ("--from-sweep", sweep)) if v
    ]
    if not given:
        problems.append(
            Problem(
                "--scenario",
                None,
                None,
                "give the plan's scenarios with -s (repeat), --from-criticality DIR or "
                "--from-sweep SPEC",
            )
        )
    elif len(given) > 1:
        problems.append(Problem(given[1], None, None, f"give {given[0]} or {given[1]}, not both"))
    if prob and not scenario:
        problems.append(Problem("--prob", None, None, "probabilities go with -s only"))
    if crit is None:
        for opt, v in (("--failure-prob", failure_prob), ("--cases", cases)):
            if v is not None:
                problems.append(Problem(opt, None, None, "goes with --from-criticality only"))
    if frontier is not None and risk_weight is not None:
        problems.append(
            Problem(
                "--frontier",
                None,
                None,
                "--frontier chooses its own risk weights: give --frontier or --risk-weight, "
                "not both",
            )
        )
    if problems:
        raise InputError(problems)


def _print(res) -> None:
    s = res.summary
    t = Table(title="The plan: what to build or stock", show_edge=False)
    for c in ("kind", "what", "amount", "from", "cost USD"):
        t.add_column(c, justify="left" if c in ("kind", "what") else "right")
    for r in res.plan.itertuples(index=False):
        what = {
            "expansion": r.id,
            "stockpile": f"{r.commodity} at {r.site}",
            "contract": f"{r.commodity} on {r.id}",
        }.get(r.kind, r.id)
        unit = {"stockpile": "t", "contract": "t/yr"}.get(r.kind, "")
        t.add_row(
            r.kind,
            escape(str(what)),
            f"{r.amount:,.1f} {unit}".strip(),
            str(r.from_period),
            money(r.cost),
        )
    if len(res.plan):
        out.print(t)
    else:
        out.print("The plan builds and stocks nothing beyond what is committed.", markup=False)
    sc = Table(title="Scenarios", show_edge=False)
    for c in ("scenario", "probability", "cost USD", "value at risk USD"):
        sc.add_column(c, justify="left" if c == "scenario" else "right")
    for r in res.scenarios.itertuples(index=False):
        sc.add_row(
            escape(r.scenario), f"{r.probability:.3g}", money(r.objective), money(r.unmet_value)
        )
    out.print(sc)
    lines = [
        f"objective {money(s['objective'])} USD: expected cost {money(s['expected_cost'])} USD"
        + (f" + {s['risk_weight']:g} x CVaR" if s["risk_weight"] else ""),
        f"value at risk: expected {money(s['expected_unmet_value'])} USD, "
        f"VaR {s['alpha']:g} {money(s['var'])} USD, CVaR {s['alpha']:g} {money(s['cvar'])} USD",
    ]
    w = s["without_plan"]
    lines.append(
        f"without the plan: objective {money(w['objective'])} USD, expected value at risk "
        f"{money(w['expected_unmet_value'])} USD (the plan is worth {money(s['value_of_plan'])} USD)"
    )
    if "vss" in s:
        lines.append(
            f"value of the stochastic solution {money(s['vss'])} USD; "
            f"expected value of perfect information {money(s['evpi'])} USD"
        )
    if "progressive_hedging" in s:
        f = s["progressive_hedging"]
        lines.append(
            f"progressive hedging: {f['iterations']} iterations on {f['engine']}, residual "
            f"{f['residual']:.2g}, lower bound {money(f['lower_bound'])} USD, gap "
            f"{f['gap']:.2g}" + ("" if f["converged"] else " (NOT converged: --ph-max-iter)")
        )
    for line in lines:
        out.print(line, markup=False)
    if res.frontier is not None:
        f = Table(
            title="Frontier: expected cost against CVaR of the value at risk", show_edge=False
        )
        for c in (
            "point",
            "risk weight",
            "expected cost USD",
            "CVaR USD",
            "stockpile t",
            "projects",
        ):
            f.add_column(c, justify="right")
        for r in res.frontier.itertuples(index=False):
            f.add_row(
                str(r.point),
                f"{r.risk_weight:.4g}",
                money(r.expected_cost),
                money(r.cvar),
                f"{r.stockpile_t:,.0f}",
                str(r.projects_chosen),
            )
        out.print(f)
