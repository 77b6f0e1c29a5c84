"""``rechain plan``: the extensive form (one HiGHS LP) vs progressive hedging on 1 and 2
workers, on the same scenarios.

For each engine: the wall time of ``plan()`` (building every scenario's block included),
the seconds of the solve itself (the extensive LP in HiGHS; PH's iterations and the final
evaluation), the objective and its relative difference from the extensive form's, PH's
iterations, its Lagrangian lower bound and gap.  The ratios are against the extensive
form's HiGHS solve measured in the same run.  The machine may be shared: run it twice.

    python benchmarks/bench_plan.py [--instance instances/world-2024-2035] \\
        [-s none -s cn-controls-2025-04-from-2026 ...] [--workers 1 --workers 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optimizer import load  # noqa: E402
from optimizer.analysis.plan import plan  # noqa: E402

SCENARIOS = [
    "none",
    "cn-controls-2025-04-from-2026",
    "demand-adamas-high",
    "cn-controls-2025-04-from-2026+demand-adamas-high",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instance", default="instances/world-2024-2035")
    ap.add_argument("-s", "--scenario", action="append", default=None)
    ap.add_argument("--workers", action="append", type=int, default=None)
    ap.add_argument("--ph-gap", type=float, default=1e-4)
    args = ap.parse_args()
    scen = args.scenario or SCENARIOS
    inst = load(args.instance)
    kw = {"value_of_information": False}
    print(f"{args.instance}: {len(scen)} scenarios, equal probabilities: {', '.join(scen)}")
    t = time.perf_counter()
    ef = plan(inst, scen, **kw)
    wall = time.perf_counter() - t
    e = ef.summary["extensive_form"]
    base = e["solve_seconds"]
    print(
        f"extensive form: {e['columns']:,} columns, {e['rows']:,} rows; wall {wall:.1f} s, "
        f"HiGHS ({e['method']}) {base:.2f} s; objective {ef.objective:,.0f}"
    )
    for w in args.workers or [1, 2]:
        t = time.perf_counter()
        res = plan(inst, scen, decomposition="ph", workers=w, ph_gap=args.ph_gap, **kw)
        wall = time.perf_counter() - t
        f = res.summary["progressive_hedging"]
        diff = (res.objective - ef.objective) / abs(ef.objective)
        print(
            f"PH, {w} worker{'s' if w != 1 else ''} ({f['engine']}): wall {wall:.1f} s, PH "
            f"{f['seconds']:.2f} s ({f['seconds'] / base:.1f}x the extensive HiGHS solve), "
            f"{f['iterations']} iterations, {f['subproblem_solves']} subproblem solves; "
            f"objective {res.objective:,.0f} ({diff:+.2e} vs extensive), lower bound "
            f"{f['lower_bound']:,.0f}, gap {f['gap']:.1e}, residual {f['residual']:.1e}"
        )


if __name__ == "__main__":
    main()
