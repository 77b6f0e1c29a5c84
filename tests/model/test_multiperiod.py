"""Several periods with inventory, initial stocks and discounting, checked by hand."""

from __future__ import annotations

import pytest

from optimizer import load
from tests.builders import one_mine_one_market


def test_single_period_is_the_simple_case(tmp_path):
    inst = load(one_mine_one_market(tmp_path / "i", [2024], {2024: 50}))
    res = inst.solve()
    assert res.objective == pytest.approx(50 * 11)
    assert len(res.inventory) == 0
    assert (
        res.summary["model_size"]["variables"] == 3
    )  # act, flow, unmet: no inventory in one period


def test_build_ahead_and_store(tmp_path):
    # capacity 100/period, demand 50 then 150: make 100 + 100, store 50 at 2/t
    res = load(one_mine_one_market(tmp_path / "i", [2024, 2025], {2024: 50, 2025: 150})).solve()
    assert res.objective == pytest.approx(200 * 10 + 200 * 1 + 50 * 2)
    assert res.total_unmet == 0
    inv = res.inventory.groupby("period")["quantity"].sum()
    assert inv[2024] == pytest.approx(50)
    assert inv.get(2025, 0) == pytest.approx(0)


def test_not_storable_means_shortage(tmp_path):
    res = load(
        one_mine_one_market(tmp_path / "i", [2024, 2025], {2024: 50, 2025: 150}, storage_cost="")
    ).solve()
    assert res.total_unmet == pytest.approx(50)
    assert res.objective == pytest.approx(150 * 11 + 50 * 1000)


def test_storage_dearer_than_shortage_is_not_used(tmp_path):
    res = load(
        one_mine_one_market(tmp_path / "i", [2024, 2025], {2024: 50, 2025: 150}, storage_cost=5000)
    ).solve()
    assert res.total_unmet == pytest.approx(50)


def test_initial_stock_is_drawn_first(tmp_path):
    # 30 t in stock at the market: buy only 20 t in 2024
    res = load(one_mine_one_market(tmp_path / "i", [2024], {2024: 50}, stock=30)).solve()
    assert res.objective == pytest.approx(20 * 11)
    assert res.production["activity"].sum() == pytest.approx(20)


def test_unused_stock_stays_in_inventory(tmp_path):
    res = load(
        one_mine_one_market(tmp_path / "i", [2024], {2024: 10}, stock=30, storage_cost=0)
    ).solve()
    assert res.objective == pytest.approx(0)
    assert res.inventory["quantity"].sum() == pytest.approx(20)


def test_discounting_weights_later_periods(tmp_path):
    r = 0.1
    res = load(
        one_mine_one_market(
            tmp_path / "i", [2024, 2026], {2024: 10, 2026: 10}, storage_cost="", discount_rate=r
        )
    ).solve()
    assert res.objective == pytest.approx(10 * 11 + 10 * 11 / (1 + r) ** 2)


def test_concentration_hhi_by_hand(tmp_path):
    from tests.builders import commodity, recipe_row, site, write_instance

    folder = write_instance(
        tmp_path / "c",
        {},
        commodities=[commodity("ore", "mine")],
        sites=[
            site("a", "AU", "mine", company="Alpha"),
            site("b", "CN", "mine", company="Beta"),
            site("c", "CN", "mine", company="Gamma"),
            site("m", "JP", "market", company=""),
        ],
        recipes=[recipe_row("dig", "ore")],
        processes=[
            {"id": "pa", "site": "a", "recipe": "dig", "capacity": 30, "cost": 1, "source": "test"},
            {"id": "pb", "site": "b", "recipe": "dig", "capacity": 40, "cost": 1, "source": "test"},
            {"id": "pc", "site": "c", "recipe": "dig", "capacity": 30, "cost": 1, "source": "test"},
        ],
        links=[
            {
                "id": f"l{x}",
                "from_site": x,
                "to_site": "m",
                "commodity": "*",
                "capacity": "",
                "cost": 0,
                "source": "test",
            }
            for x in "abc"
        ],
        demand=[
            {
                "market": "m",
                "commodity": "ore",
                "period": 2024,
                "quantity": 100,
                "shortage_penalty": "",
                "source": "test",
            }
        ],
    )
    res = load(folder).solve()
    c = res.concentration.set_index(["scope", "commodity"])
    # countries: CN 70%, AU 30% -> 4900 + 900; companies 40/30/30 -> 1600 + 900 + 900
    assert c.loc[("country", "ore"), "hhi"] == pytest.approx(5800)
    assert c.loc[("country", "ore"), "top_country"] == "CN"
    assert c.loc[("country", "ore"), "top_share"] == pytest.approx(0.7)
    assert c.loc[("company", "ore"), "hhi"] == pytest.approx(3400)
    assert c.loc[("company", "ore"), "top"] == "Beta"
    assert c.loc[("country", "*"), "hhi"] == pytest.approx(5800)


def _expansions(folder, rows):
    import pandas as pd

    pd.DataFrame(rows).to_csv(folder / "expansions.csv", index=False)
    return folder


def test_expansion_is_built_when_worth_it(tmp_path):
    # capacity 100 in both periods, demand 100 then 150; a project adds up to 80 from 2025 at
    # 3 USD per t of capacity per period: build 50 (not 80), cost 250 t x 11 + 50 x 3
    folder = one_mine_one_market(
        tmp_path / "i", [2024, 2025], {2024: 100, 2025: 150}, storage_cost=""
    )
    _expansions(
        folder,
        [
            {
                "id": "mine_x",
                "process": "mine",
                "capacity": 80,
                "capex": 3,
                "earliest": 2024,
                "lead_time": 1,
                "committed": "",
                "source": "test",
            }
        ],
    )
    res = load(folder).solve()
    assert res.total_unmet == pytest.approx(0)
    e = res.expansions.set_index("id").loc["mine_x"]
    assert e["built"] == pytest.approx(50) and e["in_service"] == 2025
    assert res.objective == pytest.approx(250 * 11 + 50 * 3)
    assert res.summary["cost_breakdown"]["capex"] == pytest.approx(150)


def test_expansion_not_in_service_in_time_leaves_a_shortage(tmp_path):
    folder = one_mine_one_market(
        tmp_path / "i", [2024, 2025], {2024: 100, 2025: 150}, storage_cost=""
    )
    _expansions(
        folder,
        [
            {
                "id": "late",
                "process": "mine",
                "capacity": 80,
                "capex": 3,
                "earliest": 2025,
                "lead_time": 2,
                "committed": "",
                "source": "test",
            }
        ],
    )
    res = load(folder).solve()
    assert res.total_unmet == pytest.approx(50)
    assert res.expansions.empty  # in service only after the last period


def test_committed_expansion_is_built_and_paid_for_every_period(tmp_path):
    folder = one_mine_one_market(
        tmp_path / "i", [2024, 2025], {2024: 10, 2025: 10}, storage_cost=""
    )
    _expansions(
        folder,
        [
            {
                "id": "c",
                "process": "mine",
                "capacity": 40,
                "capex": 2,
                "earliest": 2024,
                "lead_time": 0,
                "committed": "yes",
                "source": "test",
            }
        ],
    )
    res = load(folder).solve()
    assert res.expansions.set_index("id").loc["c", "built"] == pytest.approx(40)
    assert res.objective == pytest.approx(20 * 11 + 40 * 2 * 2)


def test_expansion_of_an_unlimited_process_is_an_error(tmp_path):
    from optimizer.errors import InputError

    folder = one_mine_one_market(tmp_path / "i", [2024], {2024: 10}, capacity="")
    _expansions(
        folder,
        [
            {
                "id": "x",
                "process": "mine",
                "capacity": 40,
                "capex": 2,
                "earliest": 2024,
                "lead_time": 0,
                "committed": "",
                "source": "test",
            }
        ],
    )
    with pytest.raises(
        InputError, match="expansions.csv:2:process: process 'mine' has no capacity limit"
    ):
        load(folder)


def test_duals_are_in_usd_of_their_own_period(tmp_path):
    # 10 % a year, 2026 weighs 1/1.21 in the objective; the mine (10 USD/t, 1 USD/t lane,
    # capacity 10) cannot serve 15 t in 2026: 5 t short at the 1,000 USD/t penalty
    r = 0.1
    res = load(
        one_mine_one_market(
            tmp_path / "i",
            [2024, 2026],
            {2024: 10, 2026: 15},
            capacity=10,
            storage_cost="",
            discount_rate=r,
        )
    ).solve()
    assert res.objective == pytest.approx(10 * 11 + (10 * 11 + 5 * 1000) / (1 + r) ** 2)
    p = res.prices.set_index(["site", "period"])["marginal_cost"]
    # the market's price in 2026 is the penalty, in 2026 USD (not 1,000 / 1.21)
    assert p[("mkt", 2026)] == pytest.approx(1000)
    b = res.bottlenecks.set_index("period")["shadow_price"]
    assert b[2026] == pytest.approx(1000 - 11)  # another tonne of capacity in 2026 USD


def test_ad_valorem_tariff_is_discounted_once(tmp_path):
    # ore at the AU mine is worth 10 USD/t in each period; a 10 % Japanese tariff adds
    # 1 USD/t, paid on 10 t in 2024 and 10 t in 2026 (weight 1/1.21)
    from tests.builders import scenario_file

    r = 0.1
    folder = one_mine_one_market(
        tmp_path / "i", [2024, 2026], {2024: 10, 2026: 10}, storage_cost="", discount_rate=r
    )
    sc = scenario_file(
        tmp_path, "policies:\n  - type: tariff\n    importer: JP\n    ad_valorem: 0.1\n"
    )
    res = load(folder, [sc]).solve()
    w = 1 / (1 + r) ** 2
    assert res.summary["cost_breakdown"]["tariffs"] == pytest.approx(10 * 1 + 10 * 1 * w)
    assert res.objective == pytest.approx(10 * 12 * (1 + w))
