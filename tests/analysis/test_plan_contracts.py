"""Long-term contracts as a first-stage decision of ``rechain plan`` (docs/plan.md),
checked by hand on the short-run chain of tests/model/test_shortrun.py.

China makes the EU's magnets (18 USD/t) and Japan Japan's (32 USD/t); the JP->EU lane
carried nothing in the reference plan, so in the short run it is shut.  When China bans
magnet exports the Japanese plant may run 60 t (ramp 0.2 over its 50 t): Japan's 50 t
and 10 t the EU could use, if the lane were open.  A contract reserving R t/yr on it
holds it open for R t: with the ban (p = 0.5) each of the 10 t saves 1,000 - 32 = 968 USD,
so the plan reserves 10 t/yr iff 0.5 x 968 = 484 USD exceeds the cost of 1 t/yr.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.analysis.plan import plan
from optimizer.cli import app
from optimizer.errors import InputError
from tests.builders import scenario_file
from tests.model.test_shortrun import BAN, RAMP, chain

runner = CliRunner()


def _inst(tmp_path, horizon="short"):
    folder = chain(tmp_path / "c", short_run=RAMP, horizon=horizon)
    return folder, scenario_file(tmp_path, BAN, "ban")


@pytest.mark.parametrize(
    ("cost", "reserved", "objective"),
    [
        # 10 x 200 + 0.5 x 3,400 + 0.5 x (10 x 32 + 50 x 32 + 90 x 1,000)
        (200, 10, 2_000 + 1_700 + 45_960),
        (483, 10, 4_830 + 1_700 + 45_960),
        # nothing reserved: 0.5 x 3,400 + 0.5 x (50 x 32 + 100 x 1,000)
        (485, 0, 52_500),
    ],
)
def test_contract_reserved_iff_it_pays_and_a_ban_still_holds(tmp_path, cost, reserved, objective):
    folder, ban = _inst(tmp_path)
    res = plan(
        load(folder),
        ["none", ban],
        [0.5, 0.5],
        stockpiles=[],
        contracts=["mag_jp_eu", "mag_cn_eu"],
        contract_cost=cost,
    )
    assert res.objective == pytest.approx(objective)
    p = res.plan.set_index("id")
    got = float(p.loc["mag_jp_eu", "amount"]) if "mag_jp_eu" in p.index else 0.0
    assert got == pytest.approx(reserved)
    # a contract on China's lane buys nothing: the export ban holds against it
    assert "mag_cn_eu" not in p.index
    if reserved:
        assert p.loc["mag_jp_eu", "kind"] == "contract"
        assert p.loc["mag_jp_eu", "unit"] == "t/yr reserved"
        assert p.loc["mag_jp_eu", "cost"] == pytest.approx(10 * cost)
        sc = res.scenarios.set_index("scenario")
        assert sc.loc["ban", "second_stage_cost"] == pytest.approx(91_920)
        assert sc.loc["ban", "objective_without_plan"] == pytest.approx(101_600)
        # the ban adds rows: the expected-value problem is the undisrupted chain, which
        # reserves nothing; wait and see reserves only for the ban: EVPI = 0.5 x 10 x cost
        assert res.summary["vss"] == pytest.approx(52_500 - objective)
        assert res.summary["evpi"] == pytest.approx(0.5 * 10 * cost)


def test_contracts_are_a_short_run_decision_and_name_real_links(tmp_path):
    folder, ban = _inst(tmp_path, horizon="long")
    with pytest.raises(InputError, match="in the long run every lane is open already"):
        plan(load(folder), ["none", ban], contracts=["mag_jp_eu"], contract_cost=1)
    with pytest.raises(InputError, match="no-such-lane: no such link"):
        plan(load(folder), ["none", ban], contracts=["no-such-lane"], contract_cost=1)
    with pytest.raises(InputError, match="has no value .* give --contract-cost"):
        plan(load(folder), ["none", ban], contracts=["mag_jp_eu"])


def test_cli_contract(tmp_path):
    folder, ban = _inst(tmp_path)
    out = tmp_path / "out"
    args = ["plan", str(folder), "-s", "none", "-s", ban, "--no-stockpiles"]
    r = runner.invoke(
        app,
        [
            *args,
            "--contract",
            "mag_jp_eu:magnet",
            "--contract-cost",
            "200",
            "--out",
            str(out),
            "--report",
            str(tmp_path / "plan.html"),
        ],
    )
    assert r.exit_code == 0, r.output
    html = (tmp_path / "plan.html").read_text(encoding="utf-8")
    # the portfolio names the lane's ends and the unit
    assert "from mag_jp to eu" in html and "t a year reserved" in html
    assert "magnet on mag_jp_eu" in r.output
    import pandas as pd

    p = pd.read_csv(out / "plan.csv")
    assert p[["kind", "id", "amount", "cost"]].values.tolist() == [
        ["contract", "mag_jp_eu", 10.0, 2_000.0]
    ]
    for bad, message in (
        (["--contract", "a:b:c"], "expected LINK or LINK:COMMODITY"),
        (["--contract", "mag_jp_eu:ore", "--contract-cost", "1"], "mag_jp_eu:ore: no such link"),
    ):
        r = runner.invoke(app, [*args, *bad])
        assert r.exit_code == 2 and message in r.output, r.output
    r = runner.invoke(
        app, [*args, "--horizon", "long", "--contract", "mag_jp_eu", "--contract-cost", "1"]
    )
    assert r.exit_code == 2 and "give --horizon short" in r.output
