"""Whether a file on disk already holds a text: the committed-tree check of `cmp generate`, and the render
workers' check of the directories they would rewrite. Imports nothing (the plugin's hot path uses it)."""

from __future__ import annotations

from pathlib import Path


def same_file(path: Path, content: str) -> bool:
    """Whether the file at `path` holds exactly `content` (UTF-8)."""
    try:
        return path.read_bytes() == content.encode("utf-8")
    except OSError:
        return False
