#!/usr/bin/env python
"""Digest of the three seed articles: claim -> model element -> what world-2024 says.

Run from the repository root::

    python seeds/make_digest.py           # solve the runs and (re)write seeds/README.md
    python seeds/make_digest.py --check   # exit 1 if seeds/README.md is out of date

The claims, the article each comes from and the model element that represents it
are in ``seeds/claims.yaml``.  Each claim names a *metric* (a function in this
file, registered with ``@metric``) and the *runs* it compares (``baseline`` or
scenario ids of ``instances/world-2024/scenarios``; ``a+b`` stacks scenarios;
``world-2024-2035:<run>`` is the same on another instance of ``instances/``).
A claim that needs a policy type (``needs_policy``) stays "pending" until its
scenario file exists and loads, i.e. until the policy type is implemented; then
the generic shock metric reports it.

Every number is rounded (shares to 0.1 pp, tonnes to 10 t or 0.1 kt, money to
$0.01 bn or $1 M, prices to $0.1/kg) so that ``--check`` is stable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from optimizer import load  # noqa: E402
from optimizer.errors import InputError  # noqa: E402
from optimizer.results import shortfall  # noqa: E402
from optimizer.results.concentration import outputs  # noqa: E402

INSTANCE = ROOT / "instances" / "world-2024"
MP_SEP = "us_mp_sep"
CLAIMS = ROOT / "seeds" / "claims.yaml"
README = ROOT / "seeds" / "README.md"

# Site groups used by the metrics (ids of instances/world-2024/sites.csv).
BAOTOU_SEP = ["cn_sep_baotou"]
BAOTOU_MAG = ["cn_mag_baotou"]
SOUTH_SEP = ["cn_sep_ganzhou", "cn_sep_south_import"]
CLUSTER_MAG = ["cn_mag_ningbo", "cn_mag_jjj"]  # magnet clusters inside YRD / JJJ
CLUSTER_COMP = ["cn_comp_yrd", "cn_comp_gba", "cn_comp_jjj"]
CLUSTER_MKT = ["mkt_cn_jjj", "mkt_cn_yrd", "mkt_cn_gba"]
NDFEB = ["NdFeB_std", "NdFeB_ht"]
STATE_GROUPS = ("China Northern Rare Earth (CNRE)", "China Rare Earth Group (CREG)")


# --------------------------------------------------------------------------- formatting
def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def pp(x: float) -> str:
    return f"{100 * x:+.1f} pp"


def kt(x: float) -> str:
    return f"{x / 1000:,.1f} kt"


def tonnes(x: float) -> str:
    """Tonnes: to 1 t below 100 t, to 10 t below 10 kt, then to 0.1 kt."""
    if abs(x) >= 10_000:
        return kt(x)
    v = round(x) if abs(x) < 100 else round(x / 10) * 10
    return f"{v + 0:,.0f} t"


def per_kg(usd_per_t: float) -> str:
    return f"${usd_per_t / 1000:,.1f}/kg"


def money(usd: float) -> str:
    if abs(usd) >= 1e9:
        return f"${usd / 1e9:,.2f} bn"
    return f"${round(usd / 1e6) + 0:,.0f} M"


def signed_money(usd: float) -> str:
    sign = "+" if usd >= 0 else "−"
    return sign + money(abs(usd))


def change(a: float, b: float, fmt: Callable[[float], str]) -> str:
    """``a → b`` with the formatter, or ``a (unchanged)`` when they print the same."""
    fa, fb = fmt(a), fmt(b)
    return f"{fa} (unchanged)" if fa == fb else f"{fa} → {fb}"


def rel(a: float, b: float) -> str:
    if a == 0:
        return "n/a"
    return f"{100 * (b - a) / a:+.1f}%"


# --------------------------------------------------------------------------- runs
class Run:
    """One solved run (baseline or a stack of scenarios) with derived tables."""

    def __init__(self, key: str, inst, res) -> None:
        self.key = key
        self.inst = inst
        self.res = res

    @cached_property
    def out(self) -> pd.DataFrame:
        """Tonnes made by each process, with the site's stage, country and company."""
        o = outputs(self.inst, self.res.production)
        sites = self.inst.sites.set_index("id")
        o["stage"] = sites["stage"].reindex(o["site"]).to_numpy()
        o["company"] = sites["company"].reindex(o["site"]).to_numpy()
        return o

    def made(self, commodities, *, stage=None, sites=None, country=None, recipes=None) -> float:
        o = self.out
        o = o.loc[o["commodity"].isin(commodities)]
        if stage is not None:
            o = o.loc[o["stage"] == stage]
        if sites is not None:
            o = o.loc[o["site"].isin(sites)]
        if country is not None:
            o = o.loc[o["country"] == country]
        if recipes is not None:
            o = o.loc[o["recipe"].isin(recipes)]
        return float(o["quantity"].sum())

    def share(self, commodities, *, stage=None, sites=None, country=None) -> float:
        total = self.made(commodities, stage=stage)
        part = self.made(commodities, stage=stage, sites=sites, country=country)
        return part / total if total else float("nan")

    def activity(self, *, process=None, recipe=None) -> float:
        p = self.res.production
        if process is not None:
            p = p.loc[p["process"].isin([process] if isinstance(process, str) else process)]
        if recipe is not None:
            p = p.loc[p["recipe"].isin([recipe] if isinstance(recipe, str) else recipe)]
        return float(p["activity"].sum())

    def price(self, commodity: str, country: str = "CN") -> float:
        """Median marginal cost (USD/t) of a commodity at the sites of a country."""
        p = self.res.prices
        p = p.loc[(p["commodity"] == commodity) & (p["country"] == country)]
        return float(p["marginal_cost"].median())

    def price_abroad(self, commodity: str) -> float:
        """Median marginal cost (USD/t) of a commodity at sites outside China."""
        p = self.res.prices
        p = p.loc[(p["commodity"] == commodity) & (p["country"] != "CN")]
        return float(p["marginal_cost"].median())

    def hhi(self, stage: str, commodity: str = "*", scope: str = "country") -> float:
        c = self.res.concentration
        row = c.loc[(c["stage"] == stage) & (c["commodity"] == commodity) & (c["scope"] == scope)]
        return float(row["hhi"].iloc[0]) if len(row) else float("nan")

    def disposed(self, commodities) -> float:
        d = self.res.disposal
        return float(d.loc[d["commodity"].isin(commodities), "quantity"].sum())

    def capacity_row(self, element: str) -> pd.Series:
        c = self.res.capacities
        return c.loc[c["element"] == element].iloc[0]

    def flows(self, commodities, *, sources=None, targets=None) -> pd.DataFrame:
        f = self.res.flows
        f = f.loc[f["commodity"].isin(commodities)]
        if sources is not None:
            f = f.loc[f["source"].isin(sources)]
        if targets is not None:
            f = f.loc[f["target"].isin(targets)]
        return f

    def ore_content(self, element_oxide: str, by: str = "country") -> pd.Series:
        """Tonnes of an oxide in the ore mined, by country or site.

        The content of a tonne of ore is the yield of its full-separation recipe
        (``sep_<deposit>`` for ``ore_<deposit>``), so it counts what a full
        separator would recover whoever actually separates it.
        """
        rec = self.inst.recipes
        mines = self.out.loc[self.out["stage"] == "mine"]
        y = rec.loc[(rec["direction"] == "output") & (rec["commodity"] == element_oxide)]
        yields = dict(zip(y["recipe"], y["amount"], strict=True))
        ore_yield = mines["commodity"].map(
            lambda ore: yields.get("sep_" + ore.removeprefix("ore_"), 0.0)
        )
        return (mines["quantity"] * ore_yield).groupby(mines[by]).sum()


class Runs:
    """Solve each run once."""

    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}

    def __call__(self, key: str) -> Run:
        if key not in self._runs:
            folder, ids = run_target(key)
            inst = load(folder, ids)
            res = inst.solve()
            if res.status != "optimal":
                raise RuntimeError(f"run {key!r}: status {res.status}")
            self._runs[key] = Run(key, inst, res)
        return self._runs[key]

    def solved(self) -> list[Run]:
        return list(self._runs.values())


def run_target(key: str) -> tuple[Path, list[str]]:
    """Instance folder and scenario ids of a run key (``[instance:]baseline|a+b``)."""
    folder = INSTANCE
    if ":" in key:
        name, key = key.split(":", 1)
        folder = ROOT / "instances" / name
    return folder, ([] if key == "baseline" else key.split("+"))


def without_last(key: str) -> str:
    """The run a stack is compared with: the same stack without its last scenario."""
    prefix, _, stack = key.rpartition(":")
    rest = stack.split("+")[:-1]
    return (prefix + ":" if prefix else "") + ("+".join(rest) if rest else "baseline")


# --------------------------------------------------------------------------- metrics
METRICS: dict[str, Callable[[Runs, dict], str]] = {}


def metric(fn: Callable[[Runs, dict], str]) -> Callable[[Runs, dict], str]:
    METRICS[fn.__name__] = fn
    return fn


def _scen(claim: dict) -> str:
    runs = claim.get("runs") or ["baseline"]
    return runs[-1]


@metric
def value_chain(R: Runs, claim: dict) -> str:
    b = R("baseline")
    ores, oxides, metals = (b.inst.commodities_of(g) for g in ("ores", "oxides", "metals"))
    comps = b.inst.commodities_of("components")
    return (
        f"China's share rises along the chain: mining {pct(b.share(ores, stage='mine', country='CN'))}"
        f" → separation {pct(b.share(oxides, stage='separation', country='CN'))}"
        f" → metal {pct(b.share(metals, stage='metal', country='CN'))}"
        f" → NdFeB {pct(b.share(NDFEB, country='CN'))}; components "
        f"{pct(b.share(comps, stage='component', country='CN'))} (t of magnet content; heavy "
        "components for foreign markets are assembled abroad by assumption). Country HHI: "
        f"mining {b.hhi('mine'):,.0f}, separation {b.hhi('separation'):,.0f}, "
        f"magnets {b.hhi('magnet'):,.0f} (>2,500 = highly concentrated)."
    )


@metric
def clusters(R: Runs, claim: dict) -> str:
    b = R("baseline")
    comps = b.inst.commodities_of("components")
    cn_comp = b.made(comps, stage="component", country="CN")
    cl_comp = b.made(comps, stage="component", sites=CLUSTER_COMP)
    return (
        f"The cluster magnet plants (Ningbo/YRD, Beijing-Tianjin) make "
        f"{pct(b.share(NDFEB, sites=CLUSTER_MAG) / b.share(NDFEB, country='CN'))} of China's NdFeB; "
        f"YRD/GBA/JJJ component makers assemble {pct(cl_comp / cn_comp)} of China's components "
        "(not evidence: component sites are uncapacitated and routing inside China follows "
        "transport cost only, so the rest-of-China site stays idle). "
        f"No separation sits in the clusters: China's oxides come from Baotou "
        f"({pct(b.share(b.inst.commodities_of('oxides'), stage='separation', sites=BAOTOU_SEP))} of world), "
        "Sichuan and the south. The model places sites; it does not test the claim that "
        "clusters raise efficiency."
    )


@metric
def dependency(R: Runs, claim: dict) -> str:
    b = R("baseline")
    mags = b.inst.commodities_of("magnets")
    f = b.flows(mags)
    comp_sites = set(b.inst.sites.loc[b.inst.sites["stage"] == "component", "id"])
    f = f.loc[f["target"].isin(comp_sites) & (f["target_country"] != "CN")]
    cn = f.loc[f["source_country"] == "CN", "quantity"].sum()
    tot = f["quantity"].sum()
    _, metal_cn = _exchina_metal_share(b)
    return (
        f"{pct(cn / tot)} of the magnets used by component makers outside China come from "
        f"Chinese plants ({kt(cn)} of {kt(tot)}); the magnet plants outside China take "
        f"{pct(metal_cn)} of their NdPr metal from Chinese metal plants."
    )


@metric
def bayan_obo(R: Runs, claim: dict) -> str:
    b = R("baseline")
    ores = b.inst.commodities_of("ores")
    return (
        f"Bayan Obo is {pct(b.share(ores, stage='mine', sites=['cn_bayanobo']))} of world mined REO "
        f"({kt(b.made(ores, sites=['cn_bayanobo']))}); CNRE's Baotou separators make "
        f"{pct(b.share(['NdPr_oxide'], stage='separation', sites=BAOTOU_SEP))} of the world's "
        f"separated NdPr oxide and {pct(b.share(b.inst.commodities_of('oxides'), stage='separation', sites=BAOTOU_SEP))} "
        "of all separated oxides."
    )


@metric
def baotou_hub(R: Runs, claim: dict) -> str:
    b, s = R("baseline"), R(_scen(claim))
    ores = b.inst.commodities_of("ores")

    def ndpr(r):
        return r.share(["NdPr_oxide"], stage="separation", sites=BAOTOU_SEP)

    def mag(r):
        return r.share(NDFEB, sites=BAOTOU_MAG)

    return (
        f"Baotou's share of world separated NdPr {change(ndpr(b), ndpr(s), pct)}; of world NdFeB "
        f"{change(mag(b), mag(s), pct)} ({change(b.made(NDFEB, sites=BAOTOU_MAG), s.made(NDFEB, sites=BAOTOU_MAG), kt)}). "
        f"China's mine share {change(b.share(ores, stage='mine', country='CN'), s.share(ores, stage='mine', country='CN'), pct)}; "
        f"NdPr oxide {change(b.price('NdPr_oxide'), s.price('NdPr_oxide'), per_kg)}; Mountain Pass "
        f"output {change(b.activity(process='us_mountain_pass_mine'), s.activity(process='us_mountain_pass_mine'), kt)} "
        f"(squeezed out); Ce-substituted magnets {change(b.activity(recipe='ndfeb_std_ce'), s.activity(recipe='ndfeb_std_ce'), kt)}; "
        f"total cost {signed_money(s.res.objective - b.res.objective)}; {_unmet_text(s)}."
    )


@metric
def eco_cap(R: Runs, claim: dict) -> str:
    b, s = R("baseline"), R(_scen(claim))
    row = s.capacity_row("cn_bayanobo_mine")
    lace = ["La_oxide", "Ce_oxide"]
    return (
        f"The Bayan Obo cap binds ({pct(float(row['utilization']))} used); its shadow price is "
        f"${float(row['shadow_price']):,.0f}/t REO, the value of loosening the ecological cap. "
        f"Baotou's La+Ce output {change(b.made(lace, sites=BAOTOU_SEP), s.made(lace, sites=BAOTOU_SEP), kt)}; "
        f"world La+Ce disposed of or stockpiled {change(b.disposed(lace), s.disposed(lace), kt)} "
        "(Mountain Pass's La and Ce leave the market with its ore)."
    )


@metric
def heavy_hub(R: Runs, claim: dict) -> str:
    b = R("baseline")
    dy = b.share(["Dy_oxide"], stage="separation", sites=SOUTH_SEP)
    tb = b.share(["Tb_oxide"], stage="separation", sites=SOUTH_SEP)
    c_dy = b.ore_content("Dy_oxide", by="site")
    c_tb = b.ore_content("Tb_oxide", by="site")
    ionic = ["cn_ganzhou_hy", "cn_ganzhou_my"]
    ores = b.inst.commodities_of("ores")
    q_dy = c_dy.reindex(ionic).sum()
    q_tb = c_tb.reindex(ionic).sum()
    cn_ionic = b.made(ores, stage="mine", sites=ionic) / b.made(ores, stage="mine", country="CN")
    return (
        f"Southern China's separators (Ganzhou quota plant and the separators of imported feed) "
        f"make {pct(dy)} of the world's separated Dy oxide and {pct(tb)} of its Tb oxide. "
        f"But southern China's ionic-clay quota (Jiangxi, Guangdong, Fujian) carries only "
        f"{pct(q_dy / c_dy.sum())} of the Dy and {pct(q_tb / c_tb.sum())} of the Tb in the world's "
        f"mined ore (Kachin alone {pct(c_dy.get('mm_kachin', 0) / c_dy.sum())} of the Dy) and is "
        f"{pct(cn_ionic)} of China's mined REO: the south dominates heavy-RE processing, not "
        "extraction, and holds a small share of China's output (Bayan Obo has the bulk; the "
        "article may mean reserves, which the model does not hold)."
    )


@metric
def heavy_feed(R: Runs, claim: dict) -> str:
    b = R("baseline")
    dy = b.ore_content("Dy_oxide")
    tb = b.ore_content("Tb_oxide")
    mm_type = ["MM", "TH", "LA", "MG"]
    return (
        f"Myanmar's Kachin ore carries {pct(dy.get('MM', 0) / dy.sum())} of the Dy and "
        f"{pct(tb.get('MM', 0) / tb.sum())} of the Tb in the world's mined ore; with the Thai, Lao "
        f"and Malagasy ionic clays of the same type {pct(dy.reindex(mm_type).sum() / dy.sum())} / "
        f"{pct(tb.reindex(mm_type).sum() / tb.sum())}; China's own mines {pct(dy.get('CN', 0) / dy.sum())} / "
        f"{pct(tb.get('CN', 0) / tb.sum())} (world Dy {tonnes(dy.sum())}, Tb {tonnes(tb.sum())} "
        "in ore; Myanmar-type composition is a low-confidence estimate)."
    )


@metric
def consolidation(R: Runs, claim: dict) -> str:
    b = R("baseline")
    ores = b.inst.commodities_of("ores")
    oxides = b.inst.commodities_of("oxides")
    o = b.out
    mined = o.loc[(o["stage"] == "mine") & o["commodity"].isin(ores)]
    sep = o.loc[(o["stage"] == "separation") & o["commodity"].isin(oxides)]
    soe_m = (
        mined.loc[mined["company"].isin(STATE_GROUPS), "quantity"].sum() / mined["quantity"].sum()
    )
    soe_s = sep.loc[sep["company"].isin(STATE_GROUPS), "quantity"].sum() / sep["quantity"].sum()
    return (
        f"CNRE and CREG mine {pct(soe_m)} of the world's REO (all of China's quota) and their "
        f"quota plants make {pct(soe_s)} of the world's separated oxides; the rest of China's "
        "separation is imported feed at Shenghe and southern separators. Company HHI: mining "
        f"{b.hhi('mine', scope='company'):,.0f}, separation {b.hhi('separation', scope='company'):,.0f}."
    )


def _shock_text(b: Run, s: Run) -> str:
    d_cost = s.res.objective - b.res.objective
    parts = [
        f"cost {signed_money(d_cost)} ({rel(b.res.objective, s.res.objective)})",
        f"separated Dy {rel(b.made(['Dy_oxide'], stage='separation'), s.made(['Dy_oxide'], stage='separation'))}, "
        f"Tb {rel(b.made(['Tb_oxide'], stage='separation'), s.made(['Tb_oxide'], stage='separation'))}, "
        f"NdPr {rel(b.made(['NdPr_oxide'], stage='separation'), s.made(['NdPr_oxide'], stage='separation'))}",
        f"China prices: Dy oxide {change(b.price('Dy_oxide'), s.price('Dy_oxide'), per_kg)}, "
        f"Tb oxide {change(b.price('Tb_oxide'), s.price('Tb_oxide'), per_kg)}, "
        f"NdPr oxide {change(b.price('NdPr_oxide'), s.price('NdPr_oxide'), per_kg)}",
        f"bulk-Dy HT magnets {change(b.activity(recipe='ndfeb_ht_bulk'), s.activity(recipe='ndfeb_ht_bulk'), kt)}, "
        f"GBD-Dy {change(b.activity(recipe='ndfeb_ht_gbd_dy'), s.activity(recipe='ndfeb_ht_gbd_dy'), kt)}",
    ]
    rel_parts = []
    for rec, name in (("release_ndpr", "NdPr"), ("release_dy", "Dy"), ("release_tb", "Tb")):
        q = s.activity(recipe=rec)
        if q > 0.5:
            rel_parts.append(f"{tonnes(q)} {name}")
    parts.append("inventory released: " + (", ".join(rel_parts) if rel_parts else "none"))
    parts.append(_unmet_text(s))
    return "; ".join(parts) + "."


def _unmet_text(s: Run, where=None) -> str:
    """Shortages without adding tonnes of different commodities: the value at risk (USD of
    end-use value) and the largest shortfalls, each in tonnes of its own commodity."""
    sh = s.res.shortages
    if where is not None:
        sh = sh.loc[where(sh)]
    if sh["unmet"].max() < 0.5 if len(sh) else True:
        return "no shortage"
    var = shortfall.value_at_risk(sh)
    u = s.res.unmet_by_market()
    u = u.loc[u["market"].isin(set(sh["market"]))].head(3)
    top = ", ".join(
        f"{r.market} {r.commodity} {tonnes(r.unmet)} of {tonnes(r.demand)}" for r in u.itertuples()
    )
    head = f"value at risk {money(var)}; " if var == var else ""
    return f"{head}largest shortfalls: {top}"


@metric
def shock(R: Runs, claim: dict) -> str:
    return _shock_text(R("baseline"), R(_scen(claim)))


@metric
def ganzhou(R: Runs, claim: dict) -> str:
    b = R("baseline")
    runs = claim["runs"]
    s = R(runs[0])
    text = _shock_text(b, s)
    if len(runs) > 1:
        st = R(runs[1])
        text += (
            f" Stacked with `{runs[1].split('+')[-1]}`: cost "
            f"{signed_money(st.res.objective - b.res.objective)}, separated Dy "
            f"{rel(b.made(['Dy_oxide'], stage='separation'), st.made(['Dy_oxide'], stage='separation'))}, "
            f"Dy oxide {change(b.price('Dy_oxide'), st.price('Dy_oxide'), per_kg)}, "
            f"{_unmet_text(st)}."
        )
    return text


@metric
def urban(R: Runs, claim: dict) -> str:
    b, s = R("baseline"), R(_scen(claim))
    comps = b.inst.commodities_of("components")
    added = s.inst.demand["quantity"].sum() - b.inst.demand["quantity"].sum()
    into_b = b.flows(comps, targets=CLUSTER_MKT)["quantity"].sum()
    into_s = s.flows(comps, targets=CLUSTER_MKT)["quantity"].sum()
    cap = b.inst.processes.drop_duplicates("id")
    cn_mag_sites = set(
        b.inst.sites.loc[
            (b.inst.sites["stage"] == "magnet") & (b.inst.sites["country"] == "CN"), "id"
        ]
    )
    cn_cap = cap.loc[
        cap["site"].isin(cn_mag_sites) & cap["recipe"].str.startswith("ndfeb"), "capacity"
    ].sum()

    def util(r):
        return r.made(NDFEB, country="CN") / cn_cap

    abroad = _unmet_text(s, lambda sh: sh["country"] != "CN")
    return (
        f"+{kt(added)} of magnet content demanded in JJJ/YRD/GBA; magnet components delivered into "
        f"the three clusters {change(into_b, into_s, kt)}. Chinese NdFeB plants' utilisation "
        f"{change(util(b), util(s), pct)} (the pivot absorbs overcapacity). Served by releasing "
        f"{tonnes(s.activity(recipe='release_ndpr'))} of Chinese NdPr inventory and more "
        f"Ce-substituted magnets ({change(b.activity(recipe='ndfeb_std_ce'), s.activity(recipe='ndfeb_std_ce'), kt)}); "
        f"NdPr oxide {change(b.price('NdPr_oxide'), s.price('NdPr_oxide'), per_kg)}; "
        f"cost {signed_money(s.res.objective - b.res.objective)} (mostly the cost of the extra output); "
        + f"{_unmet_text(s)}; outside China: {abroad}."
    )


def _exchina_metal_share(r: Run) -> tuple[float, float]:
    """NdFeB made outside China, and the share of its NdPr metal that comes from Chinese plants."""
    mag_sites = set(
        r.inst.sites.loc[
            (r.inst.sites["stage"] == "magnet") & (r.inst.sites["country"] != "CN"), "id"
        ]
    )
    f = r.flows(["NdPr_metal"], targets=mag_sites)
    cn = f.loc[f["source_country"] == "CN", "quantity"].sum()
    tot = f["quantity"].sum()
    return r.made(NDFEB) - r.made(NDFEB, country="CN"), (cn / tot if tot else float("nan"))


@metric
def western(R: Runs, claim: dict) -> str:
    b, s = R("baseline"), R(_scen(claim))
    oxides = b.inst.commodities_of("oxides")
    ex_b, m_b = _exchina_metal_share(b)
    ex_s, m_s = _exchina_metal_share(s)

    def sep(r):
        return r.share(oxides, stage="separation", country="CN")

    def mag(r):
        return r.share(NDFEB, country="CN")

    idle = [
        name
        for proc, name in (
            ("solvay_ndpr", "Solvay"),
            ("ef_sep", "Energy Fuels"),
            ("mp_sep", "MP separation"),
        )
        if s.activity(process=proc) < 0.05 * float(s.capacity_row(proc)["capacity"])
    ]
    seg = s.flows(["SEG_HRE_conc"], targets=["cn_sep_south_import"])["quantity"].sum()
    return (
        f"China's share of separation {change(sep(b), sep(s), pct)}, of NdFeB {change(mag(b), mag(s), pct)} "
        f"(country HHI separation {b.hhi('separation'):,.0f} → {s.hhi('separation'):,.0f}, magnets "
        f"{b.hhi('magnet'):,.0f} → {s.hhi('magnet'):,.0f}). Ex-China NdFeB {change(ex_b, ex_s, kt)}, but "
        f"{pct(m_s)} of its NdPr metal still comes from Chinese plants (baseline {pct(m_b)}): without "
        "origin rules the new magnet plants run on Chinese metal. NdPr oxide "
        f"{change(b.price('NdPr_oxide'), s.price('NdPr_oxide'), per_kg)}; Mountain Pass "
        f"{change(b.activity(process='us_mountain_pass_mine'), s.activity(process='us_mountain_pass_mine'), kt)} "
        f"of 60 kt; idle (<5% of capacity): {', '.join(idle) if idle else 'none'}; "
        f"{tonnes(seg)} of Western SEG/HRE concentrate still goes to China for Dy/Tb. "
        f"Cost {signed_money(s.res.objective - b.res.objective)}; {_unmet_text(s)}."
    )


@metric
def race(R: Runs, claim: dict) -> str:
    b = R("baseline")
    keys = claim["runs"]
    oxides = b.inst.commodities_of("oxides")
    ores = b.inst.commodities_of("ores")
    bits = []
    for key in ["baseline", *keys]:
        r = R(key)
        label = "2024" if key == "baseline" else " + ".join(key.split("+"))
        bits.append(
            f"{label}: mining {pct(r.share(ores, stage='mine', country='CN'))}, separation "
            f"{pct(r.share(oxides, stage='separation', country='CN'))}, NdFeB {pct(r.share(NDFEB, country='CN'))}, "
            f"NdPr {per_kg(r.price('NdPr_oxide'))}"
        )
    return "China's shares — " + "; ".join(bits) + "."


def _policy_text(b: Run, s: Run) -> str:
    oxides = b.inst.commodities_of("oxides")
    return (
        f"cost {signed_money(s.res.objective - b.res.objective)}; {_unmet_text(s)}; Dy oxide "
        f"{change(b.price('Dy_oxide'), s.price('Dy_oxide'), per_kg)} in China, "
        f"{change(b.price_abroad('Dy_oxide'), s.price_abroad('Dy_oxide'), per_kg)} outside China; "
        f"HT NdFeB outside China {change(b.price_abroad('NdFeB_ht'), s.price_abroad('NdFeB_ht'), per_kg)}; "
        f"China's separation share "
        f"{change(b.share(oxides, stage='separation', country='CN'), s.share(oxides, stage='separation', country='CN'), pct)}, "
        f"NdFeB {change(b.share(NDFEB, country='CN'), s.share(NDFEB, country='CN'), pct)}."
    )


@metric
def generic(R: Runs, claim: dict) -> str:
    """A policy scenario against the baseline: cost, shortages, prices in and outside China, shares."""
    return _policy_text(R("baseline"), R(_scen(claim)))


@metric
def controls_vs_truce(R: Runs, claim: dict) -> str:
    """Each run against the baseline: cost and shortages (e.g. April controls, then the truce)."""
    b = R("baseline")
    bits = [
        f"`{k}`: cost {signed_money(R(k).res.objective - b.res.objective)}, {_unmet_text(R(k))}"
        for k in claim["runs"]
    ]
    return "; ".join(bits) + "."


@metric
def tariff(R: Runs, claim: dict) -> str:
    """A tariff scenario: the generic text plus magnets into US component makers by origin."""
    b, s = R("baseline"), R(_scen(claim))

    def from_cn(r: Run) -> float:
        f = r.flows(r.inst.commodities_of("magnets"), targets=["us_comp", "us_defense_comp"])
        return float(f.loc[f["source_country"] == "CN", "quantity"].sum())

    return (
        f"US component makers' magnets from China {change(from_cn(b), from_cn(s), kt)}; "
        + _policy_text(b, s)
    )


@metric
def procurement(R: Runs, claim: dict) -> str:
    """A procurement ban: the banned market's unmet demand, its premium, and the generic text."""
    b, s = R("baseline"), R(_scen(claim))
    pol = s.res.policies
    pol = pol.loc[pol["type"] == "procurement_ban"]
    markets = sorted({c.split(",")[1] for c in pol["constraint"]})
    premium = float(pol["shadow_price"].max()) if len(pol) else 0.0
    banned = _unmet_text(s, lambda sh: sh["market"].isin(markets))
    return (
        f"{', '.join(markets)}: {banned}; highest premium for "
        f"banned-origin material {per_kg(premium)}; " + _policy_text(b, s)
    )


def _floor_rows(run: Run) -> pd.DataFrame:
    pol = run.res.policies
    return pol.loc[pol["type"] == "price_floor"].set_index("period")


def _mp_ndpr(run: Run, period: int) -> float:
    o = run.out
    o = o.loc[(o["site"] == MP_SEP) & (o["commodity"] == "NdPr_oxide") & (o["period"] == period)]
    return float(o["quantity"].sum())


def _mined(run: Run, process: str, period: int) -> float:
    p = run.res.production
    return float(p.loc[(p["process"] == process) & (p["period"] == period), "activity"].sum())


def _ore_to(run: Run, ore: str, country: str, period: int) -> float:
    f = run.res.flows
    m = (f["commodity"] == ore) & (f["target_country"] == country) & (f["period"] == period)
    return float(f.loc[m & (f["source_country"] != country), "quantity"].sum())


@metric
def price_floor(R: Runs, claim: dict) -> str:
    """A price floor on one instance year by year: output at the covered plant with and
    without it, the market price, the payment, and for later runs the same per period."""
    parts = []
    for key in claim["runs"]:
        b, s = R(without_last(key)), R(key)
        rows = _floor_rows(s)
        years = list(rows.index)
        pay = rows["payment"]
        if len(years) == 1:
            (t,) = years
            r = rows.loc[t]
            parts.append(
                f"`{key}` against `{b.key}`: Mountain Pass NdPr {tonnes(_mp_ndpr(b, t))} → "
                f"{tonnes(_mp_ndpr(s, t))}, mine "
                f"{kt(_mined(b, 'us_mountain_pass_mine', t))} → "
                f"{kt(_mined(s, 'us_mountain_pass_mine', t))}; the DoD pays "
                f"{per_kg(r['shadow_price'])} on top of a {per_kg(r['used'])} market price, "
                f"{money(r['payment'])} a year; total cost "
                f"{signed_money(s.res.objective - b.res.objective)}"
                + (
                    " = minus the payment: a transfer, output does not move."
                    if abs(_mp_ndpr(s, t) - _mp_ndpr(b, t)) < 1
                    else f" (resource cost {signed_money(s.res.objective - b.res.objective + r['payment'])})."
                )
            )
            continue
        lo, hi = pay.idxmin(), pay.idxmax()
        mp = "; ".join(f"{t} {tonnes(_mp_ndpr(b, t))} → {tonnes(_mp_ndpr(s, t))}" for t in years)
        ore = "; ".join(
            f"{t} {kt(_ore_to(b, 'ore_mtpass', 'CN', t))} → {kt(_ore_to(s, 'ore_mtpass', 'CN', t))}"
            for t in years
        )
        t_last = years[-1]
        m0, m1 = (_mined(r, "us_mountain_pass_mine", t_last) for r in (b, s))
        more = "mine more" if m1 > 1.05 * m0 else "not mine more"
        parts.append(
            f"`{key}` ({years[0]}–{t_last}, MP's committed separation ramp): "
            f"Mountain Pass NdPr {mp}; its concentrate shipped to China {ore}: the floor makes "
            f"MP separate its own ore and {more} (mine in {t_last} {kt(m0)} → {kt(m1)}); "
            "DoD payments "
            f"{money(pay[lo])} ({lo}) to {money(pay[hi])} ({hi}) a year, market price at the "
            f"plant {per_kg(rows['used'].min())}–{per_kg(rows['used'].max())}."
        )
    return " ".join(parts)


# --------------------------------------------------------------------------- claims
def scenario_available(sid: str) -> tuple[bool, str]:
    """A scenario id (or ``a+b`` stack) is available when every file exists and loads."""
    folder, ids = run_target(sid)
    for one in ids:
        if not any((f / "scenarios" / f"{one}.yaml").exists() for f in (folder, INSTANCE)):
            return False, f"no scenario file {one}.yaml yet"
    try:
        load(folder, ids, structure_checks=False)
    except InputError as e:
        return False, str(e).splitlines()[0]
    return True, ""


def evaluate(claim: dict, R: Runs) -> str:
    if claim.get("status") == "not-modelled":
        return "not modelled: " + claim.get("why", "")
    needs = claim.get("needs_policy")
    if needs:
        missing = [sid for sid in claim["runs"] if not scenario_available(sid)[0]]
        if missing:
            types = ", ".join(f"`{t}`" for t in needs)
            runs = ", ".join(f"`{sid}`" for sid in missing)
            return f"pending: needs policy type {types} (scenario {runs})"
    fn = METRICS[claim.get("metric", "generic")]
    return fn(R, claim)


def md_escape(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ").strip()


def render(spec: dict, R: Runs) -> str:
    arts = spec["articles"]
    lines = [
        "# Seed articles: claims and what the model says",
        "",
        "<!-- GENERATED by `python seeds/make_digest.py` from seeds/claims.yaml and real solves of",
        "     instances/world-2024. Do not edit by hand; `--check` fails when this file is stale. -->",
        "",
        "Our digest of the three seed articles in `shared/seeds/`. Each claim is mapped to the",
        "model element or scenario of `instances/world-2024` that represents it, and to the metric",
        "that answers it; the last column is computed from the solves listed at the end.",
        "Scenario runs are what-ifs on the 2024 economy (runs prefixed `world-2024-2035:` on the",
        "2024-2035 instance), not forecasts; figures marked",
        "illustrative in a scenario's `description` are ours, not the article's.",
        "",
        "## Articles",
        "",
        "| id | title | publisher / file |",
        "|---|---|---|",
    ]
    for aid, a in arts.items():
        lines.append(
            f"| `{aid}` | {md_escape(a['title'])} | {md_escape(a['publisher'])} (`{a['file']}`) |"
        )
    lines += [
        "",
        "`context`: not in the three articles; background from `shared/data/ree-datasheet-2024.md`",
        "that the Ganzhou claims need (where the heavy feed comes from).",
        "",
        "## Claims",
        "",
        "| # | claim (article) | model element / scenario | what the model says |",
        "|---|---|---|---|",
    ]
    for i, c in enumerate(spec["claims"], 1):
        art = ", ".join(
            f"`{a}`" for a in ([c["article"]] if isinstance(c["article"], str) else c["article"])
        )
        runs = c.get("runs") or ["baseline"]
        run_txt = ", ".join(f"`{r}`" for r in runs)
        model = f"{md_escape(c['model'])} — runs: {run_txt}; metric: {md_escape(c['answers'])}"
        lines.append(
            f"| {i} | {md_escape(c['claim'])} ({art}) | {model} | {md_escape(evaluate(c, R))} |"
        )
    lines += [
        "",
        "## Runs",
        "",
        "| run | objective | commodities short | status |",
        "|---|---|---|---|",
    ]
    for r in sorted(R.solved(), key=lambda r: (r.key != "baseline", r.key)):
        n = len(shortfall.by_commodity(r.res.shortages))
        lines.append(f"| `{r.key}` | {money(r.res.objective)} | {n} | {r.res.status} |")
    lines += [
        "",
        "Prices are medians of the marginal costs (balance duals) at the sites in China, or",
        "outside China where the text says so. They are marginal values of an LP without",
        "demand curves, so a small change can switch a co-product between scarce and surplus",
        "(see `docs/world-2024.md` §3). Shares are of tonnes made (production × recipe",
        "outputs) by the country of the site; HHI is by country unless the text says company.",
        "Scenario and claim definitions: `docs/scenarios.md`, `seeds/claims.yaml`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if seeds/README.md is out of date")
    args = ap.parse_args(argv)
    spec = yaml.safe_load(CLAIMS.read_text(encoding="utf-8"))
    text = render(spec, Runs())
    if args.check:
        current = README.read_text(encoding="utf-8") if README.exists() else ""
        if current != text:
            sys.stderr.write(
                "seeds/README.md is out of date: run `python seeds/make_digest.py` and commit it\n"
            )
            return 1
        sys.stdout.write("seeds/README.md is up to date\n")
        return 0
    README.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {README.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
