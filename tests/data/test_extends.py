"""``extends:``: an instance that inherits a base instance's manifest, tables and scenarios.

Checked on tiny (docs/tiny.md solves it by hand: objective 2,925,000): inheritance
unchanged, rows added and replaced by key, manifest merged entry by entry, scenarios
looked up in the base, and every problem located in the file (child's or base's)
the offending row comes from, with exit code 2.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.cli import app
from optimizer.errors import InputError
from tests.conftest import TINY

runner = CliRunner()

TINY_OBJECTIVE = 2_925_000


@pytest.fixture
def pair(tmp_path) -> tuple[Path, Path]:
    """A copy of tiny (``base``) and an empty extending instance next to it (``child``)."""
    base = tmp_path / "base"
    shutil.copytree(TINY, base)
    child = tmp_path / "child"
    child.mkdir()
    _manifest(child)
    return base, child


def _manifest(folder: Path, extra: str = "", extends: str = "../base") -> None:
    (folder / "instance.yaml").write_text(
        f"schema_version: 1\nextends: {extends}\nname: child\ntitle: Tiny, extended\n{extra}",
        encoding="utf-8",
    )


def _problems(exc: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_inherits_everything_unchanged(pair):
    _, child = pair
    inst = load(child)
    assert inst.name == "child"
    assert inst.manifest.extends == "../base"
    assert inst.manifest.defaults.shortage_penalty == 100_000  # from the base
    base = load(pair[0])
    for name, df in base.tables.items():
        assert len(inst.tables[name]) == len(df), name
    assert set(inst.processes["_file"]) == {"../base/processes.csv"}
    assert inst.solve().objective == pytest.approx(TINY_OBJECTIVE)


def test_rows_replace_by_key_and_add(pair):
    _, child = pair
    # replace the south mine's row (key id, recipe) and add a new mine row
    (child / "processes.csv").write_text(
        "id,site,recipe,capacity,cost,source\n"
        "mine_south,mine_south,mine_heavy,50,5000,illustrative\n"
        "mine_south2,mine_south,mine_heavy,0,5000,illustrative\n",
        encoding="utf-8",
    )
    inst = load(child)
    pro = inst.processes
    assert len(pro) == len(load(pair[0]).processes) + 1
    south = pro.loc[pro["id"] == "mine_south"]
    assert len(south) == 1 and south["capacity"].iloc[0] == 50
    # replaced in place: second row, as in the base, now labelled with the child's file
    assert pro["id"].iloc[1] == "mine_south"
    assert (south["_file"].iloc[0], south["_line"].iloc[0]) == ("processes.csv", 2)
    assert pro["id"].iloc[-1] == "mine_south2"
    # the same as tiny's south-mine-halved scenario (mine_south capacity 100 -> 50)
    assert inst.solve().objective == pytest.approx(
        load(pair[0], ["south-mine-halved"]).solve().objective
    )


def test_manifest_merges_entry_by_entry(pair):
    _, child = pair
    _manifest(
        child,
        "periods: [2024, 2025]\ndefaults:\n  discount_rate: 0.1\nregions:\n  NAFTA: [US, CA, MX]\n",
    )
    (child / "demand.csv").write_text(
        "market,commodity,period,quantity,shortage_penalty,source\n"
        "market_eu,magnet_ht,2025,200,,illustrative\n",
        encoding="utf-8",
    )
    inst = load(child)
    m = inst.manifest
    assert m.periods == [2024, 2025]
    assert (m.defaults.shortage_penalty, m.defaults.discount_rate) == (100_000, 0.1)
    assert set(m.regions) == {"EU", "NAFTA"}
    assert set(m.commodity_groups) == {"oxides", "magnet_oxides"}
    assert sorted(inst.demand["period"].unique()) == [2024, 2025]
    res = inst.solve()
    assert res.status == "optimal"


def test_scenarios_are_found_in_the_base_and_can_be_overridden(pair):
    _, child = pair
    halved = load(child, ["south-mine-halved"]).solve()
    assert halved.objective == pytest.approx(7_559_000)  # docs/tiny.md
    (child / "scenarios").mkdir()
    (child / "scenarios" / "south-mine-halved.yaml").write_text(
        "id: south-mine-halved\ntitle: own version\nchanges:\n"
        "  - table: processes\n    where: {id: mine_south}\n    set: {capacity: 100}\n",
        encoding="utf-8",
    )
    assert load(child, ["south-mine-halved"]).solve().objective == pytest.approx(TINY_OBJECTIVE)
    with pytest.raises(InputError) as e:
        load(child, ["no-such-scenario"])
    assert "no-heavy-ore" in str(e.value)  # the base's scenarios are listed as known


def test_problems_are_located_in_the_right_file(pair):
    base, child = pair
    # the child drops the base's period: the base's demand rows are now wrong, in the base file
    _manifest(child, "periods: [2030]\n")
    (child / "links.csv").write_text(
        "id,from_site,to_site,commodity,capacity,cost,source\n"
        "extra,mine_north,nowhere,*,,10,illustrative\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as e:
        load(child)
    msgs = _problems(e)
    assert any(m.startswith("../base/demand.csv:2:period:") for m in msgs), msgs
    assert any(m.startswith("../base/demand.csv:4:period:") for m in msgs), msgs
    assert any(m.startswith("links.csv:2:to_site:") and "nowhere" in m for m in msgs), msgs


def test_bad_rows_of_the_child_file_are_located_there(pair):
    _, child = pair
    (child / "sites.csv").write_text(
        "id,name,country,stage,company,lat,lon,source\nx,X,CN,mine,,100,0,illustrative\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as e:
        load(child)
    assert _problems(e) == ["sites.csv:2:lat: must be ≤ 90, got 100"]


def test_invalid_base_is_reported_in_the_base_files(pair):
    base, child = pair
    text = (base / "processes.csv").read_text(encoding="utf-8")
    (base / "processes.csv").write_text(
        text.replace("mine_south,mine_heavy,100", "mine_south,mine_heavy,-1")
    )
    with pytest.raises(InputError) as e:
        load(child)
    assert _problems(e) == ["../base/processes.csv:3:capacity: must be ≥ 0, got -1"]


@pytest.mark.parametrize(
    ("extends", "message"),
    [
        ("../nowhere", "is not an instance folder (no such folder"),
        ("..", "is not an instance folder (no instance.yaml in it"),
        ("''", "expected the path of the base instance folder"),
        ("../child", "instances extend each other in a cycle: child -> child"),
    ],
)
def test_bad_extends_is_an_input_error_at_the_key(pair, extends, message):
    _, child = pair
    _manifest(child, extends=extends)
    with pytest.raises(InputError) as e:
        load(child)
    msgs = _problems(e)
    assert len(msgs) == 1 and msgs[0].startswith("instance.yaml:2:extends:"), msgs
    assert message in msgs[0]


def test_cycle_through_two_instances(pair):
    base, child = pair
    text = (base / "instance.yaml").read_text(encoding="utf-8")
    (base / "instance.yaml").write_text(
        text.replace("schema_version: 1\n", "schema_version: 1\nextends: ../child\n")
    )
    with pytest.raises(InputError) as e:
        load(child)
    assert "cycle: child -> base -> child" in str(e.value)


def test_cli_bad_extends_path_exits_2(pair, tmp_path):
    _, child = pair
    _manifest(child, extends="../missing-base")
    out = tmp_path / "out"
    r = runner.invoke(app, ["solve", str(child), "--out", str(out)])
    assert r.exit_code == 2
    assert "instance.yaml:2:extends:" in r.output
    assert "Traceback" not in r.output
    assert not out.exists()


def test_cli_validate_and_solve_an_extending_instance(pair):
    _, child = pair
    assert runner.invoke(app, ["validate", str(child)]).exit_code == 0
    r = runner.invoke(app, ["solve", str(child), "-s", "south-mine-halved"])
    assert r.exit_code == 0, r.output
    assert "7,559,000" in r.output
