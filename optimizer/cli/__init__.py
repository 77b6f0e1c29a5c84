"""The ``rechain`` command line (typer + rich): one module per command group.

Importing this package registers every command on :data:`app`
(:mod:`optimizer.cli.common`); :func:`main` is the console-script entry point.
"""

from __future__ import annotations

import logging
import sys

from optimizer.cli import (  # noqa: F401  (registers)
    compare,
    criticality,
    plan,
    solve,
    survive,
    sweep,
    workbook,
)
from optimizer.cli.common import app, err
from optimizer.errors import printable

__all__ = ["app", "main"]


class _PrintableFormatter(logging.Formatter):
    """Log records with :func:`~optimizer.errors.printable` applied."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    for h in logging.getLogger().handlers:  # log lines reach the terminal too
        h.setFormatter(_PrintableFormatter("%(levelname)s: %(message)s"))
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        err.print("interrupted")
        sys.exit(130)
