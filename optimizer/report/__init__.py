"""Self-contained HTML reports of solved results (one file, no network access).

>>> from optimizer import load
>>> from optimizer.report import write_report
>>> net = load("instances/tiny")
>>> write_report("reports/tiny.html", net.solve(), net)  # doctest: +SKIP

``rechain solve … --report FILE.html``, ``rechain compare … --report FILE.html``
and ``rechain report RESULT_DIR --out FILE.html`` use the same functions; see
``docs/reports.md``.
"""

from __future__ import annotations

from optimizer.report.build import (
    render_compare_report,
    render_report,
    sankey,
    write_compare_report,
    write_report,
    write_saved_report,
)
from optimizer.report.load import Saved, load_result, load_saved

__all__ = [
    "Saved",
    "load_result",
    "load_saved",
    "render_compare_report",
    "render_report",
    "sankey",
    "write_compare_report",
    "write_report",
    "write_saved_report",
]
