"""The model's identity, pin and `serving` block (replicas, autoscaling, resources, canary)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from mlgitops.language.containers import ConfigKey, EnvFromSource, EnvMap, Volumes
from mlgitops.language.fields import (
    AnnotationMap,
    CredentialFreeUri,
    DnsSubdomain,
    ImageRef,
    Int32,
    Int64,
    ModelName,
    ObjectLabelMap,
    Quantity,
    ResourceName,
    RunId,
    StorageUri,
    Strict,
    Text,
    Version,
)
from mlgitops.language.llm import LlmRouter, Workers
from mlgitops.language.probes import Ports, Probes


class ModelMetadata(Strict):
    name: ModelName = Field(description="model name; the file is models/<name>.yaml (for example fraud-detector)")
    owner: str | None = Field(
        default=None,
        description="owning team or person, rendered as an annotation (for example team-risk)",
    )
    labels: ObjectLabelMap = Field(
        default_factory=dict,
        description="labels added to the model's objects (for example {tier: critical})",
    )
    annotations: AnnotationMap = Field(
        default_factory=dict,
        description="annotations added to the model's objects (for example {docs: https://wiki.acme.io/fraud})",
    )


def _storage_path(value: str) -> str:
    if any(segment in ("..", ".") for segment in value.split("/")) or "://" in value:
        raise ValueError(
            f"{value[:80]!r} is not a path inside the storage (no scheme, no '.' or '..' segments; for example "
            "sklearn/6/model)"
        )
    return value


class ModelStorage(Strict):
    """KServe's storage spec (predictor.model.storage): an entry of the namespace's storage-config Secret
    gives the storage type, the bucket and the credentials (kserve pkg/credentials
    service_account_credentials.go `CreateStorageSpecSecretEnvs`)."""

    key: ConfigKey | None = Field(
        default=None,
        description="the storage-config Secret entry to use (for example localMinIO); default: the entry "
        "named after parameters.type, else `default`",
    )
    path: Annotated[Text, AfterValidator(_storage_path)] | None = Field(
        default=None,
        min_length=1,
        description="where the model files are inside the entry's bucket, instead of storageUri (for example "
        "sklearn/6/model)",
    )
    parameters: dict[ConfigKey, Text] = Field(
        default_factory=dict,
        description="values overriding the entry's (for example {bucket: example-models, type: s3})",
    )


class ModelSource(Strict):
    format: str = Field(
        min_length=1,
        description="model format, choosing the server (for example sklearn, xgboost, huggingface)",
    )
    formatVersion: Text | None = Field(
        default=None,
        description="version of the model format, KServe's modelFormat.version (for example '1')",
    )
    version: Version = Field(min_length=1, description="model version, quoted text (for example '6')")
    storageUri: StorageUri | None = Field(
        default=None,
        description="where the model files are (for example s3://ml-models/fraud-detector/6/model); required "
        "unless storage.path names them",
    )
    storage: ModelStorage | None = Field(
        default=None,
        description="KServe's storage spec: credentials (and with path the location) from an entry of the "
        "storage-config Secret (for example {key: localMinIO, path: sklearn/6, parameters: {bucket: models}}); "
        "engine: kserve",
    )
    registry: CredentialFreeUri | None = Field(
        default=None,
        description="model registry reference, rendered as an annotation (for example models:/fraud-detector/6)",
    )
    runId: RunId | None = Field(
        default=None,
        description="the training run that produced this version, rendered as the mlgitops.io/run-id "
        "annotation; promote --alias writes it (for example 3f2a9c0e5b7d4e1f8a6b2c9d0e4f7a1b)",
    )


# Unset `replicas.max` scales up to this many times `min` (at least 1): enough headroom that
# autoscaling does something, bounded so that an unset field never scales a GPU model far.
DEFAULT_MAX_FACTOR = 3


class Replicas(Strict):
    min: Int32 = Field(default=1, ge=0, description="fewest pods; 0 allows scale to zero; default 1 (for example 2)")
    max: Int32 | None = Field(
        default=None,
        ge=1,
        description="most pods autoscaling may run (for example 8); default: 3 × max(min, 1), the same bound for "
        "the InferenceService's maxReplicas and the Deployment engine's HPA",
    )

    @property
    def upper(self) -> int:
        """The maximum replica count every engine renders."""
        return self.max if self.max is not None else max(self.min, 1) * DEFAULT_MAX_FACTOR

    @model_validator(mode="after")
    def _ordered(self) -> Replicas:
        if self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


# KEDA's authModes the prometheus trigger reads (kedacore/keda v2.18 pkg/scalers/authentication
# authentication_types.go `Config.Modes`, less apiKey, which the prometheus scaler's transport drops in
# `ToAuthMeta`); at most one of basic, bearer and oauth (its `exclusiveSet`).
KedaAuthMode = Literal["basic", "bearer", "tls", "custom", "oauth"]
_EXCLUSIVE_AUTH_MODES = ("basic", "bearer", "oauth")


class KedaAuthentication(Strict):
    """How KEDA's prometheus trigger authenticates to Prometheus: a KEDA TriggerAuthentication in the model's
    namespace holds the credentials (KServe v0.20 autoScaling.metrics[].external.authenticationRef; its
    keda reconciler sets the trigger's authenticationRef and authModes)."""

    name: DnsSubdomain = Field(
        description="TriggerAuthentication (keda.sh/v1alpha1) in the model's namespace (for example prometheus-auth)"
    )
    modes: list[KedaAuthMode] = Field(
        default_factory=list,
        description="KEDA's authModes, what the TriggerAuthentication's parameters are for (for example [bearer] "
        "or [tls, basic]); at most one of basic, bearer and oauth; default none (a pod identity it names)",
    )

    @model_validator(mode="after")
    def _modes(self) -> KedaAuthentication:
        if len(set(self.modes)) != len(self.modes):
            raise ValueError("modes lists a mode twice")
        exclusive = [mode for mode in self.modes if mode in _EXCLUSIVE_AUTH_MODES]
        if len(exclusive) > 1:
            raise ValueError(f"modes {' and '.join(exclusive)} exclude each other (KEDA takes one of basic, bearer "
                             "and oauth)")  # fmt: skip
        return self


class Autoscaling(Strict):
    metric: Literal["cpu", "memory", "concurrency", "rps", "prometheus"] = Field(
        default="cpu",
        description="what to scale on (for example concurrency); prometheus: an external Prometheus query through "
        "KServe's KEDA autoscaler (engine: kserve, mode: Standard; needs query and serverAddress)",
    )
    target: Int32 = Field(
        default=80,
        gt=0,
        description="value to hold the metric at per pod (for example 10); with prometheus, the query's threshold",
    )
    query: str | None = Field(
        default=None,
        min_length=1,
        description="with metric: prometheus, the PromQL query whose value is held at target per the scaled "
        "predictor (for example 'sum(vllm:num_requests_waiting{model_name=\"llm\"})')",
    )
    serverAddress: CredentialFreeUri | None = Field(
        default=None,
        description="with metric: prometheus, the Prometheus URL (for example http://prometheus.monitoring:9090)",
    )
    authentication: KedaAuthentication | None = Field(
        default=None,
        description="with metric: prometheus, the KEDA TriggerAuthentication the query authenticates with (for "
        "example {name: prometheus-auth, modes: [bearer]})",
    )

    @model_validator(mode="after")
    def _prometheus_fields(self) -> Autoscaling:
        external = (self.query, self.serverAddress)
        if self.metric == "prometheus" and None in external:
            raise ValueError("metric: prometheus needs query and serverAddress")
        if self.metric != "prometheus" and (external != (None, None) or self.authentication is not None):
            raise ValueError("query, serverAddress and authentication apply only to metric: prometheus")
        return self


class Resources(Strict):
    requests: dict[ResourceName, Quantity] = Field(
        default_factory=dict,
        description="resources reserved per container (for example {cpu: 500m, memory: 1Gi})",
    )
    limits: dict[ResourceName, Quantity] = Field(
        default_factory=dict,
        description="most a container may use (for example {memory: 2Gi})",
    )


class Gpu(Strict):
    count: Int32 = Field(default=0, ge=0, description="GPUs per pod; default 0 (for example 1)")
    class_: str | None = Field(
        default=None,
        alias="class",
        description="a gpuClasses entry of mlgitops.yaml placing the pod (for example a100)",
    )


class SecurityContext(Strict):
    """How a pod's containers run. The defaults meet the `restricted` Pod Security Standard; switch a
    field off only for an image that cannot run that way (render/pods.py renders it, docs/real-cluster.md)."""

    runAsNonRoot: bool = Field(
        default=True,
        description="false: the image runs as root (the pod then meets `baseline` at most)",
    )
    runAsUser: int | None = Field(
        default=None,
        ge=0,
        description="numeric user to run as, for images whose USER is a name or root (the kubelet cannot "
        "verify a named user is non-root)",
    )
    readOnlyRootFilesystem: bool | None = Field(
        default=None,
        description="read-only root filesystem with /tmp as an emptyDir; default: true for the KServe Python "
        "model servers (sklearn, xgboost, lightgbm, pmml, paddle: the engine: deployment default image, or "
        "the matching kserve-*server runtime named in serving.runtime), false for other images",
    )


class Transformer(Strict):
    """KServe transformer: a container in front of the predictor, its own component (spec.transformer) or,
    `collocated`, a second container of the predictor's pod (predictor.containers, `transformer-container`)."""

    image: ImageRef = Field(description="transformer image (for example ghcr.io/acme/tokenize:1.0)")
    command: list[Text] = Field(default_factory=list, description="entrypoint (for example ['python', '-m', 't'])")
    args: list[Text] = Field(default_factory=list, description="arguments (for example ['--predictor_host=x'])")
    env: EnvMap = Field(default_factory=dict, description="variables, as serving.env (for example LOG_LEVEL: info)")
    resources: Resources = Field(default_factory=lambda: Resources(), description="requests and limits")
    collocated: bool = Field(
        default=False,
        description="true: run in the predictor's pod, serving port 8080 and calling the model server on "
        "localhost (its port moves: serving.ports and serving.args); false: a component of its own",
    )
    nodeClass: str | None = Field(
        default=None, description="a nodeClasses entry of mlgitops.yaml placing the transformer (for example cpu)"
    )
    replicas: Replicas | None = Field(
        default=None, description="the transformer's replica bounds, as serving.replicas (for example {min: 2})"
    )
    autoscaling: Autoscaling | None = Field(
        default=None,
        description="what the transformer scales on, as serving.autoscaling (for example {metric: cpu, target: 60})",
    )
    probes: Probes | None = Field(
        default=None,
        description="the transformer container's probes, as serving.probes (for example {readiness: {httpGet: "
        "{path: /v1/models/m, port: 8080}}})",
    )


class Batcher(Strict):
    """KServe's request batcher (predictor.batcher): the model agent sidecar collects requests into one
    prediction (v1 HTTP protocol only); unset values take the agent's defaults."""

    maxBatchSize: Int32 | None = Field(
        default=None, ge=1, description="most instances in one batch; default 32 (for example 16)"
    )
    maxLatency: Int32 | None = Field(
        default=None, ge=1, description="milliseconds a batch waits to fill; default 500 (for example 100)"
    )
    timeout: Int32 | None = Field(
        default=None, ge=1, description="seconds the agent waits for the model server; default 60 (for example 30)"
    )


class Explainer(Strict):
    """A custom explainer: one container beside the predictor (spec.explainer.containers[0]), answering
    `:explain` requests; `STORAGE_URI` in its env makes KServe's storage initializer fetch its files."""

    image: ImageRef = Field(description="explainer image (for example ghcr.io/acme/explainer:1.0)")
    command: list[Text] = Field(default_factory=list, description="entrypoint (for example ['python', '-m', 'e'])")
    args: list[Text] = Field(default_factory=list, description="arguments (for example ['--model_name=income'])")
    env: EnvMap = Field(default_factory=dict, description="variables, as serving.env (for example LOG_LEVEL: info)")
    resources: Resources = Field(default_factory=lambda: Resources(), description="requests and limits")


class PayloadLogger(Strict):
    """KServe payload logging (predictor.logger): CloudEvents to `url`, the usual hook for drift monitoring."""

    mode: Literal["all", "request", "response"] = Field(
        default="all", description="what to send: all, request or response (for example all)"
    )
    url: CredentialFreeUri | None = Field(
        default=None,
        description="where events go (for example http://message-dumper.default); default: KServe's configured sink",
    )


class Canary(Strict):
    version: Version = Field(min_length=1, description="model version the canary serves, quoted text (for example '7')")
    storageUri: StorageUri = Field(
        description="where the canary's model files are (for example s3://ml-models/fraud-detector/7/model)",
    )
    trafficPercent: int = Field(
        ge=0,
        le=100,
        description="share of requests sent to the canary, 0 to 100 (for example 10)",
    )


class Serving(Strict):
    engine: Literal["kserve", "deployment", "llm"] = Field(
        default="kserve",
        description="kserve: an InferenceService; deployment: Deployment, Service and HPA; llm: a KServe "
        "LLMInferenceService (vLLM; model.storageUri hf://, s3://, pvc:// or oci://); default kserve",
    )
    mode: Literal["Standard", "Knative"] = Field(
        default="Standard",
        description="KServe deployment mode: Standard (raw Kubernetes) or Knative (serverless); default Standard",
    )
    runtime: DnsSubdomain | None = Field(
        default=None,
        description="KServe ServingRuntime name; default: chosen by KServe from the format (for example "
        "kserve-sklearnserver)",
    )
    protocol: Literal["v1", "v2", "grpc-v1", "grpc-v2"] | None = Field(
        default=None,
        description="inference protocol (for example v2); default: the runtime's own (KServe's default is v1)",
    )
    serviceAccount: DnsSubdomain | None = Field(
        default=None,
        description="ServiceAccount the model server runs as, for storage credentials (for example model-reader)",
    )
    image: ImageRef | None = Field(
        default=None,
        description="model server image (for example ghcr.io/acme/server:1.0): with engine: deployment it replaces "
        "the format's server; with engine: kserve it is a custom predictor container that finds the model in "
        "/mnt/models (KServe's storage initializer, through STORAGE_URI)",
    )
    replicas: Replicas = Field(default_factory=Replicas, description="replica bounds (for example {min: 2, max: 6})")
    autoscaling: Autoscaling | None = Field(
        default=None,
        description="what to scale on and the target; default: CPU (for example {metric: concurrency, target: 10})",
    )
    resources: Resources = Field(
        default_factory=Resources,
        description="model server requests and limits (for example {requests: {cpu: '1', memory: 2Gi}})",
    )
    gpu: Gpu = Field(default_factory=Gpu, description="GPUs per model server pod (for example {count: 1, class: a100})")
    canary: Canary | None = Field(
        default=None,
        description="a second version receiving part of the traffic (for example {version: '7', storageUri: "
        "..., trafficPercent: 10})",
    )
    securityContext: SecurityContext = Field(
        default_factory=SecurityContext,
        description="model server container security settings (for example {runAsUser: 1000})",
    )
    sharedMemory: Quantity | None = Field(
        default=None,
        description="size of the memory-backed /dev/shm; default for GPU pods: 1Gi per GPU",
    )
    nodeClass: str | None = Field(
        default=None, description="a nodeClasses entry of mlgitops.yaml placing the model server, e.g. highmem"
    )
    args: list[Text] = Field(
        default_factory=list,
        description="arguments of the model server (for example ['--max-model-len=8192'])",
    )
    env: EnvMap = Field(
        default_factory=dict,
        description="environment of the model server: NAME: value, or {secret: NAME, key: KEY} / "
        "{configMap: NAME, key: KEY} (for example HF_TOKEN: {secret: hf, key: token})",
    )
    envFrom: list[EnvFromSource] = Field(
        default_factory=list,
        description="Secrets or ConfigMaps whose every key becomes a variable (for example [{secret: s3-creds}])",
    )
    volumes: Volumes = Field(
        default_factory=list,
        description="volumes mounted into the model server (for example [{name: cache, mountPath: /cache, "
        "pvc: model-cache}])",
    )
    runtimeVersion: Text | None = Field(
        default=None,
        min_length=1,
        description="image tag of the ServingRuntime's server to use (for example 0.20.0); engine: kserve",
    )
    timeout: Int64 | None = Field(
        default=None,
        ge=1,
        description="seconds a request may take before it fails (for example 600); engine: kserve",
    )
    containerConcurrency: Int64 | None = Field(
        default=None,
        ge=0,
        description="most requests one pod handles at once, 0 for no limit (for example 8); engine: kserve",
    )
    transformer: Transformer | None = Field(
        default=None,
        description="a pre/post-processing container in front of the predictor (for example {image: "
        "ghcr.io/acme/tokenize:1.0}); engine: kserve",
    )
    logger: PayloadLogger | None = Field(
        default=None,
        description="send requests and/or responses as CloudEvents to a URL (for example {mode: all, url: "
        "http://drift.monitoring}); engine: kserve",
    )
    workers: Workers | None = Field(
        default=None,
        description="multi-node serving, one replica over several GPU pods (for example {size: 2, "
        "tensorParallelSize: 4}); engine: kserve (predictor.workerSpec) or llm (parallelism)",
    )
    router: LlmRouter | None = Field(
        default=None,
        description="how requests reach the model (for example {gateway: true, scheduler: true}); engine: llm",
    )
    ports: Ports = Field(
        default_factory=list,
        description="ports of the model server container; on KServe the first is the serving port (for example "
        "[{name: h2c, containerPort: 9000}])",
    )
    probes: Probes | None = Field(
        default=None,
        description="readiness, liveness and startup probes of the model server (for example {readiness: "
        "{httpGet: {path: /v1/models/m, port: 8080}}})",
    )
    batcher: Batcher | None = Field(
        default=None,
        description="batch requests in KServe's model agent (for example {maxBatchSize: 32, maxLatency: 500}); "
        "engine: kserve",
    )
    explainer: Explainer | None = Field(
        default=None,
        description="a custom explainer container (for example {image: ghcr.io/acme/explainer:1.0}); engine: kserve",
    )
    multiModel: bool = Field(
        default=False,
        description="true: a multi-model server, whose predictor loads no model of its own; KServe's TrainedModel "
        "objects (written by a Jsonnet addon) load models into it, so model.storageUri and model.storage are left "
        "out; engine: kserve, not huggingface (for example true)",
    )

    @model_validator(mode="after")
    def _engine_fields(self) -> Serving:
        if self.engine == "deployment":
            kserve_only = ("runtimeVersion", "timeout", "containerConcurrency", "transformer", "logger", "batcher")
            for field in (*kserve_only, "explainer"):
                if getattr(self, field) is not None:
                    raise ValueError(f"{field} needs engine: kserve (engine: deployment has no such field)")
        prometheus = self.autoscaling is not None and self.autoscaling.metric == "prometheus"
        if prometheus and (self.engine != "kserve" or self.mode != "Standard"):
            raise ValueError(
                "autoscaling.metric: prometheus needs engine: kserve and mode: Standard (KServe's KEDA autoscaler)"
            )
        if self.image is not None and self.engine == "kserve":
            if self.runtime is not None:
                raise ValueError("set either image (a custom predictor container) or runtime, not both")
            if self.runtimeVersion is not None:
                raise ValueError("runtimeVersion picks a ServingRuntime's image tag: with image, put the tag in image")
            taken = sorted({"STORAGE_URI", "PROTOCOL"} & set(self.env))
            if taken:
                raise ValueError(
                    f"env {taken[0]} is set by mlgitops for a custom predictor image (from model.storageUri and "
                    "serving.protocol); set those fields instead"
                )
        # A standalone transformer (spec.transformer) may set STORAGE_URI: KServe's storage initializer then
        # fetches its files. Only a transformer collocated in predictor.containers may not
        # (kserve pkg/apis/serving/v1beta1/inference_service_validation.go, StorageUriPresentInTransformerError).
        return self
