"""Error types and exit codes shared by the library and the CLI.

Exit codes are part of the user contract (docs/design.md §4):

* ``0`` solved (shortages are a result, not an error)
* ``2`` bad input or usage
* ``3`` infeasible or unbounded
* ``4`` solver failure or time limit without a usable solution
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_SOLVER = 4

#: Problems listed per file; the rest are counted ("... and 1,234 more").  A junk file
#: with a million bad cells is reported in a screenful, and collected in bounded memory.
MAX_PROBLEMS_PER_FILE = 20


#: Characters that would act on a terminal instead of being shown: C0 controls but tab
#: and newline, DEL, C1 controls, and the bidirectional overrides ("Trojan source").
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every character that would act on a terminal (ESC of an ANSI
    sequence, BEL, a carriage return, a bidi override) shown as its escape (``\\x1b``).

    The one sanitiser of text that reaches a terminal: the CLI's consoles pass every
    segment they print through it, and its log records (:mod:`optimizer.cli`).
    """
    return _CONTROL.sub(lambda m: _escape(m.group()), text)


def _escape(c: str) -> str:
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


@dataclass(frozen=True, order=True)
class Problem:
    """One problem found in the input, located as precisely as we can.

    ``row`` is the 1-based line number in the file (the CSV header is line 1,
    so the first data row is line 2); ``column`` is the column (CSV) or key
    path (YAML) concerned.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        loc = self.file
        if self.row is not None:
            loc += f":{self.row}"
        if self.column:
            loc += f":{self.column}"
        return f"{loc}: {self.message}"


class RechainError(Exception):
    """Base class of every error rechain raises on purpose."""

    exit_code = EXIT_INPUT


class Problems(list):
    """Problems being collected: keeps the first ``limit`` of each file, counts the rest.

    A plain list of :class:`Problem` to every check that appends to it; checks that
    find problems by the thousand ask :meth:`room` first and :meth:`omit` what does
    not fit, so they never format messages nobody will read.
    """

    def __init__(self, items: Iterable[Problem] = (), limit: int = MAX_PROBLEMS_PER_FILE):
        super().__init__()
        self.limit = limit
        self.kept: Counter[str] = Counter()
        #: file -> problems found beyond ``limit`` (counted, not kept)
        self.omitted: Counter[str] = Counter()
        self.extend(items)

    def append(self, p: Problem) -> None:
        if self.kept[p.file] < self.limit:
            super().append(p)
            self.kept[p.file] += 1
        else:
            self.omitted[p.file] += 1

    def extend(self, items: Iterable[Problem]) -> None:
        for p in items:
            self.append(p)
        for file, n in getattr(items, "omitted", {}).items():
            self.omitted[file] += n

    def room(self, file: str) -> int:
        """How many more problems of ``file`` will be kept."""
        return max(0, self.limit - self.kept[file])

    def omit(self, file: str, n: int) -> None:
        """Count ``n`` problems of ``file`` without keeping them."""
        if n > 0:
            self.omitted[file] += n

    @property
    def total(self) -> int:
        return len(self) + sum(self.omitted.values())

    def __reduce__(self):  # pickled whole (a Dask worker's InputError), counts included
        return (_problems, (list(self), self.limit, dict(self.omitted)))


def _problems(items: list[Problem], limit: int, omitted: dict[str, int]) -> Problems:
    out = Problems(items, limit)
    out.omitted.update(omitted)
    return out


def kept_part(problems: list[Problem], file: str, items):
    """The first of ``items`` (each to become a problem of ``file``; a list, or a
    DataFrame of bad rows) that ``problems`` will keep; the others are only counted
    there.  With a plain list, all of them."""
    if not isinstance(problems, Problems):
        return items
    room = problems.room(file)
    problems.omit(file, len(items) - room)
    return items[:room]


class InputError(RechainError):
    """The instance, a scenario or a command-line argument is invalid.

    Carries *all* problems found, not only the first: at most
    :data:`MAX_PROBLEMS_PER_FILE` of each file in ``problems`` (sorted), the number of
    the others per file in ``omitted``, and ``total``.
    """

    exit_code = EXIT_INPUT

    def __init__(self, problems: Iterable[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("<input>", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        found = Problems(sorted(set(problems), key=_problem_sort_key))
        found.omitted.update(getattr(problems, "omitted", {}))
        self.problems = found
        self.omitted: dict[str, int] = dict(found.omitted)
        self.total = found.total
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """Each problem kept, with "file: ... and N more problems" after a file's last."""
        out = []
        for i, p in enumerate(self.problems):
            out.append(str(p))
            last = i + 1 == len(self.problems) or self.problems[i + 1].file != p.file
            if last and self.omitted.get(p.file):
                out.append(f"{p.file}: ... and {self.omitted[p.file]:,} more problems")
        return out


def _problem_sort_key(p: Problem) -> tuple:
    return (p.file, p.row if p.row is not None else -1, p.column or "", p.message)


class InfeasibleError(RechainError):
    """The LP is infeasible or unbounded (only possible with hard policies)."""

    exit_code = EXIT_INFEASIBLE

    def __init__(self, message: str, diagnosis: list[str] | None = None, details=None):
        self.diagnosis = diagnosis or []
        #: the :class:`~optimizer.lp.iis.Diagnosis` (rows, bounds, policies), when one was found
        self.details = details
        super().__init__(message)


class SolverError(RechainError):
    """HiGHS failed, or hit a limit without a usable solution."""

    exit_code = EXIT_SOLVER
