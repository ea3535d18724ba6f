"""The ServiceAccount each Flux Kustomization runs as, and RBAC no wider than the Argo CD AppProject.

Without `spec.serviceAccountName`, kustomize-controller applies an overlay with its own rights (in a
stock install, cluster-admin): whatever the overlay holds, a ClusterRoleBinding included, is applied.
So every environment's Kustomizations impersonate their own ServiceAccount, `<project>-<env>` in the
Flux namespace, which may do what the project's AppProject admits (argocd.resource_whitelists) and
nothing else:

* a Role and RoleBinding in the environment's namespace with every verb on the namespaced kinds the
  AppProject lists (no other namespace: the AppProject's destinations are the environments' namespaces,
  and each environment gets its own). When the AppProject lists Role, the Role may also `bind` and
  `escalate` Roles of that namespace, as Argo CD may apply any Role there; a RoleBinding to a ClusterRole
  still needs its permissions (Kubernetes' escalation check), which this RBAC does not give;
* a ClusterRole and ClusterRoleBinding for the cluster-scoped objects the AppProject names, each by its
  name (`resourceNames`): the environment's own Namespace, and the cluster-scoped objects of
  base/platform and of templates that `addons.clusterScoped` allows. Flux applies with server-side apply
  (a PATCH, which `resourceNames` covers even when it creates the object), reads them back and prunes.

The directory also holds the environment's Namespace when `createNamespace` is on, so the Role and
RoleBinding have a namespace to go into when `kubectl apply -k plugins/flux/<cluster>` runs first.
"""

from __future__ import annotations

from mlgitops.language.loader import Workspace
from mlgitops.language.project import Environment
from mlgitops.layout.overlay import namespace_object
from mlgitops.render.pipeline import ModelRender
from mlgitops.util.kubekinds import resource_name
from mlgitops.util.kubenames import ENVIRONMENT_LABEL, MANAGED_BY, Obj

RBAC_API = "rbac.authorization.k8s.io/v1"
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
ESCALATE = ["bind", "escalate"]
NAMED_VERBS = ["get", "list", "watch", "patch", "update", "delete"]  # `create` never matches resourceNames


def service_account_name(workspace: Workspace, env: str) -> str:
    return f"{workspace.project.metadata.name}-{env}"


def _labels(workspace: Workspace, env: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": workspace.project.metadata.name,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        ENVIRONMENT_LABEL: env,
    }


def _namespaced_rules(namespaced: list[Obj]) -> list[Obj]:
    by_group: dict[str, set[str]] = {}
    for entry in namespaced:
        by_group.setdefault(entry["group"], set()).add(resource_name(entry["kind"]))
    rules: list[Obj] = [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": VERBS}
        for group, resources in sorted(by_group.items())
    ]
    if "roles" in by_group.get("rbac.authorization.k8s.io", set()):
        rules.append({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"], "verbs": ESCALATE})
    return rules


def _cluster_rules(cluster: list[Obj], environment: Environment) -> list[Obj]:
    rules: list[Obj] = []
    for entry in cluster:
        if entry["group"] == "" and entry["kind"] == "Namespace" and entry["name"] != environment.namespace:
            continue  # another environment's namespace
        rules.append(
            {
                "apiGroups": [entry["group"]],
                "resources": [resource_name(entry["kind"])],
                "resourceNames": [entry["name"]],
                "verbs": NAMED_VERBS,
            }
        )
    return rules


def rbac_objects(workspace: Workspace, environments: list[Environment], renders: list[ModelRender]) -> list[Obj]:
    """The Namespaces, ServiceAccounts and RBAC of one cluster's environments (declaration order)."""
    from mlgitops.gitops.argocd import resource_whitelists

    namespaced, cluster = resource_whitelists(workspace, renders)
    flux_namespace = workspace.project.flux.namespace
    objects: list[Obj] = []
    namespaces: set[str] = set()
    for environment in environments:
        env = environment.name
        account = service_account_name(workspace, env)
        name = f"{account}-flux"
        labels = _labels(workspace, env)
        if environment.createNamespace and environment.namespace not in namespaces:
            namespaces.add(environment.namespace)
            objects.append(namespace_object(workspace, env))
        subject = [{"kind": "ServiceAccount", "name": account, "namespace": flux_namespace}]
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": account, "namespace": flux_namespace, "labels": labels},
            }
        )
        scoped = {"name": name, "namespace": environment.namespace, "labels": labels}
        rules = _namespaced_rules(namespaced)
        objects.append({"apiVersion": RBAC_API, "kind": "Role", "metadata": scoped, "rules": rules})
        objects.append(
            {
                "apiVersion": RBAC_API,
                "kind": "RoleBinding",
                "metadata": scoped,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": subject,
            }
        )
        cluster_rules = _cluster_rules(cluster, environment)
        if cluster_rules:
            unscoped = {"name": name, "labels": labels}
            objects.append(
                {"apiVersion": RBAC_API, "kind": "ClusterRole", "metadata": unscoped, "rules": cluster_rules}
            )
            objects.append(
                {
                    "apiVersion": RBAC_API,
                    "kind": "ClusterRoleBinding",
                    "metadata": unscoped,
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
                    "subjects": subject,
                }
            )
    return objects
