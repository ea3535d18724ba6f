"""Checks of Argo Workflows objects that schemas cannot express: `when` strings Argo cannot evaluate, and
retry deadlines that defeat the retries. Policies (`argo-when`, `retry-max-duration`) report
what these find, for rendered and hand-written (base/platform) objects alike.

argoproj/argo-workflows v4.1: `workflow/controller/steps.go` `shouldExecute` parses a `when` with
govaluate, whose lexer reads numbers from digits and `.` only (Knetic/govaluate `parsing.go`
`readToken`); `workflow/controller/operator.go` `processNodeRetries` counts `backoff.maxDuration` from
the first attempt's start and passes it on as the retry pod's deadline (`workflowpod.go` `getDeadline`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import Obj
from mlgitops.util.yamlio import JsonPath

__all__ = [
    "argo_duration_seconds",
    "executor_token_problems",
    "max_duration_problems",
    "scheduled_environments",
    "when_problems",
]

_NAME_LABEL: JsonPath = ("metadata", "labels", "app.kubernetes.io/name")
_WORKFLOW_KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")
_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_EXPONENT = re.compile(r"(?<![\w.])\d+(?:\.\d*)?[eE][+-]?\d+")
_OUTPUT_COMPARED = re.compile(
    r"\{\{\s*(?!=)[^{}]*outputs\.parameters\.[^{}]*\}\}\s*(?:<=|>=|<|>)"
    r"|(?:<=|>=|<|>)\s*\{\{\s*(?!=)[^{}]*outputs\.parameters\.[^{}]*\}\}"
)
_GO_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:h|m|s|ms|us|µs|ns))+$")
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def argo_duration_seconds(value: Any) -> float | None:
    """Argo's ParseStringToDuration: an integer is seconds, otherwise a Go duration (`1h30m`)."""
    text = str(value).strip()
    if re.fullmatch(r"\d+", text):
        return float(text)
    if not _GO_DURATION.match(text):
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _GO_DURATION_PART.findall(text))


def _items(obj: Obj, path: JsonPath) -> list[tuple[JsonPath, Any]]:
    items = get_path(obj, path)
    return [((*path, i), item) for i, item in enumerate(items)] if isinstance(items, list) else []


def _templates(obj: Obj) -> list[tuple[JsonPath, Obj]]:
    if obj.get("kind") not in _WORKFLOW_KINDS:
        return []
    base: JsonPath = ("spec", "workflowSpec") if obj.get("kind") == "CronWorkflow" else ("spec",)
    return [(path, t) for path, t in _items(obj, (*base, "templates")) if isinstance(t, dict)]


def _whens(obj: Obj) -> Iterator[tuple[JsonPath, str]]:
    for template, _ in _templates(obj):
        for path, task in _items(obj, (*template, "dag", "tasks")):
            if isinstance(task, dict) and isinstance(task.get("when"), str):
                yield (*path, "when"), task["when"]
        for path, group in _items(obj, (*template, "steps")):
            for step_path, step in _items(obj, path) if isinstance(group, list) else []:
                if isinstance(step, dict) and isinstance(step.get("when"), str):
                    yield (*step_path, "when"), step["when"]


def when_problems(obj: Obj) -> Iterator[tuple[JsonPath, str]]:
    """(path, message) for each `when` govaluate cannot read, or that compares a file value as a number."""
    for path, when in _whens(obj):
        literal = _EXPONENT.search(_TAG.sub(" x ", when))
        if literal:
            yield (
                path,
                (
                    f"when {when!r} has the number {literal.group(0)} in exponent form, which govaluate cannot read; "
                    "write it in fixed-point"
                ),
            )
        elif _OUTPUT_COMPARED.search(when):
            yield (
                path,
                (
                    f"when {when!r} compares an output parameter as a number with govaluate: a value written as "
                    "1e-05 (or with blanks) makes the task error; compare parsed numbers in an expression tag, "
                    "{{= asFloat(trim(tasks['t'].outputs.parameters['p'])) >= 0.5 }}"
                ),
            )


def executor_token_problems(obj: Obj) -> Iterator[tuple[JsonPath, str]]:
    """`automountServiceAccountToken: false` without an executor ServiceAccount: Argo errors every pod
    node ("executor.serviceAccountName must not be empty if automountServiceAccountToken is false",
    workflow/controller/workflowpod.go `setupServiceAccount`, v4.0.5; shown by the real controller in
    tests/controlplane/test_cluster_argo.py)."""
    if obj.get("kind") not in _WORKFLOW_KINDS:
        return
    base: JsonPath = ("spec", "workflowSpec") if obj.get("kind") == "CronWorkflow" else ("spec",)
    spec = get_path(obj, base)
    if not isinstance(spec, dict) or spec.get("automountServiceAccountToken") is not False:
        return
    if (spec.get("executor") or {}).get("serviceAccountName"):
        return
    for path, template in _templates(obj):
        pod = "container" in template or "script" in template or "containerSet" in template
        if pod and not (template.get("executor") or {}).get("serviceAccountName"):
            yield (
                (*path, "name"),
                (
                    "automountServiceAccountToken is false and no executor.serviceAccountName is set: Argo errors "
                    "this step's pod; give the executor a ServiceAccount (spec.executor.serviceAccountName)"
                ),
            )


def max_duration_problems(obj: Obj) -> Iterator[tuple[JsonPath, str]]:
    """(path, message) for each `backoff.maxDuration` shorter than (limit + 1) × the template's timeout."""
    for template, body in _templates(obj):
        strategy = body.get("retryStrategy")
        backoff = strategy.get("backoff") if isinstance(strategy, dict) else None
        if not isinstance(backoff, dict) or backoff.get("maxDuration") is None:
            continue
        assert isinstance(strategy, dict)
        max_duration = backoff["maxDuration"]
        bound = argo_duration_seconds(max_duration)
        timeout = body.get("timeout")
        per_attempt = argo_duration_seconds(timeout) if timeout is not None else None
        limit = argo_duration_seconds(strategy.get("limit", 0)) or 0.0
        if bound is not None and per_attempt is not None and bound >= (limit + 1) * per_attempt:
            continue
        needed = f", shorter than {int(limit) + 1} attempts of timeout {timeout}" if per_attempt is not None else ""
        yield (
            (*template, "retryStrategy", "backoff", "maxDuration"),
            (
                f"maxDuration {max_duration} counts from the first attempt's start{needed}: a failure after it is "
                "never retried and a retry is killed at that mark; bound each attempt with the template's timeout "
                "and drop maxDuration"
            ),
        )


def scheduled_environments(model: str, per_environment: list[tuple[str, list[Obj]]]) -> list[tuple[str, Obj]]:
    """(environment, CronWorkflow) for each environment where `model` trains on a schedule, when that is
    more than one environment (`per_environment`: the model's final objects per environment)."""
    crons = [
        (env, obj)
        for env, objects in per_environment
        for obj in objects
        if obj.get("kind") == "CronWorkflow" and get_path(obj, _NAME_LABEL) == model
    ]
    return crons if len({env for env, _ in crons}) > 1 else []
