"""Text from specs made safe for a terminal or a log: non-printable characters become escapes.

A spec value can hold anything YAML can escape (`"\\e[2J"`, a bidi override, a line separator).
Every human-readable output passes such text through `printable`, so it can neither drive the
terminal nor split one reported line into two. Printable text, including non-ASCII letters, is
returned unchanged; backslashes are kept as they are, so the function is idempotent.
"""

from __future__ import annotations

import re

__all__ = ["markdown_text", "printable", "printable_lines"]

_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(char: str) -> str:
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` on one line with every non-printable character (as `str.isprintable` sees it) escaped.

    Non-printable: controls (C0, DEL, C1), format characters (bidi overrides, zero-width marks, the
    BOM), line and paragraph separators, surrogates, unassigned code points and non-space blanks.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)


_LINE = re.compile(r"[^\n]+")


def printable_lines(text: str) -> str:
    """Like `printable`, but newlines stay line breaks (for multi-line output such as a diff body)."""
    if text.isprintable():
        return text
    return _LINE.sub(lambda m: printable(m.group()), text)


# Markdown punctuation that could start a link, an image, emphasis, code, a table cell or a mention.
_MARKDOWN_ACTIVE = re.compile(r"([\\`*_\[\]()!|~@])")


def markdown_text(text: str) -> str:
    """`text` (anyone's) for Markdown, shown literally: never a link, an image, emphasis, a mention or HTML.

    Non-printables become escapes (one line), HTML's `&`, `<`, `>` become entities, and Markdown punctuation
    is backslash-escaped: `@admins ![x](http://h/p.png) <img src=x>` renders as exactly that text.
    """
    html = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_ACTIVE.sub(r"\\\1", html)
