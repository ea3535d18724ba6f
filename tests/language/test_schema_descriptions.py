"""Every field of `mlgitops schema` has a one-line description, so editors (yaml-language-server) show help
on hover for every key of mlgitops.yaml and models/<name>.yaml."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field

from mlgitops.gitops.scaffold import schema_text
from mlgitops.language.schema import json_schema


def undescribed(node: Any, where: str = "") -> list[str]:
    """Paths of the properties below `node` (through $defs, items, additionalProperties, anyOf, allOf,
    oneOf) whose description is missing, blank or more than one line."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += undescribed(item, where)
        return found
    if not isinstance(node, dict):
        return found
    for key, prop in (node.get("properties") or {}).items():
        path = f"{where}.{key}"
        text = prop.get("description") if isinstance(prop, dict) else None
        if not isinstance(text, str) or not text.strip() or "\n" in text:
            found.append(path)
        found += undescribed(prop, path)
    for name, definition in (node.get("$defs") or {}).items():
        found += undescribed(definition, name)
    for key in ("items", "additionalProperties", "anyOf", "allOf", "oneOf"):
        if key in node:
            found += undescribed(node[key], where)
    return found


def property_paths(node: Any, where: str = "") -> set[str]:
    paths: set[str] = set()
    if isinstance(node, list):
        for item in node:
            paths |= property_paths(item, where)
    elif isinstance(node, dict):
        for key, prop in (node.get("properties") or {}).items():
            paths.add(f"{where}.{key}")
            paths |= property_paths(prop, f"{where}.{key}")
        for name, definition in (node.get("$defs") or {}).items():
            paths |= property_paths(definition, name)
        for key in ("items", "additionalProperties", "anyOf", "allOf", "oneOf"):
            if key in node:
                paths |= property_paths(node[key], where)
    return paths


@pytest.mark.parametrize("kind", ["model", "project", "graph"])
def test_every_field_has_a_one_line_description(kind: str) -> None:
    missing = undescribed(json_schema(kind))
    assert missing == [], f"{kind} schema fields without a one-line description: {missing}"


def test_the_printed_schema_too() -> None:
    assert undescribed(json.loads(schema_text())) == []


def test_the_walk_reaches_nested_and_ref_fields() -> None:
    """Fields in $defs, in list items, behind $ref and anyOf are all visited (so the checks above are not
    vacuous): a sample from each file kind and nesting depth."""
    paths = property_paths(json.loads(schema_text()))
    expected = {
        "Project.environments",
        "Environment.clusterFeatures",
        "KnativeFeatures.podspecAffinity",
        "Toleration.tolerationSeconds",
        "Model.serving",
        "Serving.canary",
        "Gpu.class",
        "Step.metrics",
        "Training.register",
        "Condition.op",
        "Graph.nodes",
        "GraphStep.model",
        "Serving.workers",
        "LlmRouter.scheduler",
    }
    assert expected <= paths
    assert len(paths) > 150


def test_a_field_without_description_is_reported() -> None:
    class Inner(BaseModel):
        bare: int = 0
        told: int = Field(default=0, description="a described field, e.g. 3")

    class Outer(BaseModel):
        inner: list[Inner] = Field(default_factory=list, description="inner items, e.g. [{bare: 1}]")
        multiline: str = Field(default="", description="first line\nsecond line")
        optional: Inner | None = None

    assert sorted(undescribed(Outer.model_json_schema())) == [".multiline", ".optional", "Inner.bare"]
