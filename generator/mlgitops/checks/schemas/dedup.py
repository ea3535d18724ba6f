"""Validate identical object bodies once: the same model object usually reaches every environment
with only its namespace and environment label changed.

The schema findings of an object cannot depend on those two values: a CRD's schema may constrain
only `metadata.name` and `metadata.generateName` (the API server rejects any other metadata
schema: apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go,
"must not specify anything other than name and generateName"), the converted CRD schemas here
check `metadata` only as an object (schemas/crd.py), and the Kubernetes strict schemas type
`namespace` as a string and label values as strings, which both always are. So the key leaves them
out, and an object seen in another environment reuses the violations found there (their JSON
Pointers are relative to the object, locations are still computed per environment).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from mlgitops.checks.schemas.messages import SchemaViolation
from mlgitops.util.kubenames import ENVIRONMENT_LABEL, Obj

Violations = list[SchemaViolation] | None


def body_key(obj: Obj) -> str:
    """The object as JSON, without `metadata.namespace` and the environment label."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict) and ("namespace" in metadata or "labels" in metadata):
        metadata = {k: v for k, v in metadata.items() if k != "namespace"}
        labels = metadata.get("labels")
        if isinstance(labels, dict) and ENVIRONMENT_LABEL in labels:
            metadata["labels"] = {k: v for k, v in labels.items() if k != ENVIRONMENT_LABEL}
        obj = {**obj, "metadata": metadata}
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


class SchemaMemo:
    """Schema violations by object body: each distinct body goes through jsonschema once."""

    def __init__(self, check: Callable[[Obj], Violations]) -> None:
        self._check = check
        self._seen: dict[bytes, Violations] = {}
        self.checked = 0  # bodies validated (for tests and benchmarks)

    def violations(self, obj: Obj) -> Violations:
        # the digest, not the JSON text: at 2000 models the texts alone would hold ~100 MiB
        key = hashlib.sha256(body_key(obj).encode("utf-8", "surrogatepass")).digest()
        if key not in self._seen:
            self._seen[key] = self._check(obj)
            self.checked += 1
        found = self._seen[key]
        return None if found is None else list(found)
