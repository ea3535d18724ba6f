"""The GitHub Actions promotion workflow `mlgitops init` scaffolds: every `run:` line that can run offline
runs, in order, in a runner-like checkout of a scaffolded project whose `origin` is a real bare Git
repository; the pull request itself (`gh pr create`) is the one line left out."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from mlgitops.cli.main import parser as _parser
from mlgitops.gitops.scaffold import PROMOTE_WORKFLOW, promote_workflow, scaffold_files
from tests.conftest import run_cli
from tests.gitops.test_ci_files import GITHUB_CONTEXT, Script, git, github_scripts, mlgitops_calls, run_script
from tests.mlflow_server import Registry

MODEL = "example-classifier"
SPEC = f"models/{MODEL}.yaml"
NOT_RUN_HERE = {
    'python -m pip install "$MLGITOPS_PIP_SPEC"': "installs the released package; this checkout's is on PATH",
    'gh pr create --base "$GITHUB_REF_NAME" --head "$BRANCH" --title "Promote $MODEL to $TARGET" '
    '--body-file "$RUNNER_TEMP/mlgitops-promote.md"': "opens the pull request through the GitHub API",
}


@pytest.fixture(autouse=True)
def github_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """What GitHub puts in place of the workflow's `${{ ... }}` expressions (inputs, secrets, outputs)."""
    for key in ("model", "environment", "source", "reason"):
        monkeypatch.setitem(GITHUB_CONTEXT, f"inputs.{key}", "")
    for key in ("secrets.MLFLOW_TRACKING_TOKEN", "secrets.MLGITOPS_PR_TOKEN", "steps.commit.outputs.branch"):
        monkeypatch.setitem(GITHUB_CONTEXT, key, "")


def test_workflow_shape_and_scaffolding() -> None:
    workflow = yaml.safe_load(promote_workflow())
    inputs = workflow[True]["workflow_dispatch"]["inputs"]  # `on:` (a YAML 1.1 bool)
    assert set(inputs) == {"model", "environment", "source", "reason"}
    assert all(spec["required"] and spec["type"] == "string" for spec in inputs.values())
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}
    # inputs reach scripts through variables only: no `${{ inputs.* }}` inside a run: line
    for script in github_scripts(promote_workflow()):
        assert "${{" not in script.text, script.where
    assert scaffold_files("demo", "x", "github")[PROMOTE_WORKFLOW[0]] == promote_workflow()
    assert PROMOTE_WORKFLOW[0] not in scaffold_files("demo", "x", "gitlab")
    lines = {line.strip() for script in github_scripts(promote_workflow()) for line in script.text.splitlines()}
    assert set(NOT_RUN_HERE) <= lines


def test_every_mlgitops_call_parses() -> None:
    parser = _parser()
    calls = [
        call
        for script in github_scripts(promote_workflow())
        for call in mlgitops_calls(script.text.replace('"${source_args[@]}"', "--from staging"))
    ]
    assert [call[0] for call in calls] == ["promote"]
    for argv in calls:
        args = parser.parse_args(argv)
        assert callable(args.handler) and args.pr_body and args.reason


def scaffolded_origin(tmp_path: Path, prepare: list[list[str]], project_lines: str = "") -> Path:
    """A scaffolded project (after the `mlgitops` commands in `prepare`) pushed to a bare `origin`;
    returns the runner's checkout of main."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    assert run_cli(["init", "project", "--name", "demo"], cwd=tmp_path).exit_code == 0
    project = tmp_path / "project"
    if project_lines:
        with (project / "mlgitops.yaml").open("a") as handle:
            handle.write(project_lines)
    for argv in prepare:
        result = run_cli(argv, cwd=project)
        assert result.exit_code == 0, result.stderr
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "mlgitops init")
    git(project, "remote", "add", "origin", str(origin))
    git(project, "push", "-q", "origin", "main")
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", "--branch", "main", str(origin), str(checkout))
    return checkout


def run_workflow(
    tmp_path: Path, checkout: Path, monkeypatch: pytest.MonkeyPatch, inputs: dict[str, str], token: str = ""
) -> dict[str, str]:
    """Run the workflow's runnable `run:` lines in order; the step outputs it wrote."""
    for key, value in inputs.items():
        monkeypatch.setitem(GITHUB_CONTEXT, f"inputs.{key}", value)
    monkeypatch.setitem(GITHUB_CONTEXT, "secrets.MLFLOW_TRACKING_TOKEN", token)
    runner = tmp_path / "runner"
    runner.mkdir(exist_ok=True)
    outputs = runner / "output"
    outputs.write_text("")
    env = {
        "CI": "true",
        "RUNNER_TEMP": str(runner),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(runner / "summary.md"),
        "GITHUB_RUN_ID": "4242",
        "GITHUB_REF_NAME": "main",
    }
    scripts: list[Script] = github_scripts(promote_workflow())
    kept = [s for s in scripts if s.text.strip() not in NOT_RUN_HERE]
    assert len(kept) == len(scripts) - 2
    for script in kept:
        result = run_script(script, checkout, env)
        assert result.returncode == 0, (script.where, result.stdout, result.stderr)
    return dict(line.split("=", 1) for line in outputs.read_text().splitlines())


def test_promotion_from_an_environment_becomes_a_pushed_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pin_dev = ["promote", MODEL, "--to", "dev", "--version", "2", "--storage-uri", "s3://my-models/c/2/model"]
    checkout = scaffolded_origin(tmp_path, [pin_dev])
    inputs = {"model": MODEL, "environment": "staging", "source": "dev", "reason": "two days in dev; $(no) `shell`"}
    outputs = run_workflow(tmp_path, checkout, monkeypatch, inputs)
    branch = f"mlgitops/promote-{MODEL}-staging-4242"
    assert outputs == {"changed": "true", "branch": branch}
    origin = tmp_path / "origin.git"
    message = git(origin, "log", "-1", "--format=%B", branch)
    assert message.splitlines()[0] == f"Promote {MODEL} to staging"
    assert "two days in dev; $(no) `shell`" in message  # the reason arrives as text, never run
    spec = yaml.safe_load(git(origin, "show", f"{branch}:{SPEC}"))
    assert spec["environments"]["staging"]["model"]["version"] == "2"
    changed = git(origin, "diff", "--name-only", "main", branch).splitlines()
    assert SPEC in changed and any(path.startswith("overlays/staging/") for path in changed)
    body = (tmp_path / "runner" / "mlgitops-promote.md").read_text()
    assert body.startswith(f"## Promote {MODEL} to staging: 1 → 2")
    assert git(checkout, "status", "--porcelain") == ""  # the PR body is outside the checkout
    assert run_cli(["render", "--check"], cwd=checkout).exit_code == 0

    # run again for an environment that already runs the version: no commit, no pull request
    git(checkout, "switch", "-q", "main")
    again = run_workflow(tmp_path, checkout, monkeypatch, {**inputs, "environment": "dev"})
    assert again == {"changed": "false"}
    assert "nothing to promote" in (tmp_path / "runner" / "summary.md").read_text()


def test_promotion_from_a_registry_alias(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry: Registry) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    name = f"classifier-{uuid.uuid4().hex[:8]}"
    version, run_id = registry.version(
        name, {"accuracy": 0.93}, source=f"s3://my-models/{name}/model", alias="champion"
    )
    # the registered model is named by the spec's model.registry; the server by mlgitops.yaml
    pin = ["promote", MODEL, "--to", "dev", "--version", "1", "--storage-uri", "s3://my-models/c/1/model"]
    checkout = scaffolded_origin(
        tmp_path,
        [[*pin, "--registry", f"models:/{name}/1"]],
        f"registry: {{type: mlflow, uri: '{registry.url}'}}\n",
    )
    token = f"tok-{uuid.uuid4().hex}"
    inputs = {"model": MODEL, "environment": "dev", "source": "alias:champion", "reason": "new champion"}
    outputs = run_workflow(tmp_path, checkout, monkeypatch, inputs, token=token)
    assert outputs["changed"] == "true"
    spec = yaml.safe_load(git(tmp_path / "origin.git", "show", f"{outputs['branch']}:{SPEC}"))
    assert spec["environments"]["dev"]["model"] == {
        "version": version,
        "storageUri": f"s3://my-models/{name}/model",
        "registry": f"models:/{name}/{version}",
        "runId": run_id,
    }
    body = (tmp_path / "runner" / "mlgitops-promote.md").read_text()
    assert "accuracy >= 0.9`: 0.93 (holds)" in body
    pushed = git(tmp_path / "origin.git", "log", "-p", "--all")
    assert token not in body and token not in pushed
