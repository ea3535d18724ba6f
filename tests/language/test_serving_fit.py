"""What the serving fields of issue 25 refuse, each as one `file:line:col` line at the value that causes it
(render exits 1 and writes nothing): Kubernetes' probe and port rules, Knative's single port, the collocated
transformer's port and fields, KEDA's one autoscaler class, the storage spec, and storage URI schemes a
cluster's ClusterStorageContainers add (clusterFeatures.storageSchemes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_cli, snapshot_tree
from tests.projects import model_yaml, project_yaml, write_project

HEAD = model_yaml("m")  # storageUri s3://models/m/3/model


def _at(text: str, needle: str, *, after: str = "") -> str:
    """`line:col` (1-based) of `needle` in `text`, searching from the first `after`."""
    start = text.index(after) if after else 0
    offset = text.index(needle, start)
    line = text.count("\n", 0, offset) + 1
    return f"{line}:{offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


def _render(tmp_path: Path, model: str, project: str = "") -> tuple[int, list[str]]:
    root = write_project(tmp_path, project or project_yaml("dev", "prod"), {"m": model})
    before = snapshot_tree(root)
    result = run_cli(["render"], cwd=root)
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    if result.exit_code != 0:
        assert result.stdout == "" and snapshot_tree(root) == before  # nothing written
        for line in lines:
            assert re.match(r"^models/m\.yaml:\d+:\d+: \S", line), line
    return result.exit_code, lines


# (serving block, the text the error points at (first occurrence after `after`), `after`, message part)
REFUSED = [
    (
        "serving:\n  transformer: {image: ghcr.io/a/t:1.0, collocated: true}\n",
        "true",
        "collocated",
        "declare the model server's own port in serving.ports",
    ),
    (
        "serving:\n  ports: [{name: http, containerPort: 8080}]\n"
        "  transformer: {image: ghcr.io/a/t:1.0, collocated: true}\n",
        "8080",
        "ports",
        "port 8080 is the collocated transformer's",
    ),
    (
        "serving:\n  ports: [{containerPort: 8085}]\n"
        "  transformer: {image: ghcr.io/a/t:1.0, collocated: true, replicas: {min: 2}}\n",
        "replicas",
        "transformer",
        "drop transformer.replicas",
    ),
    (
        "serving:\n  ports: [{containerPort: 8085}]\n"
        "  transformer: {image: ghcr.io/a/t:1.0, collocated: true, env: {STORAGE_URI: 's3://b/t'}}\n",
        "STORAGE_URI",
        "",
        "KServe refuses STORAGE_URI on a collocated transformer",
    ),
    (
        "serving:\n  mode: Knative\n  ports: [{containerPort: 8085}]\n"
        "  transformer: {image: ghcr.io/a/t:1.0, collocated: true}\n",
        "ports",
        "",
        "the transformer's port is the pod's only one",
    ),
    (
        "serving:\n  mode: Knative\n  probes: {liveness: {tcpSocket: {port: 8085}}}\n"
        "  transformer: {image: ghcr.io/a/t:1.0, collocated: true}\n",
        "liveness",
        "",
        "multi-container-probing",
    ),
    (
        "serving:\n  mode: Knative\n  ports: [{name: h2c, containerPort: 9000}, {containerPort: 9001}]\n",
        "{containerPort: 9001}",
        "",
        "Knative admits a single container port",
    ),
    ("serving:\n  mode: Knative\n  ports: [{name: grpc, containerPort: 9000}]\n", "grpc", "", "h2c"),
    ("serving:\n  mode: Knative\n  ports: [{containerPort: 9091}]\n", "9091", "", "queue-proxy's"),
    ("serving:\n  mode: Knative\n  ports: [{containerPort: 9000, protocol: UDP}]\n", "UDP", "", "only a TCP"),
    (
        "serving:\n  mode: Knative\n  ports: [{name: h2c, containerPort: 9000}]\n"
        "  probes: {readiness: {httpGet: {port: http}}}\n",
        "http}",
        "probes",
        "does not declare (h2c)",
    ),
    (
        "serving:\n  probes: {readiness: {httpGet: {path: /ready, port: admin}}}\n",
        "admin",
        "",
        "the probe names port 'admin', which the container does not declare (http)",
    ),
    (
        "serving:\n  engine: deployment\n  ports: [{name: web, containerPort: 8080}]\n",
        "{name: web",
        "",
        "declare only further ports",
    ),
    (
        "serving:\n  transformer: {image: ghcr.io/a/t:1.0, autoscaling: {metric: prometheus, target: 3, query: q, "
        "serverAddress: 'http://p:9090'}}\n",
        "prometheus",
        "",
        "only when serving.autoscaling does too",
    ),
    (
        "serving:\n  autoscaling: {metric: prometheus, target: 3, query: q, serverAddress: 'http://p:9090'}\n"
        "  transformer: {image: ghcr.io/a/t:1.0, autoscaling: {metric: cpu, target: 60}}\n",
        "transformer",
        "",
        "or give it autoscaling.metric: prometheus too",
    ),
    (
        "serving:\n  autoscaling: {metric: prometheus, target: 3, query: q, serverAddress: 'http://p:9090'}\n"
        "  explainer: {image: ghcr.io/a/e:1.0}\n",
        "explainer",
        "",
        "gives the explainer a KEDA ScaledObject without triggers",
    ),
    (
        "serving:\n  mode: Knative\n  transformer: {image: ghcr.io/a/t:1.0, autoscaling: {metric: cpu, target: 60}}\n",
        "cpu",
        "transformer",
        "admits only concurrency or rps",
    ),
    (
        "serving:\n  protocol: v2\n  batcher: {maxBatchSize: 8}\n",
        "batcher",
        "",
        "batches only v1 ':predict' requests",
    ),
    (
        "serving: {}\nmonitoring: {metrics: {port: metrics}}\n",
        "metrics}",
        "monitoring",
        "does not declare (declared: http)",
    ),
]


@pytest.mark.parametrize(("serving", "needle", "after", "message"), REFUSED, ids=[r[3][:40] for r in REFUSED])
def test_refused_at_the_value_that_causes_it(
    tmp_path: Path, serving: str, needle: str, after: str, message: str
) -> None:
    text = HEAD + serving
    code, lines = _render(tmp_path, text)
    assert code == 1
    where = f"models/m.yaml:{_at(text, needle, after=after)}: "
    assert any(line.startswith(where) and message in line for line in lines), (where, lines)


VALUE_RULES = [
    ("probes: {readiness: {httpGet: {port: 8080}, tcpSocket: {port: 8080}}}", "exactly one of httpGet"),
    ("probes: {readiness: {periodSeconds: 5}}", "found none"),
    ("probes: {liveness: {tcpSocket: {port: 8080}, successThreshold: 2}}", "liveness.successThreshold must be 1"),
    ("probes: {readiness: {tcpSocket: {port: 8080}, terminationGracePeriodSeconds: 5}}", "readiness probe"),
    ("probes: {readiness: {tcpSocket: {port: 70000}}}", "not a port number"),
    ("probes: {readiness: {httpGet: {port: 8080, httpHeaders: [{name: 'X Probe', value: a}]}}}", "HTTP header"),
    ("probes: {readiness: {grpc: {port: web}}}", "integer"),
    ("probes: {readiness: {tcpSocket: {port: 8080, host: 10.0.0.1}}}", "unknown key 'host'"),
    ("probes: {readiness: {exec: {command: []}}}", "at least 1 item"),
    ("ports: [{name: Web, containerPort: 8085}]", "not a port name"),
    ("ports: [{name: web--api, containerPort: 8085}]", "not a port name"),
    ("ports: [{name: '8085', containerPort: 8085}]", "not a port name"),
    ("ports: [{containerPort: 0}]", "not a port number"),
    ("ports: [{name: a, containerPort: 8085}, {name: a, containerPort: 8086}]", "two ports are named 'a'"),
    ("ports: [{containerPort: 8085}, {containerPort: 8085}]", "8085/TCP is listed twice"),
    ("ports: [{containerPort: 8085, hostPort: 80}]", "unknown key 'hostPort'"),
    ("batcher: {maxBatchSize: 0}", "greater than or equal to 1"),
    ("explainer: {image: ghcr.io/a/e:1.0, env: {AWS_SECRET_ACCESS_KEY: abc123}}", "holds a literal credential"),
    ("engine: deployment\n  batcher: {}", "batcher needs engine: kserve"),
    ("engine: deployment\n  explainer: {image: ghcr.io/a/e:1.0}", "explainer needs engine: kserve"),
]


@pytest.mark.parametrize(("line", "message"), VALUE_RULES, ids=[r[1][:40] for r in VALUE_RULES])
def test_kubernetes_value_rules(tmp_path: Path, line: str, message: str) -> None:
    code, lines = _render(tmp_path, HEAD + f"serving:\n  {line}\n")
    assert code == 1
    assert any(message in entry for entry in lines), lines


# --- the storage spec and storage schemes -----------------------------------------------------------------

STORAGE_SPEC = 'model: {format: sklearn, version: "3", storage: {key: minio, path: m/3}}\n'


def _with_source(source: str, serving: str = "serving: {}\n") -> str:
    return HEAD.replace('model: {format: sklearn, version: "3", storageUri: s3://models/m/3/model}\n', source) + serving


def test_storage_path_stands_in_for_the_storage_uri(tmp_path: Path) -> None:
    code, lines = _render(tmp_path, _with_source(STORAGE_SPEC))
    assert code == 0, lines


@pytest.mark.parametrize(
    ("source", "serving", "needle", "message"),
    [
        ('model: {format: sklearn, version: "3"}\n', "serving: {}\n", "{format", "missing required key 'storageUri'"),
        (
            'model: {format: sklearn, version: "3", storageUri: s3://b/m/3, storage: {path: m/3}}\n',
            "serving: {}\n",
            "m/3}",
            "not both",
        ),
        (STORAGE_SPEC, "serving: {engine: deployment}\n", "storage", "engine: deployment runs its own"),
        (STORAGE_SPEC, "serving: {image: 'ghcr.io/a/s:1.0'}\n", "storage", "custom predictor image"),
        ('model: {format: sklearn, version: "3", storage: {path: m/../3}}\n', "serving: {}\n", "m/../3", "'..'"),
        (
            'model: {format: sklearn, version: "3", storage: {path: m/3, parameters: {secret_access_key: abc123}}}\n',
            "serving: {}\n",
            "abc123",
            "storage parameter 'secret_access_key' holds a literal credential",
        ),
    ],
)
def test_storage_spec_refusals(tmp_path: Path, source: str, serving: str, needle: str, message: str) -> None:
    text = _with_source(source, serving)
    code, lines = _render(tmp_path, text)
    assert code == 1
    where = f"models/m.yaml:{_at(text, needle)}: "
    assert any(line.startswith(where) and message in line for line in lines), (where, lines)


def test_an_environment_deleting_the_storage_uri_is_blamed_where_it_does(tmp_path: Path) -> None:
    text = HEAD + "serving: {}\nenvironments:\n  prod: {model: {storageUri: null}}\n"
    code, lines = _render(tmp_path, text)
    assert code == 1
    where = f"models/m.yaml:{_at(text, 'null')}: missing required key 'storageUri'"
    assert any(line.startswith(where) and "(in environment 'prod')" in line for line in lines), lines


MODELSCOPE = "modelscope://Qwen/Qwen2.5-0.5B-Instruct"


def test_a_cluster_storage_scheme_is_refused_until_declared(tmp_path: Path) -> None:
    text = _with_source(f'model: {{format: huggingface, version: "3", storageUri: "{MODELSCOPE}"}}\n')
    code, lines = _render(tmp_path / "undeclared", text)
    assert code == 1
    where = f"models/m.yaml:{_at(text, chr(34) + MODELSCOPE)}: "
    assert len(lines) == 2, lines
    for line, env in zip(lines, ("dev", "prod"), strict=True):
        assert line.startswith(where) and "storageSchemes: [modelscope]" in line, (where, line)
        assert line.endswith(f"(in environment '{env}')"), line
    declared = project_yaml("dev", "prod", extra="clusterFeatures: {storageSchemes: [modelscope, model-registry]}\n")
    assert _render(tmp_path / "declared", text, declared)[0] == 0
    # per environment: a cluster without the ClusterStorageContainer still refuses it
    only_dev = project_yaml("dev", "prod").replace(
        "- {name: dev, namespace: ml-dev}",
        "- {name: dev, namespace: ml-dev, clusterFeatures: {storageSchemes: [modelscope]}}",
    )
    code, lines = _render(tmp_path / "only-dev", text, only_dev)
    assert code == 1 and len(lines) == 1 and lines[0].endswith("(in environment 'prod')"), lines


def test_unknown_schemes_stay_refused_and_deployment_admits_none(tmp_path: Path) -> None:
    declared = project_yaml("prod", extra="clusterFeatures: {storageSchemes: [modelscope]}\n")
    other = _with_source('model: {format: sklearn, version: "3", storageUri: "kit://acme/m:3"}\n')
    code, lines = _render(tmp_path / "kit", other, declared)
    assert code == 1 and "no kit:// scheme" in lines[0], lines
    deployment = _with_source(
        f'model: {{format: sklearn, version: "3", storageUri: "{MODELSCOPE}"}}\n', "serving: {engine: deployment}\n"
    )
    code, lines = _render(tmp_path / "deployment", deployment, declared)
    assert code == 1 and "engine: deployment runs its own storage initializer" in lines[0], lines


@pytest.mark.parametrize("scheme", ["Modelscope", "model registry", "9p", ""])
def test_a_declared_scheme_is_a_uri_scheme(tmp_path: Path, scheme: str) -> None:
    project = project_yaml("prod", extra=f"clusterFeatures: {{storageSchemes: ['{scheme}']}}\n")
    root = write_project(tmp_path, project, {"m": HEAD})
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1 and re.match(r"mlgitops\.yaml:\d+:\d+: .*not a URI scheme", result.stderr), (
        result.stderr
    )


def test_mlgitops_schema_describes_the_new_fields() -> None:
    """`mlgitops schema` (the editors' schema and docs/reference/spec.md) has each field, with its description."""
    import json

    from mlgitops.gitops.scaffold import schema_text

    defs = json.loads(schema_text())["$defs"]
    expected = {
        "Serving": ("ports", "probes", "batcher", "explainer", "multiModel"),
        "Transformer": ("collocated", "nodeClass", "replicas", "autoscaling", "probes"),
        "ModelSource": ("storage",),
        "ModelStorage": ("key", "path", "parameters"),
        "ClusterFeatures": ("storageSchemes",),
        "Batcher": ("maxBatchSize", "maxLatency", "timeout"),
        "Explainer": ("image", "command", "args", "env", "resources"),
        "ContainerPort": ("name", "containerPort", "protocol"),
        "Probes": ("readiness", "liveness", "startup"),
        "Probe": ("httpGet", "tcpSocket", "grpc", "exec", "periodSeconds", "terminationGracePeriodSeconds"),
    }
    for definition, fields in expected.items():
        properties = defs[definition]["properties"]
        for field in fields:
            assert properties[field]["description"].strip(), (definition, field)
    assert "storageUri" not in defs["ModelSource"].get("required", [])  # storage.path may stand in for it


MULTI = 'model: {format: sklearn, version: "3"}\n'


def test_a_multi_model_server_renders_without_a_model_of_its_own(tmp_path: Path) -> None:
    """KServe counts a model predictor without a storageUri or storage spec as a multi-model server
    (IsMMSPredictor): the model block names the format alone."""
    import yaml

    code, lines = _render(tmp_path, _with_source(MULTI, "serving: {multiModel: true}\n"))
    assert code == 0, lines
    isvc = yaml.safe_load((tmp_path / "base" / "models" / "m" / "inferenceservice-m.yaml").read_text())
    assert isvc["spec"]["predictor"]["model"]["modelFormat"] == {"name": "sklearn"}
    assert not {"storageUri", "storage"} & set(isvc["spec"]["predictor"]["model"])


@pytest.mark.parametrize(
    ("source", "serving", "needle", "message"),
    [
        (
            'model: {format: sklearn, version: "3", storageUri: s3://b/m/3}\n',
            "serving: {multiModel: true}\n",
            "storageUri",
            "with model.storageUri KServe treats the predictor as a single-model server",
        ),
        (
            'model: {format: sklearn, version: "3", storage: {key: minio, path: m/3}}\n',
            "serving: {multiModel: true}\n",
            "storage",
            "with model.storage KServe treats the predictor as a single-model server",
        ),
        (MULTI, "serving: {engine: deployment, multiModel: true}\n", "multiModel", "use engine: kserve"),
        (MULTI.replace("sklearn", "huggingface"), "serving: {multiModel: true}\n", "format", "huggingface"),
        (MULTI, "serving: {multiModel: true, image: 'ghcr.io/a/s:1.0'}\n", "image", "MULTI_MODEL_SERVER=true"),
        (
            MULTI,
            "serving: {multiModel: true, canary: {version: '4', storageUri: s3://b/m/4, trafficPercent: 10}}\n",
            "canary",
            "a canary predictor has a storageUri of its own",
        ),
    ],
)
def test_multi_model_refusals(tmp_path: Path, source: str, serving: str, needle: str, message: str) -> None:
    text = _with_source(source, serving)
    code, lines = _render(tmp_path, text)
    assert code == 1
    where = f"models/m.yaml:{_at(text, needle)}: "
    assert any(line.startswith(where) and message in line for line in lines), (where, lines)
