"""Cross-table checks run before building: every reference resolves, sources exist.

Each ``check_*`` function appends :class:`~optimizer.errors.Problem` s; none
raises, so the user sees every problem at once.
"""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pycountry

from optimizer.data import periods as P
from optimizer.data.manifest import Manifest
from optimizer.data.schema import TABLES
from optimizer.data.tables import LINE
from optimizer.errors import Problem

#: Codes accepted besides ISO 3166-1 alpha-2 (user-assigned codes in common use).
EXTRA_COUNTRY_CODES = {"XK"}  # Kosovo


def country_codes() -> set[str]:
    """ISO 3166-1 alpha-2 codes."""
    return {c.alpha_2 for c in pycountry.countries} | EXTRA_COUNTRY_CODES


def _dangling(
    df: pd.DataFrame, col: str, valid: set, file: str, what: str, problems: list[Problem]
) -> pd.Series:
    """Report values of ``df[col]`` not in ``valid``; returns the mask of good rows."""
    ok = df[col].isin(valid) | (df[col] == "")
    for _, r in df.loc[~ok].iterrows():
        problems.append(Problem(file, int(r[LINE]), col, f"{r[col]!r} is not a known {what}"))
    return ok


def check_containment(
    groups: dict[str, list[str]], key: str, what: str, problems: list[Problem]
) -> None:
    """Groups (regions, commodity groups) that contain themselves, directly or through
    others (``EU: [DE, EU2]``, ``EU2: [EU]``): one problem per loop, naming its groups.

    The loops are the strongly connected parts of the graph group -> member group
    (linear in its size, however the groups are nested).
    """
    g = nx.DiGraph()
    g.add_edges_from((a, b) for a, members in groups.items() for b in members if b in groups)
    for part in nx.strongly_connected_components(g):
        first = min(part)
        if len(part) == 1 and not g.has_edge(first, first):
            continue
        loop = [u for u, _ in nx.find_cycle(g.subgraph(part), first)]
        shown = " -> ".join([*loop, loop[0]])
        msg = (
            f"{what} {first!r} contains itself"
            if len(loop) == 1
            else f"{what}s {', '.join(map(repr, sorted(part)))} contain each other ({shown})"
        )
        problems.append(
            Problem(
                "instance.yaml",
                None,
                f"{key}.{first}",
                f"{msg}; a {what} is made of members and smaller {what}s, never of itself",
            )
        )


def check_manifest(m: Manifest, commodities: set[str], problems: list[Problem]) -> None:
    """Regions name real countries; commodity groups name real commodities; neither
    contains itself."""
    codes = country_codes()
    check_containment(m.regions, "regions", "region", problems)
    check_containment(m.commodity_groups, "commodity_groups", "commodity group", problems)
    for region, members in m.regions.items():
        if region in codes:
            problems.append(
                Problem(
                    "instance.yaml",
                    None,
                    f"regions.{region}",
                    "a region may not reuse a country code as its name",
                )
            )
        for c in members:
            if c not in codes and c not in m.regions:
                problems.append(
                    Problem(
                        "instance.yaml",
                        None,
                        f"regions.{region}",
                        f"{c!r} is not an ISO 3166-1 alpha-2 country code or region",
                    )
                )
    for i, a in enumerate(m.price_areas):
        if a not in codes and a not in m.regions:
            problems.append(
                Problem(
                    "instance.yaml",
                    None,
                    f"price_areas[{i}]",
                    f"{a!r} is not an ISO 3166-1 alpha-2 country code or region",
                )
            )
    for group, members in m.commodity_groups.items():
        if group in commodities or group == "*":
            problems.append(
                Problem(
                    "instance.yaml",
                    None,
                    f"commodity_groups.{group}",
                    "a group may not reuse a commodity id as its name",
                )
            )
        for c in members:
            if c not in commodities and c not in m.commodity_groups:
                problems.append(
                    Problem(
                        "instance.yaml",
                        None,
                        f"commodity_groups.{group}",
                        f"{c!r} is not a known commodity or group",
                    )
                )


def expand_group(m: Manifest, name: str, commodities: set[str] | list[str]) -> list[str]:
    """Commodity ids named by an id, a group (recursively) or ``*``."""
    if name == "*":
        return list(commodities)
    if name in m.commodity_groups:
        out: list[str] = []
        stack = [name]
        seen = set()
        while stack:
            g = stack.pop()
            if g in seen:
                continue
            seen.add(g)
            for x in m.commodity_groups.get(g, []):
                if x in m.commodity_groups:
                    stack.append(x)
                elif x not in out:
                    out.append(x)
        return out
    return [name]


def check_references(m: Manifest, t: dict[str, pd.DataFrame], problems: list[Problem]) -> None:
    """Every id a table refers to exists, and the rows make sense together."""
    com = set(t["commodities"]["id"])
    sites = t["sites"]
    site_ids = set(sites["id"])
    site_stage = dict(zip(sites["id"], sites["stage"], strict=True))
    codes = country_codes()

    for _, r in sites.loc[~sites["country"].isin(codes)].iterrows():
        problems.append(
            Problem(
                "sites.csv",
                int(r[LINE]),
                "country",
                f"{r['country']!r} is not an ISO 3166-1 alpha-2 country code",
            )
        )

    rec = t["recipes"]
    _dangling(rec, "commodity", com, "recipes.csv", "commodity id (commodities.csv)", problems)
    first_line = rec.groupby("recipe", sort=False)[LINE].first()
    outs = set(rec.loc[rec["direction"] == "output", "recipe"])
    for name in first_line.index.difference(pd.Index(list(outs))):
        problems.append(
            Problem(
                "recipes.csv", int(first_line[name]), "recipe", f"recipe {name!r} has no output row"
            )
        )
    both = rec.loc[rec["direction"] == "input", ["recipe", "commodity"]].merge(
        rec.loc[rec["direction"] == "output", ["recipe", "commodity"]]
    )
    for r in both.itertuples(index=False):
        problems.append(
            Problem(
                "recipes.csv",
                int(first_line[r.recipe]),
                "commodity",
                f"recipe {r.recipe!r} has {r.commodity!r} as both input and output",
            )
        )

    pro = t["processes"]
    _dangling(pro, "site", site_ids, "processes.csv", "site id (sites.csv)", problems)
    _dangling(pro, "recipe", set(rec["recipe"]), "processes.csv", "recipe (recipes.csv)", problems)
    grp = pro.groupby("id", sort=False)
    nsite = grp["site"].nunique()
    ncap = grp["capacity"].nunique()
    for pid in nsite.index[nsite > 1]:
        g = pro.loc[pro["id"] == pid]
        problems.append(
            Problem(
                "processes.csv",
                int(g[LINE].iloc[1]),
                "site",
                f"process {pid!r} is on several sites; rows sharing an id must share the site",
            )
        )
    for pid in ncap.index[ncap > 1]:
        g = pro.loc[pro["id"] == pid]
        caps = g["capacity"].dropna().unique()
        problems.append(
            Problem(
                "processes.csv",
                int(g[LINE].iloc[1]),
                "capacity",
                f"process {pid!r} has different capacities on its rows ({', '.join(f'{c:g}' for c in caps)})",
            )
        )

    links = t["links"]
    _dangling(links, "from_site", site_ids, "links.csv", "site id (sites.csv)", problems)
    _dangling(links, "to_site", site_ids, "links.csv", "site id (sites.csv)", problems)
    for _, r in links.loc[links["from_site"] == links["to_site"]].iterrows():
        problems.append(
            Problem("links.csv", int(r[LINE]), "to_site", "a link must join two different sites")
        )
    valid_names = com | set(m.commodity_groups) | {"*"}
    _dangling(links, "commodity", valid_names, "links.csv", "commodity id, group or '*'", problems)

    dem = t["demand"]
    ok = _dangling(dem, "market", site_ids, "demand.csv", "site id (sites.csv)", problems)
    for _, r in dem.loc[ok].iterrows():
        if site_stage.get(r["market"]) != "market":
            problems.append(
                Problem(
                    "demand.csv",
                    int(r[LINE]),
                    "market",
                    f"site {r['market']!r} has stage {site_stage.get(r['market'])!r}, demand needs a site of stage 'market'",
                )
            )
    _dangling(dem, "commodity", com, "demand.csv", "commodity id (commodities.csv)", problems)
    known = set(m.periods)
    if P.monthly(m.periods):  # a year spreads over its months
        known |= {P.year_of(p) for p in m.periods}
    shown = (
        ", ".join(map(str, m.periods))
        if len(m.periods) <= 12
        else f"{m.periods[0]} .. {m.periods[-1]}"
    )
    for _, r in dem.loc[~dem["period"].isin(known)].iterrows():
        problems.append(
            Problem(
                "demand.csv",
                int(r[LINE]),
                "period",
                f"{r['period']} is not one of the periods in instance.yaml ({shown})",
            )
        )

    if "expansions" in t:
        ex = t["expansions"]
        ok = _dangling(
            ex, "process", set(pro["id"]), "expansions.csv", "process id (processes.csv)", problems
        )
        finite = set(pro.loc[pro["capacity"].notna(), "id"])
        for _, r in ex.loc[
            ok & ~ex["process"].isin(finite) & ex["process"].isin(set(pro["id"]))
        ].iterrows():
            problems.append(
                Problem(
                    "expansions.csv",
                    int(r[LINE]),
                    "process",
                    f"process {r['process']!r} has no capacity limit to add to (give it a capacity, 0 if it does not run yet)",
                )
            )

    if "stocks" in t:
        st = t["stocks"]
        _dangling(st, "site", site_ids, "stocks.csv", "site id (sites.csv)", problems)
        _dangling(st, "commodity", com, "stocks.csv", "commodity id (commodities.csv)", problems)

    if "emissions" in t:
        check_emissions(t["emissions"], rec, pro, problems)

    if "transit" in t:
        known = codes | set(m.regions)
        for col in ("from", "to"):
            for _, r in t["transit"].loc[~t["transit"][col].isin(known)].iterrows():
                problems.append(
                    Problem(
                        "transit.csv",
                        int(r[LINE]),
                        col,
                        f"{r[col]!r} is not a country code or a region of instance.yaml",
                    )
                )


def check_emissions(
    em: pd.DataFrame, rec: pd.DataFrame, pro: pd.DataFrame, problems: list[Problem]
) -> None:
    """Emission factors name real recipes and processes that run them; one unit per pollutant."""
    f = "emissions.csv"
    ok = _dangling(em, "recipe", set(rec["recipe"]), f, "recipe (recipes.csv)", problems)
    ok &= _dangling(em, "process", set(pro["id"]), f, "process id (processes.csv)", problems)
    runs = set(zip(pro["id"], pro["recipe"], strict=True))
    named = em.loc[ok & (em["process"] != "")]
    for _, r in named.iterrows():
        if (r["process"], r["recipe"]) not in runs:
            problems.append(
                Problem(
                    f,
                    int(r[LINE]),
                    "process",
                    f"process {r['process']!r} does not run recipe {r['recipe']!r}",
                )
            )
    units = em.loc[em["unit"] != ""].groupby("pollutant")["unit"].unique()
    for pollutant, us in units.items():
        if len(us) > 1:
            line = int(em.loc[em["pollutant"] == pollutant, LINE].iloc[-1])
            problems.append(
                Problem(
                    f,
                    line,
                    "unit",
                    f"pollutant {pollutant!r} has several units ({', '.join(map(repr, us))}); "
                    "caps add its factors, so give it one",
                )
            )


def check_sources(t: dict[str, pd.DataFrame], problems: list[Problem]) -> None:
    """Every ``source`` names a row of sources.csv, and every numeric row has one."""
    ids = set(t["sources"]["id"])
    for name, df in t.items():
        table = TABLES[name]
        if not table.numeric_needs_source or "source" not in df.columns:
            continue
        numeric = [
            c.name for c in table.columns if c.dtype in ("float", "int") and c.name != "period"
        ]
        if numeric:
            has_number = df[numeric].notna().any(axis=1)
            for _, r in df.loc[has_number & (df["source"] == "")].iterrows():
                problems.append(
                    Problem(table.file, int(r[LINE]), "source", "row has numbers but no source id")
                )
        _dangling(df, "source", ids, table.file, "source id (sources.csv)", problems)
