"""The cases of a sweep: grid combinations × Monte Carlo draws, and their column changes.

All draws are made up front from the spec's ``seed`` (:func:`draw_samples`), so
the cases, and hence the results, do not depend on how they are run.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optimizer.analysis.sweep.schema import Spec
from optimizer.data.instance import Instance
from optimizer.errors import InputError, Problem
from optimizer.scenarios.apply import apply_change
from optimizer.scenarios.schema import Change


@dataclass(frozen=True)
class Case:
    """One solve: a scenario stack plus column changes."""

    case: str
    combo: int
    sample: int
    stack: tuple[str, ...]
    labels: dict[str, Any]
    values: dict[str, float]
    changes: tuple[Change, ...]


def draw_samples(spec: Spec) -> pd.DataFrame:
    """The ``samples`` draws of every uncertain value (rows = samples 1..N).

    Each uncertain entry has its own random stream
    (``SeedSequence(seed).spawn``), so adding an entry does not change the
    draws of the others, and the first k of N samples equal a k-sample run.
    """
    streams = np.random.SeedSequence(spec.seed).spawn(len(spec.uncertain))
    data = {
        name: dist.draw(np.random.default_rng(ss), spec.samples)
        for (name, _, dist), ss in zip(spec.uncertain, streams, strict=True)
    }
    return pd.DataFrame(data, index=pd.RangeIndex(1, spec.samples + 1, name="sample"))


def build_cases(spec: Spec) -> list[Case]:
    """Grid combinations (first axis slowest) × samples; with samples, the nominal baseline first."""
    combos = list(itertools.product(*[range(len(a.labels)) for a in spec.axes]))
    draws = draw_samples(spec) if spec.samples else None
    cases: list[Case] = []
    for k, idx in enumerate(combos, start=1):
        labels: dict[str, Any] = {}
        stack = list(spec.base)
        changes: list[Change] = []
        for a, j in zip(spec.axes, idx, strict=True):
            if a.stacks is not None:
                stack.extend(a.stacks[j])
                labels[a.name] = a.labels[j]
            else:
                assert a.target is not None and a.values is not None
                changes.append(a.target.change(a.values[j]))
                labels[a.name] = a.values[j]
        if draws is None:
            cases.append(Case(f"c{k}", k, 0, tuple(stack), labels, {}, tuple(changes)))
            continue
        if k == 1:  # the baseline: first combination at nominal values
            nominal = {name: math.nan for name, _, _ in spec.uncertain}
            cases.append(Case("c1-s0", 1, 0, tuple(stack), labels, nominal, tuple(changes)))
        for s, row in draws.iterrows():
            vals = {name: float(row[name]) for name, _, _ in spec.uncertain}
            extra = tuple(t.change(vals[name]) for name, t, _ in spec.uncertain)
            cases.append(
                Case(f"c{k}-s{s}", k, int(s), tuple(stack), labels, vals, (*changes, *extra))  # type: ignore[arg-type]
            )
    return cases


def copy_tables(inst: Instance, names: set[str]) -> Instance:
    """A shallow copy of ``inst`` whose tables ``names`` are copies (safe to change)."""
    out = copy.copy(inst)
    out.tables = dict(inst.tables)
    for n in names:
        if n in out.tables:
            out.tables[n] = out.tables[n].copy()
    return out


def apply_changes(inst: Instance, changes: Sequence[Change]) -> Instance:
    """A copy of ``inst`` with the column changes applied in order (scenario semantics)."""
    if not changes:
        return inst
    out = copy_tables(inst, {c.table for c in changes})
    problems: list[Problem] = []
    for ch in changes:
        apply_change(out, ch, None, (), "<sweep>", problems)
    if problems:
        raise InputError(problems)
    return out
