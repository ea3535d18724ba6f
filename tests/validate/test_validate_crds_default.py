"""`validate` reads the project's `crds/` when it holds CRD files and no `--crds` is given."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import run_cli

KSERVE = "kserve_inferenceservices.yaml"


def summary(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


def test_without_crds_custom_resources_are_unchecked(example: Path) -> None:
    result = run_cli(["validate"], cwd=example)
    assert result.exit_code == 0, result.stderr
    assert "0 CRD file(s)" in summary(result.stdout)
    assert "InferenceService: no schema" in result.stdout and "crds/README.md" in result.stdout


def test_an_empty_crds_folder_with_its_readme_changes_nothing(example: Path) -> None:
    (example / "crds").mkdir()
    (example / "crds" / "README.md").write_text("# crds\n")
    assert "0 CRD file(s)" in summary(run_cli(["validate"], cwd=example).stdout)


def test_crds_folder_is_read_by_default(example: Path, crds_dir: Path) -> None:
    shutil.copytree(crds_dir, example / "crds")
    result = run_cli(["validate"], cwd=example)
    assert result.exit_code == 0, result.stdout + result.stderr
    files = len(list((example / "crds").glob("*.yaml")))
    assert f"{files} CRD file(s)" in summary(result.stdout)
    assert "no schema" not in result.stdout
    # also from a subdirectory: crds/ is the project's, not the working directory's
    sub = run_cli(["validate"], cwd=example / "models")
    assert f"{files} CRD file(s)" in summary(sub.stdout)


def test_the_crds_option_replaces_the_folder(example: Path, crds_dir: Path) -> None:
    (example / "crds").mkdir()
    shutil.copy2(crds_dir / KSERVE, example / "crds" / KSERVE)
    default = run_cli(["validate"], cwd=example)
    assert "1 CRD file(s)" in summary(default.stdout)
    assert "InferenceService: no schema" not in default.stdout
    empty = example / "other-crds"
    empty.mkdir()
    explicit = run_cli(["validate", "--crds", str(empty)], cwd=example)
    assert "0 CRD file(s)" in summary(explicit.stdout)
    assert "InferenceService: no schema" in explicit.stdout
