"""RFC 7386 JSON Merge Patch (generator/mlgitops/util/mergepatch.py): every example of the RFC's Appendix A
and section 3, and the inputs are left as they were."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlgitops.util.mergepatch import merge_patch

# RFC 7386 Appendix A: (original, patch, result), in the RFC's order.
APPENDIX_A: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]

# RFC 7386 section 3.
SECTION_3 = (
    {
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged",
    },
    {"title": "Hello!", "phoneNumber": "+01-123-456-7890", "author": {"familyName": None}, "tags": ["example"]},
    {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    },
)


def _exact(a: Any, b: Any) -> bool:
    """Equal, with the same types throughout (False is not 0, 1.0 is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_exact(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_exact(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize(("original", "patch", "result"), [*APPENDIX_A, SECTION_3])
def test_rfc_7386_examples(original: Any, patch: Any, result: Any) -> None:
    before = copy.deepcopy((original, patch))
    assert _exact(merge_patch(original, patch), result)
    assert _exact((original, patch), before)  # inputs are not modified


@pytest.mark.parametrize(("original", "patch", "result"), [*APPENDIX_A, SECTION_3])
def test_the_result_shares_nothing_with_the_patch(original: Any, patch: Any, result: Any) -> None:
    """Changing the result afterwards (resolve.py layers one patch on another) leaves the patch alone."""
    before = copy.deepcopy(patch)
    merged = merge_patch(original, patch)
    _scribble(merged)
    assert _exact(patch, before)


def _scribble(value: Any) -> None:
    if isinstance(value, dict):
        for key in list(value):
            _scribble(value[key])
        value["scribbled"] = True
    elif isinstance(value, list):
        for item in value:
            _scribble(item)
        value.append("scribbled")


def test_falsy_values_are_values_and_only_null_deletes() -> None:
    original = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    patch = {"a": 0, "b": False, "c": "", "d": [], "e": {}}
    assert _exact(merge_patch(original, patch), {"a": 0, "b": False, "c": "", "d": [], "e": {}})


def test_deleting_a_missing_member_is_not_an_error_and_nested_nulls_disappear() -> None:
    assert merge_patch({"a": 1}, {"zz": None}) == {"a": 1}
    assert merge_patch({"a": 1}, {"b": {"c": None, "d": {"e": None}}}) == {"a": 1, "b": {"d": {}}}
    assert merge_patch(None, {"a": 1}) == {"a": 1}
    assert merge_patch("scalar", {"a": None}) == {}


def test_an_empty_patch_copies_the_target() -> None:
    original = {"a": {"b": [1, 2]}}
    merged = merge_patch(original, {})
    assert merged == original and merged is not original
