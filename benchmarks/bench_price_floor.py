"""Time cost of settling market-referenced price floors, against raw highspy in the same run.

A ``price_floor`` with ``reference: market`` re-solves the LP until the payment
and the model's price agree (:func:`optimizer.policies.price.settle`).  For each
case this prints the re-solves it took, our time (build + hand-off + first solve
+ settling), the settling alone, and the *settled* LP read from MPS and solved
once by a fresh raw ``highspy.Highs`` — the least any method could spend, since
it already knows the final costs (ratio ours / raw, best of ``--repeat``).

Cases: the DoD-MP floor on world-2024 (MP takes the market price), stacked on
western-buildout-2030 (the floor moves MP's output), and on world-2024-2035.

Usage::

    python benchmarks/bench_price_floor.py [--repeat 3]
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

from optimizer import load  # noqa: E402
from optimizer.lp.handoff import to_highs  # noqa: E402
from optimizer.lp.run import run_highs  # noqa: E402
from optimizer.solve import build, settle  # noqa: E402

CASES = [
    ("world-2024", ["us-ndpr-price-floor"]),
    ("world-2024", ["western-buildout-2030", "us-ndpr-price-floor"]),
    ("world-2024-2035", ["us-ndpr-price-floor"]),
]


def one(inst) -> dict:
    t0 = time.perf_counter()
    cm, _ = build(inst)
    handle = to_highs(cm)
    facts = run_highs(handle)
    t1 = time.perf_counter()
    info = settle(handle, dict(facts))["price_floor"]
    t2 = time.perf_counter()
    ours = handle.highs.getInfo().objective_function_value
    raw, raw_obj = raw_solve(handle, facts["method"])
    assert abs(raw_obj - ours) <= 1e-6 * max(1.0, abs(raw_obj)), "objectives differ"
    return {
        "resolves": info["iterations"],
        "converged": info["converged"],
        "ours": t2 - t0,
        "settle": t2 - t1,
        "raw": raw,
        "method": facts["method"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    one(load(ROOT / "instances" / "world-2024", ["us-ndpr-price-floor"]))  # warm-up
    print(f"best of {a.repeat}")
    print(
        f"{'case':<58} {'method':>7} {'re-solves':>9} {'settle s':>8} {'ours s':>7} "
        f"{'raw s':>6} {'ours/raw':>8}"
    )
    for name, scen in CASES:
        inst = load(ROOT / "instances" / name, scen, structure_checks=False)
        runs = [one(inst) for _ in range(a.repeat)]
        best = {k: min(r[k] for r in runs) for k in ("ours", "settle", "raw")}
        r = {**runs[0], **best}
        label = f"{name} + {'+'.join(scen)}"
        print(
            f"{label:<58} {r['method']:>7} {r['resolves']:>9} {r['settle']:>8.2f} "
            f"{r['ours']:>7.2f} {r['raw']:>6.2f} {r['ours'] / r['raw']:>8.2f}"
            + ("" if r["converged"] else "  NOT SETTLED")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
