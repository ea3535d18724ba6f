"""The real Argo Workflows v4.0.5 controller, running with the rights of its stock ServiceAccount on the
local control plane, starts a Workflow from every WorkflowTemplate and CronWorkflow that the bundled
example and the corpus render: the controller's own validation (templates, parameters, expressions,
artifacts) accepts them. No kubelet runs, so the step pods stay Pending and a started Workflow stays
Running; a Workflow the controller refuses fails at once with its reason."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from conftest import copy_example, kustomize_objects, run_cli
from tests.language.test_corpus import REACHABLE, render_case

_RUN = f"{os.getpid() % 100000}"
TRAINING_KINDS = ("WorkflowTemplate", "CronWorkflow")


def _workflow_from(obj: dict[str, Any]) -> dict[str, Any]:
    """The Workflow Argo makes of OBJ: a reference to a WorkflowTemplate, or a CronWorkflow's spec."""
    metadata = {"generateName": f"{obj['metadata']['name']}-", "namespace": obj["metadata"]["namespace"]}
    if obj["kind"] == "WorkflowTemplate":
        spec: dict[str, Any] = {"workflowTemplateRef": {"name": obj["metadata"]["name"]}}
    else:
        spec = obj["spec"]["workflowSpec"]
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": metadata, "spec": spec}


def started(cluster: Any, objects: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Apply OBJECTS for real, submit a Workflow from each training object, and return each one's
    (phase, message) once the controller has acted on it."""
    assert [str(r) for r in cluster.refusals(objects, dry_run=False)] == []
    workflows = cluster.resource("argoproj.io/v1alpha1", "Workflow")
    submitted = {}
    for obj in objects:
        if obj["kind"] in TRAINING_KINDS:
            created = workflows.create(body=_workflow_from(obj), namespace=obj["metadata"]["namespace"])
            submitted[f"{obj['kind']}/{obj['metadata']['name']}"] = (
                created.metadata.name,
                obj["metadata"]["namespace"],
            )
    assert submitted

    def phases() -> dict[str, tuple[str, str]] | None:
        seen = {}
        for key, (name, namespace) in submitted.items():
            status = (cluster.get("argoproj.io/v1alpha1", "Workflow", name, namespace) or {}).get("status") or {}
            if not status.get("phase"):
                return None
            seen[key] = (status["phase"], status.get("message", ""))
        return seen

    result: dict[str, tuple[str, str]] = cluster.wait_for("the workflow controller", phases, timeout=120)
    return result


def test_the_example_trains_on_the_real_controller(cluster: Any, tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    namespace = f"a{_RUN}-prod"
    project = (root / "mlgitops.yaml").read_text().replace("namespace: ml-prod", f"namespace: {namespace}")
    (root / "mlgitops.yaml").write_text(project)
    assert run_cli(["render"], cwd=root).exit_code == 0
    result = started(cluster, kustomize_objects(root / "overlays" / "prod"))
    assert {key: phase for key, (phase, _) in result.items()} == {key: "Running" for key in result}, result


@pytest.mark.parametrize(
    "case",
    [c for c in REACHABLE if "training" in c.spec],
    ids=[c.name for c in REACHABLE if "training" in c.spec],
)
def test_every_corpus_workflow_starts(cluster: Any, tmp_path: Path, case: Any) -> None:
    namespace = f"a{_RUN}-{case.name}"[:63].rstrip("-")
    objects = list(render_case(case, tmp_path).values())
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
    result = started(cluster, objects)
    assert {key: phase for key, (phase, _) in result.items()} == {key: "Running" for key in result}, result


def test_the_controller_refuses_what_it_cannot_run(cluster: Any) -> None:
    """A negative control: a Workflow whose entrypoint names no template fails at once with the
    controller's reason, so the Running phases above are the controller's verdict."""
    namespace = f"a{_RUN}-control"
    cluster.ensure_namespace(namespace)
    broken = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "broken-", "namespace": namespace},
        "spec": {"entrypoint": "nowhere", "templates": [{"name": "main", "container": {"image": "busybox"}}]},
    }
    created = cluster.resource("argoproj.io/v1alpha1", "Workflow").create(body=broken, namespace=namespace)

    def phase() -> tuple[str, str] | None:
        status = cluster.get("argoproj.io/v1alpha1", "Workflow", created.metadata.name, namespace).get("status") or {}
        return (status["phase"], status.get("message", "")) if status.get("phase") else None

    state, message = cluster.wait_for("the workflow controller", phase, timeout=120)
    assert state in ("Error", "Failed")
    assert "nowhere" in message


def test_validate_refuses_an_executor_without_a_token(tmp_path: Path) -> None:
    """What the real controller showed (hello-world-wf without its executor ServiceAccount errored every
    pod) is refused by `validate` at the spec, on any machine."""
    root = copy_example(tmp_path / "repo")
    model = root / "models" / "fraud-detector.yaml"
    model.write_text(
        model.read_text()
        + "patches:\n- target: {kind: WorkflowTemplate}\n  ops:\n"
        + "  - {op: add, path: /spec/automountServiceAccountToken, value: false}\n"
    )
    assert run_cli(["render"], cwd=root).exit_code == 0
    result = run_cli(["validate"], cwd=root)
    assert result.exit_code == 1
    assert "[argo-executor-token]" in result.stdout
    assert "models/fraud-detector.yaml:" in result.stdout
