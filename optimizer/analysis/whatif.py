"""Fast what-ifs on one built model: switch elements off by changing column bounds.

:class:`WhatIf` builds the LP once, hands it to HiGHS once, solves the base
case, and then re-solves cases that remove sites, companies, countries or
links by setting the upper bounds of their activity and flow columns to zero
(a warm-started dual simplex from the base basis), restoring them afterwards.
Every case starts from the *base* basis, so results do not depend on the order
cases are solved in (serial and parallel runs agree).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import highspy
import numpy as np
import pandas as pd

from optimizer.errors import SolverError
from optimizer.lp.handoff import to_highs
from optimizer.lp.run import run_highs
from optimizer.results.collect import collect
from optimizer.solve import CHECK_ENV, baseline_solve, build, reference_solve, settle, verify

if TYPE_CHECKING:
    from optimizer.data.instance import Instance


@dataclass
class CaseResult:
    """Outcome of one what-if case."""

    objective: float  # NaN when infeasible
    unmet: np.ndarray  # per demand row of the base model's ``unmet`` variable (NaN: infeasible)
    seconds: float
    status: str  # optimal | infeasible (a hard policy cannot hold without the element)


@dataclass
class WhatIf:
    """One model, many cases.  Build with :meth:`from_instance`."""

    inst: Instance
    handle: object
    base_objective: float
    base_unmet: np.ndarray
    unmet_keys: pd.DataFrame
    #: column indices of each site's activity and of flows into or out of it
    site_cols: dict[str, np.ndarray]
    #: column indices of each link's flows
    link_cols: dict[str, np.ndarray]
    ub: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    basis: object = field(repr=False, default=None)
    build_seconds: float = 0.0

    @classmethod
    def from_instance(cls, inst: Instance) -> WhatIf:
        """Build, hand off and solve the base case once."""
        t0 = time.perf_counter()
        ref = reference_solve(inst)  # the short run's limits (and a long run's idle lines)
        base = baseline_solve(inst, reference_plan=ref)
        cm, _ = build(
            inst,
            base.as_baseline() if base is not None else None,
            ref.as_baseline() if ref is not None else None,
        )
        handle = to_highs(cm)
        facts = run_highs(handle, "simplex")
        if facts["model_status"] != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"base case not optimal: {facts['status_text']}")
        # cases keep the base case's settled policies (e.g. price floor payment rates)
        for kind, info in settle(handle, facts).items():
            if not info.get("converged", True):
                raise SolverError(f"base case: {kind} did not settle")
        if os.environ.get(CHECK_ENV):  # the base case's tables, checked like any solve
            verify(inst, collect(inst, handle, facts, "optimal", time.perf_counter() - t0))
        h = handle.highs
        lp = h.getLp()
        ub = np.asarray(lp.col_upper_, dtype=float).copy()
        x = np.asarray(h.getSolution().col_value)
        act_site = cm.sets.modes.set_index(["id", "recipe"])["site"]
        ak = cm.var_keys["act"]
        act_sites = act_site.reindex(list(zip(ak["id"], ak["recipe"], strict=True))).to_numpy()
        site_cols: dict[str, list[np.ndarray]] = {}
        for s, idx in pd.Series(handle.cols("act")).groupby(act_sites):
            site_cols.setdefault(s, []).append(idx.to_numpy())
        fr = cm.flow_terms
        cols = handle.cols("flow")
        for end in ("from_site", "to_site"):
            for s, idx in pd.Series(cols).groupby(fr[end].to_numpy()):
                site_cols.setdefault(s, []).append(idx.to_numpy())
        link_cols = {k: v.to_numpy() for k, v in pd.Series(cols).groupby(fr["link"].to_numpy())}
        return cls(
            inst=inst,
            handle=handle,
            base_objective=float(h.getInfo().objective_function_value),
            base_unmet=handle.value("unmet", x).copy(),
            unmet_keys=cm.var_keys["unmet"],
            site_cols={k: np.unique(np.concatenate(v)) for k, v in site_cols.items()},
            link_cols=link_cols,
            ub=ub,
            basis=h.getBasis(),
            build_seconds=time.perf_counter() - t0,
        )

    def columns_for(
        self, sites: set[str] = frozenset(), links: set[str] = frozenset()
    ) -> np.ndarray:
        """HiGHS columns to switch off to remove ``sites`` and ``links``."""
        parts = [self.site_cols[s] for s in sites if s in self.site_cols]
        parts += [self.link_cols[k] for k in links if k in self.link_cols]
        return (
            np.unique(np.concatenate(parts)).astype(np.int32)
            if parts
            else np.zeros(0, dtype=np.int32)
        )

    def solve_without(
        self, sites: set[str] = frozenset(), links: set[str] = frozenset()
    ) -> CaseResult:
        """Re-solve with the given sites and links removed (their flows and activity at zero)."""
        h = self.handle.highs
        cols = self.columns_for(set(sites), set(links))
        t0 = time.perf_counter()
        h.clearSolver()  # forget the previous case entirely: every case starts from the base basis
        h.setBasis(self.basis)
        if len(cols):
            h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), np.zeros(len(cols)))
        try:
            h.run()
            ms = h.getModelStatus()
            MS = highspy.HighsModelStatus
            if ms in (MS.kInfeasible, MS.kUnboundedOrInfeasible):
                # only a hard policy (e.g. a production target) can do this: a result
                n = len(self.handle.cols("unmet"))
                return CaseResult(
                    float("nan"), np.full(n, np.nan), time.perf_counter() - t0, "infeasible"
                )
            status = "optimal" if ms == MS.kOptimal else h.modelStatusToString(ms)
            if status != "optimal":
                raise SolverError(f"what-if case not optimal: {status}")
            if os.environ.get(CHECK_ENV):
                self._check_case(cols)
            res = CaseResult(
                float(h.getInfo().objective_function_value),
                self.handle.value("unmet").copy(),
                time.perf_counter() - t0,
                status,
            )
        finally:
            if len(cols):
                h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), self.ub[cols])
        return res

    def _check_case(self, cols: np.ndarray) -> None:
        """Invariants of a case's solution in HiGHS terms: primal feasible, the removed
        columns at zero (the case's tables are checked against a rebuilt instance by
        tests/analysis/test_criticality.py)."""
        h = self.handle.highs
        info = h.getInfo()
        x = np.asarray(h.getSolution().col_value)
        if info.max_primal_infeasibility > 1e-6 or (len(cols) and np.abs(x[cols]).max() > 1e-9):
            raise SolverError(
                "what-if case violates its bounds: primal infeasibility "
                f"{info.max_primal_infeasibility:.3g}"
            )
