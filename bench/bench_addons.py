"""What Jsonnet addons add to `render` and to `cmp generate`, measured in the same run.

Builds two copies of a bench/genrepo.py repository: one plain, one with the bundled example's two
templates (templates/pdb.jsonnet, templates/network-policy.jsonnet and templates/lib/), renders both,
then times, interleaved (the machine is shared: compare figures of one run only):

- `mlgitops render` of the `--models`-model repositories (every model × every environment: each
  template is evaluated once, mapped over all pairs, mlgitops.render.addons);
- `mlgitops cmp generate` for one model (`--small`-model repositories, answer cache off), as the Argo
  CD sidecar runs it.

Budgets (issue 13): render +2 s at 1000 models × 3 environments; one-model cmp generate +30 ms.

    .venv/bin/python bench/bench_addons.py [--models 1000] [--runs 3] [--small 10] [--cmp-runs 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from genrepo import generate as generate_repo  # noqa: E402
from genrepo import model_name  # noqa: E402

# CPU seconds of every run by working directory: on a shared machine wall-clock medians move with the
# load, CPU time much less (the child that evaluates the templates is counted: mlgitops waits for it).
CPU_SAMPLES: dict[Path, list[float]] = {}
RENDER_BUDGET_S = 2.0
CMP_BUDGET_S = 0.030


def _with_templates(repo: Path) -> None:
    shutil.copytree(REPO / "templates", repo / "templates")


def _cpu() -> float:
    """CPU seconds (user + system) of the waited-for child processes so far, their own children included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall-clock seconds of one run (its CPU seconds are added to CPU_SAMPLES)."""
    cpu = _cpu()
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    CPU_SAMPLES.setdefault(cwd, []).append(_cpu() - cpu)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr.decode(errors='replace').strip()}")
    return elapsed


def _pair(work: Path, models: int, tag: str) -> dict[str, Path]:
    """A plain repository and one with templates, both rendered."""
    out = {}
    for name in ("plain", "addons"):
        repo = generate_repo(work / f"{tag}-{name}", models)
        if name == "addons":
            _with_templates(repo)
        _run([sys.executable, "-m", "mlgitops", "render"], repo, dict(os.environ))
        out[name] = repo
    return out


def _interleaved(cases: dict[str, tuple[list[str], Path, dict[str, str]]], runs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (argv, cwd, env) in cases.items():
            samples[name].append(_run(argv, cwd, env))
    return samples


def _report(
    title: str, samples: dict[str, list[float]], budget: float, cpu: dict[str, list[float]] | None = None
) -> None:
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(title)
    for name, values in samples.items():
        spread = ", ".join(f"{v:.3f}" for v in values) if len(values) <= 5 else f"{min(values):.3f}-{max(values):.3f}"
        print(f"  {name:10s} median {medians[name]:.3f} s  ({spread})")
    plain, addons = medians["plain"], medians["addons"]
    added = addons - plain
    verdict = "met" if added <= budget else "NOT met"
    print(
        f"  added by addons: {added * 1000:.0f} ms ({addons / plain:.2f}x)  budget <= {budget * 1000:.0f} ms: {verdict}"
    )
    if cpu:
        plain_cpu, addons_cpu = (statistics.median(cpu[name]) for name in ("plain", "addons"))
        print(
            f"  CPU (user+sys, median): plain {plain_cpu:.3f} s, addons {addons_cpu:.3f} s, "
            f"added {(addons_cpu - plain_cpu) * 1000:.0f} ms (budget <= {budget * 1000:.0f} ms)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--cmp-runs", type=int, default=15)
    parser.add_argument("--env", default="prod")
    args = parser.parse_args()
    env = {**os.environ, "MLGITOPS_CMP_CACHE": "0"}
    mlgitops = [sys.executable, "-m", "mlgitops"]
    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-addons-") as tmp:
        work = Path(tmp)
        small = _pair(work, args.small, "small")
        cmp_env = {**env, "PARAM_ENVIRONMENT": args.env, "PARAM_MODEL": model_name(1)}
        cmp_cases = {
            name: ([*mlgitops, "cmp", "generate"], repo / "overlays" / args.env, cmp_env)
            for name, repo in small.items()
        }
        _interleaved(cmp_cases, 1)  # warm up
        CPU_SAMPLES.clear()
        cmp_samples = _interleaved(cmp_cases, args.cmp_runs)
        _report(
            f"cmp generate, one model of {args.small}, environment {args.env}, {args.cmp_runs} runs",
            cmp_samples,
            CMP_BUDGET_S,
            {name: CPU_SAMPLES[case[1]] for name, case in cmp_cases.items()},
        )
        large = _pair(work, args.models, "large")
        render_cases = {name: ([*mlgitops, "render"], repo, env) for name, repo in large.items()}
        CPU_SAMPLES.clear()
        render_samples = _interleaved(render_cases, args.runs)
        _report(
            f"render, {args.models} models x every environment, {args.runs} runs",
            render_samples,
            RENDER_BUDGET_S,
            {name: CPU_SAMPLES[case[1]] for name, case in render_cases.items()},
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
