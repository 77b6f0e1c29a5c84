"""The short run (horizon: short) against the long run, hand-checked on small chains.

The chain: ore mines in China (10 USD/t) and Australia (20 USD/t, 200 t), magnet
makers in China (5 USD/t) and Japan (8 USD/t, 300 t), markets in the EU (100 t of
magnets, shortage penalty 1,000 USD/t) and Japan (50 t, 2,000 USD/t).  Lanes cost 1 USD/t
for ore, 2 USD/t for Chinese and 3 USD/t for Japanese magnets.

Reference plan (long run, undisrupted): the EU is served from China (ore 10 + 1,
magnets 5 + 2 = 18 USD/t, against 22 via Chinese ore in Japan and 32 via Australia);
there is no CN→JP ore lane, so Japan is served from Australian ore made into magnets in
Japan (20 + 1 + 8 + 3 = 32 USD/t).
Reference: 1,800 + 1,600 = 3,400 USD; mag_jp runs 50 t, the AU mine 50 t.

Disruption: China bans magnet exports (max_share 0).  Long run: the Japanese plant
takes Australian ore for the EU too (32 USD/t): 100 × 32 + 50 × 32 = 4,800 USD, nothing
short.  Short run with ramp and lane_ramp 0.5 at mines and 0.2 at magnet plants: the
Japanese plant may run at most 60 t (50 × 1.2; the AU mine and the AU→JP lane could
carry 75 t), so 10 t can go to the EU — if the JP→EU lane, which carried nothing, is
qualified.  Then 90 t of EU demand is short:
10 × 32 + 50 × 32 + 90 × 1,000 = 91,920 USD.  Unqualified: the whole 100 t is short:
50 × 32 + 100 × 1,000 = 101,600 USD.
"""

from __future__ import annotations

import pytest

from optimizer import load
from tests.builders import commodity, recipe_row, scenario_file, site, write_instance

BAN = "policies:\n  - type: export_control\n    exporter: CN\n    commodities: magnet\n    max_share: 0\n"


def _lane(a: str, b: str, c: str, cost: float, **kw) -> dict:
    return {
        "id": f"{a}_{b}",
        "from_site": a,
        "to_site": b,
        "commodity": c,
        "capacity": "",
        "cost": cost,
        "source": "test",
        **kw,
    }


def chain(
    folder,
    *,
    qualified: str = "",
    short_run: list[dict] | None = None,
    horizon="long",
    cn_capacity: float | str = "",
):
    pro = [
        {"id": "mine_cn", "site": "mine_cn", "recipe": "dig", "capacity": "", "cost": 10},
        {"id": "mine_au", "site": "mine_au", "recipe": "dig", "capacity": 200, "cost": 20},
        {"id": "mag_cn", "site": "mag_cn", "recipe": "make", "capacity": cn_capacity, "cost": 5},
        {"id": "mag_jp", "site": "mag_jp", "recipe": "make", "capacity": 300, "cost": 8},
    ]
    tables = dict(
        commodities=[commodity("ore", "mine"), commodity("magnet", "magnet")],
        sites=[
            site("mine_cn", "CN", "mine"),
            site("mine_au", "AU", "mine"),
            site("mag_cn", "CN", "magnet"),
            site("mag_jp", "JP", "magnet"),
            site("eu", "DE", "market", company=""),
            site("jp", "JP", "market", company=""),
        ],
        recipes=[
            recipe_row("dig", "ore"),
            recipe_row("make", "ore", "input"),
            recipe_row("make", "magnet"),
        ],
        processes=[{**p, "source": "test"} for p in pro],
        links=[
            _lane("mine_cn", "mag_cn", "ore", 1),
            _lane("mine_au", "mag_jp", "ore", 1),
            _lane("mag_cn", "eu", "magnet", 2),
            _lane("mag_jp", "eu", "magnet", 3, qualified=qualified),
            _lane("mag_jp", "jp", "magnet", 3),
        ],
        demand=[
            {
                "market": m,
                "commodity": "magnet",
                "period": 2024,
                "quantity": q,
                "shortage_penalty": pen,
                "source": "test",
            }
            for m, q, pen in (("eu", 100, 1000), ("jp", 50, 2000))
        ],
    )
    if short_run is not None:
        tables["short_run"] = [{**r, "source": "test"} for r in short_run]
    return write_instance(
        folder, {"defaults": {"shortage_penalty": 1000, "horizon": horizon}}, **tables
    )


RAMP = [
    {"stage": "mine", "ramp": 0.5, "lane_ramp": 0.5, "contract": ""},
    {"stage": "magnet", "ramp": 0.2, "lane_ramp": 0.2, "contract": ""},
]


def test_reference_plan_by_hand(tmp_path):
    res = load(chain(tmp_path / "c", short_run=RAMP)).solve()
    assert res.objective == pytest.approx(3400)
    assert res.summary["horizon"] == "long"
    act = res.production.set_index("process")["activity"]
    assert act["mag_jp"] == pytest.approx(50) and act["mine_au"] == pytest.approx(50)


def test_long_run_reroutes_through_japan(tmp_path):
    folder = chain(tmp_path / "c", short_run=RAMP)
    res = load(folder, [scenario_file(tmp_path, BAN)]).solve()
    assert res.objective == pytest.approx(4800)
    assert res.total_unmet == pytest.approx(0)


def test_short_run_ramp_binds_on_a_qualified_lane(tmp_path):
    folder = chain(tmp_path / "c", qualified="yes", short_run=RAMP)
    inst = load(folder, [scenario_file(tmp_path, BAN)]).with_horizon("short")
    res = inst.solve()
    assert res.summary["horizon"] == "short"
    assert res.summary["reference_objective"] == pytest.approx(3400)
    assert res.objective == pytest.approx(91_920)
    act = res.production.set_index("process")["activity"]
    assert act["mag_jp"] == pytest.approx(60)  # 50 x (1 + 0.2)
    sh = res.shortages.set_index("market")["unmet"]
    assert sh["eu"] == pytest.approx(90) and sh["jp"] == pytest.approx(0)
    # the ramp rows bind: each extra tonne of Japanese magnet capacity would save
    # 1,000 - 32 = 968 USD (the EU penalty less the Japanese route's cost)
    h = res.extra["handle"]
    keys = h.cm.con_keys["short_run_ramp"]["id"]
    duals = dict(zip(keys, h.dual("short_run_ramp"), strict=True))
    # the Japanese plant's ramp binds: another tonne would save 1,000 - 32 = 968 USD
    # (the EU penalty less the Japanese route's cost); the mine's looser ramp does not
    assert -duals["mag_jp"] == pytest.approx(968) and duals["mine_au"] == 0


def test_short_run_keeps_an_unqualified_lane_shut(tmp_path):
    folder = chain(tmp_path / "c", qualified="", short_run=RAMP)
    res = load(folder, [scenario_file(tmp_path, BAN)]).with_horizon("short").solve()
    assert res.objective == pytest.approx(101_600)
    assert res.flows.loc[res.flows["link"] == "mag_jp_eu", "quantity"].sum() == 0
    assert res.shortages.set_index("market")["unmet"]["eu"] == pytest.approx(100)


def test_a_standard_grade_needs_no_qualification(tmp_path):
    """qualify: no at the magnet stage: the JP->EU lane opens as if it were qualified."""
    rows = [{**RAMP[0]}, {**RAMP[1], "qualify": "no"}]
    folder = chain(tmp_path / "c", qualified="", short_run=rows)
    res = load(folder, [scenario_file(tmp_path, BAN)]).with_horizon("short").solve()
    assert res.objective == pytest.approx(91_920)


def test_horizon_from_the_instance_and_from_a_scenario(tmp_path):
    folder = chain(tmp_path / "c", qualified="yes", short_run=RAMP, horizon="short")
    res = load(folder, [scenario_file(tmp_path, BAN)]).solve()
    assert res.objective == pytest.approx(91_920)
    # a scenario's horizon wins over the instance default, the caller's over both
    long_sc = scenario_file(tmp_path, BAN + "horizon: long\n", name="ban_long")
    assert load(folder, [long_sc]).solve().objective == pytest.approx(4800)
    short = load(folder, [long_sc]).with_horizon("short").solve()
    assert short.objective == pytest.approx(91_920)


def test_no_short_run_table_is_the_long_run(tmp_path):
    folder = chain(tmp_path / "c", qualified="yes")
    res = load(folder, [scenario_file(tmp_path, BAN)]).with_horizon("short").solve()
    assert res.objective == pytest.approx(4800)


def test_free_process_may_restart(tmp_path):
    """A spare plant kept ready (short_run: free) is not held to its reference."""
    folder = chain(tmp_path / "c", qualified="yes", short_run=RAMP)
    pro = (folder / "processes.csv").read_text().splitlines()
    pro[0] += ",short_run"
    pro[1:] = [r + (",free" if r.startswith("mag_jp") else ",") for r in pro[1:]]
    (folder / "processes.csv").write_text("\n".join(pro) + "\n")
    res = load(folder, [scenario_file(tmp_path, BAN)]).with_horizon("short").solve()
    # the plant may now run more, but the AU mine and the AU->JP lane (75 t each) bind
    assert res.production.set_index("process")["activity"]["mag_jp"] == pytest.approx(75)
    assert res.objective == pytest.approx(75 * 32 + 75 * 1000)


# -- contracts: a supplier short of material cuts every contracted customer alike ------


def contract_chain(folder, kappa: float):
    """One magnet maker (CN, 150 t) serves the EU (100 t, penalty 1,000) and the US (50 t,
    penalty 2,000); the disruption halves its capacity to 75 t."""
    tables = dict(
        commodities=[commodity("magnet", "magnet")],
        sites=[
            site("mag", "CN", "magnet"),
            site("eu", "DE", "market", company=""),
            site("us", "US", "market", company=""),
        ],
        recipes=[recipe_row("make", "magnet")],
        processes=[
            {
                "id": "mag",
                "site": "mag",
                "recipe": "make",
                "capacity": 150,
                "cost": 5,
                "source": "test",
            }
        ],
        links=[_lane("mag", "eu", "magnet", 1), _lane("mag", "us", "magnet", 1)],
        demand=[
            {
                "market": "eu",
                "commodity": "magnet",
                "period": 2024,
                "quantity": 100,
                "shortage_penalty": 1000,
                "source": "test",
            },
            {
                "market": "us",
                "commodity": "magnet",
                "period": 2024,
                "quantity": 50,
                "shortage_penalty": 2000,
                "source": "test",
            },
        ],
        short_run=[
            {"stage": "magnet", "ramp": 0, "lane_ramp": "", "contract": kappa, "source": "test"}
        ],
    )
    write_instance(folder, {"defaults": {"shortage_penalty": 1000}}, **tables)
    return folder


HALVED = "changes:\n  - table: processes\n    where: {id: mag}\n    set: {capacity: 75}\n"


@pytest.mark.parametrize(
    ("kappa", "eu", "us"),
    [
        (1.0, 50, 25),  # pro rata: 100/150 and 50/150 of 75 t
        (0.5, 25, 50),  # the floors (25 and 12.5 t) leave the LP free to favour the US
    ],
)
def test_contracts_ration_a_short_supplier_pro_rata(tmp_path, kappa, eu, us):
    folder = contract_chain(tmp_path / "k", kappa)
    long = load(folder, [scenario_file(tmp_path, HALVED)]).solve()
    served = long.shortages.set_index("market")["served"]
    assert (served["eu"], served["us"]) == (pytest.approx(25), pytest.approx(50))
    short = load(folder, [scenario_file(tmp_path, HALVED)]).with_horizon("short").solve()
    served = short.shortages.set_index("market")["served"]
    assert served["eu"] == pytest.approx(eu) and served["us"] == pytest.approx(us)


def test_a_licensed_lane_is_left_out_of_the_contract_pool(tmp_path):
    """A licence caps the EU lane at 20 t: the US is not held to a pro-rata share of it."""
    folder = contract_chain(tmp_path / "k", 1.0)
    lic = scenario_file(
        tmp_path,
        "policies:\n  - type: export_control\n    exporter: CN\n    commodities: magnet\n"
        "    destinations: [DE]\n    quota: 20\n",
        name="lic",
    )
    res = load(folder, [lic]).with_horizon("short").solve()
    served = res.shortages.set_index("market")["served"]
    assert served["eu"] == pytest.approx(20) and served["us"] == pytest.approx(50)


# --------------------------------------------------------------------------- resale
# A Chinese separator makes 1 t of "light" and 1 t of "heavy" oxide per t of ore (10 USD/t).
# China buys 50 t of light, the EU 100 t of heavy (1 USD/t to ship); surplus costs 5 USD/t
# to dispose of.  Reference: 100 t separated, 50 t of light disposed of: 1,000 + 250 + 100
# = 1,350 USD; the light is surplus (-5 USD/t), so heavy carries the ore and the light's
# disposal: 15 USD/t at the separator.  China bans heavy exports.
# Without resale: 50 t separated (for China's light), 50 t of heavy disposed of, the EU's
# 100 t short: 500 + 250 + 100,000 = 100,750 USD, heavy at -5 USD/t.  With
# resale_months 3 and a carrying rate of 1 %/month the 50 t are kept, each worth
# 15 x 0.97 = 14.55: 500 - 727.5 + 100,000 = 99,772.5 USD, heavy at 14.55 USD/t (a
# 51st tonne separated costs 10 + 5 for its light, more than 14.55: no more is made).
BAN_HEAVY = (
    "policies:\n  - type: export_control\n    exporter: CN\n    commodities: [heavy]\n"
    "    max_share: 0\n"
)


def joint(folder, months=""):
    tables = dict(
        commodities=[
            commodity("ore", "mine"),
            commodity("light", "separation", disposal_cost=5, source="test"),
            commodity("heavy", "separation", disposal_cost=5, source="test"),
        ],
        sites=[
            site("mine", "CN", "mine"),
            site("sep", "CN", "separation"),
            site("cn", "CN", "market", company=""),
            site("eu", "DE", "market", company=""),
        ],
        recipes=[
            recipe_row("dig", "ore"),
            recipe_row("split", "ore", "input"),
            recipe_row("split", "light"),
            recipe_row("split", "heavy"),
        ],
        processes=[
            {"id": "mine", "site": "mine", "recipe": "dig", "capacity": "", "cost": 10},
            {"id": "sep", "site": "sep", "recipe": "split", "capacity": "", "cost": 0},
        ],
        links=[
            _lane("mine", "sep", "ore", 0),
            _lane("sep", "cn", "light", 0),
            _lane("sep", "eu", "heavy", 1),
        ],
        demand=[
            {"market": m, "commodity": c, "period": 2024, "quantity": q, "source": "test"}
            for m, c, q in (("cn", "light", 50), ("eu", "heavy", 100))
        ],
        short_run=[
            {"stage": s, "ramp": 1.0, "lane_ramp": "", "contract": "", "resale_months": months}
            for s in ("mine", "separation")
        ],
    )
    for p in tables["processes"]:
        p["source"] = "test"
    for r in tables["short_run"]:
        r["source"] = "test"
    return write_instance(folder, {"defaults": {"shortage_penalty": 1000}}, **tables)


def _price(res, site_, com):
    p = res.prices
    return float(p.loc[(p["site"] == site_) & (p["commodity"] == com), "marginal_cost"].iloc[0])


def test_resale_keeps_what_cannot_be_sold(tmp_path):
    folder = joint(tmp_path / "j", months=3)
    ref = load(folder).with_horizon("short").solve()
    assert ref.objective == pytest.approx(1350)  # undisrupted: nothing kept
    assert ref.summary["cost_breakdown"].get("resale", 0.0) == pytest.approx(0)
    assert _price(ref, "sep", "heavy") == pytest.approx(15)

    res = load(folder, [scenario_file(tmp_path, BAN_HEAVY)]).with_horizon("short").solve()
    assert res.objective == pytest.approx(99_772.5)
    assert res.summary["cost_breakdown"]["resale"] == pytest.approx(-727.5)
    inv = res.inventory.set_index(["site", "commodity"])["quantity"]
    assert inv[("sep", "heavy")] == pytest.approx(50)
    assert _price(res, "sep", "heavy") == pytest.approx(14.55)
    assert res.production.set_index("process")["activity"]["sep"] == pytest.approx(50)
    assert res.disposal.empty


def test_without_resale_the_price_collapses(tmp_path):
    folder = joint(tmp_path / "j")
    res = load(folder, [scenario_file(tmp_path, BAN_HEAVY)]).with_horizon("short").solve()
    assert res.objective == pytest.approx(100_750)
    assert _price(res, "sep", "heavy") == pytest.approx(-5)
    assert "resale" not in res.summary["cost_breakdown"]


def test_resale_is_a_short_run_idea(tmp_path):
    folder = joint(tmp_path / "j", months=3)
    res = load(folder, [scenario_file(tmp_path, BAN_HEAVY)]).with_horizon("long").solve()
    assert res.objective == pytest.approx(100_750)


# Idle capacity (short_run.utilisation, docs/horizon.md "Idle capacity").  The Chinese magnet
# plant's capacity is its reference output, 80 t, so the EU takes 80 t from China (18 USD/t)
# and 20 t from Japan (32 USD/t): 80 x 18 + 20 x 32 + 50 x 32 = 3,680 USD, and one more
# tonne of Chinese capacity is worth 32 - 18 = 14 USD (its rent).  Utilisation 0.8 at magnet
# plants: the Chinese plant may run 80 / 0.8 = 100 t in the short run, each tonne above 80
# at the rent + 0.01 USD.
IDLE = [
    {"stage": "mine", "ramp": 0.5, "lane_ramp": 0.5, "contract": ""},
    {"stage": "magnet", "ramp": 0.5, "lane_ramp": 0.5, "contract": "", "utilisation": 0.8},
]
AU_OUT = "changes:\n  - table: processes\n    where: {id: mine_au}\n    set: {capacity: 0}\n"


def test_idle_lines_are_not_used_without_a_disruption(tmp_path):
    folder = chain(tmp_path / "c", short_run=IDLE, cn_capacity=80)
    ref = load(folder).solve()
    assert ref.objective == pytest.approx(3680)
    cap = ref.capacities.set_index("element")
    assert abs(cap.loc["mag_cn", "shadow_price"]) == pytest.approx(14)
    short = load(folder).with_horizon("short").solve()
    # the Japanese route (32) is cheaper than an idle Chinese line (18 + 14.01): unchanged
    assert short.objective == pytest.approx(3680)
    act = short.production.set_index("process")["activity"]
    assert act["mag_cn"] == pytest.approx(80) and act["mag_jp"] == pytest.approx(70)


def test_idle_lines_restart_when_a_shortage_is_worth_more_than_their_rent(tmp_path):
    folder = chain(tmp_path / "c", short_run=IDLE, cn_capacity=80)
    out = [scenario_file(tmp_path, AU_OUT)]
    # the Australian mine stops: Japan makes nothing (no Chinese ore reaches it)
    short = load(folder, out).with_horizon("short").solve()
    act = short.production.set_index("process")["activity"]
    assert act["mag_cn"] == pytest.approx(100)  # 20 t on idle lines
    assert short.objective == pytest.approx(100 * 18 + 20 * 14.01 + 50 * 2000)
    unmet = short.shortages.set_index("market")["unmet"]
    assert unmet["eu"] == pytest.approx(0) and unmet["jp"] == pytest.approx(50)


def test_the_long_run_uses_idle_lines_too(tmp_path):
    """The long run of a disrupted instance restarts the idle lines at the same price (it
    is a relaxation of the short run); the reference itself keeps stated capacities."""
    folder = chain(tmp_path / "c", short_run=IDLE, cn_capacity=80)
    long = load(folder, [scenario_file(tmp_path, AU_OUT)]).solve()
    assert long.summary["horizon"] == "long"
    assert long.summary["reference_objective"] == pytest.approx(3680)
    act = long.production.set_index("process")["activity"]
    assert act["mag_cn"] == pytest.approx(100)
    assert long.objective == pytest.approx(100 * 18 + 20 * 14.01 + 50 * 2000)
    # without a disruption there is no reference plan to price them: 80 t, 3,680 USD
    plain = load(folder).solve()
    assert "reference_objective" not in plain.summary
    assert plain.production.set_index("process")["activity"]["mag_cn"] == pytest.approx(80)


def test_whatif_cases_keep_the_short_run(tmp_path):
    """The persistent what-if model (criticality, notebooks) is built with the short run's
    limits, as a solve is: its base case is the short run's 91,920 USD, not the long
    run's 4,800, and a case on top of it stays within them."""
    from optimizer.analysis.whatif import WhatIf

    folder = chain(tmp_path / "c", qualified="yes", short_run=RAMP)
    w = WhatIf.from_instance(load(folder, [scenario_file(tmp_path, BAN)]).with_horizon("short"))
    assert w.base_objective == pytest.approx(91_920)
    long = WhatIf.from_instance(load(folder, [scenario_file(tmp_path, BAN)]))
    assert long.base_objective == pytest.approx(4800)
