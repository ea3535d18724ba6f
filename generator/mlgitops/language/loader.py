"""Reading and validating `mlgitops.yaml` and `models/*.yaml` (and, on a full load, `graphs/*.yaml`:
graph_resolve.py).

Every problem is reported with the `file:line:column` of the offending node. Loading collects the
problems of every file before failing, so one run shows them all.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection
from pathlib import Path

from pydantic import ValidationError

from mlgitops.language.model import PATCHABLE_MODEL_KEYS, Model
from mlgitops.language.project import Project
from mlgitops.language.resolve import check_workspace_model
from mlgitops.language.schema_errors import validation_problems
from mlgitops.language.specfiles import refuse_unwritable_text, spec_file_paths
from mlgitops.language.workspace import ModelFile as ModelFile
from mlgitops.language.workspace import Workspace as Workspace
from mlgitops.language.workspace import document_locator
from mlgitops.language.workspace import unknown_environment as unknown_environment
from mlgitops.util.errors import Location, Problem, SpecError, UsageError, did_you_mean
from mlgitops.util.limits import MAX_ENVIRONMENTS, MAX_SPEC_BYTES
from mlgitops.util.paths import MODEL_SUFFIX
from mlgitops.util.paths import MODELS_DIR as MODELS_DIR
from mlgitops.util.paths import PROJECT_FILE as PROJECT_FILE
from mlgitops.util.projectroot import find_root as find_root
from mlgitops.util.yamlio import Document, parse_document


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
        return _read_bounded(real, relative).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError.at(Location(relative, 1, 1), f"not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise SpecError.at(Location(relative, 1, 1), f"cannot read: {exc.strerror}") from None


def _read_bounded(real: Path, relative: str) -> bytes:
    """A regular file's bytes, refused beyond `MAX_SPEC_BYTES` (a FIFO or device would hang or never end)."""
    fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SpecError.at(Location(relative, 1, 1), "not a regular file")
        data = handle.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError.at(
            Location(relative, 1, 1),
            f"file of {info.st_size} bytes exceeds the limit of {MAX_SPEC_BYTES} bytes (MAX_SPEC_BYTES)",
        )
    return data


# --- loading -------------------------------------------------------------------------------------


def load_project(root: Path) -> tuple[Project, Document]:
    from mlgitops.language.training_envs import project_problems  # local: training_envs imports this module

    doc = parse_document(_read(root, PROJECT_FILE), PROJECT_FILE)
    if not isinstance(doc.data, dict):
        raise SpecError.at(doc.location(()), "expected a mapping (apiVersion, kind, metadata, ...)")
    check_version_pin(doc)
    refuse_unwritable_text(doc)
    try:
        project = Project.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, doc.data, Project, document_locator(doc), (doc,))) from None
    if len(project.environments) > MAX_ENVIRONMENTS:
        raise SpecError.at(
            doc.location(("environments",)),
            f"{len(project.environments)} environments exceed the limit of {MAX_ENVIRONMENTS} (MAX_ENVIRONMENTS)",
        )
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
    problems.extend(project_problems(project, doc))
    if problems:
        raise SpecError(problems)
    return project, doc


def check_version_pin(doc: Document) -> None:
    """Refuse a project whose `requires:` excludes this mlgitops (versionpin.py)."""
    from mlgitops import __version__
    from mlgitops.language.versionpin import check_requires

    check_requires(doc, __version__)


_ALLOWED_IN_MODELS = f"models/ holds only <name>{MODEL_SUFFIX} model specs (and dot-files such as .gitkeep)"


def model_paths(root: Path) -> tuple[list[str], list[Problem]]:
    """The model files in `models/`, and a problem for everything else there.

    Anything the loader would skip (`x.yml`, `X.YAML`, a README, a `team-a/` subdirectory) is an
    error rather than ignored: a skipped model renders nothing, so the next render would delete
    its objects and Argo CD's prune the live model. Dot-files are the one exception.
    """
    return spec_file_paths(root, MODELS_DIR, MODEL_SUFFIX, "model", _ALLOWED_IN_MODELS)


def parse_model(relative: str, text: str) -> ModelFile:
    """Parse and validate one model file on its own (no project-level checks)."""
    doc = parse_document(text, relative)
    if not isinstance(doc.data, dict):
        raise SpecError.at(doc.location(()), "expected a mapping (apiVersion, kind, metadata, ...)")
    refuse_unwritable_text(doc)
    try:
        spec = Model.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, doc.data, Model, document_locator(doc), (doc,))) from None
    stem = Path(relative).stem
    if spec.metadata.name != stem:
        raise SpecError.at(
            doc.location(("metadata", "name")),
            f"metadata.name {spec.metadata.name!r} must match the file name {stem!r}",
        )
    return ModelFile(path=relative, doc=doc, spec=spec)


def load_workspace(
    root: Path, *, only_model: str | None = None, only_models: Collection[str] | None = None
) -> Workspace:
    """Load and fully validate the project at `root` (every model in every environment).

    With `only_model`, only that model's file is read and checked: the fast path used when Argo CD
    renders one model's Application. With `only_models`, only the files of those names that exist
    (`diff` loads just the models that differ between two revisions). Either skips `graphs/`.
    """
    project, project_doc = load_project(root)
    paths, problems = model_paths(root)
    if only_models is not None:
        paths = [p for p in paths if Path(p).stem in only_models]
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
    if only_model is None and only_models is None:  # graphs name models: only a full load reads them
        from mlgitops.language.graph_resolve import load_graphs

        problems = load_graphs(root, workspace, _read)
        if problems:
            raise SpecError(problems)
    return workspace
