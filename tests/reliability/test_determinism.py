"""The same inputs give the same answer: five solves of world-2024 in one process have
the same objective and the same flows (a hash of the sorted table, exact values), and
criticality and sweep give identical tables serially, on one Dask worker and on two."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from optimizer import load
from optimizer.analysis import parallel
from optimizer.analysis.criticality import criticality
from optimizer.analysis.sweep import run_sweep
from tests.conftest import INSTANCES

WORLD = INSTANCES / "world-2024"
RUNS = 5


def flows_hash(flows: pd.DataFrame) -> str:
    """SHA-256 of the flows table sorted by its keys, every value exact (``repr``)."""
    keys = ["period", "link", "source", "target", "commodity", "origin"]
    keys = [k for k in keys if k in flows.columns]
    f = flows.sort_values(keys, kind="mergesort").reset_index(drop=True)
    rows = f.astype(object).map(repr).agg("\x1f".join, axis=1)
    return hashlib.sha256("\n".join([",".join(f.columns), *rows]).encode()).hexdigest()


def test_five_solves_of_world_2024_are_identical():
    inst = load(WORLD)
    runs = [inst.solve() for _ in range(RUNS)]
    objectives = {r.objective for r in runs}
    hashes = {flows_hash(r.flows) for r in runs}
    assert len(objectives) == 1, objectives  # bit for bit, not within a tolerance
    assert len(hashes) == 1, hashes
    assert len(runs[0].flows) > 100
    # a fresh load too (nothing cached in the instance decides the answer)
    again = load(WORLD).solve()
    assert again.objective == runs[0].objective and flows_hash(again.flows) in hashes
    # and the hash sees a change: one flow 1e-9 t more is another hash
    f = runs[0].flows.copy()
    f.loc[0, "quantity"] += 1e-9
    assert flows_hash(f) not in hashes


@pytest.mark.slow
def test_criticality_on_1_and_2_dask_workers_equals_the_serial_run():
    inst = load(WORLD)
    serial = criticality(inst, by="site")
    for n in (1, 2):
        with parallel.client(workers=n) as c:
            assert parallel.slots(c) == n
            par = criticality(inst, by="site", scheduler=c.scheduler.address)
        for a, b in zip(serial, par, strict=True):
            pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
    assert len(serial[0]) > 40


#: a 2-case grid x 2 draws on world-2024 (5 cases)
SWEEP = {
    "id": "determinism",
    "title": "build-out or not, Kachin output drawn",
    "grid": {"buildout": ["none", "western-buildout-2030"]},
    "samples": 2,
    "seed": 3,
    "uncertain": [
        {
            "name": "kachin",
            "table": "processes",
            "where": {"id": "mm_kachin_mine"},
            "column": "capacity",
            "scale": {"triangular": [0.3, 0.7, 1.0]},
        }
    ],
}


@pytest.mark.slow
def test_sweep_on_1_and_2_dask_workers_equals_the_serial_run():
    serial = run_sweep(WORLD, SWEEP)
    assert serial.info["engine"] == "serial" and len(serial.cases) == 1 + 2 * 2
    for n in (1, 2):
        with parallel.client(workers=n) as c:
            par = run_sweep(WORLD, SWEEP, scheduler=c.scheduler.address)
        assert par.info["engine"].startswith(f"dask ({n} worker thread")
        pd.testing.assert_frame_equal(serial.cases, par.cases)
        pd.testing.assert_frame_equal(serial.markets, par.markets)
        pd.testing.assert_frame_equal(serial.quantiles, par.quantiles)
