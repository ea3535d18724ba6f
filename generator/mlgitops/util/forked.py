"""Work split over forked copies of this process, for the CPU-bound stages of a large render.

A fork inherits everything already loaded (the project, the imported code) at no copying cost, so each
child only does its share and sends back what it made, pickled over a pipe. A share holds at most
`MODELS_PER_SHARE` models and at most as many children run at once as there are workers, so a child's
memory does not grow with the project. It is an accelerator for the case that succeeds: any failure in any
share (a spec error, a signal, a child killed for memory) makes `map_forked` raise `ForkedWorkError`,
and the caller does the whole job in this process, which reports the error exactly as a run without
workers would.

`MLGITOPS_WORKERS` sets the number of processes (1: never fork); the default is the number of CPUs this
process may run on.
"""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from mlgitops.util.errors import UsageError

WORKERS_VARIABLE = "MLGITOPS_WORKERS"
# Below two shares of this many models, forking costs more than it saves (a worker starts in about 5 ms,
# and a model loads, renders and lays out in about 7 ms on one core).
MODELS_PER_WORKER = 50
# A worker holds its share's specs, renders and files: with shares of 500 realistic models in three
# environments, no process of a 1000- or 2000-model render passed 250 MiB (bench/bench_scale.py).
MODELS_PER_SHARE = 500
MAX_WORKERS = 8  # shares at once, each worker holding one
MAX_CONFIGURED_WORKERS = 64  # what MLGITOPS_WORKERS may ask for (more forks than that only cost memory)
_BUFFER = 1 << 20

Item = TypeVar("Item")
Result = TypeVar("Result")


class ForkedWorkError(Exception):
    """A share of the work failed in a child: redo the whole job without forking."""


_in_worker = False


def in_worker() -> bool:
    """Whether this process is a worker of `map_forked` (its siblings already use the other CPUs)."""
    return _in_worker


def worker_count() -> int:
    """`MLGITOPS_WORKERS`, else the CPUs this process may use: the ones it may run on (affinity), no more than
    its cgroup's CPU quota allows (a container limited to 2 CPUs on a 64-core node gets 2), at most MAX_WORKERS."""
    configured = os.environ.get(WORKERS_VARIABLE, "").strip()
    if configured:
        if not (configured.isdigit() and len(configured) <= 3 and 1 <= int(configured) <= MAX_CONFIGURED_WORKERS):
            raise UsageError(
                f"{WORKERS_VARIABLE}={configured[:20]!r}: expected a whole number of processes from 1 to "
                f"{MAX_CONFIGURED_WORKERS}"
            )
        return int(configured)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return min(cpus, MAX_WORKERS)


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs' worth of time per period the cgroup may use (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us`), or None
    when unlimited or unknown. Inside a container the cgroup namespace makes its own cgroup the root."""
    try:
        quota, _, period = (root / "cpu.max").read_text().partition(" ")
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota_us <= 0 or period_us <= 0 else quota_us / period_us


def model_shares(names: Sequence[Item]) -> list[list[Item]]:
    """`names` cut for the workers: one share (do it here) when there are few or one worker, else at least
    one per worker and none over MODELS_PER_SHARE."""
    workers = worker_count()
    if workers < 2 or len(names) < MODELS_PER_WORKER * 2:
        return [list(names)]
    return shares(names, max(workers, -(-len(names) // MODELS_PER_SHARE)))


def shares(items: Sequence[Item], count: int) -> list[list[Item]]:
    """`items` cut into at most `count` contiguous runs of near-equal length, in order, none empty."""
    count = max(1, min(count, len(items)))
    size, extra = divmod(len(items), count)
    out: list[list[Item]] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return [share for share in out if share]


def map_forked(function: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """[function(item) for item in items], each in a forked child (a single item: here), in order, with at
    most `worker_count()` children at once.

    Raises ForkedWorkError when any of them fails (the children still running are stopped and reaped).
    """
    if len(items) <= 1 or not hasattr(os, "fork"):
        return [function(item) for item in items]
    import select

    at_once = worker_count()
    waiting = list(enumerate(items))
    running: dict[int, tuple[int, int]] = {}  # pipe → (index, pid)
    results: dict[int, Result] = {}
    poll = select.poll()
    try:
        while waiting or running:
            while waiting and len(running) < at_once:
                index, item = waiting.pop(0)
                pid, read = _start(function, item)
                running[read] = (index, pid)
                poll.register(read, select.POLLIN)
            read = poll.poll()[0][0]  # a child that has finished its share and is sending it (or has died)
            poll.unregister(read)
            index, pid = running.pop(read)
            results[index] = _collect(pid, read)
        return [results[index] for index in range(len(items))]
    finally:
        for read, (_index, pid) in running.items():  # stopped early: no child outlives the call
            os.close(read)
            _stop(pid)


def _start(function: Callable[[Item], Result], item: Item) -> tuple[int, int]:
    import pickle

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, and leave without running the parent's cleanups
        global _in_worker
        _in_worker = True
        os.close(read)
        status = 1
        try:
            result = function(item)
            with os.fdopen(write, "wb", buffering=_BUFFER) as stream:  # streamed: no second copy as bytes
                pickle.dump(result, stream, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    return pid, read


def _collect(pid: int, read: int) -> Any:
    """A child's result, read as it arrives (never whole as bytes: the answer is sent once the share is
    done, so this does not wait on its work), once the child has ended well."""
    import pickle

    try:
        with os.fdopen(read, "rb", buffering=_BUFFER) as stream:
            result = pickle.load(stream)
    except Exception as exc:  # nothing or part of an answer: the child failed
        _stop(pid)
        raise ForkedWorkError(f"a worker process sent no answer ({exc.__class__.__name__})") from None
    except BaseException:
        _stop(pid)
        raise
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        raise ForkedWorkError(f"a worker process ended with status {status}")
    return result


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
