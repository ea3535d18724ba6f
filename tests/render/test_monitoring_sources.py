"""Request series per engine, mode and runtime (render/metric_sources.py): every declared SLO is either
alerted on (the rule runs through the real promtool: fires above the objective, quiet below) or reported by
`validate` at the SLO's line (policy slo-alerted). Also Knative's metric names per release
(clusterFeatures.knative.requestMetrics), `monitoring.metrics`, and the training alert with and without
`honorLabels` on the Argo Workflows controller's scrape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.schemas.crd import load_crd_schemas
from mlgitops.language.loader import load_workspace
from mlgitops.language.promql import parse_series
from mlgitops.render.pipeline import render_models
from tests.conftest import copy_example, run_cli
from tests.render.test_monitoring import _alert, _buckets, _expected, _promtool_test, _rule_file

LIMITS = "resources: {requests: {cpu: '1', memory: 1Gi}, limits: {cpu: '1', memory: 1Gi}}"
SEL = 'mlgitops_model="scorer",mlgitops_environment="prod"'


def _write_model(example: Path, serving: str, monitoring: str, fmt: str = "sklearn", extra: str = "") -> Path:
    path = example / "models/scorer.yaml"
    path.write_text(
        "apiVersion: mlgitops.io/v1alpha1\n"
        "kind: Model\n"
        "metadata: {name: scorer, owner: team-x}\n"
        f'model: {{format: {fmt}, version: "1", storageUri: s3://ml-models/scorer/1/model}}\n'
        f"serving: {{{serving}, {LIMITS}}}\n"
        f"monitoring: {monitoring}\n"
        f"{extra}"
        + ("environments: {dev: {serving: {replicas: {min: 1}}}}\n" if "engine: deployment" in serving else "")
    )
    return path


def _prod_objects(example: Path) -> dict[str, dict[str, Any]]:
    workspace = load_workspace(example)
    [item] = [r for r in render_models(workspace) if r.name == "scorer"]
    return {obj["kind"]: obj for obj in item.environments["prod"] or []}


def _slo_findings(example: Path) -> list[dict[str, Any]]:
    result = run_cli(["validate", "--format", "json"], cwd=example)
    return [f for f in json.loads(result.stdout)["findings"] if f["id"] == "slo-alerted" and f["environment"] == "prod"]


def _alert_names(rule: dict[str, Any]) -> set[str]:
    return {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}


def _counters(metric: str, ok: str, failed: str, ok_per_minute: int, failed_per_minute: int) -> list[dict[str, str]]:
    return [
        {"series": f"{metric}{{{SEL},{ok}}}", "values": f"0+{ok_per_minute}x120"},
        {"series": f"{metric}{{{SEL},{failed}}}", "values": f"0+{failed_per_minute}x120"},
    ]


def _error_rate_fires_above_and_quiet_below(
    rule: dict[str, Any], tmp_path: Path, series: Any, objective_percent: float
) -> None:
    """`series(errors_per_minute, ok_per_minute)`: input series; 5x the objective fires, a tenth stays quiet."""
    alert = _alert(rule, "ModelErrorRateAboveSLO")
    high = round(objective_percent * 5)
    _promtool_test(
        tmp_path,
        _rule_file(rule, tmp_path),
        [
            {
                "interval": "1m",
                "input_series": series(high, 100 - high),
                "alert_rule_test": [
                    {"eval_time": "60m", "alertname": "ModelErrorRateAboveSLO", "exp_alerts": [_expected(alert)]}
                ],
            },
            {
                "interval": "1m",
                "input_series": series(1, 999),  # 0.1%
                "alert_rule_test": [
                    {"eval_time": "60m", "alertname": "ModelErrorRateAboveSLO", "exp_alerts": []},
                    {"eval_time": "60m", "alertname": "ModelErrorBudgetBurn", "exp_alerts": []},
                ],
            },
        ],
    )


# --------------------------------------------------------------------------- Knative releases


@pytest.mark.parametrize(
    ("request_metrics", "histogram"),
    [
        ("opentelemetry", "kn_serving_invocation_duration_seconds"),  # 1.20.1+, KServe v0.20's 1.21
        ("opentelemetry-1.19", "kn_queueproxy_app_duration_seconds"),  # 1.19.0 - 1.20.0
    ],
)
def test_knative_opentelemetry_names_per_release(
    tmp_path: Path, request_metrics: str, histogram: str, crds_dir: Path
) -> None:
    example = copy_example(tmp_path / "example")
    project = example / "mlgitops.yaml"
    project.write_text(
        project.read_text().replace(
            "requestMetricsPrometheus: true}",
            f"requestMetricsPrometheus: true, requestMetrics: {request_metrics}}}",
        )
    )
    _write_model(
        example,
        "mode: Knative, autoscaling: {metric: concurrency}",
        "{slo: {latencyP95Ms: 500, errorRatePercent: 1, availabilityPercent: 99.9}}",
    )
    objects = _prod_objects(example)
    assert objects["PodMonitor"]["spec"]["podMetricsEndpoints"][0]["port"] == "http-usermetric"
    rule = objects["PrometheusRule"]
    assert {"ModelLatencyP95AboveSLO", "ModelErrorRateAboveSLO", "ModelErrorBudgetBurn"} <= _alert_names(rule)
    assert _slo_findings(example) == []

    def series(errors: int, ok: int) -> list[dict[str, str]]:
        return _counters(
            f"{histogram}_count", 'http_response_status_code="200"', 'http_response_status_code="500"', ok, errors
        )

    _error_rate_fires_above_and_quiet_below(rule, tmp_path, series, 1)
    latency = _alert(rule, "ModelLatencyP95AboveSLO")
    labels = f'{SEL},http_response_status_code="200"'
    _promtool_test(
        tmp_path,
        _rule_file(rule, tmp_path),
        [
            {
                "interval": "1m",
                "input_series": _buckets(f"{histogram}_bucket", labels, {"0.25": 60, "0.5": 60, "+Inf": 60}, 40),
                "alert_rule_test": [{"eval_time": "30m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": []}],
            },
            {
                "interval": "1m",
                "input_series": _buckets(f"{histogram}_bucket", labels, {"0.5": 10, "1": 60, "+Inf": 60}, 40),
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": [_expected(latency)]}
                ],
            },
        ],
    )


def test_knative_opencensus_latency_is_converted_from_milliseconds(tmp_path: Path) -> None:
    example = copy_example(tmp_path / "example")
    project = example / "mlgitops.yaml"
    project.write_text(
        project.read_text().replace(
            "requestMetricsPrometheus: true}", "requestMetricsPrometheus: true, requestMetrics: opencensus}"
        )
    )
    _write_model(
        example, "mode: Knative, autoscaling: {metric: concurrency}", "{slo: {latencyP95Ms: 4000, errorRatePercent: 2}}"
    )
    rule = _prod_objects(example)["PrometheusRule"]
    exprs = " ".join(r["expr"] for g in rule["spec"]["groups"] for r in g["rules"])
    assert (
        'revision_app_request_count{mlgitops_model="scorer",mlgitops_environment="prod",response_code_class="5xx"}'
        in exprs
    )
    alert = _alert(rule, "ModelLatencyP95AboveSLO")
    labels = f'{SEL},response_code_class="2xx"'
    metric = "revision_app_request_latencies_bucket"
    _promtool_test(
        tmp_path,
        _rule_file(rule, tmp_path),
        [
            {
                "interval": "1m",
                "input_series": _buckets(metric, labels, {"1000": 50, "2000": 60, "5000": 60, "+Inf": 60}, 40),
                "alert_rule_test": [{"eval_time": "30m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": []}],
            },
            {
                "interval": "1m",
                "input_series": _buckets(metric, labels, {"2000": 0, "5000": 30, "10000": 60, "+Inf": 60}, 40),
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": [_expected(alert)]}
                ],
            },
        ],
    )

    def series(errors: int, ok: int) -> list[dict[str, str]]:
        return _counters(
            "revision_app_request_count", 'response_code_class="2xx"', 'response_code_class="5xx"', ok, errors
        )

    _error_rate_fires_above_and_quiet_below(rule, tmp_path, series, 2)


# --------------------------------------------------------------------------- Standard mode runtimes


def test_triton_error_ratio_from_its_success_and_failure_counters(tmp_path: Path, crds_dir: Path) -> None:
    example = copy_example(tmp_path / "example")
    path = _write_model(
        example,
        "runtime: kserve-tritonserver",
        "{slo: {errorRatePercent: 1, latencyP95Ms: 100}, alerts: {noTraffic: true}}",
        fmt="onnx",
    )
    objects = _prod_objects(example)
    endpoint = objects["PodMonitor"]["spec"]["podMetricsEndpoints"][0]
    assert (endpoint["portNumber"], endpoint["path"]) == (8002, "/metrics")  # config/runtimes/kserve-tritonserver.yaml
    schemas = load_crd_schemas(crds_dir)
    assert schemas.validate(objects["PodMonitor"]) == [] and schemas.validate(objects["PrometheusRule"]) == []
    rule = objects["PrometheusRule"]
    assert "ModelLatencyP95AboveSLO" not in _alert_names(rule)

    def series(errors: int, ok: int) -> list[dict[str, str]]:
        return [
            {"series": f'nv_inference_request_success{{{SEL},model="scorer",version="1"}}', "values": f"0+{ok}x120"},
            {
                "series": f'nv_inference_request_failure{{{SEL},model="scorer",version="1"}}',
                "values": f"0+{errors}x120",
            },
        ]

    _error_rate_fires_above_and_quiet_below(rule, tmp_path, series, 1)
    # Triton has no latency histogram: validate says so at the objective's line, and nothing else
    [finding] = _slo_findings(example)
    line = (
        path.read_text()
        .splitlines()
        .index("monitoring: {slo: {errorRatePercent: 1, latencyP95Ms: 100}, alerts: {noTraffic: true}}")
    )
    assert (finding["file"], finding["line"]) == ("models/scorer.yaml", line + 1)
    assert "latencyP95Ms" in finding["message"] and "no latency histogram" in finding["message"]


@pytest.mark.parametrize(
    "serving",
    [
        "engine: kserve, mode: Standard, runtime: kserve-sklearnserver",
        "engine: deployment",
    ],
)
def test_python_server_error_objectives_are_reported_at_their_line(tmp_path: Path, serving: str) -> None:
    example = copy_example(tmp_path / "example")
    monitoring = "\n  slo: {latencyP95Ms: 200, errorRatePercent: 1, availabilityPercent: 99.5}"
    path = _write_model(example, serving, monitoring)
    rule = _prod_objects(example)["PrometheusRule"]
    assert _alert_names(rule) == {"ModelLatencyP95AboveSLO"}  # the latency histogram is there
    findings = _slo_findings(example)
    lines = path.read_text().splitlines()
    assert {f["line"] for f in findings} == {lines.index(monitoring.splitlines()[1]) + 1}
    assert sorted(f["message"].split(" is not")[0] for f in findings) == [
        "monitoring.slo.availabilityPercent",
        "monitoring.slo.errorRatePercent",
    ]
    assert all("KServe's Python model server counts no responses by status" in f["message"] for f in findings)
    assert run_cli(["validate"], cwd=example).exit_code == 1
    # a waiver with a reason, in Git, is the deliberate way out
    _write_model(
        example,
        serving,
        monitoring,
        extra="policies: {disabled: [{id: slo-alerted, reason: the gateway alerts on 5xx, environments: [prod]}]}\n",
    )
    assert _slo_findings(example) == []


@pytest.mark.parametrize(
    "serving",
    [
        "engine: kserve, mode: Standard, runtime: kserve-mlserver",
        "engine: kserve, mode: Standard, image: ghcr.io/acme/server:1.0",
        "engine: deployment",
    ],
)
def test_declared_series_are_alerted_on(tmp_path: Path, serving: str, crds_dir: Path) -> None:
    example = copy_example(tmp_path / "example")
    monitoring = (
        "{slo: {latencyP95Ms: 300, errorRatePercent: 2}, alerts: {noTraffic: true},"
        " metrics: {port: 8082, requests: rest_server_requests_total,"
        " errors: 'rest_server_requests_total{status_code=~\"5..\"}',"
        " latency: 'rest_server_request_duration_milliseconds{path=~\"/v2/models/.*\"}',"
        " latencyUnit: milliseconds}}"
    )
    _write_model(example, serving, monitoring)
    objects = _prod_objects(example)
    assert objects["PodMonitor"]["spec"]["podMetricsEndpoints"][0]["portNumber"] == 8082
    schemas = load_crd_schemas(crds_dir)
    assert schemas.validate(objects["PodMonitor"]) == []
    rule = objects["PrometheusRule"]
    assert {"ModelLatencyP95AboveSLO", "ModelErrorRateAboveSLO", "ModelNoTraffic"} <= _alert_names(rule)
    assert _slo_findings(example) == []

    def series(errors: int, ok: int) -> list[dict[str, str]]:
        return _counters("rest_server_requests_total", 'status_code="200"', 'status_code="502"', ok, errors)

    _error_rate_fires_above_and_quiet_below(rule, tmp_path, series, 2)
    latency = _alert(rule, "ModelLatencyP95AboveSLO")
    metric = "rest_server_request_duration_milliseconds_bucket"
    infer = f'{SEL},path="/v2/models/scorer/infer"'
    probes = _buckets(metric, f'{SEL},path="/v2/health/ready"', {"100": 600, "250": 600, "+Inf": 600}, 40)
    _promtool_test(
        tmp_path,
        _rule_file(rule, tmp_path),
        [
            {
                "interval": "1m",
                "input_series": _buckets(metric, infer, {"100": 58, "250": 60, "+Inf": 60}, 40),
                "alert_rule_test": [{"eval_time": "30m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": []}],
            },
            {
                "interval": "1m",
                # slow inference among many fast health probes: the path matcher keeps the probes out
                "input_series": _buckets(metric, infer, {"250": 10, "1000": 60, "+Inf": 60}, 40) + probes,
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": [_expected(latency)]}
                ],
            },
        ],
    )


def test_mlserver_error_ratio_from_its_own_counters_on_its_metrics_port(tmp_path: Path) -> None:
    example = copy_example(tmp_path / "example")
    _write_model(example, "runtime: kserve-mlserver", "{slo: {availabilityPercent: 99, latencyP95Ms: 100}}")
    objects = _prod_objects(example)
    assert objects["PodMonitor"]["spec"]["podMetricsEndpoints"][0]["portNumber"] == 8082  # MLServer's metrics_port
    rule = objects["PrometheusRule"]
    fast = _alert(rule, "ModelErrorBudgetBurn", window="1h")
    slow = _alert(rule, "ModelErrorBudgetBurn", window="6h")

    def series(errors: int, ok: int) -> list[dict[str, str]]:
        labels = f'{SEL},model="scorer",version="None"'
        return [
            {"series": f"model_infer_request_success_total{{{labels}}}", "values": f"0+{ok}x120"},
            {"series": f"model_infer_request_failure_total{{{labels}}}", "values": f"0+{errors}x120"},
        ]

    _promtool_test(
        tmp_path,
        _rule_file(rule, tmp_path),
        [
            {
                "interval": "1m",
                "input_series": series(20, 80),
                "alert_rule_test": [
                    {
                        "eval_time": "90m",
                        "alertname": "ModelErrorBudgetBurn",
                        "exp_alerts": [_expected(fast), _expected(slow)],
                    }
                ],
            },
            {
                "interval": "1m",
                "input_series": series(1, 199),  # 0.5%: within the 1% budget's pace
                "alert_rule_test": [{"eval_time": "90m", "alertname": "ModelErrorBudgetBurn", "exp_alerts": []}],
            },
        ],
    )
    [finding] = _slo_findings(example)  # MLServer's latency is a Summary without quantiles
    assert finding["message"].startswith("monitoring.slo.latencyP95Ms is not alerted on in prod: no latency histogram")


def test_unknown_runtime_without_declared_series_reports_every_objective(tmp_path: Path) -> None:
    example = copy_example(tmp_path / "example")
    _write_model(
        example,
        "runtime: kserve-torchserve",
        "{slo: {latencyP95Ms: 100, availabilityPercent: 99}, alerts: {noTraffic: true}}",
        fmt="pytorch",
    )
    objects = _prod_objects(example)
    assert objects["PodMonitor"]["spec"]["podMetricsEndpoints"][0]["portNumber"] == 8082  # kserve-torchserve.yaml
    assert "PrometheusRule" not in objects  # nothing to record or alert on
    fields = sorted(f["message"].split(" is not")[0] for f in _slo_findings(example))
    assert fields == [
        "monitoring.alerts.noTraffic",
        "monitoring.slo.availabilityPercent",
        "monitoring.slo.latencyP95Ms",
    ]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("requests", "'rate(x[5m])'", "not a series selector"),
        ("requests", "'x{code=5}'", "not a label matcher"),
        ("errors", "'x{code=\"5\"}'", "errors needs requests"),
        ("latency", "'x_bucket'", "without _bucket"),
        ("latency", "'x{le=\"1\"}'", "the le label"),
        ("requests", "'x{path=\"" + "a" * 1000 + "\"}'", "at most 1000 characters"),
    ],
)
def test_malformed_declared_series_are_positioned_spec_errors(
    tmp_path: Path, field: str, value: str, expected: str
) -> None:
    example = copy_example(tmp_path / "example")
    _write_model(example, "runtime: kserve-sklearnserver", f"{{metrics: {{{field}: {value}}}}}")
    before = {p: p.read_bytes() for p in (example / "overlays").rglob("*") if p.is_file()}
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    assert result.stderr.startswith("models/scorer.yaml:6:") and expected in result.stderr, result.stderr
    assert {p: p.read_bytes() for p in (example / "overlays").rglob("*") if p.is_file()} == before


def test_series_selectors_compose_with_the_scrape_labels() -> None:
    assert parse_series("x").select('a="1"') == 'x{a="1"}'
    assert parse_series('x{code=~"5..", path!="/metrics"}').select('a="1"') == 'x{a="1",code=~"5..",path!="/metrics"}'
    assert parse_series('{__name__=~"a|b"}').select('a="1"') == '{a="1",__name__=~"a|b"}'
    assert parse_series('x{v="a,b}"}').matchers == 'v="a,b}"'
    for bad in ("", "{}", 'x{a="1"} or y', "x[5m]", 'x{a="1"', '{a="1"}'):
        with pytest.raises(ValueError):
            parse_series(bad)


# --------------------------------------------------------------------------- Argo Workflows controller


def test_training_alert_reads_argo_namespace_with_or_without_honor_labels(tmp_path: Path) -> None:
    example = copy_example(tmp_path / "example")
    workspace = load_workspace(example)
    [item] = [r for r in render_models(workspace) if r.name == "fraud-detector"]
    [rule] = [o for o in item.environments["prod"] or [] if o["kind"] == "PrometheusRule"]
    alert = _alert(rule, "ModelTrainingNotSucceeded")
    base = (
        "argo_workflows_workflowtemplate_triggered_total"
        '{name="fraud-detector-train",phase="Succeeded",cluster_scope="false"'
    )
    honored = base + ',namespace="ml-prod"}'
    renamed = base + ',namespace="argo",exported_namespace="ml-prod"}'  # honorLabels: false
    other = base + ',namespace="argo",exported_namespace="ml-staging"}'  # another environment's runs
    weekly = "0+0x5 1+0x167 2+0x167 3+0x20"
    tests: list[dict[str, Any]] = []
    for series in (honored, renamed):
        tests.append(
            {
                "interval": "1h",
                "input_series": [{"series": series, "values": weekly}],
                "alert_rule_test": [{"eval_time": "15d", "alertname": "ModelTrainingNotSucceeded", "exp_alerts": []}],
            }
        )
    tests.append(
        {  # only another namespace's template succeeds: fires
            "interval": "1h",
            "input_series": [{"series": other, "values": weekly}],
            "alert_rule_test": [
                {"eval_time": "15d", "alertname": "ModelTrainingNotSucceeded", "exp_alerts": [_expected(alert)]}
            ],
        }
    )
    _promtool_test(tmp_path, _rule_file(rule, tmp_path), tests, interval="30m")


def test_the_documented_controller_pod_monitor_validates(crds_dir: Path) -> None:
    """docs/monitoring.md's PodMonitor for the Argo Workflows controller (mlgitops renders none)."""
    import yaml

    text = (Path(__file__).parents[2] / "docs/monitoring.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml not-spec\n")[1:]]
    [monitor] = [yaml.safe_load(b) for b in blocks if "argo-workflow-controller" in b]
    schemas = load_crd_schemas(crds_dir)
    assert schemas.validate(monitor) == []
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    # Argo Workflows v4 serves metrics over TLS with a self-signed certificate (config/config.go:427-442).
    assert endpoint == {
        "port": "metrics",
        "path": "/metrics",
        "honorLabels": True,
        "scheme": "https",
        "tlsConfig": {"insecureSkipVerify": True},
    }
    assert monitor["spec"]["selector"] == {"matchLabels": {"app": "workflow-controller"}}
    misspelt = {**monitor, "spec": {**monitor["spec"], "podMetricsEndpoints": [{**endpoint, "honorLabel": True}]}}
    assert schemas.validate(misspelt) != []  # the CRD schema is strict enough to catch a typo


@pytest.mark.parametrize(
    ("serving", "fmt", "monitoring"),
    [
        ("runtime: kserve-tritonserver", "onnx", "{slo: {availabilityPercent: 99.9}, alerts: {noTraffic: true}}"),
        ("runtime: kserve-mlserver", "sklearn", "{slo: {errorRatePercent: 1}, dashboard: true}"),
        (
            "engine: deployment",
            "sklearn",
            "{slo: {latencyP95Ms: 80, errorRatePercent: 1}, metrics: {requests: 'x_total{a=\"b\"}',"
            ' errors: \'x_total{a="b",code=~"5.."}\'}}',
        ),
    ],
)
def test_promtool_check_rules_accepts_every_new_shape(tmp_path: Path, serving: str, fmt: str, monitoring: str) -> None:
    import subprocess

    from tests.render.test_monitoring import _promtool

    example = copy_example(tmp_path / "example")
    _write_model(example, serving, monitoring, fmt=fmt)
    objects = _prod_objects(example)
    rule_file = _rule_file(objects["PrometheusRule"], tmp_path)
    result = subprocess.run([_promtool(), "check", "rules", str(rule_file)], capture_output=True, text=True)
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
