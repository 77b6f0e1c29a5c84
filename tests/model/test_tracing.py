"""Origin tracing: labels follow material through transformations; content rules bind.

The two-chain instance (hand computation in docs/policies.md, "Origin tracing"):

    cn_mine (CN, 10/t, cap 100) -> cn_sep (CN, 5/t)  \\
                                                      -> jp_magnet (JP, 20/t) -> us_def (US, 30 t)
    au_mine (AU, 30/t, cap 100) -> my_sep (MY, 8/t)  /                       -> jp_mkt (JP, 50 t)

Every link costs 1/t.  A tonne of magnet costs 38 through China, 61 through
Australia/Malaysia.
"""

from __future__ import annotations

import pandas as pd
import pytest

from optimizer import load
from optimizer.cli import app
from tests.builders import commodity, recipe_row, site, write_instance
from tests.builders import scenario_file as _scenario
from tests.conftest import TINY


def _link(a: str, b: str, c: str) -> dict:
    return {
        "id": f"{a}.{b}.{c}",
        "from_site": a,
        "to_site": b,
        "commodity": c,
        "capacity": "",
        "cost": 1,
        "source": "test",
    }


def _proc(pid: str, site_: str, recipe: str, cost: float, cap: float | str = "") -> dict:
    return {
        "id": pid,
        "site": site_,
        "recipe": recipe,
        "capacity": cap,
        "cost": cost,
        "source": "test",
    }


def _demand(market: str, c: str, q: float) -> dict:
    return {
        "market": market,
        "commodity": c,
        "period": 2024,
        "quantity": q,
        "shortage_penalty": "",
        "source": "test",
    }


def two_chains(folder, mixed: bool = False):
    """The instance above; with ``mixed`` the magnet needs 1 t of oxide_a (China only) and
    1 t of oxide (either chain)."""
    coms = [
        commodity("ore", "mine"),
        commodity("oxide", "separation"),
        commodity("magnet", "magnet"),
    ]
    recipes = [
        recipe_row("dig", "ore"),
        recipe_row("sep", "ore", "input"),
        recipe_row("sep", "oxide"),
        recipe_row("make", "oxide", "input"),
        recipe_row("make", "magnet"),
    ]
    procs = [
        _proc("cn_mine", "cn_mine", "dig", 10, 100),
        _proc("au_mine", "au_mine", "dig", 30, 100),
        _proc("cn_sep", "cn_sep", "sep", 5),
        _proc("my_sep", "my_sep", "sep", 8),
        _proc("jp_magnet", "jp_magnet", "make", 20),
    ]
    links = [
        _link("cn_mine", "cn_sep", "ore"),
        _link("au_mine", "my_sep", "ore"),
        _link("cn_sep", "jp_magnet", "oxide"),
        _link("my_sep", "jp_magnet", "oxide"),
        _link("jp_magnet", "us_def", "magnet"),
        _link("jp_magnet", "jp_mkt", "magnet"),
    ]
    sites = [
        site("cn_mine", "CN", "mine"),
        site("au_mine", "AU", "mine"),
        site("cn_sep", "CN", "separation"),
        site("my_sep", "MY", "separation"),
        site("jp_magnet", "JP", "magnet"),
        site("us_def", "US", "market"),
        site("jp_mkt", "JP", "market"),
    ]
    if mixed:
        coms.append(commodity("oxide_a", "separation"))
        recipes += [recipe_row("sep_a", "oxide_a"), recipe_row("make", "oxide_a", "input")]
        procs.append(_proc("cn_sep_a", "cn_sep", "sep_a", 1))
        links.append(_link("cn_sep", "jp_magnet", "oxide_a"))
    return write_instance(
        folder,
        {"defaults": {"shortage_penalty": 1000}},
        commodities=coms,
        sites=sites,
        recipes=recipes,
        processes=procs,
        links=links,
        demand=[_demand("us_def", "magnet", 30), _demand("jp_mkt", "magnet", 50)],
    )


BAN = """policies:
  - type: procurement_ban
    id: dfars
    market: us_def
    origin: CN
    from_stage: mine
"""
TRACE = "tracing:\n  - origin: CN\n"


def test_tracing_alone_changes_nothing_but_adds_labels(tmp_path):
    inst = load(two_chains(tmp_path / "i"))
    base = inst.solve()
    traced = inst.with_scenario(_scenario(tmp_path, TRACE)).solve()
    assert base.objective == pytest.approx(80 * 38)
    assert traced.objective == pytest.approx(80 * 38)
    assert traced.summary["cost_breakdown"]["tracing"] == 0
    # the same flows, now labelled: everything passed through China
    assert set(traced.flows["origin"]) == {"CN"}
    assert set(base.flows["origin"]) == {""}
    key = ["source", "target", "commodity"]
    pd.testing.assert_frame_equal(
        base.flows.groupby(key)["quantity"].sum().to_frame(),
        traced.flows.groupby(key)["quantity"].sum().to_frame(),
    )
    use = traced.origins.loc[traced.origins["step"] == "use"].set_index(["site", "origin"])
    assert use.loc[("us_def", "CN"), "quantity"] == pytest.approx(30)
    assert use.loc[("jp_mkt", "CN"), "quantity"] == pytest.approx(50)
    # content.csv: Japan receives oxide that is 100 % Chinese-origin
    c = traced.content.set_index(["country", "commodity", "origin"])
    assert c.loc[("JP", "oxide", "CN"), "share"] == pytest.approx(1.0)


def test_procurement_ban_binds_and_costs_the_premium(tmp_path):
    inst = load(two_chains(tmp_path / "i"), [_scenario(tmp_path, BAN)])
    assert [t.name for t in inst.origins] == ["CN"]
    res = inst.solve()
    # US defense's 30 t come through Australia/Malaysia (61/t), Japan's 50 t through China (38/t)
    assert res.objective == pytest.approx(30 * 61 + 50 * 38)
    use = res.origins.loc[res.origins["step"] == "use"]
    banned = use.loc[(use["site"] == "us_def") & (use["origin"] == "CN"), "quantity"].sum()
    assert banned == 0
    assert use.loc[use["site"] == "us_def", "quantity"].sum() == pytest.approx(30)
    # checked from flows alone: nothing of Chinese origin reaches the US market
    into_us = res.flows.loc[res.flows["target"] == "us_def"]
    assert set(into_us["origin"]) == {"clean"}
    row = res.policies.set_index("policy").loc["dfars"]
    assert row["type"] == "procurement_ban"
    # one tonne of Chinese-origin magnet allowed would save 61 - 38 = 23
    assert row["shadow_price"] == pytest.approx(23)
    assert bool(row["binding"])


def test_ban_from_separation_on_lets_chinese_ore_through(tmp_path):
    body = BAN.replace("from_stage: mine", "from_stage: metal")
    res = load(two_chains(tmp_path / "i"), [_scenario(tmp_path, body)]).solve()
    # nothing in China happens at metal stage or later: the ban does not bind
    assert res.objective == pytest.approx(80 * 38)
    assert set(res.flows["origin"]) == {"clean"}


def test_labels_are_the_union_of_the_inputs(tmp_path):
    """A magnet of Chinese oxide_a and Australian oxide carries CN; it cannot go to the US."""
    inst = load(two_chains(tmp_path / "i", mixed=True))
    traced = inst.with_scenario(_scenario(tmp_path, TRACE)).solve()
    # 80 t of magnets, each: oxide_a 1 + 1 (link), oxide 38 - 20 - 1 = 17 via China, +20 + 1
    assert traced.objective == pytest.approx(80 * (2 + 38))
    banned = inst.with_scenario(_scenario(tmp_path, BAN)).solve()
    # oxide_a only exists in China: no clean magnet can be made; US defense goes short
    us = banned.shortages.set_index("market").loc["us_def"]
    assert us["unmet"] == pytest.approx(30)
    assert banned.objective == pytest.approx(50 * 40 + 30 * 1000)


def test_mixing_relabels_clean_material(tmp_path):
    """When Chinese oxide runs short, Australian oxide is mixed in and relabelled CN (0.01/t)."""
    folder = two_chains(tmp_path / "i", mixed=True)
    procs = pd.read_csv(folder / "processes.csv")
    procs.loc[procs["id"] == "cn_mine", "capacity"] = 60
    procs.to_csv(folder / "processes.csv", index=False)
    res = load(folder, [_scenario(tmp_path, TRACE)]).solve()
    # 80 magnets: 80 oxide_a (2 each), 60 oxide via China (17), 20 via AU/MY (40), 21 to make
    expected = 80 * 2 + 60 * 17 + 20 * 40 + 80 * 21
    relabel = res.origins.loc[res.origins["step"] == "relabel"]
    assert relabel["quantity"].sum() == pytest.approx(20)
    assert set(zip(relabel["origin"], relabel["to_origin"], strict=True)) == {("clean", "CN")}
    assert res.summary["cost_breakdown"]["tracing"] == pytest.approx(20 * 0.01)
    assert res.objective == pytest.approx(expected + 0.2)


def test_extraterritorial_content_control(tmp_path):
    """China's content rule: no CN-origin magnets cross any border (exporter: all)."""
    body = """policies:
  - type: export_control
    id: cn-61
    exporter: all
    origin: CN
    commodities: [magnet]
    max_share: 0
"""
    res = load(two_chains(tmp_path / "i"), [_scenario(tmp_path, body)]).solve()
    cross = res.flows.loc[
        (res.flows["source_country"] != res.flows["target_country"])
        & (res.flows["commodity"] == "magnet")
    ]
    assert (cross.loc[cross["origin"].str.contains("CN"), "quantity"] == 0).all()
    assert cross["quantity"].sum() == pytest.approx(30)  # the US still gets clean magnets
    assert res.objective == pytest.approx(30 * 61 + 50 * 38)


def test_tiny_traced_matches_untraced(tmp_path):
    base = load(TINY).solve()
    traced = load(TINY, [_scenario(tmp_path, TRACE)]).solve()
    assert traced.objective - traced.summary["cost_breakdown"]["tracing"] == pytest.approx(
        base.objective, rel=1e-9
    )
    assert traced.total_unmet == pytest.approx(base.total_unmet)


def test_bad_origins_are_located(tmp_path):
    from optimizer.errors import InputError

    body = BAN.replace("origin: CN", "origin: XX").replace("from_stage: mine", "from_stage: moon")
    with pytest.raises(InputError) as e:
        load(two_chains(tmp_path / "i"), [_scenario(tmp_path, body)])
    msg = str(e.value)
    assert "p.yaml:" in msg and "'XX' is not a country code" in msg and "'moon'" in msg
    many = "tracing:\n" + "".join(f"  - origin: {c}\n" for c in ("CN", "AU", "MY", "JP"))
    with pytest.raises(InputError) as e:
        load(two_chains(tmp_path / "j"), [_scenario(tmp_path, many)])
    assert "at most 3 origins" in str(e.value)


def test_cli_writes_origin_tables(tmp_path):
    from typer.testing import CliRunner

    folder = two_chains(tmp_path / "i")
    out = tmp_path / "out"
    r = CliRunner().invoke(
        app, ["solve", str(folder), "-s", _scenario(tmp_path, BAN), "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    origins = pd.read_csv(out / "origins.csv", keep_default_na=False)
    flows = pd.read_csv(out / "flows.csv", keep_default_na=False)
    use = origins.loc[(origins["step"] == "use") & (origins["site"] == "us_def")]
    assert set(use["origin"]) == {"clean"}
    assert set(flows.loc[flows["target"] == "us_def", "origin"]) == {"clean"}
    assert (out / "content.csv").exists()


def test_report_shows_origin_of_use(tmp_path):
    from optimizer.report import write_report

    inst = load(two_chains(tmp_path / "i"), [_scenario(tmp_path, BAN)])
    res = inst.solve()
    html = write_report(tmp_path / "r.html", res, inst).read_text()
    assert "Origin of what markets use" in html
    section = html[html.index("Origin of what markets use") :]
    # US defense: 100 % clean; Japan: 100 % CN
    assert "us_def" in section and "100.0%" in section and "CN 100.0%" in section
