"""PromQL series selectors a spec may name (`monitoring.metrics`): parsed, checked, and composed with the
label matchers mlgitops adds, so a declared counter cannot break the rendered rule's syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    """One PromQL series selector: a metric name and/or label matchers (without the braces)."""

    name: str
    matchers: str = ""

    def select(self, extra: str) -> str:
        """The selector with `extra` matchers (the model's scrape labels) added in front."""
        inner = ",".join(part for part in (extra, self.matchers) if part)
        return f"{self.name}{{{inner}}}"


_SELECTOR = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(?:\{(.*)\})?\s*$", re.DOTALL)
_MATCHER = re.compile(r'\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*')


def parse_series(text: str) -> Series:
    """`name`, `name{label="v",...}` or `{__name__=~"a|b"}`; ValueError when it is none of them."""
    found = _SELECTOR.match(text)
    if found is None or not (found.group(1) or found.group(2)):
        raise ValueError(f'{text[:80]!r} is not a series selector (metric_name or metric_name{{label="value"}})')
    name, inner = found.group(1) or "", (found.group(2) or "").strip().rstrip(",")
    matchers = [m.strip() for m in _split_matchers(inner)] if inner else []
    for matcher in matchers:
        if not _MATCHER.fullmatch(matcher):
            raise ValueError(f'{matcher[:60]!r} is not a label matcher (label="value", !=, =~ or !~)')
    if not name and not any(m.startswith("__name__") for m in matchers):
        raise ValueError(f"{text[:80]!r} names no metric")
    return Series(name, ",".join(matchers))


def _split_matchers(inner: str) -> list[str]:
    """Split at the commas outside quoted values."""
    parts, current, quoted, escaped = [], "", False, False
    for char in inner:
        if char == "," and not quoted:
            parts.append(current)
            current = ""
            continue
        current += char
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
    parts.append(current)
    return parts
