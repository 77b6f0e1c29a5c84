"""Writing files: the one atomic writer, for single files and for sets of files in a folder.

Every file rechain writes goes through :func:`write_file` (one file) or
:func:`write_folder` (several files into a folder): the content is written to a
temporary file beside its target, flushed to disk (``fsync``), given the mode
any other file the tool writes has (``0o644`` less the umask, never the
``0o600`` of a temporary file), and moved into place with ``os.replace``.  A
failure or a kill never leaves a half-written file under the target name; a
temporary file left by a killed run starts with :data:`TEMP_PREFIX`.

JSON and CSV formatting is here too, so every output has the same number format.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
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


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """A table as CSV in the one number format (no index)."""
    df.to_csv(path, index=False, float_format=FLOAT_FORMAT)


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


def write_file(path: str | Path, content: Content) -> Path:
    """Write one file atomically (temporary file beside it, fsync, mode, ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix + ".tmp", dir=path.parent)
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


def write_folder(out: str | Path, files: Mapping[str, Content]) -> Path:
    """Write several files into folder ``out``: all are written and synced in a temporary
    folder inside ``out`` first, then each is moved into place with ``os.replace``.

    Files of ``out`` not named in ``files`` are left alone.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=out))
    try:
        mode = _mode()
        for name, content in files.items():
            p = tmp / name
            _fill(p, content)
            _sync(p)
            os.chmod(p, mode)
        for name in files:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
