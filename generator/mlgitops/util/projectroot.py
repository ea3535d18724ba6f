"""Finding the project: the directory holding `mlgitops.yaml` (light, for the Argo CD hot path)."""

from __future__ import annotations

from pathlib import Path

from mlgitops.util.errors import UsageError
from mlgitops.util.paths import PROJECT_FILE


def find_root(start: Path, boundary: Path | None = None) -> Path:
    """Walk up from `start` to the directory holding `mlgitops.yaml`, never above `boundary`."""
    current = start.resolve()
    limit = boundary.resolve() if boundary else None
    while True:
        if (current / PROJECT_FILE).is_file():
            return current
        if current == limit or current.parent == current:
            raise UsageError(f"no {PROJECT_FILE} found in {start} or any parent directory")
        current = current.parent
