"""world-2025-monthly: 2025 month by month on world-2024 (issue on months).

The undisrupted months must be world-2024 spread over twelve months (the safety stocks'
carrying cost is the only addition, exactly); the stocks come from make_tables.py and
must be current; under the 2025 controls, decided month by month without foresight, the
months each market first goes short are regression values, and the licence review keeps
China's controlled exports at zero until it ends.  Every solve's invariants are checked
by the autouse fixture of tests/conftest.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from optimizer import load
from optimizer.results.shortfall import first_shortages
from tests.conftest import INSTANCES

MONTHLY = INSTANCES / "world-2025-monthly"
#: world-2024 with the short-run horizon (tests/instances/test_world_shortrun.py)
WORLD_2024_SHORT_OBJECTIVE = 14_174_224_907.27
MAGNETS = ["NdFeB_std", "NdFeB_ht", "SmCo"]


@pytest.fixture(scope="module")
def baseline():
    return load(MONTHLY).solve()


@pytest.fixture(scope="module")
def controls():
    return load(MONTHLY, ["cn-controls-2025"]).solve()


def _cn_exports(res, coms, month=None) -> float:
    f = res.flows
    f = f.loc[(f["source_country"] == "CN") & (f["target_country"] != "CN")]
    f = f.loc[f["commodity"].isin(coms)]
    if month is not None:
        f = f.loc[f["period"] == month]
    return float(f["quantity"].sum())


def test_stocks_csv_is_current():
    run = subprocess.run(
        [sys.executable, str(MONTHLY / "make_tables.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr


def test_every_stock_and_transit_row_has_a_source_and_says_it_is_an_estimate():
    inst = load(MONTHLY)
    ids = set(inst.tables["sources"]["id"])
    for name in ("stocks", "transit"):
        table = pd.read_csv(MONTHLY / f"{name}.csv")
        assert table["source"].isin(ids).all(), name
        assert table["note"].str.startswith("[E]").all(), name
    st = pd.read_csv(MONTHLY / "stocks.csv")
    assert (st["keep_cost"] > 0).all() and (st["quantity"] > 0).all()
    assert not st["site"].str.startswith(("cn_", "mkt_cn")).any()  # outside China only


def test_undisrupted_months_are_world_2024_plus_the_stocks_carrying_cost(baseline):
    st = pd.read_csv(MONTHLY / "stocks.csv")
    carrying = 0.01 * 12 * float((st["quantity"] * st["keep_cost"]).sum())
    assert baseline.objective == pytest.approx(WORLD_2024_SHORT_OBJECTIVE + carrying, abs=5)
    assert baseline.shortages["unmet"].sum() == pytest.approx(0, abs=1e-6)
    inv = baseline.inventory.merge(st[["site", "commodity", "quantity"]], on=["site", "commodity"])
    assert (inv["quantity_x"] - inv["quantity_y"]).abs().max() < 1e-6  # held steady
    # NdPr oxide is the 2024 price every month (no month is special)
    p = baseline.prices
    ndpr = p.loc[(p["site"] == "mkt_cn_yrd") & (p["commodity"] == "NdPr_oxide"), "marginal_cost"]
    assert len(ndpr) == 12 and ndpr.max() - ndpr.min() < 1e-6


def test_controls_month_by_month(controls):
    d = controls.summary["decisions"]
    assert d["mode"] == "myopic" and d["start"] == "2025-04" and d["plans"] == 9
    # the reference plan before April: 2024's magnet exports, 4,488 t a month
    for m in ("2025-01", "2025-02", "2025-03"):
        assert _cn_exports(controls, MAGNETS, m) == pytest.approx(4488, abs=1)
    # the review (63 days from 4 April) licenses nothing before 6 June: April carries only
    # its first three days (at most 3/30 of 4,488 t = 448.8 t; 445-449 t are shipped, the
    # rest of the plan is degenerate in it), May nothing
    april = _cn_exports(controls, MAGNETS, "2025-04")
    assert 440 <= april <= 4488.34 * 3 / 30
    assert _cn_exports(controls, MAGNETS, "2025-05") == pytest.approx(0, abs=1e-6)
    # licences are shares of the requests made since 4 April, granted to date
    # (cumulative_since): June and July ship the backlog, then exports settle at the share
    assert _cn_exports(controls, MAGNETS, "2025-06") == pytest.approx(2800, abs=1)
    assert _cn_exports(controls, MAGNETS, "2025-07") == pytest.approx(4268, abs=1)
    assert _cn_exports(controls, MAGNETS, "2025-09") == pytest.approx(2049, abs=1)
    # November's 50 % of requests to date (EU-wide, 5 November) is below July's 60 %
    # (CLEPA's auto suppliers): what is licensed already is kept, little more is added
    assert _cn_exports(controls, MAGNETS, "2025-11") == pytest.approx(1137, abs=1)


#: Korea's approval share of requests to date by the end of each month (cn-controls-2025:
#: nothing before the review ends on 6 June, then 50 %, 60 % from July, default 50 % after
#: the truce)
KOREA = {"2025-04": 0, "2025-05": 0, "2025-06": 0.5, "2025-07": 0.6, "2025-08": 0.6}
KOREA |= {"2025-09": 0.6, "2025-10": 0.6, "2025-11": 0.5, "2025-12": 0.5}


def test_licences_to_date_are_never_exceeded(controls):
    # recomputed from the flows: Korea's controlled magnets shipped from 4 April to the end
    # of each month <= 3 days of April's reference exports + the share x the reference
    # (undisrupted) exports since 4 April, the requests
    def korea(res):
        f = res.flows
        f = f.loc[(f["source_country"] == "CN") & (f["target_country"] == "KR")]
        f = f.loc[f["commodity"].isin(MAGNETS)]
        q = f.groupby(["commodity", "period"])["quantity"].sum().unstack(0)
        return q.reindex([f"2025-{m:02d}" for m in range(1, 13)]).fillna(0.0)

    shipped = korea(controls).loc["2025-04":].cumsum()
    ref = korea(controls.extra["reference"]).reindex(columns=shipped.columns, fill_value=0)
    assert (ref.loc["2025-04"] > 0).any()
    pre = ref.loc["2025-04"] * 3 / 30
    requested = ref.loc["2025-04":].cumsum() - pre
    before = shipped.loc["2025-04"] * 0
    for month, share in KOREA.items():
        # a lower share than before (November's 50 % after July's 60 %) licenses nothing
        # until the requests catch up: nothing is taken back
        allowed = np.maximum(pre + share * requested.loc[month], before)
        assert (shipped.loc[month] <= allowed + 1e-6).all(), month
        before = shipped.loc[month]
    assert (shipped.loc["2025-11"] - shipped.loc["2025-10"]).sum() == pytest.approx(0, abs=1e-6)
    # Korea is short: June ships as much of April-June's backlog as the lane can take
    # more than its reference (short_run.lane_ramp 0.3 at magnets), July the rest licensed
    june = shipped.loc["2025-06"] - shipped.loc["2025-05"]
    assert june.to_numpy() == pytest.approx(1.3 * ref.loc["2025-06"].to_numpy(), rel=1e-6)
    july = pre + 0.6 * requested.loc["2025-07"]
    assert shipped.loc["2025-07"].to_numpy() == pytest.approx(july.to_numpy(), rel=1e-6)


def test_when_car_parts_first_go_short(controls):
    fs = first_shortages(controls)
    cars = fs.loc[fs["commodity"].isin(["ev_traction", "auto_other"])]
    first = cars.dropna(subset=["first_short"]).groupby("market")["first_short"].min()
    # regression values (docs/backtest-2025.md rows M8-M11 set them beside what happened)
    # China's own car-part makers are not short: their idle lines (short_run.utilisation)
    # serve China's markets (they were short from April while capacity was 2024 output)
    assert first.to_dict() == {
        "mkt_eu": "2025-05",
        "mkt_in": "2025-06",
        "mkt_jp": "2025-06",
        "mkt_kr": "2025-04",
        "mkt_row": "2025-04",
        "mkt_us": "2025-05",
    }
    # the stocks run down while they last: India's motor makers' magnets (the European
    # six weeks), then the automakers' own parts (Crisil's weeks, an OEM stock at the
    # market), which last to June
    inv = controls.inventory
    ind = inv.loc[(inv["site"] == "in_comp") & (inv["commodity"] == "NdFeB_ht")]
    q = ind.set_index("period")["quantity"]
    assert q["2025-03"] == pytest.approx(296.423, abs=1e-3)
    assert q["2025-04"] > q["2025-05"] >= q["2025-06"]
    oem = inv.loc[(inv["site"] == "mkt_in") & (inv["commodity"] == "auto_other")]
    q = oem.set_index("period")["quantity"]
    assert q["2025-03"] == pytest.approx(403.754, abs=1e-3)
    assert q["2025-04"] > q["2025-05"] > q.get("2025-06", 0.0)


def test_a_norway_in_a_region_gets_a_hint(tmp_path, tiny_copy):
    y = (tiny_copy / "instance.yaml").read_text()
    (tiny_copy / "instance.yaml").write_text(
        y.replace("regions:\n", "regions:\n  nordic: [SE, NO]\n", 1)
    )
    run = subprocess.run(
        [sys.executable, "-m", "optimizer", "validate", str(tiny_copy)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert 'quote the code ("NO")' in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


def test_the_timeline_draws_chinas_magnet_exports_by_month_and_destination(controls):
    from optimizer.report.figures import timeline as TL
    from optimizer.report.names import Names

    inst = load(MONTHLY, ["cn-controls-2025"])
    ex = TL.exports_by_month(controls, inst, "CN", "magnets")
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    by_month = ex.groupby("period")["quantity"].sum()
    assert list(by_month.index) == months
    for m in months:  # the same tonnes as the flows of the three magnet commodities
        assert by_month[m] == pytest.approx(_cn_exports(controls, MAGNETS, m), abs=1e-6)
    assert by_month["2025-01"] == pytest.approx(4488, abs=1)
    assert by_month["2025-05"] == pytest.approx(0, abs=1e-6)
    ev = TL.events(inst, months)
    fig = TL.timeline_exports_figure(controls, inst, Names(inst, [controls]), ev)
    assert fig is not None
    # one stacked bar per destination country, named, summing to the month's exports
    assert {"Japan", "United States", "South Korea"} <= {tr.name for tr in fig.data}
    total = np.sum([np.asarray(tr.y, dtype=float) for tr in fig.data], axis=0)
    assert total == pytest.approx(by_month.to_numpy(), abs=1e-6)
    assert len(fig.layout.shapes) == len(ev) >= 3  # the policy dates, dashed
    # the report's Month by month section draws it too
    from optimizer.report import render_report

    html = render_report(controls, inst)
    assert "Magnet exports from China by month" in html and "r-tl-exports" in html
