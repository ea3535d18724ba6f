"""Fast loading of large CRD manifests: libyaml's event stream turned into Python data directly.

PyYAML's `CSafeLoader` parses in C but builds every node and value in Python (composer, resolver
and `SafeConstructor`), which is about 90 % of the time on a CRD file: the upstream KServe
InferenceService CRD (2 MB, deeply nested) takes ~0.8 s to load and ~0.05 s to parse into events.
`load_all` builds the documents straight from the events and resolves each distinct plain scalar
once (a CRD repeats `type`, `string`, `object`, `properties` tens of thousands of times).

It gives exactly what `yaml.load_all(text, Loader=CSafeLoader)` gives, or None when the text uses
anything it leaves to PyYAML (anchors, aliases, explicit tags, merge keys, non-scalar keys, a parse
error): the caller then runs the full loader, which also reproduces its errors.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode

__all__ = ["load_all"]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
# The scalar types the safe constructor builds from plain scalars; anything else (merge keys `<<`,
# the `=` value tag) is left to PyYAML.
_PLAIN_TAGS = frozenset(
    {
        _STR,
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
        "tag:yaml.org,2002:timestamp",
    }
)


class _UnsupportedError(Exception):
    """The text uses a YAML feature this loader leaves to PyYAML."""


class _Plain:
    """Plain scalars resolved and constructed as the safe loader does, once per distinct text."""

    def __init__(self) -> None:
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()
        self._memo: dict[str, Any] = {}

    def value(self, text: str) -> Any:
        try:
            return self._memo[text]
        except KeyError:
            pass
        tag = self._resolver.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        if tag not in _PLAIN_TAGS:
            raise _UnsupportedError(tag)
        result: Any = text
        if tag != _STR:
            build = self._constructor.yaml_constructors[tag]
            result = build(self._constructor, ScalarNode(tag, text))
        self._memo[text] = result
        return result


def _scalar(event: ScalarEvent, plain: _Plain) -> Any:
    if event.anchor is not None or event.tag is not None:
        raise _UnsupportedError("anchor or tag")
    if event.implicit[0]:  # plain: resolved like the safe loader (null, bool, int, float, timestamp)
        return plain.value(event.value)
    return event.value  # quoted or block scalar: always a string


def _documents(text: str) -> list[Any]:
    plain = _Plain()
    documents: list[Any] = []
    # each open collection: (container, pending mapping key or _NO_KEY)
    stack: list[list[Any]] = []
    root: list[Any] = []

    def add(value: Any) -> None:
        if not stack:
            root.append(value)
            return
        top = stack[-1]
        container = top[0]
        if isinstance(container, list):
            container.append(value)
        elif top[1] is _NO_KEY:
            if isinstance(value, (dict, list)):
                raise _UnsupportedError("non-scalar key")
            top[1] = value
        else:
            container[top[1]] = value
            top[1] = _NO_KEY

    parser = _Loader(text)
    try:
        # get_event alone (not yaml.parse's check_event + get_event): half the calls into the parser
        while not isinstance(event := parser.get_event(), StreamEndEvent):
            if isinstance(event, ScalarEvent):
                add(_scalar(event, plain))
            elif isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                if event.anchor is not None or event.tag is not None:
                    raise _UnsupportedError("anchor or tag")
                container: dict[Any, Any] | list[Any] = {} if isinstance(event, MappingStartEvent) else []
                add(container)
                stack.append([container, _NO_KEY])
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                stack.pop()
            elif isinstance(event, DocumentEndEvent):
                documents.append(root.pop() if root else None)
            elif isinstance(event, AliasEvent):
                raise _UnsupportedError("alias")
            elif not isinstance(event, (StreamStartEvent, DocumentStartEvent)):
                raise _UnsupportedError(type(event).__name__)
    finally:
        parser.dispose()
    return documents


_NO_KEY = object()


def load_all(text: str) -> list[Any] | None:
    """Every document of `text` as the safe loader builds it, or None (use `yaml.load_all`)."""
    try:
        return _documents(text)
    except (_UnsupportedError, yaml.YAMLError, TypeError):
        return None  # TypeError: an unhashable key; PyYAML reports it
