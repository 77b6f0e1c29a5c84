"""Helpers shared by the policy families: which flows and outputs a policy touches."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.model.core import ChainModel
    from optimizer.scenarios.policy_schema import AllExcept


def stage_commodities(inst: Instance, stage: str, spec: str | list[str]) -> set[str]:
    """Commodities made at ``stage`` (commodities.csv), restricted to ``spec``."""
    com = inst.commodities
    return set(com.loc[com["stage"] == stage, "id"]) & inst.commodity_set(spec)


def flows_with_countries(cm: ChainModel, inst: Instance) -> pd.DataFrame:
    """One row per flow variable (column ``var``) with origin and destination countries.

    ``commodity`` is the instance's commodity id; with origin tracing, ``origin``
    is the label the flow carries (:mod:`optimizer.model.tracing`), else "".
    """
    from optimizer.model.tracing import split_commodity

    f = cm.flow_terms.copy()
    f["commodity"], f["origin"] = split_commodity(f["commodity"], cm.sets.labels)
    country = inst.sites.set_index("id")["country"]
    f["from_country"] = country.reindex(f["from_site"]).to_numpy()
    f["to_country"] = country.reindex(f["to_site"]).to_numpy()
    f["var"] = np.arange(len(f), dtype=np.int64)
    return f


def outputs_with_countries(cm: ChainModel, inst: Instance) -> pd.DataFrame:
    """Recipe outputs (coef > 0) per activity variable, with the site's country.

    Origin-tracing bookkeeping steps (relabel, merge) are not output.
    """
    from optimizer.model.tracing import PSEUDO, split_commodity

    t = cm.act_terms
    t = t.loc[(t["coef"] > 0) & ~t["id"].str.startswith(PSEUDO)].copy()
    t["commodity"], t["origin"] = split_commodity(t["commodity"], cm.sets.labels)
    t["country"] = inst.sites.set_index("id")["country"].reindex(t["site"]).to_numpy()
    return t


def carries(cm: ChainModel, origins: pd.Series, tag: str) -> np.ndarray:
    """Which origin labels carry ``tag`` (all False without tracing)."""
    lab = cm.sets.labels
    if lab is None:
        return np.zeros(len(origins), dtype=bool)
    return np.fromiter((lab.carries(o, tag) for o in origins), dtype=bool, count=len(origins))


def destination_mask(
    inst: Instance, countries: pd.Series, destinations: str | list[str] | AllExcept
) -> np.ndarray:
    """Which destination countries a policy's ``destinations`` selects."""
    from optimizer.scenarios.policy_schema import AllExcept

    if destinations == "all":
        return np.ones(len(countries), dtype=bool)
    if isinstance(destinations, AllExcept):
        excluded: set[str] = set()
        for d in destinations.all_except:
            excluded |= inst.region_members(d)
        return ~countries.isin(excluded).to_numpy()
    included: set[str] = set()
    for d in destinations:
        included |= inst.region_members(d)
    return countries.isin(included).to_numpy()


def in_periods(periods_col: pd.Series, periods: list[int] | None) -> np.ndarray:
    return (
        np.ones(len(periods_col), dtype=bool)
        if periods is None
        else periods_col.isin(periods).to_numpy()
    )
