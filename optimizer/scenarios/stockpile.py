"""Strategic stockpiles, compiled into instance tables when a scenario is applied.

A stockpile is data, not a constraint: it becomes a stock (``stocks.csv``) at
an existing site, or at a new site ``stockpile.<region>.<commodity>`` with
links to every site of the region that uses the commodity (a recipe input or
a demand).  The ordinary inventory and balance rows then let the LP draw on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.scenarios.policy_schema import Stockpile

if TYPE_CHECKING:
    from optimizer.data.instance import Instance


def _append(df: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    new = pd.DataFrame(rows)
    for c in df.columns:
        if c not in new.columns:
            new[c] = np.nan if df[c].dtype.kind == "f" else ""
    return pd.concat([df, new[df.columns]], ignore_index=True)


def compile_stockpile(inst: Instance, pid: str, p: Stockpile, source: str) -> None:
    """Add the stockpile's site, stock and links to ``inst.tables`` (in place); a
    stockpile whose site is already there (another policy, another scenario) adds to
    its stock."""
    t = inst.tables
    members = inst.region_members(p.region)
    if p.site is not None:
        site = p.site
    elif (site := f"stockpile.{p.region}.{p.commodity}") in set(t["sites"]["id"]):
        pass  # a second stockpile of the same place and commodity adds to its stock
    else:
        country = p.region if p.region not in inst.manifest.regions else sorted(members)[0]
        stage = inst.commodities.set_index("id").loc[p.commodity, "stage"]
        t["sites"] = _append(
            t["sites"],
            [
                {
                    "id": site,
                    "name": f"Strategic stockpile of {p.commodity} ({p.region}, policy {pid})",
                    "country": country,
                    "stage": stage,
                    "company": "strategic stockpile",
                    "lat": np.nan,
                    "lon": np.nan,
                    "source": "",
                    "_line": 0,
                }
            ],
        )
        sites = t["sites"]
        rec = t["recipes"]
        users = set(
            t["processes"].loc[
                t["processes"]["recipe"].isin(
                    rec.loc[
                        (rec["commodity"] == p.commodity) & (rec["direction"] == "input"), "recipe"
                    ]
                ),
                "site",
            ]
        )
        users |= set(t["demand"].loc[t["demand"]["commodity"] == p.commodity, "market"])
        in_region = set(sites.loc[sites["country"].isin(members), "id"])
        targets = sorted((users & in_region) - {site})
        t["links"] = _append(
            t["links"],
            [
                {
                    "id": f"{site}.to.{x}",
                    "from_site": site,
                    "to_site": x,
                    "commodity": p.commodity,
                    "capacity": np.nan,
                    "cost": p.release_cost,
                    "source": source,
                    "_line": 0,
                }
                for x in targets
            ],
        )
    stocks = t.get("stocks")
    row = {
        "site": site,
        "commodity": p.commodity,
        "quantity": p.initial,
        "source": source,
        "_line": 0,
    }
    if stocks is None:
        t["stocks"] = pd.DataFrame([row])
    else:
        hit = (stocks["site"] == site) & (stocks["commodity"] == p.commodity)
        if hit.any():
            stocks = stocks.copy()
            stocks.loc[hit, "quantity"] = stocks.loc[hit, "quantity"] + p.initial
            t["stocks"] = stocks
        else:
            t["stocks"] = _append(stocks, [row])
