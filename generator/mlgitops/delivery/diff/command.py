"""Running a diff: resolve the revisions, load both snapshots, compare, format."""

from __future__ import annotations

import tempfile
from pathlib import Path

from mlgitops.delivery import git_repo
from mlgitops.delivery.diff.compare import compare_environment
from mlgitops.delivery.diff.incremental import DirectoryTree, changed_models
from mlgitops.delivery.diff.json_format import format_json
from mlgitops.delivery.diff.markdown import format_markdown
from mlgitops.delivery.diff.results import DiffError, DiffResult, EnvironmentDiff, Format
from mlgitops.delivery.diff.snapshot import (
    Snapshot,
    add_model_objects,
    add_platform_objects,
    archive_snapshot,
    load_snapshot,
    unpack_snapshot,
)
from mlgitops.delivery.diff.summary import model_changes
from mlgitops.delivery.diff.text import format_text
from mlgitops.language.loader import find_root
from mlgitops.util.errors import MlgitopsError, UsageError, did_you_mean


def _select(base: Snapshot, head: Snapshot, wanted: list[str] | None) -> list[str]:
    names = list(head.environments) + [e for e in base.environments if e not in head.environments]
    if not wanted:
        return names
    unknown = [e for e in wanted if e not in names]
    if unknown:
        raise UsageError(
            f"unknown environment {unknown[0]!r}{did_you_mean(unknown[0], names)}; "
            f"the project has {', '.join(names) or 'none'} at these revisions"
        )
    return [e for e in names if e in wanted]


def compute(base: Snapshot, head: Snapshot, envs: list[str]) -> list[EnvironmentDiff]:
    out: list[EnvironmentDiff] = []
    for env in envs:
        result = compare_environment(env, base.objects.get(env, {}), head.objects.get(env, {}))
        result.models = model_changes(result, base, head)
        out.append(result)
    return out


def diff(start: Path, *, base: str | None = None, head: str | None = None, envs: list[str] | None = None) -> DiffResult:
    """Compare the project found from `start` at two revisions (head None: the working tree)."""
    root = find_root(start)
    repo = git_repo.open_repository(root)
    base_rev = git_repo.resolve_revision(repo, base) if base is not None else git_repo.default_base(repo)
    head_rev = git_repo.resolve_revision(repo, head) if head is not None else git_repo.WORKING_TREE
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mlgitops-diff-") as tmp:
        scratch = Path(tmp)
        base_tree = archive_snapshot(repo, base_rev, notes)
        head_tree = DirectoryTree(root) if head_rev.is_working_tree else archive_snapshot(repo, head_rev, notes)
        only = changed_models(base_tree, head_tree)  # None: every model (incremental.py)
        for attempt in ("changed", "all") if only is not None else ("all",):
            if attempt == "all":
                only = None
            base_root = unpack_snapshot(base_tree, base_rev, scratch / attempt / "base", only)
            head_root = (
                root
                if head_rev.is_working_tree
                else unpack_snapshot(head_tree, head_rev, scratch / attempt / "head", only)
            )
            base_snap, head_snap = load_snapshot(base_root, base_rev, only), load_snapshot(head_root, head_rev, only)
            selected = _select(base_snap, head_snap, envs)
            # with only the changed models loaded, an environment that looks empty is decided by a full load
            if all([add_model_objects(snap, selected, complete=only is None) for snap in (base_snap, head_snap)]):
                break
        add_platform_objects([base_snap, head_snap], selected, scratch)
        environments = compute(base_snap, head_snap, selected)
    return DiffResult(base_rev, head_rev, environments, notes)


def run(start: Path, *, base: str | None, head: str | None, envs: list[str] | None, fmt: Format) -> tuple[str, bool]:
    """The formatted diff and whether anything changed; every failure is a `DiffError` (exit 2)."""
    try:
        result = diff(start, base=base, head=head, envs=envs)
    except DiffError:
        raise
    except MlgitopsError as exc:
        raise DiffError(str(exc)) from exc
    return render(result, fmt), result.changed


def render(result: DiffResult, fmt: Format) -> str:
    if fmt == "json":
        return format_json(result)
    if fmt == "markdown":
        return format_markdown(result)
    return format_text(result)
