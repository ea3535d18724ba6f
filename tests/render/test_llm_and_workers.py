"""Large models (issue 25): `engine: llm` renders a KServe LLMInferenceService, `serving.workers` a multi-node
predictor (workerSpec) or the LLM's parallelism, each checked against the upstream CRD, refused with a
position where KServe v0.20 would refuse or ignore it, and covered by the source map, the policies, the
monitoring and diff's summary like an InferenceService."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.checks.schemas.crd import SchemaSet, load_crd_schemas
from mlgitops.delivery.diff.summary import model_summary
from mlgitops.language.loader import load_workspace
from mlgitops.language.resolve import resolve
from mlgitops.render.model import render_model
from mlgitops.util.errors import SpecError
from tests.conftest import finding_lines, run_cli
from tests.projects import project_yaml, write_project

pytestmark = pytest.mark.usefixtures("private_validate_cache")

GPU = """\
gpuClasses:
  l4:
    nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
  mig:
    resource: nvidia.com/mig-1g.10gb
    nodeSelector: {nvidia.com/mig.capable: "true"}
"""
PROJECT = project_yaml("dev", "prod", extra=GPU)
LLM = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: qwen}
model: {format: huggingface, version: "2", storageUri: "hf://Qwen/Qwen2.5-7B-Instruct"}
serving:
  engine: llm
  replicas: {min: 3, max: 9}
  gpu: {count: 2, class: l4}
  resources: {requests: {cpu: "2", memory: 16Gi}, limits: {cpu: "4", memory: 32Gi}}
  args: ["--max-model-len=8192"]
  env: {VLLM_LOGGING_LEVEL: DEBUG}
  workers: {tensorParallelSize: 2}
  router: {scheduler: true}
"""
MULTINODE = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: big}
model: {format: huggingface, version: "1", storageUri: "pvc://models/llama/1"}
serving:
  runtime: kserve-huggingfaceserver-multinode
  replicas: {min: 1, max: 4}
  gpu: {count: 4, class: l4}
  resources: {limits: {cpu: "8", memory: 64Gi}}
  workers: {size: 2}
"""


@pytest.fixture(scope="module")
def schemas(crds_dir: Path) -> SchemaSet:
    return load_crd_schemas(crds_dir)


def _render(root: Path, models: dict[str, str], env: str = "prod", project: str = PROJECT) -> dict[str, Any]:
    write_project(root, project, models)
    workspace = load_workspace(root)
    objects: dict[str, Any] = {}
    for model in workspace.models:
        resolved = resolve(workspace, model, env)
        assert resolved is not None
        objects.update({f"{o['kind']}/{o['metadata']['name']}": o for o in render_model(resolved, workspace.project)})
    return objects


def _problems(root: Path, models: dict[str, str], project: str = PROJECT) -> list[str]:
    write_project(root, project, models)
    with pytest.raises(SpecError) as caught:
        load_workspace(root)
    return [str(p) for p in caught.value.problems]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_llm_inference_service_uses_the_version_the_crd_stores(crds_dir: Path) -> None:
    crd = yaml.safe_load((crds_dir / "kserve_llminferenceservices.yaml").read_text())
    stored = [v["name"] for v in crd["spec"]["versions"] if v["storage"] and v["served"]]
    assert stored == ["v1alpha2"]


def test_engine_llm_renders_an_llm_inference_service(tmp_path: Path, schemas: SchemaSet) -> None:
    obj = _render(tmp_path, {"qwen": LLM})["LLMInferenceService/qwen"]
    assert obj["apiVersion"] == "serving.kserve.io/v1alpha2"
    assert schemas.validate(obj) == []
    spec = obj["spec"]
    assert spec["model"] == {"uri": "hf://Qwen/Qwen2.5-7B-Instruct", "name": "qwen"}
    assert spec["replicas"] == 3  # replicas.min; max does not apply to a fixed count
    assert spec["parallelism"] == {"tensor": 2}
    assert spec["router"] == {"scheduler": {}}
    [main] = spec["template"]["containers"]
    assert main["name"] == "main"  # the container KServe's presets merge over, by name
    assert main["resources"]["limits"] == {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "2"}
    assert main["args"] == ["--max-model-len=8192"]
    assert {"name": "VLLM_LOGGING_LEVEL", "value": "DEBUG"} in main["env"]
    assert (
        main["securityContext"]["runAsNonRoot"] is True and main["securityContext"]["readOnlyRootFilesystem"] is False
    )
    assert spec["template"]["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    # the preset's own /dev/shm volume, resized for two GPUs
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}} in spec["template"]["volumes"]
    assert "serving.kserve.io/deploymentMode" not in obj["metadata"]["annotations"]


def test_the_router_renders_as_kserves_llm_samples_write_it(tmp_path: Path, schemas: SchemaSet) -> None:
    project = project_yaml("prod", extra=GPU + "clusterFeatures: {gatewayApi: true}\n")
    model = LLM.replace("router: {scheduler: true}", "router: {gateway: true, scheduler: true}")
    obj = _render(tmp_path, {"qwen": model}, project=project)["LLMInferenceService/qwen"]
    assert obj["spec"]["router"] == {"route": {}, "gateway": {}, "scheduler": {}}
    assert schemas.validate(obj) == []


def test_a_managed_gateway_needs_the_gateway_api_in_that_environment(tmp_path: Path) -> None:
    project = project_yaml("dev", "prod", extra=GPU).replace(
        "{name: prod, namespace: ml-prod}", "{name: prod, namespace: ml-prod, clusterFeatures: {gatewayApi: true}}"
    )
    model = LLM.replace("router: {scheduler: true}", "router: {gateway: true}")
    problems = _problems(tmp_path, {"qwen": model}, project)
    line = _line(model, "router:")
    column = model.splitlines()[line - 1].index("true") + 1  # the value that asks for the gateway
    assert problems == [
        f"models/qwen.yaml:{line}:{column}: router.gateway makes KServe manage an HTTPRoute on a Gateway, which "
        "needs the Gateway API in the cluster: set clusterFeatures.gatewayApi: true where it is installed, or "
        "leave gateway false (the model is then reached through its Service) (in environment 'dev')"
    ]


@pytest.mark.parametrize(
    ("change", "needle", "message"),
    [
        ("  runtime: kserve-huggingfaceserver\n", "runtime:", "serving.runtime does not apply to engine: llm"),
        ("  mode: Knative\n", "mode:", "engine: llm has no Knative mode"),
        (
            '  canary: {version: "3", storageUri: "hf://Qwen/Qwen3", trafficPercent: 10}\n',
            "canary:",
            "serving.canary does not apply to engine: llm",
        ),
        ("  workers: {pipelineParallelSize: 2}\n", "workers:", "kserve-config-llm-worker-pipeline-parallel"),
        ("  workers: {tensorParallelSize: 4}\n", "workers:", "tensorParallelSize 4 needs 4 GPUs in the pod"),
        ("  batcher: {maxBatchSize: 8}\n", "batcher:", "serving.batcher does not apply to engine: llm"),
        ("  ports: [{containerPort: 9000}]\n", "ports:", "vLLM serves on the port of KServe's preset (8000)"),
    ],
)
def test_what_an_llm_inference_service_cannot_take_is_refused_at_its_line(
    tmp_path: Path, change: str, needle: str, message: str
) -> None:
    model = LLM.replace("  workers: {tensorParallelSize: 2}\n", "") + change
    problems = _problems(tmp_path, {"qwen": model})
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"models/qwen.yaml:{_line(model, needle)}:")
    assert message in problems[0]


def test_probes_go_into_the_main_container(tmp_path: Path, schemas: SchemaSet) -> None:
    model = LLM + "  probes: {liveness: {httpGet: {path: /health, port: 8000}, initialDelaySeconds: 120}}\n"
    obj = _render(tmp_path, {"qwen": model})["LLMInferenceService/qwen"]
    assert obj["spec"]["template"]["containers"][0]["livenessProbe"] == {
        "httpGet": {"path": "/health", "port": 8000},
        "initialDelaySeconds": 120,
    }
    assert schemas.validate(obj) == []


def test_an_llm_inference_service_takes_no_storage_spec(tmp_path: Path) -> None:
    model = LLM.replace('storageUri: "hf://Qwen/Qwen2.5-7B-Instruct"}', "storage: {key: hub, path: qwen/2}}")
    problems = _problems(tmp_path, {"qwen": model})
    assert any("an LLMInferenceService takes model.storageUri only" in p for p in problems), problems


def test_an_llm_model_from_a_scheme_kserve_cannot_fetch_is_refused(tmp_path: Path) -> None:
    model = LLM.replace("hf://Qwen/Qwen2.5-7B-Instruct", "gs://models/qwen/2")
    [problem] = _problems(tmp_path, {"qwen": model})
    assert problem.startswith("models/qwen.yaml:4:")
    assert "hf, s3, pvc, oci, oci+native only (KServe v0.20 refuses gs://" in problem


def test_multinode_renders_the_predictor_worker_spec(tmp_path: Path, schemas: SchemaSet) -> None:
    isvc = _render(tmp_path, {"big": MULTINODE})["InferenceService/big"]
    assert schemas.validate(isvc) == []
    predictor = isvc["spec"]["predictor"]
    worker = predictor["workerSpec"]
    # size 2 with 4 GPUs a pod: vLLM's tensor parallel size is the pod's GPUs, one pipeline stage a pod
    assert (worker["tensorParallelSize"], worker["pipelineParallelSize"]) == (4, 2)
    [container] = worker["containers"]
    assert container["name"] == "worker-container"
    # KServe sizes the Ray cluster from the GPUs the pods request
    assert container["resources"]["requests"]["nvidia.com/gpu"] == "4"
    assert predictor["model"]["resources"]["requests"]["nvidia.com/gpu"] == "4"
    assert worker["nodeSelector"] == predictor["nodeSelector"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "none"
    assert "maxReplicas" not in predictor  # multi-node serving does not autoscale
    assert (
        "workerSpec"
        not in _render(tmp_path / "single", {"big": MULTINODE.replace("  workers: {size: 2}\n", "")})[
            "InferenceService/big"
        ]["spec"]["predictor"]
    )


@pytest.mark.parametrize(
    ("change", "needle", "message"),
    [
        ("  mode: Knative\n", "mode:", "runs in mode: Standard only"),
        ('  canary: {version: "2", storageUri: pvc://models/llama/2, trafficPercent: 10}\n', "canary:", "canary"),
        ("  autoscaling: {metric: cpu, target: 60}\n", "autoscaling:", "autoscaler class none"),
        ("  env: {TENSOR_PARALLEL_SIZE: '8'}\n", "TENSOR_PARALLEL_SIZE", "set by KServe from serving.workers"),
        (
            "  workers: {size: 3, tensorParallelSize: 8}\n",
            "workers:",
            "ceil(tensorParallelSize 8 × pipelineParallelSize 3 / 4 GPUs per pod) = 6",
        ),
    ],
)
def test_multinode_is_refused_where_kserve_refuses_or_ignores_it(
    tmp_path: Path, change: str, needle: str, message: str
) -> None:
    model = MULTINODE.replace("  workers: {size: 2}\n", "" if "workers" in change else "  workers: {size: 2}\n")
    model += change
    problems = _problems(tmp_path, {"big": model})
    assert any(p.startswith(f"models/big.yaml:{_line(model, needle)}:") and message in p for p in problems), problems


def test_multinode_storage_runtime_image_and_gpu_resource(tmp_path: Path) -> None:
    s3 = MULTINODE.replace("pvc://models/llama/1", "s3://models/llama/1")
    assert "loads the model from pvc:// or oci:// only" in _problems(tmp_path / "a", {"big": s3})[0]
    stock = MULTINODE.replace("kserve-huggingfaceserver-multinode", "kserve-huggingfaceserver")
    assert "the stock kserve-huggingfaceserver has none" in _problems(tmp_path / "b", {"big": stock})[0]
    image = MULTINODE.replace("  runtime: kserve-huggingfaceserver-multinode\n", "  image: ghcr.io/acme/vllm:1\n")
    assert "a custom predictor container has none" in _problems(tmp_path / "c", {"big": image})[0]
    spec_path = MULTINODE.replace('storageUri: "pvc://models/llama/1"}', "storage: {key: nfs, path: llama/1}}")
    assert any("needs model.storageUri" in p for p in _problems(tmp_path / "e", {"big": spec_path}))
    mig = MULTINODE.replace("class: l4", "class: mig")
    [problem] = _problems(tmp_path / "d", {"big": mig})
    assert problem.startswith(f"models/big.yaml:{_line(mig, 'gpu:')}:") and "nvidia.com/mig-1g.10gb" in problem


def test_workers_and_router_need_their_engines(tmp_path: Path) -> None:
    deployment = MULTINODE.replace("  runtime: kserve-huggingfaceserver-multinode\n", "  engine: deployment\n")
    assert any(
        "serving.workers needs engine: kserve or llm" in p for p in _problems(tmp_path / "a", {"big": deployment})
    )
    routed = MULTINODE.replace("  workers: {size: 2}\n", "  router: {scheduler: true}\n")
    assert any("serving.router applies to engine: llm" in p for p in _problems(tmp_path / "b", {"big": routed}))


def test_validate_checks_the_llm_inference_service_like_an_inference_service(tmp_path: Path, crds_dir: Path) -> None:
    """Policies and the source map: the unversioned hf:// URI is found at model.storageUri; replicas 0 on GPUs
    (dev) is flagged; the findings point at the spec lines."""
    model = LLM + "environments:\n  dev: {serving: {replicas: {min: 0}}}\n"
    write_project(tmp_path, PROJECT, {"qwen": model})
    result = run_cli(["validate", "--format", "json", "--crds", str(crds_dir)], cwd=tmp_path)
    lines = finding_lines(result.stdout)
    storage = _line(model, "storageUri")
    column = model.splitlines()[storage - 1].index('"hf://') + 1  # the quoted value
    assert any(
        line.startswith("error [storage-uri-version] prod LLMInferenceService/qwen /spec/model/uri")
        and line.endswith(f"(models/qwen.yaml:{storage}:{column})")
        for line in lines
    ), lines
    assert any("[gpu-scale-to-zero] dev LLMInferenceService/qwen /spec/replicas" in line for line in lines), lines
    assert not any("[gpu-class]" in line or "[pod-security]" in line or "[schema]" in line for line in lines), lines
    assert not any("[no-schema]" in line for line in lines), lines  # checked against the LLMInferenceService CRD


def test_pod_security_and_limits_reach_the_llm_pods(tmp_path: Path) -> None:
    model = LLM.replace('  resources: {requests: {cpu: "2", memory: 16Gi}, limits: {cpu: "4", memory: 32Gi}}\n', "")
    model += "  securityContext: {runAsNonRoot: false}\n"
    project = project_yaml("dev", "prod", extra=GPU + "clusterFeatures: {podSecurity: restricted}\n")
    write_project(tmp_path, project, {"qwen": model})
    lines = finding_lines(run_cli(["validate", "--format", "json"], cwd=tmp_path).stdout)
    security = _line(model, "securityContext")
    assert any(
        "[pod-security] prod LLMInferenceService/qwen /spec/template/containers/0/securityContext/runAsNonRoot" in line
        and f"models/qwen.yaml:{security}:" in line
        for line in lines
    ), lines
    assert any("[prod-limits] prod LLMInferenceService/qwen /spec/template/containers/0/resources" in x for x in lines)


def test_monitoring_scrapes_vllm_on_the_llm_pods(tmp_path: Path) -> None:
    model = LLM + "monitoring: {slo: {latencyP95Ms: 4000}}\n"
    objects = _render(tmp_path, {"qwen": model})
    monitor = objects["PodMonitor/qwen"]
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "qwen",
        "app.kubernetes.io/component": "llminferenceservice-workload",
    }
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["portNumber"], endpoint["path"]) == (8000, "/metrics")
    rules = yaml.safe_dump(objects["PrometheusRule/qwen"])
    assert "vllm:e2e_request_latency_seconds_bucket" in rules


def test_diff_summarises_workers_and_the_router(tmp_path: Path) -> None:
    write_project(tmp_path, PROJECT, {"qwen": LLM, "big": MULTINODE})
    workspace = load_workspace(tmp_path)
    llm = resolve(workspace, workspace.model("qwen"), "prod")
    big = resolve(workspace, workspace.model("big"), "prod")
    assert llm is not None and big is not None
    wider = llm.spec.model_copy(deep=True)
    assert wider.serving is not None and wider.serving.router is not None and wider.serving.workers is not None
    wider.serving.router.gateway = True
    wider.serving.workers.tensorParallelSize = 1
    summary = model_summary(llm.spec, wider)
    assert "workers 1 pod (tensor 2, pipeline 1) → 1 pod (tensor 1, pipeline 1)" in summary
    assert "router scheduler → gateway and scheduler" in summary
    assert "workers 2 pods (tensor 4, pipeline 2)" in model_summary(None, big.spec)
