"""Pod Security and the GPU policies reach every pod template (issue 25), whatever the kind: an LLMInferenceService's
workloads (known sites: serving pods, so prod-limits applies), a patched object's, and a custom kind no table
lists (found generically: any map holding `containers`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgitops.checks.policies.catalog import Stage
from mlgitops.checks.policies.checks import check_objects
from mlgitops.checks.policies.sites import pod_sites
from mlgitops.language.project import Project
from tests.conftest import finding_lines, run_cli
from tests.projects import project_yaml, write_project

PROJECT = Project.model_validate(
    {
        "apiVersion": "mlgitops.io/v1alpha1",
        "kind": "Project",
        "metadata": {"name": "acme"},
        "repoURL": "https://example.com/acme.git",
        "environments": [{"name": "prod", "namespace": "ml-prod"}],
        "clusterFeatures": {"podSecurity": "restricted"},
    }
)
PROD = Stage("prod", is_dev=False, is_prod=True)


def _ids(obj: dict[str, Any]) -> set[tuple[str, str]]:
    return {(v.policy.id, "/".join(str(p) for p in v.path)) for v in check_objects([obj], PROD, PROJECT)}


def test_a_custom_kind_s_pod_templates_are_checked() -> None:
    """A LeaderWorkerSet (no table in mlgitops knows it): both its templates are found and checked."""
    privileged = {"name": "leader", "image": "vllm/vllm-openai:v0.9.0", "securityContext": {"privileged": True}}
    gpu = {"name": "worker", "image": "vllm/vllm-openai:v0.9.0", "resources": {"limits": {"nvidia.com/gpu": "8"}}}
    lws = {
        "apiVersion": "leaderworkerset.x-k8s.io/v1",
        "kind": "LeaderWorkerSet",
        "metadata": {"name": "llama"},
        "spec": {
            "leaderWorkerTemplate": {
                "leaderTemplate": {"spec": {"containers": [privileged]}},
                "workerTemplate": {
                    "spec": {"containers": [gpu], "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}
                },
            }
        },
    }
    paths = {site.path for site in pod_sites(lws)}
    assert paths == {
        ("spec", "leaderWorkerTemplate", "leaderTemplate", "spec"),
        ("spec", "leaderWorkerTemplate", "workerTemplate", "spec"),
    }
    found = _ids(lws)
    leader = "spec/leaderWorkerTemplate/leaderTemplate/spec"
    worker = "spec/leaderWorkerTemplate/workerTemplate/spec"
    assert ("pod-security", f"{leader}/containers/0/securityContext/privileged") in found
    assert ("pod-security", f"{worker}/volumes/0/hostPath") in found
    assert ("gpu-class", f"{worker}/containers/0/resources/limits/nvidia.com/gpu") in found
    assert ("gpu-shared-memory", f"{worker}/containers/0/resources/limits/nvidia.com/gpu") in found


def test_an_llm_inference_service_s_workloads_are_serving_pods() -> None:
    container = {"name": "main", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
    llm = {
        "apiVersion": "serving.kserve.io/v1alpha2",
        "kind": "LLMInferenceService",
        "metadata": {"name": "qwen", "labels": {"app.kubernetes.io/version": "1"}},
        "spec": {
            "model": {"uri": "hf://Qwen/Qwen2.5-7B-Instruct"},
            "replicas": 0,
            "template": {"containers": [container]},
            "prefill": {"worker": {"containers": [dict(container, securityContext={"runAsUser": 0})]}},
            "router": {"scheduler": {"template": {"containers": [{"name": "main", "image": "epp:latest"}]}}},
        },
    }
    sites = {site.path: site.serving for site in pod_sites(llm)}
    assert sites == {
        ("spec", "template"): True,
        ("spec", "prefill", "worker"): True,
        ("spec", "router", "scheduler", "template"): False,  # KServe's scheduler, not the model server
    }
    found = _ids(llm)
    assert ("prod-limits", "spec/template/containers/0/resources/limits") in found
    assert ("gpu-class", "spec/template/containers/0/resources/limits/nvidia.com/gpu") in found
    worker = [
        v.message
        for v in check_objects([llm], PROD, PROJECT)
        if v.path[:4] == ("spec", "prefill", "worker", "containers")
    ]
    assert any("runAsUser is 0 (root)" in message for message in worker), worker  # one finding a container
    assert ("image-pinned", "spec/router/scheduler/template/containers/0/image") in found
    assert ("gpu-scale-to-zero", "spec/replicas") in found
    assert ("storage-uri-version", "spec/model/uri") in found


def test_a_patch_that_weakens_an_llm_pod_is_found_at_the_patch(tmp_path: Path) -> None:
    model = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: qwen}
model: {format: huggingface, version: "2", storageUri: "pvc://models/qwen/2"}
serving:
  engine: llm
  resources: {limits: {cpu: "4", memory: 32Gi}}
patches:
- target: {kind: LLMInferenceService}
  ops:
  - {op: add, path: /spec/template/hostNetwork, value: true}
"""
    project = project_yaml("prod", extra="clusterFeatures: {podSecurity: baseline}\n")
    write_project(tmp_path, project, {"qwen": model})
    lines = finding_lines(run_cli(["validate", "--format", "json"], cwd=tmp_path).stdout)
    assert any(
        "[pod-security] prod LLMInferenceService/qwen /spec/template/hostNetwork" in line
        and "(models/qwen.yaml:11:" in line
        for line in lines
    ), lines


def test_a_patched_prefill_workload_is_placed_by_its_own_pod_spec(tmp_path: Path) -> None:
    """KServe builds the prefill pods from spec.prefill.template alone (workload_single_node.go): the model's
    GPU class places the decode pods mlgitops renders, not a prefill workload a patch adds. A prefill pod
    asking for a GPU without a node selector or tolerations is found at the patch; with the class's placement
    written out, it passes."""
    prefill = """\
  - op: add
    path: /spec/prefill
    value:
      replicas: 2
      template:
        securityContext: {seccompProfile: {type: RuntimeDefault}}
        containers:
        - name: main
          resources: {limits: {cpu: "4", memory: 32Gi, nvidia.com/gpu: "1"}, requests: {cpu: "2", memory: 16Gi}}
          securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsNonRoot: true}
          volumeMounts: [{name: dshm, mountPath: /dev/shm}]
        volumes: [{name: dshm, emptyDir: {medium: Memory, sizeLimit: 1Gi}}]
"""
    model = f"""\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {{name: qwen}}
model: {{format: huggingface, version: "2", storageUri: "pvc://models/qwen/2"}}
serving:
  engine: llm
  gpu: {{count: 1, class: l4}}
  resources: {{requests: {{cpu: "2", memory: 16Gi}}, limits: {{cpu: "4", memory: 32Gi}}}}
patches:
- target: {{kind: LLMInferenceService}}
  ops:
{prefill}"""
    gpu = "gpuClasses:\n  l4: {nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4}}\n"
    write_project(tmp_path, project_yaml("prod", extra=gpu), {"qwen": model})
    op_line = model.splitlines().index("  - op: add") + 1
    lines = finding_lines(run_cli(["validate", "--format", "json"], cwd=tmp_path).stdout)
    assert [line for line in lines if "[gpu-class]" in line] == [
        "error [gpu-class] prod LLMInferenceService/qwen "
        "/spec/prefill/template/containers/0/resources/limits/nvidia.com~1gpu: requests nvidia.com/gpu without a "
        "GPU class (no node selector or tolerations); set gpu.class (known: l4) "
        f"(models/qwen.yaml:{op_line}:5)"
    ], lines
    placed = model.replace(
        "      template:\n", "      template:\n        nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4}\n"
    )
    (tmp_path / "models" / "qwen.yaml").write_text(placed)
    lines = finding_lines(run_cli(["validate", "--format", "json"], cwd=tmp_path).stdout)
    assert not any("[gpu-class]" in line or "[pod-security]" in line for line in lines), lines
