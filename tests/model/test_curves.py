"""Demand curves: the price of a shortage comes out of the curve (hand-checked), extra
demand takes up a surplus below the reference price, and value at risk adds up.

One mine (10 USD/t) with a 1 USD/t lane to a market that demands 100 t.  Its curve:
reference price 100 USD/t, elasticity -0.5, so P(q) = 100 (q/100)^-2, and the average
willingness to pay over a cut from a to b (shares of the 100 t) is
100 (1/(1-b) - 1/(1-a)) / (b - a):

    segment   0–2 %    2–5 %    5–10 %   10–20 %
    USD/t     102.04   107.41   116.96   138.89
"""

from __future__ import annotations

import pytest

from optimizer import load
from tests.builders import commodity, recipe_row, site, write_instance


def market(folder, *, capacity, cost=10, expand="", value="", max_price=1e6):
    return write_instance(
        folder,
        {"defaults": {"shortage_penalty": 1e6}},
        commodities=[commodity("ore", "mine", value=value, source="test" if value else "")],
        sites=[site("mine", "AU", "mine"), site("eu", "FR", "market", company="")],
        recipes=[recipe_row("dig", "ore")],
        processes=[
            {
                "id": "mine",
                "site": "mine",
                "recipe": "dig",
                "capacity": capacity,
                "cost": cost,
                "source": "test",
            }
        ],
        links=[
            {
                "id": "lane",
                "from_site": "mine",
                "to_site": "eu",
                "commodity": "ore",
                "capacity": "",
                "cost": 1,
                "source": "test",
            }
        ],
        demand=[
            {
                "market": "eu",
                "commodity": "ore",
                "period": 2024,
                "quantity": 100,
                "shortage_penalty": "",
                "source": "test",
            }
        ],
        demand_curves=[
            {
                "commodity": "ore",
                "market": "",
                "price": 100,
                "elasticity": -0.5,
                "max_price": max_price,
                "expand": expand,
                "source": "test",
            }
        ],
    )


def seg(a, b):
    return 100 * (1 / (1 - b) - 1 / (1 - a)) / (b - a)


def test_a_shortage_is_priced_by_the_segment_it_ends_in(tmp_path):
    res = load(market(tmp_path / "m", capacity=85)).solve()
    sh = res.shortages.iloc[0]
    assert sh["unmet"] == pytest.approx(15) and sh["served"] == pytest.approx(85)
    price = res.prices.set_index(["site", "commodity"])["marginal_cost"]
    assert price["eu", "ore"] == pytest.approx(seg(0.10, 0.20), rel=1e-4)  # 138.89
    cap = res.bottlenecks.set_index("element")["shadow_price"]
    assert cap["mine"] == pytest.approx(seg(0.10, 0.20) - 11, rel=1e-4)
    lost = 2 * seg(0, 0.02) + 3 * seg(0.02, 0.05) + 5 * seg(0.05, 0.10) + 5 * seg(0.10, 0.20)
    assert res.summary["cost_breakdown"]["shortage_penalty"] == pytest.approx(lost, rel=1e-4)
    assert res.objective == pytest.approx(85 * 11 + lost, rel=1e-6)


def test_the_cap_is_the_most_anyone_pays(tmp_path):
    """A 60 % cut: the last buyers would pay 100/0.4^2 = 625 and more; capped at 300."""
    res = load(market(tmp_path / "m", capacity=40, max_price=300)).solve()
    price = res.prices.set_index(["site", "commodity"])["marginal_cost"]
    assert price["eu", "ore"] == pytest.approx(300)


def test_no_curve_keeps_the_single_penalty(tmp_path):
    folder = market(tmp_path / "m", capacity=85)
    (folder / "demand_curves.csv").unlink()
    res = load(folder).solve()
    assert res.objective == pytest.approx(85 * 11 + 15 * 1e6)


def test_extra_demand_takes_up_a_surplus_below_the_price(tmp_path):
    """Supply at 75 + 1 USD/t, no limit; buyers take up to 20 % more below 100 USD/t.
    Extra segments (shares of 100 t): 0–2 % worth 98.04, 2–5 % 93.37, 5–10 % 86.58,
    10–20 % 75.76 — the last is worth less than the 76 it costs, so 10 t extra."""
    res = load(market(tmp_path / "m", capacity="", cost=75, expand=0.2)).solve()
    sh = res.shortages.iloc[0]
    assert sh["unmet"] == 0 and sh["extra"] == pytest.approx(10)
    assert sh["served"] == pytest.approx(110)
    assert res.summary["cost_breakdown"]["extra_demand"] == pytest.approx(
        -(2 * 98.0392 + 3 * 93.3707 + 5 * 86.5801), rel=1e-4
    )
    price = res.prices.set_index(["site", "commodity"])["marginal_cost"]
    assert price["eu", "ore"] == pytest.approx(76)


def test_value_at_risk_is_unmet_times_value(tmp_path):
    res = load(market(tmp_path / "m", capacity=85, value=2_000_000)).solve()
    assert res.shortages["unmet_value"].iloc[0] == pytest.approx(15 * 2_000_000)
    assert res.summary["unmet_value"] == pytest.approx(30_000_000)
    assert res.summary["unmet_by_commodity"] == {"ore": pytest.approx(15)}


def test_the_most_specific_curve_applies(tmp_path):
    """A market id beats a country, which beats a region, which beats every market; an id
    beats a group."""
    import pandas as pd

    from optimizer.model.curves import _match

    folder = market(tmp_path / "m", capacity=85)
    inst = load(folder)
    inst.manifest = inst.manifest.model_copy(
        update={"regions": {"EUR": ["FR"]}, "commodity_groups": {"ores": ["ore"]}}
    )
    rows = [
        ("ores", "", 0),
        ("ore", "", 1),
        ("ore", "EUR", 2),
        ("ores", "FR", 3),
        ("ore", "FR", 4),
    ]
    curves = pd.DataFrame(
        [{"commodity": c, "market": m, "price": 100, "elasticity": -0.5} for c, m, _ in rows]
    )
    demand = inst.tables["demand"][["market", "commodity"]]
    for k in range(len(rows), 0, -1):
        inst.tables["demand_curves"] = curves.iloc[:k]
        assert _match(inst, demand).tolist() == [rows[k - 1][2]], k
    inst.tables["demand_curves"] = curves.assign(market=["", "", "", "", "eu"])
    assert _match(inst, demand).tolist() == [4]
