"""Smoke tests from outside the cluster, and their verdict inside it.

`run_smoke_tests` is `mlgitops test`: the model's tests for one environment, as the Job would run them
(the same document, render/smoke.py, and the same checker, data/smoke/check.py), sent to a URL from a
laptop or CI. `require_smoke_success` is `promote --require-tests`: it reads, with the official
`kubernetes` client (delivery/status/live.py), the smoke Job the render gives the model in an
environment, and refuses unless that Job completed; a failed Job is reported with its condition and the
failed tests its pods' termination messages name. It reads only (GET and LIST on Jobs and Pods).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlgitops.language.resolve import ResolvedModel, resolve
from mlgitops.language.workspace import ModelFile, Workspace, unknown_environment
from mlgitops.util.errors import MlgitopsError, UsageError
from mlgitops.util.kubenames import Obj
from mlgitops.util.textsafe import printable

if TYPE_CHECKING:
    from mlgitops.data.smoke.check import Outcome
    from mlgitops.delivery.status.live import Cluster

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # set on a Job's pods by the Job controller (Kubernetes 1.27+)
MAX_FAILED_LINES = 10


class SmokeTestError(MlgitopsError):
    """The smoke tests a promotion requires have not passed (or cannot be found)."""


def _resolved(workspace: Workspace, model: ModelFile, env: str) -> ResolvedModel:
    names = workspace.project.environment_names
    if env not in names:
        raise UsageError(unknown_environment(env, names))
    resolved = resolve(workspace, model, env)
    if resolved is None:
        raise UsageError(f"{model.name} is not enabled in {env!r}")
    if not resolved.spec.tests:
        raise UsageError(f"{model.path}: {model.name} has no tests in {env!r} (docs/smoke-tests.md)")
    return resolved


def parse_headers(values: Sequence[str]) -> dict[str, str]:
    """`--header 'Host: iris.example.com'` → {"Host": "iris.example.com"}."""
    headers: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition(":")
        if not sep or not name.strip() or any(c in value for c in "\r\n"):
            raise UsageError(f"--header {value[:80]!r}: write NAME: VALUE")
        headers[name.strip()] = text.strip()
    return headers


@dataclass
class SmokeRun:
    """What `mlgitops test` ran: where, and each test's outcome."""

    model: str
    version: str
    environment: str
    url: str
    outcomes: list[Outcome]

    @property
    def passed(self) -> bool:
        return all(outcome.passed for outcome in self.outcomes)

    def summary(self) -> str:
        good = sum(outcome.passed for outcome in self.outcomes)
        return (
            f"{self.model} {self.version} in {self.environment} at {self.url}: {good} of {len(self.outcomes)} "
            "smoke tests passed"
        )


def run_smoke_tests(
    workspace: Workspace,
    model_name: str,
    env: str,
    *,
    url: str | None = None,
    timeout: float | None = None,
    wait: float = 0.0,
    headers: dict[str, str] | None = None,
    ca_file: str | None = None,
    report: Callable[[str], object] | None = None,
) -> SmokeRun:
    """Run the model's tests of `env` against `url` (default: its in-cluster address); `report` gets each
    test's line as it ends (made printable: the reasons quote what the server sent)."""
    from mlgitops.data.smoke import check
    from mlgitops.render.smoke import document_text, model_url, smoke_document

    model = workspace.model(model_name)
    resolved = _resolved(workspace, model, env)
    document = check.load_document(document_text(smoke_document(resolved, workspace.project)))
    target = url or model_url(resolved, workspace.project)
    seconds = timeout if timeout is not None else float(document["timeoutSeconds"])

    def line(outcome: Outcome) -> None:
        if report is not None:
            report(printable(outcome.line()))

    try:
        outcomes = check.run(
            document, target, timeout=seconds, wait=wait, headers=headers, ca_file=ca_file, report=line
        )
    except check.DocumentError as error:
        raise UsageError(str(error) if str(error).startswith("--") else f"--url: {error}") from None
    return SmokeRun(model.name, resolved.spec.model.version, env, target, outcomes)


# --- the Job on the cluster ----------------------------------------------------------------------


def smoke_job(workspace: Workspace, model: ModelFile, env: str) -> Obj:
    """The smoke Job the render gives the model in `env` (with the model's `patches` applied)."""
    from mlgitops.render.pipeline import render_models
    from mlgitops.render.smoke import SMOKE_COMPONENT

    _resolved(workspace, model, env)
    for item in render_models(workspace, [model.name], [env]):
        for obj in item.environments.get(env) or []:
            labels = obj["metadata"].get("labels") or {}
            if obj["kind"] == "Job" and labels.get("app.kubernetes.io/component") == SMOKE_COMPONENT:
                return obj
    raise SmokeTestError(f"{model.path}: the render of {model.name} in {env!r} has no smoke Job")


def _condition(job: Obj, kind: str) -> Obj | None:
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            found: Obj = condition
            return found
    return None


def failed_tests(cluster: Cluster, namespace: str, job: str) -> list[str]:
    """The `FAIL ...` lines the checker left in the termination messages of the Job's pods."""
    from mlgitops.delivery.status.live import ClusterError
    from mlgitops.render.smoke import CONTAINER

    resource = cluster.resource("v1", "Pod")
    if resource is None:
        return []
    try:
        pods = cluster.list(resource, namespace, f"{JOB_NAME_LABEL}={job}")
    except ClusterError as error:
        return [f"(the Job's pods could not be read: {error})"]
    lines: list[str] = []
    for pod in sorted(pods, key=lambda p: str(p.get("metadata", {}).get("name", ""))):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            if status.get("name") != CONTAINER:
                continue
            for state in (status.get("state"), status.get("lastState")):
                message = ((state or {}).get("terminated") or {}).get("message") or ""
                for text in str(message).splitlines():
                    line = printable(text)[:300]
                    if text.startswith("FAIL ") and line not in lines:
                        lines.append(line)
    return lines[:MAX_FAILED_LINES]


def _others(cluster: Cluster, namespace: str, model: str) -> list[str]:
    """The other smoke Jobs of the model in the namespace: `name (version V, state)`."""
    from mlgitops.render.smoke import SMOKE_COMPONENT

    resource = cluster.resource("batch/v1", "Job")
    if resource is None:
        return []
    selector = f"app.kubernetes.io/name={model},app.kubernetes.io/component={SMOKE_COMPONENT}"
    found = []
    for job in cluster.list(resource, namespace, selector):
        version = (job["metadata"].get("labels") or {}).get("app.kubernetes.io/version", "?")
        state = "completed" if _condition(job, "Complete") else "failed" if _condition(job, "Failed") else "running"
        found.append(f"{job['metadata']['name']} (version {version}, {state})")
    return sorted(found)


def require_smoke_success(cluster: Cluster, workspace: Workspace, model: ModelFile, env: str) -> str:
    """One line saying the smoke Job of the model in `env` completed; SmokeTestError when it did not."""
    rendered = smoke_job(workspace, model, env)
    name = rendered["metadata"]["name"]
    namespace = workspace.project.environment(env).namespace
    version = (rendered["metadata"].get("labels") or {}).get("app.kubernetes.io/version", "?")
    what = f"{model.path}: --require-tests: the smoke tests of {model.name} {version} in {env!r}"
    resource = cluster.resource("batch/v1", "Job")
    job = cluster.get(resource, name, namespace) if resource is not None else None
    if job is None:
        others = _others(cluster, namespace, model.name)
        seen = f"; the namespace has {', '.join(others)}" if others else ""
        raise SmokeTestError(
            f"{what} have not run: no Job {name} in namespace {namespace} (not synced yet, or deleted after "
            f"tests.ttl and not re-created yet){seen}"
        )
    failed = _condition(job, "Failed")
    if failed is not None:
        cause = printable(f"{failed.get('reason') or 'Failed'}: {failed.get('message') or ''}".rstrip(": "))[:300]
        tests = failed_tests(cluster, namespace, name)
        named = f"; {'; '.join(tests)}" if tests else "; the pods name no failed test (see their logs)"
        raise SmokeTestError(f"{what} failed: Job {namespace}/{name}: {cause}{named}")
    if _condition(job, "Complete") is None:
        status: dict[str, Any] = job.get("status") or {}
        raise SmokeTestError(
            f"{what} have not finished: Job {namespace}/{name} is running (active {status.get('active', 0)}, "
            f"failed pods {status.get('failed', 0)}); promote when it completed"
        )
    return f"smoke tests passed in {env}: Job {namespace}/{name} completed"


def expired_smoke_job(cluster: Cluster, rendered: Obj) -> bool:
    """Whether a rendered smoke Job missing from the cluster was most likely removed after its TTL (it has
    one, and its ConfigMap, of the same name, is there): `status` does not count that as drift."""
    from mlgitops.render.smoke import SMOKE_COMPONENT

    metadata = rendered["metadata"]
    labels = metadata.get("labels") or {}
    if rendered["kind"] != "Job" or labels.get("app.kubernetes.io/component") != SMOKE_COMPONENT:
        return False
    if (rendered.get("spec") or {}).get("ttlSecondsAfterFinished") is None:
        return False
    resource = cluster.resource("v1", "ConfigMap")
    return resource is not None and cluster.get(resource, metadata["name"], metadata.get("namespace")) is not None
