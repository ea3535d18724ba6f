"""`mlgitops build`: the environment's final manifests, built by the real Kustomize."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.conftest import kustomize_objects, object_identity, run_cli, snapshot_tree


def _objects(stream: str) -> dict[tuple[str, str, str, str], dict[str, object]]:
    return {object_identity(d): d for d in yaml.safe_load_all(stream) if d}


def test_build_equals_kustomize_of_the_committed_overlay(example: Path) -> None:
    for env in ("dev", "staging", "prod"):
        result = run_cli(["build", "--env", env], cwd=example)
        assert result.exit_code == 0, result.stderr
        assert _objects(result.stdout) == {object_identity(o): o for o in kustomize_objects(example / "overlays" / env)}


def test_build_one_model_prints_only_its_objects(example: Path) -> None:
    result = run_cli(["build", "--env", "prod", "--model", "fraud-detector"], cwd=example)
    assert result.exit_code == 0, result.stderr
    objects = _objects(result.stdout)
    smoke = {(k[1], k[3].rsplit("-", 1)[0]) for k in objects if k[3].startswith("fraud-detector-smoke-")}
    assert smoke == {("ConfigMap", "fraud-detector-smoke"), ("Job", "fraud-detector-smoke")}  # its tests:
    assert {(k[1], k[3]) for k in objects if not k[3].startswith("fraud-detector-smoke-")} == {
        ("InferenceService", "fraud-detector"),
        ("WorkflowTemplate", "fraud-detector-train"),
        ("CronWorkflow", "fraud-detector-train"),
        ("PodMonitor", "fraud-detector"),
        ("PrometheusRule", "fraud-detector"),
        ("ConfigMap", "fraud-detector-dashboard"),
        ("NetworkPolicy", "fraud-detector-ingress"),  # templates/network-policy.jsonnet
        ("PodDisruptionBudget", "fraud-detector-pdb"),  # templates/pdb.jsonnet: 2 replicas in prod
    }
    full = _objects(run_cli(["build", "--env", "prod"], cwd=example).stdout)
    assert all(full[key] == obj for key, obj in objects.items())


def test_build_works_from_specs_alone_and_leaves_the_tree_alone(example: Path) -> None:
    expected = _objects(run_cli(["build", "--env", "staging"], cwd=example).stdout)
    shutil.rmtree(example / "overlays")
    shutil.rmtree(example / "base" / "models")  # base/platform is hand-written
    before = snapshot_tree(example)
    result = run_cli(["build", "--env", "staging"], cwd=example)
    assert result.exit_code == 0, result.stderr
    assert _objects(result.stdout) == expected
    assert snapshot_tree(example) == before


def test_build_follows_the_specs_when_the_committed_overlay_is_stale(example: Path) -> None:
    model = example / "models/churn-scorer.yaml"
    model.write_text(model.read_text().replace("replicas: {min: 4, max: 16}", "replicas: {min: 5, max: 16}"))
    objects = _objects(run_cli(["build", "--env", "prod"], cwd=example).stdout)
    hpa = objects[("autoscaling/v2", "HorizontalPodAutoscaler", "ml-prod", "churn-scorer-predictor")]
    assert hpa["spec"]["minReplicas"] == 5  # type: ignore[index]


def test_unknown_environment_and_model_are_usage_errors(example: Path) -> None:
    result = run_cli(["build", "--env", "prd"], cwd=example)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        result.stderr.strip() == "unknown environment 'prd' (did you mean 'prod'?); the project has dev, staging, prod"
    )
    result = run_cli(["build", "--env", "prod", "--model", "fraud-detecter"], cwd=example)
    assert result.exit_code == 2
    assert "unknown model 'fraud-detecter' (did you mean 'fraud-detector'?)" in result.stderr


def test_disabled_model_is_reported(example: Path) -> None:
    model = example / "models/churn-scorer.yaml"
    model.write_text(model.read_text().replace("  dev:\n    serving: {replicas: {min: 1}}", "  dev: {enabled: false}"))
    result = run_cli(["build", "--env", "dev", "--model", "churn-scorer"], cwd=example)
    assert result.exit_code == 2
    assert "disabled in environment 'dev'" in result.stderr
    dev = _objects(run_cli(["build", "--env", "dev"], cwd=example).stdout)
    assert not any(k[3].startswith("churn-scorer") for k in dev)
