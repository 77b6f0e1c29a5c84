"""``rechain plan --frontier`` on world-2024-2035 (issue 18): the undisrupted chain (0.7)
and China's April-2025 licensing held from 2026 (0.3); docs/plan.md quotes these numbers."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer import load
from optimizer.analysis.plan import LADDER, plan
from tests.conftest import INSTANCES

pytestmark = pytest.mark.slow


def test_frontier_has_five_plans_cost_rising_as_cvar_falls():
    inst = load(INSTANCES / "world-2024-2035")
    res = plan(
        inst,
        ["none", "cn-controls-2025-04-from-2026"],
        [0.7, 0.3],
        frontier=5,
        value_of_information=False,
    )
    f = res.frontier
    assert len(f) == 5 and f["point"].tolist() == [1, 2, 3, 4, 5]
    lam, cost, cvar = (f[c].to_numpy() for c in ("risk_weight", "expected_cost", "cvar"))
    assert lam[0] == 0 and (np.diff(lam) > 0).all()
    # non-strictly monotone, within the LP's tolerance
    assert (np.diff(cost) >= -1e-7 * cost[0]).all()
    assert (np.diff(cvar) <= 1e-7 * cvar[0]).all()
    # the ends: the plan at weight 0 (docs/plan.md: 63.03 bn, the controls case loses
    # 51.1 bn, which is the CVaR at alpha 0.9 as p = 0.3 > 0.1), and a CVaR under 1 %
    assert f["objective"].iloc[0] == pytest.approx(res.objective, rel=1e-7)
    assert cost[0] == pytest.approx(63_030_872_870, rel=1e-6)
    assert cvar[0] == pytest.approx(51.126e9, rel=1e-3)
    assert cvar[-1] < 0.01 * cvar[0]
    # buying the CVaR down costs little in expectation (docs/plan.md): 0.3 %
    assert cost[-1] - cost[0] < 0.003 * cost[0]
    # more is stocked as the weight rises; each point's plan is in plan_frontier.csv
    assert f["stockpile_t"].iloc[-1] > f["stockpile_t"].iloc[0] > 2_000
    p = res.frontier_plans
    held = p.loc[p["kind"] == "stockpile"].groupby("point")["amount"].sum()
    assert held.to_numpy() == pytest.approx(f["stockpile_t"].to_numpy())
    info = res.summary["frontier"]
    assert info["points"] == 5 and info["solves"] <= 3 * 5 + len(LADDER)
