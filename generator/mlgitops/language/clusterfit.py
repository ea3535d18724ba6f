"""What a cluster admits and does with a schema-valid serving object, given its `clusterFeatures`.

Three classes of objects pass every schema and still break on a real cluster (KServe v0.20, Knative
Serving; docs/real-cluster.md lists them with the upstream sources):

* **Knative scale metric.** KServe's validating webhook sends every InferenceService whose
  `serving.kserve.io/deploymentMode` is not Standard to `validateScalingKPACompExtension` unless the
  Knative class annotation `autoscaling.knative.dev/class` is `hpa.autoscaling.knative.dev`; that accepts
  only `constants.AutoscalerAllowedKPAMetricsList` (concurrency, rps). `serving.kserve.io/autoscalerClass`
  plays no part in Knative mode. (kserve/kserve `pkg/apis/serving/v1beta1/inference_service_validation.go`,
  `validateAutoScalingCompExtension`, `validateKPAMetrics`; `pkg/constants/constants.go`;
  knative/serving `pkg/apis/autoscaling/register.go` for the class key and value.)
* **Knative pod placement.** KServe copies the predictor's pod spec into the Knative Service
  (`pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go`). Knative's webhook
  masks the pod spec with `PodSpecMask` and refuses what the mask drops (`CheckDisallowedFields` in
  knative/serving `pkg/apis/serving/k8s_validation.go`, `ValidatePodSpec`; `pkg/apis/serving/fieldmask.go`):
  `affinity`, `nodeSelector` and `tolerations` pass only when ConfigMap `config-features` (namespace
  `knative-serving`) enables `kubernetes.podspec-affinity`, `-nodeselector`, `-tolerations`, all
  disabled by default (`pkg/apis/config/features.go`, `config/core/configmaps/features.yaml`).
* **Standard-mode canary traffic.** KServe v0.20 routes no traffic to `spec.canary[]`: neither the
  Gateway API reconciler (one backend, the stable predictor:
  `pkg/controller/v1beta1/inferenceservice/reconcilers/ingress/httproute_reconciler.go:224-242`) nor the
  Ingress reconciler reads `trafficPercent`. The canary Deployment runs and receives nothing
  (stockfit.py has this and the other stock-cluster classes of issue 21).

Spec checks (`check_cluster_fit`, run by resolve.py for every environment) report a problem at the spec
line that caused it; object checks (used by the policies) find the same classes in rendered or hand-written
objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from mlgitops.language.llmfit import llm_fit_problems
from mlgitops.language.model import Model
from mlgitops.language.project import ClusterFeatures, KnativeFeatures, Project
from mlgitops.language.servingfit import storage_scheme_problems
from mlgitops.language.stockfit import check_stock_fit
from mlgitops.language.workspace import Locator
from mlgitops.util.errors import Problem
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import DEPLOYMENT_MODE_ANNOTATION, Obj
from mlgitops.util.yamlio import JsonPath

Latest = Callable[[Sequence[JsonPath]], JsonPath]
"""Of several spec paths, the one written by the latest layer (the first on a tie): the cause of a clash."""

KNATIVE_CLASS_ANNOTATION = "autoscaling.knative.dev/class"
KNATIVE_HPA_CLASS = "hpa.autoscaling.knative.dev"
KNATIVE_METRICS = ("concurrency", "rps")
KNATIVE_CONFIG = "ConfigMap config-features (namespace knative-serving)"
# Pod spec field → (clusterFeatures.knative key, config-features flag).
KNATIVE_PLACEMENT_FLAGS: dict[str, tuple[str, str]] = {
    "nodeSelector": ("podspecNodeSelector", "kubernetes.podspec-nodeselector"),
    "tolerations": ("podspecTolerations", "kubernetes.podspec-tolerations"),
    "affinity": ("podspecAffinity", "kubernetes.podspec-affinity"),
}
CANARY_FIX = (
    "use mode: Knative (canaryTrafficPercent splits traffic between revisions) or engine: deployment "
    "(the split is by replica count), or set trafficPercent: 0 for a dark launch"
)
_COMPONENTS = ("predictor", "transformer", "explainer")


# --- features ---------------------------------------------------------------------------------------


def features_for(project: Project, environment: str | None) -> ClusterFeatures:
    """The features of one environment; for anything deployed everywhere (base/platform, the base
    render) only what every environment has: a flag counts as enabled when it is enabled in all."""
    if environment in project.environment_names:
        return project.features(environment)
    every = [project.features(env) for env in project.environment_names]
    flags = [name for name, field in KnativeFeatures.model_fields.items() if field.annotation is bool]
    limits = [name for name, field in KnativeFeatures.model_fields.items() if field.annotation is int]
    knative = project.clusterFeatures.knative.model_copy(
        update={
            **{name: all(getattr(f.knative, name) for f in every) for name in flags},
            **{name: min(getattr(f.knative, name) for f in every) for name in limits},
        }
    )
    return project.clusterFeatures.model_copy(
        update={"knative": knative, "gatewayApi": all(f.gatewayApi for f in every)}
    )


def knative_allows(field: str, features: ClusterFeatures) -> bool:
    """Whether the cluster's Knative admits pod spec `field` (fields without a flag always pass)."""
    flag = KNATIVE_PLACEMENT_FLAGS.get(field)
    return flag is None or bool(getattr(features.knative, flag[0]))


def knative_flags_fix(fields: Sequence[str]) -> str:
    """How to enable the Knative flags `fields` need, and declare them."""
    flags = ", ".join(f"{KNATIVE_PLACEMENT_FLAGS[f][1]}: enabled" for f in fields)
    keys = ", ".join(f"{KNATIVE_PLACEMENT_FLAGS[f][0]}: true" for f in fields)
    return f"set {flags} in {KNATIVE_CONFIG} and declare clusterFeatures.knative {{{keys}}} in mlgitops.yaml"


# --- spec checks ------------------------------------------------------------------------------------


def check_cluster_fit(
    spec: Model, project: Project, features: ClusterFeatures, locate: Locator, latest: Latest
) -> list[Problem]:
    """Serving settings the environment's cluster refuses or ignores, at the spec line that caused each."""
    problems = check_stock_fit(spec, features, locate, latest)
    problems.extend(llm_fit_problems(spec, features, locate))
    problems.extend(storage_scheme_problems(spec, features, locate, latest))
    serving = spec.serving
    if serving is None or serving.engine != "kserve":
        return problems
    knative = serving.mode == "Knative"
    hpa_class = spec.metadata.annotations.get(KNATIVE_CLASS_ANNOTATION) == KNATIVE_HPA_CLASS
    autoscaling = serving.autoscaling
    if knative and autoscaling is not None and autoscaling.metric not in KNATIVE_METRICS and not hpa_class:
        where = latest([("serving", "autoscaling", "metric"), ("serving", "mode")])
        problems.append(
            Problem(
                locate(where, False),
                f"autoscaling on {autoscaling.metric} with mode: Knative is refused by KServe's webhook, which "
                "admits only concurrency or rps for the Knative autoscaler; set serving.autoscaling to "
                "{metric: concurrency, target: N} (or rps) where the mode changes, or keep mode: Standard",
            )
        )
    gpu_class = project.gpuClasses.get(serving.gpu.class_) if serving.gpu.class_ else None
    if knative and gpu_class is not None and serving.gpu.count > 0:
        fields = [f for f in ("nodeSelector", "tolerations") if getattr(gpu_class, f)]
        refused = [f for f in fields if not knative_allows(f, features)]
        if refused:
            where = latest([("serving", "gpu", "class"), ("serving", "mode")])
            problems.append(
                Problem(
                    locate(where, False),
                    f"GPU class {serving.gpu.class_!r} places pods with {' and '.join(refused)}, which Knative "
                    f"refuses unless enabled: {knative_flags_fix(refused)}; or serve in mode: Standard",
                )
            )
    node_class = project.nodeClasses.get(serving.nodeClass) if serving.nodeClass else None
    if knative and node_class is not None:
        fields = [f for f in KNATIVE_PLACEMENT_FLAGS if getattr(node_class, f)]
        refused = [f for f in fields if not knative_allows(f, features)]
        if refused:
            where = latest([("serving", "nodeClass"), ("serving", "mode")])
            problems.append(
                Problem(
                    locate(where, False),
                    f"node class {serving.nodeClass!r} places pods with {' and '.join(refused)}, which Knative "
                    f"refuses unless enabled: {knative_flags_fix(refused)}; or serve in mode: Standard",
                )
            )
    return problems


# --- object checks ----------------------------------------------------------------------------------


def deployment_mode(obj: Obj) -> str | None:
    """The InferenceService's deployment mode under its current name (RawDeployment → Standard)."""
    mode = get_path(obj, ("metadata", "annotations", DEPLOYMENT_MODE_ANNOTATION))
    if not isinstance(mode, str) or not mode:
        return None
    return {"RawDeployment": "Standard", "Serverless": "Knative"}.get(mode, mode)


def _components(obj: Obj) -> Iterator[tuple[JsonPath, Obj]]:
    for name in _COMPONENTS:
        component = get_path(obj, ("spec", name))
        if isinstance(component, dict):
            yield ("spec", name), component


def knative_scale_metric_problems(obj: Obj) -> Iterator[tuple[JsonPath, str]]:
    """(path, message) for each Knative-mode component whose scaleMetric KServe's webhook refuses."""
    if obj.get("kind") != "InferenceService" or deployment_mode(obj) != "Knative":
        return
    if get_path(obj, ("metadata", "annotations", KNATIVE_CLASS_ANNOTATION)) == KNATIVE_HPA_CLASS:
        return
    for path, component in _components(obj):
        metric = component.get("scaleMetric")
        if metric is not None and metric not in KNATIVE_METRICS:
            yield (
                (*path, "scaleMetric"),
                f"scaleMetric {metric} in Knative mode is refused at admission (KServe admits concurrency or rps "
                f"unless the annotation {KNATIVE_CLASS_ANNOTATION} is {KNATIVE_HPA_CLASS}); "
                "set serving.autoscaling.metric to concurrency or rps",
            )


def knative_placement_problems(obj: Obj, features: ClusterFeatures) -> Iterator[tuple[JsonPath, str]]:
    """(path, message) for each placement field of a Knative-mode component the cluster's Knative refuses."""
    if obj.get("kind") != "InferenceService" or deployment_mode(obj) != "Knative":
        return
    for path, component in _components(obj):
        for field in KNATIVE_PLACEMENT_FLAGS:
            if component.get(field) and not knative_allows(field, features):
                yield (
                    (*path, field),
                    f"{field} in Knative mode is refused by Knative's webhook unless enabled: "
                    f"{knative_flags_fix([field])}",
                )


def standard_canary_problems(obj: Obj, features: ClusterFeatures) -> Iterator[tuple[JsonPath, str]]:
    """(path, message) for each Standard-mode canary with a traffic share: KServe v0.20 routes none to it."""
    del features  # no cluster setting makes KServe v0.20 split Standard-mode traffic
    if obj.get("kind") != "InferenceService" or deployment_mode(obj) != "Standard":
        return
    canaries = get_path(obj, ("spec", "canary"))
    if not isinstance(canaries, list):
        return
    for i, entry in enumerate(canaries):
        share = entry.get("trafficPercent") if isinstance(entry, dict) else None
        if isinstance(share, int) and share > 0:
            yield (
                ("spec", "canary", i, "trafficPercent"),
                f"canary trafficPercent {share} is applied by no KServe v0.20 ingress (the HTTPRoute and the "
                f"Ingress route only to the stable predictor): the canary gets no traffic; {CANARY_FIX}",
            )
