"""'Did you mean …?' for mistyped ids, scenario names and country names.

:func:`did_you_mean` finds the closest known ids (:mod:`difflib`, case-insensitive);
:func:`country_hint` maps a country's *name* to its ISO 3166-1 alpha-2 code
(``Japan`` → ``JP``), the usual slip in a sites table.  Both return a phrase to append
to an error message, or ``""``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close(word: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.75) -> list[str]:
    """The known ``choices`` closest to ``word`` (best first, at most ``n``)."""
    pool = [str(c) for c in choices]
    lower = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(str(word).lower(), list(lower), n=n, cutoff=cutoff)
    return [lower[h] for h in hits if lower[h] != word]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'mine_north'?`` when a known id is close to ``word``, else ``""``."""
    hits = close(word, choices)
    if not hits:
        return ""
    return "; did you mean " + " or ".join(repr(h) for h in hits) + "?"


def country_hint(word: str) -> str:
    """`` (Japan is JP)`` when ``word`` names a country (or its alpha-3 code), else ``""``."""
    import pycountry

    w = str(word).strip()
    if not w or (len(w) == 2 and w.isalpha() and w.isupper()):
        return ""
    try:
        hit = pycountry.countries.lookup(w)
    except LookupError:
        if len(w) < 4:
            return ""
        try:
            found = pycountry.countries.search_fuzzy(w)
        except LookupError:
            return ""
        hit = found[0] if len(found) == 1 else None
    return f" ({w} is {hit.alpha_2})" if hit is not None else ""
