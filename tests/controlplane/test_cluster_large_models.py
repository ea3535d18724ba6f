"""Large models and graphs on the local control plane (issue 25): what the real KServe v0.20.0 manager makes of a
multi-node InferenceService mlgitops renders, what its webhooks refuse (the same refusals the spec makes at the
line), and the InferenceGraph and LLMInferenceService objects through the real API server.

The KServe manager serves InferenceServices and InferenceGraphs (reconcilers and validating webhooks); the
LLMInferenceService kind has its own controller and webhook (KServe's `llmisvc` binary), which the control plane
does not run: there the API server checks the object against the CRD's structural schema and CEL rules only."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest

from conftest import kustomize_objects, run_cli
from tests.projects import model_yaml, project_yaml, write_project

pytestmark = pytest.mark.cluster

_RUN = f"{os.getpid() % 100000}"
GPU = """\
gpuClasses:
  l4:
    nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
clusterFeatures: {gatewayApi: true}
"""
MULTINODE = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: big}
model: {format: huggingface, version: "1", storageUri: "pvc://llama-weights/1"}
serving:
  runtime: kserve-huggingfaceserver-multinode
  gpu: {count: 2, class: l4}
  resources: {limits: {cpu: "8", memory: 64Gi}}
  workers: {size: 2}
"""
LLM = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: qwen}
model: {format: huggingface, version: "1", storageUri: "hf://Qwen/Qwen2.5-7B-Instruct"}
serving:
  engine: llm
  replicas: {min: 2}
  gpu: {count: 1, class: l4}
  router: {gateway: true, scheduler: true}
  workers: {tensorParallelSize: 1}
"""
GRAPH = """\
apiVersion: mlgitops.io/v1alpha1
kind: Graph
metadata: {name: chain}
nodes:
  root:
    routerType: Splitter
    steps:
    - {model: iris, weight: 30}
    - {model: big, weight: 70}
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("large") / "repo"
    namespace = f"large{_RUN}"
    models = {"big": MULTINODE, "qwen": LLM, "iris": model_yaml("iris", body="serving: {}\n")}
    write_project(root, project_yaml("prod", extra=GPU).replace("ml-prod", namespace), models)
    (root / "graphs").mkdir()
    (root / "graphs" / "chain.yaml").write_text(GRAPH)
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in kustomize_objects(root / "overlays" / "prod")}


def test_kserve_reconciles_the_multinode_predictor_into_head_and_workers(
    cluster: Any, rendered: dict[str, dict[str, Any]]
) -> None:
    isvc = rendered["InferenceService/big"]
    namespace = isvc["metadata"]["namespace"]
    assert [str(r) for r in cluster.refusals([isvc], dry_run=False)] == []
    head = cluster.wait_for(
        "KServe's head Deployment", lambda: cluster.get("apps/v1", "Deployment", "big-predictor", namespace)
    )
    workers = cluster.wait_for(
        "KServe's worker Deployment", lambda: cluster.get("apps/v1", "Deployment", "big-predictor-worker", namespace)
    )
    env = {e["name"]: e.get("value") for e in head["spec"]["template"]["spec"]["containers"][0].get("env", [])}
    assert (env["TENSOR_PARALLEL_SIZE"], env["PIPELINE_PARALLEL_SIZE"]) == ("2", "2")  # from serving.workers
    assert env["RAY_NODE_COUNT"] == "2"  # the pods a replica spans: serving.workers.size
    assert workers["spec"]["replicas"] == 1  # one worker pod besides the head
    [worker] = workers["spec"]["template"]["spec"]["containers"]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert workers["spec"]["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        (("spec", "predictor", "model", "storageUri", "s3://b/llama/1"), "Multinode only supports 'pvc' and 'oci'"),
        (("metadata", "annotations", "serving.kserve.io/autoscalerClass", "hpa"), "only supports 'none' autoscaler"),
    ],
)
def test_kserves_webhook_refuses_what_the_spec_refuses(
    cluster: Any, rendered: dict[str, dict[str, Any]], change: tuple[str, ...], refusal: str
) -> None:
    """The refusals `serving.workers` makes at the spec line are the webhook's (a negative control for each)."""
    isvc = copy.deepcopy(rendered["InferenceService/big"])
    isvc["metadata"]["name"] = "big-refused"
    node = isvc
    for part in change[:-2]:
        node = node[part]
    node[change[-2]] = change[-1]
    [refused] = cluster.refusals([isvc])
    assert "inferenceservice.kserve-webhook-server.validator" in refused.message and refusal in refused.message


def test_the_inference_graph_passes_kserves_webhook(cluster: Any, rendered: dict[str, dict[str, Any]]) -> None:
    graph = rendered["InferenceGraph/chain"]
    assert [str(r) for r in cluster.refusals([graph])] == []
    broken = copy.deepcopy(graph)
    broken["spec"]["nodes"]["root"]["steps"][0]["weight"] = 20  # 20 + 70: what graph_resolve.py refuses too
    [refused] = cluster.refusals([broken])
    assert "inferencegraph.kserve-webhook-server.validator" in refused.message
    assert "the sum of traffic weights for all routing targets should be 100" in refused.message


def test_the_llm_inference_service_is_stored_as_rendered(cluster: Any, rendered: dict[str, dict[str, Any]]) -> None:
    llm = rendered["LLMInferenceService/qwen"]
    assert [str(r) for r in cluster.refusals([llm], dry_run=False)] == []
    stored = cluster.get("serving.kserve.io/v1alpha2", "LLMInferenceService", "qwen", llm["metadata"]["namespace"])
    assert stored is not None
    assert stored["spec"]["router"] == {"route": {}, "gateway": {}, "scheduler": {}}
    assert stored["spec"]["parallelism"] == {"tensor": 1} and stored["spec"]["replicas"] == 2
    both = copy.deepcopy(llm)
    both["metadata"]["name"] = "qwen-scaled"
    both["spec"]["scaling"] = {"maxReplicas": 4}  # a CEL rule of the CRD: replicas and scaling exclude each other
    [refused] = cluster.refusals([both])
    assert "replicas and scaling are mutually exclusive" in refused.message


def test_status_reads_the_llm_inference_service_s_readiness(
    cluster: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`mlgitops status` treats an LLMInferenceService as an InferenceService: its Ready condition (written here
    through the status subresource, as KServe's LLM controller would) is the model's readiness."""
    import json
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("status") / "repo"
    namespace = f"llmstatus{_RUN}"
    write_project(root, project_yaml("prod", extra=GPU).replace("ml-prod", namespace), {"qwen": LLM})
    assert run_cli(["render"], cwd=root).exit_code == 0
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@e", "commit",
                 "-q", "-m", "llm"]):  # fmt: skip
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
    llm = next(o for o in kustomize_objects(root / "overlays" / "prod") if o["kind"] == "LLMInferenceService")
    assert [str(r) for r in cluster.refusals([llm], dry_run=False)] == []

    def qwen() -> dict[str, Any]:
        command = [sys.executable, "-m", "mlgitops", "status", "--kubeconfig", str(cluster.kubeconfig)]
        done = subprocess.run([*command, "--env", "prod", "--format", "json"], cwd=root, capture_output=True, text=True)
        assert done.returncode in (0, 1), done.stderr
        found: dict[str, Any] = next(m for m in json.loads(done.stdout)["models"] if m["name"] == "qwen")
        return found

    before = qwen()
    assert before["ready"] is False and before["reason"] == "not reconciled yet (no Ready condition)"
    assert before["gitVersion"] == before["version"] == "1"
    now = "2026-12-07T00:00:00Z"
    cluster.resource("serving.kserve.io/v1alpha2", "LLMInferenceService").status.patch(
        body={"status": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}]}},
        name="qwen",
        namespace=namespace,
        content_type="application/merge-patch+json",
    )
    assert qwen()["ready"] is True
