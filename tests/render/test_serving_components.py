"""The serving fields of issue 25 on the InferenceService (ports, probes, batcher, explainer, the transformer's
placement, replicas, autoscaling and collocation, KServe's storage spec) and on engine: deployment (ports,
probes): rendered field by field, every object checked against the upstream CRDs and Kubernetes schemas, and
the PodMonitor selecting the port the model server declares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.checks.schemas.crd import SchemaSet, load_crd_schemas
from mlgitops.checks.schemas.kube import load_kube_schemas
from tests.conftest import CRDS, kustomize_objects, run_cli
from tests.projects import model_yaml, project_yaml, write_project

PROJECT = project_yaml(
    "dev",
    "prod",
    extra="nodeClasses:\n  cpu: {nodeSelector: {pool: cpu}, tolerations: [{key: cpu-only, operator: Exists}]}\n"
    "clusterFeatures: {storageSchemes: [modelscope]}\n",
)

MODELS = {
    # Standard mode: the model server moves to 8085 for a transformer collocated in its pod.
    "colo": model_yaml(
        "colo",
        body="""\
serving:
  runtime: kserve-sklearnserver
  ports: [{name: http, containerPort: 8085}]
  args: [--http_port=8085]
  probes:
    readiness: {httpGet: {path: /v1/models/colo, port: http}, periodSeconds: 5, failureThreshold: 6}
    liveness: {tcpSocket: {port: 8085}, initialDelaySeconds: 10}
    startup: {httpGet: {path: /v1/models/colo, port: 8085, httpHeaders: [{name: X-Probe, value: kubelet}]},
              failureThreshold: 60, terminationGracePeriodSeconds: 30}
  batcher: {maxBatchSize: 32, maxLatency: 500, timeout: 60}
  transformer:
    image: ghcr.io/acme/tokenize:1.0
    collocated: true
    args: [--predictor_host=localhost:8085, --enable_predictor_health_check]
    probes: {readiness: {httpGet: {path: /v1/models/colo, port: 8080}, initialDelaySeconds: 5}}
    resources: {limits: {cpu: "1", memory: 1Gi}}
  canary: {version: "4", storageUri: s3://models/colo/4/model, trafficPercent: 0}
monitoring: {slo: {latencyP95Ms: 100}}
""",
    ),
    # A transformer of its own with placement, replicas and autoscaling; an explainer; the storage spec.
    "apart": """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: apart}
model:
  format: sklearn
  version: "2"
  storage: {key: localMinIO, path: sklearn/2, parameters: {bucket: example-models, type: s3}}
serving:
  transformer:
    image: ghcr.io/acme/tokenize:1.0
    nodeClass: cpu
    replicas: {min: 2, max: 5}
    autoscaling: {metric: cpu, target: 60}
  explainer:
    image: ghcr.io/acme/anchors:0.12.1
    command: [python, -m, alibiexplainer]
    args: [--model_name=apart, AnchorTabular]
    env: {STORAGE_URI: s3://models/apart/2/explainer, TOKEN: {secret: hub, key: token}}
    resources: {requests: {cpu: 100m, memory: 1Gi}, limits: {cpu: "1", memory: 4Gi}}
""",
    # KEDA for the predictor and the transformer together.
    "keda": model_yaml(
        "keda",
        body="""\
serving:
  autoscaling: {metric: prometheus, target: 5, query: 'sum(q)', serverAddress: 'http://prometheus:9090'}
  transformer:
    image: ghcr.io/acme/tokenize:1.0
    autoscaling: {metric: prometheus, target: 20, query: 'sum(t)', serverAddress: 'http://prometheus:9090'}
""",
    ),
    # Knative: one serving port (h2c), the storage spec's credentials beside a storageUri, a hub scheme.
    "grpc": model_yaml(
        "grpc",
        format="huggingface",
        body="""\
serving:
  mode: Knative
  ports: [{name: h2c, containerPort: 9000}]
  probes: {readiness: {tcpSocket: {port: h2c}}}
  autoscaling: {metric: concurrency, target: 4}
  explainer: {image: ghcr.io/acme/anchors:0.12.1}
""",
    ).replace("storageUri: s3://models/grpc/3/model", "storageUri: 'modelscope://Qwen/Qwen2.5:v3', storage: {key: ms}"),
    # engine: deployment: further ports after its own `http`, and probes (readiness replaces its default).
    "dep": model_yaml(
        "dep",
        body="""\
serving:
  engine: deployment
  ports: [{name: grpc, containerPort: 8081}, {name: metrics, containerPort: 9100}]
  probes:
    readiness: {grpc: {port: 8081}}
    liveness: {exec: {command: [cat, /tmp/alive]}, periodSeconds: 30}
monitoring: {metrics: {port: metrics}, slo: {latencyP95Ms: 100}}
""",
    ),
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("components") / "repo", PROJECT, MODELS)
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return load_crd_schemas(CRDS)


def _load(repo: Path, model: str, kind: str, name: str | None = None) -> dict[str, Any]:
    data = yaml.safe_load((repo / f"base/models/{model}/{kind}-{name or model}.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _prod(repo: Path) -> list[dict[str, Any]]:
    return kustomize_objects(repo / "overlays/prod")


def test_every_object_passes_the_upstream_schemas(repo: Path, schemas: SchemaSet) -> None:
    """Custom resources against the KServe v0.20 and Prometheus Operator CRDs, the Deployment engine's
    objects against Kubernetes' own schemas (kubernetes-validate)."""
    kube = load_kube_schemas()
    assert kube is not None
    objects = _prod(repo)
    assert {o["kind"] for o in objects} >= {"InferenceService", "Deployment", "PodMonitor"}
    for obj in objects:
        found = schemas if schemas.has(obj["apiVersion"], obj["kind"]) else kube
        assert found.has(obj["apiVersion"], obj["kind"]), obj["kind"]
        assert found.validate(obj) == [], (obj["kind"], obj["metadata"]["name"], found.validate(obj))


def test_the_schema_check_is_not_vacuous(repo: Path, schemas: SchemaSet) -> None:
    """The same InferenceService with a misspelt batcher field, or a probe field of the wrong type, fails."""
    isvc = _load(repo, "colo", "inferenceservice")
    misspelt = yaml.safe_load(yaml.safe_dump(isvc))
    misspelt["spec"]["predictor"]["batcher"]["maxBatchsize"] = 3
    assert schemas.validate(misspelt) != []
    wrong = yaml.safe_load(yaml.safe_dump(isvc))
    wrong["spec"]["predictor"]["model"]["readinessProbe"]["periodSeconds"] = "5"
    assert schemas.validate(wrong) != []


def test_model_container_ports_and_probes(repo: Path) -> None:
    model = _load(repo, "colo", "inferenceservice")["spec"]["predictor"]["model"]
    # The declared port is the serving port (KServe targets ports[0]); the Python server's metrics are there too.
    assert model["ports"] == [{"name": "http", "containerPort": 8085, "protocol": "TCP"}]
    assert model["readinessProbe"] == {
        "httpGet": {"path": "/v1/models/colo", "port": "http"},
        "periodSeconds": 5,
        "failureThreshold": 6,
    }
    assert model["livenessProbe"] == {"tcpSocket": {"port": 8085}, "initialDelaySeconds": 10}
    assert model["startupProbe"] == {
        "httpGet": {"path": "/v1/models/colo", "port": 8085, "httpHeaders": [{"name": "X-Probe", "value": "kubelet"}]},
        "failureThreshold": 60,
        "terminationGracePeriodSeconds": 30,
    }


def test_batcher(repo: Path) -> None:
    predictor = _load(repo, "colo", "inferenceservice")["spec"]["predictor"]
    assert predictor["batcher"] == {"maxBatchSize": 32, "maxLatency": 500, "timeout": 60}
    assert "batcher" not in _load(repo, "apart", "inferenceservice")["spec"]["predictor"]


def test_collocated_transformer_is_a_second_container_of_every_predictor_pod(repo: Path) -> None:
    spec = _load(repo, "colo", "inferenceservice")["spec"]
    assert "transformer" not in spec  # no component of its own
    [container] = spec["predictor"]["containers"]
    assert container["name"] == "transformer-container"  # the name KServe looks for (TransformerContainerName)
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["args"] == ["--predictor_host=localhost:8085", "--enable_predictor_health_check"]
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/v1/models/colo", "port": 8080},
        "initialDelaySeconds": 5,
    }
    assert container["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert "env" not in container  # never STORAGE_URI: KServe refuses it here
    [canary] = spec["canary"]
    assert canary["predictor"]["containers"] == [container]  # the canary rolls out with its transformer


def test_transformer_component_placement_replicas_and_autoscaling(repo: Path) -> None:
    transformer = _load(repo, "apart", "inferenceservice")["spec"]["transformer"]
    assert (transformer["minReplicas"], transformer["maxReplicas"]) == (2, 5)
    assert (transformer["scaleMetric"], transformer["scaleTarget"]) == ("cpu", 60)
    assert transformer["nodeSelector"] == {"pool": "cpu"}
    assert transformer["tolerations"] == [{"key": "cpu-only", "operator": "Exists"}]
    assert transformer["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    predictor = _load(repo, "apart", "inferenceservice")["spec"]["predictor"]
    assert "nodeSelector" not in predictor  # the node class places the transformer only


def test_transformer_scales_through_keda_with_the_predictor(repo: Path) -> None:
    isvc = _load(repo, "keda", "inferenceservice")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    transformer = isvc["spec"]["transformer"]
    assert "scaleMetric" not in transformer  # KServe refuses a scaleMetric under KEDA
    [metric] = transformer["autoScaling"]["metrics"]
    assert metric["external"]["metric"]["query"] == "sum(t)"
    assert metric["external"]["target"] == {"type": "Value", "value": 20}


def test_explainer_is_a_hardened_custom_container(repo: Path) -> None:
    explainer = _load(repo, "apart", "inferenceservice")["spec"]["explainer"]
    assert explainer["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    [container] = explainer["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"] == "ghcr.io/acme/anchors:0.12.1"
    assert container["command"] == ["python", "-m", "alibiexplainer"]
    assert container["args"] == ["--model_name=apart", "AnchorTabular"]
    assert container["env"] == [
        {"name": "STORAGE_URI", "value": "s3://models/apart/2/explainer"},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "hub", "key": "token"}}},
    ]
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "1Gi"},
        "limits": {"cpu": "1", "memory": "4Gi"},
    }
    context = container["securityContext"]
    assert context["runAsNonRoot"] is True and context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"] == {"drop": ["ALL"]}
    # Knative refuses a pod-level securityContext: the container carries everything there.
    knative = _load(repo, "grpc", "inferenceservice")["spec"]["explainer"]
    assert "securityContext" not in knative and knative["containers"][0]["securityContext"] == context


def test_storage_spec_names_the_model_without_a_storage_uri(repo: Path) -> None:
    model = _load(repo, "apart", "inferenceservice")["spec"]["predictor"]["model"]
    assert "storageUri" not in model
    assert model["storage"] == {
        "key": "localMinIO",
        "path": "sklearn/2",
        "parameters": {"bucket": "example-models", "type": "s3"},
    }


def test_knative_serving_port_probe_and_storage_credentials_beside_a_uri(repo: Path) -> None:
    model = _load(repo, "grpc", "inferenceservice")["spec"]["predictor"]["model"]
    assert model["ports"] == [{"name": "h2c", "containerPort": 9000, "protocol": "TCP"}]
    assert model["readinessProbe"] == {"tcpSocket": {"port": "h2c"}}
    assert model["storageUri"] == "modelscope://Qwen/Qwen2.5:v3"  # admitted by clusterFeatures.storageSchemes
    assert model["storage"] == {"key": "ms"}


def test_deployment_engine_ports_and_probes(repo: Path) -> None:
    deployment = _load(repo, "dep", "deployment", "dep-predictor")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "grpc", "containerPort": 8081, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9100, "protocol": "TCP"},
    ]
    assert container["readinessProbe"] == {"grpc": {"port": 8081}}  # replaces the default HTTP probe
    assert container["livenessProbe"] == {"exec": {"command": ["cat", "/tmp/alive"]}, "periodSeconds": 30}


def _monitor(repo: Path, name: str) -> dict[str, Any]:
    return next(o for o in _prod(repo) if o["kind"] == "PodMonitor" and o["metadata"]["name"] == name)


def test_pod_monitor_selects_the_declared_port_by_name(repo: Path) -> None:
    """The model server serves its metrics on its declared port, so the PodMonitor names it (every Prometheus
    Operator release knows `port`; `portNumber` is recent), and the pod declares that name."""
    [endpoint] = _monitor(repo, "colo")["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "http" and "portNumber" not in endpoint
    model = _load(repo, "colo", "inferenceservice")["spec"]["predictor"]["model"]
    assert endpoint["port"] in {p.get("name") for p in model["ports"]}
    [dep] = _monitor(repo, "dep")["spec"]["podMetricsEndpoints"]
    assert dep["port"] == "metrics"


def test_a_runtime_metrics_port_is_declared_after_the_users(tmp_path: Path) -> None:
    """Triton serves metrics on 8002: declared after the serving port, and scraped by number."""
    body = "serving:\n  runtime: kserve-tritonserver\n  ports: [{name: h2c, containerPort: 9000}]\n"
    root = write_project(tmp_path, project_yaml("prod"), {"t": model_yaml("t", format="onnx", body=body)})
    assert run_cli(["render"], cwd=root).exit_code == 0
    ports = _load(root, "t", "inferenceservice")["spec"]["predictor"]["model"]["ports"]
    assert ports == [
        {"name": "h2c", "containerPort": 9000, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 8002, "protocol": "TCP"},
    ]
