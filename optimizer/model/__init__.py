"""The LP, one module per constraint family; :func:`build_model` lists them in order."""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from optimizer.model import balance, demand, objective, processes, storage, transport
from optimizer.model.core import ChainModel
from optimizer.sets import IndexSets


def build_model(sets: IndexSets) -> ChainModel:
    """Build the Pyomo model of the chain from its index sets.

    Reads like a table of contents: each family adds its variables, its own
    constraints and its terms of the commodity balance and the objective.
    """
    with (
        PauseGC()
    ):  # the build creates millions of small objects: the cyclic GC only slows it (2-5x)
        cm = ChainModel(pyo.ConcreteModel(name="rechain"), sets)
        cm.balance_index = balance.balance_index(cm)
        processes.add_activity(cm)
        processes.add_process_capacity(cm)
        transport.add_flows(cm)
        transport.add_link_capacity(cm)
        demand.add_unmet(cm)
        storage.add_disposal(cm)
        storage.add_inventory(cm)
        balance.add_balance(cm)
        objective.add_objective(cm)
    return cm


__all__ = ["ChainModel", "build_model"]
