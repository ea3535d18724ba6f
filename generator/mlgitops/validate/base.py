"""The serving modes deployed at a base revision, read from Git, for the `serving-mode-change` check
(checks/modechange.py): `validate --base REF`, default the merge-base `diff` uses."""

from __future__ import annotations

import tempfile
from pathlib import Path

from mlgitops.checks.modechange import BaseModes
from mlgitops.language.loader import Workspace
from mlgitops.util.errors import MlgitopsError


def base_modes(workspace: Workspace, ref: str | None, notes: list[str]) -> BaseModes | None:
    """The base revision's modes; None (quietly) outside Git, without commits or a project at the base.

    An explicit `ref` that is not a commit is a usage error; a base that does not load is a note.
    """
    from mlgitops.delivery import git_repo
    from mlgitops.delivery.diff.snapshot import load_snapshot, materialise_snapshot
    from mlgitops.util.errors import UsageError

    try:
        repo = git_repo.open_repository(workspace.root)
    except MlgitopsError:
        if ref is not None:
            raise
        return None
    if ref is not None:
        revision = git_repo.resolve_revision(repo, ref)
    else:
        try:
            revision = git_repo.default_base(repo)
        except UsageError:
            return None  # no commit yet: nothing is deployed from this repository
    found = BaseModes(revision.label)
    with tempfile.TemporaryDirectory(prefix="mlgitops-base-") as tmp:
        try:
            root = materialise_snapshot(repo, revision, Path(tmp) / "base", [])
            if root is None:
                return None
            snapshot = load_snapshot(root, revision)
        except MlgitopsError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            notes.append(f"the serving.mode check against the base was skipped: {first}")
            return None
        base = snapshot.workspace
        assert base is not None
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
