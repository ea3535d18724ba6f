"""Flux wiring generated into `plugins/flux/`: one GitRepository and one Kustomization per environment.

Flux reconciles the committed `overlays/<env>/` directly, so what a pull request changes in Git is
exactly what Flux applies. The objects follow kustomize-controller v1 and source-controller v1:

* `GitRepository`: `url` must be `https://`, `http://` or `ssh://`. Git's scp-like form
  (`git@github.com:acme/ml-config.git`), which Argo CD accepts, is written as the equivalent
  `ssh://git@github.com/acme/ml-config.git` instead of being rejected, so one `repoURL` serves both.
  `revision` is a branch, a full ref (`refs/tags/v1`) or a commit SHA.
* `Kustomization`: `prune` and `wait` on, `sourceRef` with an explicit namespace, `targetNamespace`
  only when the overlay carries the Namespace object (Flux requires the namespace to exist or be part
  of the build), `dependsOn` the previous environment only when `flux.dependsOn` asks for it (it only
  works when every environment's Kustomization lives in the same cluster).
* No `postBuild` unless `flux.substitution` is on: kustomize-controller ≥ 1.9 fails on any unset
  `${VAR}` once `postBuild` is present, and Argo Workflows scripts are full of shell `${...}`. With
  substitution on, the renderer marks every Argo Workflows object with
  `kustomize.toolkit.fluxcd.io/substitute: disabled` (`render.common.workflow_annotations`).
"""

from __future__ import annotations

import re

from mlgitops.errors import SpecError
from mlgitops.loader import PROJECT_FILE, Workspace
from mlgitops.overlay import OVERLAYS_DIR, object_directory
from mlgitops.render.common import ENVIRONMENT_LABEL, MANAGED_BY, Obj

FLUX_DIR = "plugins/flux"
SOURCE_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"

_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:\s]+)@)?(?P<host>[^@/:\s]+):(?P<path>\S+)$")
_URL = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<rest>\S+)$")
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def git_url(repo_url: str) -> str:
    """The URL Flux accepts for `repo_url`; ValueError (with the reason) when Flux cannot fetch it.

    >>> git_url("git@github.com:acme/ml-config.git")
    'ssh://git@github.com/acme/ml-config.git'
    >>> git_url("https://github.com/acme/ml-config.git")
    'https://github.com/acme/ml-config.git'
    """
    if "://" in repo_url:
        match = _URL.match(repo_url)
        if not match:
            raise ValueError("not a valid URL")
        scheme = match["scheme"]
        authority, slash, path = match["rest"].partition("/")
        user, at, host_port = authority.rpartition("@")
        if scheme not in ("https", "http", "ssh"):
            raise ValueError(f"Flux fetches https://, http:// and ssh:// URLs, not {scheme}://")
        if host_port.startswith("["):  # an IPv6 address: [::1]:2222
            bracket = host_port.find("]") + 1
            host, port = host_port[:bracket], host_port[bracket:].removeprefix(":")
        else:
            host, _, port = host_port.partition(":")
        if not host:
            raise ValueError("the URL names no host")
        if port and not port.isdigit():
            raise ValueError(
                "in a URL the text after the host's ':' is a port; "
                f"did you mean {scheme}://{user}{at}{host}/{port}{slash}{path}?"
            )
        return repo_url
    scp = _SCP_LIKE.match(repo_url)
    if scp:
        user = f"{scp['user']}@" if scp["user"] else ""
        path = scp["path"] if scp["path"].startswith("/") else f"/{scp['path']}"
        return f"ssh://{user}{scp['host']}{path}"
    raise ValueError("use an https:// or ssh:// URL (or the scp-like git@host:path form)")


def git_ref(revision: str) -> dict[str, str] | None:
    """`spec.ref` for a revision: a commit SHA, a full ref name, or else a branch; None for HEAD."""
    if revision == "HEAD":
        return None
    if _COMMIT.match(revision):
        return {"commit": revision}
    if revision.startswith("refs/"):
        return {"name": revision}
    return {"branch": revision}


def _labels(workspace: Workspace) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": workspace.project.metadata.name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def git_repository(workspace: Workspace) -> Obj:
    project = workspace.project
    doc = workspace.project_doc
    try:
        url = git_url(project.repoURL)
    except ValueError as exc:
        raise SpecError.at(
            doc.location(("repoURL",)), f"repoURL {project.repoURL!r} cannot be fetched by Flux: {exc}"
        ) from None
    ref = git_ref(project.revision)
    if ref is None:
        raise SpecError.at(
            doc.location(("revision",)),
            "revision 'HEAD' has no meaning for a Flux GitRepository: name the branch (for example main)",
        )
    spec: Obj = {"interval": project.flux.interval, "url": url, "ref": ref}
    if project.flux.secretRef:
        spec["secretRef"] = {"name": project.flux.secretRef}
    return {
        "apiVersion": SOURCE_API,
        "kind": "GitRepository",
        "metadata": {
            "name": project.metadata.name,
            "namespace": project.flux.namespace,
            "labels": _labels(workspace),
        },
        "spec": spec,
    }


def kustomization_name(workspace: Workspace, env: str) -> str:
    return f"{workspace.project.metadata.name}-{env}"


def kustomizations(workspace: Workspace) -> list[Obj]:
    """One Flux Kustomization per environment, in the order the environments are declared."""
    project = workspace.project
    flux = project.flux
    source = {"kind": "GitRepository", "name": project.metadata.name, "namespace": flux.namespace}
    objects: list[Obj] = []
    previous: str | None = None
    for environment in project.environments:
        env = environment.name
        spec: Obj = {
            "interval": flux.interval,
            "retryInterval": flux.retryInterval,
            "timeout": flux.timeout,
            "sourceRef": dict(source),
            "path": f"./{OVERLAYS_DIR}/{env}",
            "prune": True,
            "wait": True,
        }
        if environment.createNamespace:
            spec["targetNamespace"] = environment.namespace
        if flux.dependsOn and previous is not None:
            spec["dependsOn"] = [{"name": kustomization_name(workspace, previous)}]
        if flux.substitution:
            spec["postBuild"] = {
                "substitute": {"MLGITOPS_ENVIRONMENT": env, "MLGITOPS_NAMESPACE": environment.namespace}
            }
        labels = _labels(workspace)
        labels[ENVIRONMENT_LABEL] = env
        objects.append(
            {
                "apiVersion": KUSTOMIZE_API,
                "kind": "Kustomization",
                "metadata": {
                    "name": kustomization_name(workspace, env),
                    "namespace": flux.namespace,
                    "labels": labels,
                },
                "spec": spec,
            }
        )
        previous = env
    return objects


def flux_objects(workspace: Workspace) -> list[Obj]:
    return [git_repository(workspace), *kustomizations(workspace)]


def flux_files(workspace: Workspace) -> dict[str, str]:
    """Generated files under plugins/flux/, by repository-relative path.

    One object per file, plus a `kustomization.yaml` listing them, so the whole directory can be
    applied at once (`kubectl apply -k plugins/flux`) or referenced from a Flux bootstrap path.
    """
    return object_directory(FLUX_DIR, flux_objects(workspace), PROJECT_FILE)
