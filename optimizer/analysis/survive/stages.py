"""Lexicographic LP stages on the HiGHS instance of a solved window (bounds, costs and
rows changed in place, through the hand-off's accessors)."""

from __future__ import annotations

import logging
from typing import Any

import highspy
import numpy as np
import pandas as pd

from optimizer.analysis.survive.window import grouped
from optimizer.errors import InfeasibleError, SolverError
from optimizer.model.tracing import split_commodity
from optimizer.results.result import Result

log = logging.getLogger(__name__)

_INF = highspy.kHighsInf


class Stages:
    """Lexicographic stages on the HiGHS instance of a solved window."""

    def __init__(self, res: Result):
        handle = res.extra.get("handle") if res.extra else None
        if handle is None:  # pragma: no cover - programming error
            raise SolverError("internal error: the solve kept no HiGHS handle")
        self.handle = handle
        self.h = handle.highs
        self.cm = handle.cm
        lp = self.h.getLp()
        self.cost = np.asarray(lp.col_cost_, dtype=float).copy()
        self.offset = float(lp.offset_)
        self.unmet_cols = handle.cols("unmet")
        keys = self.cm.var_keys.get(
            "unmet", pd.DataFrame(columns=["market", "commodity", "period"])
        )
        self.unmet_keys = keys.assign(base=self._base(keys["commodity"])).reset_index(drop=True)

    def _base(self, ids: pd.Series) -> np.ndarray:
        """Commodity ids without their origin label (``Dy_oxide@CN`` -> ``Dy_oxide``)."""
        return split_commodity(ids, self.cm.sets.labels)[0]

    def add_stock_column(self, site: str, commodity: str, period: int) -> int:
        """A column S with +1 in the balance row where ``site``'s stock of ``commodity`` enters."""
        bk = self.cm.con_keys["balance"]
        hit = bk.loc[
            (bk["site"] == site)
            & (bk["period"] == period)
            & (self._base(bk["commodity"]) == commodity)
        ]
        if hit.empty:  # pragma: no cover - compile_stockpile always makes this node
            raise SolverError(f"internal error: no balance row for {site}, {commodity}, {period}")
        # with origin tracing a node has one row per label: the stock enters the one with
        # the lowest right-hand side (the sizing stock is a 1 t sentinel)
        pos = int(hit["rhs"].astype(float).idxmin())
        row = int(self.handle.rows("balance", [pos])[0])
        col = self.h.getNumCol()
        self.h.addCol(0.0, -1.0, _INF, 1, np.array([row], dtype=np.int32), np.array([1.0]))
        self.cost = np.append(self.cost, 0.0)
        return col

    def fix(self, cols, lo: float, hi: float) -> None:
        cols = np.atleast_1d(np.asarray(cols, dtype=np.int32))
        if len(cols):
            n = len(cols)
            self.h.changeColsBounds(n, cols, np.full(n, lo), np.full(n, hi))

    def set_costs(self, costs: dict[int, float]) -> None:
        c = np.zeros(self.h.getNumCol())
        for j, v in costs.items():
            c[j] = v
        self._costs(c)

    def restore_costs(self) -> None:
        self._costs(self.cost)

    def _costs(self, c: np.ndarray) -> None:
        n = len(c)
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(c, dtype=float))

    def hold(self, groups: list[tuple[np.ndarray, float, Any]], tol: float) -> None:
        """Rows: the unmet demand of each group (positions in ``unmet_keys``) at most its total."""
        if not groups:
            return
        starts, idx, ub = [], [], []
        for pos, total, _name in groups:
            starts.append(sum(len(c) for c in idx))
            idx.append(self.unmet_cols[pos])
            ub.append(total + tol + 1e-9 * total)
        ind = np.concatenate(idx).astype(np.int32)
        n = len(groups)
        self.h.addRows(
            n,
            np.full(n, -_INF),
            np.asarray(ub, dtype=float),
            len(ind),
            np.asarray(starts, dtype=np.int32),
            ind,
            np.ones(len(ind)),
        )

    def try_run(self) -> np.ndarray | None:
        """Solve; the column values, or None if infeasible."""
        self.h.run()
        ms = self.h.getModelStatus()
        MS = highspy.HighsModelStatus
        if ms in (MS.kInfeasible, MS.kUnboundedOrInfeasible):
            return None
        if ms != MS.kOptimal:
            raise SolverError(f"HiGHS failed: {self.h.modelStatusToString(ms)}")
        return np.asarray(self.h.getSolution().col_value, dtype=float).copy()

    def run(self, what: str) -> np.ndarray:
        x = self.try_run()
        if x is None:  # pragma: no cover - elastic demand keeps these feasible
            raise InfeasibleError(f"{what} is infeasible; check hard limits in the scenarios")
        return x

    def among_optimal(self, opt: float, weights: np.ndarray) -> np.ndarray | None:
        """Minimise ``weights · x`` keeping the cost at most ``opt`` (+1e-9 relative).

        The cost row is removed and the costs restored afterwards, so the
        instance is left as it was; returns the column values, or None.
        """
        nz = np.flatnonzero(self.cost)
        slack = 1e-9 * max(1.0, abs(opt)) + 1e-7
        row = self.h.getNumRow()
        self.h.addRow(
            -_INF, opt - self.offset + slack, len(nz), nz.astype(np.int32), self.cost[nz].copy()
        )
        self._costs(weights)
        try:
            return self.try_run()
        finally:
            self.h.deleteRows(1, np.array([row], dtype=np.int32))
            self.restore_costs()

    def objective(self) -> float:
        x = np.asarray(self.h.getSolution().col_value, dtype=float)
        return float(np.dot(self.cost[: len(x)], x) + self.offset)

    def unmet(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x[self.unmet_cols], 0.0, None)

    def values(self, name: str, x: np.ndarray) -> pd.DataFrame:
        """Site, commodity (without label), period and value of variable ``name`` in ``x``."""
        if name not in self.cm.var_keys:
            return pd.DataFrame(columns=["site", "commodity", "period", "quantity"])
        keys = self.cm.var_keys[name]
        return pd.DataFrame(
            {
                "site": keys["site"].to_numpy(),
                "commodity": self._base(keys["commodity"]),
                "period": keys["period"].to_numpy(),
                "quantity": self.handle.value(name, x),
            }
        )


def delay_shortages(res: Result, horizon: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Unmet demand and closing inventories of the cost-optimal plan whose shortages come latest.

    Second LP on the same HiGHS instance: total cost at most its optimum
    (plus 1e-9 relative), minimise the sum over unmet demand of
    ``unmet × (periods left until the horizon's end, counting its own)``.
    """
    lp = Stages(res)
    x = np.asarray(lp.h.getSolution().col_value, dtype=float).copy()
    if len(horizon) > 1 and len(lp.unmet_cols):
        left = {p: len(horizon) - k for k, p in enumerate(horizon)}
        w = np.zeros(lp.h.getNumCol())
        w[lp.unmet_cols] = lp.unmet_keys["period"].map(left).to_numpy(dtype=float)
        x2 = lp.among_optimal(float(res.objective), w)
        if x2 is None:  # pragma: no cover - the cost-optimal point is feasible
            log.warning("the later-shortage tie-break failed; keeping the cost-optimal plan")
        else:
            x = x2
    keys = lp.unmet_keys
    unmet = pd.DataFrame(
        {
            "market": keys["market"].to_numpy(),
            "commodity": keys["base"].to_numpy(),
            "period": keys["period"].to_numpy(),
            "unmet": lp.unmet(x),
        }
    )
    inv = lp.values("inventory", x)
    return unmet, grouped(inv, keep_period=True)
