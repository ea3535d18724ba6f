"""Prometheus Operator objects of a model in one environment: PodMonitor, PrometheusRule, dashboard.

Where the request metrics are for each engine, mode and runtime, with the upstream sources, is
render/metric_sources.py; an objective no series can enforce is reported by `validate` (policy
`slo-alerted`), never dropped silently.

Scheduled training: Argo Workflows' controller counts workflows started from a WorkflowTemplate as they
enter each phase, `argo_workflows_workflowtemplate_triggered_total{name, namespace, cluster_scope, phase}`
(argoproj/argo-workflows v4.1 util/telemetry/metrics_list.go and attributes.go; the `argo_workflows`
prefix is workflow/controller/controller.go's, exported without unit suffixes by
util/telemetry/exporter_prometheus.go). Scraped without `honorLabels: true`, Prometheus renames the
controller's `namespace` label `exported_namespace`: the rule accepts either.

Source map (object path → spec line): checks/sourcemap/monitoring.py.
"""

from __future__ import annotations

import json

from mlgitops.language.model import Monitoring
from mlgitops.language.project import Project
from mlgitops.language.resolve import ResolvedModel
from mlgitops.render.common import metadata, standard_labels
from mlgitops.render.metric_sources import LLM_WORKLOAD_COMPONENT, MetricSource, metric_source, scrape_port
from mlgitops.util.kubenames import OWNER_ANNOTATION, SOURCE_ANNOTATION, Obj

PROJECT_LABEL = "mlgitops.io/project"
MODEL_SERIES_LABEL = "mlgitops_model"
ENVIRONMENT_SERIES_LABEL = "mlgitops_environment"
# Google SRE workbook, "Alerting on SLOs": page at 14.4x the budget over 1h (confirmed over 5m), ticket
# at 6x over 6h (confirmed over 30m).
FAST_BURN = ("1h", "5m", 14.4)
SLOW_BURN = ("6h", "30m", 6.0)
ERROR_WINDOWS = ("5m", "30m", "1h", "6h")
DEFAULT_TRAINING_MAX_AGE_DAYS = 8
NO_TRAFFIC_FOR = "15m"


def _number(value: float) -> str:
    return format(value, ".10g")


def monitoring_enabled(model: ResolvedModel) -> bool:
    spec = model.spec
    return model.environment is not None and spec.monitoring is not None and spec.monitoring.enabled


def _labels(model: ResolvedModel, project: Project) -> dict[str, str]:
    """The standard labels without the model version: a version bump does not touch the monitoring."""
    labels = standard_labels(model, project, "monitoring")
    del labels["app.kubernetes.io/version"]
    labels[PROJECT_LABEL] = project.metadata.name
    return labels


def _annotations(model: ResolvedModel) -> dict[str, str]:
    """Owner and source, not the lineage (which changes with every version)."""
    annotations = {OWNER_ANNOTATION: model.spec.metadata.owner} if model.spec.metadata.owner else {}
    annotations[SOURCE_ANNOTATION] = model.file.path
    return annotations


def _pod_monitor(model: ResolvedModel, project: Project, monitoring: Monitoring) -> tuple[Obj, MetricSource] | None:
    assert model.environment is not None
    source = metric_source(model.spec, project.features(model.environment).knative)
    serving = model.spec.serving
    if source is None or serving is None:
        return None
    if serving.engine == "kserve":
        selector = {"serving.kserve.io/inferenceservice": model.name, "component": "predictor"}
    elif serving.engine == "llm":
        selector = {"app.kubernetes.io/name": model.name, "app.kubernetes.io/component": LLM_WORKLOAD_COMPONENT}
    else:
        selector = {"app.kubernetes.io/name": model.name, "app.kubernetes.io/component": "predictor"}
    port = scrape_port(serving, source.port)
    endpoint: Obj = {"portNumber": port} if isinstance(port, int) else {"port": port}
    endpoint.update(
        {
            "path": source.path,
            "interval": monitoring.scrapeInterval,
            "relabelings": [
                {"action": "replace", "targetLabel": MODEL_SERIES_LABEL, "replacement": model.name},
                {"action": "replace", "targetLabel": ENVIRONMENT_SERIES_LABEL, "replacement": model.environment},
            ],
        }
    )
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": metadata(model.name, _labels(model, project), _annotations(model)),
        "spec": {"selector": {"matchLabels": selector}, "podMetricsEndpoints": [endpoint]},
    }
    return monitor, source


def _selector(model: ResolvedModel) -> str:
    return f'{MODEL_SERIES_LABEL}="{model.name}",{ENVIRONMENT_SERIES_LABEL}="{model.environment}"'


def _record(name: str, expr: str, labels: dict[str, str]) -> Obj:
    return {"record": name, "expr": expr, "labels": labels}


def _alert(name: str, expr: str, wait: str, labels: dict[str, str], summary: str, runbook: str | None) -> Obj:
    annotations = {"summary": summary}
    if runbook:
        annotations["runbook_url"] = runbook
    return {"alert": name, "expr": expr, "for": wait, "labels": labels, "annotations": annotations}


def _rate(selector: str, window: str) -> str:
    return f"sum(rate({selector}[{window}]))"


def _requests_rate(source: MetricSource, sel: str, window: str) -> str:
    """Every request: the request counter, plus the error counter where the former counts successes only
    (a failure counter without a series yet counts as zero)."""
    assert source.requests is not None
    total = _rate(source.requests.select(sel), window)
    if source.requests_are_successes and source.errors is not None:
        total = f"({total} + ({_rate(source.errors.select(sel), window)} or vector(0)))"
    return total


def recording_rules(model: ResolvedModel, source: MetricSource) -> list[Obj]:
    sel = _selector(model)
    keep = {MODEL_SERIES_LABEL: model.name, ENVIRONMENT_SERIES_LABEL: str(model.environment)}
    rules: list[Obj] = []
    if source.requests is not None:
        rules.append(_record("mlgitops:request_rate:rate5m", _requests_rate(source, sel, "5m"), keep))
        if source.errors is not None:
            for window in ERROR_WINDOWS:
                expr = f"{_rate(source.errors.select(sel), window)} / {_requests_rate(source, sel, window)}"
                rules.append(_record(f"mlgitops:request_error_ratio:rate{window}", expr, keep))
    if source.latency_bucket is not None:
        divisor = f" / {source.latency_divisor}" if source.latency_divisor != 1 else ""
        for quantile, percentile in (("0.5", "50"), ("0.95", "95"), ("0.99", "99")):
            buckets = source.latency_bucket.select(sel)
            expr = f"histogram_quantile({quantile}, sum by (le) (rate({buckets}[5m]))){divisor}"
            rules.append(_record(f"mlgitops:request_latency_seconds:p{percentile}_5m", expr, keep))
    return rules


def alerting_rules(model: ResolvedModel, source: MetricSource, monitoring: Monitoring) -> list[Obj]:
    slo, alerts = monitoring.slo, monitoring.alerts
    sel = _selector(model)
    where = f"{model.name} in {model.environment}"
    labels = {
        "severity": alerts.severity,
        MODEL_SERIES_LABEL: model.name,
        ENVIRONMENT_SERIES_LABEL: str(model.environment),
    }
    runbook = alerts.runbook
    out: list[Obj] = []
    if slo.latencyP95Ms is not None and source.latency is not None:
        out.append(
            _alert(
                "ModelLatencyP95AboveSLO",
                f"mlgitops:request_latency_seconds:p95_5m{{{sel}}} > {_number(slo.latencyP95Ms / 1000)}",
                "10m",
                labels,
                f"{where}: p95 latency above the {slo.latencyP95Ms} ms objective for 10 minutes",
                runbook,
            )
        )
    errors_counted = source.errors is not None and source.requests is not None
    if errors_counted and slo.errorRatePercent is not None:
        out.append(
            _alert(
                "ModelErrorRateAboveSLO",
                f"mlgitops:request_error_ratio:rate5m{{{sel}}} > {_number(slo.errorRatePercent / 100)}",
                "10m",
                labels,
                f"{where}: more than {_number(slo.errorRatePercent)}% of requests fail (5xx) for 10 minutes",
                runbook,
            )
        )
    if errors_counted and slo.availabilityPercent is not None:
        budget = 1 - slo.availabilityPercent / 100
        for (long, short, factor), wait, severity in ((FAST_BURN, "2m", alerts.severity), (SLOW_BURN, "15m", "ticket")):
            threshold = _number(round(factor * budget, 10))
            expr = (
                f"mlgitops:request_error_ratio:rate{long}{{{sel}}} > {threshold} and "
                f"mlgitops:request_error_ratio:rate{short}{{{sel}}} > {threshold}"
            )
            out.append(
                _alert(
                    "ModelErrorBudgetBurn",
                    expr,
                    wait,
                    {**labels, "severity": severity, "window": long},
                    f"{where}: burning the {_number(slo.availabilityPercent)}% availability error budget "
                    f"{_number(factor)}x too fast over {long}",
                    runbook,
                )
            )
    if alerts.noTraffic and source.requests is not None:
        out.append(
            _alert(
                "ModelNoTraffic",
                f"({_requests_rate(source, sel, NO_TRAFFIC_FOR)} or vector(0)) == 0",
                NO_TRAFFIC_FOR,
                labels,
                f"{where}: no request served for {NO_TRAFFIC_FOR}",
                runbook,
            )
        )
    return out


def training_rules(model: ResolvedModel, project: Project, monitoring: Monitoring) -> list[Obj]:
    training = model.spec.training
    if training is None or not training.schedules or model.environment is None:
        return []
    from mlgitops.language.training import training_name

    days = monitoring.alerts.trainingMaxAgeDays or DEFAULT_TRAINING_MAX_AGE_DAYS
    namespace = project.environment(model.environment).namespace
    # honorLabels: true keeps Argo's `namespace`; without it Prometheus renames it `exported_namespace`
    # (and `namespace` is the controller pod's). Either scrape counts; neither leaves the rule firing.
    template = f'name="{training_name(model.name, training)}",phase="Succeeded"'
    counter = "argo_workflows_workflowtemplate_triggered_total"
    honored = f'{counter}{{{template},namespace="{namespace}",exported_namespace=""}}'
    renamed = f'{counter}{{{template},exported_namespace="{namespace}"}}'
    labels = {
        "severity": "ticket",
        MODEL_SERIES_LABEL: model.name,
        ENVIRONMENT_SERIES_LABEL: model.environment,
    }
    return [
        _alert(
            "ModelTrainingNotSucceeded",
            f"(sum(increase({honored}[{days}d])) or sum(increase({renamed}[{days}d])) or vector(0)) < 1",
            "1h",
            labels,
            f"{model.name} in {model.environment}: scheduled training has not succeeded for {days} days",
            monitoring.alerts.runbook,
        )
    ]


def _dashboard(model: ResolvedModel, project: Project, source: MetricSource) -> Obj:
    sel = _selector(model)
    targets: list[tuple[str, str]] = []
    if source.requests is not None:
        targets.append(("requests/s", f"mlgitops:request_rate:rate5m{{{sel}}}"))
    if source.latency is not None:
        targets += [(f"p{q}", f"mlgitops:request_latency_seconds:p{q}_5m{{{sel}}}") for q in ("50", "95", "99")]
    if source.errors is not None and source.requests is not None:
        targets.append(("error ratio", f"mlgitops:request_error_ratio:rate5m{{{sel}}}"))
    panels = [
        {
            "id": index + 1,
            "type": "timeseries",
            "title": title,
            "gridPos": {"h": 8, "w": 12, "x": 12 * (index % 2), "y": 8 * (index // 2)},
            "targets": [{"expr": expr, "refId": "A"}],
        }
        for index, (title, expr) in enumerate(targets)
    ]
    board = {
        "title": f"{project.metadata.name} / {model.name} ({model.environment})",
        "uid": f"mlgitops-{model.environment}-{model.name}"[:40],
        "schemaVersion": 39,
        "tags": ["mlgitops", project.metadata.name],
        "panels": panels,
    }
    labels = {**_labels(model, project), "grafana_dashboard": "1"}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(f"{model.name}-dashboard", labels, _annotations(model)),
        "data": {f"{model.name}.json": json.dumps(board, sort_keys=True, indent=1)},
    }


def render_monitoring(model: ResolvedModel, project: Project) -> list[Obj]:
    """The monitoring objects of a model in its environment (none for the environment-free base)."""
    monitoring = model.spec.monitoring
    if monitoring is None or not monitoring_enabled(model):
        return []
    objects: list[Obj] = []
    found = _pod_monitor(model, project, monitoring)
    groups: list[Obj] = []
    if found is not None:
        monitor, source = found
        objects.append(monitor)
        recording = recording_rules(model, source)
        if recording:
            groups.append({"name": f"{model.name}.recording", "rules": recording})
        slo_alerts = alerting_rules(model, source, monitoring)
        if slo_alerts:
            groups.append({"name": f"{model.name}.slo", "rules": slo_alerts})
        if monitoring.dashboard:
            objects.append(_dashboard(model, project, source))
    training = training_rules(model, project, monitoring)
    if training:
        groups.append({"name": f"{model.name}.training", "rules": training})
    if groups:
        objects.append(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "PrometheusRule",
                "metadata": metadata(model.name, _labels(model, project), _annotations(model)),
                "spec": {"groups": groups},
            }
        )
    return objects
