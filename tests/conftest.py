"""Shared fixtures.  Every solve in the suite is checked for invariants.

The autouse fixture wraps :meth:`Instance.solve` so that mass balance,
capacities and non-negativity are verified from the output tables on *every*
solve a test makes, including solves made through the CLI in-process.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from optimizer.instance import Instance
from optimizer.invariants import check_result

ROOT = Path(__file__).resolve().parents[1]
INSTANCES = ROOT / "instances"
TINY = INSTANCES / "tiny"


@pytest.fixture(autouse=True)
def _check_every_solve(monkeypatch):
    original = Instance.solve
    calls = {"n": 0}

    def checked(self, **options):
        res = original(self, **options)
        problems = check_result(self, res)
        assert not problems, "invariants violated:\n" + "\n".join(problems[:20])
        calls["n"] += 1
        return res

    monkeypatch.setattr(Instance, "solve", checked)
    yield calls


@pytest.fixture
def tiny_copy(tmp_path) -> Path:
    """A writable copy of instances/tiny."""
    dst = tmp_path / "tiny"
    shutil.copytree(TINY, dst)
    return dst
