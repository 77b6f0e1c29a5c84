"""--horizon and --base on the command line: stated in the output, both horizons compared,
and the long run's adaptation named in words."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from optimizer.cli import app
from tests.builders import scenario_file
from tests.model.test_shortrun import BAN, RAMP, chain

runner = CliRunner()


def test_solve_states_the_horizon(tmp_path):
    folder = chain(tmp_path / "c", qualified="yes", short_run=RAMP)
    ban = scenario_file(tmp_path, BAN)
    out = tmp_path / "out"
    r = runner.invoke(
        app, ["solve", str(folder), "-s", ban, "--horizon", "short", "--out", str(out)]
    )
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "short run (near the plan of the undisrupted instance)" in r.stdout
    s = json.loads((out / "summary.json").read_text())
    assert s["horizon"] == "short" and s["objective"] == 91_920
    r = runner.invoke(app, ["solve", str(folder), "-s", ban])
    assert "long run (free re-optimisation)" in r.stdout


def test_bad_horizon_is_exit_2(tmp_path):
    folder = chain(tmp_path / "c", short_run=RAMP)
    r = runner.invoke(app, ["solve", str(folder), "--horizon", "medium"])
    assert r.exit_code == 2 and "--horizon: 'medium': choose short or long" in r.stderr
    r = runner.invoke(app, ["compare", str(folder), "--baseline", "-s", "x", "--horizon", "soon"])
    assert r.exit_code == 2 and "give short, long or short,long" in r.stderr


def test_compare_both_horizons_names_the_adaptation(tmp_path):
    folder = chain(tmp_path / "c", short_run=RAMP)
    ban = scenario_file(tmp_path, BAN)
    r = runner.invoke(app, ["compare", str(folder), "-s", ban, "--horizon", "short,long"])
    assert r.exit_code == 0, r.stdout + r.stderr
    assert f"{ban}@short" in r.stdout and f"{ban}@long" in r.stdout
    # in the long run Japan makes the EU's magnets from Australian ore
    assert "how the long run adapts" in r.stdout
    assert "JP ships magnet to DE: +100.0 t (0.0 → 100.0 t)" in r.stdout
    assert "AU ships ore to JP: +100.0 t" in r.stdout
