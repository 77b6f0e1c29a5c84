"""The reference plan that families defined relative to "normal" refer to.

A licensing share of normal exports (``export_control`` with ``max_share``) and an
ad valorem tariff (valued at the origin price) need the flows and prices of the
chain as it runs without the policy.  :class:`Baseline` carries exactly that — plain
tables, not a solved result — so the model families never see the results layer.
It is made from a solved result by
:meth:`optimizer.results.result.Result.as_baseline`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Baseline:
    """Flows, production and prices of a reference solve, in USD of their own period."""

    #: link, commodity, origin, period, quantity (t)
    flows: pd.DataFrame
    #: site, commodity, origin, period, marginal_cost (USD/t)
    prices: pd.DataFrame
    #: process, recipe, origin, period, activity
    production: pd.DataFrame
    objective: float
    #: process, period, shadow_price: what one more unit of each plant's capacity was worth
    #: to the reference plan (objective units per unit of activity; 0 where it was slack)
    capacity_rent: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["process", "period", "shadow_price"])
    )
