"""The CI definitions and pre-commit hooks mlgitops ships: valid, calling only commands that exist, and
working when run, line by line, against a scaffolded project in a real Git repository with a pull request."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.cli.main import parser as _parser
from mlgitops.gitops.scaffold import ci_definition
from tests.conftest import REPO, run_cli

BIN = Path(sys.executable).parent
MODEL = "models/example-classifier.yaml"

# Lines that only make sense on a CI runner, not run here, each with the reason.
NOT_RUN_HERE = {
    'python -m pip install "$MLGITOPS_PIP_SPEC"': (
        "installs the released package from the package index; here this checkout's mlgitops is on PATH "
        "(tests/cli/test_day_one.py runs it with MLGITOPS_PIP_SPEC naming a built wheel)"
    ),
    'gh pr comment "$PR_NUMBER" --body-file mlgitops-diff.md --edit-last --create-if-none': (
        "posts the comment through the GitHub API"
    ),
}
# What GitHub puts in place of the `${{ ... }}` expressions the workflow uses, for a pull request.
# Repository variables (`vars.*`) are unset, as in a new repository.
GITHUB_CONTEXT = {"github.base_ref": "main", "github.token": "", "github.event.pull_request.number": "1"}


def _github_operand(operand: str) -> str:
    operand = operand.strip()
    if operand.startswith("'") and operand.endswith("'"):
        return operand[1:-1]
    return "" if operand.startswith("vars.") else GITHUB_CONTEXT[operand]


@dataclass
class Script:
    """One `run:` (GitHub) or one `script:` entry (GitLab), with the environment it runs in."""

    where: str
    text: str
    env: dict[str, str] = field(default_factory=dict)


def _github_value(value: Any) -> str:
    def expression(match: re.Match[str]) -> str:
        # `a || b`: the first operand that is not empty, as GitHub evaluates it for strings
        return next((v for v in map(_github_operand, match[1].split("||")) if v), "")

    return re.sub(r"\$\{\{(.*?)\}\}", expression, str(value))


def github_scripts(text: str) -> list[Script]:
    workflow = yaml.safe_load(text)
    top = {k: _github_value(v) for k, v in workflow.get("env", {}).items()}
    scripts = []
    for job_name, job in workflow["jobs"].items():
        job_env = {**top, **{k: _github_value(v) for k, v in job.get("env", {}).items()}}
        for index, step in enumerate(job.get("steps", [])):
            assert ("uses" in step) != ("run" in step), step
            if "run" in step:
                env = {**job_env, **{k: _github_value(v) for k, v in step.get("env", {}).items()}}
                scripts.append(Script(f"{job_name} step {index} ({step.get('name')})", step["run"], env))
    return scripts


def gitlab_scripts(text: str) -> list[Script]:
    pipeline = yaml.safe_load(text)
    top = {k: str(v) for k, v in pipeline.get("variables", {}).items()}
    scripts = []
    for job_name, job in pipeline.items():
        if job_name.startswith(".") or not isinstance(job, dict) or "script" not in job:
            continue
        merged = {**pipeline.get(job.get("extends", ""), {}), **job}
        env = {**top, **{k: str(v) for k, v in merged.get("variables", {}).items()}}
        for key in ("before_script", "script"):
            scripts.extend(Script(f"{job_name} {key}", line, env) for line in merged.get(key, []))
    return scripts


def hook_scripts() -> list[Script]:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    return [Script(f"pre-commit hook {hook['id']}", hook["entry"]) for hook in hooks]


def mlgitops_calls(script: str) -> list[list[str]]:
    """The argv of every `mlgitops` call in a shell script (up to the first redirection or operator)."""
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        for start, token in enumerate(tokens):
            if token == "mlgitops":
                argv = []
                for arg in tokens[start + 1 :]:
                    if set(arg) <= set("();<>|&"):
                        break
                    argv.append(arg)
                calls.append(argv)
    return calls


ALL_FILES = {
    "github": lambda: github_scripts(ci_definition("github")),
    "gitlab": lambda: gitlab_scripts(ci_definition("gitlab")),
    "pre-commit": hook_scripts,
}


def test_ci_files_are_valid_yaml_of_the_expected_shape() -> None:
    github = yaml.safe_load(ci_definition("github"))
    assert set(github["jobs"]) == {"check", "diff"}
    assert github[True] == {"push": {"branches": ["main"]}, "pull_request": None}  # `on:` (YAML 1.1 bool)
    assert github["jobs"]["diff"]["if"] == "github.event_name == 'pull_request'"
    gitlab = yaml.safe_load(ci_definition("gitlab"))
    assert {"mlgitops-check", "mlgitops-diff"} <= set(gitlab)
    assert gitlab["mlgitops-diff"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["mlgitops-render-check", "mlgitops-validate"]
    for hook in hooks:
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert set(hook) <= {
            "id",
            "name",
            "description",
            "entry",
            "language",
            "pass_filenames",
            "files",
            "additional_dependencies",
        }


def test_the_validate_hook_installs_what_validate_needs() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    hook = next(
        h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text()) if h["id"] == "mlgitops-validate"
    )
    # jsonschema and kubernetes-validate are main dependencies: the hook's own install brings them
    assert hook.get("additional_dependencies", []) == extras["validate"] == []


@pytest.mark.parametrize("kind", sorted(ALL_FILES))
def test_every_mlgitops_call_exists(kind: str) -> None:
    """Parsed by the real argument parser: an unknown command or option fails here, not in CI."""
    calls = [call for script in ALL_FILES[kind]() for call in mlgitops_calls(script.text)]
    assert calls, kind
    parser = _parser()
    for argv in calls:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{kind}: `mlgitops {shlex.join(argv)}` is not a valid mlgitops command line")
        assert callable(args.handler)
    commands = {call[0] for call in calls}
    expected = {"render", "validate"} | ({"diff"} if kind != "pre-commit" else set())
    assert commands == expected


def test_lines_left_out_are_in_the_files() -> None:
    lines = {
        line.strip()
        for kind in ("github", "gitlab")
        for script in ALL_FILES[kind]()
        for line in script.text.splitlines()
    }
    assert set(NOT_RUN_HERE) <= lines


# --- running them ---------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    argv = [
        "git",
        "-c",
        "user.name=CI Test",
        "-c",
        "user.email=ci@example.com",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "init.defaultBranch=main",
        *args,
    ]
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@dataclass
class PullRequest:
    checkout: Path  # the runner's checkout of the pull request
    base_sha: str


def pull_request(tmp_path: Path, *, rendered: bool) -> PullRequest:
    """A scaffolded project pushed to an `origin`, and a pull request that bumps the model's version
    (with the rendered files committed, or forgetting them), checked out as CI checks it out."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    assert run_cli(["init", "project", "--name", "demo"], cwd=tmp_path).exit_code == 0
    project = tmp_path / "project"
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "mlgitops init")
    git(project, "remote", "add", "origin", str(origin))
    git(project, "push", "-q", "origin", "main")
    base_sha = git(project, "rev-parse", "HEAD")
    git(project, "switch", "-q", "-c", "bump")
    model = project / MODEL
    bumped = model.read_text().replace('version: "1"', 'version: "2"').replace("/1/model", "/2/model")
    model.write_text(bumped)
    if rendered:
        assert run_cli(["render"], cwd=project).exit_code == 0
    git(project, "commit", "-q", "-a", "-m", "example-classifier: version 2")
    git(project, "push", "-q", "origin", "bump")
    checkout = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", "--branch", "bump", str(origin), str(checkout))
    return PullRequest(checkout, base_sha)


def run_script(script: Script, cwd: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """As runners do: GitHub runs `bash -eo pipefail` per `run:`, GitLab each line with `set -eo pipefail`."""
    env = {**os.environ, **script.env, **extra_env, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("MLGITOPS_GITLAB_TOKEN", None)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script.text],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def runnable(scripts: list[Script]) -> list[Script]:
    kept = [s for s in scripts if s.text.strip() not in NOT_RUN_HERE]
    assert len(kept) < len(scripts)  # the exclusions matched something
    return kept


def test_github_workflow_runs_on_a_pull_request(tmp_path: Path) -> None:
    pr = pull_request(tmp_path, rendered=True)
    summary = tmp_path / "step-summary.md"
    for script in runnable(github_scripts(ci_definition("github"))):
        result = run_script(script, pr.checkout, {"GITHUB_STEP_SUMMARY": str(summary), "CI": "true"})
        assert result.returncode == 0, (script.where, result.stdout, result.stderr)
        if "validate" in script.text:
            assert "::error" not in result.stdout
    diff = (pr.checkout / "mlgitops-diff.md").read_text()
    assert "example-classifier" in diff and "1 → 2" in diff
    assert summary.read_text() == diff
    assert git(pr.checkout, "status", "--porcelain") == ""  # CI leaves the checkout clean (.gitignore)


def test_gitlab_pipeline_runs_on_a_merge_request(tmp_path: Path) -> None:
    pr = pull_request(tmp_path, rendered=True)
    env = {
        "CI": "true",
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": pr.base_sha,
    }
    for script in runnable(gitlab_scripts(ci_definition("gitlab"))):
        result = run_script(script, pr.checkout, env)
        assert result.returncode == 0, (script.where, result.stdout, result.stderr)
    diff = (pr.checkout / "mlgitops-diff.md").read_text()
    assert "example-classifier" in diff and "1 → 2" in diff


@pytest.mark.parametrize("kind", ["github", "gitlab", "pre-commit"])
def test_a_pull_request_without_the_rendered_files_fails_the_check(tmp_path: Path, kind: str) -> None:
    pr = pull_request(tmp_path, rendered=False)
    checks = [s for s in ALL_FILES[kind]() if "render --check" in s.text]
    assert len(checks) == 1
    result = run_script(checks[0], pr.checkout, {"CI": "true"})
    assert result.returncode == 1
    assert "base/models/example-classifier/inferenceservice-example-classifier.yaml" in result.stdout
    assert "run `mlgitops render`" in result.stderr


def test_pre_commit_hooks_pass_on_a_fresh_project(tmp_path: Path) -> None:
    pr = pull_request(tmp_path, rendered=True)
    for script in hook_scripts():
        result = run_script(script, pr.checkout, {})
        assert result.returncode == 0, (script.where, result.stdout, result.stderr)
