"""Write the exact LP passed to HiGHS, so anyone can check the objective with another solver."""

from __future__ import annotations

from pathlib import Path

import highspy

from optimizer.errors import InputError, SolverError
from optimizer.fileio import write_file
from optimizer.lp.handoff import LpHandle

#: File name endings HiGHS writes, and what they are.
FORMATS = {".mps": "MPS", ".lp": "CPLEX LP"}


def export_model(handle: LpHandle, path: str | Path) -> Path:
    """Write the LP of ``handle`` as MPS or LP (by extension), atomically."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--export-model: {path.name}: the file name must end in .mps or .lp")

    def write(tmp: Path) -> None:
        # HiGHS picks the format from the name: give the temporary file the same ending
        target = tmp.with_name(tmp.name.removesuffix(".tmp"))
        try:
            if handle.highs.writeModel(str(target)) == highspy.HighsStatus.kError:
                raise SolverError(f"HiGHS could not write {path}")
            target.replace(tmp)
        finally:
            target.unlink(missing_ok=True)

    return write_file(path, write)
