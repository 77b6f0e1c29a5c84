"""The policy families, in the order they are added to the model, and their hooks.

:func:`plugins` binds the families that have policies in an instance to that
instance and its baseline; :func:`optimizer.model.build.build_model` calls each
plug-in like any other family (PyPSA's ``extra_functionality``).  A plug-in keeps
the state its hooks need after the solve in ``cm.plugins``; :func:`settle`,
:func:`report_rows`, :func:`summaries` and :func:`check_result` run every hook
there is, so nothing outside this package knows which policy types exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optimizer.policies import environment, origin, price, shares, trade

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.lp.handoff import LpHandle
    from optimizer.model.core import ChainModel
    from optimizer.model.reference import Baseline


@dataclass(frozen=True)
class Family:
    """One policy type: how it adds to the model, and what it does after the solve.

    ``add(cm, inst, policies, baseline)`` adds rows or costs and returns the state
    its hooks need (``None``: nothing to keep).  ``settle(state, handle, rerun)``
    re-solves until the policy is consistent with the solution (returns facts for
    ``summary.json``); ``rows(state, handle, inst, x, y)`` gives ``policies.csv``
    rows for a policy without constraint rows; ``summary(state, result)`` what
    ``summary.json`` says of it; ``check(inst, result)`` an invariant of the output
    tables (a list of violations).
    """

    type: str
    add: Callable[..., Any]
    settle: Callable[..., dict[str, Any]] | None = None
    rows: Callable[..., list[dict[str, Any]]] | None = None
    summary: Callable[..., dict[str, Any]] | None = None
    check: Callable[..., list[str]] | None = None


#: The policy families, in the order they are added to the model.
FAMILIES = (
    Family("export_control", trade.add_export_controls),
    Family("tariff", trade.add_tariffs),
    Family("diversification_cap", shares.add_diversification_caps),
    Family("domestic_share", shares.add_domestic_shares),
    Family("procurement_ban", origin.add_procurement_bans),
    Family("environmental_cap", environment.add_environmental_caps),
    Family("production_target", environment.add_production_targets),
    Family(
        "price_floor",
        price.add_price_floors,
        settle=price.settle,
        rows=price.policy_rows,
        summary=price.summary,
        check=price.check_result,
    ),
)


def plugins(inst: Instance, baseline: Baseline | None) -> list[Callable[[ChainModel], None]]:
    """The model plug-ins for the policies of ``inst`` (empty when it has none)."""
    types = {p.type for _, p in inst.policies}
    out = []
    for family in FAMILIES:
        if family.type not in types:
            continue
        pols = [(pid, p) for pid, p in inst.policies if p.type == family.type]

        def plug(cm: ChainModel, family: Family = family, pols: list = pols) -> None:
            state = family.add(cm, inst, pols, baseline)
            if state is not None:
                cm.plugins.append((family, state))

        out.append(plug)
    return out


def needs_baseline(inst: Instance) -> bool:
    """True when a policy is defined relative to the unconstrained baseline."""
    return any(p.needs_baseline() for _, p in inst.policies)


def settle(handle: LpHandle, rerun: Callable[[], bool]) -> dict[str, Any]:
    """Run every plug-in's ``settle`` hook on an optimal solve; facts per policy type."""
    return {
        family.type: family.settle(state, handle, rerun)
        for family, state in handle.cm.plugins
        if family.settle is not None
    }


def report_rows(handle: LpHandle, inst: Instance, x, y) -> list[dict[str, Any]]:
    """``policies.csv`` rows of the plug-ins that report without constraint rows."""
    rows: list[dict[str, Any]] = []
    for family, state in handle.cm.plugins:
        if family.rows is not None:
            rows.extend(family.rows(state, handle, inst, x, y))
    return rows


def summaries(handle: LpHandle, result) -> dict[str, dict[str, Any]]:
    """What ``summary.json`` says of each plug-in with a ``summary`` hook."""
    return {
        family.type: family.summary(state, result)
        for family, state in handle.cm.plugins
        if family.summary is not None
    }


def check_result(inst: Instance, result) -> list[str]:
    """Every family invariant violated by a result's output tables."""
    types = {p.type for _, p in inst.policies}
    out: list[str] = []
    for family in FAMILIES:
        if family.check is not None and family.type in types:
            out.extend(family.check(inst, result))
    return out
