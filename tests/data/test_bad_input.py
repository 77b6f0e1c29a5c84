"""Bad input: each kind gives exit 2, a message naming file, line and column, no traceback,
and nothing written to the output folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optimizer.cli import app
from tests.mutations import (
    append_line,
    drop_column,
    rename_column,
    replace_text,
    set_cell,
)

runner = CliRunner()


def write_bytes(name: str, data: bytes):
    def mutate(folder: Path) -> None:
        (folder / name).write_bytes(data)

    return mutate


def delete(name: str):
    def mutate(folder: Path) -> None:
        (folder / name).unlink()

    return mutate


CASES = [
    ("missing file", delete("demand.csv"), "demand.csv: required file is missing"),
    (
        "missing column",
        drop_column("processes.csv", "cost"),
        "processes.csv:1:cost: required column is missing",
    ),
    (
        "unknown column (typo)",
        rename_column("links.csv", "capacity", "capacty"),
        "links.csv:1:capacty: unknown column",
    ),
    (
        "wrong type",
        set_cell("processes.csv", 2, "capacity", "lots"),
        "processes.csv:2:capacity: 'lots' is not a number",
    ),
    (
        "negative capacity",
        set_cell("processes.csv", 3, "capacity", "-5"),
        "processes.csv:3:capacity: must be ≥ 0, got -5",
    ),
    (
        "negative demand",
        set_cell("demand.csv", 2, "quantity", "-1"),
        "demand.csv:2:quantity: must be ≥ 0",
    ),
    (
        "NaN",
        set_cell("demand.csv", 3, "quantity", "NaN"),
        "demand.csv:3:quantity: 'NaN' is not a finite number",
    ),
    (
        "infinite cost",
        set_cell("links.csv", 4, "cost", "inf"),
        "links.csv:4:cost: 'inf' is not a finite number",
    ),
    (
        "overflowing capacity",
        set_cell("processes.csv", 2, "capacity", "1e400"),
        "processes.csv:2:capacity: '1e400' is not a finite number",
    ),
    (
        "overflowing whole number",
        set_cell("demand.csv", 2, "quantity", "-1e999"),
        "demand.csv:2:quantity: '-1e999' is not a finite number",
    ),
    ("blank required", set_cell("sites.csv", 2, "country", ""), "sites.csv:2:country: is blank"),
    (
        "duplicate id",
        append_line(
            "sites.csv", "sep,Second separation plant,CN,separation,X,40,110,,illustrative"
        ),
        "sites.csv:8:id: duplicate (id) sep: also on line 4",
    ),
    (
        "dangling site reference",
        set_cell("links.csv", 2, "to_site", "nowhere"),
        "links.csv:2:to_site: 'nowhere' is not a known site id",
    ),
    (
        "dangling commodity reference",
        set_cell("recipes.csv", 5, "commodity", "Nd_metal"),
        "recipes.csv:5:commodity: 'Nd_metal' is not a known commodity id",
    ),
    (
        "dangling recipe reference",
        set_cell("processes.csv", 2, "recipe", "mine_other"),
        "processes.csv:2:recipe: 'mine_other' is not a known recipe",
    ),
    (
        "dangling source id",
        set_cell("links.csv", 3, "source", "nosuch"),
        "links.csv:3:source: 'nosuch' is not a known source id",
    ),
    (
        "numbers without source",
        set_cell("demand.csv", 2, "source", ""),
        "demand.csv:2:source: row has numbers but no source id",
    ),
    (
        "unknown period",
        set_cell("demand.csv", 2, "period", "2030"),
        "demand.csv:2:period: 2030 is not one of the periods",
    ),
    (
        "fractional period",
        set_cell("demand.csv", 2, "period", "2024.5"),
        "demand.csv:2:period: '2024.5' is not a period (a year such as 2024 or a month such as 2025-04)",
    ),
    (
        "non-UTF-8 file",
        write_bytes(
            "sites.csv",
            "id,name,country,stage,company,lat,lon,source\nmine_north,Mine du Sud \xe9,CN,mine,X,1,1,illustrative\n".encode(
                "latin-1"
            ),
        ),
        "sites.csv:2: not UTF-8 text (byte 0xe9",
    ),
    (
        "empty table",
        write_bytes("demand.csv", b"market,commodity,period,quantity,shortage_penalty,source\n"),
        "demand.csv: table has no rows",
    ),
    ("empty file", write_bytes("commodities.csv", b""), "commodities.csv: file is empty"),
    (
        "ragged row",
        append_line("links.csv", "extra,sep,magnets,NdPr_oxide,,50,illustrative,oops"),
        "links.csv:8: row has 8 fields, the header has 7",
    ),
    (
        "unknown stage",
        set_cell("sites.csv", 4, "stage", "refinery"),
        "sites.csv:4:stage: 'refinery' is not one of mine, separation",
    ),
    (
        "bad country code",
        set_cell("sites.csv", 3, "country", "ZZ"),
        "sites.csv:3:country: 'ZZ' is not an ISO 3166-1 alpha-2 country code",
    ),
    (
        "latitude out of range",
        set_cell("sites.csv", 2, "lat", "100"),
        "sites.csv:2:lat: must be ≤ 90, got 100",
    ),
    (
        "zero recipe amount",
        set_cell("recipes.csv", 4, "amount", "0"),
        "recipes.csv:4:amount: must be > 0, got 0",
    ),
    (
        "id with a space",
        set_cell("commodities.csv", 7, "id", "magnet ht"),
        "commodities.csv:7:id: 'magnet ht' is not a valid id",
    ),
    (
        "recipe without output",
        set_cell("recipes.csv", 2, "direction", "input"),
        "recipes.csv:2:recipe: recipe 'mine_light' has no output row",
    ),
    (
        "demand at a non-market site",
        set_cell("demand.csv", 2, "market", "sep"),
        "demand.csv:2:market: site 'sep' has stage 'separation'",
    ),
    (
        "link to itself",
        set_cell("links.csv", 2, "to_site", "mine_north"),
        "links.csv:2:to_site: a link must join two different sites",
    ),
    (
        "process on two sites",
        set_cell("processes.csv", 5, "site", "magnets"),
        "processes.csv:5:site: process 'separation' is on several sites",
    ),
    (
        "YAML syntax error",
        replace_text("instance.yaml", "periods: [2024]", "periods: [2024"),
        "instance.yaml:",
    ),
    (
        "YAML unknown key",
        replace_text("instance.yaml", "currency: USD", "currency: USD\ncolour: blue"),
        "instance.yaml:12:colour: unknown key",
    ),
    (
        "YAML wrong type",
        replace_text("instance.yaml", "shortage_penalty: 100000", "shortage_penalty: lots"),
        "instance.yaml:13:defaults.shortage_penalty: Input should be a valid number",
    ),
    (
        "YAML periods not increasing",
        replace_text("instance.yaml", "periods: [2024]", "periods: [2025, 2024]"),
        "instance.yaml:10:periods: Value error, periods must be strictly increasing",
    ),
    (
        "YAML missing key",
        replace_text("instance.yaml", "base_year: 2024\n", ""),
        "instance.yaml:1:base_year: required key is missing",
    ),
    (
        "region with a bad country",
        replace_text("instance.yaml", "EU: [DE, FR, IT, NL]", "EU: [DE, FR, XY]"),
        "instance.yaml:regions.EU: 'XY' is not an ISO 3166-1 alpha-2",
    ),
    (
        "group with unknown commodity",
        replace_text(
            "instance.yaml",
            "magnet_oxides: [NdPr_oxide, Dy_oxide]",
            "magnet_oxides: [NdPr_oxide, Tb_oxide]",
        ),
        "instance.yaml:commodity_groups.magnet_oxides: 'Tb_oxide' is not a known commodity",
    ),
]


@pytest.mark.parametrize(("name", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["validate", "solve"])
def test_bad_input(tiny_copy, tmp_path, name, mutate, expected, command):
    mutate(tiny_copy)
    out = tmp_path / "out"
    args = [command, str(tiny_copy)] + (["--out", str(out)] if command == "solve" else [])
    r = runner.invoke(app, args)
    text = r.stdout + r.stderr
    assert r.exit_code == 2, text
    assert expected in text, text
    assert "Traceback" not in text
    assert not isinstance(r.exception, Exception) or isinstance(r.exception, SystemExit), repr(
        r.exception
    )
    assert not out.exists(), "nothing may be written on bad input"


def test_all_problems_reported_at_once(tiny_copy):
    set_cell("processes.csv", 2, "capacity", "-1")(tiny_copy)
    set_cell("links.csv", 2, "to_site", "nowhere")(tiny_copy)
    set_cell("sites.csv", 3, "country", "ZZ")(tiny_copy)
    r = runner.invoke(app, ["validate", str(tiny_copy)])
    assert r.exit_code == 2
    assert "3 problems" in r.stderr
    for needle in ("processes.csv:2:capacity", "links.csv:2:to_site", "sites.csv:3:country"):
        assert needle in r.stderr


def test_missing_instance_folder(tmp_path):
    r = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert r.exit_code == 2
    assert "instance folder not found" in r.stderr


def test_bad_export_suffix(tmp_path):
    from tests.conftest import TINY

    r = runner.invoke(app, ["solve", str(TINY), "--export-model", str(tmp_path / "m.txt")])
    assert r.exit_code == 2
    assert "must end in .mps or .lp" in r.stderr
    assert not (tmp_path / "m.txt").exists()


def test_unknown_option_is_usage_error():
    from tests.conftest import TINY

    r = runner.invoke(app, ["solve", str(TINY), "--frobnicate"])
    assert r.exit_code == 2


@pytest.mark.parametrize(
    "where, text",
    [
        ("scenario", "policies:\n  - type: export_control\n    exporter: CN\n    quota: .inf\n"),
        (
            "scenario",
            "policies:\n  - type: export_control\n    exporter: CN\n    max_share: .nan\n",
        ),
        ("instance", "defaults:\n  shortage_penalty: .inf\n"),
    ],
)
def test_yaml_infinity_and_nan_are_input_errors(tmp_path, tiny_copy, where, text):
    """A YAML ``.inf`` or ``.nan`` is not a number a policy or default can use: exit 2
    naming the key, never a ban or a solver failure."""
    args = ["validate", str(tiny_copy)]
    if where == "scenario":
        sc = tmp_path / "bad.yaml"
        sc.write_text("id: bad\ntitle: bad\n" + text)
        args += ["-s", str(sc)]
    else:
        y = (tiny_copy / "instance.yaml").read_text()
        y = re.sub(r"(?m)^(\s+shortage_penalty:).*$", r"\1 .inf", y)
        assert ".inf" in y
        (tiny_copy / "instance.yaml").write_text(y)
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert "finite" in r.output.lower() or "inf" in r.output.lower()
    assert "Traceback" not in r.output
