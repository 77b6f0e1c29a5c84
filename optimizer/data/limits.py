"""Bounds on every input rechain reads: file sizes and YAML expansion.

No input may make rechain read, build or print without limit.  Every instance
table, ``instance.yaml``, scenario and sweep spec is read through :func:`read_limited`
(at most ``limit + 1`` bytes: ``-s /dev/zero`` fails at once); YAML aliases are
bounded by :data:`MAX_YAML_NODES` (:mod:`optimizer.data.yamlio`).
"""

from __future__ import annotations

from pathlib import Path

from optimizer.errors import InputError, Problem

#: Largest CSV table read, bytes (the largest world table is 0.1 MB).
MAX_CSV_BYTES = 32 * 2**20
#: Largest YAML file read (instance.yaml, a scenario, a sweep spec), bytes.
MAX_YAML_BYTES = 2**20
#: Most nodes a YAML document may hold once its aliases are expanded (a billion-laughs
#: document of 1 kB expands to 10^9).
MAX_YAML_NODES = 250_000


def _size(n: int) -> str:
    return f"{n / 2**20:g} MB" if n >= 2**20 else f"{n / 2**10:g} kB"


def read_limited(path: Path, label: str, limit: int, what: str = "an input file") -> bytes:
    """The bytes of ``path``, reading at most ``limit + 1`` of them.

    Raises :class:`InputError` naming ``label`` when the file is missing, a folder,
    unreadable or larger than ``limit`` (``what`` says which kind of file it is).
    """
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise InputError(Problem(label, None, None, "file not found")) from None
    except IsADirectoryError:
        raise InputError(Problem(label, None, None, "is a folder, expected a file")) from None
    except OSError as e:
        raise InputError(
            Problem(label, None, None, f"cannot read: {e.strerror or e.__class__.__name__}")
        ) from None
    if len(data) > limit:
        raise InputError(
            Problem(
                label,
                None,
                None,
                f"file is larger than {_size(limit)}, the most rechain reads for {what} "
                "(is it the right file?)",
            )
        )
    return data
