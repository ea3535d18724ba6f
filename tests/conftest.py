"""Shared fixtures: the bundled example copied into a temporary directory, an in-process CLI runner,
the real Kustomize, and the upstream CRDs from `../shared/crds`."""

from __future__ import annotations

import os
import re
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
# The upstream CRDs: $MLGITOPS_CRDS, else this workspace's ../shared/crds where it exists, else the
# pinned files that `make crds` fetches into crds/ (tools/crds.lock).
SHARED_CRDS = REPO.parent / "shared" / "crds"
CRDS = Path(os.environ.get("MLGITOPS_CRDS") or (SHARED_CRDS if SHARED_CRDS.is_dir() else REPO / "crds"))
# CI sets MLGITOPS_REQUIRE_ALL=1: what a developer's machine may lack (the CRDs, promtool, the control
# plane) is then a failure, never a skip.
REQUIRE_ALL = os.environ.get("MLGITOPS_REQUIRE_ALL") == "1"


def unavailable(reason: str) -> None:
    """Skip (or, under MLGITOPS_REQUIRE_ALL=1, fail) a test whose external data or tool is missing."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (MLGITOPS_REQUIRE_ALL=1)")
    pytest.skip(reason)


EXAMPLE_PATHS = ("mlgitops.yaml", "models", "templates", "base", "overlays", "plugins")


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
def private_validate_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Converted CRD schemas go to a cache of this test session, never to ~/.cache (modules opt in with
    `pytestmark = pytest.mark.usefixtures("private_validate_cache")`)."""
    monkeypatch.setenv("MLGITOPS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "validate-cache"))


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
    from mlgitops.layout.kustomize import kustomize_command

    proc = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, text=True, check=True)
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc is not None]


def object_identity(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata", {})
    return obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"]


def snapshot_tree(root: Path) -> dict[str, bytes]:
    """Every file under root (relative path → bytes), to prove a command left files untouched.

    The render cache (`.mlgitops-cache/`, git-ignored, not output) is left out: tests/gitops/test_render_cache.py
    covers it.
    """
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts and ".mlgitops-cache" not in p.parts
    }


# The kinds the tests validate against; ../shared/crds may hold more (tests never count its files).
REQUIRED_CRD_KINDS = frozenset(
    {
        "InferenceService",
        "WorkflowTemplate",
        "CronWorkflow",
        "PodMonitor",
        "PrometheusRule",
        "Application",
        "AppProject",
        "ApplicationSet",
        "GitRepository",
        "Kustomization",
    }
)
_CRD_KIND = re.compile(r"^  names:\n(?:    .*\n)*?    kind: (\w+)$", re.MULTILINE)


def crd_kinds(directory: Path) -> set[str]:
    """The kinds the CRD files of DIRECTORY define (read from `spec.names.kind` without parsing the
    multi-megabyte schemas)."""
    return {kind for path in directory.glob("*.yaml") for kind in _CRD_KIND.findall(path.read_text())}


@pytest.fixture(scope="session")
def crds_dir() -> Path:
    missing = REQUIRED_CRD_KINDS - (crd_kinds(CRDS) if CRDS.is_dir() else set())
    if missing:
        unavailable(f"upstream CRDs of the kinds {sorted(missing)} not found in {CRDS}: run `make crds`")
    return CRDS


def finding_lines(validate_json: str) -> list[str]:
    """Every finding of `validate --format json`, written as the text format writes a single finding
    (the text format shows findings of one spec line as one line with a count: findinggroups.py)."""
    import json

    lines = []
    for item in json.loads(validate_json)["findings"]:
        subject = [item["environment"]] if item["environment"] else []
        subject.append(f"{item['kind']}/{item['name']}" if item["name"] else f"{item['apiVersion']} {item['kind']}")
        if item["path"]:
            subject.append(item["path"])
        where = f" ({item['file']}:{item['line']}:{item['column']})" if "line" in item else ""
        where = where or (f" ({item['file']})" if "file" in item else "")
        lines.append(f"{item['severity']} [{item['id']}] {' '.join(subject)}: {item['message']}{where}")
    return lines


# --- the built package, installed as a user installs it (tests/cli/test_day_one.py, test_release.py) -----


@dataclass
class Installed:
    wheel: Path  # mlgitops-<version>-py3-none-any.whl, built from this checkout
    prefix: Path  # a fresh virtualenv with the wheel pip-installed (and its dependencies)

    @property
    def mlgitops(self) -> Path:
        return self.prefix / "bin" / "mlgitops"


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip wheel --no-deps` builds from a copy of this checkout (once per session)."""
    import sys

    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "generator", source / "generator", ignore=ignore)
    out = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    (wheel,) = out.glob("mlgitops-*.whl")
    return wheel


@pytest.fixture(scope="session")
def installed(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh virtualenv with the built wheel installed by the printed sidecar Dockerfile's RUN steps:
    `python3 -m venv`, a plain `pip install` of the wheel (dependencies from the configured index),
    compileall, and the install checks (`python -m mlgitops.gitops.sidecar PREFIX`)."""
    from mlgitops.gitops.sidecar import install_commands

    prefix = tmp_path_factory.mktemp("venv") / "mlgitops"
    script = " && ".join(install_commands(str(built_wheel), str(prefix)))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the checks must see PREFIX's mlgitops only
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=900, check=False, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return Installed(built_wheel, prefix)


# One real `mlflow server` per session for the registry tests (tests/mlflow_server.py).
from tests.mlflow_server import registry  # noqa: E402, F401

# --- the local control plane (tests/cluster.py, tools/controlplane.py) -----------------------------


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The real etcd, kube-apiserver and KServe manager, once per session (`make controlplane` builds
    them; without them the tests that need a cluster skip, or fail under MLGITOPS_REQUIRE_ALL=1).
    MLGITOPS_CONTROLPLANE_DIR=DIR uses one already started in DIR instead."""
    import cluster as local

    running = os.environ.get("MLGITOPS_CONTROLPLANE_DIR")  # one started by `make controlplane-up`
    if running:
        yield local.Cluster(Path(running), Path(running) / "kubeconfig")
        return
    try:
        started = local.start(tmp_path_factory.mktemp("controlplane"))
    except local.controlplane.ControlPlaneError as error:
        unavailable(f"local control plane: {error}")
    yield started
    local.stop(started)


# Session fixtures that start something heavy: their users share one pytest-xdist worker (`make test` runs
# `-n auto --dist loadgroup`), so a session starts one control plane, one installed wheel, one mlflow server.
HEAVY_SESSION_FIXTURES = frozenset({"cluster", "installed", "built_wheel", "registry"})


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the control plane carry the `cluster` marker (`pytest -m "not cluster"`), and the users
    of a heavy session fixture share one xdist group."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "cluster" in fixtures:
            item.add_marker(pytest.mark.cluster)
        if HEAVY_SESSION_FIXTURES.intersection(fixtures):
            item.add_marker(pytest.mark.xdist_group("heavy-session-fixtures"))


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Forked workers for any number of models (util/forked.py: shares of one model or more); the list
    collects the pid of every worker started, so a test can tell the workers' path from a fallback."""
    from mlgitops.util import forked

    monkeypatch.setattr(forked, "MODELS_PER_WORKER", 1)
    started: list[int] = []
    real = forked._start

    def counted(*args: Any) -> tuple[int, int]:
        pid, read = real(*args)
        started.append(pid)
        return pid, read

    monkeypatch.setattr(forked, "_start", counted)
    return started
