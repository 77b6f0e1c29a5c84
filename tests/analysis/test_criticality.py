"""N-1 / N-2 criticality: hand-computed rankings, and Dask runs identical to serial runs."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.analysis.criticality import criticality
from optimizer.cli import app
from tests.builders import commodity, recipe_row, site, write_instance
from tests.conftest import INSTANCES, TINY

runner = CliRunner()


def _one_separator(tmp_path):
    """Two mines feed the only separator, which serves two markets: a single chokepoint."""
    return write_instance(
        tmp_path / "one_sep",
        {},
        commodities=[commodity("ore", "mine"), commodity("oxide", "separation")],
        sites=[
            site("au", "AU", "mine"),
            site("br", "BR", "mine"),
            site("sep", "MY", "separation"),
            site("m1", "JP", "market"),
            site("m2", "US", "market"),
        ],
        recipes=[
            recipe_row("dig", "ore"),
            recipe_row("split", "ore", "input"),
            recipe_row("split", "oxide"),
        ],
        processes=[
            {
                "id": "au",
                "site": "au",
                "recipe": "dig",
                "capacity": 100,
                "cost": 10,
                "source": "test",
            },
            {
                "id": "br",
                "site": "br",
                "recipe": "dig",
                "capacity": 100,
                "cost": 12,
                "source": "test",
            },
            {
                "id": "sep",
                "site": "sep",
                "recipe": "split",
                "capacity": 200,
                "cost": 5,
                "source": "test",
            },
        ],
        links=[
            {
                "id": "au_sep",
                "from_site": "au",
                "to_site": "sep",
                "commodity": "ore",
                "capacity": "",
                "cost": 1,
                "source": "test",
            },
            {
                "id": "br_sep",
                "from_site": "br",
                "to_site": "sep",
                "commodity": "ore",
                "capacity": "",
                "cost": 1,
                "source": "test",
            },
            {
                "id": "sep_m1",
                "from_site": "sep",
                "to_site": "m1",
                "commodity": "oxide",
                "capacity": "",
                "cost": 2,
                "source": "test",
            },
            {
                "id": "sep_m2",
                "from_site": "sep",
                "to_site": "m2",
                "commodity": "oxide",
                "capacity": "",
                "cost": 3,
                "source": "test",
            },
        ],
        demand=[
            {
                "market": "m1",
                "commodity": "oxide",
                "period": 2024,
                "quantity": 60,
                "shortage_penalty": "",
                "source": "test",
            },
            {
                "market": "m2",
                "commodity": "oxide",
                "period": 2024,
                "quantity": 40,
                "shortage_penalty": "",
                "source": "test",
            },
        ],
    )


def test_single_chokepoint_ranks_first_with_hand_numbers(tmp_path):
    inst = load(_one_separator(tmp_path))
    assert inst.solve().objective == pytest.approx(100 * 16 + 60 * 2 + 40 * 3)  # 1,840: all from AU
    r, detail = criticality(inst, "site")
    assert r["element"].tolist() == ["sep", "au", "br"]
    top = r.iloc[0]
    assert top["unmet"] == pytest.approx(100) and top["unmet_share"] == pytest.approx(1.0)
    assert top["cost_increase"] == pytest.approx(
        100 * 1000 - 1840
    )  # penalty 1,000/t replaces the chain
    assert top["worst_market"] == "m1" and top["worst_market_unmet"] == pytest.approx(60)
    au = r.set_index("element").loc["au"]
    assert au["unmet"] == 0 and au["cost_increase"] == pytest.approx(
        100 * 2
    )  # Brazil costs 2 more per t
    assert r.set_index("element").loc["br", "cost_increase"] == 0
    assert set(r.columns) >= {
        "rank",
        "element",
        "kind",
        "unmet",
        "unmet_share",
        "cost_increase",
        "worst_market",
    }
    assert detail.set_index(["element", "market"])["unmet_increase"].to_dict() == pytest.approx(
        {("sep", "m1"): 60, ("sep", "m2"): 40}
    )


def test_pairs_among_the_top(tmp_path):
    inst = load(_one_separator(tmp_path))
    r, _ = criticality(inst, "site", k=2, pairs_from=3)
    assert len(r) == 3
    assert set(r["element"]) == {"sep + au", "sep + br", "au + br"}
    assert (r["unmet"] == 100).all()  # both mines gone starves the separator too


def test_tiny_by_site_by_hand():
    r, _ = criticality(load(TINY), "site")
    first = r.iloc[0]
    assert first["element"] == "sep"  # the only separator: everything is short
    assert first["unmet"] == pytest.approx(350)
    assert first["cost_increase"] == pytest.approx(35_000_000 - 2_925_000)
    mag = r.set_index("element").loc["magnets"]
    assert mag["unmet"] == pytest.approx(300)  # La/Ce still served (docs/tiny.md, no-heavy-ore)
    assert mag["cost_increase"] == pytest.approx(30_448_750 - 2_925_000)


def test_by_kinds_cover_the_instance():
    inst = load(TINY)
    for by, n in (("site", 4), ("company", 4), ("country", 3), ("country-stage", 4), ("link", 6)):
        r, _ = criticality(inst, by)
        assert len(r) == n, by


def test_dask_local_cluster_gives_identical_table():
    inst = load(INSTANCES / "world-2024")
    serial, sd = criticality(inst, "country-stage")
    parallel, pd_ = criticality(inst, "country-stage", workers=2)
    pd.testing.assert_frame_equal(serial, parallel)
    pd.testing.assert_frame_equal(sd.reset_index(drop=True), pd_.reset_index(drop=True))
    assert serial.iloc[0]["element"] == "CN:separation"


def test_cli_criticality_writes_contract_file(tmp_path):
    r = runner.invoke(app, ["criticality", str(TINY), "--by", "site", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.stdout + r.stderr
    df = pd.read_csv(tmp_path / "criticality.csv")
    assert list(df.columns[:7]) == [
        "rank",
        "element",
        "kind",
        "unmet",
        "unmet_share",
        "cost_increase",
        "worst_market",
    ]
    assert df.iloc[0]["element"] == "sep"
    assert "sep" in r.stdout


def test_cli_bad_by_is_exit_2(tmp_path):
    r = runner.invoke(app, ["criticality", str(TINY), "--by", "planet"])
    assert r.exit_code == 2
    assert "--by 'planet'" in r.stderr


@pytest.mark.parametrize(
    "command", [["criticality", str(TINY)], ["sweep", str(TINY), "halved-x-penalty"]]
)
def test_unreachable_scheduler_is_exit_2_naming_it(command):
    """Both parallel commands go through one runner: no traceback, exit 2, the address named."""
    r = runner.invoke(app, [*command, "--scheduler", "tcp://127.0.0.1:9"])
    assert r.exit_code == 2, r.stdout + r.stderr
    assert "--scheduler: cannot connect to tcp://127.0.0.1:9" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def test_cli_criticality_report_holds_the_ranking(tmp_path):
    path = tmp_path / "crit.html"
    r = runner.invoke(app, ["criticality", str(TINY), "--by", "site", "--report", str(path)])
    assert r.exit_code == 0, r.stdout + r.stderr
    html = path.read_text()
    assert "mine_south" in html and "sep" in html
    assert "criticality" in html.lower() or "chokepoint" in html.lower()


def test_case_that_breaks_a_hard_policy_ranks_first_as_infeasible(tmp_path):
    # two mines (cn 5 USD/t, au 10 USD/t, 100 t each) for 100 t of EU demand, and a
    # production target of 80 t in China: without cn the target cannot hold at all
    from tests.builders import mines_to_market, scenario_file

    folder = mines_to_market(tmp_path / "two", [("cn", "CN", 5), ("au", "AU", 10)])
    sc = scenario_file(
        tmp_path,
        "policies:\n  - type: production_target\n    id: cn-target\n    commodities: ore\n"
        "    region: CN\n    min: 80\n",
    )
    inst = load(folder, [sc])
    rank, detail = criticality(inst, by="site")
    r = rank.set_index("element")
    assert list(rank["element"]) == ["cn", "au"]
    assert r.loc["cn", "status"] == "infeasible" and pd.isna(r.loc["cn", "unmet"])
    assert pd.isna(r.loc["cn", "cost_increase"])
    # without au nothing changes: cn already serves all 100 t at 6 USD/t
    assert r.loc["au", "status"] == "optimal"
    assert r.loc["au", "unmet"] == 0 and r.loc["au", "cost_increase"] == pytest.approx(0)
    assert detail.empty
    out = tmp_path / "out"
    res = runner.invoke(app, ["criticality", str(folder), "-s", sc, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "infeasible" in res.output and "hard policy" in res.output
    csv = pd.read_csv(out / "criticality.csv")
    assert csv.loc[0, "element"] == "cn" and csv.loc[0, "status"] == "infeasible"
    html = tmp_path / "crit.html"
    res = runner.invoke(app, ["criticality", str(folder), "-s", sc, "--report", str(html)])
    assert res.exit_code == 0, res.output
    assert "infeasible: a hard policy cannot hold without it" in html.read_text()


@pytest.mark.parametrize("instance", [TINY, INSTANCES / "world-2024"])
def test_every_what_if_case_equals_a_rebuilt_instance_without_the_element(instance):
    """Independent check of the persistent re-solve: each N-1 case (bounds zeroed on one
    built model) has the objective and unmet demand of a fresh build of the instance
    whose tables say the site has no capacity and its lanes carry nothing."""
    import copy

    import numpy as np

    from optimizer.analysis.whatif import WhatIf
    from optimizer.solve import solve

    inst = load(instance)
    w = WhatIf.from_instance(inst)
    sites = inst.sites.loc[inst.sites["stage"] != "market", "id"].tolist()
    if len(sites) > 6:  # world-2024: the chokepoints the report names, and a few others
        sites = ["cn_sep_baotou", "mm_kachin", "jp_mag", "us_mp_sep", "vn_metal"]
    for s in sites:
        case = w.solve_without({s})
        cut = copy.copy(inst)
        cut.tables = dict(inst.tables)
        pro = inst.processes.copy()
        pro.loc[pro["site"] == s, "capacity"] = 0.0
        links = inst.links.copy()
        links.loc[(links["from_site"] == s) | (links["to_site"] == s), "capacity"] = 0.0
        cut.tables.update(processes=pro, links=links)
        res = solve(cut)
        assert case.objective == pytest.approx(res.objective, rel=1e-9), s
        fresh = res.shortages.set_index(["market", "commodity", "period"])["unmet"]
        uk = w.unmet_keys
        keys = list(zip(uk["market"], uk["commodity"], uk["period"], strict=True))
        assert np.allclose(case.unmet, fresh.reindex(keys).to_numpy(), atol=1e-6), s


def _valued_tiny(folder):
    """instances/tiny with end-use values: magnets 1 M USD/t, La/Ce oxide 2,000 USD/t."""
    p = folder / "commodities.csv"
    rows = p.read_text().splitlines()
    rows[0] += ",value"
    rows[1:] = [
        (r.removesuffix(",") + ",illustrative,1000000")
        if r.startswith("magnet_ht")
        else r + (",2000" if r.startswith("LaCe") else ",")
        for r in rows[1:]
    ]
    p.write_text("\n".join(rows) + "\n")
    return folder


def test_ranking_by_value_at_risk_and_only_the_chosen_markets(tiny_copy):
    inst = load(_valued_tiny(tiny_copy))
    r, detail = criticality(inst, "site")
    top = r.iloc[0]
    # the separator: without it no magnets (300 t x 1 M) and no La/Ce (50 t x 2,000)
    assert top["element"] == "sep"
    assert top["unmet_value"] == pytest.approx(300 * 1e6 + 50 * 2000)
    assert top["worst_market"] == "market_eu" and top["worst_commodity"] == "magnet_ht"
    assert set(detail.columns) >= {"unmet_increase", "unmet_value_increase"}
    us, _ = criticality(inst, "site", markets=["US"])
    assert us.set_index("element").loc["sep", "unmet_value"] == pytest.approx(100 * 1e6)
    outside, _ = criticality(inst, "site", markets=["all_except:US"])
    assert outside.set_index("element").loc["sep", "unmet_value"] == pytest.approx(
        200 * 1e6 + 50 * 2000
    )


def test_damage_is_the_increase_over_the_scenario(tiny_copy):
    """Under south-mine-halved the US is already 50 t short; losing the northern mine adds
    only what it adds, not the scenario's own shortage."""
    inst = load(_valued_tiny(tiny_copy), ["south-mine-halved"])
    r, _ = criticality(inst, "site")
    assert inst.solve().shortages["unmet"].sum() == pytest.approx(50)
    north = r.set_index("element").loc["mine_north"]
    cut = copy_without(inst, "mine_north")
    assert north["unmet"] == pytest.approx(cut.shortages["unmet"].sum() - 50)
    assert north["unmet_value"] == pytest.approx(cut.shortages["unmet_value"].sum() - 50e6)


def copy_without(inst, site):
    import copy

    from optimizer.solve import solve

    cut = copy.copy(inst)
    cut.tables = dict(inst.tables)
    pro = inst.processes.copy()
    pro.loc[pro["site"] == site, "capacity"] = 0.0
    cut.tables["processes"] = pro
    return solve(cut)


def test_cli_markets_and_a_bad_market(tiny_copy):
    _valued_tiny(tiny_copy)
    r = runner.invoke(app, ["criticality", str(tiny_copy), "--markets", "US"])
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "at risk USD" in r.stdout and "in US" in r.stdout
    r = runner.invoke(app, ["criticality", str(tiny_copy), "--markets", "Mars"])
    assert r.exit_code == 2 and "--markets: 'Mars'" in r.stderr
