"""The registry's gate check agrees with the training workflow's `register` condition, and the registry
options are checked before anything is read (no server needed here; tests/delivery/test_registry_mlflow.py runs one)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from mlgitops.delivery.registry.gates import failed_gates
from mlgitops.delivery.registry.pin import RegistryQuery, registered_model_name
from mlgitops.language.model import Model
from mlgitops.language.training import Gate
from mlgitops.render.gates import all_of, comparison
from tests.argo_when import executor_output, should_execute
from tests.conftest import run_cli, snapshot_tree

STEP = "evaluate"
OPS = (">=", "<=", ">", "<", "==", "!=")
THRESHOLDS = (0.92, 50.0, 0.00005, -1.5, 0.0)
VALUES = (0.92, 0.9200001, 0.91, 50.0, 49.5, 1e-05, 0.0001, -1.5, -2.0, 0.0, 1e21)


def argo_register_runs(gate: Gate, value: float) -> bool:
    """Whether the rendered workflow's `register` runs for a metric file holding `repr(value)`."""
    when = all_of([comparison(STEP, gate.metric, gate.op, gate.value)])
    return should_execute(when, {f"tasks.{STEP}.outputs.parameters.{gate.metric}": executor_output(repr(value))})


@pytest.mark.parametrize("op", OPS)
def test_gate_check_matches_the_training_workflow(op: str) -> None:
    for threshold, value in itertools.product(THRESHOLDS, VALUES):
        gate = Gate(metric="m", op=op, value=threshold)  # type: ignore[arg-type]
        holds = not failed_gates([gate], {"m": value})
        assert holds is argo_register_runs(gate, value), (op, threshold, value)


def test_failure_wording_follows_the_workflow_message() -> None:
    gates = [Gate(metric="auc", op=">=", value=0.92), Gate(metric="p95", op="<=", value=50)]
    assert failed_gates(gates, {"auc": 0.8, "p95": 12.0}) == ["gate auc >= 0.92 does not hold (auc = 0.8)"]
    assert failed_gates(gates, {"auc": 0.95}) == ["gate p95 <= 50: the run has no metric 'p95'"]
    assert failed_gates(gates, {"auc": 0.95, "p95": 50.0}) == []


def spec_with_registry(reference: str | None) -> Model:
    model = {"format": "sklearn", "version": "1", "storageUri": "s3://m/1"}
    if reference is not None:
        model["registry"] = reference
    return Model.model_validate(
        {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model", "metadata": {"name": "fraud"}, "model": model}
    )


@pytest.mark.parametrize(
    ("reference", "option", "expected"),
    [
        (None, None, "fraud"),
        ("models:/fraud-v2/6", None, "fraud-v2"),
        ("models:/team.fraud/6", None, "team.fraud"),
        ("models:/fraud-v3@champion", None, "fraud-v3"),
        ("s3://bucket/fraud/6", None, "fraud"),
        ("models:/fraud-v2/6", "other", "other"),
    ],
)
def test_registered_model_name(reference: str | None, option: str | None, expected: str) -> None:
    query = RegistryQuery(alias="champion", registered_model=option)
    assert registered_model_name(spec_with_registry(reference), query) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--alias", "a", "--from", "dev"], "give exactly one source"),
        (["--alias", "a", "--registry-version", "3"], "give exactly one source"),
        (["--from", "dev", "--registered-model", "x"], "--registered-model goes with --alias"),
    ],
)
def test_source_options_are_checked_first(example: Path, args: list[str], message: str) -> None:
    before = snapshot_tree(example)
    result = run_cli(["promote", "fraud-detector", "--to", "staging", *args], cwd=example)
    assert result.exit_code == 2 and message in result.stderr
    assert snapshot_tree(example) == before


def test_tracking_uri_must_be_http(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///mlruns.db")
    result = run_cli(["promote", "fraud-detector", "--to", "dev", "--alias", "champion"], cwd=example)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "MLFLOW_TRACKING_URI must be the http(s) URL of an MLflow tracking server (a file or database tracking "
        "URI cannot be read without the mlflow package)"
    ]


def test_registry_settings_are_checked(example: Path) -> None:
    with (example / "mlgitops.yaml").open("a") as handle:
        handle.write("registry: {type: mlflow, uri: 'https://user:pw@mlflow.example'}\n")
    result = run_cli(["validate"], cwd=example)
    assert result.exit_code == 1
    assert "mlgitops.yaml:" in result.stderr and "pw" not in result.stderr


@pytest.mark.parametrize(
    ("storage", "run_id", "refused"),
    [
        ("s3://ml-artifacts/1/{run}/artifacts/model", "{run}", False),  # the run's artifact location
        ("s3://ml-artifacts/1/{run}/artifacts/model", None, True),  # no run recorded: the version is missing
        ("s3://ml-artifacts/1/latest/model", "{run}", True),  # neither version nor run in the path
    ],
)
def test_storage_uri_version_accepts_the_run_artifact_location(
    example: Path, storage: str, run_id: str | None, refused: bool
) -> None:
    run = "3f2a9c0e5b7d4e1f8a6b2c9d0e4f7a1b"
    pin = {"version": "12", "storageUri": storage.format(run=run)}
    if run_id:
        pin["runId"] = run_id.format(run=run)
    spec = example / "models" / "churn-scorer.yaml"
    text = spec.read_text()
    assert text.count("\n  dev:\n") == 1  # churn-scorer (engine: deployment) has a dev patch
    flow = "{" + ", ".join(f"{k}: {v!r}" for k, v in pin.items()) + "}"
    spec.write_text(text.replace("\n  dev:\n", f"\n  dev:\n    model: {flow}\n", 1))
    assert run_cli(["render"], cwd=example).exit_code == 0
    result = run_cli(["validate", "--format", "json"], cwd=example)
    hits = [line for line in result.stdout.splitlines() if "storage-uri-version" in line]
    assert bool(hits) is refused, result.stdout[-2000:]


def test_a_registry_error_is_one_line_whatever_the_server_sent() -> None:
    from mlgitops.delivery.registry.errors import RegistryError

    error = RegistryError("registry: fraud version 3 is PENDING\nREGISTRATION\x1b[31m, not READY")
    assert "\n" not in str(error) and "\x1b" not in str(error)
    assert str(error).startswith("registry: fraud version 3 is PENDING")
