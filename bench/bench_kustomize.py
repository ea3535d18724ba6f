"""`kubectl kustomize` of a whole environment directory against one model's directory, by size:
the figures behind the deployment granularity advice (`deployment.per`, docs/argocd.md).

    python bench/bench_kustomize.py [--sizes 100 400 1000] [--runs 3]

Kustomize's cost grows with the square of the resources in one build (kubernetes-sigs/kustomize
#5084), so the environment build is run once at the largest size (it takes half a minute).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MLGITOPS, median_of, report, timed_run
from genrepo import generate, model_name

KUBECTL = str(Path(sys.executable).parent / "kubectl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400, 1000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-kustomize-") as tmp:
        for size in args.sizes:
            root = generate(Path(tmp) / f"repo-{size}", size)
            timed_run([*MLGITOPS, "render"], root)
            runs = 1 if size >= 1000 else args.runs
            for label, folder, times in (
                (f"kubectl kustomize overlays/prod, {size} models", "overlays/prod", runs),
                (f"kubectl kustomize overlays/prod/<model>, {size}", f"overlays/prod/{model_name(1)}", args.runs),
            ):
                argv = [KUBECTL, "kustomize", folder]
                report(label, *median_of(times, lambda argv=argv, root=root: timed_run(argv, root)))


if __name__ == "__main__":
    main()
