"""The serving modes deployed at a base revision, read from Git, for the `serving-mode-change` check
(checks/modechange.py): `validate --base REF`, default the merge-base `diff` uses.

`base_tree` writes the base revision's project into a temporary directory once; `read_modes` loads it (all
of it, or some models' files: a `validate` worker reads its share's) and reads each model's mode there."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.checks.modechange import BaseModes
from mlgitops.language.loader import Workspace
from mlgitops.util.errors import MlgitopsError

if TYPE_CHECKING:
    from mlgitops.delivery.git_repo import Revision


@dataclass(frozen=True)
class BaseTree:
    """The base revision's project, written out."""

    revision: Revision
    root: Path


@contextlib.contextmanager
def base_tree(workspace_root: Path, ref: str | None, notes: list[str]) -> Iterator[BaseTree | None]:
    """The base revision's project, in a temporary directory for the `with` block; None (quietly) outside Git,
    without commits or a project at the base, and (with a note) when it cannot be read from Git. An explicit
    `ref` that is not a commit is a usage error."""
    from mlgitops.delivery import git_repo
    from mlgitops.delivery.diff.snapshot import materialise_snapshot
    from mlgitops.util.errors import UsageError

    try:
        repo = git_repo.open_repository(workspace_root)
    except MlgitopsError:
        if ref is not None:
            raise
        yield None
        return
    if ref is not None:
        revision = git_repo.resolve_revision(repo, ref)
    else:
        try:
            revision = git_repo.default_base(repo)
        except UsageError:
            yield None  # no commit yet: nothing is deployed from this repository
            return
    with tempfile.TemporaryDirectory(prefix="mlgitops-base-") as tmp:
        try:
            root = materialise_snapshot(repo, revision, Path(tmp) / "base", [])
        except MlgitopsError as exc:
            notes.append(skipped(exc))
            root = None
        yield None if root is None else BaseTree(revision, root)


def read_modes(tree: BaseTree, only_models: set[str] | None = None) -> BaseModes:
    """The modes at the base (of `only_models`, when given, that the base has); a base that does not load raises
    MlgitopsError."""
    from mlgitops.delivery.diff.snapshot import load_snapshot

    snapshot = load_snapshot(tree.root, tree.revision, only_models)
    base = snapshot.workspace
    assert base is not None
    found = BaseModes(tree.revision.label)
    for env in base.project.environment_names:
        namespace = base.project.environment(env).namespace
        for model in base.models:
            try:
                spec = snapshot.spec(model.name, env)
            except MlgitopsError:
                continue  # the model does not resolve at the base: it cannot be deployed from there
            if spec is not None and spec.serving is not None and spec.serving.engine == "kserve":
                found.modes[(model.name, env)] = (spec.serving.mode, namespace)
    return found


def skipped(exc: MlgitopsError) -> str:
    """The note for a base that could not be read."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"the serving.mode check against the base was skipped: {first}"


def base_modes(workspace: Workspace, ref: str | None, notes: list[str]) -> BaseModes | None:
    """The base revision's modes; None outside Git, without commits or a project at the base, and (with a note)
    when the base does not load."""
    with base_tree(workspace.root, ref, notes) as tree:
        if tree is None:
            return None
        try:
            return read_modes(tree)
        except MlgitopsError as exc:
            notes.append(skipped(exc))
            return None
