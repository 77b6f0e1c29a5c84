"""The model container and the two helpers every constraint family uses.

Variables and constraints are Pyomo components indexed by the instance's own
keys (``act[process, recipe, period]``, ``balance[site, commodity, period]``),
so duals and values come back as labelled tables (see
:class:`ChainModel.var_keys` / :class:`ChainModel.con_keys`).

Constraint bodies are assembled from coefficient triplets (row, variable,
coefficient) computed with pandas; Pyomo only sees one ``sum()`` per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from optimizer.model.sets import IndexSets


@dataclass
class ChainModel:
    """A built Pyomo model plus the labelled keys of its variables and rows."""

    m: pyo.ConcreteModel
    sets: IndexSets
    #: variable component name -> DataFrame of its index columns, in column order
    var_keys: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: variable component name -> list of VarData, aligned with var_keys
    var_data: dict[str, list] = field(default_factory=dict)
    #: variable component name -> upper bounds (None: unbounded above)
    var_ub: dict[str, np.ndarray | None] = field(default_factory=dict)
    #: variable component name -> lower bounds (None: zero)
    var_lb: dict[str, np.ndarray | None] = field(default_factory=dict)
    #: constraint component name -> DataFrame of its index columns (+ rhs, sense)
    con_keys: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: constraint component name -> list of ConstraintData, aligned with con_keys
    con_data: dict[str, list] = field(default_factory=dict)
    #: one row per ``flow`` variable, in its order: link, from_site, to_site, commodity,
    #: cost, period (set by :func:`optimizer.model.transport.add_flows`)
    flow_terms: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: recipe coefficients per activity variable and period: id, recipe, site, commodity,
    #: coef, period and ``var`` (position of the ``act`` variable; set by
    #: :func:`optimizer.model.processes.add_activity`)
    act_terms: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: plug-in families (policies) that added to this model, with the state each keeps
    #: for its hooks after the solve: (family, state)
    plugins: list[tuple[Any, Any]] = field(default_factory=list)
    #: flows a policy restricts (one bool per ``flow`` variable; None: none), so that the
    #: short-run contracts leave them out (:mod:`optimizer.model.shortrun`)
    restricted_flows: np.ndarray | None = None
    #: rows of the commodity balance (site, commodity, period), fixed before families add terms
    balance_index: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: objective terms: (variable name, positions, coefficients, cost group for reports)
    objective_terms: list[tuple[str, np.ndarray, np.ndarray, str]] = field(default_factory=list)
    #: names of the constraint components added by policies (reported in policies.csv)
    policy_rows: list[str] = field(default_factory=list)
    #: balance terms: (variable name, positions, row positions, coefficients)
    balance_terms: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=list
    )
    #: constraint component name -> the (variable name, positions, row positions,
    #: coefficients) triplets its rows were built from (the hand-off's matrix)
    row_terms: dict[str, list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]] = field(
        default_factory=dict
    )

    def add_cost(self, name: str, pos: np.ndarray, coef: np.ndarray, group: str) -> None:
        """Add ``sum(coef * var[pos])`` to the objective, reported under ``group``."""
        coef = np.asarray(coef, dtype=float)
        nz = np.flatnonzero(coef != 0)
        self.objective_terms.append((name, np.asarray(pos)[nz], coef[nz], group))

    def add_var(
        self,
        name: str,
        keys: pd.DataFrame,
        ub: np.ndarray | None = None,
        doc: str = "",
        lb: np.ndarray | None = None,
    ) -> list:
        """Add a non-negative variable indexed by the rows of ``keys`` (column order = row order)."""
        keys = keys.reset_index(drop=True)
        index = tuples(keys)
        var = pyo.Var(index, domain=pyo.NonNegativeReals, dense=True, doc=doc)
        self.m.add_component(name, var)
        data = list(var.values())
        if ub is not None:
            for v, u in zip(data, ub.tolist(), strict=True):
                v.setub(u)
        if lb is not None:
            for v, u in zip(data, lb.tolist(), strict=True):
                v.setlb(u)
        self.var_keys[name] = keys
        self.var_data[name] = data
        self.var_ub[name] = None if ub is None else np.asarray(ub, dtype=float)
        self.var_lb[name] = None if lb is None else np.asarray(lb, dtype=float)
        return data

    def add_rows(
        self,
        name: str,
        keys: pd.DataFrame,
        terms: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
        sense: str,
        rhs: np.ndarray,
        doc: str = "",
    ) -> None:
        """Add one constraint per row of ``keys``: ``sum(coef * var) <sense> rhs``.

        ``terms`` are (variable name, variable positions, row positions,
        coefficients) triplets, e.g. from several families for the balance.
        """
        keys = keys.reset_index(drop=True)
        n = len(keys)
        rows = np.concatenate([t[2] for t in terms]) if terms else np.zeros(0, dtype=np.int64)
        coefs = np.concatenate([t[3] for t in terms]) if terms else np.zeros(0)
        vars_ = (
            np.concatenate([np.asarray(self.var_data[t[0]], dtype=object)[t[1]] for t in terms])
            if terms
            else np.zeros(0, dtype=object)
        )
        order = np.argsort(rows, kind="stable")
        rows, coefs, vars_ = rows[order], coefs[order], vars_[order]
        bounds = np.searchsorted(rows, np.arange(n + 1))
        coefs_l = coefs.tolist()
        vars_l = vars_.tolist()
        rhs_l = np.asarray(rhs, dtype=float).tolist()
        index = tuples(keys)
        pos = {k: i for i, k in enumerate(index)}

        bounds_l = bounds.tolist()

        def body(i: int):
            lo, hi = bounds_l[i], bounds_l[i + 1]
            return linear(coefs_l[lo:hi], vars_l[lo:hi])

        if sense == "==":

            def rule(m, *k):
                i = pos[k]
                return body(i) == rhs_l[i]
        elif sense == "<=":

            def rule(m, *k):
                i = pos[k]
                return body(i) <= rhs_l[i]
        elif sense == ">=":

            def rule(m, *k):
                i = pos[k]
                return body(i) >= rhs_l[i]
        else:  # pragma: no cover - programming error
            raise ValueError(sense)
        con = pyo.Constraint(index, rule=rule, doc=doc)
        self.m.add_component(name, con)
        k2 = keys.copy()
        k2["rhs"] = rhs_l
        k2["sense"] = sense
        self.con_keys[name] = k2
        self.con_data[name] = list(con.values())
        self.row_terms[name] = list(terms)


def tuples(keys: pd.DataFrame) -> list[tuple]:
    """Rows of ``keys`` as tuples of plain Python objects (fast even for pandas string columns)."""
    cols = [
        keys[c].to_numpy(dtype=object)
        if keys[c].dtype.kind not in "iu"
        else keys[c].to_numpy().tolist()
        for c in keys.columns
    ]
    cols = [c.tolist() if isinstance(c, np.ndarray) else c for c in cols]
    return list(zip(*cols, strict=True)) if cols else []


def linear(coefs: list[float], vars_: list) -> LinearExpression:
    """``sum(c * v)`` built directly as one Pyomo LinearExpression of monomials.

    Measured 1.5x faster to build than Python's ``sum()`` over the terms (which
    grows the expression one term at a time) and faster for the standard-form
    compiler to walk; a coefficient of 1 is passed as the bare variable (6x cheaper
    again).  docs/design.md §10 measured the opposite for ``LinearExpression(args=...)``
    of (coef, var) pairs; docs/architecture.md has the numbers.
    """
    return LinearExpression(
        [
            v if c == 1.0 else MonomialTermExpression((c, v))
            for c, v in zip(coefs, vars_, strict=True)
        ]
    )


def by_period(keys: pd.DataFrame, periods: list[int]) -> pd.DataFrame:
    """Cross ``keys`` with the periods (period becomes the last key column)."""
    return keys.merge(pd.DataFrame({"period": periods}), how="cross")


def positions(keys: pd.DataFrame, lookup: pd.DataFrame, on: list[str]) -> np.ndarray:
    """Row positions in ``lookup`` of each row of ``keys`` (all must exist)."""
    lk = lookup[on].reset_index(drop=True)
    lk["_pos"] = np.arange(len(lk))
    merged = keys[on].merge(lk, on=on, how="left", validate="many_to_one")
    if merged["_pos"].isna().any():  # pragma: no cover - programming error
        raise KeyError(f"missing rows when matching on {on}")
    return merged["_pos"].to_numpy(dtype=np.int64)
