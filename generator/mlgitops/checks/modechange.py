"""A `serving.mode` change of a model that is already deployed, which KServe refuses.

KServe's validating webhook, on every update of an InferenceService, compares the
`serving.kserve.io/deploymentMode` annotation of the new object with the mode recorded in the old
object's status and rejects a difference ("update rejected: deploymentMode cannot be changed from
'Standard' to 'Knative'"): `validateDeploymentMode`, called from `ValidateUpdate` in kserve/kserve
`pkg/apis/serving/v1beta1/inference_service_validation.go`. An Argo CD or Flux sync of such a change
therefore fails until the InferenceService is deleted; a new name (a new object) is created instead.

`diff` flags the change in its ML summary; `validate` compares the project with a base revision
(`--base REF`, default the merge-base `diff` uses) and reports it at the spec line of `serving.mode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mlgitops.checks.policies.catalog import SERVING_MODE_CHANGE, Violation
from mlgitops.language.model import Model
from mlgitops.util.kubenames import Obj

ADVICE = (
    "KServe refuses this change on an existing InferenceService (deploymentMode cannot be changed); "
    "give the model a new name, or delete the InferenceService and let the sync recreate it"
)


def mode_change(old: Model | None, new: Model | None) -> tuple[str, str] | None:
    """(old mode, new mode) when both specs serve on KServe in different modes, else None."""
    if old is None or new is None or old.serving is None or new.serving is None:
        return None
    if old.serving.engine != "kserve" or new.serving.engine != "kserve" or old.serving.mode == new.serving.mode:
        return None
    return old.serving.mode, new.serving.mode


def summary_text(old_mode: str, new_mode: str) -> str:
    """The diff's ML summary part: `mode Standard → Knative: KServe refuses ...`."""
    return f"mode {old_mode} → {new_mode}: {ADVICE}"


@dataclass
class BaseModes:
    """The deployment mode of every (model, environment) served by KServe at the base revision."""

    label: str
    modes: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # → (mode, namespace)

    def violations(
        self, objects: list[Obj], model: str, env: str, namespace: str, spec: Model | None
    ) -> list[Violation]:
        """The InferenceService of `model` in `env`, when its mode differs from the base's in place."""
        before = self.modes.get((model, env))
        if before is None or spec is None or spec.serving is None or spec.serving.engine != "kserve":
            return []
        old_mode, old_namespace = before
        if old_mode == spec.serving.mode or old_namespace != namespace:
            return []  # unchanged, or a new object in another namespace
        message = f"serving.mode {old_mode} → {spec.serving.mode} (base {self.label}): {ADVICE}"
        for obj in objects:
            if obj.get("kind") == "InferenceService" and (obj.get("metadata") or {}).get("name") == model:
                path = ("metadata", "annotations", "serving.kserve.io/deploymentMode")
                return [Violation(SERVING_MODE_CHANGE, obj, path, message, spec_path=("serving", "mode"))]
        return []
