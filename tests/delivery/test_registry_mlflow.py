"""`promote --alias` / `--registry-version` against a real `mlflow server` (started once per session).

Models, versions, run metrics and aliases are created with the MLflow client; mlgitops reads them
through the REST API with the standard library only. `import mlflow` below makes this file fail (not
skip) where mlflow is not installed: it is a dev dependency.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import copy_example, run_cli, snapshot_tree
from tests.mlflow_server import (
    ARTIFACTS,
    QUIET_ENV,
    Registry,
    free_port,
    header_trickling_server,
    recording_proxy,
    redirecting_server,
    silent_server,
    trickling_server,
)

for _key, _value in QUIET_ENV.items():
    os.environ.setdefault(_key, _value)

import mlflow  # noqa: E402  (after the telemetry switches above)

assert mlflow.MlflowClient  # a dev dependency: this file fails to import, not skips, without it

SPEC = "models/fraud-detector.yaml"
GOOD = {"auc": 0.95, "p95_latency_ms": 31.0}
RUN_ID_ANNOTATION = "lineage.mlgitops.io/run-id"
REGISTRY_ANNOTATION = "mlgitops.io/registry-uri"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry) -> Path:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry.url)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    return copy_example(tmp_path / "repo")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def env_pin(project: Path, env: str) -> dict[str, str]:
    data = yaml.safe_load((project / SPEC).read_text())
    return dict(data["environments"][env]["model"])


def annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def built_objects(project: Path, env: str) -> list[dict[str, Any]]:
    built = run_cli(["build", "--env", env, "--model", "fraud-detector"], cwd=project)
    assert built.exit_code == 0, built.stderr
    return [doc for doc in yaml.safe_load_all(built.stdout) if doc]


def test_alias_pins_version_storage_registry_and_run(project: Path, registry: Registry) -> None:
    registry.version("fraud-detector", {"auc": 0.80, "p95_latency_ms": 30.0})  # version 1: not the champion
    version, run_id = registry.version("fraud-detector", GOOD, alias="champion")
    before = (project / SPEC).read_text()
    result = run_cli(
        [
            "promote",
            "fraud-detector",
            "--to",
            "dev",
            "--alias",
            "champion",
            "--reason",
            "champion",
            "--pr-body",
            "pr.md",
        ],
        cwd=project,
    )
    assert result.exit_code == 0, result.stderr
    pin = env_pin(project, "dev")
    assert pin == {
        "version": version,
        # a runs:/ source is the run's artifact location joined with the path
        "storageUri": f"{ARTIFACTS}/{run_id}/artifacts/model",
        "registry": f"models:/fraud-detector/{version}",
        "runId": run_id,
    }
    after = (project / SPEC).read_text()
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert len(changed) == 1 and "model: {version:" in changed[0]
    assert run_cli(["render", "--check"], cwd=project).exit_code == 0
    objects = built_objects(project, "dev")
    # every object that names the registry version names its run (monitoring objects name neither: they do
    # not change with a promotion)
    versioned = [o for o in objects if annotations(o).get(REGISTRY_ANNOTATION) == f"models:/fraud-detector/{version}"]
    assert {o["kind"] for o in versioned} >= {"InferenceService"}
    assert all(annotations(o)[RUN_ID_ANNOTATION] == run_id for o in versioned)
    assert all(RUN_ID_ANNOTATION not in annotations(o) for o in objects if o not in versioned)
    isvc = next(o for o in objects if o["kind"] == "InferenceService")
    assert f"{ARTIFACTS}/{run_id}/artifacts/model" in yaml.safe_dump(isvc)
    body = (project / "pr.md").read_text()
    assert "### Registry evidence" in body and f"models:/fraud-detector/{version}" in body
    assert "auc >= 0.92`: 0.95 (holds)" in body and "p95_latency_ms <= 50`: 31 (holds)" in body
    assert f"models:/fraud-detector/{version} (run {run_id})" in result.stderr
    # staging then takes the dev pin, run id included (the canary of "8" it runs is ended)
    staged = run_cli(["promote", "fraud-detector", "--to", "staging", "--from", "dev", "--end-canary"], cwd=project)
    assert staged.exit_code == 0, staged.stderr
    assert env_pin(project, "staging")["runId"] == run_id
    staging = built_objects(project, "staging")
    assert all(
        annotations(o).get(RUN_ID_ANNOTATION) == run_id for o in staging if REGISTRY_ANNOTATION in annotations(o)
    )
    # the run's artifact location is immutable: the storage-uri-version policy accepts it (mlgitops.checks.policies)
    # (prod's version 6 is "ahead" of this registry's version 2: promotion-order, not what is checked here)
    validated = run_cli(["validate"], cwd=project)
    assert "storage-uri-version" not in validated.stdout
    assert "invalid: 1 error(s)" in validated.stdout and "[promotion-order] prod" in validated.stdout


def test_registry_version_with_registered_model_and_object_store_source(project: Path, registry: Registry) -> None:
    name = unique("fraud")
    version, run_id = registry.version(name, GOOD, source=f"s3://ml-models/{name}/model")
    before = snapshot_tree(project)
    dry = ["promote", "fraud-detector", "--to", "dev", "--registry-version", version, "--registered-model", name]
    shown = run_cli([*dry, "--dry-run"], cwd=project)
    assert shown.exit_code == 0 and f"+    model: {{version: {version!r}".replace("'", '"') in shown.stdout
    assert "dry run: nothing written" in shown.stderr and snapshot_tree(project) == before
    result = run_cli(
        ["promote", "fraud-detector", "--to", "dev", "--registry-version", version, "--registered-model", name],
        cwd=project,
    )
    assert result.exit_code == 0, result.stderr
    assert env_pin(project, "dev") == {
        "version": version,
        "storageUri": f"s3://ml-models/{name}/model",
        "registry": f"models:/{name}/{version}",
        "runId": run_id,
    }
    # the registered model name now comes from model.registry: a second promotion needs no option
    newer, newer_run = registry.version(name, GOOD, source=f"s3://ml-models/{name}/2/model", alias="next")
    again = run_cli(["promote", "fraud-detector", "--to", "dev", "--alias", "next"], cwd=project)
    assert again.exit_code == 0, again.stderr
    assert env_pin(project, "dev")["registry"] == f"models:/{name}/{newer}"
    assert env_pin(project, "dev")["runId"] == newer_run


def refused(project: Path, args: list[str]) -> str:
    """Run a promotion that must be refused: exit 1, one line on stderr, every file as it was."""
    before = snapshot_tree(project)
    result = run_cli(["promote", "fraud-detector", "--to", "dev", *args], cwd=project)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert snapshot_tree(project) == before
    return lines[0]


def test_failing_gate_names_gate_value_and_threshold(project: Path, registry: Registry) -> None:
    name = unique("fraud")
    registry.version(name, {"auc": 0.81, "p95_latency_ms": 72.5}, alias="champion")
    line = refused(project, ["--alias", "champion", "--registered-model", name])
    assert "gate auc >= 0.92 does not hold (auc = 0.81)" in line
    assert "gate p95_latency_ms <= 50 does not hold (p95_latency_ms = 72.5)" in line


def test_missing_metric_fails_its_gate(project: Path, registry: Registry) -> None:
    name = unique("fraud")
    registry.version(name, {"auc": 0.97}, alias="champion")
    line = refused(project, ["--alias", "champion", "--registered-model", name])
    assert "gate p95_latency_ms <= 50: the run has no metric 'p95_latency_ms'" in line
    assert "auc" not in line.partition("gate p95")[0].partition("):")[2]  # the holding gate is not named


def test_missing_alias_version_and_model(project: Path, registry: Registry) -> None:
    name = unique("fraud")
    registry.version(name, GOOD, alias="champion")
    line = refused(project, ["--alias", "challenger", "--registered-model", name])
    assert f"alias 'challenger' of registered model '{name}' not found" in line
    line = refused(project, ["--registry-version", "9", "--registered-model", name])
    assert f"version '9' of registered model '{name}' not found" in line
    line = refused(project, ["--alias", "champion", "--registered-model", unique("nobody")])
    assert "not found" in line and "HTTP 404" in line


def test_version_whose_run_was_deleted(project: Path, registry: Registry) -> None:
    name = unique("fraud")
    version, run_id = registry.version(name, GOOD, source=f"s3://ml-models/{name}/model", alias="champion")
    registry.client.delete_run(run_id)
    line = refused(project, ["--alias", "champion", "--registered-model", name])
    assert f"{name}@champion (version {version}): its run {run_id} is deleted" in line


def test_registry_uri_from_mlgitops_yaml(project: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    before = snapshot_tree(project)
    usage = run_cli(["promote", "fraud-detector", "--to", "dev", "--alias", "champion"], cwd=project)
    assert usage.exit_code == 2 and "add `registry: {type: mlflow" in usage.stderr
    assert snapshot_tree(project) == before
    with (project / "mlgitops.yaml").open("a") as handle:
        handle.write(f"registry: {{type: mlflow, uri: '{registry.url}'}}\n")
    name = unique("fraud")
    version, _ = registry.version(name, GOOD, source=f"s3://ml-models/{name}/model", alias="champion")
    result = run_cli(
        ["promote", "fraud-detector", "--to", "dev", "--alias", "champion", "--registered-model", name], cwd=project
    )
    assert result.exit_code == 0, result.stderr
    assert env_pin(project, "dev")["version"] == version


def run_subprocess(project: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real command line in its own process; the timeout only keeps a defect from hanging the suite."""
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "-C", str(project), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_server_down_is_one_line(project: Path) -> None:
    before = snapshot_tree(project)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = run_subprocess(
        project, ["promote", "fraud-detector", "--to", "dev", "--alias", "champion"], {"MLFLOW_TRACKING_URI": closed}
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"registry: cannot reach the MLflow server {closed}: Connection refused"]
    assert snapshot_tree(project) == before


def test_hung_server_times_out(project: Path) -> None:
    with silent_server() as url:
        proc = run_subprocess(
            project,
            ["promote", "fraud-detector", "--to", "dev", "--alias", "champion"],
            {"MLFLOW_TRACKING_URI": url, "MLFLOW_HTTP_REQUEST_TIMEOUT": "1"},
        )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"registry: MLflow server {url} did not answer within 1s"]


def test_trickling_server_times_out(project: Path) -> None:
    """A server that keeps sending a byte now and then is stopped by the call's own deadline."""
    before = snapshot_tree(project)
    with trickling_server() as url:
        proc = run_subprocess(
            project,
            ["promote", "fraud-detector", "--to", "dev", "--alias", "champion"],
            {"MLFLOW_TRACKING_URI": url, "MLFLOW_HTTP_REQUEST_TIMEOUT": "1"},
        )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"registry: MLflow server {url} did not answer within 1s"]
    assert snapshot_tree(project) == before


@pytest.mark.parametrize(
    "sent_at_once",
    [b"", b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"],
    ids=["status-line", "first-header", "later-header"],
)
def test_a_server_trickling_its_headers_times_out(project: Path, sent_at_once: bytes) -> None:
    """The status line and headers are bounded by the call's deadline too, not only the body (issue 20):
    the server would take over half an hour to finish its head."""
    before = snapshot_tree(project)
    with header_trickling_server(sent_at_once) as url:
        proc = run_subprocess(
            project,
            ["promote", "fraud-detector", "--to", "dev", "--alias", "champion"],
            {"MLFLOW_TRACKING_URI": url, "MLFLOW_HTTP_REQUEST_TIMEOUT": "1"},
        )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"registry: MLflow server {url} did not answer within 1s"]
    assert snapshot_tree(project) == before


def every_file_text(root: Path) -> str:
    return "\n".join(data.decode("utf-8", "replace") for data in snapshot_tree(root).values())


def test_token_is_sent_and_never_shown(project: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    token = f"tok-{uuid.uuid4().hex}-DO-NOT-LEAK"
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    name = unique("fraud")
    registry.version(name, GOOD, alias="champion")
    registry.version(name, {"auc": 0.5, "p95_latency_ms": 10.0}, alias="weak")
    with recording_proxy(registry.url, required_token=token) as proxy:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", proxy.url)
        outputs: list[str] = []
        for alias in ("champion", "weak", "missing"):
            args = ["--alias", alias, "--registered-model", name, "--reason", "token test", "--pr-body", "pr.md"]
            result = run_cli(["promote", "fraud-detector", "--to", "dev", *args], cwd=project)
            outputs += [result.stdout, result.stderr]
            assert result.exit_code == (0 if alias == "champion" else 1), result.stderr
        proc = run_subprocess(
            project, ["promote", "fraud-detector", "--to", "dev", "--alias", "weak", "--registered-model", name], {}
        )
        outputs += [proc.stdout, proc.stderr]
        # a token the gateway does not accept: refused, named by status, the token not shown
        sent = len(proxy.seen)
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token + "-stale")
        stale = run_cli(
            ["promote", "fraud-detector", "--to", "dev", "--alias", "champion", "--registered-model", name], cwd=project
        )
        outputs += [stale.stdout, stale.stderr]
    assert stale.exit_code == 1
    assert "refused access (HTTP 401): the token in MLFLOW_TRACKING_TOKEN was not accepted" in stale.stderr
    assert sent > 0 and {auth for _, auth in proxy.seen[:sent]} == {f"Bearer {token}"}
    assert {auth for _, auth in proxy.seen[sent:]} == {f"Bearer {token}-stale"}
    assert all(token not in text for text in outputs)
    assert token not in every_file_text(project)
    assert "### Registry evidence" in (project / "pr.md").read_text()


def test_token_does_not_follow_a_redirect(project: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """A redirect could point anywhere: the token goes only to the configured server, and the refusal says why."""
    token = f"tok-{uuid.uuid4().hex}-DO-NOT-LEAK"
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token)
    name = unique("fraud")
    registry.version(name, GOOD, alias="champion")
    with recording_proxy(registry.url, required_token=token) as elsewhere, redirecting_server(elsewhere.url) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        line = refused(project, ["--alias", "champion", "--registered-model", name])
    assert elsewhere.seen and all(auth is None for _, auth in elsewhere.seen)
    assert line == (
        f"registry: the MLflow server {url} refused access (HTTP 401): the token in MLFLOW_TRACKING_TOKEN was not "
        f"accepted (the request was redirected to {elsewhere.url}: use that as the tracking URI)"
    )
