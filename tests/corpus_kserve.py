"""KServe InferenceServices of the corpus: kserve/kserve's own samples (docs/samples/v1beta1/), and its
LLMInferenceService, InferenceGraph and multi-model serving samples (docs/samples/llmisvc/, docs/samples/graph/,
docs/samples/multimodelserving/, at v0.20.0).

The samples mostly use the framework field (`predictor.sklearn: {storageUri}`); mlgitops writes the
`predictor.model: {modelFormat: {name: sklearn}}` form, which KServe treats as the same predictor
(kserve pkg/apis/serving/v1beta1/predictor_sklearn.go and predictor_model.go). That difference alone
is not counted as a loss.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from corpus_case import Case, Objects, graph_nodes, llm, main_container, model, predictor, protocol

KSERVE = "kserve/kserve"
SAMPLES = "docs/samples/v1beta1"
LLM_SAMPLES = "docs/samples/llmisvc"
GRAPH_SAMPLES = "docs/samples/graph"
MMS_SAMPLES = "docs/samples/multimodelserving"
WEBSITE = "kserve/website"
WEBSITE_DOCS = "versioned_docs/version-0.20/model-serving"


def _simple(fmt: str, uri: str, proto: str = "v1") -> Callable[[Objects], None]:
    def check(objs: Objects) -> None:
        assert model(objs)["modelFormat"]["name"] == fmt
        assert model(objs)["storageUri"] == uri
        assert protocol(objs) == proto

    return check


def _source(fmt: str, uri: str, proto: str = "v1", extra: str = "") -> str:
    """A v1 model leaves `protocol` unset, as the samples do: KServe defaults it to v1 (see `protocol`)."""
    fields = ([f"protocol: {proto}"] if proto != "v1" else []) + ([extra.removeprefix(", ")] if extra else [])
    serving = f"serving: {{{', '.join(fields)}}}"
    return f'model: {{format: {fmt}, version: "1", storageUri: "{uri}"}}\n{serving}\n'


# A probe's httpGet.port is required by Kubernetes (the samples leave it out; Knative filled in the serving
# port): written as the serving port, 8080 in Standard mode.
FLOWERS_PROBE = {"httpGet": {"path": "/v1/models/flowers", "port": 8080}}


def _probes(objs: Objects) -> None:
    assert model(objs)["readinessProbe"] == FLOWERS_PROBE
    assert model(objs)["livenessProbe"] == FLOWERS_PROBE


def _timeout(objs: Objects) -> None:
    assert predictor(objs)["timeout"] == 600
    assert model(objs)["livenessProbe"] == FLOWERS_PROBE


def _grpc(objs: Objects) -> None:
    # protocol TCP: the API server's default for a container port, written out
    assert model(objs)["ports"] == [{"name": "h2c", "containerPort": 9000, "protocol": "TCP"}]
    assert model(objs)["modelFormat"]["name"] == "tensorflow"


def _canary(objs: Objects) -> None:
    assert predictor(objs)["canaryTrafficPercent"] == 20
    assert model(objs)["storageUri"] == "gs://kfserving-samples/models/tensorflow/flowers"
    annotations = objs["InferenceService"]["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "Knative"  # a serverless rollout


def _cluster_local(objs: Objects) -> None:
    labels = objs["InferenceService"]["metadata"]["labels"]
    assert labels["serving.knative.dev/visibility"] == "cluster-local"


def _service_account(objs: Objects) -> None:
    assert predictor(objs)["serviceAccountName"] == "serving-admin"


def _mnist_v2(objs: Objects) -> None:
    assert protocol(objs) == "v2"
    assert model(objs)["args"] == ["--disable-token-auth", "--enable-model-api"]
    assert model(objs)["storageUri"] == "gs://kfserving-examples/models/torchserve/image_classifier/v2"


def _bert_gpu(objs: Objects) -> None:
    limits = model(objs)["resources"]["limits"]
    assert limits["memory"] == "4Gi" and str(limits["nvidia.com/gpu"]) == "1"
    assert protocol(objs) == "v2"


def _torchscript(objs: Objects) -> None:
    assert model(objs)["runtimeVersion"] == "21.08-py3"
    assert {"name": "OMP_NUM_THREADS", "value": "1"} in model(objs)["env"]
    assert model(objs)["modelFormat"]["name"] == "triton"


def _logger(objs: Objects) -> None:
    assert predictor(objs)["logger"] == {"url": "http://message-dumper.default.svc.cluster.local", "mode": "all"}
    assert predictor(objs)["minReplicas"] == 1


def _transformer(objs: Objects) -> None:
    container = objs["InferenceService"]["spec"]["transformer"]["containers"][0]
    assert container["image"] == "kserve/torchserve-image-transformer:latest"
    uri = "gs://kfserving-examples/models/torchserve/image_classifier/v1"
    assert {"name": "STORAGE_URI", "value": uri} in container["env"]
    assert model(objs)["storageUri"] == uri and model(objs)["modelFormat"]["name"] == "pytorch"


def _custom(objs: Objects) -> None:
    assert "model" not in predictor(objs)
    [container] = predictor(objs)["containers"]
    assert container["image"] == "codait/max-object-detector"
    assert container["ports"] == [{"containerPort": 5000, "protocol": "TCP"}]


def _keda(objs: Objects) -> None:
    isvc = objs["InferenceService"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "keda"
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    cpu, external = predictor(objs)["autoScaling"]["metrics"]
    assert cpu["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}
    assert external["type"] == "External" and external["external"]["metric"]["backend"] == "prometheus"
    assert external["external"]["target"]["type"] == "Value" and str(external["external"]["target"]["value"]) == "100"
    assert (predictor(objs)["minReplicas"], predictor(objs)["maxReplicas"]) == (1, 10)


def _torchserve_gpu(objs: Objects) -> None:
    limits = model(objs)["resources"]["limits"]
    assert limits["memory"] == "4Gi" and str(limits["nvidia.com/gpu"]) == "1"
    assert model(objs)["args"] == ["--disable-token-auth", "--enable-model-api"]


def _torchserve_grpc(objs: Objects) -> None:
    assert model(objs)["ports"] == [{"name": "h2c", "containerPort": 7070, "protocol": "TCP"}]


def _bert_triton(objs: Objects) -> None:
    resources = model(objs)["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "1", "memory": "8Gi"}
    assert model(objs)["runtimeVersion"] == "20.09-py3" and model(objs)["modelFormat"]["name"] == "triton"
    [container] = objs["InferenceService"]["spec"]["transformer"]["containers"]
    assert container["command"] == ["python", "-m", "bert_transformer_v2"]
    assert container["env"] == [
        {"name": "STORAGE_URI", "value": "gs://kfserving-samples/models/triton/bert-transformer"}
    ]


def _pinned(objs: Objects) -> None:
    """canaryTrafficPercent 0: the new revision is rolled out but gets no traffic (pinned)."""
    assert predictor(objs)["canaryTrafficPercent"] == 0
    assert model(objs)["storageUri"] == "gs://kfserving-samples/models/tensorflow/flowers-2"


def _batcher(objs: Objects) -> None:
    assert predictor(objs)["batcher"] == {"maxBatchSize": 16, "maxLatency": 300}
    assert predictor(objs)["minReplicas"] == 1
    assert model(objs)["modelFormat"]["name"] == "pytorch"


def _image_explainer(objs: Objects) -> None:
    assert model(objs)["resources"] == {"requests": {"cpu": "0.1", "memory": "5Gi"}, "limits": {"memory": "10Gi"}}
    [container] = objs["InferenceService"]["spec"]["explainer"]["containers"]
    assert container["name"] == "kserve-container" and container["image"] == "kserve/alibi-explainer:v0.12.1"
    assert container["args"] == [
        "--model_name=cifar10",
        "--http_port=8080",
        "--predictor_host=cifar10-predictor.default",
        "--storage_uri=/mnt/models",
        "AnchorImages",
        "--batch_size=40",
        "--stop_on_first=True",
    ]
    assert container["env"] == [
        {"name": "STORAGE_URI", "value": "gs://kfserving-examples/models/tensorflow/cifar/explainer-0.9.1"}
    ]
    assert container["resources"] == {
        "requests": {"cpu": "0.1", "memory": "5Gi"},
        "limits": {"cpu": "1", "memory": "10Gi"},
    }


SMALL = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def _collocation(objs: Objects) -> None:
    spec = objs["InferenceService"]["spec"]
    assert "transformer" not in spec  # the transformer is in the predictor's pod
    assert model(objs)["storageUri"] == "gs://kfserving-examples/models/torchserve/image_classifier/v1"
    assert model(objs)["resources"] == SMALL and "ports" not in model(objs)  # Knative: one port, the transformer's
    [container] = predictor(objs)["containers"]
    assert container["name"] == "transformer-container" and container["image"] == "kserve/image-transformer:latest"
    assert container["args"][-2:] == ["--predictor_host=localhost:8085", "--enable_predictor_health_check"]
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["readinessProbe"] == {
        "httpGet": {"path": "/v1/models/mnist", "port": 8080},
        "initialDelaySeconds": 5,
        "periodSeconds": 10,
    }
    assert container["resources"] == SMALL


def _custom_collocation(objs: Objects) -> None:
    assert "model" not in predictor(objs)
    server, transformer = predictor(objs)["containers"]
    assert (server["name"], server["image"]) == ("kserve-container", "pytorch/torchserve:0.9.0-cpu")
    assert server["args"][0] == "torchserve" and server["resources"] == SMALL
    assert {e["name"]: e["value"] for e in server["env"]} == {
        "STORAGE_URI": "gs://kfserving-examples/models/torchserve/image_classifier/v1",
        "TS_SERVICE_ENVELOPE": "kserve",
    }
    assert transformer["name"] == "transformer-container" and "env" not in transformer
    assert transformer["args"][-1] == "--predictor_host=localhost:8085"
    assert transformer["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]


def _storage_spec(objs: Objects) -> None:
    assert "storageUri" not in model(objs)
    assert model(objs)["storage"] == {
        "key": "localMinIO",
        "path": "sklearn",
        "parameters": {"bucket": "example-models"},
    }


GPU_6CPU = {"cpu": "6", "memory": "24Gi", "nvidia.com/gpu": "1"}


def _hub_model(uri: str, account: str, args: list[str]) -> Callable[[Objects], None]:
    def check(objs: Objects) -> None:
        assert model(objs)["storageUri"] == uri
        assert predictor(objs)["serviceAccountName"] == account
        assert model(objs)["args"] == args
        # The sample also requests the GPU; Kubernetes defaults an extended resource's request to its limit.
        requests = {k: v for k, v in GPU_6CPU.items() if k != "nvidia.com/gpu"}
        assert model(objs)["resources"] == {"requests": requests, "limits": GPU_6CPU}

    return check


PROBES = (
    ", probes: {readiness: {httpGet: {path: /v1/models/flowers, port: 8080}},"
    " liveness: {httpGet: {path: /v1/models/flowers, port: 8080}}}"
)

KEDA = """\
model: {format: sklearn, version: "1", storageUri: "gs://kfserving-examples/models/sklearn/1.0/model"}
serving:
  replicas: {min: 1, max: 10}
  autoscaling:
    metric: prometheus
    target: 100
    serverAddress: http://prometheus.monitoring.svc.cluster.local:9090
    query: sum(rate(istio_requests_total{destination_workload="sklearn-iris-keda-advanced-predictor"}[2m]))
patches:  # the sample also scales on CPU; the field takes one metric
- target: {kind: InferenceService}
  ops:
  - op: add
    path: /spec/predictor/autoScaling/metrics/0
    value: {type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}
"""

# --- LLMInferenceService and InferenceGraph samples ------------------------------------------------------------

QWEN = "hf://Qwen/Qwen2.5-7B-Instruct"
LLM_SERVED_NAME = "the model is served under the model's name, not the Hugging Face id the sample gives spec.model.name"
_QWEN_SERVING = (
    "  replicas: {min: 3}\n  gpu: {count: 1}\n"
    "  resources: {requests: {cpu: '2', memory: 16Gi}, limits: {cpu: '4', memory: 32Gi}}\n"
)


def _llm_source(uri: str, serving: str) -> str:
    return f'model: {{format: huggingface, version: "1", storageUri: "{uri}"}}\nserving:\n  engine: llm\n{serving}'


def _opt_125m(objs: Objects) -> None:
    spec = llm(objs)
    assert spec["model"]["uri"] == "hf://facebook/opt-125m" and spec["replicas"] == 1
    assert spec["router"] == {"route": {}, "gateway": {}, "scheduler": {}}
    main = main_container(objs)
    assert main["image"] == "public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.19.0"
    assert main["securityContext"]["runAsNonRoot"] is False
    assert {"name": "VLLM_CPU_KVCACHE_SPACE", "value": "1"} in main["env"]
    assert main["resources"] == {"requests": {"cpu": "100m", "memory": "8Gi"}, "limits": {"cpu": "1", "memory": "10Gi"}}


def _qwen(router: dict[str, dict[str, str]]) -> Callable[[Objects], None]:
    def check(objs: Objects) -> None:
        spec = llm(objs)
        assert spec["model"]["uri"] == QWEN and spec["replicas"] == 3 and spec["router"] == router
        resources = main_container(objs)["resources"]
        assert resources["limits"] == {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "1"}
        # the GPU request: Kubernetes defaults an extended resource's request to its limit, as the sample writes it
        assert resources["requests"] == {"cpu": "2", "memory": "16Gi"}

    return check


# The prefill/decode sample: the decode workload (spec.template) is the model's serving block; the prefill
# workload is a patch, its pod written as mlgitops renders the decode pod (hardened, /dev/shm), since KServe
# builds the prefill Deployment from spec.prefill.template alone (workload_single_node.go) over its
# kserve-config-llm-prefill-template preset.
def _kv(role: str) -> str:
    """The sample's VLLM_ADDITIONAL_ARGS for a role, as a YAML double-quoted string."""
    return f'"--kv_transfer_config \'{{\\"kv_connector\\":\\"NixlConnector\\",\\"kv_role\\":\\"kv_{role}\\"}}\'"'


_RDMA = "rdma/roce_gdr"
_PD_ENV = "KSERVE_INFER_ROCE: 'true', UCX_PROTO_INFO: 'y', UCX_TLS: 'rc,sm,self,cuda_copy,cuda_ipc'"
_PD_PROBE = (
    "{httpGet: {path: /health, port: 8000, scheme: HTTPS}, initialDelaySeconds: 120, periodSeconds: 30, "
    "timeoutSeconds: 30, failureThreshold: 5}"
)
_POD_IP = "{name: VLLM_NIXL_SIDE_CHANNEL_HOST, valueFrom: {fieldRef: {fieldPath: status.podIP}}}"
_QWEN_PD = (
    "metadata:\n  annotations: {k8s.v1.cni.cncf.io/networks: roce-p2}  # RoCE network for the KV cache transfer\n"
    + _llm_source(
        QWEN,
        "  replicas: {min: 1}\n  gpu: {count: 1}\n"
        f"  resources: {{requests: {{cpu: '2', memory: 16Gi, {_RDMA}: '1'}}, "
        f"limits: {{cpu: '4', memory: 32Gi, {_RDMA}: '1'}}}}\n"
        f"  env: {{{_PD_ENV}, VLLM_ADDITIONAL_ARGS: {_kv('consumer')}}}\n"
        f"  probes: {{liveness: {_PD_PROBE}}}\n"
        "  router: {gateway: true, scheduler: true}\n",
    )
    + f"""patches:
- target: {{kind: LLMInferenceService}}
  ops:
  - {{op: add, path: /spec/template/containers/0/env/-, value: {_POD_IP}}}
  - op: add
    path: /spec/prefill
    value:
      replicas: 2
      template:
        securityContext: {{seccompProfile: {{type: RuntimeDefault}}}}
        containers:
        - name: main
          env:
          - {{name: KSERVE_INFER_ROCE, value: 'true'}}
          - {_POD_IP}
          - {{name: VLLM_ADDITIONAL_ARGS, value: {_kv("producer")}}}
          - {{name: UCX_PROTO_INFO, value: 'y'}}
          - {{name: UCX_TLS, value: 'rc,sm,self,cuda_copy,cuda_ipc'}}
          resources:
            limits: {{cpu: '4', memory: 32Gi, nvidia.com/gpu: '1', {_RDMA}: '1'}}
            requests: {{cpu: '2', memory: 16Gi, nvidia.com/gpu: '1', {_RDMA}: '1'}}
          livenessProbe: {_PD_PROBE}
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {{drop: [ALL]}}
            readOnlyRootFilesystem: false
            runAsNonRoot: true
            seccompProfile: {{type: RuntimeDefault}}
          volumeMounts: [{{name: dshm, mountPath: /dev/shm}}]
        volumes: [{{name: dshm, emptyDir: {{medium: Memory, sizeLimit: 1Gi}}}}]
"""
)


def _qwen_pd(objs: Objects) -> None:
    spec = llm(objs)
    assert objs["LLMInferenceService"]["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"] == "roce-p2"
    assert spec["model"]["uri"] == QWEN and spec["replicas"] == 1
    assert spec["router"] == {"route": {}, "gateway": {}, "scheduler": {}}
    decode = main_container(objs)
    [prefill] = spec["prefill"]["template"]["containers"]
    assert spec["prefill"]["replicas"] == 2 and prefill["name"] == "main"
    for container, role in ((decode, "kv_consumer"), (prefill, "kv_producer")):
        env = {e["name"]: e for e in container["env"]}
        assert json.loads(env["VLLM_ADDITIONAL_ARGS"]["value"].split("'")[1]) == {
            "kv_connector": "NixlConnector",
            "kv_role": role,
        }
        assert env["VLLM_NIXL_SIDE_CHANNEL_HOST"]["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
        assert {name: env[name]["value"] for name in ("KSERVE_INFER_ROCE", "UCX_PROTO_INFO", "UCX_TLS")} == {
            "KSERVE_INFER_ROCE": "true",
            "UCX_PROTO_INFO": "y",
            "UCX_TLS": "rc,sm,self,cuda_copy,cuda_ipc",
        }
        limits = container["resources"]["limits"]
        assert limits == {"cpu": "4", "memory": "32Gi", "nvidia.com/gpu": "1", _RDMA: "1"}
        assert container["resources"]["requests"][_RDMA] == "1"
        probe = container["livenessProbe"]
        assert probe["httpGet"] == {"path": "/health", "port": 8000, "scheme": "HTTPS"}
        assert (probe["initialDelaySeconds"], probe["periodSeconds"], probe["failureThreshold"]) == (120, 30, 5)
        # the prefill pod is hardened as mlgitops hardens the decode pod
        assert container["securityContext"] == decode["securityContext"]
    assert spec["prefill"]["template"]["volumes"] == [v for v in spec["template"]["volumes"] if v["name"] == "dshm"]


# Multi-model serving (docs/samples/multimodelserving/ at v0.20.0): the InferenceService is the model
# (serving.multiModel: no model of its own); the TrainedModels loaded into it come from a Jsonnet addon, one
# object per entry of the model's `addons.trained-models.models`.
IRIS_1_0 = "gs://kfserving-examples/models/sklearn/1.0/model"
TRAINED_MODELS = """\
// KServe TrainedModels loaded into this model's multi-model InferenceService (serving.multiModel: true).
function(model, environment, project, settings={})
  if !std.get(std.get(model, 'serving', {}), 'multiModel', false) then [] else [
    {
      apiVersion: 'serving.kserve.io/v1alpha1',
      kind: 'TrainedModel',
      metadata: { name: m.name },
      spec: {
        inferenceService: model.metadata.name,
        model: { framework: m.framework, storageUri: m.storageUri, memory: m.memory },
      },
    }
    for m in std.get(settings, 'models', [])
  ]
"""


def _trained_models(server: str, models: dict[str, tuple[str, str, str]]) -> Callable[[Objects], None]:
    """Each TrainedModel names the InferenceService, which KServe counts as a multi-model server: a model
    predictor without a storageUri or storage spec (IsMMSPredictor)."""

    def check(objs: Objects) -> None:
        isvc = objs["InferenceService"]
        assert isvc["metadata"]["name"] == server
        assert not {"storageUri", "storage"} & set(model(objs)) and "storageUris" not in predictor(objs)
        loaded = {key.partition("/")[2]: obj["spec"] for key, obj in objs.items() if key.startswith("TrainedModel/")}
        assert loaded == {
            name: {"inferenceService": server, "model": {"framework": f, "storageUri": uri, "memory": memory}}
            for name, (f, uri, memory) in models.items()
        }
        # KServe loads TrainedModels while their memory fits the predictor's limit (IsMemoryResourceAvailable)
        limit = model(objs)["resources"]["limits"]["memory"]
        assert sum(_mebibytes(m) for _, _, m in models.values()) <= _mebibytes(limit)

    return check


def _mebibytes(quantity: str) -> int:
    return int(quantity.removesuffix("Mi")) if quantity.endswith("Mi") else int(quantity.removesuffix("Gi")) * 1024


def _triton_mms(objs: Objects) -> None:
    _trained_models(
        "triton-mms", {"cifar10": ("pytorch", "gs://kfserving-examples/models/torchscript/cifar10", "1Gi")}
    )(objs)
    assert model(objs)["modelFormat"] == {"name": "triton"}
    assert model(objs)["args"] == ["--log-verbose=1"]
    assert model(objs)["env"] == [{"name": "OMP_NUM_THREADS", "value": "1"}]
    assert model(objs)["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi"},
        "limits": {"cpu": "1", "memory": "2Gi"},
    }


_IRIS_MODELS = (
    ("sklearn-iris", _source("sklearn", "gs://kfserving-examples/models/sklearn/1.0/model")),
    ("xgboost-iris", _source("xgboost", "gs://kfserving-examples/models/xgboost/iris")),
)
_SWITCH = ((1, "[@this].#(source==client)"), (2, "instances.#(intval>10)"), (3, "instances.#(strval%*red-server*)"))


def _graph(router: str, steps: list[dict[str, object]]) -> Callable[[Objects], None]:
    def check(objs: Objects) -> None:
        assert graph_nodes(objs) == {"root": {"routerType": router, "steps": steps}}
        services = {s["serviceName"] for s in steps if "serviceName" in s}
        assert services <= {key.partition("/")[2] for key in objs if key.startswith("InferenceService/")}

    return check


CASES = [
    Case(
        "sklearn-iris",
        KSERVE,
        f"{SAMPLES}/sklearn/v1/sklearn.yaml",
        "exact",
        _source("sklearn", "gs://kfserving-samples/models/sklearn/iris"),
        _simple("sklearn", "gs://kfserving-samples/models/sklearn/iris"),
    ),
    Case(
        "sklearn-irisv2",
        KSERVE,
        f"{SAMPLES}/sklearn/v2/sklearn.yaml",
        "exact",
        _source("sklearn", "gs://seldon-models/sklearn/iris", "v2"),
        _simple("sklearn", "gs://seldon-models/sklearn/iris", "v2"),
    ),
    Case(
        "xgboost-iris",
        KSERVE,
        f"{SAMPLES}/xgboost/xgboost.yaml",
        "exact",
        _source("xgboost", "gs://kfserving-samples/models/xgboost/iris", "v2"),
        _simple("xgboost", "gs://kfserving-samples/models/xgboost/iris", "v2"),
    ),
    Case(
        "lightgbm-iris",
        KSERVE,
        f"{SAMPLES}/lightgbm/lightgbm.yaml",
        "exact",
        _source("lightgbm", "gs://kfserving-examples/models/lightgbm/iris"),
        _simple("lightgbm", "gs://kfserving-examples/models/lightgbm/iris"),
    ),
    Case(
        "pmml-demo",
        KSERVE,
        f"{SAMPLES}/pmml/pmml.yaml",
        "exact",
        _source(
            "pmml",
            "https://raw.githubusercontent.com/openscoring/openscoring/master/openscoring-service/src/etc/DecisionTreeIris.pmml",
        ),
        _simple(
            "pmml",
            "https://raw.githubusercontent.com/openscoring/openscoring/master/openscoring-service/src/etc/DecisionTreeIris.pmml",
        ),
    ),
    Case(
        "style-sample",
        KSERVE,
        f"{SAMPLES}/onnx/onnx.yaml",
        "exact",
        _source("onnx", "gs://kfserving-examples/models/onnx"),
        _simple("onnx", "gs://kfserving-examples/models/onnx"),
    ),
    Case(
        "paddle-resnet50",
        KSERVE,
        f"{SAMPLES}/paddle/paddle.yaml",
        "exact",
        _source("paddle", "gs://kfserving-examples/models/paddle/resnet"),
        _simple("paddle", "gs://kfserving-examples/models/paddle/resnet"),
    ),
    Case(
        "catboost-iris",
        KSERVE,
        f"{SAMPLES}/catboost/catboost.yaml",
        "exact",
        _source("catboost", "gs://kfserving-examples/models/catboost/iris"),
        _simple("catboost", "gs://kfserving-examples/models/catboost/iris"),
    ),
    Case(
        "torchserve",
        KSERVE,
        f"{SAMPLES}/torchserve/v1/torchserve.yaml",
        "exact",
        _source("pytorch", "gs://kfserving-examples/models/torchserve/image_classifier/v1"),
        _simple("pytorch", "gs://kfserving-examples/models/torchserve/image_classifier/v1"),
    ),
    Case(
        "torchserve-mnist-v2",
        KSERVE,
        f"{SAMPLES}/torchserve/v2/mnist.yaml",
        "exact",
        _source(
            "pytorch",
            "gs://kfserving-examples/models/torchserve/image_classifier/v2",
            "v2",
            ", args: [--disable-token-auth, --enable-model-api]",
        ),
        _mnist_v2,
        replaced_by="serving.args",
    ),
    Case(
        "torchserve-bert-v2",
        KSERVE,
        f"{SAMPLES}/torchserve/v2/bert/bert_gpu.yaml",
        "approximate",
        _source(
            "pytorch",
            "gs://kfserving-examples/models/torchserve/bert/v2",
            "v2",
            ", gpu: {count: 1}, resources: {limits: {memory: 4Gi}}",
        ),
        _bert_gpu,
        loss="mlgitops also requests the GPU (requests = limits for extended resources) and adds the "
        "memory request Kubernetes would default from the limit",
    ),
    Case(
        "sklearn-iris-local",
        KSERVE,
        f"{SAMPLES}/advanced/cluster_local.yaml",
        "exact",
        "metadata:\n  labels: {serving.knative.dev/visibility: cluster-local}\n"
        + _source("sklearn", "gs://kfserving-examples/models/sklearn/1.0/model", extra=", mode: Knative"),
        _cluster_local,
    ),
    Case(
        "tensorflow-pod-overrides",
        KSERVE,
        f"{SAMPLES}/advanced/pod-overrides.yaml",
        "exact",
        _source(
            "tensorflow", "gs://kfserving-examples/models/tensorflow/flowers", extra=", serviceAccount: serving-admin"
        ),
        _service_account,
    ),
    Case(
        "flowers",
        KSERVE,
        f"{SAMPLES}/advanced/timeout.yaml",
        "exact",
        _source(
            "tensorflow",
            "gs://kfserving-samples/models/tensorflow/flowers",
            extra=", timeout: 600, probes: {liveness: {httpGet: {path: /v1/models/flowers, port: 8080}}}",
        ),
        _timeout,
        replaced_by="serving.timeout, serving.probes",
    ),
    Case(
        "flowers-probes",
        KSERVE,
        f"{SAMPLES}/advanced/probes.yaml",
        "approximate",
        _source("tensorflow", "gs://kfserving-samples/models/tensorflow/flowers", extra=PROBES),
        _probes,
        loss="named flowers-probes: the sample reuses the name 'flowers' of advanced/timeout.yaml",
        replaced_by="serving.probes",
    ),
    Case(
        "tensorflow-grpc",
        KSERVE,
        f"{SAMPLES}/tensorflow/grpc.yaml",
        "exact",
        _source(
            "tensorflow",
            "gs://kfserving-samples/models/tensorflow/flowers",
            extra=", ports: [{name: h2c, containerPort: 9000}]",
        ),
        _grpc,
        replaced_by="serving.ports",
    ),
    Case(
        "tensorflow-simple",
        KSERVE,
        f"{SAMPLES}/tensorflow/canary.yaml",
        "exact",
        'model: {format: tensorflow, version: "1", storageUri: "gs://kfserving-samples/models/tensorflow/flowers-1"}\n'
        "serving:\n  mode: Knative\n"
        '  canary: {version: "2", trafficPercent: 20,\n'
        '           storageUri: "gs://kfserving-samples/models/tensorflow/flowers"}\n',
        _canary,
    ),
    Case(
        "torchscript-cifar",
        KSERVE,
        f"{SAMPLES}/triton/torchscript/torchscript.yaml",
        "exact",
        _source(
            "triton",
            "gs://kfserving-examples/models/torchscript",
            extra=", runtimeVersion: 21.08-py3, env: {OMP_NUM_THREADS: '1'}",
        ),
        _torchscript,
        replaced_by="serving.runtimeVersion, serving.env",
    ),
    Case(
        "torchserve-custom",
        KSERVE,
        f"{SAMPLES}/custom/torchserve/logger/torchserve-logger.yaml",
        "approximate",
        _source(
            "pytorch",
            "gs://kfserving-examples/models/torchserve/image_classifier/v1",
            extra=", replicas: {min: 1}, logger: {mode: all, url: 'http://message-dumper.default.svc.cluster.local'}",
        ),
        _logger,
        loss="a pytorch model predictor instead of the sample's custom container ({username}/torchserve:latest "
        "is a placeholder image); the payload logging it shows is the same",
        replaced_by="serving.logger",
    ),
    Case(
        "torchserve-transformer",
        KSERVE,
        f"{SAMPLES}/transformer/torchserve_image_transformer/transformer.yaml",
        "exact",
        _source(
            "pytorch",
            "gs://kfserving-examples/models/torchserve/image_classifier/v1",
            extra=", transformer: {image: 'kserve/torchserve-image-transformer:latest', env: {STORAGE_URI: "
            "'gs://kfserving-examples/models/torchserve/image_classifier/v1'}}",
        ),
        _transformer,
        # The sample's container name (kfserving-container) is replaced by KServe's defaulter in any case
        # (transformer_custom.go Default: InferenceServiceContainerName).
        replaced_by="serving.transformer (a standalone transformer may set STORAGE_URI; KServe refuses it only "
        "on a collocated one: inference_service_validation.go validateCollocationStorageURI)",
    ),
    Case(
        "custom-simple",
        KSERVE,
        f"{SAMPLES}/custom/simple.yaml",
        "approximate",
        _source(
            "custom",
            "gs://unused/custom-simple",
            extra=", image: codait/max-object-detector, ports: [{containerPort: 5000}]",
        )
        + "patches:\n- target: {kind: InferenceService}\n  ops:\n"
        "  - {op: remove, path: /spec/predictor/containers/0/env}\n",
        _custom,
        loss="the spec still needs a model source (format, version, storageUri) that the custom container "
        "ignores; a patch removes the STORAGE_URI it renders (else KServe's storage initializer would fetch it)",
        replaced_by="serving.image with engine: kserve, serving.ports",
        first_class="a custom predictor image without a model source",
    ),
    Case(
        "sklearn-iris-scale-to-zero",
        KSERVE,
        f"{SAMPLES}/keda/keda-scale-to-zero.yaml",
        "newer-upstream",
        """\
model: {format: sklearn, version: "1", storageUri: "gs://kfserving-examples/models/sklearn/1.0/model"}
serving:
  replicas: {min: 1, max: 5}
  autoscaling:
    metric: prometheus
    target: 10
    serverAddress: http://prometheus.monitoring.svc.cluster.local:9090
    query: sum(rate(istio_requests_total{destination_workload="sklearn-iris-scale-to-zero-predictor-default"}[2m]))
patches:
- target: {kind: InferenceService}
  ops:
  - op: add
    path: /spec/predictor/autoScaling/keda
    value: {idleReplicaCount: 0, pollingInterval: 30, cooldownPeriod: 120}
""",
        loss="scale to zero through autoScaling.keda (idleReplicaCount: 0), which KServe v0.20's CRD does "
        "not have: the patch adding it renders, and the schema check refuses it",
        first_class="a KServe release with autoScaling.keda",
        newer_field="/spec/predictor/autoScaling/keda",
    ),
    Case(
        "sklearn-iris-keda-advanced",
        KSERVE,
        f"{SAMPLES}/keda/keda-advanced-example.yaml",
        "approximate",
        KEDA,
        _keda,
        loss="the autoScaling.keda block (polling, cooldown, fallback, HPA behaviour) is not in KServe v0.20's "
        "CRD and is left out; the Prometheus query names the Standard-mode workload "
        "sklearn-iris-keda-advanced-predictor",
        replaced_by="serving.autoscaling: {metric: prometheus} (the CPU metric beside it stays a patch)",
        first_class="several autoscaling metrics at once",
    ),
    Case(
        "deeploy-sample",
        KSERVE,
        f"{SAMPLES}/explanation/deeploy/shap-kernel/sample.yaml",
        "newer-upstream",
        _source(
            "sklearn",
            "gs://deeploy-examples/sklearn/census/20231128130326/model",
            "v2",
            extra=", runtime: kserve-sklearnserver",
        )
        + """patches:
- target: {kind: InferenceService}
  ops:
  - op: add
    path: /spec/explainer
    value:
      model:
        modelFormat: {name: shap-kernel}
        runtime: kserve-deeploy-shapkernelserver
        protocolVersion: v2
        storageUri: gs://deeploy-examples/sklearn/census/20231128130326/explainer
""",
        loss="the explainer is a model (spec.explainer.model, a shap-kernel runtime), which KServe v0.20's CRD "
        "does not have (its explainer takes containers or art): the patch adding it renders, and the schema "
        "check refuses it",
        first_class="a KServe release whose explainer has `model`",
        newer_field="/spec/explainer/model",
    ),
    Case(
        "triton-mms",
        KSERVE,
        f"{MMS_SAMPLES}/triton/trained_model.yaml",
        "exact",
        'model: {format: triton, version: "1"}\n'
        "serving:\n  multiModel: true\n  args: [--log-verbose=1]\n  env: {OMP_NUM_THREADS: '1'}\n"
        "  resources: {requests: {cpu: '1', memory: 2Gi}, limits: {cpu: '1', memory: 2Gi}}\n"
        "addons:\n  trained-models:\n    models:\n"
        "    - {name: cifar10, framework: pytorch, storageUri: gs://kfserving-examples/models/torchscript/cifar10,"
        " memory: 1Gi}\n",
        _triton_mms,
        first_class="multi-model serving: TrainedModels from the spec (the addon writes them today)",
        templates=(("trained-models", TRAINED_MODELS),),
    ),
    Case(
        "sklearn-iris-example",
        KSERVE,
        f"{MMS_SAMPLES}/sklearn/trainedmodels.yaml",
        "approximate",
        'model: {format: sklearn, version: "1"}\n'
        "serving:\n  multiModel: true\n  replicas: {min: 1}\n"
        "  resources: {requests: {cpu: 100m, memory: 512Mi}, limits: {cpu: 100m, memory: 512Mi}}\n"
        "addons:\n  trained-models:\n    models:\n"
        + "".join(
            f"    - {{name: {name}, framework: sklearn, storageUri: {IRIS_1_0}, memory: 256Mi}}\n"
            for name in ("model1-sklearn", "model2-sklearn")
        ),
        _trained_models(
            "sklearn-iris-example",
            {name: ("sklearn", IRIS_1_0, "256Mi") for name in ("model1-sklearn", "model2-sklearn")},
        ),
        loss="the predictor container keeps KServe's name (kserve-container), not the sample's sklearn-iris-predictor",
        first_class="multi-model serving: TrainedModels from the spec (the addon writes them today)",
        templates=(("trained-models", TRAINED_MODELS),),
    ),
    Case(
        "flower-sample",
        KSERVE,
        f"{SAMPLES}/tensorflow/tensorflow.yaml",
        "exact",
        _source("tensorflow", "gs://kfserving-examples/models/tensorflow/flowers"),
        _simple("tensorflow", "gs://kfserving-examples/models/tensorflow/flowers"),
    ),
    Case(
        "sklearn-mixedtype",
        KSERVE,
        f"{SAMPLES}/sklearn/v1/sklearn-mixedtype-model/sklearn-mixedtype.yaml",
        "exact",
        _source("sklearn", "gs://kfserving-examples/models/sklearn/1.0/mixedtype"),
        _simple("sklearn", "gs://kfserving-examples/models/sklearn/1.0/mixedtype"),
    ),
    Case(
        "torchserve-gpu",
        KSERVE,
        f"{SAMPLES}/torchserve/v1/gpu.yaml",
        "approximate",
        _source(
            "pytorch",
            "gs://kfserving-examples/models/torchserve/image_classifier/v1",
            extra=", gpu: {count: 1}, resources: {limits: {memory: 4Gi}},"
            " args: [--disable-token-auth, --enable-model-api]",
        ),
        _torchserve_gpu,
        loss="mlgitops also requests the GPU and the memory (requests = limits)",
        replaced_by="serving.args",
    ),
    Case(
        "torchserve-grpc",
        KSERVE,
        f"{SAMPLES}/torchserve/v1/grpc.yaml",
        "exact",
        _source(
            "pytorch",
            "gs://kfserving-examples/models/torchserve/image_classifier/v1",
            extra=", ports: [{name: h2c, containerPort: 7070, protocol: TCP}]",
        ),
        _torchserve_grpc,
        replaced_by="serving.ports",
    ),
    Case(
        "bert-v2",
        KSERVE,
        f"{SAMPLES}/triton/bert/bert_v1beta1.yaml",
        "exact",
        _source(
            "triton",
            "gs://kfserving-examples/models/triton/bert",
            extra=", runtimeVersion: 20.09-py3, resources: {requests: {cpu: '1', memory: 8Gi}, "
            "limits: {cpu: '1', memory: 8Gi}}, transformer: {image: 'kfserving/bert-transformer-v2:latest', "
            "command: [python, -m, bert_transformer_v2], "
            "env: {STORAGE_URI: 'gs://kfserving-samples/models/triton/bert-transformer'}}",
        ),
        _bert_triton,
        replaced_by="serving.runtimeVersion, serving.transformer",
    ),
    Case(
        "my-model",
        KSERVE,
        f"{SAMPLES}/rollout/pinned.yaml",
        "exact",
        'model: {format: tensorflow, version: "1", storageUri: "gs://kfserving-samples/models/tensorflow/flowers"}\n'
        "serving:\n  mode: Knative\n"
        '  canary: {version: "2", trafficPercent: 0,\n'
        '           storageUri: "gs://kfserving-samples/models/tensorflow/flowers-2"}\n',
        _pinned,
    ),
    # --- LLMInferenceService samples: engine: llm (issue 25) ---
    Case(
        "facebook-opt-125m-single",
        KSERVE,
        f"{LLM_SAMPLES}/opt-125m-cpu/llm-inference-service-facebook-opt-125m-cpu.yaml",
        "approximate",
        _llm_source(
            "hf://facebook/opt-125m",
            "  image: public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.19.0\n"
            "  securityContext: {runAsNonRoot: false}\n"
            '  env: {VLLM_LOGGING_LEVEL: DEBUG, VLLM_CPU_KVCACHE_SPACE: "1"}\n'
            "  resources: {requests: {cpu: 100m, memory: 8Gi}, limits: {cpu: '1', memory: 10Gi}}\n"
            "  router: {gateway: true, scheduler: true}\n",
        ),
        _opt_125m,
        loss=f"{LLM_SERVED_NAME}; the livenessProbe timings stay the preset's",
    ),
    Case(
        "qwen2-7b-instruct-single",
        KSERVE,
        f"{LLM_SAMPLES}/single-node-gpu/llm-inference-service-qwen2-7b-gpu.yaml",
        "approximate",
        _llm_source(QWEN, _QWEN_SERVING + "  router: {gateway: true, scheduler: true}\n"),
        _qwen(router={"route": {}, "gateway": {}, "scheduler": {}}),
        loss=f"{LLM_SERVED_NAME}; the livenessProbe (HTTPS on 8000) stays the preset's",
    ),
    Case(
        "qwen2-7b-instruct-single-no-scheduler",
        KSERVE,
        f"{LLM_SAMPLES}/single-node-gpu/llm-inference-service-qwen2-7b-gpu-no-scheduler.yaml",
        "approximate",
        _llm_source(QWEN, _QWEN_SERVING + "  router: {gateway: true}\n"),
        _qwen(router={"route": {}, "gateway": {}}),
        loss=f"{LLM_SERVED_NAME}; the sample's route without an explicit gateway becomes route and gateway (the "
        "default Gateway either way); the livenessProbe stays the preset's",
    ),
    Case(
        "qwen2-7b-instruct-nvidia",
        KSERVE,
        f"{LLM_SAMPLES}/multi-gpu-vendor/llm-inference-service-qwen2-7b-nvidia-with-scheduler.yaml",
        "approximate",
        _llm_source(QWEN, _QWEN_SERVING + "  router: {gateway: true, scheduler: true}\n"),
        _qwen(router={"route": {}, "gateway": {}, "scheduler": {}}),
        loss=LLM_SERVED_NAME,
    ),
    Case(
        "qwen2-7b-instruct-pd",
        KSERVE,
        f"{LLM_SAMPLES}/single-node-gpu/llm-inference-service-pd-qwen2-7b-gpu.yaml",
        "approximate",
        _QWEN_PD,
        _qwen_pd,
        loss=f"{LLM_SERVED_NAME}; the prefill workload (spec.prefill) and the env variable read from the pod IP "
        "(valueFrom.fieldRef) are patches: the prefill pod is written out in full, hardened like the decode pod "
        "mlgitops renders (KServe builds it from spec.prefill.template alone, workload_single_node.go)",
        first_class="serving.prefill (LLM prefill/decode disaggregation); env from a pod field (fieldRef)",
    ),
    # --- InferenceGraph samples: graphs/<name>.yaml (issue 25) ---
    Case(
        "model-chainer",
        KSERVE,
        f"{GRAPH_SAMPLES}/sequence.yaml",
        "exact",
        "nodes:\n  root:\n    routerType: Sequence\n    steps:\n    - {model: sklearn-iris}\n"
        "    - {model: xgboost-iris, data: $request}\n",
        _graph("Sequence", [{"serviceName": "sklearn-iris"}, {"serviceName": "xgboost-iris", "data": "$request"}]),
        models=_IRIS_MODELS,
    ),
    Case(
        "splitter-model",
        KSERVE,
        f"{GRAPH_SAMPLES}/splitter.yaml",
        "exact",
        "nodes:\n  root:\n    routerType: Splitter\n    steps:\n    - {model: sklearn-iris, weight: 20}\n"
        "    - {model: xgboost-iris, weight: 80}\n",
        _graph(
            "Splitter", [{"serviceName": "sklearn-iris", "weight": 20}, {"serviceName": "xgboost-iris", "weight": 80}]
        ),
        models=_IRIS_MODELS,
    ),
    Case(
        "ensemble-model",
        KSERVE,
        f"{GRAPH_SAMPLES}/ensemble.yaml",
        "exact",
        "nodes:\n  root:\n    routerType: Ensemble\n    steps:\n    - {model: sklearn-iris, name: sklearn-iris}\n"
        "    - {model: xgboost-iris, name: xgboost-iris}\n",
        _graph(
            "Ensemble",
            [
                {"name": "sklearn-iris", "serviceName": "sklearn-iris"},
                {"name": "xgboost-iris", "serviceName": "xgboost-iris"},
            ],
        ),
        models=_IRIS_MODELS,
    ),
    Case(
        "model-switch",
        KSERVE,
        f"{GRAPH_SAMPLES}/switch.yaml",
        "approximate",
        "nodes:\n  root:\n    routerType: Switch\n    steps:\n"
        + "".join(
            f"    - {{serviceUrl: 'http://single-{i}.default.example.com/switch', condition: '{c}'}}\n"
            for i, c in _SWITCH
        ),
        _graph(
            "Switch",
            [{"serviceUrl": f"http://single-{i}.default.example.com/switch", "condition": c} for i, c in _SWITCH],
        ),
        loss="the sample's {$your-domain} placeholder is a domain; its three custom-container InferenceServices "
        "get a model source (STORAGE_URI) they do not use",
        models=tuple(
            (
                f"single-{i}",
                f'model: {{format: custom, version: "1", storageUri: "gs://kfserving-examples/bgtest/{i}"}}\n'
                f"serving: {{image: 'iamlovingit/bgtest:latest', env: {{target: single-{i}}}}}\n",
            )
            for i in (1, 2, 3)
        ),
    ),
    Case(
        "pytorch-batcher",
        KSERVE,
        "docs/samples/batcher/basic/batcher_v1beta1.yaml",
        "exact",
        _source(
            "pytorch",
            "gs://kfserving-examples/models/torchserve/image_classifier/v1",
            extra=", replicas: {min: 1}, batcher: {maxBatchSize: 16, maxLatency: 300}",
        ),
        _batcher,
    ),
    Case(
        "cifar10",
        WEBSITE,
        f"{WEBSITE_DOCS}/predictive-inference/explainers/alibi/image-explainer/image-explainer.md",
        "exact",
        'model: {format: tensorflow, version: "1", storageUri: "gs://seldon-models/tfserving/cifar10/resnet32"}\n'
        """\
serving:
  resources: {requests: {cpu: "0.1", memory: 5Gi}, limits: {memory: 10Gi}}
  explainer:
    image: kserve/alibi-explainer:v0.12.1
    args: [--model_name=cifar10, --http_port=8080, --predictor_host=cifar10-predictor.default,
           --storage_uri=/mnt/models, AnchorImages, --batch_size=40, --stop_on_first=True]
    env: {STORAGE_URI: "gs://kfserving-examples/models/tensorflow/cifar/explainer-0.9.1"}
    resources: {requests: {cpu: "0.1", memory: 5Gi}, limits: {cpu: "1", memory: 10Gi}}
""",
        _image_explainer,
    ),
    Case(
        "transformer-collocation",
        WEBSITE,
        f"{WEBSITE_DOCS}/predictive-inference/transformers/collocation/collocation.md",
        "exact",
        'model: {format: pytorch, version: "1", storageUri: "gs://kfserving-examples/models/torchserve/image_classifier/v1"}\n'
        """\
serving:
  mode: Knative   # the page's example: a Knative revision, and no port on the model container
  resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: "1", memory: 1Gi}}
  transformer:
    image: kserve/image-transformer:latest
    collocated: true
    args: [--model_name=mnist, --predictor_protocol=v1, --http_port=8080, --grpc_port=8081,
           "--predictor_host=localhost:8085", --enable_predictor_health_check]
    probes: {readiness: {httpGet: {path: /v1/models/mnist, port: 8080}, initialDelaySeconds: 5, periodSeconds: 10}}
    resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: "1", memory: 1Gi}}
""",
        _collocation,
    ),
    Case(
        "custom-transformer-collocation",
        KSERVE,
        f"{SAMPLES}/transformer/collocation/collocation.yaml",
        "approximate",
        'model: {format: pytorch, version: "1", storageUri: "gs://kfserving-examples/models/torchserve/image_classifier/v1"}\n'
        """\
serving:
  image: pytorch/torchserve:0.9.0-cpu
  args: [torchserve, --start, --model-store=/mnt/models/model-store, --ts-config=/mnt/models/config/config.properties]
  env: {TS_SERVICE_ENVELOPE: kserve}
  resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: "1", memory: 1Gi}}
  ports: [{containerPort: 8085}]   # where torchserve listens (its config.properties)
  transformer:
    image: kserve/image-transformer:latest
    collocated: true
    args: [--model_name=mnist, --protocol=v1, --http_port=8080, --grpc_port=8081, --predictor_host=localhost:8085]
    resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: "1", memory: 1Gi}}
""",
        _custom_collocation,
        loss="declares the model server's port 8085 (serving.ports), which the sample leaves undeclared: in "
        "Standard mode KServe's default readiness probe of an undeclared model container checks 8080, the "
        "transformer's port",
    ),
    Case(
        "example-sklearn-isvc",
        KSERVE,
        "docs/samples/storage/storageSpec/sklearn_storagespec.yaml",
        "exact",
        'model: {format: sklearn, version: "1",\n'
        "        storage: {key: localMinIO, path: sklearn, parameters: {bucket: example-models}}}\n"
        "serving: {}\n",
        _storage_spec,
    ),
    Case(
        "huggingface-llama2",
        KSERVE,
        "docs/samples/storage/hf/hf_isvc.yaml",
        "exact",
        _source(
            "huggingface",
            "hf://meta-llama/Llama-2-7b-chat-hf",
            extra=", serviceAccount: hfserviceacc, args: [--model_name=llama2, --model_dir=/mnt/models, "
            "--backend=huggingface], resources: {requests: {cpu: '6', memory: 24Gi}, limits: {cpu: '6', "
            "memory: 24Gi}}, gpu: {count: 1}",
        ),
        _hub_model(
            "hf://meta-llama/Llama-2-7b-chat-hf",
            "hfserviceacc",
            ["--model_name=llama2", "--model_dir=/mnt/models", "--backend=huggingface"],
        ),
    ),
    Case(
        "modelscope-qwen",
        WEBSITE,
        "docs/model-serving/storage/providers/ms.md",
        "exact",
        _source(
            "huggingface",
            "modelscope://Qwen/Qwen2.5-0.5B-Instruct",
            extra=", serviceAccount: msserviceacc, args: [--model_name=qwen, --model_dir=/mnt/models], "
            "resources: {requests: {cpu: '6', memory: 24Gi}, limits: {cpu: '6', memory: 24Gi}}, gpu: {count: 1}",
        ),
        _hub_model(
            "modelscope://Qwen/Qwen2.5-0.5B-Instruct", "msserviceacc", ["--model_name=qwen", "--model_dir=/mnt/models"]
        ),
        # KServe v0.20 has no modelscope:// of its own (the page is newer): a ClusterStorageContainer serves it
        cluster_features="storageSchemes: [modelscope]",
    ),
]
