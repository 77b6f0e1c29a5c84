"""Safe YAML loading that remembers line numbers, and pydantic errors located in the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from optimizer.errors import InputError, Problem


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records the line of every mapping key and sequence item."""


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
    """Safe-load a YAML file; syntax errors become :class:`InputError` with the line."""
    label = label or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(Problem(label, None, None, "file not found")) from None
    except IsADirectoryError:
        raise InputError(
            Problem(label, None, None, "is a directory, expected a YAML file")
        ) from None
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
