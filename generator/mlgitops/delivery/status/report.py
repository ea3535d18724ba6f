"""Per model: the version that serves and the one Git pins, readiness, the traffic split, the last
training run, and every object that differs from the render (drift); for the environment: the Git
revision the GitOps tool last applied."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgitops.delivery.smoke import expired_smoke_job
from mlgitops.delivery.status.live import Cluster, ForbiddenError, Resource
from mlgitops.util.kubenames import ENVIRONMENT_LABEL, VERSION_LABEL, Obj

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MODEL_LABEL = "app.kubernetes.io/name"
CANARY_VERSION_ANNOTATION = "mlgitops.io/canary-version"
MASK = "***"
# Kinds listed to find objects labelled as ours that the render no longer has, besides the rendered kinds.
USUAL_KINDS = (
    ("serving.kserve.io/v1beta1", "InferenceService"),
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("v1", "ConfigMap"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("argoproj.io/v1alpha1", "WorkflowTemplate"),
    ("argoproj.io/v1alpha1", "CronWorkflow"),
    ("monitoring.coreos.com/v1", "PodMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
)
# Fields the API server or controllers own on every object: never drift.
_SERVER_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")


@dataclass
class Drift:
    kind: str
    name: str
    path: str
    live: Any
    rendered: Any
    change: str  # missing | extra | changed

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("kind", "name", "path", "live", "rendered", "change")}


@dataclass
class ModelStatus:
    name: str
    git_version: str | None = None
    version: str | None = None
    git_canary: str | None = None
    canary: dict[str, Any] | None = None
    ready: bool | None = None
    reason: str | None = None
    traffic: list[dict[str, Any]] = field(default_factory=list)
    training: dict[str, Any] | None = None
    drift: list[Drift] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.ready is not False and not self.drift

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "gitVersion": self.git_version,
            "canary": self.canary,
            "gitCanaryVersion": self.git_canary,
            "ready": self.ready,
            "reason": self.reason,
            "traffic": self.traffic,
            "training": self.training,
            "drift": [d.as_json() for d in self.drift],
        }


@dataclass
class Revision:
    tool: str | None = None  # flux | argocd
    applied: str | None = None
    head: str | None = None
    reason: str | None = None

    @property
    def current(self) -> bool | None:
        if self.applied is None or self.head is None:
            return None
        return self.applied == self.head

    def as_json(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "applied": self.applied,
            "head": self.head,
            "current": self.current,
            "reason": self.reason,
        }


@dataclass
class StatusReport:
    environment: str
    revision: Revision
    models: list[ModelStatus]
    platform_drift: list[Drift] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(m.healthy for m in self.models) and not self.platform_drift

    def as_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "revision": self.revision.as_json(),
            "models": [m.as_json() for m in self.models],
            "platformDrift": [d.as_json() for d in self.platform_drift],
            "notes": self.notes,
        }


# --- drift --------------------------------------------------------------------------------------


def _comparable(obj: Obj) -> Obj:
    metadata = {k: v for k, v in obj.get("metadata", {}).items() if k not in _SERVER_METADATA}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": metadata}


def _pointer(path: list[str]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def differences(live: Any, wanted: Any, path: list[str] | None = None) -> Iterable[tuple[str, Any, Any]]:
    """(JSON pointer, live, wanted) for every place where the two differ."""
    path = path or []
    if isinstance(live, dict) and isinstance(wanted, dict):
        for key in sorted(set(live) | set(wanted)):
            yield from differences(live.get(key), wanted.get(key), [*path, key])
    elif isinstance(live, list) and isinstance(wanted, list) and len(live) == len(wanted):
        for index, (a, b) in enumerate(zip(live, wanted, strict=True)):
            yield from differences(a, b, [*path, str(index)])
    elif live != wanted:
        yield _pointer(path), live, wanted


def rendered_differences(live: Any, rendered: Any, path: list[str] | None = None) -> Iterable[tuple[str, Any, Any]]:
    """Like `differences`, but only where RENDERED sets a value (the client-side comparison used when
    the credentials may not run a server-side dry run: fields others add are not drift)."""
    path = path or []
    if isinstance(rendered, dict) and isinstance(live, dict):
        for key in sorted(rendered):
            yield from rendered_differences(live.get(key), rendered[key], [*path, key])
    elif isinstance(rendered, list) and isinstance(live, list) and len(live) == len(rendered):
        for index, (a, b) in enumerate(zip(live, rendered, strict=True)):
            yield from rendered_differences(a, b, [*path, str(index)])
    elif live != rendered:
        yield _pointer(path), live, rendered


def _masked(kind: str, path: str, value: Any) -> Any:
    if kind == "Secret" and (path.startswith("/data") or path.startswith("/stringData")) and value is not None:
        return MASK
    return value


def object_drift(cluster: Cluster, resource: Resource, rendered: Obj, notes: set[str]) -> list[Drift]:
    kind, name = rendered["kind"], rendered["metadata"]["name"]
    live = cluster.get(resource, name, rendered["metadata"].get("namespace"))
    if live is None:
        return [Drift(kind, name, "", None, "present", "missing")]
    try:
        wanted = cluster.apply_dry_run(resource, rendered)
        changes = differences(_comparable(live), _comparable(wanted or {}))
    except ForbiddenError:
        notes.add("no permission for server-side dry runs: drift compared field by field on the rendered fields")
        changes = rendered_differences(_comparable(live), _comparable(rendered))
    return [Drift(kind, name, p, _masked(kind, p, a), _masked(kind, p, b), "changed") for p, a, b in changes]


# --- serving, training, revision ----------------------------------------------------------------


def _label(obj: Obj | None, key: str) -> str | None:
    value = ((obj or {}).get("metadata") or {}).get("labels", {}).get(key)
    return str(value) if value is not None else None


def _canary_percent(isvc: Obj) -> int | None:
    spec = isvc.get("spec") or {}
    percent = (spec.get("predictor") or {}).get("canaryTrafficPercent")
    if percent is None:
        for entry in spec.get("canary") or []:
            percent = entry.get("trafficPercent", percent)
    return int(percent) if percent is not None else None


def _isvc_serving(status: ModelStatus, rendered: Obj, live: Obj | None) -> None:
    status.git_version = _label(rendered, VERSION_LABEL)
    status.git_canary = rendered["metadata"].get("annotations", {}).get(CANARY_VERSION_ANNOTATION)
    if live is None:
        status.ready, status.reason = False, f"{rendered['kind']} not found"
        return
    status.version = _label(live, VERSION_LABEL)
    canary = live["metadata"].get("annotations", {}).get(CANARY_VERSION_ANNOTATION)
    if canary is not None:
        status.canary = {"version": canary, "percent": _canary_percent(live)}
    conditions = (live.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    if ready is None:
        status.ready, status.reason = False, "not reconciled yet (no Ready condition)"
    else:
        status.ready = ready.get("status") == "True"
        if not status.ready:
            status.reason = ": ".join(str(ready[k]) for k in ("reason", "message") if ready.get(k)) or "not Ready"
    traffic = (((live.get("status") or {}).get("components") or {}).get("predictor") or {}).get("traffic") or []
    status.traffic = [
        {"revision": t.get("revisionName"), "percent": t.get("percent"), "latest": t.get("latestRevision")}
        for t in traffic
    ]


def _rolled_out(deployment: Obj) -> tuple[bool, str]:
    spec, state = deployment.get("spec") or {}, deployment.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    available = int(state.get("availableReplicas", 0))
    updated = int(state.get("updatedReplicas", 0))
    observed = int(state.get("observedGeneration", 0)) >= int(deployment["metadata"].get("generation", 0))
    if observed and updated >= wanted and available >= wanted:
        return True, ""
    return False, f"{deployment['metadata']['name']}: {available}/{wanted} available, {updated} updated"


def _deployment_serving(status: ModelStatus, rendered: list[Obj], live: dict[str, Obj | None]) -> None:
    stable = [d for d in rendered if not d["metadata"]["name"].endswith("-canary")]
    canary = [d for d in rendered if d["metadata"]["name"].endswith("-canary")]
    status.git_version = _label(stable[0], VERSION_LABEL) if stable else None
    status.git_canary = _label(canary[0], VERSION_LABEL) if canary else None
    reasons, shares = [], []
    for deployment in stable + canary:
        found = live.get(deployment["metadata"]["name"])
        if found is None:
            reasons.append(f"{deployment['metadata']['name']}: Deployment not found")
            continue
        done, why = _rolled_out(found)
        if not done:
            reasons.append(why)
        shares.append((_label(found, VERSION_LABEL), int((found.get("spec") or {}).get("replicas", 1)), found))
    status.ready = not reasons
    status.reason = "; ".join(reasons) or None
    total = sum(replicas for _, replicas, _ in shares) or 1
    status.traffic = [{"version": v, "percent": round(100 * r / total)} for v, r, _ in shares]
    live_stable = [v for v, _, d in shares if not d["metadata"]["name"].endswith("-canary")]
    status.version = live_stable[0] if live_stable else None
    live_canary = [(v, r) for v, r, d in shares if d["metadata"]["name"].endswith("-canary")]
    if live_canary:
        status.canary = {"version": live_canary[0][0], "percent": round(100 * live_canary[0][1] / total)}


def last_run(cluster: Cluster, namespace: str, rendered: list[Obj], gate_metrics: list[str]) -> dict[str, Any] | None:
    """The newest Workflow started from the model's WorkflowTemplate or CronWorkflow."""
    workflows = cluster.resource("argoproj.io/v1alpha1", "Workflow")
    if workflows is None or not rendered:
        return None
    selectors = {
        "WorkflowTemplate": "workflows.argoproj.io/workflow-template",
        "CronWorkflow": "workflows.argoproj.io/cron-workflow",
    }
    runs: list[Obj] = []
    for obj in rendered:
        label = selectors[obj["kind"]]
        runs += cluster.list(workflows, namespace, f"{label}={obj['metadata']['name']}")
    if not runs:
        return {"workflow": None, "phase": None, "finishedAt": None, "gates": None}
    run = max(runs, key=lambda w: (w["metadata"].get("creationTimestamp", ""), w["metadata"]["name"]))
    state = run.get("status") or {}
    nodes = list((state.get("nodes") or {}).values())
    metrics = {
        p["name"]: p.get("value")
        for node in nodes
        for p in (node.get("outputs") or {}).get("parameters") or []
        if p.get("name") in gate_metrics
    }
    ran = {n.get("templateName"): n.get("phase") for n in nodes if n.get("phase") not in ("Skipped", "Omitted")}
    verdict = "passed" if ran.get("register") == "Succeeded" else "failed" if "reject" in ran else None
    gates = {"verdict": verdict, "metrics": metrics} if gate_metrics else None
    return {
        "workflow": run["metadata"]["name"],
        "phase": state.get("phase"),
        "finishedAt": state.get("finishedAt"),
        "gates": gates,
    }


def git_head(root: Path) -> str | None:
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip() if done.returncode == 0 else None


def _flux_revision(status: Obj) -> Any:
    return status.get("lastAppliedRevision")


def _argocd_revision(status: Obj) -> Any:
    return (status.get("sync") or {}).get("revision")


def applied_revision(cluster: Cluster, project: str, environment: str, head: str | None) -> Revision:
    """What Flux (Kustomization status.lastAppliedRevision) or Argo CD (Application
    status.sync.revision) last applied for the environment."""
    selector = f"{ENVIRONMENT_LABEL}={environment},app.kubernetes.io/part-of={project}"
    forbidden, waiting = [], []
    for tool, api_version, kind, read in (
        ("flux", "kustomize.toolkit.fluxcd.io/v1", "Kustomization", _flux_revision),
        ("argocd", "argoproj.io/v1alpha1", "Application", _argocd_revision),
    ):
        resource = cluster.resource(api_version, kind)
        if resource is None:
            continue
        try:
            found = cluster.list(resource, None, selector)
        except ForbiddenError:
            forbidden.append(kind)
            continue
        for obj in found:
            applied = read(obj.get("status") or {})
            if applied:
                # Flux writes "<branch or tag>@sha1:<sha>"; Argo CD the bare commit.
                return Revision(tool, str(applied).rpartition(":")[2], head)
        if found:
            waiting.append(kind)
    revision = Revision(head=head)
    if forbidden:
        revision.reason = f"no permission to read {' or '.join(forbidden)} objects"
    elif waiting:
        revision.reason = f"no {' or '.join(waiting)} has applied a revision yet"
    else:
        revision.reason = f"no Flux Kustomization or Argo CD Application of {project} {environment} in this cluster"
    return revision


# --- one environment ----------------------------------------------------------------------------


def _identity(obj: Obj) -> tuple[str, str, str, str]:
    metadata = obj["metadata"]
    return obj["apiVersion"].rpartition("/")[0], obj["kind"], metadata.get("namespace", ""), metadata["name"]


def collect(workspace: Any, environment: str, cluster: Cluster, only_model: str | None = None) -> StatusReport:
    """The status of every model of WORKSPACE deployed in ENVIRONMENT (or of ONLY_MODEL)."""
    from mlgitops.language.resolve import resolve
    from mlgitops.layout.build import build, check_environment
    from mlgitops.util.yamlio import load_plain

    check_environment(workspace, environment)
    namespace = workspace.project.environment(environment).namespace
    rendered = [d for d in load_plain(build(workspace, environment)) if isinstance(d, dict)]
    by_model: dict[str | None, list[Obj]] = {}
    for obj in rendered:
        owner = _label(obj, MODEL_LABEL) if _label(obj, MANAGED_BY_LABEL) == "mlgitops" else None
        by_model.setdefault(owner, []).append(obj)
    notes: set[str] = set()
    report = StatusReport(
        environment,
        applied_revision(cluster, workspace.project.metadata.name, environment, git_head(workspace.root)),
        [],
    )
    gates: dict[str, list[str]] = {}
    for model in workspace.models:
        resolved = resolve(workspace, model, environment)
        if resolved is not None:
            training = resolved.spec.training
            gates[model.name] = [g.metric for g in training.gates] if training is not None else []
            by_model.setdefault(model.name, [])
    extras = _extras(cluster, namespace, environment, rendered, by_model)
    for name in sorted(n for n in by_model if n is not None):
        if only_model is not None and name != only_model:
            continue
        report.models.append(_model_status(cluster, name, namespace, by_model[name], gates.get(name, []), notes))
        report.models[-1].drift += [d for m, d in extras if m == name]
    if only_model is None:
        for obj in by_model.get(None, []):
            resource = cluster.resource(obj["apiVersion"], obj["kind"])
            if resource is not None and obj["kind"] != "Namespace":
                report.platform_drift += object_drift(cluster, resource, obj, notes)
    report.notes = sorted(notes)
    return report


def _extras(
    cluster: Cluster, namespace: str, environment: str, rendered: list[Obj], by_model: dict[str | None, list[Obj]]
) -> list[tuple[str, Drift]]:
    """Objects labelled as ours in the environment that the render no longer has (objects a
    controller owns, such as KServe's Deployments, are not ours)."""
    selector = f"{MANAGED_BY_LABEL}=mlgitops,{ENVIRONMENT_LABEL}={environment}"
    known = {_identity(o) for o in rendered}
    kinds = sorted({(o["apiVersion"], o["kind"]) for o in rendered if o["kind"] != "Namespace"} | set(USUAL_KINDS))
    found = []
    for api_version, kind in kinds:
        resource = cluster.resource(api_version, kind)
        if resource is None or not resource.namespaced:
            continue
        for obj in cluster.list(resource, namespace, selector):
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
            if _identity(obj) in known or obj["metadata"].get("ownerReferences"):
                continue
            model = _label(obj, MODEL_LABEL) or ""
            by_model.setdefault(model, [])
            found.append((model, Drift(kind, obj["metadata"]["name"], "", "present", None, "extra")))
    return found


# Serving objects whose Ready condition says whether the model serves (an LLMInferenceService reports one as
# an InferenceService does: kserve pkg/apis/serving/v1alpha2 llm_inference_service_lifecycle.go).
_KSERVE_SERVING = ("InferenceService", "LLMInferenceService")


def _model_status(
    cluster: Cluster, name: str, namespace: str, objects: list[Obj], gate_metrics: list[str], notes: set[str]
) -> ModelStatus:
    status = ModelStatus(name)
    live: dict[tuple[str, str], Obj | None] = {}
    for obj in objects:
        resource = cluster.resource(obj["apiVersion"], obj["kind"])
        if resource is None:
            status.drift.append(Drift(obj["kind"], obj["metadata"]["name"], "", None, "present", "missing"))
            notes.add(f"the cluster does not serve {obj['apiVersion']} {obj['kind']}")
            continue
        drift = object_drift(cluster, resource, obj, notes)
        if drift and drift[0].change == "missing" and expired_smoke_job(cluster, obj):
            notes.add(f"smoke Job {obj['metadata']['name']} was removed after tests.ttl; a sync creates it again")
            continue
        status.drift += drift
        if obj["kind"] in (*_KSERVE_SERVING, "Deployment"):
            live[obj["kind"], obj["metadata"]["name"]] = cluster.get(resource, obj["metadata"]["name"], namespace)
    isvcs = [o for o in objects if o["kind"] in _KSERVE_SERVING]
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    if isvcs:
        _isvc_serving(status, isvcs[0], live[isvcs[0]["kind"], isvcs[0]["metadata"]["name"]])
    elif deployments:
        _deployment_serving(status, deployments, {n: o for (k, n), o in live.items() if k == "Deployment"})
    elif not objects:
        status.ready, status.reason = False, "not in Git any more (only live objects remain)"
    training = [o for o in objects if o["kind"] in ("WorkflowTemplate", "CronWorkflow")]
    status.training = last_run(cluster, namespace, training, gate_metrics)
    return status
