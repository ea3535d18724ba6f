"""Flux wiring generated into `plugins/flux/<cluster>/`: per cluster, the GitRepository its
environments read and one Kustomization per environment.

Flux applies a Kustomization to the cluster its kustomize-controller runs in (no `kubeConfig` is set),
so each cluster gets its own directory, applied there and only there: `plugins/flux/<cluster>/` holds
the environments whose `cluster` (or `clusterName`) names it. The directory is `clusterName`, the
`cluster` URL's host made into a name, or `in-cluster` for `https://kubernetes.default.svc` and for
environments that name no cluster (Argo CD's name for the cluster it runs in, its default destination).

Flux reconciles the committed `overlays/<env>/` directly, so what a pull request changes in Git is
exactly what Flux applies. The objects follow kustomize-controller v1 and source-controller v1:

* `GitRepository`: `url` must be `https://`, `http://` or `ssh://`. Git's scp-like form
  (`git@github.com:acme/ml-config.git`), which Argo CD accepts, is written as the equivalent
  `ssh://git@github.com/acme/ml-config.git` instead of being rejected, so one `repoURL` serves both.
  `revision` is a branch, a full ref (`refs/tags/v1`) or a commit SHA.
* `Kustomization`: `prune` and `wait` on, `serviceAccountName` (the environment's ServiceAccount, whose
  RBAC admits what the Argo CD AppProject admits: flux_rbac.py), `sourceRef` with an explicit namespace,
  `targetNamespace` only when the overlay carries the Namespace object (Flux requires the namespace to exist or be part
  of the build), `dependsOn` the previous environment only when `flux.dependsOn` asks for it (it only
  works when every environment's Kustomization lives in the same cluster).
* `syncPolicy: manual` environments never deploy on merge. With `flux.semver` (a tag range) or
  `flux.revision` (another branch, a ref or a commit) they get their own GitRepository, so a tag or a
  push to that branch deploys them and Flux keeps correcting drift at the reviewed revision; without
  either their Kustomization is `suspend: true` and `flux resume` deploys it.
* `timeout` (build, apply and health checks) per environment: `health_timeout`.
* No `postBuild` unless `flux.substitution` is on: kustomize-controller ≥ 1.9 fails on any unset
  `${VAR}` once `postBuild` is present, and Argo Workflows scripts are full of shell `${...}`. With
  substitution on, the renderer marks every Argo Workflows object with
  `kustomize.toolkit.fluxcd.io/substitute: disabled` (`render.common.workflow_annotations`).
"""

from __future__ import annotations

import re

from mlgitops.gitops.deployunits import DeployUnit
from mlgitops.gitops.flux_rbac import rbac_objects, service_account_name
from mlgitops.language.loader import Workspace
from mlgitops.language.project import Environment
from mlgitops.layout.overlay import object_directory
from mlgitops.render.pipeline import ModelRender
from mlgitops.util.errors import SpecError
from mlgitops.util.kubenames import ENVIRONMENT_LABEL, MANAGED_BY, Obj
from mlgitops.util.paths import PROJECT_FILE
from mlgitops.util.yamlio import JsonPath

FLUX_DIR = "plugins/flux"
IN_CLUSTER = "in-cluster"
_IN_CLUSTER_URL = "https://kubernetes.default.svc"
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


def _ref(workspace: Workspace, revision: str, where: JsonPath) -> dict[str, str]:
    ref = git_ref(revision)
    if ref is None:
        raise SpecError.at(
            workspace.project_doc.location(where),
            "revision 'HEAD' has no meaning for a Flux GitRepository: name the branch (for example main)",
        )
    return ref


def git_repository(workspace: Workspace, environment: Environment | None = None) -> Obj:
    """The project's GitRepository, or (given an environment with its own revision) that environment's."""
    project = workspace.project
    doc = workspace.project_doc
    try:
        url = git_url(project.repoURL)
    except ValueError as exc:
        raise SpecError.at(
            doc.location(("repoURL",)), f"repoURL {project.repoURL!r} cannot be fetched by Flux: {exc}"
        ) from None
    name = project.metadata.name
    ref = _ref(workspace, project.revision, ("revision",))
    labels = _labels(workspace)
    if environment is not None and environment.flux is not None:
        index = project.environment_names.index(environment.name)
        name = source_name(workspace, environment)
        labels[ENVIRONMENT_LABEL] = environment.name
        if environment.flux.semver:
            ref = {"semver": environment.flux.semver}
        elif environment.flux.revision:
            ref = _ref(workspace, environment.flux.revision, ("environments", index, "flux", "revision"))
    spec: Obj = {"interval": project.flux.interval, "url": url, "ref": ref}
    if project.flux.secretRef:
        spec["secretRef"] = {"name": project.flux.secretRef}
    return {
        "apiVersion": SOURCE_API,
        "kind": "GitRepository",
        "metadata": {"name": name, "namespace": project.flux.namespace, "labels": labels},
        "spec": spec,
    }


def own_source(environment: Environment) -> bool:
    """Whether the environment follows its own revision (branch, ref, commit or tag range)."""
    return environment.flux is not None and bool(environment.flux.revision or environment.flux.semver)


def source_name(workspace: Workspace, environment: Environment) -> str:
    name = workspace.project.metadata.name
    return f"{name}-{environment.name}" if own_source(environment) else name


def check_manual_environments(workspace: Workspace) -> None:
    """A manual environment must not follow the revision every merge lands on."""
    project = workspace.project
    for index, environment in enumerate(project.environments):
        flux = environment.flux
        if environment.syncPolicy != "manual" or flux is None or not flux.revision:
            continue
        if flux.revision == project.revision:
            raise SpecError.at(
                workspace.project_doc.location(("environments", index, "flux", "revision")),
                f"environment {environment.name!r} has syncPolicy: manual but follows {project.revision!r}, the "
                "revision every merge lands on, so Flux would deploy each merge; name another branch, or a tag "
                "range with flux.semver (for example '>=1.0.0')",
            )


GPU_TIMEOUT = "30m"
DEFAULT_TIMEOUT = "10m"


def serves_gpu_model(renders: list[ModelRender], env: str) -> bool:
    """Whether any model enabled in `env` serves on GPUs there (each render knows where it does)."""
    return any(env in item.gpu_environments for item in renders)


def health_timeout(workspace: Workspace, environment: Environment, renders: list[ModelRender]) -> str:
    """How long Flux waits for the environment to become ready.

    `environments[].flux.timeout`, else the project's `flux.timeout`, else 30m where a model serves
    on GPUs (a GPU node scaling up, the NVIDIA driver and device plugin starting on it, a
    multi-gigabyte server image and the model download all happen before the predictor is Ready)
    and 10m elsewhere (Kubernetes' own Deployment progress deadline is 600 s).
    """
    if environment.flux is not None and environment.flux.timeout:
        return environment.flux.timeout
    if workspace.project.flux.timeout:
        return workspace.project.flux.timeout
    return GPU_TIMEOUT if serves_gpu_model(renders, environment.name) else DEFAULT_TIMEOUT


def kustomization_name(workspace: Workspace, env: str) -> str:
    return f"{workspace.project.metadata.name}-{env}"


def kustomizations(workspace: Workspace, renders: list[ModelRender] | None = None) -> list[Obj]:
    """The Flux Kustomizations, environments in declared order: one per environment, or one per
    deployment unit (`deployment.per`, deployunits.py) with the models' units depending on the
    environment's shared one (its Namespace and base/platform)."""
    from mlgitops.gitops.deployunits import all_units

    project = workspace.project
    flux = project.flux
    source = {"kind": "GitRepository", "name": project.metadata.name, "namespace": flux.namespace}
    if renders is None:
        from mlgitops.render.pipeline import render_models

        renders = render_models(workspace)
    objects: list[Obj] = []
    previous_in: dict[str, str] = {}  # per cluster: the previous environment's first unit
    for env, env_units in _units_by_environment(all_units(workspace, renders)).items():
        environment = project.environment(env)
        previous = previous_in.get(_cluster_identity(environment))
        first = env_units[0].name(project.metadata.name) if env_units else None
        for unit in env_units:
            spec: Obj = {
                "interval": flux.interval,
                "retryInterval": flux.retryInterval,
                "timeout": health_timeout(workspace, environment, renders),
                "sourceRef": {**source, "name": source_name(workspace, environment)},
                "path": f"./{unit.path}",
                "prune": True,
                "wait": True,
                # applied with the rights of the environment's ServiceAccount, not the controller's (flux_rbac.py)
                "serviceAccountName": service_account_name(workspace, env),
            }
            if environment.syncPolicy == "manual" and not own_source(environment):
                # Nothing but a person deploys it: `flux resume kustomization <name>` applies the current
                # revision (see docs/flux.md). Prefer flux.semver: a tag, not a merge, deploys it.
                spec["suspend"] = True
            if environment.createNamespace and (unit.shared or not unit.suffix):
                spec["targetNamespace"] = environment.namespace
            depends: list[Obj] = []
            if unit.suffix and not unit.shared and env_units[0].shared and first is not None:
                depends.append({"name": first})  # the Namespace and platform objects first
            if flux.dependsOn and previous is not None and (unit.shared or not unit.suffix):
                depends.append({"name": previous})
            if depends:
                spec["dependsOn"] = depends
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
                        "name": unit.name(project.metadata.name),
                        "namespace": flux.namespace,
                        "labels": labels,
                    },
                    "spec": spec,
                }
            )
        if first is not None and (env_units[0].shared or not env_units[0].suffix):
            previous_in[_cluster_identity(environment)] = first
    return objects


def cluster_directory(environment: Environment) -> str:
    """The name of the directory under plugins/flux/ for the environment's cluster."""
    from mlgitops.util.kubenames import dns_safe

    if environment.clusterName:
        return dns_safe(environment.clusterName)[:63].strip("-") or IN_CLUSTER
    url = str(environment.cluster) if environment.cluster else _IN_CLUSTER_URL
    if url.rstrip("/") == _IN_CLUSTER_URL:
        return IN_CLUSTER
    host = url.partition("://")[2].partition("/")[0]
    return dns_safe(host)[:63].strip("-") or IN_CLUSTER


def _cluster_identity(environment: Environment) -> str:
    if environment.clusterName:
        return f"name:{environment.clusterName}"
    return f"url:{str(environment.cluster or _IN_CLUSTER_URL).rstrip('/')}"


def cluster_groups(workspace: Workspace) -> dict[str, list[Environment]]:
    """Environments by their cluster's directory, in declaration order (distinct clusters whose names
    would coincide get `-2`, `-3`, ... in declaration order)."""
    directory_of: dict[str, str] = {}
    groups: dict[str, list[Environment]] = {}
    for environment in workspace.project.environments:
        identity = _cluster_identity(environment)
        if identity not in directory_of:
            base = cluster_directory(environment)
            name, number = base, 1
            while name in groups:
                number += 1
                name = f"{base}-{number}"
            directory_of[identity] = name
            groups[name] = []
        groups[directory_of[identity]].append(environment)
    return groups


def _units_by_environment(found: list[DeployUnit]) -> dict[str, list[DeployUnit]]:
    by_env: dict[str, list[DeployUnit]] = {}
    for unit in found:
        by_env.setdefault(unit.env, []).append(unit)
    return by_env


def flux_objects(workspace: Workspace, renders: list[ModelRender] | None = None) -> list[Obj]:
    """The project's GitRepository, one per environment with its own revision, then the Kustomizations."""
    check_manual_environments(workspace)
    sources = [git_repository(workspace)]
    sources += [git_repository(workspace, env) for env in workspace.project.environments if own_source(env)]
    return [*sources, *kustomizations(workspace, renders)]


def _cluster_objects(workspace: Workspace, environments: list[Environment], all_objects: list[Obj]) -> list[Obj]:
    """The objects one cluster's directory holds: its Kustomizations and the GitRepositories they read."""
    envs = {environment.name for environment in environments}
    mine = [
        obj
        for obj in all_objects
        if obj["kind"] == "Kustomization" and obj["metadata"]["labels"][ENVIRONMENT_LABEL] in envs
    ]
    sources = {obj["spec"]["sourceRef"]["name"] for obj in mine}
    repos = [obj for obj in all_objects if obj["kind"] == "GitRepository" and obj["metadata"]["name"] in sources]
    return [*repos, *mine]


def _where_to_apply(directory: str, environments: list[Environment]) -> str:
    envs = ", ".join(environment.name for environment in environments)
    first = environments[0]
    if directory == IN_CLUSTER and not first.clusterName:
        cluster = f"the cluster at {_IN_CLUSTER_URL} (the one Argo CD or Flux runs in)"
    elif first.clusterName:
        cluster = f"cluster {first.clusterName!r}"
    else:
        cluster = f"the cluster at {first.cluster}"
    return (
        f"# Flux for {cluster}: environments {envs}.\n"
        f"# Apply this directory to that cluster only: kubectl apply -k {FLUX_DIR}/{directory}\n"
        "# (or add it to that cluster's Flux bootstrap path).\n"
    )


def flux_files(workspace: Workspace, renders: list[ModelRender] | None = None) -> dict[str, str]:
    """Generated files under plugins/flux/<cluster>/, by repository-relative path.

    Per cluster, one object per file plus a `kustomization.yaml` listing them, so the directory can be
    applied to its cluster at once (`kubectl apply -k plugins/flux/<cluster>`) or referenced from that
    cluster's Flux bootstrap path. Each file says, after its generated header, where it applies.
    """
    from mlgitops.util.yamlio import GENERATED_MARK

    if renders is None:
        from mlgitops.render.pipeline import render_models

        renders = render_models(workspace)
    objects = flux_objects(workspace, renders)
    files: dict[str, str] = {}
    for directory, environments in cluster_groups(workspace).items():
        note = _where_to_apply(directory, environments)
        rbac = rbac_objects(workspace, environments, renders)
        folder = object_directory(
            f"{FLUX_DIR}/{directory}", [*rbac, *_cluster_objects(workspace, environments, objects)], PROJECT_FILE
        )
        for path, text in folder.items():
            header, _, body = text.partition("\n")
            assert header.startswith(GENERATED_MARK)
            files[path] = f"{header}\n{note}{body}"
    return files
