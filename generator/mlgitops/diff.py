"""`mlgitops diff`: the deployment a change makes, per environment and per object, before it merges.

Both revisions are rendered offline. A committed revision is unpacked with `git archive` into a
temporary directory (`mlgitops.git_repo`); the head defaults to the working tree, read in place. At
each revision the final objects of every environment are computed as `mlgitops build` would print
them:

- model objects in memory (`load_workspace` → `render_models`, then namespace and environment label
  as `overlay.environment_objects` sets them): the renderer's overlays are tested to be an exact
  encoding of these, so no Kustomize run is needed for them (a real `kustomize build` of a
  200-model overlay costs about 2 s per environment and revision, far over the 3 s budget of the
  whole diff);
- hand-written `base/platform/` objects with the real Kustomize, through an overlay holding only the
  environment's namespace and labels (the same kustomization `render` writes, minus the models), so
  generators, patches and namespace rules behave exactly as in the real overlay. These builds run in
  parallel, and a build whose inputs are byte-identical at both revisions runs once.

Objects are keyed by (environment, group/kind, namespace, name) and compared as data. Changed objects
get a unified diff of their YAML (keys sorted, `apiVersion`/`kind`/`metadata` first, as Kustomize
prints them); added and removed objects are shown whole. A removed and an added object of the same
kind whose YAML is nearly identical once the differing part of their names is swapped (a renamed
model, a moved namespace, a hash-suffixed generated Secret) are paired: the addition says
`renamed from`, with the diff against the old object. Secret `data`/`stringData` values never reach
the output: each is `<redacted>`, or `<redacted, changed>` on the new side when its value changed.
For each (environment, model) whose objects changed, one summary line compares the resolved specs:
version, canary, replicas, GPUs, training schedule, and other changed spec paths.

Exit codes: 0 no change, 1 changes, 2 error. A revision that fails to load or render is an error
naming the revision (`HEAD~1: models/x.yaml:3:5: ...`), never shown as removed objects.

JSON output (`--format json`, `schemaVersion` 1; keys are stable, new keys may be added)::

    {
      "schemaVersion": 1,
      "base": {"label": str, "commit": str | null, "description": str},
      "head": {"label": str, "commit": str | null, "description": str},   # commit null: working tree
      "changed": bool,
      "notes": [str],
      "environments": [                                  # promotion order; the selected ones only
        {
          "name": str,
          "added": int, "changed": int, "removed": int,  # objects; a rename counts as added + removed
          "renamed": int,                                # pairs among added/removed
          "models": [
            {"model": str,
             "status": "added" | "changed" | "removed" | "renamed",
             "renamedFrom": str | null,
             "changes": [{"field": str, "old": str | null, "new": str | null}],
             "summary": str}                             # the text summary line, without env/model
          ],
          "objects": [                                   # by (group, kind, namespace, name); the removed
                                                         # side of a rename follows its added side
            {"status": "added" | "changed" | "removed",
             "group": str, "kind": str, "namespace": str, "name": str,   # "" for core / cluster-scoped
             "model": str | null,                        # the model that renders it
             "renamedFrom": {"group", "kind", "namespace", "name"} | null,   # on the added side
             "renamedTo": {"group", "kind", "namespace", "name"} | null,     # on the removed side
             "before": object | null, "after": object | null,    # Secret values masked
             "diff": str}                                # unified diff ("" on the removed side of a rename)
          ]
        }
      ]
    }

Markdown output (`--format markdown`) is meant for a pull-request comment: a marker comment for
in-place updates, a summary table, a model-changes table, and one `<details>` per environment with
added/removed objects listed and a fenced `diff` block per changed or renamed object. It never exceeds
`MARKDOWN_BUDGET` characters. The model table and each environment get a fair share of the budget
(a part smaller than its share gets all it needs, the rest is split evenly), so a long dev diff
cannot crowd out prod. Within its share a part keeps whole pieces in order; the first diff that does
not fit is cut at a line when a useful part of it fits. A note lists what was left out; fences and
tags are always closed.
"""

from __future__ import annotations

import concurrent.futures
import copy
import difflib
import hashlib
import json
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlgitops import git_repo, kustomize
from mlgitops.errors import MlgitopsError, UsageError, did_you_mean
from mlgitops.git_repo import Repository, Revision
from mlgitops.loader import PROJECT_FILE, ModelFile, Workspace, find_root, load_workspace
from mlgitops.render.common import Obj
from mlgitops.spec import Model
from mlgitops.yamlio import dump, load_plain

__all__ = [
    "MARKDOWN_BUDGET",
    "DiffError",
    "DiffResult",
    "compute",
    "format_json",
    "format_markdown",
    "format_text",
    "run",
]

MARKDOWN_BUDGET = 65_536  # GitHub's limit for one comment
CONTEXT_LINES = 3
RENAME_SIMILARITY = 0.8
RENAME_MAX_COMPARISONS = 5_000  # per environment and kind; beyond it only near-identical names pair
REDACTED = "<redacted>"
REDACTED_CHANGED = "<redacted, changed>"
MARKER = "<!-- mlgitops-diff -->"
SCHEMA_VERSION = 1

Status = Literal["added", "changed", "removed"]
Format = Literal["text", "markdown", "json"]
ObjectId = tuple[str, str, str, str]  # (group, kind, namespace, name)


class DiffError(MlgitopsError):
    """Any failure of `mlgitops diff` (exit 2, so CI can tell it from "there are changes")."""

    exit_code = 2


# --- snapshots: the objects of every environment at one revision ---------------------------------


@dataclass
class Tracked:
    obj: Obj
    owner: str | None  # the model that renders it; None for the Namespace and base/platform objects


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
        from mlgitops.resolve import resolve

        resolved = resolve(self.workspace, found, env)
        return resolved.spec if resolved else None

    def _files(self) -> dict[str, ModelFile]:
        assert self.workspace is not None
        if self._by_name is None:
            self._by_name = {m.name: m for m in self.workspace.models}
        return self._by_name


def object_id(obj: Obj) -> ObjectId:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", ""))


def describe(oid: ObjectId) -> str:
    """`serving.kserve.io/InferenceService ml-prod/fraud-detector` (core kinds without a group)."""
    group, kind, namespace, name = oid
    return f"{group + '/' if group else ''}{kind} {namespace + '/' if namespace else ''}{name}"


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
    from mlgitops.overlay import PLATFORM_DIR

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
    from mlgitops.build import copy_platform
    from mlgitops.overlay import KUSTOMIZATION, OVERLAYS_DIR, PLATFORM_DIR, overlay_files
    from mlgitops.platform_tree import check_platform

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


def _add_platform_objects(snapshots: list[Snapshot], envs: list[str], scratch: Path) -> None:
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


def _add_model_objects(snap: Snapshot, envs: list[str]) -> None:
    from mlgitops.overlay import environment_objects, in_environment, render_models

    ws = snap.workspace
    if ws is None:
        return
    here = [env for env in envs if env in snap.environments]
    try:
        renders = render_models(ws, envs=here)
    except MlgitopsError as exc:
        raise _where(snap.revision, exc) from None
    for env in here:
        table = snap.objects.setdefault(env, {})
        for obj in environment_objects(ws, env, [], with_namespace=True):
            _add(table, obj, None, env, snap.revision, PROJECT_FILE)
        namespace = ws.project.environment(env).namespace
        for item in renders:
            for obj in item.environments.get(env) or []:
                _add(table, in_environment(obj, namespace, env), item.name, env, snap.revision, item.source)


# --- comparing -----------------------------------------------------------------------------------


def canonical(value: Any, top: bool = True) -> Any:
    """Keys sorted, with apiVersion, kind and metadata first at the top (Kustomize's order)."""
    if isinstance(value, dict):
        keys = sorted(value)
        if top:
            first = [k for k in ("apiVersion", "kind", "metadata") if k in value]
            keys = first + [k for k in keys if k not in first]
        return {k: canonical(value[k], False) for k in keys}
    if isinstance(value, list):
        return [canonical(v, False) for v in value]
    return value


def _is_secret(obj: Obj | None) -> bool:
    return obj is not None and obj.get("kind") == "Secret"


def _masked(obj: Obj | None, previous: Obj | None) -> Obj | None:
    """`obj` with every Secret value replaced; `<redacted, changed>` where it differs from `previous`."""
    if obj is None or not _is_secret(obj):
        return obj
    out = copy.deepcopy(obj)
    for field_name in ("data", "stringData"):
        values = out.get(field_name)
        if values is None:
            continue
        if not isinstance(values, dict):
            out[field_name] = REDACTED
            continue
        old = previous.get(field_name) if _is_secret(previous) and previous is not None else None
        old_values = old if isinstance(old, dict) else {}
        out[field_name] = {
            key: REDACTED_CHANGED if key in old_values and old_values[key] != value else REDACTED
            for key, value in values.items()
        }
    annotations = (out.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and "kubectl.kubernetes.io/last-applied-configuration" in annotations:
        annotations["kubectl.kubernetes.io/last-applied-configuration"] = REDACTED
    return out


def _yaml_lines(obj: Obj | None) -> list[str]:
    return dump(canonical(obj)).splitlines() if obj is not None else []


def _path(env: str, oid: ObjectId) -> str:
    group, kind, namespace, name = oid
    return "/".join(p for p in (env, f"{group + '/' if group else ''}{kind}", namespace, name) if p)


def unified(env: str, old_id: ObjectId | None, old: Obj | None, new_id: ObjectId | None, new: Obj | None) -> str:
    lines = difflib.unified_diff(
        _yaml_lines(old),
        _yaml_lines(new),
        fromfile=f"a/{_path(env, old_id)}" if old_id else "/dev/null",
        tofile=f"b/{_path(env, new_id)}" if new_id else "/dev/null",
        n=CONTEXT_LINES,
        lineterm="",
    )
    return "\n".join(lines)


@dataclass
class ObjectChange:
    env: str
    status: Status
    oid: ObjectId
    before: Obj | None  # masked
    after: Obj | None  # masked
    owner: str | None
    diff: str = ""
    renamed_from: ObjectId | None = None
    renamed_to: ObjectId | None = None


@dataclass
class FieldChange:
    field: str
    old: str | None
    new: str | None


@dataclass
class ModelChange:
    env: str
    model: str
    status: Literal["added", "changed", "removed", "renamed"]
    summary: str
    changes: list[FieldChange]
    renamed_from: str | None = None


@dataclass
class EnvironmentDiff:
    name: str
    objects: list[ObjectChange] = field(default_factory=list)
    models: list[ModelChange] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.objects if o.status == status)

    @property
    def renamed(self) -> int:
        return sum(1 for o in self.objects if o.renamed_from is not None)

    @property
    def changed(self) -> bool:
        return bool(self.objects)

    def counts_text(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("added", "changed", "removed") if self.count(s)]
        if self.renamed:
            parts.append(f"{self.renamed} renamed")
        return ", ".join(parts) or "no changes"


@dataclass
class DiffResult:
    base: Revision
    head: Revision
    environments: list[EnvironmentDiff]
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(env.changed for env in self.environments)


def _name_core(old: str, new: str) -> tuple[str, str]:
    """The differing middle of two names, by dash-separated words: ('x-a-train', 'x-b-train') → (a, b)."""
    a, b = old.split("-"), new.split("-")
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return "-".join(a[prefix : len(a) - suffix]), "-".join(b[prefix : len(b) - suffix])


def _similarity(old_id: ObjectId, old_text: str, new_id: ObjectId, new_text: str) -> float:
    core_old, core_new = _name_core(old_id[3], new_id[3])
    if core_old:
        old_text = old_text.replace(core_old, core_new)
    if old_id[2] != new_id[2] and old_id[2]:
        old_text = old_text.replace(old_id[2], new_id[2])
    matcher = difflib.SequenceMatcher(None, old_text.splitlines(), new_text.splitlines(), autojunk=False)
    if matcher.real_quick_ratio() < RENAME_SIMILARITY or matcher.quick_ratio() < RENAME_SIMILARITY:
        return 0.0
    return matcher.ratio()


def _pair_renames(removed: dict[ObjectId, Tracked], added: dict[ObjectId, Tracked]) -> list[tuple[ObjectId, ObjectId]]:
    """Greedy best-first pairing of removed and added objects of the same group and kind."""
    pairs: list[tuple[ObjectId, ObjectId]] = []
    by_kind: dict[tuple[str, str], tuple[list[ObjectId], list[ObjectId]]] = {}
    for oid in sorted(removed):
        by_kind.setdefault(oid[:2], ([], []))[0].append(oid)
    for oid in sorted(added):
        if oid[:2] in by_kind:
            by_kind[oid[:2]][1].append(oid)
    for old_ids, new_ids in by_kind.values():
        if not new_ids:
            continue
        texts = {oid: dump(canonical(_masked(removed[oid].obj, None))) for oid in old_ids}
        texts.update({oid: dump(canonical(_masked(added[oid].obj, None))) for oid in new_ids})
        exhaustive = len(old_ids) * len(new_ids) <= RENAME_MAX_COMPARISONS
        scored: list[tuple[float, ObjectId, ObjectId]] = []
        for old in old_ids:
            for new in new_ids:
                if not exhaustive and _name_core(old[3], new[3])[0] and old[3] != new[3]:
                    continue
                score = _similarity(old, texts[old], new, texts[new])
                if score >= RENAME_SIMILARITY:
                    scored.append((-score, old, new))
        used_old: set[ObjectId] = set()
        used_new: set[ObjectId] = set()
        for _score, old, new in sorted(scored):
            if old not in used_old and new not in used_new:
                used_old.add(old)
                used_new.add(new)
                pairs.append((old, new))
    return pairs


def _compare_environment(env: str, before: dict[ObjectId, Tracked], after: dict[ObjectId, Tracked]) -> EnvironmentDiff:
    result = EnvironmentDiff(env)
    removed = {oid: t for oid, t in before.items() if oid not in after}
    added = {oid: t for oid, t in after.items() if oid not in before}
    renamed_to = dict(_pair_renames(removed, added))
    renamed_from = {new: old for old, new in renamed_to.items()}
    # the removed side of a rename right after its added side
    order = sorted(set(before) | set(after), key=lambda oid: (renamed_to.get(oid, oid), oid in renamed_to))
    for oid in order:
        old, new = before.get(oid), after.get(oid)
        if old is not None and new is not None:
            if old.obj == new.obj:
                continue
            masked_old, masked_new = _masked(old.obj, None), _masked(new.obj, old.obj)
            result.objects.append(
                ObjectChange(
                    env,
                    "changed",
                    oid,
                    masked_old,
                    masked_new,
                    new.owner,
                    unified(env, oid, masked_old, oid, masked_new),
                )
            )
        elif new is not None:
            source = renamed_from.get(oid)
            if source is not None:
                origin = before[source].obj
                masked_old, masked_new = _masked(origin, None), _masked(new.obj, origin)
                text = unified(env, source, masked_old, oid, masked_new)
            else:
                masked_new = _masked(new.obj, None)
                text = unified(env, None, None, oid, masked_new)
            result.objects.append(
                ObjectChange(env, "added", oid, None, masked_new, new.owner, text, renamed_from=source)
            )
        elif old is not None:
            masked_old = _masked(old.obj, None)
            target = renamed_to.get(oid)
            text = "" if target is not None else unified(env, oid, masked_old, None, None)
            result.objects.append(
                ObjectChange(env, "removed", oid, masked_old, None, old.owner, text, renamed_to=target)
            )
    return result


# --- the ML summary ------------------------------------------------------------------------------

_COVERED = (
    ("metadata", "name"),
    ("model", "version"),
    ("model", "storageUri"),
    ("model", "registry"),
    ("serving", "canary"),
    ("serving", "replicas"),
    ("serving", "gpu"),
    ("training", "schedule"),
)
_MAX_OTHER_PATHS = 3


def _facts(spec: Model) -> dict[str, str]:
    serving, training = spec.serving, spec.training
    facts = {"version": spec.model.version}
    if serving is not None:
        canary = serving.canary
        facts["canary"] = f"{canary.version} at {canary.trafficPercent}%" if canary else "none"
        facts["replicas"] = f"{serving.replicas.min}–{serving.replicas.max}"
        gpu = serving.gpu
        facts["GPUs"] = f"{gpu.count}×{gpu.class_}" if gpu.count and gpu.class_ else str(gpu.count)
    else:
        facts.update({"canary": "none", "replicas": "none", "GPUs": "0"})
    schedule = training.schedule if training else None
    if isinstance(schedule, list):
        schedule = ", ".join(schedule) if schedule else None
    facts["schedule"] = f"'{schedule}'" if schedule else "none"
    return facts


def _changed_paths(old: Any, new: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if path in _COVERED or (path[:1] and path[0] == "environments"):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        if len(path) >= 3:
            if old != new:
                yield path
            return
        for key in sorted(set(old) | set(new)):
            yield from _changed_paths(old.get(key), new.get(key), (*path, str(key)))
    elif old != new:
        yield path


def _model_summary(old: Model | None, new: Model | None) -> tuple[str, list[FieldChange]]:
    if new is None:
        assert old is not None
        version = old.model.version
        return f"removed (was version {version})", [FieldChange("version", version, None)]
    new_facts = _facts(new)
    if old is None:
        shown = {k: v for k, v in new_facts.items() if v not in ("none", "0") or k in ("version", "replicas")}
        shown = {k: v for k, v in shown.items() if v != "none"}
        changes = [FieldChange(k, None, v) for k, v in shown.items()]
        return "added: " + ", ".join(f"{k} {v}" for k, v in shown.items()), changes
    old_facts = _facts(old)
    changes = [FieldChange(k, old_facts[k], new_facts[k]) for k in new_facts if old_facts[k] != new_facts[k]]
    parts = [f"{c.field} {c.old} → {c.new}" for c in changes]
    others = [
        ".".join(p)
        for p in _changed_paths(old.model_dump(mode="json", by_alias=True), new.model_dump(mode="json", by_alias=True))
    ]
    changes.extend(FieldChange(p, None, None) for p in others)
    if others:
        listed = ", ".join(others[:_MAX_OTHER_PATHS])
        more = f" and {len(others) - _MAX_OTHER_PATHS} more" if len(others) > _MAX_OTHER_PATHS else ""
        parts.append(f"{'also ' if parts else ''}changed: {listed}{more}")
    if not parts:
        parts.append("rendered objects changed; the model spec did not (project or renderer change)")
    return ", ".join(parts), changes


def _model_changes(env: EnvironmentDiff, base: Snapshot, head: Snapshot) -> list[ModelChange]:
    owners: dict[str, None] = {}
    for change in env.objects:
        if change.owner is not None:
            owners.setdefault(change.owner)
    # a model renamed in this environment: most of its removed objects became another model's additions
    before_owner = {o.oid: o.owner for o in env.objects if o.status == "removed"}
    votes: dict[str, Counter[str]] = {}
    for change in env.objects:
        if change.renamed_from is not None and change.owner is not None:
            source = before_owner.get(change.renamed_from)
            if source is not None and source != change.owner:
                votes.setdefault(change.owner, Counter())[source] += 1
    renamed: dict[str, str] = {}
    for new_name, counter in sorted(votes.items()):
        old_name = counter.most_common(1)[0][0]
        if head.spec(old_name, env.name) is None and base.spec(new_name, env.name) is None:
            renamed.setdefault(new_name, old_name)
    sources = set(renamed.values())
    out: list[ModelChange] = []
    for name in sorted(owners):
        if name in sources and head.spec(name, env.name) is None:
            continue  # reported on the line of the model it was renamed to
        old, new = base.spec(name, env.name), head.spec(name, env.name)
        if name in renamed:
            old = base.spec(renamed[name], env.name)
            summary, changes = _model_summary(old, new)
            if summary.startswith("rendered objects changed"):
                summary = "no other spec change"
            out.append(
                ModelChange(
                    env.name,
                    name,
                    "renamed",
                    f"renamed from {renamed[name]}, {summary}",
                    changes,
                    renamed[name],
                )
            )
            continue
        if old is None and new is None:
            continue
        status: Literal["added", "changed", "removed"] = (
            "changed" if old is not None and new is not None else "added" if new is not None else "removed"
        )
        summary, changes = _model_summary(old, new)
        out.append(ModelChange(env.name, name, status, summary, changes))
    return out


# --- running -------------------------------------------------------------------------------------


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
        result = _compare_environment(env, base.objects.get(env, {}), head.objects.get(env, {}))
        result.models = _model_changes(result, base, head)
        out.append(result)
    return out


def _materialise(repo: Repository, revision: Revision, destination: Path, notes: list[str]) -> Path | None:
    from mlgitops.tree import GENERATED_ROOTS

    assert revision.commit is not None
    where = f"{repo.prefix}/" if repo.prefix else "the repository root"
    if not git_repo.has_file(repo, revision.commit, PROJECT_FILE):
        notes.append(f"{revision.label}: no {PROJECT_FILE} in {where}; compared as an empty project")
        return None
    destination.mkdir(parents=True)
    try:
        git_repo.materialise(repo, revision.commit, destination, exclude=GENERATED_ROOTS)
    except MlgitopsError as exc:
        raise _where(revision, exc) from None
    return destination


def _load(root: Path | None, revision: Revision) -> Snapshot:
    if root is None:
        return Snapshot(revision, None)
    try:
        return Snapshot(revision, load_workspace(root))
    except MlgitopsError as exc:
        raise _where(revision, exc) from None


def diff(start: Path, *, base: str | None = None, head: str | None = None, envs: list[str] | None = None) -> DiffResult:
    """Compare the project found from `start` at two revisions (head None: the working tree)."""
    root = find_root(start)
    repo = git_repo.open_repository(root)
    base_rev = git_repo.resolve_revision(repo, base) if base is not None else git_repo.default_base(repo)
    head_rev = git_repo.resolve_revision(repo, head) if head is not None else git_repo.WORKING_TREE
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mlgitops-diff-") as tmp:
        scratch = Path(tmp)
        base_root = _materialise(repo, base_rev, scratch / "base", notes)
        head_root = root if head_rev.is_working_tree else _materialise(repo, head_rev, scratch / "head", notes)
        base_snap, head_snap = _load(base_root, base_rev), _load(head_root, head_rev)
        selected = _select(base_snap, head_snap, envs)
        for snap in (base_snap, head_snap):
            _add_model_objects(snap, selected)
        _add_platform_objects([base_snap, head_snap], selected, scratch)
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


# --- text ----------------------------------------------------------------------------------------


GROUP_AT = 4  # this many models with the same summary line in one environment share one line


def model_rows(result: DiffResult) -> list[tuple[str, str, str]]:
    """(environment, models, summary): one row per model, or one per summary shared by many models."""
    rows: list[tuple[str, str, str]] = []
    for env in result.environments:
        by_summary: dict[str, list[str]] = {}
        for m in env.models:
            by_summary.setdefault(m.summary, []).append(m.model)
        done: set[str] = set()
        for m in env.models:
            names = by_summary[m.summary]
            if len(names) < GROUP_AT:
                rows.append((env.name, m.model, m.summary))
            elif m.summary not in done:
                done.add(m.summary)
                rows.append((env.name, f"{', '.join(names[:3])}, … ({len(names)} models)", m.summary))
    return rows


def _model_lines(result: DiffResult) -> list[str]:
    rows = model_rows(result)
    if not rows:
        return []
    env_width = max(len(r[0]) for r in rows)
    model_width = max((len(r[1]) for r in rows if len(r[1]) <= 40), default=0)  # grouped rows stick out
    return [f"{e.ljust(env_width)}  {m.ljust(model_width)}  {s}" for e, m, s in rows]


def _object_title(change: ObjectChange) -> str:
    mark = {"added": "+", "changed": "~", "removed": "-"}[change.status]
    title = f"{mark} {change.env}  {describe(change.oid)}"
    if change.renamed_from is not None:
        title += f"  (renamed from {describe(change.renamed_from)}; the old object is deleted)"
    elif change.renamed_to is not None:
        title += f"  (renamed to {describe(change.renamed_to)})"
    elif change.status != "changed":
        title += f"  ({change.status})"
    return title


def format_text(result: DiffResult) -> str:
    lines = [f"base  {result.base.description}", f"head  {result.head.description}"]
    lines.extend(f"note  {note}" for note in result.notes)
    lines.append("")
    changed = [env for env in result.environments if env.changed]
    if not changed:
        lines.append(f"no changes in {_plural(len(result.environments), 'environment')}")
        return "\n".join(lines) + "\n"
    width = max(len("environment"), *(len(env.name) for env in changed))
    lines.append(f"{'environment'.ljust(width)}  added  changed  removed")
    for env in changed:
        renamed = f"  ({env.renamed} renamed)" if env.renamed else ""
        lines.append(
            f"{env.name.ljust(width)}  {env.count('added'):>5}  {env.count('changed'):>7}  "
            f"{env.count('removed'):>7}{renamed}"
        )
    unchanged = len(result.environments) - len(changed)
    if unchanged:
        lines.append(f"({_plural(unchanged, 'other environment')} unchanged)")
    models = _model_lines(result)
    if models:
        lines.append("")
        lines.extend(models)
    for env in changed:
        for change in env.objects:
            lines.append("")
            lines.append(_object_title(change))
            if change.diff:
                lines.append(change.diff)
    return "\n".join(lines) + "\n"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- JSON ----------------------------------------------------------------------------------------


def _id_json(oid: ObjectId | None) -> dict[str, str] | None:
    if oid is None:
        return None
    group, kind, namespace, name = oid
    return {"group": group, "kind": kind, "namespace": namespace, "name": name}


def _revision_json(revision: Revision) -> dict[str, Any]:
    return {"label": revision.label, "commit": revision.commit, "description": revision.description}


def to_json(result: DiffResult) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "base": _revision_json(result.base),
        "head": _revision_json(result.head),
        "changed": result.changed,
        "notes": list(result.notes),
        "environments": [
            {
                "name": env.name,
                "added": env.count("added"),
                "changed": env.count("changed"),
                "removed": env.count("removed"),
                "renamed": env.renamed,
                "models": [
                    {
                        "model": m.model,
                        "status": m.status,
                        "renamedFrom": m.renamed_from,
                        "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in m.changes],
                        "summary": m.summary,
                    }
                    for m in env.models
                ],
                "objects": [
                    {
                        "status": o.status,
                        **(_id_json(o.oid) or {}),
                        "model": o.owner,
                        "renamedFrom": _id_json(o.renamed_from),
                        "renamedTo": _id_json(o.renamed_to),
                        "before": canonical(o.before) if o.before is not None else None,
                        "after": canonical(o.after) if o.after is not None else None,
                        "diff": o.diff,
                    }
                    for o in env.objects
                ],
            }
            for env in result.environments
        ],
    }


def format_json(result: DiffResult) -> str:
    return json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n"


# --- Markdown ------------------------------------------------------------------------------------


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    return _html(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Inline code that survives any backticks in `text`."""
    ticks = "`" * (max((len(s) for s in _backtick_runs(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _backtick_runs(text: str) -> Iterable[str]:
    current = ""
    for char in text:
        if char == "`":
            current += "`"
        elif current:
            yield current
            current = ""
    if current:
        yield current


def _fence(body: str, info: str = "diff") -> tuple[str, str]:
    ticks = "`" * max(3, max((len(s) for s in _backtick_runs(body)), default=0) + 1)
    return f"{ticks}{info}\n", f"{ticks}\n"


@dataclass
class _Section:
    """A part of the comment that can be cut: fixed text around pieces kept in order while they fit."""

    name: str
    opening: str
    pieces: list[tuple[str, str]]  # (kind, text); kind "item" (a listed object), "row" or "diff"
    closing: str
    diff_titles: dict[int, tuple[str, str]] = field(default_factory=dict)  # piece index → (title, diff)

    def size(self) -> int:
        return len(self.opening) + sum(len(t) for _k, t in self.pieces) + len(self.closing)

    def render(self, allowance: int) -> tuple[str, Counter[str], bool]:
        """The text within `allowance`, what was left out by kind, and whether a diff was cut short."""
        left_out: Counter[str] = Counter()
        if len(self.opening) + len(self.closing) > allowance:
            left_out["section"] += 1
            for kind, _text in self.pieces:
                left_out[kind] += 1
            return "", left_out, False
        room = allowance - len(self.opening) - len(self.closing)
        parts = [self.opening]
        stopped = cut = False
        for index, (kind, text) in enumerate(self.pieces):
            if not stopped and len(text) <= room:
                parts.append(text)
                room -= len(text)
                continue
            if not stopped and index in self.diff_titles:
                title, body = self.diff_titles[index]
                partial = _diff_block(title, body, room)
                if partial:
                    parts.append(partial)
                    room -= len(partial)
                    cut = True
                    stopped = True
                    continue
            stopped = True
            left_out[kind] += 1
        parts.append(self.closing)
        return "".join(parts), left_out, cut


def _diff_block(title: str, diff: str, room: int) -> str:
    """The fenced diff block, whole, or cut at a line to fit `room` ("" when too little would fit)."""
    opening, closing = _fence(diff)
    head = f"{title}\n\n{opening}"
    whole = f"{head}{diff}\n{closing}\n"
    if len(whole) <= room:
        return whole
    lines = diff.split("\n")
    kept: list[str] = []
    size = len(head) + len(closing) + 1 + len(f"… {len(lines)} more lines not shown\n")
    for line in lines:
        if size + len(line) + 1 > room:
            break
        kept.append(line)
        size += len(line) + 1
    if len(kept) < 10:
        return ""
    note = f"… {len(lines) - len(kept)} more lines not shown\n"
    return f"{head}{chr(10).join(kept)}\n{note}{closing}\n"


def _allocate(sizes: list[int], available: int) -> list[int]:
    """Share `available` fairly: sections smaller than an equal share get all they need."""
    allowance = [0] * len(sizes)
    pending = sorted(range(len(sizes)), key=lambda i: sizes[i])
    while pending:
        share = available // len(pending)
        index = pending[0]
        if sizes[index] <= share:
            allowance[index] = sizes[index]
            available -= sizes[index]
            pending.pop(0)
            continue
        for index in pending:
            allowance[index] = share
        break
    return allowance


def _environment_section(env: EnvironmentDiff) -> _Section:
    pieces: list[tuple[str, str]] = []
    for status, heading in (("added", "Added"), ("removed", "Removed")):
        items = [o for o in env.objects if o.status == status]
        if not items:
            continue
        lines = []
        for o in items:
            line = f"- {_code(describe(o.oid))}"
            if o.renamed_from is not None:
                line += f" (renamed from {_code(describe(o.renamed_from))}; diff below)"
            elif o.renamed_to is not None:
                line += f" (renamed to {_code(describe(o.renamed_to))})"
            lines.append(line + "\n")
        lines[0] = f"**{heading}**\n\n{lines[0]}"
        lines[-1] += "\n"
        pieces.extend(("item", line) for line in lines)
    section = _Section(
        env.name,
        f"<details>\n<summary><b>{_html(env.name)}</b>: {_html(env.counts_text())}</summary>\n\n",
        pieces,
        "</details>\n\n",
    )
    for o in env.objects:
        if o.status != "changed" and o.renamed_from is None:
            continue
        verb = "Changed" if o.status == "changed" else "Renamed"
        title = f"#### {verb}: {_code(describe(o.oid))}"
        section.diff_titles[len(section.pieces)] = (title, o.diff)
        section.pieces.append(("diff", _diff_block(title, o.diff, len(o.diff) * 2 + 1_000)))
    return section


def _truncation_note(budget: int, left_out: dict[str, Counter[str]], cut: list[str]) -> str:
    parts: list[str] = list(cut)
    for name, counts in left_out.items():
        if name == "":
            parts.append(f"{counts['row']} model summary rows")
            continue
        if counts["section"]:
            parts.append(f"all of {name}")
            continue
        what = []
        if counts["diff"]:
            what.append(_plural(counts["diff"], "diff"))
        if counts["item"]:
            what.append(_plural(counts["item"], "listed object"))
        if what:
            parts.append(f"{name}: {', '.join(what)}")
    return (
        f"> **Truncated** to fit {budget:,} characters. Not shown: {'; '.join(parts)}. "
        "Run `mlgitops diff` locally (or with `--format json`) for the full diff.\n"
    )


def format_markdown(result: DiffResult, budget: int = MARKDOWN_BUDGET) -> str:
    head = [f"{MARKER}\n### mlgitops diff\n\n"]
    head.append(f"Base {_code(result.base.description)} → head {_code(result.head.description)}.\n\n")
    head.extend(f"> {_html(note)}\n\n" for note in result.notes)
    changed = [env for env in result.environments if env.changed]
    if not changed:
        head.append(f"No changes in {_plural(len(result.environments), 'environment')}.\n")
        return "".join(head)
    head.append("| Environment | Added | Changed | Removed | Renamed |\n|---|---:|---:|---:|---:|\n")
    for env in changed:
        head.append(
            f"| {_cell(env.name)} | {env.count('added')} | {env.count('changed')} | "
            f"{env.count('removed')} | {env.renamed} |\n"
        )
    head.append("\n")
    unchanged = len(result.environments) - len(changed)
    if unchanged:
        head.append(f"{_plural(unchanged, 'other environment')} unchanged.\n\n")

    sections: list[_Section] = []
    rows = model_rows(result)
    if rows:
        sections.append(
            _Section(
                "",
                "**Model changes**\n\n| Environment | Model | Change |\n|---|---|---|\n",
                [("row", f"| {_cell(e)} | {_cell(m)} | {_cell(s)} |\n") for e, m, s in rows],
                "\n",
            )
        )
    sections.extend(_environment_section(env) for env in changed)

    text = "".join(head)
    note_room = 600 + 80 * len(sections)
    allowance = _allocate([s.size() for s in sections], max(budget - len(text) - note_room, 0))
    left_out: dict[str, Counter[str]] = {}
    cut: list[str] = []
    body: list[str] = []
    for section, room in zip(sections, allowance, strict=True):
        rendered, missing, was_cut = section.render(room)
        body.append(rendered)
        if missing:
            left_out[section.name] = missing
        if was_cut:
            cut.append(f"the end of one diff in {section.name}")
    text += "".join(body)
    if left_out or cut:
        note = _truncation_note(budget, left_out, cut)
        if len(text) + len(note) + 1 > budget:  # many environments: a shorter note
            note = f"> **Truncated** to fit {budget:,} characters; run `mlgitops diff` to see it all.\n"
        text += "\n" + note
    return text
