"""Writing the generated tree: complete, stale files removed, hand-written files protected, atomic."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from mlgitops.gitops import generate
from mlgitops.layout import tree
from mlgitops.util.errors import SpecError
from tests.conftest import run_cli, snapshot_tree


def test_check_reports_nothing_on_a_fresh_render(example: Path) -> None:
    result = run_cli(["render", "--check"], cwd=example)
    assert (result.exit_code, result.stdout) == (0, "")


def test_check_lists_stale_files_and_writes_nothing(example: Path) -> None:
    model = example / "models/fraud-detector.yaml"
    model.write_text(model.read_text().replace("replicas: {min: 3, max: 10}", "replicas: {min: 4, max: 12}"))
    before = snapshot_tree(example)
    result = run_cli(["render", "--check"], cwd=example)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["overlays/prod/fraud-detector/kustomization.yaml"]  # its inline patches
    assert "render` and commit the result" in result.stderr
    assert snapshot_tree(example) == before
    assert run_cli(["render"], cwd=example).exit_code == 0
    assert run_cli(["render", "--check"], cwd=example).exit_code == 0


def test_deleted_model_and_removed_environment_leave_no_generated_files(example: Path) -> None:
    (example / "models/churn-scorer.yaml").unlink()
    project = example / "mlgitops.yaml"
    text = project.read_text()
    start = text.index("- name: staging")
    end = text.index("- name: prod")
    project.write_text(text[:start] + text[end:])
    model = example / "models/fraud-detector.yaml"
    text = model.read_text()
    # the model's staging patch and its staging-only waiver go with the environment
    start, end = text.index("  staging:\n"), text.index("  prod:\n")
    text = text[:start] + text[end:]
    start = text.index("  - id: knative-canary\n")
    end = text.index("    environments: [staging]\n", start) + len("    environments: [staging]\n")
    model.write_text(text[:start] + text[end:])
    assert run_cli(["render"], cwd=example).exit_code == 0, "render failed"
    assert not (example / "base/models/churn-scorer").exists()
    assert not (example / "overlays/staging").exists()
    assert "churn-scorer" not in (example / "overlays/prod/kustomization.yaml").read_text()
    assert run_cli(["render", "--check"], cwd=example).exit_code == 0


def test_unchanged_render_rewrites_nothing(example: Path) -> None:
    files = sorted((example / "overlays").rglob("*.yaml"))
    stamps = [f.stat().st_mtime_ns for f in files]
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 0 and result.stderr == "up to date: no generated file changed\n"
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_hand_written_file_in_a_generated_directory_is_never_deleted(example: Path) -> None:
    note = example / "overlays/prod/my-notes.yaml"
    note.write_text("hand: written\n")
    before = snapshot_tree(example)
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    assert result.stderr.startswith("overlays/prod/my-notes.yaml:1:1: not written by mlgitops")
    assert snapshot_tree(example) == before


def test_failed_swap_puts_the_old_tree_back(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = example / "models/fraud-detector.yaml"
    text = model.read_text().replace('version: "7"', 'version: "9"').replace("/7/model", "/9/model")
    model.write_text(text.replace("replicas: {min: 3, max: 10}", "replicas: {min: 4, max: 12}"))
    before = snapshot_tree(example)
    real_rename = os.rename
    calls = {"n": 0}

    def flaky_rename(source: Path, target: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # after the first generated directory was swapped in
            raise OSError(errno.ENOSPC, "No space left on device")
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", flaky_rename)
    with pytest.raises(SpecError, match="No space left on device"):
        generate.render(example)
    monkeypatch.undo()
    assert snapshot_tree(example) == before
    assert not list(example.glob(tree.STAGING_PREFIX + "*"))


def test_platform_directory_is_picked_up(example: Path) -> None:
    platform = example / "base/platform"
    shutil.rmtree(platform)  # the example's own platform, replaced by this test's
    platform.mkdir()
    (platform / "kustomization.yaml").write_text("resources: [sa.yaml]\n")
    (platform / "sa.yaml").write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: model-reader}\n")
    assert run_cli(["render"], cwd=example).exit_code == 0
    for env in ("dev", "staging", "prod"):
        assert "- ../../base/platform\n" in (example / f"overlays/{env}/kustomization.yaml").read_text()
    assert (platform / "sa.yaml").read_text().startswith("apiVersion: v1")  # untouched


def test_every_generated_file_starts_with_the_header(example: Path) -> None:
    for path in list((example / "base/models").rglob("*")) + list((example / "overlays").rglob("*")):
        if path.is_file():
            assert path.read_text().startswith("# Generated by mlgitops from "), path


def test_a_killed_render_loses_nothing_and_its_leftovers_are_cleaned(example: Path) -> None:
    """SIGKILL in the middle of the swap: the next render restores the tree and removes the staging dir."""
    import signal
    import subprocess
    import sys
    import textwrap

    model = example / "models/fraud-detector.yaml"
    model.write_text(model.read_text().replace("replicas: {min: 3, max: 10}", "replicas: {min: 4, max: 12}"))
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from mlgitops.layout import tree
        from mlgitops.gitops import generate
        real = os.rename
        calls = []
        def rename(source, target):
            calls.append(1)
            if len(calls) == 2:  # the old directory is moved away, the new one not yet in place
                os.kill(os.getpid(), signal.SIGKILL)
            return real(source, target)
        os.rename = rename
        generate.render(Path({str(example)!r}))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    leftovers = list(example.glob(tree.STAGING_PREFIX + "*"))
    assert leftovers, "the kill should have left a staging directory behind"
    assert run_cli(["render"], cwd=example).exit_code == 0
    assert not list(example.glob(tree.STAGING_PREFIX + "*"))
    assert run_cli(["render", "--check"], cwd=example).exit_code == 0
    patch = example / "overlays/prod/fraud-detector/kustomization.yaml"
    assert "value: 12" in patch.read_text()


@pytest.mark.parametrize("change", ["none", "edited", "missing", "stray", "symlink"])
def test_unchanged_units(tmp_path: Path, change: str) -> None:
    """A model directory counts as unchanged only when it holds exactly the files, byte for byte."""
    files = {
        "overlays/prod/m/kustomization.yaml": "a: 1\n",
        "overlays/prod/m/resources.yaml": "b: 2\n",
        "base/models/m/kustomization.yaml": "c: 3\n",
        "overlays/prod/kustomization.yaml": "d: 4\n",  # a file of its own unit: never reported
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    target = tmp_path / "overlays/prod/m/resources.yaml"
    if change == "edited":
        target.write_text("b: 3\n")
    elif change == "missing":
        target.unlink()
    elif change == "stray":
        (tmp_path / "overlays/prod/m/extra.yaml").write_text("e: 5\n")
    elif change == "symlink":
        target.unlink()
        (tmp_path / "elsewhere.yaml").write_text("b: 2\n")
        target.symlink_to(tmp_path / "elsewhere.yaml")
    expected = {"base/models/m"} | ({"overlays/prod/m"} if change == "none" else set())
    assert tree.unchanged_units(tmp_path, files) == expected


def test_a_file_found_unchanged_that_vanished_is_one_line(tmp_path: Path) -> None:
    """A worker found the file unchanged (None), and it was gone by the time this process compared."""
    with pytest.raises(SpecError, match="changed while rendering"):
        tree.compare(tmp_path, {"overlays/prod/m/resources.yaml": None})
