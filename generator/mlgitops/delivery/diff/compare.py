"""Comparing two revisions' objects: masked Secrets, unified diffs of canonical YAML, renames."""

from __future__ import annotations

import copy
import difflib
from typing import Any

from mlgitops.delivery.diff.results import EnvironmentDiff, ObjectChange, ObjectId, Tracked
from mlgitops.render.lineage import MODEL_VERSION_ANNOTATION, RUN_ID_ANNOTATION
from mlgitops.util.kubenames import VERSION_LABEL, Obj
from mlgitops.util.yamlio import dump

CONTEXT_LINES = 3
RENAME_SIMILARITY = 0.8
RENAME_MAX_COMPARISONS = 5_000  # per environment and kind; beyond it only near-identical names pair
REDACTED = "<redacted>"
REDACTED_CHANGED = "<redacted, changed>"


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


# The training objects, whose own labels reach no pod. Serving objects are left out: KServe copies an
# InferenceService's labels onto its predictor (kserve pkg/controller/v1beta1/inferenceservice/components/
# predictor.go, `Labels: utils.Union(isvc.Labels, ...)`), so a label change there rolls pods.
RELABEL_KINDS = frozenset({("argoproj.io", "WorkflowTemplate"), ("argoproj.io", "CronWorkflow")})


def _only_version_label(oid: ObjectId, old: Obj, new: Obj) -> bool:
    """Whether a training object differs only in the model version it is labelled and annotated with
    (its own metadata.labels' version label and the lineage model-version and run-id annotations)."""
    if oid[:2] not in RELABEL_KINDS:
        return False

    def without(obj: Obj) -> Obj:
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            return obj
        trimmed = dict(meta)
        relabels = (
            ("labels", VERSION_LABEL),
            ("annotations", MODEL_VERSION_ANNOTATION),
            ("annotations", RUN_ID_ANNOTATION),
        )
        for field, key in relabels:
            values = meta.get(field)
            if isinstance(values, dict) and key in values:
                trimmed[field] = {k: v for k, v in values.items() if k != key}
        return {**obj, "metadata": trimmed}

    return without(old) == without(new)


def relabel_summary(old: Obj | None, new: Obj | None) -> str:
    """`app.kubernetes.io/version "1" → "2"` for a relabelled object."""

    def version(obj: Obj | None) -> str:
        labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
        value = labels.get(VERSION_LABEL) if isinstance(labels, dict) else None
        return "(none)" if value is None else f'"{value}"'

    return f"{VERSION_LABEL} {version(old)} → {version(new)}"


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


def compare_environment(env: str, before: dict[ObjectId, Tracked], after: dict[ObjectId, Tracked]) -> EnvironmentDiff:
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
                    relabelled=_only_version_label(oid, old.obj, new.obj),
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
