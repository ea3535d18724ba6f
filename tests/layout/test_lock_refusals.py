"""The project lock around the generated tree (layout/tree.py `locked()`, util/lock.py): a lock another
process holds, or a lock note that cannot be written, is refused with one line at `.mlgitops.lock:1:1`,
and the refused command leaves every file as it was (the lock is taken before anything is compared or
written). The tree is stale in each test, so a `render` that got past the lock would change files.

The holders are separate processes: `flock` locks are per open file, and this process's own holds are
re-entrant (lock.py `_held`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mlgitops.util.lock import LOCK_FILE
from tests.conftest import run_cli, snapshot_tree

STALE_FILE = "overlays/prod/fraud-detector/kustomization.yaml"

# Holds the flock on the project directory the way another mlgitops does, with or without its note.
HOLDER = textwrap.dedent(
    """
    import fcntl, os, sys
    from pathlib import Path

    root, note = sys.argv[1], sys.argv[2]
    if note == "-":
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("held", flush=True)
        sys.stdin.readline()
    else:
        from mlgitops.util.lock import project_lock

        with project_lock(Path(root), note):
            print("held", flush=True)
            sys.stdin.readline()
    """
)

# `mlgitops ARGS` with the lock note's open refused as for a user who may not write it (a note left by
# another user, mode 0444: EACCES). The tests run as root too, which no file mode stops.
NO_NOTE_WRITES = textwrap.dedent(
    """
    import errno, os, sys
    from mlgitops.__main__ import main

    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):
        if os.fspath(path).endswith("/.mlgitops.lock") and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    os.open = refusing_open
    sys.exit(main(["-C", *sys.argv[1:]]))
    """
)


def stale(example: Path) -> Path:
    """The example with one model edited: `render` would rewrite STALE_FILE, `render --check` lists it."""
    model = example / "models/fraud-detector.yaml"
    model.write_text(model.read_text().replace("replicas: {min: 3, max: 10}", "replicas: {min: 4, max: 12}"))
    return example


@contextmanager
def holding(root: Path, note: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), note],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        assert proc.stdout.readline().strip() == "held", proc.stderr.read() if proc.stderr else ""
        yield proc
    finally:
        proc.stdin.write("go\n")
        proc.stdin.close()
        proc.wait(timeout=60)
        if proc.stderr is not None:
            proc.stderr.close()
        proc.stdout.close()


@pytest.fixture
def bare_holder(example: Path) -> Iterator[subprocess.Popen[str]]:
    """A process holding the lock that wrote no note (killed before it could, or not an mlgitops)."""
    with holding(stale(example), "-") as holder:
        yield holder


@pytest.fixture
def promote_holder(example: Path) -> Iterator[subprocess.Popen[str]]:
    with holding(stale(example), "promote fraud-detector") as holder:
        yield holder


@pytest.mark.parametrize("command", [["render"], ["render", "--check"]])
def test_a_lock_held_without_a_note_is_refused_and_nothing_changes(
    example: Path, bare_holder: subprocess.Popen[str], command: list[str]
) -> None:
    before = snapshot_tree(example)
    result = run_cli(command, cwd=example)
    assert result.exit_code == 1 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{LOCK_FILE}:1:1: another mlgitops is working on this project (holder not recorded); "
        "run again when it has finished"
    ]
    assert snapshot_tree(example) == before and not (example / LOCK_FILE).exists()  # no note of the refused one


@pytest.mark.parametrize("command", [["render"], ["render", "--check"]])
def test_a_lock_held_by_a_promotion_names_it_and_its_note_stays(
    example: Path, promote_holder: subprocess.Popen[str], command: list[str]
) -> None:
    note = (example / LOCK_FILE).read_text()
    assert note.startswith(f"pid {promote_holder.pid} on ") and "`mlgitops promote fraud-detector`" in note
    before = snapshot_tree(example)
    result = run_cli(command, cwd=example)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{LOCK_FILE}:1:1: another mlgitops is working on this project ({note.strip()}); run again when it has finished"
    ]
    assert snapshot_tree(example) == before  # the holder's note included


def test_a_released_lock_lets_render_run(example: Path) -> None:
    """The refusals above are the lock's: with the holder gone, the same render runs and removes its note."""
    before = snapshot_tree(stale(example))
    with holding(example, "-"):
        assert run_cli(["render"], cwd=example).exit_code == 1
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 0, result.stderr
    after = snapshot_tree(example)
    assert after[STALE_FILE] != before[STALE_FILE] and LOCK_FILE not in after
    assert run_cli(["render", "--check"], cwd=example).exit_code == 0


def test_a_lock_note_that_is_a_directory(example: Path) -> None:
    """`render` must record itself as the holder and refuses; `render --check` (read-only) runs without
    a note. Neither removes or changes the directory."""
    (stale(example) / LOCK_FILE).mkdir()
    (example / LOCK_FILE / "keep").write_text("kept\n")
    before = snapshot_tree(example)
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"{LOCK_FILE}:1:1: cannot write the lock note: Is a directory"]
    assert snapshot_tree(example) == before
    check = run_cli(["render", "--check"], cwd=example)
    assert (check.exit_code, check.stdout) == (1, STALE_FILE + "\n")  # it ran: the stale file is listed
    assert snapshot_tree(example) == before and (example / LOCK_FILE).is_dir()


@pytest.mark.parametrize("command", [["render"], ["render", "--check"]])
def test_a_lock_note_that_is_a_symlink_is_never_followed(example: Path, tmp_path: Path, command: list[str]) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not mlgitops's\n")
    (stale(example) / LOCK_FILE).symlink_to(outside)
    before = snapshot_tree(example)
    result = run_cli(command, cwd=example)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"{LOCK_FILE}:1:1: a symlink; the lock note must be a plain file: remove it"]
    assert outside.read_text() == "not mlgitops's\n" and (example / LOCK_FILE).is_symlink()
    assert snapshot_tree(example) == before


def test_a_lock_note_another_user_left_and_this_one_may_not_write(example: Path) -> None:
    """A stale note (its holder was killed) that this user may not write: `render` refuses in one line,
    `render --check` runs without a note; both leave the note, and every other file, as they were."""
    (stale(example) / LOCK_FILE).write_text("pid 1 on elsewhere, `mlgitops render`, since 2026-01-01T00:00:00Z\n")
    before = snapshot_tree(example)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-c", NO_NOTE_WRITES, str(example), *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)

    refused = run("render")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.splitlines() == [f"{LOCK_FILE}:1:1: cannot write the lock note: Permission denied"]
    assert snapshot_tree(example) == before
    check = run("render", "--check")
    assert (check.returncode, check.stdout) == (1, STALE_FILE + "\n"), check.stderr
    assert snapshot_tree(example) == before
