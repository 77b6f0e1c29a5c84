"""The package's layers: no import circle, and no module imports a layer above its own.

The import graph is read from the source (``ast``), imports made inside functions
included and ``if TYPE_CHECKING:`` blocks excluded, like
``../shared/tools/import_layers.py``.  The layers are those of docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "optimizer"

#: Layer of each module prefix, bottom first (a module may import its own layer or below).
LAYERS = [
    ("optimizer._version", 0),
    ("optimizer.errors", 0),
    ("optimizer.fileio", 0),
    ("optimizer.highs", 0),
    ("optimizer.data", 1),
    ("optimizer.scenarios", 2),
    ("optimizer.model", 3),
    ("optimizer.lp", 4),
    ("optimizer.policies", 5),
    ("optimizer.results", 6),
    ("optimizer.solve", 7),
    ("optimizer.analysis", 8),
    ("optimizer.report", 9),
    ("optimizer.api", 10),
    ("optimizer.cli", 11),
    ("optimizer.__main__", 12),
    ("optimizer", 12),  # the package root: public names only, imported by nothing of ours
]
#: The only modules allowed directly in optimizer/ (package folders aside).
ROOT_MODULES = {"__init__", "__main__", "_version", "errors", "fileio", "highs", "solve", "api"}


def layer(module: str) -> int:
    for prefix, rank in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return rank
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of the package it imports (at any depth of its code)."""
    files = sorted(PACKAGE.rglob("*.py"))
    known = {_name(f) for f in files}
    graph: dict[str, set[str]] = {}
    for f in files:
        here = _name(f)
        is_pkg = f.name == "__init__.py"
        found: set[str] = set()

        def visit(node: ast.AST, here: str = here, is_pkg: bool = is_pkg, found=found) -> None:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                for n in node.orelse:
                    visit(n)
                return
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = here.split(".") if is_pkg else here.split(".")[:-1]
                    pkg = pkg[: len(pkg) - (node.level - 1)]
                    base = ".".join(pkg + ([base] if base else []))
                for a in node.names:
                    full = f"{base}.{a.name}" if base else a.name
                    found.add(full if full in known else base)
            for child in ast.iter_child_nodes(node):
                visit(child)

        visit(ast.parse(f.read_text(encoding="utf-8")))
        out = set()
        for name in found:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != here:
                out.add(name)
        graph[here] = out
    return graph


def test_no_import_cycle():
    graph = import_graph()
    # Tarjan-free check: repeatedly drop modules that import nothing left
    left = {m: set(d) for m, d in graph.items()}
    while True:
        leaves = [m for m, d in left.items() if not d & left.keys()]
        if not leaves:
            break
        for m in leaves:
            del left[m]
    assert not left, f"import cycle among: {sorted(left)}"


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{m} (layer {layer(m)}) imports {d} (layer {layer(d)})"
        for m, deps in sorted(import_graph().items())
        for d in sorted(deps)
        if layer(d) > layer(m)
    ]
    assert not upward, "\n".join(upward)


def test_the_package_root_holds_only_the_listed_modules():
    assert {p.stem for p in PACKAGE.glob("*.py")} == ROOT_MODULES


def test_every_module_is_in_a_layer():
    for m in import_graph():
        layer(m)


def test_the_graph_sees_function_level_imports():
    """A test that cannot fail is a defect: the reader must see an import in a function."""
    graph = import_graph()
    # api imports the solve layer only inside Instance.solve
    assert "optimizer.solve" in graph["optimizer.api"]
    assert "optimizer.analysis.mincut" in graph["optimizer.api"]


@pytest.mark.parametrize(
    "old,new",
    [
        ("optimizer.criticality", "optimizer.analysis.criticality"),
        ("optimizer.whatif", "optimizer.analysis.whatif"),
    ],
)
def test_moved_modules_still_import_with_a_deprecation_warning(old, new):
    import importlib
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new):
        mod = importlib.import_module(old)
    assert mod is importlib.import_module(new)
