"""Spec settings a stock cluster refuses or ignores without a word (issue 21), each at the spec line.

Called by clusterfit.check_cluster_fit for every environment. The upstream facts, read in the sources
(KServe v0.20.0, Knative Serving v0.48.1 = 1.21, KEDA v2.18.0, Argo Workflows v4.0.5):

* **Standard-mode canary.** KServe reconciles a Deployment and Service per `spec.canary[]` entry
  (kserve `pkg/controller/v1beta1/inferenceservice/components/predictor.go:913-956`,
  `reconcileCanaryDeployments`), but no ingress reconciler reads `trafficPercent`: the HTTPRoute has one
  backend, the stable predictor Service (`reconcilers/ingress/httproute_reconciler.go:224-242`), and the
  Ingress reconciler likewise. The canary runs and gets 0 %, with the Gateway API or without.
* **KEDA with a transformer or a canary.** The autoscaler class is read from the annotations every
  component shares (`reconcilers/autoscaler/autoscaler_reconciler.go:77-99`), so the transformer and each
  canary (`predictor.go:938-939`: a component extension with MinReplicas only) get a ScaledObject built
  from their own `autoScaling`, which they do not have: no triggers (`reconcilers/keda/keda_reconciler.go:
  81-84, 236-252`). KEDA requires `triggers` (keda `config/crd/bases/keda.sh_scaledobjects.yaml:356-358`;
  its webhook: "no triggers defined", `apis/keda/v1alpha1/scaletriggers_types.go:58`).
* **Custom image with gRPC.** KServe admits a custom predictor's PROTOCOL only as v1 or v2
  (`pkg/apis/serving/v1beta1/predictor_custom.go:51-57`, `validateCustomProtocol`).
* **Knative limits.** Knative refuses a revision `timeoutSeconds` above `max-revision-timeout-seconds`
  (knative/serving `pkg/apis/serving/v1/revision_validation.go:173-179`; default 600,
  `config/core/configmaps/defaults.yaml:55`, `pkg/apis/config/defaults.go:45`) and a
  `containerConcurrency` above `container-concurrency-max-limit` (`pkg/apis/serving/metadata_validation.go:
  101-103`; default 1000, `config/core/configmaps/defaults.yaml:138`).
* **Standard mode ignores** `containerConcurrency` (read only by the Knative reconciler,
  `reconcilers/knative/ksvc_reconciler.go:213`). It also raises `minReplicas: 0` to 1 (the HPA reconciler,
  `reconcilers/hpa/hpa_reconciler.go:154-155`; KEDA keeps 0: `reconcilers/keda/keda_reconciler.go:193-230`);
  that is not refused yet, because project `defaults` of many repositories set `min: 0` for every model
  (docs/real-cluster.md).
* **runtimeVersion on GPUs.** With `runtimeVersion` KServe replaces the image tag and returns before it
  appends the `-gpu` suffix of the TF Serving, TorchServe and Hugging Face GPU images
  (`pkg/controller/v1beta1/inferenceservice/utils/utils.go:347-355` against `373-379`): the pod runs the
  CPU image on a GPU node.
* **Knative request metrics.** From Knative 1.19 the queue-proxy serves request metrics only with
  `request-metrics-protocol: prometheus` in ConfigMap config-observability (default none;
  render/metric_sources.py has the sources).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlgitops.language.model import Model
from mlgitops.language.project import ClusterFeatures
from mlgitops.language.training import Step
from mlgitops.language.workspace import Locator
from mlgitops.util.errors import Problem
from mlgitops.util.yamlio import JsonPath

Latest = Callable[[Sequence[JsonPath]], JsonPath]

CANARY_WAYS_OUT = (
    "use mode: Knative (canaryTrafficPercent splits traffic between revisions) or engine: deployment "
    "(the split is by replica count), or set trafficPercent: 0 for a dark launch"
)
# kserve pkg/constants/constants.go: the server types whose GPU image is the tag with "-gpu"
# (utils.go:376-379), by the runtime names KServe ships (config/runtimes/) and the formats they serve.
GPU_SUFFIX_RUNTIMES = frozenset({"kserve-huggingfaceserver", "kserve-tensorflow-serving", "kserve-torchserve"})
GPU_SUFFIX_FORMATS = frozenset({"huggingface", "tensorflow", "pytorch"})


def check_stock_fit(spec: Model, features: ClusterFeatures, locate: Locator, latest: Latest) -> list[Problem]:
    """Serving and training settings the environment's cluster refuses or silently ignores."""
    problems = _serving_problems(spec, features, locate, latest)
    if spec.training is not None and not features.argoWorkflows.memoizeCache:
        for i, step in enumerate(spec.training.steps):
            if step.cache is not None:
                problems.append(_memoize_rbac(step, ("training", "steps", i, "cache"), locate))
    return problems


def _memoize_rbac(step: Step, where: JsonPath, locate: Locator) -> Problem:
    return Problem(
        locate(where, True),
        f"step {step.name!r} is memoized, and Argo Workflows' controller saves the cache in a ConfigMap it "
        "may only read on a stock install (its role grants get, list, watch on configmaps), which marks the "
        "step Error; grant the controller's ServiceAccount create and update on configmaps in the namespace "
        "(Argo's quick-start memoizer Role, docs/workflows.md) and declare clusterFeatures.argoWorkflows "
        "{memoizeCache: true} in mlgitops.yaml, or drop cache",
    )


def _serving_problems(spec: Model, features: ClusterFeatures, locate: Locator, latest: Latest) -> list[Problem]:
    serving = spec.serving
    if serving is None or serving.engine != "kserve":
        return []
    problems: list[Problem] = []
    knative = serving.mode == "Knative"
    keda = serving.autoscaling is not None and serving.autoscaling.metric == "prometheus"
    canary = serving.canary
    if not knative and canary is not None and canary.trafficPercent > 0:
        where = latest([("serving", "canary", "trafficPercent"), ("serving", "mode")])
        problems.append(
            Problem(
                locate(where, False),
                f"KServe v0.20 gives a Standard-mode canary none of its {canary.trafficPercent}%: it runs the "
                "canary's Deployment, but its ingress (Gateway API HTTPRoute or Ingress) routes only to the "
                f"stable predictor; {CANARY_WAYS_OUT}",
            )
        )
    transformer = serving.transformer
    # A transformer with its own KEDA autoscaling gets triggers; a collocated one is no component of its own.
    unscaled_transformer = (
        transformer is not None
        and not transformer.collocated
        and (transformer.autoscaling is None or transformer.autoscaling.metric != "prometheus")
    )
    if keda and (unscaled_transformer or serving.explainer is not None or (canary is not None and not knative)):
        part = "transformer" if unscaled_transformer else "explainer" if serving.explainer is not None else "canary"
        where = latest([("serving", part), ("serving", "autoscaling", "metric")])
        problems.append(
            Problem(
                locate(where, where[-1] == part),
                f"with autoscaling.metric: prometheus KServe gives the {part} a KEDA ScaledObject without "
                "triggers, which KEDA refuses, and the InferenceService never becomes Ready; scale on cpu or "
                f"memory, or drop the {part}"
                + (" (or give it autoscaling.metric: prometheus too)" if part == "transformer" else ""),
            )
        )
    if serving.image is not None and serving.protocol in ("grpc-v1", "grpc-v2"):
        where = latest([("serving", "protocol"), ("serving", "image")])
        problems.append(
            Problem(
                locate(where, False),
                f"KServe's webhook admits a custom predictor image only with protocol v1 or v2, not "
                f"{serving.protocol}; use protocol: v1 or v2, or a ServingRuntime (serving.runtime) for gRPC",
            )
        )
    problems.extend(_mode_limits(spec, features, locate, latest))
    if serving.runtimeVersion is not None and serving.gpu.count > 0 and not serving.runtimeVersion.endswith("-gpu"):
        runtime = serving.runtime
        if runtime in GPU_SUFFIX_RUNTIMES or (runtime is None and spec.model.format in GPU_SUFFIX_FORMATS):
            where = latest([("serving", "runtimeVersion"), ("serving", "gpu", "count")])
            problems.append(
                Problem(
                    locate(where, False),
                    f"runtimeVersion {serving.runtimeVersion!r} replaces the image tag without the '-gpu' suffix "
                    f"KServe adds for GPU pods of this server, so the pod runs the CPU image; write "
                    f"runtimeVersion: {serving.runtimeVersion}-gpu",
                )
            )
    return problems


def _mode_limits(spec: Model, features: ClusterFeatures, locate: Locator, latest: Latest) -> list[Problem]:
    serving = spec.serving
    assert serving is not None
    problems: list[Problem] = []
    knative = serving.mode == "Knative"
    limits = features.knative
    if knative and serving.timeout is not None and serving.timeout > limits.maxRevisionTimeoutSeconds:
        where = latest([("serving", "timeout"), ("serving", "mode")])
        problems.append(
            Problem(
                locate(where, False),
                f"Knative refuses a timeout of {serving.timeout} s above max-revision-timeout-seconds "
                f"({limits.maxRevisionTimeoutSeconds}); raise it in ConfigMap config-defaults (namespace "
                "knative-serving) and declare clusterFeatures.knative.maxRevisionTimeoutSeconds, or lower timeout",
            )
        )
    concurrency = serving.containerConcurrency
    if knative and concurrency is not None and concurrency > limits.containerConcurrencyMaxLimit:
        where = latest([("serving", "containerConcurrency"), ("serving", "mode")])
        problems.append(
            Problem(
                locate(where, False),
                f"Knative refuses containerConcurrency {concurrency} above container-concurrency-max-limit "
                f"({limits.containerConcurrencyMaxLimit}); raise it in ConfigMap config-defaults (namespace "
                "knative-serving) and declare clusterFeatures.knative.containerConcurrencyMaxLimit, or lower it",
            )
        )
    if not knative and concurrency is not None:
        where = latest([("serving", "containerConcurrency"), ("serving", "mode")])
        problems.append(
            Problem(
                locate(where, False),
                "containerConcurrency is a Knative setting that KServe's Standard mode ignores; use mode: Knative, "
                "or drop it (the model server's own worker settings limit concurrency there)",
            )
        )
    monitoring = spec.monitoring
    declared = monitoring is not None and monitoring.metrics is not None and monitoring.metrics.port is not None
    watched = monitoring is not None and monitoring.enabled and not declared
    if knative and watched and not limits.requestMetricsPrometheus:
        where = latest([("serving", "mode"), ("monitoring",)])
        problems.append(
            Problem(
                locate(where, where == ("monitoring",)),
                "monitoring of a Knative model reads the queue-proxy's request metrics, which Knative serves only "
                "with request-metrics-protocol: prometheus (default none); set it in ConfigMap "
                "config-observability (namespace knative-serving) and declare clusterFeatures.knative "
                "{requestMetricsPrometheus: true}, or set monitoring.enabled: false",
            )
        )
    return problems
