"""MkDocs hook (mkdocs.yml `hooks:`): the snippet kinds of tests/cli/test_snippets.py on fenced blocks.

The docs tag each ```yaml block with a second word (`model-fragment`, `project-fragment`, `not-spec`)
that GitHub ignores; Python-Markdown's fences take a language and attributes only, so the word is
dropped here before the page is converted (the files keep it).
"""

from __future__ import annotations

import re
from typing import Any

_TAGGED = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})yaml[ \t]+[a-z-]+[ \t]*$", re.MULTILINE)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return _TAGGED.sub(lambda m: f"{m['indent']}{m['ticks']}yaml", markdown)
