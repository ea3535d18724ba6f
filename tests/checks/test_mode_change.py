"""A `serving.mode` change of a deployed InferenceService (KServe refuses it): `diff` flags it in the ML
summary, `validate` reports it at the spec line against a base revision, in real Git repositories."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import copy_example, run_cli
from tests.delivery.test_diff import commit_all, edit, git

MODEL = "models/fraud-detector.yaml"
DEV_PATCH = "    serving: {mode: Knative, autoscaling: {metric: concurrency}}"
DEV_STANDARD = "    serving: {mode: Standard, autoscaling: {metric: cpu}}"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_example(tmp_path / "repo")
    git(root, "init", "-q")
    commit_all(root, "example")
    return root


def dev_back_to_standard(root: Path) -> int:
    """dev's patch now says Standard (it said Knative at the base); the line of `mode`."""
    edit(root / MODEL, DEV_PATCH, DEV_STANDARD)
    lines = (root / MODEL).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith("    serving: {mode: Standard,"))


def mode_findings(output: str) -> list[str]:
    return [line for line in output.splitlines() if "[serving-mode-change]" in line]


def test_diff_flags_the_mode_change_in_the_ml_summary(repo: Path) -> None:
    dev_back_to_standard(repo)
    result = run_cli(["diff"], cwd=repo)
    assert result.exit_code == 1, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("dev ") and "fraud-detector" in line]
    assert len(lines) == 1, result.stdout
    assert "mode Knative → Standard: KServe refuses this change on an existing InferenceService" in lines[0]
    assert "new name" in lines[0] and "delete the InferenceService" in lines[0]
    assert "changed: serving.mode" not in lines[0]  # said once, with the reason

    data = json.loads(run_cli(["diff", "--format", "json"], cwd=repo).stdout)
    dev = next(e for e in data["environments"] if e["name"] == "dev")
    (model,) = [m for m in dev["models"] if m["model"] == "fraud-detector"]
    assert {"field": "mode", "old": "Knative", "new": "Standard"} in model["changes"]
    assert [e["name"] for e in data["environments"] if e["models"]] == ["dev"]


def test_diff_of_a_renamed_model_does_not_warn(repo: Path) -> None:
    """A new name is a new InferenceService: the advised way out is not flagged again."""
    text = (repo / MODEL).read_text().replace("name: fraud-detector", "name: fraud-detector-std")
    (repo / MODEL).unlink()
    (repo / "models/fraud-detector-std.yaml").write_text(text.replace(DEV_PATCH, DEV_STANDARD))
    result = run_cli(["diff"], cwd=repo)
    assert result.exit_code == 1, result.stderr
    assert "KServe refuses" not in result.stdout


def test_validate_reports_the_change_at_the_spec_line(repo: Path) -> None:
    line = dev_back_to_standard(repo)
    result = run_cli(["validate"], cwd=repo)
    found = mode_findings(result.stdout)
    assert len(found) == 1, result.stdout
    assert result.exit_code == 1
    assert found[0].startswith("error [serving-mode-change] dev InferenceService/fraud-detector ")
    assert "Knative → Standard" in found[0] and "new name" in found[0] and "delete the InferenceService" in found[0]
    assert re.search(rf"\({re.escape(MODEL)}:{line}:\d+\)$", found[0]), found[0]
    assert "Traceback" not in result.stderr


def test_validate_github_and_json_formats_carry_the_finding(repo: Path) -> None:
    line = dev_back_to_standard(repo)
    github = run_cli(["validate", "--format", "github"], cwd=repo).stdout
    annotations = [a for a in github.splitlines() if "serving-mode-change" in a]
    assert len(annotations) == 1 and f"file={MODEL},line={line}," in annotations[0]
    data = json.loads(run_cli(["validate", "--format", "json"], cwd=repo).stdout)
    assert [f["environment"] for f in data["findings"] if f["id"] == "serving-mode-change"] == ["dev"]


def test_mode_change_in_the_model_defaults_is_found_in_the_environments_it_reaches(repo: Path) -> None:
    """prod changes through the model's top-level mode; dev and staging (its Knative canary) keep their own."""
    edit(repo / MODEL, "  mode: Standard\n", "  mode: Knative\n")
    edit(repo / MODEL, "autoscaling: {metric: cpu, target: 70}", "autoscaling: {metric: concurrency, target: 70}")
    result = run_cli(["validate"], cwd=repo)
    [found] = mode_findings(result.stdout)
    assert found.startswith("error [serving-mode-change] prod InferenceService/fraud-detector "), result.stdout
    assert "Standard → Knative" in found
    assert found.endswith(f"({MODEL}:16:9)"), found


def test_validate_with_an_explicit_base(repo: Path) -> None:
    dev_back_to_standard(repo)
    commit_all(repo, "dev on Standard")
    assert mode_findings(run_cli(["validate"], cwd=repo).stdout) == []  # merge-base is HEAD now
    result = run_cli(["validate", "--base", "HEAD~1"], cwd=repo)
    assert len(mode_findings(result.stdout)) == 1
    assert "(base HEAD~1)" in mode_findings(result.stdout)[0]


def test_validate_with_an_unknown_base_is_a_usage_error(repo: Path) -> None:
    result = run_cli(["validate", "--base", "no-such-ref"], cwd=repo)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"unknown revision 'no-such-ref' (not a commit in {repo})"]


def test_the_check_can_be_waived_with_a_reason(repo: Path) -> None:
    dev_back_to_standard(repo)
    text = (repo / MODEL).read_text()
    (repo / MODEL).write_text(
        text.replace(  # a second entry of the example's own waiver list
            "policies:\n  disabled:\n",
            "policies:\n  disabled:\n  - {id: serving-mode-change, environments: [dev], "
            "reason: dev InferenceService deleted by hand before the sync}\n",
            1,
        )
    )
    result = run_cli(["validate", "--format", "json"], cwd=repo)
    data = json.loads(result.stdout)
    assert [f for f in data["findings"] if f["id"] == "serving-mode-change"] == []
    assert [w["reason"] for w in data["waived"] if w["id"] == "serving-mode-change"] == [
        "dev InferenceService deleted by hand before the sync"
    ]


def test_no_git_or_no_commit_skips_the_check_quietly(tmp_path: Path) -> None:
    plain = copy_example(tmp_path / "plain")
    dev_back_to_standard(plain)
    result = run_cli(["validate"], cwd=plain)
    assert mode_findings(result.stdout) == [] and "base" not in result.stderr

    fresh = copy_example(tmp_path / "fresh")
    git(fresh, "init", "-q")
    dev_back_to_standard(fresh)
    result = run_cli(["validate"], cwd=fresh)
    assert mode_findings(result.stdout) == [] and "base" not in result.stderr


def test_a_base_without_the_project_skips_the_check(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README").write_text("x\n")
    commit_all(root, "before the project")
    copy_example(root)
    dev_back_to_standard(root)
    result = run_cli(["validate"], cwd=root)
    assert mode_findings(result.stdout) == []
    assert "Traceback" not in result.stderr
