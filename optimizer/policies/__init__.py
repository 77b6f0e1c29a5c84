"""Policies are data: each type has a schema (:mod:`.schema`) and one function that adds
its rows or costs to the model; a family with no policies of its type adds nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from optimizer.policies.environment import add_environmental_caps, add_production_targets
from optimizer.policies.origin import add_procurement_bans
from optimizer.policies.price import add_price_floors
from optimizer.policies.schema import SUPPORTED, Policy, PolicyEnvelope
from optimizer.policies.shares import add_diversification_caps, add_domestic_shares
from optimizer.policies.trade import add_export_controls, add_tariffs

if TYPE_CHECKING:
    from optimizer.instance import Instance
    from optimizer.model.core import ChainModel
    from optimizer.results import Result

#: The policy families, in the order they are added to the model.
FAMILIES = (
    add_export_controls,
    add_tariffs,
    add_diversification_caps,
    add_domestic_shares,
    add_procurement_bans,
    add_environmental_caps,
    add_production_targets,
    add_price_floors,
)


def add_policies(cm: ChainModel, inst: Instance, baseline: Result | None) -> None:
    """Add every policy of ``inst`` to the model (a no-op when it has none)."""
    if not inst.policies:
        return
    for family in FAMILIES:
        family(cm, inst, inst.policies, baseline)


def needs_baseline(inst: Instance) -> bool:
    """True when a policy is defined relative to the unconstrained baseline."""
    return any(p.needs_baseline() for _, p in inst.policies)


__all__ = ["FAMILIES", "SUPPORTED", "Policy", "PolicyEnvelope", "add_policies", "needs_baseline"]
