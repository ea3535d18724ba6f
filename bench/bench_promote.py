"""`promote` of one model in a large repository (issue 11: under 1 s at 1000 models), median of several runs.

    python bench/bench_promote.py [--models 1000] [--runs 5]

Each run pins a new version of one model into the first environment (no order check there), so every
run edits one spec and renders: with the render cache (rendercache/), that loads and renders the one
model. The same run without the cache (`MLGITOPS_RENDER_CACHE=0`, a full load and render) is shown
beside it for the ratio. The machine may be shared: compare figures of the same run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MLGITOPS, median_of, report, timed_run
from genrepo import generate, model_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-") as tmp:
        repo = generate(Path(tmp) / "repo", args.models)
        timed_run([*MLGITOPS, "render"], repo)
        versions = iter(range(100, 1_000_000))
        model = model_name(7)

        def promote(env: dict[str, str] | None = None) -> tuple[float, int]:
            version = next(versions)
            argv = [*MLGITOPS, "promote", model, "--to", "dev", "--version", f"{version}"]
            argv += ["--storage-uri", f"s3://models/{model}/{version}/model", "--reason", "bench"]
            return timed_run(argv, repo, env=env)

        report(f"promote (one model, renders), {args.models} models", *median_of(args.runs, promote), target=1.0)
        no_cache = {**os.environ, "MLGITOPS_RENDER_CACHE": "0"}
        report(
            f"  the same without the render cache, {args.models}",
            *median_of(max(1, args.runs // 2), lambda: promote(no_cache)),
        )


if __name__ == "__main__":
    main()
