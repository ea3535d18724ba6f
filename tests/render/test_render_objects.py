"""What each spec block renders to: KServe (both modes, canary both ways), engine: deployment, Argo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgitops.language.loader import load_workspace
from mlgitops.render.pipeline import render_models
from tests.conftest import copy_example


@pytest.fixture(scope="module")
def objects(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str | None, str, str], dict[str, Any]]:
    """(model, env or None for base, kind, name) → object, for the bundled example."""
    repo = copy_example(tmp_path_factory.mktemp("example"))
    result: dict[tuple[str, str | None, str, str], dict[str, Any]] = {}
    for item in render_models(load_workspace(repo)):
        for obj in item.base:
            result[(item.name, None, obj["kind"], obj["metadata"]["name"])] = obj
        for env, objs in item.environments.items():
            for obj in objs or []:
                result[(item.name, env, obj["kind"], obj["metadata"]["name"])] = obj
    return result


def test_inference_service_standard_mode(objects: dict[Any, Any]) -> None:
    isvc = objects[("fraud-detector", "prod", "InferenceService", "fraud-detector")]
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    predictor = isvc["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (3, 10)
    assert (predictor["scaleMetric"], predictor["scaleTarget"]) == ("cpu", 70)
    assert predictor["serviceAccountName"] == "model-reader"
    model = predictor["model"]
    assert model["modelFormat"] == {"name": "sklearn"}
    assert (model["runtime"], model["protocolVersion"]) == ("kserve-sklearnserver", "v2")
    assert model["storageUri"] == "s3://ml-models/fraud-detector/6/model"
    assert model["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}}
    labels = isvc["metadata"]["labels"]
    assert labels["app.kubernetes.io/version"] == "6"
    assert labels["app.kubernetes.io/managed-by"] == "mlgitops"
    assert labels["app.kubernetes.io/part-of"] == "acme-ml"
    assert labels["domain"] == "payments"
    assert isvc["metadata"]["annotations"]["mlgitops.io/registry-uri"] == "models:/fraud-detector/6"
    assert isvc["metadata"]["annotations"]["mlgitops.io/owner"] == "team-risk"
    assert "namespace" not in isvc["metadata"]


def test_knative_mode_canary_splits_between_revisions(objects: dict[Any, Any]) -> None:
    # The example's staging canary runs in Knative mode: KServe's Standard mode routes a canary no traffic.
    isvc = objects[("fraud-detector", "staging", "InferenceService", "fraud-detector")]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
    assert isvc["metadata"]["labels"]["app.kubernetes.io/version"] == "7"
    assert isvc["metadata"]["annotations"]["mlgitops.io/canary-version"] == "8"
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "s3://ml-models/fraud-detector/8/model"
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert "canary" not in isvc["spec"]


def test_standard_mode_dark_launch_canary_declares_both_versions(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "r")
    path = repo / "models" / "fraud-detector.yaml"
    text = path.read_text()
    knative = "      mode: Knative                        # KServe splits canary traffic in Knative mode only\n"
    assert knative in text
    text = text.replace(knative, "").replace("      autoscaling: {metric: concurrency}\n", "", 1)
    path.write_text(text.replace("/8/model, trafficPercent: 10}", "/8/model, trafficPercent: 0}"))
    fraud = next(i for i in render_models(load_workspace(repo)) if i.name == "fraud-detector")
    [isvc] = [o for o in fraud.environments["staging"] or [] if o["kind"] == "InferenceService"]
    assert isvc["spec"]["predictor"]["model"]["storageUri"].endswith("/7/model")
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    [canary] = isvc["spec"]["canary"]
    assert canary["trafficPercent"] == 0
    assert canary["predictor"]["name"] == "v8"
    assert canary["predictor"]["model"]["name"] == "kserve-container"
    assert canary["predictor"]["model"]["storageUri"] == "s3://ml-models/fraud-detector/8/model"


def test_knative_mode_in_dev_scales_to_zero(objects: dict[Any, Any]) -> None:
    isvc = objects[("fraud-detector", "dev", "InferenceService", "fraud-detector")]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
    assert isvc["spec"]["predictor"]["minReplicas"] == 0


def test_gpu_serving_gets_limits_and_placement_from_its_class(objects: dict[Any, Any]) -> None:
    predictor = objects[("support-llm", None, "InferenceService", "support-llm")]["spec"]["predictor"]
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert predictor["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_workflow_template_is_a_gated_dag(objects: dict[Any, Any]) -> None:
    wt = objects[("fraud-detector", None, "WorkflowTemplate", "fraud-detector-train")]
    spec = wt["spec"]
    assert "generateName" not in wt["metadata"]
    assert spec["entrypoint"] == "pipeline"
    assert spec["serviceAccountName"] == "trainer"
    assert spec["activeDeadlineSeconds"] == 6 * 3600
    assert spec["podGC"] == {"strategy": "OnPodSuccess"}
    assert set(spec["ttlStrategy"]) == {"secondsAfterSuccess", "secondsAfterFailure"}
    # the spec's own parameters first, then the datasets' (tests/render/test_lineage.py)
    assert spec["arguments"]["parameters"][0] == {"name": "data-uri", "value": "s3://ml-data/fraud/2026-08/"}
    templates = {t["name"]: t for t in spec["templates"]}
    tasks = {t["name"]: t for t in templates["pipeline"]["dag"]["tasks"]}
    assert "depends" not in tasks["prepare"]
    assert tasks["train"]["depends"] == "prepare"
    assert tasks["train"]["arguments"]["artifacts"] == [
        {"name": "features", "from": "{{tasks.prepare.outputs.artifacts.features}}"}
    ]
    assert tasks["register"]["depends"] == "evaluate"
    assert tasks["register"]["when"] == (  # one expr tag: Argo's govaluate only sees true/false
        "{{= asFloat(trim(tasks['evaluate'].outputs.parameters['auc'])) >= 0.92 && "
        "asFloat(trim(tasks['evaluate'].outputs.parameters['p95_latency_ms'])) <= 50.0 }}"
    )
    assert tasks["reject"]["depends"] == "evaluate"  # fails the Workflow when a gate does not hold
    assert tasks["register"]["arguments"]["artifacts"] == [
        {"name": "model", "from": "{{tasks.train.outputs.artifacts.model}}"}
    ]
    assert templates["train"]["retryStrategy"]["limit"] == 2
    assert templates["train"]["timeout"] == "4h"
    assert templates["prepare"]["outputs"]["artifacts"][0]["name"] == "features"
    assert [p["name"] for p in templates["evaluate"]["outputs"]["parameters"]] == ["auc", "p95_latency_ms"]
    assert templates["register"]["container"]["command"] == ["python", "-m", "fraud.register"]
    env = {e["name"]: e["value"] for e in templates["train"]["container"]["env"]}
    assert env["DATA_URI"] == "{{workflow.parameters.data-uri}}"


def test_training_gpu_step_placement(objects: dict[Any, Any]) -> None:
    wt = objects[("support-llm", None, "WorkflowTemplate", "support-llm-train")]
    finetune = next(t for t in wt["spec"]["templates"] if t["name"] == "finetune")
    assert finetune["container"]["resources"]["limits"] == {"memory": "256Gi", "nvidia.com/gpu": "4"}
    assert finetune["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}


def test_cron_workflow_references_the_template(objects: dict[Any, Any]) -> None:
    cron = objects[("support-llm", "prod", "CronWorkflow", "support-llm-train")]
    assert cron["spec"]["schedules"] == ["0 2 * * 0"]
    assert cron["spec"]["timezone"] == "Europe/Berlin"
    assert cron["spec"]["workflowSpec"] == {"workflowTemplateRef": {"name": "support-llm-train"}}
    assert ("support-llm", "dev", "CronWorkflow", "support-llm-train") not in objects  # dev default: no schedule


def test_deployment_engine_objects(objects: dict[Any, Any]) -> None:
    deployment = objects[("churn-scorer", None, "Deployment", "churn-scorer-predictor")]
    pod = deployment["spec"]["template"]["spec"]
    assert "replicas" not in deployment["spec"]  # the HPA owns it
    assert pod["initContainers"][0]["args"] == ["gs://acme-models/churn-scorer/3/model.bst", "/mnt/models"]
    assert pod["containers"][0]["image"] == "kserve/xgbserver:v0.20.0"
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/v2/models/churn-scorer/ready"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert "app.kubernetes.io/version" not in selector  # selectors are immutable
    service = objects[("churn-scorer", None, "Service", "churn-scorer-predictor")]
    assert service["spec"]["selector"] == {
        "app.kubernetes.io/name": "churn-scorer",
        "app.kubernetes.io/component": "predictor",
    }
    hpa = objects[("churn-scorer", "prod", "HorizontalPodAutoscaler", "churn-scorer-predictor")]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (4, 16)
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 75


def test_deployment_engine_canary_is_weighted_by_replicas(objects: dict[Any, Any]) -> None:
    canary = objects[("churn-scorer", "prod", "Deployment", "churn-scorer-predictor-canary")]
    assert "replicas" not in canary["spec"]  # its own HPA owns the count
    hpa = objects[("churn-scorer", "prod", "HorizontalPodAutoscaler", "churn-scorer-predictor-canary")]
    # 20% of the pods beside 4..16 stable replicas
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 4)
    assert canary["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] == "4"
    assert ("churn-scorer", "staging", "Deployment", "churn-scorer-predictor-canary") not in objects


def test_defaults_never_invent_a_training_block(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "r")
    workspace = load_workspace(repo)
    churn = next(i for i in render_models(workspace) if i.name == "churn-scorer")
    assert all(o["kind"] not in ("WorkflowTemplate", "CronWorkflow") for o in churn.environments["dev"] or [])
