"""A quick, exact answer to "does this object satisfy this converted CRD schema?".

jsonschema's `iter_errors` builds a validator, a generator chain and a path per schema node it
visits, which makes it the largest cost of `validate` (most objects are valid and yield nothing).
`Checker.valid` walks the same schema with plain Python closures, compiled lazily per schema node,
and answers True (valid: jsonschema would report nothing) or False (invalid). The caller then runs
jsonschema only for invalid objects, so every message still comes from jsonschema.

It covers the Draft 7 keywords `crd.convert_openapi_schema` writes, with jsonschema's
semantics (jsonschema/_keywords.py, _legacy_keywords.py and _types.py, v4: `integer` accepts a
float with an integral value, booleans are neither integers nor numbers, `enum` compares strings
with `==`). Anything else (another keyword, `multipleOf`, `uniqueItems`, `enum` over a non-string,
a value of a type JSON does not have) raises `UndecidedError` and the caller asks jsonschema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sized
from typing import Any

__all__ = ["Checker", "UndecidedError"]

Check = Callable[[Any], bool]

# Length keywords: the JSON type they apply to (others pass), and whether the bound is a maximum.
_SIZE_KEYWORDS: dict[str, tuple[type[Sized], bool]] = {
    "minLength": (str, False),
    "maxLength": (str, True),
    "minItems": (list, False),
    "maxItems": (list, True),
    "minProperties": (dict, False),
    "maxProperties": (dict, True),
}

_SUPPORTED = frozenset(
    {
        "type",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "required",
        "properties",
        "items",
        "additionalProperties",
        "not",
        "anyOf",
        "oneOf",
        "allOf",
    }
)
# Not assertions for a validator built without a format checker (`Draft7Validator(schema)`), nor
# `x-kubernetes-*` markers; `$defs` only holds the definitions `$ref` points at.
_IGNORED = frozenset({"format", "$defs"})
_DEFS_REF = "#/$defs/"
_JSON_TYPES = (dict, list, str, bool, int, float, type(None))


class UndecidedError(Exception):
    """The schema or the value is outside what the checker decides exactly."""


def _is_type(name: str, value: Any) -> bool:
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise UndecidedError(f"type {name!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bound(value: Any) -> float | int:
    if not _is_number(value):
        raise UndecidedError("bound")
    result: float | int = value
    return result


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise UndecidedError("count")
    return value


class Checker:
    """Compiled checks of one schema (and its subschemas), built on first use."""

    def __init__(self, schema: Any) -> None:
        defs = schema.get("$defs") if isinstance(schema, dict) else None
        self._defs: dict[str, Any] = defs if isinstance(defs, dict) else {}
        self._refs: dict[str, Check] = {}
        self._root = self._lazy(schema)

    def valid(self, instance: Any) -> bool:
        """True when jsonschema's Draft 7 validator finds nothing; `UndecidedError` when undecided."""
        return self._root(instance)

    def _lazy(self, schema: Any) -> Check:
        compiled: list[Check] = []

        def check(value: Any) -> bool:
            if not compiled:
                try:
                    compiled.append(self._compile(schema))
                except re.error as exc:  # jsonschema fails on it its own way
                    raise UndecidedError(f"pattern: {exc}") from None
            return compiled[0](value)

        return check

    def _compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda value: True
        if schema is False:
            return lambda value: False
        if not isinstance(schema, dict):
            raise UndecidedError("schema")
        if "$ref" in schema:  # Draft 7: a reference replaces its siblings (ignore_ref_siblings)
            return self._ref(schema["$ref"])
        unknown = {k for k in schema if k not in _SUPPORTED and k not in _IGNORED and not k.startswith("x-")}
        if unknown:
            raise UndecidedError(f"keywords {sorted(unknown)}")
        checks: list[Check] = []
        if "type" in schema:
            checks.append(self._type(schema["type"]))
        for keyword in ("enum", "pattern"):
            if keyword in schema:
                checks.append(getattr(self, f"_{keyword}")(schema[keyword]))
        for keyword in _SIZE_KEYWORDS:
            if keyword in schema:
                checks.append(self._size(keyword, schema[keyword]))
        if "required" in schema:
            checks.append(self._required(schema["required"]))
        for keyword, strict, below in (
            ("minimum", False, False),
            ("maximum", False, True),
            ("exclusiveMinimum", True, False),
            ("exclusiveMaximum", True, True),
        ):
            if keyword in schema:
                checks.append(self._limit(_bound(schema[keyword]), strict, below))
        if "properties" in schema or "additionalProperties" in schema:
            checks.append(self._object(schema.get("properties", {}), schema.get("additionalProperties", True)))
        if "items" in schema:
            if isinstance(schema["items"], list):
                raise UndecidedError("items as a list")
            item = self._lazy(schema["items"])
            checks.append(lambda value: not isinstance(value, list) or all(item(v) for v in value))
        if "not" in schema:
            negated = self._lazy(schema["not"])
            checks.append(lambda value: not negated(value))
        for keyword in ("anyOf", "oneOf", "allOf"):
            if keyword in schema:
                branches = schema[keyword]
                if not isinstance(branches, list) or not branches:
                    raise UndecidedError(keyword)
                checks.append(self._logic(keyword, [self._lazy(b) for b in branches]))

        def run(value: Any) -> bool:
            if type(value) not in _JSON_TYPES:
                raise UndecidedError(type(value).__name__)
            # a failing check is enough: jsonschema reports at least that one
            return all(c(value) for c in checks)

        return run

    def _ref(self, ref: Any) -> Check:
        """`#/$defs/<name>`, the only form schemas/kube.py writes; one compiled check per name."""
        if not isinstance(ref, str) or not ref.startswith(_DEFS_REF):
            raise UndecidedError("$ref")
        name = ref[len(_DEFS_REF) :]
        if "/" in name or "~" in name or "%" in name or name not in self._defs:
            raise UndecidedError(f"$ref {ref}")
        if name not in self._refs:
            self._refs[name] = self._lazy(self._defs[name])
        return self._refs[name]

    @staticmethod
    def _type(types: Any) -> Check:
        names = [types] if isinstance(types, str) else types
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise UndecidedError("type")
        for name in names:
            _is_type(name, None)  # an unknown type name is undecided
        return lambda value: any(_is_type(name, value) for name in names)

    @staticmethod
    def _enum(values: Any) -> Check:
        if not isinstance(values, list):
            raise UndecidedError("enum")
        strings = {v for v in values if isinstance(v, str)}

        def check(value: Any) -> bool:
            if not isinstance(value, str):
                raise UndecidedError("enum over a non-string")
            return value in strings

        return check

    @staticmethod
    def _pattern(pattern: Any) -> Check:
        if not isinstance(pattern, str):
            raise UndecidedError("pattern")
        compiled = re.compile(pattern)
        return lambda value: not isinstance(value, str) or compiled.search(value) is not None

    @staticmethod
    def _size(keyword: str, limit: Any) -> Check:
        """minLength, maxItems, minProperties...: the length of a value of the keyword's type, bounded."""
        kind, at_most = _SIZE_KEYWORDS[keyword]
        n = _count(limit)
        if at_most:
            return lambda value: not isinstance(value, kind) or len(value) <= n
        return lambda value: not isinstance(value, kind) or len(value) >= n

    @staticmethod
    def _required(fields: Any) -> Check:
        if not isinstance(fields, list):
            raise UndecidedError("required")
        names = list(fields)
        return lambda value: not isinstance(value, dict) or all(name in value for name in names)

    @staticmethod
    def _limit(bound: float | int, strict: bool, below: bool) -> Check:
        def check(value: Any) -> bool:
            if not _is_number(value):
                return True
            if below:
                return bool(value < bound) if strict else bool(value <= bound)
            return bool(value > bound) if strict else bool(value >= bound)

        return check

    def _object(self, properties: Any, additional: Any) -> Check:
        if not isinstance(properties, dict):
            raise UndecidedError("properties")
        known = {name: self._lazy(sub) for name, sub in properties.items()}
        closed = additional is False
        other = None if isinstance(additional, bool) else self._lazy(additional)
        if additional is not True and other is None and not closed:
            raise UndecidedError("additionalProperties")

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, item in value.items():
                sub = known.get(key)
                if sub is not None:
                    if not sub(item):
                        return False
                elif closed or (other is not None and not other(item)):
                    return False
            return True

        return check

    @staticmethod
    def _logic(keyword: str, branches: list[Check]) -> Check:
        if keyword == "allOf":
            return lambda value: all(b(value) for b in branches)
        if keyword == "anyOf":
            return lambda value: any(b(value) for b in branches)
        return lambda value: sum(1 for b in branches if b(value)) == 1
