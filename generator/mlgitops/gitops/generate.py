"""The whole generated tree, as the pipeline reads: the specs rendered (render.pipeline), laid out as bases and
overlays (layout.overlay), wired for Argo CD and Flux (this package), then compared with or written to disk under
the project lock (layout.tree). `rendercache` runs the same pipeline for only the models that changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlgitops.layout import tree
from mlgitops.layout.tree import TreeStatus

if TYPE_CHECKING:
    from mlgitops.language.loader import Workspace
    from mlgitops.render.pipeline import ModelRender


def generated_files(workspace: Workspace) -> dict[str, str]:
    """Every file `render` writes, by repository-relative path."""
    return generated_files_and_renders(workspace)[0]


def generated_files_and_renders(workspace: Workspace) -> tuple[dict[str, str], list[ModelRender]]:
    """`generated_files`, and the model renders they were made from (the render cache records both)."""
    from mlgitops.gitops.argocd import argocd_files
    from mlgitops.gitops.deployunits import unit_files
    from mlgitops.gitops.flux import flux_files
    from mlgitops.layout.overlay import layout_files
    from mlgitops.render.pipeline import check_not_empty, render_models

    renders = render_models(workspace)
    check_not_empty(workspace, renders, workspace.project.environment_names)
    files = layout_files(workspace, renders)
    files.update(unit_files(workspace, renders))
    files.update(argocd_files(workspace, renders))
    files.update(flux_files(workspace, renders))
    return dict(sorted(files.items())), renders


def render(workspace: Workspace, *, check: bool = False, command: str | None = None) -> TreeStatus:
    """Compute the generated tree and write it (or, with `check`, only report what is stale).

    Holds the project lock throughout; `render` first completes an interrupted render, `check` refuses one
    (layout/tree.py).
    """
    root = workspace.root
    with tree.locked(root, command or ("render --check" if check else "render"), check=check) as (note, _):
        files = generated_files(workspace)
        status = tree.compare(root, files)
        if not check:
            status = tree.write(root, files, status)
        status.recovered = note
        return status
