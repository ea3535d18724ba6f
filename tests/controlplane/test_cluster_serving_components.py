"""The serving parts of issue 25 on the real KServe v0.20.0 manager of the local control plane: its validating
webhook admits what mlgitops renders for the batcher, the explainer, a collocated and a standalone transformer,
ports, probes and the storage spec (and refuses the variants mlgitops refuses at the spec line), and its
reconciler and pod webhook make of them what the spec promises: the transformer in the predictor's pod with the
Service on its port, the batcher in the model agent, the explainer's Deployment, the storage spec's location
read from the storage-config Secret."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest

from conftest import kustomize_objects, run_cli
from tests.projects import model_yaml, project_yaml, write_project

pytestmark = pytest.mark.cluster

_RUN = f"{os.getpid() % 100000}"
NAMESPACE = f"k{_RUN}-parts"

PROJECT = project_yaml(
    "prod", extra="nodeClasses:\n  cpu: {nodeSelector: {pool: cpu}, tolerations: [{key: cpu-only, operator: Exists}]}\n"
).replace("namespace: ml-prod", f"namespace: {NAMESPACE}")

LIMITS = 'resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: "1", memory: 1Gi}}'
MODELS = {
    "colo": model_yaml(
        "colo",
        body=f"""\
serving:
  runtime: kserve-sklearnserver
  ports: [{{name: http, containerPort: 8085}}]
  args: [--http_port=8085]
  probes:
    readiness: {{httpGet: {{path: /v1/models/colo, port: http}}, periodSeconds: 5}}
    startup: {{tcpSocket: {{port: 8085}}, failureThreshold: 30}}
  {LIMITS}
  batcher: {{maxBatchSize: 16, maxLatency: 300}}
  transformer:
    image: ghcr.io/acme/tokenize:1.0
    collocated: true
    args: [--predictor_host=localhost:8085]
    probes: {{readiness: {{httpGet: {{path: /v1/models/colo, port: 8080}}}}}}
    {LIMITS}
""",
    ),
    "apart": f"""\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {{name: apart}}
model:
  format: sklearn
  version: "2"
  storage: {{key: localMinIO, path: sklearn/2, parameters: {{bucket: example-models}}}}
serving:
  runtime: kserve-sklearnserver
  {LIMITS}
  transformer:
    image: ghcr.io/acme/tokenize:1.0
    nodeClass: cpu
    replicas: {{min: 2, max: 5}}
    autoscaling: {{metric: cpu, target: 60}}
    {LIMITS}
  explainer:
    image: ghcr.io/acme/anchors:0.12.1
    args: [AnchorTabular]
    env: {{STORAGE_URI: s3://models/apart/2/explainer}}
    {LIMITS}
""",
}

# The namespace's storage spec entry (kserve pkg/credentials service_account_credentials.go
# CreateStorageSpecSecretEnvs reads `type` and `bucket`; `parameters` override them).
STORAGE_CONFIG = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "storage-config", "namespace": NAMESPACE},
    "stringData": {"localMinIO": json.dumps({"type": "s3", "bucket": "mlpipeline", "region": "us-south"})},
}


@pytest.fixture(scope="module")
def applied(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = write_project(tmp_path_factory.mktemp("parts") / "repo", PROJECT, MODELS)
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    objects = kustomize_objects(root / "overlays" / "prod")
    cluster.apply(STORAGE_CONFIG)
    assert [str(r) for r in cluster.refusals(objects, dry_run=False)] == []
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == "InferenceService"}


def _deployment(cluster: Any, name: str) -> dict[str, Any]:
    found: dict[str, Any] = cluster.wait_for(
        f"KServe's Deployment {name}", lambda: cluster.get("apps/v1", "Deployment", name, NAMESPACE)
    )
    return found


def _pod(cluster: Any, prefix: str) -> dict[str, Any]:
    """A pod the ReplicaSet controller created, as KServe's pod webhook mutated it."""

    def probe() -> dict[str, Any] | None:
        pods = cluster.resource("v1", "Pod").get(namespace=NAMESPACE).to_dict()["items"]
        return next((p for p in pods if p["metadata"]["name"].startswith(prefix)), None)

    found: dict[str, Any] = cluster.wait_for(f"a pod of {prefix}", probe)
    return found


def _containers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in template["spec"]["containers"]}


def test_collocated_transformer_shares_the_predictor_pod_and_serves_its_port(cluster: Any, applied: Any) -> None:
    isvc = applied["colo"]
    template = _deployment(cluster, "colo-predictor")["spec"]["template"]
    containers = _containers(template)
    assert {"kserve-container", "transformer-container"} <= set(containers)
    model, transformer = containers["kserve-container"], containers["transformer-container"]
    assert [p["containerPort"] for p in model["ports"]] == [8085]
    assert model["readinessProbe"]["httpGet"] == {"path": "/v1/models/colo", "port": "http", "scheme": "HTTP"}
    assert model["startupProbe"]["tcpSocket"] == {"port": 8085} and model["startupProbe"]["failureThreshold"] == 30
    rendered = isvc["spec"]["predictor"]["containers"][0]
    assert transformer["image"] == rendered["image"] and transformer["args"] == rendered["args"]
    assert transformer["securityContext"] == rendered["securityContext"]
    assert transformer["readinessProbe"]["httpGet"]["port"] == 8080
    # KServe's Service sends traffic to the transformer (service_reconciler.go: the transformer's ports[0])
    service = cluster.wait_for(
        "KServe's Service colo-predictor", lambda: cluster.get("v1", "Service", "colo-predictor", NAMESPACE)
    )
    assert [p["targetPort"] for p in service["spec"]["ports"]][:1] in ([8080], [9081])  # 9081: the agent (batcher)


def test_batcher_runs_in_the_model_agent(cluster: Any, applied: Any) -> None:
    template = _deployment(cluster, "colo-predictor")["spec"]["template"]
    assert template["metadata"]["annotations"]["internal.serving.kserve.io/batcher"] == "true"
    pod = _pod(cluster, "colo-predictor-")
    agent = _containers(pod)["agent"]
    args = agent["args"]
    assert "--enable-batcher" in args
    assert args[args.index("--max-batchsize") + 1] == "16" and args[args.index("--max-latency") + 1] == "300"
    service = cluster.get("v1", "Service", "colo-predictor", NAMESPACE)
    assert service["spec"]["ports"][0]["targetPort"] == 9081  # requests reach the agent first


def test_standalone_transformer_placement_and_replicas(cluster: Any, applied: Any) -> None:
    template = _deployment(cluster, "apart-transformer")["spec"]["template"]
    assert template["spec"]["nodeSelector"] == {"pool": "cpu"}
    assert {"key": "cpu-only", "operator": "Exists"} in template["spec"]["tolerations"]
    hpa = cluster.wait_for(
        "KServe's HPA apart-transformer",
        lambda: cluster.get("autoscaling/v2", "HorizontalPodAutoscaler", "apart-transformer", NAMESPACE),
    )
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    [metric] = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["averageUtilization"] == 60
    predictor = _deployment(cluster, "apart-predictor")["spec"]["template"]["spec"]
    assert "nodeSelector" not in predictor  # the node class places the transformer only


def test_explainer_deployment_is_hardened(cluster: Any, applied: Any) -> None:
    template = _deployment(cluster, "apart-explainer")["spec"]["template"]
    container = _containers(template)["kserve-container"]
    rendered = applied["apart"]["spec"]["explainer"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/anchors:0.12.1"
    assert container["securityContext"] == rendered["securityContext"]
    assert template["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # KServe adds what a custom explainer needs (explainer_custom.go GetContainer) after our arguments
    assert container["args"][0] == "AnchorTabular" and "--predictor_host" in container["args"]
    annotations = template["metadata"]["annotations"]
    assert annotations["internal.serving.kserve.io/storage-initializer-sourceuri"] == "s3://models/apart/2/explainer"


def test_storage_spec_location_comes_from_the_storage_config_entry(cluster: Any, applied: Any) -> None:
    template = _deployment(cluster, "apart-predictor")["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["internal.serving.kserve.io/storage-spec"] == "true"
    assert annotations["internal.serving.kserve.io/storage-spec-key"] == "localMinIO"
    pod = _pod(cluster, "apart-predictor-")
    [initializer] = [c for c in pod["spec"]["initContainers"] if c["name"] == "storage-initializer"]
    # the entry's type and the bucket from storage.parameters, then storage.path
    assert initializer["args"][0] == "s3://example-models/sklearn/2", initializer["args"]
    env = {e["name"]: e for e in initializer.get("env", [])}
    assert env["STORAGE_CONFIG"]["valueFrom"]["secretKeyRef"] == {"name": "storage-config", "key": "localMinIO"}


def test_the_webhook_refuses_what_the_spec_refuses(cluster: Any, applied: Any) -> None:
    """Negative controls, edited from the accepted objects: KServe refuses STORAGE_URI on a collocated
    transformer, and a scaleMetric under the KEDA autoscaler class (mlgitops refuses both at the spec line)."""
    collocated = copy.deepcopy(applied["colo"])
    collocated["metadata"]["name"] = "colo-storage"
    collocated["spec"]["predictor"]["containers"][0]["env"] = [{"name": "STORAGE_URI", "value": "s3://b/t"}]
    keda = copy.deepcopy(applied["apart"])
    keda["metadata"]["name"] = "apart-keda"
    keda["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] = "keda"
    refused = cluster.refusals([collocated, keda])
    assert [r.name for r in refused] == ["colo-storage", "apart-keda"], [str(r) for r in refused]
    assert "storage uri should not be specified in transformer container" in refused[0].message
    assert "ScaleMetric is not supported for KEDA" in refused[1].message
