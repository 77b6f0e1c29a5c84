"""``instance.yaml``: the instance manifest, validated with pydantic (unknown keys are errors)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from optimizer.data.schema import SCHEMA_VERSION


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    """Instance-wide defaults."""

    shortage_penalty: float = Field(
        gt=0, description="USD per t of unmet demand when demand.csv leaves it blank."
    )
    discount_rate: float = Field(
        0.0, ge=0, lt=1, description="Yearly rate discounting later periods in the objective."
    )
    horizon: Literal["short", "long"] = Field(
        "long",
        description="Adjustment horizon (docs/horizon.md): long re-optimises the whole chain "
        "freely; short keeps it near the reference plan within short_run.csv's limits.",
    )


class Manifest(_Strict):
    """The contents of ``instance.yaml``."""

    schema_version: Literal[1] = Field(
        description=f"Instance format version (currently {SCHEMA_VERSION})."
    )
    extends: str | None = Field(
        None,
        description="Folder of a base instance (relative to this one) whose manifest, "
        "tables and scenarios this instance inherits (optimizer/extends.py).",
    )
    name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    description: str = ""
    base_year: int = Field(ge=1900, le=2200)
    periods: list[int] = Field(min_length=1, description="Periods (years), strictly increasing.")
    currency: str = "USD"
    defaults: Defaults
    regions: dict[str, list[str]] = Field(default_factory=dict)
    commodity_groups: dict[str, list[str]] = Field(default_factory=dict)
    price_areas: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Countries or regions whose prices area_prices.csv sets beside the rest "
        "of the world's (e.g. [CN]: inside and outside China).",
    )

    @field_validator("periods")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError("periods must be strictly increasing")
        return v
