"""Generate stocks.csv of instances/world-2025-monthly from weeks of cover.

    python instances/world-2025-monthly/make_tables.py           # write stocks.csv
    python instances/world-2025-monthly/make_tables.py --check   # exit 1 if it is stale

The instance extends ../world-2024 (one year of 2024 data held flat into 2025, spread
over twelve months).  Its downstream inventories are published as *weeks of cover*
(``COVER`` below, each with its source), not tonnes, so this script turns them into
tonnes with the base's own numbers:

* a market's stock of an oxide, or of a component (the automakers' own parts stock, where
  a statement is about automakers: India) = weeks / 52 x the market's yearly demand for
  it (``demand.csv`` of the base); where the statements are about the parts suppliers
  (CLEPA), the cover is of magnets, held at the motor makers;
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

#: (holder stage, held: a stage or commodity ids, countries, weeks, source id, what).
#: The first row matching a holder's stage, a held commodity and the holder's country
#: wins; "*" is every country outside China.  Weeks are of cover on 4 April 2025 (the
#: controls' first day): no source gives stocks *before* the controls, so the figures
#: published in May-June are carried back to 4 April at the holder's normal use, net of
#: what was already at sea then (transit.csv) -- never from the dates lines stopped.
#: The oxides under the April 2025 licensing (commodity_groups.controlled_2025_04 of the base).
CONTROLLED = "Sm_oxide Gd_oxide Tb_oxide Dy_oxide Lu_oxide Y_oxide"

COVER: list[tuple[str, str, str, float, str, str]] = [
    # Korea: the state's Dy and Y stockpile (KOMIR/PPS), 7 April 2025
    (
        "magnet",
        "Dy_metal",
        "KR",
        26,
        "motie-stockpile-2025",
        "public Dy stockpile 'exceeds six months', MOTIE 7 Apr 2025",
    ),
    (
        "market",
        "Dy_oxide Y_oxide",
        "KR",
        26,
        "motie-stockpile-2025",
        "public Dy and Y stockpiles 'exceed six months', MOTIE 7 Apr 2025",
    ),
    # Japan: the national rare-metal stockpile target (quantities undisclosed)
    (
        "magnet",
        "metal",
        "JP",
        8.6,
        "iea-japan-stockpile",
        "Japan's national stockpile target of 60 days of consumption, held for the magnet "
        "makers [E: a target, not a disclosed quantity]",
    ),
    # India: Crisil, 10 June 2025: 'most automakers currently have 4-6 weeks of inventory'
    # -- the automakers' (OEMs') own stock of magnet-using parts, held at the market
    (
        "market",
        "ev_traction auto_other ebike",
        "IN",
        12,
        "crisil-magnets-2025",
        "Crisil 10 Jun 2025 'most automakers currently have 4-6 weeks of inventory' (5) "
        "+ 9.6 weeks since 4 Apr with no licence granted - 2.9 weeks at sea on 4 Apr (20 days)",
    ),
    # Europe: CLEPA, 4 June 2025: more plants hit 'in the next three to four weeks'
    (
        "component",
        "magnet",
        "*",
        6,
        "clepa-licences-2025",
        "CLEPA 4 Jun 2025 'more plants would likely be affected in the next three to four "
        "weeks as inventories depleted' (3.5) + 8.7 weeks since 4 Apr - 6 weeks at sea on "
        "4 Apr (42 days); the European figure is used for the US, Japan, Korea, India and the "
        "rest of the world, whose makers' stocks were not published [E]",
    ),
    (
        "magnet",
        "metal",
        "*",
        6,
        "clepa-licences-2025",
        "the motor makers' 6 weeks (CLEPA, above) for magnet makers' metal and alloy, whose "
        "stocks were not published [E]",
    ),
    (
        "market",
        CONTROLLED,
        "*",
        6,
        "clepa-licences-2025",
        "the motor makers' 6 weeks (CLEPA, above) for buyers of the controlled oxides "
        "(phosphors, ceramics, coatings), whose stocks were not published [E]",
    ),
]

NOTE = "[E] {weeks:g} weeks of cover ({what}) x {basis} {use:,.1f} t/yr / 52; keep_cost: {kc}"


def _use(sol) -> pd.DataFrame:
    """Tonnes a year each site uses of each commodity (recipe inputs at its activity)."""
    rec = pd.read_csv(BASE / "recipes.csv")
    ins = rec.loc[rec["direction"] == "input", ["recipe", "commodity", "amount"]]
    p = sol.production.merge(ins, on="recipe")
    p["use"] = p["activity"] * p["amount"]
    return p.groupby(["site", "commodity"], as_index=False)["use"].sum()


def _cover(stage: str, commodity: str, held_stage: str, country: str):
    for h, held, countries, weeks, src, what in COVER:
        if (
            h == stage
            and (held == held_stage or commodity in held.split())
            and (countries == "*" or country in countries.split())
        ):
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
        hit = _cover(sites.at[r.site, "stage"], r.commodity, stage_of[r.commodity], country)
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
            sys.stderr.write(
                "stocks.csv is stale: run instances/world-2025-monthly/make_tables.py\n"
            )
            return 1
        return 0
    path.write_text(buf.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
