"""The Kubernetes vocabulary every stage shares: an object as plain data, and the labels, annotations and names
mlgitops writes or reads on objects."""

from __future__ import annotations

import hashlib
import re
from typing import Any

Obj = dict[str, Any]
"""A Kubernetes object (or any part of one) as parsed YAML: maps, lists and scalars."""

MANAGED_BY = "mlgitops"
ENVIRONMENT_LABEL = "mlgitops.io/environment"
VERSION_LABEL = "app.kubernetes.io/version"
OWNER_ANNOTATION = "mlgitops.io/owner"
REGISTRY_ANNOTATION = "mlgitops.io/registry-uri"
SOURCE_ANNOTATION = "mlgitops.io/source"
CANARY_ANNOTATION = "mlgitops.io/canary-version"
# Flux's post-build substitution would rewrite the shell `${...}` of workflow scripts (and, strict by
# default since kustomize-controller 1.9, fail on every unset one): Argo objects opt out of it.
FLUX_SUBSTITUTE_ANNOTATION = "kustomize.toolkit.fluxcd.io/substitute"
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
# The variable KServe's storage initializer reads the model's location from.
STORAGE_URI_ENV = "STORAGE_URI"
PLACEMENT_FIELDS = ("nodeSelector", "tolerations", "affinity")


def dns_safe(text: str) -> str:
    """`1.2.3` → `1-2-3`: a version turned into a name fragment.

    >>> dns_safe("1.2.3"), dns_safe("V2_beta"), dns_safe("...")
    ('1-2-3', 'v2-beta', 'x')
    """
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"


# What KServe's LLMInferenceService controller creates for one (kserve pkg/controller/v1alpha2/llmisvc:
# workload.go the Service, port 8000; workload_tls_self_signed.go the certificate Secret, for every one).
LLM_WORKLOAD_SUFFIX = "-kserve-workload-svc"
LLM_WORKLOAD_PORT = 8000
LLM_CERTIFICATE_SUFFIX = "-kserve-self-signed-certs"
CHILD_NAME_MAX = 63
_CHILD_NAME_HEAD = CHILD_NAME_MAX - 32  # what is left of a long parent name beside its MD5


def child_name(parent: str, suffix: str) -> str:
    """The name a Knative-based controller (KServe) gives an object it owns: knative.dev/pkg kmeta.ChildName
    for suffixes shorter than 31 characters (a parent too long for `parent + suffix` keeps its start, then its
    MD5 in hex).

    >>> child_name("llama", "-kserve-workload-svc")
    'llama-kserve-workload-svc'
    >>> len(child_name("a" * 60, "-kserve-workload-svc"))
    63
    """
    if len(suffix) >= _CHILD_NAME_HEAD:
        raise ValueError(f"suffix {suffix!r} too long for this form of ChildName")
    if len(parent) <= CHILD_NAME_MAX - len(suffix):
        return parent + suffix
    digest = hashlib.md5(parent.encode("utf-8"), usedforsecurity=False).hexdigest()
    return parent[: _CHILD_NAME_HEAD - len(suffix)] + digest + suffix
