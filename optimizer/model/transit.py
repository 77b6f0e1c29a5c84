"""Time in transit (``links.transit_days``, monthly instances): where and when shipments land.

Shared by the model (:mod:`optimizer.model.transport`), the invariant checks and the
rolling decisions (:mod:`optimizer.analysis.rolling`), so the three agree exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.data import periods as P


def transit_lags(inst) -> pd.Series:
    """Months in transit per link id, for monthly instances (empty for annual ones): the
    link's ``transit_days``, else the first ``transit.csv`` row whose ``from``/``to``
    (countries or regions) hold its end sites' countries; links without either: none."""
    links = inst.tables["links"]
    if not P.monthly(inst.periods):
        return pd.Series(dtype=float)
    days = (
        links["transit_days"].astype(float).to_numpy().copy()
        if "transit_days" in links
        else np.full(len(links), np.nan)
    )
    table = inst.tables.get("transit")
    if table is not None and len(table) and np.isnan(days).any():
        country = inst.tables["sites"].set_index("id")["country"]
        a = links["from_site"].map(country).to_numpy(dtype=object)
        b = links["to_site"].map(country).to_numpy(dtype=object)
        for src, dst, d in zip(table["from"], table["to"], table["days"], strict=True):
            hit = (
                np.isnan(days)
                & np.isin(a, list(inst.region_members(src)))
                & np.isin(b, list(inst.region_members(dst)))
            )
            days[hit] = float(d)
    keep = np.nan_to_num(days) > 0
    return pd.Series(days[keep] / P.DAYS_PER_MONTH, index=links["id"].to_numpy()[keep])


def _landings(j: np.ndarray, lag: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shipment, landing position, share) triplets before any boundary: ``1 - f`` of
    shipment ``i`` lands ``k = floor(lag)`` months after ``j[i]`` and ``f`` one month
    after that (positions may run past the horizon)."""
    k = np.floor(lag + 1e-12).astype(np.int64)
    f = lag - k
    ii = np.arange(len(j))
    src, at, weight = [], [], []
    for off, a in ((k, 1.0 - f), (k + 1, f)):
        keep = a > 1e-12
        src.append(ii[keep])
        at.append(j[keep] + off[keep])
        weight.append(a[keep])
    return np.concatenate(src), np.concatenate(at), np.concatenate(weight)


def transit_terms(
    j: np.ndarray, lag: np.ndarray, n_periods: int, steady: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where shipments land: for shipment ``i`` made in period position ``j[i]`` with
    ``lag[i]`` months in transit, (shipment, landing position, share) triplets — ``1 - f``
    lands ``k = floor(lag)`` months later and ``f`` one month after that.  Landings after
    the last position: with ``steady`` (no known pipeline: the months repeat), they wrap
    round to the first months, so what the horizon's last months ship is what its first
    months receive from before it and no tonne lands twice; otherwise (the pipeline
    before the first month is known) they count in the last month."""
    src, at, weight = _landings(j, lag)
    return src, (at % n_periods if steady else np.minimum(at, n_periods - 1)), weight


def wrapped(flows: pd.DataFrame, lags: pd.Series, periods: list, within: list) -> pd.DataFrame:
    """What lands in the months ``within`` from shipments made *before* the first period,
    in the steady state of a plan (``flows``) solved with ``steady`` transit: the plan's
    own landings that wrap round (site, commodity, period, quantity)."""
    cols = ["site", "commodity", "period", "quantity"]
    flows = flows.loc[flows["link"].isin(lags.index)]
    pos = {p: i for i, p in enumerate(periods)}
    j = flows["period"].map(pos).to_numpy(dtype=np.int64)
    src, at, w = _landings(j, flows["link"].map(lags).to_numpy(dtype=float))
    past = at >= len(periods)
    if not past.any():
        return pd.DataFrame(columns=cols)
    out = flows.iloc[src[past]][["target", "commodity"]].reset_index(drop=True)
    out["quantity"] = flows["quantity"].to_numpy(dtype=float)[src[past]] * w[past]
    out["period"] = P.tidy(pd.Series(np.asarray(periods, dtype=object)[at[past] % len(periods)]))
    out = out.loc[out["period"].isin(within)]
    out = out.groupby(["target", "commodity", "period"], as_index=False)["quantity"].sum()
    return out.rename(columns={"target": "site"})[cols]


def landed(flows: pd.DataFrame, lags: pd.Series, periods: list, steady: bool) -> pd.DataFrame:
    """The ``flows.csv`` rows as tonnes landing at their ``target`` in each period
    (:func:`transit_terms`; ``lags`` maps link → months, missing: none)."""
    lag = flows["link"].map(lags).fillna(0.0).to_numpy(dtype=float)
    pos = {p: i for i, p in enumerate(periods)}
    j = flows["period"].map(pos).to_numpy(dtype=np.int64)
    now = flows.loc[lag == 0]
    later = np.flatnonzero(lag > 0)
    if not len(later):
        return now
    src, t, w = transit_terms(j[later], lag[later], len(periods), steady)
    moved = flows.iloc[later[src]].copy()
    moved["quantity"] = moved["quantity"].to_numpy(dtype=float) * w
    moved["period"] = P.tidy(pd.Series(np.asarray(periods, dtype=object)[t], index=moved.index))
    return pd.concat([now, moved], ignore_index=True)
