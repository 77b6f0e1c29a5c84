"""Policy schemas (pydantic, told apart by ``type``) and their checks against an instance.

Each policy type has one model here (what a scenario may say) and one family in
:mod:`optimizer.policies` (how it becomes rows and costs of the LP).
The math of each is in ``docs/policies.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from optimizer.data import periods as P
from optimizer.data.checks import country_codes
from optimizer.data.schema import STAGES
from optimizer.scenarios.schema import OriginTag

if TYPE_CHECKING:
    from optimizer.data.instance import Instance


class AllExcept(BaseModel):
    """``destinations: {all_except: [US, JP]}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    all_except: list[str] = Field(min_length=1)


class _Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
        description="Policy id (default: <scenario>.<n>).",
    )
    periods: list[int | str] | None = Field(
        None,
        max_length=600,
        description="Periods it applies in (default: all): years, months (2025-04) or month "
        "ranges (2025-04..2025-12); in a monthly instance a year means its months.",
    )

    starts: dt.date | None = Field(
        None,
        description="Date it comes into force (2025-04-04): it applies in the periods that "
        "end after it; an export control's limit in the period it starts is prorated by "
        "days; myopic decisions learn of it on that date (docs/horizon.md).",
    )

    @field_validator("periods", mode="before")
    @classmethod
    def _periods(cls, v: Any) -> Any:
        if isinstance(v, (str, list, tuple)):
            try:
                return P.expand(v)
            except ValueError as e:
                raise ValueError(str(e)) from None
        return v

    def needs_baseline(self) -> bool:
        return False

    def origin_tag(self):
        """The origin tag this policy needs traced (:mod:`optimizer.model.tracing`), or None."""
        origin = getattr(self, "origin", None)
        if origin is None:
            return None
        return OriginTag(origin, getattr(self, "from_stage", "mine"))

    def check(self, inst: Instance) -> list[tuple[str, str]]:
        """Problems as (key, message) pairs: unknown countries, commodities, stages, periods."""
        out = []
        for p in self.periods or []:
            if not P.resolve([p], inst.periods) or not set(P.resolve([p], inst.periods)) <= set(
                inst.periods
            ):
                out.append(("periods", f"{p} is not one of the instance's periods"))
        return out


def _check_place(inst: Instance, key: str, name: str) -> list[tuple[str, str]]:
    if name in inst.manifest.regions or name in country_codes():
        return []
    return [(key, f"{name!r} is not a country code or a region of instance.yaml")]


def _check_commodities(inst: Instance, key: str, names: str | list[str]) -> list[tuple[str, str]]:
    if names == "all":
        return []
    known = set(inst.commodities["id"]) | set(inst.manifest.commodity_groups)
    return [
        (key, f"{n!r} is not a commodity id or group")
        for n in ([names] if isinstance(names, str) else names)
        if n not in known
    ]


def check_origin(inst: Instance, origin: str | None, from_stage: str) -> list[tuple[str, str]]:
    """Problems of an ``origin`` and ``from_stage`` pair (a policy's or a ``tracing`` entry's)."""
    if origin is None:
        return []
    out = _check_place(inst, "origin", origin)
    out += _check_stage(inst, "from_stage", from_stage)
    return out


def _check_stage(inst: Instance, key: str, stage: str) -> list[tuple[str, str]]:
    return [] if stage in STAGES else [(key, f"{stage!r} is not a stage ({', '.join(STAGES)})")]


class ExportControl(_Policy):
    """Exports of ``commodities`` from ``exporter`` to ``destinations`` are limited.

    ``max_share: 0`` is a ban; ``0 < max_share < 1`` is licensing friction (that
    share of the flow the unconstrained baseline ships is approved); ``quota``
    caps tonnes per period.  With ``per: commodity`` (default) the limit holds
    for each commodity; with ``per: total`` for their sum.

    Licences are granted per destination: ``max_share`` may map destinations —
    country codes, regions of ``instance.yaml``, or site ids (an end user, e.g. a
    defense prime) — to their approved share, with ``default`` for the rest
    (``{default: 0.25, JP: 0.5, us_defense_comp: 0}``); each flow takes the most
    specific entry (site, then country, then region, then ``default``) and each
    destination — each other country for ``default`` — gets its share of *its own*
    baseline exports, so the LP cannot choose who loses.  With ``cumulative_since`` the
    share is of the requests made since that date, licensed to date.  ``split: destination`` does the same with one share for every
    destination country.

    With ``origin`` (and ``from_stage``), the control covers only material that
    passed through ``origin`` from that stage on, wherever it is exported from
    (``exporter: all`` is any border crossing, ``{all_except: [CN]}`` any
    crossing from outside China) — China's extraterritorial content rule.  This turns on origin tracing.
    """

    type: Literal["export_control"]
    exporter: str | AllExcept
    origin: str | None = None
    from_stage: str = "mine"
    commodities: str | list[str] = "all"
    destinations: Literal["all"] | list[str] | AllExcept = "all"
    max_share: float | dict[str, float] | None = None
    quota: float | None = Field(None, ge=0)
    per: Literal["commodity", "total"] = "commodity"
    split: Literal["none", "destination"] = "none"
    licence_lag_days: float | dict[str, float] = Field(
        0.0,
        description="Days from `starts` before the first licence is granted (the review: "
        "MOFCOM allowed 45 working days, about 63 calendar days): no controlled export "
        "leaves in them; from then on the licensed share does. One number, or per "
        "destination like `max_share` ({default: 63, KR: 45}). Needs `starts` and "
        "`max_share`.",
    )

    cumulative_since: dt.date | None = Field(
        None,
        description="Read `max_share` as the share of everything requested since this date "
        "that is licensed by the end of each period, as approval rates are published "
        "('a quarter of the requests made since early April granted so far'): controlled "
        "exports from this date to the end of period t <= the share in force in t x the "
        "baseline's exports since the date (nothing before `starts` + "
        "`licence_lag_days`), so a backlog licensed late is shipped late. Without it the "
        "share holds each period's exports. Needs `max_share`; not after `starts`.",
    )
    requests: Literal["need", "shortage_gaming"] = Field(
        "need",
        description="What applicants ask for, with `cumulative_since`: `need` (default), "
        "each period's requests are the baseline's exports; `shortage_gaming`, applicants "
        "who saw a share s of their requests granted the period before ask for baseline / s "
        "(rationing and shortage gaming: Lee, Padmanabhan & Whang 1997; Cachon & Lariviere "
        "1999), so the same approval rate licenses more tonnes. The share seen is the one "
        "in force for the destination in the previous period under any export control of "
        "the same exporter and `cumulative_since` (past regimes included), once licences "
        "were being granted; a share of 0 or none seen yet: requests = need. A behavioural "
        "hypothesis, not a published input (docs/policies.md).",
    )

    @field_validator("licence_lag_days")
    @classmethod
    def _lags(cls, v):
        days = v.values() if isinstance(v, dict) else [v]
        if any(not 0 <= d <= 365 for d in days):
            raise ValueError("licence_lag_days must be between 0 and 365 days")
        return v

    def lag_days(self, dest: str) -> float:
        """The review days of destination key ``dest`` (``default`` or 0 for the rest)."""
        lag = self.licence_lag_days
        if isinstance(lag, dict):
            return float(lag.get(dest, lag.get("default", 0.0)))
        return float(lag)

    def licensed_share(self, period, share: float, dest: str = "default") -> float:
        """The share of baseline exports allowed in ``period``: the days before ``starts``
        unlimited (1), the review days none, the rest ``share`` (prorated by days)."""
        if self.starts is None:
            return share
        before = 1.0 - P.share_after(period, self.starts)
        licensed = P.share_after(period, self.granted(dest))
        return before + share * licensed

    @field_validator("max_share")
    @classmethod
    def _shares(cls, v):
        shares = v.values() if isinstance(v, dict) else [] if v is None else [v]
        if any(not 0 <= s <= 1 for s in shares):
            raise ValueError(
                "a share must be between 0 and 1 (max_share: 0.25, or {default: 0.25, JP: 0.5})"
            )
        return v

    @model_validator(mode="after")
    def _one_limit(self) -> ExportControl:
        if (self.max_share is None) == (self.quota is None):
            raise ValueError("give exactly one of max_share or quota")
        if isinstance(self.max_share, dict) and self.quota is None and not self.max_share:
            raise ValueError("max_share: give at least one destination (or default)")
        if self.cumulative_since is not None:
            if self.max_share is None:
                raise ValueError("cumulative_since needs max_share (a share of requests)")
            if self.starts is not None and self.cumulative_since > self.starts:
                raise ValueError("cumulative_since must not be after starts")
        elif self.requests != "need":
            raise ValueError("requests: shortage_gaming needs cumulative_since (requests to date)")
        if self.licence_lag_days and (self.starts is None or self.max_share is None):
            raise ValueError("licence_lag_days needs starts (the date) and max_share")
        if isinstance(self.licence_lag_days, dict) and self.split != "destination":
            keys = set(self.max_share) if isinstance(self.max_share, dict) else set()
            extra = set(self.licence_lag_days) - keys - {"default"}
            if extra:
                raise ValueError(
                    f"licence_lag_days names {', '.join(sorted(extra))}: give each a "
                    "max_share entry too (the review is per licensed destination)"
                )
        return self

    def shares(self) -> dict[str, float]:
        """Approved share per destination key (``default`` for the rest)."""
        if isinstance(self.max_share, dict):
            return dict(self.max_share)
        return {"default": float(self.max_share or 0.0)}

    def by_destination(self) -> bool:
        return isinstance(self.max_share, dict) or self.split == "destination"

    def needs_baseline(self) -> bool:
        return self.max_share is not None and (
            any(s > 0 for s in self.shares().values())
            or self.starts is not None
            or self.cumulative_since is not None
        )

    def granted(self, dest: str = "default") -> dt.date | None:
        """The first day a licence can be granted to destination key ``dest`` (None: from
        the first period)."""
        if self.starts is None:
            return None
        return self.starts + dt.timedelta(days=self.lag_days(dest))

    def check(self, inst: Instance) -> list[tuple[str, str]]:
        out = super().check(inst) + check_origin(inst, self.origin, self.from_stage)
        if isinstance(self.exporter, AllExcept):
            for x in self.exporter.all_except:
                out += _check_place(inst, "exporter", x)
        elif self.exporter != "all":
            out += _check_place(inst, "exporter", self.exporter)
        out += _check_commodities(inst, "commodities", self.commodities)
        dests = (
            self.destinations.all_except
            if isinstance(self.destinations, AllExcept)
            else ([] if self.destinations == "all" else self.destinations)
        )
        sites = set(inst.sites["id"])
        for d in dests:
            if d not in sites:
                out += _check_place(inst, "destinations", d)
        if isinstance(self.max_share, dict):
            for d in self.max_share:
                if d != "default" and d not in sites:
                    out += _check_place(inst, "max_share", d)
        return out


class Tariff(_Policy):
    """Imports into ``importer`` from ``exporter`` pay ``ad_valorem`` × value + ``per_tonne``.

    The value basis of the ad valorem rate is the commodity's marginal cost at
    the shipping site in the unconstrained baseline (its price at origin).
    """

    type: Literal["tariff"]
    importer: str
    exporter: str = "all"
    commodities: str | list[str] = "all"
    ad_valorem: float = Field(0.0, ge=0, le=10)
    per_tonne: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _some_rate(self) -> Tariff:
        if self.ad_valorem == 0 and self.per_tonne == 0:
            raise ValueError("give ad_valorem and/or per_tonne")
        return self

    def needs_baseline(self) -> bool:
        return self.ad_valorem > 0

    def check(self, inst: Instance) -> list[tuple[str, str]]:
        out = super().check(inst) + _check_place(inst, "importer", self.importer)
        if self.exporter != "all":
            out += _check_place(inst, "exporter", self.exporter)
        return out + _check_commodities(inst, "commodities", self.commodities)


class _ShareRule(_Policy):
    importer: str
    stage: str
    commodities: str | list[str] = "all"

    def check(self, inst: Instance) -> list[tuple[str, str]]:
        out = super().check(inst) + _check_place(inst, "importer", self.importer)
        return (
            out
            + _check_stage(inst, "stage", self.stage)
            + _check_commodities(inst, "commodities", self.commodities)
        )


class DiversificationCap(_ShareRule):
    """No single third country supplies more than ``max_share`` of what ``importer`` uses of
    each commodity of ``stage`` (EU CRMA: 65%)."""

    type: Literal["diversification_cap"]
    max_share: float = Field(ge=0, le=1)


class DomesticShare(_ShareRule):
    """At least ``min_share`` of what ``importer`` uses of each commodity of ``stage`` is made
    inside it (EU CRMA: 10% extraction, 40% processing, 25% recycling)."""

    type: Literal["domestic_share"]
    min_share: float = Field(ge=0, le=1)


class Stockpile(_Policy):
    """A strategic stock of ``commodity`` held in ``region`` at the start of the first period.

    Without ``site``, the stock sits at a new site ``stockpile.<region>.<commodity>``
    linked (at ``release_cost`` per tonne) to every site of the region that uses
    the commodity; with ``site``, it is added to that site's stock.  The LP
    draws on it whenever that is cheaper than going short or buying elsewhere.
    """

    type: Literal["stockpile"]
    region: str
    commodity: str
    initial: float = Field(ge=0)
    site: str | None = None
    release_cost: float = Field(0.0, ge=0)

    def check(self, inst: Instance) -> list[tuple[str, str]]:
        out = super().check(inst) + _check_place(inst, "region", self.region)
        if self.commodity not in set(inst.commodities["id"]):
            out.append(("commodity", f"{self.commodity!r} is not a commodity id"))
        if self.site is not None:
            sites = inst.sites.set_index("id")
            if self.site not in sites.index:
                out.append(("site", f"{self.site!r} is not a site id"))
            elif sites.loc[self.site, "country"] not in inst.region_members(self.region):
                out.append(("site", f"site {self.site!r} is not in {self.region}"))
        return out


class ProcurementBan(_Policy):
    """``market`` may not use material that passed through ``origin`` from ``from_stage`` on
    (DFARS 252.225-7052 from 2027: no magnets with material mined, separated, refined,
    melted or made in a covered country).  ``market`` is a market site id, or a country or
    region (all its markets).  This turns on origin tracing."""

    type: Literal["procurement_ban"]
    market: str
    origin: str
    from_stage: str = "mine"
    commodities: str | list[str] = "all"

    def check(self, inst: Instance) -> list[tuple[str, str]]:
        out = super().check(inst) + check_origin(inst, self.origin, self.from_stage)
        markets = set(inst.demand["market"])
        if self.market not in markets:
            place = _check_place(inst, "market", self.market)
            if place:
                out.append(
                    (
                        "market",
                        f"{self.market!r} is not a market site id (one with demand), "
                        "a country code or a region of instance.yaml",
                    )
                )
        return out + _check_commodities(inst, "commodities", self.commodities)


class _AtPlace(_Policy):
    """A rule on the activity of processes at ``sites`` or in a country or ``region``."""

    region: str | None = Field(None, description="Country code or region of instance.yaml.")
    sites: list[str] | None = Field(None, min_length=1, description="Site ids.")

    @model_validator(mode="after")
    def _one_place(self) -> _AtPlace:
        if (self.region is None) == (self.sites is None):
            raise ValueError("give exactly one of region or sites")
        return self

    def place(self) -> str:
        """``in CN`` or ``at site_a, site_b``."""
        if self.region is not None:
            return f"in {self.region}"
        return "at " + ", ".join(self.sites or [])

    def site_ids(self, inst: Instance) -> set[str]:
        """The sites the rule covers."""
        if self.sites is not None:
            return set(self.sites)
        s = inst.sites
        return set(s.loc[s["country"].isin(inst.region_members(self.region or "")), "id"])

    def check(self, inst: Instance) -> list[tuple[str, str]]:
        out = super().check(inst)
        if self.region is not None:
            out += _check_place(inst, "region", self.region)
        known = set(inst.sites["id"])
        out += [("sites", f"{s!r} is not a site id") for s in self.sites or [] if s not in known]
        return out


class EnvironmentalCap(_AtPlace):
    """Total ``pollutant`` (``emissions.csv`` factors × activity) of the processes at ``sites``
    or in ``region`` is at most ``max`` per period (Baotou's "ecological security barrier")."""

    type: Literal["environmental_cap"]
    pollutant: str
    max: float = Field(ge=0, description="Most of the pollutant per period, in its unit.")

    def check(self, inst: Instance) -> list[tuple[str, str]]:
        out = super().check(inst)
        known = set(inst.emissions["pollutant"])
        if self.pollutant not in known:
            out.append(
                (
                    "pollutant",
                    f"{self.pollutant!r} has no factor in emissions.csv"
                    + (f" (known: {', '.join(sorted(known))})" if known else " (no such table)"),
                )
            )
        return out


def _makers_check(inst: Instance, pol: _AtPlace, commodities: str | list[str]) -> list:
    """No process at the policy's place makes ``commodities``: one problem, else none."""
    rec = inst.recipes
    makers = set(
        rec.loc[
            (rec["direction"] == "output") & rec["commodity"].isin(inst.commodity_set(commodities)),
            "recipe",
        ]
    )
    pro = inst.processes
    here = pro["site"].isin(pol.site_ids(inst)) & pro["recipe"].isin(makers)
    return (
        [] if here.any() else [("commodities", f"no process {pol.place()} makes {commodities!r}")]
    )


class ProductionTarget(_AtPlace):
    """Recipes at ``sites`` or in ``region`` make at least ``min`` t per period of
    ``commodities`` (together).  A hard constraint: if it cannot be met the LP is
    infeasible and the conflict is reported (exit 3)."""

    type: Literal["production_target"]
    commodities: str | list[str]
    min: float = Field(ge=0, description="Least output per period, t.")

    def check(self, inst: Instance) -> list[tuple[str, str]]:
        out = super().check(inst) + _check_commodities(inst, "commodities", self.commodities)
        if out or self.min == 0:
            return out
        return _makers_check(inst, self, self.commodities)


class PriceFloor(_AtPlace):
    """What ``sites`` (or the sites of ``region``) make of ``commodities`` is paid at least
    ``floor`` USD/t: a guarantor pays the difference between the floor and the market price
    on every tonne made (a deficiency payment; the DoD's 2025 floor of US$110/kg for MP
    Materials' NdPr).  ``reference: market`` (default) takes the market price from the model
    itself, as the commodity's marginal cost at the site, and solves until payment and price
    agree; a number fixes the market price (USD/t) the payment is computed from."""

    type: Literal["price_floor"]
    commodities: str | list[str]
    floor: float = Field(gt=0, description="Guaranteed price, USD/t.")
    reference: Literal["market"] | float = Field(
        "market", description="market, or the market price in USD/t the payment refers to."
    )

    def check(self, inst: Instance) -> list[tuple[str, str]]:
        out = super().check(inst) + _check_commodities(inst, "commodities", self.commodities)
        if not isinstance(self.reference, str) and self.reference < 0:
            out.append(("reference", "must be market or a price >= 0 (USD/t)"))
        return out or _makers_check(inst, self, self.commodities)


Policy = Annotated[
    ExportControl
    | Tariff
    | DiversificationCap
    | DomesticShare
    | Stockpile
    | ProcurementBan
    | EnvironmentalCap
    | ProductionTarget
    | PriceFloor,
    Field(discriminator="type"),
]


class PolicyEnvelope(BaseModel):
    """Wrapper used to validate one policy mapping with located errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    policy: Policy


SUPPORTED = {
    "export_control",
    "tariff",
    "diversification_cap",
    "domestic_share",
    "stockpile",
    "procurement_ban",
    "environmental_cap",
    "production_target",
    "price_floor",
}
