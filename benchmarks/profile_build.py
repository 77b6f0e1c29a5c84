"""Profile load / build / hand-off of a synthetic instance with pyinstrument.

Usage::

    pip install pyinstrument
    python benchmarks/profile_build.py --size 1e5 [--phase load|sets|model|handoff|build|all]
    RECHAIN_CODE=benchmarks/_work/code-<sha> python benchmarks/profile_build.py ...   # a snapshot (bench --ref)

Writes ``benchmarks/_work/profile-<size>-<phase>.txt`` (call tree with
file:line) and ``.html``, and prints the hottest functions by self time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(
    0, os.environ.get("RECHAIN_CODE", str(HERE.parent))
)  # e.g. a snapshot made by bench --ref

import synthetic  # noqa: E402

WORK = HERE / "_work"


def self_times(session, top: int = 25) -> list[tuple[float, str]]:
    """Hottest frames by self time, aggregated by function (file:line)."""
    agg: dict[str, float] = {}

    def walk(frame):
        key = f"{frame.function}  {frame.file_path_short}:{frame.line_no}"
        agg[key] = agg.get(key, 0.0) + frame.total_self_time
        for ch in frame.children:
            walk(ch)

    root = session.root_frame()
    if root is not None:
        walk(root)
    return sorted(((v, k) for k, v in agg.items()), reverse=True)[:top]


def main() -> int:
    from pyinstrument import Profiler

    from optimizer import load
    from optimizer.lp.handoff import to_highs
    from optimizer.model.build import build_model
    from optimizer.model.sets import build_sets

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=synthetic.parse_size, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--phase", default="all", choices=("load", "sets", "model", "handoff", "build", "all")
    )
    ap.add_argument("--interval", type=float, default=0.001)
    a = ap.parse_args()
    folder, _, _ = synthetic.cached_instance(WORK, a.size, seed=a.seed)
    warm, _, _ = synthetic.cached_instance(WORK, 500, seed=a.seed)
    to_highs(build_model(build_sets(load(warm))))  # imports, untimed

    phases = (
        ["load", "sets", "model", "handoff"]
        if a.phase == "all"
        else (["sets", "model", "handoff"] if a.phase == "build" else [a.phase])
    )
    state: dict = {}

    def run(phase: str):
        if phase == "load":
            state["inst"] = load(folder)
        elif phase == "sets":
            state["sets"] = build_sets(
                state["inst"] if "inst" in state else load(folder, structure_checks=False)
            )
        elif phase == "model":
            state["cm"] = build_model(state["sets"])
        elif phase == "handoff":
            state["h"] = to_highs(state["cm"])

    # prerequisites, unprofiled
    need = ["load", "sets", "model", "handoff"]
    for p in need[: need.index(phases[0])]:
        if p == "load":
            state["inst"] = load(folder, structure_checks=False)
        else:
            run(p)
    for phase in phases:
        prof = Profiler(interval=a.interval)
        t = time.perf_counter()
        prof.start()
        run(phase)
        prof.stop()
        secs = time.perf_counter() - t
        stem = WORK / f"profile-{synthetic._size_label(a.size)}-{phase}"
        stem.with_suffix(".txt").write_text(
            prof.output_text(unicode=True, color=False, show_all=False)
        )
        stem.with_suffix(".html").write_text(prof.output_html())
        print(f"\n=== {phase}: {secs:.2f} s (profiled)  -> {stem}.txt")
        for v, k in self_times(prof.last_session):
            if v < 0.02 * secs:
                break
            print(f"  {v:7.2f} s self  {k}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
