"""Error types and exit codes shared by the library and the CLI.

Exit codes are part of the user contract (docs/design.md §4):

* ``0`` solved (shortages are a result, not an error)
* ``2`` bad input or usage
* ``3`` infeasible or unbounded
* ``4`` solver failure or time limit without a usable solution
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_SOLVER = 4


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


class InputError(RechainError):
    """The instance, a scenario or a command-line argument is invalid.

    Carries *all* problems found, not only the first.
    """

    exit_code = EXIT_INPUT

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("<input>", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = sorted(set(problems), key=_problem_sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))


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
