"""The release path: `.github/workflows/release.yml` (wheel, sdist, PyPI by trusted publishing, the
sidecar image), its lines that need no registry run here, and the built wheel installed into a fresh
virtualenv with a plain `pip install` working as a user's install."""

from __future__ import annotations

import os
import subprocess
import tomllib
import zipfile
from pathlib import Path

import yaml

from mlgitops import __version__
from tests.conftest import REPO, Installed
from tests.gitops.test_ci_files import github_scripts, mlgitops_calls

WORKFLOW = REPO / ".github" / "workflows" / "release.yml"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def workflow() -> dict[str, object]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_release_runs_on_tags_and_publishes_with_trusted_publishing() -> None:
    release = workflow()
    assert release[True] == {"push": {"tags": ["v*"]}}  # `on:` (YAML 1.1 bool)
    jobs = release["jobs"]
    assert isinstance(jobs, dict)
    assert set(jobs) == {"test", "dist", "pypi", "image"}
    assert release["permissions"] == {"contents": "read"}
    # nothing is built or published before the whole CI job (.ci/run) passed on the tagged commit
    assert jobs["test"] == {"uses": "./.github/workflows/ci.yml"} and jobs["dist"]["needs"] == "test"
    pypi = jobs["pypi"]
    assert pypi["needs"] == "dist" and pypi["environment"] == "pypi"
    assert pypi["permissions"] == {"id-token": "write"}  # trusted publishing: an OIDC token, no stored secret
    assert [s.get("uses") for s in pypi["steps"]] == [
        "actions/download-artifact@v4",
        "pypa/gh-action-pypi-publish@release/v1",
    ]
    assert "password" not in str(pypi)
    image = jobs["image"]
    assert image["permissions"] == {"contents": "read", "packages": "write"}
    pushes = next(s["run"] for s in image["steps"] if "run" in s)
    assert 'docker build --tag "$image" .' in pushes  # the repository's Dockerfile
    assert "mlgitops-cmp:${GITHUB_REF_NAME#v}" in pushes


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def step(name: str) -> str:
    (found,) = [s.text for s in github_scripts(WORKFLOW.read_text()) if f"({name})" in s.where]
    return found


def test_the_tag_must_name_the_package_version() -> None:
    check = step("The tag names the package version")
    assert run_step(check, REPO, {"GITHUB_REF_NAME": f"v{VERSION}"}).returncode == 0
    wrong = run_step(check, REPO, {"GITHUB_REF_NAME": "v9.9.9"})
    assert wrong.returncode == 1 and f"does not match version {VERSION}" in wrong.stderr


def test_every_mlgitops_call_in_the_release_exists() -> None:
    from mlgitops.cli.main import parser as _parser

    calls = [c for s in github_scripts(WORKFLOW.read_text()) for c in mlgitops_calls(s.text)]
    assert calls == []  # the release calls the installed CLI by its path ("$RUNNER_TEMP/try/bin/mlgitops")
    text = step("Install the wheel into a fresh virtualenv and run it")
    argvs = [line.split('bin/mlgitops"', 1)[1].split() for line in text.splitlines() if 'bin/mlgitops"' in line]
    assert [a[0] for a in argvs] == ["--version", "init", "-C"]
    for argv in argvs[1:]:  # --version exits
        args = _parser().parse_args([arg.replace('"$RUNNER_TEMP/try/project"', "p") for arg in argv])
        assert callable(args.handler)


def test_the_wheel_carries_the_package_data(built_wheel: Path) -> None:
    assert built_wheel.name == f"mlgitops-{__version__}-py3-none-any.whl"
    names = set(zipfile.ZipFile(built_wheel).namelist())
    for data in (
        "mlgitops/data/ci/github/mlgitops.yml",
        "mlgitops/data/ci/gitlab/gitlab-ci.yml",
        "mlgitops/data/scaffold/crds-README.md",
        "mlgitops/data/scaffold/mlgitops.yaml",
        "mlgitops/gitops/sidecar.py",
        "mlgitops/py.typed",
    ):
        assert data in names, data


def test_the_release_check_runs_against_the_built_wheel(installed: Installed, tmp_path: Path) -> None:
    """The dist job's install-and-run step, with the wheel built here in dist/ (pip installs it the same
    way; the dependencies come from the configured index)."""
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / installed.wheel.name).symlink_to(installed.wheel)
    result = run_step(
        step("Install the wheel into a fresh virtualenv and run it"),
        tmp_path,
        {"RUNNER_TEMP": str(tmp_path / "runner")},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"mlgitops {__version__}" in result.stdout
    assert (tmp_path / "runner" / "try" / "project" / "mlgitops.yaml").is_file()


def test_the_installed_cli_runs_from_its_own_virtualenv(installed: Installed, tmp_path: Path) -> None:
    version = subprocess.run([str(installed.mlgitops), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"mlgitops {__version__}"
    where = subprocess.run(
        [str(installed.prefix / "bin" / "python"), "-c", "import mlgitops; print(mlgitops.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed.prefix)
    init = subprocess.run(
        [str(installed.mlgitops), "init", "fresh"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert init.returncode == 0, init.stderr
    ci = (tmp_path / "fresh" / ".github" / "workflows" / "mlgitops.yml").read_text()
    assert f"'mlgitops=={__version__}'" in ci and "{{version}}" not in ci


def test_a_workflow_runs_ci_run_on_every_push_and_pull_request() -> None:
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    assert set(ci[True]) == {"push", "pull_request", "workflow_call"}
    (job,) = ci["jobs"].values()
    assert [s["run"] for s in job["steps"] if "run" in s][-1] == ".ci/run"
    assert "make docs" in (REPO / ".ci" / "run").read_text()
