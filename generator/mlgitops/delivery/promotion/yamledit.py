"""Edit a few scalars and keys of a YAML file while every other byte stays as it was.

ruamel.yaml's round-trip loader tells where each key and value starts (line and column); the edits
are then made on the original text, so comments, quoting, flow/block style, blank lines,
indentation and CRLF line ends of every line not edited are kept exactly. Only `promote` imports
this module (the Argo CD plugin path never does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from mlgitops.util.errors import MlgitopsError

Path = Sequence[str]
_SAFE_PLAIN = re.compile(r"[A-Za-z0-9_./+@-][A-Za-z0-9_./:+@=-]*")


class EditError(MlgitopsError):
    """The file's shape does not allow the edit to be made in place."""


# What ruamel.yaml's reader counts as a line break (`Reader.forward`): LF, and a CR not followed by LF.
# The lines here must be its lines, or a position it gives lands on another line (a lone CR in a
# comment shifted every later edit by one line, or past the end of the file: an IndexError).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_BREAKS = "\r\n"


def _lines(text: str) -> list[str]:
    return _LINE.findall(text)


def _newline(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def scalar(value: str | None, style: str = "") -> str:
    """`value` as a YAML scalar in `style` ('"', "'" or '' for plain), double-quoted when plain would not read back.

    None is `null` (in an environment's patch it removes the value set above it: JSON Merge Patch).
    """
    if value is None:
        return "null"
    if style == "" and _SAFE_PLAIN.fullmatch(value) and yaml.safe_load(value) == value:
        return value
    if style == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    if not escaped.isprintable():
        raise EditError(f"cannot write {value!r} as a YAML scalar")
    return '"' + escaped + '"'


def flow_map(values: Mapping[str, str | None]) -> str:
    return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in values.items()) + "}"


class Editor:
    """One file being edited; positions are re-read after every edit."""

    def __init__(self, text: str, name: str, *, unshared: bool = False) -> None:
        self.text = text
        self.name = name
        self.unshared = unshared  # refuse edits through aliases, repeated anchors and merge keys

    # -- reading -------------------------------------------------------------------------------
    def _root(self) -> Any:
        try:
            return YAML(typ="rt").load(self.text)
        except Exception as exc:
            raise EditError(f"{self.name}: cannot be read for editing: {' '.join(str(exc).split())}") from None

    def node(self, path: Path) -> Any:
        node = self._root()
        for part in path:
            if not isinstance(node, CommentedMap) or part not in node:
                return None
            node = node[part]
        return node

    def _parent(self, path: Path) -> CommentedMap:
        parent = self.node(path[:-1])
        if not isinstance(parent, CommentedMap):
            raise EditError(f"{self.name}: {'.'.join(path[:-1]) or 'the document'} is not a mapping")
        return parent

    # -- scanning ------------------------------------------------------------------------------
    def _skip_props(self, lines: list[str], line: int, col: int) -> int:
        """Past an anchor (`&a`) or tag (`!t`) before a value."""
        text = lines[line]
        while col < len(text) and text[col] in "&!":
            while col < len(text) and not text[col].isspace():
                col += 1
            while col < len(text) and text[col] in " \t":
                col += 1
        return col

    def _value_start(self, lines: list[str], parent: CommentedMap, key: str) -> tuple[int, int]:
        """Where the value of `key` starts: after `key:` on the key's line, else where ruamel says.

        ruamel gives an alias (`*a`) the position of its anchor, so the key's line is read first.
        """
        line, col = parent.lc.key(key)
        text = lines[line]
        name = re.escape(key)
        match = re.compile(rf"(?:{name}|\"{name}\"|'{name}')\s*:[ \t]*")
        found = match.match(text, col)
        if found is not None:
            rest = text[found.end() :].strip()
            if rest and not rest.startswith("#"):
                return line, found.end()
        value_line, value_col = parent.lc.value(key)
        if (value_line, value_col) <= (line, col):
            raise EditError(f"{self.name}: the value of {key!r} (line {line + 1}) cannot be located for editing")
        return value_line, value_col

    def _token_end(self, text: str, col: int, flow: bool) -> int:
        """End column of the scalar token starting at `col` on one line."""
        if col < len(text) and text[col] in "\"'":
            quote, i = text[col], col + 1
            while i < len(text):
                if quote == '"' and text[i] == "\\":
                    i += 2
                    continue
                if text[i] == quote:
                    if quote == "'" and i + 1 < len(text) and text[i + 1] == "'":
                        i += 2
                        continue
                    return i + 1
                i += 1
            raise EditError(f"{self.name}: a quoted value spanning lines cannot be edited in place")
        end = len(text.rstrip(_BREAKS))
        comment = text.find(" #", col)
        if comment != -1:
            end = min(end, comment)
        if flow:
            for stop in ",}]":
                found = text.find(stop, col, end)
                if found != -1:
                    end = found
        return len(text[:end].rstrip())

    def _flow_end(self, lines: list[str], line: int, col: int) -> tuple[int, int]:
        """Position just past the flow value (scalar, `{...}` or `[...]`) starting at (line, col)."""
        depth, i = 0, col
        while line < len(lines):
            text = lines[line]
            while i < len(text):
                char = text[i]
                if char in "\"'":
                    i = self._token_end(text, i, True)
                    continue
                if char == "#" and (i == 0 or text[i - 1] in " \t"):
                    break
                if char in "{[":
                    depth += 1
                elif char in "}]":
                    if depth == 0:
                        return line, len(text[:i].rstrip())
                    depth -= 1
                    if depth == 0:
                        return line, i + 1
                elif char == "," and depth == 0:
                    return line, len(text[:i].rstrip())
                elif char in _BREAKS and depth == 0:
                    return line, len(text[:i].rstrip())
                i += 1
            line, i = line + 1, 0
        raise EditError(f"{self.name}: unterminated flow collection")

    def _block_extent(self, lines: list[str], line: int, col: int) -> int:
        """The line after a block mapping entry whose key is at (line, col), trailing comments left out."""
        end = line + 1
        last = line
        while end < len(lines):
            stripped = lines[end].strip()
            indent = len(lines[end]) - len(lines[end].lstrip(" "))
            if stripped and not stripped.startswith("#"):
                if indent <= col:
                    break
                last = end
            end += 1
        return last + 1

    def check_unshared(self, path: Path) -> None:
        """Refuse an edit through a node the file writes once and uses in several places: an alias
        (`*pin`), an anchored node some alias repeats (`&pin`), or a key a merge (`<<: *pin`) brings in.
        Editing there would change every place that shares it, not the one the edit is meant for."""
        lines = _lines(self.text)
        node = self._root()
        for depth, part in enumerate(path):
            if not isinstance(node, CommentedMap) or part not in node:
                return
            where = ".".join(path[: depth + 1])
            own = getattr(node, "_ok", None)
            if own is not None and part not in own:  # ruamel: keys of the mapping itself, not merged ones
                line, col = node.lc.line, node.lc.col
                raise EditError(
                    f"{self.name}:{line + 1}:{col + 1}: {where} comes from a YAML merge key (<<), shared with "
                    "another mapping; editing it would change both: write it out in full here first"
                )
            line, col = self._value_start(lines, node, part)
            text = lines[line][col:]
            alias = re.match(r"\*([^\s,\]}]+)", text)
            anchor = re.match(r"&([^\s,\]}]+)", text)
            if alias is not None:
                raise EditError(
                    f"{self.name}:{line + 1}:{col + 1}: {where} is the YAML alias *{alias.group(1)}, which repeats "
                    f"the node anchored &{alias.group(1)} elsewhere; editing it would change both places: write "
                    "the value out in full here first"
                )
            if anchor is not None and re.search(r"\*" + re.escape(anchor.group(1)) + r"(?![^\s,\]}])", self.text):
                raise EditError(
                    f"{self.name}:{line + 1}:{col + 1}: {where} is anchored &{anchor.group(1)} and repeated by the "
                    f"alias *{anchor.group(1)} elsewhere; editing it would change both places: write the aliased "
                    "value out in full first"
                )
            node = node[part]

    # -- editing -------------------------------------------------------------------------------
    def set_scalar(self, path: Path, value: str | None) -> None:
        """Replace the scalar at `path` (it exists), keeping its quoting style when it reads back."""
        if self.unshared:
            self.check_unshared(path)
        parent = self._parent(path)
        old = parent[path[-1]]
        if isinstance(old, (dict, list)):
            raise EditError(f"{self.name}: {'.'.join(path)} is not a scalar")
        lines = _lines(self.text)
        line, col = self._value_start(lines, parent, path[-1])
        col = self._skip_props(lines, line, col)
        flow = bool(parent.fa.flow_style())
        end = self._token_end(lines[line], col, flow)
        token = lines[line][col:end]
        style = token[0] if token[:1] in ("'", '"') else ""
        lines[line] = lines[line][:col] + scalar(value, style) + lines[line][end:]
        self.text = "".join(lines)

    def add_key(self, path: Path, value_text: str) -> None:
        """Add `key: value_text` to the existing mapping at `path[:-1]` (as its first entry)."""
        if self.unshared:
            self.check_unshared(path[:-1])
        parent = self._parent(path)
        lines = _lines(self.text)
        entry = f"{path[-1]}: {value_text}"
        if parent.fa.flow_style() or not parent:
            if not parent:
                holder = self._parent(path[:-1]) if path[:-1] else None
                if holder is None:
                    raise EditError(f"{self.name}: the document is empty")
                line, col = holder.lc.value(path[-2])
                if not lines[line][col:].startswith("{}"):
                    raise EditError(f"{self.name}: {'.'.join(path[:-1])} has no value to add {path[-1]} to")
                lines[line] = lines[line][: col + 1] + entry + lines[line][col + 1 :]
            else:
                first = next(iter(parent))
                line, col = parent.lc.key(first)
                lines[line] = lines[line][:col] + entry + ", " + lines[line][col:]
        else:
            first = next(iter(parent))
            line, col = parent.lc.key(first)
            lines.insert(line, " " * col + entry + _newline(lines))
        self.text = "".join(lines)

    def remove_key(self, path: Path) -> None:
        """Remove the entry at `path`; a mapping left empty is removed from its own parent too."""
        if self.unshared:
            self.check_unshared(path)
        parent = self._parent(path)
        key = path[-1]
        if key not in parent:
            return
        if len(parent) == 1 and len(path) > 1:
            self.remove_key(path[:-1])
            return
        lines = _lines(self.text)
        line, col = parent.lc.key(key)
        if parent.fa.flow_style():
            keys = list(parent)
            index = keys.index(key)
            text = lines[line]
            if index + 1 < len(keys):
                next_line, next_col = parent.lc.key(keys[index + 1])
                if next_line != line:
                    raise EditError(f"{self.name}: {'.'.join(path)} spans lines inside a flow mapping")
                lines[line] = text[:col] + text[next_col:]
            else:
                end_line, end_col = self._flow_end(lines, *self._value_start(lines, parent, key))
                if end_line != line:
                    raise EditError(f"{self.name}: {'.'.join(path)} spans lines inside a flow mapping")
                comma = text.rfind(",", 0, col)
                if comma == -1:
                    raise EditError(f"{self.name}: {'.'.join(path)} cannot be removed in place")
                lines[line] = text[:comma] + text[end_col:]
        else:
            del lines[line : self._block_extent(lines, line, col)]
        self.text = "".join(lines)
