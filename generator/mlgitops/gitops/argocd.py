"""Argo CD wiring generated into `plugins/argocd/`.

* `plugin.yaml`: the config management plugin (`mlgitops`, version `v1`, so Applications name it
  `mlgitops-v1`). It has no `discover`: it is never picked for an Application that does not name it,
  and it never takes over plain Kustomize Applications. Commands are argv lists (no shell) that
  `argocd-cmp-server` resolves on the sidecar's PATH. The file does not depend on the project, so
  one sidecar serves every repository that uses mlgitops.
* `sidecar/`: a Kustomize Component for the Argo CD installation: the ConfigMap holding
  plugin.yaml and a strategic-merge patch adding the plugin container to `argocd-repo-server`
  (uid 999, `HOME=/tmp`, read-only root file system, the `var-files` and `plugins` mounts of the
  stock Deployment, plugin.yaml as a ConfigMap `subPath`, and a private emptyDir at `/tmp`).
* The project's `AppProject` (sources: the repository; destinations: the environments; resources:
  exactly the kinds the project renders and base/platform declares, and only the environments' own
  Namespaces; see `resource_whitelists`) and either one `Application` per environment or one `ApplicationSet`,
  with a `kustomization.yaml` listing them (`kubectl apply -k plugins/argocd`, or an app of apps).
  `argocd.mode: plugin` renders at sync time through the plugin; `rendered` points each Application
  at the committed `overlays/<env>` as plain Kustomize. Environments with `syncPolicy: manual` get no
  automated sync.

No public sidecar image exists, so plugin mode requires `argocd.image` (a fully qualified reference
to an image built from the Dockerfile); rendered mode needs no sidecar and writes none without it.
"""

from __future__ import annotations

import hashlib
import json

from mlgitops import __version__
from mlgitops.gitops.deployunits import DeployUnit
from mlgitops.language.fields import DEFAULT_CLUSTER
from mlgitops.language.loader import Workspace
from mlgitops.language.project import Environment
from mlgitops.layout.overlay import declared_cluster_kinds, is_cluster_object, object_directory
from mlgitops.layout.platformfiles import platform_objects
from mlgitops.render.pipeline import ModelRender, render_models
from mlgitops.util.errors import SpecError
from mlgitops.util.kubenames import ENVIRONMENT_LABEL, MANAGED_BY, Obj
from mlgitops.util.paths import (
    BASE_GRAPHS_DIR,
    BASE_MODELS_DIR,
    GRAPHS_DIR,
    KUSTOMIZATION,
    MODEL_SUFFIX,
    MODELS_DIR,
    OVERLAY_GRAPHS,
    OVERLAYS_DIR,
    PLATFORM_DIR,
    PROJECT_FILE,
    TEMPLATES_DIR,
)
from mlgitops.util.yamlio import dump, generated_header

ARGOCD_DIR = "plugins/argocd"
SIDECAR_DIR = f"{ARGOCD_DIR}/sidecar"
ARGO_API = "argoproj.io/v1alpha1"

PLUGIN_NAME = "mlgitops"
PLUGIN_VERSION = "v1"
PLUGIN_FULL_NAME = f"{PLUGIN_NAME}-{PLUGIN_VERSION}"  # what Applications put in plugin.name
GENERATE_COMMAND = ("mlgitops", "cmp", "generate")
PARAMETERS_COMMAND = ("mlgitops", "cmp", "parameters")
PLUGIN_COMMANDS = (GENERATE_COMMAND, PARAMETERS_COMMAND)

REPO_SERVER = "argocd-repo-server"
SIDECAR_CONTAINER = "mlgitops-cmp"
PLUGIN_CONFIGMAP = "mlgitops-cmp-plugin"
TMP_VOLUME = "mlgitops-cmp-tmp"
PLUGIN_CONFIG_PATH = "/home/argocd/cmp-server/config/plugin.yaml"
CMP_SERVER = "/var/run/argocd/argocd-cmp-server"
WARM_SOCKET = "/tmp/mlgitops-cmp/generate.sock"  # in the sidecar's own /tmp emptyDir
PLUGIN_CHECKSUM_ANNOTATION = "mlgitops.io/cmp-plugin-sha256"
RUN_AS_USER = 999

# What the plugin reads from the repository, as manifest-generate-paths: the renderer's inputs, and the
# committed generated tree it checks against its render (cmp.verify_committed_files), so a commit
# that edits only overlays/ is checked too instead of reusing the cached render.
PLUGIN_INPUTS = (
    f"/{PROJECT_FILE}",
    f"/{MODELS_DIR}",
    f"/{PLATFORM_DIR}",
    f"/{TEMPLATES_DIR}",
    f"/{BASE_MODELS_DIR}",
    f"/{OVERLAYS_DIR}",
)
# With inference graphs (graphs/), their specs and bases are inputs too (the commit that adds the first
# graph also changes overlays/, so Argo CD regenerates it).
GRAPH_INPUTS = (f"/{GRAPHS_DIR}", f"/{BASE_GRAPHS_DIR}")
GENERATE_PATHS_ANNOTATION = "argocd.argoproj.io/manifest-generate-paths"


def sidecar_image(workspace: Workspace) -> str | None:
    """`argocd.image`; required in plugin mode (no public image exists to default to).

    None in rendered mode without an image: Argo CD then needs no sidecar, and none is written.
    """
    project = workspace.project
    if project.argocd.image:
        return project.argocd.image
    if project.argocd.mode == "rendered":
        return None
    doc = workspace.project_doc
    where = doc.location(("argocd", "mode")) if isinstance(doc.data.get("argocd"), dict) else doc.location(())
    raise SpecError.at(
        where,
        "argocd.mode is plugin but argocd.image is not set: build the sidecar image "
        f"(mlgitops sidecar dockerfile | docker build -t REGISTRY/mlgitops-cmp:{__version__} -), push it, "
        "and set argocd.image to that "
        "fully qualified reference; or use argocd.mode: rendered",
    )


# --- the plugin and its sidecar (the same for every project) ------------------------------------


def plugin_config() -> Obj:
    """plugin.yaml as data."""
    return {
        "apiVersion": ARGO_API,
        "kind": "ConfigManagementPlugin",
        "metadata": {"name": PLUGIN_NAME},
        "spec": {
            "version": PLUGIN_VERSION,
            "generate": {"command": list(GENERATE_COMMAND)},
            "parameters": {
                "static": [
                    {
                        "name": "extra-labels",
                        "title": "Extra labels",
                        "tooltip": "Labels added to every rendered object (not mlgitops' own labels)",
                        "required": False,
                        "collectionType": "map",
                    }
                ],
                "dynamic": {"command": list(PARAMETERS_COMMAND)},
            },
            "preserveFileMode": False,
            "provideGitCreds": False,
        },
    }


def plugin_yaml() -> str:
    return generated_header("the mlgitops package") + dump(plugin_config())


def _sidecar_labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": SIDECAR_CONTAINER, "app.kubernetes.io/part-of": "argocd"}


def plugin_configmap() -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": PLUGIN_CONFIGMAP, "labels": _sidecar_labels()},
        "data": {"plugin.yaml": plugin_yaml()},
    }


def repo_server_patch(image: str) -> Obj:
    """Strategic-merge patch adding the plugin sidecar to the stock argocd-repo-server Deployment."""
    checksum = hashlib.sha256(plugin_yaml().encode("utf-8")).hexdigest()
    container: Obj = {
        "name": SIDECAR_CONTAINER,
        "image": image,
        # the warm server (cli/warm.py) in the background, then argocd-cmp-server in its place
        "command": ["mlgitops", "cmp", "serve", "--then", CMP_SERVER],
        "env": [
            {"name": "HOME", "value": "/tmp"},
            {"name": "TMPDIR", "value": "/tmp"},
            {"name": "MLGITOPS_CMP_SERVER", "value": WARM_SOCKET},
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "var-files", "mountPath": "/var/run/argocd"},
            {"name": "plugins", "mountPath": "/home/argocd/cmp-server/plugins"},
            {"name": PLUGIN_CONFIGMAP, "mountPath": PLUGIN_CONFIG_PATH, "subPath": "plugin.yaml"},
            {"name": TMP_VOLUME, "mountPath": "/tmp"},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": REPO_SERVER},
        "spec": {
            "template": {
                # plugin.yaml is read once at start: a new checksum rolls the pods.
                "metadata": {"annotations": {PLUGIN_CHECKSUM_ANNOTATION: checksum}},
                "spec": {
                    "containers": [container],
                    "volumes": [
                        {"name": PLUGIN_CONFIGMAP, "configMap": {"name": PLUGIN_CONFIGMAP}},
                        {"name": TMP_VOLUME, "emptyDir": {}},
                    ],
                },
            }
        },
    }


def sidecar_files(image: str) -> dict[str, str]:
    header = generated_header(PROJECT_FILE)
    component = {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "resources": ["plugin-configmap.yaml"],
        "patches": [{"path": "repo-server-patch.yaml", "target": {"kind": "Deployment", "name": REPO_SERVER}}],
    }
    return {
        f"{SIDECAR_DIR}/{KUSTOMIZATION}": header + dump(component),
        f"{SIDECAR_DIR}/plugin-configmap.yaml": header + dump(plugin_configmap()),
        f"{SIDECAR_DIR}/repo-server-patch.yaml": header + dump(repo_server_patch(image)),
    }


# --- the project's AppProject and Applications ---------------------------------------------------


def _labels(workspace: Workspace) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": workspace.project.metadata.name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def destination(environment: Environment) -> Obj:
    if environment.clusterName:
        return {"name": environment.clusterName, "namespace": environment.namespace}
    return {"server": environment.cluster or DEFAULT_CLUSTER, "namespace": environment.namespace}


def resource_whitelists(workspace: Workspace, renders: list[ModelRender]) -> tuple[list[Obj], list[Obj]]:
    """(namespaceResourceWhitelist, clusterResourceWhitelist) for exactly what the project deploys.

    Argo CD (pkg/apis/application/v1alpha1/app_project_types.go, `IsGroupKindNamePermitted`, at
    37ee0097): a nil namespaceResourceWhitelist admits every namespaced kind, and a cluster kind is
    admitted only by a clusterResourceWhitelist entry whose group and kind match and whose `name`
    (a filepath.Match glob; types.go `isNamedResourceInList`) matches, or is empty. So every kind the
    project renders in any environment, plus what base/platform declares, is listed, and cluster
    entries carry the object's name: the environments' own Namespaces, and the cluster-scoped objects
    of base/platform and of templates (those `addons.clusterScoped` allows), nothing else.
    """
    namespaced: set[tuple[str, str]] = set()
    cluster: set[tuple[str, str, str]] = set()
    declared = declared_cluster_kinds(workspace)
    for item in renders:
        for objects in (item.base, *item.environments.values()):
            for obj in objects or []:
                group = obj["apiVersion"].rpartition("/")[0]
                if is_cluster_object(obj, declared):  # a template's, allowed or declared by addons.clusterScoped
                    cluster.add((group, obj["kind"], obj["metadata"]["name"]))
                else:
                    namespaced.add((group, obj["kind"]))
    for platform in platform_objects(workspace.root):
        if platform.kind == "Namespace" and platform.group == "":
            raise SpecError.at(
                platform.location,
                "no Namespace objects in base/platform: every overlay's `namespace:` renames them to its own "
                "namespace; mlgitops writes overlays/<env>/namespace.yaml (environments[].createNamespace)",
            )
        if platform.cluster_scoped or (platform.group, platform.kind) in declared:
            cluster.add((platform.group, platform.kind, platform.name))
        else:
            namespaced.add((platform.group, platform.kind))
    for environment in workspace.project.environments:
        if environment.createNamespace:
            cluster.add(("", "Namespace", environment.namespace))
    return (
        [{"group": group, "kind": kind} for group, kind in sorted(namespaced)],
        [{"group": group, "kind": kind, "name": name} for group, kind, name in sorted(cluster)],
    )


def app_project(workspace: Workspace, renders: list[ModelRender] | None = None) -> Obj:
    project = workspace.project
    destinations: list[Obj] = []
    for environment in project.environments:
        item = destination(environment)
        if item not in destinations:
            destinations.append(item)
    namespaced, cluster = resource_whitelists(workspace, render_models(workspace) if renders is None else renders)
    spec: Obj = {
        "description": f"Models of {project.metadata.name}, rendered by mlgitops",
        "sourceRepos": [project.repoURL],
        "destinations": destinations,
        # An empty list (not a missing field) admits no cluster-scoped object at all.
        "clusterResourceWhitelist": cluster,
        "namespaceResourceWhitelist": namespaced,
    }
    return {
        "apiVersion": ARGO_API,
        "kind": "AppProject",
        "metadata": {
            "name": project.metadata.name,
            "namespace": project.argocd.namespace,
            "labels": _labels(workspace),
        },
        "spec": spec,
    }


def application_name(workspace: Workspace, env: str) -> str:
    return f"{workspace.project.metadata.name}-{env}"


def _source(workspace: Workspace, env: str, unit: DeployUnit | None = None) -> Obj:
    """Plugin mode renders the environment or, per model, one model (the plugin's `model` parameter);
    the shared unit (Namespace, base/platform) and rendered mode build the committed directory."""
    project = workspace.project
    source: Obj = {"repoURL": project.repoURL, "targetRevision": project.revision}
    if project.argocd.mode == "plugin" and (unit is None or not unit.shared):
        source["path"] = "."
        parameters: list[Obj] = [{"name": "environment", "string": env}]
        if unit is not None and unit.model is not None:
            parameters.append({"name": "model", "string": unit.model})
        source["plugin"] = {"name": PLUGIN_FULL_NAME, "parameters": parameters}
    else:
        source["path"] = unit.path if unit is not None else f"{OVERLAYS_DIR}/{env}"
    return source


def model_generate_paths(workspace: Workspace, env: str, model: str) -> list[str]:
    """What the Application of one model in `env` reads (`deployment.per: model`), nothing more, so a
    commit to one model regenerates that model's Applications only.

    Plugin mode: the plugin renders from `mlgitops.yaml`, the model's spec and `templates/` (every
    template applies to every model; listed before the first one exists, so the commit adding it
    regenerates too), then checks the committed tree it would deploy (cmp.verify_committed_files): the
    model's base and overlay directories and its entries in the environment's `kustomization.yaml`,
    listed as a file because the rest of `overlays/<env>/` belongs to the other models. A one-model
    render reads neither `base/platform/` (build.prepare; the shared unit deploys it) nor `graphs/`
    (loader.load_workspace skips them; the shared unit deploys the graphs), and no other model's file.

    Rendered mode: Argo CD builds `overlays/<env>/<model>` (`.`), whose kustomization names only the
    model's base; Argo CD reads no spec, and what a spec or `mlgitops.yaml` change does reaches it as
    the regenerated files of that directory and base.
    """
    base = f"/{BASE_MODELS_DIR}/{model}"
    if workspace.project.argocd.mode != "plugin":
        return [".", base]
    spec = f"/{MODELS_DIR}/{model}{MODEL_SUFFIX}"
    overlay = f"/{OVERLAYS_DIR}/{env}/{model}"
    listing = f"/{OVERLAYS_DIR}/{env}/{KUSTOMIZATION}"
    return [f"/{PROJECT_FILE}", f"/{TEMPLATES_DIR}", spec, base, overlay, listing]


def _generate_paths(workspace: Workspace, unit: DeployUnit | None = None) -> str:
    """Paths whose changes regenerate an Application (the rest reuse Argo CD's manifest cache): `;`
    separated, from the repository root when they start with `/`, else from the Application's source
    path; a changed file under one of them regenerates it (Argo CD, util/app/path/path.go,
    `GetAppRefreshPaths` and `AppFilesHaveChanged`). One model's: `model_generate_paths`."""
    plugin = workspace.project.argocd.mode == "plugin"
    if unit is not None and unit.model is not None:
        return ";".join(model_generate_paths(workspace, unit.env, unit.model))
    if plugin and (unit is None or not unit.shared):
        return ";".join(PLUGIN_INPUTS + (GRAPH_INPUTS if workspace.graphs else ()))
    if unit is not None and unit.shared:  # the namespace, base/platform and the inference graphs
        graphs = [f"/{BASE_GRAPHS_DIR}", f"/{OVERLAYS_DIR}/{unit.env}/{OVERLAY_GRAPHS}"] if workspace.graphs else []
        return ";".join([".", f"/{PLATFORM_DIR}", *graphs])
    paths = [".", f"/{BASE_MODELS_DIR}", f"/{PLATFORM_DIR}"]
    if workspace.graphs:
        paths.insert(2, f"/{BASE_GRAPHS_DIR}")
    if unit is not None and unit.group is not None:
        paths.append(f"/{OVERLAYS_DIR}/{unit.env}")  # the group lists the model directories there
    return ";".join(paths)


AUTOMATED_SYNC: Obj = {"automated": {"prune": True, "selfHeal": True}}


def application(workspace: Workspace, environment: Environment, unit: DeployUnit | None = None) -> Obj:
    """The Application of one environment, or of one deployment unit of it (deployunits.py)."""
    project = workspace.project
    env = environment.name
    labels = _labels(workspace)
    labels[ENVIRONMENT_LABEL] = env
    spec: Obj = {
        "project": project.metadata.name,
        "source": _source(workspace, env, unit),
        "destination": destination(environment),
    }
    if environment.syncPolicy == "auto":
        spec["syncPolicy"] = json.loads(json.dumps(AUTOMATED_SYNC))
        if environment.allowEmpty:  # Argo CD's own guard would otherwise refuse to prune to nothing
            spec["syncPolicy"]["automated"]["allowEmpty"] = True
    return {
        "apiVersion": ARGO_API,
        "kind": "Application",
        "metadata": {
            "name": unit.name(project.metadata.name) if unit is not None else application_name(workspace, env),
            "namespace": project.argocd.namespace,
            "labels": labels,
            "annotations": {GENERATE_PATHS_ANNOTATION: _generate_paths(workspace, unit)},
        },
        "spec": spec,
    }


# Go template (ApplicationSet `goTemplate: true`) for what differs between environments' Applications
# beyond plain substitution: the destination kind and automated sync. `toJson` quotes the values.
TEMPLATE_PATCH = """\
spec:
  destination:
{{- if .clusterName }}
    name: {{ .clusterName | toJson }}
{{- else }}
    server: {{ .server | toJson }}
{{- end }}
{{- if .automated }}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
{{- if .allowEmpty }}
      allowEmpty: true
{{- end }}
{{- end }}
"""


def application_set(workspace: Workspace) -> Obj:
    project = workspace.project
    elements: list[Obj] = []
    for environment in project.environments:
        elements.append(
            {
                "environment": environment.name,
                "namespace": environment.namespace,
                "server": "" if environment.clusterName else (environment.cluster or DEFAULT_CLUSTER),
                "clusterName": environment.clusterName or "",
                "automated": environment.syncPolicy == "auto",
                "allowEmpty": environment.allowEmpty,
            }
        )
    labels = _labels(workspace)
    template_labels = dict(labels)
    template_labels[ENVIRONMENT_LABEL] = "{{ .environment }}"
    source = _source(workspace, "{{ .environment }}")
    return {
        "apiVersion": ARGO_API,
        "kind": "ApplicationSet",
        "metadata": {"name": project.metadata.name, "namespace": project.argocd.namespace, "labels": labels},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": elements}}],
            "template": {
                "metadata": {
                    "name": f"{project.metadata.name}-{{{{ .environment }}}}",
                    "labels": template_labels,
                    "annotations": {GENERATE_PATHS_ANNOTATION: _generate_paths(workspace)},
                },
                "spec": {
                    "project": project.metadata.name,
                    "source": source,
                    "destination": {"namespace": "{{ .namespace }}"},
                },
            },
            "templatePatch": TEMPLATE_PATCH,
        },
    }


def argocd_objects(workspace: Workspace, renders: list[ModelRender] | None = None) -> list[Obj]:
    """The AppProject, then the Applications (or the ApplicationSet)."""
    project = workspace.project
    if project.deployment.per != "environment":
        return [app_project(workspace, renders), *_unit_applications(workspace, renders)]
    if project.argocd.applicationSet:
        return [app_project(workspace, renders), application_set(workspace)]
    return [app_project(workspace, renders), *(application(workspace, env) for env in project.environments)]


def _unit_applications(workspace: Workspace, renders: list[ModelRender] | None) -> list[Obj]:
    from mlgitops.gitops.deployunits import all_units

    project = workspace.project
    where = workspace.project_doc.location(("deployment", "per"))
    if project.argocd.applicationSet:
        raise SpecError.at(
            where,
            "argocd.applicationSet generates one Application per environment; with deployment.per "
            f"{project.deployment.per} set applicationSet: false (mlgitops writes one Application per unit)",
        )
    if project.argocd.mode == "plugin" and project.deployment.per == "group":
        raise SpecError.at(
            where,
            "argocd.mode plugin renders an environment or one model, not a group of models: use "
            "deployment.per model, or argocd.mode rendered",
        )
    if renders is None:
        renders = render_models(workspace)
    return [application(workspace, project.environment(u.env), u) for u in all_units(workspace, renders)]


def argocd_files(workspace: Workspace, renders: list[ModelRender] | None = None) -> dict[str, str]:
    """Generated files under plugins/argocd/, by repository-relative path (`renders`: every model, every env)."""
    files: dict[str, str] = {f"{ARGOCD_DIR}/plugin.yaml": plugin_yaml()}
    image = sidecar_image(workspace)
    if image is not None:
        files.update(sidecar_files(image))
    files.update(object_directory(ARGOCD_DIR, argocd_objects(workspace, renders), PROJECT_FILE))
    return dict(sorted(files.items()))
