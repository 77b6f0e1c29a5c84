"""docs/world-2024.md section 1 states the counts of the instance files: check each one.

The table of section 1 ("What is in it") gives, per input table, its number of rows and
a break-down of its content; the stage headings below it give the number of sites of
each stage.  Every number is recomputed here from ``instances/world-2024`` (plain pandas
on the CSVs, no solve), so a row added to a CSV, a source re-flagged or a scenario added
fails this test until the document says so.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from tests.conftest import INSTANCES, ROOT

WORLD = INSTANCES / "world-2024"
DOC = ROOT / "docs" / "world-2024.md"


def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(WORLD / f"{name}.csv")


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else None]


@pytest.fixture(scope="module")
def section1() -> str:
    return _section(DOC.read_text(encoding="utf-8"), "## 1. What is in it")


@pytest.fixture(scope="module")
def table(section1) -> dict[str, tuple[str, str]]:
    """table name -> (rows cell, content cell) of the counts table."""
    rows = {}
    for line in section1.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("table", "") or set(cells[0]) <= {"-"}:
            continue
        rows[cells[0]] = (cells[1], cells[2])
    return rows


def _ints(cell: str) -> list[int]:
    return [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", cell)]


def _leading(cell: str) -> list[int]:
    """The number that opens each comma-separated item, parentheses dropped."""
    flat = re.sub(r"\([^)]*\)", "", cell)
    return [int(m.group(1)) for item in flat.split(",") if (m := re.match(r"\s*(\d+)", item))]


def _flag(note: str) -> str:
    m = re.match(r"\s*\[([^\]]+)\]", str(note))
    return m.group(1) if m else ""


def test_the_table_has_a_row_for_every_csv_and_the_scenarios(table):
    csvs = {p.stem for p in WORLD.glob("*.csv")}
    assert csvs | {"scenarios"} == set(table)


def test_commodities(table):
    c = _csv("commodities")
    sep = c.loc[c["stage"] == "separation", "id"]
    reserve = sep.str.endswith("_reserve")
    seg = sep == "SEG_HRE_conc"
    by = c["stage"].value_counts()
    rows, content = table["commodities"]
    assert _ints(rows) == [len(c)]
    assert _ints(content) == [
        by["mine"],
        int((~reserve & ~seg).sum()),  # separated oxides
        int(seg.sum()),
        int(reserve.sum()),
        by["metal"],
        by["magnet"],
        by["recycling"],
        by["component"],
    ]


def test_sites(table):
    s = _csv("sites")
    rows, content = table["sites"]
    assert _ints(rows) == [len(s)]
    stated = {stage: int(n) for n, stage in re.findall(r"(\d+) (\w+)", content)}
    assert stated == s["stage"].value_counts().to_dict()


def test_site_headings_match_the_stage_counts(section1):
    s = _csv("sites")["stage"].value_counts()
    heading = {
        "Mines": "mine",
        "Separation": "separation",
        "Metal": "metal",
        "Magnets": "magnet",
        "Recycling": "recycling",
        "Components": "component",
        "Markets": "market",
    }
    for word, stage in heading.items():
        assert f"**{word} ({s[stage]})**" in section1, word
    assert f"**Ore types ({(_csv('commodities')['stage'] == 'mine').sum()})**" in section1


def test_recipes(table):
    r = _csv("recipes")
    names = pd.Series(r["recipe"].unique())
    rows, content = table["recipes"]
    assert _ints(rows) == [len(names), len(r)]
    kinds = [
        names.str.startswith("mine_"),
        names.str.startswith("sep_") & (names != "sep_seg_hre"),
        names.str.startswith("seplight_"),
        names == "sep_seg_hre",
        names.str.startswith("release_"),
        names.str.startswith("metal_"),
        names.str.startswith(("ndfeb_", "smco")),
        names.str.startswith(("recycle_", "collect_")),
        names.str.startswith("make_"),
    ]
    assert sum(k.sum() for k in kinds) == len(names)  # every recipe counted once
    assert _leading(content) == [int(k.sum()) for k in kinds]


def test_processes(table):
    p = _csv("processes")
    rows, _ = table["processes"]
    assert _ints(rows) == [p["id"].nunique(), len(p), p["site"].nunique()]


def test_links(table):
    links = _csv("links")
    rows, _ = table["links"]
    assert _ints(rows) == [len(links), int((links["qualified"] == "yes").sum())]


def test_demand(table):
    d = _csv("demand")
    stage = _csv("commodities").set_index("id")["stage"]
    kind = d["commodity"].map(stage)
    rows, content = table["demand"]
    assert _ints(rows) == [
        len(d),
        int((kind == "component").sum()),
        int((kind == "separation").sum()),
    ]
    ends = d.loc[kind == "component"]
    oxides = d.loc[kind == "separation"]
    # "9 end uses at 10 markets plus defense at US defense ...; 14 oxides at 10 markets"
    only_defense = ends.groupby("market")["commodity"].nunique() == 1
    assert _ints(content) == [
        ends["commodity"].nunique(),
        int((~only_defense).sum()),
        oxides["commodity"].nunique(),
        oxides["market"].nunique(),
    ]


def test_stocks_and_short_run(table):
    assert _ints(table["stocks"][0]) == [len(_csv("stocks"))]
    sr = _csv("short_run")
    assert _ints(table["short_run"][0]) == [len(sr)]
    for stage in sr["stage"]:
        assert stage in table["short_run"][1]


def test_demand_curves(table):
    dc = _csv("demand_curves")
    stage = _csv("commodities").set_index("id")["stage"]
    kind = dc["commodity"].map(stage)
    assert _ints(table["demand_curves"][0]) == [
        len(dc),
        int((kind == "separation").sum()),
        int((kind == "component").sum()),
    ]


def test_sources_published_and_estimates(table):
    s = _csv("sources")
    flag = s["note"].map(_flag)
    assert flag.isin(["V", "S", "S-low", "E"]).all(), s.loc[~flag.isin(["V", "S", "S-low", "E"])]
    est = flag == "E"
    rows, _ = table["sources"]
    assert _ints(rows) == [
        len(s),
        int((~est).sum()),
        int((flag == "V").sum()),
        int((flag == "S").sum()),
        int((flag == "S-low").sum()),
        int(est.sum()),
        int((est & s["id"].str.startswith("est-")).sum()),
        int((est & ~s["id"].str.startswith("est-")).sum()),
    ]


def test_the_other_estimate_flagged_sources_are_named(section1):
    s = _csv("sources")
    other = s.loc[s["note"].map(_flag).eq("E") & ~s["id"].str.startswith("est-"), "id"]
    for sid in other:
        assert f"`{sid}`" in section1, sid


def test_scenarios(table):
    assert _ints(table["scenarios"][0]) == [len(list((WORLD / "scenarios").glob("*.yaml")))]


def test_every_source_id_the_document_cites_exists():
    known = set(_csv("sources")["id"])
    text = DOC.read_text(encoding="utf-8")
    cited = set(re.findall(r"`([a-z][a-z0-9]*(?:-[a-z0-9]+)+)`", text))
    scenarios = {p.stem for p in (WORLD / "scenarios").glob("*.yaml")}
    unknown = {c for c in cited if c not in known and c not in scenarios}
    unknown -= {"world-2024", "world-2024-2035"}
    assert not unknown, sorted(unknown)
