"""Price floors (a deficiency payment: floor minus market price on every tonne made) move
output, pay what was computed by hand, and settle to a consistent market price.

The instance (tests/test_environment.py's two mines with 150 t of EU demand): ``cn`` (CN)
mines at 5 USD/t, ``au`` (AU) at 10 USD/t, 100 t each, lanes 1 USD/t.  Without policies
China is full (100 t) and Australia marginal (50 t): the EU price is 11, ore at ``au`` is
worth 10, cost 100 x 6 + 50 x 11 = 1,150 USD.

A floor F on Australian ore pays s = F - p per tonne, where p is the ore's price at ``au``.
Once ``au`` is cheaper than ``cn`` after the payment (10 - s < 5) it runs full (100 t),
China becomes marginal (50 t), the EU price falls to 6 and ore at ``au`` is worth 5, so
s = F - 5.  Objective = 50 x 6 + 100 x 11 - 100 s.
"""

from __future__ import annotations

import numpy as np
import pytest

from optimizer import load
from optimizer.errors import InputError
from optimizer.results.invariants import check_result
from tests.builders import scenario_file, two_mines


def floor(F: float, reference: str | float = "market", where: str = "sites: [au]") -> str:
    return (
        "policies:\n  - type: price_floor\n    id: au-floor\n    commodities: ore\n"
        f"    {where}\n    floor: {F}\n    reference: {reference}\n"
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return two_mines(tmp_path_factory.mktemp("pf") / "two", demand=150, emissions=None)


def solve(folder, tmp_path, body: str):
    inst = load(folder, [scenario_file(tmp_path, body)])
    res = inst.solve()
    assert check_result(inst, res) == []
    return res


def mined(res) -> dict[str, float]:
    return res.production.set_index("process")["activity"].to_dict()


def row(res):
    pol = res.policies
    assert list(pol["type"]) == ["price_floor"]
    return pol.iloc[0]


def test_baseline_prices(folder):
    res = load(folder).solve()
    assert res.objective == pytest.approx(1150)
    assert mined(res) == pytest.approx({"cn": 100, "au": 50})
    p = res.prices.set_index(["site", "commodity"])["marginal_cost"]
    assert p[("eu", "ore")] == pytest.approx(11) and p[("au", "ore")] == pytest.approx(10)


def test_market_floor_settles_at_floor_minus_new_price(folder, tmp_path):
    res = solve(folder, tmp_path, floor(20))
    assert mined(res) == pytest.approx({"cn": 50, "au": 100})
    r = row(res)
    assert r["limit"] == 20 and r["used"] == pytest.approx(5)  # ore at au after the shift
    assert r["shadow_price"] == pytest.approx(15) and bool(r["binding"])
    assert r["quantity"] == pytest.approx(100) and r["payment"] == pytest.approx(1500)
    assert res.objective == pytest.approx(50 * 6 + 100 * 11 - 1500)  # -100
    assert res.summary["cost_breakdown"]["price_floor"] == pytest.approx(-1500)
    pf = res.summary["price_floor"]
    assert pf["converged"] and pf["payments"] == {"au-floor": pytest.approx(1500)}
    # the producer gets market price + payment = the floor
    assert r["used"] + r["shadow_price"] == pytest.approx(20)


def test_floor_that_barely_pays_still_settles(folder, tmp_path):
    # F = 12: s = 7 moves au ahead of cn (10 - 7 = 3 < 5)
    res = solve(folder, tmp_path, floor(12))
    assert mined(res) == pytest.approx({"cn": 50, "au": 100})
    assert row(res)["shadow_price"] == pytest.approx(7)
    assert res.objective == pytest.approx(1400 - 700)


def test_floor_below_the_producers_cost_pays_nothing(folder, tmp_path):
    # F = 9 < 10, au's cost: at any consistent s au stays marginal and its price is 10 - s,
    # so F - p = s - 1 < s: the only consistent payment is 0 (found by the bisection steps)
    res = solve(folder, tmp_path, floor(9))
    assert mined(res) == pytest.approx({"cn": 100, "au": 50})
    r = row(res)
    assert r["shadow_price"] == pytest.approx(0, abs=0.02)
    assert r["payment"] == pytest.approx(0, abs=2)
    assert res.objective == pytest.approx(1150, abs=2)
    assert res.summary["price_floor"]["converged"]


def test_fixed_reference_price(folder, tmp_path):
    # the payment is floor minus the stated price: 20 - 12 = 8 per tonne
    res = solve(folder, tmp_path, floor(20, reference=12))
    assert mined(res) == pytest.approx({"cn": 50, "au": 100})
    r = row(res)
    assert r["shadow_price"] == pytest.approx(8) and r["payment"] == pytest.approx(800)
    assert r["used"] == pytest.approx(5)  # the model's price is still reported
    assert res.objective == pytest.approx(1400 - 800)
    assert res.summary["price_floor"]["iterations"] == 0


def test_floor_by_region_and_on_idle_site(folder, tmp_path):
    # a floor on Chinese ore: cn is already full, so only a transfer (no output change)
    res = solve(folder, tmp_path, floor(20, where="region: CN"))
    assert mined(res) == pytest.approx({"cn": 100, "au": 50})
    r = row(res)
    # ore at cn is worth 10 (EU price 11 minus the lane), so the payment is 10 per tonne
    assert r["used"] == pytest.approx(10) and r["payment"] == pytest.approx(1000)
    assert res.objective == pytest.approx(1150 - 1000)


def test_disposal_is_not_paid_for(tmp_path):
    # with ore disposable at au (2 USD/t) a floor of 100 would pay to mine and dump;
    # tonnes disposed of at the site are paid back, so au makes only what is sold
    folder = two_mines(tmp_path / "d", demand=150, emissions=None)
    com = folder / "commodities.csv"
    com.write_text(com.read_text().replace("ore,ore,mine,t,,,,", "ore,ore,mine,t,,2,,test"))
    res = solve(folder, tmp_path, floor(100))
    assert res.disposal.empty
    assert mined(res) == pytest.approx({"cn": 50, "au": 100})
    assert row(res)["quantity"] == pytest.approx(100)


def test_criticality_keeps_the_settled_rates(folder, tmp_path):
    from optimizer.analysis.whatif import WhatIf

    inst = load(folder, [scenario_file(tmp_path, floor(20))])
    w = WhatIf.from_instance(inst)
    assert w.base_objective == pytest.approx(-100)
    # without au the floor pays nothing: cn 100 t, 50 t short at the default penalty
    case = w.solve_without(sites={"au"})
    assert case.objective == pytest.approx(100 * 6 + 50 * 1000)
    assert np.sum(case.unmet) == pytest.approx(50)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("floor: 0", "floor"),
        ("floor: 10\n    reference: cheap", "reference"),
        ("floor: 10\n    reference: -5", "reference"),
    ],
)
def test_bad_price_floor_is_located(folder, tmp_path, body, where):
    text = (
        "policies:\n  - type: price_floor\n    id: bad\n    commodities: ore\n"
        f"    sites: [au]\n    {body}\n"
    )
    with pytest.raises(InputError) as e:
        load(folder, [scenario_file(tmp_path, text)])
    assert where in str(e.value)


def test_floor_on_a_site_that_makes_nothing_of_it(folder, tmp_path):
    with pytest.raises(InputError, match="no process at eu makes 'ore'"):
        load(folder, [scenario_file(tmp_path, floor(20, where="sites: [eu]"))])
