"""Model-size and time cost of origin tracing, against raw highspy in the same run.

For an instance (default ``instances/world-2024``; or a synthetic one with
``--size``), solve with 0, 1, 2 and 3 origin tags (the countries with most
sites, from mining on) and report, per case: variables / rows / nonzeros and
their growth over the untraced model, build (sets + model), hand-off, solve,
and the same LP read from MPS and solved by a fresh raw ``highspy.Highs``
(ratio ours / raw, best of ``--repeat``).

Usage::

    python benchmarks/bench_tracing.py [--instance instances/world-2024] [--size 1e4]
        [--repeat 3] [--method choose]
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

import synthetic  # noqa: E402
from rawhighs import raw_solve  # noqa: E402

from optimizer import load  # noqa: E402
from optimizer.lp.handoff import to_highs  # noqa: E402
from optimizer.lp.run import run_highs  # noqa: E402
from optimizer.scenarios.schema import OriginTag  # noqa: E402
from optimizer.solve import build  # noqa: E402


def one(inst, method: str) -> dict:
    t0 = time.perf_counter()
    cm, _ = build(inst)
    t1 = time.perf_counter()
    handle = to_highs(cm)
    t2 = time.perf_counter()
    facts = run_highs(handle, method)
    t3 = time.perf_counter()
    raw, raw_obj = raw_solve(handle, facts["method"])
    assert abs(raw_obj - facts["objective"]) <= 1e-6 * max(1.0, abs(raw_obj)), "objectives differ"
    return {
        "vars": handle.num_col,
        "rows": handle.num_row,
        "nnz": handle.nnz,
        "build": t1 - t0,
        "handoff": t2 - t1,
        "solve": t3 - t2,
        "ours": t3 - t0,
        "raw": raw,
        "objective": facts["objective"],
        "method": facts["method"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instance", default=str(ROOT / "instances" / "world-2024"))
    ap.add_argument("--size", type=synthetic.parse_size, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--method", default="choose")
    a = ap.parse_args(argv)
    # synthetic instances are cached under benchmarks/_work (git-ignored)
    path = synthetic.cached_instance(HERE / "_work", a.size)[0] if a.size else Path(a.instance)
    inst = load(path, structure_checks=False)
    countries = inst.sites["country"].value_counts().index.tolist()[:3]
    one(inst, a.method)  # warm-up (imports, first HiGHS instance)
    print(f"instance {path} · tags from mining on: {', '.join(countries)} · best of {a.repeat}")
    print(
        f"{'tags':<12} {'vars':>9} {'rows':>8} {'nnz':>9} {'×vars':>6} "
        f"{'build s':>8} {'handoff s':>9} {'solve s':>8} {'ours s':>8} {'raw s':>7} {'ours/raw':>8}"
    )
    base = None
    for k in range(4):
        case = inst
        case.origins = [OriginTag(c) for c in countries[:k]]
        runs = [one(case, a.method) for _ in range(a.repeat)]
        best = {
            key: min(r[key] for r in runs) for key in ("build", "handoff", "solve", "ours", "raw")
        }
        r = {**runs[0], **best}
        base = base or r
        print(
            f"{'+'.join(countries[:k]) or 'none':<12} {r['vars']:>9,} {r['rows']:>8,} "
            f"{r['nnz']:>9,} {r['vars'] / base['vars']:>6.2f} {r['build']:>8.2f} "
            f"{r['handoff']:>9.2f} {r['solve']:>8.2f} {r['ours']:>8.2f} {r['raw']:>7.2f} "
            f"{r['ours'] / r['raw']:>8.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
