"""Sharing equal parts to save memory (sharing.py, yamlio's shared tuples) changes no value anyone reads.

The environment renders share sub-objects with the base render and the resolved specs share blocks with
the file spec; each test compares against the same thing computed without sharing: equal values, equal
key order (the YAML writers keep it), equal types and equal `model_fields_set` at every level.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mlgitops.gitops.cmp import _has_objects
from mlgitops.language.loader import load_workspace
from mlgitops.language.model import Model
from mlgitops.language.resolve import _resolve, resolve
from mlgitops.render.addons import template_names
from mlgitops.render.model import render_model
from mlgitops.render.pipeline import model_addons, render_models
from mlgitops.util.sharing import share_same_input, shared
from mlgitops.util.yamlio import dump, parse_document
from tests.conftest import copy_example


def _ordered(value: Any) -> str:
    """Values, types and key order: json.dumps keeps the order and tells 1, 1.0 and true apart."""
    return json.dumps(value)


def test_shared_keeps_values_and_order_and_reuses_equal_parts() -> None:
    base = {"metadata": {"name": "m", "labels": {"a": "1"}}, "spec": {"replicas": 1, "list": [{"x": 1}, {"y": 2}]}}
    new = {"metadata": {"name": "m", "labels": {"a": "1"}}, "spec": {"replicas": 3, "list": [{"x": 1}, {"y": 2}]}}
    expected = copy.deepcopy(new)
    result = shared(new, base)
    assert _ordered(result) == _ordered(expected)
    assert result is new  # it differs (spec.replicas), so it stays its own object
    assert result["metadata"] is base["metadata"]
    assert result["spec"] is not base["spec"] and result["spec"]["list"] is base["spec"]["list"]
    assert shared(copy.deepcopy(base), base) is base


@pytest.mark.parametrize(
    ("new", "old"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # key order differs: the written YAML would differ
        ({"a": True}, {"a": 1}),
        ({"a": 1.0}, {"a": 1}),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}),
        ({"a": {"b": None}}, {"a": {}}),
    ],
)
def test_shared_never_swaps_in_a_part_that_differs(new: Any, old: Any) -> None:
    expected = _ordered(new)
    result = shared({"x": new}, {"x": old})
    assert _ordered(result) == _ordered({"x": new}) and result["x"] is new
    assert _ordered(shared(new, old)) == expected


def _fields_set(value: Any, path: str = "") -> dict[str, Any]:
    """Every nested model's written fields, by path."""
    out: dict[str, Any] = {}
    if isinstance(value, BaseModel):
        out[path] = sorted(value.model_fields_set)
        for name, item in value.__dict__.items():
            out.update(_fields_set(item, f"{path}.{name}"))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            out.update(_fields_set(item, f"{path}[{index}]"))
    elif isinstance(value, dict):
        for key, item in value.items():
            out.update(_fields_set(item, f"{path}.{key}"))
    return out


def test_share_same_input_shares_only_what_came_from_the_same_input() -> None:
    replicas = {"min": 1, "max": 4}
    source = {"format": "sklearn", "version": "1", "storageUri": "s3://b/m/1/model"}
    head = {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "m", "owner": "t"}}
    old_data = {**head, "model": source, "serving": {"replicas": replicas, "engine": "kserve"}}
    new_data = {**head, "model": source, "serving": {"replicas": {"min": 1, "max": 4}, "engine": "kserve"}}
    old, new = Model.model_validate(old_data), Model.model_validate(new_data)
    share_same_input(new, old, new_data, old_data)
    assert new.model is old.model and new.metadata is old.metadata  # the very same input objects
    assert new.policies is old.policies  # absent from both: equal defaults
    assert new.serving is not old.serving and new.serving is not None and old.serving is not None
    assert new.serving.replicas is not old.serving.replicas  # an equal copy is not the same input
    # written fields stay each spec's own: {max: 4} alone leaves `min` unwritten
    written = {**head, "model": source, "serving": {"replicas": {"max": 4}}}
    spec = Model.model_validate(written)
    share_same_input(spec, old, written, old_data)
    assert spec.serving is not None and spec.serving.replicas.model_fields_set == {"max"}


@pytest.fixture(scope="module")
def example_workspace(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load_workspace(copy_example(tmp_path_factory.mktemp("sharing")))


def test_resolved_specs_equal_a_fresh_validation(example_workspace: Any) -> None:
    workspace = example_workspace
    checked = 0
    for model in workspace.models:
        for env in workspace.project.environment_names:
            resolved = resolve(workspace, model, env)
            if resolved is None or resolved.spec is model.spec:
                continue
            data, layers = _resolve(workspace, model, env)
            fresh = Model.model_validate(data) if layers else model.spec  # as resolve.py does
            if resolved.spec.training is None and fresh.training is not None:
                fresh = fresh.model_copy(update={"training": None})  # trains elsewhere (resolve.py)
            assert resolved.spec.model_dump(mode="json") == fresh.model_dump(mode="json")
            assert _fields_set(resolved.spec) == _fields_set(fresh)
            checked += 1
    assert checked >= 3


def test_environment_renders_equal_unshared_renders(example_workspace: Any) -> None:
    workspace = example_workspace
    renders = render_models(workspace)
    resolved_all = {
        (model.name, env): resolve(workspace, model, env)
        for model in workspace.models
        for env in workspace.project.environment_names
    }
    addons = model_addons(workspace, resolved_all, template_names(workspace.root))  # the example's templates
    shared_parts = 0
    for item in renders:
        for env, objects in item.environments.items():
            resolved = resolved_all[(item.name, env)]
            if resolved is None or objects is None:
                assert resolved is None and objects is None
                continue
            fresh = render_model(resolved, workspace.project, addons.get((item.name, env), []))
            if len(fresh) != len(objects):  # environments the base serves as is add monitoring only
                continue
            assert [_ordered(o) for o in objects] == [_ordered(o) for o in fresh]
            assert dump(objects) == dump(fresh)
            base_ids = {id(obj["spec"]) for obj in item.base if "spec" in obj}
            shared_parts += sum(1 for obj in objects if "spec" in obj and id(obj["spec"]) in base_ids)
    assert shared_parts > 0  # the point of it: an environment holds the base's unchanged parts


def test_documents_sharing_tuples_keep_their_own_positions() -> None:
    one = parse_document("a:\n  b: 1\n  c: [x, y]\n", "models/one.yaml")
    two = parse_document("a:\n  c: [x, y]\n  b: 1\n", "models/two.yaml")
    assert (one.location(("a", "b")).line, one.location(("a", "c", 1)).line) == (2, 3)
    assert (two.location(("a", "b")).line, two.location(("a", "c", 1)).line) == (3, 2)
    assert str(two.location(("a", "c", 1))) == "models/two.yaml:2:10"


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ("", False),
        ("---\n# only a comment\n---\n{}\n", False),
        ("\n" * 1000 + "---\nnull\n---\napiVersion: v1\n", True),
        ("# comment\u2028kind: X\n", True),  # str.splitlines breaks there, as before
        ("apiVersion: v1", True),
    ],
)
def test_has_objects(stream: str, expected: bool) -> None:
    assert _has_objects(stream) is expected


def test_example_renders_unchanged(tmp_path: Path) -> None:
    """The committed example equals a render with sharing (render --check compares every byte)."""
    from mlgitops.gitops.generate import render

    root = copy_example(tmp_path)
    assert render(root, check=True).stale == []
