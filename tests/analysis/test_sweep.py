"""`rechain sweep`: grids and Monte Carlo, hand-computed on tiny, identical serially and on Dask."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.analysis.sweep import (
    build_cases,
    draw_samples,
    parse_spec,
    quantiles,
    run_sweep,
    sweep,
)
from optimizer.cli import app
from optimizer.errors import InputError
from tests.conftest import INSTANCES, TINY

runner = CliRunner()

GRID = """\
id: grid
grid:
  mine: [none, south-mine-halved]
  penalty:
    table: demand
    column: shortage_penalty
    set: [100000, 50000]
"""

MC = """\
id: mc
samples: 8
seed: 3
uncertain:
  - name: south
    table: processes
    where: {id: mine_south}
    column: capacity
    scale: {uniform: [0.4, 0.6]}
"""


def _write(tmp_path, text, name="sw.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _mc_by_hand(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tiny with the southern mine at s x 100 t, 0.4 <= s <= 0.6 (docs/sweep.md).

    Dy = 10 s t makes 500 s t of GBD magnets (0.02 t Dy each): the US is short
    300 - 500 s t.  Cost, linear in s: 29,940,000 - 44,762,000 s USD.
    """
    return 29_940_000 - 44_762_000 * s, 300 - 500 * s


def test_grid_2x2_by_hand(tmp_path):
    res = run_sweep(TINY, _write(tmp_path, GRID))
    df = res.cases
    assert df["case"].tolist() == ["c1", "c2", "c3", "c4"]
    assert df["mine"].tolist() == ["none", "none", "south-mine-halved", "south-mine-halved"]
    assert df["penalty"].tolist() == [100_000, 50_000, 100_000, 50_000]
    assert df["scenarios"].tolist() == ["none", "none", "south-mine-halved", "south-mine-halved"]
    assert (df["status"] == "optimal").all()
    # docs/tiny.md: 2,925,000 at the base; halving the mine leaves the US 50 t short,
    # 7,559,000 with the 100,000/t penalty and 7,559,000 - 50 x 50,000 with 50,000/t
    assert df["objective"].tolist() == pytest.approx([2_925_000, 2_925_000, 7_559_000, 5_059_000])
    assert df["total_unmet"].tolist() == pytest.approx([0, 0, 50, 50])
    assert df["unmet_share"].tolist() == pytest.approx([0, 0, 50 / 350, 50 / 350])
    assert df["cost_increase"].tolist() == pytest.approx([0, 0, 4_634_000, 2_134_000])
    assert df["paired_cost_increase"].tolist() == df["cost_increase"].tolist()  # no samples
    assert df["worst_market"].tolist() == ["", "", "market_us", "market_us"]
    assert df["worst_market_unmet"].tolist() == pytest.approx([0, 0, 50, 50])
    m = res.markets.set_index(["case", "market"])
    assert m.loc[("c3", "market_us"), ["demand", "unmet", "unmet_share"]].tolist() == pytest.approx(
        [100, 50, 0.5]
    )
    assert m.loc[("c4", "market_eu"), "unmet"] == 0
    assert m.loc[("c4", "market_eu"), "demand"] == 250  # 200 t magnets + 50 t La/Ce
    assert len(res.markets) == 8 and res.quantiles.empty


def test_monte_carlo_matches_hand_formula(tmp_path):
    df = sweep(load(TINY), _write(tmp_path, MC))  # the Python API: one row per case
    assert df["case"].tolist() == ["c1-s0"] + [f"c1-s{i}" for i in range(1, 9)]
    base = df.iloc[0]
    assert np.isnan(base["south"]) and base["objective"] == pytest.approx(2_925_000)
    draws = np.random.default_rng(np.random.SeedSequence(3).spawn(1)[0]).uniform(0.4, 0.6, 8)
    s = df.loc[df["sample"] > 0]
    assert s["south"].to_numpy() == pytest.approx(draws, rel=0, abs=0)
    obj, unmet = _mc_by_hand(draws)
    assert s["objective"].to_numpy() == pytest.approx(obj, rel=1e-9)
    assert s["total_unmet"].to_numpy() == pytest.approx(unmet, abs=1e-6)
    assert s["cost_increase"].to_numpy() == pytest.approx(obj - 2_925_000, rel=1e-9)
    assert (s["worst_market"] == "market_us").all()
    q = quantiles(df).set_index("metric")
    assert q.loc["total_unmet", "n"] == 8
    assert q.loc["total_unmet", ["p5", "p50", "p95"]].tolist() == pytest.approx(
        np.percentile(unmet, [5, 50, 95]).tolist(), abs=1e-6
    )
    assert q.loc["cost_increase", "p50"] == pytest.approx(
        np.percentile(obj - 2_925_000, 50), rel=1e-9
    )


def test_draws_depend_on_the_seed_only(tmp_path):
    inst = load(TINY)
    path = _write(tmp_path, MC + GRID.split("\n", 1)[1])
    spec, _ = parse_spec(inst, path)
    draws = draw_samples(spec)
    assert draws.index.tolist() == list(range(1, 9))
    assert draws.equals(draw_samples(parse_spec(inst, path)[0]))  # same seed, same draws
    # fewer samples: the first draws of the longer run; another seed: other draws
    assert draw_samples(parse_spec(inst, path, samples=3)[0]).equals(draws.head(3))
    assert not draw_samples(parse_spec(inst, path, seed=4)[0]).equals(draws)
    # every grid combination sees the same draws (common random numbers)
    cases = build_cases(spec)
    assert len(cases) == 1 + 4 * 8
    by_combo = {
        k: [c.values["south"] for c in cases if c.combo == k and c.sample] for k in (1, 2, 3, 4)
    }
    assert all(v == draws["south"].tolist() for v in by_combo.values())


def test_dask_local_cluster_gives_identical_tables(tmp_path):
    """Two scenario stacks x 3 draws on a LocalCluster of 2 processes == the serial run."""
    spec = _write(tmp_path, MC.replace("samples: 8", "samples: 3") + GRID.split("\n", 1)[1])
    serial = run_sweep(TINY, spec, workers=1)
    assert serial.info["engine"] == "serial"
    parallel = run_sweep(TINY, spec, workers=2)
    assert parallel.info["engine"].startswith("dask (2 worker")
    assert len(parallel.cases) == 1 + 4 * 3
    pd.testing.assert_frame_equal(serial.cases, parallel.cases)
    pd.testing.assert_frame_equal(serial.markets, parallel.markets)
    pd.testing.assert_frame_equal(serial.quantiles, parallel.quantiles)
    df = parallel.cases.set_index("case")
    s = df.loc[["c1-s1", "c1-s2", "c1-s3"], "south"].to_numpy()
    obj, unmet = _mc_by_hand(s)
    assert df.loc[["c1-s1", "c1-s2", "c1-s3"], "objective"].to_numpy() == pytest.approx(obj)
    # same draws in every combination; paired against combination 1 at the same draw:
    # a 50,000 USD/t penalty instead of 100,000 saves 50,000 x the same shortage
    c2 = df.loc[["c2-s1", "c2-s2", "c2-s3"]]
    assert c2["south"].tolist() == s.tolist() and c2["penalty"].tolist() == [50_000] * 3
    assert c2["paired_cost_increase"].to_numpy() == pytest.approx(-50_000 * unmet)
    assert c2["paired_unmet_increase"].tolist() == pytest.approx([0, 0, 0], abs=1e-6)
    assert c2["cost_increase"].to_numpy() == pytest.approx(obj - 50_000 * unmet - 2_925_000)


def test_cli_writes_files_and_ranks(tmp_path):
    out = tmp_path / "out"
    r = runner.invoke(app, ["sweep", str(TINY), "halved-x-penalty", "--out", str(out)])
    assert r.exit_code == 0, r.stdout + r.stderr
    df = pd.read_csv(out / "sweep.csv", keep_default_na=False)
    assert list(df.columns[:6]) == ["case", "combo", "sample", "mine", "penalty", "scenarios"]
    assert {"status", "objective", "total_unmet", "unmet_share", "cost_increase"} <= set(df.columns)
    assert df["objective"].tolist() == pytest.approx([2_925_000, 2_925_000, 7_559_000, 5_059_000])
    markets = pd.read_csv(out / "sweep_markets.csv")
    assert list(markets.columns) == [
        "case",
        "market",
        "demand",
        "unmet",
        "unmet_share",
        "unmet_increase",
        "unmet_value",
        "value_increase",
    ]
    info = json.loads((out / "sweep.json").read_text())
    assert info["cases"] == 4 and info["baseline"] == "c1" and info["statuses"] == {"optimal": 4}
    assert not (out / "sweep_quantiles.csv").exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".rechain-")]
    lines = r.stdout.splitlines()
    ranked = [ln for ln in lines if ln.strip()[:1].isdigit()]
    assert [c.strip() for c in ranked[0].split("│")][:3] == ["1", "c3", "south-mine-halved"]
    assert "+4,634.0" in ranked[0] and "market_us" in ranked[0]  # k USD: 4,634,000 USD
    assert "cost vs baseline k USD" in r.stdout
    # tiny gives no end-use values: the terminal says its tonnes are summed
    assert "no commodities.value" in r.stdout and "unmet t" in r.stdout


def test_sweep_ranks_by_value_at_risk(tmp_path, tiny_copy):
    """With end-use values the sweep adds USD, never tonnes of different commodities:
    magnets worth 2 M USD/t, La/Ce oxide 500 USD/t; halving the southern mine leaves the
    US 50 t of magnets short: 100 M USD at risk."""
    com = pd.read_csv(tiny_copy / "commodities.csv", keep_default_na=False)
    value = com["id"].map({"magnet_ht": 2_000_000, "LaCe_oxide": 500})
    com["value"] = value.astype(object).where(value.notna(), "")
    com["source"] = "illustrative"
    com.to_csv(tiny_copy / "commodities.csv", index=False)
    out = tmp_path / "out"
    r = runner.invoke(app, ["sweep", str(tiny_copy), "halved-x-penalty", "--out", str(out)])
    assert r.exit_code == 0, r.stdout + r.stderr
    df = pd.read_csv(out / "sweep.csv", keep_default_na=False).set_index("case")
    assert df.loc["c3", "unmet_value"] == pytest.approx(100_000_000)
    assert df.loc["c3", "value_increase"] == pytest.approx(100_000_000)
    assert df.loc["c3", "worst_market"] == "market_us"
    assert df.loc["c3", "worst_market_value"] == pytest.approx(100_000_000)
    assert df.loc["c1", "unmet_value"] == 0
    m = pd.read_csv(out / "sweep_markets.csv").set_index(["case", "market"])
    assert m.loc[("c3", "market_us"), "unmet_value"] == pytest.approx(100_000_000)
    assert "value at risk 0 USD" in r.stdout and "at risk M USD" in r.stdout
    ranked = [ln for ln in r.stdout.splitlines() if ln.strip()[:1].isdigit()]
    assert "100.0" in ranked[0] and "c3" in ranked[0]


def test_cli_monte_carlo_writes_quantiles(tmp_path):
    out = tmp_path / "out"
    r = runner.invoke(
        app,
        [
            "sweep",
            str(TINY),
            "halved-x-penalty",
            "--samples",
            "2",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.stdout + r.stderr
    df = pd.read_csv(out / "sweep.csv")
    assert len(df) == 1 + 4 * 2 and df["case"].iloc[0] == "c1-s0"
    q = pd.read_csv(out / "sweep_quantiles.csv")
    assert list(q.columns) == [
        "combo",
        "mine",
        "penalty",
        "metric",
        "n",
        "mean",
        "min",
        "p5",
        "p50",
        "p95",
        "max",
    ]
    assert len(q) == 4 * 8 and (q["n"] == 2).all()
    assert set(q["metric"]) == {
        "unmet_value",
        "value_increase",
        "total_unmet",
        "unmet_share",
        "objective",
        "cost_increase",
        "paired_cost_increase",
        "paired_unmet_increase",
    }
    assert "P5 / P50 / P95" in r.stdout


BAD = [
    (
        "id: x\ngrid:\n  mine: [none, nosuch]\n",
        "sw.yaml:3:grid.mine.1: no scenario 'nosuch' in",
    ),
    (
        "id: x\nbase: [nosuch]\n",
        "sw.yaml:2:base.0: no scenario 'nosuch' in",
    ),
    (
        "id: x\ngrid:\n  cap:\n    table: plants\n    column: capacity\n    set: [1, 2]\n",
        "sw.yaml:4:grid.cap.table: unknown table 'plants'",
    ),
    (
        "id: x\nsamples: 2\nuncertain:\n  - table: processes\n    column: colour\n    scale: {uniform: [0, 1]}\n",
        "sw.yaml:5:uncertain.0.column: processes.csv has no numeric column 'colour' to scale",
    ),
    (
        "id: x\nsamples: 2\nuncertain:\n  - table: processes\n    where: {id: nope}\n    column: capacity\n    scale: {uniform: [0, 1]}\n",
        "sw.yaml:5:where.id: no row of processes.csv has id = 'nope'",
    ),
    (
        "id: x\nsamples: 2\nuncertain:\n  - table: processes\n    column: capacity\n    scale: {triangular: [0.9, 0.5, 1.0]}\n",
        "sw.yaml:6:uncertain.0.scale.triangular: triangular: [lo, mode, hi] needs lo <= mode <= hi",
    ),
    (
        "id: x\nsamples: 2\nuncertain:\n  - table: processes\n    column: capacity\n    scale: {gamma: [1, 2]}\n",
        "sw.yaml:6:uncertain.0.scale.gamma: unknown key",
    ),
    (
        "id: x\nsamples: 2\nuncertain:\n  - table: processes\n    column: capacity\n    scale: {normal: {mean: 1, sd: 0.5}}\n",
        "sw.yaml:6:uncertain.0.scale: a scale factor must be >= 0, but values down to -inf are possible",
    ),
    (
        "id: x\nsamples: 2\nuncertain:\n  - table: demand\n    column: quantity\n    set: {uniform: [-5, 10]}\n",
        "sw.yaml:6:uncertain.0.set: quantity must be >= 0",
    ),
    (
        "id: x\nsamples: 5\n",
        "sw.yaml:2:samples: 5 samples of nothing",
    ),
    (
        "id: x\ngrids: {}\n",
        "sw.yaml:2:grids: unknown key",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_cli_bad_sweep_file_is_exit_2_with_line(tmp_path, text, expected):
    path = _write(tmp_path, text)
    r = runner.invoke(app, ["sweep", str(TINY), str(path)])
    assert r.exit_code == 2, r.stdout + r.stderr
    assert expected in r.stderr.replace(str(tmp_path) + "/", "")
    assert "Traceback" not in r.stdout + r.stderr


def test_unknown_sweep_id_lists_known():
    with pytest.raises(InputError, match="no sweep 'nope'.*known: halved-x-penalty"):
        sweep(TINY, "nope")


def test_shipped_world_sweep_is_valid():
    inst = load(INSTANCES / "world-2024", structure_checks=False)
    spec, stacks = parse_spec(inst, "controls-x-buildout")
    assert [a.name for a in spec.axes] == ["controls", "buildout"]
    assert len(stacks) == 6 and spec.samples > 0 and spec.seed == 42
    assert [n for n, _, _ in spec.uncertain] == ["kachin", "ev_demand"]


def test_cli_infeasible_cases_are_a_status_then_exit_3(tmp_path):
    """A case whose LP has no solution does not stop the sweep: status, files, then exit 3.

    A hard production target of 80 t of heavy ore at the southern mine holds while the
    mine has its 100 t but not in the cases that halve it (50 t): those LPs are
    infeasible for real (HiGHS), not by a mock.
    """
    target = tmp_path / "target.yaml"
    target.write_text(
        "id: south-target\ntitle: 80 t of heavy ore from the southern mine\n"
        "policies:\n  - type: production_target\n    sites: [mine_south]\n"
        "    commodities: ore_heavy\n    min: 80\n"
    )
    out = tmp_path / "out"
    r = runner.invoke(
        app, ["sweep", str(TINY), "halved-x-penalty", "-s", str(target), "--out", str(out)]
    )
    assert r.exit_code == 3, r.stdout + r.stderr
    assert "2 cases infeasible" in r.stderr
    df = pd.read_csv(out / "sweep.csv", keep_default_na=False, na_values=[""])
    assert df["status"].tolist() == ["optimal", "optimal", "infeasible", "infeasible"]
    assert df["objective"].isna().tolist() == [False, False, True, True]
    assert "infeasible" in df["message"].iloc[2] and "south-target" in df["message"].iloc[2]
    assert df["total_demand"].tolist() == [350] * 4
