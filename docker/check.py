"""Check an mlgitops installation for the Argo CD plugin sidecar (run by docker/install.sh).

    PATH=PREFIX/bin:$PATH PREFIX/bin/python docker/check.py PREFIX

Fails (exit 1, one line per problem) unless:
- the `mlgitops` package is imported from PREFIX, not from elsewhere;
- every command in plugin.yaml resolves on PATH to an executable inside PREFIX/bin (argocd-cmp-server
  execs them without a shell, on the sidecar's PATH);
- `mlgitops --version` runs;
- the Kustomize mlgitops runs is PREFIX/bin's and builds a small kustomization;
- every module of the package has its bytecode cached (the sidecar's root file system is read-only).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def main(prefix: Path) -> list[str]:
    import mlgitops
    from mlgitops.argocd import plugin_config
    from mlgitops.kustomize import kustomize_command

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

    version = subprocess.run([str(bindir / "mlgitops"), "--version"], capture_output=True, text=True, check=False)
    if version.returncode != 0 or not version.stdout.startswith("mlgitops "):
        problems.append(f"`mlgitops --version` failed: {version.stderr.strip() or version.stdout.strip()}")

    with tempfile.TemporaryDirectory(prefix="mlgitops-check-") as tmp:
        (Path(tmp) / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "configMapGenerator:\n- name: check\n  literals: [ok=yes]\n  options: {disableNameSuffixHash: true}\n"
        )
        argv = [*kustomize_command(), tmp]
        if Path(argv[0]).parent.resolve() != bindir:
            problems.append(f"kustomize runs as {argv[0]}, outside {bindir}")
        built = subprocess.run(argv, capture_output=True, text=True, check=False)
        if built.returncode != 0 or "name: check" not in built.stdout:
            problems.append(f"`{' '.join(argv)}` failed: {' '.join(built.stderr.split())}")

    for source in sorted(package.rglob("*.py")):
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.is_file():
            problems.append(f"no bytecode for {source.relative_to(package.parent)}")
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check.py PREFIX")
    found = main(Path(sys.argv[1]))
    for problem in found:
        print(f"check: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
