r"""Origin rules: procurement bans on material that passed through a country.

``procurement_ban[policy, market, commodity, period]``
    For a market site :math:`m`, a commodity :math:`c` it demands and the
    origin labels :math:`L` that carry the banned tag (see
    :mod:`optimizer.model.tracing`):

    .. math:: \sum_{L \ni \text{tag}} \mathrm{use}_{m,c,L,t} \le 0

    where :math:`\mathrm{use}` is the market's consumption of ``c`` by label
    (the tracing ``merge`` steps).  Demand that cannot be met with clean
    material goes unmet at its penalty.  The dual is the premium the market
    would pay per tonne for being allowed one tonne of banned-origin material
    (``policies.csv``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.data import periods as P
from optimizer.model.tracing import PSEUDO
from optimizer.policies.common import carries, in_periods
from optimizer.scenarios.policy_schema import ProcurementBan

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.model.core import ChainModel
    from optimizer.model.reference import Baseline

MERGE = f"{PSEUDO}merge."


def market_use(cm: ChainModel, inst: Instance) -> pd.DataFrame:
    """One row per market-use variable: var (act position), market, commodity, origin, period."""
    keys = cm.var_keys["act"]
    sel = keys["recipe"].str.startswith(MERGE).to_numpy()
    k = keys.loc[sel]
    body = k["recipe"].str.slice(len(MERGE))
    parts = body.str.rsplit("@", n=1, expand=True)
    site = k["id"].str.slice(len(PSEUDO))
    country = inst.sites.set_index("id")["country"].reindex(site).to_numpy()
    return pd.DataFrame(
        {
            "var": np.flatnonzero(sel),
            "market": site.to_numpy(),
            "country": country,
            "commodity": parts[0].to_numpy(),
            "origin": parts[1].to_numpy(),
            "period": k["period"].to_numpy(),
        }
    )


def add_procurement_bans(
    cm: ChainModel, inst: Instance, policies: list[tuple[str, object]], baseline: Baseline | None
) -> None:
    """Rows ``procurement_ban[policy, market, commodity, period]``."""
    pols = [(pid, p) for pid, p in policies if isinstance(p, ProcurementBan)]
    if not pols:
        return
    use = market_use(cm, inst)
    keys, tv, tr = [], [], []
    for pid, p in pols:
        tag = p.origin_tag()
        if p.market in set(use["market"]):
            mask = np.array(use["market"] == p.market, dtype=bool)
        else:
            mask = np.array(use["country"].isin(inst.region_members(p.market)), dtype=bool)
        mask &= use["commodity"].isin(inst.commodity_set(p.commodities)).to_numpy()
        mask &= in_periods(use["period"], p.periods)
        mask &= carries(cm, use["origin"], tag.name)
        sel = use.loc[mask]
        for (mk, c, t), rows in sel.groupby(["market", "commodity", "period"], sort=True):
            keys.append((pid, mk, c, P.plain(t)))
            tv.append(rows["var"].to_numpy())
            tr.append(np.full(len(rows), len(keys) - 1))
    if not keys:
        return
    n = sum(len(v) for v in tv)
    cm.add_rows(
        "procurement_ban",
        pd.DataFrame(keys, columns=["policy", "market", "commodity", "period"]),
        [("act", np.concatenate(tv), np.concatenate(tr), np.ones(n))],
        "<=",
        np.zeros(len(keys)),
        doc="a market's use of banned-origin material <= 0",
    )
    cm.policy_rows.append("procurement_ban")
