"""What a scenario file is: table changes, policies (as data), traced origins.

The policy types themselves are in :mod:`optimizer.scenarios.policy_schema`; how
each one becomes rows of the LP is :mod:`optimizer.policies`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from optimizer.data.schema import STAGE_DEPTH

#: Policy types of the design (docs/design.md §3) that a later version will enforce.
PLANNED_POLICIES = {
    "capacity_expansion",
}


class Change(BaseModel):
    """One edit of an input table."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    table: str
    where: dict[str, Any] = Field(default_factory=dict)
    set: dict[str, float] = Field(default_factory=dict)
    scale: dict[str, float] = Field(default_factory=dict)


#: At most this many origin tags are traced at once (2**k labels).
MAX_TAGS = 3


@dataclass(frozen=True)
class OriginTag:
    """Material that passed through ``origin`` (a country or region) at ``from_stage`` or later."""

    origin: str
    from_stage: str = "mine"

    @property
    def name(self) -> str:
        return self.origin if self.from_stage == "mine" else f"{self.origin}.{self.from_stage}"

    def stages(self) -> set[str]:
        lo = STAGE_DEPTH[self.from_stage]
        return {s for s, d in STAGE_DEPTH.items() if d >= lo}


class TraceOrigin(BaseModel):
    """``tracing: [{origin: CN, from_stage: mine}]``: carry this origin through the chain."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    origin: str
    from_stage: str = "mine"


class ScenarioFile(BaseModel):
    """The contents of a scenario YAML file."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    question: str = ""
    description: str = ""
    sources: list[str] = Field(default_factory=list)
    changes: list[Change] = Field(default_factory=list)
    policies: list[dict[str, Any]] = Field(default_factory=list)
    tracing: list[TraceOrigin] = Field(default_factory=list)
    #: adjustment horizon this scenario is meant for (docs/horizon.md); the last scenario
    #: that gives one wins over ``defaults.horizon``, and ``--horizon`` over both
    horizon: Literal["short", "long"] | None = None
