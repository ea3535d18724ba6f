"""JSON Pointers (RFC 6901) over plain data: the paths patches, schema findings and source maps use."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def escape(token: str | int) -> str:
    """One reference token: `~` → `~0`, `/` → `~1`."""
    return str(token).replace("~", "~0").replace("/", "~1")


def to_pointer(path: Iterable[str | int]) -> str:
    """`("metadata", "labels", "app.kubernetes.io/name")` → `/metadata/labels/app.kubernetes.io~1name`."""
    return "".join("/" + escape(part) for part in path)


def get_path(obj: Any, path: Iterable[str | int]) -> Any:
    """The value at `path` inside nested dicts and lists, or None where the path does not exist."""
    node = obj
    for part in path:
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and not isinstance(part, bool) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node
