"""The training step graph (language/stepgraph.py) against independent reference implementations: a cycle
search that returns a real cycle exactly when one exists, a topological order that respects every edge, and
the producers of each input found by walking the `after` edges breadth first."""

from __future__ import annotations

import itertools
from collections import deque
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgitops.language.stepgraph import find_cycle, input_producers, topological_order
from mlgitops.language.training import Training

NAMES = [f"s{i}" for i in range(7)]
ARTIFACTS = ["a", "b", "c"]


def _has_cycle(graph: dict[str, list[str]]) -> bool:
    """Kahn's algorithm over every node named anywhere in the graph: a cycle leaves nodes unsorted."""
    nodes = set(graph) | {n for parents in graph.values() for n in parents}
    waiting = {n: 0 for n in nodes}
    children: dict[str, list[str]] = {n: [] for n in nodes}
    for node, parents in graph.items():
        for parent in parents:
            waiting[node] += 1
            children[parent].append(node)
    ready = deque(n for n, count in waiting.items() if count == 0)
    seen = 0
    while ready:
        node = ready.popleft()
        seen += 1
        for child in children[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return seen != len(nodes)


graphs = st.dictionaries(st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), max_size=3), max_size=len(NAMES))


@settings(max_examples=300, deadline=None)
@given(graphs)
def test_find_cycle_returns_a_real_cycle_exactly_when_there_is_one(graph: dict[str, list[str]]) -> None:
    cycle = find_cycle(graph)
    assert (cycle is not None) == _has_cycle(graph)
    if cycle is not None:
        assert len(cycle) >= 2 and cycle[0] == cycle[-1]
        assert len(set(cycle[:-1])) == len(cycle) - 1  # no node twice inside the cycle
        for node, parent in itertools.pairwise(cycle):
            assert parent in graph.get(node, [])


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": ["a"]}, ["a", "a"]),
        ({"a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
        ({"a": ["b"], "b": ["c"], "c": ["b"]}, ["b", "c", "b"]),
        ({"a": [], "b": ["a"], "c": ["b", "a"]}, None),
        ({"a": ["missing"]}, None),
        ({}, None),
    ],
)
def test_find_cycle_examples(graph: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert find_cycle(graph) == cycle


def _training(steps: list[dict[str, Any]]) -> Training:
    """The three attributes the graph functions read, without building the spec classes."""
    parts = [
        SimpleNamespace(
            name=s["name"], after=s.get("after", []), inputs=s.get("inputs", []), outputs=s.get("outputs", [])
        )
        for s in steps
    ]
    return cast(Training, SimpleNamespace(steps=parts))


@st.composite
def acyclic_steps(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Steps where each runs only after earlier ones (so no cycle), in a shuffled order, some `after`
    naming a step that does not exist (the functions must skip those)."""
    count = draw(st.integers(min_value=1, max_value=len(NAMES)))
    steps = []
    for i in range(count):
        after = draw(st.lists(st.sampled_from([*NAMES[:i], "ghost"]), max_size=3, unique=True)) if i else []
        steps.append(
            {
                "name": NAMES[i],
                "after": after,
                "inputs": draw(st.lists(st.sampled_from(ARTIFACTS), max_size=2, unique=True)),
                "outputs": draw(st.lists(st.sampled_from(ARTIFACTS), max_size=2, unique=True)),
            }
        )
    return draw(st.permutations(steps))


@settings(max_examples=300, deadline=None)
@given(acyclic_steps())
def test_topological_order_puts_every_step_after_its_parents(steps: list[dict[str, Any]]) -> None:
    order = topological_order(_training(steps))
    assert sorted(order) == list(range(len(steps)))  # every step once
    position = {steps[index]["name"]: place for place, index in enumerate(order)}
    for step in steps:
        for parent in step["after"]:
            if parent in position:
                assert position[parent] < position[step["name"]]


def _reference_producers(steps: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    by_name = {s["name"]: s for s in steps}
    result: dict[str, dict[str, list[str]]] = {}
    for step in steps:
        ancestors: set[str] = set()
        queue = deque(p for p in step["after"] if p in by_name)
        while queue:
            name = queue.popleft()
            if name in ancestors:
                continue
            ancestors.add(name)
            queue.extend(p for p in by_name[name]["after"] if p in by_name)
        result[step["name"]] = {
            artifact: sorted(a for a in ancestors if artifact in by_name[a]["outputs"]) for artifact in step["inputs"]
        }
    return result


@settings(max_examples=300, deadline=None)
@given(acyclic_steps())
def test_input_producers_are_the_ancestors_that_output_the_input(steps: list[dict[str, Any]]) -> None:
    assert input_producers(_training(steps)) == _reference_producers(steps)


def test_a_step_is_not_its_own_producer_and_siblings_do_not_count() -> None:
    steps = [
        {"name": "prep", "outputs": ["data"]},
        {"name": "other", "outputs": ["data"]},  # not an ancestor of fit
        {"name": "fit", "after": ["prep"], "inputs": ["data"], "outputs": ["data"]},
        {"name": "eval", "after": ["fit"], "inputs": ["data", "none"]},
    ]
    producers = input_producers(_training(steps))
    assert producers["fit"] == {"data": ["prep"]}
    assert producers["eval"] == {"data": ["fit", "prep"], "none": []}
    assert producers["prep"] == {} and producers["other"] == {}
