"""world-2025-monthly: load, build, hand-off and solve, against raw highspy in the same run.

Two measurements:

1. the undisrupted twelve-month instance as one LP (the reference plan every monthly
   run starts from): load, build (sets + model), hand-off, solve and collect, and the
   same LP read from MPS and solved by a fresh raw ``highspy.Highs`` (ratio ours / raw);
2. the April-2025 controls decided month by month (``rechain solve
   instances/world-2025-monthly -s cn-controls-2025``): wall time of the whole rolling
   solve and the number of plans (each a short LP of ``lookahead`` months), beside the
   HiGHS time of the kept plans.

Usage::

    python benchmarks/bench_monthly.py [--scenario cn-controls-2025] [--method choose]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from rawhighs import raw_solve  # noqa: E402

import optimizer.solve as S  # noqa: E402
from optimizer import load  # noqa: E402
from optimizer.analysis.rolling import rolling_solve  # noqa: E402
from optimizer.lp.handoff import to_highs  # noqa: E402
from optimizer.lp.run import run_highs  # noqa: E402
from optimizer.results.collect import collect  # noqa: E402

INSTANCE = ROOT / "instances" / "world-2025-monthly"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="cn-controls-2025")
    ap.add_argument("--method", default="choose")
    a = ap.parse_args(argv)

    t0 = time.perf_counter()
    inst = load(INSTANCE, structure_checks=False).with_horizon("long")
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    cm, _ = S.build(inst)
    t1 = time.perf_counter()
    handle = to_highs(cm)
    t2 = time.perf_counter()
    facts = run_highs(handle, a.method)
    t3 = time.perf_counter()
    collect(inst, handle, facts, "optimal", t1 - t0)
    t4 = time.perf_counter()
    raw, raw_obj = raw_solve(handle, facts["method"])
    assert abs(raw_obj - facts["objective"]) <= 1e-6 * max(1.0, abs(raw_obj)), "objectives differ"
    ours = t3 - t0
    print(
        f"{INSTANCE.name}: {len(inst.periods)} months · {handle.num_col:,} vars · "
        f"{handle.num_row:,} rows · {handle.nnz:,} nnz"
    )
    print(
        f"load {t_load:.2f}s · build {t1 - t0:.2f}s · hand-off {t2 - t1:.2f}s · "
        f"solve {t3 - t2:.2f}s · collect {t4 - t3:.2f}s"
    )
    print(
        f"build + hand-off + solve {ours:.2f}s · raw highspy read + solve {raw:.2f}s · "
        f"ratio {ours / raw:.2f}x"
    )

    t0 = time.perf_counter()
    dis = load(INSTANCE, [a.scenario], structure_checks=False)
    res = rolling_solve(dis, method=a.method)
    wall = time.perf_counter() - t0
    d = res.summary["decisions"]
    solver = float(res.summary.get("solve_seconds", 0.0))
    print(
        f"{a.scenario}: {d['mode']} from {d['start']}, {d['plans']} plans of "
        f"{d['lookahead']} months + reference: wall {wall:.1f}s (load included), "
        f"HiGHS solve time of the kept plans {solver:.2f}s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
