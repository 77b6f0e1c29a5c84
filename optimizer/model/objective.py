r"""The objective: total cost, minimised.

.. math::

    \min \sum_t w_t \Big( \sum \mathrm{cost}\cdot\mathrm{act}
    + \sum \mathrm{cost}\cdot\mathrm{flow} + \sum \delta\cdot\mathrm{dispose}
    + \sum h\cdot\mathrm{inventory} + \sum \pi\cdot\mathrm{unmet} \Big)

with :math:`w_t = (1+r)^{-(t - t_{base})}` (``defaults.discount_rate``, 0 by default).
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from optimizer.model.core import ChainModel, linear


def add_objective(cm: ChainModel) -> None:
    """Objective ``total_cost`` from the terms the families contributed."""
    coefs: list[float] = []
    data: list = []
    for name, pos, coef, _group in cm.objective_terms:
        data.extend(np.asarray(cm.var_data[name], dtype=object)[pos].tolist())
        coefs.extend(coef.tolist())
    cm.m.total_cost = pyo.Objective(expr=linear(coefs, data), sense=pyo.minimize)
