"""Structural min-cut (``mincut.csv``): hand-computed cuts on tiny instances, and world-2024.

Every number here is worked out by hand in the comments (and, for
``instances/tiny``, in docs/analysis.md, section "Min-cut").
"""

from __future__ import annotations

import time

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.analysis.mincut import COLUMNS, graph, mincut
from optimizer.cli import app
from optimizer.errors import InputError
from tests.builders import commodity, one_mine_one_market, recipe_row, site, write_instance
from tests.conftest import INSTANCES, TINY


def _proc(id, site, recipe, capacity, cost=1):
    return {
        "id": id,
        "site": site,
        "recipe": recipe,
        "capacity": capacity,
        "cost": cost,
        "source": "test",
    }


def _link(a, b, com, capacity=""):
    return {
        "id": f"{a}_to_{b}",
        "from_site": a,
        "to_site": b,
        "commodity": com,
        "capacity": capacity,
        "cost": 1,
        "source": "test",
    }


def _demand(market, com, q, period=2024):
    return {
        "market": market,
        "commodity": com,
        "period": period,
        "quantity": q,
        "shortage_penalty": "",
        "source": "test",
    }


def chokepoint(folder, *, lane_capacity=30, stock=None, expansion=None, periods=(2024,)):
    """Two mines -> a separator (ore -> 0.25 oxide + 0.75 slag) -> a 30 t oxide lane -> magnets.

    In tonnes of magnet (0.3 t oxide per t): oxide is worth 1/0.3 = 10/3, ore
    0.25 x 10/3 = 5/6.  Mines 400 + 300 t ore = 583.3, separator 500 t ore =
    416.7, the lane 30 t oxide = 100, the magnet line 1000: the min-cut is the
    lane, 100 t of magnets, for each market alone (demand 80 and 60).
    """
    tables = dict(
        commodities=[
            commodity("ore", "mine"),
            commodity("oxide", "separation", disposal_cost=10, source="test"),
            commodity("slag", "separation", disposal_cost=1, source="test"),
            commodity("magnet", "magnet"),
        ],
        sites=[
            site("mine_a", "AU", "mine"),
            site("mine_b", "BR", "mine"),
            site("sep", "MY", "separation"),
            site("mag", "JP", "magnet"),
            site("mkt_us", "US", "market"),
            site("mkt_de", "DE", "market"),
        ],
        recipes=[
            recipe_row("dig", "ore"),
            recipe_row("separate", "ore", "input", 1),
            recipe_row("separate", "oxide", "output", 0.25),
            recipe_row("separate", "slag", "output", 0.75),
            recipe_row("make", "oxide", "input", 0.3),
            recipe_row("make", "magnet", "output", 1),
        ],
        processes=[
            _proc("mine_a", "mine_a", "dig", 400),
            _proc("mine_b", "mine_b", "dig", 300),
            _proc("sep", "sep", "separate", 500),
            _proc("mag", "mag", "make", 1000),
        ],
        links=[
            _link("mine_a", "sep", "ore"),
            _link("mine_b", "sep", "ore"),
            _link("sep", "mag", "oxide", lane_capacity),
            _link("mag", "mkt_us", "magnet"),
            _link("mag", "mkt_de", "magnet"),
        ],
        demand=[
            _demand(m, "magnet", q, p) for p in periods for m, q in (("mkt_us", 80), ("mkt_de", 60))
        ],
    )
    if stock is not None:
        tables["stocks"] = [
            {"site": "mag", "commodity": "oxide", "quantity": stock, "source": "test"}
        ]
    if expansion is not None:
        tables["expansions"] = [
            {
                "id": "sep_x",
                "process": "sep",
                "capacity": 100,
                "capex": 1,
                "earliest": expansion,
                "lead_time": 0,
                "committed": "",
                "source": "test",
            }
        ]
    return write_instance(folder, {"periods": list(periods)}, **tables)


def _row(mc: pd.DataFrame, market: str, commodity: str, period: int = 2024) -> pd.Series:
    sel = mc.loc[
        (mc["market"] == market) & (mc["commodity"] == commodity) & (mc["period"] == period)
    ]
    assert len(sel) == 1, sel
    return sel.iloc[0]


# ---------------------------------------------------------------------------
# a purpose-built chain with one structural chokepoint


def test_single_chokepoint_is_the_lane(tmp_path):
    inst = load(chokepoint(tmp_path / "c"))
    res = inst.solve()
    mc = res.mincut
    assert list(mc.columns) == COLUMNS
    assert len(mc) == 2
    for market, q in (("mkt_us", 80), ("mkt_de", 60)):
        r = _row(mc, market, "magnet")
        assert r["demand"] == q
        assert r["min_cut"] == pytest.approx(100)  # 30 t oxide / 0.3
        assert r["cut_share"] == pytest.approx(100 / q)
        assert r["structural_gap"] == 0
        assert r["key_input"] == "magnet"  # single-input recipes: no Leontief min
        assert r["cut_elements"] == "sep_to_mag"
        assert r["cut_countries"] == "MY"  # a lane is located at its origin
    # each market alone fits through the lane, both together (140 t) do not
    assert res.shortages["served"].sum() == pytest.approx(100)
    assert (mc["served"] <= mc["min_cut"] + 1e-6).all()


def test_without_the_lane_limit_the_separator_cuts(tmp_path):
    mc = mincut(load(chokepoint(tmp_path / "c", lane_capacity="")))
    r = _row(mc, "mkt_us", "magnet")
    assert r["min_cut"] == pytest.approx(500 * 0.25 / 0.3)  # 416.67 t
    assert r["cut_elements"] == "sep"


def test_stock_and_expansion_add_to_the_cut(tmp_path):
    # 6 t of oxide stocked at the magnet plant: 20 t of magnets more, beside the lane
    mc = mincut(load(chokepoint(tmp_path / "s", stock=6)))
    r = _row(mc, "mkt_de", "magnet")
    assert r["min_cut"] == pytest.approx(120)
    assert r["cut_elements"] == "sep_to_mag;stock[mag,oxide]"
    assert r["cut_countries"] == "MY;JP"
    # a 100 t separator project in service from 2025 only: 500 then 600 t ore,
    # i.e. 416.7 then 500 t of magnets (the mines allow 583.3)
    mc = mincut(
        load(chokepoint(tmp_path / "x", lane_capacity="", expansion=2025, periods=(2024, 2025)))
    )
    assert _row(mc, "mkt_us", "magnet", 2024)["min_cut"] == pytest.approx(1250 / 3)
    assert _row(mc, "mkt_us", "magnet", 2025)["min_cut"] == pytest.approx(500)


def test_unreachable_market_has_a_structural_gap(tmp_path):
    folder = chokepoint(tmp_path / "u")
    links = pd.read_csv(folder / "links.csv")
    links.loc[links["to_site"] == "mkt_de", "commodity"] = "slag"  # no magnets to DE
    links.to_csv(folder / "links.csv", index=False)
    inst = load(folder)
    res = inst.solve()
    r = _row(res.mincut, "mkt_de", "magnet")
    assert r["min_cut"] == 0
    assert r["structural_gap"] == 60
    assert r["cut_elements"] == ""
    assert r["served"] == 0


def test_per_period_bound_ignores_inventory_carried_over(tmp_path):
    """Documented limit: the cut is per period; stock built earlier can add to it."""
    inst = load(one_mine_one_market(tmp_path / "m", [2024, 2025], {2024: 50, 2025: 150}))
    res = inst.solve()
    mc = res.mincut
    assert mc["min_cut"].tolist() == pytest.approx([100, 100])  # the mine, each period
    assert mc["cut_elements"].tolist() == ["mine", "mine"]
    # 50 t mined in 2024 are stored and served in 2025, above that period's cut
    assert _row(mc, "mkt", "ore", 2025)["served"] == pytest.approx(150)


# ---------------------------------------------------------------------------
# instances/tiny (docs/analysis.md, "Min-cut")


def test_tiny_hand_computed():
    net = load(TINY)
    res = net.solve()
    mc = res.mincut
    # NdPr: 500 t ore at the separator x 0.2 t NdPr / 0.3 t per magnet = 333.3 t of magnets
    for market, q in (("market_eu", 200), ("market_us", 100)):
        r = _row(mc, market, "magnet_ht")
        assert r["min_cut"] == pytest.approx(1000 / 3)
        assert r["key_input"] == "NdPr_oxide"
        assert r["cut_elements"] == "separation"
        assert r["cut_countries"] == "CN"
        assert r["served"] == q
    # La/Ce: 500 t ore x 0.8 (light ore, the better yield) = 400 t
    r = _row(mc, "market_eu", "LaCe_oxide")
    assert r["min_cut"] == pytest.approx(400)
    assert (r["key_input"], r["cut_elements"]) == ("LaCe_oxide", "separation")


def test_tiny_per_key_input_graphs_with_networkx():
    net = load(TINY)
    # along Dy: 100 t southern ore x 0.1 t Dy / 0.02 t per GBD magnet = 500 t, but the
    # magnet line makes 400: the cut is the magnet line
    g = graph(net, "magnet_ht", "Dy_oxide")
    value, (reach, _) = nx.minimum_cut(g, "source", "c|market_eu|magnet_ht")
    assert value == pytest.approx(400)
    assert g["pi|mine_south"]["po|mine_south"]["capacity"] == pytest.approx(500)
    assert g["pi|magnet_line"]["po|magnet_line"]["capacity"] == pytest.approx(400)
    # along NdPr: the separator's 500 t of ore give 100 t NdPr = 333.3 t of magnets
    g = graph(net, "magnet_ht", "NdPr_oxide")
    value, _ = nx.minimum_cut(g, "source", "c|market_us|magnet_ht")
    assert value == pytest.approx(1000 / 3)
    with pytest.raises(InputError, match="not a key input"):
        graph(net, "magnet_ht", "LaCe_oxide")


def test_tiny_scenarios():
    net = load(TINY)
    # half the southern mine: 50 t x 0.1 / 0.02 = 250 t of magnets along Dy, below NdPr's 333
    mc = net.with_scenario("south-mine-halved").solve().mincut
    for market in ("market_eu", "market_us"):
        r = _row(mc, market, "magnet_ht")
        assert r["min_cut"] == pytest.approx(250)
        assert (r["key_input"], r["cut_elements"], r["cut_countries"]) == (
            "Dy_oxide",
            "mine_south",
            "MM",
        )
    assert _row(mc, "market_us", "magnet_ht")["served"] == pytest.approx(50)
    # no southern ore: no Dy, no magnet; the closed mine is the (empty) cut
    res = net.with_scenario("no-heavy-ore").solve()
    mc = res.mincut
    for market, q in (("market_eu", 200), ("market_us", 100)):
        r = _row(mc, market, "magnet_ht")
        assert r["min_cut"] == 0
        assert r["structural_gap"] == q
        assert r["cut_elements"] == "mine_south"
    r = _row(mc, "market_eu", "LaCe_oxide")
    assert r["min_cut"] == pytest.approx(400)
    assert r["cut_elements"] == "separation"  # the closed mine is no limit here


def test_solve_out_writes_mincut_csv(tmp_path):
    r = CliRunner().invoke(app, ["solve", str(TINY), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    mc = pd.read_csv(tmp_path / "out" / "mincut.csv")
    assert list(mc.columns) == COLUMNS
    assert len(mc) == 3
    eu = mc.loc[(mc["market"] == "market_eu") & (mc["commodity"] == "magnet_ht")].iloc[0]
    assert eu["min_cut"] == pytest.approx(1000 / 3)
    assert not list((tmp_path / "out").glob(".rechain-*"))


def test_solve_out_imports_csgraph_without_pyomos_scipy_stats(tmp_path):
    """``mincut.csv`` needs scipy's csgraph, not what Pyomo's scipy hook imports with it
    (scipy.stats, 0.6-1.4 s); Pyomo's deferred scipy still resolves when used."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = (
        "import json, sys\n"
        "from optimizer.cli import main\n"
        f"sys.argv = ['rechain', 'solve', {str(TINY)!r}, '--out', {str(tmp_path / 'o')!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "before = sorted(m for m in sys.modules if m.startswith('scipy.'))\n"
        "from pyomo.common.dependencies import scipy\n"
        "scipy.sparse.csr_array  # Pyomo's own use: its callback runs now\n"
        "print(json.dumps([before, 'scipy.stats' in sys.modules]))\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    before, stats_after = json.loads(p.stdout.strip().splitlines()[-1])
    assert "scipy.sparse.csgraph" in before
    assert not [m for m in before if m.split(".")[1] in ("stats", "integrate", "spatial")]
    assert stats_after
    assert len(pd.read_csv(tmp_path / "o" / "mincut.csv")) == 3


# ---------------------------------------------------------------------------
# world-2024


@pytest.fixture(scope="module")
def world():
    net = load(INSTANCES / "world-2024")
    return net, net.solve()


def test_world_table_is_sane_and_fast(world):
    net, res = world
    t0 = time.perf_counter()
    mc = mincut(net, res.shortages)
    seconds = time.perf_counter() - t0
    assert seconds < 5, seconds  # about 0.5 s on an idle machine
    demand = net.tables["demand"]
    assert len(mc) == len(demand.loc[demand["quantity"] > 0])
    assert list(mc.columns) == COLUMNS
    assert np.isfinite(mc["min_cut"]).all()
    assert (mc["min_cut"] > 0).all()
    assert (mc["cut_elements"] != "").all()
    # the LP can never deliver more than the structure allows
    assert (mc["served"] <= mc["min_cut"] * (1 + 1e-9) + 1e-6).all()
    assert res.shortages["unmet"].sum() >= mc["structural_gap"].sum() - 1e-6
    # HT magnets for EVs: Dy binds before NdPr. DIRECTION FLIPPED (calib-2024): with 2024's
    # published-size Dy supply (~2.2 kt, smm-hre-output-2024) and GBD capacity limits
    # (est-gbd-capacity), Dy is the key input (it was NdPr while GBD was free).
    r = _row(mc, "mkt_us", "ev_traction")
    assert r["key_input"] == "Dy_metal"
    # defence magnets for the US: the SmCo plants outside China are the cut
    # DIRECTION CHANGED (calib-2024): Dy metal (no non-Chinese Dy separation in 2024), was SmCo.
    r = _row(mc, "mkt_us_defense", "defense")
    assert r["key_input"] == "Dy_metal"
    assert "CN" not in r["cut_countries"].split(";")
    pd.testing.assert_frame_equal(res.mincut, mc)


def test_world_cuts_agree_with_networkx(world):
    net, res = world
    mc = res.mincut
    for r in mc.sample(6, random_state=0).itertuples(index=False):
        g = graph(net, r.commodity, r.key_input, r.period)
        value, _ = nx.minimum_cut(g, "source", f"c|{r.market}|{r.commodity}")
        assert r.min_cut == pytest.approx(value, rel=1e-7)


def test_world_scenario_with_shortages_respects_the_cut():
    net = load(INSTANCES / "world-2024").with_scenario("great-power-stop")
    res = net.solve()
    mc = res.mincut
    assert res.total_unmet > 0
    assert (mc["served"] <= mc["min_cut"] * (1 + 1e-9) + 1e-6).all()
