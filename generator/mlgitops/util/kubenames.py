"""The Kubernetes vocabulary every stage shares: an object as plain data, and the labels, annotations and names
mlgitops writes or reads on objects."""

from __future__ import annotations

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
