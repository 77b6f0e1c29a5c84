"""Build the Pyomo model of the chain: a table of contents of the constraint families."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from optimizer.model import (
    balance,
    demand,
    expansion,
    objective,
    processes,
    shortrun,
    storage,
    transport,
)
from optimizer.model.core import ChainModel
from optimizer.model.sets import IndexSets

#: A plug-in family: adds its variables, rows, balance and objective terms to the model.
Plugin = Callable[[ChainModel], None]


def build_model(sets: IndexSets, plugins: Sequence[Plugin] = ()) -> ChainModel:
    """Build the Pyomo model of the chain from its index sets.

    Reads like a table of contents: each family adds its variables, its own
    constraints and its terms of the commodity balance and the objective.
    ``plugins`` (the policies of a scenario: :func:`optimizer.policies.registry.plugins`)
    are called after the core families and before the balance rows are assembled,
    so they can add balance and objective terms too.  The model knows nothing of
    the plug-ins but this call.
    """
    # the build creates millions of small objects: the cyclic GC only slows it (2-5x)
    with PauseGC():
        cm = ChainModel(pyo.ConcreteModel(name="rechain"), sets)
        cm.balance_index = balance.balance_index(cm)
        processes.add_activity(cm)
        expansion.add_expansion(cm)
        processes.add_process_capacity(cm)
        transport.add_flows(cm)
        transport.add_link_capacity(cm)
        demand.add_unmet(cm)
        demand.add_demand_segments(cm)
        demand.add_extra_demand(cm)
        storage.add_disposal(cm)
        storage.add_inventory(cm)
        storage.add_safety_stocks(cm)
        shortrun.add_ramp_limits(cm)
        shortrun.add_lane_limits(cm)
        shortrun.add_resale(cm)
        for plugin in plugins:
            plugin(cm)
        shortrun.add_contracts(cm)  # after the plug-ins: lanes a policy restricts stay out
        balance.add_balance(cm)
        objective.add_objective(cm)
    return cm
