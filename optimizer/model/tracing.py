r"""Origin tracing: material carries the origins it passed through, as labels.

An **origin tag** is a set of countries and a set of stages: material is
tagged ``CN`` when some step from ``from_stage`` on (mining, separation,
metal making, ...) happened at a site in China.  A **label** is the set of
tags a tonne carries (``clean`` when none); with :math:`k` tags there are
:math:`2^k` labels.

Tracing *lifts* the instance before the LP is built — the model families
themselves are unchanged:

* every commodity ``c`` becomes ``c@L`` for each label ``L`` (flows,
  balances, inventories and disposal are per label);
* a recipe run at site ``s`` under label ``L`` consumes its inputs labelled
  ``L`` and makes its outputs labelled ``L``; it exists only for labels that
  contain the tags ``s`` itself adds (its country and stage), so an output
  carries every origin of its inputs plus its own (labels are the *union*
  along the chain);
* at a site that uses ``c``, ``c@L`` may be **relabelled** ``c@L'`` for any
  ``L' ⊃ L`` (a clean tonne of NdPr may enter a magnet that is Chinese-origin
  anyway because of its Dy).  Relabelling costs a tie-break
  :data:`RELABEL_COST` per tonne (reported as ``tracing`` in the cost
  breakdown) so that labels stay minimal — material is never tagged with an
  origin it did not pass through unless a mix forces it;
* a market uses ``c@L`` of any label (``merge`` steps ``c@L → c``), which is
  where procurement bans act;
* stocks carry the tags of the site holding them.

The labels are exact for rules of the form "contains any material that
passed through X" — the form of DFARS's covered-country rule and, with a zero
de-minimis, China's 0.1 % content rule (every REE-bearing input of a magnet
is far above 0.1 % of its value).  They do not say *how much* of a product
came from X; ``content.csv`` reports tonnes of each commodity by label.

The model grows by at most :math:`2^k` on traced variables (measured in
``docs/performance.md``).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.scenarios.schema import OriginTag

if TYPE_CHECKING:
    from optimizer.data.instance import Instance

#: USD per tonne relabelled: a tie-break, far below any real cost (see module doc).
RELABEL_COST = 0.01
#: Label of material that carries no tag.
CLEAN = "clean"
#: Process id prefix of the bookkeeping steps (relabel, merge); ids cannot start with "_".
PSEUDO = "_trace."


def label_name(tags: tuple[str, ...]) -> str:
    return "&".join(tags) if tags else CLEAN


def lifted_id(commodity: str, label: str) -> str:
    return f"{commodity}@{label}"


@dataclass
class Labels:
    """The labels of a traced model and the map from lifted ids back to (commodity, label)."""

    tags: list[OriginTag]
    #: label name -> frozenset of tag names
    sets: dict[str, frozenset[str]]
    #: lifted commodity id -> (commodity, label)
    commodity: dict[str, tuple[str, str]]
    #: lifted recipe id -> (recipe, label)
    recipe: dict[str, tuple[str, str]]

    def carries(self, label: str, tag: str) -> bool:
        return tag in self.sets.get(label, frozenset())


def labels_of(tags: list[OriginTag]) -> dict[str, frozenset[str]]:
    names = [t.name for t in tags]
    out = {}
    for k in range(len(names) + 1):
        for combo in itertools.combinations(names, k):
            out[label_name(combo)] = frozenset(combo)
    return out


def site_tags(inst: Instance) -> dict[str, frozenset[str]]:
    """The tags each site adds to what it makes or holds (its country and stage)."""
    sites = inst.tables["sites"]
    out: dict[str, frozenset[str]] = {}
    members = {tag: inst.region_members(tag.origin) for tag in inst.origins}
    for sid, country, stage in zip(sites["id"], sites["country"], sites["stage"], strict=True):
        out[sid] = frozenset(
            tag.name for tag in inst.origins if country in members[tag] and stage in tag.stages()
        )
    return out


def site_label(inst: Instance, trig: dict[str, frozenset[str]], site: str) -> str:
    """Label of material a site holds in stock."""
    return label_name(tuple(t.name for t in inst.origins if t.name in trig[site]))


def lift(inst: Instance) -> tuple[Instance, Labels]:
    """A copy of ``inst`` whose commodities, recipes, processes and stocks carry labels."""
    tags = list(inst.origins)
    labels = labels_of(tags)
    names = list(labels)
    t = inst.tables

    trig = site_tags(inst)

    com = t["commodities"]
    lc = com.loc[com.index.repeat(len(names))].reset_index(drop=True)
    lab_col = np.tile(np.asarray(names, dtype=object), len(com))
    lc["id"] = lc["id"].astype(str) + "@" + lab_col
    cmap = dict(
        zip(
            lc["id"],
            zip(np.repeat(com["id"].to_numpy(), len(names)), lab_col, strict=True),
            strict=True,
        )
    )
    commodities = pd.concat([com, lc], ignore_index=True)

    rec = t["recipes"]
    pro = t["processes"]
    # process modes: (process row, label) for labels containing the site's own tags
    own_tags = pro["site"].map(trig)
    inputs = set(rec.loc[rec["direction"] == "input", "recipe"])
    rows, rlabels = [], []
    for i, (st, r) in enumerate(zip(own_tags, pro["recipe"], strict=True)):
        if r in inputs:
            cand = [n for n in names if labels[n] >= st]
        else:  # no input: its outputs carry exactly the site's tags
            cand = [n for n in names if labels[n] == st]
        rows.extend([i] * len(cand))
        rlabels.extend(cand)
    lp = pro.iloc[rows].reset_index(drop=True)
    rlabels_a = np.asarray(rlabels, dtype=object)
    lp["recipe"] = lp["recipe"].astype(str) + "@" + rlabels_a
    used_recipes = sorted(set(zip(pro["recipe"].iloc[rows], rlabels, strict=True)))
    rmap = {f"{r}@{lab}": (r, lab) for r, lab in used_recipes}
    rec_by = {r: g for r, g in rec.groupby("recipe", sort=False)}
    lrec = []
    for r, lab in used_recipes:
        g = rec_by[r].copy()
        g["recipe"] = f"{r}@{lab}"
        g["commodity"] = g["commodity"].astype(str) + "@" + lab
        lrec.append(g)

    # bookkeeping steps: relabel where a commodity is used, merge where it is demanded
    pseudo_pro, pseudo_rec = [], []
    used = lp[["site", "recipe"]].merge(
        pd.concat(lrec)[lambda d: d["direction"] == "input"][["recipe", "commodity"]],
        on="recipe",
    )[["site", "commodity"]]
    used["base"] = used["commodity"].map(lambda x: cmap[x][0])
    for (site, base), _ in used.groupby(["site", "base"], sort=True):
        for a in names:
            for tag in tags:
                if tag.name in labels[a]:
                    continue
                b = label_name(tuple(x.name for x in tags if x.name in labels[a] | {tag.name}))
                rid = f"{PSEUDO}relabel.{base}@{a}.to.{b}"
                # free when the site adds the tag anyway: everything it makes carries it
                cost = 0.0 if tag.name in trig[site] else RELABEL_COST
                pseudo_pro.append((f"{PSEUDO}{site}", site, rid, cost))
                pseudo_rec.append((rid, lifted_id(base, a), "input"))
                pseudo_rec.append((rid, lifted_id(base, b), "output"))
    dem = t["demand"][["market", "commodity"]].drop_duplicates()
    for site, base in dem.itertuples(index=False):
        for a in names:
            rid = f"{PSEUDO}merge.{base}@{a}"
            pseudo_pro.append((f"{PSEUDO}{site}", site, rid, 0.0))
            pseudo_rec.append((rid, lifted_id(base, a), "input"))
            pseudo_rec.append((rid, base, "output"))
    pp = pd.DataFrame(pseudo_pro, columns=["id", "site", "recipe", "cost"]).drop_duplicates()
    pp["capacity"] = np.nan
    pp["source"] = ""
    pr = pd.DataFrame(pseudo_rec, columns=["recipe", "commodity", "direction"]).drop_duplicates()
    pr["amount"] = 1.0
    pr["source"] = ""
    processes = pd.concat([lp, pp], ignore_index=True)
    recipes = pd.concat([*lrec, pr], ignore_index=True)

    stocks = inst.stocks.copy()
    if len(stocks):
        stocks["commodity"] = [
            lifted_id(c, site_label(inst, trig, s))
            for s, c in zip(stocks["site"], stocks["commodity"], strict=True)
        ]

    out = copy.copy(inst)
    out.tables = dict(t)
    out.tables.update(commodities=commodities, processes=processes, recipes=recipes, stocks=stocks)
    lab = Labels(tags=tags, sets=labels, commodity=cmap, recipe=rmap)
    return out, lab


def split_commodity(ids: pd.Series, lab: Labels | None) -> tuple[np.ndarray, np.ndarray]:
    """(commodity, origin label) for model commodity ids ("" when not traced)."""
    if lab is None:
        return ids.to_numpy(dtype=object), np.full(len(ids), "", dtype=object)
    pairs = [lab.commodity.get(x, (x, "")) for x in ids]
    return (
        np.asarray([p[0] for p in pairs], dtype=object),
        np.asarray([p[1] for p in pairs], dtype=object),
    )


def split_recipe(ids: pd.Series, lab: Labels | None) -> tuple[np.ndarray, np.ndarray]:
    """(recipe, origin label) for model recipe ids ("" when not traced)."""
    if lab is None:
        return ids.to_numpy(dtype=object), np.full(len(ids), "", dtype=object)
    pairs = [lab.recipe.get(x, (x, "")) for x in ids]
    return (
        np.asarray([p[0] for p in pairs], dtype=object),
        np.asarray([p[1] for p in pairs], dtype=object),
    )
