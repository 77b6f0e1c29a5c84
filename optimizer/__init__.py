"""rechain: the rare-earth permanent-magnet supply chain as a Pyomo LP solved by HiGHS.

>>> from optimizer import load
>>> net = load("instances/tiny")
>>> res = net.solve()
>>> res.shortages  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from optimizer.errors import InfeasibleError, InputError, Problem, RechainError, SolverError  # noqa: E402
from optimizer.instance import Instance, load  # noqa: E402

__all__ = [
    "InfeasibleError",
    "InputError",
    "Instance",
    "Problem",
    "RechainError",
    "SolverError",
    "__version__",
    "load",
]
