"""The whole generated tree, as the pipeline reads: the specs rendered (render.pipeline), laid out as bases and
overlays (layout.overlay), wired for Argo CD and Flux (this package), then compared with or written to disk under
the project lock (layout.tree). `rendercache` runs the same pipeline for only the models that changed.

The models' part (load, render, lay out) runs in shares over forked workers when there are many
(`generated_tree_at`, util/forked.py); the environment-wide part reads only each model's outline and facts
(rendercache/facts.py), so it runs where the workers' answers meet. docs/architecture.md, "Workers"."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.layout import tree
from mlgitops.layout.tree import TreeStatus
from mlgitops.util.paths import GRAPHS_DIR

if TYPE_CHECKING:
    from mlgitops.language.loader import Workspace
    from mlgitops.language.workspace import ModelFile
    from mlgitops.render.pipeline import ModelRender


@dataclass
class Generated:
    """The generated tree (path → text, or None for a file its worker found unchanged on disk:
    tree.unchanged_units), the renders it was made from as outlines (`pipeline.outline`: what the
    environment-wide files read of them), each model's facts and reads (for the render cache), and the
    content hashes a worker computed (of every file it made)."""

    files: dict[str, str | None]
    renders: list[ModelRender]
    facts: dict[str, tuple[dict[str, Any], dict[str, str]]] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)


def generated_files(workspace: Workspace) -> dict[str, str]:
    """Every file `render` writes, by repository-relative path."""
    return {path: text for path, text in generated_tree(workspace).files.items() if text is not None}


def generated_tree_at(root: Path) -> Generated:
    """`generated_tree` of the project at `root`, loading it as fits.

    With enough models, no inference graphs and more than one CPU, each forked worker loads, validates,
    renders and lays out its share of the models (util/forked.py), and this process only reads the project
    and writes the environment-wide files from the outlines and facts the workers send. Anything that
    fails on that path (a spec error in any share, say) is done again by loading everything here, so that
    the error reads as without workers.
    """
    from mlgitops.language.loader import load_project, load_workspace, model_paths
    from mlgitops.language.workspace import ModelsInWorkers, Workspace
    from mlgitops.util.forked import map_forked, model_shares

    names = sorted(Path(path).stem for path in model_paths(root)[0])
    cut = model_shares(names)
    if len(cut) > 1 and not os.path.lexists(root / GRAPHS_DIR):

        def load_and_lay_out(share: list[str]) -> Generated:
            workspace = load_workspace(root, only_models=share)
            if [model.name for model in workspace.models] != share:
                raise LookupError("the models changed while rendering")
            gc.freeze()  # the specs live until the worker ends: the collector need not walk them (cli.command)
            return laid_out(workspace, workspace.models, against=root)

        try:
            project, project_doc = load_project(root)  # first: its spec classes are then imported once, here
            import mlgitops.render.pipeline  # noqa: F401  (so is the renderer)

            parts = map_forked(load_and_lay_out, cut)
            return _whole(Workspace(root, project, project_doc, models=ModelsInWorkers()), parts)
        except Exception:  # ForkedWorkError, or a project-wide check that failed: made again here, without
            workspace = load_workspace(root)  # workers (they would only fail again), so that an error reads
            return _whole(workspace, [laid_out(workspace, workspace.models)])  # as it does without them
    return generated_tree(load_workspace(root))


def generated_tree(workspace: Workspace) -> Generated:
    """The generated tree of a loaded workspace; its models rendered and laid out in shares over forked
    workers when there are enough of them."""
    from mlgitops.util.forked import ForkedWorkError, map_forked, model_shares

    try:
        parts = map_forked(lambda models: laid_out(workspace, models), model_shares(workspace.models))
    except ForkedWorkError:
        parts = [laid_out(workspace, workspace.models)]  # again here, so that an error reads as without workers
    return _whole(workspace, parts)


def laid_out(workspace: Workspace, models: list[ModelFile], *, against: Path | None = None) -> Generated:
    """Some models rendered and laid out (base/models/<m>/, overlays/<env>/<m>/), with outlines and facts.

    With `against` (the project root), each model directory the disk already holds exactly keeps only
    its files' hashes (their text None): a render that changes little then moves and keeps little text.
    """
    from mlgitops.gitops.rendercache.facts import model_facts
    from mlgitops.gitops.rendercache.inputs import model_reads
    from mlgitops.gitops.rendercache.store import content_hash
    from mlgitops.layout.overlay import model_files
    from mlgitops.layout.tree import swap_unit, unchanged_units
    from mlgitops.render.pipeline import outline, plan_render, render_one

    plan = plan_render(workspace, [model.name for model in models])  # each share evaluates its own addons
    out = Generated({}, [])
    for model in plan.chosen:
        item = render_one(plan, model)
        files = model_files(workspace, item)
        out.renders.append(outline(item))
        out.facts[model.name] = (model_facts(workspace, item), model_reads(workspace, model))
        if against is None:
            out.files.update(files)
            continue
        clean = unchanged_units(against, files)
        for path, text in files.items():
            out.hashes[path] = content_hash(text.encode("utf-8"))
            out.files[path] = None if swap_unit(path) in clean else text
    return out


def _whole(workspace: Workspace, parts: list[Generated]) -> Generated:
    """The shares joined, with the graphs and every environment-wide file, after the project-wide checks."""
    from mlgitops.gitops.argocd import argocd_files
    from mlgitops.gitops.deployunits import unit_files
    from mlgitops.gitops.flux import flux_files
    from mlgitops.layout.overlay import environment_files, model_files
    from mlgitops.render.pipeline import addon_locator, check_not_empty, check_unique_objects, outline, render_graphs
    from mlgitops.util.paths import PLATFORM_DIR

    envs = workspace.project.environment_names
    whole = Generated({}, [])
    for part in parts:
        whole.files.update(part.files)
        whole.renders += part.renders
        whole.facts.update(part.facts)
        whole.hashes.update(part.hashes)
    for graph in render_graphs(workspace, envs):
        whole.files.update(model_files(workspace, graph))
        whole.renders.append(outline(graph))
    check_unique_objects(workspace, whole.renders, envs, addon_locator(workspace))
    check_not_empty(workspace, whole.renders, envs)
    include_platform = (workspace.root / PLATFORM_DIR).is_dir()
    for env in envs:
        whole.files.update(environment_files(workspace, env, whole.renders, include_platform=include_platform))
    whole.files.update(unit_files(workspace, whole.renders))
    whole.files.update(argocd_files(workspace, whole.renders))
    whole.files.update(flux_files(workspace, whole.renders))
    whole.files = dict(sorted(whole.files.items()))
    return whole


def render(root: Path, *, check: bool = False, command: str | None = None) -> TreeStatus:
    """Compute the generated tree of the project at `root` and write it (or, with `check`, only report what
    is stale).

    Holds the project lock throughout; `render` first completes an interrupted render, `check` refuses one
    (layout/tree.py).
    """
    with tree.locked(root, command or ("render --check" if check else "render"), check=check) as (note, _):
        files = generated_tree_at(root).files
        status = tree.compare(root, files)
        if not check:
            status = tree.write(root, files, status)
        status.recovered = note
        return status
