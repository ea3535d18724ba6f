"""Specs that pass every schema but are refused or silently ignored by a stock cluster (issue 21).

Each refusal is one `file:line:col` line at the spec line that caused it (render exits 1, the tree stays
as it was); each fix shows in the rendered objects. The upstream facts are in generator/mlgitops/language/stockfit.py,
render/kserve.py (`_standard_ports`) and render/metric_sources.py (`mlserver_picked`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.language.model import Model
from mlgitops.language.project import KnativeFeatures
from mlgitops.render.metric_sources import metric_source
from tests.conftest import REPO, run_cli
from tests.controlplane.test_cluster_serving import position, refused
from tests.projects import model_yaml, project_yaml

pytestmark = pytest.mark.usefixtures("private_validate_cache")

PROJECT = project_yaml()

MODEL = model_yaml(
    body="""\
serving:
  mode: Standard
  runtime: kserve-sklearnserver
  replicas: {min: 1, max: 4}
"""
)

TRAINING = """\
training:
  image: ghcr.io/acme/train:1.0
  steps:
  - {name: prep, command: [python, -m, prep], params: [rows], cache: {maxAge: 24h}}
"""


def make(root: Path, model: str, extra: str = "") -> Path:
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "mlgitops.yaml").write_text(PROJECT + extra)
    path = root / "models" / "m.yaml"
    path.write_text(model)
    return path


def one_error(root: Path, path: Path, needle: str, value: str, words: str) -> str:
    """The one problem (reported once per environment that has it) at `value` on the line with `needle`."""
    lines = refused(root)
    assert {line.rsplit(" (in environment ", 1)[0] for line in lines} == {lines[0].rsplit(" (in environment ", 1)[0]}
    assert lines[0].startswith(position(path, needle, value, root) + ": "), lines
    assert words in lines[0], lines
    return lines[0]


def base_isvc(root: Path) -> dict[str, Any]:
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    text = (root / "base/models/m/inferenceservice-m.yaml").read_text()
    isvc: dict[str, Any] = yaml.safe_load(text)
    return isvc


# --- 1. Standard-mode canary ------------------------------------------------------------------------


def test_standard_canary_with_traffic_is_refused_even_with_gateway_api(tmp_path: Path) -> None:
    canary = "  canary: {version: '4', storageUri: s3://models/m/4/model, trafficPercent: 10}\n"
    path = make(tmp_path, MODEL + canary, "clusterFeatures: {gatewayApi: true}\n")
    message = one_error(tmp_path, path, "trafficPercent: 10", "10", "routes only to the stable predictor")
    assert "mode: Knative" in message and "engine: deployment" in message
    # A dark launch (0 %) is what KServe does, and renders.
    path.write_text(MODEL + canary.replace("trafficPercent: 10", "trafficPercent: 0"))
    assert base_isvc(tmp_path)["spec"]["canary"][0]["trafficPercent"] == 0


def test_bundled_example_splits_its_staging_canary_on_knative() -> None:
    staging = yaml.safe_load((REPO / "overlays/staging/fraud-detector/kustomization.yaml").read_text())
    patches = "\n".join(str(p.get("patch", "")) for p in staging["patches"])
    assert "canaryTrafficPercent" in patches and "/spec/canary\n" not in patches
    assert "gatewayApi" not in (REPO / "mlgitops.yaml").read_text().split("clusterFeatures:")[1].split("argocd")[0]


# --- 2. the metrics port exists on the pod ----------------------------------------------------------


def test_standard_predictor_declares_the_port_the_pod_monitor_scrapes(tmp_path: Path) -> None:
    make(tmp_path, MODEL + "monitoring: {slo: {latencyP95Ms: 100}}\n")
    model = base_isvc(tmp_path)["spec"]["predictor"]["model"]
    assert model["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    monitor = next(
        o
        for o in yaml.safe_load_all((tmp_path / "overlays/prod/m/resources.yaml").read_text())
        if o and o["kind"] == "PodMonitor"
    )
    scraped = monitor["spec"]["podMetricsEndpoints"][0]["portNumber"]
    assert scraped in [p["containerPort"] for p in model["ports"]]


def test_runtime_with_its_own_metrics_port_declares_it_too(tmp_path: Path) -> None:
    make(tmp_path, MODEL.replace("kserve-sklearnserver", "kserve-tritonserver"))
    ports = base_isvc(tmp_path)["spec"]["predictor"]["model"]["ports"]
    assert ports[1] == {"name": "metrics", "containerPort": 8002, "protocol": "TCP"}
    assert ports[0]["containerPort"] == 8080  # KServe's Service and probe target ports[0], as before


def test_knative_predictor_declares_no_port(tmp_path: Path) -> None:
    make(tmp_path, MODEL.replace("mode: Standard", "mode: Knative"))
    assert "ports" not in base_isvc(tmp_path)["spec"]["predictor"]["model"]


# --- 3. KServe picks MLServer for protocol v2 without a runtime --------------------------------------


def _spec(serving: str, fmt: str = "sklearn") -> Model:
    text = (
        "apiVersion: mlgitops.io/v1alpha1\nkind: Model\nmetadata: {name: m}\n"
        f"model: {{format: {fmt}, version: '1', storageUri: s3://b/m}}\nserving: {serving}\n"
    )
    return Model.model_validate(yaml.safe_load(text))


def test_protocol_v2_without_runtime_is_monitored_as_mlserver() -> None:
    source = metric_source(_spec("{protocol: v2}"), KnativeFeatures())
    assert source is not None and source.exporter == "MLServer (kserve-mlserver)" and source.port == 8082
    python = metric_source(_spec("{}"), KnativeFeatures())
    assert python is not None and python.latency is not None and python.latency.name == "request_predict_seconds"
    named = metric_source(_spec("{protocol: v2, runtime: kserve-sklearnserver}"), KnativeFeatures())
    assert named is not None and named.exporter == "KServe's Python model server"


def test_init_scaffold_names_the_runtime_its_rules_assume() -> None:
    scaffold = yaml.safe_load((REPO / "generator/mlgitops/data/scaffold/model.yaml").read_text())
    assert scaffold["serving"]["runtime"] == "kserve-sklearnserver" and scaffold["serving"]["protocol"] == "v2"


# --- 4. memoization -----------------------------------------------------------------------------------


def test_memoize_is_refused_without_the_controllers_configmap_grant(tmp_path: Path) -> None:
    path = make(tmp_path, MODEL + TRAINING)
    message = one_error(tmp_path, path, "cache: {maxAge", "cache", "create and update on configmaps")
    assert "clusterFeatures.argoWorkflows {memoizeCache: true}" in message and "(in environment 'prod')" in message
    make(tmp_path, MODEL + TRAINING, "clusterFeatures: {argoWorkflows: {memoizeCache: true}}\n")
    assert run_cli(["render"], cwd=tmp_path).exit_code == 0


def test_memoize_is_refused_on_a_step_reading_a_configmap(tmp_path: Path) -> None:
    step = TRAINING.replace("cache:", "env: {COLS: {configMap: features, key: cols}}, cache:")
    path = make(tmp_path, MODEL + step, "clusterFeatures: {argoWorkflows: {memoizeCache: true}}\n")
    one_error(tmp_path, path, "cache: {maxAge", "cache", "not part of the memoization key")


# --- 5. KEDA ------------------------------------------------------------------------------------------

KEDA = "  autoscaling: {metric: prometheus, target: 5, query: 'sum(x)', serverAddress: http://prom:9090}\n"


def test_keda_with_a_transformer_is_refused(tmp_path: Path) -> None:
    path = make(tmp_path, MODEL + KEDA + "  transformer: {image: ghcr.io/acme/t:1.0}\n")
    one_error(tmp_path, path, "transformer:", "transformer", "KEDA ScaledObject without triggers")


# --- 6. admission and silently ignored fields --------------------------------------------------------


def test_custom_image_with_grpc_is_refused(tmp_path: Path) -> None:
    model = MODEL.replace("  runtime: kserve-sklearnserver\n", "  image: ghcr.io/acme/s:1.0\n  protocol: grpc-v2\n")
    path = make(tmp_path, model)
    one_error(tmp_path, path, "protocol: grpc-v2", "grpc-v2", "only with protocol v1 or v2")


def test_for_each_key_with_a_dot_is_refused(tmp_path: Path) -> None:
    training = TRAINING.replace(", cache: {maxAge: 24h}", "").replace(
        "params: [rows]", "params: [rows], forEach: [{a.b: '1'}]"
    )
    path = make(tmp_path, MODEL + training)
    one_error(tmp_path, path, "a.b", "a.b", "Argo admits parameter names")


def test_on_exit_named_like_a_loop_template_is_refused(tmp_path: Path) -> None:
    training = TRAINING.replace(", cache: {maxAge: 24h}", ", forEach: ['1', '2'], parallelism: 1")
    path = make(tmp_path, MODEL + training + "  onExit: {name: prep-loop, command: [notify]}\n")
    one_error(tmp_path, path, "name: prep-loop", "prep-loop", "a step's loop template")


def test_knative_timeout_above_the_maximum_is_refused_unless_declared(tmp_path: Path) -> None:
    model = MODEL.replace("mode: Standard", "mode: Knative") + "  timeout: 900\n"
    path = make(tmp_path, model)
    one_error(tmp_path, path, "timeout: 900", "900", "max-revision-timeout-seconds (600)")
    make(tmp_path, model, "clusterFeatures: {knative: {maxRevisionTimeoutSeconds: 900}}\n")
    assert base_isvc(tmp_path)["spec"]["predictor"]["timeout"] == 900


def test_knative_container_concurrency_above_the_limit_is_refused(tmp_path: Path) -> None:
    path = make(tmp_path, MODEL.replace("mode: Standard", "mode: Knative") + "  containerConcurrency: 2000\n")
    one_error(tmp_path, path, "containerConcurrency: 2000", "2000", "container-concurrency-max-limit (1000)")


def test_standard_scale_to_zero_renders_though_kserve_runs_one_replica(tmp_path: Path) -> None:
    # KServe's HPA reconciler raises minReplicas 0 to 1 (hpa_reconciler.go:154-155); not refused yet
    # (docs/real-cluster.md), so the object says 0 and the cluster runs 1.
    make(tmp_path, MODEL.replace("{min: 1, max: 4}", "{min: 0, max: 4}"))
    assert base_isvc(tmp_path)["spec"]["predictor"]["minReplicas"] == 0


def test_standard_container_concurrency_is_refused(tmp_path: Path) -> None:
    path = make(tmp_path, MODEL + "  containerConcurrency: 4\n")
    one_error(tmp_path, path, "containerConcurrency: 4", "4", "Standard mode ignores")


def test_runtime_version_on_a_gpu_huggingface_model_needs_the_gpu_suffix(tmp_path: Path) -> None:
    model = (
        MODEL.replace("sklearn,", "huggingface,").replace("kserve-sklearnserver", "kserve-huggingfaceserver")
        + "  gpu: {count: 1}\n  runtimeVersion: v0.20.0\n"
    )
    path = make(tmp_path, model)
    one_error(tmp_path, path, "runtimeVersion: v0.20.0", "v0.20.0", "runtimeVersion: v0.20.0-gpu")
    path.write_text(model.replace("v0.20.0", "v0.20.0-gpu"))
    assert base_isvc(tmp_path)["spec"]["predictor"]["model"]["runtimeVersion"] == "v0.20.0-gpu"


# --- 7. Knative request metrics -----------------------------------------------------------------------


def test_knative_monitoring_needs_request_metrics_protocol(tmp_path: Path) -> None:
    model = MODEL.replace("mode: Standard", "mode: Knative") + "monitoring: {slo: {latencyP95Ms: 100}}\n"
    path = make(tmp_path, model)
    one_error(tmp_path, path, "mode: Knative", "Knative", "request-metrics-protocol: prometheus")
    make(tmp_path, model, "clusterFeatures: {knative: {requestMetricsPrometheus: true}}\n")
    assert run_cli(["render"], cwd=tmp_path).exit_code == 0


# --- 8. NetworkPolicy ---------------------------------------------------------------------------------


def test_bundled_network_policy_admits_monitoring_and_gateway_namespaces() -> None:
    policy = yaml.safe_load((REPO / "base/models/fraud-detector/networkpolicy-fraud-detector-ingress.yaml").read_text())
    admitted = [
        p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for p in policy["spec"]["ingress"][0]["from"]
    ]
    assert {"monitoring", "envoy-gateway-system", "istio-system", "knative-serving"} <= set(admitted)
