"""Chokepoints: remove one element (N-1) or two (N-2), re-solve, measure the damage.

Elements (``by``): ``site``, ``company``, ``country``, ``country-stage`` (all
sites of a country at one stage) or ``link``.  Markets are never removed.  A
removed site makes nothing and ships or receives nothing; a removed link
carries nothing.  Each case is a warm-started re-solve of one built model
(:class:`~optimizer.analysis.whatif.WhatIf`), serially or on a ``dask.distributed``
cluster where each worker builds its model once.

N-2 (``k=2``) removes every pair among the ``pairs_from`` elements that rank
highest in N-1 (default 10, so 45 pairs): the pairs most likely to matter,
without the quadratic number of all pairs.

Ranking: by unmet demand (t), then by cost increase (USD).  A case that makes the
LP infeasible (only a hard policy such as a production target can) is a result, not
an error: it ranks first with ``status`` ``infeasible`` and no numbers.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.analysis import parallel
from optimizer.analysis.whatif import WhatIf
from optimizer.errors import InputError, Problem

if TYPE_CHECKING:
    from optimizer.data.instance import Instance

#: Unmet-demand changes below this (t) are solver noise, not damage (0.1 kg).
DETAIL_TOL = 1e-4

BY = ("site", "company", "country", "country-stage", "link")
COLUMNS = [
    "rank",
    "element",
    "kind",
    "unmet",
    "unmet_share",
    "cost_increase",
    "worst_market",
    "worst_market_unmet",
    "members",
    "status",
    "unmet_value",
    "worst_commodity",
]


def elements(inst: Instance, by: str) -> list[tuple[str, frozenset[str], frozenset[str]]]:
    """(label, sites, links) for every element of kind ``by``."""
    if by not in BY:
        raise InputError(f"--by {by!r}: choose one of {', '.join(BY)}")
    sites = inst.sites.loc[inst.sites["stage"] != "market"]
    if by == "link":
        return [(lid, frozenset(), frozenset([lid])) for lid in inst.links["id"]]
    if by == "site":
        return [(sid, frozenset([sid]), frozenset()) for sid in sites["id"]]
    if by == "company":
        sites = sites.loc[sites["company"] != ""]
        groups = sites.groupby("company")["id"]
    elif by == "country":
        groups = sites.groupby("country")["id"]
    else:
        groups = sites.groupby(sites["country"] + ":" + sites["stage"])["id"]
    return [(str(k), frozenset(v), frozenset()) for k, v in groups]


def _evaluate(
    w: WhatIf, cases: list[tuple[str, frozenset, frozenset]]
) -> list[tuple[str, float, np.ndarray, str]]:
    out = []
    for label, sites, links in cases:
        r = w.solve_without(sites, links)
        out.append((label, r.objective, r.unmet, r.status))
    return out


_WORKER_CACHE: dict = {}


def _worker_run(payload: tuple[tuple, Instance], cases: list) -> list:
    """Runs on a Dask worker: build the model once per worker (cached by key), solve a chunk."""
    key, inst = payload
    w = _WORKER_CACHE.get(key)
    if w is None:
        w = WhatIf.from_instance(inst)
        _WORKER_CACHE.clear()
        _WORKER_CACHE[key] = w
    return _evaluate(w, cases)


def market_mask(inst: Instance, markets: list[str] | None, keys: pd.DataFrame) -> np.ndarray:
    """Which demand rows (``keys``: market, commodity, period) the damage counts: every row
    (``markets`` None), or those of the named markets — site ids, countries, regions — or,
    with ``all_except:A,B``, of every market outside them."""
    if not markets:
        return np.ones(len(keys), dtype=bool)
    country = inst.sites.set_index("id")["country"].reindex(keys["market"]).to_numpy()
    mk = keys["market"].to_numpy()
    site_ids = set(inst.sites["id"])

    def hit(names: list[str]) -> np.ndarray:
        out = np.zeros(len(keys), dtype=bool)
        for n in names:
            out |= (mk == n) if n in site_ids else np.isin(country, list(inst.region_members(n)))
        return out

    mask = np.zeros(len(keys), dtype=bool)
    for spec in markets:
        if spec.startswith("all_except:"):
            mask |= ~hit([x.strip() for x in spec.split(":", 1)[1].split(",") if x.strip()])
        else:
            mask |= hit([spec])
    return mask


def check_markets(inst: Instance, markets: list[str] | None) -> None:
    """Exit 2 naming every ``--markets`` entry that is no market, country or region."""
    bad = []
    known = set(inst.sites["id"]) | set(inst.manifest.regions) | set(inst.sites["country"])
    for spec in markets or []:
        names = spec.split(":", 1)[1].split(",") if spec.startswith("all_except:") else [spec]
        bad += [n for n in names if n.strip() and n.strip() not in known]
    if bad:
        raise InputError(
            Problem(
                "--markets",
                None,
                None,
                f"{', '.join(map(repr, bad))}: not a market site, country or region of the "
                "instance (all_except:CN counts every market outside China)",
            )
        )


def _table(
    w: WhatIf,
    kind: str,
    raw: list[tuple[str, float, np.ndarray, str]],
    members: dict[str, int],
    markets: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ranking: damage is the *increase* over the base case (the instance with its
    scenarios), counted on the chosen markets, in USD of end-use value at risk first."""
    keys = w.unmet_keys.reset_index(drop=True)
    counted = market_mask(w.inst, markets, keys)
    dem = w.inst.demand.groupby(["market", "commodity", "period"])["quantity"].sum()
    demand = dem.reindex(pd.MultiIndex.from_frame(keys)).fillna(0.0).to_numpy()
    com = w.inst.commodities.set_index("id")
    value = (
        keys["commodity"].map(com["value"]).astype(float).to_numpy()
        if "value" in com
        else np.full(len(keys), np.nan)
    )
    valued = bool(np.isfinite(value[counted]).any())
    total_demand = float(demand[counted].sum())
    rows, detail = [], []
    for label, obj, unmet, status in raw:
        if status == "infeasible":  # no numbers: a hard policy cannot hold without it
            rows.append(
                {
                    "element": label,
                    "kind": kind,
                    "unmet": np.nan,
                    "unmet_share": np.nan,
                    "unmet_value": np.nan,
                    "cost_increase": np.nan,
                    "worst_market": "",
                    "worst_commodity": "",
                    "worst_market_unmet": np.nan,
                    "members": members.get(label, 1),
                    "status": status,
                }
            )
            continue
        extra = np.where(counted, unmet - w.base_unmet, 0.0)
        extra = np.where(np.abs(extra) > DETAIL_TOL, extra, 0.0)
        extra_value = np.nan_to_num(extra * value)
        worst, worst_com, worst_amount = _worst(keys, extra, extra_value, demand, valued)
        rows.append(
            {
                "element": label,
                "kind": kind,
                "unmet": float(extra.sum()),
                "unmet_share": float(extra.sum()) / total_demand if total_demand else 0.0,
                "unmet_value": float(extra_value.sum()) if valued else np.nan,
                "cost_increase": obj - w.base_objective,
                "worst_market": worst,
                "worst_commodity": worst_com,
                "worst_market_unmet": worst_amount,
                "members": members.get(label, 1),
                "status": status,
            }
        )
        for i in np.flatnonzero(extra):
            detail.append(
                {
                    "element": label,
                    "market": keys["market"].iat[i],
                    "commodity": keys["commodity"].iat[i],
                    "period": keys["period"].iat[i],
                    "unmet_increase": round(float(extra[i]), 6),
                    "unmet_value_increase": float(extra_value[i]) if valued else np.nan,
                }
            )
    df = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "rank"])
    for c in ("unmet", "cost_increase", "unmet_share", "worst_market_unmet", "unmet_value"):
        df[c] = df[c].where((df[c].abs() > 1e-6) | df[c].isna(), 0.0).round(6)
    # infeasible cases first: without the element a hard policy cannot hold at all; then
    # the value at risk, the tonnes (one commodity or several), the cost
    df["_ok"] = df["status"] != "infeasible"
    df["_v"] = df["unmet_value"].fillna(0.0)
    df = (
        df.sort_values(
            ["_ok", "_v", "unmet", "cost_increase", "element"],
            ascending=[True, False, False, False, True],
            kind="stable",
            na_position="first",
        )
        .drop(columns=["_ok", "_v"])
        .reset_index(drop=True)
    )
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    det = pd.DataFrame(
        detail,
        columns=[
            "element",
            "market",
            "commodity",
            "period",
            "unmet_increase",
            "unmet_value_increase",
        ],
    )
    return df, det


def _worst(keys, extra, extra_value, demand, valued: bool) -> tuple[str, str, float]:
    """(market, commodity, amount) hit hardest: by value at risk (USD) when the counted
    commodities have values, else by the share of one commodity's demand lost (t)."""
    if not (extra > 1e-6).any():
        return "", "", 0.0
    if valued:
        by = pd.Series(extra_value, index=keys["market"].to_numpy()).groupby(level=0).sum()
        m = str(by.idxmax())
        rows = np.flatnonzero((keys["market"].to_numpy() == m) & (extra > 0))
        i = rows[np.argmax(extra_value[rows])]
        return m, str(keys["commodity"].iat[i]), float(by.max())
    share = np.where(demand > 0, extra / np.where(demand > 0, demand, 1), 0.0)
    i = int(np.argmax(share))
    return str(keys["market"].iat[i]), str(keys["commodity"].iat[i]), float(extra[i])


def criticality(
    inst: Instance,
    by: str = "site",
    k: int = 1,
    *,
    pairs_from: int = 10,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    markets: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rank the elements of ``inst`` by the damage their loss does.

    The damage of an element is what its loss adds to the base case (``inst`` with its
    scenarios and horizon): unmet demand of the ``markets`` counted (default: all; e.g.
    ``["all_except:CN"]``) in USD of end-use value at risk (``commodities.value``),
    then in tonnes, then the cost increase.  Returns ``(ranking, detail)``: the ranking
    has the contract columns of ``criticality.csv`` (rank, element, kind, unmet — the
    tonnes added, all commodities —, unmet_share, cost_increase, worst_market, …) and
    ``unmet_value``, ``worst_commodity``; ``detail`` has the extra unmet demand per
    element, market, commodity and period.  ``workers``/``scheduler`` run the cases on
    Dask (a LocalCluster of ``workers`` processes, or the cluster at ``scheduler``);
    results are identical to a serial run.
    """
    if k not in (1, 2):
        raise InputError("--k: choose 1 (single elements) or 2 (pairs)")
    check_markets(inst, markets)
    singles = elements(inst, by)
    members = {label: len(s) + len(lk) for label, s, lk in singles}
    base = WhatIf.from_instance(inst)
    single_rank, single_det = _run(
        base, inst, singles, by, members, workers, scheduler, progress, markets
    )
    if k == 1:
        return single_rank, single_det
    top = single_rank.head(pairs_from)["element"].tolist()
    lookup = {label: (s, lk) for label, s, lk in singles}
    pairs = [
        (f"{a} + {b}", lookup[a][0] | lookup[b][0], lookup[a][1] | lookup[b][1])
        for a, b in itertools.combinations(top, 2)
    ]
    members2 = {label: len(s) + len(lk) for label, s, lk in pairs}
    return _run(base, inst, pairs, f"{by} pair", members2, workers, scheduler, progress, markets)


def _run(base, inst, cases, kind, members, workers, scheduler, progress, markets):
    if not workers and not scheduler:
        raw = []
        for i, case in enumerate(cases):
            raw.extend(_evaluate(base, [case]))
            if progress:
                progress(i + 1, len(cases))
        return _table(base, kind, raw, members, markets)
    key = (str(inst.path), tuple(inst.scenarios), uuid.uuid4().hex)
    with parallel.client(workers, scheduler) as c:
        tasks = [((key, inst), ch) for ch in parallel.chunked(cases, parallel.slots(c))]
        results = parallel.run_chunks(_worker_run, tasks, progress=progress, c=c)
    raw = [r for chunk in results for r in chunk]
    return _table(base, kind, raw, members, markets)
