"""Periods: years (``2024``) or months (``"2025-04"``), their start and their length.

An instance's ``periods`` are all years or all months, strictly increasing:

* a **year** is an integer (``2024``) and lasts 1 year — every annual instance;
* a **month** is ``"YYYY-MM"`` (``"2025-04"``) and lasts 1/12 of a year.  A range
  ``"2025-01..2025-12"`` in ``instance.yaml`` lists every month from one to the other.

Every figure of the format given per year (process and lane capacities, annualised
capex, storage cost) applies to a period in proportion to its :func:`length`, so
twelve months of an annual capacity add up to it exactly.  A demand row's quantity
is tonnes *in its period*; in a monthly instance a row may name a year instead of a
month, and then its quantity is spread over that year's months in proportion to
their length (``optimizer.data.instance``).  Discounting uses :func:`start`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: A period id: a year or a month.
Period = int | str

#: Years a period may be (four digits, as in every date format).
YEARS = range(1000, 10000)

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
RANGE = re.compile(r"^\s*(\d{4}-\d{2})\s*\.\.\s*(\d{4}-\d{2})\s*$")


def is_month(p: Any) -> bool:
    return isinstance(p, str) and MONTH.match(p) is not None


def is_year(p: Any) -> bool:
    return isinstance(p, (int, np.integer)) and not isinstance(p, bool)


def plain(p: Any) -> Period:
    """A period id as a plain Python value (numpy integers become ``int``)."""
    return int(p) if is_year(p) else p


def parse(value: Any) -> Period:
    """One period id from text or a number: ``2024`` / ``"2024"`` → 2024, ``"2025-04"``
    stays; anything else raises ``ValueError``."""
    if is_year(value) or (isinstance(value, float) and value.is_integer()):
        if int(value) in YEARS:
            return int(value)
        raise ValueError(f"{value!r} is not a period (a year has four digits, such as 2024)")
    if isinstance(value, str):
        v = value.strip()
        if re.fullmatch(r"\d{4}(\.0*)?", v):
            return int(float(v))
        if MONTH.match(v):
            return v
    raise ValueError(f"{value!r} is not a period (a year such as 2024 or a month such as 2025-04)")


def month_range(a: str, b: str) -> list[str]:
    """Every month from ``a`` to ``b`` inclusive (``"2025-11".."2026-02"``)."""
    first, last = _index(a), _index(b)
    if last < first:
        raise ValueError(f"the range {a}..{b} runs backwards")
    return [_month(i) for i in range(first, last + 1)]


def _index(m: str) -> int:
    match = MONTH.match(m)
    if match is None:
        raise ValueError(f"{m!r} is not a month such as 2025-04")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


def _month(i: int) -> str:
    y, m = divmod(i, 12)
    return f"{y:04d}-{m + 1:02d}"


def expand(values: Iterable[Any] | str) -> list[Period]:
    """Period ids from a list (of ids and ``"a..b"`` month ranges) or one range."""
    items = [values] if isinstance(values, str) else list(values)
    out: list[Period] = []
    for v in items:
        r = RANGE.match(v) if isinstance(v, str) else None
        out.extend(month_range(r.group(1), r.group(2)) if r else [parse(v)])
    return out


def check_periods(periods: Sequence[Period]) -> None:
    """All years or all months, strictly increasing (``ValueError`` otherwise)."""
    kinds = {is_month(p) for p in periods}
    if len(kinds) > 1:
        raise ValueError("periods must be all years (2024) or all months (2025-04), not both")
    keys = [start(p) for p in periods]
    if any(b <= a for a, b in zip(keys, keys[1:], strict=False)):
        raise ValueError("periods must be strictly increasing")


def monthly(periods: Sequence[Period]) -> bool:
    return bool(periods) and is_month(periods[0])


def start(p: Period) -> float:
    """When the period starts, in years: 2024 → 2024.0, ``"2025-04"`` → 2025.25."""
    if is_month(p):
        return _index(p) / 12
    return float(p)


def length(p: Period) -> float:
    """How long the period lasts, in years: 1 for a year, 1/12 for a month."""
    return 1 / 12 if is_month(p) else 1.0


def year_of(p: Period) -> int:
    return int(p[:4]) if is_month(p) else int(p)


def months_of(year: int, periods: Sequence[Period]) -> list[str]:
    """The months of ``year`` among ``periods``."""
    return [p for p in periods if is_month(p) and year_of(p) == year]


def resolve(spec: Sequence[Period] | None, periods: Sequence[Period]) -> list[Period] | None:
    """A policy's or a question's periods in the instance's terms: a year in a monthly
    instance stands for its months; ``None`` stays ``None`` (every period)."""
    if spec is None:
        return None
    out: list[Period] = []
    for p in spec:
        out.extend(months_of(p, periods) if is_year(p) and monthly(periods) else [p])
    return out


def tidy(col: pd.Series) -> pd.Series:
    """A column of period ids: ``int64`` when every value is a year (annual instances keep
    their integer columns), else objects (ints and ``"YYYY-MM"`` strings)."""
    vals = col.to_numpy(dtype=object)
    if len(vals) and all(is_year(v) for v in vals):
        return pd.Series(vals.astype(np.int64), index=col.index)
    return pd.Series(
        [plain(v) if v is not None else None for v in vals], index=col.index, dtype=object
    )


def bounds(p: Period) -> tuple[dt.date, dt.date]:
    """First day of the period and first day after it: ``"2025-04"`` → (2025-04-01,
    2025-05-01), ``2024`` → (2024-01-01, 2025-01-01)."""
    if is_month(p):
        y, m = int(p[:4]), int(p[5:7])
        nxt = (y + 1, 1) if m == 12 else (y, m + 1)
        return dt.date(y, m, 1), dt.date(*nxt, 1)
    return dt.date(int(p), 1, 1), dt.date(int(p) + 1, 1, 1)


def share_after(p: Period, day: dt.date) -> float:
    """Share of period ``p`` on or after ``day`` (0 when it ends before, 1 when it starts
    on or after it), counted in days."""
    a, b = bounds(p)
    if day <= a:
        return 1.0
    if day >= b:
        return 0.0
    return (b - day).days / (b - a).days


def after(periods: Sequence[Period], day: dt.date) -> list[Period]:
    """The periods that end after ``day`` (a policy starting that day applies in them)."""
    return [p for p in periods if bounds(p)[1] > day]


def months_between(a: Period, b: Period) -> int:
    """Whole months from month ``a`` to month ``b`` (``b`` later: positive)."""
    return _index(b) - _index(a)


def shift(p: str, k: int) -> str:
    """The month ``k`` months after month ``p``."""
    return _month(_index(p) + k)


#: Average days in a month (365.25 / 12): transit days to months.
DAYS_PER_MONTH = 365.25 / 12
