"""Writing files: the one atomic writer, for single files and for sets of files in a folder.

Every file rechain writes goes through :func:`write_file` (one file) or
:func:`write_folder` (several files into a folder): the content is written to a
temporary file beside its target, flushed to disk (``fsync``), given the mode
any other file the tool writes has (``0o644`` less the umask, never the
``0o600`` of a temporary file), and moved into place with ``os.replace``.  A
failure or a kill never leaves a half-written file under the target name; a
temporary file left by a killed run starts with :data:`TEMP_PREFIX`.

JSON and CSV formatting is here too, so every output has the same number format, and
every text cell of a CSV that a spreadsheet would run as a formula is stored as text
(:func:`escape_formulas`, undone on reading by :func:`unescape_formula`).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: Name prefix of temporary files and folders.
TEMP_PREFIX = ".rechain-"
#: Number format of every CSV written (10 significant digits).
FLOAT_FORMAT = "%.10g"

#: What a file's content can be: text, bytes, a DataFrame (written as CSV), a dict or
#: list (written as JSON), or a function that writes the file at the path it is given.
Content = str | bytes | pd.DataFrame | dict | list | Callable[[Path], None]


def _mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def json_default(o: Any) -> Any:
    """JSON for numpy scalars (and nothing else unexpected)."""
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _finite(o: Any) -> Any:
    """NaN and infinities become null: JSON has no such numbers."""
    if isinstance(o, float | np.floating) and not math.isfinite(float(o)):
        return None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    return o


def dumps_json(data: Any) -> str:
    """Indented JSON with numpy scalars as plain numbers and NaN as null."""
    return json.dumps(_finite(data), indent=2, default=json_default) + "\n"


def text_only(book) -> int:
    """Make every cell of an openpyxl workbook that would be a formula plain text (text
    from an instance that starts with ``=``, e.g. ``=HYPERLINK(...)``, must never run in
    a stakeholder's spreadsheet); returns how many cells it changed."""
    n = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    c.data_type = "s"
                    n += 1
    return n


#: A text cell a spreadsheet would read as a formula (OWASP CSV injection: it starts with
#: ``=``, ``+``, ``-``, ``@``, a tab or a carriage return), after any single quotes
#: already in front: ``'=x`` is escaped too, so reading back is lossless.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")
#: An escaped cell (what :func:`escape_formulas` wrote).
_ESCAPED = re.compile(r"'+[=+\-@\t\r]")
#: Text that is a plain number (``-5``, ``+1.5e3``): a spreadsheet reads it as that
#: number, not a formula, so it is left as it is.
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(_NUMBER)


def _formula_text(s: pd.Series) -> pd.Series:
    """Where ``s`` (object or string dtype) holds text a spreadsheet would run (each
    distinct value looked at once: ids repeat down a column)."""
    try:
        codes, values = pd.factorize(s)  # missing values: code -1
    except TypeError:  # unhashable cells (lists): each on its own
        codes, values = np.arange(len(s)), s.to_numpy(dtype=object)
    hit = np.zeros(len(values) + 1, dtype=bool)  # the last: missing
    hit[:-1] = [
        isinstance(v, str) and _FORMULA.match(v) is not None and _NUMBER_RE.fullmatch(v) is None
        for v in values
    ]
    return pd.Series(hit[codes], index=s.index)


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell (and column name) that a spreadsheet would read as a
    formula prefixed with a single quote (``=HYPERLINK(...)`` is stored as
    ``'=HYPERLINK(...)``); numbers, in numeric columns or as text (``-5``), are untouched.
    Only text columns are looked at; ``df`` itself is not changed."""
    out = None
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
            if not isinstance(col.dtype, pd.CategoricalDtype):
                continue
            col = col.astype(object)
        hit = _formula_text(col)
        if hit.any():
            out = df.copy() if out is None else out
            out.isetitem(i, col.where(~hit, "'" + col.where(hit, "").astype(str)))
    names = pd.Series([str(c) for c in df.columns], dtype=object)
    bad = _formula_text(names)
    if bad.any():
        out = df.copy() if out is None else out
        out.columns = ["'" + n if b else c for c, n, b in zip(df.columns, names, bad, strict=True)]
    return df if out is None else out


def unescape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (read from a CSV rechain wrote) with the text as it was before
    :func:`escape_formulas` (cells and column names); changed in place and returned."""
    df.columns = [unescape_formula(c) for c in df.columns]
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
            continue
        hit = col.map(lambda v: isinstance(v, str) and _ESCAPED.match(v) is not None)
        if hit.any():
            df.isetitem(i, col.where(~hit.astype(bool), col.where(hit, "").str[1:]))
    return df


def unescape_formula(value: Any) -> Any:
    """A cell as :func:`escape_formulas` had it before: one leading quote removed from
    ``'=...``, ``'+...``, ``'-...``, ``'@...`` (and ``''=...`` becomes ``'=...``)."""
    if isinstance(value, str) and _ESCAPED.match(value):
        return value[1:]
    return value


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """A table as CSV in the one number format (no index); text that a spreadsheet would
    run as a formula is stored as text (:func:`escape_formulas`)."""
    escape_formulas(df).to_csv(path, index=False, float_format=FLOAT_FORMAT)


def _fill(tmp: Path, content: Content) -> None:
    if callable(content) and not isinstance(content, pd.DataFrame):
        content(tmp)
    elif isinstance(content, pd.DataFrame):
        write_csv(content, tmp)
    elif isinstance(content, dict | list):
        tmp.write_text(dumps_json(content), encoding="utf-8")
    elif isinstance(content, bytes):
        tmp.write_bytes(content)
    else:
        tmp.write_text(content, encoding="utf-8")


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_prefix() -> str:
    """Temporary names carry the writing process' id, so a later run can tell a killed
    run's leftovers (process gone) from a running one's."""
    return f"{TEMP_PREFIX}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(folder: Path) -> list[Path]:
    """Remove what killed runs left in ``folder``: temporary files and folders whose
    process is gone; a result folder that a kill left renamed aside (``…-old-NAME``)
    while its replacement never arrived is put back."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        if not p.name.startswith(TEMP_PREFIX):
            continue
        pid_text, _, rest = p.name[len(TEMP_PREFIX) :].partition("-")
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid == os.getpid() or _alive(pid):  # a run in progress
            continue
        if rest.startswith("old-") and not (folder / rest[4:]).exists():
            os.rename(p, folder / rest[4:])  # the old folder was never replaced: restore it
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def write_file(path: str | Path, content: Content) -> Path:
    """Write one file atomically (temporary file beside it, fsync, mode, ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path.parent)
    fd, name = tempfile.mkstemp(prefix=_temp_prefix(), suffix=path.suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        _fill(tmp, content)
        _sync(tmp)
        os.chmod(tmp, _mode())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False
    where the system cannot."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def _keep(src: Path, dst: Path) -> None:
    """Carry a file the new run does not own into the new folder (a hard link: no copy)."""
    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True)
        return
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


#: The file of an output folder that says where its parts came from
#: (:mod:`optimizer.results.provenance`).
PROVENANCE_FILE = "provenance.json"


def _merge_parts(
    old: Path, entry: Mapping[str, Any] | None, files: Iterable[str], keep: set[str]
) -> dict[str, Any] | None:
    """``provenance.json`` of a folder after a write: the old folder's parts that still
    have a file in it (``keep``), and ``entry`` (listing ``files``) for the part written
    now.  None: nothing to record.  An old file that is not provenance is dropped."""
    parts: dict[str, Any] = {}
    try:
        before = json.loads((old / PROVENANCE_FILE).read_text(encoding="utf-8"))["parts"]
        before = {k: v for k, v in before.items() if isinstance(v, dict)}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        before = {}
    for name, p in before.items():
        if entry is not None and name == entry["part"]:
            continue
        left = [f for f in p.get("files", []) if isinstance(f, str) and f in keep]
        if left:
            parts[name] = {**p, "files": left}
    if entry is not None:
        parts[entry["part"]] = {**entry, "files": sorted(files)}
    return {"parts": parts} if parts else None


def write_folder(
    out: str | Path,
    files: Mapping[str, Content],
    owns: Iterable[str] = (),
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Replace the result folder ``out`` all or nothing.

    The new folder is built beside ``out`` — every file of ``files`` written and synced,
    and every file of the old folder that this run does not own carried over (a
    ``criticality.csv`` next to a solve's tables) — then swapped in with one atomic
    rename (``renameat2(RENAME_EXCHANGE)``; where the system has none, two renames, a
    kill between them undone by the next run).  A file the run owns (``files`` and
    ``owns``) but did not write this time is gone: an infeasible run leaves no earlier
    ``summary.json``.  A kill at any point leaves ``out`` complete-old or complete-new.
    """
    out = Path(out)
    parent = out.parent if str(out.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(parent)
    new = Path(tempfile.mkdtemp(prefix=f"{_temp_prefix()}new-", dir=parent))
    try:
        mode = _mode()
        for name, content in files.items():
            p = new / name
            _fill(p, content)
            _sync(p)
            os.chmod(p, mode)
        os.chmod(new, mode | (mode & 0o444) >> 2)  # a folder: rw as files, plus x
        drop = {*files, *owns, PROVENANCE_FILE}
        kept = [
            p
            for p in (out.iterdir() if out.is_dir() else ())
            if p.name not in drop and not p.name.startswith(TEMP_PREFIX)
        ]
        prov = _merge_parts(out, provenance, files, {p.name for p in kept})
        if prov is not None:
            p = new / PROVENANCE_FILE
            _fill(p, prov)
            _sync(p)
            os.chmod(p, mode)
        if out.is_dir():
            for p in kept:
                _keep(p, new / p.name)
            if not _exchange(new, out):
                aside = parent / f"{_temp_prefix()}old-{out.name}"
                os.rename(out, aside)
                os.rename(new, out)
                shutil.rmtree(aside, ignore_errors=True)
        else:
            os.rename(new, out)
    finally:
        if new.exists():
            shutil.rmtree(new, ignore_errors=True)
    return out
