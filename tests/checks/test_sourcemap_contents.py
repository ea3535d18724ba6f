"""The source map (mlgitops.checks.sourcemap) with the container contents and serving fields of issue 16 present: every
rendered field maps to an existing spec field, and the new ones to the field a person edits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.sourcemap.common import parse_pointer
from mlgitops.checks.sourcemap.dispatch import spec_source
from mlgitops.language.loader import load_workspace
from mlgitops.language.resolve import resolve
from mlgitops.render.model import render_model
from mlgitops.util.jsonpointer import get_path
from tests.checks.test_sourcemap import fields_with_an_existing_source
from tests.conftest import copy_example
from tests.render.test_container_contents import MODEL as CONTENTS
from tests.render.test_serving_fields import MODELS as SERVING


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("sourcemap") / "repo")
    (root / "models/contents.yaml").write_text(CONTENTS.replace("ENGINE", "kserve"))
    deployment = CONTENTS.replace("ENGINE", "deployment").replace("name: contents", "name: contents-dep")
    dev_min_1 = "environments:\n  dev: {serving: {replicas: {min: 1}}}\n"
    (root / "models/contents-dep.yaml").write_text(deployment + dev_min_1)
    for name, text in SERVING.items():
        (root / f"models/{name}.yaml").write_text(text)
    return root


def _rendered(repo: Path, model_name: str, env: str = "prod") -> tuple[list[dict[str, Any]], Any, Any]:
    workspace = load_workspace(repo)
    model = next(m for m in workspace.models if m.name == model_name)
    resolved = resolve(workspace, model, env)
    assert resolved is not None
    return render_model(resolved, workspace.project), resolved.spec, workspace.project


def test_every_new_field_maps_to_an_existing_source(repo: Path) -> None:
    assert fields_with_an_existing_source(repo) > 500


def _source(objects: list[dict[str, Any]], kind: str, pointer: str, spec: Any, project: Any) -> tuple[Any, ...]:
    obj = next(o for o in objects if o["kind"] == kind)
    return spec_source(obj, parse_pointer(obj, pointer), spec, project, "prod").path


def _index(entries: list[dict[str, Any]], name: str) -> int:
    return next(i for i, entry in enumerate(entries) if entry["name"] == name)


def test_contents_map_to_the_field_a_person_edits(repo: Path) -> None:
    objects, spec, project = _rendered(repo, "contents")
    isvc = next(o for o in objects if o["kind"] == "InferenceService")
    model = isvc["spec"]["predictor"]["model"]
    env_at = _index(model["env"], "HF_TOKEN")
    src = _source(objects, "InferenceService", f"/spec/predictor/model/env/{env_at}/valueFrom", spec, project)
    assert src == ("serving", "env", "HF_TOKEN")
    assert _source(objects, "InferenceService", "/spec/predictor/model/envFrom/1", spec, project) == (
        "serving",
        "envFrom",
        1,
    )
    volume_at = _index(isvc["spec"]["predictor"]["volumes"], "certs")
    assert _source(objects, "InferenceService", f"/spec/predictor/volumes/{volume_at}", spec, project) == (
        "serving",
        "volumes",
        1,
    )
    mount_at = _index(model["volumeMounts"], "certs")
    src = _source(objects, "InferenceService", f"/spec/predictor/model/volumeMounts/{mount_at}/readOnly", spec, project)
    assert src == ("serving", "volumes", 1)
    assert _source(objects, "InferenceService", "/spec/predictor/model/args/0", spec, project) == ("serving", "args", 0)
    template = next(o for o in objects if o["kind"] == "WorkflowTemplate")
    step = next(i for i, t in enumerate(template["spec"]["templates"]) if t["name"] == "train")
    container = template["spec"]["templates"][step]["container"]
    env_at = _index(container["env"], "WANDB_API_KEY")
    src = _source(objects, "WorkflowTemplate", f"/spec/templates/{step}/container/env/{env_at}", spec, project)
    assert src == ("training", "steps", 0, "env", "WANDB_API_KEY")
    src = _source(objects, "WorkflowTemplate", f"/spec/templates/{step}/container/envFrom/0", spec, project)
    assert src == ("training", "steps", 0, "envFrom", 0)
    volumes = template["spec"]["templates"][step]["volumes"]
    pointer = f"/spec/templates/{step}/volumes/{_index(volumes, 'data')}"
    src = _source(objects, "WorkflowTemplate", pointer, spec, project)
    assert src == ("training", "steps", 0, "volumes", 0)


def test_deployment_engine_args_and_env(repo: Path) -> None:
    objects, spec, project = _rendered(repo, "contents-dep")
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    last = len(container["args"]) - 1
    pointer = f"/spec/template/spec/containers/0/args/{last}"
    assert _source(objects, "Deployment", pointer, spec, project) == ("serving", "args", 0)
    pointer = f"/spec/template/spec/containers/0/env/{_index(container['env'], 'LOG_LEVEL')}"
    assert _source(objects, "Deployment", pointer, spec, project) == ("serving", "env", "LOG_LEVEL")


def test_serving_fields_map(repo: Path) -> None:
    objects, spec, project = _rendered(repo, "llm")
    expected = {
        "/spec/predictor/timeout": ("serving", "timeout"),
        "/spec/predictor/logger/mode": ("serving", "logger", "mode"),
        "/spec/predictor/autoScaling/metrics/0/external/metric/query": ("serving", "autoscaling"),
        "/spec/predictor/autoScaling/metrics/0/external/authenticationRef/authenticationRef/name": (
            "serving",
            "autoscaling",
            "authentication",
            "name",
        ),
        "/spec/predictor/autoScaling/metrics/0/external/authenticationRef/authModes": (
            "serving",
            "autoscaling",
            "authentication",
            "modes",
        ),
        "/spec/predictor/model/runtimeVersion": ("serving", "runtimeVersion"),
        "/metadata/annotations/serving.kserve.io~1autoscalerClass": ("serving", "autoscaling", "metric"),
    }
    for pointer, source in expected.items():
        assert _source(objects, "InferenceService", pointer, spec, project) == source, pointer
    # containerConcurrency and the transformer live on the Knative model of the fixtures (test_serving_fields.py)
    objects, spec, project = _rendered(repo, "edge")
    isvc = next(o for o in objects if o["kind"] == "InferenceService")
    transformer_env = isvc["spec"]["transformer"]["containers"][0]["env"]
    expected = {
        "/spec/predictor/containerConcurrency": ("serving", "containerConcurrency"),
        "/spec/transformer/containers/0/image": ("serving", "transformer", "image"),
        f"/spec/transformer/containers/0/env/{_index(transformer_env, 'LOG_LEVEL')}": (
            "serving",
            "transformer",
            "env",
            "LOG_LEVEL",
        ),
    }
    for pointer, source in expected.items():
        assert get_path(isvc, parse_pointer(isvc, pointer)) is not None, pointer  # the field is rendered
        assert _source(objects, "InferenceService", pointer, spec, project) == source, pointer
    objects, spec, project = _rendered(repo, "custom")
    isvc = next(o for o in objects if o["kind"] == "InferenceService")
    env = isvc["spec"]["predictor"]["containers"][0]["env"]
    pointer = f"/spec/predictor/containers/0/env/{_index(env, 'STORAGE_URI')}"
    assert _source(objects, "InferenceService", pointer, spec, project) == ("model", "storageUri")
    assert _source(objects, "InferenceService", "/spec/predictor/containers/0/image", spec, project) == (
        "serving",
        "image",
    )
