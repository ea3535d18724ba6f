"""`mlgitops build`: an environment's final manifests, as Argo CD applies them.

The overlay for the chosen models is rendered in memory into a temporary directory and built by the
real Kustomize, so the output follows the specs even when the committed overlays are stale or absent
(in CI before `render`, or in the Argo CD sidecar). Hand-written `base/platform/` is copied along.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from mlgitops import kustomize
from mlgitops.errors import UsageError
from mlgitops.loader import Workspace, unknown_environment
from mlgitops.overlay import PLATFORM_DIR, base_files, check_not_empty, overlay_files, render_models
from mlgitops.platform_tree import copy_platform as copy_platform  # re-exported for diff
from mlgitops.yamlio import dump

EXTRA_LABELS_DIR = "extra-labels"  # beside overlays/ and base/ in the scratch tree


def check_environment(workspace: Workspace, env: str) -> None:
    names = workspace.project.environment_names
    if env not in names:
        raise UsageError(unknown_environment(env, names))


def build_files(workspace: Workspace, env: str, model: str | None = None) -> tuple[dict[str, str], bool]:
    """The files a build of `env` needs, and whether base/platform is included."""
    check_environment(workspace, env)
    names = [workspace.model(model).name] if model else None
    renders = render_models(workspace, names, [env])
    if model and renders[0].environments.get(env) is None:
        raise UsageError(f"model {model!r} is disabled in environment {env!r} (environments.{env}.enabled: false)")
    if model is None:
        check_not_empty(workspace, renders, [env])
    with_platform = model is None and (workspace.root / PLATFORM_DIR).is_dir()
    files: dict[str, str] = {}
    for item in renders:
        if item.environments.get(env) is not None:
            files.update(base_files(item))
    files.update(overlay_files(workspace, env, renders, include_platform=with_platform, with_namespace=model is None))
    return files, with_platform


def build(
    workspace: Workspace, env: str, model: str | None = None, *, extra_labels: Mapping[str, str] | None = None
) -> str:
    """The manifest stream of `env` (one model's objects only, with `model`).

    `extra_labels` (the Argo CD plugin's `extra-labels`) go on every object's metadata.labels, through
    a Kustomization wrapping the overlay, so the stream is otherwise the overlay's own.
    """
    files, with_platform = build_files(workspace, env, model)
    if extra_labels:
        files[f"{EXTRA_LABELS_DIR}/kustomization.yaml"] = dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [f"../overlays/{env}"],
                "labels": [{"pairs": dict(extra_labels), "includeSelectors": False}],
            }
        )
    with tempfile.TemporaryDirectory(prefix="mlgitops-build-") as tmp:
        scratch = Path(tmp)
        for path, content in files.items():
            target = scratch / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        if with_platform:
            copy_platform(workspace.root, scratch)
        return kustomize.build(scratch / (EXTRA_LABELS_DIR if extra_labels else f"overlays/{env}"))
