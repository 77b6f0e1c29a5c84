"""Scenario overlays: changes applied in order; unknown things are located errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.cli import app
from optimizer.errors import InputError
from tests.conftest import TINY

runner = CliRunner()


def _write(tmp_path, text, name="sc.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_scale_and_set_stack_in_order(tmp_path):
    a = _write(
        tmp_path,
        "id: a\ntitle: A\nchanges:\n  - table: processes\n    where: {id: mine_north}\n    set: {capacity: 300}\n",
        "a.yaml",
    )
    b = _write(
        tmp_path,
        "id: b\ntitle: B\nchanges:\n  - table: processes\n    where: {id: mine_north}\n    scale: {capacity: 0.5}\n",
        "b.yaml",
    )
    inst = load(TINY, [str(a), str(b)])
    cap = inst.processes.set_index("id")["capacity"]
    assert cap["mine_north"] == 150
    assert cap["mine_south"] == 100  # untouched
    assert inst.scenarios == ["a", "b"]
    inst2 = load(TINY, [str(b), str(a)])
    assert inst2.processes.set_index("id")["capacity"]["mine_north"] == 300


def test_where_on_region_expands_countries(tmp_path):
    sc = _write(
        tmp_path,
        "id: x\ntitle: X\nchanges:\n  - table: demand\n    where: {market: market_eu}\n    scale: {quantity: 2}\n",
    )
    inst = load(TINY, [str(sc)])
    d = inst.demand.set_index(["market", "commodity"])["quantity"]
    assert d["market_eu", "magnet_ht"] == 400 and d["market_us", "magnet_ht"] == 100


def test_original_instance_unchanged(tmp_path):
    base = load(TINY)
    sc = _write(
        tmp_path,
        "id: x\ntitle: X\nchanges:\n  - table: processes\n    where: {id: mine_north}\n    set: {capacity: 1}\n",
    )
    cut = base.with_scenario(str(sc))
    assert cut.processes.set_index("id")["capacity"]["mine_north"] == 1
    assert base.processes.set_index("id")["capacity"]["mine_north"] == 1000
    assert base.scenarios == [] and cut.scenarios == ["x"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "id: x\ntitle: X\nchanges:\n  - table: plants\n    set: {capacity: 1}\n",
            "sc.yaml:4:table: unknown table 'plants'",
        ),
        (
            "id: x\ntitle: X\nchanges:\n  - table: processes\n    where: {colour: red}\n    set: {capacity: 1}\n",
            "sc.yaml:5:where.colour: processes.csv has no column 'colour'",
        ),
        (
            "id: x\ntitle: X\nchanges:\n  - table: processes\n    where: {id: nosuch}\n    set: {capacity: 1}\n",
            "sc.yaml:5:where.id: no row of processes.csv has id = 'nosuch'",
        ),
        (
            "id: x\ntitle: X\nchanges:\n  - table: processes\n    where: {id: mine_north}\n    set: {site: sep}\n",
            "sc.yaml:6:changes.0.set.site: Input should be a valid number",
        ),
        (
            "id: x\ntitle: X\nchanges:\n  - table: processes\n    where: {id: mine_north}\n    scale: {recipe: 2}\n",
            "sc.yaml:6:scale.recipe: processes.csv has no numeric column 'recipe'",
        ),
        (
            "id: x\ntitle: X\nchanges:\n  - table: processes\n    where: {id: mine_north}\n    set: {capacity: -3}\n",
            "sc.yaml:6:set.capacity: -3.0 is out of range",
        ),
        ("id: x\ntitle: X\nsources: [nosuch]\n", "sc.yaml:3:sources: 'nosuch' is not a source id"),
        ("id: x\ntitle: X\nfoo: 1\n", "sc.yaml:3:foo: unknown key"),
        (
            "id: x\ntitle: X\npolicies:\n  - type: procurement_ban\n    market: market_us\n",
            "sc.yaml:4:origin: required key is missing",
        ),
        (
            "id: x\ntitle: X\npolicies:\n  - type: export_control\n    exporter: CN\n",
            "sc.yaml:4:policy: Value error, give exactly one of max_share or quota",
        ),
        (
            "id: x\ntitle: X\npolicies:\n  - type: export_control\n    exporter: XX\n    max_share: 0\n",
            "sc.yaml:5:exporter: 'XX' is not a country code or a region",
        ),
        (
            "id: x\ntitle: X\npolicies:\n  - type: export_control\n    exporter: CN\n    max_share: 1.5\n",
            "sc.yaml:6:max_share: Value error, a share must be between 0 and 1",
        ),
        (
            "id: x\ntitle: X\npolicies:\n  - type: tariff\n    importer: US\n    commodities: [unobtainium]\n    per_tonne: 5\n",
            "sc.yaml:6:commodities: 'unobtainium' is not a commodity id or group",
        ),
        (
            "id: x\ntitle: X\npolicies:\n  - type: domestic_share\n    importer: EU\n    stage: refining\n    min_share: 0.4\n",
            "sc.yaml:6:stage: 'refining' is not a stage",
        ),
        (
            "id: x\ntitle: X\npolicies:\n  - type: magic\n",
            "sc.yaml:4:type: unknown policy type 'magic'",
        ),
        ("id: x\ntitle: [unclosed\n", "sc.yaml:3: invalid YAML"),
    ],
)
def test_bad_scenarios_are_located_errors(tmp_path, text, expected):
    sc = _write(tmp_path, text)
    with pytest.raises(InputError) as e:
        load(TINY, [str(sc)])
    msg = str(e.value).replace(str(tmp_path) + "/", "")
    assert expected in msg
    r = runner.invoke(app, ["validate", str(TINY), "-s", str(sc)])
    assert r.exit_code == 2


def test_unknown_scenario_id_lists_known():
    with pytest.raises(InputError) as e:
        load(TINY, ["nosuch"])
    assert "no-heavy-ore" in str(e.value) and "south-mine-halved" in str(e.value)


def test_every_tiny_scenario_validates_and_solves():
    for p in sorted((TINY / "scenarios").glob("*.yaml")):
        res = load(TINY, [p.stem]).solve()
        assert res.status == "optimal"
