"""The checks of a model's smoke tests that read the rest of its spec: unique names, and a served model that
speaks HTTP (smoketests.py holds the tests themselves)."""

from __future__ import annotations

from mlgitops.language.serving import Serving
from mlgitops.language.smoketests import Locate, SmokeTest
from mlgitops.util.errors import Problem


def smoke_problems(tests: list[SmokeTest], serving: Serving | None, locate: Locate) -> list[Problem]:
    """Unique names, and a served model that speaks HTTP (`serving` is the model's `serving` block)."""
    problems: list[Problem] = []
    if serving is None:
        return [Problem(locate(("tests",), True), "tests need a served model: add a serving block")]
    if serving.protocol in ("grpc-v1", "grpc-v2"):
        return [
            Problem(
                locate(("tests",), True),
                f"tests send HTTP requests; protocol {serving.protocol} serves gRPC only (use v1 or v2)",
            )
        ]
    seen: set[str] = set()
    for index, test in enumerate(tests):
        if test.name in seen:
            problems.append(Problem(locate(("tests", index, "name"), False), f"duplicate test name {test.name!r}"))
        seen.add(test.name)
    return problems
