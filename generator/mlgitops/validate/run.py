"""The checks over every environment: schemas (built-in and CRDs), policies, references, waivers and promotion order."""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.checks.policies.catalog import POLICY_IDS, Stage, Violation, stage_of
from mlgitops.checks.policies.checks import check_objects, check_training_schedules
from mlgitops.checks.policies.promotion import check_promotion
from mlgitops.checks.policies.sites import PodSite, pod_sites
from mlgitops.checks.references import available, missing_references
from mlgitops.checks.schemas.crd import SchemaSet, load_crd_schemas
from mlgitops.checks.schemas.dedup import SchemaMemo
from mlgitops.checks.schemas.kube import KubeSchemas, load_kube_schemas
from mlgitops.checks.schemas.messages import SchemaViolation
from mlgitops.checks.sourcemap.common import parse_pointer
from mlgitops.language.loader import ModelFile, Workspace, unknown_environment
from mlgitops.language.project import Policies, Project
from mlgitops.language.resolve import resolve
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import ModelRender, render_models
from mlgitops.util.errors import Location, Problem, SpecError, did_you_mean
from mlgitops.util.jsonpointer import to_pointer
from mlgitops.util.kubenames import Obj
from mlgitops.util.paths import PLATFORM_DIR
from mlgitops.util.yamlio import JsonPath, unwritable
from mlgitops.validate.base import base_modes
from mlgitops.validate.locate import Locate, PlatformFiles, graph_locator, model_locator, namespace_locator
from mlgitops.validate.report import NO_SCHEMA, PLATFORM, SCHEMA, UNWRITABLE, Finding, Report, ValidateOptions, Waived

if TYPE_CHECKING:
    from mlgitops.checks.modechange import BaseModes


@dataclass
class SchemaSources:
    """Where schemas come from: CRD directories first, then the built-in Kubernetes kinds."""

    crds: list[SchemaSet]
    kube: KubeSchemas | None
    crd_files: int = 0

    def violations(self, obj: Obj) -> list[SchemaViolation] | None:
        """The object's schema problems; None when no schema knows its kind."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        for schemas in self.crds:
            if schemas.has(api_version, kind):
                return schemas.validate(obj)
        if self.kube is not None and self.kube.has(api_version, kind):
            return self.kube.validate(obj)
        return None


def load_schema_sources(options: ValidateOptions) -> SchemaSources:
    """Load the CRD directories (cached on disk) and pick the Kubernetes release (UsageError if unknown)."""
    kube = load_kube_schemas(options.kube_version)
    crds = [load_crd_schemas(directory) for directory in options.crds]
    return SchemaSources(crds, kube, sum(s.file_count for s in crds))


def _no_schema_hint(api_version: str, sources: SchemaSources) -> str:
    if "." not in api_version.partition("/")[0] or "/" not in api_version:
        if sources.kube is None:
            return "kubernetes-validate (a dependency of mlgitops) is missing: reinstall mlgitops"
        return f"not a built-in kind of Kubernetes {sources.kube.version}"
    return "add its CustomResourceDefinition to crds/ (see crds/README.md) or pass --crds DIR"


# --- checking ----------------------------------------------------------------------------------------


def _identity(obj: Obj) -> tuple[str, str, str]:
    metadata = obj.get("metadata")
    name = metadata.get("name", "") if isinstance(metadata, dict) else ""
    return str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(name)


def _finding(env: str, v: Violation, location: Location | None) -> Finding:
    api_version, kind, name = _identity(v.obj)
    policy, path = v.policy, to_pointer(v.path)
    return Finding(policy.severity, policy.id, env, api_version, kind, name, path, v.message, location)


Need = tuple[str, str]
"""A (kind, name) a missing-reference finding is about: dropped when the environment turns out to have it."""
Segment = tuple[list[tuple[Finding, Need | None]], list[tuple[Waived, Need | None]]]
"""What some checks added, in order (validate/workers.py joins the workers' segments)."""


@dataclass
class Run:
    workspace: Workspace | None
    sources: SchemaSources
    strict: bool
    findings: list[Finding] = field(default_factory=list)
    waived: list[Waived] = field(default_factory=list)
    unchecked: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    objects: int = 0
    reported: set[tuple[Location | None, str]] = field(default_factory=set)
    needs: dict[int, Need] = field(default_factory=dict)  # id of a finding or waived finding → what it is about

    def __post_init__(self) -> None:
        self.memo = SchemaMemo(self.sources.violations)  # one jsonschema run per distinct body

    def schema(self, env: str, objects: list[Obj], locate: Locate) -> None:
        for obj in objects:
            self.objects += 1
            self.unwritable(env, obj, locate)
            violations = self.memo.violations(obj)
            if violations is None:
                api_version, kind, _ = _identity(obj)
                seen = self.unchecked.setdefault((api_version, kind), [])
                if env not in seen:
                    seen.append(env)
                continue
            api_version, kind, name = _identity(obj)
            for violation in violations:
                path = parse_pointer(obj, violation.json_path)
                self.findings.append(
                    Finding(
                        "error",
                        SCHEMA,
                        env,
                        api_version,
                        kind,
                        name,
                        to_pointer(path),
                        violation.message,
                        locate(obj, path, None),
                    )
                )

    def unwritable(self, env: str, obj: Obj, locate: Locate) -> None:
        """Text no generated file can carry (`render` refuses it): once per place in the specs."""
        for path, reason, _is_key in unwritable(obj):
            location = locate(obj, path, None)
            if (location, reason) in self.reported:
                continue
            self.reported.add((location, reason))
            api_version, kind, name = _identity(obj)
            self.findings.append(
                Finding("error", UNWRITABLE, env, api_version, kind, name, to_pointer(path), reason, location)
            )

    def policies(self, env: str, violations: list[Violation], locate: Locate, model: ModelFile | None) -> None:
        for v in violations:
            self._policy(env, v, locate, model)

    def _policy(self, env: str, v: Violation, locate: Locate, model: ModelFile | None) -> Finding | Waived:
        found = _finding(env, v, locate(v.obj, v.path, v.spec_path))
        waiver = self._waiver(v.policy.id, env, model)
        if waiver is not None:
            self.waived.append(Waived(found, waiver[0], waiver[1]))
            return self.waived[-1]
        self.findings.append(found)
        return found

    def references(
        self,
        env: str,
        objects: list[Obj],
        have: dict[str, set[str]],
        locate: Locate,
        model: ModelFile | None,
        sites_of: list[list[PodSite]] | None = None,
    ) -> None:
        """References to what `have` lacks, each tagged with what it names (a worker's `have` is partial)."""
        namespace = self.workspace.project.environment(env).namespace if self.workspace else ""
        for ref, violation in missing_references(objects, have, namespace, sites_of):
            self.needs[id(self._policy(env, violation, locate, model))] = (ref.kind, ref.name)

    def mark(self) -> tuple[int, int]:
        return len(self.findings), len(self.waived)

    def since(self, mark: tuple[int, int]) -> Segment:
        """What was added after `mark`, each with its need."""
        findings = [(f, self.needs.get(id(f))) for f in self.findings[mark[0] :]]
        waived = [(w, self.needs.get(id(w))) for w in self.waived[mark[1] :]]
        return findings, waived

    def replay(self, segment: Segment, have: dict[str, set[str]]) -> None:
        """Add a worker's segment as this run would have made it: without references `have` satisfies, and
        each unwritable text once per place in the specs."""
        findings, waived = segment
        for finding, need in findings:
            if need is not None and need[1] in have.get(need[0], ()):
                continue
            if finding.check == UNWRITABLE:
                if (finding.location, finding.message) in self.reported:
                    continue
                self.reported.add((finding.location, finding.message))
            self.findings.append(finding)
        self.waived.extend(w for w, need in waived if need is None or need[1] not in have.get(need[0], ()))

    def _waiver(self, policy: str, env: str, model: ModelFile | None) -> tuple[str, Location] | None:
        if self.workspace is None:
            return None
        sources: list[tuple[Policies, Any]] = []
        if model is not None:
            sources.append((model.spec.policies, model.doc))
        sources.append((self.workspace.project.policies, self.workspace.project_doc))
        for policies, doc in sources:
            for i, waiver in enumerate(policies.disabled):
                if waiver.id == policy and (waiver.environments is None or env in waiver.environments):
                    return waiver.reason, doc.location(("policies", "disabled", i))
        return None

    def no_schema(self) -> None:
        for (api_version, kind), envs in sorted(self.unchecked.items()):
            self.findings.append(
                Finding(
                    "warning",
                    NO_SCHEMA,
                    "",
                    api_version,
                    kind,
                    "",
                    "",
                    f"no schema, so objects in {', '.join(envs)} were not checked; "
                    + _no_schema_hint(api_version, self.sources),
                )
            )

    def finish(self) -> list[Finding]:
        if not self.strict:
            return self.findings
        return [dataclasses.replace(f, severity="error") for f in self.findings]


def check_waivers(workspace: Workspace) -> list[Problem]:
    """`policies.disabled` entries must name a known policy and known environments."""
    problems: list[Problem] = []
    envs = workspace.project.environment_names
    files = [(workspace.project.policies, workspace.project_doc)]
    files += [(m.spec.policies, m.doc) for m in workspace.models]
    for policies, doc in files:
        for i, waiver in enumerate(policies.disabled):
            where = ("policies", "disabled", i)
            if waiver.id not in POLICY_IDS:
                problems.append(
                    Problem(
                        doc.location((*where, "id")),
                        f"unknown policy {waiver.id!r}{did_you_mean(waiver.id, POLICY_IDS)}; "
                        f"policies: {', '.join(POLICY_IDS)}",
                    )
                )
            for j, env in enumerate(waiver.environments or []):
                if env not in envs:
                    problems.append(
                        Problem(
                            doc.location((*where, "environments", j)),
                            unknown_environment(env, envs),
                        )
                    )
    return problems


def check_delivery_settings(workspace: Workspace) -> None:
    """A manual environment that Flux would deploy on every merge (`render` refuses it too).

    A plugin-mode project without `argocd.image` is left to `render`: `validate` checks what is
    deployed, and the sidecar image is not part of it."""
    from mlgitops.gitops.flux import check_manual_environments

    check_manual_environments(workspace)


def platform_objects(workspace: Workspace) -> list[Obj]:
    from mlgitops.layout.kustomize import build
    from mlgitops.layout.platform_tree import copy_platform
    from mlgitops.util.yamlio import load_plain

    folder = workspace.root / PLATFORM_DIR
    if not folder.is_dir():
        return []
    with tempfile.TemporaryDirectory(prefix="mlgitops-validate-") as scratch:
        copy_platform(workspace.root, Path(scratch))  # confined and checked first (platform_tree.py)
        return [doc for doc in load_plain(build(Path(scratch) / PLATFORM_DIR)) if isinstance(doc, dict)]


def validate_workspace(workspace: Workspace, options: ValidateOptions | None = None) -> Report:
    """Validate every rendered object of every environment (and base/platform) of a loaded project."""
    options = options or ValidateOptions()
    problems = check_waivers(workspace)
    if problems:
        raise SpecError(problems)
    check_delivery_settings(workspace)
    sources = load_schema_sources(options)
    renders = rendered_environments(workspace, sources)
    run = Run(workspace, sources, options.strict)
    platform = platform_objects(workspace)
    notes: list[str] = []
    base = base_modes(workspace, options.base, notes) if options.compare_base else None
    by_name = {m.name: m for m in workspace.models}
    trained: dict[str, list[tuple[str, list[Obj]]]] = {}
    for env in workspace.project.environment_names:
        have = available_references(workspace, env, renders, platform)
        check_namespace(run, workspace, env)
        for item in renders:
            if item.environments.get(env) is not None:
                model = None if item.graph else by_name[item.name]
                check_model(run, workspace, env, item, model, have, base, trained)
    for name, per_environment in trained.items():
        check_schedules(run, workspace, by_name[name], per_environment)
    check_platform(run, workspace, platform)
    return finished(run, workspace, len(workspace.models), notes)


def rendered_environments(workspace: Workspace, sources: SchemaSources) -> list[ModelRender]:
    """The workspace's renders in every environment (their base is not checked), with the schemas of the kinds
    they hold converted ahead."""
    renders = render_models(workspace)
    for item in renders:
        item.base = []  # the base (what base/models/ holds) is not checked here: only the environments
    kinds = {(o["apiVersion"], o["kind"]) for r in renders for objs in r.environments.values() for o in objs or []}
    for schemas in sources.crds:
        schemas.prefetch(kinds)
    return renders


def check_namespace(run: Run, workspace: Workspace, env: str) -> None:
    """The environment's Namespace object (when mlgitops creates it)."""
    namespace = environment_objects(workspace, env, [], with_namespace=True)
    locate = namespace_locator(workspace, env)
    run.schema(env, namespace, locate)
    run.policies(env, check_objects(namespace, stage_of(workspace.project, env), workspace.project), locate, None)


def check_model(
    run: Run,
    workspace: Workspace,
    env: str,
    item: ModelRender,
    model: ModelFile | None,
    have: dict[str, set[str]],
    base: BaseModes | None,
    trained: dict[str, list[tuple[str, list[Obj]]]],
) -> None:
    """One model's (or, without `model`, an inference graph's) objects in one environment; its CronWorkflows
    kept in `trained`."""
    project = workspace.project
    stage = stage_of(project, env)
    objects = environment_objects(workspace, env, [item], with_namespace=False)
    if model is None:  # an inference graph: its file has no policies block and no promotion
        locate = graph_locator(workspace, item.name, env)
        run.schema(env, objects, locate)
        run.policies(env, check_objects(objects, stage, project), locate, None)
        run.references(env, objects, have, locate, None)
        return
    locate = model_locator(workspace, model, env, item.addon_templates)
    resolved = resolve(workspace, model, env)
    spec = resolved.spec if resolved is not None else None
    sites_of = [pod_sites(obj) for obj in objects]  # for the policies and the references alike
    run.schema(env, objects, locate)
    run.policies(env, check_objects(objects, stage, project, spec, sites_of), locate, model)
    # only CronWorkflows count there (argo_checks.scheduled_environments); keeping every object of
    # every environment until the end would hold the whole render twice
    trained.setdefault(item.name, []).append((env, [obj for obj in objects if obj.get("kind") == "CronWorkflow"]))
    run.references(env, objects, have, locate, model, sites_of)
    namespace = project.environment(env).namespace
    if base is not None:
        run.policies(env, base.violations(objects, item.name, env, namespace, spec), locate, model)
    envs = project.environment_names
    if env == envs[-1] and len(envs) > 1 and spec is not None:
        run.policies(env, _promotion(workspace, model, objects, env), locate, model)


def check_schedules(
    run: Run, workspace: Workspace, model: ModelFile, per_environment: list[tuple[str, list[Obj]]]
) -> None:
    """A model's training schedules across its environments (its CronWorkflows in each)."""
    for env, violation in check_training_schedules(model.name, per_environment):
        run.policies(env, [violation], model_locator(workspace, model, env), model)


def check_platform(run: Run, workspace: Workspace, platform: list[Obj]) -> None:
    """The hand-written base/platform objects, deployed to every environment."""
    if platform:
        files = PlatformFiles(workspace.root)
        run.schema(PLATFORM, platform, files.locate)
        platform_stage = Stage(PLATFORM, is_dev=False, is_prod=True)
        run.policies(PLATFORM, check_objects(platform, platform_stage, workspace.project), files.locate, None)


def finished(run: Run, workspace: Workspace, models: int, notes: list[str]) -> Report:
    """The report of a run whose checks are all done."""
    run.no_schema()
    sources = run.sources
    if sources.kube is None:
        notes.append("kubernetes-validate (a dependency of mlgitops) is not installed: built-in kinds have no schema")
    return Report(
        findings=run.finish(),
        waived=run.waived,
        environments=workspace.project.environment_names,
        models=models,
        objects=run.objects,
        kube_version=sources.kube.version if sources.kube else None,
        crd_files=sources.crd_files,
        notes=notes,
    )


def available_references(
    workspace: Workspace, env: str, renders: list[ModelRender], platform: list[Obj]
) -> dict[str, set[str]]:
    """ServiceAccounts, ConfigMaps and Secrets present in `env`: rendered, in base/platform, or provided."""
    objects = environment_objects(workspace, env, renders, with_namespace=False) + platform
    return available(objects, workspace.project.features(env).provides)


def _promotion(workspace: Workspace, model: ModelFile, objects: list[Obj], env: str) -> list[Violation]:
    envs = workspace.project.environment_names
    prod = resolve(workspace, model, env)
    if prod is None:
        return []
    for previous_env in reversed(envs[: envs.index(env)]):
        previous = resolve(workspace, model, previous_env)
        if previous is not None:
            return check_promotion(objects, prod.spec, env, previous.spec, previous_env)
    return []


def validate_objects(
    objects: list[Obj],
    sources: SchemaSources,
    *,
    environment: str = "",
    project: Project | None = None,
    stage: Stage | None = None,
) -> list[Finding]:
    """Schema findings (and, given the project, policy findings) for objects outside a workspace run,
    without spec locations: for addons, tests and other tools."""
    run = Run(workspace=None, sources=sources, strict=False)

    def nowhere(obj: Obj, path: JsonPath, spec_path: JsonPath | None) -> Location | None:
        return None

    run.schema(environment, objects, nowhere)
    if project is not None:
        current = stage or Stage(environment, is_dev=False, is_prod=True)
        for v in check_objects(objects, current, project):
            run.findings.append(_finding(environment, v, None))
    run.no_schema()
    return run.findings
