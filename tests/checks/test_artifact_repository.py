"""`missing-reference` and the default artifact repository (issue 25): the `artifact-repositories` ConfigMap is
asked for only when an artifact has no complete location of its own (argo-workflows
`workflow/controller/workflowpod.go`, `addArchiveLocation`), and the finding points at that artifact: the
step's `outputs`, or the patch that wrote it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.references import references
from tests.conftest import finding_lines, run_cli
from tests.projects import model_yaml, project_yaml, write_project

Obj = dict[str, Any]
S3 = {"endpoint": "s3.amazonaws.com", "bucket": "ml", "key": "runs/model.tgz"}


def workflow(template: Obj, **spec: Any) -> Obj:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "w"},
        "spec": {"entrypoint": "t", **spec, "templates": [{"name": "t", "container": {"image": "x:1"}, **template}]},
    }


def repository_paths(obj: Obj) -> list[str]:
    return ["/".join(map(str, r.path)) for r in references(obj) if r.name == "artifact-repositories" and r.implicit]


@pytest.mark.parametrize(
    ("template", "spec", "expected"),
    [
        ({"outputs": {"artifacts": [{"name": "m", "path": "/m", "s3": S3}]}}, {}, []),
        ({"outputs": {"artifacts": [{"name": "m", "path": "/m", "s3": {"key": "k"}}]}}, {}, ["outputs/artifacts/0"]),
        ({"outputs": {"artifacts": [{"name": "m", "path": "/m"}]}}, {}, ["outputs/artifacts/0"]),
        ({"outputs": {"artifacts": [{"name": "m", "gcs": {"bucket": "b"}}]}}, {}, ["outputs/artifacts/0"]),
        ({"outputs": {"artifacts": [{"name": "m", "path": "/m", "gcs": {"bucket": "b", "key": "k"}}]}}, {}, []),
        ({"inputs": {"artifacts": [{"name": "d", "path": "/d", "http": {"url": "https://x.example/d"}}]}}, {}, []),
        ({"inputs": {"artifacts": [{"name": "d", "path": "/d", "git": {"repo": "https://x.example/r.git"}}]}}, {}, []),
        ({"inputs": {"artifacts": [{"name": "d", "path": "/d", "raw": {"data": "x"}}]}}, {}, []),
        ({"inputs": {"artifacts": [{"name": "d", "path": "/d", "s3": {"key": "k"}}]}}, {}, ["inputs/artifacts/0"]),
        ({"inputs": {"artifacts": [{"name": "d", "path": "/d"}]}}, {}, []),  # given by the caller
        (
            {"outputs": {"artifacts": [{"name": "m", "path": "/m"}]}, "archiveLocation": {"s3": S3}},
            {},
            [],
        ),
        ({}, {"archiveLogs": True}, ["archiveLogs"]),
        ({"archiveLocation": {"archiveLogs": True}}, {}, ["archiveLocation/archiveLogs"]),
    ],
)
def test_only_an_artifact_without_a_complete_location_needs_the_repository(
    template: Obj, spec: Obj, expected: list[str]
) -> None:
    obj = workflow(template, **spec)
    prefix = "spec/templates/0/" if expected and not expected[0].startswith("archiveLogs") else "spec/"
    assert repository_paths(obj) == [prefix + path for path in expected]
    with_ref = copy.deepcopy(obj)
    with_ref["spec"]["artifactRepositoryRef"] = {"configMap": "mine"}
    assert repository_paths(with_ref) == []


def test_a_task_argument_passed_from_an_output_needs_nothing_of_its_own() -> None:
    dag = {
        "dag": {
            "tasks": [
                {"name": "a", "template": "t", "arguments": {"artifacts": [{"name": "d", "from": "{{x}}"}]}},
                {"name": "b", "template": "t", "arguments": {"artifacts": [{"name": "d", "s3": {"key": "k"}}]}},
            ]
        }
    }
    assert repository_paths(workflow(dag)) == ["spec/templates/0/dag/tasks/1/arguments/artifacts/0"]
    key_only = {"artifacts": [{"name": "d", "s3": {"key": "k"}}]}
    steps = {"steps": [[{"name": "a", "template": "t", "arguments": key_only}]]}
    assert repository_paths(workflow(steps)) == ["spec/templates/0/steps/0/0/arguments/artifacts/0"]


# --- validate, end to end ------------------------------------------------------------------------

TRAINING = """\
training:
  image: ghcr.io/acme/train:1
  steps:
  - {name: a, command: [echo]}
"""
PATCH = """\
patches:
- target: {kind: WorkflowTemplate}
  ops:
  - {op: add, path: /spec/templates/1/outputs, value: {artifacts: [ARTIFACT]}}
"""


def missing_repository(tmp_path: Path, model: str, crds_dir: Path) -> list[str]:
    root = write_project(tmp_path / "repo", project_yaml("prod"), {"m": model})
    assert run_cli(["render"], cwd=root).exit_code == 0
    result = run_cli(["validate", "--crds", str(crds_dir), "--format", "json"], cwd=root)
    return [f for f in finding_lines(result.stdout) if "[missing-reference]" in f and "artifact-repositories" in f]


def test_a_patched_artifact_with_a_complete_location_needs_no_repository(tmp_path: Path, crds_dir: Path) -> None:
    artifact = "{name: model, path: /tmp/model, s3: {endpoint: s3.amazonaws.com, bucket: ml, key: m.tgz}}"
    model = model_yaml(body=TRAINING + PATCH.replace("ARTIFACT", artifact))
    assert missing_repository(tmp_path, model, crds_dir) == []


def test_the_finding_points_at_the_patch_that_wrote_the_artifact(tmp_path: Path, crds_dir: Path) -> None:
    model = model_yaml(body=TRAINING + PATCH.replace("ARTIFACT", "{name: model, path: /tmp/model}"))
    [finding] = missing_repository(tmp_path, model, crds_dir)
    row = next(i for i, line in enumerate(model.splitlines(), 1) if "op: add" in line)
    assert "/spec/templates/1/outputs/artifacts/0: ConfigMap 'artifact-repositories'" in finding
    assert finding.endswith(f"(models/m.yaml:{row}:5)"), finding


def test_the_finding_points_at_the_step_that_outputs_the_artifact(tmp_path: Path, crds_dir: Path) -> None:
    model = model_yaml(body=TRAINING + "  - {name: b, command: [echo], outputs: [model]}\n")
    [finding] = missing_repository(tmp_path, model, crds_dir)
    row = next(i for i, line in enumerate(model.splitlines(), 1) if "outputs: [model]" in line)
    column = model.splitlines()[row - 1].index("[model]") + 1  # the step's outputs, not training.steps
    assert "/spec/templates/2/outputs/artifacts/0" in finding
    assert finding.endswith(f"(models/m.yaml:{row}:{column})"), finding
