"""HTML reports of ``rechain sweep``, ``survive`` and ``stockpile-size`` in Debian's Chromium.

Each report is made through the CLI together with its ``--out`` tables, opened offline
(no console error, no request beyond the file), and its charts and key numbers are
checked against those tables.  Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.analysis.sweep import ranked
from optimizer.cli import app
from tests.conftest import INSTANCES, TINY
from tests.report.test_report import Opened, _cli, browser  # noqa: F401 (a fixture)

runner = CliRunner()
W35 = INSTANCES / "world-2024-2035"


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("outcomes")
    out = {"dir": d}
    _cli(
        "sweep", TINY, "halved-x-penalty", "--samples", "12",
        "--out", d / "sweep", "--report", d / "sweep.html",
    )  # fmt: skip
    _cli(
        "survive", W35, "-s", "great-power-stop", "--start", "2026",
        "--out", d / "survive", "--report", d / "survive.html",
    )  # fmt: skip
    _cli(
        "stockpile-size", W35, "-s", "great-power-stop", "--start", "2026", "--duration", "2",
        "--commodity", "Y_oxide", "--region", "JP", "--demand-commodity", "Y_oxide",
        "--out", d / "stockpile", "--report", d / "stockpile.html",
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def page(browser, made):  # noqa: F811 (the fixture imported above)
    pages: dict[str, Opened] = {}

    def _get(name: str) -> Opened:
        if name not in pages:
            pages[name] = Opened(browser, made["dir"] / f"{name}.html")
        return pages[name]

    yield _get
    for o in pages.values():
        o.close()


def _plot_data(o: Opened, selector: str):
    return o.page.evaluate(
        f"() => document.querySelector({selector!r}).data"
        ".map(t => ({type: t.type, name: t.name, x: t.x, y: t.y, z: t.z}))"
    )


@pytest.mark.parametrize(("name", "plots"), [("sweep", 3), ("survive", 3), ("stockpile", 2)])
def test_loads_offline_with_its_charts(page, name, plots):
    o = page(name)
    assert o.errors == [], o.errors
    assert o.requests == [o.url], f"requests beyond the file itself: {o.requests[1:]}"
    assert o.page.locator(".plot[data-rendered]").count() == plots
    assert o.page.locator(".plot svg.main-svg").count() >= plots
    o.screenshot(f"outcome-{name}")


def test_sweep_report_shows_the_distribution_and_ranking(page, made):
    cases = pd.read_csv(made["dir"] / "sweep" / "sweep.csv")
    o = page("sweep")
    # one box per grid combination, each holding that combination's 12 draws
    boxes = [t for t in _plot_data(o, "#outcomes .plot") if t["type"] == "box"]
    assert len(boxes) == 4
    sampled = cases.loc[cases["sample"] >= 1]
    for b, (_, g) in zip(boxes, sampled.groupby("combo"), strict=True):
        assert sorted(b["x"]) == pytest.approx(sorted(g["total_unmet"]))
    short = int((cases["total_unmet"] > 1e-6).sum())
    assert o.page.inner_text("#short-cases") == f"{short} of {len(cases)}"
    # the ranking: worst first, names not ids, units in the headers
    top = ranked(cases).head(25)
    rows = o.page.locator("#ranked tbody tr")
    assert rows.count() == 25
    assert o.texts("#ranked tbody tr td:nth-child(2)") == top["case"].tolist()
    assert "US market (market_us)" in rows.first.inner_text()
    heads = o.texts("#ranked th")
    assert "unmet t" in heads and "cost vs baseline USD" in heads
    assert o.page.locator("#combos tbody tr").count() == 4
    # the market chart: the US and EU markets by name
    names = {t["name"] for t in _plot_data(o, "#markets .plot")}
    assert names == {"US market", "EU market"}


def test_survival_report_shows_how_long_each_market_lasts(page, made):
    m = pd.read_csv(made["dir"] / "survive" / "survival_markets.csv")
    o = page("survive")
    by_market = m.groupby("market")["survives_horizon"].all()
    assert o.page.inner_text("#markets-short") == f"{int((~by_market).sum())} of {len(by_market)}"
    heat = _plot_data(o, "#lasts .plot")[0]
    assert heat["type"] == "heatmap"
    z = [v for row in heat["z"] for v in row if v is not None]
    assert len(z) == len(m)  # one cell per market and commodity
    assert sorted(z) == sorted(m["periods_survived"].tolist())
    assert o.page.locator("#per-market tbody tr").count() == len(by_market)
    first = o.page.locator("#per-market tbody tr").first.inner_text()
    assert "(mkt_" in first and ("Yttrium oxide" in first or "Lanthanum oxide" in first)
    # stocks running down: one line per commodity held, starting at what was on hand
    stocks = pd.read_csv(made["dir"] / "survive" / "survival_stocks.csv")
    lines = _plot_data(o, "#stocks .plot")
    held = stocks.loc[stocks["period"] == 2026].groupby("commodity")["opening"].sum()
    held = held.loc[held > 1e-6]
    assert len(lines) == len(held)
    assert sorted(line["y"][0] for line in lines) == pytest.approx(sorted(held))
    assert "demand t" in o.texts("#lines th")


def test_stockpile_report_shows_the_curve_and_the_chosen_size(page, made):
    import json

    s = json.loads((made["dir"] / "stockpile" / "stockpile.json").read_text())
    curve = pd.read_csv(made["dir"] / "stockpile" / "stockpile_curve.csv")
    o = page("stockpile")
    assert f"{s['quantity']:,.0f}" in o.page.inner_text("#quantity")
    line, star = _plot_data(o, "#curve .plot")
    assert line["x"] == pytest.approx(curve["stockpile"].tolist())
    assert line["y"] == pytest.approx(curve["unmet"].tolist())
    assert line["y"][0] == pytest.approx(s["unmet_without"])
    assert star["x"] == pytest.approx([s["quantity"]]) and star["y"] == [0]
    assert o.page.locator("#curve-table tbody tr").count() == len(curve)
    assert "End market Japan (mkt_jp)" in o.page.inner_text("#market-table")
    assert "Yttrium oxide" in o.page.inner_text("h1")


@pytest.mark.parametrize(
    "args",
    [
        ["sweep", str(TINY), "halved-x-penalty"],
        ["survive", str(TINY), "-s", "south-mine-halved", "--start", "2024"],
        ["stockpile-size", str(TINY), "-s", "south-mine-halved", "--start", "2024"]
        + ["--duration", "1", "--commodity", "ore_heavy", "--region", "US"],
    ],
)
def test_report_path_checked_before_any_work(tmp_path, args, checked_solves):
    r = runner.invoke(app, [*args, "--report", str(tmp_path / "report.txt")])
    assert r.exit_code == 2, r.output
    assert "--report" in r.output and "must end in .html" in r.output
    r = runner.invoke(app, [*args, "--report", str(tmp_path)])
    assert r.exit_code == 2 and "is a folder" in r.output
    assert checked_solves() == 0  # nothing was solved
