"""Cross-table checks run before building: every reference resolves, sources exist.

Each ``check_*`` function appends :class:`~optimizer.errors.Problem` s; none
raises, so the user sees every problem at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pycountry

from optimizer.data import periods as P
from optimizer.data.manifest import Manifest
from optimizer.data.schema import TABLES
from optimizer.data.suggest import country_hint, did_you_mean
from optimizer.data.tables import LINE
from optimizer.errors import Problem, kept_part

#: Codes accepted besides ISO 3166-1 alpha-2 (user-assigned codes in common use).
EXTRA_COUNTRY_CODES = {"XK"}  # Kosovo


def country_codes() -> set[str]:
    """ISO 3166-1 alpha-2 codes."""
    return {c.alpha_2 for c in pycountry.countries} | EXTRA_COUNTRY_CODES


#: The id column of each table other tables refer to.
REFERENCED = {
    "sites": "id",
    "commodities": "id",
    "recipes": "recipe",
    "processes": "id",
    "sources": "id",
}


def _dangling(
    df: pd.DataFrame,
    col: str,
    valid: set,
    file: str,
    what: str,
    problems: list[Problem],
    dropped: set | frozenset = frozenset(),
) -> pd.Series:
    """Report values of ``df[col]`` not in ``valid``; returns the mask of good rows.

    Values in ``dropped`` (ids of rows refused for a bad cell, reported there) are not
    good rows but are not reported again: one bad latitude is one problem, not one
    more on every row that names its site.
    """
    ok = df[col].isin(valid) | (df[col] == "")
    unknown = ~ok & ~df[col].isin(dropped)
    for _, r in kept_part(problems, file, df.loc[unknown]).iterrows():
        problems.append(
            Problem(
                file,
                int(r[LINE]),
                col,
                f"{r[col]!r} is not a known {what}" + did_you_mean(str(r[col]), valid),
            )
        )
    return ok


def _has_cycle(groups: dict[str, list[str]]) -> bool:
    """Whether a group contains itself through its member groups (iterative DFS)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in groups:
        if state.get(root):
            continue
        stack = [(root, iter(groups[root]))]
        state[root] = 1
        while stack:
            node, members = stack[-1]
            nxt = next((m for m in members if m in groups), None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return True
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(groups[nxt])))
    return False


def check_containment(
    groups: dict[str, list[str]], key: str, what: str, problems: list[Problem]
) -> None:
    """Groups (regions, commodity groups) that contain themselves, directly or through
    others (``EU: [DE, EU2]``, ``EU2: [EU]``): one problem per loop, naming its groups.

    The loops are the strongly connected parts of the graph group -> member group
    (linear in its size, however the groups are nested).
    """
    if not _has_cycle(groups):
        return
    import networkx as nx

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


def check_references(
    m: Manifest,
    t: dict[str, pd.DataFrame],
    problems: list[Problem],
    dropped: dict[str, set] | None = None,
) -> None:
    """Every id a table refers to exists, and the rows make sense together.

    ``dropped``: table -> ids (:data:`REFERENCED`) of its rows refused for a bad cell;
    references to them are not reported again.
    """
    gone = (
        {k: dropped.get(k, set()) for k in REFERENCED}
        if dropped
        else dict.fromkeys(REFERENCED, set())
    )
    com = set(t["commodities"]["id"])
    sites = t["sites"]
    site_ids = set(sites["id"])
    site_stage = dict(zip(sites["id"], sites["stage"], strict=True))
    codes = country_codes()

    for _, r in kept_part(
        problems, "sites.csv", sites.loc[~sites["country"].isin(codes)]
    ).iterrows():
        problems.append(
            Problem(
                "sites.csv",
                int(r[LINE]),
                "country",
                f"{r['country']!r} is not an ISO 3166-1 alpha-2 country code"
                + country_hint(str(r["country"])),
            )
        )

    rec = t["recipes"]
    _dangling(
        rec,
        "commodity",
        com,
        "recipes.csv",
        "commodity id (commodities.csv)",
        problems,
        gone["commodities"],
    )
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
    _dangling(
        pro, "site", site_ids, "processes.csv", "site id (sites.csv)", problems, gone["sites"]
    )
    _dangling(
        pro,
        "recipe",
        set(rec["recipe"]),
        "processes.csv",
        "recipe (recipes.csv)",
        problems,
        gone["recipes"],
    )
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
    _dangling(
        links, "from_site", site_ids, "links.csv", "site id (sites.csv)", problems, gone["sites"]
    )
    _dangling(
        links, "to_site", site_ids, "links.csv", "site id (sites.csv)", problems, gone["sites"]
    )
    for _, r in kept_part(
        problems, "links.csv", links.loc[links["from_site"] == links["to_site"]]
    ).iterrows():
        problems.append(
            Problem("links.csv", int(r[LINE]), "to_site", "a link must join two different sites")
        )
    valid_names = com | set(m.commodity_groups) | {"*"}
    _dangling(
        links,
        "commodity",
        valid_names,
        "links.csv",
        "commodity id, group or '*'",
        problems,
        gone["commodities"],
    )

    dem = t["demand"]
    ok = _dangling(
        dem, "market", site_ids, "demand.csv", "site id (sites.csv)", problems, gone["sites"]
    )
    not_market = ok & (dem["market"].map(site_stage) != "market")
    for _, r in kept_part(problems, "demand.csv", dem.loc[not_market]).iterrows():
        problems.append(
            Problem(
                "demand.csv",
                int(r[LINE]),
                "market",
                f"site {r['market']!r} has stage {site_stage.get(r['market'])!r}, demand needs a site of stage 'market'",
            )
        )
    _dangling(
        dem,
        "commodity",
        com,
        "demand.csv",
        "commodity id (commodities.csv)",
        problems,
        gone["commodities"],
    )
    known = set(m.periods)
    if P.monthly(m.periods):  # a year spreads over its months
        known |= {P.year_of(p) for p in m.periods}
    shown = (
        ", ".join(map(str, m.periods))
        if len(m.periods) <= 12
        else f"{m.periods[0]} .. {m.periods[-1]}"
    )
    for _, r in kept_part(problems, "demand.csv", dem.loc[~dem["period"].isin(known)]).iterrows():
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
            ex,
            "process",
            set(pro["id"]),
            "expansions.csv",
            "process id (processes.csv)",
            problems,
            gone["processes"],
        )
        finite = set(pro.loc[pro["capacity"].notna(), "id"])
        unlimited = ex.loc[ok & ~ex["process"].isin(finite) & ex["process"].isin(set(pro["id"]))]
        for _, r in kept_part(problems, "expansions.csv", unlimited).iterrows():
            problems.append(
                Problem(
                    "expansions.csv",
                    int(r[LINE]),
                    "process",
                    f"process {r['process']!r} has no capacity limit to add to (give it a capacity, 0 if it does not run yet)",
                )
            )
        check_service(ex.loc[ok], m, problems)

    if "stocks" in t:
        st = t["stocks"]
        _dangling(
            st, "site", site_ids, "stocks.csv", "site id (sites.csv)", problems, gone["sites"]
        )
        _dangling(
            st,
            "commodity",
            com,
            "stocks.csv",
            "commodity id (commodities.csv)",
            problems,
            gone["commodities"],
        )

    check_gain_loops(rec, problems)

    if "emissions" in t:
        check_emissions(t["emissions"], rec, pro, problems, gone)

    if "transit" in t:
        known = codes | set(m.regions)
        for col in ("from", "to"):
            bad = t["transit"].loc[~t["transit"][col].isin(known)]
            for _, r in kept_part(problems, "transit.csv", bad).iterrows():
                problems.append(
                    Problem(
                        "transit.csv",
                        int(r[LINE]),
                        col,
                        f"{r[col]!r} is not a country code or a region of instance.yaml",
                    )
                )


#: Net surplus per tonne of input run through a set of recipes above which the set is
#: reported as making material from nothing (rounding in the amounts stays below it).
GAIN_TOLERANCE = 1e-6
#: Most gain loops reported (each found by one small LP).
MAX_GAIN_LOOPS = 10


def gain_loops(rec: pd.DataFrame) -> list[dict]:
    """Sets of recipes that together make material from nothing.

    The rule (docs/reliability.md, "Inputs"): with ``N`` the recipes' net output matrix
    (commodity x recipe: ``+amount`` of each output, ``-amount`` of each input) and
    ``x >= 0`` how often each recipe with at least one input runs, material appears
    from nothing when some ``x`` has ``N x >= 0`` for every commodity and ``> 0`` for
    one: the recipes, run in those proportions, use no input they do not make
    themselves and leave something over.  For one-input one-output recipes that is
    a loop whose yields (output / input per step) multiply to more than 1
    (``A -> 2 B``, ``B -> A``); with several inputs or outputs it counts every
    input a recipe needs, so a loop that gains one commodity while consuming another
    that nothing in it makes is not reported.  Recycling loops lose mass and pass.

    One LP finds such an ``x`` (maximise the net surplus per tonne of input run,
    ``1'N x`` with ``1'In x <= 1``); the recipes on a cycle of the recipe graph
    among those it runs are the loop.  They are set aside and the LP runs again, at
    most :data:`MAX_GAIN_LOOPS` times.  Each loop: ``recipes`` (ids), ``runs``
    (recipe -> relative activity), ``surplus`` (commodity -> net tonnes per tonne
    of input run), ``path`` (commodities and recipes around one cycle).
    """
    rec = rec.loc[rec["recipe"].isin(set(rec.loc[rec["direction"] == "input", "recipe"]))]
    loops: list[dict] = []
    active = _self_supplied(rec)
    while active and len(loops) < MAX_GAIN_LOOPS:
        r = rec.loc[rec["recipe"].isin(active)]
        rid, ri = np.unique(r["recipe"].to_numpy(dtype=str), return_inverse=True)
        cid, ci = np.unique(r["commodity"].to_numpy(dtype=str), return_inverse=True)
        amount = r["amount"].to_numpy(dtype=float)
        out = r["direction"].to_numpy() == "output"
        x = _free_lunch(
            ci, ri, np.where(out, amount, -amount), np.where(out, 0.0, amount), len(cid), len(rid)
        )
        if x is None:
            break
        import networkx as nx  # only to name a loop found: most instances have none

        surplus = np.zeros(len(cid))
        np.add.at(surplus, ci, np.where(out, amount, -amount) * x[ri])
        ran = {rid[j] for j in np.flatnonzero(x > 1e-9)}
        g = nx.DiGraph()
        for rr in r.loc[r["recipe"].isin(ran)].itertuples(index=False):
            c, q = ("c", rr.commodity), ("r", rr.recipe)
            g.add_edge(*((q, c) if rr.direction == "output" else (c, q)))
        on_loop = [p for p in nx.strongly_connected_components(g) if len(p) > 1]
        members = sorted({n[1] for p in on_loop for n in p if n[0] == "r"})
        if not members:  # cannot happen: a free lunch needs a cycle
            break
        start = min(n for n in on_loop[0] if n[0] == "r")
        path = [n[1] for n, _ in nx.find_cycle(g.subgraph(on_loop[0]), start)]
        loops.append(
            {
                "recipes": members,
                "runs": {rid[j]: float(x[j]) for j in np.flatnonzero(x > 1e-9)},
                "surplus": {
                    cid[i]: float(surplus[i]) for i in np.flatnonzero(surplus > GAIN_TOLERANCE)
                },
                "path": path,
            }
        )
        active -= set(members)
    return loops


def _self_supplied(rec: pd.DataFrame) -> set[str]:
    """The recipes that can run on what the others make: recipes with an input no
    remaining recipe makes are set aside until none is left (a set that makes material
    from nothing runs only on its own outputs, so it is among what remains; a chain fed
    by mines leaves nothing, and no LP is needed)."""
    active = set(rec["recipe"])
    ins = rec.loc[rec["direction"] == "input", ["recipe", "commodity"]]
    outs = rec.loc[rec["direction"] == "output", ["recipe", "commodity"]]
    while active:
        made = set(outs.loc[outs["recipe"].isin(active), "commodity"])
        short = set(ins.loc[ins["recipe"].isin(active) & ~ins["commodity"].isin(made), "recipe"])
        if not short:
            break
        active -= short
    return active


def _free_lunch(ci, ri, coef, used_coef, m: int, n: int) -> np.ndarray | None:
    """Activities ``x >= 0`` of recipes with ``N x >= 0`` and the largest net surplus per
    tonne of input (``1'N x`` with ``used'x <= 1``), or None when it is not above
    :data:`GAIN_TOLERANCE` (one HiGHS LP; no scipy, whose import Pyomo hooks)."""
    import highspy

    from optimizer.highs import new_highs

    used = np.bincount(ri, weights=used_coef, minlength=n)
    # rows: -N x <= 0 (m commodity rows), used'x <= 1; columns in CSC order
    order = np.lexsort((ci, ri))
    rows = np.r_[ci[order], np.full(n, m)]
    cols = np.r_[ri[order], np.arange(n)]
    vals = np.r_[-coef[order], used]
    o = np.lexsort((rows, cols))
    rows, cols, vals = rows[o], cols[o], vals[o]
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m + 1
    lp.col_cost_ = -np.bincount(ri, weights=coef, minlength=n)
    lp.col_lower_, lp.col_upper_ = np.zeros(n), np.full(n, highspy.kHighsInf)
    lp.row_lower_ = np.full(m + 1, -highspy.kHighsInf)
    lp.row_upper_ = np.r_[np.zeros(m), 1.0]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(cols, np.arange(n + 1)).astype(np.int32)
    lp.a_matrix_.index_ = rows.astype(np.int32)
    lp.a_matrix_.value_ = vals.astype(float)
    h = new_highs()
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    if -h.getInfo().objective_function_value <= GAIN_TOLERANCE:
        return None
    return np.asarray(h.getSolution().col_value, dtype=float)


def check_gain_loops(
    rec: pd.DataFrame, problems: list[Problem], where: tuple[str, int | None] | None = None
) -> None:
    """Report every set of recipes that makes material from nothing (:func:`gain_loops`),
    at the first row of its first recipe in recipes.csv (or at ``where``: the file and
    line of a scenario change that made it)."""
    first = rec.groupby("recipe", sort=False)[LINE].first()
    for loop in gain_loops(rec):
        names = ", ".join(map(repr, loop["recipes"]))
        made = ", ".join(f"{q:.4g} t {c}" for c, q in sorted(loop["surplus"].items()))
        steps = " -> ".join(loop["path"] + loop["path"][:1])
        file, line = where or ("recipes.csv", int(first[loop["recipes"][0]]))
        problems.append(
            Problem(
                file,
                line,
                "amount" if where is None else "recipes",
                f"recipes {names} make material from nothing: run together they use no "
                f"input they do not make and leave {made} over per tonne of input "
                f"({steps}); a chain of recipes must lose mass around a loop, check the "
                "amounts",
            )
        )


def check_service(ex: pd.DataFrame, m: Manifest, problems: list[Problem]) -> None:
    """A committed project must enter service in one of the periods: ``earliest`` plus
    ``lead_time`` no later than the start of the last period (the model would drop it,
    and the build-out it stands for, without a word)."""
    if ex.empty or "committed" not in ex.columns:
        return
    last = m.periods[-1]
    ready = ex["earliest"].map(P.start).to_numpy(dtype=float) + ex["lead_time"].fillna(0).to_numpy(
        dtype=float
    )
    never = (ex["committed"] == "yes").to_numpy() & (ready > P.start(last) + 1e-9)
    for _, r in kept_part(problems, "expansions.csv", ex.loc[never]).iterrows():
        lead = r["lead_time"] if pd.notna(r["lead_time"]) else 0
        problems.append(
            Problem(
                "expansions.csv",
                int(r[LINE]),
                "lead_time" if lead else "earliest",
                f"committed project {r['id']!r} is ready in {P.start(r['earliest']) + lead:g} "
                f"(earliest {r['earliest']} + {lead:g} years' lead time), after the last "
                f"period ({last}): it can never enter service; drop it or make it a "
                "candidate (committed: no)",
            )
        )


def check_emissions(
    em: pd.DataFrame,
    rec: pd.DataFrame,
    pro: pd.DataFrame,
    problems: list[Problem],
    gone: dict[str, set] | None = None,
) -> None:
    """Emission factors name real recipes and processes that run them; one unit per pollutant."""
    f = "emissions.csv"
    gone = gone or {}
    ok = _dangling(
        em,
        "recipe",
        set(rec["recipe"]),
        f,
        "recipe (recipes.csv)",
        problems,
        gone.get("recipes", set()),
    )
    ok &= _dangling(
        em,
        "process",
        set(pro["id"]),
        f,
        "process id (processes.csv)",
        problems,
        gone.get("processes", set()),
    )
    runs = set(zip(pro["id"], pro["recipe"], strict=True))
    named = em.loc[ok & (em["process"] != "")]
    stray = np.array(
        [(a, b) not in runs for a, b in zip(named["process"], named["recipe"], strict=True)],
        dtype=bool,
    )
    for _, r in kept_part(problems, f, named.loc[stray]).iterrows():
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


def check_sources(
    t: dict[str, pd.DataFrame], problems: list[Problem], dropped: dict[str, set] | None = None
) -> None:
    """Every ``source`` names a row of sources.csv, and every numeric row has one."""
    ids = set(t["sources"]["id"])
    gone = (dropped or {}).get("sources", set())
    for name, df in t.items():
        table = TABLES[name]
        if not table.numeric_needs_source or "source" not in df.columns:
            continue
        numeric = [
            c.name for c in table.columns if c.dtype in ("float", "int") and c.name != "period"
        ]
        if numeric:
            has_number = df[numeric].notna().any(axis=1)
            missing = df.loc[has_number & (df["source"] == "")]
            for _, r in kept_part(problems, table.file, missing).iterrows():
                problems.append(
                    Problem(table.file, int(r[LINE]), "source", "row has numbers but no source id")
                )
        _dangling(df, "source", ids, table.file, "source id (sources.csv)", problems, gone)
