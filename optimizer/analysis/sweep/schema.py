"""The sweep file format (pydantic models) and what a checked file becomes (:class:`Spec`).

The models read the YAML; :mod:`optimizer.analysis.sweep.spec` checks them
against an instance and builds the :class:`Spec`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from optimizer.scenarios.schema import Change

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")
NONE_LABELS = {"none", "baseline"}
DISTRIBUTIONS = ("uniform", "triangular", "normal", "choice")


# -- the file format ---------------------------------------------------------


class SweepFile(BaseModel):
    """Top level of a sweep YAML file (axes and uncertain entries are checked one by one)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    id: str = Field(min_length=1)
    title: str = ""
    description: str = ""
    base: list[str] = Field(default_factory=list)
    grid: dict[str, Any] = Field(default_factory=dict)
    samples: int = Field(0, ge=0, le=1_000_000)
    seed: int = Field(0, ge=0)
    uncertain: list[Any] = Field(default_factory=list)


class ColumnAxis(BaseModel):
    """A grid axis over values of one table column: ``{table, where, column, set|scale: [...]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    table: str
    where: dict[str, Any] = Field(default_factory=dict)
    column: str
    set: list[float] | None = Field(None, min_length=1)
    scale: list[float] | None = Field(None, min_length=1)


class Normal(BaseModel):
    """``normal: {mean, sd, clip: [lo, hi]}`` (either clip bound may be null)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    mean: float
    sd: float
    clip: tuple[float | None, float | None] | None = None


class Dist(BaseModel):
    """One distribution: exactly one of its keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    uniform: tuple[float, float] | None = None
    triangular: tuple[float, float, float] | None = None
    normal: Normal | None = None
    choice: list[float] | None = Field(None, min_length=1)

    @property
    def kind(self) -> str | None:
        given = [k for k in DISTRIBUTIONS if getattr(self, k) is not None]
        return given[0] if len(given) == 1 else None

    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        if self.uniform is not None:
            return self.uniform[0], self.uniform[1]
        if self.triangular is not None:
            return self.triangular[0], self.triangular[2]
        if self.normal is not None:
            lo, hi = self.normal.clip or (None, None)
            if self.normal.sd == 0:
                v = self.normal.mean
                return (max(v, lo) if lo is not None else v, min(v, hi) if hi is not None else v)
            return (-math.inf if lo is None else lo, math.inf if hi is None else hi)
        assert self.choice is not None
        return min(self.choice), max(self.choice)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws from ``rng`` (the first k of n draws equal k draws: samples extend)."""
        if self.uniform is not None:
            return rng.uniform(self.uniform[0], self.uniform[1], n)
        if self.triangular is not None:
            return rng.triangular(*self.triangular, n)
        if self.normal is not None:
            x = rng.normal(self.normal.mean, self.normal.sd, n)
            lo, hi = self.normal.clip or (None, None)
            return np.clip(x, -np.inf if lo is None else lo, np.inf if hi is None else hi)
        assert self.choice is not None
        return np.asarray(self.choice, dtype=float)[rng.integers(0, len(self.choice), n)]


class Uncertain(BaseModel):
    """One uncertain value: ``{name, table, where, column, scale|set: distribution}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    name: str | None = None
    table: str
    where: dict[str, Any] = Field(default_factory=dict)
    column: str
    set: Dist | None = None
    scale: Dist | None = None


# -- what a checked file becomes ---------------------------------------------


@dataclass(frozen=True)
class Target:
    """A column of the rows a ``where`` picks, and how a value acts on it."""

    table: str
    where: dict[str, Any]
    column: str
    kind: str  # "set" | "scale"

    def change(self, value: float) -> Change:
        return Change(table=self.table, where=self.where, **{self.kind: {self.column: value}})


@dataclass
class Axis:
    """One grid axis: scenario stacks, or values of one column."""

    name: str
    labels: list[str]
    #: scenario axis: refs per value (resolved paths or ids); column axis: None
    stacks: list[list[str]] | None = None
    target: Target | None = None
    values: list[float] | None = None


@dataclass
class Spec:
    """A validated sweep: what to run (built by :func:`~optimizer.analysis.sweep.spec.parse_spec`)."""

    id: str
    title: str
    label: str
    base: list[str]
    axes: list[Axis]
    samples: int
    seed: int
    uncertain: list[tuple[str, Target, Dist]]
    raw: Any = field(repr=False, default=None)
