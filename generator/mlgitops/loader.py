"""Reading and validating `mlgitops.yaml` and `models/*.yaml`.

Every problem is reported with the `file:line:column` of the offending node. Loading collects the
problems of every file before failing, so one run shows them all.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mlgitops.errors import Location, Problem, SpecError, UsageError, did_you_mean
from mlgitops.spec import PATCHABLE_MODEL_KEYS, Model, Project
from mlgitops.yamlio import Document, JsonPath, parse_document

PROJECT_FILE = "mlgitops.yaml"
MODELS_DIR = "models"

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
class Workspace:
    """A loaded project: the root directory, the project file and every model, sorted by name."""

    root: Path
    project: Project
    project_doc: Document
    models: list[ModelFile] = field(default_factory=list)
    # (model name, environment) → the resolved model, or None when the model opts out there.
    resolved: dict[tuple[str, str], Any] = field(default_factory=dict)

    def model(self, name: str) -> ModelFile:
        for item in self.models:
            if item.name == name:
                return item
        hint = did_you_mean(name, [m.name for m in self.models])
        raise UsageError(f"unknown model {name!r}{hint}")


def find_root(start: Path, boundary: Path | None = None) -> Path:
    """Walk up from `start` to the directory holding `mlgitops.yaml`, never above `boundary`."""
    current = start.resolve()
    limit = boundary.resolve() if boundary else None
    while True:
        if (current / PROJECT_FILE).is_file():
            return current
        if current == limit or current.parent == current:
            raise UsageError(f"no {PROJECT_FILE} found in {start} or any parent directory")
        current = current.parent


def unknown_environment(env: str, names: list[str]) -> str:
    """The message for an environment the project does not have."""
    return f"unknown environment {env!r}{did_you_mean(env, names)}; the project has {', '.join(names)}"


def _read(root: Path, relative: str) -> str:
    path = root / relative
    try:
        real = path.resolve(strict=True)
    except OSError:
        raise SpecError.at(Location(relative, 1, 1), "file not found") from None
    if not real.is_relative_to(root.resolve()):
        raise SpecError.at(Location(relative, 1, 1), "file resolves outside the repository (symlink)")
    if not real.is_file():  # a FIFO or device would block or never end
        raise SpecError.at(Location(relative, 1, 1), "not a regular file")
    try:
        return real.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError.at(Location(relative, 1, 1), f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise SpecError.at(Location(relative, 1, 1), f"cannot read: {exc.strerror}") from None


# --- pydantic errors → positioned problems ------------------------------------------------------


def _model_classes(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_model_classes(arg))
    return found


def _is_dict(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is dict:
        return True
    if origin in (typing.Union, types.UnionType, typing.Annotated):
        return any(_is_dict(arg) for arg in typing.get_args(annotation))
    return False


def _keys_at(cls: type[BaseModel], path: JsonPath) -> list[str]:
    """The keys a mapping at `path` of `cls` accepts (for "did you mean")."""
    classes: list[type[BaseModel]] = [cls]
    skip_key = False
    for part in path:
        if isinstance(part, int):
            continue
        if skip_key:
            skip_key = False
            continue
        next_classes: list[type[BaseModel]] = []
        for current in classes:
            for name, info in current.model_fields.items():
                if (info.alias or name) == part:
                    next_classes.extend(_model_classes(info.annotation))
                    skip_key = skip_key or (_is_dict(info.annotation) and not _model_classes(info.annotation))
        if not next_classes:
            return []
        classes = next_classes
    return sorted({info.alias or name for c in classes for name, info in c.model_fields.items()})


def _dotted(path: JsonPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _child(node: Any, part: str | int) -> tuple[bool, Any]:
    """(True, node[part]) when `part` exists in the mapping or sequence `node`."""
    if isinstance(node, dict) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def validation_problems(error: ValidationError, data: Any, cls: type[BaseModel], locate: Locator) -> list[Problem]:
    """Turn pydantic's errors into one positioned, readable problem each."""
    problems: list[Problem] = []
    seen: set[JsonPath] = set()
    for item in error.errors(include_url=False):
        path: list[str | int] = []
        node = data
        branch = False
        loc = item["loc"]
        for index, part in enumerate(loc):
            present, child = _child(node, part)
            if present:
                path.append(part)
                node = child
            elif index == len(loc) - 1 and item["type"] == "missing":
                path.append(part)
            else:
                branch = True  # a union branch label like 'str' or 'list[str]'
        key = tuple(path)
        if branch and key in seen:
            continue
        seen.add(key)
        kind = item["type"]
        if kind == "extra_forbidden":
            name = str(path[-1])
            hint = did_you_mean(name, _keys_at(cls, key[:-1]))
            where = _dotted(key[:-1])
            problems.append(Problem(locate(key, True), f"unknown key {name!r}{' in ' + where if where else ''}{hint}"))
        elif kind == "missing":
            where = _dotted(key[:-1])
            problems.append(
                Problem(locate(key, False), f"missing required key {path[-1]!r}{' in ' + where if where else ''}")
            )
        else:
            message = item["msg"].removeprefix("Value error, ")
            if branch and kind.endswith("_type"):
                message = f"invalid type ({type(node).__name__})"
            problems.append(Problem(locate(key, False), f"{_dotted(key) or 'document'}: {message}"))
    return problems


def document_locator(doc: Document, prefix: JsonPath = ()) -> Locator:
    def locate(path: JsonPath, key: bool) -> Location:
        return doc.location((*prefix, *path), key=key)

    return locate


# --- loading -------------------------------------------------------------------------------------


def load_project(root: Path) -> tuple[Project, Document]:
    doc = parse_document(_read(root, PROJECT_FILE), PROJECT_FILE)
    if not isinstance(doc.data, dict):
        raise SpecError.at(doc.location(()), "expected a mapping (apiVersion, kind, metadata, ...)")
    try:
        project = Project.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, doc.data, Project, document_locator(doc))) from None
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, env in enumerate(project.environments):
        if env.name in seen:
            problems.append(
                Problem(doc.location(("environments", index, "name")), f"duplicate environment {env.name!r}")
            )
        seen.add(env.name)
        for key in env.defaults:
            if key not in PATCHABLE_MODEL_KEYS:
                problems.append(
                    Problem(
                        doc.location(("environments", index, "defaults", key), key=True),
                        f"defaults may set {', '.join(PATCHABLE_MODEL_KEYS)}, not {key!r}"
                        + did_you_mean(key, PATCHABLE_MODEL_KEYS),
                    )
                )
    if problems:
        raise SpecError(problems)
    return project, doc


MODEL_SUFFIX = ".yaml"
_ALLOWED_IN_MODELS = f"models/ holds only <name>{MODEL_SUFFIX} model specs (and dot-files such as .gitkeep)"


def _model_paths(root: Path) -> tuple[list[str], list[Problem]]:
    """The model files in `models/`, and a problem for everything else there.

    Anything the loader would skip (`x.yml`, `X.YAML`, a README, a `team-a/` subdirectory) is an
    error rather than ignored: a skipped model renders nothing, so the next render would delete
    its objects and Argo CD's prune the live model. Dot-files are the one exception.
    """
    from mlgitops.confine import escape_problem

    folder = root / MODELS_DIR
    if not folder.exists() and not folder.is_symlink():
        return [], []
    escape = escape_problem(root, MODELS_DIR, "models/")
    if escape is not None:
        return [], [escape]
    if not folder.is_dir():
        return [], [Problem(Location(MODELS_DIR, 1, 1), f"not a directory; {_ALLOWED_IN_MODELS}")]
    paths: list[str] = []
    problems: list[Problem] = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        relative = f"{MODELS_DIR}/{name}"
        if name.startswith("."):
            continue
        if entry.is_dir():
            problems.append(
                Problem(
                    Location(relative, 1, 1),
                    f"a directory; models/ is not read recursively: move its models up as models/<name>{MODEL_SUFFIX}",
                )
            )
        elif name.endswith(MODEL_SUFFIX) and len(name) > len(MODEL_SUFFIX):
            paths.append(relative)
        else:
            stem, suffix = os.path.splitext(name)
            fix = f"rename it to {stem}{MODEL_SUFFIX}" if suffix.lower() in (".yaml", ".yml") else "move it elsewhere"
            problems.append(Problem(Location(relative, 1, 1), f"not read as a model: {_ALLOWED_IN_MODELS}; {fix}"))
    return paths, problems


def parse_model(relative: str, text: str) -> ModelFile:
    """Parse and validate one model file on its own (no project-level checks)."""
    doc = parse_document(text, relative)
    if not isinstance(doc.data, dict):
        raise SpecError.at(doc.location(()), "expected a mapping (apiVersion, kind, metadata, ...)")
    try:
        spec = Model.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, doc.data, Model, document_locator(doc))) from None
    stem = Path(relative).stem
    if spec.metadata.name != stem:
        raise SpecError.at(
            doc.location(("metadata", "name")),
            f"metadata.name {spec.metadata.name!r} must match the file name {stem!r}",
        )
    return ModelFile(path=relative, doc=doc, spec=spec)


def load_workspace(root: Path, *, only_model: str | None = None) -> Workspace:
    """Load and fully validate the project at `root` (every model in every environment).

    With `only_model`, only that model's file is read and checked: the fast path used when Argo CD
    renders one model's Application.
    """
    from mlgitops.resolve import check_workspace_model  # local: resolve imports this module

    project, project_doc = load_project(root)
    paths, problems = _model_paths(root)
    if only_model is not None:
        wanted = [p for p in paths if Path(p).stem == only_model]
        if not wanted and problems:
            raise SpecError(problems)
        if not wanted:
            hint = did_you_mean(only_model, [Path(p).stem for p in paths])
            raise UsageError(f"unknown model {only_model!r}{hint}")
        paths = wanted
    workspace = Workspace(root=root, project=project, project_doc=project_doc)
    names: dict[str, str] = {}
    for relative in paths:
        try:
            model = parse_model(relative, _read(root, relative))
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        if model.name in names:
            problems.append(
                Problem(model.doc.location(("metadata", "name")), f"duplicate model name (also {names[model.name]})")
            )
            continue
        names[model.name] = relative
        problems.extend(check_workspace_model(workspace, model))
        workspace.models.append(model)
    if problems:
        raise SpecError(problems)
    workspace.models.sort(key=lambda m: m.name)
    return workspace
