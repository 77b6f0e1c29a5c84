"""Hostile input: files that would make rechain read, expand or loop without limit, or
print without end.  Each is refused (exit 2) with a message naming the file, fast,
without a traceback (docs/reliability.md, "Inputs")."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.data.limits import MAX_CSV_BYTES, MAX_YAML_BYTES, MAX_YAML_NODES
from optimizer.data.yamlio import _LineLoader, check_expansion, load_yaml
from optimizer.errors import InputError
from tests.conftest import ROOT, TINY

runner = CliRunner()

LAUGHS = """\
id: bomb
title: Billion laughs in a where
changes:
  - table: sites
    where:
      id: [&a [lol, lol, lol, lol, lol, lol, lol, lol, lol],
        &b [*a, *a, *a, *a, *a, *a, *a, *a, *a],
        &c [*b, *b, *b, *b, *b, *b, *b, *b, *b],
        &d [*c, *c, *c, *c, *c, *c, *c, *c, *c],
        &e [*d, *d, *d, *d, *d, *d, *d, *d, *d],
        &f [*e, *e, *e, *e, *e, *e, *e, *e, *e],
        &g [*f, *f, *f, *f, *f, *f, *f, *f, *f],
        &h [*g, *g, *g, *g, *g, *g, *g, *g, *g],
        &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]]
    set: {lat: 1}
"""


def refused(args: list[str], *needles: str) -> str:
    """Run the CLI in-process; assert exit 2, no traceback, each needle in the output."""
    r = runner.invoke(app, args)
    text = r.stdout + r.stderr
    assert r.exit_code == 2, text
    assert "Traceback" not in text
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    for n in needles:
        assert n in text, text
    return text


# -- YAML ------------------------------------------------------------------------------


def test_expansion_counts_every_alias_use():
    """Root mapping, 2 keys, the list (1 + 2 items) once as written and once through the
    alias: 1 + 1 + 3 + 1 + 3 = 9 nodes."""
    node = yaml.compose("a: &x [1, 2]\nb: *x\n", Loader=_LineLoader)
    assert check_expansion(node, 100) == 9
    with pytest.raises(yaml.MarkedYAMLError, match="more than 8 nodes"):
        check_expansion(node, 8)


def test_aliases_within_the_limit_still_load(tmp_path):
    p = tmp_path / "ok.yaml"
    p.write_text("a: &x {k: [1, 2]}\nb: *x\nc: *x\n")
    assert load_yaml(p) == {"a": {"k": [1, 2]}, "b": {"k": [1, 2]}, "c": {"k": [1, 2]}}


def test_billion_laughs_in_a_scenario_where(tmp_path):
    """9^9 = 387 million strings if expanded; refused at the line of the first list whose
    expansion passes the limit (the &g list: 9^7 > 250,000)."""
    sc = tmp_path / "bomb.yaml"
    sc.write_text(LAUGHS)
    assert MAX_YAML_NODES < 9**6
    refused(
        ["validate", str(TINY), "-s", str(sc)], f"{sc}:11:", "aliases expand", f"{MAX_YAML_NODES:,}"
    )


def test_alias_bomb_in_instance_yaml(tiny_copy):
    p = tiny_copy / "instance.yaml"
    bomb = "".join(
        f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}" if i else "lol"] * 10) + "]\n" for i in range(7)
    )
    p.write_text(p.read_text() + bomb)
    refused(["validate", str(tiny_copy)], "instance.yaml:", "aliases expand")


def test_recursive_alias(tmp_path):
    sc = tmp_path / "rec.yaml"
    sc.write_text("id: r\ntitle: r\nchanges: &x\n  - *x\n")
    refused(["validate", str(TINY), "-s", str(sc)], f"{sc}:3:", "refers to a node that contains it")


def test_deeply_nested_yaml(tmp_path):
    sc = tmp_path / "deep.yaml"
    sc.write_text("id: d\ntitle: d\nchanges: " + "[" * 3000 + "]" * 3000 + "\n")
    refused(["validate", str(TINY), "-s", str(sc)], str(sc), "nested too deeply")


def test_scenario_from_dev_zero():
    """``-s /dev/zero`` reads MAX_YAML_BYTES + 1 bytes and stops."""
    refused(["validate", str(TINY), "-s", "/dev/zero"], "/dev/zero: file is larger than 1 MB")


def test_scenario_too_large(tmp_path):
    sc = tmp_path / "big.yaml"
    sc.write_text("id: b\ntitle: b\ndescription: " + "x" * MAX_YAML_BYTES + "\n")
    refused(["validate", str(TINY), "-s", str(sc)], f"{sc}: file is larger than")


def test_scenario_is_a_folder(tmp_path):
    refused(["validate", str(TINY), "-s", str(tmp_path)], f"{tmp_path}: is a folder")


# -- CSV -------------------------------------------------------------------------------


def test_huge_table_is_refused_without_reading_it(tiny_copy):
    """A sparse 1 GB demand.csv: only MAX_CSV_BYTES + 1 bytes are read."""
    with open(tiny_copy / "demand.csv", "r+b") as f:
        f.truncate(2**30)
    refused(["validate", str(tiny_copy)], "demand.csv: file is larger than 32 MB")


def test_table_linked_to_dev_zero(tiny_copy):
    (tiny_copy / "links.csv").unlink()
    os.symlink("/dev/zero", tiny_copy / "links.csv")
    refused(["solve", str(tiny_copy)], "links.csv: file is larger than")


def test_large_table_under_the_limit_is_read(tiny_copy):
    """The limit refuses size, not content: 20,000 more sources (1.5 MB) still load."""
    p = tiny_copy / "sources.csv"
    rows = "".join(
        f"s{i},Source number {i} padded to some length,pub,2024,,{'n' * 30}\n" for i in range(20000)
    )
    p.write_text(p.read_text() + rows)
    assert 2**20 < p.stat().st_size < MAX_CSV_BYTES
    from optimizer import load

    assert len(load(tiny_copy).tables["sources"]) == 20001


def test_read_limited_raises_input_error(tmp_path):
    from optimizer.data.limits import read_limited

    p = tmp_path / "f"
    p.write_bytes(b"12345")
    assert read_limited(p, "f", 5) == b"12345"
    with pytest.raises(InputError, match="f: file is larger than"):
        read_limited(p, "f", 4)


# -- regions and groups that contain themselves ----------------------------------------


@pytest.mark.parametrize(
    ("regions", "expected"),
    [
        (
            "  EU: [DE, EU2]\n  EU2: [EU]\n",
            "instance.yaml:regions.EU: regions 'EU', 'EU2' contain each other (EU -> EU2 -> EU)",
        ),
        ("  EU: [DE, EU]\n", "instance.yaml:regions.EU: region 'EU' contains itself"),
        (
            "  A1: [DE, B1]\n  B1: [FR, C1]\n  C1: [IT, A1]\n  D1: [A1]\n",
            "regions 'A1', 'B1', 'C1' contain each other (A1 -> B1 -> C1 -> A1)",
        ),
    ],
    ids=["two", "self", "three"],
)
def test_region_that_contains_itself(tiny_copy, tmp_path, regions, expected):
    """A loop of regions is refused before any policy expands it: exit 2 naming the
    regions and instance.yaml (once per loop: D1, which only points into it, is fine)."""
    replace = tiny_copy / "instance.yaml"
    replace.write_text(replace.read_text().replace("  EU: [DE, FR, IT, NL]\n", regions))
    sc = tmp_path / "eu.yaml"
    sc.write_text(
        "id: eu\ntitle: eu\npolicies:\n  - {type: export_control, exporter: CN, quota: 0}\n"
    )
    text = refused(["solve", str(tiny_copy), "-s", str(sc)], expected)
    assert "1 problem in the input" in text


def test_commodity_group_that_contains_itself(tiny_copy):
    p = tiny_copy / "instance.yaml"
    p.write_text(
        p.read_text()
        .replace("magnet_oxides: [NdPr_oxide, Dy_oxide]", "magnet_oxides: [NdPr_oxide, oxides]")
        .replace(
            "oxides: [NdPr_oxide, Dy_oxide, LaCe_oxide]", "oxides: [magnet_oxides, LaCe_oxide]"
        )
    )
    refused(
        ["validate", str(tiny_copy)],
        "instance.yaml:commodity_groups.magnet_oxides: commodity groups 'magnet_oxides', "
        "'oxides' contain each other",
    )


def test_nested_regions_without_a_loop_still_expand(tiny_copy):
    from optimizer import load

    p = tiny_copy / "instance.yaml"
    p.write_text(
        p.read_text().replace(
            "  EU: [DE, FR, IT, NL]\n",
            "  EU: [DE, WEST, EAST]\n  WEST: [FR, NL]\n  EAST: [PL, WEST]\n",
        )
    )
    assert load(tiny_copy).region_members("EU") == {"DE", "FR", "NL", "PL"}


# -- material from nothing -------------------------------------------------------------


def recipes(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [(r, c, d, a, i + 2) for i, (r, c, d, a) in enumerate(rows)],
        columns=["recipe", "commodity", "direction", "amount", "_line"],
    )


def loop_instance(folder: Path) -> None:
    """tiny plus A -> 2 B and B -> A at the separation plant, demand for 100 t of B, and
    no mine of A or B: every tonne of B would come from nothing."""
    with open(folder / "commodities.csv", "a") as f:
        f.write("A,Thing A,separation,t,,,,\nB,Thing B,separation,t,,,,\n")
    with open(folder / "recipes.csv", "a") as f:  # lines 17-20
        f.write(
            "make_b,A,input,1,illustrative\nmake_b,B,output,2,illustrative\n"
            "make_a,B,input,1,illustrative\nmake_a,A,output,1,illustrative\n"
        )
    with open(folder / "processes.csv", "a") as f:
        f.write("pb,sep,make_b,,10,illustrative\npa,sep,make_a,,10,illustrative\n")
    with open(folder / "demand.csv", "a") as f:
        f.write("market_eu,B,2024,100,,illustrative\n")
    with open(folder / "links.csv", "a") as f:
        f.write("sep_b,sep,market_eu,B,,10,illustrative\n")


@pytest.mark.parametrize("command", ["validate", "solve"])
def test_gain_loop_is_refused_before_solving(tiny_copy, tmp_path, command):
    loop_instance(tiny_copy)
    out = tmp_path / "out"
    args = [command, str(tiny_copy)] + (["--out", str(out)] if command == "solve" else [])
    refused(
        args,
        "recipes.csv:19:amount: recipes 'make_a', 'make_b' make material from nothing",
        "0.5 t B over per tonne of input",  # 1 t A -> 2 t B -> ... : 1 B net of 2 t run
        "make_a -> A -> make_b -> B -> make_a",
    )
    assert not out.exists()


def test_lossy_and_lossless_loops_pass():
    from optimizer.data.checks import gain_loops

    lossy = recipes(("ab", "A", "input", 1), ("ab", "B", "output", 0.9), ("ba", "B", "input", 1))
    lossy = pd.concat([lossy, recipes(("ba", "A", "output", 1))], ignore_index=True)
    assert gain_loops(lossy) == []
    lossless = lossy.assign(amount=1.0)
    assert gain_loops(lossless) == []
    gaining = lossy.assign(amount=[1.0, 1.1, 1.0, 1.0])
    [loop] = gain_loops(gaining)
    assert loop["recipes"] == ["ab", "ba"]
    assert loop["surplus"] == pytest.approx({"B": 0.1 / 2})  # 0.1 t B per 2 t of input run


def test_gain_counts_every_input_of_a_recipe():
    """1 A + 1 C -> 2 B and B -> A: the yields around A -> B -> A multiply to 2, but each
    round also eats a tonne of C that nothing makes, so no material appears from nothing.
    Make C from B too (B -> C) and the loop gains: 2 B -> A + C -> 2 B is lossless, at
    2.2 B it gains."""
    from optimizer.data.checks import gain_loops

    base = [
        ("r1", "A", "input", 1),
        ("r1", "C", "input", 1),
        ("r1", "B", "output", 2),
        ("r2", "B", "input", 1),
        ("r2", "A", "output", 1),
    ]
    assert gain_loops(recipes(*base)) == []
    closed = [*base, ("r3", "B", "input", 1), ("r3", "C", "output", 1)]
    assert gain_loops(recipes(*closed)) == []
    closed[2] = ("r1", "B", "output", 2.2)
    [loop] = gain_loops(recipes(*closed))
    assert loop["recipes"] == ["r1", "r2", "r3"]


def test_co_products_that_together_gain():
    """A -> 0.6 B + 0.6 C, B -> A, C -> A: neither branch alone closes, both together
    return 1.2 t A per tonne."""
    from optimizer.data.checks import gain_loops

    rows = recipes(
        ("split", "A", "input", 1),
        ("split", "B", "output", 0.6),
        ("split", "C", "output", 0.6),
        ("b2a", "B", "input", 1),
        ("b2a", "A", "output", 1),
        ("c2a", "C", "input", 1),
        ("c2a", "A", "output", 1),
    )
    [loop] = gain_loops(rows)
    assert loop["recipes"] == ["b2a", "c2a", "split"]
    assert gain_loops(rows.assign(amount=[1, 0.5, 0.5, 1, 1, 1, 1])) == []


def test_every_gain_loop_is_reported():
    from optimizer.data.checks import gain_loops

    rows = recipes(
        ("p", "A", "input", 1),
        ("p", "B", "output", 2),
        ("q", "B", "input", 1),
        ("q", "A", "output", 1),
        ("u", "X", "input", 1),
        ("u", "Y", "output", 3),
        ("v", "Y", "input", 1),
        ("v", "X", "output", 1),
    )
    assert sorted(loop["recipes"] for loop in gain_loops(rows)) == [["p", "q"], ["u", "v"]]


@pytest.mark.parametrize("world", ["world-2024", "world-2024-2035", "world-2025-monthly"])
def test_worlds_have_no_gain_loop_but_six_fold_recycling_would(world):
    """The world's recycling loops lose mass; recovering 6 x the swarf's REE would not."""
    from optimizer.data.checks import gain_loops
    from optimizer.data.instance import read

    rec = read(ROOT / "instances" / world).tables["recipes"]
    assert gain_loops(rec) == []
    out = rec["recipe"].str.startswith("recycle") & (rec["direction"] == "output")
    assert gain_loops(rec.assign(amount=np.where(out, rec["amount"] * 3, rec["amount"]))) == []
    assert gain_loops(rec.assign(amount=np.where(out, rec["amount"] * 6, rec["amount"])))


def test_scenario_that_makes_a_gain_loop(tmp_path):
    sc = tmp_path / "recycle6.yaml"
    sc.write_text(
        "id: recycle6\ntitle: Swarf recovery at 600 %\nchanges:\n"
        "  - table: recipes\n    where: {recipe: recycle_swarf_std, direction: output}\n"
        "    scale: {amount: 6}\n"
    )
    refused(
        ["validate", str(ROOT / "instances" / "world-2024"), "-s", str(sc)],
        f"{sc}:4:recipes: recipes 'metal_dy', 'metal_ndpr', 'ndfeb_std', 'recycle_swarf_std' "
        "make material from nothing",
    )


# -- junk: a screenful of problems, found in one pass ----------------------------------


def junk_links(folder: Path, rows: int) -> None:
    """links.csv with ``rows`` junk rows: every 7th ragged, every other one with a bad
    id, a non-number, a blank cost, a duplicate id or a dangling site."""
    lines = ["id,from_site,to_site,commodity,capacity,cost,source"]
    for i in range(rows):
        k = i % 7
        lines.append(
            [
                f"l{i},a b,sep,ore_light,,1,illustrative",  # from_site not an id
                f"l{i},mine_north,sep,ore_light,lots,1,illustrative",  # not a number
                f"l{i},mine_north,sep,ore_light,,,illustrative",  # cost blank
                "dup,mine_north,sep,ore_light,,1,illustrative",  # duplicate id (after 1st)
                f"l{i},nowhere{i},sep,ore_light,,1,illustrative",  # dangling site
                f"l{i},mine_north,sep,ore_light,,-{i},nosuch",  # negative, dangling source
                f"l{i},junk,junk",  # ragged
            ][k]
        )
    (folder / "links.csv").write_text("\n".join(lines) + "\n")


def test_junk_table_prints_a_screenful(tiny_copy):
    """70,000 junk rows (2.5 MB, 69,999 problems): the first MAX_PROBLEMS_PER_FILE are
    listed, the rest counted exactly, in a few kB of output."""
    from optimizer.errors import MAX_PROBLEMS_PER_FILE

    junk_links(tiny_copy, 70_000)
    assert (tiny_copy / "links.csv").stat().st_size > 2 * 2**20
    # one problem per row but the first "dup" (rows with a bad cell are dropped before
    # the cross-table checks, so the negative cost's dangling source is not counted)
    total = 70_000 - 1
    r = runner.invoke(app, ["validate", str(tiny_copy)])
    assert r.exit_code == 2
    assert f"error: {total:,} problems in the input" in r.stderr
    listed = [x for x in r.stderr.splitlines() if x.startswith("  links.csv:")]
    assert len(listed) == MAX_PROBLEMS_PER_FILE + 1
    more = total - MAX_PROBLEMS_PER_FILE
    assert listed[-1] == f"  links.csv: ... and {more:,} more problems"
    assert len(r.stderr) < 5000
    assert "Traceback" not in r.stderr


def test_capped_count_equals_the_full_list(tiny_copy):
    """What the capped collection counts is what an uncapped one finds, problem for
    problem; the problems it keeps are among them."""
    from optimizer.data.schema import TABLES
    from optimizer.data.tables import coerce_table, read_table
    from optimizer.errors import Problems

    junk_links(tiny_copy, 700)
    full: list = []
    df = read_table(tiny_copy, TABLES["links"], full)
    coerce_table(df, TABLES["links"], full)
    capped = Problems()
    df = read_table(tiny_copy, TABLES["links"], capped)
    coerce_table(df, TABLES["links"], capped)
    # per 100 rows of each kind: bad id, not a number, blank, negative, ragged; 99 duplicates
    assert capped.total == len(full) == 5 * 100 + 99
    assert set(capped) <= set(full)
    assert len(capped) == 20
    assert [p.row for p in capped] == sorted(p.row for p in capped)  # each check in line order


def test_dangling_references_by_the_thousand_are_counted(tiny_copy):
    """Valid rows that name 30,000 unknown sites: counted in the cross-table checks, 20
    listed, without a message built for each."""
    from optimizer import load

    rows = "".join(f"x{i},nowhere{i},sep,ore_light,,1,illustrative\n" for i in range(30_000))
    with open(tiny_copy / "links.csv", "a") as f:
        f.write(rows)
    with pytest.raises(InputError) as e:
        load(tiny_copy)
    assert e.value.total == 30_000
    assert len(e.value.problems) == 20
    assert e.value.omitted == {"links.csv": 29_980}
    assert str(e.value).splitlines()[-1] == "links.csv: ... and 29,980 more problems"
    assert e.value.problems[0].row == 8  # the first appended row, line 8


# -- smaller items ---------------------------------------------------------------------


def test_one_bad_latitude_is_one_problem(tiny_copy):
    """The row of a site with a bad lat is refused, but the links, processes and demand
    that name the site are not reported again as naming an unknown site."""
    from tests.mutations import set_cell

    set_cell("sites.csv", 2, "lat", "north")(tiny_copy)  # mine_north: 2 links, 1 process
    set_cell("sites.csv", 6, "lon", "1e400")(tiny_copy)  # market_eu: links, demand
    set_cell("commodities.csv", 4, "disposal_cost", "-1")(tiny_copy)  # NdPr_oxide: recipes
    text = refused(
        ["validate", str(tiny_copy)],
        "sites.csv:2:lat: 'north' is not a number",
        "sites.csv:6:lon: '1e400' is not a finite number",
        "commodities.csv:4:disposal_cost: must be ≥ 0, got -1",
    )
    assert "3 problems in the input" in text
    assert "not a known" not in text


def test_a_dangling_reference_is_still_reported_beside_a_dropped_row(tiny_copy):
    from tests.mutations import set_cell

    set_cell("sites.csv", 2, "lat", "north")(tiny_copy)
    set_cell("links.csv", 3, "from_site", "nowhere")(tiny_copy)
    text = refused(
        ["validate", str(tiny_copy)], "links.csv:3:from_site: 'nowhere' is not a known site id"
    )
    assert "2 problems in the input" in text


#: What must never reach the terminal: ESC, BEL, CR, a right-to-left override.
ESCAPES = ("\x1b", "\x07", "\r", "\u202e")


@pytest.mark.parametrize("command", ["validate", "solve"])
def test_terminal_escapes_in_a_scenario_are_shown_not_obeyed(tmp_path, command):
    sc = tmp_path / "esc.yaml"
    sc.write_text(
        'id: "evil\\x1b[2Jid"\ntitle: "T\\x1b]0;pwned\\x07\\r\\u202e"\nchanges:\n'
        "  - table: processes\n    where: {id: mine_north}\n    scale: {capacity: 0.5}\n"
    )
    r = runner.invoke(app, [command, str(TINY), "-s", str(sc)])
    assert r.exit_code == 0, r.output
    text = r.stdout + r.stderr
    assert "evil\\x1b[2Jid" in text  # shown as its escape
    assert not any(c in text for c in ESCAPES)


def test_terminal_escapes_in_a_problem_are_shown_not_obeyed(tmp_path):
    sc = tmp_path / "e\x1b[2J.yaml"
    sc.write_text('id: x\ntitle: x\n"col\\x1b[2Jour\\a": blue\n')
    r = runner.invoke(app, ["validate", str(TINY), "-s", str(sc)])
    assert r.exit_code == 2
    assert "e\\x1b[2J.yaml:3:col\\x1b[2Jour" in r.stderr  # (rich drops the BEL itself)
    assert not any(c in r.stderr for c in ESCAPES)


def test_styles_survive_the_sanitiser():
    """On a terminal rich's own styles still work; only the text is neutralised."""
    import io

    from optimizer.cli.common import _console

    buf = io.StringIO()
    c = _console(file=buf, force_terminal=True, color_system="standard", width=80)
    c.print("[bold]ok[/] site\x1b[2J", markup=True)
    got = buf.getvalue()
    assert "\x1b[1m" in got and "site\\x1b[2J" in got and "\x1b[2J" not in got


def test_log_records_are_sanitised():
    import logging

    from optimizer.cli import _PrintableFormatter

    rec = logging.LogRecord("x", logging.WARNING, "f", 1, "bad %s", ("id\x1b[2J",), None)
    assert _PrintableFormatter("%(message)s").format(rec) == "bad id\\x1b[2J"


def expansions(folder: Path, *rows: str) -> None:
    (folder / "expansions.csv").write_text(
        "id,process,capacity,capex,earliest,lead_time,committed,source\n"
        + "".join(r + "\n" for r in rows)
    )


def test_committed_project_that_can_never_enter_service(tiny_copy):
    expansions(
        tiny_copy,
        "late,mine_north,50,10,2024,1,yes,illustrative",  # ready 2025, periods [2024]
        "later,mine_north,50,10,2031,,yes,illustrative",  # earliest after the horizon
        "maybe,mine_north,50,10,2024,3,no,illustrative",  # a candidate: may just not fit
        "now,mine_north,50,10,2024,0,yes,illustrative",
    )
    text = refused(
        ["validate", str(tiny_copy)],
        "expansions.csv:2:lead_time: committed project 'late' is ready in 2025 (earliest 2024 "
        "+ 1 years' lead time), after the last period (2024): it can never enter service",
        "expansions.csv:3:earliest: committed project 'later' is ready in 2031",
    )
    assert "2 problems in the input" in text


@pytest.mark.parametrize(
    ("where", "old", "new", "expected"),
    [
        (
            "instance.yaml",
            "periods: [2024]",
            "periods: [100000000000000000000000000000]",
            "instance.yaml:10:periods: Value error, 100000000000000000000000000000 is not a "
            "period (a year has four digits",
        ),
        ("instance.yaml", "periods: [2024]", "periods: [1e30]", "instance.yaml:10:periods:"),
        (
            "demand.csv",
            "2024,200",
            "100000000000000000000000000000,200",
            "demand.csv:2:period: '100000000000000000000000000000' is not a period",
        ),
    ],
    ids=["yaml-int", "yaml-float", "csv"],
)
def test_thirty_digit_years(tiny_copy, where, old, new, expected):
    p = tiny_copy / where
    assert old in p.read_text()
    p.write_text(p.read_text().replace(old, new, 1))
    refused(["validate", str(tiny_copy)], expected)


def test_thirty_digit_year_in_a_policy_and_in_redate(tmp_path):
    sc = tmp_path / "p.yaml"
    sc.write_text(
        "id: p\ntitle: p\npolicies:\n  - type: export_control\n    exporter: CN\n"
        "    quota: 0\n    periods: [100000000000000000000000000000]\n"
    )
    refused(["validate", str(TINY), "-s", str(sc)], f"{sc}:", "a year has four digits")
    ext = tmp_path / "ext"
    ext.mkdir()
    (ext / "instance.yaml").write_text(
        f"schema_version: 1\nextends: {TINY}\nname: x\ntitle: x\n"
        "redate: {2024: 100000000000000000000000000000}\n"
    )
    refused(["validate", str(ext)], "instance.yaml:5:redate: Value error, 1000000", "four digits")


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            "{capacity: 123}",
            "no row of processes.csv has capacity = 123: the change would do nothing",
        ),
        (
            "{site: sep, id: magnet_line}",
            "no row of processes.csv has site = 'sep' and id = 'magnet_line' together",
        ),
        ("{site: [sep, nowhere]}", "where.site: no row of processes.csv has site = 'nowhere'"),
    ],
)
def test_where_that_matches_no_row(tmp_path, where, expected):
    sc = tmp_path / "w.yaml"
    sc.write_text(
        f"id: w\ntitle: w\nchanges:\n  - table: processes\n    where: {where}\n"
        "    scale: {capacity: 2}\n"
    )
    text = refused(["validate", str(TINY), "-s", str(sc)], f"{sc}:5:", expected)
    assert "1 problem in the input" in text


def test_where_on_a_region_with_some_countries_without_sites(tmp_path):
    """EU is DE, FR, IT, NL; only DE has a site in tiny: the change applies there."""
    from optimizer import load

    sc = tmp_path / "eu.yaml"
    sc.write_text(
        "id: eu\ntitle: eu\nchanges:\n  - table: sites\n    where: {country: EU}\n"
        "    set: {lat: 1}\n"
    )
    s = load(TINY, [str(sc)]).tables["sites"].set_index("id")["lat"]
    assert s["market_eu"] == 1 and s["mine_north"] == pytest.approx(41.8)
    sc.write_text(sc.read_text().replace("country: EU", "country: [EU, FR]"))
    refused(
        ["validate", str(TINY), "-s", str(sc)],
        "where.country: no row of sites.csv has country = 'FR'",
    )


def test_two_stockpiles_of_one_place_add_up(tmp_path):
    """Found by the fuzz (tests/data/test_fuzz_inputs.py): a second stockpile of the same
    region and commodity added its site again, and the model could not be built."""
    from optimizer import load

    sc = tmp_path / "two.yaml"
    pol = "  - {type: stockpile, region: JP, commodity: NdPr_oxide, initial: %s}\n"
    sc.write_text("id: two\ntitle: two\nsources: [illustrative]\npolicies:\n" + pol % 10 + pol % 5)
    inst = load(TINY, [str(sc)])
    site = "stockpile.JP.NdPr_oxide"
    assert list(inst.tables["sites"]["id"]).count(site) == 1
    assert inst.tables["stocks"].set_index("site").loc[site, "quantity"] == 15
    assert (inst.tables["links"]["from_site"] == site).sum() == 1  # to the magnet plant


def test_capped_problems_survive_pickling():
    """An InputError raised in a Dask worker comes back whole: the 20 kept and the count."""
    import pickle

    from optimizer.errors import Problem

    e = InputError([Problem("a.csv", i, "x", "bad") for i in range(2, 32)])
    back = pickle.loads(pickle.dumps(e))
    assert (len(back.problems), back.total, back.omitted) == (20, 30, {"a.csv": 10})
    assert back.lines() == e.lines()
