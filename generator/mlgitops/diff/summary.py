"""The ML summary: one line per (environment, model) comparing the resolved specs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, Literal

from mlgitops.diff.results import EnvironmentDiff, FieldChange, ModelChange
from mlgitops.diff.snapshot import Snapshot
from mlgitops.modechange import mode_change, summary_text
from mlgitops.spec import Model

_COVERED = (
    ("metadata", "name"),
    ("model", "version"),
    ("model", "storageUri"),
    ("model", "registry"),
    ("serving", "canary"),
    ("serving", "replicas"),
    ("serving", "gpu"),
    ("serving", "mode"),
    ("training", "schedule"),
    ("monitoring", "slo"),
    ("data",),
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
    facts.update(_slo_and_data_facts(spec))
    return facts


_SLO_FACTS = (
    ("latencyP95Ms", "slo p95", " ms"),
    ("errorRatePercent", "slo errors", "%"),
    ("availabilityPercent", "slo availability", "%"),
)


def _slo_and_data_facts(spec: Model) -> dict[str, str]:
    """`slo p95: 250 ms`, `data transactions: 2026-11-01`: only what is set (absent facts read as none)."""
    facts: dict[str, str] = {}
    slo = spec.monitoring.slo if spec.monitoring is not None else None
    for field, label, unit in _SLO_FACTS:
        value = getattr(slo, field) if slo is not None else None
        if value is not None:
            facts[label] = f"{value:g}{unit}" if isinstance(value, float) else f"{value}{unit}"
    for dataset in spec.data:
        facts[f"data {dataset.name}"] = dataset.version or "unpinned"
    return facts


def _fact_changes(old_facts: dict[str, str], new_facts: dict[str, str]) -> list[FieldChange]:
    """Changed facts; an SLO or dataset fact only one side has is added or removed."""
    changes = []
    for key in [*new_facts, *(k for k in old_facts if k not in new_facts)]:
        old, new = old_facts.get(key, "none"), new_facts.get(key, "none")
        if old != new:
            changes.append(FieldChange(key, old, new))
    return changes


def _change_text(change: FieldChange) -> str:
    """`slo p95 250 → 200 ms`: the unit once, after the new value."""
    old, new = change.old or "none", change.new or "none"
    for unit in (" ms", "%"):
        if change.field.startswith("slo ") and old.endswith(unit) and new.endswith(unit):
            return f"{change.field} {old.removesuffix(unit)} → {new}"
    return f"{change.field} {old} → {new}"


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


def _model_summary(
    old: Model | None, new: Model | None, *, updates_inference_service: bool = False
) -> tuple[str, list[FieldChange]]:
    """The summary line and its changes; `updates_inference_service`: the model's InferenceService is
    changed in place (not added, removed or renamed), where KServe refuses a mode change."""
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
    changes = _fact_changes(old_facts, new_facts)
    parts = [_change_text(c) for c in changes]
    mode = mode_change(old, new)
    if mode is not None:
        changes.append(FieldChange("mode", *mode))
        parts.append(summary_text(*mode) if updates_inference_service else f"mode {mode[0]} → {mode[1]}")
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
        in_place = any(
            o.owner == name and o.status == "changed" and o.oid[:2] == ("serving.kserve.io", "InferenceService")
            for o in env.objects
        )
        summary, changes = _model_summary(old, new, updates_inference_service=in_place)
        out.append(ModelChange(env.name, name, status, summary, changes))
    return out
