"""The whole generated tree, as the pipeline reads: the specs rendered (render.pipeline), laid out as bases and
overlays (layout.overlay), wired for Argo CD and Flux (this package), then compared with or written to disk under
the project lock (layout.tree). `rendercache` runs the same pipeline for only the models that changed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlgitops.layout import tree
from mlgitops.layout.tree import TreeStatus

# Below two shares of this many models, forking costs more than it saves (a worker starts in about 5 ms,
# and a model renders and lays out in about 2 ms on one core).
MODELS_PER_WORKER = 50

if TYPE_CHECKING:
    from mlgitops.language.loader import Workspace
    from mlgitops.language.workspace import ModelFile
    from mlgitops.render.pipeline import ModelRender


def generated_files(workspace: Workspace) -> dict[str, str]:
    """Every file `render` writes, by repository-relative path."""
    return generated_files_and_renders(workspace)[0]


def generated_files_and_renders(workspace: Workspace) -> tuple[dict[str, str], list[ModelRender]]:
    """`generated_files`, and the model renders they were made from as outlines (`pipeline.outline`: what
    the environment-wide files and the render cache read of them).

    The models are rendered and laid out in shares over forked workers (util/forked.py) when there are
    enough of them; the outlines keep the objects out of the pipes between them, and out of memory.
    """
    from mlgitops.gitops.argocd import argocd_files
    from mlgitops.gitops.deployunits import unit_files
    from mlgitops.gitops.flux import flux_files
    from mlgitops.layout.overlay import environment_files, model_files
    from mlgitops.render.pipeline import (
        addon_locator,
        check_not_empty,
        check_unique_objects,
        outline,
        plan_render,
        render_graphs,
        render_one,
    )
    from mlgitops.util.forked import ForkedWorkError, map_forked, shares, worker_count
    from mlgitops.util.paths import PLATFORM_DIR

    envs = workspace.project.environment_names

    def laid_out(models: list[ModelFile]) -> tuple[dict[str, str], list[ModelRender]]:
        plan = plan_render(workspace, [model.name for model in models])  # each share evaluates its own addons
        files: dict[str, str] = {}
        outlines: list[ModelRender] = []
        for model in plan.chosen:
            item = render_one(plan, model)
            files.update(model_files(workspace, item))
            outlines.append(outline(item))
        return files, outlines

    workers = worker_count() if len(workspace.models) >= MODELS_PER_WORKER * 2 else 1
    try:
        parts = map_forked(laid_out, shares(workspace.models, workers))
    except ForkedWorkError:
        parts = [laid_out(workspace.models)]  # again here, so that an error reads as without workers
    files: dict[str, str] = {}
    renders: list[ModelRender] = []
    for part_files, part_renders in parts:
        files.update(part_files)
        renders += part_renders
    for graph in render_graphs(workspace, envs):
        files.update(model_files(workspace, graph))
        renders.append(outline(graph))
    check_unique_objects(workspace, renders, envs, addon_locator(workspace))
    check_not_empty(workspace, renders, envs)
    include_platform = (workspace.root / PLATFORM_DIR).is_dir()
    for env in envs:
        files.update(environment_files(workspace, env, renders, include_platform=include_platform))
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
