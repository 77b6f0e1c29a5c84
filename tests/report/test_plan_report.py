"""The report of ``rechain plan … --report F.html``, opened in Debian's Chromium (as
tests/report/test_report.py does): no console error, no request beyond the file, the
frontier, the portfolio's map and the scenario bars drawn, hostile names shown as text.

The chain is the worked example of docs/plan.md with a third scenario: none (0.8), the
mine at half capacity (0.15), the mine stopped (0.05); ore worth 500 USD/t, a stocked
tonne costs 150 USD (release 20).  Up to 50 t a stocked tonne saves 0.2 x 980 = 196 > 150
in expectation: the plan (weight 0) stocks 50 t; beyond, only the cut draws it (E +101/t,
CVaR -250/t), which pays from the weight 0.404 on: the frontier's second point stocks
100 t.
"""

from __future__ import annotations

import csv
import re

import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from tests.analysis.test_plan import CUT
from tests.builders import one_mine_one_market, scenario_file
from tests.report.test_report import HOSTILE_IMG, HOSTILE_SCRIPT, Opened, browser  # noqa: F401

runner = CliRunner()
HALF = "changes:\n  - table: processes\n    where: {id: mine}\n    set: {capacity: 50}\n"


@pytest.fixture(scope="module")
def plan_report(tmp_path_factory):
    d = tmp_path_factory.mktemp("plan-report")
    inst = one_mine_one_market(d / "i", [2024], {2024: 100}, storage_cost="")
    for name, fix in (("commodities.csv", {"value": "500"}), ("sites.csv", None)):
        path = inst / name
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for r in rows:
            if fix:
                r.update(fix)
            elif r["id"] == "mkt":
                r["name"] = HOSTILE_IMG
            else:
                r["name"] = HOSTILE_SCRIPT
        fields = list(rows[0]) + [k for k in (fix or {}) if k not in rows[0]]
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)
    half = scenario_file(d, HALF, "half")
    cut = scenario_file(d, CUT, "cut")
    report = d / "plan.html"
    args = ["plan", str(inst), "-s", "none", "-s", half, "-s", cut]
    args += ["--prob", "0.8", "--prob", "0.15", "--prob", "0.05"]
    args += ["--stock", "mkt:ore", "--stock-cost", "150", "--release-cost", "20"]
    r = runner.invoke(
        app, [*args, "--frontier", "4", "--out", str(d / "out"), "--report", str(report)]
    )
    assert r.exit_code == 0, r.output
    assert f"report written to {report}" in r.output
    return report, inst, args


def test_plan_report_escapes_and_checks_its_path_first(plan_report, tmp_path):
    report, inst, args = plan_report
    html = report.read_text(encoding="utf-8")
    assert HOSTILE_IMG not in html and HOSTILE_SCRIPT not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # the output paths are checked before any work (exit 2, nothing solved)
    for bad, message in (
        (tmp_path / "plan.txt", "must end in .html"),
        (tmp_path, "is a folder"),
    ):
        r = runner.invoke(app, [*args, "--report", str(bad)])
        assert r.exit_code == 2 and message in r.output, r.output
        assert "planning over" not in r.output


def test_plan_report_in_the_browser(browser, plan_report):  # noqa: F811
    report, _, _ = plan_report
    o = Opened(browser, report)
    try:
        assert o.errors == [], o.errors
        assert o.requests == [o.url], f"requests beyond the file itself: {o.requests[1:]}"
        assert o.dialogs == []
        pg = o.page
        assert pg.locator('img[src="x"]').count() == 0
        o.screenshot("plan")
        # frontier: the two plans and the ring around this report's (weight 0)
        assert pg.locator("#frontier .scatterlayer .trace").first.locator(".point").count() == 2
        first = [t.split() for t in o.texts("#frontier tbody tr td:first-child")]
        assert first == [["1", "this", "plan"], ["2"]]
        body = pg.inner_text("#frontier tbody")
        # E at 50 t: 7,500 + 0.8 x 1,100 + 0.15 x 1,550 + 0.05 x 51,000; CVaR 12,500
        assert "11,162" in body and "12,500" in body
        # E at 100 t: 15,000 + 880 + 232.5 + 0.05 x 2,000; CVaR 0
        assert "16,212" in body
        # the portfolio: the market's (hostile) name as text, in the table and on the map
        assert HOSTILE_IMG in pg.inner_text("#portfolio table")
        assert "ore stockpile" in pg.inner_text("#portfolio table")
        assert pg.locator("#portfolio .geo").count() == 1
        assert pg.locator("#portfolio .scattergeo .point").count() == 1
        # per scenario with and without the plan: the cut loses 100 t x 500 without it
        sc = pg.inner_text("#scenarios table")
        assert "50,000" in sc and "100,000" in sc
        assert pg.locator("#scenarios .bars .point").count() == 6
    finally:
        o.close()


def test_plan_report_from_the_saved_folder_is_the_same(plan_report, tmp_path):
    """``rechain report OUT`` of a plan folder rebuilds the plan report without solving."""
    report, _, _ = plan_report
    again = tmp_path / "again.html"
    r = runner.invoke(app, ["report", str(report.parent / "out"), "--out", str(again)])
    assert r.exit_code == 0, r.output
    # the page the same but for the time it was made and the figures' last digits (the
    # CSVs keep 10 significant digits, fileio.FLOAT_FORMAT): same text, same figures
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
    figure = re.compile(r'(<script type="application/json" id="fig-[^"]*">).*?</script>', re.S)

    def page(path):
        return figure.sub(r"\1", stamp.sub("", path.read_text(encoding="utf-8")))

    assert page(again) == page(report)
    # a plan folder missing a table is an input error
    (report.parent / "out" / "scenarios.csv").rename(tmp_path / "gone.csv")
    try:
        r = runner.invoke(app, ["report", str(report.parent / "out"), "--out", str(again)])
        assert r.exit_code == 2 and "a plan folder without scenarios.csv" in r.output
    finally:
        (tmp_path / "gone.csv").rename(report.parent / "out" / "scenarios.csv")
