"""ServiceAccounts, ConfigMaps and Secrets that rendered objects name, and whether each exists.

A pod whose ServiceAccount is missing is never created (the ServiceAccount admission plugin refuses
it); one whose Secret or ConfigMap volume or env source is missing stays in ContainerCreating. Both
pass every schema, so `validate` checks each reference against what the environment has: the
objects rendered there (models and base/platform), what `clusterFeatures.provides` declares, and
what Kubernetes creates in every namespace (the `default` ServiceAccount, the `kube-root-ca.crt`
ConfigMap), and what KServe creates for a rendered LLMInferenceService (its self-signed certificate
Secret, which the smoke Job of a TLS workload reads).

References followed: `serviceAccountName`, `imagePullSecrets`, `volumes` (secret, configMap,
projected), container `env[].valueFrom` and `envFrom` (not when `optional: true`), and for Argo
Workflows also the workflow's `serviceAccountName`, `executor.serviceAccountName` and its artifact
repository: `artifactRepositoryRef.configMap`, or, for a workflow without a ref that has an artifact
the repository must complete, the namespace's `artifact-repositories` ConfigMap (argo-workflows
`workflow/artifactrepositories/artifactrepositories.go`: the workflow namespace's ConfigMap first,
then the controller's configured default).

An artifact needs the repository when it has no complete location of its own: the controller gives a
template the repository as its archive location only when one of its artifacts lacks one, or it
archives logs (`workflow/controller/workflowpod.go`, `addArchiveLocation`; what makes a location
complete: each `HasLocation` in `pkg/apis/workflow/v1alpha1/workflow_types.go`). An input passed
`from` another task's output takes that output's location, so only outputs, inputs and task arguments
that name a location kind (a key-only `s3: {key}`, say) count. The finding points at that artifact,
so the source map blames the step's `outputs`, or the patch that wrote it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from mlgitops.checks.policies.catalog import MISSING_REFERENCE, Violation
from mlgitops.checks.policies.sites import PodSite, pod_sites
from mlgitops.language.project import ProvidedResources
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import LLM_CERTIFICATE_SUFFIX, Obj, child_name
from mlgitops.util.yamlio import JsonPath

SERVICE_ACCOUNT, CONFIG_MAP, SECRET = "ServiceAccount", "ConfigMap", "Secret"
PVC = "PersistentVolumeClaim"
REFERENCED_KINDS = (SERVICE_ACCOUNT, CONFIG_MAP, SECRET, PVC)
# Created by Kubernetes in every namespace (the ServiceAccount controller; the root CA publisher).
ALWAYS_PRESENT = {SERVICE_ACCOUNT: {"default"}, CONFIG_MAP: {"kube-root-ca.crt"}, SECRET: set(), PVC: set()}
DEFAULT_ARTIFACT_REPOSITORY = "artifact-repositories"
_WORKFLOW_KINDS = ("Workflow", "WorkflowTemplate", "CronWorkflow")


@dataclass(frozen=True)
class Reference:
    kind: str
    name: str
    path: JsonPath
    """Where inside the object; for an implicit reference, the object part that implies it."""
    implicit: bool = False


def available(objects: list[Obj], provides: ProvidedResources) -> dict[str, set[str]]:
    """Names of each referenced kind the environment has."""
    found = {kind: set(names) for kind, names in ALWAYS_PRESENT.items()}
    for obj in objects:
        kind = obj.get("kind")
        name = str((obj.get("metadata") or {}).get("name", ""))
        if kind in found and obj.get("apiVersion") == "v1":
            found[str(kind)].add(name)
        elif kind == "LLMInferenceService" and str(obj.get("apiVersion", "")).startswith("serving.kserve.io/"):
            found[SECRET].add(child_name(name, LLM_CERTIFICATE_SUFFIX))
    found[SERVICE_ACCOUNT].update(provides.serviceAccounts)
    found[CONFIG_MAP].update(provides.configMaps)
    found[SECRET].update(provides.secrets)
    found[PVC].update(provides.persistentVolumeClaims)
    return found


def _named(obj: Obj, path: JsonPath, key: str = "name") -> str | None:
    value = get_path(obj, (*path, key))
    return value if isinstance(value, str) and value else None


def _list(obj: Obj, path: JsonPath) -> Iterator[JsonPath]:
    items = get_path(obj, path)
    if isinstance(items, list):
        for index, item in enumerate(items):
            if isinstance(item, dict):
                yield (*path, index)


def _volume_sources(obj: Obj, volume: JsonPath) -> Iterator[Reference]:
    name = _named(obj, (*volume, "persistentVolumeClaim"), "claimName")
    if name:
        yield Reference(PVC, name, (*volume, "persistentVolumeClaim", "claimName"))
    name = _named(obj, (*volume, "secret"), "secretName")
    if name and get_path(obj, (*volume, "secret", "optional")) is not True:
        yield Reference(SECRET, name, (*volume, "secret", "secretName"))
    name = _named(obj, (*volume, "configMap"))
    if name and get_path(obj, (*volume, "configMap", "optional")) is not True:
        yield Reference(CONFIG_MAP, name, (*volume, "configMap", "name"))
    for source in _list(obj, (*volume, "projected", "sources")):
        for key, kind in (("secret", SECRET), ("configMap", CONFIG_MAP)):
            name = _named(obj, (*source, key))
            if name and get_path(obj, (*source, key, "optional")) is not True:
                yield Reference(kind, name, (*source, key, "name"))


def _pod_level(obj: Obj, pod: JsonPath) -> Iterator[Reference]:
    name = _named(obj, pod, "serviceAccountName")
    if name:
        yield Reference(SERVICE_ACCOUNT, name, (*pod, "serviceAccountName"))
    for secret in _list(obj, (*pod, "imagePullSecrets")):
        name = _named(obj, secret)
        if name:
            yield Reference(SECRET, name, (*secret, "name"))
    for volume in _list(obj, (*pod, "volumes")):
        yield from _volume_sources(obj, volume)


def _container(obj: Obj, container: JsonPath) -> Iterator[Reference]:
    for env in _list(obj, (*container, "env")):
        for key, kind in (("secretKeyRef", SECRET), ("configMapKeyRef", CONFIG_MAP)):
            source = (*env, "valueFrom", key)
            name = _named(obj, source)
            if name and get_path(obj, (*source, "optional")) is not True:
                yield Reference(kind, name, (*source, "name"))
    for env_from in _list(obj, (*container, "envFrom")):
        for key, kind in (("secretRef", SECRET), ("configMapRef", CONFIG_MAP)):
            name = _named(obj, (*env_from, key))
            if name and get_path(obj, (*env_from, key, "optional")) is not True:
                yield Reference(kind, name, (*env_from, key, "name"))


# argo-workflows v4.1 pkg/apis/workflow/v1alpha1/workflow_types.go, each location kind's `HasLocation`:
# the fields a complete location sets (raw needs none).
_COMPLETE_LOCATION = {
    "s3": ("endpoint", "bucket", "key"),
    "gcs": ("bucket", "key"),
    "oss": ("endpoint", "bucket", "key"),
    "azure": ("endpoint", "container", "blob"),
    "git": ("repo",),
    "http": ("url",),
    "hdfs": ("addresses",),
    "artifactory": ("url", "usernameSecret"),
    "raw": (),
    "plugin": ("name", "configuration", "key"),
}


def _location(obj: Obj, artifact: JsonPath) -> bool | None:
    """Whether the artifact names a complete location (None: it names no location kind at all)."""
    for kind, needed in _COMPLETE_LOCATION.items():
        source = get_path(obj, (*artifact, kind))
        if isinstance(source, dict):
            return all(source.get(field) for field in needed)
    return None


def _task_arguments(obj: Obj, template: JsonPath) -> Iterator[JsonPath]:
    """The artifact arguments of a DAG template's tasks and a steps template's steps."""
    for task in _list(obj, (*template, "dag", "tasks")):
        yield from _list(obj, (*task, "arguments", "artifacts"))
    groups = get_path(obj, (*template, "steps"))
    for g in range(len(groups)) if isinstance(groups, list) else ():
        for step in _list(obj, (*template, "steps", g)):
            yield from _list(obj, (*step, "arguments", "artifacts"))


def repository_user(obj: Obj, base: JsonPath) -> JsonPath | None:
    """The first part of the workflow at `base` that needs the artifact repository: an artifact without a
    complete location of its own (or archived logs), in a template without a complete archiveLocation."""
    if get_path(obj, (*base, "archiveLogs")) is True:
        return (*base, "archiveLogs")
    for template in _list(obj, (*base, "templates")):
        if _location(obj, (*template, "archiveLocation")):
            continue
        if get_path(obj, (*template, "archiveLocation", "archiveLogs")) is True:
            return (*template, "archiveLocation", "archiveLogs")
        for artifact in _list(obj, (*template, "outputs", "artifacts")):
            if not _location(obj, artifact):
                return artifact
        for artifact in (*_list(obj, (*template, "inputs", "artifacts")), *_task_arguments(obj, template)):
            if _location(obj, artifact) is False:
                return artifact
    return None


def _workflow_level(obj: Obj) -> Iterator[Reference]:
    base: JsonPath = ("spec", "workflowSpec") if obj.get("kind") == "CronWorkflow" else ("spec",)
    if not isinstance(get_path(obj, base), dict):
        return
    yield from _pod_level(obj, base)
    name = _named(obj, (*base, "executor"), "serviceAccountName")
    if name:
        yield Reference(SERVICE_ACCOUNT, name, (*base, "executor", "serviceAccountName"))
    ref = get_path(obj, (*base, "artifactRepositoryRef"))
    if isinstance(ref, dict):
        path: JsonPath = (*base, "artifactRepositoryRef")
        if ref.get("configMap"):
            path = (*path, "configMap")
        yield Reference(CONFIG_MAP, str(ref.get("configMap") or DEFAULT_ARTIFACT_REPOSITORY), path)
    else:
        user = repository_user(obj, base)
        if user is not None:
            yield Reference(CONFIG_MAP, DEFAULT_ARTIFACT_REPOSITORY, user, implicit=True)


def references(obj: Obj, sites: list[PodSite] | None = None) -> list[Reference]:
    """Every ServiceAccount, ConfigMap, Secret and PersistentVolumeClaim reference in one rendered object
    (`sites`: its `pod_sites`, when the caller has them)."""
    found: list[Reference] = []
    if obj.get("kind") in _WORKFLOW_KINDS:
        found.extend(_workflow_level(obj))
    for site in pod_sites(obj) if sites is None else sites:
        found.extend(_pod_level(obj, site.path))
        for container in (*site.containers, *site.init_containers):
            found.extend(_container(obj, container))
    return found


def _message(ref: Reference, namespace: str) -> str:
    provides = {
        SERVICE_ACCOUNT: "serviceAccounts",
        CONFIG_MAP: "configMaps",
        SECRET: "secrets",
        PVC: "persistentVolumeClaims",
    }[ref.kind]
    what = f"{ref.kind} {ref.name!r}"
    if ref.implicit:
        what += (
            " (Argo Workflows reads the default artifact repository from it, else from its controller's "
            "configuration, for an artifact without a complete location of its own, like this one)"
        )
    return (
        f"{what} does not exist in {namespace}: it is neither rendered (models, base/platform) nor declared in "
        f"clusterFeatures.provides.{provides} of mlgitops.yaml; add it to base/platform/, or declare it there if "
        "the cluster provides it"
    )


def check_references(objects: list[Obj], have: dict[str, set[str]], namespace: str) -> list[Violation]:
    """A violation for each reference to an object the environment does not have."""
    return [violation for _ref, violation in missing_references(objects, have, namespace)]


def missing_references(
    objects: list[Obj], have: dict[str, set[str]], namespace: str, sites_of: list[list[PodSite]] | None = None
) -> list[tuple[Reference, Violation]]:
    """`check_references`, each violation with the reference it is about (`sites_of`: as for `references`)."""
    found: list[tuple[Reference, Violation]] = []
    for index, obj in enumerate(objects):
        for ref in references(obj, None if sites_of is None else sites_of[index]):
            if ref.name not in have[ref.kind]:
                # An implicit reference points at the artifact that needs the repository: the source map
                # finds the step that outputs it, or the patch that wrote it.
                found.append((ref, Violation(MISSING_REFERENCE, obj, ref.path, _message(ref, namespace))))
    return found
