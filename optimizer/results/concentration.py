r"""Supply concentration on solved flows: Herfindahl–Hirschman index and top share.

For each period, stage and commodity, the output made (production × recipe
output amounts) is split by country and by company;

.. math:: \mathrm{HHI} = \sum_i (100\, s_i)^2 \in [0, 10\,000]

where :math:`s_i` is the share of producer group *i*.  Rows with commodity
``*`` aggregate every commodity the stage makes (all ores, all oxides, …).  10,000 is a monopoly;
above 2,500 is "highly concentrated" in the US merger guidelines' terms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.data.schema import STAGES
from optimizer.results.columns import CONCENTRATION_COLUMNS

if TYPE_CHECKING:
    from optimizer.data.instance import Instance

COLUMNS = CONCENTRATION_COLUMNS


def outputs(inst: Instance, production: pd.DataFrame) -> pd.DataFrame:
    """Tonnes of each commodity made by each process activity (outputs only)."""
    rec = inst.tables["recipes"]
    rec = rec.loc[rec["direction"] == "output", ["recipe", "commodity", "amount"]]
    out = production.merge(rec, on="recipe")
    out["quantity"] = out["activity"] * out["amount"]
    return out


def concentration(inst: Instance, production: pd.DataFrame) -> pd.DataFrame:
    """HHI and top share per (period, stage, commodity), by country and by company."""
    out = outputs(inst, production)
    if out.empty:
        return pd.DataFrame(columns=COLUMNS)
    sites = inst.tables["sites"].set_index("id")
    com = inst.tables["commodities"].set_index("id")
    out["company"] = sites["company"].reindex(out["site"]).replace("", "(unknown)").to_numpy()
    out["stage"] = com["stage"].reindex(out["commodity"]).to_numpy()
    # commodity "*": everything a stage makes (e.g. all ores, t REO; all oxides, t REO)
    out = pd.concat([out, out.assign(commodity="*")], ignore_index=True)
    frames = []
    for scope in ("country", "company"):
        g = out.groupby(["period", "stage", "commodity", scope], as_index=False)["quantity"].sum()
        g = g.loc[g["quantity"] > 1e-9]
        tot = g.groupby(["period", "stage", "commodity"])["quantity"].transform("sum")
        g["share"] = g["quantity"] / tot
        g["sq"] = (100 * g["share"]) ** 2
        g = g.sort_values(
            ["period", "stage", "commodity", "share"], ascending=[True, True, True, False]
        )
        agg = g.groupby(["period", "stage", "commodity"], as_index=False).agg(
            hhi=("sq", "sum"),
            top=(scope, "first"),
            top_share=("share", "first"),
            total=("quantity", "sum"),
            producers=(scope, "count"),
        )
        agg["scope"] = scope
        # top_country: the leading country (for company scope, the country of the leading company)
        if scope == "country":
            agg["top_country"] = agg["top"]
        else:
            lead = out.groupby("company")["site"].first()
            agg["top_country"] = sites["country"].reindex(lead.reindex(agg["top"])).to_numpy()
        frames.append(agg)
    res = pd.concat(frames, ignore_index=True)
    res["hhi"] = np.round(res["hhi"], 6)
    order = {s: i for i, s in enumerate(STAGES)}
    res = res.sort_values(
        ["period", "scope", "stage", "commodity"],
        key=lambda s: s.map(order) if s.name == "stage" else s,
    )
    return res[COLUMNS].reset_index(drop=True)
