"""``rechain plan`` on world-2024-2035 (issue 18): the undisrupted chain (p = 0.7) and
China's April-2025 licensing held from 2026 (0.3), the default Dy/Tb stockpile
candidates outside China; docs/plan.md quotes these numbers."""

from __future__ import annotations

import pytest

from optimizer import load
from optimizer.analysis.plan import plan
from tests.conftest import INSTANCES

pytestmark = pytest.mark.slow


def test_plan_over_two_scenarios_has_nonnegative_vss_and_evpi():
    inst = load(INSTANCES / "world-2024-2035")
    res = plan(inst, ["none", "cn-controls-2025-04-from-2026"], [0.7, 0.3])
    s = res.summary
    assert s["vss"] >= -1e-6 * abs(s["objective"])
    assert s["evpi"] >= -1e-6 * abs(s["objective"])
    assert s["wait_and_see"] <= s["objective"] <= s["eev"]
    # regression values (docs/plan.md)
    assert s["objective"] == pytest.approx(63_030_872_870, rel=1e-6)
    assert s["vss"] == pytest.approx(66_876_948, rel=1e-3)
    assert s["evpi"] == pytest.approx(169_676_399, rel=1e-3)
    p = res.plan.set_index("id")
    # every committed project is in the plan; Dy oxide is stockpiled outside China
    assert (p.loc[p["kind"] == "expansion", "committed"] == "yes").sum() >= 9
    assert p.loc[p["kind"] == "stockpile", "commodity"].eq("Dy_oxide").any()
    sc = res.scenarios.set_index("scenario")
    assert sc.loc["cn-controls-2025-04-from-2026", "unmet_value"] > sc.loc["none", "unmet_value"]
