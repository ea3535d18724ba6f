"""Flux wiring generated into `plugins/flux/` (filled in by the Flux integration)."""

from __future__ import annotations

from mlgitops.loader import Workspace


def flux_files(workspace: Workspace) -> dict[str, str]:
    """Generated files under plugins/flux/, by repository-relative path."""
    return {}
