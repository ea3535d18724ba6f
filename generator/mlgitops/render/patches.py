"""A model's `patches`: RFC 6902 (JSON Patch) operations on the objects the renderer built.

They run inside `render.render_model`, after the renderer and before the overlay computation, so every
consumer (the base/overlay layout, `build`, `cmp generate`, `diff`, `validate`'s schemas and policies)
sees the patched objects. A target that matches no object (or several, without a name), a path that
does not apply or a failing `test` is a `SpecError` at the op's own line; so is an op that would change
an object's identity (kind, apiVersion, metadata.name, metadata.namespace), which the layout and the
overlays' patch targets rely on, and one that writes what Kustomize would act on instead of deploying
(a `$` directive key, a `config.kubernetes.io/` label or annotation) or a `lineage.mlgitops.io/`
annotation (reserved.py). See docs/patches.md.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlgitops.language.model import Patch, PatchOp, PatchTarget
from mlgitops.util.errors import Location, Problem, SpecError
from mlgitops.util.jsonpointer import index_within, is_array_index
from mlgitops.util.kubenames import Obj
from mlgitops.util.limits import MAX_OBJECT_BYTES, MAX_OBJECT_DEPTH, MAX_PATCH_WORK_BYTES
from mlgitops.util.reserved import directive, directive_in, metadata_key
from mlgitops.util.yamlio import JsonPath

# Where a path of the model spec (resolved for the environment) was written.
SpecLocate = Callable[[JsonPath], Location]

# Pointers to an object's identity and their parents: an op on any of them is refused.
_IDENTITY_LEAVES = ("/kind", "/apiVersion", "/metadata/name", "/metadata/namespace")
_IDENTITY_PARENTS = ("", "/metadata")


class PatchError(Exception):
    """An op that does not apply to the object (the message says why)."""


def parse_pointer(pointer: str) -> list[str]:
    """`/a/b~1c` → ["a", "b/c"] (RFC 6901 unescaping: `~1` then `~0`)."""
    if not pointer:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _index(token: str, length: int, *, append: bool) -> int:
    if append and token == "-":
        return length
    if not is_array_index(token):
        raise PatchError(
            f"{_short(token)} is not an index into a list of {length} (RFC 6901: ASCII digits, no leading zero)"
        )
    index = index_within(token, length if append else length - 1)
    if index is None:
        raise PatchError(f"index {_short(token)} is out of range for a list of {length}")
    return index


def _parent(doc: Any, tokens: list[str], pointer: str) -> Any:
    node = doc
    for depth, token in enumerate(tokens[:-1]):
        if isinstance(node, dict):
            if token not in node:
                missing = "/" + "/".join(pointer[1:].split("/")[: depth + 1])
                raise PatchError(f"{missing} does not exist")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(token, len(node), append=False)]
        else:
            raise PatchError(f"{pointer} goes through a {type(node).__name__}, not a map or list")
    if not isinstance(node, (dict, list)):
        raise PatchError(f"the parent of {pointer} is a {type(node).__name__}, not a map or list")
    return node


def _get(doc: Any, pointer: str) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        return doc
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{pointer} does not exist")
        return parent[last]
    return parent[_index(last, len(parent), append=False)]


def json_measure(value: Any, limit: int) -> tuple[int, int]:
    """(size, depth) of `value` written as JSON: bytes, and containers inside one another (a scalar is 0).

    The walk stops once the size passes `limit` (the size returned is then only known to be larger), so
    measuring costs at most about `limit`. Each entry of a map or list is counted with one separator.
    """
    size = 0
    depth = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and size <= limit:
        node, level = stack.pop()
        if isinstance(node, dict):
            depth = max(depth, level + 1)
            size += 2 + sum(_scalar_size(key) + 2 for key in node)
            stack.extend((item, level + 1) for item in node.values())
        elif isinstance(node, list):
            depth = max(depth, level + 1)
            size += 2 + len(node)
            stack.extend((item, level + 1) for item in node)
        else:
            size += _scalar_size(node)
    return size, depth


def _scalar_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass")) + 2
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    return len(repr(value))


class PatchWorkError(PatchError):
    """The patches of one model copied or measured more than MAX_PATCH_WORK_BYTES: no further op runs."""


@dataclass
class PatchLedger:
    """The size of the object being patched and the work spent so far, kept up to date op by op, so an
    op that would grow the object past MAX_OBJECT_BYTES is refused before its value is copied."""

    size: int = 0
    work: int = 0
    undo: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def of(cls, doc: Any) -> PatchLedger:
        ledger = cls()
        ledger.size = ledger.measure(doc)[0]
        return ledger

    def measure(self, value: Any) -> tuple[int, int]:
        size, depth = json_measure(value, MAX_PATCH_WORK_BYTES - self.work)
        self.charge(size)
        return size, depth

    def charge(self, size: int) -> None:
        self.work += size
        if self.work > MAX_PATCH_WORK_BYTES:
            raise PatchWorkError(
                f"the model's patches copy and measure more than {MAX_PATCH_WORK_BYTES} bytes of objects and "
                "values (MAX_PATCH_WORK_BYTES)"
            )

    def grow(self, delta: int) -> None:
        if self.size + delta > MAX_OBJECT_BYTES:
            raise PatchError(
                f"the patched object would be larger than the limit of {MAX_OBJECT_BYTES} bytes as JSON "
                "(MAX_OBJECT_BYTES, etcd's default request limit)"
            )
        self.size += delta

    def rollback(self, size: int) -> None:
        """Undo every op recorded since the last commit (the object is as it was, maybe in another key order)."""
        while self.undo:
            self.undo.pop()()
        self.size = size


def _add(doc: Any, pointer: str, value: Any, ledger: PatchLedger, *, copy_value: bool = True) -> None:
    tokens = parse_pointer(pointer)
    if not tokens:
        raise PatchError("the whole document cannot be replaced or removed: patch its fields")
    size, depth = ledger.measure(value)
    if len(tokens) + depth > MAX_OBJECT_DEPTH:
        raise PatchError(
            f"the value would be nested {len(tokens) + depth} levels deep in the object, more than the limit of "
            f"{MAX_OBJECT_DEPTH} (MAX_OBJECT_DEPTH)"
        )
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last in parent:
            old = parent[last]
            ledger.grow(size - ledger.measure(old)[0])
            ledger.undo.append(lambda: parent.__setitem__(last, old))
        else:
            ledger.grow(_scalar_size(last) + 2 + size)
            ledger.undo.append(lambda: parent.pop(last))
        if copy_value:
            ledger.charge(size)
            value = copy.deepcopy(value)
        parent[last] = value
    else:
        index = _index(last, len(parent), append=True)
        ledger.grow(size + 1)
        if copy_value:
            ledger.charge(size)
            value = copy.deepcopy(value)
        parent.insert(index, value)
        ledger.undo.append(lambda: parent.pop(index))


def _remove(doc: Any, pointer: str, ledger: PatchLedger) -> Any:
    tokens = parse_pointer(pointer)
    if not tokens:
        raise PatchError("the whole document cannot be replaced or removed: patch its fields")
    parent = _parent(doc, tokens, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError(f"{pointer} does not exist")
        old = parent.pop(last)
        ledger.undo.append(lambda: parent.__setitem__(last, old))
        ledger.size -= ledger.measure(old)[0] + _scalar_size(last) + 2
        return old
    index = _index(last, len(parent), append=False)
    removed = parent.pop(index)
    ledger.undo.append(lambda: parent.insert(index, removed))
    ledger.size -= ledger.measure(removed)[0] + 1
    return removed


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: unlike Python's, `true` is not `1`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def apply_op(doc: Obj, op: PatchOp, ledger: PatchLedger | None = None) -> None:
    """Apply one RFC 6902 operation to `doc` in place (the root itself is never replaced).

    `ledger` tracks the size of `doc` and the work spent (a new one measures `doc`); on an error the op
    may have been applied in part: `ledger.rollback` undoes it.
    """
    if ledger is None:
        ledger = PatchLedger.of(doc)
    if op.op == "add":
        _add(doc, op.path, op.value, ledger)
    elif op.op == "remove":
        _remove(doc, op.path, ledger)
    elif op.op == "replace":
        _get(doc, op.path)
        _remove(doc, op.path, ledger)
        _add(doc, op.path, op.value, ledger)
    elif op.op == "move":
        assert op.from_ is not None
        if op.path.startswith(op.from_ + "/"):
            raise PatchError(f"cannot move {op.from_} into its own child {op.path}")
        if op.path != op.from_:
            _add(doc, op.path, _remove(doc, op.from_, ledger), ledger, copy_value=False)
    elif op.op == "copy":
        assert op.from_ is not None
        _add(doc, op.path, _get(doc, op.from_), ledger)
    else:
        found = _get(doc, op.path)
        if not json_equal(found, op.value):
            raise PatchError(f"test failed: {op.path} is {_short(found)}, not {_short(op.value)}")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def identity_change(op: PatchOp) -> str | None:
    """The pointer through which `op` would change an object's identity, if it would."""
    if op.op == "test":
        return None
    pointers = [op.path] + ([op.from_] if op.op == "move" and op.from_ is not None else [])
    for pointer in pointers:
        if pointer in _IDENTITY_PARENTS or any(pointer == p or pointer.startswith(p + "/") for p in _IDENTITY_LEAVES):
            return pointer or "the whole object"
    return None


def _reserved_problem(op: PatchOp) -> str | None:
    """A `$` key the op would write (a Kustomize directive, reserved.py), in its path or its value."""
    for pointer in (op.path, op.from_ or ""):
        for token in parse_pointer(pointer):
            message = directive(token)
            if message is not None:
                return message
    found = directive_in(op.value) if op.op in ("add", "replace") else None
    return found[1] if found is not None else None


def _reserved_metadata(obj: Obj) -> dict[tuple[str, str], str]:
    """The object's labels and annotations a patch may not add, change or remove (reserved.py): Kustomize's
    own and lineage.mlgitops.io, which only the renderer writes."""
    metadata = obj.get("metadata")
    found: dict[tuple[str, str], str] = {}
    if isinstance(metadata, dict):
        for field in ("labels", "annotations"):
            values = metadata.get(field)
            if isinstance(values, dict):
                found.update(
                    ((field, key), str(value))
                    for key, value in values.items()
                    if isinstance(key, str) and metadata_key(key)
                )
    return found


def _matches(obj: Obj, target: PatchTarget) -> bool:
    return (
        obj.get("kind") == target.kind
        and (target.name is None or obj["metadata"]["name"] == target.name)
        and (target.apiVersion is None or obj.get("apiVersion") == target.apiVersion)
    )


def _describe(target: PatchTarget) -> str:
    text = target.kind
    if target.apiVersion:
        text = f"{target.apiVersion} {text}"
    return f"{text} {target.name!r}" if target.name else text


def _find_target(objects: Sequence[Obj], target: PatchTarget) -> int | str:
    """The index of the one object `target` names, or why there is none."""
    found = [i for i, obj in enumerate(objects) if _matches(obj, target)]
    if len(found) == 1:
        return found[0]
    rendered = ", ".join(f"{o['kind']} {o['metadata']['name']!r}" for o in objects) or "nothing"
    if not found:
        return f"no generated object is a {_describe(target)} (this model renders {rendered})"
    names = ", ".join(repr(objects[i]["metadata"]["name"]) for i in found)
    return f"{len(found)} generated objects are a {_describe(target)} ({names}): name one with target.name"


def apply_patches(
    objects: list[Obj], patches: Sequence[Patch], locate: SpecLocate, *, absent_kinds: Collection[str] = ()
) -> list[Obj]:
    """`objects` with `patches` applied, in order (the input list and objects are left as they were).

    `absent_kinds`: kinds this model renders elsewhere but not here (training objects in an
    environment where the model does not train); a patch on one of them is skipped, not an error.
    """
    result = list(objects)
    problems: list[Problem] = []
    ledger = PatchLedger()  # the work of all patches together, and the size of the object being patched
    sizes: dict[int, int] = {}  # index in `result` -> size of the object there, once it has been copied
    for i, patch in enumerate(patches):
        where = _find_target(result, patch.target)
        if isinstance(where, str):
            if patch.target.kind not in absent_kinds:
                problems.append(Problem(locate(("patches", i, "target")), where))
            continue
        try:
            if where not in sizes:  # copied once; a failed patch is undone op by op (all or nothing)
                sizes[where] = ledger.measure(result[where])[0]
                ledger.charge(sizes[where])
                result[where] = copy.deepcopy(result[where])
        except PatchWorkError as exc:
            problems.append(Problem(locate(("patches", i, "target")), f"{_describe(patch.target)}: {exc}"))
            break
        ledger.size = sizes[where]
        failed: PatchError | None = None
        for j, op in enumerate(patch.ops):
            changed = identity_change(op)
            if changed is not None:
                problems.append(
                    Problem(
                        locate(("patches", i, "ops", j)),
                        f"a patch may not change {changed}: kind, apiVersion, metadata.name and metadata.namespace "
                        "identify the object in the base/overlay layout and in the overlays' patch targets",
                    )
                )
                failed = PatchError(changed)
                break
            refused = _reserved_problem(op)
            if refused is not None:
                problems.append(Problem(locate(("patches", i, "ops", j)), f"op {op.op} {op.path}: {refused}"))
                failed = PatchError(refused)
                break
            try:
                patched = result[where]
                guarded = _reserved_metadata(patched) if op.path.startswith("/metadata/") else None
                apply_op(patched, op, ledger)
                if guarded is not None and _reserved_metadata(patched) != guarded:  # move and copy too
                    differ = sorted(set(guarded.items()) ^ set(_reserved_metadata(patched).items()))
                    raise PatchError(metadata_key(differ[0][0][1]) or "a reserved label or annotation")
            except PatchError as exc:
                problems.append(
                    Problem(
                        locate(("patches", i, "ops", j)), f"op {op.op} {op.path} on {_describe(patch.target)}: {exc}"
                    )
                )
                failed = exc
                break
        if failed is None:
            ledger.undo.clear()
            sizes[where] = ledger.size
        elif isinstance(failed, PatchWorkError):
            break  # no further op runs: the work is spent
        else:
            ledger.rollback(sizes[where])
    if problems:
        raise SpecError(problems)
    return result


def patched_op(patches: Sequence[Patch], obj: Obj, path: JsonPath) -> JsonPath | None:
    """The spec path (`patches.i.ops.j`) of the last op that wrote `path` of `obj` (or a parent or
    child of it), or None when no patch touched it: what `validate`'s source map points at."""
    rendered = tuple(str(p) for p in path)
    found: JsonPath | None = None
    for i, patch in enumerate(patches):
        if not _matches(obj, patch.target):
            continue
        for j, op in enumerate(patch.ops):
            if op.op == "test":
                continue
            written = [tuple(parse_pointer(op.path))]
            if op.op == "move":
                written.append(tuple(parse_pointer(op.from_ or "")))
            if any(_overlaps(w, rendered) for w in written):
                found = ("patches", i, "ops", j)
    return found


def _overlaps(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """One path is a prefix of the other (a `-` list token stands for any index)."""
    return all(x == y or x == "-" or y == "-" for x, y in zip(a, b, strict=False))
