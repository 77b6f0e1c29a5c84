"""Criticality cases: persistent re-solve vs rebuilding the model for every case.

For each case (an element removed), the *rebuild* path copies the instance
with the element's process capacities and link capacities set to zero and
runs the full pipeline (index sets, Pyomo model, hand-off, HiGHS); the
*persistent* path re-solves one built model after zeroing column bounds
(optimizer.analysis.whatif.WhatIf).  Both must give the same objective.  Prints seconds
per case for both and their ratio, measured in the same run.

    python benchmarks/bench_criticality.py [--instance instances/world-2024] [--by country-stage] [--cases 20]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optimizer import load  # noqa: E402
from optimizer.analysis.criticality import elements  # noqa: E402
from optimizer.analysis.whatif import WhatIf  # noqa: E402


def rebuilt_without(inst, sites, links):
    """A copy of ``inst`` whose removed sites and links have zero capacity (same LP as the bounds)."""
    out = copy.copy(inst)
    out.tables = {k: v.copy() for k, v in inst.tables.items()}
    pro = out.tables["processes"]
    pro.loc[pro["site"].isin(sites), "capacity"] = 0.0
    ln = out.tables["links"]
    ln.loc[
        ln["from_site"].isin(sites) | ln["to_site"].isin(sites) | ln["id"].isin(links), "capacity"
    ] = 0.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instance", default="instances/world-2024")
    ap.add_argument("--by", default="country-stage")
    ap.add_argument("--cases", type=int, default=20)
    a = ap.parse_args()
    inst = load(a.instance)
    cases = elements(inst, a.by)[: a.cases]
    inst.solve()  # warm imports so neither path pays them

    t0 = time.perf_counter()
    w = WhatIf.from_instance(inst)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    persistent = [w.solve_without(s, lk).objective for _, s, lk in cases]
    t_persist = (time.perf_counter() - t0) / len(cases)

    t0 = time.perf_counter()
    rebuilt = [rebuilt_without(inst, s, lk).solve(method="simplex").objective for _, s, lk in cases]
    t_rebuild = (time.perf_counter() - t0) / len(cases)

    assert np.allclose(persistent, rebuilt, rtol=1e-7), "persistent and rebuilt objectives differ"
    print(f"instance {a.instance}  by {a.by}  cases {len(cases)}")
    print(f"one-time build + hand-off + base solve: {build:.3f} s")
    print(f"persistent re-solve: {t_persist * 1000:8.1f} ms per case")
    print(f"rebuild per case:    {t_rebuild * 1000:8.1f} ms per case")
    print(f"speed-up:            {t_rebuild / t_persist:8.1f}x")


if __name__ == "__main__":
    main()
