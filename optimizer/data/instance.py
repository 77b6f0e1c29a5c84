"""An instance as plain data (:class:`Instance`) and :func:`read`, which loads and validates one.

Scenarios are applied by :mod:`optimizer.scenarios`; solving is :mod:`optimizer.solve`;
the convenience methods ``Instance.solve()`` and ``with_scenario()`` live in
:mod:`optimizer.api`.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.data import checks, extends, periods
from optimizer.data.manifest import Manifest
from optimizer.data.schema import TABLES
from optimizer.data.tables import coerce_table, read_table
from optimizer.data.yamlio import load_yaml, validate_yaml_model
from optimizer.errors import InputError, Problem, Problems

log = logging.getLogger(__name__)


@dataclass
class Instance:
    """A validated instance: the manifest plus typed tables.

    Tables are pandas DataFrames with the columns of :mod:`optimizer.data.schema`
    (numbers as floats, blanks as NaN or ""), plus ``_line``, each row's line
    in its CSV file (and, in an instance that ``extends`` another, ``_file``,
    that file relative to the instance's folder: :mod:`optimizer.data.extends`).
    """

    path: Path
    manifest: Manifest
    tables: dict[str, pd.DataFrame]
    scenarios: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: policies from scenarios: (policy id, validated policy model)
    policies: list[tuple[str, Any]] = field(default_factory=list)
    #: origin tags traced through the chain (:mod:`optimizer.model.tracing`); empty: no tracing
    origins: list[Any] = field(default_factory=list)
    #: adjustment horizon set by a scenario or by the caller (None: ``defaults.horizon``)
    horizon_set: str | None = None
    #: the undisrupted instance the short run stays near (None: this instance itself):
    #: the instance before the scenarios of this run were applied (docs/horizon.md)
    reference: Instance | None = field(default=None, repr=False)
    #: tonnes landing from shipments made before the first period (site, commodity,
    #: period, quantity), set by rolling decisions (None: steady state, docs/horizon.md)
    arrivals: pd.DataFrame | None = field(default=None, repr=False)
    #: flows already shipped before the first period (the flows table of a result), set by
    #: rolling decisions: an export control with ``cumulative_since`` counts them
    shipped: pd.DataFrame | None = field(default=None, repr=False)
    #: per-month premium of serving demand now over later, set by rolling plans
    #: (:mod:`optimizer.analysis.rolling`): 0 for every ordinary solve
    urgency: float = 0.0
    #: how a monthly instance with policies decides (docs/horizon.md): decisions
    #: (myopic/foresight), start (a month) and lookahead set by the caller; None: defaults
    decisions_set: dict[str, Any] | None = None
    #: demand.csv as read, before a monthly instance spreads a year's rows over its
    #: months (what ``rechain export-xlsx`` writes back: exact numbers)
    demand_as_given: pd.DataFrame | None = field(default=None, repr=False)
    #: every file the instance was read from, in reading order (a base instance's
    #: first): what :mod:`optimizer.results.provenance` hashes
    input_files: list[Path] = field(default_factory=list)
    #: the scenario files applied, in order
    scenario_files: list[Path] = field(default_factory=list)

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

    @property
    def horizon(self) -> str:
        """``short`` or ``long``: set by a scenario or the caller, else ``defaults.horizon``."""
        return self.horizon_set or self.manifest.defaults.horizon

    def with_horizon(self, horizon: str | None) -> Instance:
        """A shallow copy with the horizon set (``None``: unchanged)."""
        if horizon is None:
            return self
        if horizon not in ("short", "long"):
            raise InputError(Problem("--horizon", None, None, f"{horizon!r}: choose short or long"))
        out = copy.copy(self)
        out.horizon_set = horizon
        return out

    def with_decisions(
        self, decisions: str | None = None, start: Any = None, lookahead: int | None = None
    ) -> Instance:
        """A shallow copy that decides ``myopic``/``foresight`` from ``start`` with
        ``lookahead`` months (monthly instances with policies; ``None``: the defaults)."""
        if decisions is None and start is None and lookahead is None:
            return self
        out = copy.copy(self)
        out.decisions_set = {"decisions": decisions, "start": start, "lookahead": lookahead}
        return out

    def commodities_of(self, name: str) -> list[str]:
        """Commodity ids named by an id, a group or ``*``."""
        return checks.expand_group(self.manifest, name, list(self.tables["commodities"]["id"]))

    def commodity_set(self, spec: str | list[str]) -> set[str]:
        """Commodity ids named by ``all``, an id, a group, or a list of them."""
        if spec == "all":
            return set(self.tables["commodities"]["id"])
        out: set[str] = set()
        for n in [spec] if isinstance(spec, str) else spec:
            out |= set(self.commodities_of(n))
        return out

    def region_members(self, name: str) -> set[str]:
        """Countries in a region (recursively; a region met twice is expanded once), or
        ``{name}`` for a country."""
        regions = self.manifest.regions
        out: set[str] = set()
        seen: set[str] = set()
        stack = [name]
        while stack:
            x = stack.pop()
            if x in regions:
                if x not in seen:
                    seen.add(x)
                    stack.extend(regions[x])
            else:
                out.add(x)
        return out

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
    manifest: Manifest,
    raw: dict[str, pd.DataFrame],
    problems: list[Problem],
    dropped: dict[str, set] | None = None,
) -> None:
    """Cross-table checks (references, sources) of a loaded manifest and its tables;
    ``dropped``: ids of rows refused for a bad cell (not reported again where named)."""
    gone = (dropped or {}).get("commodities", set())
    checks.check_manifest(manifest, set(raw["commodities"]["id"]) | gone, problems)
    checks.check_references(manifest, raw, problems, dropped)
    checks.check_sources(raw, problems, dropped)


def read(path: str | Path) -> Instance:
    """Read and validate the instance folder at ``path`` (no scenarios, no structure checks).

    Raises :class:`~optimizer.errors.InputError` listing *every* problem found
    (file, line, column, message).  An instance that ``extends`` another reads
    its base first (:mod:`optimizer.data.extends`).
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
    problems = Problems()  # the first problems of each file, the others counted
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
            base, prefix = extends.read_base(folder, data, read)
            data = extends.merge_manifest(base, data)
        manifest = validate_yaml_model(Manifest, data, "instance.yaml")  # type: ignore[assignment]
    except InputError as e:
        problems.extend(e.problems)

    raw: dict[str, pd.DataFrame] = {}
    dropped: dict[str, set] = {}  # ids of rows refused for a bad cell, per table
    for name, table in TABLES.items():
        df = read_table(folder, extends.optional(table) if extending else table, problems)
        if df is not None:
            raw[name] = coerce_table(df, table, problems)
            if name in checks.REFERENCED:
                col = checks.REFERENCED[name]
                dropped[name] = set(df[col]) - set(raw[name][col])
    if base is not None:
        raw = extends.merge_tables(
            base, prefix, raw, manifest.redate if manifest is not None else None
        )
    required_missing = [n for n, t in TABLES.items() if t.required and n not in raw]
    if manifest is not None and not required_missing:
        if base is not None:
            extends.located_checks(
                lambda t, pr: _cross_checks(manifest, t, pr, dropped), raw, problems
            )
        else:
            _cross_checks(manifest, raw, problems, dropped)
    if problems:
        raise InputError(problems)
    assert manifest is not None
    given = raw["demand"]
    if periods.monthly(manifest.periods):
        raw["demand"] = spread_years(raw["demand"], manifest.periods)
    files = [folder / "instance.yaml", *(folder / t.file for t in TABLES.values())]
    own = [f for f in files if f.is_file()]
    return Instance(
        folder,
        manifest,
        raw,
        input_files=[*(base.input_files if base else []), *own],
        demand_as_given=given,
    )


def spread_years(demand: pd.DataFrame, months: list) -> pd.DataFrame:
    """Demand rows of a monthly instance: a row that names a year gives each month of that
    year among ``months`` its quantity × the month's length (1/12); a row that names the
    month itself replaces that month's share (the more specific row wins)."""
    year = demand["period"].map(periods.is_year).to_numpy(dtype=bool)
    if not year.any():
        return demand
    yearly = demand.loc[year]
    rows = []
    for y, g in yearly.groupby("period", sort=False):
        for m in periods.months_of(int(y), months):
            rows.append(g.assign(period=m, quantity=g["quantity"] * periods.length(m)))
    spread = pd.concat(rows, ignore_index=True) if rows else yearly.iloc[:0]
    own = demand.loc[~year]
    key = ["market", "commodity", "period"]
    if len(own):
        mine = pd.MultiIndex.from_frame(own[key].astype(str))
        dup = pd.MultiIndex.from_frame(spread[key].astype(str)).isin(mine)
        spread = spread.loc[~dup]
    out = pd.concat([own, spread], ignore_index=True)
    out["period"] = periods.tidy(out["period"])
    return out
