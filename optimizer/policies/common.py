"""Helpers shared by the policy families: which flows and outputs a policy touches."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from optimizer.instance import Instance
    from optimizer.model.core import ChainModel
    from optimizer.policies.schema import AllExcept


def commodity_set(inst: Instance, spec: str | list[str]) -> set[str]:
    """Commodity ids named by ``all``, an id, a group, or a list of them."""
    if spec == "all":
        return set(inst.commodities["id"])
    out: set[str] = set()
    for n in [spec] if isinstance(spec, str) else spec:
        out |= set(inst.commodities_of(n))
    return out


def stage_commodities(inst: Instance, stage: str, spec: str | list[str]) -> set[str]:
    """Commodities made at ``stage`` (commodities.csv), restricted to ``spec``."""
    com = inst.commodities
    return set(com.loc[com["stage"] == stage, "id"]) & commodity_set(inst, spec)


def flows_with_countries(cm: ChainModel, inst: Instance) -> pd.DataFrame:
    """One row per flow variable (column ``var``) with origin and destination countries.

    ``commodity`` is the instance's commodity id; with origin tracing, ``origin``
    is the label the flow carries (:mod:`optimizer.tracing`), else "".
    """
    from optimizer.tracing import split_commodity

    f = cm.frames["flow"].copy()
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
    from optimizer.tracing import PSEUDO, split_commodity

    t = cm.frames["act_terms"]
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
    from optimizer.policies.schema import AllExcept

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
