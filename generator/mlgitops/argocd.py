"""Argo CD wiring generated into `plugins/argocd/` (filled in by the Argo CD integration)."""

from __future__ import annotations

from mlgitops.loader import Workspace


def argocd_files(workspace: Workspace) -> dict[str, str]:
    """Generated files under plugins/argocd/, by repository-relative path."""
    return {}
