"""A loaded project: the project file, the model files, the graph files, and where each value was written.

Shared by the loader (which builds a `Workspace`) and the resolver (which reads it), so that neither
imports the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgitops.language.graph import Graph
from mlgitops.language.model import Model
from mlgitops.language.project import Project
from mlgitops.util.errors import Location, UsageError, did_you_mean
from mlgitops.util.paths import PROJECT_FILE as PROJECT_FILE
from mlgitops.util.yamlio import Document, JsonPath

Locator = Callable[[JsonPath, bool], Location]


@dataclass
class ModelFile:
    """One `models/<name>.yaml`: its parsed document and its validated, environment-free spec."""

    path: str
    doc: Document
    spec: Model

    @property
    def name(self) -> str:
        return self.spec.metadata.name


@dataclass
class GraphFile:
    """One `graphs/<name>.yaml`: its parsed document and its validated, environment-free spec."""

    path: str
    doc: Document
    spec: Graph

    @property
    def name(self) -> str:
        return self.spec.metadata.name


@dataclass
class Workspace:
    """A loaded project: the root directory, the project file and every model, sorted by name."""

    root: Path
    project: Project
    project_doc: Document
    models: list[ModelFile] = field(default_factory=list)
    # (model name, environment) → the resolved model, or None when the model opts out there.
    resolved: dict[tuple[str, str], Any] = field(default_factory=dict)
    # Project files the specs name besides themselves (a smoke test's bodyFile) → their text, read once.
    files: dict[str, str] = field(default_factory=dict)
    # The inference graphs (graphs/*.yaml), sorted by name; only a full load reads them (they name models).
    graphs: list[GraphFile] = field(default_factory=list)

    def model(self, name: str) -> ModelFile:
        for item in self.models:
            if item.name == name:
                return item
        hint = did_you_mean(name, [m.name for m in self.models])
        raise UsageError(f"unknown model {name!r}{hint}")


class ModelsInWorkers(list):  # type: ignore[type-arg]
    """`Workspace.models` in a process that left loading the models to forked workers (util/forked.py).
    There, the project-wide steps read models only through what the workers send back; a reader of this
    list raises instead of seeing no models (the caller then does the whole job in-process)."""

    def _refuse(self, *_: object) -> Any:
        raise LookupError("the models were loaded by the workers, not in this process")

    __iter__ = __len__ = __getitem__ = __contains__ = __bool__ = _refuse


def unknown_environment(env: str, names: list[str]) -> str:
    """The message for an environment the project does not have."""
    return f"unknown environment {env!r}{did_you_mean(env, names)}; the project has {', '.join(names)}"


def document_locator(doc: Document, prefix: JsonPath = ()) -> Locator:
    def locate(path: JsonPath, key: bool) -> Location:
        return doc.location((*prefix, *path), key=key)

    return locate
