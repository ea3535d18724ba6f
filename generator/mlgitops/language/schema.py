"""JSON Schema of the spec files, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

from typing import Any

from mlgitops.language.graph import Graph
from mlgitops.language.model import Model
from mlgitops.language.project import Project

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KINDS = ("all", "model", "project", "graph")


def json_schema(kind: str = "all") -> dict[str, Any]:
    """The schema of `model`, `project`, `graph`, or (`all`) any spec file, told apart by `kind`."""
    model = Model.model_json_schema(by_alias=True, mode="validation")
    project = Project.model_json_schema(by_alias=True, mode="validation")
    graph = Graph.model_json_schema(by_alias=True, mode="validation")
    if kind == "model":
        return {"$schema": SCHEMA_DIALECT, **model}
    if kind == "project":
        return {"$schema": SCHEMA_DIALECT, **project}
    if kind == "graph":
        return {"$schema": SCHEMA_DIALECT, **graph}
    defs: dict[str, Any] = {}
    for schema in (model, project, graph):
        defs.update(schema.pop("$defs", {}))
    defs["Model"] = model
    defs["Project"] = project
    defs["Graph"] = graph
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "mlgitops spec file",
        "oneOf": [{"$ref": "#/$defs/Model"}, {"$ref": "#/$defs/Project"}, {"$ref": "#/$defs/Graph"}],
        "$defs": defs,
    }
