"""Pydantic validation errors as positioned, readable problems (one per offending value)."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from mlgitops.language.fields import UNQUOTED_SCALAR
from mlgitops.language.workspace import Locator
from mlgitops.util.errors import Problem, did_you_mean
from mlgitops.util.limits import MAX_PROBLEMS
from mlgitops.util.yamlio import Document, JsonPath


def _model_classes(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_model_classes(arg))
    return found


def _is_dict(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is dict:
        return True
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(_is_dict(arg) for arg in typing.get_args(annotation))
    return False


def _keys_at(cls: type[BaseModel], path: JsonPath) -> list[str]:
    """The keys a mapping at `path` of `cls` accepts (for "did you mean")."""
    return sorted({info.alias or name for c in _classes_at(cls, path) for name, info in c.model_fields.items()})


def _blocks_with_key(cls: type[BaseModel], path: JsonPath, key: str, data: Any) -> list[str]:
    """The blocks just below `path` that accept `key` (`gates` at a model's top level: `training.gates`).

    A key written at too small an indentation lands in the mapping above its block; the blocks the
    document has come first.
    """
    found: list[tuple[bool, str]] = []
    for current in _classes_at(cls, path):
        for name, info in current.model_fields.items():
            block = info.alias or name
            if any(key in {i.alias or n for n, i in c.model_fields.items()} for c in _model_classes(info.annotation)):
                present, _ = _child(data, block)
                found.append((not present, _dotted((*path, block, key))))
    return [where for _, where in sorted(set(found))]


def _classes_at(cls: type[BaseModel], path: JsonPath) -> list[type[BaseModel]]:
    classes: list[type[BaseModel]] = [cls]
    skip_key = False
    for part in path:
        if isinstance(part, int):
            continue
        if skip_key:
            skip_key = False
            continue
        next_classes: list[type[BaseModel]] = []
        for current in classes:
            for name, info in current.model_fields.items():
                if (info.alias or name) == part:
                    next_classes.extend(_model_classes(info.annotation))
                    skip_key = skip_key or (_is_dict(info.annotation) and not _model_classes(info.annotation))
        if not next_classes:
            return []
        classes = next_classes
    return classes


def _dotted(path: JsonPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _child(node: Any, part: str | int) -> tuple[bool, Any]:
    """(True, node[part]) when `part` exists in the mapping or sequence `node`."""
    if isinstance(node, dict) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def _deepest_paths(items: list[Any], data: Any) -> set[JsonPath]:
    """Every proper prefix of the part of each error's location that exists in `data`."""
    prefixes: set[JsonPath] = set()
    for item in items:
        node, path = data, []
        for part in item["loc"]:
            present, child = _child(node, part)
            if present:
                path.append(part)
                node = child
        prefixes.update(tuple(path[:n]) for n in range(len(path)))
    return prefixes


def unquoted_message(where: str, value: Any, written: str | None) -> str:
    """`version is written as the number 1.10, which YAML reads as 1.1: quote it ("1.10")`."""
    kind = "boolean" if isinstance(value, bool) else "number"
    read = json.dumps(value)
    text = written if written is not None else read
    reads = f", which YAML reads as {read}" if text != read else ""
    return f"{where or 'the value'} is written as the {kind} {text}{reads}: quote it ({json.dumps(text)})"


def _is_unquoted(kind: str, node: Any) -> bool:
    """A number or boolean where the schema wants text (the spec's text types, or a plain `str`)."""
    return kind == UNQUOTED_SCALAR or (kind == "string_type" and isinstance(node, (bool, int, float)))


def validation_problems(
    error: ValidationError, data: Any, cls: type[BaseModel], locate: Locator, documents: Sequence[Document] = ()
) -> list[Problem]:
    """Turn pydantic's errors into one positioned, readable problem each.

    `documents` are the files the data came from: a number written where text is meant is quoted
    back as it was written there (`1.10`, not the 1.1 YAML made of it).
    """
    problems: list[Problem] = []
    seen: set[JsonPath] = set()
    items = error.errors(include_url=False)
    # A union like `str | list[str]` reports the branch whose type did not match next to the real
    # problem inside the matching branch; only the latter is worth a line.
    deeper = _deepest_paths(items, data)
    for item in items:
        if len(problems) > 2 * MAX_PROBLEMS:
            break  # SpecError shows MAX_PROBLEMS per file and says there were more
        path: list[str | int] = []
        node = data
        branch = False
        loc = item["loc"]
        # pydantic marks an invalid mapping key with a trailing '[key]': point at the key itself.
        at_key = len(loc) > 1 and loc[-1] == "[key]"
        if at_key:
            loc = loc[:-1]
        for index, part in enumerate(loc):
            present, child = _child(node, part)
            if present:
                path.append(part)
                node = child
            elif index == len(loc) - 1 and item["type"] == "missing":
                path.append(part)
            else:
                branch = True  # a union branch label like 'str' or 'list[str]'
        key = tuple(path)
        if branch and (key in seen or (item["type"].endswith("_type") and key in deeper)):
            continue
        seen.add(key)
        kind = item["type"]
        if kind == "extra_forbidden":
            name = str(path[-1])
            parent_node = data
            for part in key[:-1]:
                parent_node = _child(parent_node, part)[1]
            blocks = _blocks_with_key(cls, key[:-1], name, parent_node)
            if blocks:
                hint = f": it belongs in {blocks[0]} (is it indented too little?)"
            else:
                hint = did_you_mean(name, _keys_at(cls, key[:-1]))
            where = _dotted(key[:-1])
            problems.append(Problem(locate(key, True), f"unknown key {name!r}{' in ' + where if where else ''}{hint}"))
        elif kind == "missing":
            where = _dotted(key[:-1])
            problems.append(
                Problem(locate(key, False), f"missing required key {path[-1]!r}{' in ' + where if where else ''}")
            )
        elif (not branch or kind == UNQUOTED_SCALAR) and _is_unquoted(kind, node):
            value_at = locate(key, False)
            written = next((t for d in documents if (t := d.written_text(value_at)) is not None), None)
            problems.append(Problem(value_at, unquoted_message(_dotted(key), node, written)))
        else:
            message = item["msg"].removeprefix("Value error, ")
            if branch and kind.endswith("_type"):
                message = f"invalid type ({type(node).__name__})"
            problems.append(Problem(locate(key, at_key), f"{_dotted(key) or 'document'}: {message}"))
    return problems
