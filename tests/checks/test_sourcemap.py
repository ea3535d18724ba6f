"""Every field of every rendered object maps back to a spec field that exists (or to mlgitops.yaml)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.sourcemap.common import parse_pointer
from mlgitops.checks.sourcemap.dispatch import spec_source
from mlgitops.language.loader import load_workspace
from mlgitops.language.resolve import resolve
from mlgitops.render.model import render_model
from mlgitops.util.jsonpointer import to_pointer
from tests.conftest import copy_example
from tests.render.test_render import _generated_repo

_MISSING = object()


def _leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    """The value at `path`; an unset optional block on the way (None) counts as found: the renderer used
    that block's defaults, and locating the finding walks up to the block."""
    node = data
    for part in path:
        if node is None:
            return None
        if isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


@pytest.fixture(params=["example", "generated"])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "example":
        return copy_example(tmp_path / "example")
    return _generated_repo(tmp_path / "generated")


def test_every_rendered_field_has_an_existing_source(repo: Path) -> None:
    assert fields_with_an_existing_source(repo) > 200


def fields_with_an_existing_source(repo: Path) -> int:
    """Map every rendered field of every model in every environment to its spec or project field, assert
    that field exists, and return how many were checked."""
    workspace = load_workspace(repo)
    project = workspace.project
    project_data = project.model_dump(by_alias=True)
    checked = 0
    for model in workspace.models:
        for env in project.environment_names:
            resolved = resolve(workspace, model, env)
            if resolved is None:
                continue
            spec_data = resolved.spec.model_dump(by_alias=True)
            for obj in render_model(resolved, project):
                for path in _leaves(obj):
                    if path[:1] in (("apiVersion",), ("kind",)):
                        continue
                    source = spec_source(obj, path, resolved.spec, project, env)
                    data = project_data if source.in_project else spec_data
                    assert source.path, (obj["kind"], to_pointer(path))
                    where = (model.name, env, obj["kind"], to_pointer(path), source)
                    assert _lookup(data, source.path) is not _MISSING, where
                    checked += 1
    return checked


def test_specific_fields_map_to_the_field_a_person_edits(tmp_path: Path) -> None:
    workspace = load_workspace(copy_example(tmp_path / "r"))
    project = workspace.project
    model = workspace.model("fraud-detector")
    resolved = resolve(workspace, model, "staging")
    assert resolved is not None
    objects = {o["kind"]: o for o in render_model(resolved, project)}
    isvc = objects["InferenceService"]
    trains = resolve(workspace, model, "prod")  # the example trains in prod only (training_envs.py)
    assert trains is not None
    template = next(o for o in render_model(trains, project) if o["kind"] == "WorkflowTemplate")
    prod_isvc = next(o for o in render_model(trains, project) if o["kind"] == "InferenceService")

    def source(obj: dict[str, Any], pointer: str) -> tuple[tuple[str | int, ...], bool]:
        where = trains if obj is template or obj is prod_isvc else resolved
        assert where.environment is not None
        found = spec_source(obj, parse_pointer(obj, pointer), where.spec, project, where.environment)
        return found.path, found.in_project

    assert source(isvc, "/spec/predictor/minReplicas") == (("serving", "replicas", "min"), False)
    # staging's canary runs in Knative mode: the predictor serves the canary's storageUri, the revisions split.
    assert source(isvc, "/spec/predictor/model/storageUri") == (("serving", "canary", "storageUri"), False)
    assert source(isvc, "/spec/predictor/canaryTrafficPercent") == (("serving", "canary", "trafficPercent"), False)
    assert source(prod_isvc, "/spec/predictor/model/storageUri") == (("model", "storageUri"), False)
    assert source(isvc, "/metadata/annotations/mlgitops.io~1owner") == (("metadata", "owner"), False)
    assert source(isvc, "/metadata/namespace") == (("environments", 1, "namespace"), True)
    train = next(i for i, t in enumerate(template["spec"]["templates"]) if t["name"] == "train")
    assert source(template, f"/spec/templates/{train}/timeout") == (("training", "steps", 1, "timeout"), False)
    assert source(template, f"/spec/templates/{train}/retryStrategy/limit") == (
        ("training", "steps", 1, "retries"),
        False,
    )
