"""Where models train: the environments that get a model's WorkflowTemplate and CronWorkflow.

A training run registers what it trains, so every environment that trains registers its own model
versions. Running the same pipeline in dev, staging and prod runs the same (often hours-long, multi-GPU)
job three times and registers three candidates. By default a model therefore trains in ONE
environment, the last one in promotion order (prod): that is where the production data and the
reserved GPU capacity usually are, and where a change to the training pipeline is deployed under the
strictest sync policy. A version it registers enters the Git promotion like any other: a pull request
pins it in dev, then staging, then prod (`model.version` / `storageUri`), so the other environments
only serve what Git pins.

`training.environments` in mlgitops.yaml changes the default for every model; the same field in a
model's `training` block changes it for that model. It cannot be set per environment (it says which
environments there are). The `training-environments` policy warns when one model trains on a schedule
in more than one environment.
"""

from __future__ import annotations

from typing import Any

from mlgitops.language.model import Model
from mlgitops.language.project import Project
from mlgitops.language.workspace import ModelFile, unknown_environment
from mlgitops.util.errors import Problem
from mlgitops.util.yamlio import Document

__all__ = ["model_problems", "project_problems", "training_environments", "trains_in"]

_NOT_PER_ENVIRONMENT = (
    "training.environments says which environments train; set it in the model's training block "
    "or in mlgitops.yaml's training block, not in an environment patch"
)


def training_environments(project: Project, spec: Model) -> list[str]:
    """The environments where `spec` (the model file's own spec) trains."""
    training = spec.training
    if training is not None and training.environments:
        return list(training.environments)
    if project.training.environments:
        return list(project.training.environments)
    return [project.environment_names[-1]]


def trains_in(project: Project, spec: Model, env: str) -> bool:
    """Whether a model whose file says `spec` keeps its resolved `training` block in `env`.

    A model without a `training` block of its own that gets one from an environment patch trains
    exactly where the patches put it (the patch is the placement).
    """
    return spec.training is None or env in training_environments(project, spec)


def _names(names: list[str], where: tuple[Any, ...], doc: Document, envs: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name not in envs:
            problems.append(Problem(doc.location((*where, i)), unknown_environment(name, envs)))
        elif name in seen:
            problems.append(Problem(doc.location((*where, i)), f"environment {name!r} is listed twice"))
        seen.add(name)
    return problems


def _patch_sets_environments(patch: Any) -> bool:
    training = patch.get("training") if isinstance(patch, dict) else None
    return isinstance(training, dict) and "environments" in training


def project_problems(project: Project, doc: Document) -> list[Problem]:
    """`training.environments` of mlgitops.yaml names known environments; no `defaults` sets it."""
    envs = project.environment_names
    problems = _names(project.training.environments or [], ("training", "environments"), doc, envs)
    for index, env in enumerate(project.environments):
        if _patch_sets_environments(env.defaults):
            where = ("environments", index, "defaults", "training", "environments")
            problems.append(Problem(doc.location(where, key=True), _NOT_PER_ENVIRONMENT))
    return problems


def model_problems(model: ModelFile, project: Project) -> list[Problem]:
    """A model's `training.environments` names known environments; no environment patch sets it."""
    envs = project.environment_names
    problems: list[Problem] = []
    training = model.spec.training
    if training is not None and training.environments:
        problems.extend(_names(training.environments, ("training", "environments"), model.doc, envs))
    for env, patch in model.spec.environments.items():
        if _patch_sets_environments(patch):
            where = ("environments", env, "training", "environments")
            problems.append(Problem(model.doc.location(where, key=True), _NOT_PER_ENVIRONMENT))
    if training is not None and not problems:
        chosen = training_environments(project, model.spec)
        disabled = [e for e in chosen if (model.spec.environments.get(e) or {}).get("enabled", True) is False]
        if disabled == chosen:
            problems.append(
                Problem(
                    model.doc.location(("training",), key=True),
                    f"{model.name} trains only in {', '.join(chosen)}, where it is disabled, so it never trains; "
                    "set training.environments",
                )
            )
    return problems
