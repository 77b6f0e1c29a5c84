"""Reading a saved ``--out`` folder back into :class:`~optimizer.results.Result` objects.

``rechain solve --out DIR`` writes ``summary.json`` and one CSV per table;
``rechain compare --out DIR`` writes ``compare_*.csv`` plus one such folder per
case.  :func:`load_saved` reads either kind, so ``rechain report DIR`` can
build the HTML report without solving again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimizer.errors import InputError, Problem, RechainError
from optimizer.fileio import PROVENANCE_FILE
from optimizer.results.compare import compare
from optimizer.results.provenance import check_parts, describe
from optimizer.results.result import Result
from optimizer.results.saved import load_result, read_table
from optimizer.scenarios.apply import load

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.results.compare import Comparison

log = logging.getLogger(__name__)


@dataclass
class Saved:
    """What a saved folder holds: one result, or several compared cases."""

    kind: str  # "result" or "compare"
    results: list[tuple[str, Result]]
    comparisons: list[Comparison] = field(default_factory=list)
    instance: Instance | None = None
    notes: list[str] = field(default_factory=list)


def find_instance(
    summary: dict[str, Any], folder: Path, override: str | Path | None = None
) -> tuple[Instance | None, list[str]]:
    """The instance a saved result was solved on (without scenarios), if it can be found.

    Tries ``override``, then ``summary["instance_path"]`` as given (relative to
    the working directory) and relative to the folder's parents.  Returns the
    instance (or None) and notes for the reader of the report.
    """
    cands: list[Path] = []
    if override is not None:
        cands.append(Path(override))
    ipath = summary.get("instance_path")
    if ipath:
        p = Path(str(ipath))
        cands.append(p)
        if not p.is_absolute():
            cands += [parent / p for parent in folder.resolve().parents]
    name = summary.get("instance")
    if name:
        cands += [parent / "instances" / str(name) for parent in folder.resolve().parents]
    for c in cands:
        if (c / "instance.yaml").is_file():
            try:
                inst = load(c)
            except RechainError as e:
                return None, [
                    f"instance folder {c} could not be loaded ({e}); names and stages "
                    "are inferred from the result tables"
                ]
            if override is None and name and inst.name != name:
                continue
            return inst, []
    if override is not None:
        raise InputError(Problem(str(override), None, None, "no instance.yaml in this folder"))
    return None, [
        f"instance folder {ipath or name!r} not found: site names, stages and sources are "
        "missing, stages are inferred from the flows (give --instance PATH)"
    ]


def load_saved(folder: str | Path, instance: str | Path | None = None) -> Saved:
    """Read a ``rechain solve --out`` or ``rechain compare --out`` folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(Problem(str(folder), None, None, "result folder not found"))
    csum = folder / "compare_summary.csv"
    if (folder / "summary.json").is_file():
        res = load_result(folder)
        inst, notes = find_instance(res.summary, folder, instance)
        return Saved("result", [(_case_name(res), res)], [], inst, notes)
    if not csum.is_file():
        raise InputError(
            Problem(
                str(folder),
                None,
                None,
                "neither summary.json (rechain solve --out) nor compare_summary.csv "
                "(rechain compare --out) in this folder",
            )
        )
    cs = read_table(csum)
    if not len(cs) or not {"case", "base"} <= set(cs.columns):
        raise InputError(Problem(str(csum), None, "case", "no cases listed"))
    names = [str(cs["base"].iloc[0]), *[str(c) for c in cs["case"]]]
    results = []
    for name in names:
        sub = folder / name.replace("/", "_")
        if not (sub / "summary.json").is_file():
            raise InputError(
                Problem(str(sub), None, None, f"tables of case {name!r} missing (summary.json)")
            )
        results.append((name, load_result(sub)))
    _check_cases(folder, results)
    base_name, base = results[0]
    comps = [compare(res, base, name, base_name) for name, res in results[1:]]
    inst, notes = find_instance(base.summary, folder, instance)
    return Saved("compare", results, comps, inst, notes)


def _check_cases(folder: Path, results: list[tuple[str, Result]]) -> None:
    """Each case folder of a compare folder holds what the compare recorded for it (same
    inputs), and all cases were made from the same instance."""
    top = check_parts(folder).get("compare")
    if top is None:
        return  # a folder of an older rechain: nothing recorded
    want = top.get("cases") or {}
    for name, res in results:
        part = res.extra.get("provenance", {}).get("solve")
        if part is None:
            continue
        if part.get("instance_sha256") != top.get("instance_sha256") or (
            name in want and part.get("inputs_sha256") != want[name]
        ):
            sub = folder / name.replace("/", "_")
            raise InputError(
                Problem(
                    str(sub / PROVENANCE_FILE),
                    None,
                    None,
                    f"case {name!r} was not made by this comparison: {describe(part)} in "
                    f"{sub} but compare ({folder / PROVENANCE_FILE}: instance "
                    f"{top.get('instance')}, case inputs {str(want.get(name, '?'))[:19]})",
                )
            )


def _case_name(res: Result) -> str:
    return "+".join(res.summary.get("scenarios") or []) or "baseline"
