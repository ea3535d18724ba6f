"""The JSON Patch engine itself (generator/mlgitops/render/patches.py: `apply_op`, `apply_patches`) on plain
data: `test` equality, list index bounds, `~0`/`~1`, identity, whole-document ops, and inputs left as
they were. The public conformance cases: tests/render/test_conformance_json_patch.py."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from mlgitops.language.model import Patch, PatchOp
from mlgitops.render.patches import (
    PatchError,
    apply_op,
    apply_patches,
    identity_change,
    json_equal,
    parse_pointer,
    patched_op,
)
from mlgitops.util.errors import Location, SpecError
from mlgitops.util.yamlio import JsonPath


def _op(**fields: Any) -> PatchOp:
    return PatchOp.model_validate(fields)


def _test(doc: Any, path: str, value: Any) -> bool:
    try:
        apply_op(doc, _op(op="test", path=path, value=value))
    except PatchError:
        return False
    return True


# --- `test`: JSON equality (RFC 6902 section 4.6) --------------------------------------------------

DOC: dict[str, Any] = {
    "map": {"a": 1, "b": {"c": [1, "x"]}},
    "list": [1, [2, 3], {"k": None}],
    "string": "héllo",
    "number": 1,
    "float": 1.5,
    "flag": True,
    "null": None,
    "empty": {},
}


@pytest.mark.parametrize(
    ("path", "value", "equal"),
    [
        # maps: members, not their order; nested values compared the same way
        ("/map", {"b": {"c": [1, "x"]}, "a": 1}, True),
        ("/map", {"a": 1}, False),  # a member fewer
        ("/map", {"a": 1, "b": {"c": [1, "x"]}, "z": None}, False),  # a member more, even null
        ("/map", {"a": 1, "B": {"c": [1, "x"]}}, False),
        ("/map", {"a": 1.0, "b": {"c": [1.0, "x"]}}, True),  # 1 and 1.0 are the same number
        ("/map", {"a": True, "b": {"c": [1, "x"]}}, False),  # true is not 1
        ("/map", [["a", 1]], False),
        ("/empty", {}, True),
        ("/empty", [], False),
        ("/empty", None, False),
        # lists: same length, same order
        ("/list", [1, [2, 3], {"k": None}], True),
        ("/list", [1, [3, 2], {"k": None}], False),
        ("/list", [1, [2, 3]], False),
        ("/list", [1, [2, 3], {"k": None}, None], False),
        ("/list", [True, [2, 3], {"k": None}], False),
        ("/list", [1, [2, 3], {"k": False}], False),
        ("/list/1", [2, 3], True),
        # strings: exact
        ("/string", "héllo", True),
        ("/string", "hello", False),
        ("/string", "héllo ", False),
        ("/string", "HÉLLO", False),
        ("/string", ["héllo"], False),
        ("/number", "1", False),
        ("/number", 1.0, True),
        ("/number", True, False),
        ("/float", 1.5, True),
        ("/float", 1, False),
        ("/flag", True, True),
        ("/flag", 1, False),
        ("/flag", "true", False),
        ("/null", None, True),
        ("/null", 0, False),
        ("/null", False, False),
        ("/null", "", False),
    ],
)
def test_the_test_op_uses_json_equality(path: str, value: Any, equal: bool) -> None:
    doc = copy.deepcopy(DOC)
    assert _test(doc, path, value) is equal
    assert json_equal(value, DOC[path.split("/")[1]] if path.count("/") == 1 else DOC["list"][1]) is equal
    assert doc == DOC  # a test changes nothing


def test_a_failing_test_says_what_it_found() -> None:
    with pytest.raises(PatchError, match=r"test failed: /string is 'héllo', not 'hello'"):
        apply_op(copy.deepcopy(DOC), _op(op="test", path="/string", value="hello"))
    with pytest.raises(PatchError, match=r"is \{'a': 1, 'b': \{'c': \[1, 'x'\]\}\}, not 'x" + "x" * 30):
        apply_op(copy.deepcopy(DOC), _op(op="test", path="/map", value="x" * 100))


def test_json_equal_is_symmetric_on_bools() -> None:
    for a, b in [(True, 1), (1, True), (False, 0), (0, False), (True, 1.0), (1.0, True), (None, False)]:
        assert not json_equal(a, b)
    assert json_equal(False, False) and json_equal(True, True) and not json_equal(True, False)
    assert json_equal(0, 0.0) and not json_equal(0, 1) and not json_equal("a", "b")


# --- list index bounds (off-by-one) ---------------------------------------------------------------


@pytest.mark.parametrize(("index", "ok"), [("0", True), ("2", True), ("3", False), ("-", False), ("-1", False)])
def test_replace_remove_and_test_reach_the_last_element_not_past_it(index: str, ok: bool) -> None:
    for fields in (
        {"op": "replace", "path": f"/l/{index}", "value": 9},
        {"op": "remove", "path": f"/l/{index}"},
        {"op": "test", "path": f"/l/{index}", "value": int(index) if ok else 0},
        {"op": "copy", "from": f"/l/{index}", "path": "/x"},
        {"op": "move", "from": f"/l/{index}", "path": "/x"},
    ):
        doc: dict[str, Any] = {"l": [0, 1, 2]}
        if ok:
            apply_op(doc, _op(**fields))
        else:
            with pytest.raises(PatchError, match=r"out of range|not an index"):
                apply_op(doc, _op(**fields))


@pytest.mark.parametrize(
    ("index", "result"),
    [
        ("0", ["new", 0, 1, 2]),
        ("2", [0, 1, "new", 2]),
        ("3", [0, 1, 2, "new"]),
        ("-", [0, 1, 2, "new"]),
        ("4", None),
        ("00", None),
        ("01", None),
        ("-1", None),
        ("1.0", None),
        (" 1", None),
        ("", None),
    ],
)
def test_add_inserts_up_to_one_past_the_end(index: str, result: list[Any] | None) -> None:
    doc: dict[str, Any] = {"l": [0, 1, 2]}
    if result is None:
        with pytest.raises(PatchError):
            apply_op(doc, _op(op="add", path=f"/l/{index}", value="new"))
        assert doc == {"l": [0, 1, 2]}
    else:
        apply_op(doc, _op(op="add", path=f"/l/{index}", value="new"))
        assert doc == {"l": result}


def test_an_empty_list_takes_index_0_and_dash_only() -> None:
    for token in ("0", "-"):
        doc: dict[str, Any] = {"l": []}
        apply_op(doc, _op(op="add", path=f"/l/{token}", value=1))
        assert doc == {"l": [1]}
    with pytest.raises(PatchError, match=r"index '?1'? is out of range for a list of 0"):
        apply_op({"l": []}, _op(op="add", path="/l/1", value=1))
    with pytest.raises(PatchError, match=r"index '?0'? is out of range for a list of 0"):
        apply_op({"l": []}, _op(op="remove", path="/l/0"))


def test_an_index_inside_the_path_is_bounded_too() -> None:
    doc: dict[str, Any] = {"l": [{"a": 1}, {"a": 2}]}
    apply_op(doc, _op(op="replace", path="/l/1/a", value=3))
    assert doc == {"l": [{"a": 1}, {"a": 3}]}
    with pytest.raises(PatchError, match=r"index '?2'? is out of range for a list of 2"):
        apply_op(doc, _op(op="add", path="/l/2/a", value=1))
    with pytest.raises(PatchError, match="'-' is not an index"):
        apply_op(doc, _op(op="add", path="/l/-/a", value=1))


# --- ~0 and ~1 (RFC 6901 section 4) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pointer", "key"),
    [
        ("/a~1b", "a/b"),
        ("/m~0n", "m~n"),
        ("/~01", "~1"),
        ("/~10", "/0"),
        ("/~0~1", "~/"),
        ("/~1~0", "/~"),
        ("/", ""),
        ("/a~0~01", "a~~1"),
    ],
)
def test_escapes_address_the_unescaped_key(pointer: str, key: str) -> None:
    doc: dict[str, Any] = {}
    apply_op(doc, _op(op="add", path=pointer, value=1))
    assert doc == {key: 1}
    assert _test(doc, pointer, 1)
    apply_op(doc, _op(op="copy", **{"from": pointer, "path": "/copied"}))
    apply_op(doc, _op(op="move", **{"from": "/copied", "path": pointer + "x"}))
    assert doc == {key: 1, key + "x": 1}
    apply_op(doc, _op(op="remove", path=pointer))
    assert doc == {key + "x": 1}


def test_parse_pointer() -> None:
    assert parse_pointer("") == []
    assert parse_pointer("/") == [""]
    assert parse_pointer("//") == ["", ""]
    assert parse_pointer("/a/b~1c/~0") == ["a", "b/c", "~"]
    assert parse_pointer("/~01") == ["~1"]  # `~1` first, then `~0`: never a slash


# --- identity and the whole document --------------------------------------------------------------


def _object() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "ns", "labels": {"team": "a"}},
        "data": {"k": "v"},
    }


def _locate(path: JsonPath) -> Location:
    return Location("models/m.yaml", 10 + len(path))


def _patch(*ops: dict[str, Any]) -> Patch:
    return Patch.model_validate({"target": {"kind": "ConfigMap"}, "ops": list(ops)})


@pytest.mark.parametrize(
    "op",
    [
        {"op": "move", "from": "/metadata/name", "path": "/metadata/labels/name"},
        {"op": "move", "from": "/metadata/namespace", "path": "/data/ns"},
        {"op": "move", "from": "/kind", "path": "/data/kind"},
        {"op": "move", "from": "/data/k", "path": "/metadata/name"},
        {"op": "remove", "path": "/metadata/name"},
        {"op": "replace", "path": "/metadata", "value": {"name": "other"}},
        {"op": "add", "path": "/apiVersion", "value": "v2"},
        {"op": "copy", "from": "/data/k", "path": "/metadata/namespace"},
    ],
)
def test_an_op_that_would_change_the_identity_is_refused(op: dict[str, Any]) -> None:
    objects = [_object()]
    with pytest.raises(SpecError, match=r"a patch may not change /(metadata|kind|apiVersion)") as raised:
        apply_patches(objects, [_patch(op)], _locate)
    assert raised.value.problems[0].location == Location("models/m.yaml", 14)  # ("patches", 0, "ops", 0)
    assert objects == [_object()]


def test_copy_from_the_name_and_test_of_the_name_are_allowed() -> None:
    (patched,) = apply_patches(
        [_object()],
        [
            _patch(
                {"op": "test", "path": "/metadata/name", "value": "cm"},
                {"op": "copy", "from": "/metadata/name", "path": "/data/name"},
            )
        ],
        _locate,
    )
    assert patched["data"] == {"k": "v", "name": "cm"}
    assert identity_change(_op(op="copy", **{"from": "/metadata/name", "path": "/data/n"})) is None
    assert identity_change(_op(op="move", **{"from": "/metadata/name", "path": "/data/n"})) == "/metadata/name"
    assert identity_change(_op(op="move", **{"from": "/data/n", "path": "/metadata/name"})) == "/metadata/name"
    assert identity_change(_op(op="remove", path="/metadata/nameX")) is None
    assert identity_change(_op(op="remove", path="/metadata/name/x")) == "/metadata/name/x"
    assert identity_change(_op(op="add", path="", value={})) == "the whole object"


@pytest.mark.parametrize(
    "fields",
    [
        {"op": "add", "path": "", "value": {"a": 1}},
        {"op": "replace", "path": "", "value": {"a": 1}},
        {"op": "remove", "path": ""},
        {"op": "move", "from": "", "path": "/a"},
    ],
)
def test_the_whole_document_is_never_replaced(fields: dict[str, Any]) -> None:
    """Regression: these raised IndexError (json-patch-tests tests.json#40 and #59)."""
    doc: dict[str, Any] = {"x": 1}
    with pytest.raises(PatchError, match=r"whole document|its own child"):
        apply_op(doc, _op(**fields))
    assert doc == {"x": 1}


def test_move_to_itself_is_a_no_op_and_into_its_own_child_is_refused() -> None:
    doc: dict[str, Any] = {"a": {"b": 1}, "ab": 2}
    apply_op(doc, _op(op="move", **{"from": "/a", "path": "/a"}))
    assert doc == {"a": {"b": 1}, "ab": 2}
    apply_op(doc, _op(op="move", **{"from": "/a", "path": "/ab"}))  # a sibling with the same prefix
    assert doc == {"ab": {"b": 1}}
    with pytest.raises(PatchError, match="cannot move /ab into its own child /ab/c"):
        apply_op(doc, _op(op="move", **{"from": "/ab", "path": "/ab/c"}))


def test_a_path_through_a_scalar_or_a_missing_member_says_where() -> None:
    with pytest.raises(PatchError, match=r"^/a/b does not exist$"):
        apply_op({"a": {}}, _op(op="add", path="/a/b/c", value=1))
    with pytest.raises(PatchError, match=r"^/a/x/y goes through a int, not a map or list$"):
        apply_op({"a": 1}, _op(op="add", path="/a/x/y", value=1))
    with pytest.raises(PatchError, match=r"^the parent of /a/x is a str, not a map or list$"):
        apply_op({"a": "s"}, _op(op="add", path="/a/x", value=1))
    with pytest.raises(PatchError, match=r"^/a/b does not exist$"):
        apply_op({"a": {}}, _op(op="remove", path="/a/b"))
    with pytest.raises(PatchError, match=r"^/a/b does not exist$"):
        apply_op({"a": {}}, _op(op="replace", path="/a/b", value=1))


# --- inputs are not modified ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"op": "add", "path": "/data/new", "value": {"nested": [1, {"x": 2}]}},
        {"op": "add", "path": "/data/list/1", "value": [{"x": 2}]},
        {"op": "replace", "path": "/data/k", "value": {"nested": [1, {"x": 2}]}},
        {"op": "copy", "from": "/data/list", "path": "/data/copy"},
    ],
)
def test_add_replace_and_copy_do_not_share_their_values(fields: dict[str, Any]) -> None:
    """The op's value (and a copy's source) stay as they were when the patched document changes later."""
    op = _op(**fields)
    before_op = copy.deepcopy(op.value)
    doc: dict[str, Any] = {"data": {"k": "v", "list": [{"x": 1}, {"x": 2}]}}
    apply_op(doc, op)
    after = copy.deepcopy(doc)
    target = parse_pointer(op.path)
    written = doc["data"][target[1]] if len(target) == 2 else doc["data"]["list"][1]
    _scribble(written)
    assert op.value == before_op
    if op.op == "copy":
        assert doc["data"]["list"] == after["data"]["list"]


def _scribble(value: Any) -> None:
    if isinstance(value, dict):
        for item in list(value.values()):
            _scribble(item)
        value["scribbled"] = True
    elif isinstance(value, list):
        for item in value:
            _scribble(item)
        value.append("scribbled")


def test_apply_patches_leaves_its_inputs_as_they_were() -> None:
    objects = [_object(), {**_object(), "kind": "Secret"}]
    patches = [
        _patch(
            {"op": "add", "path": "/data/new", "value": {"a": [1]}},
            {"op": "replace", "path": "/metadata/labels/team", "value": "b"},
            {"op": "copy", "from": "/metadata/labels", "path": "/data/labels"},
            {"op": "move", "from": "/data/k", "path": "/data/moved"},
            {"op": "remove", "path": "/data/new/a/0"},
        )
    ]
    before = copy.deepcopy((objects, [p.model_dump(by_alias=True) for p in patches]))
    result = apply_patches(objects, patches, _locate)
    assert (objects, [p.model_dump(by_alias=True) for p in patches]) == before
    assert result[1] is objects[1]  # the untouched object is passed through
    assert result[0]["data"] == {"new": {"a": []}, "labels": {"team": "b"}, "moved": "v"}
    assert result[0]["metadata"]["labels"] == {"team": "b"}


def test_a_failing_op_leaves_the_object_unpatched_all_or_nothing() -> None:
    objects = [_object()]
    with pytest.raises(SpecError, match="op test /data/k on ConfigMap: test failed") as raised:
        apply_patches(
            objects,
            [_patch({"op": "add", "path": "/data/new", "value": 1}, {"op": "test", "path": "/data/k", "value": "w"})],
            _locate,
        )
    assert raised.value.problems[0].location == Location("models/m.yaml", 14)
    assert objects == [_object()]


def test_patched_op_names_the_last_op_that_wrote_a_path() -> None:
    patches = [
        _patch({"op": "add", "path": "/data/a", "value": 1}, {"op": "test", "path": "/data/k", "value": "v"}),
        _patch({"op": "move", "from": "/data/k", "path": "/data/l/-"}),
    ]
    obj = _object()
    assert patched_op(patches, obj, ("data", "a")) == ("patches", 0, "ops", 0)
    assert patched_op(patches, obj, ("data", "k")) == ("patches", 1, "ops", 0)  # move's from; test skipped
    assert patched_op(patches, obj, ("data", "l", 3)) == ("patches", 1, "ops", 0)  # `-` is any index
    assert patched_op(patches, obj, ("data",)) == ("patches", 1, "ops", 0)  # a parent
    assert patched_op(patches, obj, ("metadata", "name")) is None
    assert patched_op(patches, {**obj, "kind": "Secret"}, ("data", "a")) is None


# --- targets and reserved keys (apply_patches) ----------------------------------------------------


def _objects() -> list[dict[str, Any]]:
    first = _object()
    second = copy.deepcopy(first)
    second["metadata"]["name"] = "other"
    return [first, second, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "data": {}}]


def _targeted(target: dict[str, Any], *ops: dict[str, Any]) -> Patch:
    return Patch.model_validate({"target": target, "ops": list(ops)})


ADD_X = {"op": "add", "path": "/data/x", "value": 1}


def test_a_target_picks_one_object_by_kind_name_and_api_version() -> None:
    result = apply_patches(_objects(), [_targeted({"kind": "ConfigMap", "name": "other"}, ADD_X)], _locate)
    assert [o.get("data", {}).get("x") for o in result] == [None, 1, None]
    result = apply_patches(_objects(), [_targeted({"kind": "Deployment", "apiVersion": "apps/v1"}, ADD_X)], _locate)
    assert result[2]["data"] == {"x": 1}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"kind": "ConfigMap"}, r"^2 generated objects are a ConfigMap \('cm', 'other'\): name one with target.name$"),
        (
            {"kind": "Secret"},
            r"^no generated object is a Secret "
            r"\(this model renders ConfigMap 'cm', ConfigMap 'other', Deployment 'd'\)$",
        ),
        ({"kind": "ConfigMap", "name": "nope"}, r"^no generated object is a ConfigMap 'nope' \("),
        ({"kind": "Deployment", "apiVersion": "v1"}, r"^no generated object is a v1 Deployment \("),
        ({"kind": "Deployment", "apiVersion": "v1", "name": "d"}, r"^no generated object is a v1 Deployment 'd' \("),
    ],
)
def test_a_target_that_matches_no_object_or_several_says_so_at_the_target(target: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as raised:
        apply_patches(_objects(), [_targeted(target, ADD_X)], _locate)
    (problem,) = raised.value.problems
    assert problem.location == Location("models/m.yaml", 13)  # ("patches", 0, "target")
    assert re.search(message, problem.message), problem.message


def test_no_object_at_all_and_an_absent_kind() -> None:
    with pytest.raises(SpecError, match=r"this model renders nothing"):
        apply_patches([], [_targeted({"kind": "Secret"}, ADD_X)], _locate)
    kept = _objects()
    assert apply_patches(kept, [_targeted({"kind": "Secret"}, ADD_X)], _locate, absent_kinds={"Secret"}) == kept
    with pytest.raises(SpecError):
        apply_patches(kept, [_targeted({"kind": "Secret"}, ADD_X)], _locate, absent_kinds={"Job"})


def test_every_problem_is_reported_and_later_patches_still_apply() -> None:
    patches = [
        _targeted({"kind": "Secret"}, ADD_X),
        _targeted({"kind": "Deployment"}, {"op": "remove", "path": "/nope"}, {"op": "remove", "path": "/nope2"}),
        _targeted({"kind": "ConfigMap", "name": "cm"}, {"op": "remove", "path": "/kind"}, ADD_X),
    ]
    with pytest.raises(SpecError) as raised:
        apply_patches(_objects(), patches, _locate)
    messages = sorted(p.message for p in raised.value.problems)
    assert len(messages) == 3  # the second op of a failing patch is not tried
    assert messages[0].startswith("a patch may not change /kind")
    assert messages[1].startswith("no generated object is a Secret")
    assert messages[2] == "op remove /nope on Deployment: /nope does not exist"


def test_later_ops_see_earlier_ones_and_later_patches_see_earlier_patches() -> None:
    patches = [
        _targeted({"kind": "Deployment"}, ADD_X, {"op": "test", "path": "/data/x", "value": 1}),
        _targeted({"kind": "Deployment"}, {"op": "replace", "path": "/data/x", "value": 2}),
    ]
    assert apply_patches(_objects(), patches, _locate)[2]["data"] == {"x": 2}


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ({"op": "add", "path": "/data/$patch", "value": "delete"}, "strategic-merge directive"),
        ({"op": "add", "path": "/data/x", "value": {"a": [{"$retainKeys": []}]}}, "strategic-merge directive"),
        ({"op": "replace", "path": "/data/k", "value": {"$patch": "replace"}}, "strategic-merge directive"),
        ({"op": "move", "from": "/data/$k", "path": "/data/x"}, "strategic-merge directive"),
        (
            {"op": "add", "path": "/metadata/labels/config.kubernetes.io~1local-config", "value": "true"},
            "Kustomize interprets",
        ),
        (
            {"op": "add", "path": "/metadata/annotations", "value": {"lineage.mlgitops.io/run": "x"}},
            "lineage.mlgitops.io keys",
        ),
        ({"op": "copy", "from": "/data", "path": "/metadata/annotations"}, "Kustomize interprets"),
    ],
)
def test_reserved_keys_are_refused_at_the_op(op: dict[str, Any], message: str) -> None:
    obj = _object()
    obj["data"]["config.k8s.io/x"] = "y"
    obj["data"]["$k"] = 1
    with pytest.raises(SpecError, match=message) as raised:
        apply_patches([obj], [_patch(op)], _locate)
    assert raised.value.problems[0].location == Location("models/m.yaml", 14)


def test_reserved_metadata_already_there_may_stay_but_not_change() -> None:
    obj = _object()
    obj["metadata"]["annotations"] = {"lineage.mlgitops.io/run": "r1", "team": "a"}
    ok = apply_patches(
        [obj],
        [
            _patch(
                {"op": "replace", "path": "/metadata/annotations/team", "value": "b"},
                {"op": "add", "path": "/metadata/labels/x", "value": "y"},
            )
        ],
        _locate,
    )
    assert ok[0]["metadata"]["annotations"] == {"lineage.mlgitops.io/run": "r1", "team": "b"}
    for op in (
        {"op": "remove", "path": "/metadata/annotations/lineage.mlgitops.io~1run"},
        {"op": "replace", "path": "/metadata/annotations", "value": {}},
        {"op": "move", "from": "/metadata/annotations", "path": "/metadata/labels"},
    ):
        with pytest.raises(SpecError, match=r"lineage\.mlgitops\.io keys"):
            apply_patches([obj], [_patch(op)], _locate)
    # a `test` of it, and a `$` in a test value, change nothing
    apply_patches(
        [obj],
        [
            _patch(
                {"op": "test", "path": "/metadata/annotations/lineage.mlgitops.io~1run", "value": "r1"},
                {"op": "test", "path": "/data/k", "value": "v"},
            )
        ],
        _locate,
    )


@pytest.mark.parametrize(("length", "shown"), [(58, None), (59, 57), (100, 57)])
def test_a_long_value_in_a_failing_test_is_shortened_to_60_characters(length: int, shown: int | None) -> None:
    """repr of a string of LENGTH characters is LENGTH + 2 long: 60 is shown whole, 61 as 57 and `...`."""
    value = "y" * length
    with pytest.raises(PatchError) as raised:
        apply_op({"a": 1}, _op(op="test", path="/a", value=value))
    expected = repr(value) if shown is None else repr(value)[:shown] + "..."
    assert str(raised.value) == f"test failed: /a is 1, not {expected}"


def test_the_empty_pointer_reads_the_whole_document() -> None:
    """`test` and the `from` of `copy` may name the whole document (RFC 6901: "" is the root)."""
    doc: dict[str, Any] = {"a": [1]}
    assert _test(doc, "", {"a": [1]})
    assert not _test(doc, "", {"a": [2]})
    apply_op(doc, _op(op="copy", **{"from": "", "path": "/copy"}))
    assert doc == {"a": [1], "copy": {"a": [1]}}
    doc["copy"]["a"].append(2)
    assert doc["a"] == [1]


@pytest.mark.parametrize(
    "first",
    [
        {"op": "remove", "path": "/kind"},  # identity
        {"op": "add", "path": "/data/$patch", "value": "delete"},  # a reserved key
        {"op": "remove", "path": "/data/missing"},  # does not apply
    ],
)
def test_the_first_problem_of_a_patch_ends_that_patch(first: dict[str, Any]) -> None:
    """One problem per patch: the ops after a refused one are not tried (they would fail too)."""
    with pytest.raises(SpecError) as raised:
        apply_patches([_object()], [_patch(first, {"op": "remove", "path": "/data/missing2"})], _locate)
    assert len(raised.value.problems) == 1
    assert "missing2" not in raised.value.problems[0].message


def test_patched_op_looks_past_patches_of_other_objects() -> None:
    patches = [
        _targeted({"kind": "Deployment"}, {"op": "add", "path": "/data/a", "value": 1}),
        _patch({"op": "add", "path": "/data/a", "value": 2}),
        _targeted({"kind": "Secret"}, {"op": "add", "path": "/data/a", "value": 3}),
    ]
    assert patched_op(patches, _object(), ("data", "a")) == ("patches", 1, "ops", 0)


def test_patched_op_skips_test_ops_but_not_the_ops_after_them() -> None:
    patches = [
        _patch(
            {"op": "test", "path": "/data/k", "value": "v"},
            {"op": "add", "path": "/data/a", "value": 1},
            {"op": "test", "path": "/data/a", "value": 1},
        )
    ]
    assert patched_op(patches, _object(), ("data", "a")) == ("patches", 0, "ops", 1)
    assert patched_op(patches, _object(), ("data", "k")) is None


def test_problems_are_located_at_the_target_or_the_op_by_spec_path() -> None:
    """`locate` gets the spec path of what is wrong: `patches.I.target` or `patches.I.ops.J`."""
    seen: list[JsonPath] = []

    def locate(path: JsonPath) -> Location:
        seen.append(path)
        return Location("m.yaml", len(seen))

    patches = [
        _targeted({"kind": "Secret"}, ADD_X),
        _targeted({"kind": "Deployment"}, ADD_X, {"op": "remove", "path": "/kind"}),
        _targeted({"kind": "ConfigMap", "name": "cm"}, ADD_X, ADD_X, {"op": "add", "path": "/data/$x", "value": 1}),
        _targeted({"kind": "ConfigMap", "name": "other"}, {"op": "remove", "path": "/nope"}),
    ]
    with pytest.raises(SpecError):
        apply_patches(_objects(), patches, locate)
    assert seen == [
        ("patches", 0, "target"),
        ("patches", 1, "ops", 1),
        ("patches", 2, "ops", 2),
        ("patches", 3, "ops", 0),
    ]


def test_overlaps_is_a_prefix_either_way_with_dash_for_any_index() -> None:
    from mlgitops.render.patches import _overlaps

    assert _overlaps(("a", "1"), ("a", "-")) and _overlaps(("a", "-"), ("a", "1"))
    assert _overlaps(("a",), ("a", "b")) and _overlaps(("a", "b"), ("a",))
    assert not _overlaps(("a", "1"), ("a", "2")) and not _overlaps(("b",), ("a",))
