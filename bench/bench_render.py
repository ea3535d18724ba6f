"""Render, check and build speed on synthetic repositories (median of several runs).

    python bench/bench_render.py [--models 1000] [--runs 5]

Targets on a 2-core machine (issue 14): 1000 models x 3 environments render in at most 2.5 s into an
empty tree, 1 s when up to date, 0.5 s after one model changed; `build --env prod --model M` on a
10-model repository in under 0.3 s. Every generated model has monitoring, so the empty-tree render
is also issue 12's budget (at most 5 s with monitoring on every model). The machine may be shared:
wall times are noisy, compare runs made together; the CPU time (user + system) of the same runs is
printed beside the empty-tree figure, since creating ~9,000 files is where a loaded machine waits,
and the same render on tmpfs (/dev/shm) shows what is mlgitops' and what is the disk's.
The up-to-date and one-changed runs use the render cache (rendercache/, written by the run before);
`MLGITOPS_RENDER_CACHE=0` turns it off for an A/B comparison.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MLGITOPS, median_of, report, timed_run
from genrepo import generate, model_name, model_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-") as tmp:
        big = generate(Path(tmp) / "big", args.models)

        label = f"render, {args.models} models x 3 envs (empty tree)"
        cpu: list[float] = []
        fresh = median_of(args.runs, lambda: _render_fresh_copy(big, Path(tmp), cpu))
        report(label, *fresh, target=2.5)
        print(f"{'  CPU (user + system) of those runs':<44} median {statistics.median(cpu):7.3f} s")
        report("  the same: monitoring on every model (#12)", *fresh, target=5.0)
        _empty_tree_in_memory(big, args.runs)
        timed_run([*MLGITOPS, "render"], big)  # the up-to-date and one-changed runs start from a render
        report(
            f"render, {args.models} models (up to date)",
            *median_of(args.runs, lambda: timed_run([*MLGITOPS, "render"], big)),
            target=1.0,
        )
        versions = iter(range(6, 1_000_000))

        def one_model_changed() -> tuple[float, int]:
            (big / "models" / f"{model_name(7)}.yaml").write_text(model_text(7, version=next(versions)))
            return timed_run([*MLGITOPS, "render"], big)

        report(
            f"render, {args.models} models, one changed",
            *median_of(args.runs, one_model_changed),
            target=0.5,
        )
        report(
            f"render --check, {args.models} models",
            *median_of(args.runs, lambda: timed_run([*MLGITOPS, "render", "--check"], big)),
        )
        # Kustomize's cost grows with the square of the resources in one build (about 3 s for 300
        # models, 35 s for 1000 here), so a whole-environment build is measured at 100 models; large
        # projects give each model its own Argo CD Application (`--model`), which stays flat.
        medium = generate(Path(tmp) / "medium", 100)
        timed_run([*MLGITOPS, "render"], medium)
        report(
            "build --env prod, 100 models",
            *median_of(3, lambda: timed_run([*MLGITOPS, "build", "--env", "prod"], medium)),
        )
        one_of_many = [*MLGITOPS, "build", "--env", "prod", "--model", model_name(1)]
        report(
            f"build --env prod --model M, {args.models} models",
            *median_of(args.runs, lambda: timed_run(one_of_many, big)),
        )

        small = generate(Path(tmp) / "small", 10)
        timed_run([*MLGITOPS, "render"], small)
        one = [*MLGITOPS, "build", "--env", "prod", "--model", model_name(1)]
        report(
            "build --env prod --model M, 10 models",
            *median_of(args.runs * 2, lambda: timed_run(one, small)),
            target=0.3,
        )
        report(
            "build --env prod, 10 models",
            *median_of(args.runs, lambda: timed_run([*MLGITOPS, "build", "--env", "prod"], small)),
        )


_COPIES = iter(range(1_000_000))


def _render_fresh_copy(source: Path, parent: Path, cpu: list[float]) -> tuple[float, int]:
    """`render` into an empty tree: a fresh copy of the sources each run.

    Deleting the previous run's ~9,000 files just before would time the file system's freeing of them
    (online discard on the benchmark VM) instead of the render; the copies go with the bench's folder.
    """
    copy = parent / f"empty-{next(_COPIES)}"
    shutil.copytree(source / "models", copy / "models")
    shutil.copy2(source / "mlgitops.yaml", copy / "mlgitops.yaml")
    os.sync()
    before = os.times()
    result = timed_run([*MLGITOPS, "render"], copy)
    after = os.times()
    cpu.append(after.children_user - before.children_user + after.children_system - before.children_system)
    return result


def _empty_tree_in_memory(source: Path, runs: int) -> None:
    """The empty-tree render on tmpfs: what mlgitops costs without the disk's file creation."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        print("  (no writable /dev/shm: the in-memory comparison is skipped)")
        return
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-", dir=shm) as tmp:
        cpu: list[float] = []
        report(
            "  the same on tmpfs (no disk)",
            *median_of(runs, lambda: _render_fresh_copy(source, Path(tmp), cpu)),
            target=2.5,
        )


if __name__ == "__main__":
    main()
