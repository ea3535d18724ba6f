"""Concurrency and atomicity of `render` (issue 9): one writer at a time, and a swap of the whole
generated tree that a SIGKILL at any rename cannot leave half old, half new.

The renders run in child processes with `os.rename`/`os.replace` wrapped (no hook in the product):
the wrapper SIGKILLs the child right after its N-th call, or holds it until the test says go.
The tree after the next render's recovery (`render --check` refuses to recover) is compared with
snapshots of the wholly old and the wholly new tree.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlgitops.layout.journal import leftovers
from mlgitops.layout.tree import JOURNAL_FILE, STAGING_PREFIX, recover
from mlgitops.util.lock import LOCK_FILE, project_lock
from mlgitops.util.paths import GENERATED_ROOTS
from tests.conftest import copy_example, run_cli, snapshot_tree
from tests.util.test_fs_safety import change_every_generated_directory

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from mlgitops.__main__ import main

    root, command, kill_after, pause_after = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), int(sys.argv[4])
    calls = [0]

    def wrap(real):
        def call(source, target, *args, **kwargs):
            calls[0] += 1
            if kill_after == 0:  # before the first call: the journal is not written yet
                os.kill(os.getpid(), signal.SIGKILL)
            real(source, target, *args, **kwargs)
            if calls[0] == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            if calls[0] == pause_after:
                print("paused", flush=True)
                sys.stdin.readline()
        return call

    os.rename, os.replace = wrap(os.rename), wrap(os.replace)
    code = main(["-C", root, *command])
    print(f"calls={calls[0]}", flush=True)
    sys.exit(code)
    """
)


def child(root: Path, command: str = "render", *, kill_after: int = -1, pause_after: int = -1) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(root), command, str(kill_after), str(pause_after)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def no_leftovers(root: Path) -> bool:
    names = [p.name for p in root.iterdir()]
    return not [n for n in names if n.startswith(STAGING_PREFIX) or n in (JOURNAL_FILE, LOCK_FILE)]


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(wholly old, wholly new): the example with every generated directory stale, before and after render."""
    root = copy_example(tmp_path_factory.mktemp("expected") / "repo")
    change_every_generated_directory(root)
    old = snapshot_tree(root)
    assert run_cli(["render"], cwd=root).exit_code == 0
    new = snapshot_tree(root)
    changed = {path for path in set(old) | set(new) if old.get(path) != new.get(path)}
    rendered = {top for top in GENERATED_ROOTS for path in new if path.startswith(top + "/")}  # no graphs/ here
    assert {top for top in GENERATED_ROOTS for path in changed if path.startswith(top + "/")} == rendered
    assert len(rendered) == len(GENERATED_ROOTS) - 1
    return old, new


def stale_example(tmp_path: Path, name: str) -> Path:
    root = copy_example(tmp_path / name)
    change_every_generated_directory(root)
    return root


def rename_calls(tmp_path: Path) -> int:
    proc = child(stale_example(tmp_path, "count"))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return int(out.strip().rpartition("calls=")[2])


def test_a_sigkill_at_every_rename_leaves_the_tree_wholly_old_or_wholly_new(
    tmp_path: Path, snapshots: tuple[dict[str, bytes], dict[str, bytes]]
) -> None:
    old, new = snapshots
    total = rename_calls(tmp_path)
    # the journal's commit, then old-out and new-in for each changed unit (tree.swap_unit): the changed
    # models' directories and the files that list them (9 with monitoring), not whole generated directories;
    # last, the render cache's own atomic replace (rendercache/store.py)
    assert total == 20
    for kill_after in range(total + 1):
        root = stale_example(tmp_path, f"kill-{kill_after}")
        proc = child(root, kill_after=kill_after)
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, (kill_after, err)
        (root / LOCK_FILE).unlink(missing_ok=True)  # the killed render's note (lock.py), not generated output
        if leftovers(root):  # render --check never completes a render: it refuses, writing nothing
            during = snapshot_tree(root)
            refusal = run_cli(["render", "--check"], cwd=root)
            assert refusal.exit_code == 1 and len(refusal.stderr.splitlines()) == 1, refusal.stderr
            assert "of an interrupted render is in this checkout" in refusal.stderr
            assert snapshot_tree(root) == during
        with project_lock(root, "test"):  # what `render` does first, alone: its result is still inspectable
            note = recover(root)
        after = snapshot_tree(root)
        assert no_leftovers(root), kill_after
        check = run_cli(["render", "--check"], cwd=root)
        assert "Traceback" not in check.stderr
        if kill_after == 0:  # killed before the journal was committed: the old tree, still stale
            assert after == old
            assert check.exit_code == 1 and note is None
        else:
            assert after == new, kill_after
            assert check.exit_code == 0
            if kill_after == total:  # after the cache's replace: the render had completed, nothing to recover
                assert note is None
            else:
                assert note is not None and note.startswith("completed an interrupted render (")


def test_a_sigkill_during_recovery_is_recovered_again(
    tmp_path: Path, snapshots: tuple[dict[str, bytes], dict[str, bytes]]
) -> None:
    _old, new = snapshots
    root = stale_example(tmp_path, "repo")
    first = child(root, kill_after=3)  # journal, first unit out, first unit in: the second not yet
    first.communicate(timeout=120)
    assert first.returncode == -signal.SIGKILL
    units = json.loads((root / JOURNAL_FILE).read_text())["swap"]
    second = child(root, "render", kill_after=1)  # recovery moves the old second unit out, then dies
    second.communicate(timeout=120)
    assert second.returncode == -signal.SIGKILL
    assert (root / units[0]).exists() and not (root / units[1]).exists()  # half-way indeed
    result = run_cli(["validate"], cwd=root)  # reads specs only: unaffected by the unfinished swap
    assert result.exit_code == 0, result.stderr
    assert run_cli(["render"], cwd=root).exit_code == 0
    assert snapshot_tree(root) == new and no_leftovers(root)


def test_a_second_render_during_a_render_is_refused_naming_the_holder(
    tmp_path: Path, snapshots: tuple[dict[str, bytes], dict[str, bytes]]
) -> None:
    _old, new = snapshots
    root = stale_example(tmp_path, "repo")
    holder = child(root, pause_after=4)  # in the middle of the swap
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "paused"
    during = snapshot_tree(root)
    for command in (["render"], ["render", "--check"]):
        result = run_cli(command, cwd=root)
        assert result.exit_code == 1, (command, result.stderr)
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr
        assert lines[0].startswith(f"{LOCK_FILE}:1:1: another mlgitops is working on this project (pid {holder.pid} ")
        assert f"on {socket.gethostname()}, `mlgitops render`, since 20" in lines[0]
        assert lines[0].endswith("); run again when it has finished")
        assert snapshot_tree(root) == during
    holder.stdin.write("go\n")
    holder.stdin.close()
    holder.wait(timeout=120)
    assert holder.returncode == 0
    assert snapshot_tree(root) == new and no_leftovers(root)


def test_two_renders_started_together(tmp_path: Path, snapshots: tuple[dict[str, bytes], dict[str, bytes]]) -> None:
    """Both start at once: each either renders or refuses naming the other; the tree ends wholly new."""
    _old, new = snapshots
    for round_number in range(3):
        root = stale_example(tmp_path, f"round-{round_number}")
        argv = [str(Path(sys.executable).parent / "mlgitops"), "-C", str(root), "render"]
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outcomes = []
        for proc in procs:
            _out, err = proc.communicate(timeout=120)
            assert "Traceback" not in err
            outcomes.append(proc.returncode)
            if proc.returncode == 1:
                assert err.startswith(f"{LOCK_FILE}:1:1: another mlgitops is working on this project (")
                assert len(err.splitlines()) == 1
            else:
                assert proc.returncode == 0, err
        assert 0 in outcomes
        assert snapshot_tree(root) == new and no_leftovers(root)


@pytest.mark.parametrize(
    ("journal", "message"),
    [
        ("{not json", "unreadable journal of an interrupted render"),
        ('{"staging": "../../etc", "swap": ["overlays"]}', "not a journal mlgitops wrote"),
        ('{"staging": ".mlgitops-staging-x", "swap": ["models"]}', "not a journal mlgitops wrote"),
    ],
)
def test_a_journal_mlgitops_did_not_write_is_refused(example: Path, journal: str, message: str) -> None:
    (example / JOURNAL_FILE).write_text(journal)
    before = snapshot_tree(example)
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"{JOURNAL_FILE}:1:1: {message}; delete it and render again"]
    check = run_cli(["render", "--check"], cwd=example)  # never reads a journal: refuses any
    assert check.exit_code == 1 and check.stderr.startswith(f"{JOURNAL_FILE}:1:1: the journal of an interrupted render")
    assert snapshot_tree(example) == before
