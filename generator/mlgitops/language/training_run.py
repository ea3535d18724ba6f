"""Rules on how a training run is named and scheduled that no single field can check.

* **The name.** The WorkflowTemplate and the CronWorkflow are both named `training.name`, by default
  `<model>-train` (training.training_name). Argo Workflows refuses a WorkflowTemplate name over 63
  characters and a CronWorkflow name over 52, which leaves room for the timestamp suffix of the
  Workflows it creates (argo-workflows `workflow/validate/validate.go`, `maxCharsInObjectName`,
  `maxCharsInCronWorkflowName`). `training.name` is a DNS label (at most 63); the CronWorkflow's bound
  is checked here, at `training.name` when it is set, else at the model's name. Two models giving one
  environment the same name are refused by the render stage (render/pipeline.py, `check_unique_objects`).
* **What only a CronWorkflow renders.** `concurrencyPolicy` and `history` shape the CronWorkflow, which
  exists only with a schedule: set where no environment the model trains in has a schedule, they would
  change nothing, so they are refused at the field.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlgitops.language.model import Model
from mlgitops.language.training import TRAIN_SUFFIX, training_name
from mlgitops.language.workspace import Locator, ModelFile
from mlgitops.util.errors import Problem

CRON_WORKFLOW_NAME_MAX = 52


def name_problems(spec: Model, locate: Locator) -> list[Problem]:
    """A scheduled model's CronWorkflow name fits Argo's 52 characters."""
    training = spec.training
    if training is None or not training.schedules:
        return []
    name = training_name(spec.metadata.name, training)
    if len(name) <= CRON_WORKFLOW_NAME_MAX:
        return []
    if training.name is not None:
        return [
            Problem(
                locate(("training", "name"), False),
                f"a scheduled model's CronWorkflow is named training.name, and {name!r} is {len(name)} characters; "
                f"Argo Workflows accepts at most {CRON_WORKFLOW_NAME_MAX}",
            )
        ]
    return [
        Problem(
            locate(("metadata", "name"), False),
            f"a scheduled model's CronWorkflow {name!r} is {len(name)} characters; Argo Workflows accepts at most "
            f"{CRON_WORKFLOW_NAME_MAX} (a model name of at most {CRON_WORKFLOW_NAME_MAX - len(TRAIN_SUFFIX)}, "
            "or set a shorter training.name)",
        )
    ]


def cron_field_problems(model: ModelFile, trained: Iterable[Model]) -> list[Problem]:
    """`concurrencyPolicy` and `history` of the model file where none of `trained` (the model resolved in
    each environment it trains in) has a schedule, and the file itself has none either."""
    training = model.spec.training
    if training is None or not training.cron_fields or training.schedules:
        return []
    if any(spec.training is not None and spec.training.schedules for spec in trained):
        return []
    return [
        Problem(
            model.doc.location(("training", field), key=True),
            f"training.{field} sets the CronWorkflow, which exists only with a schedule, and no environment where "
            f"{model.name} trains has one; set training.schedule, or remove {field}",
        )
        for field in training.cron_fields
    ]
