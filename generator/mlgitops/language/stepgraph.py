"""The training steps as a graph: cycles, and which earlier step produces each input.

Both run on user-sized input, so neither recurses (a chain of steps must not exhaust the stack) and
neither builds a set per step: ancestors are bitsets (Python ints, one bit per step), so finding the
producers of every input costs O(steps x edges / 64) word operations in C, a few milliseconds at the
step limit (`MAX_STEPS`), where sets of names cost quadratic time and memory in Python objects.
"""

from __future__ import annotations

from mlgitops.language.training import Training


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle of `graph` (node → the nodes it runs after) as [a, ..., a], or None. Iterative DFS."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in graph:
        if root in state:
            continue
        path: list[str] = [root]
        pending: list[int] = [0]
        state[root] = 1
        while path:
            node = path[-1]
            parents = graph.get(node, [])
            index = pending[-1]
            if index == len(parents):
                state[node] = 2
                path.pop()
                pending.pop()
                continue
            pending[-1] = index + 1
            nxt = parents[index]
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                pending.append(0)
    return None


def topological_order(training: Training) -> list[int]:
    """Step indices so that every step comes after the steps it runs after (the steps form no cycle)."""
    index_of = {step.name: i for i, step in enumerate(training.steps)}
    waiting = [len({index_of[d] for d in step.after if d in index_of}) for step in training.steps]
    children: list[list[int]] = [[] for _ in training.steps]
    for i, step in enumerate(training.steps):
        for parent in {index_of[d] for d in step.after if d in index_of}:
            children[parent].append(i)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    order: list[int] = []
    while ready:
        node = ready.pop()
        order.append(node)
        for child in children[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return order


def input_producers(training: Training) -> dict[str, dict[str, list[str]]]:
    """step name → {input artifact → the steps it runs after (directly or not) that output it, sorted}.

    Validation requires exactly one producer per input; the renderer wires each input to it.
    """
    steps = training.steps
    index_of = {step.name: i for i, step in enumerate(steps)}
    ancestors = [0] * len(steps)
    for node in topological_order(training):
        bits = 0
        for dep in steps[node].after:
            parent = index_of.get(dep)
            if parent is not None:
                bits |= ancestors[parent] | (1 << parent)
        ancestors[node] = bits
    producers_of: dict[str, int] = {}  # artifact → bitset of the steps that output it
    for i, step in enumerate(steps):
        for artifact in step.outputs:
            producers_of[artifact] = producers_of.get(artifact, 0) | (1 << i)
    result: dict[str, dict[str, list[str]]] = {}
    for i, step in enumerate(steps):
        found: dict[str, list[str]] = {}
        for artifact in step.inputs:
            bits = ancestors[i] & producers_of.get(artifact, 0)
            names: list[str] = []
            while bits:
                low = bits & -bits
                names.append(steps[low.bit_length() - 1].name)
                bits ^= low
            found[artifact] = sorted(names)
        result[step.name] = found
    return result
