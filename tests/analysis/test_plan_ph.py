"""Progressive hedging for ``rechain plan`` agrees with the extensive form (docs/plan.md).

Real HiGHS and a real Dask LocalCluster of 2 workers.  The stated tolerance: PH stops
when its plan's objective is within ``ph_gap`` (relative) of the Lagrangian lower bound,
or when the residual of nonanticipativity is below ``ph_tol``; the lower bound is a
bound, so LB <= extensive-form optimum <= PH objective.
"""

from __future__ import annotations

import json
import warnings

import pytest
from typer.testing import CliRunner

from optimizer import load
from optimizer.analysis.plan import plan
from optimizer.cli import app
from optimizer.errors import InputError
from tests.analysis.test_plan import _chain, _stock, _stocked
from tests.conftest import TINY

runner = CliRunner()


@pytest.fixture(scope="module")
def scheduler():
    """One LocalCluster of 2 worker processes for the module's runs through --scheduler
    (starting a cluster costs seconds; the test that starts its own checks that path)."""
    from dask.distributed import LocalCluster

    with warnings.catch_warnings():
        # the scheduler's HTTP port is taken when another cluster runs on the machine
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
    with cluster:
        yield cluster.scheduler_address


TINY_SCENARIOS = ["none", "south-mine-halved", "no-heavy-ore"]
TINY_PROBS = [0.5, 0.3, 0.2]
TINY_STOCK = [("magnets", "Dy_oxide"), ("market_eu", "magnet_ht")]


def _agree(ph, ef) -> None:
    """PH's objective within its stated gap of the extensive form's, bracketed by its bound."""
    f = ph.summary["progressive_hedging"]
    assert f["converged"]
    assert f["lower_bound"] <= ef.objective * (1 + 1e-9) + 1e-6
    assert ph.objective >= ef.objective * (1 - 1e-9) - 1e-6
    assert (ph.objective - f["lower_bound"]) / ph.objective == pytest.approx(f["gap"])
    assert f["gap"] <= f["gap_tolerance"] or f["residual"] <= f["tolerance"]
    assert ph.objective - ef.objective <= max(f["gap"], 1e-4) * ph.objective + 1e-6


def test_ph_on_two_dask_workers_agrees_with_the_extensive_form_on_the_worked_example(tmp_path):
    # docs/plan.md: h = 150, stock 100 t, RP = 16,280 USD (by hand)
    inst, cut = _chain(tmp_path)
    kw = {"stockpiles": _stock(150), "value_of_information": False}
    ef = plan(inst, [cut, "none"], [0.2, 0.8], **kw)
    ph = plan(inst, [cut, "none"], [0.2, 0.8], decomposition="ph", workers=2, **kw)
    assert ef.objective == pytest.approx(16_280)
    _agree(ph, ef)
    assert ph.objective == pytest.approx(16_280, rel=1e-4)
    assert _stocked(ph) == pytest.approx(100, rel=1e-3)
    f = ph.summary["progressive_hedging"]
    assert f["engine"] == "dask (2 workers, LocalCluster)"
    assert ph.summary["decomposition"] == "ph" and "extensive_form" not in ph.summary
    # the same tables as the extensive form, the same scenarios' outcomes
    assert list(ph.plan.columns) == list(ef.plan.columns)
    assert list(ph.scenarios.columns) == list(ef.scenarios.columns)
    sc = ph.scenarios.set_index("scenario")
    assert sc.loc["none", "second_stage_cost"] == pytest.approx(1_100, rel=1e-4)
    assert sc.loc["cut", "unmet_value"] == pytest.approx(0, abs=1e-6)


def test_ph_agrees_with_the_extensive_form_on_three_scenarios_of_tiny(scheduler):
    inst = load(TINY)
    kw = {
        "stockpiles": TINY_STOCK,
        "holding_cost": 20_000,
        "release_cost": 20_000,
        "value_of_information": False,
    }
    ef = plan(inst, TINY_SCENARIOS, TINY_PROBS, **kw)
    ph = plan(inst, TINY_SCENARIOS, TINY_PROBS, decomposition="ph", scheduler=scheduler, **kw)
    _agree(ph, ef)
    assert ph.summary["progressive_hedging"]["engine"] == f"dask (2 workers at {scheduler})"
    assert ph.summary["progressive_hedging"]["iterations"] >= 1  # the copies disagreed first
    a = ef.plan.set_index("id")["amount"]
    b = ph.plan.set_index("id")["amount"]
    assert list(a.index) == list(b.index) == ["magnets:Dy_oxide"]
    assert b.iloc[0] == pytest.approx(a.iloc[0], rel=2e-3)  # 18 t (PH: 17.97)


def test_ph_with_cvar_has_eta_as_a_first_stage_column_and_matches_the_hand_computation(
    tmp_path, scheduler
):
    # docs/plan.md: ore worth 500 USD/t, h = 250; the cut loses 50,000 USD; a stocked tonne
    # adds 54 USD of expected cost and removes 500 of CVaR: stocked iff 500 lambda > 54
    inst, cut = _chain(tmp_path, value=500.0)
    kw = {"stockpiles": _stock(250), "value_of_information": False, "decomposition": "ph"}
    high = plan(inst, [cut, "none"], [0.2, 0.8], risk_weight=0.2, scheduler=scheduler, **kw)
    assert _stocked(high) == pytest.approx(100, rel=1e-3)
    assert high.objective == pytest.approx(26_280, rel=1e-4)
    assert high.summary["cvar"] == pytest.approx(0, abs=50)
    f = high.summary["progressive_hedging"]
    assert f["converged"] and f["lower_bound"] <= 26_280 + 1e-6
    # at lambda = 0.1 the optimum stocks nothing (25,880) and PH's copies of eta converge
    # slowly: a few iterations give a plan, its objective and a valid bracket
    low = plan(inst, [cut, "none"], [0.2, 0.8], risk_weight=0.1, workers=1, ph_max_iter=20, **kw)
    g = low.summary["progressive_hedging"]
    assert not g["converged"] and g["iterations"] == 20
    assert g["lower_bound"] <= 25_880 + 1e-6 <= low.objective + 2e-6
    assert g["gap"] == pytest.approx((low.objective - g["lower_bound"]) / low.objective)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"decomposition": "benders"}, "--decomposition"),
        ({"decomposition": "ph", "ph_rho": 0.0}, "--ph-rho"),
        ({"decomposition": "ph", "ph_tol": -1.0}, "--ph-tol"),
        ({"decomposition": "ph", "ph_gap": float("nan")}, "--ph-gap"),
        ({"decomposition": "ph", "ph_max_iter": 0}, "--ph-max-iter"),
        ({"decomposition": "ph", "workers": 0}, "--workers"),
        ({"decomposition": "ph", "workers": 2, "scheduler": "tcp://x:1"}, "not both"),
        ({"workers": 2}, "give --decomposition ph"),
        ({"decomposition": "ph", "frontier": 3}, "re-solves one extensive form"),
    ],
)
def test_bad_ph_options_are_input_errors(kw, message):
    with pytest.raises(InputError, match=message):
        plan(load(TINY), TINY_SCENARIOS, TINY_PROBS, stockpiles=[], **kw)


def test_cli_plan_by_ph_writes_the_same_files_and_exits_2_on_bad_options(tmp_path):
    args = ["plan", str(TINY), *[a for s in TINY_SCENARIOS for a in ("-s", s)]]
    args += [a for p in TINY_PROBS for a in ("--prob", str(p))]
    args += [a for s, c in TINY_STOCK for a in ("--stock", f"{s}:{c}")]
    args += ["--stock-cost", "20000", "--release-cost", "20000"]
    out = tmp_path / "out"
    r = runner.invoke(app, [*args, "--decomposition", "ph", "--workers", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "progressive hedging:" in r.output and "gap" in r.output
    s = json.loads((out / "summary.json").read_text())
    assert s["decomposition"] == "ph"
    f = s["progressive_hedging"]
    assert {"iterations", "residual", "lower_bound", "gap", "objective"} <= set(f)
    assert f["lower_bound"] <= s["objective"]
    assert (out / "plan.csv").read_text().startswith("kind,id,site,process,commodity,amount")
    for bad, name in [
        (["--decomposition", "ph", "--ph-rho", "-1"], "--ph-rho"),
        (["--decomposition", "ph", "--ph-max-iter", "0"], "--ph-max-iter"),
        (["--decomposition", "nope"], "--decomposition"),
        (["--workers", "2"], "--workers"),
    ]:
        r = runner.invoke(app, [*args, *bad])
        assert r.exit_code == 2, (bad, r.output)
        assert name in r.output and "Traceback" not in r.output
