"""Where in a Jsonnet template an addon object, or a field of it, is written: `file:line:col` for
`validate` findings on addon objects and for templates whose result has the wrong shape.

The evaluator returns plain JSON, without positions, so the template's text is read instead: a small
lexer (strings, text blocks, comments) finds the object literal whose `kind` (and `apiVersion`, when
both are literals) match the object, then follows the finding's path through nested object and array
literals as far as they are written out. The answer is the deepest key reached: the field itself when
the template writes it literally, else the key whose value computes it (`labels: lib.labels(...)`),
else the object literal. The template file is searched first, then `templates/lib/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops.util.errors import Location
from mlgitops.util.limits import MAX_SPEC_BYTES
from mlgitops.util.yamlio import JsonPath

_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<comment>//[^\n]*|\#[^\n]*|/\*.*?\*/)
    |(?P<block>\|\|\|-?[ \t]*\n.*?\n[ \t]*\|\|\|)
    |(?P<verbatim>@'(?:[^']|'')*'|@"(?:[^"]|"")*")
    |(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    |(?P<id>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    |(?P<op>.)""",
    re.VERBOSE | re.DOTALL,
)
_OPEN = {"{": "}", "[": "]", "(": ")"}


@dataclass(frozen=True)
class _Token:
    kind: str  # id, string, number, op
    text: str  # a string's value, unquoted
    line: int
    column: int


def _string_value(kind: str, raw: str) -> str:
    if kind == "verbatim":
        quote = raw[1]
        return raw[2:-1].replace(quote * 2, quote)
    try:
        import json

        return str(json.loads('"' + raw[1:-1].replace('"', '\\"').replace("\\'", "'") + '"'))
    except ValueError:
        return raw[1:-1]


def tokens(text: str) -> list[_Token]:
    """The significant tokens of Jsonnet source (comments and white space dropped)."""
    out: list[_Token] = []
    line, line_start = 1, 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "op"
        raw = match.group()
        if kind in ("string", "verbatim"):
            out.append(_Token("string", _string_value(kind, raw), line, match.start() - line_start + 1))
        elif kind == "block":
            out.append(_Token("string", "", line, match.start() - line_start + 1))
        elif kind in ("id", "number", "op"):
            out.append(_Token(kind, raw, line, match.start() - line_start + 1))
        newlines = raw.count("\n")
        if newlines:
            line += newlines
            line_start = match.start() + raw.rfind("\n") + 1
    return out


class _Source:
    """One file's tokens and, for every opening bracket, the index of its closing one."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.tokens = tokens(text)
        self.closing: dict[int, int] = {}
        stack: list[int] = []
        for index, token in enumerate(self.tokens):
            if token.kind != "op":
                continue
            if token.text in _OPEN:
                stack.append(index)
            elif token.text in ("}", "]", ")") and stack and _OPEN[self.tokens[stack[-1]].text] == token.text:
                self.closing[stack.pop()] = index

    def location(self, index: int) -> Location:
        token = self.tokens[index]
        return Location(self.path, token.line, token.column)

    def _is(self, index: int, text: str) -> bool:
        return index < len(self.tokens) and self.tokens[index].kind == "op" and self.tokens[index].text == text

    def _top_level(self, start: int) -> list[int]:
        """Indexes of the tokens directly inside the bracket at `start` (nested brackets skipped)."""
        end = self.closing.get(start, len(self.tokens))
        out: list[int] = []
        index = start + 1
        while index < end:
            out.append(index)
            index = self.closing.get(index, index) + 1
        return out

    def fields(self, start: int) -> dict[str, tuple[int, int]]:
        """The literal fields of the object literal at `start`: name → (key index, value index)."""
        out: dict[str, tuple[int, int]] = {}
        inside = self._top_level(start)
        for position, index in enumerate(inside):
            token = self.tokens[index]
            previous = self.tokens[inside[position - 1]] if position else self.tokens[start]
            if token.kind not in ("id", "string") or previous.text not in ("{", ","):
                continue
            after = index + 1
            if self._is(after, "+"):
                after += 1
            if not self._is(after, ":"):
                continue
            while self._is(after, ":"):
                after += 1
            if after < len(self.tokens):
                out.setdefault(token.text, (index, after))
        return out

    def element(self, start: int, wanted: int) -> int | None:
        """The first token of element `wanted` of the array literal at `start` (of the element written
        once for a comprehension, `[{...} for x in xs]`)."""
        inside = self._top_level(start)
        if not inside:
            return None
        if any(self.tokens[i].kind == "id" and self.tokens[i].text == "for" for i in inside):
            return inside[0]
        count = 0
        for position, index in enumerate(inside):
            if position == 0 or self.tokens[inside[position - 1]].text == ",":
                if count == wanted:
                    return index
                count += 1
        return None

    def objects(self) -> list[int]:
        return [i for i, t in enumerate(self.tokens) if t.kind == "op" and t.text == "{" and i in self.closing]

    def literal(self, value_index: int) -> str | None:
        token = self.tokens[value_index]
        end = value_index + 1
        if token.kind == "string" and (end >= len(self.tokens) or self.tokens[end].text in (",", "}")):
            return token.text
        return None


def _read(root: Path, relative: str) -> _Source | None:
    path = root / relative
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_SPEC_BYTES:
        return None
    return _Source(relative, data.decode("utf-8", errors="replace"))


def _sources(root: Path, template_file: str) -> list[_Source]:
    """The template, then the files of templates/lib/ (inside the project only)."""
    found = [_read(root, template_file)]
    lib = root / "templates" / "lib"
    if lib.is_dir() and lib.resolve().is_relative_to(root.resolve()):
        for path in sorted(lib.iterdir()):
            if path.suffix in (".libsonnet", ".jsonnet") and path.is_file():
                found.append(_read(root, path.relative_to(root).as_posix()))
    return [s for s in found if s is not None]


def _matches(source: _Source, start: int, obj: dict[str, Any]) -> bool:
    fields = source.fields(start)
    compared = 0
    for key in ("kind", "apiVersion"):
        if key in fields and isinstance(obj.get(key), str):
            written = source.literal(fields[key][1])
            if written is not None:
                if written != obj[key]:
                    return False
                compared += 1
    return compared > 0


def _follow(source: _Source, start: int, path: JsonPath) -> int:
    """The index of the deepest token of `path` written out from the object literal at `start`."""
    here, value = start, start
    for part in path:
        opening = source.tokens[value]
        if opening.kind != "op" or opening.text not in ("{", "["):
            break
        if isinstance(part, str) and opening.text == "{":
            found = source.fields(value).get(part)
            if found is None:
                break
            here, value = found
        elif isinstance(part, int) and opening.text == "[":
            element = source.element(value, part)
            if element is None:
                break
            here = value = element
        else:
            break
    return here


def object_location(root: Path, template_file: str, obj: Any, path: JsonPath = ()) -> Location | None:
    """Where `template_file` (or templates/lib/) writes `obj` and, as far as written out, `path` in it."""
    if not isinstance(obj, dict):
        return None
    for source in _sources(root, template_file):
        for start in source.objects():
            if _matches(source, start, obj):
                return source.location(_follow(source, start, path))
    return None


def body_location(root: Path, template_file: str) -> Location | None:
    """The first token of the template function's body (after `function(...)`), else of the file."""
    source = _read(root, template_file)
    if source is None or not source.tokens:
        return None
    for index, token in enumerate(source.tokens):
        if token.kind == "id" and token.text == "function" and source._is(index + 1, "("):
            after = source.closing.get(index + 1)
            if after is not None and after + 1 < len(source.tokens):
                return source.location(after + 1)
            break
    return source.location(0)
