"""Deployment granularity (`deployment.per` in mlgitops.yaml): what one Flux Kustomization or Argo CD
Application deploys.

* `environment` (default): `overlays/<env>`, everything of the environment in one build.
* `model`: `overlays/<env>/<model>` per model, plus one unit for what the environment shares (its
  Namespace, `base/platform` and the inference graphs, `overlays/<env>/_graphs/`), written to
  `overlays/_units/<env>/shared/`.
* `group`: models that share the value of `metadata.labels[groupBy]` (a team, say) in one unit,
  `overlays/_units/<env>/group-<value>/`, a Kustomization that only lists those models' directories,
  plus the shared unit.

Why: Kustomize's cost grows with the square of the resources in one build (kubernetes-sigs/kustomize
#5084); at 1000 models one environment build takes over 30 s while one model's directory builds in
a few tens of milliseconds (docs/performance.md). Argo CD and Flux build every unit on their own.

`overlays/_units/` cannot clash with an environment: environment names are DNS labels, without `_`.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlgitops.language.loader import Workspace
from mlgitops.layout.overlay import environment_kustomization, generated_document, namespace_object, overlay_entry
from mlgitops.render.pipeline import ModelRender
from mlgitops.util.errors import Problem, SpecError
from mlgitops.util.kubenames import Obj
from mlgitops.util.paths import KUSTOMIZATION, OVERLAYS_DIR, PLATFORM_DIR

UNITS_DIR = f"{OVERLAYS_DIR}/_units"
SHARED = "shared"
GROUP_PREFIX = "group-"


@dataclass(frozen=True)
class DeployUnit:
    """One Kustomization/Application: its name suffix, the directory it builds, and for plugin mode
    the model it renders (None: the whole environment, or not a plugin unit)."""

    env: str
    suffix: str  # "" for the whole environment; "shared", a model name or a group value otherwise
    path: str
    model: str | None = None
    shared: bool = False
    group: str | None = None

    def name(self, project: str) -> str:
        return f"{project}-{self.env}" + (f"-{self.suffix}" if self.suffix else "")


def _groups(workspace: Workspace, renders: list[ModelRender], env: str) -> dict[str, list[str]]:
    """Group value → the models deployed in `env` with it; SpecError for a model without a usable value."""
    key = workspace.project.deployment.groupBy or ""
    groups: dict[str, list[str]] = {}
    problems = []
    for item in renders:
        if item.environments.get(env) is None or item.graph:  # graphs deploy with the shared unit
            continue
        value = item.labels.get(key)
        if value is None or not _is_dns_label(value):
            doc = workspace.model(item.name).doc
            where = doc.location(("metadata", "labels", key) if value is not None else ("metadata",))
            problems.append(
                Problem(
                    where,
                    f"deployment.per is group (by label {key!r}) but this model has "
                    + ("no such label" if value is None else f"{key}={value!r}, not a DNS label")
                    + "; every model needs a value of lower-case letters, digits and '-' (it names a directory "
                    "and an Application)",
                )
            )
            continue
        groups.setdefault(value, []).append(item.name)
    if problems:
        raise SpecError(problems)
    return dict(sorted(groups.items()))


def _is_dns_label(value: str) -> bool:
    return (
        0 < len(value) <= 63
        and value[0].isalnum()
        and value[-1].isalnum()
        and all(c.isdigit() or ("a" <= c <= "z") or c == "-" for c in value)
    )


def has_shared(workspace: Workspace, env: str) -> bool:
    return (
        workspace.project.environment(env).createNamespace
        or (workspace.root / PLATFORM_DIR).is_dir()
        or bool(workspace.graphs)
    )


def units(workspace: Workspace, renders: list[ModelRender], env: str) -> list[DeployUnit]:
    """The units that deploy `env`, in a stable order: the shared one first."""
    per = workspace.project.deployment.per
    if per == "environment":
        return [DeployUnit(env, "", f"{OVERLAYS_DIR}/{env}")]
    found: list[DeployUnit] = []
    if has_shared(workspace, env):
        found.append(DeployUnit(env, SHARED, f"{UNITS_DIR}/{env}/{SHARED}", shared=True))
    if per == "model":
        found += [
            DeployUnit(env, item.name, f"{OVERLAYS_DIR}/{env}/{item.name}", model=item.name)
            for item in renders
            if item.environments.get(env) is not None and not item.graph
        ]
    else:
        found += [
            DeployUnit(env, value, f"{UNITS_DIR}/{env}/{GROUP_PREFIX}{value}", group=value)
            for value in _groups(workspace, renders, env)
        ]
    return found


def all_units(workspace: Workspace, renders: list[ModelRender]) -> list[DeployUnit]:
    """Every environment's units; SpecError when two would get the same object name."""
    project = workspace.project
    found = [u for env in project.environment_names for u in units(workspace, renders, env)]
    seen: dict[str, DeployUnit] = {}
    for unit in found:
        name = unit.name(project.metadata.name)
        if name in seen:
            raise SpecError.at(
                workspace.project_doc.location(("deployment", "per")),
                f"two deployment units are both named {name!r} ({seen[name].path} and {unit.path}); "
                "rename a model or an environment",
            )
        seen[name] = unit
    return found


def unit_files(workspace: Workspace, renders: list[ModelRender]) -> dict[str, str]:
    """The shared and group directories under overlays/_units/ (none with per: environment)."""
    if workspace.project.deployment.per == "environment":
        return {}
    files: dict[str, str] = {}
    for env in workspace.project.environment_names:
        environment = workspace.project.environment(env)
        groups = _groups(workspace, renders, env) if workspace.project.deployment.per == "group" else {}
        for unit in units(workspace, renders, env):
            if unit.shared:
                resources: list[str] = []
                if environment.createNamespace:
                    resources.append("namespace.yaml")
                    namespace = namespace_object(workspace, env)
                    files[f"{unit.path}/namespace.yaml"] = generated_document("mlgitops.yaml", namespace)
                if (workspace.root / PLATFORM_DIR).is_dir():
                    resources.append(f"../../../../{PLATFORM_DIR}")
                resources += [
                    f"../../../{env}/{overlay_entry(item)}"
                    for item in renders
                    if item.graph and item.environments.get(env) is not None
                ]
                kustomization = environment_kustomization(env, environment.namespace, resources)
                files[f"{unit.path}/{KUSTOMIZATION}"] = generated_document("mlgitops.yaml", kustomization)
            elif unit.group is not None:
                members = groups[unit.group]
                listing: Obj = {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    # each model directory sets the namespace and label itself
                    "resources": [f"../../../{env}/{name}" for name in members],
                }
                files[f"{unit.path}/{KUSTOMIZATION}"] = generated_document("mlgitops.yaml and models/", listing)
    return files
