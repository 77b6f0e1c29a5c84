"""Shared fixtures.  Every solve in the suite is checked for invariants.

The autouse fixture sets ``RECHAIN_CHECK_INVARIANTS``: every :func:`optimizer.solve.solve`
then recomputes mass balance, capacities, non-negativity and the policy families' own
invariants from the output tables and fails on a violation — baseline solves of
share-of-baseline policies, ``Instance.solve``, the CLI in-process, survive windows,
sweep cases, and solves in Dask worker processes (they inherit the environment).
``WhatIf`` checks its base case the same way and every case's primal feasibility.
``checked_solves()`` counts the checked solves of this process since the test began.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import optimizer.solve as solve_module

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"
TINY = INSTANCES / "tiny"


@pytest.fixture(autouse=True)
def checked_solves(monkeypatch):
    """Every solve checks its invariants; calling the fixture's value gives the count."""
    monkeypatch.setenv(solve_module.CHECK_ENV, "1")
    start = solve_module.checked
    return lambda: solve_module.checked - start


@pytest.fixture
def tiny_copy(tmp_path) -> Path:
    """A writable copy of instances/tiny."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst)
    return dst
