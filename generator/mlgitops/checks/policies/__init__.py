"""Policies: footguns of ML serving and training on Kubernetes, checked on the rendered objects.

Each policy has an id, a severity and a one-line reason. A project switches one off in mlgitops.yaml,
a model in its own file, always with a reason (optionally only in some environments):

    policies:
      disabled:
      - {id: gpu-scale-to-zero, reason: "dev GPUs are shared; cold starts are fine", environments: [dev]}

Where an environment stands in the promotion order (`environments:` of mlgitops.yaml, first to last):

* dev is the first environment, when there are at least two (a single environment is production);
* prod is the last environment;
* the stage before prod is the closest earlier environment where the model is enabled.

Checks read the objects exactly as they are deployed, so they also cover objects a platform team adds
(base/platform); the model spec, when there is one, refines a check (the GPU class a step asked for).

One module per concern: the catalogue, where pods are, the promotion order and the checks.
"""

from __future__ import annotations

from mlgitops.checks.policies.catalog import (
    ARGO_WHEN,
    AUTOSCALING_MODE,
    CANARY_SHARE,
    DATA_PINNED,
    GPU_CLASS,
    GPU_SCALE_TO_ZERO,
    GPU_SHARED_MEMORY,
    IMAGE_PINNED,
    KNATIVE_CANARY,
    KNATIVE_PLACEMENT,
    KNATIVE_SCALE_METRIC,
    KSERVE_ANNOTATION,
    MISSING_REFERENCE,
    POD_SECURITY,
    POLICIES,
    POLICY_IDS,
    PROD_LIMITS,
    PROMOTION_ORDER,
    RETRY_MAX_DURATION,
    SERVING_MODE_CHANGE,
    SLO_ALERTED,
    STANDARD_CANARY_INGRESS,
    STORAGE_URI_VERSION,
    TRAINING_ENVIRONMENTS,
    Obj,
    Policy,
    Severity,
    Stage,
    Violation,
    stage_of,
)
from mlgitops.checks.policies.checks import annotation_typo, check_objects, check_training_schedules, image_problem
from mlgitops.checks.policies.promotion import check_promotion, compare_versions
from mlgitops.checks.policies.sites import PodSite, pod_sites

__all__ = [
    "ARGO_WHEN",
    "AUTOSCALING_MODE",
    "CANARY_SHARE",
    "DATA_PINNED",
    "GPU_CLASS",
    "GPU_SCALE_TO_ZERO",
    "GPU_SHARED_MEMORY",
    "IMAGE_PINNED",
    "KNATIVE_CANARY",
    "KNATIVE_PLACEMENT",
    "KNATIVE_SCALE_METRIC",
    "KSERVE_ANNOTATION",
    "MISSING_REFERENCE",
    "POD_SECURITY",
    "POLICIES",
    "POLICY_IDS",
    "PROD_LIMITS",
    "PROMOTION_ORDER",
    "RETRY_MAX_DURATION",
    "SERVING_MODE_CHANGE",
    "SLO_ALERTED",
    "STANDARD_CANARY_INGRESS",
    "STORAGE_URI_VERSION",
    "TRAINING_ENVIRONMENTS",
    "Obj",
    "PodSite",
    "Policy",
    "Severity",
    "Stage",
    "Violation",
    "annotation_typo",
    "check_objects",
    "check_promotion",
    "check_training_schedules",
    "compare_versions",
    "image_problem",
    "pod_sites",
    "stage_of",
]
