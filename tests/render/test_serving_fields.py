"""Serving fields of issue 16 (args, runtimeVersion, timeout, containerConcurrency, transformer, logger,
KEDA Prometheus autoscaling, a custom predictor image) and the defaults fixed with them (no implicit
protocolVersion, replicas.max = 3 x min, OCI model-car URIs): rendered field by field, checked against the
upstream CRDs, and refused with a position when wrong."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CRDS, copy_example, finding_lines, run_cli, snapshot_tree

HEAD = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: NAME}
model: {format: FORMAT, version: "3", storageUri: "URI"}
serving:
  resources: {limits: {cpu: "2", memory: 4Gi}}
"""


def _model(name: str, serving: str, fmt: str = "sklearn", uri: str = "s3://m/x/3/model") -> str:
    return HEAD.replace("NAME", name).replace("FORMAT", fmt).replace("URI", uri) + serving


# The example's dev scales to zero, which engine: deployment cannot.
DEV_MIN_1 = "environments:\n  dev: {serving: {replicas: {min: 1}}}\n"

MODELS = {
    "llm": _model(
        "llm",
        """\
  runtime: kserve-huggingfaceserver
  runtimeVersion: "0.20.0"
  args: ["--max-model-len=8192", "--dtype=bfloat16"]
  timeout: 600
  logger: {mode: response, url: "http://drift.monitoring.svc"}
  replicas: {min: 2}
  autoscaling:
    metric: prometheus
    target: 5
    query: 'sum(vllm:num_requests_waiting{model_name="llm"})'
    serverAddress: http://prometheus.monitoring:9090
    authentication: {name: prometheus-auth, modes: [tls, bearer]}
""",
        fmt="huggingface",
        uri="oci+native://ghcr.io/acme/llm:3",
    ),
    # containerConcurrency is Knative's (Standard mode ignores it), and KEDA gives a transformer a ScaledObject
    # without triggers (generator/mlgitops/language/stockfit.py): these live on a Knative model.
    "edge": _model(
        "edge",
        """  mode: Knative
  containerConcurrency: 4
  autoscaling: {metric: concurrency, target: 4}
  transformer:
    image: ghcr.io/acme/tokenize:1.0
    command: [python, -m, tokenize_svc]
    args: ["--predictor_host=llm-predictor"]
    env: {LOG_LEVEL: info, KEY: {secret: tok, key: k}}
    resources: {limits: {cpu: "1", memory: 1Gi}}
""",
    ),
    "custom": _model(
        "custom",
        """\
  image: ghcr.io/acme/my-server:1.2
  args: ["--port=8080"]
  env: {MODEL_NAME: custom}
  protocol: v2
""",
        uri="oci+fetch://ghcr.io/acme/models/3:3",
    ),
    "plain": _model("plain", "  engine: kserve\n"),
    "plaindep": _model("plaindep", "  engine: deployment\n" + DEV_MIN_1),
    "tfv1": _model("tfv1", "  protocol: v1\n  replicas: {min: 1, max: 5}\n", fmt="tensorflow"),
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example(tmp_path_factory.mktemp("serving") / "repo")
    project = yaml.safe_load((root / "mlgitops.yaml").read_text())
    project["clusterFeatures"].setdefault("provides", {}).setdefault("secrets", []).append("tok")
    (root / "mlgitops.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    for name, text in MODELS.items():
        (root / f"models/{name}.yaml").write_text(text)
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    return root


def _load(repo: Path, model: str, kind: str, name: str) -> dict[str, Any]:
    data = yaml.safe_load((repo / f"base/models/{model}/{kind}-{name}.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _overlay_objects(repo: Path, env: str) -> list[dict[str, Any]]:
    from tests.conftest import kustomize_objects

    return kustomize_objects(repo / f"overlays/{env}")


def test_everything_rendered_passes_the_upstream_schemas(repo: Path) -> None:
    result = run_cli(["validate", "--strict", "--crds", str(CRDS)], cwd=repo)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_model_server_fields(repo: Path) -> None:
    predictor = _load(repo, "llm", "inferenceservice", "llm")["spec"]["predictor"]
    model = predictor["model"]
    assert model["args"] == ["--max-model-len=8192", "--dtype=bfloat16"]
    assert model["runtimeVersion"] == "0.20.0"
    assert model["storageUri"] == "oci+native://ghcr.io/acme/llm:3"
    assert predictor["timeout"] == 600
    edge = _load(repo, "edge", "inferenceservice", "edge")["spec"]["predictor"]
    assert edge["containerConcurrency"] == 4
    assert predictor["logger"] == {"mode": "response", "url": "http://drift.monitoring.svc"}


def test_prometheus_autoscaling_goes_through_keda(repo: Path) -> None:
    isvc = _load(repo, "llm", "inferenceservice", "llm")
    predictor = isvc["spec"]["predictor"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    assert "scaleMetric" not in predictor and "scaleTarget" not in predictor
    assert predictor["autoScaling"] == {
        "metrics": [
            {
                "type": "External",
                "external": {
                    "metric": {
                        "backend": "prometheus",
                        "serverAddress": "http://prometheus.monitoring:9090",
                        "query": 'sum(vllm:num_requests_waiting{model_name="llm"})',
                    },
                    "target": {"type": "Value", "value": 5},
                    # KServe's ExtMetricAuthentication: the KEDA trigger's authenticationRef, authModes as KEDA
                    # reads them (comma-separated, pkg/scalers/authentication)
                    "authenticationRef": {"authenticationRef": {"name": "prometheus-auth"}, "authModes": "tls,bearer"},
                },
            }
        ]
    }
    # replicas.max unset: 3 x min
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (2, 6)


def test_transformer(repo: Path) -> None:
    transformer = _load(repo, "edge", "inferenceservice", "edge")["spec"]["transformer"]
    (container,) = transformer["containers"]
    assert container["name"] == "transformer-container"
    assert container["image"] == "ghcr.io/acme/tokenize:1.0"
    assert container["command"] == ["python", "-m", "tokenize_svc"]
    assert container["args"] == ["--predictor_host=llm-predictor"]
    assert container["env"] == [
        {"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "tok", "key": "k"}}},
        {"name": "LOG_LEVEL", "value": "info"},
    ]
    assert container["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"}}
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_custom_image_is_a_predictor_container_with_storage_uri(repo: Path) -> None:
    predictor = _load(repo, "custom", "inferenceservice", "custom")["spec"]["predictor"]
    assert "model" not in predictor
    (container,) = predictor["containers"]
    assert container["name"] == "kserve-container"
    assert container["image"] == "ghcr.io/acme/my-server:1.2"
    assert container["args"] == ["--port=8080"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"MODEL_NAME": "custom", "PROTOCOL": "v2", "STORAGE_URI": "oci+fetch://ghcr.io/acme/models/3:3"}
    assert container["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}


def test_no_protocol_version_unless_written(repo: Path) -> None:
    plain = _load(repo, "plain", "inferenceservice", "plain")["spec"]["predictor"]["model"]
    assert "protocolVersion" not in plain
    tf = _load(repo, "tfv1", "inferenceservice", "tfv1")["spec"]["predictor"]["model"]
    assert tf["protocolVersion"] == "v1"
    deployment = _load(repo, "plaindep", "deployment", "plaindep-predictor")
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["path"] == "/v1/models/plaindep"


def test_default_max_replicas_agree_on_both_engines(repo: Path) -> None:
    isvc = _load(repo, "plain", "inferenceservice", "plain")["spec"]["predictor"]
    assert (isvc["minReplicas"], isvc["maxReplicas"]) == (1, 3)
    hpa = _load(repo, "plaindep", "horizontalpodautoscaler", "plaindep-predictor")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 3)
    explicit = _load(repo, "tfv1", "inferenceservice", "tfv1")["spec"]["predictor"]
    assert explicit["maxReplicas"] == 5
    # prod of the example raises min (environment patch) without max: the bound follows min
    prod = [o for o in _overlay_objects(repo, "prod") if o["metadata"]["name"] == "plain"]
    assert prod and prod[0]["spec"]["predictor"]["maxReplicas"] == 3 * prod[0]["spec"]["predictor"]["minReplicas"]


WRONG = [
    ("  logger: {mode: everything}\n", "serving.logger.mode", "'all', 'request' or 'response'"),
    ("  engine: deployment\n  timeout: 30\n" + DEV_MIN_1, "serving", "timeout needs engine: kserve"),
    ("  autoscaling: {metric: prometheus, target: 3}\n", "serving.autoscaling", "needs query and serverAddress"),
    (
        "  mode: Knative\n  autoscaling: {metric: prometheus, target: 3, query: q, serverAddress: 'http://p:9090'}\n",
        "serving",
        "needs engine: kserve and mode: Standard",
    ),
    ("  image: ghcr.io/a/b:1\n  runtime: kserve-sklearnserver\n", "serving", "not both"),
    ("  transformer: {args: [x]}\n", "serving.transformer", "image"),
    ("  image: ghcr.io/a/b:1\n  env: {STORAGE_URI: s3://x/y}\n", "serving", "env STORAGE_URI is set by mlgitops"),
    ("  image: ghcr.io/a/server:1.0\n  runtimeVersion: 0.20.0\n", "serving", "with image, put the tag in image"),
    ("  containerConcurrency: -1\n", "serving.containerConcurrency", "greater than or equal to 0"),
    (
        "  autoscaling: {metric: cpu, authentication: {name: prometheus-auth}}\n",
        "serving.autoscaling",
        "query, serverAddress and authentication apply only to metric: prometheus",
    ),
    (
        "  autoscaling: {metric: prometheus, target: 3, query: q, serverAddress: 'http://p:9090',\n"
        "                authentication: {name: prometheus-auth, modes: [basic, tls, bearer]}}\n",
        "serving.autoscaling.authentication",
        "modes basic and bearer exclude each other",
    ),
    (
        "  autoscaling: {metric: prometheus, target: 3, query: q, serverAddress: 'http://p:9090',\n"
        "                authentication: {name: prometheus-auth, modes: [apiKey]}}\n",
        "serving.autoscaling.authentication.modes[0]",
        "'basic', 'bearer', 'tls', 'custom' or 'oauth'",
    ),
]


@pytest.mark.parametrize(("lines", "where", "message"), WRONG)
def test_wrong_serving_fields_are_positioned_errors(tmp_path: Path, lines: str, where: str, message: str) -> None:
    repo = copy_example(tmp_path / "repo")
    (repo / "models/bad.yaml").write_text(_model("bad", lines))
    before = snapshot_tree(repo)
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1, result.stdout
    assert re.match(r"models/bad\.yaml:\d+:\d+: ", result.stderr), result.stderr
    assert message in result.stderr, result.stderr
    assert re.search(rf"(: {re.escape(where)}: | in {re.escape(where)}$)", result.stderr, re.M), result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot_tree(repo) == before


@pytest.mark.parametrize("uri", ["oci+fetch://ghcr.io/a/m/3:3", "oci+native://ghcr.io/a/m/3:3"])
def test_oci_model_car_uris_are_accepted(tmp_path: Path, uri: str) -> None:
    repo = copy_example(tmp_path / "repo")
    (repo / "models/car.yaml").write_text(_model("car", "  engine: kserve\n", uri=uri))
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 0, result.stderr


def test_unknown_oci_variant_is_refused(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    (repo / "models/car.yaml").write_text(_model("car", "  engine: kserve\n", uri="oci+pull://ghcr.io/a/m/3:3"))
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1 and "models/car.yaml:4:" in result.stderr, result.stderr


def test_custom_image_storage_uri_is_checked_for_the_version(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    text = _model("unpinned", "  image: ghcr.io/acme/my-server:1.2\n", uri="s3://m/unpinned/latest/model")
    (repo / "models/unpinned.yaml").write_text(text)
    assert run_cli(["render"], cwd=repo).exit_code == 0
    result = run_cli(["validate", "--format", "json"], cwd=repo)
    assert result.exit_code == 1
    [line, *_] = [line for line in finding_lines(result.stdout) if "[storage-uri-version]" in line]
    assert "/spec/predictor/containers/0/env/" in line
    column = text.splitlines()[3].index('"s3://') + 1  # the model's storageUri, where the fix goes
    assert line.endswith(f"(models/unpinned.yaml:4:{column})"), line


def test_a_standalone_transformer_may_fetch_its_files_through_storage_uri(tmp_path: Path) -> None:
    """Only a transformer collocated in predictor.containers may not set STORAGE_URI (KServe's
    StorageUriPresentInTransformerError); spec.transformer uses it for its own files."""
    repo = copy_example(tmp_path / "repo")
    transformer = "  transformer: {image: ghcr.io/a/t:1.0, env: {STORAGE_URI: s3://m/tx/3/files}}\n"
    (repo / "models/tx.yaml").write_text(_model("tx", transformer))
    assert run_cli(["render"], cwd=repo).exit_code == 0
    isvc = _load(repo, "tx", "inferenceservice", "tx")
    assert {"name": "STORAGE_URI", "value": "s3://m/tx/3/files"} in isvc["spec"]["transformer"]["containers"][0]["env"]
