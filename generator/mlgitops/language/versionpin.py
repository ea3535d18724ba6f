"""`requires:` in mlgitops.yaml: the mlgitops versions a project accepts.

Rendering is the deployment, so a project pins the versions that may render it; a CLI or Argo CD
sidecar outside the range refuses every command instead of producing different objects. The value
is a PEP 440 version specifier restricted to what a pin needs (the `packaging` library is not a
dependency): comma-separated clauses of `==`, `!=`, `>=`, `<=`, `>`, `<` and `~=` over release
numbers, with `==X.Y.*` / `!=X.Y.*` prefix matches. Pre-release, post-release and local versions
are refused as unsupported rather than half-understood.

The check runs on the raw document before the rest of the file is validated, so an older mlgitops
that does not know a newer field still gives the version message instead of "unknown key".
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mlgitops.util.errors import SpecError
from mlgitops.util.yamlio import Document

REQUIRES_KEY = "requires"
_CLAUSE = re.compile(r"^(~=|==|!=|>=|<=|>|<)\s*(\d+(?:\.\d+)*)(\.\*)?$")
_VERSION = re.compile(r"^\d+(?:\.\d+)*$")

Release = tuple[int, ...]


def _release(text: str) -> Release:
    parts = tuple(int(p) for p in text.split("."))
    while len(parts) > 1 and parts[-1] == 0:
        parts = parts[:-1]
    return parts


def _padded(a: Release, b: Release) -> tuple[Release, Release]:
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


def _compare(version: Release, op: str, bound: Release) -> bool:
    left, right = _padded(version, bound)
    checks: dict[str, Callable[[Release, Release], bool]] = {
        "==": lambda x, y: x == y,
        "!=": lambda x, y: x != y,
        ">=": lambda x, y: x >= y,
        "<=": lambda x, y: x <= y,
        ">": lambda x, y: x > y,
        "<": lambda x, y: x < y,
    }
    return checks[op](left, right)


def _prefix_match(version: str, prefix: str) -> bool:
    wanted = tuple(int(p) for p in prefix.split("."))
    have = tuple(int(p) for p in version.split("."))
    have = have + (0,) * max(0, len(wanted) - len(have))
    return have[: len(wanted)] == wanted


def parse_clause(clause: str) -> tuple[str, str, bool]:
    """`>=0.2` → ('>=', '0.2', False); `==0.2.*` → ('==', '0.2', True). ValueError when not supported."""
    match = _CLAUSE.match(clause.strip())
    if not match:
        raise ValueError(
            f"{clause.strip()!r} is not a supported version clause "
            "(use ==, !=, >=, <=, >, < or ~= with a release number, like >=0.1,<0.2)"
        )
    op, number, star = match[1], match[2], bool(match[3])
    if star and op not in ("==", "!="):
        raise ValueError(f"{clause.strip()!r}: '.*' only goes with == or !=")
    if op == "~=" and "." not in number:
        raise ValueError(f"{clause.strip()!r}: ~= needs at least two release numbers (like ~=0.1)")
    return op, number, star


def satisfies(version: str, specifier: str) -> bool:
    """Whether the release `version` is inside `specifier` (ValueError when either is unsupported)."""
    if not _VERSION.match(version):
        raise ValueError(f"version {version!r} is not a plain release number")
    clauses = [c for c in specifier.split(",")]
    if not specifier.strip() or any(not c.strip() for c in clauses):
        raise ValueError("empty version clause (write clauses like >=0.1,<0.2)")
    current = _release(version)
    for clause in clauses:
        op, number, star = parse_clause(clause)
        if star:
            inside = _prefix_match(version, number)
            if inside != (op == "=="):
                return False
        elif op == "~=":
            # ~=X.Y.Z means >=X.Y.Z and ==X.Y.*
            if not (_compare(current, ">=", _release(number)) and _prefix_match(version, number.rpartition(".")[0])):
                return False
        elif not _compare(current, op, _release(number)):
            return False
    return True


def check_requires(doc: Document, version: str) -> None:
    """Refuse (one positioned line naming both versions) when `requires` excludes `version`."""
    data = doc.data
    if not isinstance(data, dict) or data.get(REQUIRES_KEY) is None:
        return
    specifier = data[REQUIRES_KEY]
    where = doc.location((REQUIRES_KEY,))
    if not isinstance(specifier, str):
        raise SpecError.at(where, "requires must be a version specifier string, like '>=0.1,<0.2'")
    try:
        inside = satisfies(version, specifier)
    except ValueError as exc:
        raise SpecError.at(where, f"requires: {exc}") from None
    if not inside:
        raise SpecError.at(
            where,
            f"this project requires mlgitops {specifier.strip()}, but this is mlgitops {version}; "
            "install a version in that range (or, for the Argo CD plugin, deploy a sidecar image built from one)",
        )
