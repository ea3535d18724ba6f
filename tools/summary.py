"""What each environment of a project deploys, in short: objects per environment and kind.

`make example` runs it after rendering and validating the bundled example. It builds every environment
as `mlgitops build --env ENV` does (the objects `kubectl kustomize overlays/ENV` prints) and counts them,
instead of printing the manifests themselves. Usage: python tools/summary.py [PROJECT_DIR]
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import yaml

from mlgitops.language.loader import load_workspace
from mlgitops.layout.build import build


def _group(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else "core"


def summary(root: Path) -> str:
    workspace = load_workspace(root)
    envs = [env.name for env in workspace.project.environments]
    counts: dict[str, Counter[str]] = {}
    for env in envs:
        objects = [doc for doc in yaml.safe_load_all(build(workspace, env)) if isinstance(doc, dict)]
        counts[env] = Counter(f"{_group(doc['apiVersion'])}/{doc['kind']}" for doc in objects)
    kinds = sorted({kind for counter in counts.values() for kind in counter})
    width = max([len("kind"), *map(len, kinds)])
    lines = ["  ".join([f"{'kind':<{width}}", *(f"{env:>8}" for env in envs)])]
    for kind in kinds:
        lines.append("  ".join([f"{kind:<{width}}", *(f"{counts[env][kind]:>8}" for env in envs)]))
    lines.append("  ".join([f"{'total':<{width}}", *(f"{sum(counts[env].values()):>8}" for env in envs)]))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path.cwd()
    print("Objects each environment deploys (mlgitops build --env ENV; kubectl kustomize overlays/ENV: the same):\n")
    sys.stdout.write(summary(root))
    print(
        "\nOne environment in full: mlgitops build --env prod (or kubectl kustomize overlays/prod).\n"
        "Custom resources are checked against CRDs when crds/ holds them: `make crds`, see crds/README.md.\n"
        "Next: the documentation, docs/index.md (make docs builds the site)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
