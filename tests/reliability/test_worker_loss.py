"""A Dask worker killed (SIGKILL) while it solves cases: the run ends with the serial
answer (the lost task is resubmitted: :func:`optimizer.analysis.parallel.run_chunks`),
never a ``FutureCancelledError`` traceback.  Real LocalClusters, real kills."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pandas as pd
import psutil
import pytest

from optimizer import load
from optimizer.analysis import parallel
from optimizer.analysis.criticality import criticality
from optimizer.analysis.sweep import run_sweep
from tests.conftest import INSTANCES, ROOT, TINY

pytestmark = pytest.mark.slow

SWEEP = "halved-x-penalty"
SAMPLES = 6  # 1 + 4 x 6 cases, chunks of about 3 cases (~1 s each on two workers)


@contextmanager
def kill_a_busy_worker(c, after: float = 0.3):
    """Watch the cluster of client ``c``; SIGKILL the process of the first worker seen
    processing a task, ``after`` seconds later.  Yields the list of killed pids."""
    pids = c.run(os.getpid)  # worker address -> pid
    stop, killed = threading.Event(), []

    def watch():
        while not stop.is_set():
            busy = [w for w, keys in c.processing().items() if keys and w in pids]
            if busy:
                time.sleep(after)
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(pids[busy[0]])
                return
            time.sleep(0.01)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        yield killed
    finally:
        stop.set()
        t.join(timeout=30)


def _dead(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_sweep_survives_a_killed_worker_with_the_serial_answer():
    serial = run_sweep(TINY, SWEEP, samples=SAMPLES)
    with parallel.client(workers=2) as c, kill_a_busy_worker(c) as killed:
        par = run_sweep(TINY, SWEEP, samples=SAMPLES, scheduler=c.scheduler.address)
    assert len(killed) == 1 and _dead(killed[0])  # a worker really died mid-run
    assert len(par.cases) == 1 + 4 * SAMPLES
    pd.testing.assert_frame_equal(serial.cases, par.cases)
    pd.testing.assert_frame_equal(serial.markets, par.markets)
    pd.testing.assert_frame_equal(serial.quantiles, par.quantiles)


def test_criticality_survives_a_killed_worker_with_the_serial_answer():
    inst = load(INSTANCES / "world-2024")
    serial = criticality(inst, by="link")
    with parallel.client(workers=2) as c, kill_a_busy_worker(c, after=0.1) as killed:
        par = criticality(inst, by="link", scheduler=c.scheduler.address)
    assert len(killed) == 1 and _dead(killed[0])
    for a, b in zip(serial, par, strict=True):
        pd.testing.assert_frame_equal(a, b)


def _busy_worker(w) -> bool:
    """A Dask worker process that has done real work (children come and go: a process
    that ends or is a zombie while we look is not one)."""
    try:
        return "spawn_main" in " ".join(w.cmdline()) and w.cpu_times().user > 1.5
    except psutil.Error:
        return False


def test_the_sweep_command_survives_a_killed_worker(tmp_path):
    """``rechain sweep --workers 2`` in its own process: one of its worker processes is
    killed while cases run; the command exits 0 with the serial tables."""
    args = [sys.executable, "-m", "optimizer", "sweep", str(TINY), SWEEP]
    args += ["--samples", str(SAMPLES)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ser = subprocess.run([*args, "--out", str(tmp_path / "s")], env=env, capture_output=True)
    assert ser.returncode == 0, ser.stderr.decode()
    p = subprocess.Popen(
        [*args, "--workers", "2", "--out", str(tmp_path / "p")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    me = psutil.Process(p.pid)
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and p.poll() is None and time.monotonic() < deadline:
        workers = [
            w for w in me.children(recursive=True) if _busy_worker(w)
        ]  # a worker that imported optimizer and solves
        if workers:
            victim = workers[0]
            victim.send_signal(signal.SIGKILL)
        time.sleep(0.05)
    out, err = p.communicate(timeout=120)
    assert victim is not None, "no busy worker found to kill"
    assert p.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"CancelledError" not in err
    for name in ("sweep.csv", "sweep_markets.csv", "sweep_quantiles.csv"):
        a = pd.read_csv(tmp_path / "s" / name)
        b = pd.read_csv(tmp_path / "p" / name)
        pd.testing.assert_frame_equal(a, b)


def _die(payload, chunk):
    os.kill(os.getpid(), signal.SIGKILL)  # every worker that takes this task dies


def test_a_task_that_kills_every_worker_fails_cleanly():
    """After the scheduler's allowed failures the run stops with a SolverError (exit 4 in
    the CLI), not a traceback."""
    from optimizer.errors import EXIT_SOLVER, SolverError

    with pytest.raises(SolverError, match="the Dask cluster lost the run") as e:
        parallel.run_chunks(_die, [(None, [1])], workers=1)
    assert e.value.exit_code == EXIT_SOLVER


def test_distributed_logs_a_lost_connection_in_one_line(capsys):
    """A killed worker makes distributed log lost connections with their tracebacks;
    while rechain runs a cluster they are one line each, never a traceback."""
    import logging

    from optimizer.analysis.parallel import _quiet

    handler = logging.StreamHandler()  # stderr, like the CLI's basicConfig
    logging.getLogger().addHandler(handler)
    try:
        with _quiet():
            try:
                raise ConnectionResetError("worker gone")
            except ConnectionResetError:
                logging.getLogger("distributed.core").exception("lost the worker")
        err = capsys.readouterr().err
        assert "lost the worker" in err and "Traceback" not in err
        # outside the run, other loggers keep their tracebacks
        try:
            raise ValueError("x")
        except ValueError:
            logging.getLogger("optimizer.test").exception("kept")
        assert "Traceback" in capsys.readouterr().err
    finally:
        logging.getLogger().removeHandler(handler)


def test_progressive_hedging_survives_a_killed_worker_within_its_gap():
    """``plan(..., decomposition="ph")`` keeps each scenario's subproblem on a worker; one
    worker killed mid-run: its tasks run on the other, which rebuilds the subproblems
    from the blocks (Dask recomputes them), and the plan agrees with the extensive form."""
    from optimizer.analysis.plan import plan

    inst = load(TINY)
    scen, probs = ["none", "south-mine-halved", "no-heavy-ore"], [0.5, 0.3, 0.2]
    kw = {
        "stockpiles": [("magnets", "Dy_oxide"), ("market_eu", "magnet_ht")],
        "holding_cost": 20_000,
        "release_cost": 20_000,
        "value_of_information": False,
    }
    ef = plan(inst, scen, probs, **kw)
    with parallel.client(workers=2) as c, kill_a_busy_worker(c, after=0.05) as killed:
        ph = plan(inst, scen, probs, decomposition="ph", scheduler=c.scheduler.address, **kw)
    assert len(killed) == 1 and _dead(killed[0])
    f = ph.summary["progressive_hedging"]
    assert f["converged"] and f["lower_bound"] <= ef.objective + 1e-6
    assert 0 <= ph.objective - ef.objective <= f["gap"] * ph.objective + 1e-6
