"""`mlgitops validate` of the bundled example against the upstream CRDs (median of several runs).

    python bench/bench_validate.py [--runs 5] [--crds ../shared/crds]

Each run is a fresh process, so it includes the interpreter, loading the specs, rendering every
environment, loading the schemas and checking every object. Cold: an empty schema cache (the CRDs are
parsed and converted); warm: the converted schemas are read from the cache. Targets: the bundled
example under 2 s; a generated repository of 200 models with a cold cache at most 1.5 s (issue 14;
its findings, missing ServiceAccounts and such, do not matter here: exit 1 is expected).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MLGITOPS, median_of, report, timed_run
from genrepo import generate

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--crds", type=Path, default=REPO.parent / "shared" / "crds")
    parser.add_argument("--models", type=int, default=200)
    args = parser.parse_args()
    argv = [*MLGITOPS, "validate", "--crds", str(args.crds.resolve())]
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-") as tmp:
        counter = iter(range(1_000_000))

        def cold() -> tuple[float, int]:
            env = {**os.environ, "MLGITOPS_CACHE_DIR": str(Path(tmp) / f"cold-{next(counter)}")}
            return timed_run(argv, REPO, env=env)

        warm_env = {**os.environ, "MLGITOPS_CACHE_DIR": str(Path(tmp) / "warm")}
        timed_run(argv, REPO, env=warm_env)  # fill the cache

        def warm() -> tuple[float, int]:
            return timed_run(argv, REPO, env=warm_env)

        report("validate example, cold schema cache", *median_of(args.runs, cold), target=2.0)
        report("validate example, warm schema cache", *median_of(args.runs, warm), target=2.0)

        generated = generate(Path(tmp) / "generated", args.models)

        def cold_generated() -> tuple[float, int]:
            env = {**os.environ, "MLGITOPS_CACHE_DIR": str(Path(tmp) / f"cold-{next(counter)}")}
            return timed_run(argv, generated, env=env, ok=(0, 1))

        def warm_generated() -> tuple[float, int]:
            return timed_run(argv, generated, env=warm_env, ok=(0, 1))

        label = f"validate {args.models} models, cold schema cache"
        report(label, *median_of(args.runs, cold_generated), target=1.5)
        report(f"validate {args.models} models, warm schema cache", *median_of(args.runs, warm_generated))


if __name__ == "__main__":
    main()
