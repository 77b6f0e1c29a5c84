"""docs/backtest-2025.md is current and its verdicts follow from the numbers."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "backtest" / "make_backtest.py"


def _module():
    spec = importlib.util.spec_from_file_location("make_backtest", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_backtest_page_is_current():
    # solves the five runs of observed-2025.yaml and regenerates the table
    assert _module().main(["--check"]) == 0


@pytest.mark.parametrize(
    ("model", "row", "neutral", "expected"),
    [
        (-0.6, {"low": -0.74, "high": -0.38}, 0.0, "✓ right magnitude"),
        (-0.79, {"low": -0.74, "high": -0.38}, 0.0, "◐ right side, overshoots"),
        (-0.2, {"low": -0.74, "high": -0.38}, 0.0, "◐ right side, falls short"),
        (0.1, {"low": -0.74, "high": -0.38}, 0.0, "✗ wrong side"),
        (-0.54, {"value": 0.128, "tolerance": 0.15}, 0.0, "✗ too low"),
        (0.5, {"direction": "up"}, 0.0, "✓ right side (no magnitude published)"),
        (0.0, {"direction": "up"}, 0.0, "✗ wrong side"),
        (400.0, {"low": 150, "high": 320}, None, "✗ too high"),
        (math.nan, {"low": 2, "high": 4}, 1.0, "✗ no model value (price inside China ≤ 0)"),
        (math.nan, {"value": 1, "metric": "first_short_month"}, None, "✗ never short in the model"),
        (0.0, {"value": 1, "metric": "first_short_month"}, None, "✗ too low"),
        (2.0, {"low": 1, "high": 2, "metric": "first_short_month"}, None, "✓ right magnitude"),
        (0.05, {}, 0.0, "not testable"),
    ],
)
def test_verdicts(model, row, neutral, expected):
    assert _module().verdict(model, row, neutral) == expected


def test_every_row_names_known_sources_runs_and_metrics():
    mod = _module()
    spec = yaml.safe_load((ROOT / "docs" / "backtest" / "observed-2025.yaml").read_text())
    for row in spec["rows"]:
        assert row["run"] in spec["runs"], row["id"]
        assert row["metric"] in mod.METRICS, row["id"]
        assert set(row["sources"]) <= set(spec["sources"]), row["id"]

    def scenarios(instance: str) -> set[str]:  # an extending instance sees its base's too
        folders = [ROOT / "instances" / instance, ROOT / "instances" / "world-2024"]
        return {p.stem for f in folders for p in (f / "scenarios").glob("*.yaml")}

    for run in spec["runs"].values():
        assert set(run["scenarios"]) <= scenarios(run.get("instance", "world-2024"))
