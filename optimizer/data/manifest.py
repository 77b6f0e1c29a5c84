"""``instance.yaml``: the instance manifest, validated with pydantic (unknown keys are errors)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from optimizer.data import periods as P
from optimizer.data.schema import SCHEMA_VERSION

#: Most periods an instance may have (50 years of months).
MAX_PERIODS = 600


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
    safety_stock_rate: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of stocks.keep_cost that a tonne below a safety stock's level "
        "costs per month it stays below (a carrying and risk premium; the last period "
        "charges keep_cost in full).",
    )
    carrying_rate: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Share of stocks.keep_cost that holding a tonne of a safety stock costs "
        "per month (capital and warehousing; below safety_stock_rate, so a stock is kept "
        "at its level, not above it); also the share of its reference price a stock built "
        "for later sale loses per month held (short_run.resale_months).",
    )
    decisions: Literal["foresight", "myopic"] = Field(
        "myopic",
        description="How a monthly instance decides once a disruption starts "
        "(docs/horizon.md): myopic -- month by month, each month's plan looking "
        "`lookahead` months ahead and holding the policies in force that month; "
        "foresight -- one plan over the months from the disruption on that knows "
        "every policy in advance. Annual instances always solve all periods at once.",
    )
    lookahead: int = Field(
        3,
        ge=1,
        le=24,
        description="Months each myopic plan looks ahead (the month decided and the next "
        "lookahead - 1).",
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
    periods: list[int | str] = Field(
        min_length=1,
        max_length=MAX_PERIODS,
        description="Periods, strictly increasing: years (2024) or months (2025-04), not both; "
        "a range 2025-01..2025-12 lists every month between (optimizer/data/periods.py).",
    )
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

    redate: dict[int, int] = Field(
        default_factory=dict,
        description="In an instance that extends another: the base's rows of year A count as "
        "year B ({2024: 2025} holds the base's 2024 demand flat into 2025).",
    )

    @field_validator("regions", "commodity_groups", mode="before")
    @classmethod
    def _no_booleans(cls, v: Any) -> Any:
        # YAML 1.1 reads NO, Yes, on, off as true/false: Norway becomes False
        if isinstance(v, dict):
            for name, members in v.items():
                for m in members if isinstance(members, list) else []:
                    if isinstance(m, bool):
                        raise ValueError(
                            f"{name}: a member reads as {str(m).lower()}; YAML takes NO, yes, "
                            'on and off as booleans: quote the code ("NO")'
                        )
        return v

    @field_validator("redate")
    @classmethod
    def _years(cls, v: dict[int, int]) -> dict[int, int]:
        for a, b in v.items():
            for y in (a, b):
                if y not in P.YEARS:
                    raise ValueError(f"{y} is not a year (four digits, such as 2024)")
        return v

    @field_validator("periods", mode="before")
    @classmethod
    def _periods(cls, v: Any) -> list[int | str]:
        if isinstance(v, (str, list, tuple)):
            try:
                out = P.expand(v)
            except ValueError as e:
                raise ValueError(str(e)) from None
            if len(out) > MAX_PERIODS:
                raise ValueError(f"at most {MAX_PERIODS} periods")
            P.check_periods(out)
            return out
        return v
