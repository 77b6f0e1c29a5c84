"""Seeded generator of synthetic rare-earth chain instances, in the instance format.

Writes a folder (``instance.yaml`` + CSV tables, docs/instance-format.md) whose
LP has approximately a chosen number of variables (1e4 ... 1e6):

* 6 stages: mine -> separation -> metal -> magnet -> component -> market;
* 10 commodities per level (``ore_k``, ``ox_k``, ``met_k``, ``mag_k``, ``comp_k``);
* mines extract one ore (20 % two ores as alternative recipes of one plant);
* separation: multi-output co-production recipes (one ore -> 3-6 oxides, in
  random proportions); a plant runs 1-3 of them, sharing its capacity; every
  oxide can be disposed of at a cost (the balance problem);
* metal: one oxide -> one metal, a plant runs 2-4 of them;
* magnet: every magnet grade has two alternative recipes (bulk / diffusion
  style, different metal mixes) sharing the plant's capacity;
* component: 1-2 magnet grades -> one component;
* markets: elastic demand for 3-5 components (shortage penalty);
* every non-market site ships to ~20 random sites of the next stage that use
  at least one of its products (lanes carry ``*``, or the ``oxides`` group
  out of separation); ~30 % of lanes have a capacity shared by everything
  they carry.

Capacities are drawn so that each stage can roughly serve the demand
(``feasible-ish``; elastic demand keeps the LP feasible anyway).  Everything
is vectorised with numpy / pandas, so a 1e6-variable instance is written in
a few seconds.  Same ``(size, seed, periods)`` -> byte-identical files.

The size is hit by counting the LP's variables exactly the way
:mod:`optimizer.model.sets` will (flows = commodities a lane's origin makes and its
destination uses), then rescaling the number of sites once.

Usage::

    python benchmarks/synthetic.py 1e5 benchmarks/_work/synth_1e5 [--seed 0] [--periods 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: Bump when the generated instances change, so cached folders are regenerated.
GENERATOR_VERSION = 1

NC = 10  # commodities per level
LEVELS = ("ore", "ox", "met", "mag", "comp")
STAGES = ("mine", "separation", "metal", "magnet", "component", "market")
#: sites per stage per "unit" of size (rescaled to hit the target)
STAGE_WEIGHTS = {
    "mine": 1.0,
    "separation": 0.5,
    "metal": 0.8,
    "magnet": 1.0,
    "component": 1.2,
    "market": 0.4,
}
LINKS_PER_SITE = 20
LINK_CAPACITY_SHARE = 0.3
#: total plant capacity of a stage / what the demand needs from it (on average)
CAPACITY_FACTOR = 1.6
COUNTRIES = np.array(
    [
        "CN",
        "MM",
        "AU",
        "US",
        "VN",
        "IN",
        "BR",
        "MY",
        "JP",
        "KR",
        "DE",
        "FR",
        "IT",
        "NL",
        "EE",
        "GB",
        "CA",
        "MX",
        "TH",
        "PL",
    ]
)
SOURCE = "synthetic"
DEFAULT_PENALTY = 100_000.0


@dataclass
class Recipe:
    id: str
    inputs: dict[int, float]  # global commodity index -> amount
    outputs: dict[int, float]


def _commodity_ids() -> list[str]:
    return [f"{lvl}_{k}" for lvl in LEVELS for k in range(NC)]


def _gid(level: int, k: int) -> int:
    return level * NC + k


def _recipes(rng: np.random.Generator) -> dict[str, list[Recipe]]:
    """The small recipe book (~80 recipes), per stage; per-recipe Python is fine here."""
    book: dict[str, list[Recipe]] = {s: [] for s in STAGES[:-1]}
    for k in range(NC):
        book["mine"].append(Recipe(f"mine_{k}", {}, {_gid(0, k): 1.0}))
    for k in range(NC):  # two ore types of each kind: two separation recipes per ore
        for v in "ab":
            n_out = int(rng.integers(3, 7))
            oxides = rng.choice(NC, size=n_out, replace=False)
            share = rng.dirichlet(np.ones(n_out)) * rng.uniform(0.8, 0.95)
            share = np.maximum(np.round(share, 4), 0.01)
            book["separation"].append(
                Recipe(
                    f"sep_{k}{v}",
                    {_gid(0, k): 1.0},
                    {_gid(1, int(o)): float(s) for o, s in zip(oxides, share, strict=True)},
                )
            )
    for k in range(NC):
        book["metal"].append(
            Recipe(
                f"metal_{k}",
                {_gid(1, k): round(float(rng.uniform(1.1, 1.3)), 3)},
                {_gid(2, k): 1.0},
            )
        )
    for k in range(
        NC
    ):  # magnet grade k: two alternative recipes (bulk heavy-RE vs grain-boundary diffusion)
        main, light, heavy = rng.choice(NC, size=3, replace=False)
        a_main, a_light = (
            round(float(rng.uniform(0.25, 0.32)), 3),
            round(float(rng.uniform(0.02, 0.08)), 3),
        )
        book["magnet"].append(
            Recipe(
                f"mag_{k}_bulk",
                {
                    _gid(2, int(main)): a_main,
                    _gid(2, int(light)): a_light,
                    _gid(2, int(heavy)): round(float(rng.uniform(0.04, 0.08)), 3),
                },
                {_gid(3, k): 1.0},
            )
        )
        book["magnet"].append(
            Recipe(
                f"mag_{k}_gbd",
                {
                    _gid(2, int(main)): a_main,
                    _gid(2, int(light)): a_light,
                    _gid(2, int(heavy)): round(float(rng.uniform(0.01, 0.025)), 3),
                },
                {_gid(3, k): 1.0},
            )
        )
    for k in range(NC):
        # grade k (so every grade has a use) and, half the time, a second grade
        mags = [k] if rng.random() < 0.5 else [k, int((k + 1 + rng.integers(0, NC - 1)) % NC)]
        book["component"].append(
            Recipe(
                f"comp_{k}",
                {_gid(3, int(m)): round(float(rng.uniform(0.2, 0.5)), 3) for m in mags},
                {_gid(4, k): 1.0},
            )
        )
    return book


def _choose_k(
    rng: np.random.Generator, n: int, lo: int, hi: int, pool: int
) -> tuple[np.ndarray, np.ndarray]:
    """For n sites, pick between lo and hi distinct items of range(pool): (site index, item) pairs."""
    counts = rng.integers(lo, hi + 1, size=n)
    perm = rng.random((n, pool)).argsort(axis=1)
    keep = np.arange(pool)[None, :] < counts[:, None]
    site, slot = np.nonzero(keep)
    return site, perm[site, slot]


def _bits(mask: np.ndarray) -> np.ndarray:
    """(n,) int masks of NC bits -> (n, NC) bool."""
    return ((mask[:, None] >> np.arange(NC)[None, :]) & 1).astype(bool)


def _popcount(x: np.ndarray) -> np.ndarray:
    return _bits(x).sum(axis=1)


def _ids(prefix: str, n: int, start: int = 0) -> np.ndarray:
    return (prefix + pd.Series(np.arange(start, start + n)).astype(str)).to_numpy(dtype=object)


def generate_tables(
    unit: float, seed: int, periods: int = 1
) -> tuple[dict[str, pd.DataFrame], dict]:
    """All tables for ``unit`` (sites per stage weight); returns (tables, stats)."""
    rng = np.random.default_rng(seed)
    book = _recipes(rng)
    com_ids = _commodity_ids()
    n_sites = {s: max(2, int(round(w * unit))) for s, w in STAGE_WEIGHTS.items()}
    # recipe masks per stage, level-local (bits of the level the recipe consumes / makes)
    stage_level_out = {"mine": 0, "separation": 1, "metal": 2, "magnet": 3, "component": 4}

    def masks(recs: list[Recipe], which: str, level: int) -> np.ndarray:
        out = np.zeros(len(recs), dtype=np.int64)
        for i, r in enumerate(recs):
            for g in getattr(r, which):
                if g // NC == level:
                    out[i] |= 1 << (g % NC)
        return out

    site_rows = []  # per stage DataFrame of sites
    proc_rows = []  # per stage DataFrame of process rows: id, site, recipe (index into book), capacity weight
    out_mask: dict[str, np.ndarray] = {}
    in_mask: dict[str, np.ndarray] = {}
    for stage in STAGES:
        n = n_sites[stage]
        sid = _ids(f"{stage[:3]}", n)
        site_rows.append(
            pd.DataFrame(
                {
                    "id": sid,
                    "name": sid,
                    "country": COUNTRIES[rng.integers(0, len(COUNTRIES), size=n)],
                    "stage": stage,
                    "company": _ids("co", n) if stage != "market" else "",
                    "lat": np.round(rng.uniform(-60, 70, size=n), 3),
                    "lon": np.round(rng.uniform(-180, 180, size=n), 3),
                    "source": SOURCE,
                }
            )
        )
        if stage == "market":
            continue
        recs = book[stage]
        # (site, recipe index within stage book, process number within site)
        if stage == "mine":
            site, k = _choose_k(rng, n, 1, 1, NC)
            extra = np.flatnonzero(rng.random(n) < 0.2)  # 20 %: a second ore as an alternative mode
            k2 = (k[extra] + 1 + rng.integers(0, NC - 1, size=len(extra))) % NC
            site, rec = np.concatenate([site, extra]), np.concatenate([k, k2])
            proc = np.zeros(len(site), dtype=np.int64)
        elif stage == "separation":
            site, k = _choose_k(rng, n, 1, 3, NC)
            rec = 2 * k + rng.integers(0, 2, size=len(k))  # variant a/b of ore k
            proc = np.zeros(len(site), dtype=np.int64)
        elif stage == "metal":
            site, rec = _choose_k(rng, n, 2, 4, NC)
            proc = np.zeros(len(site), dtype=np.int64)
        elif stage == "magnet":
            s1, grade = _choose_k(rng, n, 1, 3, NC)
            site = np.repeat(s1, 2)
            rec = np.stack([2 * grade, 2 * grade + 1], axis=1).ravel()  # both recipes, one process
            proc = np.repeat(grade, 2)
        else:  # component
            site, rec = _choose_k(rng, n, 1, 2, NC)
            proc = rec.copy()
        order = np.lexsort((rec, proc, site))
        site, rec, proc = site[order], rec[order], proc[order]
        pid = pd.Series(sid[site]).astype(str) + "_p" + pd.Series(proc).astype(str)
        proc_rows.append(
            pd.DataFrame(
                {
                    "id": pid.to_numpy(dtype=object),
                    "site_i": site,
                    "site": sid[site],
                    "stage": stage,
                    "rec": rec,
                    "recipe": np.array([r.id for r in recs], dtype=object)[rec],
                }
            )
        )
        lvl = stage_level_out[stage]
        om = np.zeros(n, dtype=np.int64)
        np.bitwise_or.at(om, site, masks(recs, "outputs", lvl)[rec])
        out_mask[stage] = om
        if lvl > 0:
            im = np.zeros(n, dtype=np.int64)
            np.bitwise_or.at(im, site, masks(recs, "inputs", lvl - 1)[rec])
            in_mask[stage] = im
    sites = pd.concat(site_rows, ignore_index=True)
    processes = pd.concat(proc_rows, ignore_index=True)

    # markets: demand for 3-5 components each
    nm = n_sites["market"]
    msite, mcomp = _choose_k(rng, nm, 3, 5, NC)
    in_mask["market"] = np.zeros(nm, dtype=np.int64)
    np.bitwise_or.at(in_mask["market"], msite, 1 << mcomp)
    market_ids = site_rows[-1]["id"].to_numpy()

    # lanes: ~20 per site to sites of the next stage that use one of its products
    link_parts = []
    n_flows = 0
    for a, b in zip(STAGES[:-1], STAGES[1:], strict=True):
        ob, ib = _bits(out_mask[a]), _bits(in_mask[b])
        n_a = len(ob)
        per = rng.integers(LINKS_PER_SITE - 5, LINKS_PER_SITE + 6, size=n_a)
        origin = np.repeat(np.arange(n_a), per)
        # a random product of the origin for each slot
        cnt = ob.sum(axis=1)
        r = (rng.random(len(origin)) * cnt[origin]).astype(np.int64)
        cum = np.cumsum(ob, axis=1)[origin]
        com = (cum <= r[:, None]).sum(axis=1)
        # a random user of that product at the next stage
        c_of, dest_of = np.nonzero(ib.T)  # sorted by commodity
        users = np.bincount(c_of, minlength=NC)
        first = np.concatenate([[0], np.cumsum(users)[:-1]])
        ok = users[com] > 0
        origin, com = origin[ok], com[ok]
        dest = dest_of[first[com] + (rng.random(len(com)) * users[com]).astype(np.int64)]
        pair = np.unique(origin * (len(ib) + 1) + dest)
        origin, dest = pair // (len(ib) + 1), pair % (len(ib) + 1)
        carried = _popcount(out_mask[a][origin] & in_mask[b][dest])
        n_flows += int(carried.sum())
        sa = site_rows[STAGES.index(a)]
        sb = site_rows[STAGES.index(b)]
        dlat = sa["lat"].to_numpy()[origin] - sb["lat"].to_numpy()[dest]
        dlon = np.abs(sa["lon"].to_numpy()[origin] - sb["lon"].to_numpy()[dest])
        dlon = np.minimum(dlon, 360 - dlon)
        dist = np.hypot(dlat, dlon)  # degrees, good enough for a cost
        link_parts.append(
            pd.DataFrame(
                {
                    "from_site": sa["id"].to_numpy()[origin],
                    "to_site": sb["id"].to_numpy()[dest],
                    "commodity": "oxides" if a == "separation" else "*",
                    "carried": carried,
                    "cost": np.round(2.0 + dist * rng.uniform(0.2, 1.0, size=len(origin)), 2),
                }
            )
        )
    links = pd.concat(link_parts, ignore_index=True)
    links.insert(0, "id", _ids("l", len(links)))

    # demand
    dem_q = np.round(rng.uniform(5, 50, size=len(msite)), 2)
    penalty = np.where(
        rng.random(len(msite)) < 0.3,
        np.round(rng.uniform(50_000, 200_000, size=len(msite)), 0),
        np.nan,
    )
    years = list(range(2025, 2025 + periods))
    demand = pd.DataFrame(
        {
            "market": np.tile(market_ids[msite], periods),
            "commodity": np.tile(np.array(com_ids, dtype=object)[_gid(4, 0) + mcomp], periods),
            "period": np.repeat(years, len(msite)),
            "quantity": np.concatenate([dem_q * (1.0 + 0.05 * i) for i in range(periods)]),
            "shortage_penalty": np.tile(penalty, periods),
        }
    )

    # capacities: each stage can make ~1.6x what demand needs (on average), spread at random
    need_comp = np.bincount(mcomp, weights=dem_q, minlength=NC)
    amt = {
        s: np.array([[r.inputs.get(g, 0.0) for g in range(len(com_ids))] for r in book[s]])
        for s in book
    }
    need_mag = need_comp @ amt["component"][:, _gid(3, 0) : _gid(3, NC)]
    need_met = (
        need_mag @ (0.5 * (amt["magnet"][0::2] + amt["magnet"][1::2]))[:, _gid(2, 0) : _gid(2, NC)]
    )
    need_ox = need_met @ amt["metal"][:, _gid(1, 0) : _gid(1, NC)]
    sep_yield = np.array([sum(r.outputs.values()) for r in book["separation"]]).mean()
    activity = {
        "component": need_comp.sum(),
        "magnet": need_mag.sum(),
        "metal": need_met.sum(),
        "separation": 2.0
        * need_ox.sum()
        / sep_yield,  # co-production: the scarcest oxide sets the pace
        "mine": 2.0 * need_ox.sum() / sep_yield,
    }
    cost_range = {
        "mine": (200, 2000),
        "separation": (500, 3000),
        "metal": (1000, 5000),
        "magnet": (2000, 10000),
        "component": (1000, 5000),
    }
    proc_ids = processes["id"].to_numpy()
    uniq, inv = np.unique(proc_ids, return_inverse=True)
    pstage = processes.groupby("id", sort=True)["stage"].first().to_numpy()
    weight = rng.uniform(0.5, 1.5, size=len(uniq))
    cap = np.zeros(len(uniq))
    for s in activity:
        sel = pstage == s
        cap[sel] = CAPACITY_FACTOR * activity[s] * weight[sel] / weight[sel].sum()
    cap = np.round(cap, 2)
    cap[rng.random(len(uniq)) < 0.05] = np.nan  # some plants without a stated limit
    lo = processes["stage"].map(lambda s: cost_range[s][0]).to_numpy(dtype=float)
    hi = processes["stage"].map(lambda s: cost_range[s][1]).to_numpy(dtype=float)
    processes["capacity"] = cap[inv]
    processes["cost"] = np.round(lo + (hi - lo) * rng.random(len(processes)), 2)
    processes["source"] = SOURCE

    # lane capacities: 30 % of lanes, around their fair share of the flow into the destination stage
    stage_of = dict(zip(sites["id"], sites["stage"], strict=True))
    to_stage = links["to_site"].map(stage_of)
    level_flow = {
        "separation": activity["separation"],
        "metal": need_ox.sum(),
        "magnet": need_met.sum(),
        "component": need_mag.sum(),
        "market": need_comp.sum(),
    }
    per_stage_links = to_stage.value_counts()
    fair = to_stage.map(lambda s: level_flow[s] / per_stage_links[s]).to_numpy(dtype=float)
    lcap = np.round(fair * rng.uniform(1.0, 4.0, size=len(links)), 2)
    lcap[rng.random(len(links)) >= LINK_CAPACITY_SHARE] = np.nan
    links["capacity"] = lcap
    links["source"] = SOURCE

    # recipes table
    rec_rows = []
    for s in book:
        for r in book[s]:
            for g, a in r.inputs.items():
                rec_rows.append((r.id, com_ids[g], "input", a))
            for g, a in r.outputs.items():
                rec_rows.append((r.id, com_ids[g], "output", a))
    recipes = pd.DataFrame(rec_rows, columns=["recipe", "commodity", "direction", "amount"])
    recipes["source"] = SOURCE

    level_stage = ("mine", "separation", "metal", "magnet", "component")
    commodities = pd.DataFrame(
        {
            "id": com_ids,
            "name": com_ids,
            "stage": [level_stage[g // NC] for g in range(len(com_ids))],
            "unit": ["t REO" if g < _gid(2, 0) else "t" for g in range(len(com_ids))],
            "element": "",
            "disposal_cost": [
                round(float(x), 1) if _gid(1, 0) <= g < _gid(2, 0) else np.nan
                for g, x in enumerate(rng.uniform(50, 500, size=len(com_ids)))
            ],
            "storage_cost": [
                20.0 if _gid(2, 0) <= g < _gid(4, 0) else np.nan for g in range(len(com_ids))
            ],
            "source": SOURCE,
        }
    )
    sources = pd.DataFrame(
        [
            (
                SOURCE,
                "Synthetic benchmark instance (benchmarks/synthetic.py)",
                "rechain",
                2026,
                "",
                "[E] Random numbers for performance measurement; not data about any real site.",
            )
        ],
        columns=["id", "title", "publisher", "year", "url", "note"],
    )

    # exact LP size as optimizer.model.sets will compute it
    n_act = len(processes)
    n_dispose = int(_popcount(out_mask["separation"]).sum())
    n_unmet = len(msite)
    n_inventory = 0
    if periods > 1:  # storable metals and magnets at every node that holds them
        n_inventory = int(
            (
                _popcount(out_mask["metal"])
                + _popcount(in_mask["magnet"])
                + _popcount(out_mask["magnet"])
                + _popcount(in_mask["component"])
            ).sum()
        )
        # plus relay nodes: upstream sites that receive them (approximation; multi-period only)
    n_vars = periods * (n_flows + n_act + n_dispose + n_unmet + n_inventory)
    n_cap_rows = periods * (
        int(np.isfinite(cap).sum()) + int(links.loc[links["carried"] > 0, "capacity"].notna().sum())
    )
    stats = {
        "unit": unit,
        "sites": {s: int(n) for s, n in n_sites.items()},
        "links": len(links),
        "process_rows": len(processes),
        "demand_rows": len(demand),
        "flows": n_flows * periods,
        "vars_estimate": n_vars,
        "capacity_rows": n_cap_rows,
    }
    links = links.drop(columns="carried")
    tables = {
        "commodities": commodities,
        "sites": sites,
        "recipes": recipes,
        "processes": processes[["id", "site", "recipe", "capacity", "cost", "source"]],
        "links": links[["id", "from_site", "to_site", "commodity", "capacity", "cost", "source"]],
        "demand": demand.assign(source=SOURCE),
        "sources": sources,
    }
    return tables, stats


#: variables per unit of size, measured (first guess; the generator rescales from its own count)
_VARS_PER_UNIT = 190.0


def generate(
    target_vars: float, seed: int = 0, periods: int = 1
) -> tuple[dict[str, pd.DataFrame], dict]:
    """Tables whose LP has about ``target_vars`` variables (within a few %)."""
    unit = max(2.0, target_vars / periods / _VARS_PER_UNIT)
    for _ in range(
        6
    ):  # fixed-point on the site count (lane de-duplication makes it slightly nonlinear)
        tables, stats = generate_tables(unit, seed, periods)
        ratio = target_vars / stats["vars_estimate"]
        if abs(ratio - 1.0) < 0.02 or unit <= 2.0:
            break
        unit = max(2.0, unit * ratio)
    return tables, stats


def write_instance(folder: str | Path, target_vars: float, seed: int = 0, periods: int = 1) -> dict:
    """Generate and write the instance folder (replacing it); returns its stats."""
    t0 = time.perf_counter()
    tables, stats = generate(target_vars, seed, periods)
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    name = folder.name
    years = list(range(2025, 2025 + periods))
    oxides = ", ".join(f"ox_{k}" for k in range(NC))
    (tmp / "instance.yaml").write_text(
        "schema_version: 1\n"
        f"name: {name}\n"
        f"title: Synthetic chain, about {int(target_vars):,} LP variables (seed {seed})\n"
        "description: >\n"
        "  Generated by benchmarks/synthetic.py for performance measurement.\n"
        "  Random numbers; not data about any real site.\n"
        "base_year: 2025\n"
        f"periods: [{', '.join(map(str, years))}]\n"
        "currency: USD\n"
        "defaults:\n"
        f"  shortage_penalty: {DEFAULT_PENALTY:g}\n"
        "  discount_rate: 0.0\n"
        "regions:\n"
        "  EU: [DE, FR, IT, NL, EE, PL]\n"
        "commodity_groups:\n"
        f"  oxides: [{oxides}]\n",
        encoding="utf-8",
    )
    for tname, df in tables.items():
        df.to_csv(tmp / f"{tname}.csv", index=False, float_format="%.10g", lineterminator="\n")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)
    stats.update(
        target_vars=int(target_vars),
        seed=seed,
        periods=periods,
        generator_version=GENERATOR_VERSION,
        generate_seconds=round(time.perf_counter() - t0, 3),
    )
    (folder.parent / (folder.name + ".meta.json")).write_text(json.dumps(stats, indent=1) + "\n")
    return stats


def cached_instance(
    work: str | Path, target_vars: float, seed: int = 0, periods: int = 1
) -> tuple[Path, dict, bool]:
    """The cached folder for these parameters, generating it if missing or stale.

    Returns (folder, stats, generated_now).
    """
    work = Path(work)
    folder = work / f"synth_{_size_label(target_vars)}_s{seed}_p{periods}"
    meta = work / (folder.name + ".meta.json")
    if folder.is_dir() and meta.exists():
        stats = json.loads(meta.read_text())
        if stats.get("generator_version") == GENERATOR_VERSION:
            return folder, stats, False
    work.mkdir(parents=True, exist_ok=True)
    return folder, write_instance(folder, target_vars, seed, periods), True


def _size_label(x: float) -> str:
    x = float(x)
    e = int(np.floor(np.log10(x)))
    m = x / 10**e
    return f"{m:g}e{e}"


def parse_size(text: str) -> int:
    return int(float(text))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("size", type=parse_size, help="approximate number of LP variables (e.g. 1e5)")
    ap.add_argument("folder", type=Path, help="instance folder to write (replaced)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--periods", type=int, default=1)
    a = ap.parse_args(argv)
    stats = write_instance(a.folder, a.size, a.seed, a.periods)
    print(json.dumps(stats, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
