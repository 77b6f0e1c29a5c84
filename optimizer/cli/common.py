"""What every ``rechain`` command shares: the app, the consoles, option types, errors,
spinners and progress bars.

Exit codes (docs/design.md §4): 0 solved, 2 bad input or usage, 3 infeasible or
unbounded, 4 solver failure or time limit without a usable solution.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, RenderHook
from rich.markup import escape
from rich.segment import Segment
from rich.table import Table

from optimizer.errors import (
    EXIT_INPUT,
    InfeasibleError,
    InputError,
    Problem,
    RechainError,
    printable,
)

__all__ = ["EXIT_INPUT", "app", "err", "out"]

app = typer.Typer(
    name="rechain",
    help="Where the rare-earth magnet chain breaks: solve supply-chain LPs under policies and outages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _Printable:
    """A renderable printed with :func:`~optimizer.errors.printable` applied to its text
    (styles and the console's own control segments, spinners and cursor moves, pass)."""

    def __init__(self, renderable) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options):
        for seg in console.render(self.renderable, options):
            yield seg if seg.control else Segment(printable(seg.text), seg.style)


class _PrintableHook(RenderHook):
    """Every renderable a console prints goes through :class:`_Printable`: a scenario id
    or site name with ``\\x1b[2J`` in it is shown, never obeyed."""

    def process_renderables(self, renderables: list) -> list:
        return [_Printable(r) for r in renderables]


def _console(**options) -> Console:
    c = Console(highlight=False, soft_wrap=True, **options)
    c.push_render_hook(_PrintableHook())
    return c


# When piped, do not fold tables at 80 columns: logs and greps want whole lines.  In a
# terminal, its width (or COLUMNS) is the width.
def _width(stream) -> int | None:
    return None if stream.isatty() else 160


out = _console(width=_width(sys.stdout))
err = _console(stderr=True, width=_width(sys.stderr))


def say(text: str) -> None:
    """A line of plain text (no markup) that wraps between words at the terminal's width."""
    out.print(text, markup=False, soft_wrap=False)


Scenario = Annotated[
    list[str] | None,
    typer.Option(
        "--scenario",
        "-s",
        help="Scenario id (from INSTANCE/scenarios/) or YAML path; repeat to stack.",
    ),
]
InstanceArg = Annotated[
    Path,
    typer.Argument(
        help="Instance folder (e.g. instances/world-2024), or a workbook of rechain export-xlsx."
    ),
]
Method = Annotated[
    str, typer.Option("--method", help="HiGHS algorithm: choose, simplex, ipm, pdlp.")
]
TimeLimitPerSolve = Annotated[
    float | None,
    typer.Option("--time-limit", min=0, help="HiGHS time limit per solve, seconds."),
]
Horizon = Annotated[
    str | None,
    typer.Option(
        "--horizon",
        help="short: the chain stays near its reference plan (no overnight rerouting; "
        "docs/horizon.md); long: free re-optimisation. Default: the scenario's, else the "
        "instance's.",
    ),
]
Base = Annotated[
    list[str] | None,
    typer.Option(
        "--base",
        help="Scenario of the reference world, in force before and during the disruption "
        "(e.g. a build-out already made); repeat to stack.",
    ),
]
Decisions = Annotated[
    str | None,
    typer.Option(
        "--decisions",
        help="Monthly instances with policies: myopic (month by month, each month "
        "planning --lookahead months with the policies then in force) or foresight (one "
        "plan that knows every policy in advance). Default: the instance's (myopic). "
        "compare takes myopic,foresight: every case both ways.",
    ),
]
Start = Annotated[
    str | None,
    typer.Option(
        "--start",
        help="Monthly instances: the month decisions leave the undisrupted plan "
        "(default: the first month any policy applies in).",
    ),
]
Lookahead = Annotated[
    int | None,
    typer.Option("--lookahead", help="Months each myopic plan looks ahead (default 3)."),
]
Scheduler = Annotated[
    str | None,
    typer.Option("--scheduler", help="Run cases on an existing Dask cluster (tcp://host:8786)."),
]
Report = Annotated[
    Path | None,
    typer.Option("--report", help="Also write a self-contained HTML report (FILE.html)."),
]


@contextlib.contextmanager
def case_progress(label: str) -> Iterator:
    """A progress bar for many cases on a terminal (quiet otherwise); yields ``progress(done, total)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("cases", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


@contextlib.contextmanager
def _step(message: str) -> Iterator[None]:
    """A spinner on a terminal; silent when not a TTY."""
    if err.is_terminal:
        with err.status(message):
            yield
    else:
        yield


#: A cell that is a number as rechain prints them (``1,234.5``, ``88.3``, ``12%``,
#: ``29.9 M``, ``1.2 bn``, ``—``): such columns never wrap, so no number is folded.
_NUMBER = re.compile(r"^[-+]?[\d,.]*\d[\d,.]*\s*(%|k|M|bn|×|x)?$|^[—–-]$|^$")


def show(t: Table) -> None:
    """Print a table that fits the terminal: numbers and ids never wrap (a number's
    digits stay together), text with spaces wraps instead."""
    for col in t.columns:
        cells = [str(c) for c in col._cells]
        if cells and all(_NUMBER.match(c.strip()) for c in cells):
            col.no_wrap = True  # its digits stay together
            col.justify = "right"
        elif cells and all(" " not in c.strip() and len(c) <= 28 for c in cells):
            col.no_wrap = True  # ids stay whole while text with spaces wraps
    out.print(t)


def _fail(e: RechainError) -> None:
    if isinstance(e, InputError):
        n = e.total
        err.print(
            f"[bold red]error:[/] {n:,} problem{'s' if n != 1 else ''} in the input", markup=True
        )
        for line in e.lines():
            err.print(f"  {line}", markup=False)
    elif isinstance(e, InfeasibleError):
        err.print(f"[bold red]infeasible:[/] {escape(str(e))}", markup=True)
        for line in e.diagnosis:
            err.print(f"  {line}", markup=False)
    else:
        err.print(f"[bold red]error:[/] {escape(str(e))}", markup=True)
    raise typer.Exit(e.exit_code)


def _writable_ancestor(path: Path) -> str | None:
    """Why nothing can be written at ``path`` (None: it can): the nearest existing ancestor
    must be a folder this process may write in."""
    import os

    a = path.parent
    while not a.exists() and a != a.parent:
        a = a.parent
    if not a.is_dir():
        return f"{a} is a file, not a folder"
    if not os.access(a, os.W_OK | os.X_OK):
        return f"cannot write in {a}"
    return None


def check_outputs(
    folders: dict[str, Path | None] | None = None,
    files: dict[str, tuple[Path | None, tuple[str, ...]]] | None = None,
) -> None:
    """Check every output path before any work (exit 2 naming the option and the path).

    ``folders``: option -> result folder (it must be a folder or not exist yet, in a place
    we may write); ``files``: option -> (file, the suffixes it may have)."""
    import os

    problems = []
    for opt, d in (folders or {}).items():
        if d is None:
            continue
        if d.exists() and not d.is_dir():
            problems.append(Problem(opt, None, None, f"{d} is a file, not a folder"))
        elif d.is_dir() and not os.access(d, os.W_OK | os.X_OK):
            problems.append(Problem(opt, None, None, f"cannot write in {d}"))
        elif (why := _writable_ancestor(d)) is not None:
            problems.append(Problem(opt, None, None, f"{d}: {why}"))
    for opt, (f, suffixes) in (files or {}).items():
        if f is None:
            continue
        if f.is_dir():
            problems.append(Problem(opt, None, None, f"{f} is a folder: give a file name"))
        elif suffixes and f.suffix.lower() not in suffixes:
            want = " or ".join(suffixes)
            problems.append(Problem(opt, None, None, f"{f}: the file name must end in {want}"))
        elif f.exists() and not os.access(f, os.W_OK):
            problems.append(Problem(opt, None, None, f"cannot write {f}"))
        elif (why := _writable_ancestor(f)) is not None:
            problems.append(Problem(opt, None, None, f"{f}: {why}"))
    if problems:
        _fail(InputError(problems))


def _warn(inst) -> None:
    """Print the instance's load warnings (unreachable demand, dead ends) to stderr."""
    for w in inst.warnings:
        err.print(f"[yellow]warning:[/] {escape(w)}", markup=True)
