"""The public JSON Patch conformance cases (RFC 6902, and RFC 6901 pointers through them) run through
mlgitops' patch engine (`mlgitops.render.patches.apply_op`) and pointers (`mlgitops.util.jsonpointer`).

The cases are the `tests.json` and `spec_tests.json` of the json-patch-tests project, as the npm package
json-patch-test-suite ships them. They are not copied into this repository: `make conformance-data`
(tools/conformance_data.py) fetches the version pinned in tools/conformance.lock into
`~/.cache/mlgitops/conformance/` and checks their SHA-256; without them these tests skip (and fail under
MLGITOPS_REQUIRE_ALL=1, as in CI).

Every case passes, except where mlgitops is stricter on purpose. Each such case is in REFUSED below
(and in docs/patches.md, "Conformance"), and the test asserts the refusal:

| case               | upstream comment                          | why mlgitops refuses it                    |
|--------------------|-------------------------------------------|--------------------------------------------|
| tests.json#40      | replace whole document                    | a patch changes one generated object's     |
| tests.json#59      | replacing the root ... is possible w/ add | fields; never the object (its identity)    |
| tests.json#41      | spurious patch properties                 | the spec schema refuses unknown keys in an |
| spec_tests.json#11 | A.11. Ignoring Unrecognized Elements      | op: a misspelt `valeu:` is an error        |

Cases the suite itself marks `disabled` (tests.json#10, #52, #76 and spec_tests.json#13: top-level
scalars, duplicate keys that JSON parsing already lost) are not run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tools.conformance_data import directory, locked

from conftest import REPO, unavailable
from mlgitops.language.model import PatchOp
from mlgitops.render.patches import PatchError, apply_op, json_equal, parse_pointer
from mlgitops.util.jsonpointer import escape, get_path, to_pointer

PACKAGE = "json-patch-test-suite"
FILES = ("tests.json", "spec_tests.json")

# case id → (the refusal expected, why mlgitops is stricter than RFC 6902 here)
_WHOLE = "replacing the whole object: a patch changes fields of one generated object, never the object itself"
_UNKNOWN = "unknown keys in an op: the spec schema is strict, so a misspelt `valeu:` or `form:` is an error"
REFUSED: dict[str, tuple[type[Exception], str, str]] = {
    "tests.json#40": (PatchError, "whole document cannot be replaced", _WHOLE),
    "tests.json#59": (PatchError, "whole document cannot be replaced", _WHOLE),
    "tests.json#41": (ValidationError, "Extra inputs are not permitted", _UNKNOWN),
    "spec_tests.json#11": (ValidationError, "Extra inputs are not permitted", _UNKNOWN),
}


def _suite() -> tuple[Path, dict[str, str]] | None:
    ((version, files),) = [(v, f) for (p, v), f in locked().items() if p == PACKAGE]
    where = directory(PACKAGE, version)
    for name, digest in files.items():
        path = where / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            return None
    return where, files


def _cases() -> list[tuple[str, dict[str, Any]]]:
    found = _suite()
    if found is None:
        return []
    where, _ = found
    return [
        (f"{name}#{i}", case)
        for name in FILES
        for i, case in enumerate(json.loads((where / name).read_text()))
        if not case.get("disabled")
    ]


CASES = _cases()
MISSING = [("missing", {})]


def _need_data(case_id: str) -> None:
    if case_id == "missing":
        unavailable(f"the {PACKAGE} cases of tools/conformance.lock are missing or differ: run `make conformance-data`")


def _apply(case: dict[str, Any]) -> Any:
    """The case's document with its patch applied (all ops, in order), as `apply_patches` applies one."""
    doc = copy.deepcopy(case["doc"])
    for raw in case["patch"]:
        apply_op(doc, PatchOp.model_validate(raw))
    return doc


@pytest.mark.parametrize(("case_id", "case"), CASES or MISSING, ids=[c[0] for c in CASES or MISSING])
def test_json_patch_conformance_case(case_id: str, case: dict[str, Any]) -> None:
    _need_data(case_id)
    if case_id in REFUSED:
        error, message, _ = REFUSED[case_id]
        with pytest.raises(error, match=message):
            _apply(case)
        return
    if "error" in case:
        with pytest.raises((PatchError, ValidationError)):
            _apply(case)
        return
    result = _apply(case)
    if "expected" in case:
        assert json_equal(result, case["expected"]), (case.get("comment"), result, case["expected"])


def test_every_case_is_run_and_every_refusal_is_a_case() -> None:
    if not CASES:
        _need_data("missing")
    ids = {case_id for case_id, _ in CASES}
    assert set(REFUSED) <= ids
    assert len(CASES) == 91  # tests.json: 75 of 78 enabled, spec_tests.json: 16 of 17 (json-patch-test-suite 1.1.0)


def test_the_refusals_are_documented() -> None:
    documented = set(re.findall(r"`((?:spec_)?tests\.json#\d+)`", (REPO / "docs" / "patches.md").read_text()))
    assert documented == set(REFUSED)


# --- RFC 6901 through the same cases --------------------------------------------------------------


def _pointers() -> list[str]:
    return sorted(
        {
            op[key]
            for _, case in CASES
            for op in case["patch"]
            for key in ("path", "from")
            if isinstance(op, dict) and isinstance(op.get(key), str)
        }
    )


def test_every_pointer_of_the_suite_round_trips() -> None:
    """parse (unescape `~1` then `~0`) and to_pointer (escape `~` then `/`) are inverses on every
    pointer the suite uses, including `/`, `/~01`, `/m~0n`, `/a~1b` and `/ ` (RFC 6901 section 5)."""
    pointers = _pointers()
    if not pointers:
        _need_data("missing")
    for pointer in pointers:
        tokens = parse_pointer(pointer)
        assert to_pointer(tokens) == pointer
        assert "".join("/" + escape(t) for t in tokens) == pointer


def _resolve_tokens(doc: Any, tokens: list[str]) -> list[str | int]:
    """A pointer's tokens for `get_path`: list indices as ints (RFC 6901 section 4)."""
    path: list[str | int] = []
    node = doc
    for token in tokens:
        part: str | int = int(token) if isinstance(node, list) and token.isdigit() else token
        path.append(part)
        node = get_path(node, [part])
    return path


def test_every_successful_test_op_resolves_with_get_path() -> None:
    """Each `test` op of a case that applies names a value `get_path` finds (the RFC 6901 examples of
    spec_tests.json among them): 0-based indices, escapes, the empty key, keys with `%`, `^`, `|`, `\\`."""
    if not CASES:
        _need_data("missing")
    checked = 0
    for case_id, case in CASES:
        if "error" in case or case_id in REFUSED:
            continue
        doc = copy.deepcopy(case["doc"])
        for raw in case["patch"]:
            op = PatchOp.model_validate(raw)
            if op.op == "test" and op.path:
                path = _resolve_tokens(doc, parse_pointer(op.path))
                assert json_equal(get_path(doc, path), op.value), (case_id, op.path)
                checked += 1
            apply_op(doc, op)
    assert checked >= 20
