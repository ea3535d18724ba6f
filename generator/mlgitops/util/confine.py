"""Keeping every path mlgitops reads or writes inside the project.

A symlink or a `..` that leads out of the project would make `build`, `cmp generate` and `diff`
read, and `render`/`init` write, files elsewhere on the machine (in the Argo CD sidecar: next to
other teams' checkouts). Every path the tool touches is resolved first, and one that leaves the
project root is refused with one line naming the path and where it leads.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from mlgitops.util.errors import Location, Problem, SpecError


def real_target(root: Path, relative: str) -> Path | None:
    """Where `root/relative` really leads (symlinks followed); None for a symlink loop."""
    try:
        return (root / relative).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
        return None


def escape_problem(root: Path, relative: str, what: str = "path") -> Problem | None:
    """A problem when `root/relative` resolves outside `root` (or into a symlink loop)."""
    target = real_target(root, relative)
    if target is None:
        return Problem(Location(relative, 1, 1), f"{what} is a symlink loop")
    real_root = root.resolve()
    if target == real_root or target.is_relative_to(real_root):
        return None
    return Problem(
        Location(relative, 1, 1),
        f"{what} resolves outside the project (to {target}); mlgitops reads and writes only inside the project",
    )


def check_inside(root: Path, relatives: Iterable[str], what: str = "path") -> None:
    """Refuse, with one line each, every path of `relatives` that leaves `root`."""
    problems = [p for rel in relatives if (p := escape_problem(root, rel, what)) is not None]
    if problems:
        raise SpecError(problems)


def generated_path_problems(root: Path, owned: Iterable[str]) -> list[Problem]:
    """Problems with the directories `render` writes: each part must be a real directory or absent.

    A symlink there would send the write elsewhere (outside the project, or over hand-written
    files); a regular file there is hand-written and is never replaced.
    """
    problems: dict[str, Problem] = {}
    for top in owned:
        parts = top.split("/")
        for depth in range(1, len(parts) + 1):
            relative = "/".join(parts[:depth])
            path = root / relative
            if relative in problems:
                break
            if path.is_symlink():
                try:
                    target = str(path.readlink())
                except OSError:
                    target = "?"
                problems[relative] = Problem(
                    Location(relative, 1, 1),
                    f"a symlink (to {target}) where render writes the directory {top}; "
                    "render follows no symlinks there: replace it with a real directory or remove it",
                )
                break
            if path.exists() and not path.is_dir():
                problems[relative] = Problem(
                    Location(relative, 1, 1),
                    f"a file where render writes the directory {top}; render never overwrites a hand-written "
                    "file: move it away",
                )
                break
    return list(problems.values())


def check_generated_paths(root: Path, owned: Iterable[str]) -> None:
    problems = generated_path_problems(root, owned)
    if problems:
        raise SpecError(problems)
