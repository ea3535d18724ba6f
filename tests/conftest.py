"""Shared fixtures: the bundled example copied into a temporary directory, an in-process CLI runner,
the real Kustomize, and the upstream CRDs from `../shared/crds`."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

# In-process runs share this process's HOME: the cmp generate answer cache (cmp_cache.py) stays off
# there unless a test turns it on (subprocess tests give the sidecar its own HOME).
os.environ.setdefault("MLGITOPS_CMP_CACHE", "0")

REPO = Path(__file__).resolve().parents[1]
CRDS = REPO.parent / "shared" / "crds"
EXAMPLE_PATHS = ("mlgitops.yaml", "models", "base", "overlays", "plugins")


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


def run_cli(args: list[str], cwd: Path | None = None) -> CliResult:
    """Run `mlgitops ARGS` in-process (fast), capturing stdout and stderr."""
    import contextlib
    import io

    from mlgitops.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    argv = (["-C", str(cwd)] if cwd else []) + args
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    return run_cli


def copy_example(destination: Path) -> Path:
    """A copy of this repository's bundled example project."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in EXAMPLE_PATHS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name)
        elif source.is_file():
            shutil.copy2(source, destination / name)
    return destination


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "repo")


def kustomize_objects(directory: Path) -> list[dict[str, Any]]:
    """Objects printed by the real Kustomize for `directory`."""
    from mlgitops.kustomize import kustomize_command

    proc = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc is not None]


def object_identity(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata", {})
    return obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"]


def snapshot_tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path → bytes), to prove a command left files untouched."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }


@pytest.fixture(scope="session")
def crds_dir() -> Path:
    if not CRDS.is_dir():
        pytest.fail(f"upstream CRDs not found at {CRDS}")
    return CRDS
