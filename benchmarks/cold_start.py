"""Cold-start benchmark: what a user waits for, each command in a fresh process.

In one run, each measured ``--repeat`` times in a new interpreter (fastest kept):

* ``python -c pass`` (the interpreter alone, site-packages included);
* ``import optimizer.cli`` (the time the interpreter spends importing the command line,
  measured inside the process with ``perf_counter``);
* ``rechain --help`` and ``rechain validate INSTANCE`` (whole process);
* ``rechain solve INSTANCE`` (whole process: start, imports, load, build, hand-off,
  solve, the terminal summary) and ``rechain solve INSTANCE --out D`` (the same, plus
  the analyses every result folder has, e.g. ``mincut.csv``, and writing);
* raw highspy on the same LP (exported once to MPS by ``rechain solve --export-model``):
  a process that starts Python, imports highspy, reads the MPS and solves it with the
  method rechain chose (``summary.json``; IPM with crossover, as rechain runs it).

Ratios are printed against raw highspy (solve) and ``python -c pass`` (start-up),
all measured in this run.  Wall time is what users wait for; CPU time (user + sys of
the child) is printed beside it because the machine is shared: when other processes
compete, wall grows and CPU does not.  The column "other cores" is the CPU other
processes used meanwhile (0: quiet, up to 2).

Usage::

    python benchmarks/cold_start.py [--instance instances/world-2024] [--repeat 5]
        [--ref GIT_REF] [--json out.json] [--solve-only]

``--ref`` measures a clean snapshot of a git revision (``git archive``) instead of
the working tree, for before/after numbers in one session.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"

RAW = """
import sys, time
import highspy
h = highspy.Highs()
h.setOptionValue("output_flag", False)
h.readModel(sys.argv[1])
if sys.argv[2].startswith("ipm"):  # the method rechain chose (summary.json), as it runs it
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("run_crossover", "on")
else:
    h.setOptionValue("solver", "simplex")
h.run()
print(h.getInfo().objective_function_value)
"""

IMPORT = """
import time
t0 = time.perf_counter()
import optimizer.cli
print(time.perf_counter() - t0)
"""


def _busy() -> float:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v) - idle) / os.sysconf("SC_CLK_TCK")


def run(cmd: list[str], code: Path) -> dict:
    """One fresh process: wall seconds, its CPU seconds, other processes' cores, stdout."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0 = _busy()
    t0 = time.perf_counter()
    # run in the code's folder: ``-c`` and ``-m`` put the current folder first on sys.path
    p = subprocess.run(cmd, cwd=code, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    b1 = _busy()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr[-2000:]}")
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {"wall": wall, "cpu": cpu, "other": max(0.0, (b1 - b0 - cpu) / wall), "out": p.stdout}


def best(cmd: list[str], code: Path, repeat: int) -> dict:
    runs = [run(cmd, code) for _ in range(repeat)]
    out = min(runs, key=lambda r: r["wall"])
    out["cpu"] = min(r["cpu"] for r in runs)
    out["runs"] = [round(r["wall"], 3) for r in runs]
    return out


def snapshot(ref: str) -> Path:
    """The optimizer code of git ``ref``, unpacked once (bench_build_solve's snapshot)."""
    sys.path.insert(0, str(HERE))
    from bench_build_solve import code_state

    return Path(code_state(ref)["code"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instance", default="instances/world-2024")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ref", default=None, help="measure a snapshot of this git revision")
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--solve-only",
        action="store_true",
        help="only the solve rows and raw highspy (large instances: synthetic 1e5)",
    )
    a = ap.parse_args(argv)
    code = snapshot(a.ref) if a.ref else ROOT
    a.instance = str((ROOT / a.instance).resolve())
    shown = os.path.relpath(a.instance, ROOT)
    py = sys.executable
    rechain = [py, "-m", "optimizer"]
    res: dict = {"code": a.ref or "working tree", "instance": shown}
    with tempfile.TemporaryDirectory() as d:
        mps = Path(d) / "model.mps"
        first = Path(d) / "first"
        run([*rechain, "solve", a.instance, "--export-model", str(mps), "--out", str(first)], code)
        method = json.loads((first / "summary.json").read_text())["solver"]["method"]
        rows = [
            ("python -c pass", [py, "-c", "pass"]),
            ("import optimizer.cli", [py, "-c", IMPORT]),
            ("rechain --help", [*rechain, "--help"]),
            (f"rechain validate {shown}", [*rechain, "validate", a.instance]),
            (f"rechain solve {shown}", [*rechain, "solve", a.instance]),
            (
                f"rechain solve {shown} --out D",
                [*rechain, "solve", a.instance, "--out", d + "/out"],
            ),
            ("raw highspy: start, import, read MPS, solve", [py, "-c", RAW, str(mps), method]),
        ]
        if a.solve_only:
            rows = [r for r in rows if r[0].startswith(("python -c", "rechain solve", "raw"))]
        for name, cmd in rows:
            res[name] = best(cmd, code, a.repeat)
    imp = float(res["import optimizer.cli"]["out"].strip()) if "import optimizer.cli" in res else 0
    raw = res["raw highspy: start, import, read MPS, solve"]
    start = res["python -c pass"]
    print(
        f"code: {res['code']}; instance {shown}; method {method}; fastest of {a.repeat} runs each\n"
    )
    print(f"| {'process':<52} | wall s | CPU s | / raw highspy | / python -c pass | other cores |")
    print(f"|{'-' * 54}|-------:|------:|--------------:|-----------------:|------------:|")
    for name, _ in rows:
        r = res[name]
        print(
            f"| {name:<52} | {r['wall']:6.2f} | {r['cpu']:5.2f} | {r['wall'] / raw['wall']:12.1f}x |"
            f" {r['wall'] / start['wall']:15.1f}x | {r['other']:11.2f} |"
        )
    print(f"\nimports of optimizer.cli inside the process: {imp:.3f} s")
    solve = res[f"rechain solve {shown} --out D"]
    print(
        f"solve --out / raw highspy: {solve['wall'] / raw['wall']:.1f}x wall, "
        f"{solve['cpu'] / raw['cpu']:.1f}x CPU (target <= 4x)"
    )
    if a.json:
        for r in res.values():
            if isinstance(r, dict):
                r.pop("out", None)
        res["import_optimizer_cli_s"] = imp
        Path(a.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
