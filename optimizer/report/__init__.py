"""Self-contained HTML reports of solved results (one file, no network access).

>>> from optimizer import load
>>> from optimizer.report import write_report
>>> net = load("instances/tiny")
>>> write_report("reports/tiny.html", net.solve(), net)  # doctest: +SKIP

``rechain solve … --report FILE.html``, ``rechain compare … --report FILE.html``
and ``rechain report RESULT_DIR --out FILE.html`` use the same functions;
``rechain sweep|survive|stockpile-size … --report FILE.html`` those of
:mod:`optimizer.report.outcomes`.  See ``docs/reports.md``.
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
from optimizer.report.outcomes import (
    render_stockpile_report,
    render_survival_report,
    render_sweep_report,
    write_stockpile_report,
    write_survival_report,
    write_sweep_report,
)

__all__ = [
    "Saved",
    "load_result",
    "load_saved",
    "render_compare_report",
    "render_report",
    "render_stockpile_report",
    "render_survival_report",
    "render_sweep_report",
    "sankey",
    "write_compare_report",
    "write_report",
    "write_saved_report",
    "write_stockpile_report",
    "write_survival_report",
    "write_sweep_report",
]
