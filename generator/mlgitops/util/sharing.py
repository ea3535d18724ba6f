"""Sharing equal parts between validated specs and between renders, so thousands of models fit in little memory.

A model resolved for an environment is validated again as a whole (resolve.py), which builds a new
object for every block of the spec although an environment patch changes only a few; and each
environment's render repeats most of the base render. With 2000 models in 3 environments those
copies were a third of every command's memory. Nothing mutates a validated spec or a rendered object
(copies are made with `model_copy(update=...)` or `{**obj, ...}`), so sharing an equal part is invisible.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def share_same_input(new: BaseModel, old: BaseModel, new_data: Any, old_data: Any) -> None:
    """Give `new` the field values of `old` that were validated from the very same input object.

    `new` was validated from `new_data`, `old` from `old_data` (a merge patch copies only the maps
    on the patched paths, so every other value of the resolved data *is* the file's). Validation of a
    sub-model depends on its own input only (no validator in spec.py reads a sibling or changes a
    value), so the same input gives an equal value with the same written fields: no comparison needed.
    Fields absent from both inputs hold equal defaults and are shared too.
    """
    if type(new) is not type(old) or not isinstance(new_data, dict) or not isinstance(old_data, dict):
        return
    values, previous = new.__dict__, old.__dict__
    for name, info in type(new).model_fields.items():
        key = info.alias or name
        if key not in new_data and key not in old_data:
            values[name] = previous[name]
        elif key not in new_data or key not in old_data:
            continue
        elif new_data[key] is old_data[key]:
            values[name] = previous[name]
        elif isinstance(values[name], BaseModel):
            share_same_input(values[name], previous[name], new_data[key], old_data[key])


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
    if kind is dict or kind is list:
        return _shared_container(new, old)
    return old if new == old else new


def _same_plain(new: Any, old: Any) -> bool:
    """Equal plain data with the same types and key order throughout.

    Both checks run in C: `==` stops at the first difference, and the reprs of equal plain data differ
    exactly where a type (1, 1.0, True) or a key order does."""
    return bool(new == old) and repr(new) == repr(old)


def _shared_container(new: Any, old: Any) -> Any:
    if _same_plain(new, old):
        return old
    if type(new) is dict:
        for key, value in new.items():
            if key in old:
                before = old[key]
                if value is not before and type(value) is type(before):
                    if type(value) is dict or type(value) is list:
                        part = _shared_container(value, before)
                    else:
                        part = before if value == before else value
                    if part is before:
                        new[key] = before  # an existing key: the dict's size does not change while iterating
    elif len(new) == len(old):
        for index, value in enumerate(new):
            before = old[index]
            if value is not before and type(value) is type(before):
                if type(value) is dict or type(value) is list:
                    part = _shared_container(value, before)
                else:
                    part = before if value == before else value
                if part is before:
                    new[index] = before
    return new
