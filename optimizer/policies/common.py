"""Helpers shared by the policy families: which flows and outputs a policy touches."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.data import periods as P
from optimizer.scenarios.policy_schema import AllExcept

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.model.core import ChainModel


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
    inst: Instance,
    countries: pd.Series,
    destinations: str | list[str] | AllExcept,
    sites: pd.Series | None = None,
) -> np.ndarray:
    """Which flows a policy's ``destinations`` selects: by destination country (a country
    or region) or destination site (a site id)."""
    if destinations == "all":
        return np.ones(len(countries), dtype=bool)
    names = destinations.all_except if isinstance(destinations, AllExcept) else destinations
    hit = np.zeros(len(countries), dtype=bool)
    site_ids = set(inst.sites["id"])
    for d in names:
        if d in site_ids and sites is not None:
            hit |= (sites == d).to_numpy()
        else:
            hit |= countries.isin(inst.region_members(d)).to_numpy()
    return ~hit if isinstance(destinations, AllExcept) else hit


def destination_keys(
    inst: Instance, countries: pd.Series, sites: pd.Series, keys: list[str]
) -> np.ndarray:
    """The most specific of ``keys`` that each flow's destination matches: a site id, then
    a country code, then a region (the smallest first), else ``default``."""
    out = np.full(len(countries), "default", dtype=object)
    rank = np.full(len(countries), -1.0)
    site_ids = set(inst.sites["id"])
    for k in keys:
        if k == "default":
            continue
        if k in site_ids:
            mask, score = (sites == k).to_numpy(), 1e9
        elif k in inst.manifest.regions:
            members = inst.region_members(k)
            mask, score = countries.isin(members).to_numpy(), 1e6 - len(members)
        else:
            mask, score = (countries == k).to_numpy(), 1e8
        better = mask & (score > rank)
        out[better] = k
        rank[better] = score
    return out


def in_periods(periods_col: pd.Series, periods: list | None) -> np.ndarray:
    """Rows whose period is one of ``periods`` (None: all; a year also covers its months)."""
    if periods is None:
        return np.ones(len(periods_col), dtype=bool)
    years = {p for p in periods if P.is_year(p)}
    mask = np.array(periods_col.isin(periods).to_numpy(), dtype=bool)
    if years:
        months = periods_col.map(lambda v: P.is_month(v) and P.year_of(v) in years)
        mask |= months.to_numpy(dtype=bool)
    return mask


def policy_periods(periods: list | None, all_periods: list) -> list:
    """The instance periods a policy applies in (every period when it names none)."""
    return list(all_periods) if periods is None else P.resolve(periods, all_periods)
