"""The core invariant: every overlay, built by the real Kustomize, equals the renderer's in-memory objects.
Plus: upstream CRD schemas accept every rendered custom resource, and output is byte-identical across
hash seeds, locales, time zones and working directories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.genrepo import generate
from mlgitops.checks.schemas.crd import load_crd_schemas
from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from tests.conftest import REPO, copy_example, kustomize_objects, object_identity, run_cli, snapshot_tree

VARIANTS = {
    # Training only in prod: its objects are overlay resources there, absent from the base.
    "prod-only-training.yaml": """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: prod-only-training, owner: team-a, labels: {tier: "1"}}
model: {format: sklearn, version: "2", storageUri: "s3://m/prod-only-training/2/model"}
serving: {replicas: {min: 1, max: 2}}
environments:
  dev: {enabled: false}
  prod:
    training:
      image: ghcr.io/acme/t@sha256:0000000000000000000000000000000000000000000000000000000000000001
      schedule: ["0 1 * * *", "0 13 * * *"]
      steps:
      - {name: fit, command: [python, -m, t.fit], outputs: [model]}
      - {name: check, after: [fit], command: [python, -m, t.check], inputs: [model], metrics: [f1]}
      gates: [{metric: f1, op: ">", value: 0.8}]
""",
    # Training dropped in staging (delete patches), serving swapped to engine: deployment in dev.
    "shape-shifter.yaml": """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: shape-shifter}
model: {format: lightgbm, version: "1.4.0", storageUri: "gs://m/shape-shifter/1.4.0/"}
serving:
  mode: Knative
  replicas: {min: 1, max: 5}
  autoscaling: {metric: rps, target: 50}
  canary: {version: "1.5.0", storageUri: "gs://m/shape-shifter/1.5.0/", trafficPercent: 25}
training:
  image: ghcr.io/acme/t:1.0
  schedule: "*/30 * * * *"
  steps:
  - {name: only, command: [sh, -c, "echo 'quoted: yes' && exit 0"], env: {FLAG: "on", N: "3"}}
environments:
  dev: {serving: {engine: deployment, mode: null, autoscaling: {metric: memory}, canary: null,
        replicas: {min: 1}}}
  staging: {training: null}
""",
}

PLATFORM = {
    "base/platform/kustomization.yaml": "resources: [serviceaccounts.yaml, artifact-repositories.yaml]\n",
    "base/platform/serviceaccounts.yaml": (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: model-reader}\n---\n"
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: trainer}\n"
    ),
    "base/platform/artifact-repositories.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: artifact-repositories}\n"
        "data: {default-v1: 's3: {bucket: ml-artifacts}'}\n"
    ),
}


def _generated_repo(root: Path) -> Path:
    generate(root, 6)
    for name, text in VARIANTS.items():
        (root / "models" / name).write_text(text)
    for path, text in PLATFORM.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def invariant_repo(kind: str, tmp_path: Path) -> Path:
    """The bundled example, or a rendered generated repository (`kind`: the fixture's parameter)."""
    if kind == "bundled-example":
        return copy_example(tmp_path / "example")
    repo = _generated_repo(tmp_path / "generated")
    assert run_cli(["render"], cwd=repo).exit_code == 0
    return repo


@pytest.fixture(params=["bundled-example", "generated"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return invariant_repo(request.param, tmp_path)


def _by_identity(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    result = {object_identity(o): o for o in objects}
    assert len(result) == len(objects), "duplicate objects"
    return result


def test_kustomize_build_of_every_overlay_equals_the_in_memory_objects(project: Path) -> None:
    workspace = load_workspace(project)
    renders = render_models(workspace)
    has_platform = (project / "base/platform").is_dir()
    platform_kinds = {"ServiceAccount", "ConfigMap", "Role", "RoleBinding"} if has_platform else set()
    for env in workspace.project.environment_names:
        built = _by_identity(kustomize_objects(project / "overlays" / env))
        expected = _by_identity(environment_objects(workspace, env, renders))
        # a model's dashboard is a ConfigMap too: platform objects are the ones no model rendered
        platform = {k: v for k, v in built.items() if k[1] in platform_kinds and k not in expected}
        assert {k: v for k, v in built.items() if k not in platform} == expected, env
        for obj in platform.values():  # hand-written resources get the environment's namespace and label
            assert obj["metadata"]["namespace"] == workspace.project.environment(env).namespace
            assert obj["metadata"]["labels"]["mlgitops.io/environment"] == env


def test_generated_repository_exercises_every_overlay_mechanism(tmp_path: Path) -> None:
    repo = _generated_repo(tmp_path / "g")
    assert run_cli(["render"], cwd=repo).exit_code == 0
    dev = (repo / "overlays/dev/kustomization.yaml").read_text()
    prod = (repo / "overlays/prod/kustomization.yaml").read_text()
    staging = (repo / "overlays/staging/kustomization.yaml").read_text()
    prod_only = (repo / "overlays/prod/prod-only-training/kustomization.yaml").read_text()
    shape_shifter = (repo / "overlays/staging/shape-shifter/kustomization.yaml").read_text()
    assert "- prod-only-training\n" not in dev and "- prod-only-training\n" in prod  # opted out of dev
    assert not (repo / "overlays/dev/prod-only-training").exists()
    assert "- resources.yaml\n" in prod_only  # env-only objects, one multi-document file
    prod_only_objects = (repo / "overlays/prod/prod-only-training/resources.yaml").read_text()
    assert "kind: WorkflowTemplate\n" in prod_only_objects and "\n---\n" in prod_only_objects
    assert "$patch: delete" in shape_shifter and "shape-shifter-train" in shape_shifter  # removed objects
    assert "- shape-shifter\n" in staging
    assert "../../base/platform" in prod
    names = {o[3] for o in map(object_identity, kustomize_objects(repo / "overlays/dev"))}
    assert "shape-shifter-predictor" in names and "prod-only-training" not in names


def test_rendered_custom_resources_validate_against_the_upstream_crds(project: Path, crds_dir: Path) -> None:
    schemas = load_crd_schemas(crds_dir)
    workspace = load_workspace(project)
    renders = render_models(workspace)
    checked = set()
    for env in workspace.project.environment_names:
        for obj in environment_objects(workspace, env, renders):
            if obj["apiVersion"].startswith(("serving.kserve.io/", "argoproj.io/")):
                assert schemas.has(obj["apiVersion"], obj["kind"])
                assert schemas.validate(obj) == [], (env, obj["kind"], obj["metadata"]["name"])
                checked.add(obj["kind"])
    for item in renders:
        for obj in item.base:
            if schemas.has(obj["apiVersion"], obj["kind"]):
                assert schemas.validate(obj) == []
    assert {"InferenceService", "WorkflowTemplate", "CronWorkflow"} <= checked


def _render_in_subprocess(repo: Path, cwd: Path, env_overrides: dict[str, str]) -> None:
    env = {**os.environ, **env_overrides}
    subprocess.run(
        [sys.executable, "-m", "mlgitops", "-C", str(repo), "render"], cwd=cwd, env=env, check=True, capture_output=True
    )


def test_output_is_byte_identical_across_hash_seeds_locales_time_zones_and_cwd(tmp_path: Path) -> None:
    first = _generated_repo(tmp_path / "one")
    second = _generated_repo(tmp_path / "two")
    _render_in_subprocess(first, first, {"PYTHONHASHSEED": "1", "TZ": "UTC", "LC_ALL": "C"})
    _render_in_subprocess(second, tmp_path, {"PYTHONHASHSEED": "4242", "TZ": "Asia/Kolkata", "LC_ALL": "C.UTF-8"})
    one, two = snapshot_tree(first), snapshot_tree(second)
    assert len(one) > 20
    assert one == two


def test_committed_example_is_up_to_date() -> None:
    result = run_cli(["render", "--check"], cwd=REPO)
    assert result.exit_code == 0, result.stdout + result.stderr
