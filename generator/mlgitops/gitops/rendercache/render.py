"""`render` with work proportional to what changed, exact like the full render.

The render cache (store.py) maps inputs to outputs: under one project key (inputs.py: the mlgitops
code, `mlgitops.yaml`, `base/platform/`, `templates/`), a model file's bytes always render to the
same files and facts. So a recorded entry stays *true* whatever happens to the tree; what can go
wrong is only the disk no longer holding those outputs, which is checked every time:

1. Same project key, same set of models: the models whose file hash differs, or one of the other
   files their render read (inputs.py `model_reads`), are loaded, validated and rendered alone
   (`load_workspace(only_models=…)`: a model's validity and render depend only on its own file, the
   files it names and the project). If any of them has other facts (facts.py) than recorded, the
   environment-wide files could change: full render.
2. Every other expected file is read and hashed against the record; the changed models' files are
   compared byte for byte. A file that differs from its record (edited by hand, reverted by git,
   deleted) or a stray file outside the changed models' directories means a full render, which
   repairs it. Nothing is written from a record: the only files written are freshly rendered.
3. Otherwise the changed models' directories are swapped in with the usual journal (tree.write).

No cache, another key, an added or removed model, anything unusual in `models/`, or
`MLGITOPS_RENDER_CACHE=0`: the full render, which then records a new cache. `render --check` never
uses the cache (tree.render), so CI's check is the full comparison.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.gitops.rendercache import store
from mlgitops.gitops.rendercache.inputs import model_inputs, model_reads, project_key, read_file, reads_unchanged
from mlgitops.layout.tree import TreeStatus, compare, locked, swap_unit, write

if TYPE_CHECKING:
    from mlgitops.language.loader import Workspace
    from mlgitops.render.pipeline import ModelRender

CACHE_SWITCH = "MLGITOPS_RENDER_CACHE"


@dataclass
class _Plan:
    files: dict[str, str]  # the changed models' files, freshly rendered
    status: TreeStatus
    cache: store.RenderCache


def render_project(root: Path, *, command: str | None = None) -> TreeStatus:
    """Bring the generated tree in line with the specs at `root` (like `generate.render`), using the cache.

    Holds the project lock throughout and first completes an interrupted render.
    """
    with locked(root, command or "render") as (note, existing):
        key = project_key(root)
        plan = _incremental(root, key, existing) if os.environ.get(CACHE_SWITCH, "1") != "0" else None
        if plan is None:
            status = _full(root, key)
        else:
            status = write(root, plan.files, plan.status)
            if (status.stale or plan.files) and project_key(root) == key:
                store.save(root, plan.cache)
        status.recovered = note
        return status


def _full(root: Path, key: str) -> TreeStatus:
    from mlgitops.gitops.generate import generated_files_and_renders
    from mlgitops.language.loader import load_workspace

    inputs = model_inputs(root)
    workspace = load_workspace(root)
    files, renders = generated_files_and_renders(workspace)
    status = write(root, files, compare(root, files))
    unchanged = inputs is not None and inputs == model_inputs(root) and project_key(root) == key
    if unchanged and inputs is not None and set(inputs) == {item.name for item in renders if not item.graph}:
        store.save(root, record(workspace, key, inputs, files, renders))
    else:
        store.forget(root)  # an input changed while rendering: record nothing
    return status


def record(
    workspace: Workspace, key: str, inputs: dict[str, str], files: dict[str, str], renders: list[ModelRender]
) -> store.RenderCache:
    """The cache entry of a full render: each model's files, facts and input hash; the rest is shared."""
    from mlgitops.gitops.rendercache.facts import model_facts

    cache = store.RenderCache(key)
    hashes = {path: store.content_hash(content.encode("utf-8")) for path, content in files.items()}
    models = [item for item in renders if not item.graph]  # a graph's files are shared: graphs/ is in the key
    owner = _owners(hashes, [item.name for item in models])
    by_name = {model.name: model for model in workspace.models}
    for item in models:
        model = by_name[item.name]
        cache.models[item.name] = store.ModelEntry(
            input=inputs[item.name],
            files={},
            facts=model_facts(workspace, model, item),
            reads=model_reads(workspace, model),
        )
    for path, digest in hashes.items():
        name = owner.get(path)
        if name is None:
            cache.shared[path] = digest
        else:
            cache.models[name].files[path] = digest
    return cache


def _owners(paths: dict[str, str], names: list[str]) -> dict[str, str]:
    """Path → the model whose directory holds it, for the models in `names`."""
    known = set(names)
    return {path: name for path in paths if (name := store.model_of(path)) in known}


def _incremental(root: Path, key: str, existing: dict[str, str]) -> _Plan | None:
    """Steps 1-2 of the module docstring; None: do the full render."""
    cache = store.load(root)
    inputs = model_inputs(root)
    if cache is None or inputs is None or cache.key != key or set(cache.models) != set(inputs):
        return None
    changed = sorted(
        name
        for name, digest in inputs.items()
        if cache.models[name].input != digest or not reads_unchanged(root, cache.models[name].reads)
    )
    fresh: dict[str, str] = {}
    if changed:
        rendered = _render_changed(root, changed, inputs)
        if rendered is None:
            return None
        for name, (files, facts, reads) in rendered.items():
            if facts != cache.models[name].facts:
                return None
            cache.models[name] = store.ModelEntry(inputs[name], {}, facts, reads)
            for path, content in files.items():
                fresh[path] = content
                cache.models[name].files[path] = store.content_hash(content.encode("utf-8"))
    expected = dict(cache.shared)
    for name, entry in cache.models.items():
        if name not in changed:
            expected.update(entry.files)
    for path, digest in expected.items():
        full = existing.get(path)
        if full is None:
            return None
        try:
            if store.content_hash(read_file(full)) != digest:
                return None
        except OSError:
            return None
    changed_paths, added = [], []
    for path, content in fresh.items():
        full = existing.get(path)
        if full is None:
            added.append(path)
            continue
        try:
            if read_file(full) != content.encode("utf-8"):
                changed_paths.append(path)
        except OSError:
            changed_paths.append(path)
    removed = sorted(set(existing) - set(expected) - set(fresh))
    fresh_units = {swap_unit(path) for path in fresh}
    if any(swap_unit(path) not in fresh_units for path in removed):
        return None  # a stray file elsewhere: the full render decides (and refuses hand-written ones)
    return _Plan(fresh, TreeStatus(changed=changed_paths, added=added, removed=removed), cache)


def _render_changed(
    root: Path, names: list[str], inputs: dict[str, str]
) -> dict[str, tuple[dict[str, str], dict[str, object], dict[str, str]]] | None:
    """Each changed model's own files and facts, rendered from a workspace holding only those models."""
    import json

    from mlgitops.gitops.rendercache.facts import model_facts
    from mlgitops.language.loader import load_workspace
    from mlgitops.layout.overlay import base_files, model_overlay_files
    from mlgitops.render.pipeline import render_models

    workspace = load_workspace(root, only_models=names)
    if sorted(model.name for model in workspace.models) != names:
        return None
    for model in workspace.models:  # the bytes loaded are the bytes hashed (no edit in between)
        if store.content_hash((root / model.path).read_bytes()) != inputs[model.name]:
            return None
    by_name = {model.name: model for model in workspace.models}
    out: dict[str, tuple[dict[str, str], dict[str, object], dict[str, str]]] = {}
    for item in render_models(workspace):
        files = base_files(item)
        for env in workspace.project.environment_names:
            files.update(model_overlay_files(workspace, env, item))
        facts = json.loads(json.dumps(model_facts(workspace, by_name[item.name], item)))
        out[item.name] = (files, facts, model_reads(workspace, by_name[item.name]))
    return out
