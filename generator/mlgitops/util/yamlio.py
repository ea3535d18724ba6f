"""YAML in and out.

Reading: hand-written files are parsed with PyYAML's C composer (about 40x faster than a pure-Python
round-trip loader, which matters at 1000 models) and turned into plain data by our own constructor,
which records the line and column of every key and value, rejects duplicate keys and resolves plain
scalars by the YAML 1.2 core schema (so `country: no` stays a string, as in Kubernetes tooling).
It enforces `mlgitops.util.limits` (size, depth, nodes after alias expansion) as it goes, so what one
file costs is bounded before anything else sees it.

Writing: PyYAML's C emitter, keys in insertion order (the renderer builds them in a fixed order),
multi-line strings as literal blocks.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from mlgitops.util.errors import Location, MlgitopsError, Problem, SpecError
from mlgitops.util.limits import (
    MAX_COLLECTION_ITEMS,
    MAX_EXPANDED_CHARS,
    MAX_INTEGER_DIGITS,
    MAX_NESTING_DEPTH,
    MAX_SPEC_BYTES,
    MAX_YAML_NODES,
)

JsonPath = tuple[str | int, ...]

_CLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CoreDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_PLAIN_TAG = "tag:mlgitops,plain"

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT10 = re.compile(r"^[-+]?[0-9]+$")
_INT8 = re.compile(r"^0o[0-7]+$")
_INT16 = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")

_STR_TAG = "tag:yaml.org,2002:str"
_KNOWN_TAGS = {
    _PLAIN_TAG,
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


class _PositionLoader(_CLoader):  # type: ignore[misc]
    """The C parser, with tag resolution left to `_resolve_plain` (YAML 1.2 core, and much cheaper)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _PLAIN_TAG if implicit[0] else _STR_TAG
        return "tag:yaml.org,2002:map" if kind is yaml.MappingNode else "tag:yaml.org,2002:seq"


@dataclass
class Document:
    """Plain data from one YAML file, with the position of every node.

    `values[path]` is where the value at `path` starts; `keys[path]` is where its mapping key is.
    Positions are 1-based (line, column).
    """

    path: str
    data: Any
    values: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    # What was written for each plain scalar YAML did not read as text (`1.10`, `8`, `true`), by
    # position: messages quote the user's spelling, not the number YAML made of it.
    plain_texts: dict[tuple[int, int], str] = field(default_factory=dict)

    def written_text(self, location: Location) -> str | None:
        """The text of the non-string plain scalar at `location` (None when there is none)."""
        if location.path != self.path:
            return None
        return self.plain_texts.get((location.line, location.column))

    def location(self, path: JsonPath, *, key: bool = False) -> Location:
        """The closest known position for `path` (walking up to a parent when needed)."""
        probe = tuple(path)
        while True:
            table = self.keys if key else self.values
            pos = table.get(probe) or (self.values.get(probe) if key else None)
            if pos:
                return Location(self.path, pos[0], pos[1])
            if not probe:
                return Location(self.path, 1, 1)
            probe = probe[:-1]
            key = False


def _resolve_plain(text: str) -> Any:
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT10.match(text):
        return int(text, 10)
    if _INT8.match(text):
        return int(text[2:], 8)
    if _INT16.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


def _too_long_integer(text: str) -> str | None:
    """Why an integer literal is refused, or None (converting between int and text grows with its digits)."""
    digits = len(text.lstrip("+-"))
    if digits > MAX_INTEGER_DIGITS and (_INT10.match(text) or _INT8.match(text) or _INT16.match(text)):
        return f"an integer of {digits} digits exceeds the limit of {MAX_INTEGER_DIGITS} (MAX_INTEGER_DIGITS)"
    return None


def _shorten(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _mark(doc: Document, node: yaml.Node) -> Location:
    return Location(doc.path, node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed nodes into plain data, within the limits of `mlgitops.util.limits`.

    Aliases are expanded (every use is counted against the node and text budgets); an alias that
    refers to a node containing it is refused.
    """

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.nodes = 0
        self.chars = 0
        self.open: set[int] = set()  # ids of the collections being built (to catch recursive aliases)

    def fail(self, node: yaml.Node, message: str) -> SpecError:
        return SpecError.at(_mark(self.doc, node), message)

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        doc = self.doc
        doc.values[path] = _shared((node.start_mark.line + 1, node.start_mark.column + 1))
        self.nodes += 1
        if self.nodes > MAX_YAML_NODES:
            raise self.fail(node, f"more than {MAX_YAML_NODES} YAML nodes after expanding aliases (MAX_YAML_NODES)")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if len(path) >= MAX_NESTING_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_NESTING_DEPTH} levels (MAX_NESTING_DEPTH)")
        if len(node.value) > MAX_COLLECTION_ITEMS:
            kind = "mapping" if isinstance(node, yaml.MappingNode) else "sequence"
            raise self.fail(
                node,
                f"a {kind} of {len(node.value)} entries exceeds the limit of {MAX_COLLECTION_ITEMS} "
                "(MAX_COLLECTION_ITEMS)",
            )
        key = id(node)
        if key in self.open:
            raise self.fail(node, "an alias refers to a node that contains it (a recursive structure)")
        self.open.add(key)
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, _shared((*path, i))) for i, item in enumerate(node.value)]
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
        finally:
            self.open.discard(key)
        raise self.fail(node, "unsupported YAML node")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        self.chars += len(node.value)
        if self.chars > MAX_EXPANDED_CHARS:
            raise self.fail(
                node, f"more than {MAX_EXPANDED_CHARS} characters of text after expanding aliases (MAX_EXPANDED_CHARS)"
            )
        if node.tag not in _KNOWN_TAGS:
            raise self.fail(node, f"unsupported YAML tag {node.tag}")
        if node.tag == _STR_TAG:
            return node.value
        # A plain scalar, or one with an explicit non-string tag: YAML 1.2 core rules.
        text = node.value
        if len(text) > MAX_INTEGER_DIGITS and (refused := _too_long_integer(text)):
            raise self.fail(node, refused)
        value = _resolve_plain(text)
        if isinstance(value, float) and math.isinf(value) and not _INF.match(text):
            raise self.fail(node, f"the number {_shorten(text)} is out of range (beyond a 64-bit float)")
        if value is not None and not isinstance(value, str):
            self.doc.plain_texts[(node.start_mark.line + 1, node.start_mark.column + 1)] = text
        return value

    def mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        doc = self.doc
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(Problem(_mark(doc, key_node), "mapping keys must be plain strings"))
                continue
            key = sys.intern(key_node.value)
            child = _shared((*path, key))
            if key in result:
                self.problems.append(Problem(_mark(doc, key_node), f"duplicate key {key!r}"))
                continue
            doc.keys[child] = _shared((key_node.start_mark.line + 1, key_node.start_mark.column + 1))
            result[key] = self.build(value_node, child)
        return result


# Paths and positions repeat from one model file to the next (the files share a shape), so the
# documents share one tuple for each: at 2000 models the position tables took ~35 MiB, over half of it
# tuples equal to another file's. Cleared when it grows past _SHARED_MAX (a long-lived process).
_SHARED_TUPLES: dict[tuple[Any, ...], tuple[Any, ...]] = {}
_SHARED_MAX = 1 << 20


def _shared(value: tuple[Any, ...]) -> tuple[Any, ...]:
    found = _SHARED_TUPLES.get(value)
    if found is not None:
        return found
    if len(_SHARED_TUPLES) >= _SHARED_MAX:
        _SHARED_TUPLES.clear()
    _SHARED_TUPLES[value] = value
    return value


def _reader_location(path: str, text: str, position: int | None) -> Location:
    """The line and column of a reader error (libyaml reports a character or byte offset)."""
    if position is None or position < 0:
        return Location(path, 1, 1)
    if _CLoader is yaml.SafeLoader:  # the pure-Python reader counts characters
        before = text[:position]
    else:  # libyaml counts bytes of the UTF-8 input
        before = text.encode("utf-8", "surrogatepass")[:position].decode("utf-8", "ignore")
    line = before.count("\n") + 1
    return Location(path, line, len(before) - (before.rfind("\n") + 1) + 1)


_KEY_ON_LINE = re.compile(r"^(?P<indent> *)(?:- +)?(?P<key>[^\s:#\-\[\]{},&*!|>'\"%@`][^:#]*?) *:(?:\s|$)")


def _key_at(lines: list[str], index: int) -> tuple[str, int] | None:
    """The key a block-mapping line writes and its indentation, or None."""
    if not 0 <= index < len(lines):
        return None
    match = _KEY_ON_LINE.match(lines[index])
    return (match["key"], len(match["indent"])) if match else None


def _previous_key(lines: list[str], index: int) -> tuple[int, str, int] | None:
    """The nearest key line above `index` (its index, key and indentation), skipping blanks and comments."""
    for above in range(index - 1, -1, -1):
        if lines[above].strip() and not lines[above].lstrip().startswith("#"):
            found = _key_at(lines, above)
            return (above, *found) if found else None
    return None


def _open_blocks(lines: list[str], index: int) -> list[tuple[int, str, int]]:
    """The key lines above `index` that start a smaller indentation each: the blocks a key there could join."""
    chain: list[tuple[int, str, int]] = []
    for above in range(index - 1, -1, -1):
        found = _key_at(lines, above)
        if found and (not chain or found[1] < chain[-1][2]):
            chain.append((above, *found))
            if found[1] == 0:
                break
    return chain


def _syntax_message(exc: yaml.MarkedYAMLError, lines: list[str]) -> str | None:
    """A plainer message for the YAML mistakes people make by hand (tabs, indentation), or None."""
    problem, mark = str(exc.problem or ""), exc.problem_mark
    if mark is None:
        return None
    line = lines[mark.line] if mark.line < len(lines) else ""
    if "tab character" in problem or (
        "cannot start any token" in problem and line[mark.column : mark.column + 1] == "\t"
    ):
        if not line[: mark.column].strip(" \t-"):
            return "tabs are not allowed in YAML indentation: indent with spaces"
        return "a tab cannot start a YAML value: use spaces"
    if "expected key" in problem and "block mapping" in str(exc.context or ""):
        here, chain = _key_at(lines, mark.line), _open_blocks(lines, mark.line)
        if here and chain and here[1] not in {indent for _, _, indent in chain}:
            shown = ", ".join(f"{indent} ('{key}', line {index + 1})" for index, key, indent in chain)
            return (
                f"'{here[0]}' (line {mark.line + 1}) is indented {here[1]} space(s), like none of the keys above it: "
                f"they are at {shown}; indent '{here[0]}' like the key it is a sibling of"
            )
    if "mapping values are not allowed" in problem:
        here, above = _key_at(lines, mark.line), _previous_key(lines, mark.line)
        if here and above and here[1] > above[2]:
            return (
                f"'{here[0]}' (line {mark.line + 1}) is indented {here[1]} space(s), more than '{above[1]}' "
                f"(line {above[0] + 1}, {above[2]} space(s)), which already has a value on its line: "
                "indent a key like its sibling keys, or deeper only under a key with no value"
            )
    return None


def parse_document(text: str, path: str) -> Document:
    """Parse one hand-written YAML file; raise `SpecError` with `path:line:col` on any problem."""
    doc = Document(path=path, data=None)
    if len(text) > MAX_SPEC_BYTES:
        raise SpecError.at(
            Location(path, 1, 1), f"{len(text)} characters exceed the limit of {MAX_SPEC_BYTES} (MAX_SPEC_BYTES)"
        )
    try:
        nodes = list(yaml.compose_all(text, Loader=_PositionLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = _syntax_message(exc, text.split("\n")) or " ".join(
            str(part) for part in (exc.context, exc.problem) if part
        )
        raise SpecError.at(Location(path, line, column), f"invalid YAML: {message}") from None
    except yaml.reader.ReaderError as exc:
        where = _reader_location(path, text, exc.position)
        char = exc.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        raise SpecError.at(where, f"invalid YAML: character {shown} is not allowed ({exc.reason})") from None
    except yaml.YAMLError as exc:
        raise SpecError.at(Location(path, 1, 1), f"invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:  # only PyYAML's pure-Python composer recurses (libyaml stops at 1000 levels)
        raise SpecError.at(
            Location(path, 1, 1), f"nested too deeply to parse (MAX_NESTING_DEPTH is {MAX_NESTING_DEPTH})"
        ) from None
    nodes = [n for n in nodes if n is not None]
    if not nodes:
        return doc
    if len(nodes) > 1:
        raise SpecError.at(_mark(doc, nodes[1]), "expected a single YAML document")
    builder = _Builder(doc)
    doc.data = builder.build(nodes[0], ())
    if builder.problems:
        raise SpecError(builder.problems)
    return doc


def load_plain(text: str) -> list[Any]:
    """Load machine-written YAML (kustomize output, generated files) without positions."""
    return [d for d in yaml.load_all(text, Loader=_CLoader) if d is not None]


# --- writing -------------------------------------------------------------------------------------
#
# PyYAML's representer is pure Python even with the C emitter and cost most of a 1000-model render,
# so generated files use this small emitter for the JSON-like data the renderer builds. It writes
# block style, quotes every string that YAML 1.1 or 1.2 could read as anything but that string, and
# is checked against PyYAML's loader in the tests.

_PLAIN_SAFE = re.compile(r"^[$A-Za-z_/.][A-Za-z0-9_/.=+@-]*(?::[A-Za-z0-9_/.=+@-]+)*$")
_YAML11_WORDS = re.compile(
    r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|"
    r"null|Null|NULL|~|\.inf|\.Inf|\.INF|\.nan|\.NaN|\.NAN|=|<<)$"
)
# Kubernetes quantities (2Gi, 500m) read as strings under YAML 1.1 and 1.2 alike.
_QUANTITY_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[KMGTPE]i|[numkMGTPE])")
# A `|` block may hold only YAML's printable characters (YAML 1.2 §5.1: tab, LF, 0x20-0x7E, 0xA0-0xD7FF,
# 0xE000-0xFFFD and the planes above) minus the line breaks YAML 1.1 readers know besides LF (NEL, LS,
# PS: PyYAML folds them) and the BOM; the first character must not be blank (it would set the indent).
_LITERAL_SAFE = re.compile(
    "(?!\\s)[\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]+"
)
# Escaped inside double quotes (json.dumps already escapes C0, `"` and `\\`): NEL, LS and PS (line
# breaks a reader would fold) and the BOM.
_UNPRINTABLE = re.compile("[\x85\u2028\u2029\ufeff]")
# Text no generated file can carry, refused with one line instead:
# - lone surrogates: neither UTF-8 nor YAML can represent them (YAML 1.2 §5.1, §5.7);
# - DEL, the C1 controls, U+FFFE and U+FFFF: Kustomize (kyaml, as in `kubectl kustomize`, Argo CD and
#   Flux) round-trips every object through Go's encoding/json, which leaves them unescaped, and its
#   YAML reader then fails with "control characters are not allowed", or, for NEL (U+0085), reads a
#   line break: a space in a value, an error in a key; however they were written
#   (tests/util/test_yaml_writer_fuzz.py checks both halves of this against the real Kustomize).
_UNWRITABLE = re.compile("[\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# YAML readers give up on an implicit key longer than 1024 characters (PyYAML and go-yaml alike, see
# `stale_possible_simple_keys`); longer keys are written as explicit `? key` entries.
_IMPLICIT_KEY_MAX = 1000


class UnwritableTextError(MlgitopsError):
    """A string no generated file can carry (see `_UNWRITABLE`)."""


def _quote(text: str) -> str:
    """A double-quoted scalar (JSON string syntax is valid YAML), with YAML line breaks escaped."""
    if _UNWRITABLE.search(text):
        _refuse(text)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def _refuse(text: str) -> None:
    from mlgitops.util.textsafe import printable

    shown = printable(text if len(text) <= 60 else text[:57] + "...")
    raise UnwritableTextError(f"cannot write the text '{shown}': {unwritable_reason(text)}")


def unwritable_reason(text: str) -> str | None:
    """Why no generated file can carry `text` (see `_UNWRITABLE`), or None when it can."""
    found = _UNWRITABLE.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        return (
            f"it holds U+{code:04X}, a lone surrogate, which YAML (and UTF-8) cannot represent; write a "
            "character above U+FFFF as \\U0001XXXX, not as a surrogate pair"
        )
    return (
        f"it holds U+{code:04X}, a control character or noncharacter that Kustomize cannot read back "
        "(nor Argo CD or Flux); remove it"
    )


_MERGE_KEY_REASON = "the key '<<' is read by Kustomize as a YAML merge key and dropped; rename it"


def unwritable(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, str, bool]]:
    """(path, reason, is_key) for every key or string in `value` that `dump` would refuse."""
    if isinstance(value, dict | list) and _plainly_writable(value):
        return iter(())
    return _unwritable(value, path)


def _plainly_writable(value: Any) -> bool:
    """Whether `value` certainly holds nothing `_unwritable` reports, from its JSON text in one C-level pass
    (`validate` asks of every object; walking them in Python took a quarter of its time). Any doubt (a `<<`
    anywhere, a value JSON cannot encode) is False: the walk then decides."""
    try:
        text = json.dumps(value, ensure_ascii=False, check_circular=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return "<<" not in text and _UNWRITABLE.search(text) is None


def _unwritable(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str, bool]]:
    if isinstance(value, str):
        reason = unwritable_reason(value)
        if reason is not None:
            yield path, reason, False
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                reason = _MERGE_KEY_REASON if key == "<<" else unwritable_reason(key)
                if reason is not None:
                    yield (*path, key), f"key: {reason}", True
            yield from _unwritable(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unwritable(item, (*path, index))


def _scalar_text(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        mantissa, e, exponent = repr(value).partition("e")
        if "." not in mantissa:
            mantissa += ".0"  # YAML 1.1 readers need the dot: 1e+20 would read back as a string
        return f"{mantissa}{e}{exponent}"
    if isinstance(value, str):
        return _string_text(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


@functools.lru_cache(maxsize=1 << 12)
def _string_text(value: str) -> str:
    """A string as a plain scalar when every YAML reader reads it back as that string, else quoted.

    Cached: rendered files repeat the same keys and values thousands of times. 4096 entries hit as
    often as 65536 on 2000 models (the repeated values stay recent) and hold ~1 MiB instead of ~15.
    """
    if (
        (_PLAIN_SAFE.fullmatch(value) and not _YAML11_WORDS.fullmatch(value)) or _QUANTITY_PLAIN.fullmatch(value)
    ) and _resolve_plain(value) == value:
        return value
    return _quote(value)


@functools.lru_cache(maxsize=32)
def _literal(text: str, indent: str) -> str | None:
    """A `|` block for multi-line text, when it reads back exactly; else None.

    Cached: the smoke checker's 18 KB script is the same block in every model's every environment.
    """
    if not _LITERAL_SAFE.fullmatch(text) or any(line != line.rstrip() for line in text.split("\n")):
        return None
    body = text[:-1] if text.endswith("\n") else text
    if body.endswith("\n") or not body:
        return None
    chomp = "" if text.endswith("\n") else "-"
    lines = "".join(f"{indent}{line}\n" if line else "\n" for line in body.split("\n"))
    return f"|{chomp}\n{lines}"


@functools.lru_cache(maxsize=1 << 12)
def _key_text(key: Any) -> str:
    """A mapping key's text (cached: the same keys recur in every object)."""
    if not isinstance(key, str):
        raise TypeError(f"mapping keys must be strings, not {type(key).__name__}")
    if key == "<<":
        # Kustomize's JSON round trip turns it back into a merge key, and the entry vanishes (quoted or not)
        raise UnwritableTextError(f"cannot write a mapping: {_MERGE_KEY_REASON}")
    return _scalar_text(key)


# The writer below is the hot loop of every render (about a million entries at 1000 models), so it
# dispatches on exact types first, writes scalars inline, and starts a collection nested in a sequence
# on the dash's line by passing that line's prefix down (`lead`) instead of rewriting a line afterwards.


def _emit(value: Any, indent: int, out: list[str], lead: str | None = None) -> None:
    """Append lines for a non-empty mapping or sequence, each starting at `indent` spaces; the first line
    starts with `lead` instead when given (`- ` items of a sequence)."""
    pad = " " * indent
    first = pad if lead is None else lead
    if isinstance(value, dict):
        for key, item in value.items():
            key_text = _key_text(key)
            if type(item) is str and "\n" not in item and len(key_text) <= _IMPLICIT_KEY_MAX:
                out.append(f"{first}{key_text}: {_string_text(item)}\n")  # the commonest entry, inline
            elif len(key_text) <= _IMPLICIT_KEY_MAX:
                _emit_entry(f"{first}{key_text}:", item, indent, out, indent + 2, indent)
            else:
                out.append(f"{first}? {key_text}\n")
                _emit_entry(f"{pad}:", item, indent, out, indent + 2, indent + 2)
            first = pad
    else:
        for item in value:
            if (type(item) is dict or type(item) is list or isinstance(item, (dict, list))) and item:
                # A non-empty collection starts on the dash's line: "- key: value" or "- - value".
                _emit(item, indent + 2, out, f"{first}- ")
            else:
                _emit_entry(f"{first}-", item, indent, out, indent + 2, indent + 2)
            first = pad


def _emit_entry(head: str, item: Any, indent: int, out: list[str], nested_indent: int, list_indent: int) -> None:
    kind = type(item)
    if kind is str:
        if "\n" not in item:
            out.append(f"{head} {_string_text(item)}\n")
            return
    elif kind is dict or kind is list or isinstance(item, (dict, list)):
        if item:
            out.append(head + "\n")
            _emit(item, nested_indent if isinstance(item, dict) else list_indent, out)
        else:
            out.append(head + (" {}\n" if isinstance(item, dict) else " []\n"))
        return
    if isinstance(item, str) and "\n" in item and (block := _literal(item, " " * (indent + 2))) is not None:
        out.append(f"{head} {block}")
    else:
        out.append(f"{head} {_scalar_text(item)}\n")


def dump(data: Any) -> str:
    """One YAML document, deterministic: keys in insertion order, block style."""
    if isinstance(data, (dict, list)) and data:
        out: list[str] = []
        _emit(data, 0, out)
        return "".join(out)
    if isinstance(data, dict):
        return "{}\n"
    if isinstance(data, list):
        return "[]\n"
    return _scalar_text(data) + "\n"


def dump_all(documents: Iterable[Any]) -> str:
    """A `---`-separated YAML stream."""
    return "".join("---\n" + dump(doc) for doc in documents)


def generated_header(source: str) -> str:
    """The first line of every generated file."""
    return f"# Generated by mlgitops from {source}. Do not edit: change the source and run `mlgitops render`.\n"


GENERATED_MARK = "# Generated by mlgitops"
