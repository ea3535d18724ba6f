"""The policy catalogue: each policy's name, severity and rationale, and what a finding carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mlgitops.language.project import Project
from mlgitops.util.kubenames import Obj
from mlgitops.util.yamlio import JsonPath

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Policy:
    id: str
    severity: Severity
    reason: str


IMAGE_PINNED = Policy(
    "image-pinned",
    "error",
    "an image without a tag or digest, or tagged latest, can change without a Git change",
)
GPU_CLASS = Policy(
    "gpu-class",
    "error",
    "a GPU request without a GPU class has no placement: the pod stays pending or lands on the wrong GPU",
)
GPU_SCALE_TO_ZERO = Policy(
    "gpu-scale-to-zero",
    "error",
    "minReplicas 0 with a GPU: scale-to-zero kills pods still waiting for a GPU node",
)
AUTOSCALING_MODE = Policy(
    "autoscaling-mode",
    "error",
    "concurrency and rps autoscaling need KServe Knative mode; Standard mode's HPA scales on cpu or memory",
)
KNATIVE_CANARY = Policy(
    "knative-canary",
    "warning",
    "a Knative canary keeps the previous model only in cluster revisions: rollback state lives outside Git",
)
STORAGE_URI_VERSION = Policy(
    "storage-uri-version",
    "error",
    "a storageUri without the model version in its path is mutable: overwriting it does not roll out",
)
PROD_LIMITS = Policy(
    "prod-limits",
    "error",
    "serving containers in prod without cpu or memory limits can starve their neighbours",
)
PROMOTION_ORDER = Policy(
    "promotion-order",
    "error",
    "prod serves a model version newer than the stage before it: the promotion skipped a stage",
)
KSERVE_ANNOTATION = Policy(
    "kserve-annotation",
    "error",
    "an annotation key that looks like a misspelt KServe key is silently ignored by KServe",
)
# What a stock cluster refuses or ignores (clusterfit.py, docs/real-cluster.md), read against the
# environment's clusterFeatures.
KNATIVE_SCALE_METRIC = Policy(
    "knative-scale-metric",
    "error",
    "KServe refuses cpu and memory autoscaling in Knative mode unless the Knative HPA class is set",
)
KNATIVE_PLACEMENT = Policy(
    "knative-placement",
    "error",
    "Knative refuses nodeSelector, tolerations and affinity unless its config-features flags enable them",
)
STANDARD_CANARY_INGRESS = Policy(
    "standard-canary-ingress",
    "error",
    "a Standard-mode canary gets its traffic share only through KServe's Gateway API ingress",
)
POD_SECURITY = Policy(
    "pod-security",
    "error",
    "a pod that breaks its namespace's Pod Security level is refused at admission: the workload never starts",
)

CANARY_SHARE = Policy(
    "canary-share",
    "warning",
    "a Deployment-engine canary is weighted by pod count: few stable pods make the share far coarser than asked",
)

GPU_SHARED_MEMORY = Policy(
    "gpu-shared-memory",
    "warning",
    "a GPU container with the runtime's 64 MiB /dev/shm: NCCL and PyTorch DataLoader workers crash",
)
TRAINING_ENVIRONMENTS = Policy(
    "training-environments",
    "warning",
    "a model training on a schedule in several environments runs the same job in each, and each registers",
)
ARGO_WHEN = Policy(
    "argo-when",
    "error",
    "Argo's when parser (govaluate) cannot read a number in exponent form (5e-05): the task errors",
)
ARGO_EXECUTOR_TOKEN = Policy(
    "argo-executor-token",
    "error",
    "automountServiceAccountToken: false needs an executor ServiceAccount: Argo errors every step's pod",
)
RETRY_MAX_DURATION = Policy(
    "retry-max-duration",
    "warning",
    "backoff.maxDuration counts from the first attempt's start: longer steps are never retried",
)
MISSING_REFERENCE = Policy(
    "missing-reference",
    "error",
    "a ServiceAccount, ConfigMap or Secret a pod needs is neither rendered nor provided: the pod never starts",
)
# Needs a base revision: checked by `validate` when it has one (mlgitops.checks.modechange).
SERVING_MODE_CHANGE = Policy(
    "serving-mode-change",
    "error",
    "KServe refuses to change the deployment mode of an existing InferenceService",
)
DATA_PINNED = Policy(
    "data-pinned",
    "error",
    "a dataset without a version, or with a moving one (latest), cannot say what data trained a model",
)
SLO_ALERTED = Policy(
    "slo-alerted",
    "error",
    "an objective no rendered alert enforces: the predictor exports no series it can be computed from",
)
TRAINED_MODEL_ADMISSION = Policy(
    "trained-model-admission",
    "error",
    "KServe's TrainedModel webhook refuses names and storage URIs its CRD admits: the sync fails at apply",
)

POLICIES: tuple[Policy, ...] = (
    IMAGE_PINNED,
    GPU_CLASS,
    GPU_SCALE_TO_ZERO,
    AUTOSCALING_MODE,
    KNATIVE_CANARY,
    STORAGE_URI_VERSION,
    PROD_LIMITS,
    PROMOTION_ORDER,
    KSERVE_ANNOTATION,
    KNATIVE_SCALE_METRIC,
    KNATIVE_PLACEMENT,
    STANDARD_CANARY_INGRESS,
    POD_SECURITY,
    CANARY_SHARE,
    GPU_SHARED_MEMORY,
    TRAINING_ENVIRONMENTS,
    ARGO_WHEN,
    ARGO_EXECUTOR_TOKEN,
    RETRY_MAX_DURATION,
    MISSING_REFERENCE,
    SERVING_MODE_CHANGE,
    DATA_PINNED,
    SLO_ALERTED,
    TRAINED_MODEL_ADMISSION,
)
POLICY_IDS: tuple[str, ...] = tuple(p.id for p in POLICIES)


@dataclass(frozen=True)
class Violation:
    """One policy broken by one object, at `path` inside it.

    `spec_path` names the model field to blame when the object path alone would point elsewhere.
    """

    policy: Policy
    obj: Obj
    path: JsonPath
    message: str
    spec_path: JsonPath | None = None


@dataclass(frozen=True)
class Stage:
    """Where an environment stands in the promotion order."""

    environment: str
    is_dev: bool
    is_prod: bool


def stage_of(project: Project, env: str) -> Stage:
    names = project.environment_names
    return Stage(env, is_dev=len(names) > 1 and env == names[0], is_prod=env == names[-1])
