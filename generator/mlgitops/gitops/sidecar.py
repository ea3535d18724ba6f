"""The Argo CD plugin sidecar image, for the installed version, without a checkout of mlgitops.

`mlgitops sidecar dockerfile` prints a Dockerfile that needs no build context
(`mlgitops sidecar dockerfile | docker build --tag REF -`): it installs what the `MLGITOPS_PIP_SPEC`
build argument names, by default the running mlgitops (`mlgitops==VERSION`, or `git+URL@COMMIT` when it
was installed from Git: pipspec.py), with the same steps as this repository's docker/install.sh, and
checks the install with `python -m mlgitops.gitops.sidecar PREFIX` (the checks of docker/check.py, shipped in
the package). The image has `git`, so a Git URL installs without a release on a package index.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PREFIX = "/opt/mlgitops"
BASE_IMAGE = "python:3.11-slim-bookworm"


def install_commands(spec: str, prefix: str = PREFIX) -> list[str]:
    """The shell commands that install mlgitops into PREFIX, as docker/install.sh runs them."""
    return [
        f"python3 -m venv {prefix}",
        f'{prefix}/bin/python -m pip install --no-cache-dir --disable-pip-version-check "{spec}"',
        # The sidecar's root file system is read-only: compile the bytecode now.
        f"{prefix}/bin/python -m compileall -q {prefix}/lib",
        f"PATH={prefix}/bin:$PATH {prefix}/bin/python -m mlgitops.gitops.sidecar {prefix}",
    ]


# pip installs `git+URL` requirements with git, which the slim base image lacks.
GIT_COMMANDS = [
    "apt-get update",
    "apt-get install --yes --no-install-recommends git",
    "rm -rf /var/lib/apt/lists/*",
]


def dockerfile(pip_spec: str | None = None) -> str:
    from mlgitops import __version__
    from mlgitops.util.pipspec import default_pip_spec

    spec = pip_spec or default_pip_spec()
    run = " \\\n && ".join(install_commands("$MLGITOPS_PIP_SPEC"))
    git = " \\\n && ".join(GIT_COMMANDS)
    return f"""\
# The mlgitops Argo CD config management plugin sidecar, mlgitops {__version__}.
# Printed by `mlgitops sidecar dockerfile`; it needs no build context:
#
#   mlgitops sidecar dockerfile | docker build --tag REGISTRY/mlgitops-cmp:{__version__} -
#   docker push REGISTRY/mlgitops-cmp:{__version__}
#
# then set `argocd.image: REGISTRY/mlgitops-cmp:{__version__}` and `argocd.mode: plugin` in mlgitops.yaml
# and run `mlgitops render`. It installs {spec}
# (mlgitops installed from Git writes its URL and commit here). To install from elsewhere (a Git URL, which
# works before a release is on PyPI, or an internal index's wheel URL), print it with
# `mlgitops sidecar dockerfile --pip-spec SPEC` or pass the build argument:
#   docker build --build-arg MLGITOPS_PIP_SPEC=git+https://github.com/your-org/mlgitops@v{__version__} ...
# argocd-cmp-server itself is not in the image: the repo-server's /var/run/argocd volume provides it
# (plugins/argocd/sidecar/ mounts it, and plugin.yaml).
FROM {BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN {git}
ARG MLGITOPS_PIP_SPEC={spec}
RUN {run}

# uid 999 is the user argocd-cmp-server runs as; it has no home, so HOME points at the writable /tmp
# emptyDir (the root file system is read-only in the sidecar).
ENV PATH={PREFIX}/bin:$PATH \\
    HOME=/tmp \\
    TMPDIR=/tmp
USER 999
WORKDIR /tmp
CMD ["/var/run/argocd/argocd-cmp-server"]
"""


def check_install(prefix: Path) -> list[str]:
    """Problems with an mlgitops install in PREFIX for the sidecar (none: it is ready), one line each.

    mlgitops must be imported from PREFIX; plugin.yaml's commands must resolve on PATH to PREFIX/bin;
    `mlgitops --version` must run; the Kustomize mlgitops runs must be PREFIX/bin's and build a small
    kustomization; a Jsonnet template must evaluate (projects with templates/ need the evaluator); every
    module must have its bytecode cached (the root file system is read-only).
    """
    import mlgitops

    try:
        from mlgitops.gitops.argocd import plugin_config
        from mlgitops.render.addons import evaluator_problem
    except Exception as exc:  # a dependency missing or broken in PREFIX: nothing else can be checked
        return [f"mlgitops cannot be imported: {_last_line(f'{type(exc).__name__}: {exc}')}"]

    problems: list[str] = []
    bindir = (prefix / "bin").resolve()
    package = Path(mlgitops.__file__).resolve().parent
    if not package.is_relative_to(prefix.resolve()):
        problems.append(f"mlgitops is imported from {package}, not from {prefix}")
    spec = plugin_config()["spec"]
    for section in (spec["generate"], spec["parameters"]["dynamic"]):
        command = section["command"][0]
        found = shutil.which(command)
        if found is None:
            problems.append(f"plugin.yaml command {command!r} is not on PATH")
        elif Path(found).parent.resolve() != bindir:
            problems.append(f"plugin.yaml command {command!r} resolves to {found}, outside {bindir}")
    try:
        version = subprocess.run([str(bindir / "mlgitops"), "--version"], capture_output=True, text=True, check=False)
    except OSError as exc:
        problems.append(f"`{bindir / 'mlgitops'} --version` cannot run: {exc.strerror}")
    else:
        if version.returncode != 0 or not version.stdout.startswith("mlgitops "):
            problems.append(f"`mlgitops --version` failed: {_last_line(version.stderr) or _last_line(version.stdout)}")
    problems.extend(_kustomize_problems(bindir))
    jsonnet = evaluator_problem()
    if jsonnet is not None:
        problems.append(jsonnet)
    for source in sorted(package.rglob("*.py")):
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.is_file():
            problems.append(f"no bytecode for {source.relative_to(package.parent)}")
    return problems


def _kustomize_problems(bindir: Path) -> list[str]:
    """The Kustomize mlgitops runs must be BINDIR's and build a small kustomization."""
    from mlgitops.layout.kustomize import kustomize_command
    from mlgitops.util.errors import ToolError

    try:
        command = kustomize_command()
    except ToolError as exc:
        return [str(exc)]
    problems = []
    if Path(command[0]).parent.resolve() != bindir:
        problems.append(f"kustomize runs as {command[0]}, outside {bindir}")
    with tempfile.TemporaryDirectory(prefix="mlgitops-check-") as tmp:
        (Path(tmp) / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "configMapGenerator:\n- name: check\n  literals: [ok=yes]\n  options: {disableNameSuffixHash: true}\n"
        )
        argv = [*command, tmp]
        try:
            built = subprocess.run(argv, capture_output=True, text=True, check=False)
        except OSError as exc:
            return [*problems, f"`{' '.join(argv)}` cannot run: {exc.strerror}"]
        if built.returncode != 0 or "name: check" not in built.stdout:
            problems.append(f"`{' '.join(argv)}` failed: {' '.join(built.stderr.split())}")
    return problems


def _last_line(text: str) -> str:
    """The last non-blank line of TEXT: the error of a child's traceback, one line of a multi-line message."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m mlgitops.gitops.sidecar PREFIX", file=sys.stderr)
        return 2
    found = check_install(Path(argv[0]))
    for problem in found:
        print(f"check: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
