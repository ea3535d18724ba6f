"""Peak memory (max RSS) of every command on a generated repository of 2000 models x 3 environments.

    python bench/bench_memory.py [--models 2000] [--crds ../shared/crds]

Each command runs once as a fresh process (peak RSS from wait4; wall time beside it for reference).
Target (issue 14): at most 300 MiB for any command.
"""

from __future__ import annotations

import argparse
import shutil
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=2000)
    parser.add_argument("--crds", type=Path, default=REPO.parent / "shared" / "crds")
    args = parser.parse_args()
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-memory-") as tmp:
        root = generate(Path(tmp) / "repo", args.models)
        path = str(Path(sys.executable).parent) + ":/usr/bin:/bin"
        env = {"MLGITOPS_CACHE_DIR": str(Path(tmp) / "cache"), "PATH": path, "HOME": tmp}
        one = model_name(3)
        commands: list[tuple[str, list[str], tuple[int, ...], object]] = [
            ("render (empty tree)", ["render"], (0,), None),
            ("render (up to date)", ["render"], (0,), None),
            ("render --check", ["render", "--check"], (0,), None),
            ("build --env prod", ["build", "--env", "prod"], (0,), None),
            (f"build --env prod --model {one}", ["build", "--env", "prod", "--model", one], (0,), None),
            ("cmp generate (environment prod)", ["cmp", "generate"], (0,), {"ARGOCD_APP_PARAMETERS": PROD}),
            ("validate (cold schema cache)", ["validate", "--crds", str(args.crds.resolve())], (0, 1), None),
            ("diff, one model changed", ["diff"], (1,), "commit"),
        ]
        for label, argv, ok, extra in commands:
            run_env = {**env}
            if extra == "commit":
                subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=root, check=True)
                subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
                subprocess.run([*GIT, "commit", "-q", "-m", "bench"], cwd=root, check=True)
                (root / "models" / f"{one}.yaml").write_text(model_text(3, version=7))
            elif isinstance(extra, dict):
                run_env.update(extra)
            try:
                elapsed, peak_kib = timed_run([*MLGITOPS, *argv], root, env=run_env, ok=ok)
            except SystemExit as exc:  # a command this tree cannot run (say, a plugin-only one): show why
                print(f"{label:<44} failed: {str(exc)[:200]}")
                continue
            mib = peak_kib / 1024
            worst = max(worst, mib)
            verdict = "met" if mib <= TARGET_MIB else "MISSED"
            print(f"{label:<44} peak {mib:6.0f} MiB  wall {elapsed:6.2f} s  target <= {TARGET_MIB} MiB: {verdict}")
        shutil.rmtree(root / ".git", ignore_errors=True)
    print(f"{args.models} models x 3 environments: worst peak {worst:.0f} MiB (target <= {TARGET_MIB} MiB)")
    sys.exit(0 if worst <= TARGET_MIB else 1)


if __name__ == "__main__":
    main()
