"""Data lineage (lineage.py): datasets as workflow parameters, lineage annotations on what is deployed,
the data-pinned policy, and dataset version changes in diff's ML summary."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlgitops.language.loader import load_workspace
from mlgitops.render.pipeline import render_models
from tests.conftest import kustomize_objects, run_cli

FRAUD = "models/fraud-detector.yaml"
PINNED = '- {name: transactions, uri: s3://ml-data/transactions, version: "2026-11-01"}'


def _objects(repo: Path, env: str) -> dict[tuple[str, str], dict[str, Any]]:
    renders = render_models(load_workspace(repo))
    return {(o["kind"], o["metadata"]["name"]): o for r in renders for o in r.environments.get(env) or []}


def test_datasets_are_workflow_parameters_and_step_environment(example: Path) -> None:
    template = _objects(example, "prod")[("WorkflowTemplate", "fraud-detector-train")]
    parameters = {p["name"]: p["value"] for p in template["spec"]["arguments"]["parameters"]}
    assert parameters["DATA_TRANSACTIONS_URI"] == "s3://ml-data/transactions"
    assert parameters["DATA_TRANSACTIONS_VERSION"] == "2026-11-01"
    assert parameters["DATA_CHARGEBACKS_URI"] == "lakefs://risk/chargebacks"
    assert parameters["data-uri"] == "s3://ml-data/fraud/2026-08/"  # the spec's own parameters stay
    train = next(t for t in template["spec"]["templates"] if t["name"] == "train")
    env = {e["name"]: e["value"] for e in train["container"]["env"]}
    assert env["DATA_TRANSACTIONS_VERSION"] == "{{workflow.parameters.DATA_TRANSACTIONS_VERSION}}"


def test_deployed_objects_say_what_trained_them(example: Path) -> None:
    """`kubectl get isvc -o yaml` answers "what data trained this?": the overlay Kustomize builds."""
    assert run_cli(["render"], cwd=example).exit_code == 0
    built = {(o["kind"], o["metadata"]["name"]): o for o in kustomize_objects(example / "overlays/prod")}
    isvc = built[("InferenceService", "fraud-detector")]["metadata"]["annotations"]
    assert isvc["lineage.mlgitops.io/model-version"] == "6"  # prod's own version, from its patch
    assert isvc["lineage.mlgitops.io/training-image"].startswith("ghcr.io/acme/fraud-train@sha256:")
    assert isvc["data.lineage.mlgitops.io/transactions"] == "s3://ml-data/transactions@2026-11-01"
    assert isvc["data.lineage.mlgitops.io/chargebacks"] == "lakefs://risk/chargebacks@9f2c41d7e0a3"
    template = built[("WorkflowTemplate", "fraud-detector-train")]["metadata"]["annotations"]
    assert template["data.lineage.mlgitops.io/transactions"] == "s3://ml-data/transactions@2026-11-01"
    # a model without data or training carries none
    churn = built[("Deployment", "churn-scorer-predictor")]["metadata"]["annotations"]
    assert not any(k.startswith(("lineage.", "data.lineage.")) for k in churn)


@pytest.mark.parametrize(
    "replacement",
    [
        "- {name: transactions, uri: s3://ml-data/transactions}",
        "- {name: transactions, uri: s3://ml-data/transactions, version: latest}",
        "- {name: transactions, uri: s3://ml-data/transactions, version: HEAD}",
    ],
)
def test_unpinned_data_is_refused_outside_the_first_environment(
    example: Path, crds_dir: Path, replacement: str
) -> None:
    path = example / FRAUD
    path.write_text(path.read_text().replace(PINNED, replacement))
    result = run_cli(["validate", "--crds", str(crds_dir), "--format", "json"], cwd=example)
    assert result.exit_code == 1, result.stdout + result.stderr
    findings = [f for f in json.loads(result.stdout)["findings"] if f["id"] == "data-pinned"]
    assert sorted(f["environment"] for f in findings) == ["prod", "staging"]  # not dev, the first
    line = path.read_text().splitlines().index(replacement) + 1
    assert all(f["file"] == FRAUD and f["line"] == line for f in findings), findings


def test_pinned_data_passes(example: Path, crds_dir: Path) -> None:
    result = run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=example)
    assert result.exit_code == 0, result.stderr


def test_duplicate_dataset_names_are_a_positioned_error(example: Path) -> None:
    path = example / FRAUD
    path.write_text(path.read_text().replace(PINNED, PINNED + "\n" + PINNED.replace("transactions,", "transactions ,")))
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{FRAUD}:") and "listed twice" in result.stderr


def test_diff_summary_shows_dataset_and_slo_changes(example: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=example, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    path = example / FRAUD
    text = path.read_text().replace('version: "2026-11-01"', 'version: "2026-11-15"')
    path.write_text(text.replace("latencyP95Ms: 250", "latencyP95Ms: 200"))
    lines = run_cli(["diff"], cwd=example).stdout.splitlines()
    assert "prod     fraud-detector  slo p95 250 → 200 ms, data transactions 2026-11-01 → 2026-11-15" in lines
