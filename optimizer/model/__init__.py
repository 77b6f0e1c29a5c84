"""The LP, one module per constraint family; :func:`build_model` lists them in order."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from optimizer.model import balance, demand, expansion, objective, processes, storage, transport
from optimizer.model.core import ChainModel
from optimizer.sets import IndexSets

if TYPE_CHECKING:
    from optimizer.instance import Instance
    from optimizer.results import Result


def build_model(
    sets: IndexSets, inst: Instance | None = None, baseline: Result | None = None
) -> ChainModel:
    """Build the Pyomo model of the chain from its index sets.

    Reads like a table of contents: each family adds its variables, its own
    constraints and its terms of the commodity balance and the objective.
    Policies of ``inst`` (from scenarios) are added as their own families;
    ``baseline`` is the unconstrained solve that share-of-baseline policies
    refer to.
    """
    with (
        PauseGC()
    ):  # the build creates millions of small objects: the cyclic GC only slows it (2-5x)
        cm = ChainModel(pyo.ConcreteModel(name="rechain"), sets)
        cm.balance_index = balance.balance_index(cm)
        processes.add_activity(cm)
        expansion.add_expansion(cm)
        processes.add_process_capacity(cm)
        transport.add_flows(cm)
        transport.add_link_capacity(cm)
        demand.add_unmet(cm)
        storage.add_disposal(cm)
        storage.add_inventory(cm)
        if inst is not None:
            from optimizer.policies import add_policies

            add_policies(cm, inst, baseline)
        balance.add_balance(cm)
        objective.add_objective(cm)
    return cm


__all__ = ["ChainModel", "build_model"]
