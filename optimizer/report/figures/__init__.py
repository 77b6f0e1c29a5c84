"""plotly figures of a report: Sankey, map, shortages, chokepoints, concentration, diffs.

Every string that comes from an instance passes through :func:`esc` before it
reaches plotly (labels, hover text, category names), so plotly's small HTML
subset never sees markup from the data.  Figures are returned as
``go.Figure``; :mod:`optimizer.report.build` serialises them safely.

The modules: ``common`` (fonts, colours, base layout, number formatting),
``sankey``, ``maps`` (site and flow maps), ``bars`` (charts of one result) and
``comparisons`` (charts of cases against the base).  They import each other
directly, never this package; this file only re-exports their names, so
``from optimizer.report import figures as F`` gives them all.
"""

from __future__ import annotations

from optimizer.report.figures.bars import (
    _element_label as _element_label,
)
from optimizer.report.figures.bars import (
    bottleneck_figure,
    build_plan_figure,
    concentration_figure,
    criticality_figure,
    shortage_figure,
)
from optimizer.report.figures.common import (
    FONT,
    INK,
    MUTED,
    SERIES,
    base_layout,
    money,
    pct,
    t,
)
from optimizer.report.figures.comparisons import (
    cases_figure,
    compare_shortage_figure,
    cost_change_figure,
    flow_change_figure,
)
from optimizer.report.figures.maps import (
    GEO,
    STAGE_SYMBOL,
    change_map_figure,
    map_figure,
    map_frame,
)
from optimizer.report.figures.sankey import COLUMN_LABEL, sankey_figure, sankey_trace

__all__ = [
    "COLUMN_LABEL",
    "FONT",
    "GEO",
    "INK",
    "MUTED",
    "SERIES",
    "STAGE_SYMBOL",
    "base_layout",
    "bottleneck_figure",
    "build_plan_figure",
    "cases_figure",
    "change_map_figure",
    "compare_shortage_figure",
    "concentration_figure",
    "cost_change_figure",
    "criticality_figure",
    "flow_change_figure",
    "map_frame",
    "map_figure",
    "money",
    "pct",
    "sankey_figure",
    "sankey_trace",
    "shortage_figure",
    "t",
]
