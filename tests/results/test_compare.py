"""`Result.compare` and `rechain compare`: differences computed right, files written."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.cli import app
from tests.conftest import TINY

runner = CliRunner()


def test_result_compare_numbers():
    base = load(TINY).solve()
    cut = load(TINY, ["south-mine-halved"]).solve()
    c = cut.compare(base)
    assert c.case == "south-mine-halved" and c.base == "baseline"
    assert c.summary["delta_objective"].iloc[0] == pytest.approx(7_559_000 - 2_925_000)
    assert c.shortages.set_index(["market", "commodity"])["delta_unmet"].to_dict() == pytest.approx(
        {("market_us", "magnet_ht"): 50}
    )
    fl = c.flows.set_index(["source_country", "target_country", "commodity"])["delta"]
    assert fl["MM", "CN", "ore_heavy"] == pytest.approx(-50)
    assert fl["CN", "JP", "Dy_oxide"] == pytest.approx(-5)
    costs = c.costs.set_index("group")["delta"]
    assert costs["shortage_penalty"] == pytest.approx(5_000_000)
    assert costs.sum() == pytest.approx(7_559_000 - 2_925_000)


def test_cli_compare_baseline_and_stacked(tmp_path):
    out = tmp_path / "cmp"
    r = runner.invoke(
        app,
        [
            "compare",
            str(TINY),
            "--baseline",
            "-s",
            "south-mine-halved",
            "-s",
            "south-mine-halved+no-heavy-ore",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "who goes short" in r.stdout and "market_us" in r.stdout
    s = pd.read_csv(out / "compare_summary.csv").set_index("case")
    assert s.loc["south-mine-halved", "delta_objective"] == pytest.approx(4_634_000)
    # no Dy at all: no magnets (300 t short); La/Ce still served from northern ore, its NdPr
    # disposed of at 20,000 USD/t (docs/tiny.md)
    assert s.loc["south-mine-halved+no-heavy-ore", "total_unmet"] == pytest.approx(300)
    assert s.loc["south-mine-halved+no-heavy-ore", "objective"] == pytest.approx(30_448_750)
    for case in ("baseline", "south-mine-halved", "south-mine-halved+no-heavy-ore"):
        assert (out / case / "summary.json").exists()
    # costs by group: the case's name in `case`, the two totals beside their change
    c = pd.read_csv(out / "compare_costs.csv")
    assert list(c.columns[:3]) == ["case", "base", "group"]
    c = c.set_index(["case", "group"])
    row = c.loc[("south-mine-halved", "production")]
    assert row["base"] == "baseline"
    assert row["base_cost"] == pytest.approx(2_600_000) and row["case_cost"] == pytest.approx(
        2_300_000
    )
    assert row["delta"] == pytest.approx(-300_000)
    total = c.loc["south-mine-halved", "delta"].sum()
    assert total == pytest.approx(s.loc["south-mine-halved", "delta_objective"])


def test_cli_compare_needs_two_cases():
    r = runner.invoke(app, ["compare", str(TINY), "-s", "south-mine-halved"])
    assert r.exit_code == 2
    assert "at least two cases" in r.stderr


def test_cli_compare_bad_scenario_exit_2(tmp_path):
    r = runner.invoke(
        app, ["compare", str(TINY), "--baseline", "-s", "nosuch", "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == 2
    assert not (tmp_path / "o").exists()
