"""world-2024 in the short run: the data of short_run.csv, demand_curves.csv and
commodities.value, and the direction of the answers (docs/world-2024.md sections 5 and 6).

Measured on HiGHS 1.16 (simplex).  The direction tests assert what the short run does that
the long run does not: under China's April-2025 licensing (25% of normal exports) the chain
cannot re-route within a quarter, so EV traction, wind and industrial end uses outside China
go short and Dy/Tb outside China are priced far above China's; in the long run Chinese-made
components replace the magnets that no longer ship.  Tolerances allow small data revisions,
not a change of direction.
"""

from __future__ import annotations

import pytest

from optimizer import load
from optimizer.results.invariants import check_result
from tests.conftest import INSTANCES

WORLD = INSTANCES / "world-2024"
STAGES = ["mine", "separation", "metal", "magnet", "component", "recycling"]
APRIL = "cn-export-controls-2025-04"
STOP = "great-power-stop"
EX_CHINA = ["mkt_eu", "mkt_us", "mkt_jp"]

_SOLVED: dict[tuple, tuple] = {}


def solved(scenario: str | None, horizon: str):
    key = (scenario, horizon)
    if key not in _SOLVED:
        inst = load(WORLD, [scenario] if scenario else []).with_horizon(horizon)
        res = inst.solve()
        assert res.status == "optimal"
        assert check_result(inst, res) == []
        _SOLVED[key] = (inst, res)
    return _SOLVED[key]


def unmet(res, market: str, commodity: str) -> float:
    s = res.shortages
    return float(s.loc[(s["market"] == market) & (s["commodity"] == commodity), "unmet"].sum())


def price(res, commodity: str, china: bool) -> float:
    """Median marginal cost (USD/t) of a commodity at Chinese or at non-Chinese sites."""
    p = res.prices.loc[res.prices["commodity"] == commodity]
    p = p.loc[(p["country"] == "CN") == china]
    return float(p["marginal_cost"].median())


# ------------------------------------------------------------------ the data
def test_short_run_table_has_every_stage_and_cites_its_source():
    inst = load(WORLD)
    sr = inst.tables["short_run"].set_index("stage")
    assert sorted(sr.index) == sorted(STAGES)
    assert set(sr["source"]) <= set(inst.sources["id"])
    # mines and separators are quota- or capacity-bound (+3%), plants ramp ~10% a quarter
    assert sr.loc["mine", "ramp"] < sr.loc["magnet", "ramp"]
    # contracts only where there is evidence of them (magnets, components), flagged weak
    assert sr["contract"].dropna().index.tolist() == ["magnet", "component"]


def test_stock_releases_are_free_and_only_lynas_japan_lanes_are_qualified():
    inst = load(WORLD)
    pr = inst.processes
    free = pr.loc[pr["short_run"] == "free", "recipe"]
    assert len(free) == 4 and free.str.startswith("release_").all()
    links = inst.links
    qualified = links.loc[links["qualified"] == "yes"]
    assert set(qualified["from_site"]) == {"my_lamp"}
    assert set(qualified["to_site"]) == {"jp_metal", "mkt_jp"}


def test_every_demanded_commodity_has_a_curve_and_a_value():
    inst = load(WORLD)
    demanded = set(inst.demand["commodity"])
    curves = inst.tables["demand_curves"]
    assert demanded <= set(curves["commodity"])
    assert set(curves["source"]) <= set(inst.sources["id"])
    value = inst.commodities.set_index("id")["value"]
    assert value.reindex(sorted(demanded)).notna().all()
    # caps above reference prices; components' end product worth more than the component
    assert (curves["max_price"] > curves["price"]).all()
    comp = curves.loc[curves["commodity"].isin(inst.commodities_of("components"))]
    assert (comp["max_price"] >= 1.4 * comp["price"]).all()


def test_estimates_of_the_new_tables_are_labelled():
    inst = load(WORLD)
    s = inst.sources.set_index("id")
    for sid in ("est-short-run", "est-demand-curves", "est-value-at-risk", "contracts-2024"):
        assert "[E]" in s.loc[sid, "note"], sid


# ------------------------------------------------------------------ the baseline
def test_the_short_run_baseline_is_the_reference_plan():
    _, short = solved(None, "short")
    _, long = solved(None, "long")
    assert short.total_unmet == pytest.approx(0, abs=1e-6)
    assert short.objective == pytest.approx(long.objective, rel=1e-9)


def test_shortages_carry_their_value_at_risk():
    inst, res = solved(APRIL, "short")
    s = res.shortages.loc[res.shortages["unmet"] > 1e-6]
    value = inst.commodities.set_index("id")["value"]
    assert s["unmet_value"].to_numpy() == pytest.approx(
        (s["unmet"] * s["commodity"].map(value)).to_numpy(), rel=1e-9
    )


# ------------------------------------------------------------------ April controls, short run
@pytest.mark.parametrize("market", EX_CHINA)
def test_april_short_run_ev_traction_goes_short_outside_china(market):
    # EU 4.1 kt (35%), US 3.7 kt (53%), Japan 3.9 kt (100%) of EV traction magnet content
    _, short = solved(APRIL, "short")
    _, long = solved(APRIL, "long")
    assert unmet(short, market, "ev_traction") > 1_000
    assert unmet(short, market, "ev_traction") > 3 * unmet(long, market, "ev_traction")


def test_april_short_run_wind_and_industrial_go_short_outside_china():
    # EU wind 2.7 kt (all of it), EU / US / Japan industrial 3.6 / 1.3 / 2.6 kt
    _, short = solved(APRIL, "short")
    _, long = solved(APRIL, "long")
    assert unmet(short, "mkt_eu", "wind_gen") > 2_000
    assert unmet(long, "mkt_eu", "wind_gen") == pytest.approx(0, abs=1e-6)
    for market in EX_CHINA:
        assert unmet(short, market, "industrial") > 1_000


def test_april_short_run_hits_outside_china_far_harder_than_china():
    # outside China 56 kt (~$1.06 tn a year at the short-run rate), China 5 kt ($16 bn)
    _, res = solved(APRIL, "short")
    s = res.shortages
    ex = s.loc[s["country"] != "CN"]
    cn = s.loc[s["country"] == "CN"]
    assert ex["unmet"].sum() == pytest.approx(56_300, rel=0.05)
    assert ex["unmet"].sum() > 5 * cn["unmet"].sum()
    assert ex["unmet_value"].sum() > 20 * cn["unmet_value"].sum()


def test_april_short_run_dy_tb_priced_far_above_china_outside_it():
    # Dy oxide: China $91/kg (below its $226 in 2024: exports are capped), outside China the
    # $6,780/kg cap; Tb: China in surplus (disposal value), outside China the $26,700/kg cap
    _, res = solved(APRIL, "short")
    dy_cn, dy_ex = price(res, "Dy_oxide", True), price(res, "Dy_oxide", False)
    assert dy_cn > 0
    assert dy_cn < 226_000
    assert dy_ex > 20 * dy_cn
    assert price(res, "Tb_oxide", False) > 20 * 891_000
    # China's own Tb price falls (exports are blocked) but does not collapse: a diffusion
    # line can diffuse Tb instead of Dy within the quarter (the ramp holds a plant, not a
    # recipe), so Chinese magnet makers take up the Tb that cannot leave
    tb_cn = price(res, "Tb_oxide", True)
    assert 0.3 * 891_000 < tb_cn < 891_000
    assert price(res, "Tb_oxide", False) > 20 * tb_cn
    assert price(res, "NdPr_oxide", True) > 0


# ------------------------------------------------------------------ great-power stop
def test_great_power_stop_short_run_is_worse_than_april():
    _, april = solved(APRIL, "short")
    _, stop = solved(STOP, "short")
    for market in EX_CHINA:
        assert unmet(stop, market, "ev_traction") >= unmet(april, market, "ev_traction") - 1e-6
    s, a = stop.shortages, april.shortages
    assert s.loc[s["country"] != "CN", "unmet"].sum() > a.loc[a["country"] != "CN", "unmet"].sum()


# ------------------------------------------------------------------ the long run re-routes
@pytest.mark.parametrize("scenario", [APRIL, STOP])
def test_long_run_replaces_magnets_by_chinese_components(scenario):
    # China's component makers ship EV traction to the EU instead of magnets: CN -> DE
    # ev_traction ~3 kt in the short run, ~10-11 kt in the long run
    def cn_to_de_ev(res):
        f = res.flows
        m = (
            (f["source_country"] == "CN")
            & (f["target_country"] == "DE")
            & (f["commodity"] == "ev_traction")
        )
        return float(f.loc[m, "quantity"].sum())

    _, short = solved(scenario, "short")
    _, long = solved(scenario, "long")
    assert cn_to_de_ev(long) > 2 * cn_to_de_ev(short)
    assert long.total_unmet < 0.6 * short.total_unmet
    assert long.objective < short.objective
