"""The plotly.js partial bundle the reports embed (optimizer/report/assets/README.md):
the plotly.js version the ``plotly`` Python package writes figures for, and every trace
type a report draws.  (That the charts render, with no console error, is checked in
Chromium by tests/report/test_report.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.report.build import HERE, PLOTLY_JS
from tests.conftest import INSTANCES, TINY

ASSETS = HERE / "assets"


def _registered() -> set[str]:
    """Trace types in the bundle: scatter (always in plotly.js's core) and the entry's."""
    entry = (ASSETS / "plotly-rechain.entry.js").read_text(encoding="utf-8")
    return {"scatter"} | set(re.findall(r"require\('plotly\.js/lib/(\w+)'\)", entry)) - {"core"}


def _trace_types(html: Path) -> set[str]:
    text = html.read_text(encoding="utf-8")
    figs = re.findall(r'<script type="application/json" id="fig-[^"]*">(.*?)</script>', text, re.S)
    assert figs, html
    return {t.get("type", "scatter") for f in figs for t in json.loads(f)["data"]}


def test_the_bundle_is_the_plotly_js_the_python_package_ships():
    from plotly.offline import get_plotlyjs_version

    head = (ASSETS / PLOTLY_JS).read_text(encoding="utf-8")[:200]
    assert f"plotly.js v{get_plotlyjs_version()} partial bundle" in head
    assert _registered() == {"scatter", "bar", "box", "heatmap", "scattergeo", "sankey"}


def test_every_trace_type_a_report_draws_is_in_the_bundle(tmp_path):
    runner = CliRunner()
    reports = []
    for name, args in {
        "world": ["solve", str(INSTANCES / "world-2024")],
        "years": ["solve", str(INSTANCES / "world-2024-2035")],
        "compare": ["compare", str(TINY), "--baseline", "-s", "south-mine-halved"],
        "sweep": ["sweep", str(TINY), "halved-x-penalty", "--samples", "4"],
        "survive": [
            "survive",
            str(INSTANCES / "world-2024-2035"),
            "-s",
            "great-power-stop",
            "--start",
            "2026",
        ],
    }.items():
        html = tmp_path / f"{name}.html"
        r = runner.invoke(app, [*args, "--report", str(html)])
        assert r.exit_code == 0, r.output
        reports.append(html)
    drawn = set().union(*(_trace_types(h) for h in reports))
    assert {"sankey", "scattergeo", "bar", "box", "heatmap"} <= drawn  # it sees the figures
    assert drawn <= _registered()
    text = reports[0].read_text(encoding="utf-8")
    assert text.count("partial bundle for rechain") == 1  # plotly.js once per report
    assert len(text.encode()) < 3_000_000
