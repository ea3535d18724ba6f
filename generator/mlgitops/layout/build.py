"""`mlgitops build` and `cmp generate`: an environment's final manifests, as Argo CD applies them.

The stream is what `kubectl kustomize` prints for the rendered overlay (`overlays/<env>`, or one
model's part of it), byte for byte. It is written from the in-memory render (kustomize_stream.py):
the generated overlay is an exact encoding of those objects (tests/render/test_render.py proves it with the
real Kustomize), so Kustomize is not run at sync time for the generated part. Hand-written
`base/platform/` is built on its own by the real Kustomize (confined first, platform_tree.py), with
the overlay's namespace and labels, and merged in Kustomize's order. The real Kustomize builds the
whole overlay instead when the stream cannot be reproduced exactly: text outside what
kustomize_stream.py writes, a platform tree that renames objects (name prefixes or suffixes,
generated ConfigMaps or Secrets, replacements: the overlay would rewrite references to them in
model objects), or a platform object with a model object's identity (Kustomize refuses that).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgitops.language.loader import Workspace, unknown_environment
from mlgitops.layout import kustomize_stream
from mlgitops.layout.overlay import base_files, environment_objects, overlay_files
from mlgitops.layout.platform_tree import KUSTOMIZATION_NAMES, check_platform
from mlgitops.layout.platform_tree import copy_platform as copy_platform  # re-exported for diff
from mlgitops.render.pipeline import ModelRender, check_not_empty, render_models
from mlgitops.util.errors import UsageError
from mlgitops.util.kubenames import ENVIRONMENT_LABEL
from mlgitops.util.paths import PLATFORM_DIR
from mlgitops.util.samefile import same_file
from mlgitops.util.yamlio import dump, load_plain

EXTRA_LABELS_DIR = "extra-labels"  # beside overlays/ and base/ in the scratch tree
PLATFORM_BUILD_DIR = "platform-build"  # the platform alone, with the overlay's namespace and labels
# Platform kustomization fields that rename objects (the overlay then rewrites references to them in
# model objects) or edit fields across objects: with these the whole overlay goes through Kustomize.
_CROSS_OBJECT_FIELDS = (
    "namePrefix",
    "nameSuffix",
    "configMapGenerator",
    "secretGenerator",
    "replacements",
    "vars",
    "components",
)


def check_environment(workspace: Workspace, env: str) -> None:
    names = workspace.project.environment_names
    if env not in names:
        raise UsageError(unknown_environment(env, names))


@dataclass
class Prepared:
    """One render of what a build of `env` (or one model in it) deploys; files are made on demand."""

    workspace: Workspace
    env: str
    model: str | None
    renders: list[ModelRender]
    with_platform: bool
    _files: dict[str, str] | None = field(default=None, repr=False)

    @property
    def files(self) -> dict[str, str]:
        """The generated files the build reads (base/models/<m>/ and overlays/<env>/)."""
        if self._files is None:
            files: dict[str, str] = {}
            for item in self.renders:
                if item.environments.get(self.env) is not None:
                    files.update(base_files(item))
            files.update(
                overlay_files(
                    self.workspace,
                    self.env,
                    self.renders,
                    include_platform=self.with_platform,
                    with_namespace=self.model is None,
                )
            )
            self._files = files
        return self._files

    def forget_files(self) -> None:
        """Drop the files' text once they are checked (they are made again if the real Kustomize is needed)."""
        self._files = None


def prepare(workspace: Workspace, env: str, model: str | None = None) -> Prepared:
    """Render the models a build of `env` needs, once (the committed-file check reuses it)."""
    check_environment(workspace, env)
    names = [workspace.model(model).name] if model else None
    renders = render_models(workspace, names, [env])
    if model and renders[0].environments.get(env) is None:
        raise UsageError(f"model {model!r} is disabled in environment {env!r} (environments.{env}.enabled: false)")
    if model is None:
        check_not_empty(workspace, renders, [env])
    with_platform = model is None and (workspace.root / PLATFORM_DIR).is_dir()
    return Prepared(workspace, env, model, renders, with_platform)


def build_files(workspace: Workspace, env: str, model: str | None = None) -> tuple[dict[str, str], bool]:
    """The files a build of `env` needs, and whether base/platform is included."""
    prepared = prepare(workspace, env, model)
    return prepared.files, prepared.with_platform


def build(
    workspace: Workspace, env: str, model: str | None = None, *, extra_labels: Mapping[str, str] | None = None
) -> str:
    """The manifest stream of `env` (one model's objects only, with `model`).

    `extra_labels` (the Argo CD plugin's `extra-labels`) go on every object's metadata.labels, as a
    Kustomization wrapping the overlay would put them, so the stream is otherwise the overlay's own.
    """
    return build_prepared(prepare(workspace, env, model), extra_labels=extra_labels)


def build_prepared(prepared: Prepared, *, extra_labels: Mapping[str, str] | None = None) -> str:
    """The stream of a prepared build: from memory when exact, else from the real Kustomize."""
    if os.environ.get("MLGITOPS_BUILD_WITH_KUSTOMIZE") != "1":
        text = _from_memory(prepared, extra_labels or {})
        if text is not None:
            return text
    return _with_kustomize(prepared, extra_labels or {})


def _labelled(obj: dict[str, Any], extra_labels: Mapping[str, str]) -> dict[str, Any]:
    if not extra_labels:
        return obj
    metadata = {**obj["metadata"], "labels": {**(obj["metadata"].get("labels") or {}), **extra_labels}}
    return {**obj, "metadata": metadata}


SortKey = tuple[int, str, str]


def stream_documents(
    objects: list[dict[str, Any]], extra_labels: Mapping[str, str]
) -> list[tuple[SortKey, str]] | None:
    """Each object's document as Kustomize prints it, with its place in Kustomize's order; None when one is
    outside what kustomize_stream.py reproduces."""
    try:
        return [
            (kustomize_stream.sort_key(obj), kustomize_stream.document(_labelled(obj, extra_labels))) for obj in objects
        ]
    except kustomize_stream.UnsupportedValueError:
        return None


def _from_memory(prepared: Prepared, extra_labels: Mapping[str, str]) -> str | None:
    objects = environment_objects(
        prepared.workspace, prepared.env, prepared.renders, with_namespace=prepared.model is None
    )
    documents = stream_documents(objects, extra_labels)
    if documents is None:
        return None
    return environment_stream(prepared.workspace, prepared.env, documents, prepared.with_platform, extra_labels)


def environment_stream(
    workspace: Workspace,
    env: str,
    documents: list[tuple[SortKey, str]],
    with_platform: bool,
    extra_labels: Mapping[str, str],
) -> str | None:
    """The generated objects' documents and base/platform's, in Kustomize's order; None when only the real
    Kustomize can build it (see the module docstring)."""
    entries = list(documents)
    if with_platform:
        platform = _platform_documents(workspace, env, extra_labels)
        if platform is None:
            return None
        keys = {key for key, _ in entries}
        if any(key in keys for key, _ in platform):
            return None  # Kustomize reports the clash; let it
        entries += platform
    entries.sort(key=lambda entry: entry[0])
    return "---\n".join(text for _key, text in entries)


@dataclass
class BuiltShare:
    """Some models of an environment built by a worker (`build_share`) for `cmp generate`."""

    outlines: list[ModelRender]  # pipeline.outline of each render
    files: list[str]  # the generated files of these models the build reads
    stale: list[str]  # those that differ from the committed ones (when compared)
    documents: list[tuple[SortKey, str]] | None  # None: not reproducible in memory


def build_share(root: Path, env: str, names: list[str], extra_labels: Mapping[str, str], compare: bool) -> BuiltShare:
    """Load, render and build these models in `env`: their outlines, their generated files (compared with the
    committed ones when `compare`) and their documents of the stream. The environment-wide rest (its
    kustomization.yaml, the Namespace, base/platform) is the caller's."""
    from mlgitops.language.loader import load_workspace
    from mlgitops.layout.overlay import model_overlay_files
    from mlgitops.render.pipeline import outline, plan_render, render_one

    workspace = load_workspace(root, only_models=names)
    if [model.name for model in workspace.models] != names:
        raise LookupError("the models changed while building")
    gc.freeze()  # the specs live until the worker ends: the collector need not walk them (cli.command)
    plan = plan_render(workspace, names, [env])
    share = BuiltShare([], [], [], [])
    for model in plan.chosen:
        item = render_one(plan, model)
        share.outlines.append(outline(item))
        if item.environments.get(env) is None:
            continue
        files = {**base_files(item), **model_overlay_files(workspace, env, item)}
        share.files += files
        if compare:
            share.stale += [path for path, text in files.items() if not same_file(root / path, text)]
        documents = stream_documents(environment_objects(workspace, env, [item], with_namespace=False), extra_labels)
        if documents is None or share.documents is None:
            share.documents = None
        else:
            share.documents += documents
    return share


def _platform_renames(root: Path) -> bool:
    """Whether a kustomization under base/platform uses a field in _CROSS_OBJECT_FIELDS."""
    for dirpath, _dirnames, filenames in os.walk(root / PLATFORM_DIR, followlinks=True):
        for name in filenames:
            if name in KUSTOMIZATION_NAMES:
                docs = load_plain((Path(dirpath) / name).read_text(encoding="utf-8"))
                data = docs[0] if docs and isinstance(docs[0], dict) else {}
                if any(key in data for key in _CROSS_OBJECT_FIELDS):
                    return True
    return False


def _platform_documents(
    workspace: Workspace, env: str, extra_labels: Mapping[str, str]
) -> list[tuple[SortKey, str]] | None:
    """base/platform built alone with the overlay's namespace and labels: (sort key, document text)."""
    root = workspace.root
    check_platform(root)  # confined and well-formed before anything reads it
    if _platform_renames(root):
        return None
    namespace = workspace.project.environment(env).namespace
    labels = [{"pairs": {ENVIRONMENT_LABEL: env}, "includeSelectors": False}]
    if extra_labels:
        labels.append({"pairs": dict(extra_labels), "includeSelectors": False})
    wrapper = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        "labels": labels,
        "resources": [f"../{PLATFORM_DIR}"],
    }
    import tempfile

    from mlgitops.layout import kustomize

    with tempfile.TemporaryDirectory(prefix="mlgitops-build-") as tmp:
        scratch = Path(tmp)
        copy_platform(root, scratch)  # checks the confinement first
        (scratch / PLATFORM_BUILD_DIR).mkdir()
        (scratch / PLATFORM_BUILD_DIR / "kustomization.yaml").write_text(dump(wrapper), encoding="utf-8")
        text = kustomize.build(scratch / PLATFORM_BUILD_DIR)
    documents: list[tuple[SortKey, str]] = []
    for chunk in _split_stream(text):
        docs = load_plain(chunk)
        if len(docs) != 1 or not isinstance(docs[0], dict):
            return None
        documents.append((kustomize_stream.sort_key(docs[0]), chunk))
    return documents


def _split_stream(text: str) -> list[str]:
    """Kustomize's documents: it writes `---` lines only between them (go-yaml indents everything else)."""
    if not text:
        return []
    chunks: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if line == "---\n":
            chunks.append("".join(current))
            current = []
        else:
            current.append(line)
    chunks.append("".join(current))
    return chunks


def _with_kustomize(prepared: Prepared, extra_labels: Mapping[str, str]) -> str:
    files = dict(prepared.files)
    env = prepared.env
    if extra_labels:
        files[f"{EXTRA_LABELS_DIR}/kustomization.yaml"] = dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [f"../overlays/{env}"],
                "labels": [{"pairs": dict(extra_labels), "includeSelectors": False}],
            }
        )
    import tempfile

    from mlgitops.layout import kustomize

    with tempfile.TemporaryDirectory(prefix="mlgitops-build-") as tmp:
        scratch = Path(tmp)
        for path, content in files.items():
            target = scratch / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        if prepared.with_platform:
            copy_platform(prepared.workspace.root, scratch)
        return kustomize.build(scratch / (EXTRA_LABELS_DIR if extra_labels else f"overlays/{env}"))
