"""What the command line loads before it does any work (issue 16: fast start-up).

The check is on structure, not time: each case runs in a fresh interpreter and lists
the heavy libraries left in ``sys.modules``.  Timing lives in benchmarks/cold_start.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import INSTANCES, ROOT, TINY

#: Libraries no command may load merely by being imported or asked for ``--help``
#: (pydantic is not listed: typer itself coerces a command's parameters through it).
HEAVY = (
    "pyomo",
    "highspy",
    "plotly",
    "dask",
    "distributed",
    "networkx",
    "scipy",
    "jinja2",
    "openpyxl",
    "pandas",
    "numpy",
    "yaml",
)

_PROBE = """
import json, sys
{code}
print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))
"""


def _loaded(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run(
        [sys.executable, "-c", _PROBE.format(code=code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    return set(json.loads(p.stdout.strip().splitlines()[-1]))


def _run_cli(*args: str) -> str:
    # the app in-process, without sys.exit (typer's standalone mode exits)
    return (
        "from optimizer.cli import app\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    try: app({list(args)!r})\n"
        "    except SystemExit as e: assert e.code in (0, None), e.code\n"
    )


def test_the_subprocess_runs_this_working_tree():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run(
        [sys.executable, "-c", "import optimizer; print(optimizer.__file__)"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    )
    assert p.stdout.strip() == str(ROOT / "optimizer" / "__init__.py")


@pytest.mark.parametrize(
    "code",
    ["import optimizer", "import optimizer.cli", _run_cli("--help"), _run_cli("solve", "--help")],
    ids=["import optimizer", "import optimizer.cli", "--help", "solve --help"],
)
def test_start_up_loads_no_heavy_library(code):
    assert _loaded(code) & set(HEAVY) == set()


def test_the_probe_sees_a_heavy_import():
    # the probe can fail: a command that does load pandas is reported
    assert "pandas" in _loaded(_run_cli("validate", str(TINY)))


def test_validate_loads_no_solver_plotting_or_parallel_library():
    loaded = _loaded(_run_cli("validate", str(TINY)))
    assert (
        loaded
        & {"pyomo", "highspy", "plotly", "dask", "distributed", "scipy", "jinja2", "networkx"}
        == set()
    )


def test_validate_of_a_chain_with_recycling_loops_loads_no_networkx():
    # world-2024's recycling recipes run the gain-loop LP (highspy); networkx only names
    # a loop that LP finds, and it finds none
    loaded = _loaded(_run_cli("validate", str(INSTANCES / "world-2024")))
    assert "highspy" in loaded and "networkx" not in loaded


def test_public_api_still_imports_lazily():
    loaded = _loaded("from optimizer import load\nassert callable(load)")
    assert "pandas" in loaded  # ``load`` itself is real (optimizer.api) ...
    assert loaded & {"pyomo", "highspy", "plotly", "dask", "scipy"} == set()  # ... and light
