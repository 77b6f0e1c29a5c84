"""HTML reports: built from real solves, opened in Debian's Chromium driven by Playwright.

Each report must load with no console error and no network request beyond the
file itself, draw its Sankey and map, show hostile instance strings as text,
and be reproducible from a saved ``--out`` folder.  A screenshot of every
report goes to ``test-artifacts/`` (git-ignored) for people to look at.

Playwright's own browser download does not work here, so the tests drive
``/usr/bin/chromium`` (``.ci/run`` installs Debian's ``chromium``).  Without it
the browser tests fail in CI (``CI`` set) and are skipped elsewhere.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.report.build import script_json
from optimizer.report.load import load_result, load_saved
from tests.conftest import INSTANCES, ROOT, TINY

runner = CliRunner()

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
HOSTILE_SCRIPT = "</script><script>alert(1)</script>"
HOSTILE_IMG = "<img src=x onerror=alert(1)>"


# ---------------------------------------------------------------------------
# fixtures: reports built once per module through the CLI


def _cli(*args: str) -> None:
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == 0, r.output + (repr(r.exception) if r.exception else "")


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """Every report the browser tests open: {name: path}."""
    d = tmp_path_factory.mktemp("reports")
    out: dict[str, Path] = {}

    out["tiny"] = d / "tiny.html"
    _cli("solve", TINY, "--out", d / "tiny-out", "--report", out["tiny"])

    out["world-2024"] = d / "world-2024.html"
    _cli("solve", INSTANCES / "world-2024", "--report", out["world-2024"])

    out["compare-tiny"] = d / "compare-tiny.html"
    _cli(
        "compare",
        TINY,
        "--baseline",
        "-s",
        "south-mine-halved",
        "--out",
        d / "cmp-out",
        "--report",
        out["compare-tiny"],
    )

    # a copy of tiny with hostile site names
    inst = d / "hostile"
    shutil.copytree(TINY, inst)
    path = inst / "sites.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        if r["id"] == "mine_south":
            r["name"] = HOSTILE_SCRIPT
        if r["id"] == "market_us":
            r["name"] = HOSTILE_IMG
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out["hostile"] = d / "hostile.html"
    _cli("solve", inst, "-s", "south-mine-halved", "--report", out["hostile"])

    # nothing mined: no flow at all (plotly cannot draw an empty Sankey)
    stop = d / "every-mine-stops.yaml"
    stop.write_text(
        "id: every-mine-stops\ntitle: Every mine stops\nsources: [illustrative]\nchanges:\n"
        "  - table: processes\n    where: {site: mine_south}\n    set: {capacity: 0}\n"
        "  - table: processes\n    where: {site: mine_north}\n    set: {capacity: 0}\n",
        encoding="utf-8",
    )
    out["no-flow"] = d / "no-flow.html"
    _cli("solve", TINY, "-s", stop, "--report", out["no-flow"])

    # from saved folders, without solving again
    out["saved-tiny"] = d / "saved-tiny.html"
    _cli("report", d / "tiny-out", "--out", out["saved-tiny"])
    out["saved-compare"] = d / "saved-compare.html"
    _cli("report", d / "cmp-out", "--out", out["saved-compare"])
    return out


def _browser_missing(reason: str):
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason}: CI must run the browser tests (.ci/run installs Debian's chromium)",
            pytrace=False,
        )
    pytest.skip(f"{reason} (the browser tests run in CI; apt-get install chromium to run them)")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_missing("playwright is not installed (pip install -e '.[dev]')")
    if not os.access(CHROMIUM, os.X_OK):
        _browser_missing(f"{CHROMIUM} not found")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Opened:
    """A report open in a page, with everything it logged and requested."""

    def __init__(self, browser, path: Path):
        self.path = path
        self.url = path.resolve().as_uri()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": 1366, "height": 900})
        pg = self.page
        pg.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: self.errors.append(str(e)))
        pg.on("request", lambda r: self.requests.append(r.url))
        pg.on("dialog", self._dialog)
        pg.goto(self.url, wait_until="load")
        pg.wait_for_function(
            "document.querySelectorAll('.plot').length > 0 && "
            "document.querySelectorAll('.plot').length === "
            "document.querySelectorAll('.plot[data-rendered]').length",
            timeout=60_000,
        )
        pg.wait_for_timeout(300)

    def _dialog(self, d) -> None:
        self.dialogs.append(d.message)
        d.dismiss()

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"report-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def texts(self, selector: str) -> list[str]:
        return self.page.eval_on_selector_all(selector, "els => els.map(e => e.textContent)")

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def opened(browser, reports):
    """The report called ``name``, opened once per module (tests leave it as they found it)."""
    pages: dict[str, Opened] = {}

    def _get(name: str) -> Opened:
        if name not in pages:
            pages[name] = Opened(browser, reports[name])
        return pages[name]

    yield _get
    for o in pages.values():
        o.close()


@pytest.fixture
def open_report(browser):
    """Open a report file in a fresh page."""
    pages: list[Opened] = []

    def _open(path: Path) -> Opened:
        o = Opened(browser, path)
        pages.append(o)
        return o

    yield _open
    for o in pages:
        o.close()


def _sankey_view(o: Opened, label: str) -> None:
    """Click a view of the flows Sankey and wait until the browser draws its nodes (as
    many node labels as the visible trace has, after plotly's transition)."""
    o.page.locator("#flows .updatemenu-button", has_text=label).first.click()
    o.page.wait_for_function(
        """() => { const el = document.querySelector('#flows .js-plotly-plot');
                   const t = el.data.find(t => t.visible !== false);
                   return el.querySelectorAll('.sankey .node-label').length
                          === t.node.label.length; }""",
        timeout=15_000,
    )


# ---------------------------------------------------------------------------
# browser tests


def _outline_length(page) -> int:
    """Length of the SVG path of the map's country borders (0 if the topojson is missing)."""
    return page.eval_on_selector(
        "#map .geo .countries path", "e => (e.getAttribute('d') || '').length"
    )


@pytest.mark.parametrize(
    "name",
    ["tiny", "world-2024", "compare-tiny", "hostile", "saved-tiny", "saved-compare", "no-flow"],
)
def test_report_loads_offline_without_errors(opened, name):
    o = opened(name)
    assert o.errors == [], o.errors
    assert o.requests == [o.url], f"requests beyond the file itself: {o.requests[1:]}"
    assert o.dialogs == []
    shot = o.screenshot(name)
    assert shot.stat().st_size > 10_000


def test_no_request_even_without_the_csp(reports, open_report, tmp_path):
    """The page itself asks for nothing: the Content-Security-Policy is only a second line."""
    html = reports["world-2024"].read_text(encoding="utf-8")
    stripped, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    assert n == 1
    path = tmp_path / "no-csp.html"
    path.write_text(stripped, encoding="utf-8")
    o = open_report(path)
    assert o.errors == [], o.errors
    assert o.requests == [o.url], f"requests beyond the file itself: {o.requests[1:]}"
    # the map drew its countries from the embedded topojson
    assert _outline_length(o.page) > 10_000


@pytest.mark.parametrize(
    ("name", "country_labels", "site_label"),
    [
        (
            "tiny",
            {"China", "Japan", "Myanmar", "European Union", "United States"},
            "Separation plant",
        ),
        ("world-2024", {"China", "Myanmar", "Japan", "United States", "Australia"}, "Bayan Obo"),
    ],
)
def test_sankey_and_map_render(opened, name, country_labels, site_label):
    o = opened(name)
    pg = o.page
    # Sankey: an SVG with nodes labelled by country, then by site after the button
    assert pg.locator("#flows svg.main-svg").count() > 0
    labels = set(o.texts("#flows .sankey .node-label"))
    assert country_labels <= labels, labels
    assert pg.locator("#flows .sankey .sankey-link").count() > 3
    _sankey_view(o, "By site")
    site_labels = o.texts("#flows .sankey .node-label")
    _sankey_view(o, "By country")
    assert any(t.startswith(site_label) for t in site_labels), site_labels
    # column headers
    heads = set(o.texts("#flows .annotation-text"))
    assert {"Mines", "Separation", "Magnets", "Markets"} <= heads, heads
    # map: country outlines from the embedded topojson, one marker per located site, flow lines
    assert pg.locator("#map .geo").count() == 1
    assert _outline_length(pg) > 10_000
    assert pg.locator("#map .scattergeo .point").count() >= 6
    assert pg.locator("#map .scattergeo path.js-line").count() >= 3
    assert o.errors == []


def _visible_sankey(page) -> dict:
    """The visible Sankey trace: node labels, x positions and the links' values."""
    return page.evaluate(
        """() => { const t = document.querySelector('#flows .js-plotly-plot').data
                     .find(t => t.visible !== false);
                   return {labels: t.node.label, x: t.node.x, values: t.link.value}; }"""
    )


def test_sankey_top_sites_filter_keeps_every_tonne(opened):
    """The by-site Sankey of world-2024 has "Top N sites per stage" views: at most N sites
    and one "Other" node per stage, and the same tonnes drawn as the full by-site view."""
    o = opened("world-2024")
    _sankey_view(o, "By site")
    full = _visible_sankey(o.page)
    per_col = {x: full["x"].count(x) for x in set(full["x"])}
    assert max(per_col.values()) > 6  # the unfiltered view is busy
    for n in (10, 5):
        _sankey_view(o, f"Top {n} sites per stage")
        v = _visible_sankey(o.page)
        counts = {x: v["x"].count(x) for x in set(v["x"])}
        assert max(counts.values()) <= n + 1, counts  # N sites + "Other (k sites)"
        assert any(lab.startswith("Other (") and "sites)" in lab for lab in v["labels"])
        assert sum(v["values"]) == pytest.approx(sum(full["values"]), rel=1e-9)
        assert len(v["labels"]) < len(full["labels"])
    # the drawn nodes are the labels the browser shows
    shown = o.texts("#flows .sankey .node-label")
    assert len(shown) == len(v["labels"])
    _sankey_view(o, "By country")
    assert o.errors == []


def test_region_markets_are_labelled_as_regions(opened):
    """mkt_eu (filed under DE) and mkt_row (TH) stand for the EU-27 and the rest of the
    world: the country views say so, the market column has no Germany or Thailand node,
    and the map draws them as labelled regions."""
    o = opened("world-2024")
    _sankey_view(o, "By country")
    v = _visible_sankey(o.page)
    markets = [lab for lab, x in zip(v["labels"], v["x"], strict=True) if x == max(v["x"])]
    assert {"European Union", "Rest of world"} <= set(markets), markets
    assert not {"Germany", "Thailand"} & set(markets), markets
    chips = o.texts(".legend-chips .chip")
    assert "European Union" in chips and "Rest of world" in chips
    labels = set(o.texts("#map .scattergeo text"))
    assert {"European Union", "Rest of world"} <= labels, labels


def test_map_is_framed_to_every_site(opened):
    """Every located site is drawn inside the map, and the map's seam lies in the widest
    stretch of longitude with no site (the Pacific), so the Americas are not split."""
    sites = pd.read_csv(INSTANCES / "world-2024" / "sites.csv").dropna(subset=["lat", "lon"])
    o = opened("world-2024")
    geo = o.page.evaluate(
        """() => { const el = document.querySelector('#map .js-plotly-plot');
                   const g = el._fullLayout.geo, r = el.querySelector('.geo').getBoundingClientRect();
                   const pts = [...el.querySelectorAll('.scattergeo .point')].map(p => {
                       const b = p.getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; });
                   return {lon: g.lonaxis.range, lat: g.lataxis.range, centre: g.projection.rotation.lon,
                           box: [r.x, r.y, r.width, r.height], pts: pts}; }"""
    )
    centre = geo["centre"]
    lons = ((sites["lon"] - centre + 180) % 360) - 180 + centre  # around the centre
    assert geo["lon"][0] <= lons.min() and lons.max() <= geo["lon"][1], (geo["lon"], lons)
    assert geo["lat"][0] <= sites["lat"].min() and sites["lat"].max() <= geo["lat"][1]
    # the seam sits in the middle of the widest gap between sites
    s = sorted((sites["lon"] + 180) % 360 - 180)
    widest = max([b - a for a, b in zip(s, s[1:], strict=False)] + [s[0] + 360 - s[-1]])
    seam = centre + 180
    nearest = min(abs(((x - seam + 180) % 360) - 180) for x in s)
    assert nearest == pytest.approx(widest / 2, abs=0.01)
    assert widest > 90  # the Pacific
    # every marker (one per located site, plus the flow midpoints) inside the drawn map
    x0, y0, w, h = geo["box"]
    assert len(geo["pts"]) >= len(sites)
    assert all(x0 <= x <= x0 + w and y0 <= y <= y0 + h for x, y in geo["pts"])


def test_hostile_site_names_are_text(opened):
    o = opened("hostile")
    pg = o.page
    assert o.dialogs == [], "a hostile site name ran as script"
    assert o.errors == [], o.errors
    assert o.requests == [o.url], o.requests
    assert pg.locator('img[src="x"]').count() == 0
    body = pg.inner_text("body")
    # shown literally: the bottleneck table names the halved mine, the headline the US market
    assert HOSTILE_SCRIPT in body
    assert HOSTILE_IMG in body
    assert pg.get_by_text(HOSTILE_IMG).first.is_visible()
    # inside plotly too (labels are text, not markup)
    _sankey_view(o, "By site")
    labels = o.texts("#flows .sankey .node-label")
    ARTIFACTS.mkdir(exist_ok=True)
    o.page.locator("#flows").screenshot(path=str(ARTIFACTS / "report-hostile-sankey.png"))
    _sankey_view(o, "By country")
    assert any(t.startswith("</script><script>") for t in labels), labels
    assert any(t.startswith("<img src=x") for t in labels), labels
    # every <script> in the page is one of ours
    n_scripts = pg.eval_on_selector_all("script", "els => els.length")
    n_plots = pg.eval_on_selector_all("script[type='application/json']", "els => els.length")
    assert n_scripts == n_plots + 2
    assert o.dialogs == []


def test_compare_report_shows_who_goes_short(opened):
    for name in ("compare-tiny", "saved-compare"):
        o = opened(name)
        short = o.page.inner_text("#short")
        assert "market_us" in short
        assert "+50.0" in short
        assert "south-mine-halved" in o.page.inner_text("#summary")
        # side-by-side Sankey: one button per case and view
        buttons = set(o.texts("#flows .updatemenu-button"))
        assert {"baseline · By country", "south-mine-halved · By site"} <= buttons, buttons
        assert o.errors == []


def test_april_2025_controls_report_shows_who_goes_short(open_report, tmp_path):
    """The issue's example: China's April-2025 licensing regime against the 2024 baseline."""
    path = tmp_path / "controls.html"
    _cli(
        "compare",
        INSTANCES / "world-2024",
        "--baseline",
        "-s",
        "cn-export-controls-2025-04",
        "--out",
        tmp_path / "out",
        "--report",
        path,
    )
    sh = pd.read_csv(tmp_path / "out" / "compare_shortages.csv")
    markets = set(sh.loc[sh["delta_unmet"] > 1e-6, "market"])
    assert markets, "the controls should leave some market short"
    o = open_report(path)
    assert o.errors == [], o.errors
    assert o.requests == [o.url]
    short = o.page.inner_text("#short")
    for market in markets:
        assert f"({market})" in short
    assert "China licenses exports" in o.page.inner_text("#summary")  # the scenario's title
    o.screenshot("compare-world-2024-cn-export-controls-2025-04")


def test_report_from_saved_folder_matches(opened):
    o = opened("saved-tiny")
    body = o.page.inner_text("body")
    assert "Tiny hand-checkable chain" in body
    assert "Illustrative numbers for the hand-checkable tutorial instance" in body  # sources
    assert set(o.texts("#flows .sankey .node-label")) >= {"China", "Japan"}


# ---------------------------------------------------------------------------
# without a browser


def test_written_atomically_and_self_contained(reports):
    html = reports["tiny"].read_text(encoding="utf-8")
    folder = reports["tiny"].parent
    assert not list(folder.glob(".rechain-*")), "temporary files left behind"
    assert html.startswith("<!doctype html>")
    # one file: no external script, stylesheet, image or frame
    assert not re.search(r"<(script|img|iframe|link)[^>]+(src|href)=", html, flags=re.I)
    assert "Content-Security-Policy" in html and "connect-src 'none'" in html
    assert "</script" not in html.split('id="rechain-topojson">', 1)[1].split("</script>", 1)[0]


def test_script_json_cannot_close_the_tag():
    text = json.dumps({"name": "</script><script>alert(1)</script> & <!-- \u2028"})
    safe = str(script_json(text))
    assert "<" not in safe and ">" not in safe and "&" not in safe and "\u2028" not in safe
    assert json.loads(safe) == json.loads(text)


def test_hostile_strings_escaped_in_html(reports):
    html = reports["hostile"].read_text(encoding="utf-8")
    assert HOSTILE_SCRIPT not in html
    assert HOSTILE_IMG not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # escaped in tables


def test_saved_folder_round_trip(tmp_path):
    from optimizer import load

    res = load(TINY, ["south-mine-halved"]).solve()
    res.write(tmp_path / "out")
    back = load_result(tmp_path / "out")
    assert back.summary["objective"] == pytest.approx(res.objective)
    for name in ("flows", "shortages", "bottlenecks", "concentration", "production"):
        a = getattr(res, name).reset_index(drop=True)
        b = getattr(back, name)[list(a.columns)].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-9)
    saved = load_saved(tmp_path / "out")
    assert saved.kind == "result" and saved.instance is not None
    assert saved.instance.name == "tiny"


def test_report_command_errors(tmp_path):
    r = runner.invoke(app, ["report", str(tmp_path / "missing"), "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2
    assert "not found" in r.output
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["report", str(tmp_path / "empty"), "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2
    assert not (tmp_path / "r.html").exists()


def test_world_2035_report_shows_what_gets_built(open_report, tmp_path):
    """A multi-period instance with expansions: the projects built, where and when, and
    their capital by period (USD; capacities of different stages are not added)."""
    from optimizer import load as load_instance

    path = tmp_path / "w35.html"
    _cli("solve", INSTANCES / "world-2024-2035", "--report", path)
    res = load_instance(INSTANCES / "world-2024-2035").solve()
    built = res.expansions.loc[res.expansions["built"] > 1e-6]
    o = open_report(path)
    assert o.errors == [], o.errors
    assert o.requests == [o.url]
    section = o.page.locator("#projects")
    text = section.inner_text()
    assert f"{len(built)} of the {len(res.expansions)} projects" in text
    assert section.locator("tbody tr").count() == len(built)
    for pid in built["id"].head(5):
        assert pid in text
    bars = o.page.evaluate(
        "() => document.querySelector('#projects .js-plotly-plot').data"
        ".reduce((s, t) => s + t.y.reduce((a, b) => a + b, 0), 0)"
    )
    assert bars == pytest.approx(built["capex_cost"].sum(), rel=1e-9)
    o.screenshot("world-2024-2035-what-gets-built")
