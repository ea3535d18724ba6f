"""`mlgitops.yaml`: environments, cluster features, node classes, GitOps settings and policies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from mlgitops.language.fields import (
    ClusterUrl,
    CredentialFreeUri,
    DnsLabel,
    DnsSubdomain,
    Duration,
    ExtendedResource,
    GitRevision,
    ImageRef,
    Int64,
    LabelKey,
    LabelMap,
    LabelValue,
    StorageScheme,
    Strict,
    qualified_image,
    without_credentials,
)
from mlgitops.language.smoketests import SmokeSettings
from mlgitops.util.reserved import directive_in


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


def _no_directive(value: dict[str, Any]) -> dict[str, Any]:
    """Free-form content rendered into pod specs: no `$` key, which Kustomize would act on (reserved.py)."""
    found = directive_in(value)
    if found is not None:
        path, message = found
        raise ValueError(".".join(str(p) for p in path) + ": " + message)
    return value


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
    affinity: dict[AffinityKind, Annotated[dict[str, Any], AfterValidator(_no_directive)]] = Field(
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
    requestMetricsPrometheus: bool = Field(
        default=False,
        description="request-metrics-protocol: prometheus is set in ConfigMap config-observability, so the "
        "queue-proxy serves request metrics (needed by monitoring of a Knative model); default false (none)",
    )
    maxRevisionTimeoutSeconds: int = Field(
        default=600,
        ge=1,
        description="max-revision-timeout-seconds of ConfigMap config-defaults, the largest serving.timeout "
        "Knative admits; default 600",
    )
    containerConcurrencyMaxLimit: int = Field(
        default=1000,
        ge=1,
        description="container-concurrency-max-limit of ConfigMap config-defaults, the largest "
        "serving.containerConcurrency Knative admits; default 1000",
    )
    requestMetrics: Literal["opentelemetry", "opentelemetry-1.19", "opencensus"] = Field(
        default="opentelemetry",
        description="the queue-proxy request metrics the cluster's Knative Serving exports: opentelemetry "
        "(1.20.1 and later, e.g. the 1.21 KServe v0.20 installs: kn_serving_invocation_duration_seconds), "
        "opentelemetry-1.19 (1.19.0 to 1.20.0: kn_queueproxy_app_duration_seconds) or opencensus (1.18 and "
        "earlier: revision_app_request_count); default opentelemetry. From 1.19 the queue-proxy exports them "
        "only with request-metrics-protocol: prometheus in ConfigMap config-observability",
    )


class ArgoWorkflowsFeatures(Strict):
    """What the cluster's Argo Workflows installation grants beyond a stock install."""

    memoizeCache: bool = Field(
        default=False,
        description="the workflow controller's ServiceAccount may create and update ConfigMaps in the "
        "namespace (the memoization cache of steps with cache:); stock installs grant only get, list and "
        "watch; default false",
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
        description="KServe uses the Gateway API ingress; default false. KServe v0.20 gives a Standard-mode canary "
        "no traffic with either ingress, so this no longer admits one (docs/real-cluster.md)",
    )
    argoWorkflows: ArgoWorkflowsFeatures = Field(
        default_factory=ArgoWorkflowsFeatures,
        description="what the Argo Workflows installation grants (for example {memoizeCache: true})",
    )
    podSecurity: Literal["privileged", "baseline", "restricted"] = Field(
        default="restricted",
        description="Pod Security level the namespaces enforce; default restricted (for example baseline)",
    )
    provides: ProvidedResources = Field(
        default_factory=ProvidedResources,
        description="objects the cluster already has in the namespace (for example {secrets: [s3-creds]})",
    )
    llmInferenceServiceTls: bool = Field(
        default=False,
        description="KServe serves an LLMInferenceService's workload over TLS with a self-signed certificate "
        "(inferenceservice-config ingress.enableLLMInferenceServiceTLS); default false, as a stock install",
    )
    storageSchemes: list[StorageScheme] = Field(
        default_factory=list,
        description="storage URI schemes the cluster's ClusterStorageContainers serve, beyond KServe's own (for "
        "example [modelscope, model-registry])",
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
    image: Annotated[ImageRef, AfterValidator(qualified_image)] | None = Field(
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

    Default: the last environment only (see `mlgitops.language.training_envs`); the others just serve.
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


RegistryUrl = Annotated[str, AfterValidator(without_credentials), AfterValidator(_registry_url)]


class RegistrySettings(Strict):
    """`registry:` in mlgitops.yaml: the model registry `promote --alias` / `--registry-version` read."""

    type: Literal["mlflow"] = Field(description="registry kind; mlflow (its REST API, read only)")
    uri: RegistryUrl | None = Field(
        default=None,
        description="tracking server URL, without credentials; default: $MLFLOW_TRACKING_URI (for example "
        "https://mlflow.example.com); the token comes from $MLFLOW_TRACKING_TOKEN only",
    )


class GroupKind(Strict):
    """A kind, named with its API group."""

    group: str = Field(description="API group, '' for the core group (for example rbac.authorization.k8s.io)")
    kind: Annotated[str, Field(pattern=r"^[A-Z][A-Za-z0-9]*$")] = Field(description="kind (for example ClusterRole)")


class AddonSettings(Strict):
    """`addons:` in mlgitops.yaml: what Jsonnet templates may return besides namespaced objects."""

    clusterScoped: list[GroupKind] = Field(
        default_factory=list,
        description="cluster-scoped kinds templates may return (default none: a template returns namespaced objects "
        "only); each object is listed by name in the AppProject and the Flux RBAC, and gets no namespace, also "
        "for a kind mlgitops does not know as cluster-scoped (for example [{group: rbac.authorization.k8s.io, "
        "kind: ClusterRole}])",
    )

    def allows(self, group: str, kind: str) -> bool:
        return any(entry.group == group and entry.kind == kind for entry in self.clusterScoped)


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
    addons: AddonSettings = Field(
        default_factory=AddonSettings,
        description="what Jsonnet templates may return beyond namespaced objects (for example {clusterScoped: "
        "[{group: rbac.authorization.k8s.io, kind: ClusterRole}]})",
    )
    tests: SmokeSettings = Field(
        default_factory=SmokeSettings,
        description="how the models' smoke-test Jobs run (for example {image: registry.acme.io/python:3.12-alpine, "
        "wait: 15m})",
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
