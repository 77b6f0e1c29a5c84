"""``rechain export-xlsx``: an instance as one Excel workbook (read back by every command)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from optimizer.cli.common import InstanceArg, _fail, _step, app, check_outputs, out
from optimizer.errors import RechainError


@app.command("export-xlsx")
def export_xlsx(
    instance: InstanceArg,
    file: Annotated[Path, typer.Argument(help="The workbook to write (.xlsx).")],
) -> None:
    """Write an instance as one workbook: a sheet per table (names, units, lists of valid
    ids), the manifest and the scenarios; `rechain solve FILE.xlsx` reads it back."""
    from optimizer.api import load
    from optimizer.data.workbook import write_workbook
    from optimizer.fileio import write_file

    try:
        check_outputs(files={"FILE": (file, (".xlsx",))})
        with _step("reading"):
            inst = load(instance, structure_checks=False)
        with _step("writing"):
            write_file(file, lambda p: write_workbook(inst, p))
    except RechainError as e:
        _fail(e)
        return
    out.print(f"workbook written to {file}", markup=False)
