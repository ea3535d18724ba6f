"""`validate` works from a plain install, and the Argo CD plugin path still imports none of its packages.

jsonschema and kubernetes-validate are main dependencies now; `python -X importtime -m mlgitops cmp
generate` (how the sidecar runs it, one process per refresh) must not load them, nor what they pull in.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO

BIN = Path(sys.executable).parent

# Imported by `validate` only (jsonschema and what it loads; the Kubernetes schemas; schema generation).
VALIDATION_ONLY = (
    "jsonschema",
    "jsonschema_specifications",
    "referencing",
    "rpds",
    "attrs",
    "kubernetes_validate",
    "mlgitops.validate",
    "mlgitops.checks.schemas.crd",
    "mlgitops.checks.schemas.kube",
    "mlgitops.checks.policies",
    "pydantic.json_schema_extra",
)

# Not needed to answer a request: plugin discovery (pydantic_plugins.py) and the addon thread pool
# (only with Jsonnet templates, spread over several processes).
NEVER_ON_THE_RENDER_PATH = ("importlib.metadata", "concurrent.futures", "logging")
# Needed only to build base/platform (or when the stream cannot be written from memory) and to run
# Jsonnet templates: Kustomize, child processes, scratch directories.
CHILD_PROCESSES = ("mlgitops.layout.kustomize", "subprocess", "tempfile")


def imported_modules(cwd: Path, *args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `python -X importtime -m mlgitops ARGS`; the modules the import-time log names."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mlgitops", *args],
        cwd=cwd,
        env={"PATH": f"{BIN}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
    )
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                modules.add(name)
    return proc, modules


def test_validation_packages_are_main_dependencies() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {d.split(">")[0].split("=")[0].split("[")[0].strip() for d in project["dependencies"]}
    assert {"jsonschema", "kubernetes-validate"} <= names
    # old install lines (`pip install 'mlgitops[validate]'`) keep working
    assert project["optional-dependencies"]["validate"] == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_cmp_generate_imports_no_validation_package(example: Path, env: str) -> None:
    proc, modules = imported_modules(example, "cmp", "generate", env={"PARAM_ENVIRONMENT": env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mlgitops.gitops.cmp" in modules and "yaml" in modules  # the log is read correctly
    assert sorted(m for m in VALIDATION_ONLY if m in modules) == []
    assert sorted(m for m in NEVER_ON_THE_RENDER_PATH if m in modules) == []
    assert set(CHILD_PROCESSES) <= modules  # the example's base/platform is built by Kustomize


@pytest.mark.parametrize("model", ["", "fraud-detector"])
def test_cmp_generate_without_platform_starts_no_process(example: Path, model: str) -> None:
    """Without base/platform and templates the stream comes from memory: no Kustomize, no child process."""
    shutil.rmtree(example / "base" / "platform")
    render = subprocess.run([str(BIN / "mlgitops"), "render"], cwd=example, capture_output=True, text=True)
    assert render.returncode == 0, render.stderr
    request = {"PARAM_ENVIRONMENT": "prod", "PARAM_MODEL": model}
    proc, modules = imported_modules(example, "cmp", "generate", env=request)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "kind: " in proc.stdout
    assert sorted(m for m in (*NEVER_ON_THE_RENDER_PATH, *CHILD_PROCESSES) if m in modules) == []


def test_cmp_generate_failure_imports_no_validation_package(example: Path) -> None:
    proc, modules = imported_modules(example, "cmp", "generate", env={"PARAM_ENVIRONMENT": "nowhere"})
    assert proc.returncode == 2  # a usage error: the environment does not exist
    assert proc.stderr.splitlines()[-1].startswith("unknown environment 'nowhere'")
    assert sorted(m for m in VALIDATION_ONLY if m in modules) == []


def test_validate_loads_its_packages_and_runs(example: Path) -> None:
    """The same probe sees them when `validate` runs (so the assertions above can fail)."""
    proc, modules = imported_modules(example, "validate", env={})
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert {"jsonschema", "mlgitops.checks.schemas.kube", "mlgitops.validate.run"} <= modules


# Imported by `promote --alias` / `--registry-version` only (the registry client and its HTTP stack).
REGISTRY_ONLY = (
    "mlgitops.delivery.registry.pin",
    "mlgitops.delivery.registry.mlflow",
    "mlgitops.delivery.registry.gates",
    "urllib.request",
    "http.client",
    "mlflow",
)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_cmp_generate_imports_no_registry_module(example: Path, env: str) -> None:
    proc, modules = imported_modules(example, "cmp", "generate", env={"PARAM_ENVIRONMENT": env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mlgitops.gitops.cmp" in modules
    assert sorted(m for m in REGISTRY_ONLY if m in modules) == []


def test_promote_alias_loads_the_registry_client_but_not_mlflow(example: Path) -> None:
    """The same probe sees the client when `promote --alias` runs (nothing listens on port 9: refused)."""
    proc, modules = imported_modules(
        example,
        "promote",
        "fraud-detector",
        "--to",
        "dev",
        "--alias",
        "champion",
        env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"},
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert {"mlgitops.delivery.registry.pin", "mlgitops.delivery.registry.mlflow", "urllib.request"} <= modules
    assert "mlflow" not in modules  # the REST calls need no mlflow package at run time
