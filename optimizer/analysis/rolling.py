r"""Decisions month by month: the undisrupted plan until a disruption, then rolling plans.

One LP over a whole monthly horizon knows every policy in advance: firms would stock up
before a control they cannot know is coming.  In 2025 they did not know.  So a monthly
instance with policies is solved as the firms decided (docs/horizon.md):

1. **Before the disruption** — every month before ``start`` (default: the first month
   any policy applies in) follows the **reference plan**: the undisrupted instance solved
   over the whole horizon (the plan the short run stays near, too).
2. **From ``start`` on**, ``decisions`` says what the firms know:

   ``myopic`` (default)
       Month by month.  The plan for month :math:`t` looks ``lookahead`` months ahead
       (:math:`t \dots t + H - 1`) and expects the policies in force in month
       :math:`t` to stay as they are over that window (static expectations: a policy
       announced later, or a change of its rates, is unknown until its month).  Month
       :math:`t` of that plan is what happens; its end-of-month stocks and the
       shipments still at sea are where the plan for :math:`t + 1` starts.
   ``foresight``
       One plan over the months from ``start`` to the end that knows every policy, its
       rates and its end in advance (an upper bound on how well the chain can do).

Stocks carry over exactly (``inventory`` at the end of month :math:`t`), shipments in
transit land where :mod:`optimizer.model.transit` says (known ``arrivals`` of each
window), and the committed months together make one :class:`~optimizer.results.result.Result`
whose tables read like any solve's, one row per month.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pandas as pd

from optimizer.data import periods as P
from optimizer.data.instance import Instance
from optimizer.errors import InputError, Problem
from optimizer.model.transit import landed, transit_lags, wrapped
from optimizer.results.columns import TABLE_FILES
from optimizer.results.result import Result
from optimizer.results.shortfall import first_shortages
from optimizer.solve import baseline_solve, solve

DECISIONS = ("myopic", "foresight")
__all__ = ["DECISIONS", "applies", "first_shortages", "rolling_solve"]


def applies(inst: Instance) -> bool:
    """Rolling decisions apply to a monthly instance with at least one policy."""
    return P.monthly(inst.periods) and bool(inst.policies)


def first_policy_month(inst: Instance):
    """The first month any policy applies in (None: no policy)."""
    months = set()
    for _pid, p in inst.policies:
        ps = getattr(p, "periods", None)
        months |= set(inst.periods if ps is None else P.resolve(ps, inst.periods))
    ordered = [t for t in inst.periods if t in months]
    return ordered[0] if ordered else None


def check(inst: Instance, decisions: str, start, lookahead: int) -> list[Problem]:
    out = []
    if decisions not in DECISIONS:
        out.append(
            Problem("--decisions", None, None, f"{decisions!r}: choose {' or '.join(DECISIONS)}")
        )
    if start is not None and start not in inst.periods:
        out.append(
            Problem(
                "--start",
                None,
                None,
                f"{start} is not a month of {inst.name} "
                f"(months: {inst.periods[0]}..{inst.periods[-1]})",
            )
        )
    if not 1 <= lookahead <= 24:
        out.append(Problem("--lookahead", None, None, f"{lookahead}: give 1 to 24 months"))
    if inst.origins:
        out.append(
            Problem(
                "scenarios",
                None,
                "tracing",
                "origin tracing is not supported with month-by-month decisions yet: "
                "use --decisions foresight",
            )
        )
    return out


def rolling_solve(
    inst: Instance,
    *,
    decisions: str | None = None,
    start=None,
    lookahead: int | None = None,
    method: str = "choose",
    time_limit: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Result:
    """Solve ``inst`` (a monthly instance with its scenarios applied) as the firms decided:
    the reference plan until ``start``, then ``decisions`` (module docstring)."""
    d = inst.manifest.defaults
    decisions = decisions or d.decisions
    lookahead = int(lookahead if lookahead is not None else d.lookahead)
    problems = []
    if isinstance(start, str):
        try:
            start = P.parse(start)
        except ValueError as e:
            problems.append(Problem("--start", None, None, str(e)))
            start = None
    problems += check(inst, decisions, start, lookahead)
    if problems:
        raise InputError(problems)
    periods = inst.periods
    start = start if start is not None else (first_policy_month(inst) or periods[0])
    i0 = periods.index(start)
    if decisions == "foresight" and i0 == 0:  # one plan over the whole horizon
        res = solve(inst, method=method, time_limit=time_limit)
        res.summary["decisions"] = _decided(decisions, start, lookahead, 1)
        return res

    windows = (
        [periods[i0:]]
        if decisions == "foresight"
        else [periods[i : i + lookahead] for i in range(i0, len(periods))]
    )
    total = 2 + len(windows)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    undisrupted = inst.reference if inst.reference is not None else _without_policies(inst)
    ref = solve(undisrupted.with_horizon("long"), method=method, time_limit=time_limit)
    tick()
    base = None
    if any(p.needs_baseline() for _, p in inst.policies):
        base = (
            ref
            if not _has_changes(inst)
            else baseline_solve(inst, method, time_limit, reference_plan=ref)
        )
    tick()

    lags = transit_lags(inst)
    committed: list[Result] = [_slice(ref, periods[:i0])] if i0 > 0 else []
    stocks = _stocks_at(inst, ref, periods, i0)
    shipped = committed[0].flows if committed else ref.flows.iloc[:0]
    for w in windows:
        t = w[0]
        win = _window(
            inst,
            w,
            stocks,
            _pipeline(shipped, ref, lags, periods, w),
            held=decisions == "myopic",
        )
        win.shipped = shipped
        res = solve(
            win, method=method, time_limit=time_limit, reference_plan=ref, baseline_plan=base
        )
        tick()
        keep = w if decisions == "foresight" else [t]
        part = _slice(res, keep)
        committed.append(part)
        shipped = pd.concat([shipped, part.flows], ignore_index=True)
        stocks = _carry(inst, part.inventory, t)
    return _combine(inst, committed, ref, decisions, start, lookahead, len(windows))


def _has_changes(inst: Instance) -> bool:
    """Whether the scenarios changed tables (not only added policies)."""
    if inst.reference is None:
        return False
    return any(
        len(inst.tables[k]) != len(inst.reference.tables.get(k, []))
        or not inst.tables[k].equals(inst.reference.tables.get(k))
        for k in inst.tables
    )


def _without_policies(inst: Instance) -> Instance:
    out = copy.copy(inst)
    out.policies = []
    return out


def _slice(res: Result, keep: list) -> Result:
    """The rows of ``res`` in the periods ``keep`` (tables without a period: as they are)."""
    out = copy.copy(res)
    for attr in TABLE_FILES.values():
        df = getattr(res, attr)
        if df is None or "period" not in df or attr == "mincut":
            continue
        setattr(out, attr, df.loc[df["period"].isin(keep)].reset_index(drop=True))
    out.mincut = None
    out.extra = dict(res.extra, kept=[str(t) for t in keep])
    return out


def _stocks_at(inst: Instance, ref: Result, periods: list, i0: int) -> pd.DataFrame:
    """The stocks table at the start of month ``i0``: the instance's (safety levels and
    keep costs) with the reference plan's end-of-month inventories as quantities."""
    if i0 == 0:
        return _with_levels(inst.stocks, inst.stocks)
    return _carry(inst, ref.inventory, periods[i0 - 1])


def _with_levels(inst_stocks: pd.DataFrame, st: pd.DataFrame) -> pd.DataFrame:
    out = st.copy()
    if "keep_cost" in inst_stocks and "level" not in out:
        lv = inst_stocks.set_index(["site", "commodity"])["quantity"]
        kc = inst_stocks.set_index(["site", "commodity"])["keep_cost"]
        idx = pd.MultiIndex.from_frame(out[["site", "commodity"]])
        out["level"] = lv.reindex(idx).to_numpy()
        out["keep_cost"] = kc.reindex(idx).to_numpy()
    return out


def _carry(inst: Instance, inventory: pd.DataFrame, t) -> pd.DataFrame:
    """Stocks at the start of the month after ``t``: every stock node of the instance (0
    when drawn down) and every end-of-month inventory of ``t``."""
    inv = inventory.loc[inventory["period"] == t]
    held = inv.groupby(["site", "commodity"], as_index=False)["quantity"].sum()
    base = inst.stocks[["site", "commodity"]].drop_duplicates()
    out = base.merge(held, on=["site", "commodity"], how="outer")
    out["quantity"] = out["quantity"].fillna(0.0).clip(lower=0.0)
    out["source"] = ""
    out["_line"] = 0
    return _with_levels(inst.stocks, out).reset_index(drop=True)


def _pipeline(shipped: pd.DataFrame, ref: Result, lags: pd.Series, periods: list, w: list):
    """What lands in the months ``w`` from shipments made before ``w[0]`` (site,
    commodity, period, quantity): the committed months' shipments (``shipped``), and
    those made before the first month, in the reference plan's steady state."""
    cols = ["site", "commodity", "period", "quantity"]
    if lags.empty:
        return pd.DataFrame(columns=cols)
    parts = [wrapped(ref.flows, lags, periods, w)]
    moving = shipped.loc[shipped["link"].isin(lags.index)]
    if not moving.empty:
        land = landed(moving, lags, periods, steady=False)
        land = land.loc[land["period"].isin(w) & land["link"].isin(lags.index)]
        parts.append(
            land.groupby(["target", "commodity", "period"], as_index=False)["quantity"]
            .sum()
            .rename(columns={"target": "site"})
        )
    parts = [x for x in parts if len(x)]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    return out.groupby(["site", "commodity", "period"], as_index=False)["quantity"].sum()


def _window(inst: Instance, w: list, stocks: pd.DataFrame, arrivals, *, held: bool) -> Instance:
    """``inst`` over the months ``w``, starting from ``stocks`` and known ``arrivals``; with
    ``held``, the policies in force in ``w[0]`` apply over all of ``w`` and no other."""
    win = copy.copy(inst)
    win.tables = dict(inst.tables)
    win.manifest = inst.manifest.model_copy(update={"periods": list(w)})
    win.warnings = []
    dem = inst.tables["demand"]
    win.tables["demand"] = dem.loc[dem["period"].isin(w)].reset_index(drop=True)
    win.tables["stocks"] = stocks
    win.arrivals = arrivals
    # an order met now is worth more than one met later (twice the monthly keep rate,
    # so a safety stock is drawn before a line stops, not after): docs/horizon.md
    win.urgency = 2.0 * inst.manifest.defaults.safety_stock_rate
    pols, past = [], []
    for pid, p in inst.policies:
        ps = getattr(p, "periods", None)
        active = list(inst.periods) if ps is None else P.resolve(ps, inst.periods)
        before = [t for t in active if P.start(t) < P.start(w[0])]
        if before:  # the regimes already seen (what applicants know of past approvals)
            past.append((pid, p.model_copy(update={"periods": before})))
        if held:
            if w[0] in active:
                pols.append((pid, p.model_copy(update={"periods": list(w)})))
        else:
            inside = [t for t in w if t in active]
            if inside:
                pols.append((pid, p.model_copy(update={"periods": inside})))
    win.policies = pols
    win.past_policies = past
    return win


def _combine(
    inst: Instance,
    parts: list[Result],
    ref: Result,
    decisions: str,
    start,
    lookahead: int,
    n_windows: int,
) -> Result:
    """One result from the committed months (tables concatenated, summary recomputed)."""
    last = parts[-1]
    out = copy.copy(last)
    for attr in TABLE_FILES.values():
        if attr in ("mincut", "expansions"):
            continue
        frames = [getattr(p, attr) for p in parts if getattr(p, attr) is not None]
        frames = [f for f in frames if len(f)]
        cols = getattr(last, attr).columns
        setattr(
            out,
            attr,
            pd.concat(frames, ignore_index=True)[cols] if frames else getattr(last, attr),
        )
    out.expansions = ref.expansions
    out.mincut = None
    if "period" in out.shortages:
        out.shortages["period"] = P.tidy(out.shortages["period"])
    s = dict(last.summary)
    by_period: dict[str, dict[str, float]] = {}
    for p in parts:
        for k, v in (p.summary.get("cost_by_period") or {}).items():
            if k in p.extra["kept"]:
                by_period[k] = v
    groups: dict[str, float] = {}
    for v in by_period.values():
        for g, x in v.items():
            groups[g] = groups.get(g, 0.0) + x
    sh = out.shortages
    valued = sh["unmet_value"].notna() if "unmet_value" in sh else pd.Series(False, sh.index)
    by = sh.groupby("commodity")[["demand", "unmet"]].sum()
    total_demand = float(inst.tables["demand"]["quantity"].sum())
    total_unmet = float(sh["unmet"].sum())
    s.update(
        objective=float(sum(groups.values())),
        cost_breakdown={g: groups.get(g, 0.0) for g in last.summary["cost_breakdown"]} | groups,
        cost_by_period=by_period,
        total_demand=total_demand,
        total_unmet=total_unmet,
        unmet_share=total_unmet / total_demand if total_demand else 0.0,
        unmet_value=float(sh.loc[valued, "unmet_value"].sum()),
        unmet_by_commodity={c: float(u) for c, u in by["unmet"].items() if u > 0},
        demand_by_commodity={c: float(x) for c, x in by["demand"].items()},
        periods=list(inst.periods),
        decisions=_decided(decisions, start, lookahead, n_windows),
        reference_objective=ref.objective,
    )
    for key in ("build_seconds", "handoff_seconds", "solve_seconds"):
        s[key] = round(sum(float(p.summary.get(key, 0.0)) for p in parts), 4)
    s["solver"] = dict(last.summary["solver"])
    s["solver"]["iterations"] = int(sum(p.summary["solver"]["iterations"] for p in parts))
    out.summary = s
    out.extra = dict(last.extra)
    out.extra["reference"] = ref
    out.extra["instance"] = inst
    return out


def _decided(decisions: str, start, lookahead: int, plans: int) -> dict:
    return {
        "mode": decisions,
        "start": start,
        "lookahead": lookahead if decisions == "myopic" else None,
        "plans": plans,
        "before_start": "the reference plan (the undisrupted instance, whole horizon)",
    }
