"""Fuzzing the input contract: generated instances and scenarios, valid and broken,
either load or are refused with :class:`~optimizer.errors.InputError` and located
problems — never another exception (docs/reliability.md, "Inputs").

Instances start from ``instances/tiny`` and get one to three edits drawn from the schema
(:data:`optimizer.data.schema.TABLES`): a number set to another in its range; a cell set
to a value of its type, of the wrong type, non-finite, huge, blank, an id of another
table or a dangling one; a row appended (made column by column the same way),
duplicated or deleted; a column dropped, renamed or added; an optional table added;
bytes that are not UTF-8, NUL bytes, a truncated file; a key of ``instance.yaml`` set
to any YAML value or dropped, or bytes that are not YAML.  Scenarios are a valid policy
of every type and a valid change with keys dropped or set to plausible or arbitrary
values, now and then a mapping of anything or junk text.  What loads is checked against
the schema (finite numbers in range) and its LP is built.  Runs are derandomised (the
same cases every run): :data:`INSTANCE_EXAMPLES` and :data:`SCENARIO_EXAMPLES` cases;
each test asserts that its cases include both instances that load and ones refused.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import load
from optimizer.data.schema import TABLES
from optimizer.errors import InputError
from tests.conftest import TINY

#: Generated instances (each read from its folder, about 0.2 s) and scenarios (each
#: applied to tiny read once): the cases docs/reliability.md, "Inputs" cites.
INSTANCE_EXAMPLES = 100
SCENARIO_EXAMPLES = 200
FUZZ_EXAMPLES = INSTANCE_EXAMPLES + SCENARIO_EXAMPLES


def fuzz(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


#: Problems about a whole file may name neither a line nor a key.
WHOLE_FILE = (
    "required file is missing",
    "file is empty",
    "table has no rows",
    "file is larger than",
    "file not found",
    "is a folder",
    "invalid YAML",
    "expected a mapping",
    "cannot read",
)

IDS = {  # ids of tiny, by the table column they identify
    "sites.id": ["mine_north", "mine_south", "sep", "magnets", "market_eu", "market_us"],
    "commodities.id": [
        "ore_light",
        "ore_heavy",
        "NdPr_oxide",
        "Dy_oxide",
        "LaCe_oxide",
        "magnet_ht",
    ],
    "recipes.recipe": ["mine_light", "sep_light", "sep_heavy", "magnet_gbd"],
    "processes.id": ["mine_north", "separation", "magnet_line"],
    "sources.id": ["illustrative"],
}

# -- values ----------------------------------------------------------------------------

JUNK_TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "NA",
            "n/a",
            "null",
            "None",
            "=1+1",
            "@SUM(A1)",
            "-",
            "+",
            "\x1b[2J",
            "é",
            "a,b",
            'q"uote',
            "x\ny",
            "\t",
            "\u202e",
            "🙂",
            "x" * 5000,
        ]
    ),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e-300, 1e308, 1e400, 2024, 2024.5, 10**30]),
)
NUMBER_TEXT = st.one_of(
    NUMBERS.map(lambda x: repr(x) if isinstance(x, float) else str(x)),
    st.sampled_from(["inf", "-inf", "nan", "NaN", "1e400", "-1e999", "1,000", "0x10", "½", "١٢"]),
)
PERIOD_TEXT = st.one_of(
    st.sampled_from(["2024", "2025", "2024-01", "2024-13", "24", "2024.0", "02024"]),
    NUMBER_TEXT,
)


def cell(column) -> st.SearchStrategy[str]:
    """A cell of ``column``: one of its own kind (an id it may refer to, a number in its
    range, one of its choices) or any other text."""
    own: list[st.SearchStrategy[str]] = []
    if column.references in IDS:
        own.append(st.sampled_from(IDS[column.references]))
    if column.choices:
        own.append(st.sampled_from(list(column.choices)))
    if column.dtype in ("float", "int"):
        lo = column.ge if column.ge is not None else (column.gt or 0)
        hi = column.le if column.le is not None else 1e6
        own.append(st.floats(min_value=lo, max_value=hi).map(lambda x: f"{x:g}"))
        own.append(NUMBER_TEXT)
    if column.dtype == "period":
        own.append(PERIOD_TEXT)
    if column.dtype == "id":
        own.append(st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True))
    # mostly cells of the column's own kind, so that many edited instances stay valid
    return st.one_of(*own, *own, *own, JUNK_TEXT) if own else JUNK_TEXT


# -- edits of an instance folder -------------------------------------------------------


def _read(path: Path) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write(path: Path, rows: list[list[str]]) -> None:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


Edit = Callable[[Path], None]


@st.composite
def table_edit(draw) -> Edit:
    name = draw(st.sampled_from(sorted(TABLES)))
    table = TABLES[name]
    kind = draw(
        st.sampled_from(
            [
                "cell",
                "cell",
                "cell",
                "append",
                "duplicate",
                "delete",
                "drop_column",
                "rename_column",
                "add_column",
                "bytes",
                "truncate",
                "add_table",
            ]
        )
    )
    col = draw(st.sampled_from(table.columns))
    value = draw(cell(col))
    row_values = [draw(cell(c)) for c in table.columns]
    pick = draw(st.integers(min_value=0, max_value=50))
    junk = draw(
        st.sampled_from(
            [b"\xff\xfe", b"\x00", b"\xe9t\xe9", b"\xef\xbb\xbf", b"\r\n", b'"', b"\x1b[2J"]
        )
    )
    new_name = draw(st.sampled_from(["capacty", "", "id", "note", "x" * 40]))

    def edit(folder: Path) -> None:
        path = folder / table.file
        if kind == "add_table" or not path.exists():
            if table.required or path.exists():
                return
            _write(path, [[c.name for c in table.columns], row_values])
            return
        if kind in ("bytes", "truncate"):
            raw = path.read_bytes()
            at = pick * len(raw) // 50
            path.write_bytes(raw[:at] + junk + raw[at:] if kind == "bytes" else raw[:at])
            return
        rows = _read(path)
        header = rows[0]
        body = len(rows) - 1
        r = 1 + pick % body if body else None
        if kind == "cell" and r is not None and col.name in header:
            rows[r][header.index(col.name)] = value
        elif kind == "append":
            given = dict(zip([c.name for c in table.columns], row_values, strict=True))
            rows.append([given.get(h, "") for h in header])
        elif kind == "duplicate" and r is not None:
            rows.append(list(rows[r]))
        elif kind == "delete" and r is not None:
            del rows[r]
        elif kind == "drop_column" and col.name in header:
            i = header.index(col.name)
            rows = [x[:i] + x[i + 1 :] for x in rows]
        elif kind == "rename_column" and col.name in header:
            header[header.index(col.name)] = new_name
        elif kind == "add_column":
            rows = [x + ([new_name] if k == 0 else [value]) for k, x in enumerate(rows)]
        _write(path, rows)

    return edit


TINY_NUMBERS = [
    (name, c)
    for name in ("commodities", "sites", "recipes", "processes", "links", "demand")
    for c in TABLES[name].columns
    if c.dtype == "float"
]


@st.composite
def number_edit(draw) -> Edit:
    """A number of tiny set to another in its column's range (blank where it may be): the
    edits that keep an instance valid, so that the loaded ones are many and varied."""
    name, col = draw(st.sampled_from(TINY_NUMBERS))
    lo = col.ge if col.ge is not None else (col.gt + 1e-3 if col.gt is not None else -1e3)
    hi = col.le if col.le is not None else 1e7
    value = draw(
        st.one_of(st.floats(min_value=lo, max_value=hi).map(lambda x: f"{x:.6g}"), st.just(""))
    )
    pick = draw(st.integers(min_value=0, max_value=50))

    def edit(folder: Path) -> None:
        path = folder / TABLES[name].file
        rows = _read(path)
        if len(rows) > 1 and col.name in rows[0]:
            rows[1 + pick % (len(rows) - 1)][rows[0].index(col.name)] = value
            _write(path, rows)

    return edit


YAML_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        NUMBERS,
        JUNK_TEXT,
        st.sampled_from(["2025-01..2025-12", "2024..2020", "NO", "yes", "EU", "CN"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(JUNK_TEXT, inner, max_size=3)
    ),
    max_leaves=8,
)
MANIFEST_KEYS = [
    "schema_version",
    "name",
    "title",
    "description",
    "base_year",
    "periods",
    "currency",
    "defaults",
    "defaults.shortage_penalty",
    "defaults.discount_rate",
    "defaults.horizon",
    "defaults.lookahead",
    "regions",
    "regions.EU",
    "regions.EU2",
    "commodity_groups",
    "commodity_groups.oxides",
    "price_areas",
    "redate",
    "extends",
    "colour",
]


@st.composite
def manifest_edit(draw) -> Edit:
    key = draw(st.sampled_from(MANIFEST_KEYS))
    value = draw(YAML_VALUES)
    drop = draw(st.booleans()) and draw(st.booleans())
    junk = draw(st.sampled_from([None] * 6 + [b"\xff", b"\x00", b"\t", b"&a *a", b"\x1b"]))
    at = draw(st.integers(min_value=0, max_value=600))

    def edit(folder: Path) -> None:
        path = folder / "instance.yaml"
        if junk is not None:  # bytes that are not YAML, or not UTF-8
            raw = path.read_bytes()
            path.write_bytes(raw[:at] + junk + raw[at:])
            return
        try:
            data = yaml.safe_load(path.read_text(errors="replace"))
        except yaml.YAMLError:  # an earlier edit broke it
            return
        if not isinstance(data, dict):
            return
        *parents, last = key.split(".")
        node = data
        for k in parents:
            if not isinstance(node.get(k), dict):
                node[k] = {}
            node = node[k]
        if drop:
            node.pop(last, None)
        else:
            node[last] = value
        path.write_text(yaml.safe_dump(data, allow_unicode=True))

    return edit


# -- the contract ----------------------------------------------------------------------


def located(p, files: set[str]) -> bool:
    return p.file in files and (
        p.row is not None or bool(p.column) or p.message.startswith(WHOLE_FILE)
    )


def check_loaded(inst) -> None:
    """What loaded is what the schema promises: finite numbers in range, ids present."""
    for name, df in inst.tables.items():
        for c in TABLES[name].columns:
            if c.name not in df.columns or c.dtype not in ("float", "int"):
                continue
            x = df[c.name].to_numpy(dtype=float)
            ok = ~np.isnan(x)
            assert np.isfinite(x[ok]).all(), (name, c.name)
            if c.ge is not None:
                assert (x[ok] >= c.ge).all(), (name, c.name)
            if not c.nullable:
                assert ok.all(), (name, c.name)


def outcome(call: Callable, files: set[str], build: bool = False) -> str:
    """``loaded`` or ``refused``; anything but an InputError with located problems fails.
    With ``build``, the LP of what loaded is built too (not solved)."""
    try:
        inst = call()
    except InputError as e:
        assert e.problems, "an InputError lists its problems"
        bad = [str(p) for p in e.problems if not located(p, files)]
        assert not bad, bad
        str(e)  # and renders
        return "refused"
    check_loaded(inst)
    inst.summary()
    if build:  # what validate accepts, the model can be built from (policies defined
        # against a baseline solve need one first: not built here)
        from optimizer.policies import registry
        from optimizer.solve import build as build_lp

        if not registry.needs_baseline(inst) and inst.horizon == "long":
            build_lp(inst)
    return "loaded"


@contextlib.contextmanager
def tiny_copy():
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d) / "tiny"
        shutil.copytree(TINY, folder, ignore=shutil.ignore_patterns("sweeps"))
        yield folder


INSTANCE_FILES = {t.file for t in TABLES.values()} | {"instance.yaml"}


def test_fuzz_instances():
    """Tiny with 1 to 3 edits of its tables and manifest: loads, or is refused with every
    problem located in one of its files."""
    seen: Counter[str] = Counter()

    @fuzz(INSTANCE_EXAMPLES)
    @given(
        st.lists(
            st.one_of(number_edit(), number_edit(), table_edit(), table_edit(), manifest_edit()),
            min_size=1,
            max_size=3,
        )
    )
    def run(edits):
        with tiny_copy() as folder:
            for e in edits:
                e(folder)
            seen[outcome(lambda: load(folder), INSTANCE_FILES, build=True)] += 1

    run()
    assert seen["loaded"] >= 5 and seen["refused"] >= 50, seen


# -- scenarios -------------------------------------------------------------------------

POLICY_KEYS = [
    "id",
    "exporter",
    "importer",
    "origin",
    "from_stage",
    "commodities",
    "quota",
    "max_share",
    "rate",
    "periods",
    "starts",
    "sites",
    "region",
    "floor",
    "reference",
    "share",
    "stage",
    "pollutant",
    "cap",
    "quantity",
    "markets",
    "to",
    "default",
    "cumulative_since",
    "target",
    "level",
    "keep_cost",
    "release",
    "countries",
    "destinations",
]
COLUMN_NAMES = sorted({c.name for t in TABLES.values() for c in t.columns} | {"nope"})
SCENARIO_VALUES = st.one_of(
    YAML_VALUES,
    st.sampled_from(sum(IDS.values(), [])),
    st.sampled_from(["CN", "US", "EU", "DE", "JP", "MM", "mine", "separation", "magnet"]),
    st.lists(st.sampled_from(["CN", "US", "EU", 2024, 2025, "2025-04"]), max_size=3),
)


#: A valid policy of each type on tiny; the fuzz edits their keys.
POLICIES = {
    "export_control": {"exporter": "CN", "commodities": "magnet_oxides", "quota": 0},
    "tariff": {"importer": "JP", "exporter": "CN", "commodities": "NdPr_oxide", "ad_valorem": 0.25},
    "diversification_cap": {"importer": "JP", "stage": "separation", "max_share": 0.5},
    "domestic_share": {"importer": "JP", "stage": "magnet", "min_share": 0.5},
    "environmental_cap": {"region": "CN", "pollutant": "tailings", "max": 100},
    "price_floor": {"sites": ["sep"], "commodities": "NdPr_oxide", "floor": 100000},
    "procurement_ban": {"market": "market_us", "origin": "CN"},
    "production_target": {"sites": ["mine_south"], "commodities": "ore_heavy", "min": 10},
    "stockpile": {"region": "JP", "commodity": "NdPr_oxide", "initial": 10},
}
CHANGE = {"table": "processes", "where": {"id": "mine_north"}, "scale": {"capacity": 0.5}}
POLICY_VALUES = st.one_of(
    SCENARIO_VALUES,
    st.sampled_from([[2024], [2025], "2024-06-01", "2031-01-01", "all", {"JP": 0.5}, {"XX": 2}]),
    st.floats(min_value=-1, max_value=2),
)


_COUNTRIES = ["CN", "MM", "JP", "US", "DE", "EU"]
#: Values a key could sensibly take on tiny (or nearly: a site that does not exist).
PLAUSIBLE = {
    "exporter": _COUNTRIES,
    "importer": _COUNTRIES,
    "origin": _COUNTRIES,
    "region": _COUNTRIES,
    "market": ["market_us", "market_eu", "US"],
    "commodities": ["magnet_oxides", "NdPr_oxide", "*", ["Dy_oxide", "NdPr_oxide"], "oxides"],
    "commodity": ["NdPr_oxide", "Dy_oxide", "magnet_ht", "ore_light"],
    "stage": ["mine", "separation", "magnet", "market"],
    "from_stage": ["mine", "separation", "magnet"],
    "quota": [0, 10, 1e6],
    "max_share": [0, 0.5, 1, {"JP": 0.5, "default": 0.2}],
    "min_share": [0, 0.5, 1],
    "ad_valorem": [0, 0.1, 2],
    "per_tonne": [0, 100],
    "floor": [1, 1e5],
    "reference": ["market", 1000],
    "min": [0, 10, 1e5],
    "max": [0, 10],
    "initial": [0, 10, 1e4],
    "sites": [["sep"], ["mine_north", "mine_south"], ["nowhere"]],
    "site": ["magnets", "sep", "nowhere"],
    "periods": [[2024], [2025], None],
    "starts": ["2024-06-01", "2023-01-01", "2030-01-01"],
    "destinations": ["all", ["JP"], {"except": ["JP"]}],
    "pollutant": ["tailings"],
    "release_cost": [0, 100],
    "per": ["commodity", "total"],
    "split": ["none", "destination"],
    "licence_lag_days": [0, 30, {"JP": 10}],
    "cumulative_since": ["2024-01-01"],
    "id": ["p1", "p2"],
    "table": ["processes", "links", "demand", "sites", "recipes"],
    "where": [{"id": "mine_north"}, {"site": "sep"}, {"country": "EU"}, {"recipe": "sep_light"}],
    "scale": [{"capacity": 0.5}, {"cost": 2}, {"quantity": 1.5}, {"amount": 1.2}],
    "set": [{"capacity": 0}, {"cost": 10}, {"lat": 1}],
    "horizon": ["short", "long"],
    "tracing": [[{"origin": "CN"}], [{"origin": "MM", "from_stage": "separation"}]],
}


@st.composite
def edited(draw, base: dict, keys: list[str]) -> dict:
    """``base`` with up to two keys dropped or set, half the time to a value the key could
    take (:data:`PLAUSIBLE`), else to any value."""
    out = dict(base)
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        key = draw(st.sampled_from(keys))
        roll = draw(st.integers(min_value=0, max_value=5))
        if roll == 0:
            out.pop(key, None)
        elif roll <= 3 and key in PLAUSIBLE:
            out[key] = draw(st.sampled_from(PLAUSIBLE[key]))
        else:
            out[key] = draw(POLICY_VALUES)
    return out


@st.composite
def scenario(draw) -> str:
    """A scenario: mostly valid policies and changes of tiny with a few keys edited, now
    and then a mapping of anything, or junk text."""
    roll = draw(st.integers(min_value=0, max_value=9))
    if roll == 0:
        return draw(
            st.one_of(st.text(max_size=200), st.sampled_from(["[", "- a\n- b", "a: &x\n  b: *x\n"]))
        )
    policies = []
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        ptype = draw(st.sampled_from(sorted(POLICIES)))
        keys = [*POLICIES[ptype], *draw(st.lists(st.sampled_from(POLICY_KEYS), max_size=2))]
        policies.append({"type": ptype, **draw(edited(POLICIES[ptype], keys))})
    changes = []
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        ch = draw(edited(CHANGE, ["table", "where", "scale", "set"]))
        if draw(st.integers(min_value=0, max_value=3)) == 0:
            ch["where"] = draw(
                st.dictionaries(st.sampled_from(COLUMN_NAMES), SCENARIO_VALUES, max_size=2)
            )
        changes.append(ch)
    doc = {"id": "fuzz", "title": "Fuzz", "sources": ["illustrative"]}
    doc.update({"changes": changes, "policies": policies})
    if roll == 1:  # anything at the top level
        doc = draw(
            edited(doc, ["id", "title", "changes", "policies", "horizon", "tracing", "colour"])
        )
    elif draw(st.booleans()):
        doc = draw(edited(doc, ["horizon", "tracing"]))
    return yaml.safe_dump(doc, allow_unicode=True)


def test_fuzz_scenarios():
    """Generated scenarios on tiny: applied, or refused with every problem located in
    the scenario file."""
    seen: Counter[str] = Counter()

    tiny = load(TINY)

    @fuzz(SCENARIO_EXAMPLES)
    @given(scenario())
    def run(text):
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "fuzz.yaml"
            path.write_text(text, encoding="utf-8")
            seen[outcome(lambda: tiny.with_scenario(str(path)), {str(path)}, build=True)] += 1

    run()
    assert seen["loaded"] >= 20 and seen["refused"] >= 50, seen


def test_located_rejects_unlocated():
    """The contract's own check can fail: a problem without line, key or whole-file
    reason, or in another file, is not located."""
    from optimizer.errors import Problem

    files = {"sites.csv"}
    assert located(Problem("sites.csv", 3, None, "x"), files)
    assert located(Problem("sites.csv", None, "lat", "x"), files)
    assert located(Problem("sites.csv", None, None, "table has no rows"), files)
    assert not located(Problem("sites.csv", None, None, "something went wrong"), files)
    assert not located(Problem("<input>", 3, "lat", "x"), files)
