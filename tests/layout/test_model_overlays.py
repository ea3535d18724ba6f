"""The Kustomize-equality invariant per directory: every `overlays/<env>/<model>/` builds, with the
real Kustomize, to exactly that model's in-memory objects in that environment, and every environment
directory to the union of its models (plus the Namespace and base/platform)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from tests.conftest import kustomize_objects
from tests.render.test_render import _by_identity, invariant_repo


@pytest.fixture(params=["bundled-example", "generated"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return invariant_repo(request.param, tmp_path)


def test_every_model_directory_builds_to_its_in_memory_objects(project: Path) -> None:
    workspace = load_workspace(project)
    renders = render_models(workspace)
    built_dirs = 0
    for env in workspace.project.environment_names:
        listed = {p.name for p in (project / "overlays" / env).iterdir() if p.is_dir()}
        deployed = {item.name for item in renders if item.environments.get(env) is not None}
        assert listed == deployed, env  # one directory per model deployed there, none for opted-out models
        for item in renders:
            if item.name not in deployed:
                continue
            built = _by_identity(kustomize_objects(project / "overlays" / env / item.name))
            expected = _by_identity(environment_objects(workspace, env, [item], with_namespace=False))
            assert built == expected, (env, item.name)
            built_dirs += 1
    assert built_dirs >= len(renders)


def test_environment_directory_is_the_union_of_its_model_directories(project: Path) -> None:
    workspace = load_workspace(project)
    renders = render_models(workspace)
    env = workspace.project.environment_names[-1]
    whole = _by_identity(kustomize_objects(project / "overlays" / env))
    parts: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for item in renders:
        if item.environments.get(env) is not None:
            parts.update(_by_identity(kustomize_objects(project / "overlays" / env / item.name)))
    # what the environment adds: its Namespace and base/platform, never a model object twice or changed
    assert {k: v for k, v in whole.items() if k in parts} == parts
    environment_only = {"Namespace", "ServiceAccount", "ConfigMap", "Role", "RoleBinding"}
    assert {k[1] for k in set(whole) - set(parts)} <= environment_only
