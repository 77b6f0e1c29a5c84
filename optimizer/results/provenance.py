"""Where an output folder came from: ``provenance.json``, written by every command that
writes a folder, and checked by ``rechain report`` before it merges parts.

One folder can hold the outputs of several commands (``solve --out D`` then
``criticality --out D``): each is a *part* of the folder, and ``provenance.json`` holds
one entry per part — its files, the instance (name and path), the scenarios, the
horizon, a content hash of the instance files (``instance_sha256``) and of the instance
files plus every scenario file applied (``inputs_sha256``), and the rechain version.
The hashes are SHA-256 over each file's name and bytes, in the order they were read
(base instance first, scenarios in the order applied): the same on every run and
machine for the same files, whatever folder they sit in.  :func:`check_parts` refuses
(exit 2, naming both parts) a folder whose parts were made from different inputs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer._version import __version__
from optimizer.errors import InputError, Problem
from optimizer.fileio import PROVENANCE_FILE

if TYPE_CHECKING:
    from optimizer.data.instance import Instance

#: What two parts must share to be shown together.
SAME = ("inputs_sha256", "horizon")


def digest(files: Iterable[Path]) -> str:
    """SHA-256 over each file's name and content, in order (``sha256:`` + hex)."""
    h = hashlib.sha256()
    for f in files:
        data = Path(f).read_bytes()
        h.update(f"{Path(f).name}\0{len(data)}\0".encode())
        h.update(data)
    return "sha256:" + h.hexdigest()


def provenance(
    inst: Instance, part: str, scenarios: Sequence[str] = (), files: Sequence[Path] = ()
) -> dict[str, Any]:
    """The provenance entry of a folder part written by command ``part`` from ``inst``.

    ``scenarios``: scenario refs the command applies itself (a survive disruption);
    ``files``: other input files (a sweep file)."""
    from optimizer.scenarios.apply import resolve_path

    extra = [resolve_path(inst.path, s) for s in scenarios]
    applied = [*inst.scenario_files, *extra]
    return {
        "part": part,
        "instance": inst.name,
        "instance_path": str(inst.path),
        "scenarios": [*inst.scenarios, *(Path(s).stem for s in scenarios)],
        "scenario_files": [str(p) for p in applied],
        "other_files": [str(p) for p in files],
        "horizon": inst.horizon,
        "instance_sha256": digest(inst.input_files),
        "inputs_sha256": digest([*inst.input_files, *applied, *files]),
        "rechain_version": __version__,
    }


def read_parts(folder: Path) -> dict[str, dict[str, Any]]:
    """The parts recorded in ``folder/provenance.json`` ({} for a folder without one,
    e.g. of an older rechain); a file that is not provenance is an input error."""
    f = Path(folder) / PROVENANCE_FILE
    if not f.is_file():
        return {}
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(Problem(str(f), None, None, f"cannot read: {e}")) from None
    parts = data.get("parts") if isinstance(data, dict) else None
    if not isinstance(parts, dict) or not all(isinstance(p, dict) for p in parts.values()):
        raise InputError(Problem(str(f), None, "parts", "not a rechain provenance file"))
    return parts


def describe(part: Mapping[str, Any]) -> str:
    """``criticality (criticality.csv …: instance tiny, scenarios none, horizon long,
    inputs sha256:1a2b3c4d5e6f)``."""
    files = sorted(part.get("files") or [], key=lambda f: (not f.endswith(".json"), f))
    shown = ", ".join(files[:2]) + (" …" if len(files) > 2 else "")
    sc = "+".join(part.get("scenarios") or []) or "none"
    sha = str(part.get("inputs_sha256", "?"))[:19]
    return (
        f"{part.get('part', '?')} ({shown}: instance {part.get('instance', '?')}, "
        f"scenarios {sc}, horizon {part.get('horizon', '?')}, inputs {sha})"
    )


def check_parts(folder: Path, need: Sequence[str] = ()) -> dict[str, dict[str, Any]]:
    """The parts of ``folder``, after checking that they were made from the same inputs
    (:data:`SAME`); ``need``: parts that must agree (default: all)."""
    parts = read_parts(folder)
    chosen = [p for n, p in parts.items() if not need or n in need]
    for p in chosen[1:]:
        if any(p.get(k) != chosen[0].get(k) for k in SAME):
            raise InputError(
                Problem(
                    str(Path(folder) / PROVENANCE_FILE),
                    None,
                    None,
                    f"parts made from different inputs cannot be shown together: "
                    f"{describe(chosen[0])} and {describe(p)}; write them into separate "
                    "folders or run both on the same instance and scenarios",
                )
            )
    return parts
