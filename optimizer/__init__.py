"""rechain: the rare-earth permanent-magnet supply chain as a Pyomo LP solved by HiGHS.

>>> from optimizer import load
>>> net = load("instances/tiny")
>>> res = net.solve()
>>> res.shortages  # doctest: +SKIP

The public names are imported lazily (PEP 562), so ``import optimizer`` and the
CLI's ``--help`` do not load Pyomo, HiGHS or pandas.  The layers of the package
are described in ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from typing import Any

from optimizer._version import __version__
from optimizer.errors import InfeasibleError, InputError, Problem, RechainError, SolverError

#: Public names and the module that defines them (imported on first use).
_LAZY = {"Instance": "optimizer.api", "Result": "optimizer.api", "load": "optimizer.api"}

#: Module paths of rechain 0.1 that moved, and where they live now.  ``import`` of an
#: old path still works (with a DeprecationWarning): the README documented
#: ``optimizer.criticality.criticality``.
MOVED = {
    "optimizer.criticality": "optimizer.analysis.criticality",
    "optimizer.whatif": "optimizer.analysis.whatif",
    "optimizer.survive": "optimizer.analysis.survive",
    "optimizer.sweep": "optimizer.analysis.sweep",
    "optimizer.invariants": "optimizer.results.invariants",
    "optimizer.mincut": "optimizer.analysis.mincut",
    "optimizer.structure": "optimizer.analysis.structure",
    "optimizer.compare": "optimizer.results.compare",
    "optimizer.instance": "optimizer.data.instance",
    "optimizer.schema": "optimizer.data.schema",
}


class _Moved(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of a moved module path get the module at its new path."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):  # the module already exists under its new name
        warnings.warn(
            f"{spec.name} moved to {MOVED[spec.name]}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module) -> None:
        pass


if not any(isinstance(f, _Moved) for f in sys.meta_path):
    sys.meta_path.append(_Moved())


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")


__all__ = [
    "InfeasibleError",
    "InputError",
    "Instance",
    "Problem",
    "RechainError",
    "Result",
    "SolverError",
    "__version__",
    "load",
]
