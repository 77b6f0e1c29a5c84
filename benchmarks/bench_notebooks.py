"""How long each example notebook takes to execute, beside a cold solve in the same run.

    python benchmarks/bench_notebooks.py

Each notebook of ``examples/`` runs in a fresh kernel (nbclient, as
``tests/examples/test_notebooks.py`` runs them); the time is its own cells', kernel start
excluded.  For scale, the same run times a cold ``rechain solve instances/world-2024`` and
prints each notebook as a multiple of it (the machine's speed cancels out).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run_notebook(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.reset_execution_trackers()
    with client.setup_kernel():
        start = time.perf_counter()
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        return time.perf_counter() - start


def cold_solve() -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "optimizer", "solve", str(ROOT / "instances" / "world-2024")],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return time.perf_counter() - start


def main() -> None:
    ref = cold_solve()
    print(f"cold rechain solve instances/world-2024: {ref:.1f} s")
    print(f"{'notebook':<24} {'seconds':>8} {'x cold solve':>13}")
    for path in sorted((ROOT / "examples").glob("*.ipynb")):
        s = run_notebook(path)
        print(f"{path.name:<24} {s:8.1f} {s / ref:13.1f}")


if __name__ == "__main__":
    main()
