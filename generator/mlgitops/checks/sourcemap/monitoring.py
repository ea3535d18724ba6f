"""Monitoring objects back to the spec's monitoring block.

The objects are rendered by render/monitoring.py and render/metric_sources.py: a field added there
needs its entry here, or its findings point at the model's first line.
"""

from __future__ import annotations

from typing import Any

from mlgitops.checks.sourcemap.common import SpecSource, model_at
from mlgitops.language.model import Model
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.yamlio import JsonPath


def monitoring_source(obj: dict[str, Any], path: JsonPath, spec: Model) -> SpecSource:
    """PodMonitor endpoints from the serving engine and mode; rules from the SLOs and alert options."""
    kind = obj.get("kind")
    if kind == "PodMonitor":
        match path:
            case ("spec", "podMetricsEndpoints", int(), "interval", *_):
                return model_at("monitoring", "scrapeInterval")
            case ("spec", "selector", *_):
                return model_at("serving", "engine")
            case ("spec", "podMetricsEndpoints", int(), ("port" | "portNumber"), *_):
                return model_at("serving", "mode")
        return model_at("monitoring")
    if kind == "ConfigMap":
        return model_at("monitoring", "dashboard")
    alert = None
    match path:
        case ("spec", "groups", int(group), "rules", int(rule), *_):
            alert = get_path(obj, ("spec", "groups", group, "rules", rule, "alert"))
    match path:
        case ("spec", "groups", int(), "rules", int(), "labels", "severity", *_):
            return model_at("monitoring", "alerts", "severity")
        case ("spec", "groups", int(), "rules", int(), "annotations", "runbook_url", *_):
            return model_at("monitoring", "alerts", "runbook")
    source = _ALERT_SOURCES.get(alert) if isinstance(alert, str) else None
    return model_at(*source) if source else model_at("monitoring")


_ALERT_SOURCES: dict[str, tuple[str, ...]] = {
    "ModelLatencyP95AboveSLO": ("monitoring", "slo", "latencyP95Ms"),
    "ModelErrorRateAboveSLO": ("monitoring", "slo", "errorRatePercent"),
    "ModelErrorBudgetBurn": ("monitoring", "slo", "availabilityPercent"),
    "ModelNoTraffic": ("monitoring", "alerts", "noTraffic"),
    "ModelTrainingNotSucceeded": ("training", "schedule"),
}
