"""`mlgitops validate`: every rendered object of every environment, checked offline against the real
schemas and against the policies.

* Built-in kinds: the Kubernetes OpenAPI schemas of one release (kubeschema.py, strict about unknown
  fields). Custom resources: the CRDs in the `--crds` directories (crdschema.py). A kind with neither
  is reported once as `no-schema` (a warning; an error with `strict`).
* Policies (`mlgitops.policies`), minus those the project or the model switched off with a reason.
* Every finding names the environment, the object, the JSON Pointer inside it and, through
  sourcemap.py and resolve.spec_location, the `file:line:col` of the spec field the value came from.

The objects checked are exactly those `kubectl kustomize overlays/<env>` prints (overlay.py computes
them in memory), plus the hand-written `base/platform` objects, built once with the real Kustomize.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlgitops.crdschema import SchemaSet, SchemaViolation, load_crd_schemas
from mlgitops.errors import Location, Problem, SpecError, did_you_mean
from mlgitops.jsonpointer import to_pointer
from mlgitops.kubeschema import KubeSchemas, load_kube_schemas
from mlgitops.loader import ModelFile, Workspace, unknown_environment
from mlgitops.modechange import base_modes
from mlgitops.overlay import PLATFORM_DIR, ModelRender, environment_objects, render_models
from mlgitops.patches import patched_op
from mlgitops.policies import (
    POLICY_IDS,
    Severity,
    Stage,
    Violation,
    check_objects,
    check_promotion,
    check_training_schedules,
    stage_of,
)
from mlgitops.references import available, check_references
from mlgitops.render import object_key
from mlgitops.resolve import resolve, spec_location
from mlgitops.schemadedup import SchemaMemo
from mlgitops.sourcemap import parse_pointer, spec_source
from mlgitops.spec import Model, Policies, Project
from mlgitops.textsafe import printable
from mlgitops.yamlio import JsonPath, unwritable

if TYPE_CHECKING:
    from mlgitops.findinggroups import FindingGroup

__all__ = [
    "PLATFORM",
    "Finding",
    "Report",
    "SchemaSources",
    "ValidateOptions",
    "Waived",
    "check_waivers",
    "format_github",
    "format_json",
    "format_text",
    "load_schema_sources",
    "spec_problem_annotations",
    "spec_problems_json",
    "validate_objects",
    "validate_workspace",
]

PLATFORM = PLATFORM_DIR
"""The `environment` of findings about hand-written base/platform objects (shared by every environment)."""
SCHEMA = "schema"
NO_SCHEMA = "no-schema"
UNWRITABLE = "unwritable-text"  # text render refuses to write (yamlio.unwritable_reason)
Obj = dict[str, Any]


@dataclass(frozen=True)
class Finding:
    """One problem with one rendered object (or, for `no-schema`, with one kind)."""

    severity: Severity
    check: str
    """A policy id, `schema` or `no-schema`."""
    environment: str
    api_version: str
    kind: str
    name: str
    path: str
    """JSON Pointer inside the object ("" for the whole object)."""
    message: str
    location: Location | None = None
    """The spec field (or hand-written file) the value came from."""

    @property
    def subject(self) -> str:
        """`env Kind/name /path` (the parts that apply)."""
        parts = [self.environment] if self.environment else []
        parts.append(f"{self.kind}/{self.name}" if self.name else f"{self.api_version} {self.kind}".strip())
        if self.path:
            parts.append(self.path)
        return " ".join(parts)

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"{self.severity} [{self.check}] {self.subject}: {self.message}{where}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity,
            "id": self.check,
            "environment": self.environment,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
            "message": self.message,
        }
        if self.location is not None:
            out["file"] = self.location.path
            if self.location.line:
                out["line"] = self.location.line
                out["column"] = self.location.column
        return out


@dataclass(frozen=True)
class Waived:
    """A policy finding switched off by a `policies.disabled` entry."""

    finding: Finding
    reason: str
    waiver: Location


@dataclass(frozen=True)
class ValidateOptions:
    crds: tuple[Path, ...] = ()
    """Directories of CustomResourceDefinition manifests."""
    kube_version: str | None = None
    """Kubernetes MAJOR.MINOR for built-in kinds; None: the newest kubernetes-validate ships."""
    strict: bool = False
    """Kinds without a schema and warnings are errors."""
    base: str | None = None
    """Git revision deployed now, for checks of changes (`serving-mode-change`); None: diff's merge-base."""
    compare_base: bool = True
    """Compare with the base revision at all (skipped quietly outside Git or without commits)."""


@dataclass
class Report:
    findings: list[Finding]
    waived: list[Waived]
    environments: list[str]
    models: int
    objects: int
    kube_version: str | None
    crd_files: int
    notes: list[str] = field(default_factory=list)
    """One-line remarks for stderr (e.g. kubernetes-validate is not installed)."""

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


# --- schemas ---------------------------------------------------------------------------------------


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


# --- locating findings ------------------------------------------------------------------------------

Locate = Callable[[Obj, JsonPath, "JsonPath | None"], "Location | None"]
"""(object, path inside it, spec path named by a policy) → where in the hand-written files."""


def _model_locator(
    workspace: Workspace, model: ModelFile, env: str, addon_templates: dict[tuple[str, str, str], str] | None = None
) -> Locate:
    resolved = resolve(workspace, model, env)
    spec = resolved.spec if resolved is not None else model.spec

    def locate(obj: Obj, path: JsonPath, spec_path: JsonPath | None) -> Location | None:
        addon = _addon_location(workspace, spec, addon_templates, obj, path)
        if addon is not None:
            return addon
        if spec_path is not None:
            return spec_location(workspace, model, env, spec_path)
        source = spec_source(obj, path, spec, workspace.project, env)
        if source.in_project:
            return workspace.project_doc.location(source.path)
        return spec_location(workspace, model, env, source.path)

    return locate


def _addon_location(
    workspace: Workspace, spec: Model, templates: dict[tuple[str, str, str], str] | None, obj: Obj, path: JsonPath
) -> Location | None:
    """An addon object's field in its template (jsonnet_positions.py), unless the model's `patches` set it."""
    template = (templates or {}).get(object_key(obj))
    if template is None or (spec.patches and patched_op(spec.patches, obj, path) is not None):
        return None
    from mlgitops.jsonnet_positions import object_location

    file = f"templates/{template}.jsonnet"
    return object_location(workspace.root, file, obj, path) or Location(file, 1, 1)


def _namespace_locator(workspace: Workspace, env: str) -> Locate:
    index = workspace.project.environment_names.index(env)

    def locate(obj: Obj, path: JsonPath, spec_path: JsonPath | None) -> Location | None:
        return workspace.project_doc.location(("environments", index, "namespace"))

    return locate


class _PlatformFiles:
    """Where each hand-written base/platform object is defined, for `file:line` in findings."""

    def __init__(self, root: Path) -> None:
        self._nodes: dict[tuple[str, str], tuple[str, yaml.Node]] = {}
        folder = root / PLATFORM_DIR
        for path in sorted(folder.rglob("*")):
            if path.suffix not in (".yaml", ".yml") or not path.is_file():
                continue
            relative = path.relative_to(root).as_posix()
            try:
                nodes = list(yaml.compose_all(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue  # kustomize reported anything that matters
            for node in nodes:
                kind, name = _child(node, "kind"), _child(_child(node, "metadata"), "name")
                if isinstance(kind, yaml.ScalarNode) and isinstance(name, yaml.ScalarNode):
                    self._nodes.setdefault((kind.value, name.value), (relative, node))

    def locate(self, obj: Obj, path: JsonPath, spec_path: JsonPath | None) -> Location | None:
        found = self._nodes.get((str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))))
        if found is None:
            return None
        relative, node = found
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node = child
        return Location(relative, node.start_mark.line + 1, node.start_mark.column + 1)


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                found: yaml.Node = value
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item: yaml.Node = node.value[part]
        return item
    return None


# --- checking ----------------------------------------------------------------------------------------


def _identity(obj: Obj) -> tuple[str, str, str]:
    metadata = obj.get("metadata")
    name = metadata.get("name", "") if isinstance(metadata, dict) else ""
    return str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(name)


def _finding(env: str, v: Violation, location: Location | None) -> Finding:
    api_version, kind, name = _identity(v.obj)
    policy, path = v.policy, to_pointer(v.path)
    return Finding(policy.severity, policy.id, env, api_version, kind, name, path, v.message, location)


@dataclass
class _Run:
    workspace: Workspace | None
    sources: SchemaSources
    strict: bool
    findings: list[Finding] = field(default_factory=list)
    waived: list[Waived] = field(default_factory=list)
    unchecked: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    objects: int = 0
    reported: set[tuple[Location | None, str]] = field(default_factory=set)

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
            found = _finding(env, v, locate(v.obj, v.path, v.spec_path))
            waiver = self._waiver(v.policy.id, env, model)
            if waiver is not None:
                self.waived.append(Waived(found, waiver[0], waiver[1]))
            else:
                self.findings.append(found)

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
    from mlgitops.flux import check_manual_environments

    check_manual_environments(workspace)


def _platform_objects(workspace: Workspace) -> list[Obj]:
    from mlgitops.kustomize import build
    from mlgitops.platform_tree import copy_platform
    from mlgitops.yamlio import load_plain

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
    project = workspace.project
    envs = project.environment_names
    renders = render_models(workspace)
    for item in renders:
        item.base = []  # the base (what base/models/ holds) is not checked here: only the environments
    kinds = {(o["apiVersion"], o["kind"]) for r in renders for objs in r.environments.values() for o in objs or []}
    for schemas in sources.crds:
        schemas.prefetch(kinds)
    by_name = {m.name: m for m in workspace.models}
    run = _Run(workspace, sources, options.strict)
    trained: dict[str, list[tuple[str, list[Obj]]]] = {}
    platform = _platform_objects(workspace)
    notes: list[str] = []
    base = base_modes(workspace, options.base, notes) if options.compare_base else None
    for env in envs:
        have = _available_references(workspace, env, renders, platform)
        stage = stage_of(project, env)
        namespace = environment_objects(workspace, env, [], with_namespace=True)
        run.schema(env, namespace, _namespace_locator(workspace, env))
        run.policies(env, check_objects(namespace, stage, project), _namespace_locator(workspace, env), None)
        for item in renders:
            if item.environments.get(env) is None:
                continue
            model = by_name[item.name]
            objects = environment_objects(workspace, env, [item], with_namespace=False)
            locate = _model_locator(workspace, model, env, item.addon_templates)
            resolved = resolve(workspace, model, env)
            spec = resolved.spec if resolved is not None else None
            run.schema(env, objects, locate)
            run.policies(env, check_objects(objects, stage, project, spec), locate, model)
            # only CronWorkflows count there (argo_checks.scheduled_environments); keeping every object of
            # every environment until the end would hold the whole render twice
            crons = [obj for obj in objects if obj.get("kind") == "CronWorkflow"]
            trained.setdefault(item.name, []).append((env, crons))
            run.policies(env, check_references(objects, have, project.environment(env).namespace), locate, model)
            if base is not None:
                mode_changes = base.violations(objects, item.name, env, project.environment(env).namespace, spec)
                run.policies(env, mode_changes, locate, model)
            if env == envs[-1] and len(envs) > 1 and spec is not None:
                run.policies(env, _promotion(workspace, model, objects, env), locate, model)
    for name, per_environment in trained.items():
        for env, violation in check_training_schedules(name, per_environment):
            run.policies(env, [violation], _model_locator(workspace, by_name[name], env), by_name[name])
    if platform:
        files = _PlatformFiles(workspace.root)
        run.schema(PLATFORM, platform, files.locate)
        platform_stage = Stage(PLATFORM, is_dev=False, is_prod=True)  # deployed to every environment
        run.policies(PLATFORM, check_objects(platform, platform_stage, project), files.locate, None)
    run.no_schema()
    if sources.kube is None:
        notes.append(
            "kubernetes-validate (a dependency of mlgitops) is not installed: built-in kinds have no schema"
        )
    return Report(
        findings=run.finish(),
        waived=run.waived,
        environments=envs,
        models=len(workspace.models),
        objects=run.objects,
        kube_version=sources.kube.version if sources.kube else None,
        crd_files=sources.crd_files,
        notes=notes,
    )


def _available_references(
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
    run = _Run(workspace=None, sources=sources, strict=False)

    def nowhere(obj: Obj, path: JsonPath, spec_path: JsonPath | None) -> Location | None:
        return None

    run.schema(environment, objects, nowhere)
    if project is not None:
        current = stage or Stage(environment, is_dev=False, is_prod=True)
        for v in check_objects(objects, current, project):
            run.findings.append(_finding(environment, v, None))
    run.no_schema()
    return run.findings


# --- output ------------------------------------------------------------------------------------------


def _summary(report: Report) -> str:
    schemas = []
    if report.kube_version:
        schemas.append(f"Kubernetes {report.kube_version}")
    schemas.append(f"{report.crd_files} CRD file(s)")
    envs = len(report.environments)
    counts = f"{report.models} model(s), {report.objects} object(s) in {envs} environment(s)"
    tail = f" ({', '.join(report.environments)}); schemas: {', '.join(schemas)}"
    if report.waived:
        tail += f"; {len(report.waived)} policy finding(s) waived"
    if report.errors:
        return f"invalid: {report.errors} error(s), {report.warnings} warning(s); {counts}{tail}"
    if report.warnings:
        return f"valid with {report.warnings} warning(s): {counts}{tail}"
    return f"valid: {counts}{tail}"


def format_text(report: Report) -> str:
    """One line per spec line (findingsgroups.py: one finding, or a group with a count), then a summary line."""
    from mlgitops.findinggroups import group_findings

    lines = "".join(f"{printable(str(g))}\n" for g in group_findings(report.findings))
    return lines + printable(_summary(report)) + "\n"


def format_json(report: Report) -> str:
    data = {
        "valid": report.errors == 0,
        "errors": report.errors,
        "warnings": report.warnings,
        "models": report.models,
        "objects": report.objects,
        "environments": report.environments,
        "kubernetesVersion": report.kube_version,
        "crdFiles": report.crd_files,
        # Every finding; "group" is its line in the text format (findings from one spec line share it).
        "findings": [{**f.as_dict(), "group": n} for f, n in zip(report.findings, _group_numbers(report), strict=True)],
        "waived": [{**w.finding.as_dict(), "reason": w.reason, "waivedAt": str(w.waiver)} for w in report.waived],
    }
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def _group_numbers(report: Report) -> list[int]:
    from mlgitops.findinggroups import group_numbers

    return group_numbers(report.findings)


def _without_location(group: FindingGroup) -> str:
    """A group's annotation text: the location is the annotation's own file/line."""
    text = group.summary()
    first = group.first
    if len(group.findings) == 1 and first.location:
        return text.removesuffix(f" ({first.location})")
    return text


def spec_problems_json(problems: list[Problem]) -> str:
    """Spec errors (the files could not even be loaded) in the `--format json` shape."""
    findings = []
    for p in problems:
        entry: dict[str, Any] = {"severity": "error", "id": "spec", "message": p.message}
        entry["file"] = p.location.path
        if p.location.line:
            entry.update(line=p.location.line, column=p.location.column)
        findings.append(entry)
    data = {"valid": False, "errors": len(findings), "warnings": 0, "findings": findings, "waived": []}
    return json.dumps(data, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _repo_prefix(root: Path) -> str:
    """The project root relative to its Git work tree (annotations name files from the repository root)."""
    current = root.resolve()
    for parent in (current, *current.parents):
        if (parent / ".git").exists():
            relative = current.relative_to(parent).as_posix()
            return "" if relative == "." else relative + "/"
    return ""


def _annotation(severity: str, title: str, message: str, location: Location | None, prefix: str) -> str:
    props = []
    if location is not None:
        props.append(f"file={_escape_property(prefix + location.path)}")
        if location.line:
            props.append(f"line={location.line}")
            props.append(f"col={location.column}")
    props.append(f"title={_escape_property(title)}")
    return f"::{severity} {','.join(props)}::{_escape_data(printable(message))}\n"


def format_github(report: Report, root: Path) -> str:
    """GitHub Actions workflow commands: one annotation per finding, then the summary as plain text."""
    prefix = _repo_prefix(root)
    from mlgitops.findinggroups import group_findings

    lines = [
        _annotation(g.first.severity, f"mlgitops {g.first.check}", _without_location(g), g.first.location, prefix)
        for g in group_findings(report.findings)
    ]
    return "".join(lines) + printable(_summary(report)) + "\n"


def spec_problem_annotations(problems: list[Problem], root: Path) -> Iterator[str]:
    """Spec errors as GitHub annotations."""
    prefix = _repo_prefix(root)
    for p in problems:
        yield _annotation("error", "mlgitops spec", p.message, p.location, prefix)
