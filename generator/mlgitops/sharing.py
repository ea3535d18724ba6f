"""Sharing equal parts between validated specs, so thousands of models fit in little memory.

A model resolved for an environment is validated again as a whole (resolve.py), which builds a new
object for every block of the spec, although an environment patch changes only a few. With 2000
models in 3 environments those copies were a third of every command's memory. `share_unchanged`
puts the file spec's own sub-objects back wherever the resolved spec holds an equal one: nothing
mutates a validated spec (copies are made with `model_copy(update=...)`), so sharing is invisible.

Equal here means what every reader could observe: the same type, the same values and the same
`model_fields_set` at every level (podspec.py and spec.py read which fields were written).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def same_value(a: Any, b: Any) -> bool:
    """Whether `a` and `b` are interchangeable: equal values, types and written fields at every level."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, BaseModel):
        if a.model_fields_set != b.model_fields_set or a.__pydantic_extra__ != b.__pydantic_extra__:
            return False
        other = b.__dict__
        return all(same_value(value, other[name]) for name, value in a.__dict__.items())
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_value(value, b[key]) for key, value in a.items())
    return bool(a == b)


def share_unchanged(new: BaseModel, old: BaseModel) -> None:
    """Replace each field value of `new` that is the same as `old`'s (same_value) by `old`'s object.

    Fields of nested models that differ are shared field by field; `new` itself stays a distinct object.
    """
    if type(new) is not type(old):
        return
    fields = new.__dict__
    previous = old.__dict__
    for name, value in fields.items():
        before = previous.get(name)
        if value is before:
            continue
        if same_value(value, before):
            fields[name] = before
        elif isinstance(value, BaseModel) and isinstance(before, BaseModel):
            share_unchanged(value, before)


def shared(new: Any, old: Any) -> Any:
    """`new`, with every part equal to the part of `old` at the same place replaced by `old`'s object.

    For rendered objects (plain dicts, lists and scalars): an environment's render differs from the
    base render in a few fields, so most of its dicts and lists can be the base's. Returns `old`
    itself when the two are equal throughout (same types, values and key order; YAML keeps the order).
    `new` is changed in place only by swapping a part for an equal one, which no reader can tell apart.
    """
    if new is old:
        return old
    kind = type(new)
    if kind is not type(old):
        return new
    if kind is dict:
        same = len(new) == len(old) and all(a == b for a, b in zip(new, old, strict=True))
        for key, value in new.items():
            if key not in old:
                same = False
                continue
            before = old[key]
            part = shared(value, before)
            if part is before:
                if part is not value:
                    new[key] = part  # an existing key: the dict's size does not change while iterating
            else:
                same = False
        return old if same else new
    if kind is list:
        if len(new) != len(old):
            return new
        same = True
        for index, (value, before) in enumerate(zip(new, old, strict=True)):
            part = shared(value, before)
            if part is before:
                if part is not value:
                    new[index] = part
            else:
                same = False
        return old if same else new
    return old if new == old else new
