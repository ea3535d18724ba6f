"""The two hand-written file kinds, as strict pydantic models.

`Project` is `mlgitops.yaml`; `Model` is `models/<name>.yaml`. Keys are spelt exactly as in the files
(camelCase, like Kubernetes), unknown keys are errors, and a number or boolean where text is meant
(`version: 1.10`, which YAML reads as 1.1) is an error asking to quote it; quantities (`cpu: 1`) accept
numbers, as Kubernetes does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mlgitops import kubevalues as kv
from mlgitops.credentials import uri_problem

API_VERSION = "mlgitops.io/v1alpha1"
DEFAULT_CLUSTER = "https://kubernetes.default.svc"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+s)?$")
_ARTIFACT = re.compile(r"^[a-zA-Z0-9][-_a-zA-Z0-9]*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# kserve pkg/apis/serving/v1beta1/predictor.go SupportedStorageURIPrefixList, plus the OCI model-car
# prefixes of the storage initializer and the modelcar webhook (`oci+fetch://` downloads an OCI artifact,
# `oci+native://` mounts an image volume: kserve pkg/webhook/admission/pod/storage_initializer_injector.go).
_STORAGE_SCHEMES = (
    "gs", "s3", "pvc", "file", "http", "https", "hdfs", "webhdfs", "oci", "oci+fetch", "oci+native", "hf",
)


def _dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label (lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)"
        )
    return value


def _scalar_text(value: Any) -> Any:
    """Text fields take text only: `version: 1.10` would silently become "1.1", so a number or a
    boolean is refused with a hint to quote it (schema_errors.py words it with what was written)."""
    if isinstance(value, (bool, int, float)):
        message = "written as a YAML {kind} where text is meant: quote it"
        raise PydanticCustomError(UNQUOTED_SCALAR, message, {"kind": _yaml_kind(value)})
    return value


def _quantity_text(value: Any) -> Any:
    """Quantities keep accepting numbers (`cpu: 1`, `cpu: 0.5`): Kubernetes reads a JSON/YAML number as a
    Quantity too (apimachinery pkg/api/resource/quantity.go UnmarshalJSON), and the numeric value is what
    counts, so `1.10` and `1.1` mean the same amount."""
    if isinstance(value, bool):
        return _scalar_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number (quote it if you mean the text)")
        return format(value, "g") if value != int(value) else str(int(value))
    return value


UNQUOTED_SCALAR = "unquoted_scalar"


def _yaml_kind(value: Any) -> str:
    return "boolean" if isinstance(value, bool) else "number"


def _label_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ValueError(f"{value!r} cannot be a Kubernetes label value (letters, digits, '-', '_', '.'; at most 63)")
    return value


def _quantity(value: str) -> str:
    message = kv.quantity(value)
    if message:
        raise ValueError(message)
    return value


def _duration(value: str) -> str:
    if not value or not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration (like 45m, 6h, 1h30m)")
    too_long = kv.duration_range(duration_seconds(value)) if len(value) <= 32 else "is too long"
    if too_long:
        raise ValueError(f"{value!r} {too_long}")
    return value


def _without_credentials(value: str) -> str:
    message = uri_problem(value)
    if message:
        raise ValueError(message)
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


def _qualified_image(value: str) -> str:
    """A reference a node can pull as written: registry host, repository, and a tag or digest."""
    name, at, digest = value.partition("@")
    host, slash, path = name.partition("/")
    tag = path.rpartition(":")[2] if ":" in path else ""
    if not slash or not ("." in host or ":" in host or host == "localhost"):
        raise ValueError(
            f"{value!r} is not fully qualified: name the registry host (for example ghcr.io/acme/mlgitops-cmp:0.1.0)"
        )
    if not (tag or (at and digest.startswith("sha256:"))):
        raise ValueError(f"{value!r} names no tag or digest (for example ghcr.io/acme/mlgitops-cmp:0.1.0)")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Text = Annotated[str, BeforeValidator(_scalar_text)]
Version = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_label_value)]
Quantity = Annotated[str, BeforeValidator(_quantity_text), AfterValidator(_quantity)]
Duration = Annotated[str, AfterValidator(_duration)]
StorageUri = Annotated[str, AfterValidator(_without_credentials), AfterValidator(_storage_uri)]
ArtifactName = Annotated[str, AfterValidator(_artifact_name)]


# --- values Kubernetes, Argo and Git check (rules in kubevalues.py, credentials in credentials.py) ---

_T = TypeVar("_T")
# The model name plus the longest suffix a rendered name gets: `<name>-predictor` is a Service (and
# KServe's own predictor Service), a DNS-1035 label of at most 63; KServe also requires the
# InferenceService name to start with a letter (kserve pkg/apis/serving/v1beta1/inference_service_validation.go
# IsvcNameFmt). The Deployment `<name>-predictor-canary` is a subdomain (253), so it is not the bound.
PREDICTOR_SUFFIX = "-predictor"


def _rule(check: Callable[[_T], str | None]) -> Callable[[_T], _T]:
    def validate(value: _T) -> _T:
        message = check(value)
        if message:
            raise ValueError(message)
        return value

    return validate


def _model_name(value: str) -> str | None:
    limit = kv.DNS1123_LABEL_MAX - len(PREDICTOR_SUFFIX)
    if kv.dns1035_label(value, limit):
        return (
            f"{value[:80]!r} is not a model name: a DNS-1123 label that starts with a letter (lower-case letters, "
            f"digits and '-'), at most {limit} characters so that the Service '<name>{PREDICTOR_SUFFIX}' fits in 63"
        )
    return None


ModelName = Annotated[str, AfterValidator(_rule(_model_name))]
DnsSubdomain = Annotated[str, AfterValidator(_rule(kv.dns1123_subdomain))]
LabelKey = Annotated[str, AfterValidator(_rule(kv.qualified_name))]
LabelValue = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_rule(kv.label_value))]
LabelMap = dict[LabelKey, LabelValue]
AnnotationMap = Annotated[dict[LabelKey, Text], AfterValidator(_rule(kv.annotations_size))]
# int32 fields: HPA minReplicas/maxReplicas/averageUtilization (k8s.io/api autoscaling/v2/types.go), KServe
# minReplicas/maxReplicas/scaleTarget (kserve pkg/apis/serving/v1beta1/component.go); int64:
# Toleration.tolerationSeconds (k8s.io/api core/v1/types.go).
Int32 = Annotated[int, AfterValidator(_rule(kv.int32))]
Int64 = Annotated[int, AfterValidator(_rule(kv.int64))]
ImageRef = Annotated[str, AfterValidator(_rule(kv.image_reference))]
GitRevision = Annotated[str, BeforeValidator(_scalar_text), AfterValidator(_rule(kv.git_ref))]
ClusterUrl = Annotated[str, AfterValidator(_rule(kv.https_url))]
CredentialFreeUri = Annotated[str, AfterValidator(_without_credentials)]
ResourceName = Annotated[str, AfterValidator(_rule(kv.container_resource_name))]
ExtendedResource = Annotated[str, AfterValidator(_rule(kv.extended_resource_name))]
EnvName = Annotated[str, AfterValidator(_rule(kv.env_var_name))]
ParameterName = Annotated[str, AfterValidator(_rule(kv.argo_parameter_name))]
CronSchedule = Annotated[str, AfterValidator(_rule(kv.cron_schedule))]
TimeZone = Annotated[str, AfterValidator(_rule(kv.timezone))]


def duration_seconds(value: str) -> int:
    """`1h30m` → 5400."""
    total = 0
    for number, unit in re.findall(r"(\d+)([hms])", value):
        total += int(number) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, allow_inf_nan=False)


# --- Project -------------------------------------------------------------------------------------


class Toleration(Strict):
    key: LabelKey | None = Field(
        default=None,
        description="taint key to tolerate (for example nvidia.com/gpu); empty with operator: Exists matches "
        "every taint",
    )
    operator: Literal["Exists", "Equal"] | None = Field(
        default=None,
        description="Equal (key and value must match) or Exists (any value); Kubernetes default: Equal",
    )
    value: LabelValue | None = Field(
        default=None,
        description="taint value to match with operator: Equal (for example present)",
    )
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None,
        description="taint effect to tolerate (for example NoSchedule); empty tolerates every effect",
    )
    tolerationSeconds: Int64 | None = Field(
        default=None,
        description="with effect: NoExecute, how long the pod stays bound after the taint appears (for example 300)",
    )

    @model_validator(mode="after")
    def _kubernetes_rules(self) -> Toleration:
        # kubernetes/kubernetes pkg/apis/core/validation/validation.go ValidateTolerations.
        if not self.key and self.operator != "Exists":
            raise ValueError("a toleration without a key must have operator: Exists (it matches every taint)")
        if self.operator == "Exists" and self.value:
            raise ValueError("a toleration with operator: Exists must not have a value")
        if self.tolerationSeconds is not None and self.effect != "NoExecute":
            raise ValueError("tolerationSeconds needs effect: NoExecute")
        return self


class GpuClass(Strict):
    """How to place a pod that needs this kind of GPU."""

    resource: ExtendedResource = Field(
        default="nvidia.com/gpu",
        description="extended resource the GPUs are requested as; default nvidia.com/gpu (for example amd.com/gpu)",
    )
    nodeSelector: LabelMap = Field(
        default_factory=dict,
        description="node labels a pod of this class requires (for example {nvidia.com/gpu.product: "
        "NVIDIA-A100-SXM4-80GB})",
    )
    tolerations: list[Toleration] = Field(
        default_factory=list,
        description="taints a pod of this class tolerates (for example [{key: nvidia.com/gpu, operator: "
        "Exists, effect: NoSchedule}])",
    )


AffinityKind = Literal["nodeAffinity", "podAffinity", "podAntiAffinity"]


class NodeClass(Strict):
    """Where to place a pod that needs no GPU (or, with a GPU class, where else it must run).

    `affinity` is a Kubernetes core/v1 Affinity (k8s.io/api core/v1 types.go `Affinity`): its three
    blocks are kept as written and checked field by field by `validate` against the InferenceService,
    Deployment and Argo CRD schemas the rendered objects must pass.
    """

    nodeSelector: LabelMap = Field(
        default_factory=dict,
        description="node labels the pod requires, e.g. {node.kubernetes.io/instance-type: m5.2xlarge}",
    )
    tolerations: list[Toleration] = Field(
        default_factory=list,
        description="taints the pod tolerates, e.g. [{key: dedicated, value: ml, effect: NoSchedule}]",
    )
    affinity: dict[AffinityKind, dict[str, Any]] = Field(
        default_factory=dict,
        description="a Kubernetes Affinity, e.g. {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
        "{nodeSelectorTerms: [{matchExpressions: [{key: pool, operator: In, values: [cpu]}]}]}}}",
    )


class KnativeFeatures(Strict):
    """Knative Serving `config-features` flags the cluster has enabled (all disabled on a stock install).

    knative/serving `config/core/configmaps/features.yaml`: `kubernetes.podspec-nodeselector`,
    `kubernetes.podspec-tolerations`, `kubernetes.podspec-affinity`.
    """

    podspecNodeSelector: bool = Field(
        default=False,
        description="kubernetes.podspec-nodeselector is enabled, so Knative services may set nodeSelector; "
        "default false",
    )
    podspecTolerations: bool = Field(
        default=False,
        description="kubernetes.podspec-tolerations is enabled, so Knative services may set tolerations; default false",
    )
    podspecAffinity: bool = Field(
        default=False,
        description="kubernetes.podspec-affinity is enabled, so Knative services may set affinity; default false",
    )
    requestMetrics: Literal["opentelemetry", "opentelemetry-1.19", "opencensus"] = Field(
        default="opentelemetry",
        description="the queue-proxy request metrics the cluster's Knative Serving exports: opentelemetry "
        "(1.20.1 and later, e.g. the 1.21 KServe v0.20 installs: kn_serving_invocation_duration_seconds), "
        "opentelemetry-1.19 (1.19.0 to 1.20.0: kn_queueproxy_app_duration_seconds) or opencensus (1.18 and "
        "earlier: revision_app_request_count); default opentelemetry. From 1.19 the queue-proxy exports them "
        "only with request-metrics-protocol: prometheus in ConfigMap config-observability",
    )


class ProvidedResources(Strict):
    """Objects the cluster provides in the environment's namespace (so `validate` need not find them rendered)."""

    serviceAccounts: list[DnsSubdomain] = Field(
        default_factory=list,
        description="ServiceAccounts the cluster provides, for serviceAccount: (for example [model-server])",
    )
    configMaps: list[DnsSubdomain] = Field(
        default_factory=list,
        description="ConfigMaps the cluster provides, for configMap references (for example [features])",
    )
    secrets: list[DnsSubdomain] = Field(
        default_factory=list,
        description="Secrets the cluster provides, for secret references (for example [s3-creds])",
    )
    persistentVolumeClaims: list[DnsSubdomain] = Field(
        default_factory=list,
        description="PersistentVolumeClaims the cluster provides, for volumes with pvc: (for example [datasets])",
    )


class ClusterFeatures(Strict):
    """What the target cluster has enabled; the defaults describe a stock installation."""

    knative: KnativeFeatures = Field(
        default_factory=KnativeFeatures,
        description="Knative Serving config-features flags enabled (for example {podspecTolerations: true}); "
        "default all off",
    )
    gatewayApi: bool = Field(
        default=False,
        description="KServe uses the Gateway API ingress, which canaries in Standard mode need; default false",
    )
    podSecurity: Literal["privileged", "baseline", "restricted"] = Field(
        default="restricted",
        description="Pod Security level the namespaces enforce; default restricted (for example baseline)",
    )
    provides: ProvidedResources = Field(
        default_factory=ProvidedResources,
        description="objects the cluster already has in the namespace (for example {secrets: [s3-creds]})",
    )


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


class EnvironmentFlux(Strict):
    """Flux settings of one environment (plugins/flux/)."""

    revision: str | None = Field(
        default=None,
        min_length=1,
        description="Git branch, full ref (refs/tags/v1) or commit this environment's Flux Kustomization "
        "deploys, through its own GitRepository (default: the project's revision)",
    )
    semver: str | None = Field(
        default=None,
        min_length=1,
        description="Deploy the highest Git tag in this SemVer range (for example '>=1.0.0'), through its own "
        "GitRepository: a tag, not a merge, deploys the environment",
    )
    timeout: Duration | None = Field(
        default=None,
        description="How long Flux waits for the environment's objects to become ready (default: flux.timeout, "
        "else 30m when the environment serves a model on GPUs and 10m otherwise)",
    )

    @model_validator(mode="after")
    def _one_reference(self) -> EnvironmentFlux:
        if self.revision and self.semver:
            raise ValueError("set either revision or semver, not both")
        return self


class Environment(Strict):
    name: DnsLabel = Field(
        description="environment name, a DNS label; environments are listed in promotion order (for example prod)",
    )
    namespace: DnsLabel = Field(description="namespace the environment deploys into (for example ml-prod)")
    cluster: ClusterUrl | None = Field(
        default=None,
        description="API server URL of the target cluster (for example https://prod.k8s.acme.io:6443); "
        "default: in-cluster",
    )
    clusterName: str | None = Field(
        default=None,
        description="name of the target cluster as registered in Argo CD, instead of cluster (for example prod-eu)",
    )
    createNamespace: bool = Field(
        default=True,
        description="render a Namespace object for the environment; default true (false: namespaces managed elsewhere)",
    )
    syncPolicy: Literal["auto", "manual"] = Field(
        default="auto",
        description="auto: deployed on merge; manual: no automated sync (deploy a pinned revision); default auto",
    )
    defaults: dict[str, Any] = Field(
        default_factory=dict,
        description="merge patch applied to every model in this environment, for blocks it has (for example "
        "{serving: {replicas: {min: 2}}})",
    )
    clusterFeatures: ClusterFeatures | None = Field(
        default=None,
        description="this environment's cluster features, set over the project's (for example {gatewayApi: true})",
    )
    flux: EnvironmentFlux | None = Field(
        default=None,
        description="Flux options of this environment (for example {semver: '>=1.0.0'} or {timeout: 30m})",
    )
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
    name: DnsLabel = Field(
        description="project name, a DNS label prefixing generated objects (for example fraud-platform)",
    )
    labels: LabelMap = Field(
        default_factory=dict,
        description="labels describing the project, kept in mlgitops.yaml (for example {team: risk})",
    )


class ArgoCDSettings(Strict):
    mode: Literal["plugin", "rendered"] = Field(
        default="rendered",
        description="rendered: Argo CD applies the committed overlays; plugin: the sidecar renders at sync; "
        "default rendered",
    )
    namespace: DnsLabel = Field(
        default="argocd",
        description="namespace Argo CD runs in; default argocd (for example gitops)",
    )
    applicationSet: bool = Field(
        default=False,
        description="generate one ApplicationSet instead of one Application per environment; default false",
    )
    image: Annotated[ImageRef, AfterValidator(_qualified_image)] | None = Field(
        default=None,
        description="Fully qualified image of the Argo CD plugin sidecar, built from mlgitops' Dockerfile and "
        "pushed to your registry (for example ghcr.io/acme/mlgitops-cmp:0.1.0); required with mode: plugin",
    )


class FluxSettings(Strict):
    namespace: DnsLabel = Field(
        default="flux-system",
        description="namespace of the Flux controllers and generated Flux objects; default flux-system",
    )
    interval: Duration = Field(
        default="10m",
        description="how often Flux fetches the repository and reconciles; default 10m (for example 5m)",
    )
    retryInterval: Duration = Field(
        default="2m",
        description="wait before retrying a failed reconciliation; default 2m (for example 1m)",
    )
    timeout: Duration | None = Field(
        default=None,
        description="How long Flux waits for an environment's objects to become ready; default 30m where the "
        "environment serves a model on GPUs (node scale-up, image pull, model download), 10m elsewhere",
    )
    dependsOn: bool = Field(
        default=False,
        description="chain each cluster's environments in declared order (Kustomization dependsOn); default false",
    )
    substitution: bool = Field(
        default=False,
        description="enable Flux post-build ${VAR} substitution (Argo Workflows objects opt out); default false",
    )
    secretRef: DnsSubdomain | None = Field(
        default=None,
        description="Secret with the Git credentials of the GitRepository (for example git-credentials)",
    )


def _reason(value: str) -> str:
    if not value.strip():
        raise ValueError("a reason is required (say why the policy does not apply)")
    return value.strip()


class PolicyWaiver(Strict):
    """One policy switched off, with the reason recorded in Git (optionally only in some environments)."""

    id: str = Field(min_length=1, description="id of the policy to switch off (for example gpu-scale-to-zero)")
    reason: Annotated[str, AfterValidator(_reason)] = Field(
        description="why the policy does not apply, kept in Git (for example 'dev GPUs are shared; cold starts "
        "are fine')",
    )
    environments: list[str] | None = Field(
        default=None,
        description="environments the waiver applies to; default: all (for example [dev])",
    )


class Policies(Strict):
    """`policies:` in mlgitops.yaml (whole project) or in a model file (that model only)."""

    disabled: list[PolicyWaiver] = Field(
        default_factory=list,
        description="policies switched off, each with a reason (for example [{id: gpu-scale-to-zero, reason: "
        "..., environments: [dev]}])",
    )


class Images(Strict):
    """Images used by `engine: deployment`: the storage initializer and one model server per format."""

    storageInitializer: ImageRef = Field(
        default="kserve/storage-initializer:v0.20.0",
        description="image that downloads the model for engine: deployment; default kserve/storage-initializer:v0.20.0",
    )
    servers: dict[str, ImageRef] = Field(
        default_factory=dict,
        description="model server image per model format, for engine: deployment (for example {sklearn: "
        "ghcr.io/acme/sklearn:1.0})",
    )


class TrainingPlacement(Strict):
    """`training:` in mlgitops.yaml: the environments where models train (and register what they train).

    Default: the last environment only (see `mlgitops.training_envs`); the others just serve.
    """

    environments: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Environments that get each model's WorkflowTemplate/CronWorkflow; default: the last one",
    )


class Deployment(Strict):
    """`deployment:` in mlgitops.yaml: how many Flux Kustomizations / Argo CD Applications deploy an
    environment (see docs/argocd.md, "Deployment granularity")."""

    per: Literal["environment", "model", "group"] = Field(
        default="environment",
        description="One Kustomization/Application per environment (overlays/<env>), per model "
        "(overlays/<env>/<model>) or per group of models sharing the value of metadata.labels[groupBy]",
    )
    groupBy: LabelKey | None = Field(default=None, description="The model label that groups models (per: group)")

    @model_validator(mode="after")
    def _group_needs_label(self) -> Deployment:
        if (self.per == "group") != (self.groupBy is not None):
            raise ValueError("groupBy (a model label key) is required with per: group, and only then")
        return self


def _registry_url(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if scheme not in ("http", "https") or not sep or not rest:
        raise ValueError(f"{value!r} is not an http(s) URL of an MLflow tracking server")
    return value


RegistryUrl = Annotated[str, AfterValidator(_without_credentials), AfterValidator(_registry_url)]
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _run_id(value: str) -> str:
    if not _RUN_ID.match(value):
        raise ValueError(f"{value!r} is not a run id (letters, digits, '.', '_' and '-', at most 128)")
    return value


# A training run's id as a registry reports it (MLflow: 32 hex digits); rendered as an annotation value.
RunId = Annotated[str, AfterValidator(_run_id)]


class RegistrySettings(Strict):
    """`registry:` in mlgitops.yaml: the model registry `promote --alias` / `--registry-version` read."""

    type: Literal["mlflow"] = Field(description="registry kind; mlflow (its REST API, read only)")
    uri: RegistryUrl | None = Field(
        default=None,
        description="tracking server URL, without credentials; default: $MLFLOW_TRACKING_URI (for example "
        "https://mlflow.example.com); the token comes from $MLFLOW_TRACKING_TOKEN only",
    )


class Project(Strict):
    apiVersion: Literal["mlgitops.io/v1alpha1"] = Field(description="spec version; always mlgitops.io/v1alpha1")
    kind: Literal["Project"] = Field(description="file kind; Project for mlgitops.yaml")
    metadata: ProjectMetadata = Field(description="project name and labels (for example {name: fraud-platform})")
    requires: str | None = Field(
        default=None,
        description="mlgitops versions this project accepts, as a PEP 440 specifier (for example '>=0.1,<0.2'); "
        "other versions refuse every command",
    )
    repoURL: CredentialFreeUri = Field(
        description="Git URL of this repository, without credentials, for Argo CD and Flux (for example "
        "https://github.com/acme/ml.git)",
    )
    revision: GitRevision = Field(
        default="main",
        description="branch, tag or commit Argo CD and Flux deploy from; default main",
    )
    environments: list[Environment] = Field(
        min_length=1,
        description="environments in promotion order, at least one (for example [{name: dev, namespace: ml-dev}])",
    )
    gpuClasses: dict[str, GpuClass] = Field(
        default_factory=dict,
        description="GPU kinds by name, for serving.gpu.class (for example {a100: {nodeSelector: {gpu: a100}}})",
    )
    nodeClasses: dict[DnsLabel, NodeClass] = Field(
        default_factory=dict,
        description="placement without a GPU, by name, e.g. {highmem: {nodeSelector: {pool: highmem}}}; used by "
        "serving.nodeClass, training.nodeClass and a step's nodeClass",
    )
    clusterFeatures: ClusterFeatures = Field(
        default_factory=ClusterFeatures,
        description="what the target clusters have enabled; default: a stock install (for example {gatewayApi: true})",
    )
    argocd: ArgoCDSettings = Field(
        default_factory=ArgoCDSettings,
        description="Argo CD settings (for example {mode: plugin, image: ghcr.io/acme/mlgitops-cmp:0.1.0})",
    )
    flux: FluxSettings = Field(
        default_factory=FluxSettings,
        description="Flux settings (for example {interval: 5m, dependsOn: true})",
    )
    images: Images = Field(
        default_factory=Images,
        description="images for engine: deployment (for example {servers: {sklearn: ghcr.io/acme/sklearn:1.0}})",
    )
    policies: Policies = Field(
        default_factory=Policies,
        description="policies switched off for the whole project (for example {disabled: [{id: ..., reason: ...}]})",
    )
    training: TrainingPlacement = Field(
        default_factory=TrainingPlacement,
        description="where models train; default: the last environment (for example {environments: [staging]})",
    )
    deployment: Deployment = Field(
        default_factory=Deployment,
        description="how environments split into Kustomizations; default one per environment (for example "
        "{per: model})",
    )
    registry: RegistrySettings | None = Field(
        default=None,
        description="the model registry promote --alias reads (for example {type: mlflow, uri: "
        "https://mlflow.example.com})",
    )

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
    name: ModelName = Field(description="model name; the file is models/<name>.yaml (for example fraud-detector)")
    owner: str | None = Field(
        default=None,
        description="owning team or person, rendered as an annotation (for example team-risk)",
    )
    labels: LabelMap = Field(
        default_factory=dict,
        description="labels added to the model's objects (for example {tier: critical})",
    )
    annotations: AnnotationMap = Field(
        default_factory=dict,
        description="annotations added to the model's objects (for example {docs: https://wiki.acme.io/fraud})",
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
    storageUri: StorageUri = Field(
        description="where the model files are (for example s3://ml-models/fraud-detector/6/model)",
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

    @model_validator(mode="after")
    def _prometheus_fields(self) -> Autoscaling:
        external = (self.query, self.serverAddress)
        if self.metric == "prometheus" and None in external:
            raise ValueError("metric: prometheus needs query and serverAddress")
        if self.metric != "prometheus" and external != (None, None):
            raise ValueError("query and serverAddress apply only to metric: prometheus")
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


# --- container contents (env, envFrom, volumes): shared by serving and training steps ------------------

ConfigKey = Annotated[str, AfterValidator(_rule(kv.config_map_key))]
_RESERVED_VOLUME_NAMES = ("tmp", "devshm", "model-store")
_RESERVED_MOUNTS = {
    "/tmp": "securityContext.readOnlyRootFilesystem",
    "/dev/shm": "sharedMemory",
    "/mnt/models": "model.storageUri",  # KServe's storage initializer and engine: deployment put the model there
}


class SecretKeyRef(Strict):
    """`{secret: NAME, key: KEY}`: one key of a Secret (rendered as valueFrom.secretKeyRef)."""

    secret: DnsSubdomain = Field(description="Secret name (for example hf-token)")
    key: ConfigKey = Field(description="key in the Secret (for example token)")


class ConfigMapKeyRef(Strict):
    """`{configMap: NAME, key: KEY}`: one key of a ConfigMap (rendered as valueFrom.configMapKeyRef)."""

    configMap: DnsSubdomain = Field(description="ConfigMap name (for example features)")
    key: ConfigKey = Field(description="key in the ConfigMap (for example columns)")


EnvValue = Text | SecretKeyRef | ConfigMapKeyRef
EnvMap = dict[EnvName, EnvValue]


class EnvFromSource(Strict):
    """`{secret: NAME}` or `{configMap: NAME}`: every key becomes a variable."""

    secret: DnsSubdomain | None = Field(default=None, description="Secret name (for example s3-creds)")
    configMap: DnsSubdomain | None = Field(default=None, description="ConfigMap name (for example features)")

    @model_validator(mode="after")
    def _one_source(self) -> EnvFromSource:
        if (self.secret is None) == (self.configMap is None):
            raise ValueError("set exactly one of secret or configMap")
        return self


class EmptyDir(Strict):
    medium: Literal["", "Memory"] | None = Field(
        default=None, description="Memory for a tmpfs (counts against the memory limit), else the node's disk"
    )
    sizeLimit: Quantity | None = Field(default=None, description="most the volume may hold (for example 10Gi)")


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or ":" in value or ".." in value.split("/"):
        raise ValueError(f"{value[:80]!r} is not an absolute path without '..' and ':' (for example /data)")
    return value


class Volume(Strict):
    """A volume and where the container mounts it; exactly one source. The sources are all allowed by the
    `restricted` Pod Security Standard (kubernetes/pod-security-admission policy/check_restrictedVolumes.go);
    hostPath is not offered."""

    name: DnsLabel = Field(description="volume name (for example cache)")
    mountPath: Annotated[str, AfterValidator(_absolute_path)] = Field(description="for example /cache")
    readOnly: bool = Field(default=False, description="mount read-only")
    pvc: DnsSubdomain | None = Field(default=None, description="PersistentVolumeClaim name (for example datasets)")
    secret: DnsSubdomain | None = Field(default=None, description="Secret name (for example tls-certs)")
    configMap: DnsSubdomain | None = Field(default=None, description="ConfigMap name (for example app-config)")
    emptyDir: EmptyDir | None = Field(default=None, description="scratch space (for example {sizeLimit: 20Gi})")

    @model_validator(mode="after")
    def _one_source(self) -> Volume:
        sources = [n for n in ("pvc", "secret", "configMap", "emptyDir") if getattr(self, n) is not None]
        if len(sources) != 1:
            found = f"found {' and '.join(sources)}" if sources else "found none"
            raise ValueError(f"volume {self.name!r}: set exactly one of pvc, secret, configMap, emptyDir ({found})")
        if self.name in _RESERVED_VOLUME_NAMES:
            raise ValueError(f"volume name {self.name!r} is reserved for the volume mlgitops adds itself; rename it")
        reserved = _RESERVED_MOUNTS.get(self.mountPath.rstrip("/") or "/")
        if reserved is not None:
            raise ValueError(f"{self.mountPath} is mounted by mlgitops itself; size or switch it with {reserved}")
        return self


def _distinct_volumes(volumes: list[Volume]) -> list[Volume]:
    for field in ("name", "mountPath"):
        seen: set[str] = set()
        for volume in volumes:
            value = getattr(volume, field)
            if value in seen:
                raise ValueError(f"two volumes have the {field} {value!r}")
            seen.add(value)
    return volumes


Volumes = Annotated[list[Volume], AfterValidator(_distinct_volumes)]


class Transformer(Strict):
    """KServe transformer: one container in front of the predictor (spec.transformer.containers[0])."""

    image: ImageRef = Field(description="transformer image (for example ghcr.io/acme/tokenize:1.0)")
    command: list[Text] = Field(default_factory=list, description="entrypoint (for example ['python', '-m', 't'])")
    args: list[Text] = Field(default_factory=list, description="arguments (for example ['--predictor_host=x'])")
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
    engine: Literal["kserve", "deployment"] = Field(
        default="kserve",
        description="kserve: an InferenceService; deployment: Deployment, Service and HPA; default kserve",
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

    @model_validator(mode="after")
    def _engine_fields(self) -> Serving:
        if self.engine == "deployment":
            for field in ("runtimeVersion", "timeout", "containerConcurrency", "transformer", "logger"):
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


class Gate(Strict):
    metric: str = Field(description="metric a step writes (listed in its metrics) (for example auc)")
    op: Literal[">=", "<=", ">", "<", "==", "!="] = Field(
        description="comparison of the metric with value (for example >=)",
    )
    value: float = Field(
        allow_inf_nan=False,
        description="the threshold the metric is compared with (for example 0.92)",
    )


RetryPolicy = Literal["Always", "OnFailure", "OnError", "OnTransientError"]


class Backoff(Strict):
    """Argo `retryStrategy.backoff`: wait duration × factor^n between attempts, at most cap."""

    duration: Duration = Field(default="30s", description="wait before the first retry, e.g. 30s")
    factor: int = Field(default=2, ge=1, le=10, description="multiplier of the wait after each retry, e.g. 2")
    cap: Duration = Field(default="10m", description="longest wait between two attempts, e.g. 10m")


class Retry(Strict):
    """How a failed step is retried (Argo `retryStrategy`)."""

    limit: int = Field(ge=1, le=20, description="retries after the first attempt, e.g. 3")
    backoff: Backoff = Field(default_factory=Backoff, description="wait between attempts, e.g. {duration: 1m}")
    policy: RetryPolicy | None = Field(
        default=None, description="what is retried, e.g. OnTransientError; default: Argo's own, OnFailure"
    )


class ForEachFrom(Strict):
    """Items produced at run time: an output parameter (a JSON list) of an earlier step."""

    fromStep: str = Field(min_length=1, description="the step that writes the list, e.g. shard")
    output: ArtifactName = Field(description="its output parameter (one of its params), e.g. shards")


ForEachItem = Annotated[str | dict[EnvName, Text], BeforeValidator(_scalar_text)]


class Condition(Strict):
    """One comparison of a step's `when`: a metric or an output parameter of an earlier step."""

    metric: str | None = Field(default=None, description="a metric some earlier step emits, e.g. auc")
    param: str | None = Field(default=None, description="an output parameter some earlier step writes, e.g. mode")
    op: Literal[">=", "<=", ">", "<", "==", "!="] = Field(
        description="comparison of the metric or param with value (for example >=)",
    )
    value: float | str = Field(description="a number (compared as numbers) or text (== and != only), e.g. 0.9")

    @model_validator(mode="after")
    def _one_subject(self) -> Condition:
        if (self.metric is None) == (self.param is None):
            raise ValueError("set exactly one of metric or param")
        if isinstance(self.value, str) and self.op not in ("==", "!="):
            raise ValueError(f"a text value compares only with == or !=, not {self.op}")
        if isinstance(self.value, str) and ("{{" in self.value or "}}" in self.value):
            # The comparison is inside an Argo expression tag `{{= ... }}`, which `}}` would end.
            raise ValueError("a text value may not contain '{{' or '}}'")
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ValueError("value must be a finite number")
        return self

    @property
    def subject(self) -> str:
        return self.metric if self.metric is not None else str(self.param)


class Cache(Strict):
    """Argo memoization: a step whose inputs did not change within maxAge is not run again."""

    maxAge: Duration = Field(description="how old a cached result may be to be reused, e.g. 24h")


class Step(Strict):
    name: DnsLabel = Field(description="step name, a DNS label (for example train)")
    after: list[str] = Field(default_factory=list, description="steps that must finish first (for example [train])")
    image: ImageRef | None = Field(
        default=None,
        description="container image of the step; default: training.image (for example ghcr.io/acme/eval:1.0)",
    )
    command: list[Text] = Field(
        min_length=1,
        description="entrypoint, at least one item (for example [python, -m, fraud.train])",
    )
    args: list[Text] = Field(default_factory=list, description="arguments of the command (for example ['--epochs=10'])")
    env: EnvMap = Field(
        default_factory=dict,
        description="variables of the step: NAME: value, or {secret: NAME, key: KEY} / {configMap: NAME, key: KEY} "
        "(for example WANDB_API_KEY: {secret: wandb, key: api-key})",
    )
    envFrom: list[EnvFromSource] = Field(
        default_factory=list,
        description="Secrets or ConfigMaps whose every key becomes a variable (for example [{configMap: features}])",
    )
    volumes: Volumes = Field(
        default_factory=list,
        description="volumes mounted into the step (for example [{name: data, mountPath: /data, pvc: datasets}])",
    )
    inputs: list[ArtifactName] = Field(
        default_factory=list,
        description="artifacts read from earlier steps, at /tmp/mlgitops/inputs/<name> (for example [model])",
    )
    outputs: list[ArtifactName] = Field(
        default_factory=list,
        description="artifacts written to /tmp/mlgitops/outputs/<name> (for example [model])",
    )
    metrics: list[ArtifactName] = Field(
        default_factory=list,
        description="metrics written to /tmp/mlgitops/metrics/<metric>, for gates (for example [auc])",
    )
    resources: Resources | None = Field(
        default=None,
        description="requests and limits of the step (for example {requests: {cpu: '2', memory: 8Gi}})",
    )
    gpu: Gpu | None = Field(default=None, description="GPUs of the step (for example {count: 1, class: a100})")
    retries: int = Field(
        default=0,
        ge=0,
        le=20,
        description="retries after a failure, 0 to 20; default 0 (for example 2); see also retry",
    )
    retryPolicy: RetryPolicy | None = Field(
        default=None,
        description="Argo retryPolicy for the retries; default: Argo's own default, OnFailure",
    )
    timeout: Duration | None = Field(default=None, description="longest the step may run (for example 2h)")
    securityContext: SecurityContext | None = Field(
        default=None, description="fields set here override training.securityContext for this step"
    )
    sharedMemory: Quantity | None = Field(
        default=None,
        description="size of the memory-backed /dev/shm; default for GPU steps: 1Gi per GPU",
    )
    nodeClass: str | None = Field(
        default=None, description="a nodeClasses entry of mlgitops.yaml for this step, e.g. highmem"
    )
    params: list[ArtifactName] = Field(
        default_factory=list,
        description="output parameters, each read from /tmp/mlgitops/params/<name>, e.g. [best-lr]",
    )
    paramInputs: list[ArtifactName] = Field(
        default_factory=list,
        description="params of earlier steps this step reads, as env MLGITOPS_PARAM_<NAME>, e.g. [best-lr]",
    )
    when: list[Condition] = Field(
        default_factory=list,
        description="run only if every condition holds, e.g. [{param: mode, op: ==, value: full}]",
    )
    forEach: list[ForEachItem] | ForEachFrom | None = Field(
        default=None,
        description="run once per item, exposed as env MLGITOPS_ITEM (object items: also MLGITOPS_ITEM_<KEY>), "
        "e.g. [0.01, 0.1] or {fromStep: shard, output: shards}",
    )
    parallelism: int | None = Field(
        default=None, ge=1, le=1000, description="at most this many forEach items run at once, e.g. 4"
    )
    retry: Retry | None = Field(
        default=None, description="retry a failed step, e.g. {limit: 3, backoff: {duration: 1m}}; replaces retries"
    )
    cache: Cache | None = Field(
        default=None, description="reuse the step's result for the same inputs (Argo memoization), e.g. {maxAge: 24h}"
    )

    @model_validator(mode="after")
    def _one_retry_form(self) -> Step:
        if self.retry is not None and (self.retries or self.retryPolicy is not None):
            raise ValueError("set either retry: {limit, backoff, policy} or retries/retryPolicy, not both")
        if self.parallelism is not None and self.forEach is None:
            raise ValueError("parallelism limits a forEach: set forEach too")
        return self

    @property
    def retry_strategy(self) -> Retry | None:
        """The one retry shape: `retry`, or the older `retries: N` (with `retryPolicy`)."""
        if self.retry is not None:
            return self.retry
        if self.retries:
            return Retry(limit=self.retries, policy=self.retryPolicy)
        return None


class Register(Strict):
    """The step that records a model which passed every gate."""

    image: ImageRef | None = Field(
        default=None,
        description="image of the register step; default: training.image (for example ghcr.io/acme/register:1.0)",
    )
    command: list[Text] = Field(
        min_length=1,
        description="entrypoint; default: the metric step's sibling module (for example [python, -m, fraud.register])",
    )
    args: list[Text] = Field(
        default_factory=list,
        description="arguments of the command (for example ['--stage=staging'])",
    )


class Training(Strict):
    image: ImageRef = Field(
        min_length=1,
        description="default image of every step (for example ghcr.io/acme/fraud-train:1.4)",
    )
    serviceAccount: DnsSubdomain | None = Field(
        default=None,
        description="ServiceAccount the workflow pods run as (for example trainer)",
    )
    schedule: CronSchedule | list[CronSchedule] | None = Field(
        default=None,
        description="cron schedule, or a list of them, for a CronWorkflow (for example '0 3 * * *')",
    )
    timezone: TimeZone | None = Field(
        default=None,
        description="IANA time zone of the schedule; default: the Argo controller's (for example Europe/Berlin)",
    )
    timeout: Duration | None = Field(
        default=None,
        description="longest the whole run may take, its activeDeadlineSeconds (for example 6h)",
    )
    parameters: dict[ParameterName, Text] = Field(
        default_factory=dict,
        description="workflow parameters, given to steps in upper-case variables (for example {data-uri: "
        "s3://data/fraud})",
    )
    steps: list[Step] = Field(
        min_length=1,
        description="the steps, at least one (for example [{name: train, command: [python, -m, fraud.train]}])",
    )
    gates: list[Gate] = Field(
        default_factory=list,
        description="checks every run must pass before register runs (for example [{metric: auc, op: '>=', "
        "value: 0.92}])",
    )
    register_: Register | None = Field(
        default=None,
        alias="register",
        description="the step recording a model that passed every gate (for example {command: [python, -m, "
        "fraud.register]})",
    )
    securityContext: SecurityContext = Field(
        default_factory=SecurityContext,
        description="security settings of the step containers (for example {runAsUser: 1000})",
    )
    nodeClass: str | None = Field(
        default=None, description="the nodeClasses entry for steps that name none, e.g. batch"
    )
    onExit: Step | None = Field(
        default=None,
        description="a step run when the workflow ends, whatever the outcome (Argo onExit), e.g. "
        "{name: notify, command: [notify.sh]}; env MLGITOPS_WORKFLOW_STATUS holds the outcome",
    )
    environments: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Environments this model trains in; default: training.environments of mlgitops.yaml",
    )

    @property
    def schedules(self) -> list[str]:
        if self.schedule is None:
            return []
        return [self.schedule] if isinstance(self.schedule, str) else list(self.schedule)


# --- patches: RFC 6902 operations on the rendered objects (applied in mlgitops.patches) ---


def _json_pointer(value: str) -> str:
    if value and not value.startswith("/"):
        raise ValueError(f"{value[:80]!r} is not a JSON Pointer (RFC 6901): it must be empty or start with '/'")
    if re.search(r"~[^01]|~$", value):
        raise ValueError(f"{value[:80]!r} is not a JSON Pointer (RFC 6901): '~' must be followed by 0 or 1")
    return value


JsonPointer = Annotated[str, AfterValidator(_json_pointer)]


class PatchTarget(Strict):
    kind: str = Field(min_length=1, description="Kind of the generated object to patch, e.g. InferenceService.")
    name: str | None = Field(
        default=None, description="Its metadata.name; needed when the model renders several objects of the kind."
    )
    apiVersion: str | None = Field(
        default=None, description="Optionally, its apiVersion (e.g. serving.kserve.io/v1beta1)."
    )


class PatchOp(Strict):
    op: Literal["add", "remove", "replace", "move", "copy", "test"] = Field(description="An RFC 6902 operation.")
    path: JsonPointer = Field(description="JSON Pointer (RFC 6901) into the generated object.")
    value: Any = Field(default=None, description="The value for add, replace and test.")
    from_: JsonPointer | None = Field(default=None, alias="from", description="The source pointer for move and copy.")

    @model_validator(mode="after")
    def _operands(self) -> PatchOp:
        if self.op in ("add", "replace", "test") and "value" not in self.model_fields_set:
            raise ValueError(f"op {self.op!r} needs a 'value'")
        if self.op in ("move", "copy") and self.from_ is None:
            raise ValueError(f"op {self.op!r} needs a 'from'")
        if self.op not in ("move", "copy") and self.from_ is not None:
            raise ValueError(f"op {self.op!r} takes no 'from'")
        return self


class Patch(Strict):
    target: PatchTarget = Field(description="the generated object to patch (for example {kind: InferenceService})")
    ops: list[PatchOp] = Field(min_length=1, description="Applied in order; all of them or none.")


class Slo(Strict):
    """Service level objectives of a serving model; each one set renders its recording rules and alerts."""

    latencyP95Ms: int | None = Field(
        default=None, gt=0, le=600000, description="95th percentile request latency objective, in milliseconds"
    )
    errorRatePercent: float | None = Field(
        default=None,
        gt=0,
        lt=100,
        description="highest share of failed (5xx) requests, in percent; alerts on the ratio over 5m and 1h",
    )
    availabilityPercent: float | None = Field(
        default=None,
        gt=0,
        lt=100,
        description="share of successful requests over 30 days, in percent; multi-window burn-rate alerts "
        "(1h/5m at 14.4x and 6h/30m at 6x the error budget)",
    )


class MonitoringAlerts(Strict):
    """How the rendered alerts are labelled and which optional alerts are rendered."""

    severity: LabelValue = Field(default="page", description="the severity label of the SLO alerts")
    runbook: CredentialFreeUri | None = Field(default=None, description="runbook_url annotation of every alert")
    noTraffic: bool = Field(
        default=False, description="alert when the model serves no request for 15 minutes (set it in prod)"
    )
    trainingMaxAgeDays: int | None = Field(
        default=None,
        gt=0,
        le=366,
        description="alert when scheduled training has not succeeded for this many days (default 8: a weekly "
        "schedule and a day)",
    )


def _series_selector(value: str) -> str:
    from mlgitops.promql import parse_series

    parse_series(value)
    return value


SeriesSelector = Annotated[str, AfterValidator(_series_selector)]


def _histogram_selector(value: str) -> str:
    from mlgitops.promql import parse_series

    series = parse_series(value)
    if not series.name or series.name.endswith("_bucket"):
        raise ValueError(f"{value[:80]!r}: name the histogram by its metric name, without _bucket")
    if any(m.split("=")[0].rstrip("!~ ").strip() == "le" for m in series.matchers.split(",") if m):
        raise ValueError(f"{value[:80]!r}: the le label is the histogram's own; match other labels")
    return value


HistogramSelector = Annotated[str, AfterValidator(_histogram_selector)]
_PortName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=15)]  # IANA_SVC_NAME


class MonitoringMetrics(Strict):
    """Where the predictor's request series are, when its runtime's own are not known to mlgitops or not
    wanted: each field replaces the built-in one (docs/monitoring.md lists those per engine and runtime)."""

    port: Annotated[int, Field(ge=1, le=65535)] | _PortName | None = Field(
        default=None,
        description="port number or container port name the PodMonitor scrapes (for example 8082); "
        "default: the runtime's metrics port",
    )
    path: Annotated[str, Field(pattern=r"^/[^\s]*$", max_length=200)] | None = Field(
        default=None, description="HTTP path of the metrics (for example /metrics); default /metrics"
    )
    requests: SeriesSelector | None = Field(
        default=None,
        description="counter of every request the predictor pods export, a PromQL series selector (for "
        "example rest_server_requests_total); rules add the model's scrape labels",
    )
    errors: SeriesSelector | None = Field(
        default=None,
        description="counter of failed requests, a PromQL series selector (for example "
        "'rest_server_requests_total{status_code=~\"5..\"}'); with requests, alerts on errorRatePercent "
        "and availabilityPercent",
    )
    latency: HistogramSelector | None = Field(
        default=None,
        description="latency histogram: its name without _bucket, with optional label matchers (for example "
        "'rest_server_request_duration_seconds{path=~\"/v2/models/.*\"}'); alerts on latencyP95Ms",
    )
    latencyUnit: Literal["seconds", "milliseconds", "microseconds"] = Field(
        default="seconds", description="unit of the latency histogram's buckets; default seconds"
    )

    @model_validator(mode="after")
    def _errors_need_requests(self) -> MonitoringMetrics:
        if self.errors is not None and self.requests is None:
            raise ValueError("errors needs requests: the error ratio is errors over all requests")
        return self


class Monitoring(Strict):
    """Prometheus Operator objects of a model: PodMonitor, PrometheusRule, optional Grafana dashboard."""

    enabled: bool = Field(default=True, description="false: render no monitoring objects in this environment")
    scrapeInterval: Duration = Field(default="30s", description="how often Prometheus scrapes the predictor")
    slo: Slo = Field(default_factory=Slo, description="service level objectives")
    alerts: MonitoringAlerts = Field(default_factory=MonitoringAlerts, description="alert labels and options")
    dashboard: bool = Field(
        default=False, description="render a Grafana dashboard ConfigMap (label grafana_dashboard: \"1\")"
    )
    metrics: MonitoringMetrics | None = Field(
        default=None,
        description="where the request series are when the runtime's are unknown (for example {requests: "
        "my_requests_total, errors: 'my_requests_total{code=~\"5..\"}'}); default: the runtime's own",
    )


_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


def _dataset_name(value: str) -> str:
    if not _DATASET_NAME.match(value):
        raise ValueError(
            f"{value[:60]!r} is not a dataset name (a lower-case letter, then letters, digits, '-' or '_'; at most 41)"
        )
    return value


class Dataset(Strict):
    """One dataset the model's training reads, pinned to an immutable version."""

    name: Annotated[str, AfterValidator(_dataset_name)] = Field(
        description="dataset name; training gets DATA_<NAME>_URI and DATA_<NAME>_VERSION"
    )
    uri: CredentialFreeUri = Field(min_length=1, description="where the dataset lives (s3://, gs://, lakefs://, ...)")
    version: Text | None = Field(
        default=None,
        description="immutable version: a snapshot date, DVC revision, lakeFS commit or object version",
    )


class Model(Strict):
    apiVersion: Literal["mlgitops.io/v1alpha1"] = Field(description="spec version; always mlgitops.io/v1alpha1")
    kind: Literal["Model"] = Field(description="file kind; Model for models/<name>.yaml")
    metadata: ModelMetadata = Field(
        description="model name, owner, labels (for example {name: fraud-detector, owner: team-risk})",
    )
    model: ModelSource = Field(
        description="the trained model to serve (for example {format: sklearn, version: '6', storageUri: s3://...})",
    )
    serving: Serving | None = Field(
        default=None,
        description="how the model is served (for example {engine: kserve, replicas: {min: 2}})",
    )
    training: Training | None = Field(
        default=None,
        description="the Argo training workflow (for example {image: ..., steps: [...], gates: [...]})",
    )
    policies: Policies = Field(
        default_factory=Policies,
        description="policies switched off for this model (for example {disabled: [{id: ..., reason: ...}]})",
    )
    patches: list[Patch] = Field(
        default_factory=list,
        description="RFC 6902 operations on the generated objects, for fields the spec does not model "
        "(docs/patches.md). An environment's `patches` replaces this list (RFC 7386).",
    )
    environments: dict[str, dict[str, Any] | None] = Field(
        default_factory=dict,
        description="JSON Merge Patch of this spec per environment (for example {dev: {enabled: false}})",
    )
    monitoring: Monitoring | None = Field(default=None, description="metrics scraping, SLO alerts and dashboard")
    data: list[Dataset] = Field(default_factory=list, description="datasets the training reads (data lineage)")

    addons: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per Jsonnet template of templates/ (by name): its settings, or `enabled: false` to opt out "
        "(docs/addons.md).",
    )

    @model_validator(mode="after")
    def _unique_datasets(self) -> Model:
        seen: set[str] = set()
        for dataset in self.data:
            key = dataset.name.upper().replace("-", "_")
            if key in seen:
                raise ValueError(f"dataset {dataset.name!r} is listed twice (names differing only in '-'/'_' clash)")
            seen.add(key)
        return self


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
PATCHABLE_MODEL_KEYS = ("metadata", "model", "serving", "training", "patches", "monitoring", "data", "addons")
