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
2. Every other expected file is read and hashed against the record, unless its group's stamp shows it
   untouched since it was last found so (stamps.py); the changed models' files are compared byte for
   byte. A file that differs from its record (edited by hand, reverted by git, deleted) or a stray file
   outside the changed models' directories means a full render, which repairs it. Nothing is written
   from a record: the only files written are freshly rendered.
3. Otherwise the changed models' directories are swapped in with the usual journal (tree.write).

No cache, another key, an added or removed model, anything unusual in `models/`, or
`MLGITOPS_RENDER_CACHE=0`: the full render, which then records a new cache. `render --check` never
uses the cache (tree.render), so CI's check is the full comparison.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.gitops.rendercache import store
from mlgitops.gitops.rendercache.inputs import model_inputs, project_key, read_file, reads_unchanged
from mlgitops.gitops.rendercache.stamps import stamp
from mlgitops.layout.tree import TreeStatus, compare, locked, swap_unit, write

if TYPE_CHECKING:
    from mlgitops.gitops.generate import Generated

CACHE_SWITCH = "MLGITOPS_RENDER_CACHE"


@dataclass
class _Plan:
    files: dict[str, str]  # the changed models' files, freshly rendered
    status: TreeStatus
    cache: store.RenderCache
    restamped: bool  # a group's stamp was recorded or dropped: the cache is worth saving though nothing changed


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
            if (status.stale or plan.files or plan.restamped) and project_key(root) == key:
                store.save(root, plan.cache)
        status.recovered = note
        return status


def _full(root: Path, key: str) -> TreeStatus:
    from mlgitops.gitops.generate import generated_tree_at

    started = time.time_ns()
    inputs = model_inputs(root)
    generated = generated_tree_at(root)
    status = write(root, generated.files, compare(root, generated.files))
    unchanged = inputs is not None and inputs == model_inputs(root) and project_key(root) == key
    if unchanged and inputs is not None and set(inputs) == set(generated.facts):
        cache = record(key, inputs, generated)
        written = {*status.changed, *status.added}
        # The files left as they were were compared with the render after `started`: settled ones get a stamp.
        for entry in cache.models.values():
            entry.stamp = "" if written & entry.files.keys() else stamp(root, entry.files, started) or ""
        cache.shared_stamp = "" if written & cache.shared.keys() else stamp(root, cache.shared, started) or ""
        store.save(root, cache)
    else:
        store.forget(root)  # an input changed while rendering: record nothing
    return status


def record(key: str, inputs: dict[str, str], generated: Generated) -> store.RenderCache:
    """The cache entry of a full render: each model's files, facts and input hash; the rest is shared."""
    cache = store.RenderCache(key)
    hashes = {path: _hash_of(path, content, generated.hashes) for path, content in generated.files.items()}
    owner = _owners(hashes, list(generated.facts))  # a graph's files are shared: graphs/ is in the key
    for name, (facts, reads) in generated.facts.items():
        cache.models[name] = store.ModelEntry(input=inputs[name], files={}, facts=facts, reads=reads)
    for path, digest in hashes.items():
        owned_by = owner.get(path)
        if owned_by is None:
            cache.shared[path] = digest
        else:
            cache.models[owned_by].files[path] = digest
    return cache


def _hash_of(path: str, content: str | None, known: dict[str, str]) -> str:
    """A file's content hash: the one its worker computed, else of its text (always there without one)."""
    found = known.get(path)
    if found is not None:
        return found
    assert content is not None
    return store.content_hash(content.encode("utf-8"))


def _owners(paths: dict[str, str], names: list[str]) -> dict[str, str]:
    """Path → the model whose directory holds it, for the models in `names`."""
    known = set(names)
    return {path: name for path in paths if (name := store.model_of(path)) in known}


def _incremental(root: Path, key: str, existing: dict[str, str]) -> _Plan | None:
    """Steps 1-2 of the module docstring; None: do the full render."""
    started = time.time_ns()
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
            cache.models[name] = store.ModelEntry(inputs[name], {}, facts, reads)  # written now: no stamp
            for path, content in files.items():
                fresh[path] = content
                cache.models[name].files[path] = store.content_hash(content.encode("utf-8"))
    expected = dict(cache.shared)
    restamped = False
    for name, entry in cache.models.items():
        if name not in changed:
            expected.update(entry.files)
            now = _unchanged_stamp(root, entry.files, entry.stamp, existing, started)
            if now is None:
                return None
            restamped |= now != entry.stamp
            entry.stamp = now
    now = _unchanged_stamp(root, cache.shared, cache.shared_stamp, existing, started)
    if now is None:
        return None
    restamped |= now != cache.shared_stamp
    cache.shared_stamp = now
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
    return _Plan(fresh, TreeStatus(changed=changed_paths, added=added, removed=removed), cache, restamped)


def _unchanged_stamp(
    root: Path, files: dict[str, str], recorded: str, existing: dict[str, str], started: int
) -> str | None:
    """Whether a group of files still holds its recorded hashes: its stamp now ("" when not settled), or None
    when a file differs or is missing. A stamp equal to the recorded one vouches for the bytes unread."""
    if any(path not in existing for path in files):
        return None
    now = stamp(root, files, started) or ""
    if recorded and now == recorded:
        return now
    for path, digest in files.items():
        try:
            if store.content_hash(read_file(existing[path])) != digest:
                return None
        except OSError:
            return None
    return now


def _render_changed(
    root: Path, names: list[str], inputs: dict[str, str]
) -> dict[str, tuple[dict[str, str], dict[str, object], dict[str, str]]] | None:
    """Each changed model's own files and facts, rendered from a workspace holding only those models."""
    import json

    from mlgitops.gitops.generate import laid_out
    from mlgitops.language.loader import load_workspace

    workspace = load_workspace(root, only_models=names)
    if sorted(model.name for model in workspace.models) != names:
        return None
    for model in workspace.models:  # the bytes loaded are the bytes hashed (no edit in between)
        if store.content_hash((root / model.path).read_bytes()) != inputs[model.name]:
            return None
    generated = laid_out(workspace, workspace.models)
    files_of: dict[str, dict[str, str]] = {name: {} for name in names}
    for path, content in generated.files.items():
        assert content is not None  # laid out without comparing: every text is there
        files_of.setdefault(store.model_of(path) or "", {})[path] = content
    return {
        name: (files_of[name], json.loads(json.dumps(facts)), reads) for name, (facts, reads) in generated.facts.items()
    }
