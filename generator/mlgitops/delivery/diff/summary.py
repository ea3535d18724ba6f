"""The ML summary: one line per (environment, model) comparing the resolved specs."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from typing import Any, Literal

from mlgitops.checks.modechange import mode_change, summary_text
from mlgitops.delivery.diff.results import EnvironmentDiff, FieldChange, ModelChange
from mlgitops.delivery.diff.snapshot import Snapshot
from mlgitops.language.credentials import mask_uri
from mlgitops.language.model import Model
from mlgitops.language.serving import Serving
from mlgitops.language.training import training_name

_COVERED = (
    ("metadata", "name"),
    ("model", "version"),
    ("model", "storageUri"),
    ("model", "registry"),
    ("serving", "canary"),
    ("serving", "replicas"),
    ("serving", "gpu"),
    ("serving", "mode"),
    ("serving", "args"),
    ("serving", "env"),
    ("serving", "transformer"),
    ("serving", "logger"),
    ("serving", "workers"),
    ("serving", "router"),
    ("training", "schedule"),
    ("training", "name"),
    ("patches",),
    ("monitoring", "slo"),
    ("data",),
)
_MAX_OTHER_PATHS = 3
_SERVER_FACTS = ("args", "transformer", "logger")


def _facts(spec: Model) -> dict[str, str]:
    serving, training = spec.serving, spec.training
    facts = {"version": spec.model.version}
    if serving is not None:
        canary = serving.canary
        facts["canary"] = f"{canary.version} at {canary.trafficPercent}%" if canary else "none"
        facts["replicas"] = f"{serving.replicas.min}–{serving.replicas.upper}"
        gpu = serving.gpu
        facts["GPUs"] = f"{gpu.count}×{gpu.class_}" if gpu.count and gpu.class_ else str(gpu.count)
        facts.update(_server_facts(serving))
        facts.update(_large_model_facts(serving))
    else:
        facts.update({"canary": "none", "replicas": "none", "GPUs": "0"})
        facts.update({"workers": "none", "router": "none"})
        facts.update({"args": "none", "transformer": "none", "logger": "none"})
    schedule = training.schedule if training else None
    if isinstance(schedule, list):
        schedule = ", ".join(schedule) if schedule else None
    facts["schedule"] = f"'{schedule}'" if schedule else "none"
    facts.update(_slo_and_data_facts(spec))
    return facts


def _workflow_facts(spec: Model | None) -> dict[str, str]:
    """The training workflow's shape where a reviewer must notice a change: the name of its objects (what
    other systems find it by), each step's forEach and `when`, and the onExit step ("none" when unset)."""
    training = spec.training if spec is not None else None
    if training is None or spec is None:
        return {}
    facts: dict[str, str] = {"training name": training_name(spec.metadata.name, training)}
    for step in training.steps:
        items = step.forEach
        if isinstance(items, list):
            loop = f"{len(items)} items"
        elif items is not None:
            loop = f"items from {items.fromStep}.{items.output}"
        else:
            loop = "none"
        if items is not None and step.parallelism is not None:
            loop += f" ({step.parallelism} at a time)"
        facts[f"step {step.name} forEach"] = loop
        conditions = [
            f"{c.subject} {c.op} {c.value if isinstance(c.value, str) else format(c.value, 'g')}" for c in step.when
        ]
        facts[f"step {step.name} when"] = f"'{' and '.join(conditions)}'" if conditions else "always"
    facts["onExit"] = training.onExit.name if training.onExit is not None else "none"
    return facts


def _workflow_changes(old: Model, new: Model) -> list[FieldChange]:
    before, after = _workflow_facts(old), _workflow_facts(new)
    default = {"forEach": "none", "when": "always", "onExit": "none", "name": "none"}
    changes = []
    for key in [*before, *(k for k in after if k not in before)]:
        empty = default[key.rsplit(" ", 1)[-1]]
        if before.get(key, empty) != after.get(key, empty):
            changes.append(FieldChange(key, before.get(key, empty), after.get(key, empty)))
    return changes


def _server_facts(serving: Serving) -> dict[str, str]:
    """args, transformer and logger as one short text each (URIs masked: credentials.mask_uri)."""
    args = " ".join(mask_uri(arg) for arg in serving.args)
    facts = {"args": f"'{args}'" if args else "none"}
    transformer = serving.transformer
    if transformer is None:
        facts["transformer"] = "none"
    else:
        digest = hashlib.sha256(transformer.model_dump_json().encode()).hexdigest()[:8]
        facts["transformer"] = f"{transformer.image} ({digest})"  # the digest shows a change of its settings
    logger = serving.logger
    facts["logger"] = "none" if logger is None else f"{logger.mode} to {mask_uri(logger.url or 'default sink')}"
    return facts


def _large_model_facts(serving: Serving) -> dict[str, str]:
    """`workers 2 pods (tensor 4, pipeline 2)` and the LLM router (`gateway and scheduler`): both change how
    many GPUs a replica holds or how requests reach it."""
    from mlgitops.language.llmfit import kserve_nodes, pipeline_parallel, tensor_parallel

    workers = serving.workers
    if workers is None:
        facts = {"workers": "none"}
    else:
        tp, pp = tensor_parallel(workers, serving.gpu), pipeline_parallel(workers)
        pods = kserve_nodes(workers, serving.gpu) if serving.engine == "kserve" else 1
        facts = {"workers": f"{pods} pod{'s' if pods != 1 else ''} (tensor {tp}, pipeline {pp})"}
    router = serving.router
    parts = [part for part in ("gateway", "scheduler") if router is not None and getattr(router, part)]
    facts["router"] = " and ".join(parts) if parts else "none"
    return facts


def _env_change(old: Model, new: Model) -> FieldChange | None:
    """Which serving variables were added, removed or changed: names only, never a value (a literal may be
    sensitive, and a Secret's value is not in the spec at all)."""
    before = old.serving.env if old.serving else {}
    after = new.serving.env if new.serving else {}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(name for name in set(before) & set(after) if before[name] != after[name])
    if not (added or removed or changed):
        return None
    parts = [f"+{n}" for n in added] + [f"-{n}" for n in removed] + [f"~{n}" for n in changed]
    return FieldChange("env", None, " ".join(parts))


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
        shown = {k: v for k, v in shown.items() if k not in _SERVER_FACTS}  # the added line stays short
        shown = {k: v for k, v in shown.items() if v != "none"}
        changes = [FieldChange(k, None, v) for k, v in shown.items()]
        return "added: " + ", ".join(f"{k} {v}" for k, v in shown.items()), changes
    old_facts = _facts(old)
    changes = _fact_changes(old_facts, new_facts)
    changes.extend(_workflow_changes(old, new))
    parts = [_change_text(c) for c in changes]
    env = _env_change(old, new)
    if env is not None:
        changes.append(env)
        parts.append(f"env {env.new}")
    mode = mode_change(old, new)
    if mode is not None:
        changes.append(FieldChange("mode", *mode))
        parts.append(summary_text(*mode) if updates_inference_service else f"mode {mode[0]} → {mode[1]}")
    if old.patches != new.patches:
        changes.append(FieldChange("patches", None, None))
        parts.append("patches changed")
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


def model_changes(env: EnvironmentDiff, base: Snapshot, head: Snapshot) -> list[ModelChange]:
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
        )  # (an LLMInferenceService has no deployment mode to change)
        summary, changes = _model_summary(old, new, updates_inference_service=in_place)
        out.append(ModelChange(env.name, name, status, summary, changes))
    return out


def model_summary(old: Model | None, new: Model | None) -> str:
    """The ML summary line of one model in one environment (as `mlgitops diff` prints it)."""
    return _model_summary(old, new)[0]
