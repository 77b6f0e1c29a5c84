"""Where the scenarios of a plan come from besides scenario files (docs/plan.md).

* :func:`from_criticality`: the cases of a ``rechain criticality --out DIR`` folder,
  each one element's failure (a site, company, country, country-stage, link or a pair
  of them) with probability ``failure_prob``, and the rest on the undisrupted case.
* :func:`from_sweep`: the cases of a sweep spec (docs/sweep.md), grid combinations
  times Monte Carlo draws, equally likely.

Each returns ``(scenarios, probabilities, info)`` for :func:`optimizer.analysis.plan.plan`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.analysis.plan import NONE, Outage, ScenarioSpec
from optimizer.data.instance import Instance
from optimizer.errors import InputError, Problem

#: Default probability of each failure case of a criticality folder (over the horizon).
FAILURE_PROB = 0.05
#: Default number of criticality cases planned for (the highest ranked).
CASES = 10
CRITICALITY_FILE = "criticality.csv"
_NEEDED = ("rank", "element", "kind", "status")


def from_criticality(
    inst: Instance,
    folder: str | Path,
    *,
    failure_prob: float = FAILURE_PROB,
    cases: int | None = CASES,
) -> tuple[list[ScenarioSpec], list[float], dict[str, Any]]:
    """The ``cases`` highest-ranked cases of the criticality folder (``None``: all), each
    with probability ``failure_prob``, and ``none`` with the rest (1 - n p).

    A case is the element's failure as ``rechain criticality`` solved it: its sites make
    nothing and ship or receive nothing, its links carry nothing.  The failures apply to
    ``inst`` with the scenarios the criticality run had applied (its provenance.json), so
    the undisrupted case is the criticality's base case.  Cases a hard policy cannot
    survive (``status`` infeasible) cannot be planned for and are left out (``info``).
    """
    from optimizer.analysis.criticality import BY, elements
    from optimizer.results.provenance import read_parts
    from optimizer.scenarios.apply import apply_scenarios

    folder = Path(folder)
    f = folder / CRITICALITY_FILE
    label = "--from-criticality"
    if not folder.is_dir():
        raise InputError(Problem(label, None, None, f"{folder} is not a folder"))
    if not f.is_file():
        raise InputError(
            Problem(
                label,
                None,
                None,
                f"{folder} is not a rechain criticality output: it has no {CRITICALITY_FILE} "
                "(rechain criticality INSTANCE --out DIR writes one)",
            )
        )
    problems: list[Problem] = []
    if not (0.0 < failure_prob <= 1.0):
        problems.append(Problem("--failure-prob", None, None, f"{failure_prob:g} is not in (0, 1]"))
    if cases is not None and cases < 1:
        problems.append(Problem("--cases", None, None, f"{cases}: give at least 1"))
    try:
        df = pd.read_csv(
            f, dtype={"element": str, "kind": str, "status": str}, keep_default_na=False
        )
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise InputError(Problem(str(f), None, None, f"cannot read: {e}")) from None
    missing = [c for c in _NEEDED if c not in df.columns]
    if missing:
        problems.append(
            Problem(
                str(f),
                1,
                None,
                f"not a criticality table: no column {', '.join(missing)}",
            )
        )
    if problems:
        raise InputError(problems)
    parts = read_parts(folder)
    prov = parts.get("criticality")
    if parts and prov is None:
        raise InputError(
            Problem(
                str(folder / "provenance.json"),
                None,
                "parts",
                "records no criticality run: the folder's criticality.csv is not rechain's",
            )
        )
    base = inst
    if prov is not None:
        if prov.get("instance") not in (None, inst.name):
            raise InputError(
                Problem(
                    str(folder / "provenance.json"),
                    None,
                    "parts.criticality.instance",
                    f"the criticality run is of instance {prov.get('instance')!r}, the plan of "
                    f"{inst.name!r}",
                )
            )
        files = [str(p) for p in prov.get("scenario_files") or []]
        gone = [p for p in files if not Path(p).is_file()]
        if gone:
            raise InputError(
                Problem(
                    str(folder / "provenance.json"),
                    None,
                    "parts.criticality.scenario_files",
                    f"scenario file {gone[0]} of the criticality run is not there any more",
                )
            )
        new = [p for p in files if p not in {str(q) for q in inst.scenario_files}]
        if new:
            base = apply_scenarios(inst, new)
    df = df.sort_values("rank", kind="stable").reset_index(drop=True)
    lookup: dict[str, dict[str, tuple[frozenset[str], frozenset[str]]]] = {}
    specs: list[ScenarioSpec] = []
    skipped: list[str] = []
    for i, r in enumerate(df.itertuples(index=False)):
        line = int(i) + 2
        kind = str(r.kind)
        by = kind.removesuffix(" pair")
        if by not in BY:
            problems.append(
                Problem(
                    str(f),
                    line,
                    "kind",
                    f"{kind!r} is not an element kind ({', '.join(BY)}, or one of them + ' pair')",
                )
            )
            continue
        if by not in lookup:
            lookup[by] = {lab: (s, lk) for lab, s, lk in elements(base, by)}
        names = str(r.element).split(" + ") if kind.endswith(" pair") else [str(r.element)]
        unknown = [n for n in names if n not in lookup[by]]
        if unknown:
            problems.append(
                Problem(
                    str(f),
                    line,
                    "element",
                    f"{unknown[0]!r} is not a {by} of instance {base.name!r}",
                )
            )
            continue
        if str(r.status) == "infeasible":
            skipped.append(str(r.element))
            continue
        if cases is not None and len(specs) >= cases:
            continue
        sites = frozenset().union(*(lookup[by][n][0] for n in names))
        links = frozenset().union(*(lookup[by][n][1] for n in names))
        specs.append(Outage(f"without {r.element}", sites, links, base))
    if problems:
        raise InputError(problems)
    if not specs:
        raise InputError(Problem(str(f), None, None, "no case to plan for (every one infeasible)"))
    rest = 1.0 - len(specs) * failure_prob
    if rest < -1e-9:
        raise InputError(
            Problem(
                "--failure-prob",
                None,
                None,
                f"{len(specs)} cases x {failure_prob:g} = {len(specs) * failure_prob:g} > 1: "
                "lower --failure-prob or plan for fewer --cases",
            )
        )
    specs.insert(0, (NONE, base))
    probs = [max(rest, 0.0), *[failure_prob] * (len(specs) - 1)]
    info = {
        "source": "criticality",
        "folder": str(folder),
        "failure_prob": failure_prob,
        "cases": len(specs) - 1,
        "skipped_infeasible": skipped,
        "base_scenarios": list(base.scenarios),
    }
    return specs, probs, info


def from_sweep(
    inst: Instance, spec: str | Path | dict
) -> tuple[list[ScenarioSpec], list[float], dict[str, Any]]:
    """Every case of the sweep spec (grid combinations times samples, with the nominal
    baseline when there are samples), equally likely, named ``case: axis=label, …``."""
    from optimizer.analysis.sweep.cases import apply_changes, build_cases
    from optimizer.analysis.sweep.spec import parse_spec

    parsed, stacks = parse_spec(inst, spec)
    cases = build_cases(parsed)
    specs: list[ScenarioSpec] = []
    for c in cases:
        words = [f"{k}={v}" for k, v in c.labels.items()]
        words += [f"{k}={v:.4g}" for k, v in c.values.items() if v == v]
        name = f"{c.case}: {', '.join(words)}" if words else c.case
        specs.append((name, apply_changes(stacks[c.stack], c.changes)))
    probs = [1.0 / len(specs)] * len(specs)
    info = {
        "source": "sweep",
        "sweep": parsed.id,
        "file": parsed.label,
        "cases": len(specs),
        "samples": parsed.samples,
        "seed": parsed.seed,
    }
    return specs, probs, info
