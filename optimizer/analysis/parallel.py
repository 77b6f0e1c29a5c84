"""The one parallel runner: chunks of cases on ``dask.distributed``, in submission order.

Every parallel command (``criticality``, ``sweep``) runs through :func:`run_chunks`:
a ``LocalCluster`` of ``workers`` processes (one thread each), or the cluster at
``scheduler``.  Each task gets its payload (an instance, pickled with the task,
so a worker lost mid-run costs only a retry) and one chunk of cases; a task whose
worker dies is resubmitted (``retries``), so the run ends with the serial answer
or with a clear error.  An unreachable scheduler is an input error (exit 2).
"""

from __future__ import annotations

import logging
import math
import socket
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from optimizer.errors import InputError, Problem, SolverError

#: Seconds to wait for a scheduler to answer.
CONNECT_TIMEOUT = "15s"
#: Times a task is resubmitted after its worker died.
RETRIES = 3
#: Chunks per worker thread: small enough to balance, large enough to amortise a build.
CHUNKS_PER_SLOT = 4


class _OneLine(logging.Filter):
    """A record of distributed's without its traceback: a lost worker is one warning
    line (the run retries its cases and says so), never a Python traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] in ("distributed", "tornado", "bokeh"):
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


@contextmanager
def _quiet() -> Iterator[None]:
    """distributed logs every start and stop at INFO on stderr, warns when the port of
    its HTTP server is taken, and logs a killed worker's lost connections with their
    tracebacks: keep the CLI quiet while it runs (warnings as one line each)."""
    import distributed  # noqa: F401  (configures its loggers on import: do it first)

    loggers = [logging.getLogger(n) for n in ("distributed", "tornado", "bokeh")]
    levels = [lg.level for lg in loggers]
    one = _OneLine()
    handlers = {h for lg in [*loggers, logging.getLogger()] for h in lg.handlers}
    for lg in loggers:
        lg.setLevel(logging.WARNING)
        lg.addFilter(one)
    for h in handlers:
        h.addFilter(one)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            yield
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)
            lg.removeFilter(one)
        for h in handlers:
            h.removeFilter(one)


def _reachable(scheduler: str) -> None:
    """Fail fast (exit 2) when nothing listens at a ``tcp://host:port`` scheduler address."""
    from urllib.parse import urlsplit

    u = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    if u.scheme != "tcp" or not u.hostname or u.port is None:
        return  # other protocols (tls, ucx, inproc): let distributed judge
    try:
        socket.create_connection((u.hostname, u.port), timeout=5).close()
    except OSError as e:
        raise InputError(
            Problem("--scheduler", None, None, f"cannot connect to {scheduler}: {e}")
        ) from None


@contextmanager
def client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A connected ``dask.distributed.Client``: to ``scheduler``, or to a new LocalCluster."""
    from dask.distributed import Client, LocalCluster

    with _quiet():
        cluster = None
        if scheduler:
            _reachable(scheduler)
            try:
                c = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as e:
                raise InputError(
                    Problem("--scheduler", None, None, f"cannot connect to {scheduler}: {e}")
                ) from None
        else:
            cluster = LocalCluster(
                n_workers=workers or 1,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # the worker processes log to the same stderr: a peer's lost connection
                # with its traceback is not the user's business (failures end as exit 4)
                silence_logs=logging.CRITICAL,
            )
            c = Client(cluster)
            c.wait_for_workers(workers or 1)
        try:
            yield c
        finally:
            c.close()
            if cluster is not None:
                cluster.close()


def slots(c: Any) -> int:
    """Worker threads of a connected client (at least 1)."""
    return max(1, sum(c.nthreads().values()))


def chunked(items: Sequence[Any], n_slots: int) -> list[list[Any]]:
    """``items`` in consecutive chunks, about :data:`CHUNKS_PER_SLOT` per worker thread."""
    size = max(1, math.ceil(len(items) / (CHUNKS_PER_SLOT * n_slots)))
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def run_chunks(
    fn: Callable[[Any, list[Any]], list[Any]],
    tasks: Sequence[tuple[Any, list[Any]]],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    c: Any = None,
    where: Sequence[str] | None = None,
) -> list[list[Any]]:
    """Run ``fn(payload, chunk)`` for every (payload, chunk) task; results in task order.

    ``progress(done, total)`` counts cases (chunk items).  ``c``: an already connected
    client (else one is made from ``workers``/``scheduler`` and closed afterwards).
    ``where``: each task's preferred worker (the one holding its state, as progressive
    hedging's subproblems); the task runs elsewhere if that worker is gone.
    """
    if c is None:
        with client(workers, scheduler) as made:
            return run_chunks(fn, tasks, progress=progress, c=made, where=where)
    from dask.distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    total = sum(len(ch) for _, ch in tasks)
    with _quiet():
        pin = (
            [{"workers": [w], "allow_other_workers": True} for w in where]
            if where is not None
            else [{}] * len(tasks)
        )
        futs = [
            c.submit(fn, payload, ch, pure=False, retries=RETRIES, **p)
            for (payload, ch), p in zip(tasks, pin, strict=True)
        ]
        order = {f.key: i for i, f in enumerate(futs)}
        results: list[Any] = [None] * len(futs)
        done = 0
        try:
            for fut in as_completed(futs):
                i = order[fut.key]
                results[i] = fut.result()
                done += len(tasks[i][1])
                if progress:
                    progress(done, total)
        except KilledWorker as e:  # the task killed worker after worker: give up cleanly
            raise SolverError(
                f"the Dask cluster lost the run: every worker that took a task died ({e}); "
                "run without --workers to see the error"
            ) from None
        except (FutureCancelledError, OSError) as e:
            raise SolverError(f"the Dask cluster lost the run: {e}") from None
    return results
