"""The manifest stream `kubectl kustomize` prints, written from in-memory objects without running it.

Kustomize prints each resource as `sigs.k8s.io/yaml.JSONToYAML(resource JSON)`, that is go-yaml v2's
encoder over the JSON-decoded object (api/resource/resource.go `AsYAML`), joins them with `---`
lines (api/resmap/reswrangler.go `AsYaml`), and by default orders them "legacy": kinds in a fixed
list first and last, then by group_version_kind, then by namespace|name
(api/internal/builtins/SortOrderTransformer.go).

This module reproduces that byte for byte for the values the renderer produces: printable ASCII
strings (plain, single-quoted, double-quoted or `|` blocks, as go-yaml's emitter chooses them),
integers, simple floats, booleans and null, with map keys in go-yaml's order. Any value outside that
class (non-ASCII or control characters, text go-yaml would fold at 80 columns, keys whose order
depends on go-yaml's digit-run comparison, unusual floats) makes `stream` return None, and the caller
runs the real Kustomize instead. tests/layout/test_kustomize_stream.py checks the output against the real
Kustomize, byte for byte.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import math
import re
from collections.abc import Iterable
from typing import Any

# api/internal/builtins/SortOrderTransformer.go, defaultOrderFirst / defaultOrderLast.
_ORDER_FIRST = (
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
)
_ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
_TYPE_ORDER = {kind: i - len(_ORDER_FIRST) for i, kind in enumerate(_ORDER_FIRST)} | {
    kind: 1 + i for i, kind in enumerate(_ORDER_LAST)
}

_WIDTH = 80  # go-yaml v2's best_width: plain and quoted text with spaces folds past it
_SIMPLE_KEY_MAX = 128  # longer keys are written as `? key` (go-yaml's yaml_emitter_check_simple_key)
_INT64 = 1 << 63

# go-yaml v2 resolve.go: plain words that read as bool, null or float.
_WORDS = frozenset(
    (
        *("y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"),
        *("true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~"),
        *(".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"),
    )
)
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_BLOCK_TEXT = re.compile(r"[\x20-\x7e\n]*")
# Strings starting with a digit, sign or dot that go-yaml reads as numbers (after removing `_`).
_NUMBER = re.compile(
    r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|\.[0-9]+(?:[eE][-+]?[0-9]+)?|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)"
)
# go-yaml v2 resolve.go: a timestamp starts with four digits and a dash; isBase60Float.
_TIMESTAMP_START = re.compile(r"[0-9]{4}-")
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")


_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")


def _is_timestamp(text: str) -> bool:
    """go-yaml v2 `parseTimestamp` for a string that starts with four digits and a dash: a date alone
    (`2006-1-2` layout, a real calendar date) is a timestamp and gets quoted; text that cannot start
    any of its layouts is a plain string; a date followed by more (a time of day) is not reproduced."""
    match = _DATE.match(text)
    if match is None:
        return False  # every layout starts with 2006-1-2
    year, month, day = (int(part) for part in match.groups())
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False  # Go's time.Parse refuses it: a plain string (checked against kubectl kustomize)
    if match.end() == len(text):
        return True
    raise UnsupportedValueError  # a time part: go-yaml's layouts are not reproduced


class UnsupportedValueError(Exception):
    """A value outside the class this writer reproduces exactly."""


def sort_key(obj: dict[str, Any]) -> tuple[int, str, str]:
    """Kustomize's legacy order: kind rank, then group_version_kind, then namespace|name."""
    kind = obj.get("kind") or ""
    group, _, version = (obj.get("apiVersion") or "").rpartition("/")
    gvk = "_".join((group or "~G", version or "~V", kind or "~K"))
    metadata = obj.get("metadata") or {}
    ident = f"{metadata.get('namespace') or '~X'}|{metadata.get('name') or '~N'}"
    return _TYPE_ORDER.get(kind, 0), gvk, ident


def stream(objects: Iterable[dict[str, Any]]) -> str | None:
    """The `---`-joined stream of `objects` (already in output order), or None when not reproducible."""
    try:
        return "---\n".join(document(obj) for obj in objects)
    except UnsupportedValueError:
        return None


def document(obj: Any) -> str:
    """One object as go-yaml v2 prints it (raises UnsupportedValueError)."""
    if isinstance(obj, (dict, list)) and obj:
        out: list[str] = []
        _emit(obj, 0, out)
        return "".join(out)
    raise UnsupportedValueError


# --- keys ----------------------------------------------------------------------------------------


def _char_rank(text: str) -> tuple[tuple[int, int], ...]:
    return tuple((1 if ch.isalpha() else 0, ord(ch)) for ch in text)


def _sorted_keys(mapping: dict[str, Any]) -> tuple[str, ...]:
    return _key_order(tuple(mapping))


@functools.lru_cache(maxsize=1 << 12)
def _key_order(keys_in_order: tuple[str, ...]) -> tuple[str, ...]:
    """go-yaml v2's key order (sorter.go) where it agrees with a plain rule, else UnsupportedValueError.

    At the first differing character two letters compare by code point and a non-letter sorts first;
    when a digit is involved go-yaml compares whole digit runs as numbers, which is not reproduced:
    such neighbours are refused (agreement on every neighbouring pair fixes the whole order). Cached:
    rendered objects repeat the same key sets thousands of times.
    """
    keys = list(keys_in_order)
    for key in keys:
        if not isinstance(key, str) or not key.isascii():
            raise UnsupportedValueError
    keys.sort(key=_char_rank)
    for a, b in itertools.pairwise(keys):
        i = 0
        while i < len(a) and i < len(b) and a[i] == b[i]:
            i += 1
        digit_involved = a[i : i + 1].isdigit() or b[i : i + 1].isdigit() or (i > 0 and a[i - 1].isdigit())
        if i < len(a) and i < len(b) and digit_involved:
            raise UnsupportedValueError
    return tuple(keys)


# --- scalars -------------------------------------------------------------------------------------


def _reads_as_other(text: str) -> bool:
    """Whether go-yaml reads `text` unquoted as something other than this string; UnsupportedValueError if unsure."""
    if text in _WORDS or text == "":
        return True
    if text == "<<":
        raise UnsupportedValueError  # a merge key to go-yaml, which Kustomize prints plain
    first = text[0]
    if first not in "+-.0123456789":
        return False
    plain = text.replace("_", "")
    if _NUMBER.fullmatch(plain):
        return True
    if first.isdigit():
        if _TIMESTAMP_START.match(text):
            return _is_timestamp(text)
        return _BASE60.fullmatch(text) is not None
    if len(text) > 1 and (text[1].isdigit() or text[1] == "."):
        raise UnsupportedValueError
    return False


def _plain_allowed(text: str) -> bool:
    """go-yaml's emitter analysis (yaml_emitter_analyze_scalar) for a block-context plain scalar."""
    if text[0] == " " or text[-1] == " ":
        return False
    if text.startswith(("---", "...")):
        return False
    first = text[0]
    follows_blank = len(text) == 1 or text[1] == " "
    if first in "#,[]{}&*!|>'\"%@`":
        return False
    if first in "?:-" and follows_blank:
        return False
    return ": " not in text and " #" not in text and not text.endswith(":")


def _double_quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _scalar(value: Any, column: int, indent: int, *, key: bool = False) -> str:
    """A scalar starting at `column`; text folds onto lines indented `indent` (not in keys)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise UnsupportedValueError
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if not isinstance(value, str):
        raise UnsupportedValueError
    style, text = _string_form(value)
    if key:
        if len(value) > _SIMPLE_KEY_MAX:
            raise UnsupportedValueError
        return text  # keys never fold (go-yaml writes them as simple keys)
    if column + len(text) <= _WIDTH or " " not in value:
        return text  # no space past column 80: nothing to fold
    return _folded(style, value, column, indent)


@functools.lru_cache(maxsize=1 << 16)
def _string_form(value: str) -> tuple[str, str]:
    """The style go-yaml picks for `value` and its unfolded text (cached: values repeat)."""
    if not _PRINTABLE_ASCII.fullmatch(value):
        raise UnsupportedValueError
    if _reads_as_other(value):
        return "double", _double_quoted(value)
    if _plain_allowed(value):
        return "plain", value
    return "single", "'" + value.replace("'", "''") + "'"


# go-yaml's emitter (yaml_emitter_write_plain / _single_quoted / _double_quoted) breaks a line at a
# space when the column is past best_width, continuing at the scalar's indent: only at a single space
# (plain, single-quoted) or at the first of a run (double-quoted, which escapes the run's next space
# with a backslash), and inside quotes never at the text's first or last character.
_SPACE_RUNS = re.compile(r" +|[^ ]+")


@functools.lru_cache(maxsize=1 << 12)
def _folded(style: str, text: str, column: int, indent: int) -> str:
    """`text` in `style` ("plain", "single" or "double") starting at `column`, folded as go-yaml folds it."""
    quote = {"plain": "", "single": "'", "double": '"'}[style]
    out = [quote]
    column += len(quote)
    last = len(text) - 1
    for run in _SPACE_RUNS.finditer(text):
        start, part = run.start(), run.group()
        if part[0] != " ":
            if style == "single":
                part = part.replace("'", "''")
            elif style == "double":
                part = part.replace("\\", "\\\\").replace('"', '\\"')
            out.append(part)
            column += len(part)
            continue
        inside = style == "plain" or 0 < start < last
        breakable = len(part) == 1 or style == "double"  # plain and single break only before a non-space
        if column > _WIDTH and inside and breakable:
            out.append("\n" + " " * indent)
            column = indent
            part = part[1:]  # the break replaces the first space
            if part:  # double-quoted: the next space would be lost to folding, so it is escaped
                out.append("\\")
                column += 1
        out.append(part)
        column += len(part)
    out.append(quote)
    return "".join(out)


def _float(value: float) -> str:
    """JSON (Go's shortest 'f' form), read back by go-yaml v2 and printed with 'g' precision -1."""
    if not math.isfinite(value) or (value == 0 and math.copysign(1.0, value) < 0):
        raise UnsupportedValueError
    if value.is_integer():
        if abs(value) >= 2**53:
            raise UnsupportedValueError
        return str(int(value))  # `1.0` is JSON `1`, which go-yaml reads as an int
    text = repr(value)
    if "e" in text or not 1e-4 <= abs(value) < 1e6:
        raise UnsupportedValueError
    return text


def _literal(text: str, indent: int) -> str:
    """A `|` block as go-yaml writes multi-line text (content two columns in), or UnsupportedValueError."""
    if not _BLOCK_TEXT.fullmatch(text) or text[0] in " \n" or " \n" in text or text.endswith((" ", "\n\n")):
        raise UnsupportedValueError
    chomp = "" if text.endswith("\n") else "-"
    body = text[:-1] if text.endswith("\n") else text
    pad = " " * (indent + 2)
    return f"|{chomp}\n" + "".join(f"{pad}{line}\n" if line else "\n" for line in body.split("\n"))


# --- collections ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 12)
def _key_text(key: Any) -> str:
    return _scalar(key, 0, 0, key=True)  # a key never folds, so its text depends on nothing else


def _emit(value: Any, indent: int, out: list[str], lead: str | None = None) -> None:
    """Lines for a non-empty mapping or sequence at `indent`; the first starts with `lead` when given (the
    `- ` of the sequence item it is). The hot loop of every stream: one-line strings are written inline."""
    pad = " " * indent
    first = pad if lead is None else lead
    if isinstance(value, dict):
        for key in _sorted_keys(value):
            item = value[key]
            head = f"{first}{_key_text(key)}:"
            first = pad
            if type(item) is str and "\n" not in item:
                style, text = _string_form(item)
                column = len(head) + 1
                if column + len(text) > _WIDTH and " " in item:
                    text = _folded(style, item, column, indent + 2)
                out.append(f"{head} {text}\n")
            else:
                _entry(head, item, indent, indent + 2, indent, out)
    else:
        for item in value:
            if isinstance(item, (dict, list)) and item:
                _emit(item, indent + 2, out, f"{first}- ")
            else:
                _entry(f"{first}-", item, indent, indent + 2, indent + 2, out)
            first = pad


def _entry(head: str, item: Any, indent: int, map_indent: int, list_indent: int, out: list[str]) -> None:
    if isinstance(item, dict):
        if item:
            out.append(head + "\n")
            _emit(item, map_indent, out)
        else:
            out.append(head + " {}\n")
    elif isinstance(item, list):
        if item:
            out.append(head + "\n")
            _emit(item, list_indent, out)
        else:
            out.append(head + " []\n")
    elif isinstance(item, str) and "\n" in item:
        out.append(f"{head} {_literal(item, indent)}")
    else:
        out.append(f"{head} {_scalar(item, len(head) + 1, indent + 2)}\n")
