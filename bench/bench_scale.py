"""How time and memory grow with the number of models: 1000, 2000, 5000 and 10000 models x 3 environments.

    python bench/bench_scale.py [--models 1000,2000,5000,10000] [--runs 3] [--runs-at 10000=1]
        [--crds ../shared/crds] [--out bench/results/scale.json] [--budget-at 10000=900]

For each model count a repository is generated once (bench/genrepo.py, the `example` shape unless
MLGITOPS_BENCH_SHAPE says otherwise: the bundled example's models with every feature on), rendered into
the empty tree, then each command runs `--runs` times as a fresh process, in this order:

- `render`: the full render of every model (`MLGITOPS_RENDER_CACHE=0`) over the rendered tree, so
  the figure is mlgitops' work, not the disk creating files (the first render into the empty tree is
  recorded once beside it as `render (empty tree)`);
- `render, one changed`: one model's version bumped before each run, the render cache on;
- `cmp generate`: the whole environment prod without the answer cache (`MLGITOPS_CMP_CACHE=0`), as
  Argo CD runs it: cwd at `overlays/prod`, the request variables, an unwritable HOME;
- `validate`: every environment against the CRDs of `--crds` (when the directory exists), a cold
  schema cache each run, outside Git (no base revision to compare with);
- `diff, one changed`: the tree committed to Git, one model's version bumped in the working tree.

Each run's wall time, CPU time (user + system, with its children's) and peak RSS (of the largest process in
its tree: mlgitops, or a Jsonnet child it forked) come from `os.wait4` on that child alone, with the 1-minute
load average at its start; beside them the peak proportional set size of the whole process tree, sampled
every 0.1 s from /proc (what the command holds at once, a forked child's shared pages counted once).
Medians are reported (peaks: the largest run), with a least-squares line per command over the model counts
(R², largest deviation) and the time per model at each count relative to the first. `--budget-at N=S`: when
the commands at N models have taken more than S seconds, the rest of that count is skipped and listed as
such. Target (issue 26): every command's peak at 10000 models x 3 at most 1 GiB. `tools/plot_scale.py`
draws the JSON (`make plot-scale`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from genrepo import SHAPE_VARIABLE, generate, model_name, model_text, shape
from scalefit import fit, per_model_relative

REPO = Path(__file__).resolve().parents[1]
MLGITOPS = [sys.executable, "-m", "mlgitops"]
GIT = ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"]
TARGET_PEAK_MIB = 1024
TARGET_AT = 10000
COMMANDS = ("render", "render, one changed", "cmp generate", "validate", "diff, one changed")
EMPTY_TREE = "render (empty tree)"


def tree_pss_kib(pid: int) -> int:
    """Proportional set size (KiB) of `pid` and its descendants now: pages a fork shares with its parent count
    once, unlike the sum of their RSS. 0 when nothing is left to read (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                total += next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (OSError, ValueError, StopIteration):  # gone meanwhile, or not Linux
            continue
    return total


class TreeSampler(threading.Thread):
    """The largest `tree_pss_kib` of a process seen every `interval` seconds until it ends (a sampled peak:
    a spike shorter than the interval can be missed; wait4's ru_maxrss is the exact peak of one process)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kib = pid, interval, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kib = max(self.peak_kib, tree_pss_kib(self.pid))
            self.done.wait(self.interval)


def measure(argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> dict[str, float]:
    """One run of argv: wall and CPU seconds (this child and its children, from wait4), its peak RSS in KiB
    (the largest single process of its tree, from wait4), the sampled peak PSS of the whole tree, load at start."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        raise SystemExit(f"{' '.join(argv)} (in {cwd}) exited {code}: {stderr.strip()[-2000:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "peak_kib": usage.ru_maxrss,
        "tree_pss_kib": sampler.peak_kib,
        "load": load,
    }


def summarize(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {
        "wall": statistics.median(r["wall"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "peak_mib": max(r["peak_kib"] for r in runs) / 1024,
        "tree_pss_mib": max(r["tree_pss_kib"] for r in runs) / 1024,
        "load": statistics.median(r["load"] for r in runs),
        "runs": runs,
    }


def _git(root: Path, *argv: str) -> None:
    subprocess.run([*GIT, *argv], cwd=root, check=True, stdout=subprocess.DEVNULL)


def _base_env(work: Path) -> dict[str, str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": str(work / "home"),
        "TMPDIR": str(work),
        "LANG": "C.UTF-8",
        "MLGITOPS_CACHE_DIR": str(work / "cache"),
        SHAPE_VARIABLE: shape(),
    }
    if os.environ.get("PYTHONPATH"):  # another checkout's generator/, for an A/B in one run
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _argocd_env(base: dict[str, str], env_name: str) -> dict[str, str]:
    """What argocd-cmp-server passes `cmp generate` for the whole environment (bench_cmp.py's request)."""
    params = [{"name": "environment", "string": env_name}]
    return {
        **base,
        "ARGOCD_APP_NAME": f"bench-{env_name}",
        "ARGOCD_APP_NAMESPACE": f"ml-{env_name}",
        "ARGOCD_APP_PROJECT_NAME": "bench",
        "ARGOCD_APP_REVISION": "0" * 40,
        "ARGOCD_APP_REVISION_SHORT": "0" * 7,
        "ARGOCD_APP_REVISION_SHORT_8": "0" * 8,
        "ARGOCD_APP_SOURCE_PATH": f"overlays/{env_name}",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://github.com/acme/ml-config.git",
        "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
        "KUBE_VERSION": "1.31.2",
        "KUBE_API_VERSIONS": "apps/v1,v1",
        "ARGOCD_APP_PARAMETERS": json.dumps(params, separators=(",", ":")),
        "PARAM_ENVIRONMENT": env_name,
        "MLGITOPS_CMP_CACHE": "0",
    }


def one_point(models: int, runs: int, crds: Path | None, budget: float, parent: Path) -> dict[str, Any]:
    """Every command at `models` models, on one generated repository (`budget` seconds of them, 0: no limit)."""
    work = Path(tempfile.mkdtemp(prefix=f"scale-{models}-", dir=parent))
    try:
        (work / "home").mkdir()
        base = _base_env(work)
        root = generate(work / "repo", models)
        point: dict[str, Any] = {"models": models, "runs": runs, "commands": {}, "skipped": []}
        os.sync()
        point["commands"][EMPTY_TREE] = summarize([measure([*MLGITOPS, "render"], root, base)])
        (work / "home").chmod(0o555)  # argocd-cmp-server's HOME is not writable; nothing else may write there
        versions = iter(range(1001, 1_000_000))  # above any version or canary a shape serves

        def render_one_changed() -> dict[str, float]:
            (root / "models" / f"{model_name(7)}.yaml").write_text(model_text(7, version=next(versions)))
            return measure([*MLGITOPS, "render"], root, base)

        cold = iter(range(1_000_000))

        def validate() -> dict[str, float]:
            env = {**base, "MLGITOPS_CACHE_DIR": str(work / f"cold-{next(cold)}")}
            argv = [*MLGITOPS, "validate", *(["--crds", str(crds)] if crds else [])]
            return measure(argv, root, env, ok=(0, 1))

        def commit_and_change() -> None:
            _git(root, "init", "-q", "-b", "main")
            _git(root, "add", "-A")
            _git(root, "commit", "-q", "-m", "generated")
            (root / "models" / f"{model_name(1)}.yaml").write_text(model_text(1, version=6))

        steps: list[tuple[str, Callable[[], dict[str, float]], Callable[[], None] | None]] = [
            ("render", lambda: measure([*MLGITOPS, "render"], root, {**base, "MLGITOPS_RENDER_CACHE": "0"}), None),
            ("render, one changed", render_one_changed, None),
            (
                "cmp generate",
                lambda: measure([*MLGITOPS, "cmp", "generate"], root / "overlays" / "prod", _argocd_env(base, "prod")),
                None,
            ),
            ("validate", validate, None),
            ("diff, one changed", lambda: measure([*MLGITOPS, "diff"], root, base, ok=(1,)), commit_and_change),
        ]
        started = time.perf_counter()
        for name, once, prepare in steps:
            if budget and time.perf_counter() - started > budget:
                point["skipped"].append(name)
                print(f"  {models} models: {name} skipped (over the {budget:.0f} s budget)", flush=True)
                continue
            if prepare:
                prepare()
            point["commands"][name] = summary = summarize([once() for _ in range(runs)])
            print(f"  {models:>6} models  {_row(name, summary)}", flush=True)
        return point
    finally:
        (work / "home").chmod(0o755)
        shutil.rmtree(work, ignore_errors=True)


def _row(name: str, summary: dict[str, Any]) -> str:
    return (
        f"{name:<22} wall {summary['wall']:8.2f} s  CPU {summary['cpu']:8.2f} s  peak {summary['peak_mib']:6.0f} MiB"
        f" (tree {summary['tree_pss_mib']:6.0f})  load {summary['load']:4.1f}  ({len(summary['runs'])} runs)"
    )


def linearity(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Per command and measure (wall, CPU, peak): the least-squares line and the per-model ratio to the first count."""
    result: dict[str, Any] = {}
    for name in (EMPTY_TREE, *COMMANDS):
        measured = [(p["models"], p["commands"][name]) for p in points if name in p["commands"]]
        if len({m for m, _ in measured}) < 2:
            continue
        models = [m for m, _ in measured]
        result[name] = {}
        for measure_name in ("wall", "cpu", "peak_mib", "tree_pss_mib"):
            values = [s[measure_name] for _, s in measured]
            line = fit(models, values)
            result[name][measure_name] = {
                "slope_per_1000": line.slope * 1000,
                "intercept": line.intercept,
                "r2": line.r2,
                "max_deviation": line.max_deviation,
                "per_model_relative": dict(zip(map(str, models), per_model_relative(models, values), strict=True)),
            }
    return result


def print_tables(points: list[dict[str, Any]], lines: dict[str, Any]) -> None:
    print("\nmedians (wall / CPU seconds, peak MiB, load average at the runs' start)")
    for point in points:
        for name, summary in point["commands"].items():
            print(f"{point['models']:>6} models  {_row(name, summary)}")
        for name in point["skipped"]:
            print(f"{point['models']:>6} models  {name:<22} skipped (budget)")
    print("\nlinearity: least squares over the model counts; time per model relative to the first count (CPU)")
    for name, by_measure in lines.items():
        cpu, wall, peak = by_measure["cpu"], by_measure["wall"], by_measure["peak_mib"]
        ratios = "  ".join(f"{m}: {r:.2f}" for m, r in cpu["per_model_relative"].items())
        print(
            f"  {name:<22} CPU {cpu['slope_per_1000']:6.2f} s/1000 models + {cpu['intercept']:5.2f} s,"
            f" R² {cpu['r2']:.4f},"
            f" max dev {cpu['max_deviation']:.1%}; wall R² {wall['r2']:.4f}; peak"
            f" {peak['slope_per_1000']:5.0f} MiB/1000 models, R² {peak['r2']:.4f}  per model: {ratios}"
        )
    at_target = [p for p in points if p["models"] == TARGET_AT]
    for point in at_target:
        for name, summary in point["commands"].items():
            peak = max(summary["peak_mib"], summary["tree_pss_mib"])
            verdict = "met" if peak <= TARGET_PEAK_MIB else "MISSED"
            print(
                f"peak memory at {TARGET_AT} models x 3, {name}: {summary['peak_mib']:.0f} MiB (one process),"
                f" {summary['tree_pss_mib']:.0f} MiB (its tree, sampled); target <= {TARGET_PEAK_MIB} MiB: {verdict}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="1000,2000,5000,10000", help="comma-separated model counts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--runs-at", action="append", default=[], metavar="N=R", help="R runs at N models")
    parser.add_argument("--crds", type=Path, default=REPO.parent / "shared" / "crds")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "scale.json")
    parser.add_argument("--budget-at", action="append", default=[], metavar="N=S", help="at most S s of commands at N")
    parser.add_argument("--tmp", type=Path, default=None, help="where the repositories are generated")
    args = parser.parse_args()
    os.environ.setdefault(SHAPE_VARIABLE, "example")  # the shape teams run, unless asked otherwise
    counts = [int(n) for n in args.models.split(",")]
    runs_at = {int(n): int(r) for n, r in (item.split("=", 1) for item in args.runs_at)}
    budget_at = {int(n): float(s) for n, s in (item.split("=", 1) for item in args.budget_at)}
    crds = args.crds.resolve() if args.crds.is_dir() else None
    if crds is None:
        print(f"{args.crds}: no such directory, validate checks the built-in kinds only", file=sys.stderr)
    result: dict[str, Any] = {
        "shape": shape(),
        "environments": 3,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}",
            "nice": os.nice(0),
            "load_at_start": os.getloadavg(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "crds": str(crds) if crds else None,
        "points": [],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    parent = Path(tempfile.mkdtemp(prefix="mlgitops-bench-scale-", dir=args.tmp))
    try:
        for models in counts:
            print(f"{models} models x 3 environments ({shape()} shape), load {os.getloadavg()[0]:.1f}", flush=True)
            point = one_point(models, runs_at.get(models, args.runs), crds, budget_at.get(models, 0.0), parent)
            result["points"].append(point)
            result["linearity"] = linearity(result["points"])
            args.out.write_text(json.dumps(result, indent=1) + "\n")  # after every count: a long run keeps its part
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    result["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print_tables(result["points"], result["linearity"])
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
