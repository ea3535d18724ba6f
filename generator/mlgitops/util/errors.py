"""Exceptions with a user-facing, one-line-per-problem rendering.

Every error a user can cause is a `MlgitopsError`; the CLI prints `str(error)` and exits with
`error.exit_code`, never a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from mlgitops.util.limits import MAX_MESSAGE_CHARS, MAX_PROBLEMS
from mlgitops.util.textsafe import printable


@dataclass(frozen=True, order=True)
class Location:
    """A position in a source file (1-based line and column, as editors show them)."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.column}"
        return self.path


@dataclass(frozen=True, order=True)
class Problem:
    """One problem at one place."""

    location: Location
    message: str

    def __str__(self) -> str:
        """One printable line of bounded length, whatever the spec put in the path or the message."""
        text = printable(f"{self.location}: {self.message}")
        if len(text) <= MAX_MESSAGE_CHARS:
            return text
        keep = MAX_MESSAGE_CHARS - 200
        omitted = len(text) - keep - 100
        return f"{text[:keep]}...({omitted} characters not shown)...{text[-100:]}"


class MlgitopsError(Exception):
    """Base class of all errors reported to users."""

    exit_code = 1


class UsageError(MlgitopsError):
    """The command line itself is wrong (unknown environment, missing option...)."""

    exit_code = 2


class SpecError(MlgitopsError):
    """One or more problems in the hand-written files; each is reported on its own line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = _at_most_per_file(sorted(set(problems)))
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, location: Location, message: str) -> SpecError:
        return cls([Problem(location, message)])


def _at_most_per_file(problems: list[Problem]) -> list[Problem]:
    """The first `MAX_PROBLEMS` problems of each file, then one line saying that more were found."""
    kept: list[Problem] = []
    count: dict[str, int] = {}
    for problem in problems:
        path = problem.location.path
        count[path] = count.get(path, 0) + 1
        if count[path] <= MAX_PROBLEMS:
            kept.append(problem)
        elif count[path] == MAX_PROBLEMS + 1:
            kept.append(
                Problem(problem.location, f"more problems in this file are not shown (MAX_PROBLEMS is {MAX_PROBLEMS})")
            )
    return kept


class ToolError(MlgitopsError):
    """An external tool (kustomize, git) failed."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'prod'?)` when one choice is close to `word` (the same but for case first), else an
    empty string."""
    options = list(choices)
    same = [choice for choice in options if choice.lower() == word.lower()]
    close = same or difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
