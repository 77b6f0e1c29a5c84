"""Why an LP is infeasible, in the instance's terms: conflicting policies, capacities, balances.

Demand is elastic, so only hard policies (a ``production_target`` against a
capacity, an ``environmental_cap``, a co-product that cannot be disposed of,
…) can make the LP infeasible.  :func:`diagnose` asks HiGHS for an
**irreducible infeasible subsystem** (IIS: a set of rows and bounds that
cannot hold together, and that can if any one of them is dropped;
``iis_strategy`` "find true IIS") and translates its rows back through the
labelled keys of :class:`~optimizer.model.core.ChainModel` into sentences::

    policy cn-target (production_target: >= 80 t of ore at cn, 2024) conflicts with
    policy cn-eco (environmental_cap: tailings <= 100 t in CN, 2024)

If HiGHS cannot give an IIS (error, time limit, an empty set), a **deletion
filter over the policy rows** takes over: every policy row is relaxed, then
restored one at a time, keeping only the rows without which the LP becomes
feasible — a minimal set of conflicting policy rows given all the other rows
of the model.  ``Diagnosis.method`` says which was used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np
import pandas as pd

from optimizer.fileio import write_folder
from optimizer.lp.handoff import label

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.lp.handoff import LpHandle

INF = highspy.kHighsInf

#: HiGHS ``iis_strategy``: 4 = find a true (irreducible) IIS, by solving a sequence of LPs.
IIS_STRATEGY = int(highspy.IisStrategy.kIisStrategyIrreducible)
#: Seconds HiGHS may spend on the IIS when the solve has no time limit.
IIS_TIME_LIMIT = 300.0
#: Non-policy rows and bounds named in a sentence before "and N more".
MAX_INVOLVED = 12

_UPPER = {int(highspy.IisBoundStatus.kIisBoundStatusUpper)}
_LOWER = {int(highspy.IisBoundStatus.kIisBoundStatusLower)}
_BOXED = {int(highspy.IisBoundStatus.kIisBoundStatusBoxed)}

#: Files written into ``--out`` for an infeasible solve (and nothing else).
DIAGNOSIS_FILES = ("infeasible.txt", "diagnosis.json")


@dataclass
class Diagnosis:
    """An infeasible LP explained: sentences plus the rows and bounds they come from."""

    method: str
    sentences: list[str]
    #: one entry per policy in the conflict: id, type, description, its rows
    policies: list[dict[str, Any]] = field(default_factory=list)
    #: every row of the IIS: constraint label, family, key columns, sense, limit
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: variable bounds of the IIS other than non-negativity
    bounds: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 or float(x).is_integer() else f"{x:.4g}"


def describe_policy(p, inst: Instance) -> str:
    """``production_target: >= 80 t of ore at cn`` — the policy's rule in a few words."""
    t = p.type
    if t == "environmental_cap":
        em = inst.emissions
        units = em.loc[(em["pollutant"] == p.pollutant) & (em["unit"] != ""), "unit"]
        unit = f" {units.iloc[0]}" if len(units) else ""
        return f"{t}: {p.pollutant} <= {_num(p.max)}{unit} {p.place()}"
    if t == "production_target":
        return f"{t}: >= {_num(p.min)} t of {_names(p.commodities)} {p.place()}"
    if t == "export_control":
        shares = ", ".join(f"{k} {v:g}" for k, v in p.shares().items()) if p.quota is None else ""
        limit = f"quota {_num(p.quota)} t" if p.quota is not None else f"max_share {shares}"
        return f"{t}: {_names(p.commodities)} from {p.exporter}, {limit}"
    if t in ("diversification_cap", "domestic_share"):
        share = p.max_share if t == "diversification_cap" else p.min_share
        return f"{t}: {p.importer} {p.stage} {_names(p.commodities)}, {share:g}"
    rest = p.model_dump(exclude_none=True, exclude={"type", "id", "periods"})
    return f"{t}: " + ", ".join(f"{k} {v}" for k, v in rest.items())


def _names(spec: str | list[str]) -> str:
    return spec if isinstance(spec, str) else ", ".join(spec)


def _row_words(name: str, key: dict[str, Any], handle: LpHandle, inst: Instance) -> str:
    t = key.get("period", "")
    if name == "process_capacity":
        modes = handle.cm.sets.modes
        site = modes.loc[modes["id"] == key["id"], "site"]
        at = f" at {site.iloc[0]}" if len(site) else ""
        return f"capacity of process {key['id']}{at} ({_num(key['rhs'])} per period, {t})"
    if name == "link_capacity":
        return f"capacity of link {key['link']} ({_num(key['rhs'])} t, {t})"
    if name == "balance":
        c = key["commodity"]
        labels = getattr(handle.cm.sets, "labels", None)  # origin tracing: c@label -> c
        if labels is not None:
            c = labels.commodity.get(c, (c, ""))[0]
        disposal = inst.commodities.set_index("id")["disposal_cost"]
        notes = []
        if key["rhs"] > 0:
            notes.append(f"demand {_num(key['rhs'])} t")
        elif key["rhs"] < 0:
            notes.append(f"initial stock {_num(-key['rhs'])} t")
        if c in disposal.index and pd.isna(disposal[c]):
            notes.append("no disposal")
        notes.append(str(t))
        return f"mass balance of {key['commodity']} at {key['site']} ({', '.join(notes)})"
    return label(name, key)


def _bound_words(name: str, key: dict[str, Any], which: str, value: float) -> str:
    t = key.get("period", "")
    if name == "unmet":
        return f"demand of {key['commodity']} at {key['market']} ({_num(value)} t, {t})"
    if name == "build":
        return f"project {key['id']} ({which} {_num(value)} of capacity)"
    return f"{which} bound {_num(value)} on {label(name, key)}"


def diagnose(handle: LpHandle, inst: Instance, time_limit: float | None = None) -> Diagnosis | None:
    """Explain why the LP in ``handle`` is infeasible (``None`` if nothing can be said)."""
    h = handle.highs
    iis_rows: list[int] = []
    iis_bounds: list[tuple[int, int]] = []
    method = ""
    h.setOptionValue("iis_strategy", IIS_STRATEGY)
    h.setOptionValue("iis_time_limit", float(time_limit or IIS_TIME_LIMIT))
    try:
        status, iis = h.getIis()
    except Exception:  # pragma: no cover - defensive: older highspy without getIis
        status, iis = highspy.HighsStatus.kError, None
    if status != highspy.HighsStatus.kError and iis is not None and iis.valid_:
        iis_rows = [int(i) for i in iis.row_index_]
        iis_bounds = [(int(j), int(b)) for j, b in zip(iis.col_index_, iis.col_bound_, strict=True)]
        method = f"HiGHS {h.version()} IIS (iis_strategy {IIS_STRATEGY}: irreducible)"
    if not iis_rows:
        kept = _deletion_filter(handle, time_limit)
        if kept is None:
            return None
        iis_rows, iis_bounds = kept, []
        method = "deletion filter over the policy rows (HiGHS gave no IIS)"

    lp = h.getLp()
    col_lower = np.asarray(lp.col_lower_)
    col_upper = np.asarray(lp.col_upper_)
    policies = dict(inst.policies)
    rows: list[dict[str, Any]] = []
    by_policy: dict[str, list[dict[str, Any]]] = {}
    involved: list[str] = []
    policy_rows = set(handle.cm.policy_rows)
    for i in sorted(iis_rows):
        name, key = handle.row_key(i)
        entry = {
            "constraint": label(name, key),
            "family": name,
            **{k: v for k, v in key.items() if k not in ("rhs", "sense")},
            "sense": key["sense"],
            "limit": key["rhs"],
        }
        rows.append(entry)
        if name in policy_rows:
            by_policy.setdefault(key["policy"], []).append(entry)
        else:
            involved.append(_row_words(name, key, handle, inst))
    bounds: list[dict[str, Any]] = []
    for j, b in iis_bounds:
        name, key = handle.col_key(j)
        if b in _UPPER or b in _BOXED:
            which, value = "at most", float(col_upper[j])
        elif b in _LOWER and col_lower[j] != 0:
            which, value = "at least", float(col_lower[j])
        else:  # non-negativity, or a bound HiGHS found unnecessary
            continue
        bounds.append({"variable": label(name, key), "bound": which, "value": value})
        involved.append(_bound_words(name, key, which, value))

    pols = []
    for pid, prow in by_policy.items():
        p = policies.get(pid)
        periods = sorted({r["period"] for r in prow if "period" in r})
        desc = describe_policy(p, inst) if p is not None else prow[0]["family"]
        desc += "".join(f", {t}" for t in periods[:3]) + (", …" if len(periods) > 3 else "")
        pols.append(
            {
                "id": pid,
                "type": p.type if p is not None else prow[0]["family"],
                "description": desc,
                "rows": [r["constraint"] for r in prow],
            }
        )
    named = [f"policy {q['id']} ({q['description']})" for q in pols]
    sentences = []
    if len(named) >= 2:
        sentences.append(f"{named[0]} conflicts with " + " and ".join(named[1:]))
    elif named:
        sentences.append(f"{named[0]} cannot be met")
    else:
        sentences.append("no policy is involved: the instance's own rows conflict")
    if involved:
        more = len(involved) - MAX_INVOLVED
        sentences.append(
            ("given: " if len(named) == 1 else "also involved: ")
            + "; ".join(involved[:MAX_INVOLVED])
            + (f"; and {more} more (all in --out DIR/diagnosis.json)" if more > 0 else "")
        )
    sentences.append(f"found by: {method}")
    return Diagnosis(method, sentences, pols, rows, bounds)


def _deletion_filter(handle: LpHandle, time_limit: float | None) -> list[int] | None:
    """A minimal set of policy rows that is infeasible together with every other row.

    ``None`` if the LP stays infeasible with every policy row relaxed (the
    conflict is not the policies').  Row bounds are restored before returning.
    """
    h = handle.highs
    idx = [handle.rows(n) for n in handle.cm.policy_rows]
    if not idx:
        return None
    pol = np.concatenate(idx).astype(np.int32)
    lp = h.getLp()
    lo = np.asarray(lp.row_lower_, dtype=float)[pol]
    up = np.asarray(lp.row_upper_, dtype=float)[pol]
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    MS = highspy.HighsModelStatus

    def infeasible(relaxed: np.ndarray) -> bool:
        new_lo = np.where(relaxed, -INF, lo)
        new_up = np.where(relaxed, INF, up)
        h.changeRowsBounds(len(pol), pol, new_lo, new_up)
        h.run()
        return h.getModelStatus() in (MS.kInfeasible, MS.kUnboundedOrInfeasible)

    try:
        relaxed = np.ones(len(pol), dtype=bool)
        if infeasible(relaxed):
            return None
        relaxed[:] = False
        for k in range(len(pol)):
            relaxed[k] = True
            if not infeasible(relaxed):
                relaxed[k] = False  # needed for the conflict: keep it
        return [int(pol[k]) for k in np.flatnonzero(~relaxed)]
    finally:
        h.changeRowsBounds(len(pol), pol, lo, up)


def write_diagnosis(
    out: str | Path,
    message: str,
    diagnosis: Diagnosis | None,
    owns: tuple[str, ...] = (),
    provenance: dict[str, Any] | None = None,
) -> list[Path]:
    """Write ``infeasible.txt`` and ``diagnosis.json`` into ``out``, replacing the folder all
    or nothing: the files in ``owns`` (an earlier solve's tables) go with the swap."""
    out = Path(out)
    text = "infeasible: " + message + "\n"
    data: dict[str, Any] = {"status": "infeasible", "message": message}
    if diagnosis is not None:
        text += "".join(f"  {s}\n" for s in diagnosis.sentences)
        data.update(diagnosis.to_dict())
    files = dict(zip(DIAGNOSIS_FILES, (text, data), strict=True))
    write_folder(out, files, owns=owns, provenance=provenance)
    return [out / f for f in files]
