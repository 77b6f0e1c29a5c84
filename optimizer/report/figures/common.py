"""What the figure modules share: fonts and colours, the base layout, number formatting.

``t`` (tonnes), ``money`` and ``pct`` format numbers for hover text and captions
(the report's Jinja filters use them too); ``base_layout`` is the layout every
figure starts from.  Also the helpers more than one figure module needs: the
flows of one period and the height of a horizontal bar chart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from optimizer.results.result import Result

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2933"
MUTED = "#616e7c"
#: Categorical colours for commodities and cases (countries have their own).
SERIES = [
    "#4c78a8",
    "#f58518",
    "#54a24b",
    "#e45756",
    "#72b7b2",
    "#b279a2",
    "#eeca3b",
    "#9d755d",
    "#ff9da6",
    "#bab0ac",
]


def base_layout(**kw) -> dict:
    lay = {
        "template": "plotly_white",
        "font": {"family": FONT, "size": 12, "color": INK},
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "hoverlabel": {"font": {"family": FONT, "size": 12}, "align": "left"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "bargap": 0.25,
    }
    lay.update(kw)
    return lay


def t(x: float) -> str:
    """Tonnes, with as many decimals as make sense."""
    x = float(x)
    if x != x:
        return "—"
    a = abs(x)
    if a >= 100 or a == 0:
        return f"{x:,.0f}"
    if a >= 1:
        return f"{x:,.1f}"
    return f"{x:,.3g}"


def money(x: float) -> str:
    x = float(x)
    if x != x:
        return "—"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:,.2f} bn"
    if a >= 1e6:
        return f"{x / 1e6:,.2f} M"
    return f"{x:,.0f}"


def pct(x: float, digits: int = 1) -> str:
    x = float(x)
    return "—" if x != x else f"{100 * x:.{digits}f}%"


def _period_flows(res: Result, period) -> pd.DataFrame:
    f = res.flows
    if period is not None and len(f):
        f = f.loc[f["period"] == period]
    return f


def _hbar_height(n: int) -> int:
    return max(150, 80 + 26 * n)
