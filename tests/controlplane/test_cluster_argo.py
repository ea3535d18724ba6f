"""The real Argo Workflows v4.0.5 controller, running with the rights of its stock ServiceAccount on the
local control plane, starts a Workflow from every WorkflowTemplate and CronWorkflow that the bundled
example and the corpus render: the controller's own validation (templates, parameters, expressions,
artifacts) accepts them. No kubelet runs, so the step pods stay Pending and a started Workflow stays
Running; a Workflow the controller refuses fails at once with its reason."""

from __future__ import annotations

import os
import time
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
    for _ in range(3):
        # The controller reads templates from its informer: a Workflow submitted as its template is created can be
        # judged before the informer has it ("... not found" while the API server has it). Submit those again.
        lagged = [
            key
            for key, (phase, message) in result.items()
            if phase == "Error"
            and message.endswith("not found")
            and cluster.get("argoproj.io/v1alpha1", key.partition("/")[0], key.partition("/")[2], submitted[key][1])
        ]
        if not lagged:
            break
        time.sleep(2)
        for key in lagged:
            name, namespace = submitted[key]
            source = next(o for o in objects if f"{o['kind']}/{o['metadata']['name']}" == key)
            workflows.delete(name=name, namespace=namespace)
            created = workflows.create(body=_workflow_from(source), namespace=namespace)
            submitted[key] = (created.metadata.name, namespace)
        result = cluster.wait_for("the workflow controller", phases, timeout=120)
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


def test_the_training_run_fields_start_on_the_real_controller(cluster: Any, tmp_path: Path) -> None:
    """training.name, ttl, concurrencyPolicy, history, imagePullSecrets, podMetadata, script steps, a step's
    stdout read by paramInputs, `when` and forEach, csi and ephemeral volumes and the step directories
    (tests/render/test_training_run.py): the controller accepts and starts them."""
    from tests.render.test_training_run import project, rendered

    namespace = f"a{_RUN}-training-run"
    objects = list(rendered(project(tmp_path))[0].values())
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
    assert {o["metadata"]["name"] for o in objects if o["kind"] in TRAINING_KINDS} == {"m-nightly"}
    result = started(cluster, objects)
    assert {key: phase for key, (phase, _) in result.items()} == {key: "Running" for key in result}, result


ROOT_STEP = """\
training:
  image: ghcr.io/acme/train:1.4.2
  imagePullSecrets: [registry-creds]
  podMetadata: {labels: {team: risk}, annotations: {iam.amazonaws.com/role: trainer}}
  steps:
  - name: io
    script: "print('[1, 2]')"
    stdout: true
    outputs: [model]
    params: [p]
    volumes:
    - {name: vault, mountPath: /secrets, csi: {driver: secrets-store.csi.k8s.io, readOnly: true,
       volumeAttributes: {secretProviderClass: vault-db}}}
    - {name: scratch, mountPath: /scratch, ephemeral: {size: 1Gi}}
  - {name: each, after: [io], command: [echo], forEach: {fromStep: io, output: result}}
"""


def test_the_controller_makes_a_script_step_pod_with_its_volumes_and_directories(cluster: Any, tmp_path: Path) -> None:
    """The pod the real controller creates for a root script step: accepted by the API server with its csi and
    ephemeral volumes (the controller manager then creates the ephemeral claim), the step directories
    mounted, the workflow's imagePullSecrets and podMetadata on it."""
    from tests.projects import model_yaml
    from tests.render.test_training_run import project, rendered

    namespace = f"a{_RUN}-root-step"
    objects = list(rendered(project(tmp_path, model_yaml(body=ROOT_STEP)))[0].values())
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
    result = started(cluster, objects)
    assert {key: phase for key, (phase, _) in result.items()} == {"WorkflowTemplate/m-train": "Running"}, result
    pods = cluster.resource("v1", "Pod")

    def pod() -> dict[str, Any] | None:
        found = [p.to_dict() for p in pods.get(namespace=namespace).items]
        return found[0] if found else None

    made = cluster.wait_for("the io step's pod", pod, timeout=60)
    spec = made["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["vault"]["csi"]["driver"] == "secrets-store.csi.k8s.io"
    assert volumes["scratch"]["ephemeral"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert "argo-staging" in volumes  # the script's file, which Argo appends to the command
    main = next(c for c in spec["containers"] if c["name"] == "main")
    mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
    assert mounts["/tmp/mlgitops/outputs"] == "mlgitops-outputs" and mounts["/tmp/mlgitops/params"] == "mlgitops-params"
    assert main["args"][-1] == "/argo/staging/script"
    assert spec["imagePullSecrets"] == [{"name": "registry-creds"}]
    assert made["metadata"]["labels"]["team"] == "risk"
    assert made["metadata"]["annotations"]["iam.amazonaws.com/role"] == "trainer"
    claim = f"{made['metadata']['name']}-scratch"
    assert cluster.wait_for(f"PVC {claim}", lambda: cluster.get("v1", "PersistentVolumeClaim", claim, namespace))


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
