"""Time to survive on the stocks on hand, and stockpile sizing, checked by hand.

The chain: a mine in China (capacity 100 t/period, 10 USD/t) ships ore to a
Japanese market (1 USD/t) that wants ``d`` = 10 t in every period of
2024-2029; shortage costs 1,000 USD/t; ore can be stored anywhere at 1 USD/t
per period.  Optionally a Japanese depot holds ``S0`` t at the start, released
to the market at 20 USD/t (dearer than the mine, so the undisrupted plan never
touches it).  The disruption is a Chinese ore export ban.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from optimizer import load
from optimizer.analysis.survive import (
    CURVE_FRACTIONS,
    StockpileInfeasible,
    on_hand,
    size_stockpile,
    time_to_survive,
)
from optimizer.cli import app
from optimizer.errors import InputError
from tests.builders import commodity, recipe_row, site, write_instance

PERIODS = [2024, 2025, 2026, 2027, 2028, 2029]
runner = CliRunner()


def _link(id, a, b, cost, com="ore", capacity=""):
    return {
        "id": id,
        "from_site": a,
        "to_site": b,
        "commodity": com,
        "capacity": capacity,
        "cost": cost,
        "source": "test",
    }


def chain(
    folder,
    *,
    stock: float | None = None,
    storage_cost: float | str = 1,
    d: float = 10,
    ore2: float | None = None,
    au_mine: float | None = None,
    kr_penalty: float | None = None,
    expansions: list[dict] | None = None,
    demand: dict[int, float] | None = None,
    mine_capacity: float = 100,
):
    """The test chain (see the module docstring), with optional extras."""
    coms = [commodity("ore", "mine", storage_cost=storage_cost, source="test")]
    sites = [site("mine", "CN", "mine"), site("mkt", "JP", "market", company="")]
    recipes = [recipe_row("dig", "ore")]
    procs = [
        {
            "id": "mine",
            "site": "mine",
            "recipe": "dig",
            "capacity": mine_capacity,
            "cost": 10,
            "source": "test",
        }
    ]
    links = [_link("lane", "mine", "mkt", 1, "*")]
    dem = [
        {
            "market": "mkt",
            "commodity": "ore",
            "period": p,
            "quantity": (demand or {}).get(p, d),
            "shortage_penalty": "",
            "source": "test",
        }
        for p in PERIODS
    ]
    tables: dict = {}
    if stock is not None:
        sites.append(site("depot", "JP", "mine"))
        links.append(_link("release", "depot", "mkt", 20))
        tables["stocks"] = [
            {"site": "depot", "commodity": "ore", "quantity": stock, "source": "test"}
        ]
    if ore2 is not None:  # a second commodity the market wants, mined alongside
        coms.append(commodity("ore2", "mine", storage_cost=storage_cost, source="test"))
        recipes.append(recipe_row("dig2", "ore2"))
        procs.append(
            {
                "id": "mine2",
                "site": "mine",
                "recipe": "dig2",
                "capacity": 100,
                "cost": 10,
                "source": "test",
            }
        )
        dem += [
            {
                "market": "mkt",
                "commodity": "ore2",
                "period": p,
                "quantity": ore2,
                "shortage_penalty": "",
                "source": "test",
            }
            for p in PERIODS
        ]
    if au_mine is not None:  # an Australian mine the ban does not touch, and a Korean market
        sites += [site("au", "AU", "mine"), site("mkt_kr", "KR", "market", company="")]
        procs.append(
            {
                "id": "au",
                "site": "au",
                "recipe": "dig",
                "capacity": au_mine,
                "cost": 10,
                "source": "test",
            }
        )
        links += [_link("au_jp", "au", "mkt", 1), _link("au_kr", "au", "mkt_kr", 1)]
        dem += [
            {
                "market": "mkt_kr",
                "commodity": "ore",
                "period": p,
                "quantity": d,
                "shortage_penalty": kr_penalty or "",
                "source": "test",
            }
            for p in PERIODS
        ]
    if expansions:
        tables["expansions"] = expansions
    return write_instance(
        folder,
        {"periods": PERIODS, "defaults": {"shortage_penalty": 1000}},
        commodities=coms,
        sites=sites,
        recipes=recipes,
        processes=procs,
        links=links,
        demand=dem,
        **tables,
    )


def scenario(folder, name, **body):
    """A scenario YAML file citing the test source."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump({"id": name, "title": name, "sources": ["test"], **body}, sort_keys=False)
    )
    return str(path)


def ban(folder, periods=None):
    pol = {"type": "export_control", "exporter": "CN", "commodities": "all", "max_share": 0}
    if periods:
        pol["periods"] = periods
    return scenario(folder, "ban" if not periods else "ban-later", policies=[pol])


def unmet_by_period(sv, market="mkt", commodity="ore"):
    t = sv.table
    t = t.loc[(t["market"] == market) & (t["commodity"] == commodity)]
    return dict(zip(t["period"], t["unmet"], strict=True))


# -- time to survive ---------------------------------------------------------------


def test_survival_is_whole_periods_of_stock(tmp_path):
    # S0 = 25 t on hand at 2026, d = 10 t: 10, 10, 5, 0 served -> survives floor(25/10) = 2
    inst = load(chain(tmp_path / "i", stock=25))
    sv = time_to_survive(inst, [ban(tmp_path / "s")], 2026)
    assert sv.horizon == [2026, 2027, 2028, 2029]
    assert sv.on_hand.to_dict("records") == [
        {"site": "depot", "commodity": "ore", "quantity": 25.0}
    ]
    assert unmet_by_period(sv) == pytest.approx({2026: 0, 2027: 0, 2028: 5, 2029: 10})
    m = sv.markets.set_index(["market", "commodity"]).loc[("mkt", "ore")]
    assert m["first_short_period"] == 2028
    assert m["periods_survived"] == 2
    assert not m["survives_horizon"]
    assert m["unmet"] == pytest.approx(15)
    # every row of survival.csv carries its market's answer
    assert set(sv.table["first_short_period"]) == {2028}
    assert set(sv.table["periods_survived"]) == {2}
    # release 25 x 20 + holding (15 + 5) x 1 + 15 t short x 1,000
    assert sv.summary["cost"] == pytest.approx(500 + 20 + 15_000)
    st = sv.stocks.set_index("period")
    assert st["opening"].to_dict() == pytest.approx({2026: 25, 2027: 15, 2028: 5})
    assert st["closing"].to_dict() == pytest.approx({2026: 15, 2027: 5, 2028: 0})


def test_myopic_gives_the_same_answer_when_nothing_else_supplies(tmp_path):
    inst = load(chain(tmp_path / "i", stock=25))
    sv = time_to_survive(inst, [ban(tmp_path / "s")], 2026, mode="myopic")
    assert unmet_by_period(sv) == pytest.approx({2026: 0, 2027: 0, 2028: 5, 2029: 10})
    assert sv.markets["periods_survived"].tolist() == [2]
    assert sv.summary["cost"] == pytest.approx(500 + 20 + 15_000)
    assert len(sv.results) == 1 + 4  # baseline, then one solve per period


def test_no_prestocking_before_the_disruption(tmp_path):
    # The same ban written for 2026-2029 only, solved over the whole horizon, lets the LP see
    # it coming: it ships 40 t more in 2024-2025 and stores them at the market (pre-stocking
    # from the mine at 11 + 1/period beats the depot's 20): nothing unmet, 60 x 11 + holding
    # (40 + 30 + 20 + 10) + the depot's 25 t held six periods = 910 USD.
    inst = load(chain(tmp_path / "i", stock=25))
    later = ban(tmp_path / "s", periods=[2026, 2027, 2028, 2029])
    foresight = inst.with_scenario(later).solve()
    assert foresight.total_unmet == pytest.approx(0)
    assert foresight.objective == pytest.approx(60 * 11 + 100 + 25 * 6)
    inv = foresight.inventory.groupby(["period", "site"])["quantity"].sum()
    assert inv[(2025, "mkt")] == pytest.approx(40)
    # time_to_survive starts from what the *undisrupted* plan holds at the end of 2025
    base = inst.solve()
    assert base.objective == pytest.approx(60 * 11 + 25 * 6)  # the depot is never touched
    held = on_hand(inst, 2026, base)
    assert held.to_dict("records") == [{"site": "depot", "commodity": "ore", "quantity": 25.0}]
    sv = time_to_survive(inst, [later], 2026)
    assert sv.on_hand.equals(held)
    assert unmet_by_period(sv) == pytest.approx({2026: 0, 2027: 0, 2028: 5, 2029: 10})
    assert sv.results[0].objective == pytest.approx(base.objective)


def test_myopic_burns_a_free_stockpile_first(tmp_path):
    # The disruption cuts the mine to 4 t/period and releases a 12 t stockpile (free release).
    # Rationed: 4 + 6 from stock in 2026 and 2027, then 6 t short in 2028 and 2029.
    # Myopic: 2026 draws 10 t of free stock instead of mined ore (11 USD/t); 2027 has 2 + 4.
    inst = load(chain(tmp_path / "i"))
    cut = scenario(
        tmp_path / "s",
        "cut",
        changes=[{"table": "processes", "where": {"id": "mine"}, "set": {"capacity": 4}}],
        policies=[
            {
                "type": "stockpile",
                "region": "JP",
                "commodity": "ore",
                "initial": 12,
                "release_cost": 0,
            }
        ],
    )
    r = time_to_survive(inst, [cut], 2026)
    assert r.on_hand.to_dict("records") == [
        {"site": "stockpile.JP.ore", "commodity": "ore", "quantity": 12.0}
    ]
    assert unmet_by_period(r) == pytest.approx({2026: 0, 2027: 0, 2028: 6, 2029: 6})
    assert r.markets["first_short_period"].tolist() == [2028]
    assert r.markets["periods_survived"].tolist() == [2]
    # 16 t mined and shipped x 11 + 6 t held one period + 12 t short x 1,000
    assert r.summary["cost"] == pytest.approx(16 * 11 + 6 + 12_000)
    m = time_to_survive(inst, [cut], 2026, mode="myopic")
    assert unmet_by_period(m) == pytest.approx({2026: 0, 2027: 4, 2028: 6, 2029: 6})
    assert m.markets["first_short_period"].tolist() == [2027]
    assert m.markets["periods_survived"].tolist() == [1]
    # 2 t held after 2026; 12 t mined (2027-2029) x 11; 16 t short
    assert m.summary["cost"] == pytest.approx(2 + 12 * 11 + 16_000)


def test_ties_are_broken_towards_later_shortages(tmp_path):
    # Ore not storable (only the depot's stock is held, at no cost) and no discounting: every
    # timing of the 25 t over 2026-2029 costs the same; survival must still be 2 periods.
    inst = load(chain(tmp_path / "i", stock=25, storage_cost=""))
    sv = time_to_survive(inst, [ban(tmp_path / "s")], 2026)
    assert unmet_by_period(sv) == pytest.approx({2026: 0, 2027: 0, 2028: 5, 2029: 10})
    assert sv.summary["cost"] == pytest.approx(25 * 20 + 15_000)


def test_start_in_the_first_period_uses_the_initial_stocks(tmp_path):
    inst = load(chain(tmp_path / "i", stock=25))
    sv = time_to_survive(inst, [ban(tmp_path / "s")], 2024)
    assert len(sv.results) == 1  # no baseline solve needed
    assert unmet_by_period(sv) == pytest.approx(
        {2024: 0, 2025: 0, 2026: 5, 2027: 10, 2028: 10, 2029: 10}
    )
    assert sv.markets["periods_survived"].tolist() == [2]


def test_a_market_that_never_runs_short(tmp_path):
    inst = load(chain(tmp_path / "i", stock=100))
    sv = time_to_survive(inst, [ban(tmp_path / "s")], 2026)
    m = sv.markets.iloc[0]
    assert bool(m["survives_horizon"]) and pd.isna(m["first_short_period"])
    assert m["periods_survived"] == 4  # the whole horizon
    assert sv.summary["first_short_period"] is None


def test_projects_decided_before_the_disruption_stay_decided(tmp_path):
    # Mine 10 t/period; demand 10 in 2024, 15 in 2025, 20 from 2026.  Project x (earliest
    # 2024, lead 1 year, <= 20 t at 1 USD/t/period) is in service from 2025; project y
    # (earliest 2026, no lead, 0.5 USD/t/period) from 2026.  The baseline builds x = 5 (for
    # 2025) and y = 5 (cheaper than more x from 2026).  The disruption halves demand from 2026
    # to 10 t, which the mine alone covers.
    def project(id, earliest, lead, capex):
        return {
            "id": id,
            "process": "mine",
            "capacity": 20,
            "capex": capex,
            "earliest": earliest,
            "lead_time": lead,
            "committed": "",
            "source": "test",
        }

    folder = chain(
        tmp_path / "i",
        mine_capacity=10,
        storage_cost="",
        expansions=[project("x", 2024, 1, 1), project("y", 2026, 0, 0.5)],
        demand={2024: 10, 2025: 15, **{p: 20 for p in PERIODS[2:]}},
    )
    inst = load(folder)
    half = scenario(
        tmp_path / "s", "half", changes=[{"table": "demand", "scale": {"quantity": 0.5}}]
    )
    base = inst.solve()
    built = base.expansions.set_index("id")["built"]
    assert built.to_dict() == pytest.approx({"x": 5, "y": 5})
    assert base.objective == pytest.approx(105 * 11 + 5 * 5 * 1 + 5 * 4 * 0.5)
    # rationed: x was decided before 2026 and stays built (committed, capex 5 x 4 periods);
    # y is decided knowing the disruption: not built.  40 t x 11 + 20
    r = time_to_survive(inst, [half], 2026)
    win = r.results[1].expansions.set_index("id")
    assert win.loc["x", "built"] == pytest.approx(5) and win.loc["x", "committed"]
    assert win.loc["y", "built"] == pytest.approx(0)
    assert r.summary["cost"] == pytest.approx(40 * 11 + 20)
    # myopic: every project follows the undisrupted plan: y = 5 too, + 5 x 0.5 x 4 periods
    m = time_to_survive(inst, [half], 2026, mode="myopic")
    assert m.summary["cost"] == pytest.approx(40 * 11 + 20 + 10)
    assert m.summary["total_unmet"] == 0


# -- stockpile sizing ----------------------------------------------------------------


def test_sized_stockpile_is_demand_times_duration(tmp_path):
    inst = load(chain(tmp_path / "i"))
    sz = size_stockpile(
        inst, [ban(tmp_path / "s")], commodity="ore", region="JP", start=2026, duration=3
    )
    assert sz.quantity == pytest.approx(30)  # d x duration
    assert sz.summary["site"] == "stockpile.JP.ore"
    assert sz.summary["markets"] == ["mkt"]
    assert sz.summary["horizon"] == [2026, 2027, 2028]
    assert sz.summary["unmet_without"] == pytest.approx(30)
    assert sz.summary["cost_without"] == pytest.approx(30_000)
    assert sz.cost == pytest.approx(20 + 10)  # holding 20 t then 10 t
    dd = sz.drawdown.set_index("period")
    assert dd["opening"].tolist() == pytest.approx([30, 20, 10])
    assert dd["drawn"].tolist() == pytest.approx([10, 10, 10])
    assert dd["closing"].tolist() == pytest.approx([20, 10, 0])
    assert sz.markets["unmet_with"].sum() == pytest.approx(0)
    assert sz.markets["protected"].all()


def test_size_vs_outcome_curve_by_hand(tmp_path):
    # Nothing on hand, 10 t/period for 3 periods: a stockpile of S t leaves 30 - S t unmet
    # (S <= 30), none from 30 t on.  With 25 t on hand: 5 - S.  Held others, free others.
    inst = load(chain(tmp_path / "i"))
    sz = size_stockpile(
        inst, [ban(tmp_path / "s")], commodity="ore", region="JP", start=2026, duration=3
    )
    c = sz.curve
    assert c["stockpile"].tolist() == pytest.approx([30 * f for f in CURVE_FRACTIONS])
    assert c["unmet"].tolist() == pytest.approx([max(0.0, 30 - s) for s in c["stockpile"]])
    assert c["unmet_share"].tolist() == pytest.approx([u / 30 for u in c["unmet"]])
    inst = load(chain(tmp_path / "j", stock=25))
    sz = size_stockpile(
        inst, [ban(tmp_path / "s")], commodity="ore", region="JP", start=2026, duration=3
    )
    assert sz.curve["unmet"].tolist() == pytest.approx(
        [max(0.0, 5 - s) for s in sz.curve["stockpile"]]
    )
    # Korea (penalty 2,000) takes the Australian ore first: held, Japan's 20 t short fall by
    # one tonne per tonne stocked; free, no stockpile is needed (one point, nothing unmet)
    inst = load(chain(tmp_path / "k", au_mine=10, kr_penalty=2000))
    args = dict(commodity="ore", region="JP", start=2026, duration=2, markets=["mkt"])
    held = size_stockpile(inst, [ban(tmp_path / "s")], **args).curve
    assert held["unmet"].tolist() == pytest.approx(
        [max(0.0, 20 - s) for s in held["stockpile"]], abs=1e-5
    )
    free = size_stockpile(inst, [ban(tmp_path / "s")], others="free", **args).curve
    assert free[["stockpile", "unmet"]].values.tolist() == [[0.0, 0.0]]


def test_sized_stockpile_counts_the_stock_on_hand(tmp_path):
    # 25 t in the depot at 2026: 30 - 25 = 5 t more.  Cost with it: release 25 x 20 + holding
    # (20 + 10); without it: release 500 + holding (15 + 5) + 5 t short x 1,000.
    inst = load(chain(tmp_path / "i", stock=25))
    sz = size_stockpile(
        inst, [ban(tmp_path / "s")], commodity="ore", region="JP", start=2026, duration=3
    )
    assert sz.quantity == pytest.approx(5)
    assert sz.cost == pytest.approx(500 + 30)
    assert sz.summary["cost_without"] == pytest.approx(500 + 20 + 5_000)
    assert sz.summary["unmet_without"] == pytest.approx(5)


def test_stockpile_at_a_given_site_or_on_top_of_the_disruptions_own(tmp_path):
    # at the depot (25 t there already): 5 t more, every tonne released at 20 USD/t
    inst = load(chain(tmp_path / "i", stock=25))
    sz = size_stockpile(
        inst,
        [ban(tmp_path / "s")],
        commodity="ore",
        region="JP",
        start=2026,
        duration=3,
        site="depot",
    )
    assert sz.quantity == pytest.approx(5)
    assert sz.cost == pytest.approx(30 * 20 + 30)
    assert sz.drawdown["opening"].tolist() == pytest.approx([30, 20, 10])
    # the disruption cuts the mine to 4 t/period and releases 12 t at stockpile.JP.ore:
    # four periods need 40 - 16 - 12 = 12 t more, at the same site
    inst = load(chain(tmp_path / "j"))
    cut = scenario(
        tmp_path / "s",
        "cut",
        changes=[{"table": "processes", "where": {"id": "mine"}, "set": {"capacity": 4}}],
        policies=[{"type": "stockpile", "region": "JP", "commodity": "ore", "initial": 12}],
    )
    sz = size_stockpile(inst, [cut], commodity="ore", region="JP", start=2026, duration=4)
    assert sz.quantity == pytest.approx(12)
    assert sz.summary["site"] == "stockpile.JP.ore"
    assert sz.drawdown["opening"].iloc[0] == pytest.approx(24)


def test_other_markets_are_held_or_free(tmp_path):
    # An Australian mine (10 t/period) outside the ban serves Japan or Korea; Korea's shortage
    # costs 2,000, so without a stockpile Korea gets it all and Japan is 10 t short a period.
    inst = load(chain(tmp_path / "i", au_mine=10, kr_penalty=2000))
    args = dict(commodity="ore", region="JP", start=2026, duration=2, markets=["mkt"])
    held = size_stockpile(inst, [ban(tmp_path / "s")], **args)
    assert held.quantity == pytest.approx(20)
    # free: Japan may take Korea's ore, so no stockpile is needed (Korea goes short instead)
    free = size_stockpile(inst, [ban(tmp_path / "s")], others="free", **args)
    assert free.quantity == pytest.approx(0)
    kr = free.markets.loc[free.markets["market"] == "mkt_kr", "unmet_with"].sum()
    assert kr == pytest.approx(20)


def test_infeasible_names_the_other_commodity(tmp_path):
    # The market also wants 5 t/period of ore2: no ore stockpile alone can keep it whole;
    # it would take 5 x 3 = 15 t of ore2 as well (and 30 t of ore).
    inst = load(chain(tmp_path / "i", ore2=5))
    with pytest.raises(StockpileInfeasible) as e:
        size_stockpile(
            inst, [ban(tmp_path / "s")], commodity="ore", region="JP", start=2026, duration=3
        )
    assert e.value.exit_code == 3
    assert "no stockpile of ore alone keeps mkt whole in 2026–2028" in str(e.value)
    needs = e.value.needs.set_index("commodity")
    assert needs.loc["ore2", "quantity"] == pytest.approx(15)
    assert needs.loc["ore2", "site"] == "stockpile.JP.ore2"
    assert "15.0 t of ore2 (stockpile.JP.ore2) (with 30.0 t of ore)" in " ".join(e.value.diagnosis)
    # keeping only the ore demand whole is feasible: 30 t
    sz = size_stockpile(
        inst,
        [ban(tmp_path / "s")],
        commodity="ore",
        region="JP",
        start=2026,
        duration=3,
        demand_commodities=["ore"],
    )
    assert sz.quantity == pytest.approx(30)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(start=2025.5), "--start: 2025.5 is not a period"),
        (dict(start=2030), "--start: 2030 is not a period of i (periods: 2024, 2025"),
        (dict(duration=5), "--duration: 5 periods from 2026 runs past the instance's last period"),
        (dict(duration=0), "--duration: 0: give at least 1 period"),
        (dict(commodity="Dy_oxide"), "--commodity: 'Dy_oxide' is not a commodity id"),
        (dict(region="XX"), "--region: 'XX' is not a country code or a region"),
        (dict(markets=["nowhere"]), "--market: 'nowhere' is neither a market with demand"),
        (dict(markets=["mine"]), "--market: site 'mine' is not a market with demand"),
        (dict(site="mine"), "--site: site 'mine' is not in JP"),
        (dict(demand_commodities=["gold"]), "--demand-commodity: 'gold' is not a commodity"),
    ],
)
def test_bad_sizing_input(tmp_path, kwargs, message):
    inst = load(chain(tmp_path / "i"))
    args = dict(commodity="ore", region="JP", start=2026, duration=3) | kwargs
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        size_stockpile(inst, [ban(tmp_path / "s")], **args)


def test_bad_survive_input(tmp_path):
    inst = load(chain(tmp_path / "i"))
    with pytest.raises(InputError, match="--start: 2023 is not a period"):
        time_to_survive(inst, [], 2023)
    with pytest.raises(InputError, match="--mode: 'psychic': choose rationed or myopic"):
        time_to_survive(inst, [], 2026, mode="psychic")


# -- command line ------------------------------------------------------------------


def test_cli_survive_writes_the_tables(tmp_path):
    folder = chain(tmp_path / "i", stock=25)
    out = tmp_path / "out"
    r = runner.invoke(
        app,
        ["survive", str(folder), "-s", ban(tmp_path / "s"), "--start", "2026", "--out", str(out)],
    )
    assert r.exit_code == 0, r.output
    assert "stocks on hand at the start of 2026: ore 25.0 t" in r.output
    assert "2026–2029: short (t): ore 15.0" in r.output  # no value: tonnes per commodity
    assert "mkt" in r.output and "2028" in r.output
    df = pd.read_csv(out / "survival.csv")
    assert list(df.columns[:8]) == [
        "period",
        "market",
        "commodity",
        "demand",
        "served",
        "unmet",
        "first_short_period",
        "periods_survived",
    ]
    assert df["unmet"].tolist() == pytest.approx([0, 0, 5, 10])
    assert df["served"].tolist() == pytest.approx([10, 10, 5, 0])
    assert (df["first_short_period"] == 2028).all() and (df["periods_survived"] == 2).all()
    assert (out / "survival_markets.csv").exists() and (out / "survival_stocks.csv").exists()
    s = json.loads((out / "survival.json").read_text())
    assert s["mode"] == "rationed" and s["start"] == 2026 and s["disruption"] == ["ban"]
    assert not [p for p in out.iterdir() if p.name.startswith(".rechain-")]


def test_cli_stockpile_size(tmp_path):
    folder = chain(tmp_path / "i")
    out = tmp_path / "out"
    args = ["stockpile-size", str(folder), "-s", ban(tmp_path / "s"), "--start", "2026"]
    args += ["--duration", "3", "--commodity", "ore", "--region", "JP", "--out", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "30.0 t of ore at stockpile.JP.ore" in r.output
    s = json.loads((out / "stockpile.json").read_text())
    assert s["quantity"] == pytest.approx(30) and s["status"] == "optimal"
    assert pd.read_csv(out / "stockpile_drawdown.csv")["drawn"].tolist() == pytest.approx(
        [10, 10, 10]
    )
    assert (out / "stockpile_markets.csv").exists()
    curve = pd.read_csv(out / "stockpile_curve.csv")
    assert curve["unmet"].iloc[0] == pytest.approx(30) and curve["unmet"].iloc[-1] == 0


def test_cli_stockpile_infeasible_exits_3(tmp_path):
    folder = chain(tmp_path / "i", ore2=5)
    out = tmp_path / "out"
    args = ["stockpile-size", str(folder), "-s", ban(tmp_path / "s"), "--start", "2026"]
    args += ["--duration", "3", "--commodity", "ore", "--region", "JP", "--out", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 3, r.output
    assert "no stockpile of ore alone" in r.output and "ore2" in r.output
    assert "Traceback" not in r.output
    s = json.loads((out / "stockpile.json").read_text())
    assert s["status"] == "infeasible" and s["needs"][0]["commodity"] == "ore2"
    assert pd.read_csv(out / "stockpile_needs.csv")["quantity"].tolist() == pytest.approx([15])


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--start", "2025"], None),
        (["--start", "2031"], "--start: 2031 is not a period"),
        (["--start", "2026", "--mode", "lucky"], "--mode: 'lucky'"),
    ],
)
def test_cli_survive_bad_input_exits_2(tmp_path, extra, message):
    folder = chain(tmp_path / "i")
    if message is None:  # a good start: the control case
        r = runner.invoke(app, ["survive", str(folder), "-s", ban(tmp_path / "s"), *extra])
        assert r.exit_code == 0, r.output
        return
    r = runner.invoke(app, ["survive", str(folder), "-s", ban(tmp_path / "s"), *extra])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output


def test_cli_needs_a_disruption_and_known_names(tmp_path):
    folder = chain(tmp_path / "i")
    r = runner.invoke(app, ["survive", str(folder), "--start", "2026"])
    assert r.exit_code == 2 and "give the disruption with -s" in r.output
    args = ["stockpile-size", str(folder), "-s", ban(tmp_path / "s"), "--start", "2026"]
    args += ["--duration", "9", "--commodity", "Nd", "--region", "JP", "--market", "xx"]
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    for m in ("--duration: 9 periods", "--commodity: 'Nd'", "--market: 'xx'"):
        assert m in r.output
