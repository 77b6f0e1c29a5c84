"""Months: annual <-> monthly conversion, safety stocks, transit, licence lag, rolling
decisions — every number worked out by hand on a three-site chain.

The chain: a Chinese magnet supplier ``sup`` (10 t a month at capacity) ships to a
German motor maker ``fab`` (one tonne of magnet per tonne of motors), which serves the
German market ``mkt`` (120 t a year = 10 t a month).  ``fab`` holds a safety stock of
25 t of magnets (2.5 months of use).  The ban stops every Chinese magnet export from
1 April 2025 (``starts: 2025-04-01``).
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from optimizer.analysis.rolling import first_shortages, rolling_solve
from optimizer.api import load
from optimizer.data import periods as P
from optimizer.results.shortfall import stock_cover
from optimizer.solve import solve
from tests.builders import commodity, recipe_row, site, write_instance

MONTHS = "2025-01..2025-12"


def chain(tmp_path, *, transit_days: float | str = "", stock: float = 25, capacity=120):
    folder = tmp_path / "chain"
    write_instance(
        folder,
        {"periods": MONTHS, "base_year": 2025, "defaults": {"shortage_penalty": 1000}},
        commodities=[
            commodity("magnet", "magnet", storage_cost=1, source="test"),
            commodity("motor", "component", source="test"),
        ],
        sites=[
            site("sup", "CN", "magnet", source="test"),
            site("fab", "DE", "component", source="test"),
            site("mkt", "DE", "market", source="test"),
        ],
        recipes=[
            recipe_row("make", "magnet"),
            recipe_row("assemble", "magnet", "input"),
            recipe_row("assemble", "motor"),
        ],
        processes=[
            {
                "id": "sup_line",
                "site": "sup",
                "recipe": "make",
                "capacity": capacity,
                "cost": 10,
                "source": "test",
            },
            {
                "id": "fab_line",
                "site": "fab",
                "recipe": "assemble",
                "capacity": 1200,
                "cost": 5,
                "source": "test",
            },
        ],
        links=[
            {
                "id": "sea",
                "from_site": "sup",
                "to_site": "fab",
                "commodity": "magnet",
                "capacity": "",
                "cost": 1,
                "transit_days": transit_days,
                "source": "test",
            },
            {
                "id": "road",
                "from_site": "fab",
                "to_site": "mkt",
                "commodity": "motor",
                "capacity": "",
                "cost": 1,
                "transit_days": "",
                "source": "test",
            },
        ],
        demand=[
            {
                "market": "mkt",
                "commodity": "motor",
                "period": 2025,
                "quantity": 120,
                "shortage_penalty": "",
                "source": "test",
            }
        ],
        stocks=[
            {
                "site": "fab",
                "commodity": "magnet",
                "quantity": stock,
                "keep_cost": 100,
                "source": "test",
            }
        ],
    )
    (folder / "scenarios").mkdir()
    return folder


def scenario(folder, name: str, **control) -> str:
    pol = {
        "type": "export_control",
        "id": name,
        "exporter": "CN",
        "commodities": "magnet",
        "destinations": "all",
        "starts": "2025-04-01",
        **control,
    }
    doc = {"id": name, "title": name, "policies": [pol]}
    (folder / "scenarios" / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    return name


def monthly_unmet(res) -> pd.Series:
    sh = res.shortages
    return sh.set_index("period")["unmet"].reindex(P.expand(MONTHS)).fillna(0.0).round(6)


def test_annual_and_monthly_tiny_have_the_same_optimum(tmp_path, tiny_copy):
    annual = solve(load(tiny_copy))
    y = yaml.safe_load((tiny_copy / "instance.yaml").read_text())
    y["periods"] = "2024-01..2024-12"
    (tiny_copy / "instance.yaml").write_text(yaml.safe_dump(y))
    monthly = solve(load(tiny_copy))
    assert monthly.objective == pytest.approx(annual.objective, rel=1e-9)
    a = annual.flows.groupby("link")["quantity"].sum()
    m = monthly.flows.groupby("link")["quantity"].sum()
    pd.testing.assert_series_equal(a, m, rtol=1e-7)
    assert sorted(set(monthly.flows["period"])) == P.expand("2024-01..2024-12")


def test_baseline_months_keep_the_safety_stock_and_serve_everything(tmp_path):
    res = solve(load(chain(tmp_path)))
    assert res.total_unmet == pytest.approx(0, abs=1e-6)
    inv = res.inventory.set_index("period")["quantity"]
    assert (inv.round(6) == 25).all() and len(inv) == 12  # steady: 25 t every month end
    # 120 t of magnets at 10 + 1 + assembly 5 + delivery 1 = 17 USD per motor tonne,
    # and 25 t held all year at 1 USD/t/yr plus the carrying rate (1 % of the 100 USD
    # keep cost a month)
    assert res.objective == pytest.approx(120 * 17 + 25 * 1 + 25 * 0.01 * 100 * 12)


def test_ban_with_two_and_a_half_months_of_cover_stops_the_line_in_june(tmp_path):
    folder = chain(tmp_path)
    res = rolling_solve(load(folder, [scenario(folder, "ban", max_share=0)]))
    u = monthly_unmet(res)
    # April and May run on stock (25 -> 15 -> 5), June has 5 t for 10 t of demand
    assert u["2025-05"] == 0 and u["2025-06"] == pytest.approx(5)
    assert u["2025-07":].eq(10).all() and u.sum() == pytest.approx(65)
    inv = res.inventory.groupby("period")["quantity"].sum()
    assert inv.get("2025-03") == pytest.approx(25) and inv.get("2025-04") == pytest.approx(15)
    first = first_shortages(res).set_index("market").loc["mkt"]
    assert first["first_short"] == "2025-06" and first["months_short"] == 7
    # the motors' stock is the maker's magnets (it ships motors to the market): 15, 5, 0
    # of 25 t left at the ends of April, May and June, so the line stops when it is short
    cover = stock_cover(res).set_index("period")["stock_left"]
    assert cover[["2025-03", "2025-04", "2025-05", "2025-06"]].tolist() == pytest.approx(
        [1.0, 0.6, 0.2, 0.0]
    )
    assert first["stock_left"] == pytest.approx(0) and first["first_spent"] == "2025-06"
    assert res.summary["decisions"]["start"] == "2025-04"
    assert res.summary["decisions"]["mode"] == "myopic"


@pytest.mark.parametrize("where", ["link", "transit.csv"])
def test_six_weeks_at_sea_delay_the_stop_by_two_months(tmp_path, where):
    # 1.5 months in transit: March's and February's shipments land 10 t in April and
    # half of March's (5 t) in May, so stock lasts to the end of July
    days = 1.5 * P.DAYS_PER_MONTH
    folder = chain(tmp_path, transit_days=days if where == "link" else "")
    if where == "transit.csv":  # by country pair (a region works too)
        pd.DataFrame(
            [
                {"from": "CN", "to": "EU", "days": days, "source": "test"},
                {"from": "CN", "to": "DE", "days": 99, "source": "test"},
            ]
        ).to_csv(folder / "transit.csv", index=False)
        y = yaml.safe_load((folder / "instance.yaml").read_text())
        y["regions"] = {"EU": ["DE", "FR"]}
        (folder / "instance.yaml").write_text(yaml.safe_dump(y))
    res = rolling_solve(load(folder, [scenario(folder, "ban", max_share=0)]))
    u = monthly_unmet(res)
    assert u[:"2025-07"].eq(0).all()
    assert u["2025-08":].eq(10).all() and u.sum() == pytest.approx(50)
    inv = res.inventory.groupby("period")["quantity"].sum()
    assert [inv.get(m, 0) for m in ("2025-04", "2025-05", "2025-06", "2025-07")] == (
        pytest.approx([25, 20, 10, 0])
    )


@pytest.mark.parametrize("capacity", [120, 108])
def test_steady_state_at_sea_creates_no_magnets(tmp_path, capacity):
    # Six weeks at sea over a repeating year: what lands in January and February was
    # shipped in November and December (the months wrap round), so every tonne shipped
    # lands once.  With 10 t a month of supply nothing changes at all; with 9 t the 25 t
    # stock covers the 12 t gap (a shortage costs 1000 USD/t, a tonne short of the stock
    # at the end its 100 USD keep cost) and ends at 13 t either way.
    days = 1.5 * P.DAYS_PER_MONTH
    plain = solve(load(chain(tmp_path / "a", capacity=capacity)))
    sea = solve(load(chain(tmp_path / "b", capacity=capacity, transit_days=days)))
    for res in (plain, sea):
        assert res.total_unmet == pytest.approx(0, abs=1e-6)
        inv = res.inventory.groupby("period")["quantity"].sum()
        assert inv["2025-12"] == pytest.approx(25 - (120 - capacity))
        shipped = res.flows.loc[res.flows["link"] == "sea", "quantity"].sum()
        assert shipped == pytest.approx(capacity)
    if capacity == 120:
        assert sea.objective == pytest.approx(plain.objective, rel=1e-12)
    else:
        # the wrap holds for what is at sea, not for stocks: a plan that draws its stock
        # may ship round the year's end and stay above the safety level for longer,
        # saving at most the monthly keep penalty (2 % of 100 USD a tonne-month, 156 in
        # all when the 12 t are drawn 1 t a month)
        assert plain.objective - 156 <= sea.objective <= plain.objective + 1e-9


def test_licence_lag_moves_the_first_short_month_from_september_to_july(tmp_path):
    folder = chain(tmp_path)
    half = rolling_solve(load(folder, [scenario(folder, "half", max_share=0.5)]))
    lagged = rolling_solve(
        load(folder, [scenario(folder, "lagged", max_share=0.5, licence_lag_days=61)])
    )
    # half of normal from April: 5 t short a month, drawn from 25 t -> lasts Apr..Aug
    assert first_shortages(half).loc[0, "first_short"] == "2025-09"
    assert monthly_unmet(half).sum() == pytest.approx(4 * 5)
    # nothing until 1 June (61 days of review), then half: 25 - 10 - 10 - 5 = 0 by June
    fs = first_shortages(lagged).loc[0]
    assert fs["first_short"] == "2025-07" and fs["months_short"] == 6
    assert monthly_unmet(lagged).sum() == pytest.approx(6 * 5)


def test_a_share_of_requests_to_date_licenses_the_backlog_late(tmp_path):
    # half of the requests made since 1 April licensed by the end of each month, none
    # before 1 June (61 days of review); the supplier can make 15 t a month.  By the end
    # of June half of April-June's 30 t of requests is licensed: 15 t ship in June
    # (April's and May's backlog with June's), then 5 t a month (half of 10 t).  Stock:
    # 25 -> 15 (Apr) -> 5 (May) -> 10 (Jun) -> 5 (Jul) -> 0 (Aug), then 5 t short a
    # month: Sep-Dec, 20 t (a share of each month's exports: 6 months, 30 t)
    folder = chain(tmp_path, capacity=180)
    pol = {"max_share": 0.5, "licence_lag_days": 61}
    month = rolling_solve(load(folder, [scenario(folder, "month", **pol)]))
    to_date = rolling_solve(
        load(folder, [scenario(folder, "to_date", cumulative_since="2025-04-01", **pol)])
    )
    assert monthly_unmet(month).sum() == pytest.approx(30)
    fs = first_shortages(to_date).loc[0]
    assert fs["first_short"] == "2025-09" and fs["months_short"] == 4
    assert monthly_unmet(to_date).sum() == pytest.approx(20)
    f = to_date.flows.loc[to_date.flows["link"] == "sea"].set_index("period")["quantity"]
    assert f["2025-06"] == pytest.approx(15) and f["2025-07"] == pytest.approx(5)
    assert f["2025-04":"2025-05"].sum() == pytest.approx(0, abs=1e-9)
    assert f["2025-04":].sum() == pytest.approx(0.5 * 90)  # half of 9 months of requests
    # one plan that knows the rule (foresight) gets the same licences
    fore = rolling_solve(
        load(folder, [scenario(folder, "fore", cumulative_since="2025-04-01", **pol)]),
        decisions="foresight",
    )
    assert monthly_unmet(fore).sum() == pytest.approx(20)


def test_shortage_gaming_asks_for_need_over_the_share_seen(tmp_path):
    # as above, but applicants who saw half their requests granted ask for twice their
    # need (requests: shortage_gaming): April-June's requests are 10 t a month (no grant
    # seen before June), from July 20 t.  Licensed to date: June 0.5 x 30 = 15 t, July
    # 0.5 x 50 = 25 t, then +10 t a month: 15 t ship in June, 10 t (the need) each month
    # after; the 25 t stock covers April and May, nothing is short, and the stock ends at
    # 25 + 75 - 90 = 10 t
    folder = chain(tmp_path, capacity=180)
    pol = {"max_share": 0.5, "licence_lag_days": 61, "cumulative_since": "2025-04-01"}
    gamed = rolling_solve(
        load(folder, [scenario(folder, "gamed", requests="shortage_gaming", **pol)])
    )
    assert monthly_unmet(gamed).sum() == pytest.approx(0, abs=1e-6)
    f = gamed.flows.loc[gamed.flows["link"] == "sea"].set_index("period")["quantity"]
    assert f["2025-04":"2025-05"].sum() == pytest.approx(0, abs=1e-9)
    assert f["2025-06"] == pytest.approx(15)
    assert f["2025-07":].to_numpy() == pytest.approx([10.0] * 6)
    stock = gamed.inventory.groupby("period")["quantity"].sum()
    assert stock["2025-12"] == pytest.approx(10)
    # one plan over all the months (foresight) sees the same shares
    fore = rolling_solve(
        load(folder, [scenario(folder, "fore", requests="shortage_gaming", **pol)]),
        decisions="foresight",
    )
    assert monthly_unmet(fore).sum() == pytest.approx(0, abs=1e-6)
    f = fore.flows.loc[fore.flows["link"] == "sea"].groupby("period")["quantity"].sum()
    assert f["2025-04":].sum() == pytest.approx(75)


def test_shortage_gaming_needs_requests_to_date():
    from pydantic import ValidationError

    from optimizer.scenarios.policy_schema import ExportControl

    with pytest.raises(ValidationError, match="needs cumulative_since"):
        ExportControl(
            type="export_control", exporter="CN", max_share=0.5, requests="shortage_gaming"
        )


def test_licensed_share_is_prorated_by_days():
    from optimizer.scenarios.policy_schema import ExportControl

    p = ExportControl(
        type="export_control",
        exporter="CN",
        max_share=0.25,
        starts="2025-04-04",
        licence_lag_days=63,
    )
    # April: 3 of 30 days before the rule, then review; May: review; June: 6 June on
    assert p.licensed_share("2025-04", 0.25) == pytest.approx(3 / 30)
    assert p.licensed_share("2025-05", 0.25) == 0
    assert p.licensed_share("2025-06", 0.25) == pytest.approx(0.25 * 25 / 30)
    assert p.licensed_share("2025-07", 0.25) == 0.25
    assert p.licensed_share(2025, 0.25) == pytest.approx((93 + 0.25 * 209) / 365)


def test_foresight_stocks_up_before_a_known_ban_myopic_does_not(tmp_path):
    # the supplier can make 15 t a month (5 t spare): a plan that knows of the April ban
    # in January adds 3 x 5 t to the 25 t stock before it, one that does not cannot
    folder = chain(tmp_path, capacity=180)
    inst = load(folder, [scenario(folder, "ban", max_share=0)])
    fore = rolling_solve(inst, decisions="foresight", start="2025-01")
    assert fore.summary["decisions"]["mode"] == "foresight"
    assert monthly_unmet(fore).sum() == pytest.approx(90 - 40)
    # (whether it serves January or stocks that tonne too is a tie at equal penalties)
    assert fore.inventory.groupby("period")["quantity"].sum()["2025-03"] >= 40 - 1e-6
    myopic = rolling_solve(inst)
    assert monthly_unmet(myopic).sum() == pytest.approx(90 - 25)
    # foresight from the ban's first month knows no more than the stock on hand
    late = rolling_solve(inst, decisions="foresight")
    assert late.summary["decisions"]["start"] == "2025-04"
    assert monthly_unmet(late).sum() == pytest.approx(65)


def test_bad_decisions_and_start_are_input_errors(tmp_path):
    from optimizer.errors import InputError

    folder = chain(tmp_path)
    inst = load(folder, [scenario(folder, "ban", max_share=0)])
    with pytest.raises(InputError) as e:
        rolling_solve(inst, decisions="psychic", start="2030-01")
    text = str(e.value)
    assert "psychic" in text and "2030-01" in text


def test_cli_solve_writes_the_month_of_the_first_shortage_and_the_timeline(tmp_path):
    from typer.testing import CliRunner

    from optimizer.cli import app

    folder = chain(tmp_path)
    scenario(folder, "ban", max_share=0)
    out, html = tmp_path / "out", tmp_path / "r.html"
    r = CliRunner().invoke(
        app, ["solve", str(folder), "-s", "ban", "--out", str(out), "--report", str(html)]
    )
    assert r.exit_code == 0, r.output
    assert "myopic from 2025-04 (3-month plans)" in r.output and "When lines stop" in r.output
    fs = pd.read_csv(out / "first_shortage.csv")
    assert fs.loc[0, "first_short"] == "2025-06" and fs.loc[0, "months_short"] == 7
    sh = pd.read_csv(out / "shortages.csv")
    assert sorted(sh["period"]) == P.expand(MONTHS)
    summary = yaml.safe_load((out / "summary.json").read_text())
    assert set(summary["cost_by_period"]) == set(P.expand(MONTHS))
    assert sum(sum(v.values()) for v in summary["cost_by_period"].values()) == pytest.approx(
        summary["objective"]
    )
    text = html.read_text()
    assert 'id="timeline"' in text and "When lines stop" in text and "r-tl-stocks" in text
    # foresight on the command line, and bad choices exit 2 without a traceback
    r = CliRunner().invoke(app, ["solve", str(folder), "-s", "ban", "--decisions", "foresight"])
    assert r.exit_code == 0 and "foresight from 2025-04" in r.output
    for bad in (["--decisions", "psychic"], ["--start", "April"], ["--lookahead", "0"]):
        r = CliRunner().invoke(app, ["solve", str(folder), "-s", "ban", *bad])
        assert r.exit_code == 2 and "Traceback" not in r.output, (bad, r.output)


def test_survive_and_compare_work_in_months(tmp_path):
    from typer.testing import CliRunner

    from optimizer.analysis.survive import time_to_survive
    from optimizer.cli import app

    folder = chain(tmp_path)
    scenario(folder, "ban", max_share=0)
    sv = time_to_survive(load(folder), ["ban"], "2025-04", mode="myopic")
    m = sv.markets.set_index("market").loc["mkt"]
    assert m["first_short_period"] == "2025-06" and m["periods_survived"] == 2
    r = CliRunner().invoke(app, ["survive", str(folder), "-s", "ban", "--start", "2025-04"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["compare", str(folder), "--baseline", "-s", "ban"])
    assert r.exit_code == 0, r.output


def test_compare_myopic_and_foresight(tmp_path):
    from typer.testing import CliRunner

    from optimizer.cli import app

    folder = chain(tmp_path, capacity=180)
    scenario(folder, "ban", max_share=0)
    out = tmp_path / "cmp"
    # decided from January: foresight knows of the April ban, myopic learns of it in April
    args = ["compare", str(folder), "-s", "ban", "--decisions", "myopic,foresight"]
    args += ["--start", "2025-01"]
    r = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    # as in test_foresight_stocks_up_before_a_known_ban_myopic_does_not: 65 t vs 50 t
    myopic = pd.read_csv(out / "ban@myopic" / "shortages.csv")["unmet"].sum()
    fore = pd.read_csv(out / "ban@foresight" / "shortages.csv")["unmet"].sum()
    assert (myopic, fore) == (pytest.approx(65), pytest.approx(50))
    r = CliRunner().invoke(
        app, ["compare", str(folder), "-s", "ban", "--decisions", "myopic,sometimes"]
    )
    assert r.exit_code == 2 and "myopic,foresight" in r.output
