"""JSON Schema of the spec files, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

from typing import Any

from mlgitops.language.model import Model
from mlgitops.language.project import Project

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema(kind: str = "all") -> dict[str, Any]:
    """The schema of `model`, `project`, or (`all`) either file, told apart by `kind`."""
    model = Model.model_json_schema(by_alias=True, mode="validation")
    project = Project.model_json_schema(by_alias=True, mode="validation")
    if kind == "model":
        return {"$schema": SCHEMA_DIALECT, **model}
    if kind == "project":
        return {"$schema": SCHEMA_DIALECT, **project}
    defs: dict[str, Any] = {}
    for schema in (model, project):
        defs.update(schema.pop("$defs", {}))
    defs["Model"] = model
    defs["Project"] = project
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "mlgitops spec file",
        "oneOf": [{"$ref": "#/$defs/Model"}, {"$ref": "#/$defs/Project"}],
        "$defs": defs,
    }
