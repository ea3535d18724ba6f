"""The objects of every environment at one revision: models in memory, base/platform through Kustomize."""

from __future__ import annotations

import concurrent.futures
import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from mlgitops.delivery import git_repo
from mlgitops.delivery.diff.incremental import ArchiveTree, Tree, unpack
from mlgitops.delivery.diff.results import DiffError, ObjectId, Tracked, describe, object_id
from mlgitops.delivery.git_repo import Repository, Revision
from mlgitops.language.loader import ModelFile, Workspace, load_workspace
from mlgitops.language.model import Model
from mlgitops.layout import kustomize
from mlgitops.util.errors import MlgitopsError
from mlgitops.util.kubenames import Obj
from mlgitops.util.paths import PROJECT_FILE
from mlgitops.util.yamlio import load_plain


@dataclass
class Snapshot:
    revision: Revision
    workspace: Workspace | None  # None: no project at this revision
    objects: dict[str, dict[ObjectId, Tracked]] = field(default_factory=dict)
    _by_name: dict[str, ModelFile] | None = None

    @property
    def environments(self) -> list[str]:
        return self.workspace.project.environment_names if self.workspace else []

    def spec(self, model: str, env: str) -> Model | None:
        """The model's resolved spec in `env`, or None when it is absent or opted out there."""
        if self.workspace is None or env not in self.environments:
            return None
        found = self._files().get(model)
        if found is None:
            return None
        from mlgitops.language.resolve import resolve

        resolved = resolve(self.workspace, found, env)
        return resolved.spec if resolved else None

    def _files(self) -> dict[str, ModelFile]:
        assert self.workspace is not None
        if self._by_name is None:
            self._by_name = {m.name: m for m in self.workspace.models}
        return self._by_name


def _where(revision: Revision, exc: MlgitopsError) -> DiffError:
    lines = str(exc).splitlines() or [type(exc).__name__]
    return DiffError("\n".join(f"{revision.label}: {line}" for line in lines))


def _add(
    table: dict[ObjectId, Tracked], obj: Obj, owner: str | None, env: str, revision: Revision, origin: str
) -> None:
    oid = object_id(obj)
    if oid in table:
        first = f"models/{table[oid].owner}" if table[oid].owner else "base/platform or mlgitops.yaml"
        raise DiffError(
            f"{revision.label}: environment {env!r}: {describe(oid)} is defined twice ({first} and {origin})"
        )
    table[oid] = Tracked(obj, owner)


def _platform_digest(root: Path, kustomization: str) -> str:
    """A hash of every file under base/platform/ plus the overlay that builds it."""
    from mlgitops.util.paths import PLATFORM_DIR

    digest = hashlib.sha256(kustomization.encode())
    top = root / PLATFORM_DIR
    for path in sorted(top.rglob("*")):
        if path.is_file() or path.is_symlink():
            digest.update(b"\0" + path.relative_to(top).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() if path.is_file() else b"->" + str(path.readlink()).encode())
    return digest.hexdigest()


@dataclass
class _PlatformBuild:
    directory: Path
    snapshots: list[tuple[Snapshot, str]]  # where the result goes: (snapshot, env)


def _platform_builds(snapshots: list[Snapshot], envs: list[str], scratch: Path) -> dict[str, _PlatformBuild]:
    """One Kustomize build per distinct (base/platform content, environment overlay)."""
    from mlgitops.layout.overlay import overlay_files
    from mlgitops.layout.platform_tree import check_platform, copy_platform
    from mlgitops.util.paths import KUSTOMIZATION, OVERLAYS_DIR, PLATFORM_DIR

    builds: dict[str, _PlatformBuild] = {}
    for index, snap in enumerate(snapshots):
        ws = snap.workspace
        if ws is None or not (ws.root / PLATFORM_DIR).is_dir():
            continue
        side = scratch / f"platform-{index}"
        copied = False
        try:
            check_platform(ws.root)  # before hashing: never read through a symlink out of the project
        except MlgitopsError as exc:
            raise _where(snap.revision, exc) from None
        for env in envs:
            if env not in snap.environments:
                continue
            files = overlay_files(ws, env, [], include_platform=True, with_namespace=False)
            kustomization = files[f"{OVERLAYS_DIR}/{env}/{KUSTOMIZATION}"]
            try:
                key = _platform_digest(ws.root, kustomization)
            except OSError as exc:
                raise DiffError(f"{snap.revision.label}: {PLATFORM_DIR}: cannot read: {exc}") from None
            if key in builds:
                builds[key].snapshots.append((snap, env))
                continue
            if not copied:
                try:
                    copy_platform(ws.root, side)
                except MlgitopsError as exc:
                    raise _where(snap.revision, exc) from None
                copied = True
            for path, content in files.items():
                target = side / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(content, encoding="utf-8")
            builds[key] = _PlatformBuild(side / OVERLAYS_DIR / env, [(snap, env)])
    return builds


def add_platform_objects(snapshots: list[Snapshot], envs: list[str], scratch: Path) -> None:
    builds = list(_platform_builds(snapshots, envs, scratch).values())
    if not builds:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(builds))) as pool:
        futures = [pool.submit(kustomize.build, item.directory) for item in builds]
        for item, future in zip(builds, futures, strict=True):
            try:
                objects = load_plain(future.result())
            except MlgitopsError as exc:
                first = item.snapshots[0][0].revision
                message = str(exc).replace(f"{item.directory.parent.parent}/", "")  # no scratch paths
                raise DiffError(f"{first.label}: base/platform: {message}") from None
            for snap, env in item.snapshots:
                table = snap.objects.setdefault(env, {})
                for obj in objects:
                    if isinstance(obj, dict):
                        _add(table, copy.deepcopy(obj), None, env, snap.revision, "base/platform")


def add_model_objects(snap: Snapshot, envs: list[str], *, complete: bool = True) -> bool:
    """Add the model objects of `envs` at this revision; refuse an environment `render` refuses as
    empty (overlay.check_not_empty). With `complete` False (only the changed models are loaded), an
    environment that looks empty may hold unchanged models: False, and nothing is added."""
    from mlgitops.layout.overlay import declared_cluster_kinds, environment_objects, in_environment
    from mlgitops.render.pipeline import check_not_empty, render_models

    ws = snap.workspace
    if ws is None:
        return True
    here = [env for env in envs if env in snap.environments]
    try:
        renders = render_models(ws, envs=here)
        empty = [
            env
            for env in here
            if not ws.project.environment(env).allowEmpty and not any(item.environments.get(env) for item in renders)
        ]
        if empty and not complete:
            return False
        check_not_empty(ws, renders, empty)
    except MlgitopsError as exc:
        raise _where(snap.revision, exc) from None
    for env in here:
        table = snap.objects.setdefault(env, {})
        for obj in environment_objects(ws, env, [], with_namespace=True):
            _add(table, obj, None, env, snap.revision, PROJECT_FILE)
        namespace = ws.project.environment(env).namespace
        for item in renders:
            for obj in item.environments.get(env) or []:
                placed = in_environment(obj, namespace, env, declared_cluster_kinds(ws))
                _add(table, placed, item.name, env, snap.revision, item.source)
    return True


def materialise_snapshot(repo: Repository, revision: Revision, destination: Path, notes: list[str]) -> Path | None:
    return unpack_snapshot(archive_snapshot(repo, revision, notes), revision, destination, None)


def archive_snapshot(repo: Repository, revision: Revision, notes: list[str]) -> ArchiveTree | None:
    """The revision's project as a tar in memory (None, with a note, when it has no project)."""
    from mlgitops.util.paths import GENERATED_ROOTS

    assert revision.commit is not None
    where = f"{repo.prefix}/" if repo.prefix else "the repository root"
    if not git_repo.has_file(repo, revision.commit, PROJECT_FILE):
        notes.append(f"{revision.label}: no {PROJECT_FILE} in {where}; compared as an empty project")
        return None
    try:
        data = git_repo.archive(repo, revision.commit, exclude=GENERATED_ROOTS)
    except MlgitopsError as exc:
        raise _where(revision, exc) from None
    return ArchiveTree(data)


def unpack_snapshot(tree: Tree | None, revision: Revision, destination: Path, only: set[str] | None) -> Path | None:
    """Write the revision's files into `destination`: all, or with `only`, no model file outside it."""
    if tree is None:
        return None
    assert isinstance(tree, ArchiveTree)
    destination.mkdir(parents=True)
    try:
        unpack(tree, destination, only)
    except MlgitopsError as exc:
        raise _where(revision, exc) from None
    return destination


def load_snapshot(root: Path | None, revision: Revision, only_models: set[str] | None = None) -> Snapshot:
    """The revision's project; with `only_models`, only those models (diff/incremental.py)."""
    from mlgitops.layout.journal import refuse_leftovers

    if root is None:
        return Snapshot(revision, None)
    try:
        refuse_leftovers(root, "diff")  # a render's journal or staging directory: committed, or left behind
        return Snapshot(revision, load_workspace(root, only_models=only_models))
    except MlgitopsError as exc:
        raise _where(revision, exc) from None
