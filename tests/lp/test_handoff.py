"""The fast hand-off (standard-form compiler -> highspy) solves the same LP as Pyomo's own
HiGHS interface, and maps values and duals back to the right labels."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyomo.contrib.solver.common.factory import SolverFactory

from optimizer import load
from optimizer.model.build import build_model
from optimizer.model.sets import build_sets
from tests.conftest import TINY


def _pyomo_highs(inst):
    cm = build_model(build_sets(inst))
    cm.m.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    r = SolverFactory("highs").solve(cm.m)
    return cm, r


@pytest.mark.parametrize("scenario", [None, "south-mine-halved", "no-heavy-ore"])
def test_same_objective_as_pyomo_highs_interface(scenario):
    inst = load(TINY, [scenario] if scenario else [])
    ours = inst.solve()
    cm, r = _pyomo_highs(inst)
    assert r.incumbent_objective == pytest.approx(ours.objective, rel=1e-9)


@pytest.mark.parametrize("scenario", [None, "south-mine-halved"])
def test_duals_land_on_their_labels(scenario):
    """Prices (balance duals) and shadow prices (minus capacity duals) equal the duals
    Pyomo's own HiGHS interface reports for the same labelled rows."""
    inst = load(TINY, [scenario] if scenario else [])
    ours = inst.solve()
    cm, r = _pyomo_highs(inst)
    duals = r.solution_loader.get_duals()
    assert len(ours.prices) == len(cm.m.balance)
    for p in ours.prices.itertuples(index=False):
        row = cm.m.balance[p.site, p.commodity, p.period]
        assert p.marginal_cost == pytest.approx(duals[row], rel=1e-9, abs=1e-6)
    binding = 0
    for c in ours.capacities.itertuples(index=False):
        row = cm.m.process_capacity[c.element, c.period]
        assert c.shadow_price == pytest.approx(-duals[row], rel=1e-9, abs=1e-6)
        binding += c.shadow_price > 0
    # the southern (Dy) mine is the one binding capacity in both cases (docs/tiny.md)
    assert binding == 1


def test_values_land_on_their_labels():
    inst = load(TINY)
    ours = inst.solve()
    cm, _ = _pyomo_highs(inst)
    for r in ours.production.itertuples(index=False):
        assert pyo.value(cm.m.act[r.process, r.recipe, r.period]) == pytest.approx(r.activity)
    for r in ours.flows.itertuples(index=False):
        assert pyo.value(cm.m.flow[r.link, r.commodity, r.period]) == pytest.approx(r.quantity)


# capacities and demand as data would hold them: half-tonne steps from 0 to 2,000 t
amounts = st.integers(min_value=0, max_value=4000).map(lambda x: x / 2)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cap_north=amounts,
    cap_south=amounts,
    cap_sep=amounts,
    cap_mag=amounts,
    d_eu=amounts,
    d_us=amounts,
    d_lace=amounts,
)
def test_random_capacities_and_demand(
    tmp_path_factory, cap_north, cap_south, cap_sep, cap_mag, d_eu, d_us, d_lace
):
    """Any capacities and demand: optimal, invariants hold (checked by the autouse fixture),
    served never exceeds what the binding resources allow, and objective matches Pyomo's interface."""
    base = load(TINY)
    t = base.tables
    p = t["processes"].set_index("id")
    caps = {
        "mine_north": cap_north,
        "mine_south": cap_south,
        "separation": cap_sep,
        "magnet_line": cap_mag,
    }
    t["processes"]["capacity"] = [caps[i] for i in t["processes"]["id"]]
    d = t["demand"]
    d["quantity"] = [d_eu, d_us, d_lace]
    del p
    res = base.solve()
    assert res.status == "optimal"
    served_magnets = res.shortages.loc[res.shortages["commodity"] == "magnet_ht", "served"].sum()
    assert served_magnets <= cap_mag + 1e-6
    # Dy limits magnets: GBD needs 0.02 t Dy per t; Dy only from the southern ore (0.1 t/t)
    assert served_magnets <= min(cap_south, cap_sep) * 0.1 / 0.02 + 1e-6
    cm, r = _pyomo_highs(base)
    assert r.incumbent_objective == pytest.approx(res.objective, rel=1e-7, abs=1e-6)


# -- the matrix: assembled from the builders' triplets = Pyomo's standard-form compiler ---------


def _models():
    """(case name, ChainModel) of every constraint family's golden case, world-2024, the
    monthly instance (storage, safety stocks) and origin tracing, built as solve() does."""
    from optimizer.scenarios.apply import load as load_scenarios
    from optimizer.solve import baseline_solve, build, reference_solve
    from tests.conftest import INSTANCES
    from tests.model.test_golden_lp import CASES, CHAIN, GOLDEN

    cases = {
        f"golden:{f}": (GOLDEN / "curves", []) if s == "curves:" else (CHAIN, [s] if s else [])
        for f, (s, _) in CASES.items()
    }
    cases["world-2024"] = (INSTANCES / "world-2024", [])
    cases["world-2024+trace-china"] = (INSTANCES / "world-2024", ["trace-china"])
    cases["world-2025-monthly"] = (INSTANCES / "world-2025-monthly", [])
    for name, (folder, scenarios) in cases.items():
        inst = load_scenarios(folder, scenarios)
        base, ref = baseline_solve(inst), reference_solve(inst)
        cm, _ = build(
            inst,
            base.as_baseline() if base is not None else None,
            ref.as_baseline() if ref is not None else None,
        )
        yield name, cm


def _same_lp(handle, repn) -> list[str]:
    """What differs between the LP passed to HiGHS and the compiler's standard form."""
    import numpy as np

    from optimizer.lp.run import INF

    lp = handle.highs.getLp()
    A = repn.A.tocsc()
    sense = np.array([s for _, s in repn.rows], dtype=np.int64)
    rhs = np.asarray(repn.rhs, dtype=float)
    pairs = {
        "start": (lp.a_matrix_.start_, A.indptr),
        "index": (lp.a_matrix_.index_, A.indices),
        "value": (lp.a_matrix_.value_, A.data),
        "cost": (lp.col_cost_, repn.c.toarray().ravel()),
        "row_lower": (lp.row_lower_, np.where(sense <= 0, rhs, -INF)),
        "row_upper": (lp.row_upper_, np.where(sense >= 0, rhs, INF)),
    }
    bad = [k for k, (a, b) in pairs.items() if not np.array_equal(np.asarray(a), np.asarray(b))]
    if len(repn.columns) != lp.num_col_ or len(repn.rows) != lp.num_row_:
        bad.append("shape")
    return bad


def test_matrix_equals_the_standard_form_compiler_on_every_family():
    from optimizer.lp.handoff import pyomo_standard_form, to_highs

    seen: set[str] = set()
    for name, cm in _models():
        assert _same_lp(to_highs(cm), pyomo_standard_form(cm)) == [], name
        seen |= set(cm.con_data)
    # every constraint component the builders make was compared
    assert {
        "balance",
        "process_capacity",
        "link_capacity",
        "demand_curve",
        "safety_stock",
        "short_run_ramp",
        "short_run_lane",
        "short_run_contract",
        "export_control",
        "diversification_cap",
        "domestic_share",
        "procurement_ban",
        "environmental_cap",
        "production_target",
    } <= seen


def test_repeated_terms_are_summed_in_order_and_zeros_dropped():
    """One variable twice in a row (summed), a term of 0 and terms that cancel (dropped)."""
    import numpy as np
    import pandas as pd
    import pyomo.environ as pyo

    from optimizer.lp.handoff import pyomo_standard_form, to_highs
    from optimizer.model.core import ChainModel, linear

    cm = ChainModel(pyo.ConcreteModel(), sets=None)  # type: ignore[arg-type]
    cm.add_var("x", pd.DataFrame({"i": [0, 1, 2]}))
    cm.add_var("y", pd.DataFrame({"i": [0, 1]}))
    terms = [
        ("x", np.array([0, 0, 1, 2]), np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.0, 1.0])),
        ("y", np.array([0, 1, 1]), np.array([0, 1, 1]), np.array([1 / 3, 0.7, -0.7])),
        ("x", np.array([0, 2]), np.array([1, 0]), np.array([1.0, 2.5])),
    ]
    cm.add_rows("r", pd.DataFrame({"k": ["a", "b"]}), terms, "<=", np.array([1.0, 2.0]))
    cm.add_rows("e", pd.DataFrame({"k": ["c"]}), [terms[1]], ">=", np.array([0.5]))
    cm.add_cost("x", np.array([0, 1, 2, 0]), np.array([1.0, 2.0, 3.0, 0.5]), "c")
    cm.add_cost("y", np.array([0, 1]), np.array([1.0, 1.0]), "c")
    coefs, data = [], []
    for name, pos, coef, _ in cm.objective_terms:
        data += np.asarray(cm.var_data[name], dtype=object)[pos].tolist()
        coefs += coef.tolist()
    cm.m.obj = pyo.Objective(expr=linear(coefs, data))
    handle = to_highs(cm)
    assert _same_lp(handle, pyomo_standard_form(cm)) == []
    lp = handle.highs.getLp()
    # x0 in row 0: 0.1 + 0.2 (summed); y1 in row 1: 0.7 - 0.7 (dropped); x1: 0 (dropped)
    assert lp.a_matrix_.value_[0] == 0.1 + 0.2 and handle.nnz == 6
    assert list(lp.col_cost_) == [1.5, 2.0, 3.0, 1.0, 1.0]


def test_the_solve_path_imports_no_scipy():
    """Pyomo's scipy hook imports scipy.stats (1-4 s): a build + hand-off + solve needs none."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT, TINY

    code = (
        "import json, sys\n"
        "from optimizer.scenarios.apply import load\n"
        "from optimizer.solve import build\n"
        "from optimizer.lp.handoff import to_highs\n"
        "from optimizer.lp.run import run_highs\n"
        f"cm, _ = build(load({str(TINY)!r}))\n"
        "run_highs(to_highs(cm), 'choose', None)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    loaded = set(json.loads(p.stdout.strip().splitlines()[-1]))
    assert "pyomo" in loaded and "highspy" in loaded
    assert "scipy" not in loaded
