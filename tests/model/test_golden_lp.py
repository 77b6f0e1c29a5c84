"""One golden LP per constraint family (Calliope's habit), and a test that every family has one.

Each family is exercised on ``tests/golden/chain`` (instances/tiny over two periods with
a lane capacity, storage, a project and emissions; a scenario per policy family).  The
LP handed to HiGHS is written in a canonical text form — rows and terms sorted by name,
coefficients to 10 significant digits — so the comparison does not depend on HiGHS's
own LP writer.  A change to a family's math shows up as a diff of its golden file;
regenerate them with ``RECHAIN_UPDATE_GOLDEN=1 pytest tests/model/test_golden_lp.py`` and read
the diff before committing it.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import pytest

from optimizer.lp.handoff import to_highs
from optimizer.policies.registry import FAMILIES
from optimizer.scenarios.apply import load
from optimizer.solve import baseline_solve, build, reference_solve
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"
CHAIN = GOLDEN / "chain"

#: family -> (scenario of tests/golden/chain or None, components its LP must contain);
#: a scenario ``curves:`` means the instance tests/golden/curves (the chain + demand curves)
CASES = {
    "processes": (None, ["act", "process_capacity"]),
    "expansion": (None, ["build"]),
    "transport": (None, ["flow", "link_capacity"]),
    "demand": ("curves:", ["unmet", "unmet_seg", "extra", "demand_curve"]),
    "storage": (None, ["dispose", "inventory"]),
    "balance": (None, ["balance"]),
    "objective": (None, []),
    "shortrun": ("short-run", ["short_run_ramp", "short_run_lane", "short_run_contract"]),
    "export_control": ("export-control", ["export_control"]),
    "tariff": ("tariff", []),
    "diversification_cap": ("diversification-cap", ["diversification_cap"]),
    "domestic_share": ("domestic-share", ["domestic_share"]),
    "procurement_ban": ("procurement-ban", ["procurement_ban"]),
    "environmental_cap": ("environmental-cap", ["environmental_cap"]),
    "production_target": ("production-target", ["production_target"]),
    "price_floor": ("price-floor", []),
}


def model_families() -> set[str]:
    """Modules of optimizer/model that add a constraint family (define an ``add_*`` function)."""
    out = set()
    for f in (ROOT / "optimizer" / "model").glob("*.py"):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.FunctionDef) and n.name.startswith("add_") for n in tree.body):
            out.add(f.stem)
    return out


def _fmt(x: float) -> str:
    return "inf" if np.isposinf(x) else "-inf" if np.isneginf(x) else f"{x:.10g}"


def canonical_lp(scenario: str | None) -> str:
    """The LP of ``tests/golden/chain`` (+ scenario) as canonical text."""
    if scenario == "curves:":
        inst = load(GOLDEN / "curves")
    else:
        inst = load(CHAIN, [scenario] if scenario else [])
    base, ref = baseline_solve(inst), reference_solve(inst)
    cm, _ = build(
        inst,
        base.as_baseline() if base is not None else None,
        ref.as_baseline() if ref is not None else None,
    )
    handle = to_highs(cm)
    lp = handle.highs.getLp()
    cols = handle.column_names("report")
    rows = handle.row_names("report")
    cost = np.asarray(lp.col_cost_)
    lo, up = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
    rlo, rup = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
    a = lp.a_matrix_
    start, index, value = np.asarray(a.start_), np.asarray(a.index_), np.asarray(a.value_)
    terms: dict[int, list[tuple[str, float]]] = {i: [] for i in range(len(rows))}
    for j in range(len(cols)):
        for k in range(start[j], start[j + 1]):
            terms[int(index[k])].append((cols[j], float(value[k])))
    out = [f"\\ golden LP of tests/golden/chain{' + ' + scenario if scenario else ''}", "minimize"]
    out += [
        f"  {_fmt(cost[j])} {c}"
        for j, c in sorted(enumerate(cols), key=lambda t: t[1])
        if cost[j] != 0
    ]
    out.append(f"  offset {_fmt(lp.offset_)}")
    out.append("subject to")
    for i in sorted(range(len(rows)), key=lambda i: rows[i]):
        body = " ".join(f"{_fmt(v)} {c}" for c, v in sorted(terms[i]))
        out.append(f"  {rows[i]}: {_fmt(rlo[i])} <= {body} <= {_fmt(rup[i])}")
    out.append("bounds")
    out += [
        f"  {_fmt(lo[j])} <= {c} <= {_fmt(up[j])}"
        for j, c in sorted(enumerate(cols), key=lambda t: t[1])
        if lo[j] != 0 or not np.isposinf(up[j])
    ]
    return "\n".join(out) + "\n"


def test_every_family_has_a_golden_case():
    families = model_families() | {f.type for f in FAMILIES}
    assert set(CASES) == families, (
        f"without a golden case: {sorted(families - set(CASES))}; "
        f"cases of no family: {sorted(set(CASES) - families)}"
    )
    missing = [f for f in CASES if not (GOLDEN / "lp" / f"{f}.lp").is_file()]
    assert not missing or os.environ.get("RECHAIN_UPDATE_GOLDEN"), f"no golden file: {missing}"


@pytest.mark.parametrize("family", sorted(CASES))
def test_golden_lp(family):
    scenario, components = CASES[family]
    text = canonical_lp(scenario)
    for c in components:
        assert f"  {c}[" in text or f" {c}[" in text, f"{family}: no {c} in its LP"
    path = GOLDEN / "lp" / f"{family}.lp"
    if os.environ.get("RECHAIN_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), (
        f"the LP of {family} changed: RECHAIN_UPDATE_GOLDEN=1 pytest tests/model/{Path(__file__).name}, "
        "then read the diff"
    )


def test_policy_families_change_the_lp():
    """Each policy's golden LP differs from the base LP (a no-op policy would not)."""
    base = canonical_lp(None).split("\n", 1)[1]
    for family, (scenario, _) in CASES.items():
        if scenario is not None and scenario != "curves:":
            assert canonical_lp(scenario).split("\n", 1)[1] != base, family
