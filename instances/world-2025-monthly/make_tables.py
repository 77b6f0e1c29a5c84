"""Generate stocks.csv of instances/world-2025-monthly from weeks of cover.

    python instances/world-2025-monthly/make_tables.py           # write stocks.csv
    python instances/world-2025-monthly/make_tables.py --check   # exit 1 if it is stale

The instance extends ../world-2024 (one year of 2024 data held flat into 2025, spread
over twelve months).  Its downstream inventories are published as *weeks of cover*
(``COVER`` below, each with its source), not tonnes, so this script turns them into
tonnes with the base's own numbers:

* a market's stock of a component = weeks / 52 x the market's yearly demand for it
  (``demand.csv`` of the base);
* a component maker's stock of magnets, and a magnet maker's stock of metals = weeks /
  52 x what its plant uses a year in the base's solution (``world-2024`` solved: the
  recipes' inputs at the plant's activity);
* every stock is a safety stock (``keep_cost``): the holder keeps it and draws on it only
  to avoid a stoppage; its keep cost is the node's price in that solution (what a
  tonne costs to replace there), so the undisrupted months hold it steady.

Only places outside China get a row: China's makers are not cut off by China's own
controls (their raw-material stocks are not the question of this instance).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
BASE = HERE.parent / "world-2024"
ROOT = HERE.parent.parent

#: (holder stage, held commodity stage, countries, weeks, source id, what the source says)
#: The first row matching a holder's country wins; "*" is every country outside China.
COVER: list[tuple[str, str, str, float, str, str]] = []

NOTE = "[E] {weeks:g} weeks of cover ({what}) x {basis} {use:,.1f} t/yr / 52; keep_cost: {kc}"


def _use(sol) -> pd.DataFrame:
    """Tonnes a year each site uses of each commodity (recipe inputs at its activity)."""
    rec = pd.read_csv(BASE / "recipes.csv")
    ins = rec.loc[rec["direction"] == "input", ["recipe", "commodity", "amount"]]
    p = sol.production.merge(ins, on="recipe")
    p["use"] = p["activity"] * p["amount"]
    return p.groupby(["site", "commodity"], as_index=False)["use"].sum()


def _cover(stage: str, held: str, country: str):
    for h, c, countries, weeks, src, what in COVER:
        if h == stage and c == held and (countries == "*" or country in countries.split()):
            return weeks, src, what
    return None


def build() -> pd.DataFrame:
    sys.path.insert(0, str(ROOT))
    from optimizer.api import load

    inst = load(BASE)
    sol = inst.solve()
    sites = inst.sites.set_index("id")
    stage_of = inst.commodities.set_index("id")["stage"]
    price = sol.prices.groupby(["site", "commodity"])["marginal_cost"].mean()
    rows = []
    dem = inst.demand.groupby(["market", "commodity"], as_index=False)["quantity"].sum()
    use = pd.concat(
        [
            dem.rename(columns={"market": "site", "quantity": "use"}).assign(basis="demand"),
            _use(sol).assign(basis="use in the world-2024 solution"),
        ],
        ignore_index=True,
    )
    for r in use.itertuples(index=False):
        country = sites.at[r.site, "country"]
        if country == "CN" or r.use <= 0:
            continue
        hit = _cover(sites.at[r.site, "stage"], stage_of[r.commodity], country)
        if hit is None:
            continue
        weeks, src, what = hit
        kc = float(price.get((r.site, r.commodity), float("nan")))
        if not kc > 0:
            continue
        rows.append(
            {
                "site": r.site,
                "commodity": r.commodity,
                "quantity": round(r.use * weeks / 52, 3),
                "keep_cost": round(kc, 0),
                "source": src,
                "note": NOTE.format(
                    weeks=weeks,
                    what=what,
                    basis=r.basis,
                    use=r.use,
                    kc=f"the node's price in the world-2024 solution, {kc:,.0f} USD/t",
                ),
            }
        )
    return pd.DataFrame(rows).sort_values(["site", "commodity"]).reset_index(drop=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if stocks.csv is stale")
    args = ap.parse_args()
    buf = io.StringIO()
    build().to_csv(buf, index=False, lineterminator="\n")
    path = HERE / "stocks.csv"
    if args.check:
        if not path.exists() or path.read_text() != buf.getvalue():
            sys.stderr.write("stocks.csv is stale: run instances/world-2025-monthly/make_tables.py\n")
            return 1
        return 0
    path.write_text(buf.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
