"""`mlgitops init --ci jenkins-x`: the Lighthouse triggers and the Tekton PipelineRuns it writes.

The oracle is the real code, not the shape of the files: tools/jenkins-x/main.go (built by
`make controlplane`, cached outside the repository) decodes the files strictly into Lighthouse's
`TriggerConfig` and Tekton's pipeline/v1 `PipelineRun` types, runs Tekton's webhook defaulting and
validation, loads them with Lighthouse's in-repository loader and job validation, and substitutes the
parameter values Lighthouse gives a pull request or a push the way Tekton's reconcilers do. The steps
it reports are then run here, as a Tekton pod would run them, against a real Git repository with a pull
request (and, with the local control plane, the release's `kubectl apply` against a real API server).
Without the checker those tests skip with the reason (fail under MLGITOPS_REQUIRE_ALL=1).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.cli.main import parser as _parser
from mlgitops.gitops.jenkinsx import PIPELINE_FILES, branch_regex, promote_environments
from mlgitops.gitops.scaffold import scaffold_files
from mlgitops.util.pipspec import default_pip_spec
from tests.conftest import REPO, run_cli, unavailable
from tests.gitops.test_ci_files import git, mlgitops_calls

BIN = Path(sys.executable).parent
MODEL = "models/example-classifier.yaml"
TRIGGERS = ".lighthouse/jenkins-x/triggers.yaml"
PULLREQUEST = ".lighthouse/jenkins-x/pullrequest.yaml"
RELEASE = ".lighthouse/jenkins-x/release.yaml"
PYTHON_IMAGE = "docker.io/library/python:3.12.12-bookworm"
# Steps not run here, each with the reason.
NOT_RUN_HERE = {
    "install": "installs the released package from the package index; here this checkout's mlgitops is used "
    "(tests/test_day_one.py installs a built wheel the same way)",
    "comment": "posts the comment through the Git provider's API (`jx gitops pr comment`, in the jx-boot image)",
}


def init_project(tmp_path: Path, *args: str, name: str = "project") -> Path:
    result = run_cli(["init", name, "--ci", "jenkins-x", "--name", "jxdemo", *args], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    return tmp_path / name


# --- the files, read as YAML (no Go needed) ----------------------------------------------------------


def test_init_writes_the_three_files_and_no_other_ci(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main", "repo")
    result = run_cli(["init", "repo", "--ci", "jenkins-x", "--name", "jxdemo"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    repo = tmp_path / "repo"
    for path in PIPELINE_FILES:
        assert f"  added      {path}\n" in result.stdout
    assert not (repo / ".github").exists() and not (repo / ".gitlab-ci.yml").exists()
    expected = scaffold_files("jxdemo", "https://github.com/your-org/jxdemo.git", "jenkins-x")
    assert {p: (repo / p).read_text() for p in PIPELINE_FILES} == {p: expected[p] for p in PIPELINE_FILES}
    assert "{{" not in "".join(expected[p] for p in PIPELINE_FILES)
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0
    assert run_cli(["validate"], cwd=repo).exit_code == 0


def test_the_files_name_each_other_and_pin_what_they_run(tmp_path: Path) -> None:
    repo = init_project(tmp_path)
    triggers = yaml.safe_load((repo / TRIGGERS).read_text())
    assert (triggers["apiVersion"], triggers["kind"]) == ("config.lighthouse.jenkins-x.io/v1alpha1", "TriggerConfig")
    sources = [job["source"] for kind in ("presubmits", "postsubmits") for job in triggers["spec"][kind]]
    assert sources == ["pullrequest.yaml", "release.yaml"]
    assert triggers["spec"]["postsubmits"][0]["branches"] == ["^main$"]
    for path in (PULLREQUEST, RELEASE):
        run = yaml.safe_load((repo / path).read_text())
        assert (run["apiVersion"], run["kind"]) == ("tekton.dev/v1", "PipelineRun")
        assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == "tekton-bot"
        steps = [s for task in run["spec"]["pipelineSpec"]["tasks"] for s in task["taskSpec"]["steps"]]
        images = {s["image"] for s in steps}
        assert images <= {PYTHON_IMAGE, "ghcr.io/jenkins-x/jx-boot:3.10.154"}, images
        for step in steps:
            # parameters reach the scripts as environment variables, never pasted into them by Tekton
            assert not re.search(r"\$\((params|context|workspaces|tasks|steps|results)\.", step["script"]), step
        params = {p["name"]: p for p in run["spec"]["pipelineSpec"]["params"]}
        assert params["MLGITOPS_PIP_SPEC"]["default"] == default_pip_spec()  # this mlgitops, as for GitHub
    release = yaml.safe_load((repo / RELEASE).read_text())
    params = {p["name"]: p for p in release["spec"]["pipelineSpec"]["params"]}
    assert params["PROMOTE_ENVIRONMENTS"]["default"] == "dev staging"  # prod has syncPolicy: manual


def test_pip_spec_and_revision_go_into_the_files(tmp_path: Path) -> None:
    spec = "git+https://github.com/acme/mlgitops@0123abcd"
    repo = init_project(tmp_path, "--pip-spec", spec, "--revision", "release/1.0")
    for path in (PULLREQUEST, RELEASE):
        run = yaml.safe_load((repo / path).read_text())
        params = {p["name"]: p for p in run["spec"]["pipelineSpec"]["params"]}
        assert params["MLGITOPS_PIP_SPEC"]["default"] == spec
        assert spec in (repo / path).read_text().split("apiVersion:")[0]  # the header says what it installs
    triggers = yaml.safe_load((repo / TRIGGERS).read_text())
    assert triggers["spec"]["postsubmits"][0]["branches"] == ["^release/1\\.0$"]


def test_branch_regex_and_promote_environments() -> None:
    assert branch_regex("main") == "^main$"
    assert branch_regex("a.b+c(d)") == "^a\\.b\\+c\\(d\\)$"
    project = "environments:\n- {name: dev}\n- {name: qa, syncPolicy: auto}\n- {name: prod, syncPolicy: manual}\n"
    assert promote_environments(project) == ["dev", "qa"]
    assert promote_environments("[]") == [] and promote_environments("environments:\n") == []


def step_scripts(repo: Path, path: str) -> dict[str, str]:
    run = yaml.safe_load((repo / path).read_text())
    return {s["name"]: s["script"] for task in run["spec"]["pipelineSpec"]["tasks"] for s in task["taskSpec"]["steps"]}


@pytest.mark.parametrize(
    ("path", "expected"), [(PULLREQUEST, {"render", "validate", "diff"}), (RELEASE, {"render", "validate"})]
)
def test_every_mlgitops_call_exists(tmp_path: Path, path: str, expected: set[str]) -> None:
    """Parsed by the real argument parser: an unknown command or option fails here, not in Jenkins X."""
    repo = init_project(tmp_path)
    calls = [call for script in step_scripts(repo, path).values() for call in mlgitops_calls(script)]
    parser = _parser()
    for argv in calls:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{path}: `mlgitops {shlex.join(argv)}` is not a valid mlgitops command line")
        assert callable(args.handler)
    assert {call[0] for call in calls} == expected
    assert ["render", "--check"] in calls


def test_the_kubectl_call_is_a_real_kubectl_command_line(tmp_path: Path) -> None:
    """The release's `kubectl apply` flags, parsed by the kubectl that comes with mlgitops (a flag it did
    not know would fail before it reads anything)."""
    repo = init_project(tmp_path)
    lines = [line.strip() for line in step_scripts(repo, RELEASE)["promote"].splitlines()]
    apply = next(line for line in lines if line.startswith("kubectl apply"))
    argv = shlex.split(apply.replace('"overlays/$env"', "overlays/dev"))
    done = subprocess.run(
        [str(BIN / "kubectl"), *argv[1:], "--dry-run=client", "--kubeconfig", os.devnull, "-o", "name"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "unknown flag" not in done.stderr and "unknown shorthand" not in done.stderr, done.stderr


# --- the oracle: Lighthouse and Tekton, built from their Go modules ---------------------------------------


@pytest.fixture(scope="module")
def checker() -> Path:
    """tools/jenkins-x's jx-pipeline-check, built by `make controlplane` (tools/build-controlplane)."""
    try:
        done = subprocess.run(
            [str(REPO / "tools" / "build-controlplane"), "--built", "jenkins-x"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except OSError as error:
        unavailable(f"the Jenkins X pipeline checker: {error}")
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["Go is missing"])[-1]
        unavailable(f"the Jenkins X pipeline checker (tools/jenkins-x) is not built: {reason}")
    return Path(done.stdout.strip()) / "jx-pipeline-check"


@dataclass
class Check:
    code: int
    report: dict[str, Any] | None
    stderr: str

    def job(self, name: str) -> dict[str, Any]:
        assert self.report is not None, self.stderr
        return next(job for job in self.report["jobs"] if job["name"] == name)


def check(checker: Path, repo: Path, *flags: str) -> Check:
    done = subprocess.run([str(checker), *flags, str(repo)], capture_output=True, text=True, timeout=300, check=False)
    return Check(done.returncode, json.loads(done.stdout) if done.returncode == 0 else None, done.stderr)


def test_lighthouse_and_tekton_accept_the_pipelines(checker: Path, tmp_path: Path) -> None:
    repo = init_project(tmp_path)
    result = check(checker, repo, "-branches", "main,feature/x")
    assert result.code == 0, result.stderr
    assert result.report is not None
    assert result.report["triggerFiles"] == [TRIGGERS]
    assert [(job["kind"], job["name"]) for job in result.report["jobs"]] == [
        ("presubmit", "mlgitops"),
        ("postsubmit", "mlgitops-release"),
    ]
    pr, release = result.job("mlgitops"), result.job("mlgitops-release")
    assert pr["agent"] == release["agent"] == "tekton-pipeline"
    assert pr["alwaysRun"] and not pr["optional"] and pr["rerunCommand"] == "/test mlgitops"
    assert pr["runsFor"] == {"main": True, "feature/x": True}  # every pull request
    assert release["runsFor"] == {"main": True, "feature/x": False}  # pushes to the project's revision only
    for job, steps in (
        (pr, ["git-clone", "install", "render-check", "validate", "diff", "comment"]),
        (release, ["git-clone", "install", "render-check", "validate", "promote"]),
    ):
        assert job["serviceAccountName"] == "tekton-bot"
        assert [s["name"] for s in job["steps"]] == steps
        for step in job["steps"]:
            assert step["env"]["HOME"] == "/tekton/home"
            assert step["env"]["REPO_URL"] == "https://github.com/acme/ml-config.git"
    assert {s["env"]["PULL_PULL_SHA"] for s in pr["steps"]} == {"c" * 40}
    assert {s["env"]["PROMOTE_ENVIRONMENTS"] for s in release["steps"]} == {"dev staging"}
    assert next(s for s in pr["steps"] if s["name"] == "comment")["onError"] == "continue"


def test_a_revision_branch_triggers_the_release_on_that_branch_only(checker: Path, tmp_path: Path) -> None:
    repo = init_project(tmp_path, "--revision", "release/1.0")
    result = check(checker, repo, "-base-ref", "release/1.0", "-branches", "release/1.0,release/1x0,main")
    assert result.code == 0, result.stderr
    assert result.job("mlgitops-release")["runsFor"] == {"release/1.0": True, "release/1x0": False, "main": False}


def _replace(old: str, new: str) -> Any:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return edit


BROKEN = {
    "a v1beta1 field": (PULLREQUEST, _replace("computeResources:", "resources:"), 'unknown field "resources"'),
    "v1beta1": (
        RELEASE,
        _replace("apiVersion: tekton.dev/v1\n", "apiVersion: tekton.dev/v1beta1\n"),
        "expected tekton.dev/v1 PipelineRun",
    ),
    "an undeclared parameter": (
        RELEASE,
        _replace("mlgitops validate\n", "mlgitops validate $(params.NOPE)\n"),
        "non-existent variable",
    ),
    "a step name Kubernetes refuses": (
        PULLREQUEST,
        _replace("- name: diff\n", "- name: Diff_Step\n"),
        "step name must be a valid DNS Label",
    ),
    "a missing source": (
        TRIGGERS,
        _replace("source: release.yaml", "source: releases.yaml"),
        'source "releases.yaml" is not a file in the repository',
    ),
    "a source outside": (
        TRIGGERS,
        _replace("source: release.yaml", "source: ../../../elsewhere.yaml"),
        "is outside the repository",
    ),
    "an unknown trigger field": (
        TRIGGERS,
        _replace("always_run: true", "always_run: true\n    alwaysRun: true"),
        'unknown field "alwaysRun"',
    ),
    "a trigger kind": (TRIGGERS, _replace("kind: TriggerConfig", "kind: Trigger"), "expected config.lighthouse"),
    "a branch regex": (TRIGGERS, _replace('- "^main$"', '- "^(main$"'), "could not compile positive branch regex"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_checker_refuses_broken_pipelines(checker: Path, tmp_path: Path, case: str) -> None:
    """The oracle has teeth: each mistake is refused, with one line naming the file."""
    repo = init_project(tmp_path)
    path, edit, message = BROKEN[case]
    (repo / path).write_text(edit((repo / path).read_text()))
    result = check(checker, repo)
    assert result.code == 1, result.stderr
    assert message.lower() in result.stderr.lower(), result.stderr
    assert result.stderr.startswith(".lighthouse"), result.stderr


# --- running the steps, as a Tekton pod runs them ----------------------------------------------------------


@dataclass
class Repository:
    origin: Path
    project: Path
    base_sha: str  # the base branch's head when the pull request's pipeline runs
    pull_sha: str


def pull_request(tmp_path: Path) -> Repository:
    """An init project pushed to an `origin`; a pull request bumping the model's version (rendered),
    published as GitHub does (refs/pull/1/head); and a later commit on main, so that the pipeline has to
    merge."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    project = init_project(tmp_path)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "mlgitops init")
    git(project, "remote", "add", "origin", str(origin))
    git(project, "push", "-q", "origin", "main")
    git(project, "switch", "-q", "-c", "bump")
    model = project / MODEL
    model.write_text(model.read_text().replace('version: "1"', 'version: "2"').replace("/1/model", "/2/model"))
    assert run_cli(["render"], cwd=project).exit_code == 0
    git(project, "commit", "-q", "-a", "-m", "example-classifier: version 2")
    git(project, "push", "-q", "origin", "bump:refs/pull/1/head")
    pull_sha = git(project, "rev-parse", "HEAD")
    git(project, "switch", "-q", "main")
    with (project / "README.md").open("a") as readme:
        readme.write("\nA line added on main after the pull request was opened.\n")
    git(project, "commit", "-q", "-a", "-m", "README: a note")
    git(project, "push", "-q", "origin", "main")
    return Repository(origin, project, git(project, "rev-parse", "HEAD"), pull_sha)


class StepFailedError(Exception):
    """A step exited non-zero, which stops the pod."""

    def __init__(self, step: str, stdout: str, stderr: str) -> None:
        super().__init__(f"step {step} failed:\n{stdout}\n{stderr}")
        self.step, self.stdout, self.stderr = step, stdout, stderr


class Pod:
    """A Tekton pod's steps, here: /workspace and /tekton/home are directories under tmp_path, the working
    directories exist before the first step (Tekton creates them), and /workspace/venv is a virtualenv
    holding this checkout's mlgitops (and kubectl, or a stand-in)."""

    def __init__(self, tmp_path: Path, kubectl: Path | None = None) -> None:
        self.workspace = tmp_path / "pod" / "workspace"
        self.home = tmp_path / "pod" / "home"
        self.home.mkdir(parents=True)
        venv = self.workspace / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
        (venv / "bin" / "mlgitops").symlink_to(BIN / "mlgitops")
        (venv / "bin" / "kubectl").symlink_to(kubectl or BIN / "kubectl")

    def local(self, text: str) -> str:
        return text.replace("/workspace", str(self.workspace)).replace("/tekton/home", str(self.home))

    def run(self, steps: list[dict[str, Any]], extra_env: dict[str, str] | None = None) -> dict[str, str]:
        """Run the steps in order, as a pod does (the first failure stops it); each step's output."""
        for step in steps:
            Path(self.local(step["workingDir"])).mkdir(parents=True, exist_ok=True)
        outputs = {}
        for step in steps:
            if step["name"] in NOT_RUN_HERE:
                continue
            assert step["image"] == PYTHON_IMAGE and step["script"].startswith("#!/bin/sh\n"), step["name"]
            env = {name: self.local(value) for name, value in step["env"].items()}
            env |= {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **(extra_env or {})}
            done = subprocess.run(
                ["sh", "-c", self.local(step["script"])],
                cwd=self.local(step["workingDir"]),
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0:
                raise StepFailedError(step["name"], done.stdout, done.stderr)
            outputs[step["name"]] = done.stdout
        return outputs


def test_pull_request_pipeline_runs_on_a_pull_request(checker: Path, tmp_path: Path) -> None:
    repo = pull_request(tmp_path)
    result = check(
        checker,
        repo.project,
        "-clone-uri",
        str(repo.origin),
        "-owner",
        "acme",
        "-repo",
        "jxdemo",
        "-base-ref",
        "main",
        "-base-sha",
        repo.base_sha,
        "-pull-number",
        "1",
        "-pull-sha",
        repo.pull_sha,
        "-pull-ref",
        "refs/pull/1/head",
    )
    assert result.code == 0, result.stderr
    steps = result.job("mlgitops")["steps"]
    assert {s["name"] for s in steps} >= set(NOT_RUN_HERE)
    pod = Pod(tmp_path)
    outputs = pod.run(steps)
    checkout = pod.workspace / "source"
    # what was checked is the pull request merged into the base: both commits are in it
    assert git(checkout, "merge-base", "--is-ancestor", repo.pull_sha, "HEAD") == ""
    assert git(checkout, "merge-base", "--is-ancestor", repo.base_sha, "HEAD") == ""
    assert "the pull request merged into" in outputs["git-clone"]
    diff = (pod.workspace / "mlgitops-diff.md").read_text()
    assert "example-classifier" in diff and "1 → 2" in diff
    assert outputs["diff"] == diff
    assert git(checkout, "status", "--porcelain") == ""  # the steps leave the checkout as it was


def test_pull_request_pipeline_fails_without_the_rendered_files(checker: Path, tmp_path: Path) -> None:
    repo = pull_request(tmp_path)
    model = repo.project / MODEL
    git(repo.project, "switch", "-q", "-c", "forgot")
    model.write_text(model.read_text().replace('version: "1"', 'version: "3"').replace("/1/model", "/3/model"))
    git(repo.project, "commit", "-q", "-a", "-m", "version 3, not rendered")
    git(repo.project, "push", "-q", "origin", "forgot:refs/pull/2/head")
    result = check(
        checker,
        repo.project,
        "-clone-uri",
        str(repo.origin),
        "-base-sha",
        repo.base_sha,
        "-pull-number",
        "2",
        "-pull-sha",
        git(repo.project, "rev-parse", "HEAD"),
        "-pull-ref",
        "refs/pull/2/head",
    )
    assert result.code == 0, result.stderr
    steps = result.job("mlgitops")["steps"]
    pod = Pod(tmp_path)
    with pytest.raises(StepFailedError) as failure:
        pod.run(steps)
    assert failure.value.step == "render-check"
    assert "run `mlgitops render`" in failure.value.stderr


def merged(tmp_path: Path) -> tuple[Repository, str]:
    """The pull request merged into main and pushed: the revision the release pipeline gets."""
    repo = pull_request(tmp_path)
    git(repo.project, "merge", "-q", "--no-edit", "bump")
    git(repo.project, "push", "-q", "origin", "main")
    return repo, git(repo.project, "rev-parse", "HEAD")


def release_steps(checker: Path, repo: Repository, sha: str) -> list[dict[str, Any]]:
    result = check(checker, repo.project, "-clone-uri", str(repo.origin), "-base-ref", "main", "-base-sha", sha)
    assert result.code == 0, result.stderr
    job = result.job("mlgitops-release")
    assert job["params"]["PULL_BASE_SHA"] == sha and "PULL_NUMBER" not in job["params"]
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def test_release_pipeline_checks_and_promotes_the_revision(checker: Path, tmp_path: Path) -> None:
    repo, sha = merged(tmp_path)
    steps = release_steps(checker, repo, sha)
    log = tmp_path / "kubectl.log"
    stand_in = tmp_path / "kubectl"
    stand_in.write_text(f'#!/bin/sh\nprintf "%s|%s\\n" "$(pwd)" "$*" >> {shlex.quote(str(log))}\n')
    stand_in.chmod(0o755)
    pod = Pod(tmp_path, kubectl=stand_in)
    outputs = pod.run(steps)
    assert git(pod.workspace / "source", "rev-parse", "HEAD") == sha
    checkout = pod.workspace / "source"
    assert log.read_text().splitlines() == [
        f"{checkout}|apply --server-side --field-manager=mlgitops -k overlays/{env}" for env in ("dev", "staging")
    ]
    assert f"deploying {sha} to dev" in outputs["promote"]

    promote = next(s for s in steps if s["name"] == "promote")
    log.unlink()
    outputs = pod.run([promote], {"PROMOTE_ENVIRONMENTS": ""})
    assert "deployed nowhere" in outputs["promote"] and not log.exists()
    with pytest.raises(StepFailedError) as failure:
        pod.run([promote], {"PROMOTE_ENVIRONMENTS": "dev qa"})
    assert "PROMOTE_ENVIRONMENTS names qa" in failure.value.stderr
    assert not log.exists()  # nothing applied: every environment is checked first


def test_release_pipeline_deploys_to_the_control_plane(checker: Path, cluster: Any, tmp_path: Path) -> None:
    """The promote step's real `kubectl apply` against the real kube-apiserver with KServe's webhooks: dev
    and staging run the merged revision, prod (syncPolicy: manual) is left alone."""
    repo, sha = merged(tmp_path)
    steps = release_steps(checker, repo, sha)
    pod = Pod(tmp_path)
    pod.run([s for s in steps if s["name"] in ("git-clone", "promote")], {"KUBECONFIG": str(cluster.kubeconfig)})
    for env, version in (("dev", "2"), ("staging", "2")):
        isvc = cluster.get("serving.kserve.io/v1beta1", "InferenceService", "example-classifier", f"jxdemo-{env}")
        assert isvc is not None, env
        assert isvc["metadata"]["labels"]["app.kubernetes.io/version"] == version
    assert cluster.get("v1", "Namespace", "jxdemo-prod") is None
