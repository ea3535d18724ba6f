"""The two hand-written file kinds, as strict pydantic models.

`Project` is `mlgitops.yaml`; `Model` is `models/<name>.yaml`. Keys are spelt exactly as in the files
(camelCase, like Kubernetes), unknown keys are errors, and scalars a person would reasonably write
unquoted (`version: 7`, `cpu: 1`) are accepted and normalised to strings.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

API_VERSION = "mlgitops.io/v1alpha1"
DEFAULT_CLUSTER = "https://kubernetes.default.svc"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$")
_DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+s)?$")
_ARTIFACT = re.compile(r"^[a-zA-Z0-9][-_a-zA-Z0-9]*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_STORAGE_SCHEMES = ("gs", "s3", "pvc", "file", "http", "https", "hdfs", "webhdfs", "oci", "hf")


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label (lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)"
        )
    return value


def _scalar_text(value: Any) -> Any:
    """Numbers a person wrote unquoted become their text; everything else is left to validation."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(value, "g") if value != int(value) else str(int(value))
    return value


def _label_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ValueError(f"{value!r} cannot be a Kubernetes label value (letters, digits, '-', '_', '.'; at most 63)")
    return value


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity (like 500m, 2, 4Gi)")
    return value


def _duration(value: str) -> str:
    if not value or not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration (like 45m, 6h, 1h30m)")
    return value


def _storage_uri(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep or not rest or scheme not in _STORAGE_SCHEMES:
        raise ValueError(f"{value!r} is not a storage URI KServe can load (schemes: {', '.join(_STORAGE_SCHEMES)})")
    return value


def _artifact_name(value: str) -> str:
    if not _ARTIFACT.match(value):
        raise ValueError(f"{value!r} is not a valid name (letters, digits, '-' and '_')")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Text = Annotated[str, BeforeValidator(_scalar_text)]
Version = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_label_value)]
Quantity = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_quantity)]
Duration = Annotated[str, AfterValidator(_duration)]
StorageUri = Annotated[str, AfterValidator(_storage_uri)]
ArtifactName = Annotated[str, AfterValidator(_artifact_name)]


def duration_seconds(value: str) -> int:
    """`1h30m` → 5400."""
    total = 0
    for number, unit in re.findall(r"(\d+)([hms])", value):
        total += int(number) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False)


# --- Project -------------------------------------------------------------------------------------


class Toleration(Strict):
    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    tolerationSeconds: int | None = None


class GpuClass(Strict):
    """How to place a pod that needs this kind of GPU."""

    resource: str = "nvidia.com/gpu"
    nodeSelector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)


class KnativeFeatures(Strict):
    """Knative Serving `config-features` flags the cluster has enabled (all disabled on a stock install).

    knative/serving `config/core/configmaps/features.yaml`: `kubernetes.podspec-nodeselector`,
    `kubernetes.podspec-tolerations`, `kubernetes.podspec-affinity`.
    """

    podspecNodeSelector: bool = False
    podspecTolerations: bool = False
    podspecAffinity: bool = False


class ProvidedResources(Strict):
    """Objects the cluster provides in the environment's namespace (so `validate` need not find them rendered)."""

    serviceAccounts: list[str] = Field(default_factory=list)
    configMaps: list[str] = Field(default_factory=list)
    secrets: list[str] = Field(default_factory=list)


class ClusterFeatures(Strict):
    """What the target cluster has enabled; the defaults describe a stock installation."""

    knative: KnativeFeatures = Field(default_factory=KnativeFeatures)
    gatewayApi: bool = False
    podSecurity: Literal["privileged", "baseline", "restricted"] = "restricted"
    provides: ProvidedResources = Field(default_factory=ProvidedResources)


def merged_features(base: ClusterFeatures, override: ClusterFeatures | None) -> ClusterFeatures:
    """`override`'s explicitly set fields over `base` (one level deep for nested blocks)."""
    if override is None:
        return base
    updates: dict[str, Any] = {}
    for name in override.model_fields_set:
        value = getattr(override, name)
        if isinstance(value, BaseModel):
            inner = getattr(base, name)
            value = inner.model_copy(update={k: getattr(value, k) for k in value.model_fields_set})
        updates[name] = value
    return base.model_copy(update=updates)


class Environment(Strict):
    name: DnsLabel
    namespace: DnsLabel
    cluster: str | None = None
    clusterName: str | None = None
    createNamespace: bool = True
    syncPolicy: Literal["auto", "manual"] = "auto"
    defaults: dict[str, Any] = Field(default_factory=dict)
    clusterFeatures: ClusterFeatures | None = None
    allowEmpty: bool = Field(
        default=False,
        description="Allow a render without any model objects in this environment (a sync would then prune every "
        "model); the name of Argo CD's syncPolicy.automated.allowEmpty",
    )

    @model_validator(mode="after")
    def _one_destination(self) -> Environment:
        if self.cluster and self.clusterName:
            raise ValueError("set either cluster or clusterName, not both")
        return self


class ProjectMetadata(Strict):
    name: DnsLabel
    labels: dict[str, Text] = Field(default_factory=dict)


class ArgoCDSettings(Strict):
    mode: Literal["plugin", "rendered"] = "plugin"
    namespace: str = "argocd"
    applicationSet: bool = False
    image: str | None = Field(
        default=None,
        min_length=1,
        description="Image of the Argo CD plugin sidecar (built from the Dockerfile); default mlgitops-cmp:<version>",
    )


class FluxSettings(Strict):
    namespace: str = "flux-system"
    interval: Duration = "10m"
    retryInterval: Duration = "2m"
    timeout: Duration = "5m"
    dependsOn: bool = False
    substitution: bool = False
    secretRef: str | None = None


def _reason(value: str) -> str:
    if not value.strip():
        raise ValueError("a reason is required (say why the policy does not apply)")
    return value.strip()


class PolicyWaiver(Strict):
    """One policy switched off, with the reason recorded in Git (optionally only in some environments)."""

    id: str = Field(min_length=1)
    reason: Annotated[str, AfterValidator(_reason)]
    environments: list[str] | None = None


class Policies(Strict):
    """`policies:` in mlgitops.yaml (whole project) or in a model file (that model only)."""

    disabled: list[PolicyWaiver] = Field(default_factory=list)


class Images(Strict):
    """Images used by `engine: deployment`: the storage initializer and one model server per format."""

    storageInitializer: str = "kserve/storage-initializer:v0.20.0"
    servers: dict[str, str] = Field(default_factory=dict)


class Project(Strict):
    apiVersion: Literal["mlgitops.io/v1alpha1"]
    kind: Literal["Project"]
    metadata: ProjectMetadata
    repoURL: str
    revision: str = "main"
    environments: list[Environment] = Field(min_length=1)
    gpuClasses: dict[str, GpuClass] = Field(default_factory=dict)
    clusterFeatures: ClusterFeatures = Field(default_factory=ClusterFeatures)
    argocd: ArgoCDSettings = Field(default_factory=ArgoCDSettings)
    flux: FluxSettings = Field(default_factory=FluxSettings)
    images: Images = Field(default_factory=Images)
    policies: Policies = Field(default_factory=Policies)

    def environment(self, name: str) -> Environment:
        for env in self.environments:
            if env.name == name:
                return env
        raise KeyError(name)

    def features(self, env: str) -> ClusterFeatures:
        """The cluster features of one environment: the project's, with the environment's settings over them."""
        return merged_features(self.clusterFeatures, self.environment(env).clusterFeatures)

    @property
    def environment_names(self) -> list[str]:
        return [env.name for env in self.environments]


# --- Model ---------------------------------------------------------------------------------------


class ModelMetadata(Strict):
    name: DnsLabel
    owner: str | None = None
    labels: dict[str, Text] = Field(default_factory=dict)
    annotations: dict[str, Text] = Field(default_factory=dict)


class ModelSource(Strict):
    format: str = Field(min_length=1)
    formatVersion: Text | None = None
    version: Version = Field(min_length=1)
    storageUri: StorageUri
    registry: str | None = None


class Replicas(Strict):
    min: int = Field(default=1, ge=0)
    max: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Replicas:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Autoscaling(Strict):
    metric: Literal["cpu", "memory", "concurrency", "rps"] = "cpu"
    target: int = Field(default=80, gt=0)


class Resources(Strict):
    requests: dict[str, Quantity] = Field(default_factory=dict)
    limits: dict[str, Quantity] = Field(default_factory=dict)


class Gpu(Strict):
    count: int = Field(default=0, ge=0)
    class_: str | None = Field(default=None, alias="class")


class Canary(Strict):
    version: Version = Field(min_length=1)
    storageUri: StorageUri
    trafficPercent: int = Field(ge=0, le=100)


class Serving(Strict):
    engine: Literal["kserve", "deployment"] = "kserve"
    mode: Literal["Standard", "Knative"] = "Standard"
    runtime: str | None = None
    protocol: Literal["v1", "v2", "grpc-v1", "grpc-v2"] = "v2"
    serviceAccount: DnsLabel | None = None
    image: str | None = None
    replicas: Replicas = Field(default_factory=Replicas)
    autoscaling: Autoscaling | None = None
    resources: Resources = Field(default_factory=Resources)
    gpu: Gpu = Field(default_factory=Gpu)
    canary: Canary | None = None


class Step(Strict):
    name: DnsLabel
    after: list[str] = Field(default_factory=list)
    image: str | None = None
    command: list[Text] = Field(min_length=1)
    args: list[Text] = Field(default_factory=list)
    env: dict[str, Text] = Field(default_factory=dict)
    inputs: list[ArtifactName] = Field(default_factory=list)
    outputs: list[ArtifactName] = Field(default_factory=list)
    metrics: list[ArtifactName] = Field(default_factory=list)
    resources: Resources | None = None
    gpu: Gpu | None = None
    retries: int = Field(default=0, ge=0, le=20)
    timeout: Duration | None = None


class Gate(Strict):
    metric: str
    op: Literal[">=", "<=", ">", "<", "==", "!="]
    value: float


class Register(Strict):
    """The step that records a model which passed every gate."""

    image: str | None = None
    command: list[Text] = Field(min_length=1)
    args: list[Text] = Field(default_factory=list)


class Training(Strict):
    image: str = Field(min_length=1)
    serviceAccount: DnsLabel | None = None
    schedule: str | list[str] | None = None
    timezone: str | None = None
    timeout: Duration | None = None
    parameters: dict[str, Text] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    gates: list[Gate] = Field(default_factory=list)
    register_: Register | None = Field(default=None, alias="register")

    @property
    def schedules(self) -> list[str]:
        if self.schedule is None:
            return []
        return [self.schedule] if isinstance(self.schedule, str) else list(self.schedule)


class Model(Strict):
    apiVersion: Literal["mlgitops.io/v1alpha1"]
    kind: Literal["Model"]
    metadata: ModelMetadata
    model: ModelSource
    serving: Serving | None = None
    training: Training | None = None
    policies: Policies = Field(default_factory=Policies)
    environments: dict[str, dict[str, Any] | None] = Field(default_factory=dict)


# Model server images by model format for `engine: deployment` (KServe's runtimes, Apache-2.0).
# mlgitops.yaml `images.servers` adds or overrides entries; `serving.image` overrides them per model.
DEFAULT_SERVER_IMAGES = {
    "sklearn": "kserve/sklearnserver:v0.20.0",
    "xgboost": "kserve/xgbserver:v0.20.0",
    "lightgbm": "kserve/lgbserver:v0.20.0",
    "huggingface": "kserve/huggingfaceserver:v0.20.0",
    "pmml": "kserve/pmmlserver:v0.20.0",
    "paddle": "kserve/paddleserver:v0.20.0",
}


def server_image(spec: Model, project: Project) -> str | None:
    """The model server image `engine: deployment` runs for this model, if one is known."""
    if spec.serving is not None and spec.serving.image:
        return spec.serving.image
    fmt = spec.model.format
    return project.images.servers.get(fmt) or DEFAULT_SERVER_IMAGES.get(fmt)


# Keys an environment patch (project defaults or a model's `environments.<env>`) may set.
PATCHABLE_MODEL_KEYS = ("metadata", "model", "serving", "training")
