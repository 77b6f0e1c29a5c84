"""The cost-CVaR frontier of ``rechain plan``: warm re-solves of one LP vs a cold LP per weight.

The *warm* path is :func:`optimizer.analysis.plan.frontier_points`: one extensive form,
the CVaR costs changed in HiGHS between weights, the dual simplex from the previous
basis.  The *cold* path assembles the extensive form afresh for each of the same weights
and solves it with the default method (``choose``: interior point on this size), as a
plan at that ``--risk-weight`` would.  Both must give the same objectives.  Prints the
seconds of both (the scenario models are built once, outside both timings) and their
ratio, measured in the same run.

    python benchmarks/bench_plan_frontier.py [--instance instances/world-2024-2035] [--points 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optimizer import load  # noqa: E402
from optimizer.analysis import plan as P  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instance", default="instances/world-2024-2035")
    ap.add_argument("-s", "--scenario", action="append")
    ap.add_argument("--prob", action="append", type=float)
    ap.add_argument("--points", type=int, default=5)
    a = ap.parse_args()
    scen = a.scenario or ["none", "cn-controls-2025-04-from-2026"]
    probs = np.array(a.prob or ([0.7, 0.3] if a.scenario is None else [1 / len(scen)] * len(scen)))
    inst = load(a.instance)
    cands = P.stock_candidates(inst)
    blocks = P._blocks(inst, scen, probs, cands, "choose", None)

    t0 = time.perf_counter()
    front, _, info = P.frontier_points(blocks, cands, 0.9, a.points)
    warm = time.perf_counter() - t0

    weights = [s["risk_weight"] for s in info["solve_seconds"]]
    t0 = time.perf_counter()
    cold_obj = {lam: P._extensive(blocks, 0.9, lam).objective for lam in weights}
    cold = time.perf_counter() - t0

    for r in front.itertuples(index=False):
        assert np.isclose(r.objective, cold_obj[r.risk_weight], rtol=1e-6), (r, cold_obj)
    print(
        f"instance {a.instance}  scenarios {len(scen)}  points {len(front)}  solves {len(weights)}"
    )
    print(f"warm (one LP, costs changed, dual simplex): {warm:7.2f} s")
    print(f"cold (one LP per weight, default method):   {cold:7.2f} s")
    print(f"speed-up:                                   {cold / warm:7.2f}x")


if __name__ == "__main__":
    main()
