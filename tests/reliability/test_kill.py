"""``kill -9`` of ``rechain solve --out D --report R.html --xlsx X.xlsx`` at several
points, writes included: afterwards every output is complete-old or complete-new (equal,
but for timestamps and timings, to the files of a complete run of the old or the new
command), the outputs were replaced in the order written, and the next run cleans what
the killed runs left."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from optimizer.fileio import TEMP_PREFIX
from tests.conftest import ROOT, TINY

pytestmark = pytest.mark.slow

#: The two commands: the old run (a scenario) and the new one (the instance alone).
OLD, NEW = ["-s", "south-mine-halved"], []
#: Killed runs: at random times, then just after the n-th temporary entry of a write
#: appears beside the outputs (the folder being built, the workbook, the report).
RANDOM_KILLS = 3
WRITE_KILLS = [1, 2, 3, 2, 3]
VOLATILE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+\-]\d\d:\d\d|(build|handoff|solve) [\d.]+ s"
)


def _args(work: Path, scenario: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "optimizer",
        "solve",
        str(TINY),
        *scenario,
        "--out",
        str(work / "out"),
        "--report",
        str(work / "r.html"),
        "--xlsx",
        str(work / "x.xlsx"),
    ]


ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _complete(work: Path, scenario: list[str]) -> None:
    r = subprocess.run(_args(work, scenario), env=ENV, capture_output=True)
    assert r.returncode == 0, r.stderr.decode()


def _folder(d: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for f in sorted(d.iterdir()):
        if f.name == "summary.json":
            s = json.loads(f.read_text())
            out[f.name] = {
                k: v for k, v in s.items() if k != "run_at" and not k.endswith("_seconds")
            }
        else:
            out[f.name] = f.read_bytes()
    return out


def _book(f: Path) -> list:
    wb = openpyxl.load_workbook(f)
    rows = []
    for ws in wb:
        for row in ws.iter_rows(values_only=True):
            if ws.title == "summary" and (row[0] == "run_at" or str(row[0]).endswith("_seconds")):
                continue
            rows.append((ws.title, row))
    return rows


def _report(f: Path) -> str:
    text = f.read_text(encoding="utf-8")
    assert text.rstrip().endswith("</html>")
    return VOLATILE.sub("…", text)


READ = {"out": _folder, "x.xlsx": _book, "r.html": _report}


def _which(work: Path, refs: dict[str, dict[str, object]]) -> dict[str, str]:
    """For each output: "old" or "new" (the complete run it equals); fails otherwise."""
    found = {}
    for name, read in READ.items():
        got = read(work / name)
        match = [k for k, ref in refs.items() if ref[name] == got]
        assert match, f"{name} is neither the complete old nor the complete new output"
        found[name] = match[0]
    return found


def _kill_when(p: subprocess.Popen, work: Path, nth: int, rng: random.Random) -> bool:
    """SIGKILL ``p`` soon after the ``nth`` temporary entry of its own appears in ``work``."""
    mine = f"{TEMP_PREFIX}{p.pid}-"
    seen: set[str] = set()
    while p.poll() is None:
        seen |= {n for n in os.listdir(work) if n.startswith(mine)}
        if len(seen) >= nth:
            time.sleep(rng.uniform(0, 0.02))
            p.send_signal(signal.SIGKILL)
            return True
        time.sleep(0.0005)
    return False


def test_kill_9_leaves_every_output_complete_old_or_complete_new(tmp_path):
    refs = {}
    for key, sc in (("old", OLD), ("new", NEW)):
        ref = tmp_path / f"ref-{key}"
        ref.mkdir()
        t0 = time.monotonic()
        _complete(ref, sc)
        full = time.monotonic() - t0
        refs[key] = {name: read(ref / name) for name, read in READ.items()}
    assert refs["old"]["out"] != refs["new"]["out"]
    work = tmp_path / "work"
    shutil.copytree(tmp_path / "ref-old", work)  # the complete old outputs
    rng = random.Random(15)
    # within the first half of a run's time: a loaded machine (other tests in parallel)
    # must not let the run finish before its kill
    plan = [("random", rng.uniform(0.3, max(0.4, 0.5 * full))) for _ in range(RANDOM_KILLS)]
    plan += [("write", n) for n in WRITE_KILLS]
    outcomes, leftovers = [], 0
    for i, (how, when) in enumerate(plan):
        scenario = NEW if i % 2 == 0 else OLD
        p = subprocess.Popen(
            _args(work, scenario), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if how == "random":
            try:
                p.wait(timeout=when)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
        else:
            _kill_when(p, work, when, rng)
        p.wait()
        leftovers += sum(n.startswith(f"{TEMP_PREFIX}{p.pid}-") for n in os.listdir(work))
        state = _which(work, refs)
        outcomes.append((how, round(when, 2), p.returncode, state))
    killed = [o for o in outcomes if o[2] == -signal.SIGKILL]
    assert len(killed) >= len(plan) - 1, outcomes  # (a random delay may outlast a run)
    assert leftovers >= 1, outcomes  # some kill did land mid-write
    print(f"{len(killed)} killed runs, {leftovers} leftovers:", *outcomes, sep="\n")
    # the next complete run cleans every leftover and writes the new outputs
    _complete(work, NEW)
    assert [n for n in os.listdir(work) if n.startswith(TEMP_PREFIX)] == []
    assert set(_which(work, refs).values()) == {"new"}
    assert sorted(os.listdir(work)) == ["out", "r.html", "x.xlsx"]
