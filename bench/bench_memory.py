"""Peak memory (max RSS) of every command on a generated repository of 2000 models x 3 environments.

    python bench/bench_memory.py [--models 2000] [--crds ../shared/crds] [--runs 3]

Each command runs as a fresh process (peak RSS from wait4; wall time beside it for reference), in
the order below on a freshly generated repository, `--runs` times; the median of the runs is shown.
Target (issue 14): at most 300 MiB for any command. `PYTHONPATH` is passed on, so
`PYTHONPATH=<other checkout>/generator` measures another version of the package in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MLGITOPS, timed_run
from genrepo import generate, model_name, model_text

REPO = Path(__file__).resolve().parents[1]
TARGET_MIB = 300
PROD = '[{"name": "environment", "string": "prod"}]'
GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"]


def _commands(crds: Path) -> list[tuple[str, list[str], tuple[int, ...], object]]:
    one = model_name(3)
    return [
        ("render (empty tree)", ["render"], (0,), None),
        ("render (up to date)", ["render"], (0,), None),
        ("render --check", ["render", "--check"], (0,), None),
        ("build --env prod", ["build", "--env", "prod"], (0,), None),
        (f"build --env prod --model {one}", ["build", "--env", "prod", "--model", one], (0,), None),
        ("cmp generate (environment prod)", ["cmp", "generate"], (0,), {"ARGOCD_APP_PARAMETERS": PROD}),
        ("validate (cold schema cache)", ["validate", "--crds", str(crds.resolve())], (0, 1), None),
        ("diff, one model changed", ["diff"], (1,), "commit"),
    ]


def _one_round(models: int, crds: Path) -> dict[str, tuple[float, float] | str]:
    """label → (peak MiB, wall seconds), or why the command could not run, on a fresh repository."""
    results: dict[str, tuple[float, float] | str] = {}
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-memory-") as tmp:
        root = generate(Path(tmp) / "repo", models)
        path = str(Path(sys.executable).parent) + ":/usr/bin:/bin"
        env = {"MLGITOPS_CACHE_DIR": str(Path(tmp) / "cache"), "PATH": path, "HOME": tmp}
        if os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        for label, argv, ok, extra in _commands(crds):
            run_env = {**env}
            if extra == "commit":
                subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=root, check=True)
                subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
                subprocess.run([*GIT, "commit", "-q", "-m", "bench"], cwd=root, check=True)
                (root / "models" / f"{model_name(3)}.yaml").write_text(model_text(3, version=7))
            elif isinstance(extra, dict):
                run_env.update(extra)
            try:
                elapsed, peak_kib = timed_run([*MLGITOPS, *argv], root, env=run_env, ok=ok)
            except SystemExit as exc:  # a command this tree cannot run (say, a plugin-only one): show why
                results[label] = str(exc)[:200]
                continue
            results[label] = (peak_kib / 1024, elapsed)
        shutil.rmtree(root / ".git", ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--crds", type=Path, default=REPO.parent / "shared" / "crds")
    parser.add_argument("--runs", type=int, default=1, help="rounds over every command (median shown)")
    args = parser.parse_args()
    rounds = [_one_round(args.models, args.crds) for _ in range(args.runs)]
    worst = 0.0
    for label, *_ in _commands(args.crds):
        measured = [value for r in rounds if isinstance(value := r[label], tuple)]
        if not measured:
            print(f"{label:<44} failed: {rounds[0][label]}")
            continue
        peaks = [peak for peak, _ in measured]
        mib = statistics.median(peaks)
        wall = statistics.median(elapsed for _, elapsed in measured)
        worst = max(worst, mib)
        verdict = "met" if mib <= TARGET_MIB else "MISSED"
        spread = ", ".join(f"{p:.0f}" for p in peaks)
        print(f"{label:<44} peak {mib:6.0f} MiB [{spread}]  wall {wall:6.2f} s  target <= {TARGET_MIB} MiB: {verdict}")
    print(f"{args.models} models x 3 environments: worst peak {worst:.0f} MiB (target <= {TARGET_MIB} MiB)")
    sys.exit(0 if worst <= TARGET_MIB else 1)


if __name__ == "__main__":
    main()
