"""Text from an instance is stored as text in every CSV and workbook rechain writes: a
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading single quote (OWASP CSV injection), numbers stay numbers, and reading a result
folder back gives the original text."""

from __future__ import annotations

import csv
import json
import shutil

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.fileio import escape_formulas, unescape_formula
from optimizer.results.saved import load_result
from tests.conftest import TINY

runner = CliRunner()

LINK = '=HYPERLINK("http://example.invalid","click")'
#: name in instances/tiny -> its hostile replacement (ids cannot start so: the id rule
#: allows letters, digits, ``_ . -`` and no leading ``-``)
HOSTILE = {
    "Magnet Co": LINK,  # companies
    "Sep Co": "@SUM(1+1)*cmd|' /C calc'!A0",
    "North Mining": "+1+cmd|' /C calc'!A0",
    "South Clay": "-2+3+cmd|' /C calc'!A0",
    "Northern light-REE mine": "\tNorthern mine",  # a site name
    "NdPr oxide": "=NdPr oxide",  # a commodity name
}
COMPANIES = [LINK, "@SUM(1+1)*cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def hostile(tmp_path):
    """instances/tiny with site, company and commodity names that a spreadsheet would run,
    and instance name ``=HYPERLINK(...)``."""
    dst = tmp_path / "hostile"
    shutil.copytree(TINY, dst, ignore=shutil.ignore_patterns("scenarios", "sweeps"))
    for f in dst.glob("*.csv"):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        df = df.map(lambda v: HOSTILE.get(v, v))
        df.to_csv(f, index=False, quoting=csv.QUOTE_NONNUMERIC)
    y = dst / "instance.yaml"
    y.write_text(y.read_text().replace("name: tiny", f"name: {json.dumps(LINK)}"))
    return dst


def _cells(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _no_formula(path) -> set[str]:
    """Every cell of a CSV: none starts as a formula would (numbers aside)."""
    cells = _cells(path)
    for cell in cells:
        if cell.startswith(TRIGGERS):
            float(cell)  # only a number may start so (a negative price)
    return set(cells)


def test_every_csv_and_the_workbook_hold_hostile_text_as_text(hostile, tmp_path):
    out, book = tmp_path / "out", tmp_path / "r.xlsx"
    r = runner.invoke(app, ["solve", str(hostile), "--out", str(out), "--xlsx", str(book)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["criticality", str(hostile), "--by", "company", "--out", str(out)])
    assert r.exit_code == 0, r.output
    csvs = sorted(out.glob("*.csv"))
    assert len(csvs) == 17  # 15 tables of the solve, 2 of the criticality
    written = set().union(*(_no_formula(f) for f in csvs))
    assert {"'" + c for c in COMPANIES} <= written  # in concentration.csv and criticality.csv
    # negative numbers stay numbers (the price of a co-product that must be disposed of)
    prices = pd.read_csv(out / "prices.csv")
    assert pd.api.types.is_numeric_dtype(prices["marginal_cost"])
    assert (prices["marginal_cost"] < 0).any()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["instance"] == LINK  # JSON is not a spreadsheet: kept as it is
    wb = openpyxl.load_workbook(book)
    cells = [c for ws in wb for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert {LINK, *COMPANIES} <= texts  # the workbook has types: kept, as text cells


def test_reading_a_result_folder_back_gives_the_text_as_it_was(hostile, tmp_path):
    from optimizer import load
    from optimizer.analysis.criticality import criticality

    inst = load(hostile)
    res = inst.solve()
    ranking, _ = criticality(inst, by="company")
    out = tmp_path / "out"
    res.write(out)
    runner.invoke(app, ["criticality", str(hostile), "--by", "company", "--out", str(out)])
    back = load_result(out)
    for name, a in res.tables().items():
        b = getattr(back, name.removesuffix(".csv"))
        assert len(a) == len(b), name
        for c in a.columns:
            if pd.api.types.is_object_dtype(a[c]) or pd.api.types.is_string_dtype(a[c]):
                assert list(a[c].fillna("")) == list(b[c].fillna("")), (name, c)
    assert set(COMPANIES) <= set(back.concentration["top"])
    assert sorted(back.extra["criticality"]["element"]) == sorted(ranking["element"])
    assert set(COMPANIES) <= set(back.extra["criticality"]["element"])
    assert back.objective == pytest.approx(res.objective, rel=1e-12)


@pytest.mark.parametrize(
    "text, stored",
    [
        (LINK, "'" + LINK),
        ("+x", "'+x"),
        ("-x", "'-x"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'=x", "''=x"),  # already quoted text keeps its quote on the way back
        ("'abc", "'abc"),
        ("-5", "-5"),  # a number as text: a spreadsheet reads a number, not a formula
        ("+1.5e3", "+1.5e3"),
        ("ok", "ok"),
        ("a=b", "a=b"),
    ],
)
def test_escape_and_unescape_round_trip(text, stored):
    df = pd.DataFrame({"name": [text], "x": [-1.5], text: [1]})
    e = escape_formulas(df)
    assert e["name"].iloc[0] == stored
    assert e.columns[2] == stored  # column names (sweep axes) too
    assert e["x"].iloc[0] == -1.5 and df["name"].iloc[0] == text  # numbers and df untouched
    assert unescape_formula(stored) == text
