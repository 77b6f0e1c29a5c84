r"""Share rules on what an importer (country or region) uses: diversification caps and
domestic-share floors (EU Critical Raw Materials Act benchmarks).

For an importer :math:`I`, a commodity :math:`c` of the policy's stage and a
period :math:`t`: imports :math:`M_X` from a third country :math:`X` are the
flows from sites in :math:`X` to sites in :math:`I`; :math:`M = \sum_X M_X`;
domestic output :math:`D` is what recipes at sites in :math:`I` make of
:math:`c`; exports :math:`E` are flows from :math:`I` to outside.  What
:math:`I` uses is :math:`U = D - E + M`.

``diversification_cap[policy, commodity, country, period]``
    .. math:: M_X \le s_{max} (M + D)

    (no single third country above ``max_share`` of supply; CRMA: 65%).

``domestic_share[policy, commodity, period]``
    .. math:: (1 - s_{min})(D - E) - s_{min} M \ge 0
              \;\Leftrightarrow\; D - E \ge s_{min}\, U

    (at least ``min_share`` of what is used is made inside; CRMA: 10/40/25%).

Both hold for each commodity.  Because demand is elastic they never make the
LP infeasible on their own: the answer may be to use less (a shortage).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.data import periods as P
from optimizer.policies.common import (
    flows_with_countries,
    in_periods,
    outputs_with_countries,
    policy_periods,
    stage_commodities,
)
from optimizer.scenarios.policy_schema import DiversificationCap, DomesticShare

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.model.core import ChainModel
    from optimizer.model.reference import Baseline


def _parts(cm: ChainModel, inst: Instance, p) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """Flows into/out of the importer and its outputs, for the policy's commodities."""
    members = inst.region_members(p.importer)
    coms = stage_commodities(inst, p.stage, p.commodities)
    f = flows_with_countries(cm, inst)
    f = f.loc[f["commodity"].isin(coms).to_numpy() & in_periods(f["period"], p.periods)]
    f_in = f["to_country"].isin(members) & ~f["from_country"].isin(members)
    f_out = f["from_country"].isin(members) & ~f["to_country"].isin(members)
    flows = f.loc[f_in | f_out].assign(direction=np.where(f_in[f_in | f_out], "import", "export"))
    o = outputs_with_countries(cm, inst)
    o = o.loc[
        o["commodity"].isin(coms).to_numpy()
        & o["country"].isin(members).to_numpy()
        & in_periods(o["period"], p.periods)
    ]
    return flows, o, members


def add_diversification_caps(
    cm: ChainModel, inst: Instance, policies: list[tuple[str, object]], baseline: Baseline | None
) -> None:
    """Rows ``diversification_cap[policy, commodity, country, period]``."""
    pols = [(pid, p) for pid, p in policies if isinstance(p, DiversificationCap)]
    keys, tv, tr, tc, kinds = [], [], [], [], []
    for pid, p in pols:
        flows, outs, _ = _parts(cm, inst, p)
        imports = flows.loc[flows["direction"] == "import"]
        s = p.max_share
        for (c, x, t), own in imports.groupby(["commodity", "from_country", "period"], sort=True):
            row = len(keys)
            keys.append((pid, c, x, P.plain(t)))
            allm = imports.loc[(imports["commodity"] == c) & (imports["period"] == t)]
            dom = outs.loc[(outs["commodity"] == c) & (outs["period"] == t)]
            # M_X - s * (M + D) <= 0   (M includes M_X)
            tv += [own["var"].to_numpy(), allm["var"].to_numpy()]
            tr += [np.full(len(own), row), np.full(len(allm), row)]
            tc += [np.ones(len(own)), np.full(len(allm), -s)]
            kinds += ["flow", "flow"]
            tv.append(dom["var"].to_numpy())
            tr.append(np.full(len(dom), row))
            tc.append(-s * dom["coef"].to_numpy(dtype=float))
            kinds.append("act")
    if not keys:
        return
    cm.add_rows(
        "diversification_cap",
        pd.DataFrame(keys, columns=["policy", "commodity", "country", "period"]),
        _terms(kinds, tv, tr, tc),
        "<=",
        np.zeros(len(keys)),
        doc="imports from one third country <= max_share * (imports + domestic output)",
    )
    cm.policy_rows.append("diversification_cap")


def add_domestic_shares(
    cm: ChainModel, inst: Instance, policies: list[tuple[str, object]], baseline: Baseline | None
) -> None:
    """Rows ``domestic_share[policy, commodity, period]``."""
    pols = [(pid, p) for pid, p in policies if isinstance(p, DomesticShare)]
    keys, tv, tr, tc, kinds = [], [], [], [], []
    for pid, p in pols:
        flows, outs, _ = _parts(cm, inst, p)
        s = p.min_share
        coms = sorted(set(flows["commodity"]) | set(outs["commodity"]))
        periods = policy_periods(p.periods, cm.sets.periods)
        for c in coms:
            for t in periods:
                row = len(keys)
                keys.append((pid, c, P.plain(t)))
                dom = outs.loc[(outs["commodity"] == c) & (outs["period"] == t)]
                fl = flows.loc[(flows["commodity"] == c) & (flows["period"] == t)]
                exp = fl.loc[fl["direction"] == "export"]
                imp = fl.loc[fl["direction"] == "import"]
                # (1 - s) D - (1 - s) E - s M >= 0
                tv += [dom["var"].to_numpy(), exp["var"].to_numpy(), imp["var"].to_numpy()]
                tr += [np.full(len(dom), row), np.full(len(exp), row), np.full(len(imp), row)]
                tc += [
                    (1 - s) * dom["coef"].to_numpy(dtype=float),
                    np.full(len(exp), -(1 - s)),
                    np.full(len(imp), -s),
                ]
                kinds += ["act", "flow", "flow"]
    if not keys:
        return
    cm.add_rows(
        "domestic_share",
        pd.DataFrame(keys, columns=["policy", "commodity", "period"]),
        _terms(kinds, tv, tr, tc),
        ">=",
        np.zeros(len(keys)),
        doc="(1 - min_share)(domestic output - exports) - min_share * imports >= 0",
    )
    cm.policy_rows.append("domestic_share")


def _terms(kinds, tv, tr, tc):
    out = []
    for kind in ("flow", "act"):
        idx = [i for i, k in enumerate(kinds) if k == kind]
        if idx:
            out.append(
                (
                    kind,
                    np.concatenate([np.asarray(tv[i], dtype=np.int64) for i in idx]),
                    np.concatenate([np.asarray(tr[i], dtype=np.int64) for i in idx]),
                    np.concatenate([np.asarray(tc[i], dtype=float) for i in idx]),
                )
            )
    return out
