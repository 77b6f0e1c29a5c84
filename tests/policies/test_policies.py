"""Each policy type binds exactly, changes the objective as computed by hand, and is a
no-op when absent.  Hand computations in docs/policies.md."""

from __future__ import annotations

import pytest

from optimizer import load
from tests.builders import mines_to_market
from tests.builders import scenario_file as _scenario
from tests.conftest import TINY


@pytest.fixture(scope="module")
def base():
    return load(TINY).solve()


# -- export controls on tiny ---------------------------------------------------------


def test_export_ban_stops_flows_and_shorts_magnets(tmp_path, base):
    sc = _scenario(
        tmp_path,
        "policies:\n  - type: export_control\n    exporter: CN\n    commodities: magnet_oxides\n    max_share: 0\n",
    )
    res = load(TINY, [sc]).solve()
    cn_out = res.flows.loc[
        (res.flows["source_country"] == "CN")
        & (res.flows["target_country"] != "CN")
        & res.flows["commodity"].isin(["NdPr_oxide", "Dy_oxide"])
    ]
    assert cn_out["quantity"].sum() == 0
    # no oxides leave China, so no magnets (300 t x 100,000 of penalty); the 50 t of La/Ce
    # still come from 62.5 t of northern ore (x 3,100), its 12.5 t of NdPr disposed of
    # (x 20,000), shipped to the EU (50 x 100)
    assert res.objective == pytest.approx(30_000_000 + 62.5 * 3100 + 12.5 * 20_000 + 50 * 100)
    pol = res.policies
    assert set(pol["commodity"]) == {"NdPr_oxide", "Dy_oxide"}
    assert (pol["limit"] == 0).all() and (pol["used"].abs() < 1e-9).all()


def test_export_quota_binds_exactly(tmp_path):
    sc = _scenario(
        tmp_path,
        "policies:\n  - type: export_control\n    id: dy-quota\n    exporter: CN\n    commodities: [Dy_oxide]\n    quota: 5\n",
    )
    res = load(TINY, [sc]).solve()
    row = res.policies.set_index("policy").loc["dy-quota"]
    assert row["used"] == pytest.approx(5.0)
    assert bool(row["binding"])
    # 5 t of Dy reach the magnet plant: the same optimum as halving the southern mine
    # (docs/tiny.md): 7,559,000 USD, 50 t short in the US
    assert res.objective == pytest.approx(7_559_000)
    # one more tonne of licence lets 10 t more heavy ore through: 10 x (447,620 + 5,000) - 10 x 5,000
    assert row["shadow_price"] == pytest.approx(4_476_200)


def test_licensing_friction_is_a_share_of_the_baseline(tmp_path, base):
    sc = _scenario(
        tmp_path,
        "policies:\n  - type: export_control\n    exporter: CN\n    commodities: [Dy_oxide]\n    destinations: [JP]\n    max_share: 0.5\n",
    )
    res = load(TINY, [sc]).solve()
    assert res.summary["baseline_objective"] == pytest.approx(base.objective)
    row = res.policies.iloc[0]
    assert row["limit"] == pytest.approx(0.5 * 10)  # baseline ships 10 t of Dy to Japan
    assert row["used"] == pytest.approx(5.0)
    assert res.objective == pytest.approx(7_559_000)


def test_export_control_destinations_all_except(tmp_path, base):
    # Japan exempted: nothing changes
    sc = _scenario(
        tmp_path,
        "policies:\n  - type: export_control\n    exporter: CN\n    destinations: {all_except: [JP]}\n    commodities: magnet_oxides\n    max_share: 0\n",
    )
    res = load(TINY, [sc]).solve()
    assert res.objective == pytest.approx(base.objective)
    assert res.policies.empty


def test_policy_touching_nothing_is_a_no_op(tmp_path, base):
    sc = _scenario(
        tmp_path, "policies:\n  - type: export_control\n    exporter: AU\n    max_share: 0\n"
    )
    res = load(TINY, [sc]).solve()
    assert res.objective == pytest.approx(base.objective)
    assert res.summary["model_size"] == base.summary["model_size"]
    assert res.policies.empty and base.policies.empty


# -- tariffs on tiny -----------------------------------------------------------------


def test_tariff_per_tonne(tmp_path, base):
    sc = _scenario(
        tmp_path,
        "policies:\n  - type: tariff\n    importer: JP\n    exporter: CN\n    commodities: magnet_oxides\n    per_tonne: 1000\n",
    )
    res = load(TINY, [sc]).solve()
    # 90 t NdPr + 10 t Dy cross the tariff; nothing else changes
    assert res.summary["cost_breakdown"]["tariffs"] == pytest.approx(100 * 1000)
    assert res.objective == pytest.approx(base.objective + 100_000)
    assert res.flows.set_index(["link", "commodity"])["quantity"].to_dict() == pytest.approx(
        base.flows.set_index(["link", "commodity"])["quantity"].to_dict()
    )


def test_tariff_ad_valorem_on_baseline_origin_price(tmp_path, base):
    sc = _scenario(
        tmp_path,
        "policies:\n  - type: tariff\n    importer: JP\n    commodities: [Dy_oxide]\n    ad_valorem: 0.1\n",
    )
    res = load(TINY, [sc]).solve()
    # value basis: Dy marginal cost at the separation plant in the baseline, 74,950 USD/t
    assert res.summary["cost_breakdown"]["tariffs"] == pytest.approx(0.1 * 74_950 * 10)
    assert res.objective == pytest.approx(2_925_000 + 74_950)


# -- share rules on a purpose-built instance -------------------------------------------


def _three_mines(tmp_path):
    mines = [("cn", "CN", 5), ("au", "AU", 10), ("de", "DE", 20)]
    return mines_to_market(tmp_path / "three", mines, manifest={"regions": {"EU": ["DE", "FR"]}})


def test_diversification_cap_binds_at_share(tmp_path):
    folder = _three_mines(tmp_path)
    assert load(folder).solve().objective == pytest.approx(100 * 6)  # all from CN
    sc = _scenario(
        tmp_path,
        "policies:\n  - type: diversification_cap\n    importer: EU\n    stage: mine\n    max_share: 0.65\n",
    )
    res = load(folder, [sc]).solve()
    by = res.flows.groupby("source_country")["quantity"].sum()
    assert by["CN"] == pytest.approx(65) and by["AU"] == pytest.approx(35)
    assert by["CN"] / by.sum() == pytest.approx(0.65, abs=1e-6)
    assert res.objective == pytest.approx(65 * 6 + 35 * 11)
    row = res.policies.set_index("country").loc["CN"]
    assert row["shadow_price"] == pytest.approx(5.0)  # λ(0.35 + 0.65) = 11 - 6


def test_domestic_share_binds_at_share(tmp_path):
    folder = _three_mines(tmp_path)
    sc = _scenario(
        tmp_path,
        "policies:\n  - type: domestic_share\n    importer: EU\n    stage: mine\n    min_share: 0.4\n",
    )
    res = load(folder, [sc]).solve()
    by = res.flows.groupby("source_country")["quantity"].sum()
    assert by["DE"] == pytest.approx(40) and by["CN"] == pytest.approx(60)
    assert by["DE"] / by.sum() == pytest.approx(0.4, abs=1e-6)
    assert res.objective == pytest.approx(40 * 21 + 60 * 6)
    # relaxing the floor by one unit of (1 - s) D - s M saves (21 - 6) / (0.6 + 0.4)
    assert res.policies.iloc[0]["shadow_price"] == pytest.approx(15.0)


def test_stacked_policies_both_hold(tmp_path):
    folder = _three_mines(tmp_path)
    a = _scenario(
        tmp_path,
        "policies:\n  - type: diversification_cap\n    importer: EU\n    stage: mine\n    max_share: 0.5\n",
        "a",
    )
    b = _scenario(
        tmp_path,
        "policies:\n  - type: domestic_share\n    importer: EU\n    stage: mine\n    min_share: 0.2\n",
        "b",
    )
    res = load(folder, [a, b]).solve()
    by = res.flows.groupby("source_country")["quantity"].sum()
    # CN <= 50% of 100, DE >= 20%: CN 50, DE 20, AU 30
    assert by.to_dict() == pytest.approx({"CN": 50, "DE": 20, "AU": 30})
    assert res.objective == pytest.approx(50 * 6 + 20 * 21 + 30 * 11)


# -- stockpiles ------------------------------------------------------------------------


def test_stockpile_in_japan_buys_bulk_dy_magnets(tmp_path, base):
    sc = _scenario(
        tmp_path,
        "sources: [illustrative]\npolicies:\n  - type: stockpile\n    region: JP\n    commodity: Dy_oxide\n    initial: 5\n",
    )
    inst = load(TINY, [sc])
    assert "stockpile.JP.Dy_oxide" in set(inst.sites["id"])
    res = inst.solve()
    # 15 t of Dy: 0.06 x + 0.02 (300 - x) = 15 -> x = 225 bulk-Dy magnets instead of 100,
    # each saving 3,000 USD over GBD: 2,925,000 - 125 x 3,000
    act = res.production.set_index("recipe")["activity"]
    assert act["magnet_bulk_dy"] == pytest.approx(225)
    assert res.objective == pytest.approx(2_925_000 - 125 * 3000)
    assert res.flows.loc[
        res.flows["source"] == "stockpile.JP.Dy_oxide", "quantity"
    ].sum() == pytest.approx(5)


def test_stockpile_larger_than_needed_stays_in_stock(tmp_path):
    sc = _scenario(
        tmp_path,
        "sources: [illustrative]\npolicies:\n  - type: stockpile\n    region: JP\n    commodity: Dy_oxide\n    initial: 100\n    release_cost: 10\n",
    )
    res = load(TINY, [sc]).solve()
    # 300 bulk-Dy magnets use 18 t of Dy, all from the stockpile at 10 USD/t; the southern
    # ore is then not worth mining (its Dy would have to be disposed of): all 90 t of NdPr
    # come from 450 t of northern ore, 82 t stay in the stockpile
    assert res.flows.loc[
        res.flows["source"] == "stockpile.JP.Dy_oxide", "quantity"
    ].sum() == pytest.approx(18)
    assert res.inventory["quantity"].sum() == pytest.approx(82)
    assert res.production.set_index("recipe")["activity"].get("mine_heavy", 0) == pytest.approx(0)
    expected = (
        450 * 3100 + 50 * 100 + 310 * 500 + 90 * 50 + 18 * 10 + 300 * 1000 + 200 * 300 + 100 * 500
    )
    assert res.objective == pytest.approx(expected)


def test_stockpile_needs_a_source_and_a_real_site(tmp_path):
    from optimizer.errors import InputError

    sc = _scenario(
        tmp_path,
        "policies:\n  - type: stockpile\n    region: JP\n    commodity: Dy_oxide\n    initial: 5\n",
    )
    with pytest.raises(InputError, match="list the scenario's `sources:`"):
        load(TINY, [sc])
    sc = _scenario(
        tmp_path,
        "sources: [illustrative]\npolicies:\n  - type: stockpile\n    region: JP\n    commodity: Dy_oxide\n    initial: 5\n    site: sep\n",
        "q",
    )
    with pytest.raises(InputError, match="site 'sep' is not in JP"):
        load(TINY, [sc])


# -- licences per destination: each destination gets its share of its own exports ---------


def _licensed(tmp_path, body: str):
    from tests.builders import scenario_file
    from tests.model.test_shortrun import contract_chain

    folder = contract_chain(
        tmp_path / "k", 0.0
    )  # CN magnets: EU 100 t (1,000/t), US 50 t (2,000/t)
    res = load(folder, [scenario_file(tmp_path, body)]).solve()
    return res.shortages.set_index("market")["served"], res


LIC = "policies:\n  - type: export_control\n    exporter: CN\n    commodities: magnet\n"


def test_one_global_share_lets_the_lp_choose_who_loses(tmp_path):
    """25 % of all 150 t = 37.5 t, and the LP gives it all to the dearer US demand."""
    served, _ = _licensed(tmp_path, LIC + "    max_share: 0.25\n")
    assert served["us"] == pytest.approx(37.5) and served["eu"] == pytest.approx(0)


def test_split_by_destination_gives_each_its_own_share(tmp_path):
    served, res = _licensed(tmp_path, LIC + "    max_share: 0.25\n    split: destination\n")
    assert served["eu"] == pytest.approx(25) and served["us"] == pytest.approx(12.5)
    rows = res.policies.set_index("country")
    assert rows.loc["DE", "limit"] == pytest.approx(25) and rows.loc["US", "limit"] == 12.5


def test_shares_by_destination_and_end_user(tmp_path):
    """A mapping: the US (country) at 20 %, the EU market (a site id) at 60 %."""
    served, _ = _licensed(tmp_path, LIC + "    max_share: {default: 0.1, US: 0.2, eu: 0.6}\n")
    assert served["eu"] == pytest.approx(60) and served["us"] == pytest.approx(10)
    served, _ = _licensed(tmp_path, LIC + "    max_share: {default: 0.5, US: 0}\n")
    assert served["eu"] == pytest.approx(50) and served["us"] == 0


def test_default_is_each_other_countrys_own_licence(tmp_path):
    """``default`` is not one pool: EU (DE) and US each get 25 % of their own exports
    (25 t and 12.5 t), not 37.5 t that the LP would give to the dearer US demand."""
    served, res = _licensed(tmp_path, LIC + "    max_share: {default: 0.25, JP: 0.5}\n")
    assert served["eu"] == pytest.approx(25) and served["us"] == pytest.approx(12.5)
    rows = res.policies.set_index("country")
    assert rows.loc["DE", "limit"] == pytest.approx(25) and rows.loc["US", "limit"] == 12.5
