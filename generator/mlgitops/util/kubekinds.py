"""What mlgitops knows about Kubernetes kinds offline: which are cluster-scoped, which ones Kustomize
leaves without a namespace, and the resource name RBAC rules use for a kind.

Two questions with different answers:

* Is a kind cluster-scoped on a cluster? `cluster_scoped`: the built-in kinds and the common add-on
  kinds below, and any kind named `Cluster<Something>` (ClusterIssuer, ClusterSecretStore, ...), the
  naming convention of cluster-scoped custom resources. An unknown kind is taken as namespaced unless the
  project declares it cluster-scoped (`addons.clusterScoped`, layout/overlay.py `is_cluster_object`);
  otherwise the Flux ServiceAccount's RBAC (flux_rbac.py) and Argo CD's AppProject refuse it at apply time.
* Does Kustomize set the overlay's namespace on it? `kustomize_namespaces`: Kustomize decides from its
  built-in OpenAPI schema, by apiVersion and kind (kubectl kustomize 5.8 leaves `rbac.../v1` ClusterRole
  alone but namespaces `argoproj.io/v1alpha1` ClusterWorkflowTemplate and `flowcontrol.../v1` FlowSchema),
  so the objects mlgitops computes in memory follow the same table (tests/invariants/test_hostile_escapes.py
  compares it with the real Kustomize); for a cluster-scoped kind Kustomize would namespace, the overlays
  take the namespace off again (layout/overlay.py `_unnamespace`).
"""

from __future__ import annotations

import re

__all__ = [
    "CLUSTER_SCOPED_KINDS",
    "cluster_scoped",
    "group_of",
    "is_list_kind",
    "kustomize_namespaces",
    "resource_name",
]

# Built-in (and common add-on) kinds that are cluster-scoped, by (group, kind).
CLUSTER_SCOPED_KINDS = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("apiregistration.k8s.io", "APIService"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("node.k8s.io", "RuntimeClass"),
        ("policy", "PodSecurityPolicy"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("gateway.networking.k8s.io", "GatewayClass"),
        ("argoproj.io", "ClusterWorkflowTemplate"),
        ("serving.kserve.io", "ClusterServingRuntime"),
        ("serving.kserve.io", "ClusterStorageContainer"),
        ("serving.kserve.io", "LocalModelCache"),
        ("serving.kserve.io", "LocalModelNode"),
        ("serving.kserve.io", "LocalModelNodeGroup"),
    }
)

# (apiVersion, kind) Kustomize's built-in schema knows as cluster-scoped: it sets no namespace on these.
_KUSTOMIZE_CLUSTER_SCOPED = frozenset(
    {
        ("v1", "Namespace"),
        ("v1", "Node"),
        ("v1", "PersistentVolume"),
        ("v1", "ComponentStatus"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
        ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"),
        ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
        ("apiregistration.k8s.io/v1", "APIService"),
        ("certificates.k8s.io/v1", "CertificateSigningRequest"),
        ("flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration"),
        ("networking.k8s.io/v1", "IngressClass"),
        ("node.k8s.io/v1", "RuntimeClass"),
        ("policy/v1beta1", "PodSecurityPolicy"),
        ("scheduling.k8s.io/v1", "PriorityClass"),
        ("scheduling.k8s.io/v1beta1", "PriorityClass"),
        ("storage.k8s.io/v1", "StorageClass"),
        ("storage.k8s.io/v1", "CSIDriver"),
        ("storage.k8s.io/v1", "CSINode"),
        ("storage.k8s.io/v1", "VolumeAttachment"),
    }
)

_CLUSTER_PREFIX = re.compile(r"^Cluster[A-Z]")
# Kinds whose resource name is not the regular plural of the lower-cased kind.
_RESOURCES = {"Endpoints": "endpoints", "NetworkAttachmentDefinition": "network-attachment-definitions"}


def group_of(api_version: str) -> str:
    """`apps/v1` → `apps`; `v1` → `` (the core group)."""
    return api_version.rpartition("/")[0]


def cluster_scoped(api_version: str, kind: str) -> bool:
    """Whether objects of this kind live outside namespaces (see the module docstring for unknown kinds)."""
    return (
        (group_of(api_version), kind) in CLUSTER_SCOPED_KINDS
        or (api_version, kind) in _KUSTOMIZE_CLUSTER_SCOPED
        or bool(_CLUSTER_PREFIX.match(kind))
    )


def kustomize_namespaces(api_version: str, kind: str) -> bool:
    """Whether Kustomize's `namespace:` field sets the namespace of such an object."""
    return (api_version, kind) not in _KUSTOMIZE_CLUSTER_SCOPED


def is_list_kind(kind: str) -> bool:
    """`List`, `ConfigMapList`, ...: Kustomize replaces such an object by its `items`."""
    return kind.endswith("List")


def resource_name(kind: str) -> str:
    """The resource name RBAC rules use for a kind: `NetworkPolicy` → `networkpolicies`, `Ingress` → `ingresses`."""
    if kind in _RESOURCES:
        return _RESOURCES[kind]
    lower = kind.lower()
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    return lower + "s"
