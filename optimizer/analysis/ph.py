r"""Progressive hedging for ``rechain plan`` (docs/plan.md, "Progressive hedging").

The scenario decomposition of the two-stage plan (Rockafellar & Wets 1991, *Math. Oper.
Res.* 16:119): every scenario *k* keeps its own copy :math:`x_k` of the first stage (the
``build`` and ``stockpile`` columns of its block, and with a CVaR term the VaR level
:math:`\eta`), and the copies are driven to agree by prices :math:`W_k` and a proximal
term around their average :math:`\bar x`:

.. math:: x_k^\nu = \arg\min f_k(x, y) + W_k^{\nu-1} x + \tfrac12 \textstyle\sum_j
          \rho_j (x_j - \bar x_j^{\nu-1})^2, \quad
          \bar x^\nu = \textstyle\sum_k p_k x_k^\nu, \quad
          W_k^\nu = W_k^{\nu-1} + \rho (x_k^\nu - \bar x^\nu).

The subproblems are the scenario blocks of the extensive form
(:func:`optimizer.analysis.plan._block`), each a HiGHS LP kept by its worker between
iterations.  HiGHS's QP solver is too slow for the proximal term on 26k columns, so it is
linearised as mpi-sppy does (``linearize_proximal_terms``): per first-stage column a
deviation :math:`d_j = x_j - \bar x_j` (one row whose right-hand side is
:math:`\bar x_j`) and :math:`t_j \ge \rho_j a d_j - \rho_j a^2/2`, tangents of
:math:`\rho_j d_j^2/2` added where the approximation is looser than
:data:`PROX_TOL`.  The tangents are in *d*, so they stay valid when :math:`\bar x`
moves: an iteration changes only the objective's linear terms and the deviation rows'
right-hand sides, and the dual simplex restarts from the last basis.

Each iteration also solves every subproblem without the proximal term: with
:math:`\sum_k p_k W_k = 0`, :math:`\sum_k p_k \min (f_k + W_k x)` is a lower bound on
the plan's optimum (the Lagrangian bound; Gade et al. 2016, *Math. Program.* 157:47).
:math:`\rho_j` is Watson & Woodruff's (2011, *Comput. Manag. Sci.* 8:355) cost-
proportional rule: ``rho`` × the column's cost / max(1, its spread over the scenarios
at iteration 0).  PH stops when the residual of nonanticipativity
:math:`\max_j \sum_k p_k |x_{kj} - \bar x_j| / \max(1, |\bar x_j|)` is at most ``tol``;
the plan then fixes the first stage at :math:`\bar x` and solves every scenario exactly.

On Dask (:mod:`optimizer.analysis.parallel`) each worker holds the subproblems of its
scenarios; a task whose worker died runs elsewhere and rebuilds its subproblems from the
blocks (held by Dask as task results, so they are recomputed), cold.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from optimizer.analysis import parallel
from optimizer.errors import InfeasibleError, InputError, Problem, SolverError
from optimizer.lp.handoff import StandardForm, highs_lp
from optimizer.lp.run import INF, new_highs, run_lp

MS = highspy.HighsModelStatus

#: A tangent of the proximal term is added where the linearisation is below the
#: quadratic by more than this share of it (or 1e-6 of the objective's units).
PROX_TOL = 1e-2
#: Rounds of tangents per subproblem solve (after them the step is taken as it is: an
#: inexact step slows PH down but changes neither the bound nor the evaluated plan).
PROX_ROUNDS = 3
#: The label of the VaR level :math:`\eta` among the first-stage columns.
ETA = "eta"
#: Defaults of :func:`progressive_hedging`.
RHO = 1.0
TOL = 1e-6
GAP = 1e-4
MAX_ITER = 500


@dataclass(frozen=True)
class Sub:
    """What a worker needs of one scenario: its block in standard form, the positions of
    its first-stage columns, their indices among all first-stage labels, and the CVaR
    data (picklable; no Pyomo model)."""

    k: int
    sf: StandardForm
    cols: np.ndarray
    glob: np.ndarray
    loss: np.ndarray
    risk_weight: float
    alpha: float
    method: str
    time_limit: float | None


def check_options(
    rho: float,
    tol: float,
    gap: float,
    max_iter: int,
    workers: int | None,
    scheduler: str | None,
) -> None:
    """Exit-2 checks of the PH options, naming each option."""
    problems = []
    if not (math.isfinite(gap) and gap >= 0):
        problems.append(Problem("--ph-gap", None, None, f"{gap:g} is not >= 0"))
    if not (math.isfinite(rho) and rho > 0):
        problems.append(Problem("--ph-rho", None, None, f"{rho:g} is not > 0"))
    if not (math.isfinite(tol) and tol > 0):
        problems.append(Problem("--ph-tol", None, None, f"{tol:g} is not > 0"))
    if int(max_iter) != max_iter or max_iter < 1:
        problems.append(Problem("--ph-max-iter", None, None, f"{max_iter} is not >= 1"))
    if workers is not None and workers < 1:
        problems.append(Problem("--workers", None, None, f"{workers} is not >= 1"))
    if workers is not None and scheduler:
        problems.append(Problem("--workers", None, None, "give --workers or --scheduler, not both"))
    if problems:
        raise InputError(problems)


# -- the subproblem on a worker ---------------------------------------------------------


class _LP:
    """One HiGHS instance of a scenario: a cold first solve (the method chosen for its
    size), then warm dual simplex from the last basis."""

    def __init__(self, sub: Sub) -> None:
        sf = sub.sf
        n = len(sf.c)
        self.sub = sub
        self.h = h = new_highs()
        if h.passModel(highs_lp(sf)) == highspy.HighsStatus.kError:  # pragma: no cover
            raise SolverError("HiGHS rejected a scenario subproblem")
        first = [int(j) for j in sub.cols]
        if sub.risk_weight > 0:
            # eta (free, first stage) and z_k >= 0: z_k + eta - L_k(y) >= 0
            lam, a = sub.risk_weight, sub.alpha
            h.addCols(2, np.array([lam, lam / (1 - a)]), np.array([-INF, 0.0]),
                      np.array([INF, INF]), 0, np.array([], np.int32), np.array([], np.int32),
                      np.array([]))  # fmt: skip
            nz = np.flatnonzero(sub.loss)
            idx = np.concatenate([nz, [n, n + 1]]).astype(np.int32)
            val = np.concatenate([-sub.loss[nz], [1.0, 1.0]])
            h.addRow(0.0, INF, len(idx), idx, val)
            first.append(n)
        self.first = np.asarray(first, dtype=np.int32)
        self.m = len(first)
        self.base_cost = np.asarray(h.getLp().col_cost_, dtype=float)[self.first]
        self.solved = False

    def prices(self, w: np.ndarray) -> None:
        self.h.changeColsCost(self.m, self.first, self.base_cost + w)

    def _run(self) -> dict[str, Any]:
        s = self.sub
        if not self.solved:
            facts = run_lp(self.h, self.h.getNumCol(), s.method, s.time_limit)
            self.solved = True
            self.h.setOptionValue("solver", "simplex")
            self.h.setOptionValue("run_crossover", "off")
            return facts
        t0 = time.perf_counter()
        self.h.run()
        ms = self.h.getModelStatus()
        return {
            "model_status": ms,
            "status_text": self.h.modelStatusToString(ms),
            "solve_seconds": time.perf_counter() - t0,
            "objective": self.h.getInfo().objective_function_value,
        }

    def solve(self, what: str) -> float | None:
        """The objective when optimal; ``None`` when unbounded (the caller adds tangents
        or has no bound); raises otherwise, after one cold re-solve when the warm start
        ended in numerical trouble."""
        facts = self._run()
        ms = facts["model_status"]
        if ms not in (MS.kOptimal, MS.kUnbounded, MS.kUnboundedOrInfeasible, MS.kInfeasible):
            self.h.clearSolver()
            self.solved = False
            facts = self._run()
            ms = facts["model_status"]
        if ms == MS.kOptimal:
            return float(facts["objective"])
        if ms in (MS.kUnbounded, MS.kUnboundedOrInfeasible):
            return None
        if ms == MS.kInfeasible:
            raise InfeasibleError(
                f"scenario {self.sub.k + 1} {what} is infeasible (HiGHS): elastic demand "
                "cannot cause this, so check hard limits in the scenarios"
            )
        raise SolverError(
            f"HiGHS stopped on scenario {self.sub.k + 1} {what}: {facts['status_text']}"
        )

    def x(self) -> np.ndarray:
        return np.asarray(self.h.getSolution().col_value, dtype=float)


class _Subproblem:
    """One scenario's three HiGHS LPs, kept between iterations so that each warm-starts
    from its own last basis: with its prices (the bound), with its prices and the
    linearised proximal term (the PH step), and with the first stage fixed (the
    evaluation of a consensus)."""

    def __init__(self, sub: Sub) -> None:
        self.sub = sub
        self.n = len(sub.sf.c)
        self.bound_lp, self.prox_lp, self.eval_lp = _LP(sub), _LP(sub), _LP(sub)
        p = self.prox_lp
        first, m = p.first, p.m
        self.m = m
        sf = sub.sf
        self.lo = np.asarray(sf.col_lower, dtype=float)[sub.cols]
        self.hi = np.asarray(sf.col_upper, dtype=float)[sub.cols]
        if sub.risk_weight > 0:
            self.lo, self.hi = np.append(self.lo, -INF), np.append(self.hi, INF)
        # the proximal LP: d_j (free), t_j >= 0 (cost 1), x_j - d_j = xbar_j
        h = p.h
        ncol = h.getNumCol()
        self.d = np.arange(ncol, ncol + m, dtype=np.int32)
        self.t = np.arange(ncol + m, ncol + 2 * m, dtype=np.int32)
        empty = (0, np.array([], np.int32), np.array([], np.int32), np.array([]))
        h.addCols(m, np.zeros(m), np.full(m, -INF), np.full(m, INF), *empty)
        h.addCols(m, np.ones(m), np.zeros(m), np.full(m, INF), *empty)
        r0 = h.getNumRow()
        self.dev_rows = np.arange(r0, r0 + m, dtype=np.int32)
        starts = np.arange(0, 2 * m, 2, dtype=np.int32)
        idx = np.column_stack([first, self.d]).ravel().astype(np.int32)
        h.addRows(m, np.zeros(m), np.zeros(m), 2 * m, starts, idx, np.tile([1.0, -1.0], m))
        self.rho: np.ndarray | None = None

    def _add_cuts(self, a: np.ndarray, which: np.ndarray) -> None:
        """Tangents of rho d^2 / 2 at d = a: t - rho a d >= -rho a^2 / 2."""
        rho = self.rho[which]
        k = len(which)
        if not k:
            return
        starts = np.arange(0, 2 * k, 2, dtype=np.int32)
        idx = np.column_stack([self.t[which], self.d[which]]).ravel().astype(np.int32)
        val = np.column_stack([np.ones(k), -rho * a]).ravel()
        self.prox_lp.h.addRows(k, -rho * a * a / 2, np.full(k, INF), 2 * k, starts, idx, val)

    # -- the steps -----------------------------------------------------------------------

    def plain(self) -> dict[str, Any]:
        """Iteration 0: the scenario alone (no W, no proximal term); also a bound."""
        b = self.bound_lp
        obj = b.solve("alone")
        if obj is None:
            raise SolverError(f"scenario {self.sub.k + 1} alone is unbounded (HiGHS)")
        return {"x": b.x()[b.first], "bound": obj, "solves": 1}

    def step(self, w: np.ndarray, xbar: np.ndarray, rho: np.ndarray) -> dict[str, Any]:
        """The Lagrangian bound at ``w`` and the PH step around ``xbar``."""
        b, p = self.bound_lp, self.prox_lp
        if self.rho is None:
            self.rho = np.asarray(rho, dtype=float)
            # first tangents at +- 1, 10 and 100 x max(1, |xbar|), so the first step is
            # bounded whatever W is
            s = np.maximum(1.0, np.abs(xbar))
            for f in (1.0, 10.0, 100.0):
                self._add_cuts(f * s, np.arange(self.m))
                self._add_cuts(-f * s, np.arange(self.m))
        b.prices(w)
        bound = b.solve("with its prices")
        p.prices(w)
        p.h.changeRowsBounds(self.m, self.dev_rows, xbar, xbar)
        solves, x = 1, None
        for _ in range(PROX_ROUNDS):
            solves += 1
            if p.solve("with its proximal term") is None:
                x = None
                # tangents too flat for the prices: add steeper ones everywhere
                s = np.maximum(1.0, np.abs(xbar)) * 1e3 * (1 + solves)
                self._add_cuts(s, np.arange(self.m))
                self._add_cuts(-s, np.arange(self.m))
                continue
            x = p.x()
            d, t = x[self.d], x[self.t]
            q = self.rho * d * d / 2
            loose = np.flatnonzero(q - t > PROX_TOL * q + 1e-6)
            if not len(loose):
                break
            self._add_cuts(d[loose], loose)
        if x is None:
            raise SolverError(
                f"scenario {self.sub.k + 1}: unbounded with its proximal term after "
                f"{PROX_ROUNDS} rounds of tangents (try a larger --ph-rho)"
            )
        return {
            "x": x[p.first],
            "bound": -math.inf if bound is None else bound,
            "solves": solves,
        }

    def evaluate(self, value: np.ndarray, full: bool = False) -> dict[str, Any]:
        """The scenario with its first stage fixed at ``value`` (no W, no proximal
        term): its cost and unmet end-use value (and its columns when ``full``)."""
        e = self.eval_lp
        v = np.clip(value, self.lo, self.hi)
        e.h.changeColsBounds(self.m, e.first, v, v)
        if e.solve("with the plan fixed") is None:
            raise SolverError(f"scenario {self.sub.k + 1} with the plan fixed is unbounded")
        x = e.x()[: self.n]
        sf = self.sub.sf
        r = {"cost": float(sf.c @ x) + sf.offset, "loss": float(self.sub.loss @ x), "solves": 1}
        if full:
            r["x"] = x
        return r


#: The subproblems of this process, by (run id, scenario).
_CACHE: dict[tuple[str, int], _Subproblem] = {}


def _chunk(payload: tuple, chunk: list[tuple[Sub, np.ndarray | None]]) -> list[dict[str, Any]]:
    """Runs on a worker: one step of every scenario of ``chunk`` (sub, W_k)."""
    run, mode, xbar, rho = payload
    out = []
    for sub, w in chunk:
        key = (run, sub.k)
        sp = _CACHE.get(key)
        if sp is None:
            # (after a lost worker: rebuilt cold, its tangents start anew)
            sp = _CACHE[key] = _Subproblem(sub)
        t0 = time.perf_counter()
        mine = _mine(sub, xbar)
        if mode == "plain":
            r = sp.plain()
        elif mode == "step":
            # the last consensus's cost (an upper bound), then the bound and the step
            e = sp.evaluate(mine)
            r = sp.step(_mine(sub, w), mine, _mine(sub, rho))
            r.update(cost=e["cost"], loss=e["loss"], solves=r["solves"] + 1)
        else:
            r = sp.evaluate(mine, full=True)
        r["k"] = sub.k
        r["seconds"] = time.perf_counter() - t0
        out.append(r)
    return out


def _mine(sub: Sub, v: np.ndarray | None) -> np.ndarray | None:
    """A scenario's entries of a vector over all first-stage labels (+ eta last)."""
    if v is None:
        return None
    g = sub.glob if sub.risk_weight <= 0 else np.append(sub.glob, len(v) - 1)
    return np.asarray(v, dtype=float)[g]


def _drop(run: str) -> None:
    """Runs on every worker at the end: forget the run's subproblems."""
    for key in [k for k in _CACHE if k[0] == run]:
        del _CACHE[key]


def _hold(sub: Sub) -> Sub:
    """A task whose result is a block: Dask keeps it on a worker and recomputes it if
    that worker dies."""
    return sub


# -- the driver ---------------------------------------------------------------------------


@dataclass
class PHResult:
    """The consensus first stage (labels, + eta last with a CVaR term), every
    scenario's columns at it, and the run's facts."""

    xbar: np.ndarray
    x: list[np.ndarray]
    facts: dict[str, Any]


class _Engine:
    """Runs steps of the subproblems: in this process (``workers == 1``) or on Dask."""

    def __init__(self, subs: list[Sub], workers: int | None, scheduler: str | None) -> None:
        self.subs = subs
        self.run = uuid.uuid4().hex
        self.serial = not scheduler and workers == 1
        self._client_cm = None
        self.c = None
        if not self.serial:
            n = workers or min(len(subs), os.cpu_count() or 1)
            self._client_cm = parallel.client(n, scheduler)
            self.c = self._client_cm.__enter__()
            addrs = sorted(self.c.scheduler_info()["workers"])
            self.addrs = addrs
            self.mine = [[s for s in subs if s.k % len(addrs) == i] for i in range(len(addrs))]
            self.held = {
                # loose: recomputed on another worker when its own died (else it
                # waits for a worker of that address forever)
                s.k: self.c.submit(
                    _hold, s, workers=[addrs[i]], allow_other_workers=True, pure=False
                )
                for i, group in enumerate(self.mine)
                for s in group
            }
            self.engine = f"dask ({len(addrs)} worker{'s' if len(addrs) != 1 else ''}" + (
                f" at {scheduler})" if scheduler else ", LocalCluster)"
            )
        else:
            self.engine = "serial"

    def step(
        self,
        mode: str,
        xbar: np.ndarray | None = None,
        rho: np.ndarray | None = None,
        w: list[np.ndarray] | None = None,
    ) -> list[dict[str, Any]]:
        payload = (self.run, mode, xbar, rho)
        if self.serial:
            res = _chunk(payload, [(s, None if w is None else w[s.k]) for s in self.subs])
        else:
            tasks = [
                (payload, [(self.held[s.k], None if w is None else w[s.k]) for s in group])
                for group in self.mine
                if group
            ]
            where = [a for a, group in zip(self.addrs, self.mine, strict=True) if group]
            res = [r for ch in parallel.run_chunks(_chunk, tasks, c=self.c, where=where)
                   for r in ch]  # fmt: skip
        return sorted(res, key=lambda r: r["k"])

    def close(self) -> None:
        if self.serial:
            _drop(self.run)
            return
        # a worker lost at the very end has nothing left to drop
        with contextlib.suppress(Exception):
            self.c.run(_drop, self.run)
        self.held.clear()
        self._client_cm.__exit__(None, None, None)


def _residual(dev: np.ndarray, xbar: np.ndarray, last: np.ndarray | None) -> float:
    """The stopping measure: the largest, over the first-stage columns, of the spread
    of the scenarios' copies around the consensus and of the consensus's move since the
    last iteration, each relative to max(1, |consensus|)."""
    if not len(xbar):
        return 0.0
    scale = np.maximum(1.0, np.abs(xbar))
    r = dev / scale
    if last is not None:
        r = np.maximum(r, np.abs(xbar - last) / scale)
    return float(r.max())


def progressive_hedging(
    subs: list[Sub],
    probs: np.ndarray,
    n_first: int,
    first_cost: np.ndarray,
    objective: Callable[[np.ndarray, np.ndarray], float],
    *,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    rho: float = RHO,
    tol: float = TOL,
    gap: float = GAP,
    max_iter: int = MAX_ITER,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PHResult:
    """Progressive hedging over the scenario blocks ``subs`` (see the module docstring).

    ``n_first`` first-stage labels (+ eta when ``risk_weight > 0``), ``first_cost`` their
    cost coefficients (eta's: λ), ``objective(costs, losses)`` the plan's objective from
    the scenarios' costs and unmet end-use values, ``lower``/``upper`` the first stage's
    tightest bounds over the scenarios (the consensus is clipped to them).  Stops when
    the residual (:func:`_residual`) is at most ``tol`` or the relative gap between the
    best consensus's objective and the best Lagrangian bound is at most ``gap``, or
    after ``max_iter`` iterations.  Returns the best consensus, the scenarios' columns
    with the first stage fixed at it, and the facts.
    """
    t0 = time.perf_counter()
    risk = subs[0].risk_weight > 0
    m = n_first + (1 if risk else 0)
    # the scenarios that have each first-stage column, and their probability
    has = np.zeros((len(subs), m))
    for s in subs:
        has[s.k, s.glob] = 1.0
        if risk:
            has[s.k, -1] = 1.0
    mass = probs @ has
    mass[mass == 0] = 1.0
    lo = np.full(m, -INF) if lower is None else lower
    hi = np.full(m, INF) if upper is None else upper

    def spread(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xbar = (probs[:, None] * has * xs).sum(axis=0) / mass
        dev = (probs[:, None] * has * np.abs(xs - xbar)).sum(axis=0) / mass
        return np.clip(xbar, lo, hi), dev

    def gather(res: list[dict[str, Any]]) -> np.ndarray:
        xs = np.zeros((len(subs), m))
        for s, r in zip(subs, res, strict=True):
            g = s.glob if not risk else np.append(s.glob, m - 1)
            xs[s.k, g] = r["x"]
        return xs

    def rel_gap(ub: float, lb: float) -> float:
        return (ub - lb) / max(1.0, abs(ub)) if math.isfinite(lb) else math.inf

    eng = _Engine(subs, workers, scheduler)
    try:
        res = eng.step("plain")
        solves = sum(r["solves"] for r in res)
        xs = gather(res)
        xbar, dev = spread(xs)
        lb = float(probs @ np.array([r["bound"] for r in res]))
        best, ub = xbar, math.inf
        r_ph = rho * np.maximum(np.abs(first_cost), 1.0) / np.maximum(1.0, dev)
        W = r_ph * (xs - xbar) * has
        residual = _residual(dev, xbar, None)
        history = [{"iteration": 0, "residual": residual, "lower_bound": lb}]
        it = 0
        while residual > tol and it < max_iter:
            it += 1
            res = eng.step("step", xbar, r_ph, [W[s.k] for s in subs])
            solves += sum(r["solves"] for r in res)
            # the last consensus's objective, the bound at the last W
            u = objective(np.array([r["cost"] for r in res]), np.array([r["loss"] for r in res]))
            if u < ub:
                best, ub = xbar, u
            b = np.array([r["bound"] for r in res])
            if np.isfinite(b).all():
                lb = max(lb, float(probs @ b))
            history[-1]["objective"] = u
            if progress:
                progress(it, max_iter)
            if rel_gap(ub, lb) <= gap:
                break
            xs = gather(res)
            last = xbar
            xbar, dev = spread(xs)
            W = W + r_ph * (xs - xbar) * has
            residual = _residual(dev, xbar, last)
            history.append({"iteration": it, "residual": residual, "lower_bound": lb})
        if residual <= tol or not math.isfinite(ub):
            best = xbar  # converged (or never evaluated): the last consensus
        ev = eng.step("fix", best)
        solves += len(ev)
        ub = objective(np.array([r["cost"] for r in ev]), np.array([r["loss"] for r in ev]))
        engine = eng.engine
    finally:
        eng.close()
    return PHResult(
        xbar=best,
        x=[r["x"] for r in ev],
        facts={
            "iterations": it,
            "converged": residual <= tol or rel_gap(ub, lb) <= gap,
            "residual": residual,
            "tolerance": tol,
            "objective": ub,
            "lower_bound": lb,
            "gap": rel_gap(ub, lb),
            "gap_tolerance": gap,
            "rho": rho,
            "engine": engine,
            "subproblem_solves": solves,
            "seconds": time.perf_counter() - t0,
            "history": history,
        },
    )
