"""What a Jsonnet template may return (docs/addons.md): namespaced objects, no lists, no secrets in Git.

A template runs for every model in every environment and its objects are applied by Argo CD or Flux with
the project's rights, so it is held to what a model's own objects are:

* namespaced kinds only. A cluster-scoped object (a ClusterRoleBinding to `cluster-admin`, a webhook)
  reaches beyond the environment's namespace; the project allows such kinds one by one
  (`mlgitops.yaml` `addons.clusterScoped`), and each object is then listed by name in the Argo CD
  AppProject and the Flux ServiceAccount's ClusterRole (argocd.py, flux_rbac.py);
* no `List` kinds (`v1 List`, `ConfigMapList`, ...): Kustomize replaces such an object by its items, so
  every check on the object (kinds, names, policies, the whitelists) would look at the wrong thing;
* no Secret with literal `data` or `stringData`: the rendered files are committed and shown by `diff`.
  A Secret's value comes from the cluster (an ExternalSecret, a SealedSecret, a Secret made there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlgitops.language.credentials import SECRETS_ADVICE
from mlgitops.util.kubekinds import cluster_scoped, group_of, is_list_kind

if TYPE_CHECKING:
    from mlgitops.language.project import Project

__all__ = ["addon_object_problem", "literal_secret_problem"]


def literal_secret_problem(obj: dict[str, Any]) -> str | None:
    """The message for a core Secret carrying values (`data` or `stringData` not empty), or None."""
    if obj.get("kind") != "Secret" or group_of(str(obj.get("apiVersion", ""))) != "":
        return None
    fields = [field for field in ("data", "stringData") if obj.get(field)]
    if not fields:
        return None
    name = (obj.get("metadata") or {}).get("name")
    return (
        f"Secret {name!r} holds literal {' and '.join(fields)}, which would be committed to Git and shown by diff; "
        f"{SECRETS_ADVICE}, or render an ExternalSecret or SealedSecret"
    )


def addon_object_problem(obj: dict[str, Any], project: Project) -> str | None:
    """Why a template may not return `obj` (None: it may)."""
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    name = obj["metadata"]["name"]
    if is_list_kind(kind):
        return (
            f"{kind} {name!r} is a list kind, which Kustomize replaces by its items; return the items themselves "
            "(a template returns a list of objects)"
        )
    if cluster_scoped(api_version, kind) and not project.addons.allows(group_of(api_version), kind):
        group = group_of(api_version)
        return (
            f"{kind} {name!r} is cluster-scoped ({api_version}); templates return namespaced objects only, unless "
            f"mlgitops.yaml allows the kind: addons: {{clusterScoped: [{{group: {group!r}, kind: {kind}}}]}}"
        ).replace("''", '""')
    return literal_secret_problem(obj)
