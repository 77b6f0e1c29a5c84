"""Names, stages and colours for a report: one lookup shared by every chart and table.

Colours are fixed per country code (same colour in every chart of every
report), so China is the same red in the Sankey, the map and the bars.
"""

from __future__ import annotations

import html
import zlib
from typing import TYPE_CHECKING

import networkx as nx
import pandas as pd
import pycountry

from optimizer.data.schema import STAGES

if TYPE_CHECKING:
    from optimizer.data.instance import Instance
    from optimizer.results.result import Result

#: Stages in chain order (the one order: optimizer.data.schema.STAGES); unknown stages go
#: before "component".
STAGE_ORDER = list(STAGES)
STAGE_LABEL = {
    "mine": "Mines",
    "separation": "Separation",
    "metal": "Metals & alloys",
    "magnet": "Magnets",
    "recycling": "Recycling",
    "component": "Components",
    "market": "Markets",
}

#: Fixed colours for the countries that matter most in this chain.
COUNTRY_COLOURS = {
    "CN": "#d1495b",
    "US": "#2e6fba",
    "JP": "#8e5ab5",
    "AU": "#e58e26",
    "MM": "#8c6d46",
    "MY": "#1b998b",
    "DE": "#3d5a80",
    "KR": "#5fa8d3",
    "IN": "#f2a541",
    "VN": "#62a87c",
    "TH": "#c97b84",
    "NG": "#4d9078",
    "EE": "#7c9eb2",
    "FR": "#34568b",
    "GB": "#6b5b95",
    "BR": "#88b04b",
    "RU": "#955251",
    "MG": "#b5651d",
    "LA": "#a0a05a",
    "FI": "#5b7db1",
    "SI": "#45b8ac",
    "CA": "#c44536",
    "ZA": "#7a9e3d",
    "GL": "#4f6d7a",
    "TZ": "#a3785f",
    "KZ": "#6c8ead",
}
#: Colours for countries not listed above (chosen by a stable hash of the code).
FALLBACK = [
    "#6a8eae",
    "#9c6644",
    "#57a773",
    "#b07aa1",
    "#d4a373",
    "#4a7c59",
    "#8d6a9f",
    "#c06c84",
    "#3e8e7e",
    "#a68a64",
    "#5c7aea",
    "#bc6c25",
]
OTHER_COLOUR = "#9aa0a6"
#: Colour of the map's ring for a region a site stands for (``represents``).
REGION_COLOUR = "#4f5d75"
COUNTRY_NAMES = {"RU": "Russia", "KR": "South Korea", "KP": "North Korea", "IR": "Iran"}


def esc(s: object) -> str:
    """Escape text for plotly labels and hover text.

    plotly.js renders a small HTML subset in labels and decodes entities, so
    ``&lt;script&gt;`` is shown as the literal text ``<script>`` and never
    becomes markup.
    """
    return html.escape("" if s is None else str(s), quote=False)


def country_colour(code: str) -> str:
    if code in COUNTRY_COLOURS:
        return COUNTRY_COLOURS[code]
    if not code:
        return OTHER_COLOUR
    return FALLBACK[zlib.crc32(code.encode()) % len(FALLBACK)]


def country_name(code: str) -> str:
    """The name of an ISO 3166-1 alpha-2 code; any other text (a region's name) as it is."""
    if not code:
        return "unknown"
    if code in COUNTRY_NAMES:
        return COUNTRY_NAMES[code]
    c = pycountry.countries.get(alpha_2=code)
    if c is None:
        return code
    return getattr(c, "common_name", None) or c.name


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def short(s: str, n: int = 34) -> str:
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


class Names:
    """Site, commodity and country lookups for one report.

    With an instance, names, stages, companies and coordinates come from its
    tables; without one (a saved folder whose instance is gone) ids stand in
    for names and stages are inferred from the direction of the flows.
    """

    def __init__(self, instance: Instance | None, results: list[Result]):
        self.instance = instance
        self.inferred_stages = False
        if instance is not None:
            s = instance.tables["sites"].copy()
            s["id"] = s["id"].astype(str)
            self.sites = s.set_index("id")
            c = instance.tables["commodities"].copy()
            self.commodities = c.set_index(c["id"].astype(str))
        else:
            self.sites = self._sites_from_results(results)
            self.commodities = pd.DataFrame(columns=["name", "stage", "unit"])
        #: site id -> the region it stands for (sites.csv ``represents``)
        self.represents: dict[str, str] = {}
        if "represents" in self.sites.columns:
            r = self.sites["represents"]
            r = r.loc[r.map(lambda x: isinstance(x, str) and bool(x.strip()))]
            self.represents = {str(k): " ".join(str(v).split()) for k, v in r.items()}
        self.regions = set(self.represents.values())

    # -- sites -----------------------------------------------------------
    def _sites_from_results(self, results: list[Result]) -> pd.DataFrame:
        country: dict[str, str] = {}
        markets: set[str] = set()
        g = nx.DiGraph()
        for r in results:
            f = r.flows
            for a, b, ca, cb in zip(
                f["source"], f["target"], f["source_country"], f["target_country"], strict=True
            ):
                g.add_edge(str(a), str(b))
                country.setdefault(str(a), str(ca))
                country.setdefault(str(b), str(cb))
            for t in (r.production, r.capacities, r.shortages):
                key = "market" if "market" in t.columns else "site"
                for sid, cc in zip(t[key], t.get("country", [""] * len(t)), strict=True):
                    country.setdefault(str(sid), str(cc))
            markets |= set(map(str, r.shortages["market"]))
        g.add_nodes_from(country)
        # Stage = depth in the flow graph (cycles from recycling collapsed).
        cond = nx.condensation(g)
        depth: dict[int, int] = {}
        for n in nx.topological_sort(cond):
            preds = list(cond.predecessors(n))
            depth[n] = 1 + max((depth[p] for p in preds), default=-1)
        stage = {}
        for n in cond.nodes:
            for sid in cond.nodes[n]["members"]:
                stage[sid] = "market" if sid in markets else f"step {depth[n] + 1}"
        self.inferred_stages = True
        rows = [
            {"id": sid, "name": sid, "country": country.get(sid, ""), "stage": stage.get(sid, "")}
            for sid in sorted(country)
        ]
        df = pd.DataFrame(rows, columns=["id", "name", "country", "stage"])
        df["company"] = ""
        df["lat"] = float("nan")
        df["lon"] = float("nan")
        return df.set_index("id")

    def site_name(self, sid: str) -> str:
        if sid in self.sites.index:
            n = self.sites.at[sid, "name"]
            if isinstance(n, str) and n.strip():
                return n
        return str(sid)

    def site_label(self, sid: str) -> str:
        """``name (id)``, or the id alone when there is no separate name."""
        n = self.site_name(sid)
        return n if n == sid else f"{n} ({sid})"

    def stage(self, sid: str) -> str:
        if sid in self.sites.index:
            return str(self.sites.at[sid, "stage"])
        return ""

    def site_country(self, sid: str) -> str:
        """The site's ISO country code (what policies go by)."""
        if sid in self.sites.index:
            return str(self.sites.at[sid, "country"])
        return ""

    def site_group(self, sid: str) -> str:
        """Where a site belongs in a country view: the region it stands for
        (``represents``), else its country code; :func:`country_name` names both (a
        region's name is not a code, so it is its own name)."""
        return self.represents.get(sid) or self.site_country(sid)

    def place(self, sid: str, code: str = "") -> str:
        """The name of where a site is: its region (``European Union``) or its country;
        ``code`` (a result table's country column) when the site is unknown."""
        return self.country_name(self.site_group(sid) or str(code))

    def company(self, sid: str) -> str:
        if sid in self.sites.index and "company" in self.sites.columns:
            c = self.sites.at[sid, "company"]
            return c if isinstance(c, str) else ""
        return ""

    # -- commodities -----------------------------------------------------
    def commodity_name(self, cid: str) -> str:
        if cid in self.commodities.index:
            n = self.commodities.at[cid, "name"]
            if isinstance(n, str) and n.strip():
                return n
        return str(cid)

    # -- stages ----------------------------------------------------------
    def stages_present(self) -> list[str]:
        present = [s for s in dict.fromkeys(self.sites["stage"].astype(str)) if s]
        known = [s for s in STAGE_ORDER if s in present]
        extra = sorted((s for s in present if s not in STAGE_ORDER), key=lambda s: (len(s), s))
        if "component" in known:
            i = known.index("component")
            return known[:i] + extra + known[i:]
        if "market" in known:
            i = known.index("market")
            return known[:i] + extra + known[i:]
        return known + extra

    @staticmethod
    def stage_label(stage: str) -> str:
        return STAGE_LABEL.get(stage, stage.capitalize())

    # -- countries (a region a site stands for is not an ISO code: its name is itself) --
    country_name = staticmethod(country_name)
    country_colour = staticmethod(country_colour)
