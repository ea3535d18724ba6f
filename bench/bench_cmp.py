"""Wall time of `mlgitops cmp generate`, beside `kubectl kustomize` of the same committed overlay.

Builds a 10-model repository with bench/genrepo.py, renders it, copies it the way argocd-cmp-server
extracts a checkout (files 0644), then times, interleaved:

- `mlgitops cmp generate` for one model as Argo CD runs it: a subprocess without a shell, cwd at the
  Application path (`overlays/<env>`), the request variables (`ARGOCD_APP_*`, `PARAM_*`,
  `ARGOCD_APP_PARAMETERS`) and a `HOME` that is not writable; once without the answer cache
  (`MLGITOPS_CMP_CACHE=0`: every call renders) and once with the sidecar's private writable cache
  directory holding the answer (a repeated request, cmp_cache.py);
- for reference, the same one-model request in forks of an interpreter that has imported what it needs (what
  a warm process would cost without the imports; CPU time only);
- the bare `kubectl kustomize overlays/<env>/<model>` of the same model's committed overlay (what a plain
  Kustomize Application of that model would cost): the baseline of the ratios; and, for reference, of the
  whole environment's overlay `overlays/<env>` (all the repository's models, which a one-model answer
  does not hold);
- for reference, `cmp generate` of the whole environment, a bare interpreter start, and an
  interpreter that only imports what `cmp generate` imports.

Then the same for a whole environment of a 1000-model repository (`--large`, 0 to skip): `cmp
generate` without cache against `kubectl kustomize` of that overlay.

Reports medians of wall time and of CPU time (user + system of the child, which a loaded machine
inflates less) and ratios measured in the same run (the machine is shared). Targets (issue 14):
one-model generate <= 1.5x the bare Kustomize call of the same overlay (stretch <= 1x); whole
environment at 1000 models <= 2 s.

    .venv/bin/python bench/bench_cmp.py [--models 10] [--runs 21] [--env prod] [--large 1000] [--large-runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from genrepo import generate as generate_repo  # noqa: E402
from genrepo import model_name  # noqa: E402

# What `mlgitops` does before a command (mlgitops/__main__.py), then imports only.
_ENTRY = (
    "import gc, os; os.environ.setdefault('PYDANTIC_DISABLE_PLUGINS', '__all__'); "
    "from mlgitops.__main__ import GC_THRESHOLDS; gc.set_threshold(*GC_THRESHOLDS); "
    "from mlgitops.util.pydantic_plugins import skip_discovery; skip_discovery(); "
)
IMPORTS = _ENTRY + "import mlgitops.cli.main, mlgitops.gitops.cmp, mlgitops.layout.build"
SPEC_IMPORT = _ENTRY + "import mlgitops.language.model, mlgitops.language.project"
QUIET_SCRIPTS = ("pass", IMPORTS, SPEC_IMPORT)  # print nothing
# The same one-model request in forks of an interpreter that has imported what it needs: what a warm process
# (a server in the sidecar forking per request) would cost, without the imports. Prints each fork's CPU time.
FORKED = (
    _ENTRY
    + """
import json, os, sys
import mlgitops.cli.main as cli, mlgitops.gitops.cmp, mlgitops.layout.build
import mlgitops.language.loader, mlgitops.language.model, mlgitops.language.project
cpu = []
for _ in range(int(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os._exit(cli.run(["cmp", "generate"]))
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status):
        sys.exit("cmp generate failed in the fork")
    cpu.append(usage.ru_utime + usage.ru_stime)
print(json.dumps(cpu))
"""
)
TARGET_RATIO = 1.5
STRETCH_RATIO = 1.0
BARE = "kubectl kustomize of the model's overlay"  # the baseline of the one-model ratios
TARGET_LARGE_S = 2.0


def _render(repo: Path) -> None:
    from mlgitops.gitops import generate

    generate.render(repo)


def _extract_like_argocd(source: Path, destination: Path) -> None:
    """A copy with the modes argocd-cmp-server gives extracted files (0644 files, 0755 dirs)."""
    shutil.copytree(source, destination)
    for path in destination.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(argv: list[str], cwd: Path, env: dict[str, str], cpu: list[float] | None = None) -> float:
    """Wall time of one run; its CPU time is appended to `cpu`."""
    cpu_before = _cpu_of_children()
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if cpu is not None:
        cpu.append(_cpu_of_children() - cpu_before)
    if proc.returncode != 0 or (argv[-1] not in QUIET_SCRIPTS and not proc.stdout.strip()):
        raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr.decode(errors='replace').strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--env", default="prod")
    parser.add_argument("--model", type=int, default=1, help="index of the model to render alone")
    parser.add_argument("--large", type=int, default=1000, help="models in the whole-environment case (0: skip)")
    parser.add_argument("--large-runs", type=int, default=5)
    args = parser.parse_args()

    bindir = Path(sys.executable).parent
    mlgitops = shutil.which("mlgitops", path=str(bindir)) or shutil.which("mlgitops")
    if mlgitops is None:
        raise SystemExit("mlgitops is not installed beside this interpreter")
    from mlgitops.layout.kustomize import kustomize_command

    kustomize = list(kustomize_command())
    model = model_name(args.model)
    app_path = f"overlays/{args.env}"

    with tempfile.TemporaryDirectory(prefix="mlgitops-bench-cmp-") as tmp:
        work = Path(tmp)
        source = generate_repo(work / "source", args.models)
        _render(source)
        checkout = work / "checkout"
        _extract_like_argocd(source, checkout)
        home = work / "home"
        home.mkdir()
        home.chmod(0o555)
        cache = work / "cmp-cache"
        sidecar = {
            "PATH": f"{bindir}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "TMPDIR": str(work),
            "LANG": "C.UTF-8",
        }
        request = {
            "ARGOCD_APP_NAME": f"bench-{args.env}-{model}",
            "ARGOCD_APP_NAMESPACE": "ml-" + args.env,
            "ARGOCD_APP_PROJECT_NAME": "bench",
            "ARGOCD_APP_REVISION": "0" * 40,
            "ARGOCD_APP_REVISION_SHORT": "0" * 7,
            "ARGOCD_APP_REVISION_SHORT_8": "0" * 8,
            "ARGOCD_APP_SOURCE_PATH": app_path,
            "ARGOCD_APP_SOURCE_REPO_URL": "https://github.com/acme/ml-config.git",
            "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
            "KUBE_VERSION": "1.31.2",
            "KUBE_API_VERSIONS": "apps/v1,v1",
        }

        def plugin_env(params: list[dict[str, str]]) -> dict[str, str]:
            env = {**sidecar, **request}
            env["ARGOCD_APP_PARAMETERS"] = json.dumps(params, separators=(",", ":"), sort_keys=True)
            for item in params:
                env["PARAM_" + item["name"].upper().replace("-", "_")] = item["string"]
            return env

        # Without the answer cache (every call renders), and with it holding the answer.
        one = plugin_env([{"name": "environment", "string": args.env}, {"name": "model", "string": model}])
        cached = {**one, "MLGITOPS_CMP_CACHE_DIR": str(cache)}
        one["MLGITOPS_CMP_CACHE"] = "0"
        whole = {**plugin_env([{"name": "environment", "string": args.env}]), "MLGITOPS_CMP_CACHE": "0"}
        cwd = checkout / app_path
        cases = {
            "cmp generate, one model": ([mlgitops, "cmp", "generate"], cwd, one),
            "cmp generate, one model, cache hit": ([mlgitops, "cmp", "generate"], cwd, cached),
            BARE: ([*kustomize, f"{app_path}/{model}"], checkout, sidecar),
            f"kubectl kustomize {app_path} ({args.models} models)": ([*kustomize, app_path], checkout, sidecar),
            "cmp generate, whole environment": ([mlgitops, "cmp", "generate"], cwd, whole),
            # Where the time goes: interpreter start, pydantic with the spec models, then all the
            # imports generate needs, doing nothing else.
            "reference: python -c pass": ([sys.executable, "-c", "pass"], cwd, sidecar),
            "reference: import pydantic + spec models": ([sys.executable, "-c", SPEC_IMPORT], cwd, sidecar),
            "reference: import mlgitops.gitops.cmp, build": ([sys.executable, "-c", IMPORTS], cwd, sidecar),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for argv, where, env in cases.values():  # warm the page cache (and fill the answer cache)
            _time(argv, where, env)
        for _ in range(args.runs):
            for name, (argv, where, env) in cases.items():
                samples[name].append(_time(argv, where, env, cpu[name]))

        medians = {name: statistics.median(values) for name, values in samples.items()}
        cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
        print(
            f"{args.models}-model repository, environment {args.env}, model {model}, "
            f"{args.runs} runs each: median wall (min-max), median CPU; load average {_load()}"
        )
        for name, values in samples.items():
            print(
                f"  {name:40s} {medians[name]:.3f} s   ({min(values):.3f}-{max(values):.3f})"
                f"   CPU {cpu_medians[name]:.3f} s"
            )
        bare = medians[BARE]
        bare_cpu = cpu_medians[BARE]
        for name in ("cmp generate, one model", "cmp generate, one model, cache hit"):
            ratio = medians[name] / bare
            verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
            stretch = ", stretch met" if ratio <= STRETCH_RATIO else ""
            print(
                f"  {name} / bare kustomize: {ratio:.2f}x wall ({cpu_medians[name] / bare_cpu:.2f}x CPU)"
                f"   target <= {TARGET_RATIO}x (stretch <= {STRETCH_RATIO}x): {verdict}{stretch}"
            )

        _warm_server(args, mlgitops, cwd, one, sidecar, work, bare_cpu)

        forked_argv = [sys.executable, "-c", FORKED, str(args.runs)]
        forked = subprocess.run(forked_argv, cwd=cwd, env=one, capture_output=True, text=True, check=False)
        if forked.returncode != 0:
            raise SystemExit(f"the forked reference failed: {forked.stderr.strip()}")
        forked_cpu = statistics.median(json.loads(forked.stdout))
        print(
            f"  reference: cmp generate, one model, forked from a warm interpreter: CPU {forked_cpu:.3f} s"
            f" ({forked_cpu / bare_cpu:.2f}x bare kustomize's CPU; load average {_load()})"
        )

        if args.large:
            _large(args, work, mlgitops, kustomize, sidecar, request, plugin_env)
    return 0


def _children_cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of the children PID has reaped, from /proc (clock-tick resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def _warm_server(
    args: argparse.Namespace,
    mlgitops: str,
    cwd: Path,
    one: dict[str, str],
    sidecar: dict[str, str],
    work: Path,
    bare_cpu: float,
) -> None:
    """One-model `cmp generate` through the sidecar's warm server (`mlgitops cmp serve`): the wall time of the
    command, and its CPU time with that of the server's fork that ran it (counted when the server reaps it)."""
    socket_path = work / "warm" / "generate.sock"
    server = subprocess.Popen(
        [mlgitops, "cmp", "serve", "--socket", str(socket_path)],
        env=sidecar,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            if socket_path.exists():
                break
            time.sleep(0.05)
        client = {**one, "MLGITOPS_CMP_SERVER": str(socket_path)}
        argv = [mlgitops, "cmp", "generate"]
        _time(argv, cwd, client)  # the first request, as every later one: the server imported everything
        walls, cpus = [], []
        for _ in range(args.runs):
            before = _children_cpu_of(server.pid)
            client_cpu: list[float] = []
            walls.append(_time(argv, cwd, client, client_cpu))
            time.sleep(0.05)  # the server reaps the fork
            cpus.append(client_cpu[0] + _children_cpu_of(server.pid) - before)
    finally:
        server.terminate()
        server.wait()
    wall, cpu = statistics.median(walls), statistics.mean(cpus)  # the mean: the fork's time comes in 10 ms ticks
    print(
        f"  cmp generate, one model, warm server (mlgitops cmp serve): {wall:.3f} s"
        f" ({min(walls):.3f}-{max(walls):.3f}),"
        f" CPU {cpu:.3f} s with the server's fork (mean): {cpu / bare_cpu:.2f}x bare kustomize's CPU"
    )


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _large(
    args: argparse.Namespace,
    work: Path,
    mlgitops: str,
    kustomize: list[str],
    sidecar: dict[str, str],
    request: dict[str, str],
    plugin_env: Callable[[list[dict[str, str]]], dict[str, str]],
) -> None:
    """Whole-environment `cmp generate` at `--large` models, beside Kustomize of the same overlay."""
    source = generate_repo(work / "large-source", args.large)
    _render(source)
    checkout = work / "large-checkout"
    _extract_like_argocd(source, checkout)
    app_path = f"overlays/{args.env}"
    whole = {**plugin_env([{"name": "environment", "string": args.env}]), "MLGITOPS_CMP_CACHE": "0"}
    cases = {
        f"cmp generate, whole environment ({args.large} models)": (
            [mlgitops, "cmp", "generate"],
            checkout / app_path,
            whole,
        ),
        f"kubectl kustomize ({args.large} models)": ([*kustomize, app_path], checkout, sidecar),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.large_runs):
        for name, (argv, where, env) in cases.items():
            samples[name].append(_time(argv, where, env, cpu[name]))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(
        f"{args.large}-model repository, environment {args.env}, {args.large_runs} runs each: "
        f"median wall (min-max), median CPU; load average {_load()}"
    )
    for name, values in samples.items():
        print(
            f"  {name:52s} {medians[name]:.3f} s   ({min(values):.3f}-{max(values):.3f})"
            f"   CPU {statistics.median(cpu[name]):.3f} s"
        )
    figure = medians[f"cmp generate, whole environment ({args.large} models)"]
    verdict = "met" if figure <= TARGET_LARGE_S else "NOT met"
    print(f"  whole environment, {args.large} models: {figure:.2f} s   target <= {TARGET_LARGE_S} s: {verdict}")


if __name__ == "__main__":
    sys.exit(main())
