"""Read-only access to the Git repository around a project: refs, merge-bases, and a revision's files.

Git runs as a subprocess with an argument list (no shell). Nothing here writes to the user's
repository: no worktrees, no index updates, no checkouts. A revision is materialised with
`git archive <commit>:<prefix>` unpacked into a directory the caller owns (a temporary one that is
removed on success, error and Ctrl-C alike), so the working tree and the index are never touched.

    repo = open_repository(Path("."))
    base = resolve_revision(repo, None)
    materialise(repo, base.commit, Path(tmp))

`git archive` honours `export-ignore` and `export-subst` attributes of the archived tree; project
inputs (`mlgitops.yaml`, `models/`, `base/platform/`) must not be marked with them.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlgitops.util.errors import ToolError, UsageError
from mlgitops.util.limits import MAX_REVISION_BYTES, MAX_REVISION_FILE_BYTES
from mlgitops.util.textsafe import printable

__all__ = [
    "GitError",
    "Repository",
    "Revision",
    "default_base",
    "materialise",
    "open_repository",
    "resolve_revision",
]

TIMEOUT_S = 60
DEFAULT_BRANCHES = ("main", "master")


class GitError(ToolError):
    """Git failed, or the repository is not in a state we can read."""


@dataclass(frozen=True)
class Repository:
    """A Git work tree: its top level and the project's directory inside it ('' or 'a/b')."""

    toplevel: Path
    prefix: str


@dataclass(frozen=True)
class Revision:
    """A commit to compare, or the working tree (`commit` None).

    `label` names it in messages (`HEAD~1`, `a1b2c3d`, `working tree`); `description` is longer.
    """

    label: str
    commit: str | None
    description: str

    @property
    def is_working_tree(self) -> bool:
        return self.commit is None


WORKING_TREE = Revision("working tree", None, "the working tree")


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"  # never take the index lock to refresh stat data
    env["LC_ALL"] = "C"
    env.pop("GIT_INDEX_FILE", None)
    return env


def _run(cwd: Path, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            env=_environment(),
            timeout=TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git not found on PATH") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {TIMEOUT_S}s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}") from None


def _git(cwd: Path, *args: str) -> str:
    proc = _run(cwd, args)
    if proc.returncode != 0:
        message = " ".join(proc.stderr.split()) or f"exit status {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {message}")
    return proc.stdout


def _ok(cwd: Path, *args: str) -> str | None:
    """stdout of a git query, or None when it fails (an unknown ref, a missing path)."""
    proc = _run(cwd, args)
    return proc.stdout if proc.returncode == 0 else None


def open_repository(root: Path) -> Repository:
    """The repository holding the project directory `root`."""
    proc = _run(root, ("rev-parse", "--is-inside-work-tree"))
    answer = proc.stdout.strip()
    if (proc.returncode != 0 and "not a git repository" in proc.stderr) or (proc.returncode == 0 and answer == "false"):
        raise UsageError(f"{root} is not inside a Git work tree; this command reads Git revisions")
    if proc.returncode != 0:
        message = " ".join(proc.stderr.split()) or f"exit status {proc.returncode}"
        raise GitError(f"git rev-parse failed: {message}")
    if answer != "true":
        raise GitError(f"git rev-parse --is-inside-work-tree printed {printable(answer[:60])!r}, not true or false")
    toplevel = Path(_git(root, "rev-parse", "--show-toplevel").strip())
    prefix = _git(root, "rev-parse", "--show-prefix").strip().rstrip("/")
    return Repository(toplevel=toplevel, prefix=prefix)


def _commit(repo: Repository, ref: str) -> str | None:
    out = _ok(repo.toplevel, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return out.strip() if out else None


def resolve_revision(repo: Repository, ref: str) -> Revision:
    """A user-given ref (branch, tag, `HEAD~2`, a commit id) as a commit."""
    if not ref or ref.startswith("-"):
        raise UsageError(f"invalid revision {ref!r}")
    commit = _commit(repo, ref)
    if commit is None:
        raise UsageError(f"unknown revision {ref!r} (not a commit in {repo.toplevel})")
    return Revision(ref, commit, f"{ref} ({commit[:7]})")


def default_branch(repo: Repository) -> str | None:
    """origin/HEAD's target, else the first of main/master (local, then origin/) that exists."""
    target = _ok(repo.toplevel, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if target and target.strip() and _commit(repo, target.strip()):
        return target.strip()
    for name in DEFAULT_BRANCHES:
        for candidate in (name, f"origin/{name}"):
            if _commit(repo, candidate):
                return candidate
    return None


def default_base(repo: Repository) -> Revision:
    """The merge-base of HEAD with the default branch; HEAD itself when there is no such branch."""
    head = _commit(repo, "HEAD")
    if head is None:
        raise UsageError("the repository has no commits yet; commit once, or pass --base")
    branch = default_branch(repo)
    if branch is not None:
        out = _ok(repo.toplevel, "merge-base", "HEAD", branch)
        if out and out.strip():
            commit = out.strip()
            return Revision(commit[:7], commit, f"{commit[:7]} (merge-base of HEAD and {branch})")
    return Revision("HEAD", head, f"HEAD ({head[:7]})")


def _tree_path(repo: Repository, relative: str = "") -> str:
    return "/".join(p for p in (repo.prefix, relative) if p)


def has_file(repo: Repository, commit: str, relative: str) -> bool:
    """Whether `relative` (inside the project directory) exists at `commit`."""
    return _ok(repo.toplevel, "cat-file", "-e", f"{commit}:{_tree_path(repo, relative)}") is not None


def materialise(repo: Repository, commit: str, destination: Path, exclude: Sequence[str] = ()) -> None:
    """Write the project directory as of `commit` into `destination` (which must exist).

    Paths in `exclude` (relative to the project directory) are left out, which keeps large
    generated trees off the disk. Symlinks that would leave `destination` are refused.
    """
    unpack(archive(repo, commit, exclude), destination)


def archive(repo: Repository, commit: str, exclude: Sequence[str] = ()) -> bytes:
    """The project directory as of `commit`, as the tar `git archive` writes (see `materialise`).

    Read as a stream and bounded: a file over MAX_REVISION_FILE_BYTES is refused by its tar header,
    before its bytes are read, and the whole tar may hold at most MAX_REVISION_BYTES (a huge file
    committed at the base revision must not take the command's memory).
    """
    pathspecs = ["."] + [f":(exclude){path}" for path in exclude]
    argv = ["archive", "--format=tar", f"{commit}:{repo.prefix}", "--", *pathspecs]
    try:
        proc = subprocess.Popen(
            ["git", *argv],
            cwd=repo.toplevel,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_environment(),
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror}") from None
    assert proc.stdout is not None and proc.stderr is not None
    kept = _BoundedRecorder(proc.stdout)
    try:
        with tarfile.open(fileobj=kept, mode="r|") as tar:
            for member in tar:
                if member.size > MAX_REVISION_FILE_BYTES:
                    raise GitError(
                        f"{_tree_path(repo, member.name)}: {member.size} bytes, over the limit of "
                        f"{MAX_REVISION_FILE_BYTES} bytes for one file of a revision (MAX_REVISION_FILE_BYTES); "
                        "move it out of the project directory or mark it `export-ignore` in .gitattributes"
                    )
        kept.read_to_end()
    except (tarfile.TarError, EOFError):
        pass  # git failed part-way: its exit status and message say why
    finally:
        if proc.poll() is None:
            proc.kill()
        try:
            _, errors = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise GitError(f"git archive took longer than {TIMEOUT_S}s") from None
    if proc.returncode != 0:
        message = " ".join(errors.decode("utf-8", "replace").split()) or f"exit status {proc.returncode}"
        raise GitError(f"git archive failed: {message}")
    data = bytes(kept.data)
    kept.data.clear()
    return data


class _BoundedRecorder(io.RawIOBase):
    """A stream's bytes as they are read, kept in `data`, at most MAX_REVISION_BYTES of them."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self.stream = stream
        self.data = bytearray()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size if size >= 0 else 1 << 20)
        if len(self.data) + len(chunk) > MAX_REVISION_BYTES:
            raise GitError(
                f"a revision's project directory is over {MAX_REVISION_BYTES} bytes (MAX_REVISION_BYTES); "
                "move large files out of it or mark them `export-ignore` in .gitattributes"
            )
        self.data += chunk
        return chunk

    def read_to_end(self) -> None:
        while self.read(1 << 20):
            pass


def unpack(data: bytes, destination: Path) -> None:
    """Extract a tar from `archive` into `destination`."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        extract(tar, None, destination)


def extract(tar: tarfile.TarFile, members: list[tarfile.TarInfo] | None, destination: Path) -> None:
    """Extract `members` (None: all) of a tar from `archive`, refusing what would leave `destination`."""
    try:
        tar.extractall(destination, members=members, filter="data")
    except tarfile.FilterError as exc:
        refused = exc.tarinfo.name if exc.tarinfo is not None else "?"
        raise GitError(f"{refused}: refusing to unpack ({exc})") from None


@dataclass(frozen=True)
class LogEntry:
    """One commit of `git log`: id, author, author date (ISO 8601) and subject."""

    commit: str
    author: str
    date: str
    subject: str


def log_touching(repo: Repository, relatives: Sequence[str]) -> list[LogEntry]:
    """The commits of HEAD's history that changed any of `relatives`, oldest first (merges included)."""
    if _commit(repo, "HEAD") is None:
        return []
    paths = [_tree_path(repo, relative) for relative in relatives]
    out = _git(repo.toplevel, "log", "--reverse", "--format=%H%x00%an%x00%aI%x00%s", "HEAD", "--", *paths)
    entries: list[LogEntry] = []
    for line in out.splitlines():
        parts = line.split("\x00")
        if len(parts) == 4:
            entries.append(LogEntry(*parts))
    return entries


def file_at(repo: Repository, commit: str, relative: str) -> bytes | None:
    """The bytes of `relative` (inside the project directory) at `commit`; None when it does not exist.

    A file over MAX_REVISION_FILE_BYTES is refused before it is read."""
    spec = f"{commit}:{_tree_path(repo, relative)}"
    size = _ok(repo.toplevel, "cat-file", "-s", spec)
    if size is None:
        return None
    if int(size.strip() or 0) > MAX_REVISION_FILE_BYTES:
        raise GitError(
            f"{_tree_path(repo, relative)}: {size.strip()} bytes at {commit[:7]}, over the limit of "
            f"{MAX_REVISION_FILE_BYTES} bytes for one file of a revision (MAX_REVISION_FILE_BYTES)"
        )
    proc = subprocess.run(
        ["git", "cat-file", "blob", spec],
        cwd=repo.toplevel,
        capture_output=True,
        env=_environment(),
        timeout=TIMEOUT_S,
        check=False,
    )
    return proc.stdout if proc.returncode == 0 else None
