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


def _from_memory(prepared: Prepared, extra_labels: Mapping[str, str]) -> str | None:
    objects = environment_objects(
        prepared.workspace, prepared.env, prepared.renders, with_namespace=prepared.model is None
    )
    entries: list[tuple[tuple[int, str, str], str | None, dict[str, Any] | None]] = [
        (kustomize_stream.sort_key(obj), None, _labelled(obj, extra_labels)) for obj in objects
    ]
    if prepared.with_platform:
        platform = _platform_documents(prepared, extra_labels)
        if platform is None:
            return None
        keys = {key for key, _, _ in entries}
        for key, text in platform:
            if key in keys:
                return None  # Kustomize reports the clash; let it
            entries.append((key, text, None))
    entries.sort(key=lambda entry: entry[0])
    parts: list[str] = []
    for _key, platform_text, obj in entries:
        if platform_text is not None:
            parts.append(platform_text)
            continue
        try:
            parts.append(kustomize_stream.document(obj))
        except kustomize_stream.UnsupportedValueError:
            return None
    return "---\n".join(parts)


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
    prepared: Prepared, extra_labels: Mapping[str, str]
) -> list[tuple[tuple[int, str, str], str]] | None:
    """base/platform built alone with the overlay's namespace and labels: (sort key, document text)."""
    root = prepared.workspace.root
    check_platform(root)  # confined and well-formed before anything reads it
    if _platform_renames(root):
        return None
    namespace = prepared.workspace.project.environment(prepared.env).namespace
    labels = [{"pairs": {ENVIRONMENT_LABEL: prepared.env}, "includeSelectors": False}]
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
    documents: list[tuple[tuple[int, str, str], str]] = []
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
