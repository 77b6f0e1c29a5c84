"""Generate demand.csv, links.csv and expansions.csv of instances/world-2024-2035.

    python instances/world-2024-2035/make_tables.py           # write the three files
    python instances/world-2024-2035/make_tables.py --check   # exit 1 if they are stale

The instance extends ../world-2024 (its other tables are hand-written).  This
script holds the arithmetic the source notes describe, so that every generated
number can be traced:

* ``demand.csv``: the base's 2024 demand rows times an index per end use and
  period (``est-demand-growth-2035``), for 2026, 2028, 2030 and 2035;
* ``links.csv``: the lanes of the new sites, copied from a template site with
  the base's transport-cost rule (``est-new-sites``), and a few extra lanes;
* ``expansions.csv``: the projects (``PROJECTS`` below) with their capex
  annualised by the capital recovery factor (``est-capex-annuity``).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
BASE = HERE.parent / "world-2024"
PERIODS = [2026, 2028, 2030, 2035]

# --------------------------------------------------------------------------- demand
#: IEA GCMO 2024, APS: magnet-REE demand (kt) — iea-gcmo-2024-aps
IEA = {2023: 93.0, 2030: 131.0, 2050: 181.0}
#: est-enduse-split: shares of the 2024 magnet content (sum 1)
SHARES = {
    "ev_traction": 0.32,
    "auto_other": 0.12,
    "wind_gen": 0.10,
    "consumer_elec": 0.18,
    "industrial": 0.18,
    "robotics": 0.02,
    "ebike": 0.04,
    "defense": 0.02,
    "medical_other": 0.02,
}
#: assumed growth rates to 2030, per year [E] (EV traction is the residual)
RATES = {
    "auto_other": 0.02,
    "wind_gen": 0.03,
    "consumer_elec": 0.0,
    "industrial": 0.03,
    "ebike": 0.02,
    "defense": 0.03,
    "medical_other": 0.02,
}
ROBOTICS_2024_T = 0.02 * 243_000  # 4,860 t
HUMANOIDS_2030_T = 3_200  # argus-humanoids-2024


def iea_path(year: int) -> float:
    """Magnet-REE demand (kt) on the IEA APS path, geometric between the published points."""
    if year <= 2030:
        return IEA[2023] * (IEA[2030] / IEA[2023]) ** ((year - 2023) / 7)
    return IEA[2030] * (IEA[2050] / IEA[2030]) ** ((year - 2030) / 20)


def enduse_index(year: int) -> dict[str, float]:
    """Demand index (2024 = 1) of every end use in ``year``."""
    y = min(year, 2030)
    idx = {u: (1 + r) ** (y - 2024) for u, r in RATES.items()}
    humanoids = HUMANOIDS_2030_T * (y - 2024) / 6
    idx["robotics"] = (ROBOTICS_2024_T * 1.03 ** (y - 2024) + humanoids) / ROBOTICS_2024_T
    total = iea_path(y) / iea_path(2024)
    rest = sum(SHARES[u] * v for u, v in idx.items())
    idx["ev_traction"] = (total - rest) / SHARES["ev_traction"]
    if year > 2030:  # no end-use split after 2030: all grow with the IEA total
        f = iea_path(year) / iea_path(2030)
        idx = {u: v * f for u, v in idx.items()}
    return idx


def make_demand() -> pd.DataFrame:
    base = pd.read_csv(BASE / "demand.csv")
    rows = []
    for year in PERIODS:
        idx = enduse_index(year)
        for r in base.itertuples(index=False):
            if r.commodity in idx:
                f = idx[r.commodity]
                note = f"2024 quantity {r.quantity:g} x {r.commodity} index {f:.4f} ({year})"
            else:
                f = 1.0
                note = "non-magnet oxide demand held at its 2024 level"
            rows.append(
                {
                    "market": r.market,
                    "commodity": r.commodity,
                    "period": year,
                    "quantity": round(r.quantity * f, 1),
                    "shortage_penalty": int(r.shortage_penalty),
                    "source": "est-demand-growth-2035",
                    "note": note,
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- links
#: new site -> (template site, link commodities to leave out)
TEMPLATES = {
    "us_vulcan": ("us_evac_sumter", ()),
    "us_usar": ("us_mp_independence", ()),
    "au_iluka_refinery": ("my_lamp", ("ore_mtweld", "SEG_HRE_conc")),  # full separation: no SEG
    "au_nolans_sep": ("my_lamp", ("ore_mtweld",)),
    "us_lynas_seadrift": ("us_mp_sep", ("ore_mtpass",)),
}
#: extra lanes: (from, to, commodity, template link id whose class cost it takes).
#: No ore lane goes into White Mesa: the site holds a stock (stocks.csv), and in a
#: multi-period instance a stocked node stores whatever flows in at no cost, so
#: an inflow lane would let the LP hoard monazite there for later periods.
EXTRA = [
    ("au_eneabba", "au_iluka_refinery", "ore_monazite", None),
    ("au_nolans", "au_nolans_sep", "ore_monazite", None),
    ("au_mount_weld", "us_lynas_seadrift", "ore_mtweld", "au_mount_weld__my_lamp__ore_mtweld"),
    ("jp_metal", "us_mp_independence", "metals", "jp_metal__us_noveon__metals"),
    ("jp_metal", "us_evac_sumter", "metals", "jp_metal__us_noveon__metals"),
    ("jp_metal", "us_vulcan", "metals", "jp_metal__us_noveon__metals"),
    ("jp_metal", "us_usar", "metals", "jp_metal__us_noveon__metals"),
]
#: domestic lanes: base + rate x km by commodity class (est-transport-costs)
DOMESTIC = {"ore": (30, 0.08), "oxide": (50, 0.08), "magnet": (100, 0.10), "component": (300, 0.10)}


def _sites() -> pd.DataFrame:
    s = pd.concat([pd.read_csv(BASE / "sites.csv"), pd.read_csv(HERE / "sites.csv")])
    return s.set_index("id")


def _km(s: pd.DataFrame, a: str, b: str) -> float:
    la1, lo1, la2, lo2 = (math.radians(x) for x in (s.lat[a], s.lon[a], s.lat[b], s.lon[b]))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))


def _klass(commodity: str) -> str:
    if commodity.startswith("ore"):
        return "ore"
    if commodity in ("magnets",):
        return "magnet"
    if commodity in ("components", "components_heavy", "components_light"):
        return "component"
    return "oxide"


def _cost(s, frm, to, commodity, template: pd.Series | None) -> float:
    d = _km(s, frm, to)
    if s.country[frm] == s.country[to]:
        b, rate = DOMESTIC[_klass(commodity)]
        return round((b + rate * d) / 10) * 10
    assert template is not None, (frm, to, commodity)
    assert s.country[template.from_site] != s.country[template.to_site], template.id
    cls = template.cost - 0.01 * _km(s, template.from_site, template.to_site)
    return round((cls + 0.01 * d) / 10) * 10


def make_links() -> pd.DataFrame:
    s = _sites()
    base = pd.read_csv(BASE / "links.csv").set_index("id", drop=False)
    rows = []

    def add(frm, to, commodity, template):
        rows.append(
            {
                "id": f"{frm}__{to}__{commodity}",
                "from_site": frm,
                "to_site": to,
                "commodity": commodity,
                "capacity": "",
                "cost": int(_cost(s, frm, to, commodity, template)),
                "source": "est-new-sites",
                "note": f"template {template.id}" if template is not None else "domestic lane",
            }
        )

    for new, (tpl, skip) in TEMPLATES.items():
        for t in base.itertuples(index=False):
            if t.commodity in skip or tpl not in (t.from_site, t.to_site):
                continue
            frm = new if t.from_site == tpl else t.from_site
            to = new if t.to_site == tpl else t.to_site
            add(frm, to, t.commodity, pd.Series(t._asdict()))
    for frm, to, commodity, tpl in EXTRA:
        add(frm, to, commodity, base.loc[tpl] if tpl else None)
    out = pd.DataFrame(rows)
    dfars = (out["to_site"] == "us_defense_comp").to_numpy()
    out.loc[dfars, "note"] = out.loc[dfars, "note"] + "; DFARS: only non-Chinese-made magnets"
    return out


# ------------------------------------------------------------------------ expansions
CRF_RATE, CRF_YEARS = 0.08, 20
CRF = CRF_RATE / (1 - (1 + CRF_RATE) ** -CRF_YEARS)  # 0.101852
EUR, AUD = 1.08, 0.66  # USD per EUR / AUD, 2024 (est-capex-annuity)

#: benchmarks, overnight USD per t of annual capacity (est-capex-annuity)
MAGNET_WEST = 100_000
MAGNET_BROWNFIELD = 50_000
METAL_WEST = 20_000
MINE_WEST = 20_000
HRE_WEST = 150_000
REFINERY_WEST = AUD * 1.65e9 / 17_500  # Iluka Eneabba: 62.2k
MAGNET_CN, SEP_CN, MINE_CN = 30_000, 10_000, 5_000

#: (id, process, capacity, overnight USD per t/yr, earliest, lead, committed, source, note)
# fmt: off
PROJECTS = [
    # -- US magnets ----------------------------------------------------------------
    ("mp_independence", "us_mp_ndfeb", 1000, MAGNET_WEST, 2024, 1, "yes", "mp-10k-2024",
     "MP Independence (Fort Worth) commercial magnets from end-2025, ~1,000 t (GM anchor); capex benchmark"),
    ("mp_10x", "us_mp_ndfeb", 9000, 1.0e9 / 9000, 2025, 3, "yes", "mp-dod-2025",
     "10X facility: MP magnet capacity to ~10,000 t/yr, commissioning 2028; DoD 100% offtake; capex = USD 1.0bn financing / 9,000 t"),
    ("mp_metal_independence", "mp_metal", 315, METAL_WEST, 2024, 1, "yes", "mp-10k-2024",
     "NdPr metal for 1,000 t of magnets: 1,000 x 0.365 t NdPr metal per t (est-magnet-composition) - 50 t trial = 315 t [E]"),
    ("mp_metal_10x", "mp_metal", 3285, METAL_WEST, 2025, 3, "yes", "mp-dod-2025",
     "NdPr metal for the 10X magnets: 9,000 x 0.365 = 3,285 t [E]"),
    ("evac_sumter", "us_evac_ndfeb", 1500, MAGNET_WEST, 2024, 1, "yes", "evac-2025",
     "e-VAC Sumter opened 2025; ~1,500 t/yr [E unverified]; capex benchmark (DoD's USD 94.1M is equipment only)"),
    ("vulcan_phase1", "us_vulcan_ndfeb", 5000, 918e6 / 10000, 2025, 2, "yes", "vulcan-2025",
     "'significant amount online by 2027': half of 10,000 t/yr [E]; financed (USD 1.4bn package); capex USD 918M / 10,000 t"),
    ("vulcan_phase2", "us_vulcan_ndfeb", 5000, 918e6 / 10000, 2025, 4, "yes", "vulcan-2025",
     "full 10,000 t/yr with full staffing ~2029; capex USD 918M / 10,000 t"),
    ("usar_phase1", "us_usar_ndfeb", 1200, MAGNET_WEST, 2025, 1, "no", "usar-stillwater",
     "USA Rare Earth Stillwater phase 1, 1,200 t/yr from 2026 [S, low]; capex benchmark"),
    ("usar_phase2", "us_usar_ndfeb", 3800, MAGNET_WEST, 2026, 3, "no", "usar-stillwater",
     "to ~5,000 t/yr [E]; capex benchmark"),
    ("noveon_expansion", "us_noveon_ndfeb", 1500, MAGNET_BROWNFIELD, 2025, 1, "no", "noveon-2024",
     "from the 500 t run in 2024 to ~2,000 t/yr [E]; brownfield capex"),
    # -- EU magnets -----------------------------------------------------------------
    ("narva_phase1", "ee_narva_ndfeb", 2000, EUR * 100e6 / 2000, 2024, 1, "yes", "neo-narva-2025",
     "Neo Narva phase 1 opened 2025, 2,000 t/yr; capex EUR 100M / 2,000 t"),
    ("narva_phase2", "ee_narva_ndfeb", 3000, EUR * 100e6 / 2000, 2026, 3, "no", "neo-narva-2025",
     "phase 2 to 5,000 t/yr (timing [E]); capex at phase 1's unit cost [E]"),
    # -- Lynas ----------------------------------------------------------------------
    ("mount_weld_stage1", "au_mount_weld_mine", 8440, 0, 2024, 1, "yes", "lynas-growth-2025",
     "supports ~12,000 t/yr NdPr: 12,000 / 0.5597 NdPr per t ore on Lynas' reported-product basis (est-lynas-basis) = 21,440 t REO, less the 13,000 t of 2024 (usgs-mcs-2025); commissioned 2024: capex sunk"),
    ("lamp_nameplate", "lynas_lamp", 7688, 0, 2024, 1, "yes", "lynas-growth-2025",
     "LAMP nameplate 10,500 t/yr NdPr: 10,500 / 0.5597 = 18,760 t REO on Lynas' reported-product basis (est-lynas-basis), less the 11,072 t of 2024 (lynas-quarterly-2024); Kalgoorlie and LAMP upgrade built 2024-25: capex sunk"),
    ("lynas_hre_malaysia", "lynas_hre", 1500, HRE_WEST, 2024, 1, "yes", "lynas-growth-2025",
     "Malaysian heavy circuit, first Dy/Tb oxide May-June 2025, ~1,500 t/yr feed [E unverified]; capex benchmark"),
    ("lynas_seadrift_light", "lynas_seadrift_lre", 2233, 258e6 / 2233, 2026, 3, "no", "lynas-seadrift",
     "stalled; 2021 design 1,250 t/yr NdPr: 1,250 / 0.5597 = 2,233 t REO on Lynas' reported-product basis (est-lynas-basis); capex = DoD's USD 258M (a lower bound)"),
    ("lynas_seadrift_heavy", "lynas_seadrift_hre", 213, HRE_WEST, 2026, 3, "no", "lynas-seadrift",
     "heavy circuit for its own SEG/HRE: 2,233 x 0.0953 = 213 t [E]; capex benchmark"),
    # -- MP upstream ----------------------------------------------------------------
    ("mp_separation_ramp", "mp_sep", 32700, 0, 2024, 1, "yes", "mp-10k-2024",
     "separation design ~6,000 t/yr NdPr: 6,000 / 0.1438 = 41,700 t feed, less 9,000 (2024); plant built 2023: ramp-up only, capex sunk"),
    ("mp_upstream_60k", "us_mountain_pass_mine", 15000, MINE_WEST, 2025, 1, "no", "mp-10k-2024",
     "'Upstream 60K': 60,000 t REO concentrate target, less 45,000 (2024); capex benchmark"),
    ("mp_heavy_separation", "mp_hre", 1000, 150e6 / 1000, 2025, 2, "yes", "mp-dod-2025",
     "USD 150M DoD loan for heavy separation; 1,000 t/yr SEG/HRE feed is [E] (Mountain Pass makes ~730 t at 60 kt: 60,000 x 0.01222)"),
    # -- Australia ------------------------------------------------------------------
    ("iluka_eneabba_feed", "au_eneabba_mine", 17500, 0, 2022, 5, "yes", "iluka-eneabba",
     "feed for the refinery from Iluka's stockpile and mineral sands (capex in the refinery row)"),
    ("iluka_eneabba_refinery", "iluka_sep", 17500, REFINERY_WEST, 2022, 5, "yes", "iluka-eneabba",
     "17,500 t/yr REO, FID 2022, commissioning 2027; capex AUD 1.65bn x 0.66 / 17,500 t"),
    ("nolans_mine", "au_nolans_mine", 19930, MINE_WEST, 2026, 3, "no", "arafura-nolans",
     "feed for 4,440 t/yr NdPr: 4,440 / 0.22278 NdPr per t of proxy ore = 19,930 t REO; timing [E]; capex benchmark"),
    ("nolans_refinery", "nolans_sep", 19930, REFINERY_WEST, 2026, 3, "no", "arafura-nolans",
     "4,440 t/yr NdPr oxide; capex at Iluka's unit cost [E]"),
    # -- Energy Fuels, Solvay -------------------------------------------------------
    ("ef_phase2_light", "ef_sep", 22400, 0.8 * 410e6 / 22400, 2027, 2, "no", "energy-fuels-phase2",
     ">6,000 t/yr NdPr: 6,000 / 0.2228 = 26,900 t monazite feed, less 4,500 (phase 1); commissioning ~2029; 80% of the USD 410M [E]"),
    ("ef_phase2_heavy", "ef_hre", 2100, 0.2 * 410e6 / 2100, 2027, 2, "no", "energy-fuels-phase2",
     "Dy/Tb circuit for the SEG/HRE of 26,900 t feed: 26,900 x 0.078 = 2,100 t [E]; 20% of the USD 410M [E]"),
    ("solvay_restart", "solvay_ndpr", 1000, 0, 2024, 1, "yes", "solvay-fullscale",
     "NdPr line opened Apr 2025, several hundred t: 1,000 t feed [E]; built: capex sunk"),
    ("solvay_fullscale", "solvay_ndpr", 3500, EUR * 100e6 / 3500, 2026, 3, "no", "solvay-fullscale",
     "goal ~4,500 t/yr by 2030; capex EUR 100M / 3,500 t"),
    # -- China ----------------------------------------------------------------------
    ("baotou_plan_mine", "cn_bayanobo_mine", 38002, MINE_CN, 2026, 1, "no", "est-baotou-plan",
     "Bayan Obo +20% to the ecological cap of 228,012 t REO (ILLUSTRATIVE); capex benchmark"),
    ("baotou_plan_separation", "cnre_baotou_sep", 57003, SEP_CN, 2026, 1, "no", "est-baotou-plan",
     "CNRE Baotou separation +30% (ILLUSTRATIVE); capex benchmark"),
    ("baotou_plan_magnets", "cn_baotou_ndfeb", 55000, MAGNET_CN, 2026, 2, "no", "est-baotou-plan",
     "Baotou NdFeB x2 for the magnet parks (ILLUSTRATIVE); capex benchmark"),
    ("cn_quota_sichuan", "cn_sichuan_mine", 12168, MINE_CN, 2025, 1, "no", "est-cn-growth",
     "CREG light-rock quota +20% [E]; capex benchmark"),
    ("cn_separation_sichuan", "creg_sichuan_sep", 12168, SEP_CN, 2025, 1, "no", "est-cn-growth",
     "separation for the larger Sichuan quota [E]; capex benchmark"),
    ("cn_magnets_ningbo", "cn_ningbo_ndfeb", 85000, MAGNET_CN, 2025, 1, "no", "est-cn-growth",
     "Ningbo/YRD NdFeB capacity x2 [E]; capex benchmark"),
    ("cn_smco_ningbo", "cn_smco", 3000, MAGNET_CN, 2025, 1, "no", "est-cn-growth",
     "Chinese SmCo capacity x2 [E], like NdFeB; capex benchmark"),
]
# fmt: on


def make_expansions() -> pd.DataFrame:
    rows = []
    for pid, proc, cap, per_t, earliest, lead, committed, source, note in PROJECTS:
        annual = round(per_t * CRF)
        rows.append(
            {
                "id": pid,
                "process": proc,
                "capacity": cap,
                "capex": annual,
                "earliest": earliest,
                "lead_time": lead,
                "committed": committed,
                "source": source,
                "note": f"{note}; capex {per_t:,.0f} USD per t/yr x CRF {CRF:.6f} (est-capex-annuity)",
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- main
def tables() -> dict[str, pd.DataFrame]:
    return {
        "demand.csv": make_demand(),
        "links.csv": make_links(),
        "expansions.csv": make_expansions(),
    }


def _text(df: pd.DataFrame) -> str:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a generated file is stale")
    args = ap.parse_args(argv)
    stale = []
    for name, df in tables().items():
        path = HERE / name
        text = _text(df)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        script = Path(__file__).relative_to(HERE.parents[1])
        sys.stderr.write(f"stale: {', '.join(stale)} (run python {script})\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
