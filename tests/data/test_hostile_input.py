"""Hostile input: files that would make rechain read, expand or loop without limit, or
print without end.  Each is refused (exit 2) with a message naming the file, fast,
without a traceback (docs/reliability-inputs.md)."""

from __future__ import annotations

import os

import pytest
import yaml
from typer.testing import CliRunner

from optimizer.cli import app
from optimizer.data.limits import MAX_CSV_BYTES, MAX_YAML_BYTES, MAX_YAML_NODES
from optimizer.data.yamlio import _LineLoader, check_expansion, load_yaml
from optimizer.errors import InputError
from tests.conftest import TINY

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
