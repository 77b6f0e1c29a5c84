"""area_prices.csv: prices inside a country and outside it, hand-computed on a tiny chain.

A Chinese mine (10 USD/t, 200 t) sells to two Chinese markets over lanes of 1 and 3 USD/t
(50 t and 30 t) and to a French market over a 5 USD/t lane of capacity ``lane`` (50 t
demanded, shortage penalty 1,000 USD/t).
"""

from __future__ import annotations

import pytest

from optimizer import load
from optimizer.errors import InputError
from optimizer.results.area_prices import gaps, side_by_side
from optimizer.results.saved import load_result
from tests.builders import commodity, recipe_row, site, write_instance


def _chain(folder, lane: float | str = "", areas=("CN",)):
    lanes = [("cn", "cn1", 1, ""), ("cn", "cn2", 3, ""), ("cn", "fr", 5, lane)]
    demand = {"cn1": 50, "cn2": 30, "fr": 50}
    return write_instance(
        folder,
        {"price_areas": list(areas), "regions": {"EUR": ["FR", "DE"]}},
        commodities=[commodity("ore", "mine")],
        sites=[
            site("cn", "CN", "mine", company="m"),
            site("cn1", "CN", "market", company=""),
            site("cn2", "CN", "market", company=""),
            site("fr", "FR", "market", company=""),
        ],
        recipes=[recipe_row("dig", "ore")],
        processes=[
            {
                "id": "cn",
                "site": "cn",
                "recipe": "dig",
                "capacity": 200,
                "cost": 10,
                "source": "test",
            }
        ],
        links=[
            {
                "id": f"{a}_{b}",
                "from_site": a,
                "to_site": b,
                "commodity": "ore",
                "capacity": cap,
                "cost": c,
                "source": "test",
            }
            for a, b, c, cap in lanes
        ],
        demand=[
            {
                "market": m,
                "commodity": "ore",
                "period": 2024,
                "quantity": q,
                "shortage_penalty": "",
                "source": "test",
            }
            for m, q in demand.items()
        ],
    )


def _row(r, area):
    a = r.area_prices
    return a.loc[(a["area"] == area) & (a["commodity"] == "ore")].iloc[0]


def test_receipt_weighted_inside_and_first_tonne_outside(tmp_path):
    r = load(_chain(tmp_path / "i", lane=20)).solve()
    cn = _row(r, "CN")
    # CN markets pay 11 and 13; weighted by 50 t and 30 t received: (550 + 390) / 80
    assert cn["price"] == pytest.approx(940 / 80)
    assert (cn["price_min"], cn["price_max"], cn["receipts"], cn["sites"]) == (11, 13, 80, 2)
    assert cn["basis"] == "receipts"
    out = _row(r, "all_except:CN")
    # France gets 20 t over the capacitated lane, 30 t short: its price is the penalty
    assert out["price"] == pytest.approx(1000)
    assert out["receipts"] == pytest.approx(20)
    assert _row(r, "FR")["price"] == pytest.approx(1000)
    sb = side_by_side(r.area_prices, "CN").iloc[0]
    assert sb["ratio"] == pytest.approx(1000 / (940 / 80))
    assert list(gaps(r.area_prices, "CN")["commodity"]) == ["ore"]

    shut = load(_chain(tmp_path / "s", lane=0)).solve()
    # nothing received outside China: the plain mean of the buyers' prices, flagged
    assert _row(shut, "all_except:CN")["basis"] == "sites"
    assert _row(shut, "all_except:CN")["price"] == pytest.approx(1000)


def test_no_gap_when_the_lane_is_free(tmp_path):
    r = load(_chain(tmp_path / "f")).solve()
    # France pays 15 (10 + 5): 15 vs 11.75 is a gap; a region area is listed too
    assert _row(r, "all_except:CN")["price"] == pytest.approx(15)
    r2 = load(_chain(tmp_path / "g", areas=("EUR",))).solve()
    assert set(r2.area_prices["area"]) == {"CN", "FR", "EUR", "all_except:EUR"}
    assert _row(r2, "EUR")["price"] == pytest.approx(15)
    assert _row(r2, "all_except:EUR")["price"] == pytest.approx(940 / 80)


def test_written_and_read_back(tmp_path):
    r = load(_chain(tmp_path / "w", lane=20)).solve()
    r.write(tmp_path / "out")
    back = load_result(tmp_path / "out")
    assert back.area_prices["area"].tolist() == r.area_prices["area"].tolist()
    assert back.area_prices["price"].tolist() == pytest.approx(r.area_prices["price"].tolist())


def test_unknown_price_area_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="price_areas"):
        load(_chain(tmp_path / "x", areas=("XX",)))
