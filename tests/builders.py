"""Write small instances from Python for tests (the same format users write by hand)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

SOURCES = pd.DataFrame(
    [
        {
            "id": "test",
            "title": "Numbers made up for a unit test",
            "publisher": "rechain",
            "year": 2026,
            "url": "",
            "note": "[E] test",
        }
    ]
)


def commodity(id: str, stage: str, **kw) -> dict:
    """A commodities.csv row (blank optional columns unless given)."""
    return {
        "id": id,
        "name": id,
        "stage": stage,
        "unit": "t",
        "element": "",
        "disposal_cost": "",
        "storage_cost": "",
        "source": "",
        **kw,
    }


def site(id: str, country: str, stage: str, **kw) -> dict:
    """A sites.csv row without coordinates."""
    return {
        "id": id,
        "name": id,
        "country": country,
        "stage": stage,
        "company": id.upper(),
        "lat": "",
        "lon": "",
        "source": "",
        **kw,
    }


def recipe_row(recipe: str, commodity: str, direction: str = "output", amount: float = 1) -> dict:
    """A recipes.csv row citing the test source."""
    return {
        "recipe": recipe,
        "commodity": commodity,
        "direction": direction,
        "amount": amount,
        "source": "test",
    }


def write_instance(folder: Path, manifest: dict, **tables: list[dict] | pd.DataFrame) -> Path:
    """Write ``instance.yaml`` and one CSV per keyword (rows as dicts); sources default to one test row."""
    folder.mkdir(parents=True, exist_ok=True)
    base = {
        "schema_version": 1,
        "name": folder.name,
        "title": "test",
        "base_year": 2024,
        "periods": [2024],
        "defaults": {"shortage_penalty": 1000},
    }
    base.update(manifest)
    (folder / "instance.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    tables.setdefault("sources", SOURCES)
    for name, rows in tables.items():
        df = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder


def one_mine_one_market(
    folder: Path,
    periods: list[int],
    demand: dict[int, float],
    *,
    capacity: float = 100,
    storage_cost: float | str = 2,
    stock: float | None = None,
    discount_rate: float = 0.0,
) -> Path:
    """A mine (cost 10/t) linked (1/t) to a market; ore storable at ``storage_cost``."""
    tables = dict(
        commodities=[commodity("ore", "mine", storage_cost=storage_cost, source="test")],
        sites=[
            site("mine", "AU", "mine", name="Mine", company="M", lat=0, lon=0, source="test"),
            site("mkt", "JP", "market", name="Market", company="", lat=0, lon=0, source="test"),
        ],
        recipes=[recipe_row("dig", "ore")],
        processes=[
            {
                "id": "mine",
                "site": "mine",
                "recipe": "dig",
                "capacity": capacity,
                "cost": 10,
                "source": "test",
            }
        ],
        links=[
            {
                "id": "lane",
                "from_site": "mine",
                "to_site": "mkt",
                "commodity": "ore",
                "capacity": "",
                "cost": 1,
                "source": "test",
            }
        ],
        demand=[
            {
                "market": "mkt",
                "commodity": "ore",
                "period": p,
                "quantity": q,
                "shortage_penalty": "",
                "source": "test",
            }
            for p, q in demand.items()
        ],
    )
    if stock is not None:
        tables["stocks"] = [
            {"site": "mkt", "commodity": "ore", "quantity": stock, "source": "test"}
        ]
    return write_instance(
        folder,
        {
            "periods": periods,
            "defaults": {"shortage_penalty": 1000, "discount_rate": discount_rate},
        },
        **tables,
    )


def scenario_file(folder: Path, body: str, name: str = "p") -> str:
    """Write ``<folder>/<name>.yaml`` with id, title and ``body`` (YAML text); its path."""
    p = Path(folder) / f"{name}.yaml"
    p.write_text(f"id: {name}\ntitle: test scenario {name}\n" + body)
    return str(p)


def mines_to_market(
    folder: Path,
    mines: list[tuple[str, str, float]],
    *,
    demand: float = 100,
    manifest: dict | None = None,
    **tables,
) -> Path:
    """Mines ``(id, country, cost)`` of 100 t of ``ore`` each, each with a 1 USD/t lane to
    market ``eu`` (FR) that demands ``demand`` t in 2024; ``tables`` adds more tables."""
    return write_instance(
        folder,
        manifest or {},
        commodities=[commodity("ore", "mine")],
        sites=[site(m, c, "mine", company=m) for m, c, _ in mines]
        + [site("eu", "FR", "market", company="")],
        recipes=[recipe_row("dig", "ore")],
        processes=[
            {"id": m, "site": m, "recipe": "dig", "capacity": 100, "cost": cost, "source": "test"}
            for m, _, cost in mines
        ],
        links=[
            {
                "id": f"{m}_eu",
                "from_site": m,
                "to_site": "eu",
                "commodity": "ore",
                "capacity": "",
                "cost": 1,
                "source": "test",
            }
            for m, _, _ in mines
        ],
        demand=[
            {
                "market": "eu",
                "commodity": "ore",
                "period": 2024,
                "quantity": demand,
                "shortage_penalty": "",
                "source": "test",
            }
        ],
        **tables,
    )


# -- two mines, one market: the environmental-cap and production-target instance ---------

#: Tailings per tonne of ore: 0.5 t for the recipe, 2 t at the Chinese mine.
FACTORS = [
    {"recipe": "dig", "process": "", "pollutant": "tailings", "factor": 0.5, "unit": "t"},
    {"recipe": "dig", "process": "cn", "pollutant": "tailings", "factor": 2, "unit": "t"},
]


def two_mines(folder, *, demand: float = 100, emissions: list[dict] | None = FACTORS):
    """The two-mine instance above (``emissions=None``: no emissions.csv)."""
    extra = {} if emissions is None else {"emissions": [{**r, "source": "test"} for r in emissions]}
    return mines_to_market(folder, [("cn", "CN", 5), ("au", "AU", 10)], demand=demand, **extra)


def cap(id: str = "cn-eco", where: str = "region: CN", max: float = 100) -> str:
    return (
        f"  - type: environmental_cap\n    id: {id}\n    pollutant: tailings\n"
        f"    {where}\n    max: {max}\n"
    )


def target(id: str = "cn-target", where: str = "region: CN", min: float = 80) -> str:
    return (
        f"  - type: production_target\n    id: {id}\n    commodities: ore\n"
        f"    {where}\n    min: {min}\n"
    )
