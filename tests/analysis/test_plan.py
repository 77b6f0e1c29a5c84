"""``rechain plan``: the two-stage stochastic LP, checked by hand (docs/plan.md).

The chain: a mine (100 t, 10 USD/t) ships ore to a market (1 USD/t) that wants 100 t
in 2024; shortage costs 1,000 USD/t.  Scenario ``cut`` (probability p = 0.2) stops the
mine; ``none`` (0.8) leaves it.  One stockpile candidate, ore at the market: holding
cost h per tonne, release cost 20 USD/t (dearer than the mine, so only a cut draws it).
A tonne stocked saves p x (1,000 - 20) = 196 USD in expectation: the plan stocks 100 t
iff h < 196.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.analysis.plan import plan, stock_candidates, var_cvar
from optimizer.cli import app
from optimizer.errors import InputError
from tests.builders import one_mine_one_market, scenario_file, write_instance
from tests.conftest import TINY

runner = CliRunner()
CUT = "changes:\n  - table: processes\n    where: {id: mine}\n    set: {capacity: 0}\n"


def _chain(tmp_path, value: float | None = None):
    folder = one_mine_one_market(tmp_path / "i", [2024], {2024: 100}, storage_cost="")
    if value is not None:
        com = pd.read_csv(folder / "commodities.csv")
        com["value"] = value
        com.to_csv(folder / "commodities.csv", index=False)
    cut = scenario_file(tmp_path, CUT, "cut")
    return load(folder), cut


def _stock(h: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "site": "mkt",
                "commodity": "ore",
                "holding_cost": h,
                "release_cost": 20.0,
                "max": np.nan,
            }
        ]
    )


def _stocked(res) -> float:
    s = res.plan.loc[res.plan["kind"] == "stockpile", "amount"]
    return float(s.sum())


@pytest.mark.parametrize(
    ("h", "stocked", "objective", "vss", "evpi"),
    [
        # stock 100: 100 h + 0.8 x 1,100 + 0.2 x 100 x 20
        (150, 100, 15_000 + 880 + 400, 3_680, 12_000),
        (195, 100, 19_500 + 880 + 400, None, None),
        # no stock: 0.8 x 1,100 + 0.2 x 100,000
        (197, 0, 20_880, None, None),
        (250, 0, 20_880, 1_080, 14_600),
    ],
)
def test_stockpile_bought_iff_probability_times_avoided_loss_exceeds_its_cost(
    tmp_path, h, stocked, objective, vss, evpi
):
    inst, cut = _chain(tmp_path)
    res = plan(inst, [cut, "none"], [0.2, 0.8], stockpiles=_stock(h))
    assert _stocked(res) == pytest.approx(stocked)
    assert res.objective == pytest.approx(objective)
    sc = res.scenarios.set_index("scenario")
    assert sc.loc["none", "second_stage_cost"] == pytest.approx(1_100)
    assert sc.loc["cut", "first_stage_cost"] == pytest.approx(stocked * h)
    # without the plan (nothing stocked): 20,880, the cut losing 100 t
    assert sc.loc["cut", "objective_without_plan"] == pytest.approx(100_000)
    assert res.summary["without_plan"]["objective"] == pytest.approx(20_880)
    assert res.summary["value_of_plan"] == pytest.approx(20_880 - objective)
    if vss is not None:
        # expected-value problem: the mine's capacity averages to 80 t, so it stocks 20 t
        # (20 + h < 1,000); fixed at 20 t on both scenarios: 20 h + 880 + 0.2 x (400 + 80,000)
        assert res.summary["expected_value_plan"] == {"stockpile[mkt,ore]": pytest.approx(20)}
        assert res.summary["eev"] == pytest.approx(20 * h + 880 + 0.2 * 80_400)
        assert res.summary["vss"] == pytest.approx(vss)
        # wait and see: only the cut stocks (100 x (h + 20)): 880 + 0.2 x 100 (h + 20)
        assert res.summary["wait_and_see"] == pytest.approx(880 + 0.2 * 100 * (h + 20))
        assert res.summary["evpi"] == pytest.approx(evpi)
        assert "averaged" in res.summary["expected_value_problem"]
    if stocked:
        row = res.plan.iloc[0]
        assert (row["site"], row["commodity"], row["from_period"]) == ("mkt", "ore", 2024)
        assert row["cost"] == pytest.approx(100 * h)
        assert row["expected_release"] == pytest.approx(0.2 * 100)


@pytest.mark.parametrize(
    ("lam", "stocked", "objective", "cvar"),
    [
        # a tonne stocked: 250 + 0.2 x 20 - 0.2 x 1,000 = +54 USD of expected cost and
        # -500 USD of CVaR (p = 0.2 > 1 - alpha: the tail is the cut), so it pays iff
        # 500 lambda > 54
        (0.0, 0, 20_880, 50_000),
        (0.1, 0, 20_880 + 0.1 * 50_000, 50_000),
        (0.2, 100, 25_000 + 880 + 400, 0),
    ],
)
def test_cvar_of_the_value_at_risk_changes_the_plan_as_computed_by_hand(
    tmp_path, lam, stocked, objective, cvar
):
    inst, cut = _chain(tmp_path, value=500)
    res = plan(inst, [cut, "none"], [0.2, 0.8], alpha=0.9, risk_weight=lam, stockpiles=_stock(250))
    assert _stocked(res) == pytest.approx(stocked)
    assert res.objective == pytest.approx(objective)
    assert res.summary["cvar"] == pytest.approx(cvar)
    assert res.summary["var"] == pytest.approx(cvar)
    sc = res.scenarios.set_index("scenario")
    assert sc.loc["cut", "unmet_value"] == pytest.approx((100 - stocked) * 500)
    assert res.summary["vss"] >= -1e-6 and res.summary["evpi"] >= -1e-6
    if lam == 0.2:
        # EV: stocks 20 t; on the scenarios the cut loses 80 t x 500 (all the CVaR)
        assert res.summary["eev"] == pytest.approx(5_000 + 880 + 0.2 * 80_400 + 0.2 * 40_000)
        assert res.summary["vss"] == pytest.approx(3_680)
        # wait and see: the cut alone stocks 100 t: 880 + 0.2 x 27,000
        assert res.summary["evpi"] == pytest.approx(objective - 6_280)


def test_var_and_cvar_of_a_discrete_distribution():
    losses, probs = np.array([0.0, 10.0, 100.0]), np.array([0.5, 0.3, 0.2])
    var, cvar, w = var_cvar(losses, probs, 0.9)
    assert (var, cvar) == (pytest.approx(100), pytest.approx(100))
    assert w == pytest.approx([0, 0, 1])
    # the worst 30 %: 20 % at 100 and 10 % at 10
    var, cvar, w = var_cvar(losses, probs, 0.7)
    assert var == pytest.approx(10)
    assert cvar == pytest.approx((0.2 * 100 + 0.1 * 10) / 0.3)
    assert w == pytest.approx([0, 1 / 3, 2 / 3])


def test_one_scenario_equals_the_ordinary_solve_with_its_expansions(tmp_path):
    folder = one_mine_one_market(
        tmp_path / "i", [2024, 2025], {2024: 100, 2025: 150}, storage_cost=""
    )
    pd.DataFrame(
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
        ]
    ).to_csv(folder / "expansions.csv", index=False)
    inst = load(folder)
    res = plan(inst, ["none"], stockpiles=[])
    assert res.objective == pytest.approx(inst.solve().objective)
    assert res.objective == pytest.approx(250 * 11 + 50 * 3)
    row = res.plan.set_index("id").loc["mine_x"]
    assert row["kind"] == "expansion" and row["site"] == "mine"
    assert row["amount"] == pytest.approx(50) and row["from_period"] == 2025
    assert row["cost"] == pytest.approx(150)
    # one scenario: nothing to hedge and nothing to learn
    assert res.summary["vss"] == pytest.approx(0, abs=1e-6)
    assert res.summary["evpi"] == pytest.approx(0, abs=1e-6)


def test_one_scenario_of_tiny_equals_its_solve():
    inst = load(TINY)
    res = plan(inst, ["south-mine-halved"], stockpiles=[], value_of_information=False)
    assert res.objective == pytest.approx(inst.with_scenario("south-mine-halved").solve().objective)
    assert "vss" not in res.summary


def test_shared_expansion_is_built_for_the_scenario_that_needs_it(tmp_path):
    # demand 150 in 2025 with p = 0.5, 100 with 0.5; a project (in 2025, 3 USD/t) is worth
    # 0.5 x (1,000 - 11) per tonne of the 50: built 50, for both scenarios
    folder = one_mine_one_market(
        tmp_path / "i", [2024, 2025], {2024: 100, 2025: 100}, storage_cost=""
    )
    pd.DataFrame(
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
        ]
    ).to_csv(folder / "expansions.csv", index=False)
    grow = scenario_file(
        tmp_path,
        "changes:\n  - table: demand\n    where: {period: 2025}\n    set: {quantity: 150}\n",
        "grow",
    )
    res = plan(load(folder), [grow, "none"], [0.5, 0.5], stockpiles=[])
    assert res.plan.set_index("id").loc["mine_x", "amount"] == pytest.approx(50)
    # 150 + 0.5 x 250 x 11 + 0.5 x 200 x 11
    assert res.objective == pytest.approx(150 + 0.5 * 2_750 + 0.5 * 2_200)
    # wait and see builds only for growth: EVPI = 0.5 x 150
    assert res.summary["evpi"] == pytest.approx(75)


def test_default_candidates_are_dy_tb_oxide_and_metal_nodes_outside_china(tmp_path):
    from tests.builders import commodity, recipe_row, site

    folder = write_instance(
        tmp_path / "i",
        {},
        commodities=[
            commodity("Dy_oxide", "separation", element="Dy", value=200, source="test"),
            commodity("Tb_metal", "metal", element="Tb", value=""),
            commodity("NdPr_oxide", "separation", element="NdPr", value=50, source="test"),
        ],
        sites=[site("sep_cn", "CN", "separation"), site("jp", "JP", "market", company="")],
        recipes=[
            recipe_row("sep", "Dy_oxide"),
            recipe_row("sep", "NdPr_oxide"),
            recipe_row("sep", "Tb_metal"),
        ],
        processes=[
            {
                "id": "sep",
                "site": "sep_cn",
                "recipe": "sep",
                "capacity": 10,
                "cost": 1,
                "source": "test",
            }
        ],
        links=[
            {
                "id": f"l_{c}",
                "from_site": "sep_cn",
                "to_site": "jp",
                "commodity": c,
                "capacity": "",
                "cost": 1,
                "source": "test",
            }
            for c in ("Dy_oxide", "Tb_metal", "NdPr_oxide")
        ],
        demand=[
            {
                "market": "jp",
                "commodity": c,
                "period": 2024,
                "quantity": 5,
                "shortage_penalty": "",
                "source": "test",
            }
            for c in ("Dy_oxide", "Tb_metal", "NdPr_oxide")
        ],
    )
    inst = load(folder)
    c = stock_candidates(inst)
    # not China, not NdPr, and Tb_metal has no value to price its stock
    assert c[["site", "commodity"]].values.tolist() == [["jp", "Dy_oxide"]]
    # 1 % a month (defaults.carrying_rate) of the value for the 12 months of 2024
    assert c["holding_cost"].iloc[0] == pytest.approx(
        200 * inst.manifest.defaults.carrying_rate * 12
    )
    assert c["release_cost"].iloc[0] == pytest.approx(200)
    both = stock_candidates(inst, holding_cost=5, release_cost=7)
    assert both[["site", "commodity"]].values.tolist() == [["jp", "Dy_oxide"], ["jp", "Tb_metal"]]
    with pytest.raises(InputError, match="no node of commodity"):
        stock_candidates(inst, [("sep_cn", "nope")])


@pytest.mark.parametrize(
    ("probs", "alpha", "lam", "message"),
    [
        ([0.5, 0.6], 0.9, 0, "sum to 1.1, not 1"),
        ([1.0], 0.9, 0, "1 probabilities for 2 scenarios"),
        ([1.2, -0.2], 0.9, 0, "must be >= 0"),
        ([0.5, 0.5], 1.0, 0, "1 is not between 0 and 1"),
        ([0.5, 0.5], 0.0, 0, "0 is not between 0 and 1"),
        ([0.5, 0.5], 0.9, -1, "-1 is not >= 0"),
    ],
)
def test_bad_probabilities_alpha_and_risk_weight_are_input_errors(probs, alpha, lam, message):
    inst = load(TINY)
    with pytest.raises(InputError, match=message):
        plan(inst, ["none", "south-mine-halved"], probs, alpha=alpha, risk_weight=lam)


def test_cli_writes_the_plan_and_exits_2_on_bad_input(tmp_path):
    inst_dir = one_mine_one_market(tmp_path / "i", [2024], {2024: 100}, storage_cost="")
    cut = scenario_file(tmp_path, CUT, "cut")
    out = tmp_path / "out"
    args = ["plan", str(inst_dir), "-s", cut, "-s", "none", "--prob", "0.2", "--prob", "0.8"]
    r = runner.invoke(
        app,
        [
            *args,
            "--stock",
            "mkt:ore",
            "--stock-cost",
            "150",
            "--release-cost",
            "20",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    p = pd.read_csv(out / "plan.csv")
    assert p[["kind", "id", "amount", "cost"]].values.tolist() == [
        ["stockpile", "mkt:ore", 100.0, 15_000.0]
    ]
    sc = pd.read_csv(out / "scenarios.csv")
    assert sc["scenario"].tolist() == ["cut", "none"]
    assert sc["objective"].tolist() == pytest.approx([17_000, 16_100])
    s = json.loads((out / "summary.json").read_text())
    assert s["objective"] == pytest.approx(16_280)
    assert s["vss"] == pytest.approx(3_680) and s["evpi"] == pytest.approx(12_000)
    assert "value of the stochastic solution 3.7 k USD" in r.output
    bad = [
        (["--prob", "0.5"], "--prob: 1 probabilities for 2 scenarios"),
        (["--alpha", "1.5"], "--alpha: 1.5 is not between 0 and 1"),
        (["--stock", "mkt"], "expected SITE:COMMODITY"),
    ]
    for extra, message in bad:
        r = runner.invoke(app, ["plan", str(inst_dir), "-s", cut, "-s", "none", *extra])
        assert r.exit_code == 2, r.output
        assert message in r.output
    r = runner.invoke(app, ["plan", str(inst_dir), "-s", "no-such-scenario"])
    assert r.exit_code == 2 and "no scenario 'no-such-scenario'" in r.output
    r = runner.invoke(app, ["plan", str(inst_dir)])
    assert r.exit_code == 2 and "give the plan's scenarios" in r.output
