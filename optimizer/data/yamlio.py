"""Safe YAML loading that remembers line numbers, and pydantic errors located in the file.

Loading is bounded (:mod:`optimizer.data.limits`): at most ``MAX_YAML_BYTES`` are
read, and a document whose aliases expand to more than ``MAX_YAML_NODES`` nodes (a
"billion laughs" bomb) or refer to themselves is refused before anything is built
from it, located at the first node that crosses the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from optimizer.data.limits import MAX_YAML_BYTES, MAX_YAML_NODES, read_limited
from optimizer.errors import InputError, Problem


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records the line of every mapping key and sequence item, and
    refuses documents whose aliases expand beyond :data:`MAX_YAML_NODES` nodes."""

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            check_expansion(node, MAX_YAML_NODES)
        return node


class _ExpansionError(yaml.MarkedYAMLError):
    pass


def check_expansion(root: yaml.Node, limit: int) -> int:
    """Nodes in the document under ``root`` with every alias expanded (each use of an
    anchor counts the anchored node again); raises when it exceeds ``limit`` or an
    alias refers to a node that contains it.

    Aliases make the composed document a graph that shares nodes, so sizes are
    summed once per node (memoised, iteratively: no recursion limit) and the total
    is known without expanding anything.
    """
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_: set[int] = set()

    def children(n: yaml.Node) -> list[yaml.Node]:
        if isinstance(n, yaml.MappingNode):
            return [x for kv in n.value for x in kv]
        if isinstance(n, yaml.SequenceNode):
            return list(n.value)
        return []

    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_.discard(key)
            total = 1 + sum(size[id(c)] for c in children(node))
            if total > limit:
                raise _ExpansionError(
                    None,
                    None,
                    f"aliases expand this document to more than {limit:,} nodes "
                    "(an alias bomb?); write the values out or use fewer aliases",
                    node.start_mark,
                )
            size[key] = total
            continue
        if key in size:
            continue
        if key in open_:
            raise _ExpansionError(
                None, None, "an alias refers to a node that contains it", node.start_mark
            )
        open_.add(key)
        stack.append((node, True))
        for c in children(node):
            if id(c) in open_:
                raise _ExpansionError(
                    None, None, "an alias refers to a node that contains it", c.start_mark
                )
            if id(c) not in size:
                stack.append((c, False))
    return size[id(root)]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False):
    mapping = {}
    lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        lines[key] = key_node.start_mark.line + 1
    return _LinedDict(mapping, lines, node.start_mark.line + 1)


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode, deep: bool = False):
    items = [loader.construct_object(child, deep=True) for child in node.value]
    return _LinedList(items, [c.start_mark.line + 1 for c in node.value], node.start_mark.line + 1)


class _LinedDict(dict):
    def __init__(self, data: dict, lines: dict, line: int):
        super().__init__(data)
        self.lines = lines
        self.line = line


class _LinedList(list):
    def __init__(self, data: list, lines: list, line: int):
        super().__init__(data)
        self.lines = lines
        self.line = line


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path, label: str | None = None) -> Any:
    """Safe-load a YAML file (bounded: :mod:`optimizer.data.limits`); syntax errors and
    alias bombs become :class:`InputError` with the line."""
    label = label or str(path)
    raw = read_limited(path, label, MAX_YAML_BYTES, "a YAML file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(
            Problem(label, line, None, f"not UTF-8 text (byte 0x{raw[e.start]:02x})")
        ) from None
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise InputError(Problem(label, line, None, f"invalid YAML: {e.problem or e}")) from None
    except yaml.YAMLError as e:
        raise InputError(Problem(label, None, None, f"invalid YAML: {e}")) from None
    except RecursionError:
        raise InputError(Problem(label, None, None, "invalid YAML: nested too deeply")) from None
    return data


def line_of(data: Any, loc: tuple) -> int | None:
    """Best line number for a pydantic error location inside loaded YAML."""
    line = getattr(data, "line", None)
    node = data
    for part in loc:
        if isinstance(node, _LinedDict) and part in node:
            line = node.lines.get(part, line)
            node = node[part]
        elif isinstance(node, _LinedList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lines[part]
            node = node[part]
        else:
            break
    return line


def validation_problems(
    e: ValidationError,
    raw: Any,
    label: str,
    loc: tuple = (),
    skip: Callable[[Any], bool] | None = None,
) -> list[Problem]:
    """The one translation of pydantic errors into located problems.

    ``raw`` is the loaded YAML the validated data came from (for line numbers),
    ``loc`` where that data sits in it; ``skip`` drops parts of pydantic's location
    that are not keys of the file (a discriminated union's tag, a wrapper field).
    """
    out = []
    for err in e.errors():
        sub = tuple(x for x in err["loc"] if skip is None or not skip(x))
        full = (*loc, *sub)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        path = ".".join(str(x) for x in (sub if skip is not None else full))
        out.append(Problem(label, line_of(raw, full), path or None, msg))
    return out


def validate_yaml_model(
    model: type[BaseModel], data: Any, label: str, problems: list[Problem] | None = None
) -> BaseModel | None:
    """Validate loaded YAML with a pydantic model; all errors become located problems.

    Raises :class:`InputError`, or with ``problems`` appends to it and returns None.
    """
    try:
        return model.model_validate(data)
    except ValidationError as e:
        found = validation_problems(e, data, label)
        if problems is None:
            raise InputError(found) from None
        problems.extend(found)
        return None
