"""Schema problems as one line each: jsonschema's errors turned into a JSON Pointer and a short message."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from mlgitops.util.jsonpointer import to_pointer

_MESSAGE_LIMIT = 200


@dataclass(frozen=True, order=True)
class SchemaViolation:
    """One schema problem: a JSON Pointer into the object and a one-line message."""

    json_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.json_path or '/'}: {self.message}"


# --------------------------------------------------------------------------- messages


def violations(error: ValidationError) -> Iterator[SchemaViolation]:
    path = list(error.absolute_path)
    if error.validator in ("anyOf", "oneOf"):
        yield from _alternatives(error, path)
        return
    keyword, instance, value = error.validator, error.instance, error.validator_value
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if keyword == "additionalProperties" and value is False and isinstance(instance, dict):
        known = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        for field in instance:
            if field not in known and not any(re.search(p, field) for p in patterns):
                yield SchemaViolation(to_pointer([*path, field]), _unknown_field(str(field), known))
    elif keyword == "required" and isinstance(instance, dict) and isinstance(value, list):
        for field in value:
            if field not in instance:
                yield SchemaViolation(to_pointer([*path, field]), f'missing required field "{field}"')
    else:
        yield SchemaViolation(to_pointer(path), _message(error))


def _alternatives(error: ValidationError, path: list[str | int]) -> Iterator[SchemaViolation]:
    """anyOf/oneOf: report the most relevant branch failure, not the whole instance."""
    if not error.context:  # oneOf with several matching branches
        yield SchemaViolation(to_pointer(path), "matches more than one of the allowed alternatives")
        return
    combined = _combined_type_error(error)
    if combined is not None:
        yield combined
        return
    best = best_match([error])
    if best is not error:
        yield from violations(best)
        return
    # No branch stands out: summarise each branch's problems in one line.
    prefix = to_pointer(path)
    problems: set[str] = set()
    for sub in error.context:
        for v in violations(sub):
            relative = v.json_path[len(prefix) :] if v.json_path.startswith(prefix) else v.json_path
            problems.add(f"{relative}: {v.message}" if relative else v.message)
    text = "; or ".join(sorted(problems))
    yield SchemaViolation(prefix, _one_line(f"matches none of the allowed alternatives: {text}"))


def _message(error: ValidationError) -> str:
    keyword, instance, value = error.validator, error.instance, error.validator_value
    size = len(instance) if isinstance(instance, (str, list, dict)) else None
    if keyword == "type":
        return f"expected {_type_names(value)}, got {_json_type(instance)}"
    if keyword == "enum" and isinstance(value, list):
        allowed = ", ".join(_short(v) for v in value)
        return f"unsupported value {_short(instance)}; must be one of {allowed}"
    if keyword == "pattern":
        return f"{_short(instance)} does not match pattern {_short(value)}"
    bounds = {
        "minimum": ">=",
        "maximum": "<=",
        "exclusiveMinimum": ">",
        "exclusiveMaximum": "<",
    }
    if keyword in bounds:
        return f"must be {bounds[str(keyword)]} {value}, got {_short(instance)}"
    counts = {
        "minItems": ("at least", "item(s)"),
        "maxItems": ("at most", "item(s)"),
        "minLength": ("at least", "character(s)"),
        "maxLength": ("at most", "character(s)"),
        "minProperties": ("at least", "field(s)"),
        "maxProperties": ("at most", "field(s)"),
    }
    if keyword in counts and size is not None:
        limit, unit = counts[str(keyword)]
        return f"expected {limit} {value} {unit}, got {size}"
    if keyword == "uniqueItems":
        return "items must be unique"
    if keyword == "multipleOf":
        return f"must be a multiple of {value}, got {_short(instance)}"
    if keyword == "not":
        return "matches a schema it must not match"
    return _one_line(error.message)


def _combined_type_error(error: ValidationError) -> SchemaViolation | None:
    """`anyOf: [{type: a}, {type: b}]` failing on type alone reads as "expected a or b"."""
    if not all(sub.validator == "type" and not sub.relative_path for sub in error.context):
        return None
    names: list[str] = []
    for sub in error.context:
        value = sub.validator_value
        if isinstance(value, str):
            names.append(value)
        elif isinstance(value, list):
            names.extend(str(v) for v in value)
    return SchemaViolation(
        to_pointer(list(error.absolute_path)),
        f"expected {_type_names(names)}, got {_json_type(error.instance)}",
    )


def _unknown_field(field: str, known: Iterable[str]) -> str:
    candidates = list(known)
    lower = {c.lower(): c for c in candidates}
    close = [lower[field.lower()]] if field.lower() in lower else difflib.get_close_matches(field, candidates, n=1)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    return f'unknown field "{field}"{hint}'


def _type_names(value: Any) -> str:
    names = [value] if isinstance(value, str) else list(dict.fromkeys(value))
    return " or ".join(str(n) for n in names)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except ValueError:
        text = repr(value)
    return _one_line(text, limit=80)


def _one_line(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
