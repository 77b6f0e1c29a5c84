"""Hand the Pyomo model to HiGHS, and map HiGHS columns and rows back to names.

The hand-off assembles the constraint matrix from the coefficient triplets the
builders made the Pyomo rows from (:attr:`ChainModel.row_terms
<optimizer.model.core.ChainModel.row_terms>`) and the objective from
``objective_terms``, and passes it to ``highspy`` in one call.  It gives exactly
what Pyomo's ``LinearStandardFormCompiler`` (mixed form: rows keep their
``<=``/``==``/``>=`` sense) makes of the model — coefficients of one variable in
one row summed in the order of the row's terms, zeros dropped, row indices sorted
within each column — which :func:`pyomo_standard_form` computes and
``tests/lp/test_handoff.py`` compares on every constraint family.  It does not
walk the expressions again, and does not import scipy (Pyomo's scipy hook imports
``scipy.stats``, 1–4 s).  Column and row orders are ours, so values and duals map
straight back onto the labelled keys of :class:`~optimizer.model.core.ChainModel`.

:class:`LpHandle` is the one place that maps HiGHS indices to names, like
linopy's labelled duals: ``handle.value("flow")`` is the solution of every
``flow`` column in key order, ``handle.dual("balance")`` the duals of the
balance rows, ``handle.row_key(i)`` the component and key of row ``i`` and
``label(name, key)`` its readable name (``balance[site,commodity,2024]``).
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pandas as pd
from pyomo.common.gc_manager import PauseGC

from optimizer.errors import SolverError
from optimizer.lp.run import INF, new_highs
from optimizer.model.core import ChainModel

#: Bracket styles of labels: ``report`` for tables and messages, ``export`` for MPS/LP
#: files (some LP readers reject square brackets in names).
STYLES = {"report": ("[", "]"), "export": ("(", ")")}


def label(name: str, key: dict[str, Any] | tuple | list, style: str = "report") -> str:
    """``name[a,b,2024]`` (or ``name(a,b,2024)`` with ``style="export"``)."""
    vals = key.items() if isinstance(key, dict) else enumerate(key)
    inner = ",".join(str(v) for k, v in vals if k not in ("rhs", "sense"))
    lo, hi = STYLES[style]
    return f"{name}{lo}{inner}{hi}"


def labels(name: str, keys: pd.DataFrame, style: str = "report") -> list[str]:
    """:func:`label` of every row of a key frame (vectorised)."""
    cols = [keys[c].astype(str) for c in keys.columns if c not in ("rhs", "sense")]
    lo, hi = STYLES[style]
    if not cols:
        return [f"{name}{lo}{hi}"] * len(keys)
    joined = cols[0]
    for col in cols[1:]:
        joined = joined + "," + col
    return (name + lo + joined + hi).tolist()


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


@dataclass
class LpHandle:
    """The LP as passed to HiGHS, with the maps back to model components."""

    highs: highspy.Highs
    cm: ChainModel
    #: component name -> (first column, last column + 1) in HiGHS column order
    col_slices: dict[str, tuple[int, int]]
    #: component name -> (first row, last row + 1) in HiGHS row order
    row_slices: dict[str, tuple[int, int]]
    num_col: int
    num_row: int
    nnz: int
    handoff_seconds: float

    # -- indices ---------------------------------------------------------------
    def cols(self, name: str, pos: np.ndarray | None = None) -> np.ndarray:
        """HiGHS column indices of variable ``name`` (at positions ``pos`` of its keys)."""
        a, b = self.col_slices.get(name, (0, 0))
        idx = np.arange(a, b, dtype=np.int32)
        return idx if pos is None else idx[np.asarray(pos, dtype=np.int64)]

    def rows(self, name: str, pos: np.ndarray | None = None) -> np.ndarray:
        """HiGHS row indices of constraint ``name`` (at positions ``pos`` of its keys)."""
        a, b = self.row_slices.get(name, (0, 0))
        idx = np.arange(a, b, dtype=np.int32)
        return idx if pos is None else idx[np.asarray(pos, dtype=np.int64)]

    # -- solution ----------------------------------------------------------------
    def value(self, name: str, x: np.ndarray | None = None) -> np.ndarray:
        """Values of variable ``name`` in key order (``x``: a column vector; default the
        current solution).  Empty when the model has no such variable."""
        if x is None:
            x = np.asarray(self.highs.getSolution().col_value)
        a, b = self.col_slices.get(name, (0, 0))
        return np.asarray(x[a:b], dtype=float)

    def dual(self, name: str, y: np.ndarray | None = None) -> np.ndarray:
        """Duals of constraint ``name`` in key order (``y``: a row-dual vector)."""
        if y is None:
            y = np.asarray(self.highs.getSolution().row_dual)
        a, b = self.row_slices.get(name, (0, 0))
        return np.asarray(y[a:b], dtype=float)

    def row_activity(self, name: str, r: np.ndarray | None = None) -> np.ndarray:
        """Row values (left-hand sides) of constraint ``name`` in key order."""
        if r is None:
            r = np.asarray(self.highs.getSolution().row_value)
        a, b = self.row_slices.get(name, (0, 0))
        return np.asarray(r[a:b], dtype=float)

    # -- names -------------------------------------------------------------------
    def row_key(self, i: int) -> tuple[str, dict[str, Any]]:
        """(constraint name, key with ``rhs`` and ``sense``) of HiGHS row ``i``."""
        return self._key(i, self.row_slices, self.cm.con_keys)

    def col_key(self, j: int) -> tuple[str, dict[str, Any]]:
        """(variable name, key) of HiGHS column ``j``."""
        return self._key(j, self.col_slices, self.cm.var_keys)

    @staticmethod
    def _key(i: int, slices: dict[str, tuple[int, int]], keys: dict) -> tuple[str, dict]:
        names = list(slices)
        starts = [slices[n][0] for n in names]
        name = names[bisect.bisect_right(starts, i) - 1]
        row = keys[name].iloc[i - slices[name][0]]
        return name, {k: _plain(v) for k, v in row.items()}

    def column_names(self, style: str = "export") -> list[str]:
        """Readable names of every column in HiGHS order: ``act(proc,recipe,2024)``."""
        return [n for name, keys in self.cm.var_keys.items() for n in labels(name, keys, style)]

    def row_names(self, style: str = "export") -> list[str]:
        """Readable names of every row in HiGHS order: ``balance(site,commodity,2024)``."""
        return [n for name, keys in self.cm.con_keys.items() for n in labels(name, keys, style)]


def _slices(data: dict[str, list]) -> dict[str, tuple[int, int]]:
    out, start = {}, 0
    for name, items in data.items():
        out[name] = (start, start + len(items))
        start += len(items)
    return out


def _matrix(cm: ChainModel, col_slices, row_slices, n: int, m: int):
    """(CSC start, index, value) of the constraint matrix and the dense cost vector."""
    rows, cols, vals = [], [], []
    for name, (r0, _) in row_slices.items():
        for var, pos, rpos, coef in cm.row_terms[name]:
            rows.append(np.asarray(rpos, dtype=np.int64) + r0)
            cols.append(np.asarray(pos, dtype=np.int64) + col_slices[var][0])
            vals.append(np.asarray(coef, dtype=float))
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    val = np.concatenate(vals) if vals else np.zeros(0)
    # column-major, and within a row's entries the order of its terms (stable sort)
    key = col * max(m, 1) + row
    order = np.argsort(key, kind="stable")
    key, row, col, val = key[order], row[order], col[order], val[order]
    first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    if not first.all():  # one variable twice in a row: summed in term order (np.add.at)
        group = np.cumsum(first) - 1
        summed = np.zeros(int(first.sum()))
        np.add.at(summed, group, val)
        row, col, val = row[first], col[first], summed
    nz = val != 0
    row, col, val = row[nz], col[nz], val[nz]
    start = np.searchsorted(col, np.arange(n + 1))
    cost = np.zeros(n)
    for var, pos, coef, _group in cm.objective_terms:
        np.add.at(cost, np.asarray(pos, dtype=np.int64) + col_slices[var][0], coef)
    return start, row, val, cost


@dataclass
class CSC:
    """A column-wise sparse matrix as HiGHS takes it (no scipy on the solve path)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        return len(self.data)

    def to_scipy(self):
        """The same matrix as ``scipy.sparse.csc_matrix`` (imports scipy)."""
        import scipy.sparse as sp

        return sp.csc_matrix((self.data, self.indices, self.indptr), shape=self.shape)


@dataclass
class StandardForm:
    """The LP of a model as arrays, in the model's column and row order:
    min ``c @ x + offset`` s.t. ``row_lower <= A @ x <= row_upper``, ``col_lower <= x <=
    col_upper`` (``A`` column-wise: :class:`CSC`, or any scipy sparse matrix).  What
    :func:`to_highs` passes to HiGHS, and what :mod:`optimizer.analysis.plan` stacks into
    an extensive form."""

    c: np.ndarray
    offset: float
    A: Any
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    #: component name -> (first column, last column + 1)
    col_slices: dict[str, tuple[int, int]]
    #: component name -> (first row, last row + 1)
    row_slices: dict[str, tuple[int, int]]


def standard_form(cm: ChainModel) -> StandardForm:
    """The model's LP from its triplets (module docstring): exactly what Pyomo's
    standard-form compiler makes of it (:func:`pyomo_standard_form`), without scipy."""
    col_slices = _slices(cm.var_data)
    row_slices = _slices(cm.con_data)
    n = sum(len(v) for v in cm.var_data.values())
    m = sum(len(c) for c in cm.con_data.values())
    with PauseGC():
        start, index, value, c = _matrix(cm, col_slices, row_slices, n, m)
    row_nnz = np.bincount(index, minlength=m)
    used = (np.diff(start) > 0) | (c != 0)
    if (row_nnz == 0).any() or not used.all():
        # An empty row, or a variable in no row and not in the objective: Pyomo's
        # standard-form compiler drops them; our builders never create one, so this is a
        # programming error.
        raise SolverError(
            f"internal error: the LP has {int((row_nnz == 0).sum())} empty rows and "
            f"{int((~used).sum())} unused columns (of {m} / {n})"
        )
    lb = np.zeros(n)
    ub = np.full(n, INF)
    for name, (a, b) in col_slices.items():
        if cm.var_ub.get(name) is not None:
            ub[a:b] = cm.var_ub[name]
        if cm.var_lb.get(name) is not None:
            lb[a:b] = cm.var_lb[name]
    sense = np.concatenate(
        [np.asarray(k["sense"].map(_SENSE), dtype=np.int64) for k in cm.con_keys.values()]
        or [np.zeros(0, dtype=np.int64)]
    )
    rhs = np.concatenate(
        [k["rhs"].to_numpy(dtype=float) for k in cm.con_keys.values()] or [np.zeros(0)]
    )
    return StandardForm(
        c=c,
        offset=0.0,
        A=CSC(start, index, value, (m, n)),
        col_lower=lb,
        col_upper=ub,
        row_lower=np.where(sense <= 0, rhs, -INF),  # -1: >=, 0: ==
        row_upper=np.where(sense >= 0, rhs, INF),  # +1: <=, 0: ==
        col_slices=col_slices,
        row_slices=row_slices,
    )


def highs_lp(sf: StandardForm) -> highspy.HighsLp:
    """A :class:`highspy.HighsLp` of a standard form (one copy of each array)."""
    lp = highspy.HighsLp()
    lp.num_col_ = len(sf.c)
    lp.num_row_ = len(sf.row_lower)
    lp.col_cost_ = sf.c
    lp.offset_ = sf.offset
    lp.col_lower_ = sf.col_lower
    lp.col_upper_ = sf.col_upper
    lp.row_lower_ = sf.row_lower
    lp.row_upper_ = sf.row_upper
    A = sf.A if isinstance(sf.A, CSC) else sf.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.asarray(A.indptr).astype(np.int32)
    lp.a_matrix_.index_ = np.asarray(A.indices).astype(np.int32)
    lp.a_matrix_.value_ = np.asarray(A.data, dtype=float)
    return lp


def to_highs(cm: ChainModel, names: bool = False) -> LpHandle:
    """Assemble the LP from the model's triplets and pass it to a new HiGHS instance."""
    t0 = time.perf_counter()
    sf = standard_form(cm)
    lp = highs_lp(sf)
    n, m = len(sf.c), len(sf.row_lower)
    handle = LpHandle(None, cm, sf.col_slices, sf.row_slices, n, m, sf.A.nnz, 0.0)  # type: ignore[arg-type]
    if names:
        lp.col_names_ = handle.column_names("export")
        lp.row_names_ = handle.row_names("export")
    h = new_highs()
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:  # pragma: no cover - defensive
        raise SolverError("HiGHS rejected the model")
    handle.highs = h
    handle.handoff_seconds = time.perf_counter() - t0
    return handle


#: Row sense of a constraint as the standard-form compiler's mixed form writes it.
_SENSE = {"<=": 1, "==": 0, ">=": -1}


def pyomo_standard_form(cm: ChainModel):
    """Pyomo's ``LinearStandardFormCompiler`` output for ``cm`` (mixed form, our column
    and row order): the reference the hand-off's matrix equals (tests; imports scipy)."""
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    col_order = [v for name in cm.var_data for v in cm.var_data[name]]
    row_order = [c for name in cm.con_data for c in cm.con_data[name]]
    with PauseGC():
        return LinearStandardFormCompiler().write(
            cm.m, mixed_form=True, set_sense=None, column_order=col_order, row_order=row_order
        )
