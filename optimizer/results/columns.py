"""The output schema: every table a solve writes, its columns, and the tolerances.

This is the one definition of the contract columns (docs/design.md §4) that
:mod:`optimizer.results.collect` produces, :class:`~optimizer.results.result.Result`
writes, and :mod:`optimizer.results.saved` reads back.
"""

from __future__ import annotations

#: A quantity (t, units of activity) this small is zero: left out of flows.csv and the
#: other tables of positive quantities.
TOL = 1e-7
#: Differences between two solves below this (t, USD) are solver noise, not a change:
#: shortages, sweep and criticality increments, invariant checks.
NOISE = 1e-6
#: Duals smaller than this (USD) are treated as zero.
DUAL_TOL = 1e-6

#: Columns of ``concentration.csv``.
CONCENTRATION_COLUMNS = [
    "period",
    "stage",
    "commodity",
    "scope",
    "hhi",
    "top_country",
    "top_share",
    "top",
    "total",
    "producers",
]

#: Columns of ``mincut.csv``.
MINCUT_COLUMNS = [
    "period",
    "market",
    "commodity",
    "demand",
    "served",
    "min_cut",
    "cut_share",
    "structural_gap",
    "key_input",
    "cut_elements",
    "cut_countries",
]

#: Files written by ``--out``, in order, with their DataFrame attribute.
TABLE_FILES = {
    "flows.csv": "flows",
    "production.csv": "production",
    "shortages.csv": "shortages",
    "prices.csv": "prices",
    "area_prices.csv": "area_prices",
    "bottlenecks.csv": "bottlenecks",
    "concentration.csv": "concentration",
    "mincut.csv": "mincut",
    "policies.csv": "policies",
    "expansions.csv": "expansions",
    "capacities.csv": "capacities",
    "disposal.csv": "disposal",
    "inventory.csv": "inventory",
    "origins.csv": "origins",
    "content.csv": "content",
}

ORIGIN_COLUMNS = [
    "period",
    "site",
    "country",
    "step",
    "commodity",
    "origin",
    "to_origin",
    "quantity",
]
CONTENT_COLUMNS = ["period", "country", "commodity", "origin", "quantity", "share"]


POLICY_COLUMNS = [
    "policy",
    "type",
    "constraint",
    "period",
    "commodity",
    "country",
    "sense",
    "limit",
    "used",
    "shadow_price",
    "binding",
    "quantity",
    "payment",
]


EXPANSION_COLUMNS = [
    "id",
    "process",
    "site",
    "country",
    "in_service",
    "committed",
    "max_capacity",
    "built",
    "capex_cost",
]


#: The output schema: columns of every table a solve writes (contract columns first).
OUTPUT_COLUMNS: dict[str, list[str]] = {
    "flows": [
        "period",
        "source",
        "target",
        "commodity",
        "quantity",
        "source_country",
        "target_country",
        "link",
        "unit_cost",
        "origin",
    ],
    "production": [
        "period",
        "site",
        "process",
        "recipe",
        "activity",
        "country",
        "unit_cost",
        "origin",
    ],
    "shortages": [
        "period",
        "market",
        "commodity",
        "demand",
        "served",
        "unmet",
        "unmet_share",
        "country",
        "extra",
        "unmet_value",
    ],
    "prices": ["period", "site", "commodity", "marginal_cost", "country", "origin"],
    "area_prices": [
        "period",
        "commodity",
        "area",
        "price",
        "price_min",
        "price_max",
        "receipts",
        "sites",
        "basis",
    ],
    "bottlenecks": [
        "constraint",
        "kind",
        "site",
        "country",
        "period",
        "shadow_price",
        "utilization",
        "element",
        "capacity",
        "used",
    ],
    "capacities": [
        "constraint",
        "kind",
        "element",
        "site",
        "country",
        "period",
        "capacity",
        "used",
        "utilization",
        "shadow_price",
    ],
    "concentration": CONCENTRATION_COLUMNS,
    "mincut": MINCUT_COLUMNS,
    "policies": POLICY_COLUMNS,
    "expansions": EXPANSION_COLUMNS,
    "disposal": ["period", "site", "commodity", "quantity", "origin"],
    "inventory": ["period", "site", "commodity", "quantity", "origin"],
    "origins": ORIGIN_COLUMNS,
    "content": CONTENT_COLUMNS,
}
