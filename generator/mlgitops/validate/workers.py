"""`validate` of a project with many models, over forked workers (util/forked.py).

Each worker loads, renders and checks its share of the models, and sends back what each model's checks found
in each environment (a *segment*), in the order a run in one process makes them. This process reads only the
project: it checks the Namespaces and base/platform and joins the segments in that order. Two things depend
on every model, and are settled in the join:

- a reference (a ServiceAccount, ConfigMap, Secret or claim) is missing only if no model renders it: a worker
  reports what its own share lacks, tagged with what it names, and the join drops those another share renders;
- an unwritable text is reported once per place in the specs: the join keeps the first.

As with `render`, anything failing on the worker path (a spec error in any share, a killed worker) makes the
whole run again in this process, so that an error reads exactly as without workers.
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.util.paths import GRAPHS_DIR
from mlgitops.validate.report import PLATFORM, Report, ValidateOptions

if TYPE_CHECKING:
    from mlgitops.language.workspace import Workspace
    from mlgitops.render.pipeline import ModelRender
    from mlgitops.util.kubenames import Obj
    from mlgitops.validate.base import BaseTree
    from mlgitops.validate.run import SchemaSources, Segment


@dataclass
class ShareChecks:
    """What one worker found for its share of the models."""

    outlines: list[ModelRender]  # the share's renders, outlined: what `have` and the join's order read of them
    segments: dict[tuple[str, str], Segment] = field(default_factory=dict)  # (environment, model) → its findings
    schedules: dict[str, Segment] = field(default_factory=dict)  # model → its training-schedule findings
    unchecked: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # kinds without a schema → envs
    objects: int = 0


def validate_project(root: Path, options: ValidateOptions) -> Report:
    """`validate` of the project at `root`: in shares over forked workers when there are enough models, no
    inference graphs (they read every model) and more than one CPU; else loaded and checked here."""
    from mlgitops.language.loader import load_workspace, model_paths
    from mlgitops.util.forked import model_shares
    from mlgitops.validate.run import validate_workspace

    names = sorted(Path(path).stem for path in model_paths(root)[0])
    cut = model_shares(names)
    if len(cut) > 1 and not os.path.lexists(root / GRAPHS_DIR):
        try:
            return _in_workers(root, cut, options)
        except Exception:  # ForkedWorkError, or a project-wide step that failed: done again here, so that the
            pass  # error reads as it does without workers
    workspace = load_workspace(root)
    gc.freeze()  # the specs live until the command ends (cli.command.workspace)
    return validate_workspace(workspace, options)


def _in_workers(root: Path, cut: list[list[str]], options: ValidateOptions) -> Report:
    from mlgitops.language.loader import load_project, model_paths
    from mlgitops.language.workspace import ModelsInWorkers, Workspace
    from mlgitops.util.forked import map_forked
    from mlgitops.validate.base import base_tree, read_modes
    from mlgitops.validate.run import check_delivery_settings, load_schema_sources, platform_objects

    project, project_doc = load_project(root)
    workspace = Workspace(root, project, project_doc, models=ModelsInWorkers())
    check_delivery_settings(workspace)
    sources = load_schema_sources(options)
    platform = platform_objects(workspace)
    notes: list[str] = []
    import mlgitops.render.pipeline  # noqa: F401  (imported once, here, before the workers fork)

    # The base revision is written out once; each worker reads its own share's modes there.
    with base_tree(root, options.base, notes) if options.compare_base else contextlib.nullcontext() as tree:
        if tree is not None and os.path.lexists(tree.root / GRAPHS_DIR):
            raise LookupError("the base has inference graphs: only a whole load of it reads them")
        if tree is not None:  # the base's models deleted since: no share reads them, but the whole base must load
            gone = {Path(path).stem for path in model_paths(tree.root)[0]} - {name for share in cut for name in share}
            if gone:
                read_modes(tree, gone)  # raises where one does not load: the run in one process then notes it
        parts = map_forked(lambda share: _check_share(root, share, sources, platform, tree), cut)
    return _joined(workspace, parts, sources, platform, notes, options, sum(len(share) for share in cut))


def _check_share(
    root: Path, share: list[str], sources: SchemaSources, platform: list[Obj], base_at: BaseTree | None
) -> ShareChecks:
    """In a worker: load, render and check `share`, keeping each model's findings per environment apart."""
    from mlgitops.language.loader import load_workspace
    from mlgitops.render.pipeline import outline
    from mlgitops.util.errors import SpecError
    from mlgitops.validate.base import read_modes
    from mlgitops.validate.run import (
        Run,
        available_references,
        check_model,
        check_schedules,
        check_waivers,
        rendered_environments,
    )

    workspace = load_workspace(root, only_models=share)
    if [model.name for model in workspace.models] != share:
        raise LookupError("the models changed while validating")
    problems = check_waivers(workspace)
    if problems:
        raise SpecError(problems)
    base = read_modes(base_at, set(share)) if base_at is not None else None  # raises where the base does not load
    gc.freeze()  # the specs live until the worker ends
    renders = rendered_environments(workspace, sources)
    by_name = {model.name: model for model in workspace.models}
    run = Run(workspace, sources, strict=False)
    out = ShareChecks([outline(item) for item in renders])
    trained: dict[str, list[tuple[str, list[Obj]]]] = {}
    for env in workspace.project.environment_names:
        have = available_references(workspace, env, renders, platform)  # this share's: references it lacks are
        for item in renders:  # tagged, and the join drops those another share renders
            if item.environments.get(env) is not None:
                mark = run.mark()
                check_model(run, workspace, env, item, by_name[item.name], have, base, trained)
                out.segments[(env, item.name)] = run.since(mark)
    for name, per_environment in trained.items():
        mark = run.mark()
        check_schedules(run, workspace, by_name[name], per_environment)
        out.schedules[name] = run.since(mark)
    out.unchecked, out.objects = run.unchecked, run.objects
    return out


def _joined(
    workspace: Workspace,
    parts: list[ShareChecks],
    sources: SchemaSources,
    platform: list[Obj],
    notes: list[str],
    options: ValidateOptions,
    models: int,
) -> Report:
    """The workers' findings with this process's, in the order of `validate_workspace`."""
    from mlgitops.validate.run import Run, available_references, check_namespace, check_platform, finished

    envs = workspace.project.environment_names
    outlines = [item for part in parts for item in part.outlines]
    segments = {key: segment for part in parts for key, segment in part.segments.items()}
    run = Run(workspace, sources, options.strict)
    trained: dict[str, None] = {}  # the models with CronWorkflow checks, in the order validate_workspace meets them
    for env in envs:
        have = available_references(workspace, env, outlines, platform)
        check_namespace(run, workspace, env)
        for item in outlines:
            if item.environments.get(env) is not None:
                run.replay(segments[(env, item.name)], have)
                trained.setdefault(item.name)
    schedules = {name: segment for part in parts for name, segment in part.schedules.items()}
    for name in trained:
        run.replay(schedules[name], {})
    check_platform(run, workspace, platform)
    order = {env: index for index, env in enumerate([*envs, PLATFORM])}
    for part in parts:
        run.objects += part.objects
        for kind, seen in part.unchecked.items():
            run.unchecked[kind] = sorted({*run.unchecked.get(kind, []), *seen}, key=order.__getitem__)
    return finished(run, workspace, models, notes)
