"""JSON Pointers (RFC 6901) over plain data: the paths patches, schema findings and source maps use."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# RFC 6901 section 4: array-index = %x30 / ( %x31-39 *%x30-39 ). ASCII digits only (`str.isdigit` also
# accepts `²` and `١`), no leading zero.
_ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


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


def is_array_index(token: str) -> bool:
    """Whether `token` is an RFC 6901 array index: `0`, or ASCII digits with no leading zero."""
    return _ARRAY_INDEX.fullmatch(token) is not None


def index_within(token: str, limit: int) -> int | None:
    """The array index `token` spells when it is at most `limit` (a non-negative bound), else None.

    Never converts more digits than `limit` has, so a token of thousands of digits is only "too large"
    (Python refuses `int()` of over 4,300 digits).
    """
    if not is_array_index(token) or len(token) > len(str(limit)):
        return None
    index = int(token)
    return index if index <= limit else None
