"""Loading an instance folder into a validated :class:`Instance`."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from optimizer import checks, extends, structure
from optimizer.errors import InputError, Problem
from optimizer.manifest import Manifest
from optimizer.schema import TABLES
from optimizer.tables import coerce_table, read_table
from optimizer.yamlio import load_yaml, validate_yaml_model

if TYPE_CHECKING:
    from optimizer.results import Result

log = logging.getLogger(__name__)


@dataclass
class Instance:
    """A validated instance: the manifest plus typed tables.

    Tables are pandas DataFrames with the columns of :mod:`optimizer.schema`
    (numbers as floats, blanks as NaN or ""), plus ``_line``, each row's line
    in its CSV file (and, in an instance that ``extends`` another, ``_file``,
    that file relative to the instance's folder: :mod:`optimizer.extends`).
    """

    path: Path
    manifest: Manifest
    tables: dict[str, pd.DataFrame]
    scenarios: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: policies from scenarios: (policy id, validated policy model)
    policies: list[tuple[str, Any]] = field(default_factory=list)
    #: origin tags traced through the chain (:mod:`optimizer.tracing`); empty: no tracing
    origins: list[Any] = field(default_factory=list)

    # -- convenient access -------------------------------------------------
    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        if name in TABLES:  # optional table not given
            return pd.DataFrame(columns=[c.name for c in TABLES[name].columns])
        raise AttributeError(name)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def periods(self) -> list[int]:
        return list(self.manifest.periods)

    def commodities_of(self, name: str) -> list[str]:
        """Commodity ids named by an id, a group or ``*``."""
        return checks.expand_group(self.manifest, name, list(self.tables["commodities"]["id"]))

    def region_members(self, name: str) -> set[str]:
        """Countries in a region (recursively), or ``{name}`` for a country."""
        regions = self.manifest.regions
        out: set[str] = set()
        stack = [name]
        while stack:
            x = stack.pop()
            if x in regions:
                stack.extend(regions[x])
            else:
                out.add(x)
        return out

    def with_scenario(self, *refs: str) -> Instance:
        """A copy with scenarios applied in order (ids from ``scenarios/`` or YAML paths).

        The original instance is left unchanged.
        """
        from optimizer.scenario import apply_scenarios

        out = apply_scenarios(self, list(refs))
        out.warnings = structure.check(out)
        return out

    # -- solving -----------------------------------------------------------
    def solve(self, **options: Any) -> Result:
        """Build the LP, solve it with HiGHS and return a :class:`~optimizer.results.Result`.

        Options are those of :func:`optimizer.solve.solve` (``method``,
        ``time_limit``, ``export_model``, ...).
        """
        from optimizer.solve import solve

        return solve(self, **options)

    def summary(self) -> dict[str, Any]:
        """Counts used by ``rechain validate`` (sites by stage and country, demand)."""
        s = self.tables["sites"]
        d = self.tables["demand"]
        return {
            "name": self.manifest.name,
            "title": self.manifest.title,
            "periods": self.periods,
            "commodities": len(self.tables["commodities"]),
            "sites": len(s),
            "sites_by_stage": s.groupby("stage").size().to_dict(),
            "sites_by_country": s.groupby("country").size().sort_values(ascending=False).to_dict(),
            "processes": self.tables["processes"]["id"].nunique(),
            "recipes": self.tables["recipes"]["recipe"].nunique(),
            "links": len(self.tables["links"]),
            "demand_total": float(d["quantity"].sum()),
            "demand_by_commodity": d.groupby("commodity")["quantity"].sum().to_dict(),
            "sources": len(self.tables["sources"]),
        }


def _cross_checks(
    manifest: Manifest, raw: dict[str, pd.DataFrame], problems: list[Problem]
) -> None:
    """Cross-table checks (references, sources) of a loaded manifest and its tables."""
    checks.check_manifest(manifest, set(raw["commodities"]["id"]), problems)
    checks.check_references(manifest, raw, problems)
    checks.check_sources(raw, problems)


def load(
    path: str | Path, scenarios: list[str] | None = None, *, structure_checks: bool = True
) -> Instance:
    """Load and validate the instance folder at ``path``.

    Raises :class:`~optimizer.errors.InputError` listing *every* problem found
    (file, line, column, message).  Structural findings that are not errors
    (demand no mine can reach, dead-end sites) are in ``Instance.warnings``.
    """
    folder = Path(path)
    if not folder.exists():
        raise InputError(Problem(str(folder), None, None, "instance folder not found"))
    if not folder.is_dir():
        raise InputError(
            Problem(
                str(folder),
                None,
                None,
                "not a folder (an instance is a folder with instance.yaml and CSV tables)",
            )
        )
    problems: list[Problem] = []
    manifest: Manifest | None = None
    base, prefix, extending = None, "", False  # ``extends:`` a base instance (optimizer/extends.py)
    try:
        data = load_yaml(folder / "instance.yaml", "instance.yaml")
        if not isinstance(data, dict):
            raise InputError(
                Problem(
                    "instance.yaml", None, None, "expected a mapping of keys (name, periods, ...)"
                )
            )
        extending = data.get("extends") is not None
        if extending:
            base, prefix = extends.load_base(folder, data)
            data = extends.merge_manifest(base, data)
        manifest = validate_yaml_model(Manifest, data, "instance.yaml")  # type: ignore[assignment]
    except InputError as e:
        problems.extend(e.problems)

    raw: dict[str, pd.DataFrame] = {}
    for name, table in TABLES.items():
        df = read_table(folder, extends.optional(table) if extending else table, problems)
        if df is not None:
            raw[name] = coerce_table(df, table, problems)
    if base is not None:
        raw = extends.merge_tables(base, prefix, raw)
    required_missing = [n for n, t in TABLES.items() if t.required and n not in raw]
    if manifest is not None and not required_missing:
        if base is not None:
            extends.located_checks(lambda t, pr: _cross_checks(manifest, t, pr), raw, problems)
        else:
            _cross_checks(manifest, raw, problems)
    if problems:
        raise InputError(problems)
    assert manifest is not None
    inst = Instance(folder, manifest, raw)
    if scenarios:
        from optimizer.scenario import apply_scenarios

        inst = apply_scenarios(inst, scenarios)
    if structure_checks:
        inst.warnings.extend(structure.check(inst))
    return inst
