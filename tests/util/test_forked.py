"""map_forked: results in order from real forked children, and every failure reported as ForkedWorkError
with no child left behind."""

from __future__ import annotations

import os
import pickle
import signal
import time
from pathlib import Path

import pytest

from mlgitops.util import forked
from mlgitops.util.errors import UsageError
from mlgitops.util.forked import ForkedWorkError, map_forked, model_shares, shares, worker_count


def test_results_come_back_in_order_and_from_other_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forked.WORKERS_VARIABLE, "2")
    parent = os.getpid()
    results = map_forked(lambda n: (n * n, os.getpid()), [1, 2, 3, 4, 5])
    assert [square for square, _ in results] == [1, 4, 9, 16, 25]
    pids = [pid for _, pid in results]
    assert len(set(pids)) == 5 and parent not in pids


def test_no_more_children_at_once_than_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each child records the most children it saw alive beside it (as files), waiting up to 2 s to see a
    sibling (a loaded machine may start the second late); with 2 workers never more than 2."""
    monkeypatch.setenv(forked.WORKERS_VARIABLE, "2")

    def work(n: int) -> int:
        mine = tmp_path / str(os.getpid())
        mine.touch()
        most, deadline = 0, time.monotonic() + 2
        while most < 2 and time.monotonic() < deadline:
            most = max(most, sum(1 for f in tmp_path.iterdir() if f.suffix == "" and _alive(int(f.name))))
            time.sleep(0.01)
        (tmp_path / f"{os.getpid()}.seen").write_text(str(most))
        mine.unlink()
        return n

    assert map_forked(work, list(range(6))) == list(range(6))
    seen = [int(f.read_text()) for f in tmp_path.glob("*.seen")]
    assert len(seen) == 6 and max(seen) <= 2 and max(seen) == 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_large_result_crosses_the_pipe_whole() -> None:
    text = "x" * (3 << 20)  # larger than a pipe's buffer: the child writes while the parent reads
    assert map_forked(lambda n: text * n, [2, 1]) == [text * 2, text]


def test_a_failing_child_is_reported(tmp_path: Path) -> None:
    def work(n: int) -> int:
        if n == 1:
            raise ValueError("boom")
        return n

    with pytest.raises(ForkedWorkError):
        map_forked(work, [1, 2, 3])


def test_a_child_killed_by_a_signal_is_reported() -> None:
    def work(n: int) -> int:
        if n == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        return n

    with pytest.raises(ForkedWorkError, match="no answer"):
        map_forked(work, [0, 1])


def test_a_failing_child_stops_and_reaps_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forked.WORKERS_VARIABLE, "3")
    started = tmp_path / "started"
    started.mkdir()

    def work(n: int) -> int:
        if n == 2:
            deadline = time.monotonic() + 30
            while len(list(started.iterdir())) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            raise RuntimeError("this share fails")
        (started / str(os.getpid())).touch()
        signal.pause()  # would wait for ever: only the parent's kill ends it
        return n

    with pytest.raises(ForkedWorkError):
        map_forked(work, [0, 1, 2])
    assert len(list(started.iterdir())) == 2
    for pid_file in started.iterdir():  # every child that started is gone (killed and reaped)
        with pytest.raises(ChildProcessError):
            os.waitpid(int(pid_file.name), os.WNOHANG)


def test_one_share_runs_here_without_forking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forked, "_start", lambda *_: pytest.fail("forked for one share"))
    assert map_forked(lambda n: n + 1, [41]) == [42]


@pytest.mark.parametrize(
    ("workers", "models", "expected"),
    [
        ("1", 5000, [5000]),  # one worker: one share, done here
        ("2", 99, [99]),  # too few to fork
        ("2", 100, [50, 50]),
        ("2", 1000, [500, 500]),
        ("2", 1001, [334, 334, 333]),  # none over MODELS_PER_SHARE
        ("4", 400, [100, 100, 100, 100]),
    ],
)
def test_model_shares(monkeypatch: pytest.MonkeyPatch, workers: str, models: int, expected: list[int]) -> None:
    monkeypatch.setenv(forked.WORKERS_VARIABLE, workers)
    cut = model_shares(list(range(models)))
    assert [len(share) for share in cut] == expected
    assert [item for share in cut for item in share] == list(range(models))


@pytest.mark.parametrize(("count", "expected"), [(1, [7]), (2, [4, 3]), (3, [3, 2, 2]), (10, [1] * 7)])
def test_shares_are_contiguous_and_near_equal(count: int, expected: list[int]) -> None:
    cut = shares(list(range(7)), count)
    assert [len(share) for share in cut] == expected
    assert [item for share in cut for item in share] == list(range(7))


def test_worker_count_reads_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forked.WORKERS_VARIABLE, "3")
    assert worker_count() == 3
    monkeypatch.delenv(forked.WORKERS_VARIABLE)
    monkeypatch.setattr(forked, "cgroup_cpu_quota", lambda: None)
    assert worker_count() == min(len(os.sched_getaffinity(0)), forked.MAX_WORKERS)
    monkeypatch.setenv(forked.WORKERS_VARIABLE, "64")
    assert worker_count() == 64
    for bad in ("0", "-1", "two", "1.5", "65", "9" * 5000):
        monkeypatch.setenv(forked.WORKERS_VARIABLE, bad)
        with pytest.raises(UsageError, match=forked.WORKERS_VARIABLE):
            worker_count()


def test_a_child_that_answers_and_then_fails_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole answer is not enough: the child must also end well."""
    real_dump = pickle.dump

    def dump_then_fail(*args: object, **kwargs: object) -> None:
        real_dump(*args, **kwargs)  # type: ignore[arg-type]
        raise OSError("failed after answering")

    monkeypatch.setattr(pickle, "dump", dump_then_fail)
    with pytest.raises(ForkedWorkError, match="status"):
        map_forked(lambda n: n, [0, 1])


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu.max": "150000 100000\n"}, 1.5),
        ({"cpu.max": "nonsense"}, None),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),
        ({}, None),
    ],
)
def test_cgroup_cpu_quota(tmp_path: Path, files: dict[str, str], expected: float | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert forked.cgroup_cpu_quota(tmp_path) == expected


def test_worker_count_keeps_to_the_cgroup_quota_and_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(forked.WORKERS_VARIABLE, raising=False)
    monkeypatch.setattr(forked.os, "sched_getaffinity", lambda _pid: set(range(64)))
    monkeypatch.setattr(forked, "cgroup_cpu_quota", lambda: 1.5)
    assert worker_count() == 2  # a quota of 1.5 CPUs: two processes share it
    monkeypatch.setattr(forked, "cgroup_cpu_quota", lambda: 0.2)
    assert worker_count() == 1
    monkeypatch.setattr(forked, "cgroup_cpu_quota", lambda: None)
    assert worker_count() == forked.MAX_WORKERS


def test_a_worker_knows_it_is_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """Addon evaluation runs one Jsonnet child at a time in a worker (render/addons.py reads this)."""
    monkeypatch.setenv(forked.WORKERS_VARIABLE, "2")
    assert not forked.in_worker()
    assert map_forked(lambda _: forked.in_worker(), [0, 1]) == [True, True]
    assert not forked.in_worker()
