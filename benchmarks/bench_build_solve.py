"""Build / hand-off / solve benchmark of the rechain LP against raw highspy.

For each ``--size`` (approximate number of LP variables), in one run:

1. generate a synthetic instance with :mod:`benchmarks.synthetic` (cached in
   ``benchmarks/_work/``, git-ignored);
2. in a fresh Python process ("ours"): load + validate, build (``build_sets``
   + ``build_model``), hand-off (``to_highs``), solve (``run_highs``), record
   peak RSS, then export the exact LP to MPS with ``export_model``;
3. in a fresh process ("raw"): a new ``highspy.Highs()`` reads that MPS
   (timed) and solves it with the same options (timed); objectives must agree
   to 1e-6 relative;
4. the same MPS solved by raw highspy with both HiGHS methods (``simplex``,
   ``ipm`` with crossover) to place ``SIMPLEX_MAX_COLUMNS`` by measurement.

Each measurement runs in its own process so that peak RSS (``ru_maxrss``)
is per size and per layer, and imports are not timed (each "ours" process
first builds and solves a small synthetic instance once, untimed).

Usage::

    python benchmarks/bench_build_solve.py --size 1e4 --size 1e5 [--method choose|simplex|ipm]
        [--time-limit 300] [--no-compare] [--repeat 1] [--seed 0] [--json out.json]
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"
sys.path.insert(0, str(HERE))
#: children import ``optimizer`` from here: the working tree, or a snapshot of a git revision (--ref)
sys.path.insert(0, os.environ.get("RECHAIN_CODE", str(ROOT)))

import synthetic  # noqa: E402

REL_TOL = 1e-6


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --------------------------------------------------------------------------- children


def _progress(msg: str) -> None:
    """Phase progress of a child, on stderr (the parent passes it through)."""
    print(f"      [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def child_ours(spec: dict) -> dict:
    """Our pipeline on one instance folder; exports the LP to spec['mps']."""
    import highspy

    from optimizer import load
    from optimizer.lp.export import export_model
    from optimizer.lp.handoff import to_highs
    from optimizer.lp.run import choose_method, run_highs
    from optimizer.model.build import build_model
    from optimizer.model.sets import build_sets

    # warm-up (untimed): imports, Pyomo plugin registration, HiGHS banner
    warm, _, _ = synthetic.cached_instance(WORK, 500, seed=spec["seed"], periods=1)
    w = to_highs(build_model(build_sets(load(warm))))
    run_highs(w, "simplex")
    del w
    gc.collect()

    out: dict = {"rss_start_mb": _rss_mb()}
    # load() = tables + references (timed as load_s) + structure checks (timed as structure_s)
    t = time.perf_counter()
    inst = load(spec["folder"], structure_checks=False)
    out["load_s"] = time.perf_counter() - t
    _progress(f"load {out['load_s']:.2f} s")
    out["structure_s"] = None
    if spec["structure"]:
        from optimizer.analysis import structure

        t = time.perf_counter()
        inst.warnings.extend(structure.check(inst))
        out["structure_s"] = time.perf_counter() - t
        _progress(f"structure checks {out['structure_s']:.2f} s")
    out["warnings"] = len(inst.warnings)
    t = time.perf_counter()
    sets = build_sets(inst)
    out["sets_s"] = time.perf_counter() - t
    _progress(f"sets {out['sets_s']:.2f} s")
    t = time.perf_counter()
    cm = build_model(sets)
    out["model_s"] = time.perf_counter() - t
    out["build_s"] = out["sets_s"] + out["model_s"]
    _progress(f"model {out['model_s']:.2f} s")
    out["rss_after_build_mb"] = _rss_mb()
    t = time.perf_counter()
    handle = to_highs(cm, names=False)
    out["handoff_s"] = time.perf_counter() - t
    _progress(f"hand-off {out['handoff_s']:.2f} s ({handle.num_col:,} columns)")
    out["rss_after_handoff_mb"] = _rss_mb()
    out.update(vars=handle.num_col, rows=handle.num_row, nnz=handle.nnz)
    out["method"] = choose_method(spec["method"], handle.num_col)
    if spec.get("build_only"):
        out.update(
            solve_s=None,
            status="not solved",
            objective=None,
            iterations=None,
            names_s=None,
            export_s=None,
            peak_rss_mb=_maxrss_mb(),
        )
        return out
    facts = run_highs(handle, spec["method"], spec["time_limit"])
    out["solve_s"] = facts["solve_seconds"]
    _progress(f"solve {out['solve_s']:.2f} s ({facts['status_text']})")
    out["status"] = facts["status_text"]
    out["objective"] = facts["objective"]
    out["iterations"] = facts["iterations"]
    out["peak_rss_mb"] = _maxrss_mb()
    # names cost (paid by solve() only with --export-model)
    t = time.perf_counter()
    handle.column_names()
    handle.row_names()
    out["names_s"] = time.perf_counter() - t
    t = time.perf_counter()
    export_model(handle, spec["mps"])
    out["export_s"] = time.perf_counter() - t
    out["highs_version"] = highspy.Highs().version()
    import optimizer

    out["optimizer_path"] = str(Path(optimizer.__file__).parent)
    return out


def child_raw(spec: dict) -> dict:
    """Raw highspy: read the MPS and solve it with our solver options."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    out: dict = {"rss_start_mb": _rss_mb()}
    t = time.perf_counter()
    st = h.readModel(spec["mps"])
    out["read_s"] = time.perf_counter() - t
    if st == highspy.HighsStatus.kError:
        raise RuntimeError(f"HiGHS could not read {spec['mps']}")
    # same options as optimizer.solve.run_highs
    h.setOptionValue("solver", spec["method"])
    if spec["method"] == "ipm":
        h.setOptionValue("run_crossover", "on")
    h.setOptionValue("presolve", "on")
    if spec["time_limit"] is not None:
        h.setOptionValue("time_limit", float(spec["time_limit"]))
    t = time.perf_counter()
    h.run()
    out["solve_s"] = time.perf_counter() - t
    info = h.getInfo()
    out["status"] = h.modelStatusToString(h.getModelStatus())
    out["objective"] = info.objective_function_value
    out["iterations"] = int(info.simplex_iteration_count) + int(info.ipm_iteration_count)
    out["crossover_iterations"] = int(info.crossover_iteration_count)
    out["peak_rss_mb"] = _maxrss_mb()
    lp = h.getLp()
    out.update(vars=lp.num_col_, rows=lp.num_row_)
    return out


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def code_state(ref: str | None) -> dict:
    """Which optimizer code is measured: a snapshot of ``ref``, or the working tree (maybe dirty)."""
    import hashlib

    if ref:
        sha = _git("rev-parse", ref)
        dest = WORK / f"code-{sha[:10]}"
        if not (dest / "optimizer").is_dir():
            dest.mkdir(parents=True, exist_ok=True)
            archive = subprocess.run(
                ["git", "archive", sha, "optimizer"], cwd=ROOT, capture_output=True, check=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return {"code": str(dest), "ref": ref, "commit": sha, "dirty": False}
    head = _git("rev-parse", "HEAD")
    diff = _git("diff", "HEAD", "--", "optimizer")
    untracked = _git("ls-files", "--others", "--exclude-standard", "optimizer")
    dirty = bool(diff or untracked)
    return {
        "code": str(ROOT),
        "ref": "working tree",
        "commit": head,
        "dirty": dirty,
        "diff_sha1": hashlib.sha1((diff + untracked).encode()).hexdigest()[:12] if dirty else "",
        "diff_stat": _git("diff", "HEAD", "--stat", "--", "optimizer") if dirty else "",
    }


CODE: dict = {}
#: seconds to wait for a quiet machine before each measurement (--quiet-wait)
QUIET_WAIT = [120.0]


def _busy_jiffies() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine from /proc/stat, in seconds."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v) - idle) / hz, sum(v) / hz


def wait_quiet(max_wait: float, threshold: float = 0.15, window: float = 2.0) -> float:
    """Wait (up to max_wait s) until other processes use < threshold cores; returns their load then."""
    t0 = time.perf_counter()
    while True:
        b0, _ = _busy_jiffies()
        time.sleep(window)
        b1, _ = _busy_jiffies()
        other = (b1 - b0) / window
        if other < threshold or time.perf_counter() - t0 > max_wait:
            return other
        time.sleep(3.0)


def run_child(kind: str, spec: dict) -> dict:
    """Run a child measurement in a fresh interpreter; returns its JSON result.

    Records ``foreign_cores``: CPU used by *other* processes during the run
    (machine busy time minus the child's own), in cores; > 0.2 means the
    timing was disturbed.
    """
    quiet = wait_quiet(QUIET_WAIT[0]) if QUIET_WAIT[0] > 0 else None
    load_before = os.getloadavg()[0]
    busy0, _ = _busy_jiffies()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", kind, json.dumps(spec)]
    env = dict(os.environ)
    if CODE.get("code"):
        env["RECHAIN_CODE"] = CODE["code"]
    p = subprocess.run(
        cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )  # stderr: progress, passed through
    if p.returncode != 0:
        raise RuntimeError(f"{kind} child failed (exit {p.returncode})")
    wall = time.perf_counter() - w0
    busy1, _ = _busy_jiffies()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    res = json.loads(p.stdout.strip().splitlines()[-1])
    res["loadavg_before"] = load_before
    res["foreign_cores_before"] = quiet
    res["foreign_cores"] = max(0.0, (busy1 - busy0 - own) / wall)
    if res["foreign_cores"] > 0.2:
        print(
            f"      (other processes used {res['foreign_cores']:.2f} cores during this run: timings disturbed)",
            flush=True,
        )
    return res


def best_of(kind: str, spec: dict, repeat: int, keys: tuple[str, ...]) -> dict:
    """Run ``repeat`` times; keep the first result with each timing replaced by its minimum."""
    runs = [run_child(kind, spec) for _ in range(repeat)]
    res = dict(runs[0])
    for k in keys:
        res[k] = min(r[k] for r in runs)
    res["foreign_cores"] = max(r["foreign_cores"] for r in runs)
    if repeat > 1:
        res["runs"] = runs
    return res


# --------------------------------------------------------------------------- driver


def _s(x: float | None) -> str:
    return "skipped" if x is None else f"{x:.2f}"


def rel_diff(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(a), abs(b))


def bench_size(size: int, a: argparse.Namespace) -> dict:
    t = time.perf_counter()
    folder, stats, fresh = synthetic.cached_instance(WORK, size, seed=a.seed, periods=a.periods)
    gen_s = time.perf_counter() - t
    print(
        f"\n== size {size:g}: {folder.name} ({'generated' if fresh else 'cached'} in {gen_s:.2f} s)",
        flush=True,
    )
    mps = WORK / f"{folder.name}.mps"
    structure = a.structure_checks and size <= a.structure_max
    spec = {
        "folder": str(folder),
        "method": a.method,
        "time_limit": a.time_limit,
        "seed": a.seed,
        "mps": str(mps),
        "structure": structure,
    }
    keys = ("load_s", "sets_s", "model_s", "build_s", "handoff_s") + (
        ("structure_s",) if structure else ()
    )
    if a.build_only:
        spec["build_only"] = True
    else:
        keys += ("solve_s", "names_s", "export_s")
    ours = best_of("ours", spec, a.repeat, keys)
    print(
        f"   ours: load {ours['load_s']:.2f}  structure checks {_s(ours['structure_s'])}  build {ours['build_s']:.2f} (sets {ours['sets_s']:.2f} + model {ours['model_s']:.2f})"
        f"  hand-off {ours['handoff_s']:.2f}  solve[{ours['method']}] {_s(ours['solve_s'])} ({ours['status']})"
        f"  peak {ours['peak_rss_mb']:.0f} MB",
        flush=True,
    )
    if a.build_only:
        return {
            "size": size,
            "instance": folder.name,
            "generator": stats,
            "generate_s": gen_s,
            "ours": ours,
            "raw": {},
            "build_only": True,
            "objective_ok": True,
        }
    raw = {}
    methods = [ours["method"]]
    if a.compare:
        methods += [m for m in ("simplex", "ipm") if m != ours["method"]]
    for m in methods:
        r = best_of("raw", {**spec, "method": m}, a.repeat, ("read_s", "solve_s"))
        raw[m] = r
        print(
            f"   raw highspy [{m}]: read {r['read_s']:.2f}  solve {r['solve_s']:.2f} ({r['status']})  peak {r['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    same = raw[ours["method"]]
    ours_total = ours["build_s"] + ours["handoff_s"] + ours["solve_s"]
    res = {
        "size": size,
        "instance": folder.name,
        "generator": stats,
        "generate_s": gen_s,
        "ours": ours,
        "raw": raw,
        "ours_total_s": ours_total,
        "ratio_vs_raw_read_solve": ours_total / (same["read_s"] + same["solve_s"]),
        "ratio_vs_raw_solve": ours_total / same["solve_s"],
        "objective_rel_diff": rel_diff(ours["objective"], same["objective"]),
        "objective_ok": rel_diff(ours["objective"], same["objective"]) <= REL_TOL
        and ours["status"] == "Optimal"
        and same["status"] == "Optimal",
    }
    if {"simplex", "ipm"} <= raw.keys():
        s, i = raw["simplex"], raw["ipm"]
        res["methods_agree"] = (
            s["status"] != "Optimal"
            or i["status"] != "Optimal"
            or rel_diff(s["objective"], i["objective"]) <= REL_TOL
        )
        res["faster_method"] = min(
            ("simplex", "ipm"),
            key=lambda m: raw[m]["solve_s"] if raw[m]["status"] == "Optimal" else float("inf"),
        )
    return res


def machine() -> dict:
    import numpy
    import pandas
    import pyomo

    cpu = ""
    mem = 0.0
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
        with open("/proc/meminfo") as f:
            mem = next((int(ln.split()[1]) / 2**20 for ln in f if ln.startswith("MemTotal")), 0.0)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gib": round(mem, 1),
        "python": platform.python_version(),
        "pyomo": pyomo.__version__,
        "highspy": importlib.metadata.version("highspy"),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
    }


def fmt_table(results: list[dict]) -> str:
    head = (
        "| size | vars / rows / nnz | load+validate s | structure checks s | build s (sets + model) | hand-off s | solve s (method) | "
        "ours build+hand-off+solve s | raw read s | raw solve s | ours / raw read+solve | ours / raw solve | "
        "peak RSS ours / raw MB | objective rel. diff | other processes, cores |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        o = r["ours"]
        if r.get("build_only"):
            lines.append(
                f"| {r['size']:.0e} | {o['vars']:,} / {o['rows']:,} / {o['nnz']:,} | {o['load_s']:.2f} | {_s(o.get('structure_s'))} | "
                f"{o['build_s']:.2f} ({o['sets_s']:.2f} + {o['model_s']:.2f}) | {o['handoff_s']:.2f} | (build only) | "
                f"{o['build_s'] + o['handoff_s']:.2f} + solve | | | | | {o['peak_rss_mb']:.0f} / | | {o.get('foreign_cores', 0.0):.2f} |"
            )
            continue
        w = r["raw"][r["ours"]["method"]]
        lines.append(
            f"| {r['size']:.0e} | {o['vars']:,} / {o['rows']:,} / {o['nnz']:,} | {o['load_s']:.2f} | {_s(o.get('structure_s'))} | "
            f"{o['build_s']:.2f} ({o['sets_s']:.2f} + {o['model_s']:.2f}) | {o['handoff_s']:.2f} | "
            f"{o['solve_s']:.2f} ({o['method']}{'' if o['status'] == 'Optimal' else ', ' + o['status']}) | "
            f"{r['ours_total_s']:.2f} | {w['read_s']:.2f} | {w['solve_s']:.2f} | {r['ratio_vs_raw_read_solve']:.2f}× | "
            f"{r['ratio_vs_raw_solve']:.2f}× | {o['peak_rss_mb']:.0f} / {w['peak_rss_mb']:.0f} | "
            f"{r['objective_rel_diff']:.1e}{'' if r['objective_ok'] else ' FAIL'} | "
            f"{max(o.get('foreign_cores', 0.0), w.get('foreign_cores', 0.0)):.2f} |"
        )
    return "\n".join(lines)


def fmt_methods(results: list[dict]) -> str:
    rows = [r for r in results if {"simplex", "ipm"} <= r["raw"].keys()]
    if not rows:
        return ""
    lines = [
        "| size | vars | simplex s (iterations) | ipm + crossover s (iterations) | faster | ipm / simplex |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        s, i = r["raw"]["simplex"], r["raw"]["ipm"]

        def cell(x: dict) -> str:
            tag = "" if x["status"] == "Optimal" else f", {x['status']}"
            return f"{x['solve_s']:.2f} ({x['iterations']:,}{tag})"

        lines.append(
            f"| {r['size']:.0e} | {r['ours']['vars']:,} | {cell(s)} | {cell(i)} | {r['faster_method']} | "
            f"{i['solve_s'] / s['solve_s']:.2f} |"
        )
    return "\n".join(lines)


def crossover(results: list[dict]) -> str:
    rows = sorted((r for r in results if "faster_method" in r), key=lambda r: r["ours"]["vars"])
    if not rows:
        return "no method comparison run"
    last_simplex = [r["ours"]["vars"] for r in rows if r["faster_method"] == "simplex"]
    first_ipm = [r["ours"]["vars"] for r in rows if r["faster_method"] == "ipm"]
    if not first_ipm:
        return f"simplex faster at every measured size (up to {rows[-1]['ours']['vars']:,} columns)"
    if not last_simplex:
        return f"ipm faster at every measured size (from {rows[0]['ours']['vars']:,} columns)"
    return f"simplex faster up to {max(last_simplex):,} columns; ipm faster from {min(v for v in first_ipm if v > max(last_simplex)) if any(v > max(last_simplex) for v in first_ipm) else min(first_ipm):,} columns"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--_child"]:
        kind, spec = argv[1], json.loads(argv[2])
        res = child_ours(spec) if kind == "ours" else child_raw(spec)
        print(json.dumps(res))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--size",
        action="append",
        type=synthetic.parse_size,
        help="approximate LP variables (repeatable): 1e4, 1e5, 1e6",
    )
    ap.add_argument(
        "--method",
        default="choose",
        choices=("choose", "simplex", "ipm"),
        help="method for our solve (default: choose)",
    )
    ap.add_argument(
        "--time-limit",
        type=float,
        default=300.0,
        help="per-solve HiGHS time limit, seconds (default 300)",
    )
    ap.add_argument(
        "--build-only",
        action="store_true",
        help="only load, build and hand off (no solves, no raw highspy)",
    )
    ap.add_argument(
        "--no-compare",
        dest="compare",
        action="store_false",
        help="skip the simplex-vs-ipm comparison",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="repeat each measurement and keep the fastest (default 1)",
    )
    ap.add_argument(
        "--no-structure-checks",
        dest="structure_checks",
        action="store_false",
        help="skip timing optimizer.analysis.structure.check (part of load())",
    )
    ap.add_argument(
        "--structure-max",
        type=synthetic.parse_size,
        default=10_000_000,
        help="skip the structure checks above this size (default 1e7; before 0e246ab they were "
        "O(demand x graph): use 2e5 with --ref a8e2b1e)",
    )
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="before each measurement wait up to this many seconds for other processes to go idle (0: don't)",
    )
    ap.add_argument(
        "--ref",
        help="benchmark this git revision of optimizer/ (snapshot in benchmarks/_work) instead of the working tree",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--periods", type=int, default=1)
    ap.add_argument(
        "--json",
        type=Path,
        help="write all results here (default: benchmarks/_work/results-<time>.json)",
    )
    a = ap.parse_args(argv)
    sizes = a.size or [10_000, 100_000]
    WORK.mkdir(parents=True, exist_ok=True)
    info = machine()
    QUIET_WAIT[0] = a.quiet_wait
    CODE.update(code_state(a.ref))
    print(f"machine: {info}", flush=True)
    print(
        f"code: {CODE['ref']} at {CODE['commit'][:10]}"
        + (
            f" + uncommitted changes to optimizer/ (diff {CODE['diff_sha1']})"
            if CODE["dirty"]
            else ""
        ),
        flush=True,
    )
    results = [bench_size(s, a) for s in sizes]
    print("\n" + fmt_table(results))
    m = fmt_methods(results)
    if m:
        print("\nHiGHS methods on the exported MPS (raw highspy, presolve on):\n" + m)
        print("crossover: " + crossover(results))
    for r in results:
        o = r["ours"]
        bh = o["build_s"] + o["handoff_s"]
        if r.get("build_only"):
            print(f"size {r['size']:.0e}: build+hand-off {bh:.2f} s (build only)")
            continue
        target = ""
        if 0.5 <= r["size"] / 1e5 <= 2:  # the issue's targets are stated at 1e5 variables
            target = (
                f" [targets at 1e5: build+hand-off <= 3 s {'ok' if bh <= 3 else 'MISSED'}, "
                f"total <= 1.5x raw {'ok' if r['ratio_vs_raw_read_solve'] <= 1.5 else 'MISSED'}]"
            )
        print(
            f"size {r['size']:.0e}: build+hand-off {bh:.2f} s, total / raw read+solve {r['ratio_vs_raw_read_solve']:.2f}x, "
            f"objectives {'agree' if r['objective_ok'] else 'DISAGREE'} ({r['objective_rel_diff']:.1e}){target}"
        )
    out = a.json or WORK / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "machine": info,
                "code": CODE,
                "args": {k: str(v) for k, v in vars(a).items()},
                "results": results,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"\nresults: {out}")
    return 0 if all(r["objective_ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
