"""Shared fixtures.  Every solve in the suite is checked for invariants.

The autouse fixture wraps :func:`optimizer.solve.solve` — wherever a module holds a
reference to it — so that mass balance, capacities, non-negativity and the policy
families' own invariants are verified from the output tables on *every* solve a test
makes: baseline solves of share-of-baseline policies, solves made through
``Instance.solve``, the CLI in-process, survive windows and sweep cases.  The count
of checked solves is asserted by the tests that must solve.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import optimizer.solve as solve_module
from optimizer.analysis.invariants import check_result

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"
TINY = INSTANCES / "tiny"


@pytest.fixture(autouse=True)
def checked_solves(monkeypatch):
    """Counts the solves checked during a test: ``checked_solves["n"]``."""
    original = solve_module.solve
    calls = {"n": 0}

    def checked(inst, **options):
        res = original(inst, **options)
        problems = check_result(inst, res)
        assert not problems, "invariants violated:\n" + "\n".join(problems[:20])
        calls["n"] += 1
        return res

    for name, mod in list(sys.modules.items()):
        if name.startswith("optimizer") and getattr(mod, "solve", None) is original:
            monkeypatch.setattr(mod, "solve", checked)
    yield calls


@pytest.fixture
def tiny_copy(tmp_path) -> Path:
    """A writable copy of instances/tiny."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst)
    return dst
