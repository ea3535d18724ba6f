"""Broken specs: each gives exit 1, `file:line:col: message` lines, no traceback, and no change on disk."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_example, run_cli, snapshot_tree

FRAUD = "models/fraud-detector.yaml"
DEV_PATCH = "    serving: {mode: Knative, autoscaling: {metric: concurrency}}"
CHURN = "models/churn-scorer.yaml"
PROJECT = "mlgitops.yaml"


@dataclass
class Case:
    name: str
    path: str
    edit: Callable[[str], str]
    where: str  # expected "file:line:col" prefix of the first problem
    message: str  # expected fragment of that problem


def replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, f"fixture text not found: {old!r}"
        return text.replace(old, new, 1)

    return edit


def append(extra: str) -> Callable[[str], str]:
    return lambda text: text + extra


CASES = [
    Case(
        "yaml-syntax-model", FRAUD, replace("  owner: team-risk", "  owner: [team-risk"), FRAUD + ":8:", "invalid YAML"
    ),
    Case(
        "yaml-syntax-project",
        PROJECT,
        replace("revision: main", "revision: main: x"),
        PROJECT + ":7:15",
        "invalid YAML",
    ),
    Case(
        "duplicate-key",
        FRAUD,
        replace("  owner: team-risk", "  owner: team-risk\n  owner: other"),
        FRAUD + ":8:3",
        "duplicate key 'owner'",
    ),
    Case(
        "wrong-type-replicas",
        FRAUD,
        replace("replicas: {min: 1, max: 4}", "replicas: {min: three, max: 4}"),
        FRAUD + ":20:",
        "serving.replicas.min",
    ),
    Case(
        "unknown-key-suggests",
        FRAUD,
        replace(
            "  storageUri: s3://ml-models/fraud-detector/7/model", "  storageURI: s3://ml-models/fraud-detector/7/model"
        ),
        FRAUD + ":12:3",
        "did you mean 'storageUri'",
    ),
    Case(
        "unknown-top-level-key",
        FRAUD,
        replace("serving:\n  engine: kserve", "servng:\n  engine: kserve"),
        FRAUD + ":14:1",
        "did you mean 'serving'",
    ),
    Case(
        "wrong-api-version",
        FRAUD,
        replace("apiVersion: mlgitops.io/v1alpha1", "apiVersion: mlgitops.io/v2"),
        FRAUD + ":3:13",
        "apiVersion",
    ),
    Case("wrong-kind", FRAUD, replace("kind: Model", "kind: Modle"), FRAUD + ":4:7", "kind"),
    Case("bad-name", FRAUD, replace("  name: fraud-detector", "  name: Fraud_Detector"), FRAUD + ":6:9", "DNS-1123"),
    Case(
        "name-does-not-match-file",
        FRAUD,
        replace("  name: fraud-detector", "  name: fraud-detect"),
        FRAUD + ":6:9",
        "must match the file name",
    ),
    Case(
        "step-cycle",
        FRAUD,
        replace("{name: prepare, command", "{name: prepare, after: [evaluate], command"),
        FRAUD + ":30:28",
        "cycle",
    ),
    Case(
        "after-unknown-step",
        FRAUD,
        replace("{name: evaluate, after: [train]", "{name: evaluate, after: [trian]"),
        FRAUD + ":33:30",
        "did you mean 'train'",
    ),
    Case(
        "input-not-produced",
        FRAUD,
        replace("inputs: [features],", "inputs: [feature],"),
        FRAUD + ":31:82",
        "which no step it runs after outputs",
    ),
    Case(
        "gate-unknown-metric",
        FRAUD,
        replace("{metric: auc, op", "{metric: acu, op"),
        FRAUD + ":36:14",
        "no step emits (did you mean 'auc'?)",
    ),
    Case(
        "duplicate-step",
        FRAUD,
        replace("{name: evaluate, after", "{name: train, after"),
        FRAUD + ":33:12",
        "duplicate step name 'train'",
    ),
    Case(
        "reserved-step-name",
        FRAUD,
        replace("{name: prepare, command", "{name: register, command"),
        FRAUD + ":30:12",
        "reserved",
    ),
    Case(
        "unknown-environment",
        FRAUD,
        replace("  prod:\n    model:", "  prd:\n    model:"),
        FRAUD + ":46:3",
        "did you mean 'prod'",
    ),
    Case(
        "unknown-gpu-class",
        "models/support-llm.yaml",
        replace("gpu: {count: 1, class: l4}\ntraining", "gpu: {count: 1, class: h100}\ntraining"),
        "models/support-llm.yaml:24:",
        "unknown GPU class 'h100'",
    ),
    Case(
        "override-invalid-value",
        FRAUD,
        replace("serving: {replicas: {min: 3, max: 10}}", "serving: {replicas: {min: -1, max: 10}}"),
        FRAUD + ":48:31",
        "in environment 'prod'",
    ),
    Case(
        "override-invalid-engine",
        FRAUD,
        replace(DEV_PATCH, "    serving: {engine: kubeflow}"),
        FRAUD + ":40:23",
        "in environment 'dev'",
    ),
    Case(
        "override-deletes-required",
        FRAUD,
        replace("storageUri: s3://ml-models/fraud-detector/6/model,", "storageUri: null,"),
        FRAUD + ":47:39",
        "missing required key 'storageUri'",
    ),
    Case(
        "override-unknown-key",
        FRAUD,
        replace(DEV_PATCH, "    serving: {mdoe: Knative}"),
        FRAUD + ":40:15",
        "did you mean 'mode'",
    ),
    Case(
        "project-default-breaks-model",
        PROJECT,
        replace("serving: {replicas: {min: 0, max: 1}}", "serving: {replicas: {min: 5, max: 1}}"),
        PROJECT + ":13:25",
        "greater than max",
    ),
    Case(
        "enabled-not-boolean",
        FRAUD,
        replace("  dev:\n" + DEV_PATCH, "  dev:\n    enabled: nope"),
        FRAUD + ":40:14",
        "enabled must be true or false",
    ),
    Case(
        "patch-of-unpatchable-key",
        FRAUD,
        replace("  dev:\n" + DEV_PATCH, "  dev:\n    kind: Other"),
        FRAUD + ":40:5",
        "an environment patch may set",
    ),
    Case(
        "deployment-min-zero",
        CHURN,
        replace("serving: {replicas: {min: 1}}", "serving: {replicas: {min: 0}}"),
        CHURN + ":22:31",
        "at least 1 with engine: deployment",
    ),
    Case(
        "canary-percent-range",
        FRAUD,
        replace("trafficPercent: 10}", "trafficPercent: 150}"),
        FRAUD + ":43:97",
        "less than or equal to 100",
    ),
    Case("bad-quantity", FRAUD, replace("memory: 2Gi}", "memory: 2 GB}"), FRAUD + ":22:", "not a Kubernetes quantity"),
    Case("bad-duration", FRAUD, replace("timeout: 6h", "timeout: 6 hours"), FRAUD + ":27:", "not a duration"),
    Case(
        "bad-storage-uri",
        FRAUD,
        replace(
            "storageUri: s3://ml-models/fraud-detector/7/model", "storageUri: ftp://ml-models/fraud-detector/7/model"
        ),
        FRAUD + ":12:",
        "storage URI",
    ),
    Case("version-not-a-label", FRAUD, replace('version: "7"', 'version: "7 beta"'), FRAUD + ":11:", "label value"),
    Case("model-not-a-mapping", FRAUD, lambda _text: "- just\n- a list\n", FRAUD + ":1:1", "expected a mapping"),
    Case(
        "duplicate-environment",
        PROJECT,
        replace("- name: staging", "- name: dev"),
        PROJECT + ":15:",
        "duplicate environment 'dev'",
    ),
    Case(
        "defaults-unpatchable-key",
        PROJECT,
        replace("training: {schedule: null}", "replicas: {min: 1}"),
        PROJECT + ":14:5",
        "defaults may set",
    ),
    Case(
        "metric-emitted-twice",
        FRAUD,
        replace("outputs: [features]}", "outputs: [features], metrics: [auc]}"),
        FRAUD + ":34:16",
        "already emitted",
    ),
]


def _apply(repo: Path, case: Case) -> None:
    path = repo / case.path
    path.write_text(case.edit(path.read_text()))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_spec_is_reported_precisely_and_changes_nothing(tmp_path: Path, case: Case) -> None:
    repo = copy_example(tmp_path / "repo")
    _apply(repo, case)
    before = snapshot_tree(repo)

    result = run_cli(["render"], cwd=repo)

    assert result.exit_code == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines, "no error printed"
    for line in lines:
        assert re.match(r"^[\w./-]+:\d+:\d+: \S", line), line
    assert any(line.startswith(case.where) and case.message in line for line in lines), result.stderr
    assert snapshot_tree(repo) == before


def test_there_are_at_least_25_cases() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("command", [["validate"], ["render", "--check"], ["build", "--env", "prod"]])
def test_every_command_reports_spec_errors_the_same_way(tmp_path: Path, command: list[str]) -> None:
    repo = copy_example(tmp_path / "repo")
    _apply(repo, CASES[4])
    result = run_cli(command, cwd=repo)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert FRAUD + ":12:3: unknown key 'storageURI' in model (did you mean 'storageUri'?)" in result.stderr.splitlines()


def test_several_problems_in_several_files_are_all_reported(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    for case in (CASES[4], CASES[25]):
        _apply(repo, case)
    result = run_cli(["validate"], cwd=repo)
    assert result.exit_code == 1
    assert {line.split(":")[0] for line in result.stderr.splitlines()} == {FRAUD, CHURN}


def test_missing_model_file_behind_a_symlink(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    os.symlink(repo / "models" / "gone.yaml", repo / "models" / "ghost.yaml")
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1
    assert result.stderr.strip() == "models/ghost.yaml:1:1: file not found"


def test_model_symlink_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    outside = tmp_path / "outside.yaml"
    outside.write_text((repo / FRAUD).read_text().replace("fraud-detector", "sneaky"))
    os.symlink(outside, repo / "models" / "sneaky.yaml")
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1
    assert "models/sneaky.yaml:1:1: file resolves outside the repository" in result.stderr


def test_missing_project_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(["render"], cwd=tmp_path)
    assert result.exit_code == 2
    assert "no mlgitops.yaml found" in result.stderr
    assert "Traceback" not in result.stderr
