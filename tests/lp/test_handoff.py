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
