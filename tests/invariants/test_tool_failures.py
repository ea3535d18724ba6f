"""The external programs mlgitops runs (Git and Kustomize) missing, hanging, failing or printing nonsense:
every command that needs one fails with one line naming the program and what went wrong, a non-zero exit,
nothing on stdout and every file as it was. The programs are shell scripts put first on PATH (or named by
MLGITOPS_KUSTOMIZE), so the real binaries' failure modes are reproduced without breaking them."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from mlgitops.delivery import git_repo
from mlgitops.layout import kustomize
from tests.conftest import copy_example, run_cli, snapshot_tree
from tests.delivery.test_diff import commit_all, git

# What each fake program does, as a POSIX shell body.
BEHAVIOURS = {
    "hangs": "exec sleep 60",
    "fails": 'echo "fatal: the disk is on fire" >&2; exit 128',
    "prints nonsense": "printf '\\000\\377 not what was asked'; exit 0",
}


def _fake(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / name
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return program


@pytest.fixture
def committed(tmp_path: Path) -> Path:
    """The bundled example, rendered and committed on `main` (with the real git, before any fake)."""
    root = copy_example(tmp_path / "repo")
    git(root, "init", "-q", "-b", "main")
    assert run_cli(["render"], cwd=root).exit_code == 0
    commit_all(root, "example")
    return root


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hung program is given up on after 1 s instead of the production bounds (60 s and 50 s)."""
    monkeypatch.setattr(git_repo, "TIMEOUT_S", 1)
    monkeypatch.setattr(kustomize, "TIMEOUT_S", 1)


def _one_line_failure(result_stderr: str, stdout: str) -> str:
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1, result_stderr
    assert "Traceback" not in result_stderr
    assert stdout == ""  # never partial output
    return lines[0]


# Exit codes as each command documents them: `diff` exits 2 on any error (1 means "changes"); `history` and
# `validate` exit 1 when Git could not be read.
GIT_COMMANDS = [
    (["diff", "--base", "HEAD"], 2),
    (["history", "fraud-detector"], 1),
    (["validate", "--base", "HEAD"], 1),
]


@pytest.mark.parametrize(("argv", "code"), GIT_COMMANDS, ids=lambda v: v[0] if isinstance(v, list) else str(v))
def test_git_missing(committed: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], code: int) -> None:
    empty = committed.parent / "empty-bin"
    empty.mkdir()
    before = snapshot_tree(committed)
    monkeypatch.setenv("PATH", str(empty))
    result = run_cli(argv, cwd=committed)
    assert result.exit_code == code
    line = _one_line_failure(result.stderr, result.stdout)
    assert "git not found on PATH" in line
    assert snapshot_tree(committed) == before


@pytest.mark.usefixtures("short_timeouts")
@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
@pytest.mark.parametrize(("argv", "code"), GIT_COMMANDS, ids=lambda v: v[0] if isinstance(v, list) else str(v))
def test_git_misbehaving(
    committed: Path, monkeypatch: pytest.MonkeyPatch, behaviour: str, argv: list[str], code: int
) -> None:
    bin_dir = committed.parent / "fake-bin"
    _fake(bin_dir, "git", BEHAVIOURS[behaviour])
    before = snapshot_tree(committed)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = run_cli(argv, cwd=committed)
    assert result.exit_code == code, result.stderr
    line = _one_line_failure(result.stderr, result.stdout)
    if behaviour == "hangs":
        assert "took longer than 1s" in line
    elif behaviour == "fails":
        assert line == "git rev-parse failed: fatal: the disk is on fire"
    else:  # nonsense where `true` was expected: refused, not taken for "not a repository"
        assert line.startswith("git rev-parse --is-inside-work-tree printed ") and line.endswith(", not true or false")
    assert snapshot_tree(committed) == before


KUSTOMIZE_COMMANDS = [
    (["build", "--env", "prod"], 1),
    (["validate"], 1),
]


@pytest.fixture
def fresh_kustomize_lookup() -> object:
    """`kustomize_command` is cached per process: forget it before and after the test."""
    kustomize.kustomize_command.cache_clear()
    yield None
    kustomize.kustomize_command.cache_clear()


@pytest.mark.usefixtures("short_timeouts", "fresh_kustomize_lookup")
@pytest.mark.parametrize("behaviour", [*sorted(BEHAVIOURS), "missing"])
@pytest.mark.parametrize(("argv", "code"), KUSTOMIZE_COMMANDS, ids=lambda v: v[0] if isinstance(v, list) else str(v))
def test_kustomize_misbehaving(
    committed: Path, monkeypatch: pytest.MonkeyPatch, behaviour: str, argv: list[str], code: int
) -> None:
    """The example has base/platform/, which the real Kustomize builds: the fake stands in for it."""
    assert (committed / "base/platform/kustomization.yaml").is_file()
    bin_dir = committed.parent / "fake-bin"
    program = bin_dir / "kustomize" if behaviour == "missing" else _fake(bin_dir, "kustomize", BEHAVIOURS[behaviour])
    monkeypatch.setenv("MLGITOPS_KUSTOMIZE", str(program))
    before = snapshot_tree(committed)
    result = run_cli(argv, cwd=committed)
    assert result.exit_code == code, result.stdout + result.stderr
    line = _one_line_failure(result.stderr, result.stdout)
    expected = {
        "hangs": "took longer than 1s",
        "fails": "kustomize build failed: fatal: the disk is on fire",
        "missing": f"cannot run {program}",
        "prints nonsense": f"{program} printed output that is not UTF-8 (byte 1); is it Kustomize?",
    }[behaviour]
    assert expected in line
    assert snapshot_tree(committed) == before


def test_the_fakes_behave_as_described(tmp_path: Path) -> None:
    """The shims themselves: so a passing test above is not a shim that never ran."""
    for behaviour, body in BEHAVIOURS.items():
        program = _fake(tmp_path, f"tool-{behaviour.replace(' ', '-')}", body)
        try:
            proc = subprocess.run([str(program)], capture_output=True, timeout=2, check=False)
        except subprocess.TimeoutExpired:
            assert behaviour == "hangs"
            continue
        assert behaviour != "hangs"
        assert (proc.returncode != 0) == (behaviour == "fails")
