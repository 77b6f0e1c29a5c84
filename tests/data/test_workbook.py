"""Excel round trip: `rechain export-xlsx` writes an instance as one workbook and every
command reads it back through the same validation (errors at FILE.xlsx!sheet!cell)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from optimizer import load
from optimizer.data.workbook import write_workbook
from optimizer.errors import InputError
from tests.conftest import INSTANCES, TINY


def _export(folder, path):
    write_workbook(load(folder, structure_checks=False), path)
    return path


@pytest.mark.parametrize("name", ["world-2024", "world-2025-monthly"])
def test_the_round_trip_gives_the_same_objective_bit_for_bit(tmp_path, name):
    book = _export(INSTANCES / name, tmp_path / f"{name}.xlsx")
    a, b = load(INSTANCES / name).solve(), load(book).solve()
    assert b.objective == a.objective
    assert b.summary["unmet_value"] == a.summary["unmet_value"]
    assert b.flows["quantity"].tolist() == a.flows["quantity"].tolist()


def test_scenarios_travel_in_the_workbook(tmp_path):
    book = _export(INSTANCES / "world-2024", tmp_path / "w.xlsx")
    sc = "cn-export-controls-2025-04"
    a = load(INSTANCES / "world-2024", [sc], horizon="short").solve()
    b = load(book, [sc], horizon="short").solve()
    assert b.objective == a.objective
    with pytest.raises(InputError, match="no-such-scenario"):
        load(book, ["no-such-scenario"])


def test_sheets_have_frozen_names_units_and_lists_of_valid_ids(tmp_path):
    book = load_workbook(_export(TINY, tmp_path / "t.xlsx"))
    assert book.sheetnames[0] == "README"
    assert {"sites", "links", "instance.yaml", "scenarios"} <= set(book.sheetnames)
    ws = book["links"]
    assert ws.freeze_panes == "A3"
    header = [c.value for c in ws[1]]
    assert header[:3] == ["id", "from_site", "to_site"]
    assert ws.cell(2, header.index("cost") + 1).value == "[USD/t]"
    lists = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    letter = "B"  # links.from lists the ids of sites.id
    assert any(k.startswith(f"{letter}3:") and "'sites'!$A$3:$A$" in v for k, v in lists.items())
    scen = {r[0] for r in book["scenarios"].iter_rows(min_row=2, values_only=True)}
    assert scen == {p.stem for p in (TINY / "scenarios").glob("*.yaml")}


def _edit(path, sheet, cell, value):
    wb = load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)


def test_a_bad_cell_is_named_by_sheet_and_cell(tmp_path):
    path = _export(TINY, tmp_path / "t.xlsx")
    header = [c.value for c in load_workbook(path)["sites"][1]]
    lat = "ABCDEFGHIJ"[header.index("lat")]
    _edit(path, "sites", f"{lat}4", "north")  # the second site's latitude
    with pytest.raises(InputError) as e:
        load(path)
    assert f"t.xlsx!sites!{lat}4: " in str(e.value)
    assert "north" in str(e.value) or "number" in str(e.value)


def test_unknown_sheets_and_broken_manifests_are_input_errors(tmp_path):
    path = _export(TINY, tmp_path / "t.xlsx")
    wb = load_workbook(path)
    wb.create_sheet("sitez")
    wb["instance.yaml"]["A1"] = "schema_version: [1"
    wb.save(path)
    with pytest.raises(InputError) as e:
        load(path)
    assert "t.xlsx!sitez: unknown sheet" in str(e.value)
    path.write_bytes(b"not a workbook")
    with pytest.raises(InputError, match="not an Excel workbook"):
        load(path)


def test_text_that_looks_like_a_formula_stays_text_and_comes_back(tmp_path):
    folder = tmp_path / "tiny"
    import shutil

    shutil.copytree(TINY, folder)
    sites = (folder / "sites.csv").read_text()
    sites = sites.replace("Northern light-REE mine", '"=HYPERLINK(""http://x"",""y"")"')
    (folder / "sites.csv").write_text(sites)
    path = _export(folder, tmp_path / "t.xlsx")
    cells = [c for row in load_workbook(path)["sites"].iter_rows() for c in row]
    hostile = [c for c in cells if str(c.value).startswith("=HYPERLINK")]
    assert hostile and all(c.data_type == "s" for c in hostile)
    back = load(path)
    assert back.sites.set_index("id").at["mine_north", "name"] == '=HYPERLINK("http://x","y")'


def test_a_month_typed_as_a_date_reads_as_the_month(tmp_path):
    path = _export(INSTANCES / "world-2025-monthly", tmp_path / "m.xlsx")
    wb = load_workbook(path)
    ws = wb["demand"]
    header = [c.value for c in ws[1]]
    col = header.index("period") + 1
    before = load(path).demand
    # Excel turns a typed 2025-04 into a date: the loader reads it as the month again
    ws.cell(3, col).value = dt.datetime(2025, 4, 1)
    wb.save(path)
    after = load(path).demand
    assert "2025-04" in set(after["period"]) and len(after) >= len(before) - 12


def test_cli_export_then_solve_the_workbook(tmp_path):
    book = tmp_path / "t.xlsx"
    run = subprocess.run(
        [sys.executable, "-m", "optimizer", "export-xlsx", str(TINY), str(book)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    run = subprocess.run(
        [sys.executable, "-m", "optimizer", "solve", str(book), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "o" / "summary.json").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "optimizer", "export-xlsx", str(TINY), str(tmp_path / "t.csv")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "must end in .xlsx" in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_results_workbook_has_names_frozen_headers_and_number_formats(tmp_path):
    inst = load(TINY)
    path = inst.solve().to_excel(tmp_path / "r.xlsx", inst)
    wb = load_workbook(path)
    ws = wb["flows"]
    header = [c.value for c in ws[1]]
    assert ws.freeze_panes == "A2"
    i = header.index("source")
    assert header[i + 1] == "source_name"
    names = dict(zip(inst.sites["id"], inst.sites["name"], strict=True))
    row = [c.value for c in ws[2]]
    assert row[i + 1] == names[row[i]]
    q = ws.cell(2, header.index("quantity") + 1)
    assert q.number_format in ("#,##0.00", "0.000000")
