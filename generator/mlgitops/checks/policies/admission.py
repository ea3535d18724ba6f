"""What KServe's admission webhooks refuse beyond their CRDs, for objects mlgitops does not model itself
(addon objects): read from KServe v0.20's source and checked against its webhook on the local control plane."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mlgitops.util.kubenames import Obj
from mlgitops.util.yamlio import JsonPath

# pkg/apis/serving/v1alpha1/trainedmodel_webhook.go: TmRegexp, "^[a-zA-Z0-9_-]+$" (Go's `$` ends the text)
_TRAINED_MODEL_NAME = re.compile(r"[a-zA-Z0-9_-]+")
# pkg/agent/storage/provider.go: SupportedProtocols, the model agent's pullers, matched as prefixes
TRAINED_MODEL_SCHEMES = ("s3://", "gs://", "https://", "http://")


def trained_model_problems(obj: Obj) -> Iterator[tuple[JsonPath, str]]:
    """(path, message) for each rule of the TrainedModel webhook a TrainedModel breaks (name, storageUri)."""
    if obj.get("kind") != "TrainedModel" or not str(obj.get("apiVersion", "")).startswith("serving.kserve.io/"):
        return
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if isinstance(name, str) and not _TRAINED_MODEL_NAME.fullmatch(name):
        yield (
            ("metadata", "name"),
            f"TrainedModel name {name!r}: KServe's webhook admits letters, digits, '_' and '-' only",
        )
    spec = obj.get("spec")
    model = spec.get("model") if isinstance(spec, dict) else None
    uri = model.get("storageUri") if isinstance(model, dict) else None
    if not isinstance(uri, str) or not uri.startswith(TRAINED_MODEL_SCHEMES):
        shown = repr(uri[:60]) if isinstance(uri, str) else "none"
        yield (
            ("spec", "model", "storageUri"),
            f"TrainedModel storageUri {shown}: KServe's webhook admits only {', '.join(TRAINED_MODEL_SCHEMES)}"
            " (what its model agent pulls)",
        )
