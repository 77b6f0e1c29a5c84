r"""Time to survive a disruption on the stocks really on hand, and the stockpile that would.

Both questions are about a disruption (scenarios: table changes and policies,
e.g. an export ban) that **starts** in a period ``start`` of a multi-period
instance, and both avoid the perfect-foresight trap: one LP over the whole
horizon that knows the disruption is coming would build stocks before it
starts, which is not what "time to survive" means.  So:

1. The **undisrupted** instance is solved over its whole horizon.  Its
   end-of-period inventories of the period before ``start`` are what is on
   hand when the disruption strikes (:func:`on_hand`).  If ``start`` is the
   first period, the instance's ``stocks.csv`` is.  Stocks that the
   disruption's own scenarios add (a ``stockpile`` policy) come on top, at
   ``start``: a stockpile released when the disruption strikes.
2. Capacity projects whose construction could start before ``start``
   (``earliest < start``) keep the baseline's decision: built at the amount
   the baseline built (committed), or not at all.  Later candidates may be
   built in response to the disruption (``rationed``), or follow the
   baseline too (``myopic``).
3. The periods from ``start`` on are solved with the disruption applied,
   starting from those stocks (:func:`time_to_survive`).

What remains of foresight inside the disrupted horizon depends on ``mode``:

``rationed`` (default)
    One LP over the periods from ``start`` to the horizon's end: it knows how
    long the disruption lasts and releases stocks where and when they do the
    most good (Simchi-Levi's *time to survive*: how long the chain can match
    supply with demand using its inventories and every other source, with an
    optimal response).  Among the cost-optimal plans it takes the one whose
    shortages come **latest** (a second, lexicographic LP: total cost held at
    its optimum, minimise :math:`\sum_k (n - k)\,\mathrm{unmet}_k`), so a tie
    between "short now" and "short later" never shortens survival.  This is
    an upper bound on survival under any release rule.
``myopic``
    Period by period: each period's LP knows nothing of later periods, draws
    on stocks whenever that is the cheapest way to serve this period, and
    passes its end-of-period inventories on to the next.  Capacity projects
    follow the undisrupted plan (built as the baseline builds them, nothing
    new in response).  A lower bound: stocks are used up as fast as the chain
    would use them.

:func:`size_stockpile` answers the converse: the smallest strategic stock of
one commodity, held in a region (at a new site ``stockpile.<region>.<commodity>``
linked to every site of the region that uses it, as the ``stockpile`` policy
makes, or at a given site) at the start of the disruption, that keeps chosen
markets' unmet demand at zero through a given number of periods.  It is a
lexicographic LP on the ``rationed`` window: first minimise the stock
:math:`S` with those markets' unmet demand fixed at zero and no other market
worse off than without the stockpile; then, with :math:`S` at that minimum,
minimise cost.  When no stock of that commodity alone can do it, a third LP
lets unlimited stocks of it and of every other commodity the region uses be
drawn on, and minimises the tonnes of the others: those are the commodities
that also go short.

The worked examples are in ``docs/analysis.md`` (and ``tests/test_survive.py``).
"""

from __future__ import annotations

from optimizer.analysis.survive.outputs import (
    MODES,
    OTHERS,
    TOL,
    StockpileInfeasible,
    StockpileSize,
    Survival,
)
from optimizer.analysis.survive.sizing import CURVE_FRACTIONS, StockpileQuestion, size_stockpile
from optimizer.analysis.survive.timing import time_to_survive
from optimizer.analysis.survive.window import on_hand

__all__ = [
    "CURVE_FRACTIONS",
    "MODES",
    "OTHERS",
    "TOL",
    "StockpileInfeasible",
    "StockpileQuestion",
    "StockpileSize",
    "Survival",
    "on_hand",
    "size_stockpile",
    "time_to_survive",
]
