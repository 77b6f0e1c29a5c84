"""Country views and the map's frame, without a browser: regions a site stands for, and
the longitude window that shows every site."""

from __future__ import annotations

import pandas as pd
import pytest

from optimizer import load
from optimizer.report.build import _shortage_rows
from optimizer.report.figures import map_figure, map_frame, sankey_trace
from optimizer.report.names import Names
from tests.conftest import INSTANCES, TINY


def _xy(*lons: float, lat: float = 10.0) -> pd.DataFrame:
    return pd.DataFrame({"lat": [lat] * len(lons), "lon": list(lons)})


def test_frame_puts_the_seam_in_the_widest_gap():
    # America (-100), Europe (10), Asia (100): the widest gap is the Pacific, 160°
    f = map_frame(_xy(-100, 10, 100), pad=12)
    assert f["centre"] == pytest.approx(0)
    assert f["lon"] == pytest.approx([-112, 112])
    # ... and when Eurasia is the widest gap (10 -> 140, 130°), the seam goes there
    f = map_frame(_xy(-100, 10, 140), pad=12)
    assert f["centre"] == pytest.approx(-105)
    assert f["lon"] == pytest.approx([-232, 22])  # 140 .. 370 (= 10) + 12 each side
    # sites either side of the date line: the window crosses it, 20° wide + padding
    f = map_frame(_xy(170, -170), pad=5)
    assert abs(f["centre"]) == pytest.approx(180)
    lo, hi = f["lon"]
    assert hi - lo == pytest.approx(30)
    for lon in (170, -170):
        u = ((lon - f["centre"] + 180) % 360) - 180 + f["centre"]
        assert lo <= u <= hi
    # latitudes: the sites' span padded, at least 60° high
    f = map_frame(pd.DataFrame({"lat": [-30.0, 60.0], "lon": [0.0, 20.0]}), pad=10)
    assert f["lat"] == pytest.approx([-40, 70])
    assert map_frame(_xy(0, 20, lat=45))["lat"] == pytest.approx([15, 75])
    # a whole world of sites: the full circle
    f = map_frame(_xy(*range(-180, 180, 20)))
    assert f["lon"][1] - f["lon"][0] == pytest.approx(360)


def test_world_map_shows_every_site():
    inst = load(INSTANCES / "world-2024")
    names = Names(inst, [])
    res = inst.solve()
    fig = map_figure(res, names, 2024)
    geo = fig.layout.geo
    c = geo.projection.rotation.lon
    sites = inst.tables["sites"].dropna(subset=["lat", "lon"])
    u = ((sites["lon"].astype(float) - c + 180) % 360) - 180 + c
    assert geo.lonaxis.range[0] < u.min() and u.max() < geo.lonaxis.range[1]
    assert geo.lataxis.range[0] < sites["lat"].min() and sites["lat"].max() < geo.lataxis.range[1]
    # the Americas (Mountain Pass at -115°, Serra Verde at -48°) sit on the same side of the seam, together
    us, br = (u[sites["id"] == i].iloc[0] for i in ("us_mountain_pass", "br_serra_verde"))
    assert abs(us - br) < 90
    # the regions are drawn as a labelled trace of their own
    regions = [t for t in fig.data if t.name and t.name.startswith("Region")]
    assert len(regions) == 1 and set(regions[0].text) == {"European Union", "Rest of world"}

    # country views: the EU market is the European Union, the rest of the world its own
    assert names.place("mkt_eu") == "European Union"
    assert names.place("mkt_row") == "Rest of world"
    assert names.place("mkt_us") == "United States" and names.place("cn_bayanobo") == "China"
    assert names.site_country("mkt_eu") == "DE"  # what policies go by
    tr, _, _ = sankey_trace(res, names, 2024, "country", height=600)
    last = max(tr.node.x)
    markets = [lab for lab, x in zip(tr.node.label, tr.node.x, strict=True) if x == last]
    assert {"European Union", "Rest of world", "United States", "China"} <= set(markets)
    assert not {"Germany", "Thailand"} & set(markets)
    # every tonne delivered to a market is still drawn
    f = res.flows.loc[res.flows["period"] == 2024]
    to_markets = f.loc[f["target"].map(names.stage) == "market", "quantity"].sum()
    idx = [i for i, x in enumerate(tr.node.x) if x == last]
    drawn = sum(v for t, v in zip(tr.link.target, tr.link.value, strict=True) if t in idx)
    assert drawn == pytest.approx(to_markets, rel=1e-9)


def test_shortage_table_names_the_region(tiny_copy):
    inst = load(TINY, ["south-mine-halved"])
    res = inst.solve()
    # tiny's EU market stands for the European Union (sites.csv represents)
    res.shortages.loc[res.shortages["market"] == "market_eu", "unmet"] = 1.0
    rows = _shortage_rows(res, Names(inst, [res]))
    eu = [r for r in rows if r["market"].endswith("(market_eu)")]
    assert eu and all(r["country"] == "European Union" for r in eu)
    us = [r for r in rows if r["market"].endswith("(market_us)")]
    assert us and all(r["country"] == "United States" for r in us)
