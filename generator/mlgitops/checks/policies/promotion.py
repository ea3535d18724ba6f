"""The promotion order: a version enters an environment only after the one before runs it."""

from __future__ import annotations

import re

from mlgitops.checks.policies.catalog import PROMOTION_ORDER, Violation
from mlgitops.language.model import Model
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import Obj

_NUMERIC = re.compile(r"^v?(\d+(?:\.\d+)*)$")


def compare_versions(a: str, b: str) -> int | None:
    """-1, 0 or 1; None when the two cannot be ordered with confidence.

    Integers and dotted numbers (`7`, `1.10.2`, `v2`) compare numerically; other strings compare
    as text only when they have the same shape (digits in the same places, like `2026-08-01`).
    """
    na, nb = _NUMERIC.match(a), _NUMERIC.match(b)
    if na and nb:
        xa = [int(x) for x in na[1].split(".")]
        xb = [int(x) for x in nb[1].split(".")]
        width = max(len(xa), len(xb))
        xa += [0] * (width - len(xa))
        xb += [0] * (width - len(xb))
        return (xa > xb) - (xa < xb)
    if re.sub(r"\d", "0", a) == re.sub(r"\d", "0", b) and re.search(r"\d", a):
        return (a > b) - (a < b)
    return None


def check_promotion(
    prod_objects: list[Obj], prod: Model, prod_env: str, previous: Model, previous_env: str
) -> list[Violation]:
    """prod's version must not be ahead of every version the stage before it serves."""
    version = prod.model.version
    before = [previous.model.version]
    if previous.serving is not None and previous.serving.canary is not None:
        before.append(previous.serving.canary.version)
    order = [compare_versions(version, b) for b in before]
    if not order or any(o is None or o <= 0 for o in order):
        return []
    # Blame the serving object when there is one (InferenceService or LLMInferenceService, then the stable
    # Deployment).
    rank = {"InferenceService": 0, "LLMInferenceService": 0, "Deployment": 1}
    carriers = sorted(
        (o for o in prod_objects if get_path(o, ("metadata", "labels", "app.kubernetes.io/version")) == version),
        key=lambda o: rank.get(str(o.get("kind")), 2),
    )
    if not carriers:
        return []
    carrier = carriers[0]
    return [
        Violation(
            PROMOTION_ORDER,
            carrier,
            ("metadata", "labels", "app.kubernetes.io/version"),
            f"{prod_env} serves version {version!r}, ahead of {previous_env} "
            f"({', '.join(repr(b) for b in before)}); "
            f"promote it through {previous_env} first",
            ("model", "version"),
        )
    ]
