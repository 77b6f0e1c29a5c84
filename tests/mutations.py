"""Mutations of an instance folder for bad-input tests: each returns ``mutate(folder)``."""

from __future__ import annotations

import csv
import io
from pathlib import Path


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def set_cell(table: str, line: int, column: str, value: str):
    """Mutation: set the cell at 1-based file ``line`` (header = 1) and ``column``."""

    def mutate(folder: Path) -> None:
        rows = _rows(folder / table)
        rows[line - 1][rows[0].index(column)] = value
        _write(folder / table, rows)

    return mutate


def drop_column(table: str, column: str):
    def mutate(folder: Path) -> None:
        rows = _rows(folder / table)
        i = rows[0].index(column)
        _write(folder / table, [r[:i] + r[i + 1 :] for r in rows])

    return mutate


def rename_column(table: str, column: str, new: str):
    def mutate(folder: Path) -> None:
        rows = _rows(folder / table)
        rows[0][rows[0].index(column)] = new
        _write(folder / table, rows)

    return mutate


def append_line(table: str, text: str):
    def mutate(folder: Path) -> None:
        with open(folder / table, "a", encoding="utf-8") as f:
            f.write(text + "\n")

    return mutate


def replace_text(name: str, old: str, new: str):
    def mutate(folder: Path) -> None:
        p = folder / name
        s = p.read_text(encoding="utf-8")
        assert old in s, (old, name)
        p.write_text(s.replace(old, new, 1), encoding="utf-8")

    return mutate
