"""Monitoring objects (render/monitoring.py): field by field per engine and mode, against the Prometheus
Operator CRDs, and the rules run through the real promtool (`promtool check rules`, `promtool test rules`).

promtool comes from Debian's `prometheus` package (`make promtool`, .ci/install-promtool); `make test` and
.ci/run install it first where they can. Without it the promtool tests skip with the reason (set PROMTOOL, or
put promtool on PATH), and fail under MLGITOPS_REQUIRE_ALL=1 (CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.checks.schemas.crd import load_crd_schemas
from mlgitops.language.loader import load_workspace
from mlgitops.render.monitoring import PROJECT_LABEL
from mlgitops.render.pipeline import render_models
from tests.conftest import copy_example, run_cli, unavailable

Objects = dict[tuple[str, str], dict[str, Any]]


def _promtool() -> str:
    candidates = [
        os.environ.get("PROMTOOL", ""),
        str(Path(os.environ.get("PROMTOOL_PREFIX", "/opt/prometheus-deb")) / "usr/bin/promtool"),
        shutil.which("promtool") or "",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    unavailable(
        "promtool not found: run `make promtool` (.ci/install-promtool: Debian's package, needs apt-get and root), "
        "or install Prometheus' release archive and set PROMTOOL=/path/to/promtool"
    )
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Objects]:
    """The bundled example's objects, by environment and (kind, name)."""
    example = copy_example(tmp_path_factory.mktemp("monitoring") / "example")
    workspace = load_workspace(example)
    out: dict[str, Objects] = {}
    for env in workspace.project.environment_names:
        objects: Objects = {}
        for item in render_models(workspace):
            for obj in item.environments.get(env) or []:
                objects[(obj["kind"], obj["metadata"]["name"])] = obj
        out[env] = objects
    return out


def _endpoint(monitor: dict[str, Any]) -> dict[str, Any]:
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    return dict(endpoint)


def test_kserve_knative_scrapes_the_queue_proxy(rendered: dict[str, Objects]) -> None:
    monitor = rendered["prod"][("PodMonitor", "support-llm")]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["spec"]["selector"] == {
        "matchLabels": {"serving.kserve.io/inferenceservice": "support-llm", "component": "predictor"}
    }
    endpoint = _endpoint(monitor)
    assert (endpoint["port"], endpoint["path"], endpoint["interval"]) == ("http-usermetric", "/metrics", "30s")
    assert "portNumber" not in endpoint
    labels = {r["targetLabel"]: r["replacement"] for r in endpoint["relabelings"]}
    assert labels == {"mlgitops_model": "support-llm", "mlgitops_environment": "prod"}
    exprs = " ".join(
        r["expr"] for g in rendered["prod"][("PrometheusRule", "support-llm")]["spec"]["groups"] for r in g["rules"]
    )
    # Knative 1.21 (KServe v0.20's): the OpenTelemetry names, the default clusterFeatures.knative.requestMetrics
    assert "kn_serving_invocation_duration_seconds_count" in exprs
    assert "kn_serving_invocation_duration_seconds_bucket" in exprs
    assert "request_predict_seconds" not in exprs and "revision_app_request" not in exprs


def test_kserve_standard_scrapes_the_model_server_port(rendered: dict[str, Objects]) -> None:
    monitor = rendered["prod"][("PodMonitor", "fraud-detector")]
    endpoint = _endpoint(monitor)
    assert (endpoint["portNumber"], endpoint["path"]) == (8080, "/metrics")
    assert "port" not in endpoint
    rule = rendered["prod"][("PrometheusRule", "fraud-detector")]
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    assert any("request_predict_seconds_bucket" in e for e in exprs)
    # the Python model server counts no responses by status: no error-ratio rules, no burn-rate alerts
    assert not any("error_ratio" in e for e in exprs)


def test_the_same_model_on_knative_in_dev_scrapes_the_queue_proxy(rendered: dict[str, Objects]) -> None:
    endpoint = _endpoint(rendered["dev"][("PodMonitor", "fraud-detector")])
    assert endpoint["port"] == "http-usermetric"
    alerts = {
        r.get("alert")
        for g in rendered["dev"][("PrometheusRule", "fraud-detector")]["spec"]["groups"]
        for r in g["rules"]
    }
    assert {"ModelErrorRateAboveSLO", "ModelErrorBudgetBurn", "ModelLatencyP95AboveSLO"} <= alerts
    assert "ModelNoTraffic" not in alerts  # set in prod only
    assert "ModelTrainingNotSucceeded" not in alerts  # trains in prod only


def test_deployment_engine_scrapes_its_container_port(rendered: dict[str, Objects]) -> None:
    monitor = rendered["prod"][("PodMonitor", "churn-scorer")]
    assert monitor["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "churn-scorer",
        "app.kubernetes.io/component": "predictor",
    }
    deployment = rendered["prod"][("Deployment", "churn-scorer-predictor")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    canary = rendered["prod"][("Deployment", "churn-scorer-predictor-canary")]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= canary["spec"]["template"]["metadata"]["labels"].items()
    )
    [port] = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert _endpoint(monitor)["port"] == port["name"] == "http"


def test_project_label_selects_every_monitoring_object(rendered: dict[str, Objects]) -> None:
    for env, objects in rendered.items():
        monitoring = [o for (kind, _), o in objects.items() if kind in ("PodMonitor", "PrometheusRule")]
        assert len(monitoring) == 6, env  # three models, one monitor and one rule object each
        for obj in monitoring:
            assert obj["metadata"]["labels"][PROJECT_LABEL] == "acme-ml"
            assert "app.kubernetes.io/version" not in obj["metadata"]["labels"]


def test_dashboard_is_a_grafana_sidecar_config_map(rendered: dict[str, Objects]) -> None:
    board = rendered["prod"][("ConfigMap", "fraud-detector-dashboard")]
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    content = yaml.safe_load(board["data"]["fraud-detector.json"])  # JSON is YAML
    assert content["title"] == "acme-ml / fraud-detector (prod)"
    assert any("p95" in p["title"] for p in content["panels"])
    assert ("ConfigMap", "churn-scorer-dashboard") not in rendered["prod"]  # dashboard: false


def test_objects_validate_against_the_prometheus_operator_crds(rendered: dict[str, Objects], crds_dir: Path) -> None:
    schemas = load_crd_schemas(crds_dir)
    checked = 0
    for objects in rendered.values():
        for (kind, _), obj in objects.items():
            if kind in ("PodMonitor", "PrometheusRule"):
                assert schemas.has(obj["apiVersion"], kind)
                assert schemas.validate(obj) == [], obj["metadata"]["name"]
                checked += 1
    assert checked == 18
    broken = dict(rendered["prod"][("PodMonitor", "support-llm")])
    broken["spec"] = {**broken["spec"], "podMetricsEndpoint": []}  # misspelt: the CRD refuses it
    assert schemas.validate(broken) != []


def test_monitoring_can_be_disabled_per_environment(tmp_path: Path) -> None:
    example = copy_example(tmp_path / "example")
    path = example / "models/churn-scorer.yaml"
    path.write_text(
        path.read_text().replace(
            "    serving: {replicas: {min: 1}}", "    serving: {replicas: {min: 1}}\n    monitoring: {enabled: false}"
        )
    )
    workspace = load_workspace(example)
    [render] = [r for r in render_models(workspace) if r.name == "churn-scorer"]
    kinds = {env: {o["kind"] for o in objs or []} for env, objs in render.environments.items()}
    assert "PodMonitor" not in kinds["dev"]
    assert {"PodMonitor", "PrometheusRule"} <= kinds["staging"]
    assert not {"PodMonitor", "PrometheusRule"} & {o["kind"] for o in render.base}  # base: none


# --------------------------------------------------------------------------- promtool


def _rule_file(rule: dict[str, Any], directory: Path) -> Path:
    path = directory / f"{rule['metadata']['name']}.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    return path


def _alert(rule: dict[str, Any], name: str, **match: str) -> dict[str, Any]:
    for group in rule["spec"]["groups"]:
        for item in group["rules"]:
            if item.get("alert") == name and all(item["labels"].get(k) == v for k, v in match.items()):
                return dict(item)
    raise AssertionError(f"no alert {name} {match}")


def _expected(alert: dict[str, Any]) -> dict[str, Any]:
    return {"exp_labels": dict(alert["labels"]), "exp_annotations": dict(alert["annotations"])}


def _promtool_test(tmp_path: Path, rule_file: Path, tests: list[dict[str, Any]], interval: str = "1m") -> None:
    spec = {"rule_files": [rule_file.name], "evaluation_interval": interval, "tests": tests}
    test_file = tmp_path / "test.yaml"
    test_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    result = subprocess.run(
        [_promtool(), "test", "rules", test_file.name], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules_accepts_every_rendered_rule_file(rendered: dict[str, Objects], tmp_path: Path) -> None:
    files = [
        _rule_file(obj, tmp_path / env)
        for env, objects in rendered.items()
        for (kind, _), obj in objects.items()
        if kind == "PrometheusRule" and (tmp_path / env).mkdir(exist_ok=True) is None
    ]
    assert len(files) == 9
    result = subprocess.run(
        [_promtool(), "check", "rules", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 9


def _buckets(metric: str, labels: str, counts: dict[str, int], minutes: int) -> list[dict[str, str]]:
    """Cumulative histogram buckets growing by `counts[le]` requests per minute."""
    return [
        {"series": f'{metric}{{{labels},le="{le}"}}', "values": f"0+{per_minute}x{minutes}"}
        for le, per_minute in counts.items()
    ]


def test_latency_alert_fires_above_the_slo_and_stays_quiet_below(rendered: dict[str, Objects], tmp_path: Path) -> None:
    rule = rendered["prod"][("PrometheusRule", "fraud-detector")]  # Standard mode, p95 objective 250 ms
    alert = _alert(rule, "ModelLatencyP95AboveSLO")
    assert alert["expr"].endswith("> 0.25")
    labels = 'mlgitops_model="fraud-detector",mlgitops_environment="prod",model_name="fraud-detector"'
    fast = {"0.1": 57, "0.25": 58, "0.5": 60, "+Inf": 60}  # p95 ≈ 0.1-0.25 s: 58/60 under 250 ms
    slow = {"0.1": 10, "0.25": 20, "0.5": 60, "+Inf": 60}  # p95 between 250 and 500 ms
    metric = "request_predict_seconds_bucket"
    _promtool_test(
        tmp_path,
        _rule_file(rule, tmp_path),
        [
            {
                "interval": "1m",
                "input_series": _buckets(metric, labels, fast, 40),
                "alert_rule_test": [{"eval_time": "30m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": []}],
            },
            {
                "interval": "1m",
                "input_series": _buckets(metric, labels, slow, 40),
                "alert_rule_test": [
                    {"eval_time": "8m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": []},  # pending (for: 10m)
                    {"eval_time": "30m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": [_expected(alert)]},
                ],
                "promql_expr_test": [
                    {
                        "expr": 'round(mlgitops:request_latency_seconds:p95_5m{mlgitops_model="fraud-detector"} * 1e5)',
                        "eval_time": "30m",
                        "exp_samples": [
                            {
                                "labels": '{mlgitops_environment="prod",mlgitops_model="fraud-detector"}',
                                "value": 48125,  # 0.25 s + (0.95*60 - 20) / 40 * 0.25 s, interpolated in its bucket
                            }
                        ],
                    }
                ],
            },
        ],
    )


def test_knative_latency_alert_reads_the_queue_proxy_histogram(rendered: dict[str, Objects], tmp_path: Path) -> None:
    rule = rendered["prod"][("PrometheusRule", "support-llm")]  # Knative, p95 objective 4000 ms
    alert = _alert(rule, "ModelLatencyP95AboveSLO")
    labels = 'mlgitops_model="support-llm",mlgitops_environment="prod",http_response_status_code="200"'
    metric = "kn_serving_invocation_duration_seconds_bucket"  # seconds; buckets of pkg/queue/request_metric.go
    under = {"1": 50, "2.5": 60, "5": 60, "+Inf": 60}  # p95 in 1-2.5 s
    over = {"1": 0, "2.5": 0, "5": 30, "7.5": 45, "10": 60, "+Inf": 60}  # p95 in 7.5-10 s
    _promtool_test(
        tmp_path,
        _rule_file(rule, tmp_path),
        [
            {
                "interval": "1m",
                "input_series": _buckets(metric, labels, under, 40),
                "alert_rule_test": [{"eval_time": "30m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": []}],
            },
            {
                "interval": "1m",
                "input_series": _buckets(metric, labels, over, 40),
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": "ModelLatencyP95AboveSLO", "exp_alerts": [_expected(alert)]}
                ],
            },
        ],
    )


def _requests(errors_per_minute: int, ok_per_minute: int, minutes: int) -> list[dict[str, str]]:
    labels = 'mlgitops_model="support-llm",mlgitops_environment="prod"'
    return [
        {
            "series": f'kn_serving_invocation_duration_seconds_count{{{labels},http_response_status_code="200"}}',
            "values": f"0+{ok_per_minute}x{minutes}",
        },
        {
            "series": f'kn_serving_invocation_duration_seconds_count{{{labels},http_response_status_code="503"}}',
            "values": f"0+{errors_per_minute}x{minutes}",
        },
    ]


def test_burn_rate_alerts_fire_at_their_error_ratios(rendered: dict[str, Objects], tmp_path: Path) -> None:
    rule = rendered["prod"][("PrometheusRule", "support-llm")]  # availability 99%: budget 1%
    fast = _alert(rule, "ModelErrorBudgetBurn", window="1h")
    slow = _alert(rule, "ModelErrorBudgetBurn", window="6h")
    assert "> 0.144" in fast["expr"] and "> 0.06" in slow["expr"]  # 14.4 and 6 times the budget
    assert (fast["labels"]["severity"], slow["labels"]["severity"]) == ("page", "ticket")
    burn = "ModelErrorBudgetBurn"
    _promtool_test(
        tmp_path,
        _rule_file(rule, tmp_path),
        [
            {  # 20% errors: above 14.4x and 6x the budget
                "interval": "1m",
                "input_series": _requests(20, 80, 120),
                "alert_rule_test": [
                    {"eval_time": "90m", "alertname": burn, "exp_alerts": [_expected(fast), _expected(slow)]}
                ],
            },
            {  # 10% errors: the slow burn (6x) only
                "interval": "1m",
                "input_series": _requests(10, 90, 120),
                "alert_rule_test": [{"eval_time": "90m", "alertname": burn, "exp_alerts": [_expected(slow)]}],
            },
            {  # 1% errors: within the budget's pace (also under the 2% error-rate objective)
                "interval": "1m",
                "input_series": _requests(1, 99, 120),
                "alert_rule_test": [
                    {"eval_time": "90m", "alertname": burn, "exp_alerts": []},
                    {"eval_time": "90m", "alertname": "ModelErrorRateAboveSLO", "exp_alerts": []},
                    {"eval_time": "90m", "alertname": "ModelNoTraffic", "exp_alerts": []},
                ],
            },
            {  # no request at all: the prod no-traffic alert
                "interval": "1m",
                "input_series": _requests(0, 0, 60),
                "alert_rule_test": [
                    {
                        "eval_time": "45m",
                        "alertname": "ModelNoTraffic",
                        "exp_alerts": [
                            {
                                "exp_labels": dict(_alert(rule, "ModelNoTraffic")["labels"]),
                                "exp_annotations": dict(_alert(rule, "ModelNoTraffic")["annotations"]),
                            }
                        ],
                    }
                ],
            },
        ],
    )


def test_training_alert_fires_when_no_run_succeeded_for_days(rendered: dict[str, Objects], tmp_path: Path) -> None:
    rule = rendered["prod"][("PrometheusRule", "fraud-detector")]  # weekly schedule, default 8 days
    alert = _alert(rule, "ModelTrainingNotSucceeded")
    series = (
        "argo_workflows_workflowtemplate_triggered_total"
        '{name="fraud-detector-train",namespace="ml-prod",phase="Succeeded",cluster_scope="false"}'
    )
    _promtool_test(
        tmp_path,
        _rule_file(rule, tmp_path),
        [
            {  # succeeded once on day 1, then never: fires 8 days later (and the 1h `for`)
                "interval": "1h",
                "input_series": [{"series": series, "values": "0+0x24 1+0x300"}],
                "alert_rule_test": [
                    {"eval_time": "7d", "alertname": "ModelTrainingNotSucceeded", "exp_alerts": []},
                    {"eval_time": "10d", "alertname": "ModelTrainingNotSucceeded", "exp_alerts": [_expected(alert)]},
                ],
            },
            {  # one success every 4 days: quiet
                "interval": "1h",
                "input_series": [{"series": series, "values": "0+0x5 1+0x95 2+0x95 3+0x95 4+0x10"}],
                "alert_rule_test": [{"eval_time": "12d", "alertname": "ModelTrainingNotSucceeded", "exp_alerts": []}],
            },
        ],
        interval="30m",
    )


def test_validate_strict_accepts_the_example_with_monitoring(example: Path, crds_dir: Path) -> None:
    result = run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=example)
    assert result.exit_code == 0, result.stderr
