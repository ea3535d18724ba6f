"""Smoke-test objects back to the spec: the Job and ConfigMap of render/smoke.py.

A field added there needs its entry here, or its findings point at the model's first line.
"""

from __future__ import annotations

from typing import Any

from mlgitops.checks.sourcemap.common import SpecSource, model_at, project_at
from mlgitops.util.yamlio import JsonPath

_CONTAINER = ("spec", "template", "spec", "containers", 0)


def is_smoke_object(obj: dict[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return obj.get("kind") in ("Job", "ConfigMap") and labels.get("app.kubernetes.io/component") == "smoke-test"


def smoke_source(obj: dict[str, Any], path: JsonPath) -> SpecSource:
    """The image, the timings and the TTL from mlgitops.yaml `tests`; everything else from the model's `tests`."""
    match path:
        case (*container, "image") if tuple(container) == _CONTAINER:
            return project_at("tests", "image")
        case ("spec", "ttlSecondsAfterFinished", *_):
            return project_at("tests", "ttl")
        case ("spec", "activeDeadlineSeconds", *_):
            return project_at("tests", "wait")
        case ("spec", "template", "spec", "containers", 0, "args", *_):
            return model_at("serving")
        case ("data", "tests.json", *_):
            return model_at("tests")
    return model_at("tests")
