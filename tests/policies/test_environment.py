"""Environmental caps (emissions.csv factors × activity) and production targets bind exactly,
change the objective as computed by hand, and are no-ops when absent.  Hand computations in
docs/policies.md.

The instance: two mines make ore for 100 t of EU demand (penalty 1,000 USD/t), lanes
1 USD/t.  ``cn`` (CN) costs 5 USD/t and leaves 2 t of tailings per tonne (its own
emissions row); ``au`` (AU) costs 10 USD/t and leaves 0.5 t (the recipe's blank-process
row).  Without policies all 100 t come from China: 600 USD, 200 t of tailings there.
"""

from __future__ import annotations

import pytest

from optimizer import load
from optimizer.errors import InputError
from tests.builders import FACTORS, cap, target, two_mines
from tests.builders import scenario_file as scenario


def mined(res) -> dict[str, float]:
    return res.production.set_index("process")["activity"].to_dict()


@pytest.fixture
def folder(tmp_path):
    return two_mines(tmp_path / "two")


# -- no-op when absent -----------------------------------------------------------------


def test_emission_factors_alone_change_nothing(tmp_path, folder):
    plain = load(two_mines(tmp_path / "plain", emissions=None)).solve()
    res = load(folder).solve()
    assert res.objective == plain.objective == pytest.approx(100 * 6)
    assert res.summary["model_size"] == plain.summary["model_size"]
    assert res.policies.empty


def test_cap_that_does_not_bind_changes_nothing(tmp_path, folder):
    res = load(folder, [scenario(tmp_path, "policies:\n" + cap(max=500))]).solve()
    assert res.objective == pytest.approx(600)
    row = res.policies.iloc[0]
    assert row["used"] == pytest.approx(200)  # 100 t at 2 t of tailings each
    assert not bool(row["binding"]) and row["shadow_price"] == 0


# -- environmental caps ----------------------------------------------------------------


def test_environmental_cap_binds_exactly(tmp_path, folder):
    res = load(folder, [scenario(tmp_path, "policies:\n" + cap(max=100))]).solve()
    # 2 t per t of Chinese ore: at most 50 t from cn, the other 50 t from au
    assert mined(res) == pytest.approx({"cn": 50, "au": 50})
    assert res.objective == pytest.approx(50 * 6 + 50 * 11)  # 850 = 600 + 250
    row = res.policies.set_index("policy").loc["cn-eco"]
    assert row["type"] == "environmental_cap"
    assert row["constraint"] == "environmental_cap[cn-eco,tailings,2024]"
    assert row["used"] == pytest.approx(100, abs=1e-6)
    # one more t of tailings lets 0.5 t more come from cn instead of au: 0.5 x (11 - 6)
    assert row["shadow_price"] == pytest.approx(2.5)


def test_cap_on_sites_uses_process_and_recipe_factors(tmp_path, folder):
    res = load(folder, [scenario(tmp_path, "policies:\n" + cap(where="sites: [cn, au]"))]).solve()
    # 2 x + 0.5 (100 - x) <= 100  ->  x = 100/3 t from cn
    x = 100 / 3
    assert mined(res) == pytest.approx({"cn": x, "au": 100 - x})
    assert res.objective == pytest.approx(6 * x + 11 * (100 - x))  # 933.33
    row = res.policies.iloc[0]
    assert row["used"] == pytest.approx(100, abs=1e-6)
    # d cost / d cap = -5 / 1.5
    assert row["shadow_price"] == pytest.approx(5 / 1.5)


def test_scenario_changes_edit_emission_factors(tmp_path, folder):
    body = (
        "changes:\n  - table: emissions\n    where: {process: cn}\n    set: {factor: 1}\n"
        "policies:\n" + cap(max=80)
    )
    res = load(folder, [scenario(tmp_path, body)]).solve()
    # a cleaner cn (1 t/t): 80 t from cn, 20 t from au; each extra t of tailings saves 5
    assert mined(res) == pytest.approx({"cn": 80, "au": 20})
    assert res.objective == pytest.approx(80 * 6 + 20 * 11)
    assert res.policies.iloc[0]["shadow_price"] == pytest.approx(5.0)


# -- production targets ----------------------------------------------------------------


def test_production_target_binds_exactly(tmp_path, folder):
    res = load(
        folder, [scenario(tmp_path, "policies:\n" + target("au-target", "sites: [au]", 30))]
    ).solve()
    assert mined(res) == pytest.approx({"cn": 70, "au": 30})
    assert res.objective == pytest.approx(70 * 6 + 30 * 11)  # 750 = 600 + 150
    row = res.policies.set_index("policy").loc["au-target"]
    assert row["sense"] == ">=" and row["commodity"] == "ore"
    assert row["used"] == pytest.approx(30, abs=1e-6)
    assert row["shadow_price"] == pytest.approx(5.0)  # each t less of target saves 11 - 6


def test_target_and_cap_that_fit_together(tmp_path, folder):
    body = "policies:\n" + cap(max=100) + target(min=40)
    res = load(folder, [scenario(tmp_path, body)]).solve()
    assert res.objective == pytest.approx(850)  # the cap (cn <= 50) binds, the target does not
    pol = res.policies.set_index("policy")
    assert pol.loc["cn-target", "used"] == pytest.approx(50)
    assert not bool(pol.loc["cn-target", "binding"])


# -- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "  - type: environmental_cap\n    pollutant: smoke\n    region: CN\n    max: 1\n",
            "p.yaml:5:pollutant: 'smoke' has no factor in emissions.csv (known: tailings)",
        ),
        (
            "  - type: environmental_cap\n    pollutant: tailings\n    max: 1\n",
            "give exactly one of region or sites",
        ),
        (
            "  - type: environmental_cap\n    pollutant: tailings\n    sites: [nowhere]\n    max: 1\n",
            "p.yaml:6:sites: 'nowhere' is not a site id",
        ),
        (
            "  - type: production_target\n    commodities: ore\n    region: FR\n    min: 1\n",
            "p.yaml:5:commodities: no process in FR makes 'ore'",
        ),
        (
            "  - type: production_target\n    commodities: ore\n    region: CN\n    min: -1\n",
            "min: Input should be greater than or equal to 0",
        ),
    ],
    ids=["unknown-pollutant", "no-place", "unknown-site", "nothing-to-make", "negative-min"],
)
def test_bad_policy_is_located(tmp_path, folder, body, expected):
    with pytest.raises(InputError) as e:
        load(folder, [scenario(tmp_path, "policies:\n" + body)])
    assert expected in str(e.value)


def test_bad_emissions_rows_are_located(tmp_path):
    folder = two_mines(
        tmp_path / "bad",
        emissions=[
            *FACTORS,
            {"recipe": "nope", "process": "", "pollutant": "tailings", "factor": 1, "unit": "t"},
            {"recipe": "dig", "process": "zz", "pollutant": "co2e", "factor": 1, "unit": "t"},
            {"recipe": "dig", "process": "", "pollutant": "co2e", "factor": 1, "unit": "kg"},
        ],
    )
    with pytest.raises(InputError) as e:
        load(folder)
    text = str(e.value)
    assert "emissions.csv:4:recipe: 'nope' is not a known recipe (recipes.csv)" in text
    assert "emissions.csv:5:process: 'zz' is not a known process id (processes.csv)" in text
    assert "emissions.csv:6:unit: pollutant 'co2e' has several units ('t', 'kg')" in text


def test_emissions_row_for_a_process_that_does_not_run_the_recipe(tmp_path):
    folder = two_mines(tmp_path / "bad")
    rec = folder / "recipes.csv"
    rec.write_text(rec.read_text() + "wash,ore,output,1,test\n")
    em = folder / "emissions.csv"
    em.write_text(em.read_text() + "wash,cn,tailings,1,t,test\n")
    with pytest.raises(InputError, match="emissions.csv:4:process: process 'cn' does not run"):
        load(folder)
