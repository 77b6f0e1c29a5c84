"""'Did you mean …?' for mistyped scenario names, ids and country names."""

from __future__ import annotations

import pytest

from optimizer import load
from optimizer.data.suggest import country_hint, did_you_mean
from optimizer.errors import InputError
from tests.conftest import INSTANCES


def test_a_mistyped_scenario_gets_the_closest_names():
    with pytest.raises(InputError) as e:
        load(INSTANCES / "world-2024", ["cn-export-control-2025-04"])
    msg = str(e.value)
    assert "did you mean 'cn-export-controls-2025-04'" in msg
    assert "known:" not in msg  # the suggestion replaces the long list
    with pytest.raises(InputError, match=r"known: baotou-hub-plan, "):
        load(INSTANCES / "world-2024", ["zzz"])  # nothing close: the list


def test_close_ids_and_country_names():
    assert did_you_mean("mine_nrth", ["mine_north", "mine_south", "sep"]) == (
        "; did you mean 'mine_north'?"
    )
    assert did_you_mean("MINE_NORTH", ["mine_north"]) == "; did you mean 'mine_north'?"
    assert did_you_mean("quarry", ["mine_north", "sep"]) == ""
    assert country_hint("Japan") == " (Japan is JP)"
    assert country_hint("DEU") == " (DEU is DE)"
    assert country_hint("JP") == ""  # already a code
    assert country_hint("xx") == ""


def test_table_checks_suggest_the_id_and_the_country_code(tiny_copy):
    links = (tiny_copy / "links.csv").read_text()
    first = links.splitlines()[1].split(",")[1]  # the first link's from_site
    (tiny_copy / "links.csv").write_text(links.replace(f",{first},", f",{first[:-1]},", 1))
    sites = (tiny_copy / "sites.csv").read_text()
    (tiny_copy / "sites.csv").write_text(sites.replace(",MM,", ",Myanmar,", 1))
    with pytest.raises(InputError) as e:
        load(tiny_copy)
    msg = str(e.value)
    assert f"{first[:-1]!r} is not a known site id (sites.csv); did you mean {first!r}?" in msg
    assert "'Myanmar' is not an ISO 3166-1 alpha-2 country code (Myanmar is MM)" in msg
