"""The example notebooks run top to bottom in a real Jupyter kernel (nbclient).

Each notebook is executed once (one test per notebook, so parallel workers never run one
twice) and its outputs checked: figures displayed as plotly output, numbers formatted with
units (no raw floats), names rather than ids in the tables, and the numbers that tell its
story, computed independently here where a solve is cheap.  The what-if notebook's widget
callback is then called again in the same kernel with other choices, through the function
and through the widgets, and its Solve button is clicked (twice): the value at risk, the
headline, the table and both charts in the widget's output must be those of the new
choices.  How long each takes is measured by ``benchmarks/bench_notebooks.py`` (speed is
measured in benchmarks, never in timed tests); this test prints it.
"""

from __future__ import annotations

import json
import re
import time

import nbformat
import pytest
from nbclient import NotebookClient

from optimizer import load
from optimizer.report.figures.common import money
from tests.conftest import INSTANCES, ROOT

NOTEBOOKS = sorted((ROOT / "examples").glob("*.ipynb"))
PLOTLY = "application/vnd.plotly.v1+json"
WIDGET = "application/vnd.jupyter.widget-view+json"
RAW_FLOAT = re.compile(r"\d\.\d+e[+-]\d\d")  # 1.031663e+11: a number nobody formatted

#: run in the what-if notebook's kernel after it has run: the callback with other choices
CALLBACK = """
import json
_lo, _hi = update(share_eu=0.0), update(share_eu=1.0)
_long = update(horizon="long")
_none = update(scenario="myanmar-2024-drop")
controls["share_eu"].value = 1.0
# the callback called with the widgets' values (the Solve button itself: CLICK below)
_widget = ui.f(**{w._kwarg: w.get_interact_value() for w in ui.kwargs_widgets})
print("CALLBACK " + json.dumps({
    "eu_lo": float(_lo["at_risk"].get("mkt_eu", 0.0)),
    "eu_hi": float(_hi["at_risk"].get("mkt_eu", 0.0)),
    "out_lo": _lo["outside_china"], "out_hi": _hi["outside_china"],
    "out_april": april["outside_china"], "out_long": _long["outside_china"],
    "figures": [type(_hi["shortage_figure"]).__name__, _hi["sankey"].data[0].type],
    "none_headline": _none["headline"],
    "widget_eu": float(_widget["at_risk"].get("mkt_eu", 0.0)),
    "widget_is_show": ui.f is show and ui.manual_button.description == "Solve",
    "widget_kids": sorted(type(w).__name__ for w in ui.children),
}))
"""
#: then the Solve button itself, clicked in the kernel (ipywidgets' Button.click runs its
#: on_click handlers: interactive.update calls ``show`` inside the Output widget, whose
#: outputs nbclient captures and syncs back to the kernel); read in the next cell
CLICK = """
_before = ui.result
controls["share_eu"].value, controls["horizon"].value = 1.0, "short"
ui.manual_button.click()
_first = ui.result
controls["horizon"].value = "long"
ui.manual_button.click()
"""
CLICKED = """
import json
_eu_full = update(share_eu=1.0)
_eu_full_long = update(share_eu=1.0, horizon="long")
_out = list(ui.out.outputs)
def _figs(outs):
    return [o["data"]["application/vnd.plotly.v1+json"] for o in outs
            if "application/vnd.plotly.v1+json" in o.get("data", {})]
def _same(fig_json, fig):
    return json.loads(fig.to_json())["data"] == fig_json["data"]
_shown = _figs(_out)
print("CLICKED " + json.dumps({
    "before": _before is None,
    "first_eu": float(_first["at_risk"].get("mkt_eu", 0.0)),
    "first_outside": _first["outside_china"],
    "april_outside": april["outside_china"],
    "eu_full_outside": _eu_full["outside_china"],
    "second_outside": ui.result["outside_china"],
    "eu_full_long_outside": _eu_full_long["outside_china"],
    "headline": "".join(o.get("text", "") for o in _out if o["output_type"] == "stream"),
    "eu_full_long_headline": _eu_full_long["headline"],
    "table": "".join(o.get("data", {}).get("text/html", "") for o in _out[:2]),
    "n_figures": len(_shown),
    "shortage_chart_is_the_case": bool(_shown) and (
        _eu_full_long["shortage_figure"] is None
        or _same(_shown[0], _eu_full_long["shortage_figure"])),
    "shortage_chart_moved": bool(_shown) and not _same(_shown[0], april["shortage_figure"]),
    "sankey_is_the_case": _same(_shown[-1], _eu_full_long["sankey"]),
    "sankey_moved": not _same(_shown[-1], april["sankey"]),
}))
"""
EXTRA = {"controls-2025.ipynb": [CALLBACK, CLICK, CLICKED]}


def usd(x: float) -> str:
    return "$" + money(x)


def outside_china(res) -> float:
    s = res.shortages
    return float(s.loc[s["country"] != "CN", "unmet_value"].sum())


def _run(path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit notebooks without outputs"
    )
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.reset_execution_trackers()
    with client.setup_kernel():
        start = time.perf_counter()
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        seconds = time.perf_counter() - start
        for code in EXTRA.get(path.name, []):
            nb.cells.append(nbformat.v4.new_code_cell(code))
            client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
    return nb, seconds


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _texts(nb) -> str:
    """Printed text and the tables' plain-text views (not the figures' JSON)."""
    out = []
    for o in _outputs(nb):
        if o.output_type == "stream":
            out.append(o.text)
        elif "text/plain" in o.get("data", {}) and PLOTLY not in o.data and WIDGET not in o.data:
            # tables (plain and HTML views); plotly.js itself is an HTML-only output
            out.append(o.data["text/plain"] + o.data.get("text/html", ""))
    return "\n".join(out)


def _n_figures(nb) -> int:
    return sum(PLOTLY in o.get("data", {}) for o in _outputs(nb))


def check_quickstart(nb, text):
    assert _n_figures(nb) >= 4  # shortage bars, chokepoints, two Sankeys
    cut = load(INSTANCES / "world-2024", ["cn-export-controls-2025-04"]).solve()
    assert f"value at risk outside China {usd(outside_china(cut))}" in text
    assert "China: Separation" in text and "Defense & aerospace" in text


def check_controls(nb, text):
    assert _n_figures(nb) >= 6  # April bars and Sankey, exports, unmet, stocks, gaming unmet
    assert any(WIDGET in o.get("data", {}) for o in _outputs(nb))
    short = load(INSTANCES / "world-2024", ["cn-export-controls-2025-04"], horizon="short")
    assert f"value at risk outside China {usd(outside_china(short.solve()))}" in text
    # the monthly timeline: China's magnet exports (tests/instances/test_world_2025_monthly.py)
    assert "2025-01 4,488 t" in text and "2025-05 0 t" in text and "2025-07 4,268 t" in text
    line = next(x for x in text.splitlines() if x.startswith("CALLBACK "))
    cb = json.loads(line.removeprefix("CALLBACK "))
    # the EU licensed in full: less at risk in the EU than none licensed, and outside China
    assert cb["eu_hi"] < cb["eu_lo"] and cb["eu_lo"] > 0
    assert cb["out_hi"] < cb["out_april"] < cb["out_lo"]
    assert cb["out_long"] < cb["out_april"]  # the long run reroutes
    assert cb["figures"] == ["Figure", "sankey"]
    assert "no Chinese export control" in cb["none_headline"]
    # the widgets call the callback with the slider's value
    assert cb["widget_eu"] == pytest.approx(cb["eu_hi"]) and cb["widget_is_show"]
    assert cb["widget_kids"].count("FloatSlider") == 5
    assert {"ToggleButtons", "Dropdown", "Button"} <= set(cb["widget_kids"])
    # the Solve button, clicked twice (EU licensed in full; then the long run)
    line = next(x for x in text.splitlines() if x.startswith("CLICKED "))
    ck = json.loads(line.removeprefix("CLICKED "))
    assert ck["before"]  # manual: nothing is solved until Solve is pressed
    assert ck["first_eu"] == pytest.approx(cb["eu_hi"])
    assert ck["first_outside"] == pytest.approx(ck["eu_full_outside"])
    assert ck["first_outside"] < ck["april_outside"]
    assert ck["second_outside"] == pytest.approx(ck["eu_full_long_outside"])
    assert ck["second_outside"] < ck["first_outside"]  # the long run reroutes
    # what the Output widget shows is the second case, not the first: headline, table, charts
    assert ck["headline"].strip() == ck["eu_full_long_headline"]
    assert "long run" in ck["headline"] and usd(ck["second_outside"]) in ck["headline"]
    assert "value at risk" in ck["table"] and "mkt_" not in ck["table"]
    assert ck["n_figures"] in (1, 2)  # the shortage chart (if any market is short), the Sankey
    assert ck["shortage_chart_is_the_case"] and ck["sankey_is_the_case"]
    assert ck["sankey_moved"] and (ck["n_figures"] == 1 or ck["shortage_chart_moved"])


def check_resilience(nb, text):
    assert _n_figures(nb) >= 3  # capex by country, value at risk by year, Sankey
    assert "mp_10x" in text and "MP Materials" in text and "t/yr" in text
    assert text.count(": optimal, value at risk outside China $") == 4
    assert re.search(r"optimal: [\d.,]+ t of Sintered NdFeB, high-temperature", text)
    assert "with the build-out, under the controls: 0 t" in text


CHECKS = {
    "quickstart.ipynb": check_quickstart,
    "controls-2025.ipynb": check_controls,
    "resilience.ipynb": check_resilience,
}


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == sorted(CHECKS)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_shows_its_figures_and_numbers(path):
    nb, seconds = _run(path)
    print(f"NOTEBOOK {path.name}: {seconds:.1f} s")
    errors = [o for o in _outputs(nb) if o.output_type == "error"]
    assert not errors, errors[0].get("evalue")
    text = _texts(nb)
    assert "optimal" in text
    assert not RAW_FLOAT.search(text), RAW_FLOAT.search(text).group()
    # names, not ids, in what the notebook prints and tabulates
    assert "mkt_" not in text, "market ids in a table"
    # every plotly output carries its figure
    for o in _outputs(nb):
        if PLOTLY in o.get("data", {}):
            assert o.data[PLOTLY]["data"], "an empty figure"
    CHECKS[path.name](nb, text)
