"""Which model owns a generated path, the one rule the render cache records files by and checks a
loaded cache against (rendercache/store.py `model_of`)."""

from __future__ import annotations

import pytest

from mlgitops.gitops.rendercache import store


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("base/models/fraud/kustomization.yaml", "fraud"),
        ("base/models/fraud/inferenceservice-fraud.yaml", "fraud"),
        ("overlays/prod/fraud/kustomization.yaml", "fraud"),
        ("overlays/prod/fraud/resources.yaml", "fraud"),
        ("overlays/prod/kustomization.yaml", None),  # the environment's list of model directories
        ("overlays/prod/namespace.yaml", None),
        ("overlays/_units/prod/shared/kustomization.yaml", None),  # deployment units are shared
        ("base/models/kustomization.yaml", None),
        ("plugins/argocd/plugin.yaml", None),
        ("base/platform/rbac/role.yaml", None),
    ],
)
def test_model_of(path: str, model: str | None) -> None:
    assert store.model_of(path) == model
