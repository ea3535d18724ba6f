"""RFC 6901 JSON Pointers (generator/mlgitops/util/jsonpointer.py): escaping, building and looking up paths.
The public conformance cases run through them in tests/render/test_conformance_json_patch.py."""

from __future__ import annotations

from typing import Any

import pytest

from mlgitops.render.patches import parse_pointer
from mlgitops.util.jsonpointer import escape, get_path, to_pointer


@pytest.mark.parametrize(
    ("token", "escaped"),
    [
        ("plain", "plain"),
        ("", ""),
        ("a/b", "a~1b"),
        ("m~n", "m~0n"),
        ("~1", "~01"),  # `~` first: a literal "~1" is not a slash
        ("/", "~1"),
        ("~", "~0"),
        ("~/", "~0~1"),
        ("/~", "~1~0"),
        ("app.kubernetes.io/name", "app.kubernetes.io~1name"),
        (0, "0"),
        (12, "12"),
    ],
)
def test_escape_is_rfc_6901_and_parse_inverts_it(token: str | int, escaped: str) -> None:
    assert escape(token) == escaped
    assert parse_pointer("/" + escaped) == [str(token)]


@pytest.mark.parametrize(
    ("path", "pointer"),
    [
        ((), ""),
        (("",), "/"),
        (("", ""), "//"),
        (("metadata", "labels", "app.kubernetes.io/name"), "/metadata/labels/app.kubernetes.io~1name"),
        (("spec", "containers", 0, "args", 11), "/spec/containers/0/args/11"),
        (("a~b", "c/d"), "/a~0b/c~1d"),
    ],
)
def test_to_pointer(path: tuple[str | int, ...], pointer: str) -> None:
    assert to_pointer(path) == pointer
    assert to_pointer(iter(path)) == pointer  # any iterable


DOC: dict[Any, Any] = {
    "foo": ["bar", "baz"],
    "": 0,
    "a/b": 1,
    "m~n": 8,
    "nested": {"list": [{"x": None}, {"x": False}]},
    0: "an int key is not a JSON member",
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ((), DOC),
        (("foo",), ["bar", "baz"]),
        (("foo", 0), "bar"),  # the first index is 0
        (("foo", 1), "baz"),  # the last one is len - 1
        (("",), 0),
        (("a/b",), 1),
        (("m~n",), 8),
        (("nested", "list", 1, "x"), False),
    ],
)
def test_get_path_finds(path: tuple[str | int, ...], value: Any) -> None:
    assert get_path(DOC, path) is DOC if path == () else get_path(DOC, path) == value


@pytest.mark.parametrize(
    "path",
    [
        ("missing",),
        ("foo", 2),  # len: one past the end
        ("foo", -1),  # no negative indices
        ("foo", "0"),  # a list takes int indices, not strings
        (0,),  # a map takes string keys
        ("foo", 0, "deeper"),  # through a string
        ("", "x"),  # through a number
        ("nested", "list", 0, "x", "y"),  # through null
        ("nested", "list", True),  # a bool is not an index (regression: it was list[1])
    ],
)
def test_get_path_is_none_where_the_path_does_not_exist(path: tuple[Any, ...]) -> None:
    assert get_path(DOC, path) is None


def test_get_path_on_a_list_root_and_a_scalar_root() -> None:
    assert get_path([[1, 2]], [0, 1]) == 2
    assert get_path([[1, 2]], [0, 2]) is None
    assert get_path("text", []) == "text"
    assert get_path("text", [0]) is None
    assert get_path(None, ["a"]) is None
