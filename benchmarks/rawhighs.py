"""The raw-HiGHS reference the benchmarks compare against: the exact LP, exported to MPS,
read and solved by a fresh ``highspy.Highs`` with the same method (timed together)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from optimizer.lp.export import export_model
from optimizer.lp.run import new_highs


def raw_solve(handle, method: str) -> tuple[float, float]:
    """(seconds to read and solve, objective) of ``handle``'s LP in a fresh HiGHS."""
    with tempfile.TemporaryDirectory() as d:
        mps = Path(d) / "m.mps"
        export_model(handle, mps)
        h = new_highs()
        t0 = time.perf_counter()
        h.readModel(str(mps))
        h.setOptionValue("solver", method)
        if method == "ipm":
            h.setOptionValue("run_crossover", "on")
        h.run()
        return time.perf_counter() - t0, h.getInfo().objective_function_value
