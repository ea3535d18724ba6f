"""`mlgitops init` in a repository that already has files: it adds what is missing, overwrites
nothing, merges `.gitignore`, lists what it did; Argo CD starts in rendered mode unless given an image."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import yaml

from mlgitops.gitops.scaffold import scaffold_files
from mlgitops.language.loader import load_workspace
from tests.conftest import run_cli, snapshot_tree

README = "# ml-config\n\nOur team's configuration.\n"
GITIGNORE = "*.pyc\n.venv/\n.mlgitops.lock\n"
CI = "name: ours\non: push\njobs: {}\n"


def existing_repository(root: Path) -> Path:
    root.mkdir()
    (root / "README.md").write_text(README)
    (root / ".gitignore").write_text(GITIGNORE)
    (root / "config").mkdir()
    (root / "config" / "app.toml").write_text("[app]\nname = 'x'\n")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "mlgitops.yml").write_text(CI)
    return root


def test_init_adds_to_an_existing_repository_and_overwrites_nothing(tmp_path: Path) -> None:
    repo = existing_repository(tmp_path / "repo")
    result = run_cli(["init", "repo", "--name", "demo"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (repo / "README.md").read_text() == README
    assert (repo / ".github" / "workflows" / "mlgitops.yml").read_text() == CI
    assert (repo / "config" / "app.toml").read_text() == "[app]\nname = 'x'\n"
    gitignore = (repo / ".gitignore").read_text()
    assert gitignore.startswith(GITIGNORE)  # kept as it was, lines appended
    lines = gitignore.splitlines()
    assert lines.count(".mlgitops.lock") == 1  # already there: not repeated
    for needed in (".mlgitops-journal.json", ".mlgitops-staging-*/", ".mlgitops-cache/", "mlgitops-diff.md"):
        assert lines.count(needed) == 1
    out = result.stdout.splitlines()
    assert "  merged     .gitignore (4 line(s) appended)" in out
    assert "  left alone README.md (it exists)" in out
    assert "  left alone .github/workflows/mlgitops.yml (it exists)" in out
    for added in (
        "mlgitops.yaml",
        "models/example-classifier.yaml",
        "crds/README.md",
        "base/platform/kustomization.yaml",
    ):
        assert f"  added      {added}" in out, added
    written = {line.split()[-1] for line in out if line.startswith("  added ")}
    assert written == set(scaffold_files("demo", "x", "github")) - {
        "README.md",
        ".gitignore",
        ".github/workflows/mlgitops.yml",
    } | {"docs/mlgitops.md"}
    # the README's guidance is not lost: it goes to docs/mlgitops.md, and the output says so
    assert (repo / "docs" / "mlgitops.md").read_text() == scaffold_files("demo", "x", "github")["README.md"]
    assert "the project's guide is in docs/mlgitops.md (README.md exists and was left alone)" in out
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0
    assert run_cli(["validate"], cwd=repo).exit_code == 0


def test_init_twice_is_refused_as_an_existing_project(tmp_path: Path) -> None:
    existing_repository(tmp_path / "repo")
    assert run_cli(["init", "repo"], cwd=tmp_path).exit_code == 0
    before = snapshot_tree(tmp_path / "repo")
    again = run_cli(["init", "repo"], cwd=tmp_path)
    assert again.exit_code == 2 and "already has mlgitops.yaml" in again.stderr
    assert snapshot_tree(tmp_path / "repo") == before


def test_force_overwrites_the_starting_files(tmp_path: Path) -> None:
    repo = existing_repository(tmp_path / "repo")
    result = run_cli(["init", "repo", "--force"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (repo / "README.md").read_text() != README
    assert "left alone" not in result.stdout


def test_a_gitignore_with_every_line_is_left_alone(tmp_path: Path) -> None:
    repo = existing_repository(tmp_path / "repo")
    ours = scaffold_files("repo", "x", "none")[".gitignore"]
    (repo / ".gitignore").write_text(ours)
    result = run_cli(["init", "repo"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (repo / ".gitignore").read_text() == ours
    assert "  left alone .gitignore (it exists)" in result.stdout.splitlines()


def test_a_failing_init_restores_the_merged_gitignore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlgitops.gitops import scaffold

    repo = existing_repository(tmp_path / "repo")
    before = snapshot_tree(repo)
    real_write = scaffold._write

    def write_then_fail(root: Path, files: dict[str, str]) -> None:
        real_write(root, files)
        if root == repo:  # not the scratch render before it
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(root / "models"))

    monkeypatch.setattr(scaffold, "_write", write_then_fail)
    result = run_cli(["init", "repo"], cwd=tmp_path)
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    after = snapshot_tree(repo)
    assert after == before
    assert not (repo / ".mlgitops.lock").exists() or ".mlgitops.lock" in before


def test_an_existing_platform_kustomization_is_kept_and_rendered_with(tmp_path: Path) -> None:
    repo = existing_repository(tmp_path / "repo")
    (repo / "base" / "platform").mkdir(parents=True)
    ours = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [sa.yaml]\n"
    (repo / "base" / "platform" / "kustomization.yaml").write_text(ours)
    (repo / "base" / "platform" / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: trainer}\n"
    )
    result = run_cli(["init", "repo"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (repo / "base" / "platform" / "kustomization.yaml").read_text() == ours
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0


def test_init_writes_rendered_mode_and_says_how_to_switch(tmp_path: Path) -> None:
    result = run_cli(["init", "demo"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    project = yaml.safe_load((tmp_path / "demo" / "mlgitops.yaml").read_text())
    assert project["argocd"] == {"mode": "rendered"}
    assert not (tmp_path / "demo" / "plugins" / "argocd" / "sidecar").exists()
    switch = [line for line in result.stdout.splitlines() if "argocd.mode is rendered" in line]
    assert len(switch) == 1 and "mlgitops sidecar dockerfile" in switch[0] and "argocd.mode: plugin" in switch[0]
    readme = (tmp_path / "demo" / "README.md").read_text()
    assert "mlgitops sidecar dockerfile | docker build" in readme and "argocd.mode: plugin" in readme
    # the commented lines in mlgitops.yaml switch it: uncommented, the project renders the plugin
    text = (tmp_path / "demo" / "mlgitops.yaml").read_text()
    text = text.replace("  mode: rendered", "  mode: plugin").replace("  # mode: plugin\n", "")
    text = text.replace("  # image: REGISTRY/", "  image: registry.example.com/")
    (tmp_path / "demo" / "mlgitops.yaml").write_text(text)
    assert run_cli(["render"], cwd=tmp_path / "demo").exit_code == 0
    patch = (tmp_path / "demo" / "plugins" / "argocd" / "sidecar" / "repo-server-patch.yaml").read_text()
    assert "registry.example.com/mlgitops-cmp:" in patch


def test_init_with_an_image_writes_plugin_mode(tmp_path: Path) -> None:
    image = "registry.example.com/ml/mlgitops-cmp:0.1.0"
    result = run_cli(["init", "demo", "--image", image], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    workspace = load_workspace(tmp_path / "demo")
    assert (workspace.project.argocd.mode, workspace.project.argocd.image) == ("plugin", image)
    assert "argocd.mode is rendered" not in result.stdout
    assert image in (tmp_path / "demo" / "plugins" / "argocd" / "sidecar" / "repo-server-patch.yaml").read_text()


@pytest.mark.parametrize("image", ["mlgitops-cmp:0.1.0", "registry.example.com/ml/cmp", "UPPER/x:1"])
def test_an_image_plugin_mode_cannot_pull_is_a_usage_error(tmp_path: Path, image: str) -> None:
    result = run_cli(["init", "demo", "--image", image], cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"--image {image!r}: ") and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "demo").exists()


def _git(cwd: Path, *args: str) -> None:
    import subprocess

    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_init_follows_the_current_branch_and_the_origin_remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "master")
    _git(repo, "remote", "add", "origin", "https://someone:ghp_secret@github.com/acme/ml-config.git")
    monkeypatch.chdir(repo)
    result = run_cli(["init"])
    assert result.exit_code == 0, result.stderr
    project = yaml.safe_load((repo / "mlgitops.yaml").read_text())
    assert (project["revision"], project["repoURL"]) == ("master", "https://github.com/acme/ml-config.git")
    assert "ghp_secret" not in (repo / "mlgitops.yaml").read_text() + result.stdout
    out = result.stdout.splitlines()
    assert (
        "repoURL is the origin remote's URL; revision master (the current branch): "
        "Argo CD and Flux deploy from it" in out
    )
    assert out[-1] == "next: git add -A && git commit -m 'mlgitops init'"  # no `cd .`
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0


def test_init_outside_git_says_the_url_is_a_placeholder(tmp_path: Path) -> None:
    result = run_cli(["init", "demo"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    project = yaml.safe_load((tmp_path / "demo" / "mlgitops.yaml").read_text())
    assert project["revision"] == "main" and "your-org" in project["repoURL"]
    assert any(line.startswith("repoURL is a placeholder") for line in result.stdout.splitlines())
    assert result.stdout.splitlines()[-1].endswith("/demo && git init && git add -A && git commit -m 'mlgitops init'")


def test_init_revision_and_repo_url_options_win(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "trunk")
    _git(repo, "remote", "add", "origin", "git@github.com:acme/other.git")
    result = run_cli(["init", "--revision", "release/1.0", "--repo-url", "https://git.acme.io/ml.git"], cwd=repo)
    assert result.exit_code == 0, result.stderr
    project = yaml.safe_load((repo / "mlgitops.yaml").read_text())
    assert (project["revision"], project["repoURL"]) == ("release/1.0", "https://git.acme.io/ml.git")
    bad = run_cli(["init", "x", "--revision", "a..b"], cwd=tmp_path)
    assert bad.exit_code == 2 and "--revision 'a..b'" in bad.stderr


def test_init_pip_spec_goes_into_every_ci_definition(tmp_path: Path) -> None:
    spec = "git+https://github.com/acme/mlgitops@0123abcd"
    result = run_cli(["init", "demo", "--pip-spec", spec], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    for path in (".github/workflows/mlgitops.yml", ".github/workflows/mlgitops-promote.yml"):
        text = (tmp_path / "demo" / path).read_text()
        assert f"vars.MLGITOPS_PIP_SPEC || '{spec}'" in text, path
    gitlab = run_cli(["init", "lab", "--ci", "gitlab", "--pip-spec", spec], cwd=tmp_path)
    assert gitlab.exit_code == 0, gitlab.stderr
    assert yaml.safe_load((tmp_path / "lab/.gitlab-ci.yml").read_text())["variables"]["MLGITOPS_PIP_SPEC"] == spec
