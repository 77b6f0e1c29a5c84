"""The convenience layer: ``load()``, ``Instance.solve()``/``with_scenario()``/``criticality()``
and ``Result.compare()``/``sankey()``/``mincut``, as docs/design.md §5 sketches them.

Everything here calls the layers below (:mod:`optimizer.scenarios`,
:mod:`optimizer.solve`, :mod:`optimizer.analysis`, :mod:`optimizer.report`); the
plain data classes stay free of them.

>>> from optimizer import load
>>> net = load("instances/tiny")
>>> res = net.solve()
>>> cut = net.with_scenario("south-mine-halved").solve()
>>> cut.compare(res).shortages  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.data import instance as data
from optimizer.results import result as results


class Result(results.Result):
    """A :class:`optimizer.results.result.Result` with the analyses of the layers above."""

    @classmethod
    def of(cls, res: results.Result) -> Result:
        """The same result, with the convenience methods."""
        if isinstance(res, cls):
            return res
        out = cls.__new__(cls)
        out.__dict__.update(res.__dict__)
        return out

    @property
    def mincut(self) -> pd.DataFrame | None:  # type: ignore[override]
        """Structural min-cut per demand (``mincut.csv``), computed on first use (about
        0.5 s on world-2024), so solves that never look at it do not pay for it."""
        cut = self.__dict__.get("_mincut")
        if cut is None:
            from optimizer.analysis.mincut import mincut

            inst = (self.extra or {}).get("instance")
            cut = mincut(inst, self.shortages) if inst is not None else None
            self.__dict__["_mincut"] = cut
        return cut

    @mincut.setter
    def mincut(self, value: pd.DataFrame | None) -> None:
        self.__dict__["_mincut"] = value

    def sankey(self, instance: data.Instance | None = None):
        """Plotly Sankey of the flows through the stages (the report's figure)."""
        from optimizer.report import sankey

        return sankey(self, instance)


class Instance(data.Instance):
    """A validated :class:`optimizer.data.instance.Instance` that can solve itself."""

    @classmethod
    def of(cls, inst: data.Instance) -> Instance:
        if isinstance(inst, cls):
            return inst
        return cls(**{f.name: getattr(inst, f.name) for f in dataclasses.fields(inst)})

    def with_horizon(self, horizon: str | None) -> Instance:  # type: ignore[override]
        """A copy solved with the ``short`` or ``long`` horizon (docs/horizon.md)."""
        return Instance.of(super().with_horizon(horizon))

    def with_scenario(self, *refs: str) -> Instance:
        """A copy with scenarios applied in order (ids from ``scenarios/`` or YAML paths).

        The original instance is left unchanged; structure warnings are recomputed.
        """
        from optimizer.analysis import structure
        from optimizer.scenarios.apply import apply_scenarios

        out = Instance.of(apply_scenarios(self, list(refs)))
        out.warnings = structure.check(out)
        return out

    def solve(self, **options: Any) -> Result:
        """Build the LP, solve it with HiGHS and return a :class:`Result`.

        Options are those of :func:`optimizer.solve.solve` (``method``,
        ``time_limit``, ``export``).  A monthly instance with policies decides month by
        month (:func:`optimizer.analysis.rolling.rolling_solve`; ``with_decisions``).
        """
        from optimizer.analysis import rolling

        if rolling.applies(self):
            if options.get("export") is not None:
                from optimizer.errors import InputError, Problem

                raise InputError(
                    Problem(
                        "--export-model",
                        None,
                        None,
                        "a monthly instance with policies is solved as a sequence of plans "
                        "(docs/horizon.md), not one LP: export the undisrupted instance "
                        "(no scenario) instead",
                    )
                )
            opts = {k: v for k, v in options.items() if k != "export"}
            return Result.of(rolling.rolling_solve(self, **(self.decisions_set or {}), **opts))
        from optimizer.solve import solve

        return Result.of(solve(self, **options))

    def criticality(self, by: str = "site", k: int = 1, **options: Any) -> pd.DataFrame:
        """N-1 (or N-2) chokepoint ranking (:func:`optimizer.analysis.criticality.criticality`)."""
        from optimizer.analysis.criticality import criticality

        return criticality(self, by=by, k=k, **options)[0]


def load(
    path: str | Path,
    scenarios: list[str] | None = None,
    *,
    base: list[str] | None = None,
    horizon: str | None = None,
    decisions: str | None = None,
    start: Any = None,
    lookahead: int | None = None,
    structure_checks: bool = True,
) -> Instance:
    """Load and validate the instance folder at ``path``, with ``scenarios`` applied in order.

    ``base`` scenarios are applied first and belong to the reference world the short run
    stays near; ``horizon`` (``short``/``long``) overrides the scenarios' and the
    instance's (docs/horizon.md); ``decisions``, ``start`` and ``lookahead`` say how a
    monthly instance with policies decides (:mod:`optimizer.analysis.rolling`).  Raises :class:`~optimizer.errors.InputError` listing
    *every* problem found (file, line, column, message).  Structural findings that are
    not errors (demand no mine can reach, dead-end sites) are in ``Instance.warnings``.
    """
    from optimizer.scenarios.apply import load as load_scenarios

    inst = Instance.of(
        load_scenarios(path, scenarios, base=base)
        .with_horizon(horizon)
        .with_decisions(decisions, start, lookahead)
    )
    if structure_checks:
        from optimizer.analysis import structure

        inst.warnings.extend(structure.check(inst))
    return inst
