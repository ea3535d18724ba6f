"""Timing helpers for the bench scripts: run a command several times, report the median wall time and peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

MLGITOPS = [sys.executable, "-m", "mlgitops"]


def timed_run(
    argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None, ok: Sequence[int] = (0,)
) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one run of argv; fails loudly on an unexpected exit code."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"{' '.join(argv)} exited {code}: {stderr}")
    if proc.stderr:
        proc.stderr.close()
    return elapsed, usage.ru_maxrss


def median_of(runs: int, once: Callable[[], tuple[float, int]]) -> tuple[float, int, list[float]]:
    """Median wall time, max peak RSS, and all times, over `runs` calls of `once`."""
    times, peaks = [], []
    for _ in range(runs):
        elapsed, peak = once()
        times.append(elapsed)
        peaks.append(peak)
    return statistics.median(times), max(peaks), times


def report(label: str, median: float, peak_kib: int, times: list[float], target: float | None = None) -> None:
    verdict = ""
    if target is not None:
        verdict = f"  target <= {target:.2f} s: {'met' if median <= target else 'MISSED'}"
    spread = ", ".join(f"{t:.3f}" for t in times)
    # The model shape (bench/genrepo.py) and the load average beside every figure: both change what it means.
    context = f"  [{os.environ.get('MLGITOPS_BENCH_SHAPE', 'synthetic')} models, load {os.getloadavg()[0]:.1f}]"
    print(f"{label:<44} median {median:7.3f} s  peak {peak_kib / 1024:6.0f} MiB  runs [{spread}]{verdict}{context}")
