"""`tests:` → in each environment, a ConfigMap (the checker and the tests) and a Job that runs them.

The Job calls the model where other pods of the namespace reach it: the Service of its entry component,
`http://<name>-predictor.<namespace>` (`<name>-transformer` with a transformer of its own), port 80. KServe creates
that Service in both deployment modes (kserve pkg/constants/constants.go PredictorServiceName and
TransformerServiceName) and addresses the predictor the same way itself (pkg/apis/serving/v1beta1/
transformer_custom.go, `--predictor_host`); `engine: deployment` renders it (render/deployment.py).

The names of both objects end in a hash of everything they hold (the model version, the tests, the
checker, the image, the address), so a new version or new tests make a new Job, which runs once, while
an unchanged one is left alone: a Job's pod template is immutable, so the object could not be updated
in place anyway. Argo CD and Flux prune the previous pair. `ttlSecondsAfterFinished` (project
`tests.ttl`) removes a finished Job; docs/smoke-tests.md says what each GitOps tool then does.

A failing test fails the Job at once: the checker exits 1 (2 for an unusable document), which the
pod failure policy turns into a failed Job without retrying the pod (Kubernetes' pod failure policy,
batch/v1 PodFailurePolicy); any other pod failure (an eviction, an OOM kill) is retried up to
`backoffLimit`. The checker writes the failed tests to the container's termination message, where
`promote --require-tests` reads them. The pod runs hardened like every pod mlgitops renders
(render/pods.py): non-root, read-only root, no privilege escalation, no capabilities, no
ServiceAccount token, bounded resources.

Source map (object path → spec line): checks/sourcemap/smoke.py.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from mlgitops.language.fields import duration_seconds
from mlgitops.language.project import Project
from mlgitops.language.resolve import ResolvedModel
from mlgitops.language.smoketests import SmokeTest
from mlgitops.render.common import metadata, standard_annotations, standard_labels
from mlgitops.render.pods import Hardening, container_security_context, pod_files, pod_security_context
from mlgitops.util.kubenames import (
    LLM_CERTIFICATE_SUFFIX,
    LLM_WORKLOAD_PORT,
    LLM_WORKLOAD_SUFFIX,
    Obj,
    child_name,
)

SMOKE_COMPONENT = "smoke-test"
CONTAINER = "smoke"
MOUNT_DIR = "/smoke"
CHECKER_FILE = "check.py"
TESTS_FILE = "tests.json"
DOCUMENT_FORMAT = 1
# Argo CD applies the Job in a later wave than the model, after the model's objects are healthy.
SYNC_WAVE_ANNOTATION = "argocd.argoproj.io/sync-wave"
SYNC_WAVE = "1"
# `nobody`: a numeric user, so that the kubelet can verify runAsNonRoot whatever the image declares.
RUN_AS_USER = 65534
HARDENING = Hardening(run_as_non_root=True, run_as_user=RUN_AS_USER, read_only_root=True)
RESOURCES: Obj = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}
# Exit codes of the checker that no retry of the pod changes: 1 a test failed, 2 an unusable document.
FINAL_EXIT_CODES = [1, 2]
BACKOFF_LIMIT = 2
HASH_CHARS = 8
NAME_MAX = 63  # the Job's name becomes a label value of its pods (batch.kubernetes.io/job-name)
SUFFIX = "-smoke-"
# Per attempt beyond the request timeout: the longest pause between attempts (check.py MAX_BACKOFF_SECONDS).
PAUSE_SECONDS = 8
DEADLINE_MARGIN_SECONDS = 60
SERVICE_PORT = 80
CA_VOLUME = "server-certificate"
CA_DIR = "/server-certificate"
CA_FILE = "ca.crt"


@cache
def checker_source() -> str:
    """The checker the Job runs (the package's data/smoke/check.py)."""
    path = Path(__file__).resolve().parent.parent / "data" / "smoke" / CHECKER_FILE
    return path.read_text(encoding="utf-8")


@cache
def _checker_digest() -> str:
    return hashlib.sha256(checker_source().encode("utf-8")).hexdigest()


def _is_llm(model: ResolvedModel) -> bool:
    return model.spec.serving is not None and model.spec.serving.engine == "llm"


def entry_service(model: ResolvedModel) -> str:
    """The Service in front of the model: its transformer's (a component of its own), else its predictor's (a
    collocated transformer serves the predictor pod's port); an LLMInferenceService's workload Service."""
    serving = model.spec.serving
    if _is_llm(model):
        return child_name(model.name, LLM_WORKLOAD_SUFFIX)
    transformer = serving.transformer if serving is not None and serving.engine == "kserve" else None
    if transformer is not None and not transformer.collocated:
        return f"{model.name}-transformer"
    return f"{model.name}-predictor"


def llm_tls(model: ResolvedModel, project: Project) -> bool:
    """Whether the model's server answers over TLS with KServe's self-signed certificate."""
    assert model.environment is not None
    return _is_llm(model) and project.features(model.environment).llmInferenceServiceTls


def model_url(model: ResolvedModel, project: Project) -> str:
    """Where pods of the environment's namespace reach the model: port 80 of its entry Service; for an
    LLMInferenceService, port 8000 of its workload Service, by the `<service>.<namespace>.svc` name KServe's
    certificate lists."""
    assert model.environment is not None
    namespace = project.environment(model.environment).namespace
    if _is_llm(model):
        scheme = "https" if llm_tls(model, project) else "http"
        return f"{scheme}://{entry_service(model)}.{namespace}.svc:{LLM_WORKLOAD_PORT}"
    return f"http://{entry_service(model)}.{namespace}"


def default_path(model: ResolvedModel, test: SmokeTest) -> str:
    """The path a test without `request.path` calls, from the model's protocol (KServe's default is v1); an
    LLMInferenceService's server (vLLM) speaks OpenAI's API: completions, or the served models' list."""
    serving = model.spec.serving
    protocol = serving.protocol if serving is not None else None
    body = test.request.has_body
    if _is_llm(model):
        return "/v1/completions" if body else "/v1/models"
    if protocol == "v2":
        return f"/v2/models/{model.name}/infer" if body else f"/v2/models/{model.name}/ready"
    return f"/v1/models/{model.name}:predict" if body else f"/v1/models/{model.name}"


def _test_entry(model: ResolvedModel, test: SmokeTest) -> Obj:
    request, expect = test.request, test.expect
    entry: Obj = {
        "name": test.name,
        "method": "POST" if request.has_body else "GET",
        "path": request.path or default_path(model, test),
        "headers": dict(sorted(request.headers.items())),
    }
    if request.bodyFile is not None:
        entry["body"] = model.bodies[request.bodyFile]
    elif request.body is not None:
        entry["body"] = json.dumps(request.body, ensure_ascii=False, separators=(",", ":"))
    entry["status"] = expect.status
    checks = []
    for check in expect.json_:
        item: Obj = {"path": check.path}
        for key in ("equals", "oneOf", "min", "max"):
            value = getattr(check, key)
            if value is not None:
                item[key] = value
        checks.append(item)
    entry["json"] = checks
    if expect.latencyMs is not None:
        entry["latencyMs"] = expect.latencyMs
    entry["retries"] = test.retries
    return entry


def smoke_document(model: ResolvedModel, project: Project) -> Obj:
    """The tests as the checker reads them (data/smoke/check.py `load_document`)."""
    settings = project.tests
    return {
        "format": DOCUMENT_FORMAT,
        "model": model.name,
        "version": model.spec.model.version,
        "environment": model.environment,
        "timeoutSeconds": duration_seconds(settings.timeout),
        "waitSeconds": duration_seconds(settings.wait),
        "tests": [_test_entry(model, test) for test in model.spec.tests],
    }


def document_text(document: Obj) -> str:
    """The document as JSON with one line per test (readable in a diff; `indent` would take the slow encoder)."""
    head = json.dumps({key: value for key, value in document.items() if key != "tests"}, ensure_ascii=True)
    tests = ",\n".join(json.dumps(test, ensure_ascii=True) for test in document["tests"])
    return f'{head[:-1]}, "tests": [\n{tests}\n]}}\n'


def _deadline(model: ResolvedModel, project: Project) -> int:
    """activeDeadlineSeconds: the readiness wait, then every attempt of every test at its longest."""
    timeout = duration_seconds(project.tests.timeout)
    attempts = sum((test.retries + 1) * (timeout + PAUSE_SECONDS) for test in model.spec.tests)
    return duration_seconds(project.tests.wait) + attempts + DEADLINE_MARGIN_SECONDS


def _job_spec(model: ResolvedModel, project: Project, config_map: str, labels: dict[str, str]) -> Obj:
    files = pod_files(HARDENING, None)
    container: Obj = {
        "name": CONTAINER,
        "image": project.tests.image,
        "command": ["python3", "-I", "-B", f"{MOUNT_DIR}/{CHECKER_FILE}"],
        "args": [
            "--tests",
            f"{MOUNT_DIR}/{TESTS_FILE}",
            "--url",
            model_url(model, project),
            "--termination-log",
            "/dev/termination-log",
        ],
        "resources": {kind: dict(values) for kind, values in RESOURCES.items()},
        "securityContext": container_security_context(HARDENING),
        "volumeMounts": [{"name": "tests", "mountPath": MOUNT_DIR, "readOnly": True}, *files.mounts],
    }
    volumes: list[Obj] = [{"name": "tests", "configMap": {"name": config_map}}, *files.volumes]
    if llm_tls(model, project):
        # Only the certificate of KServe's Secret: the pod never sees the server's key.
        container["args"] += ["--ca-file", f"{CA_DIR}/{CA_FILE}"]
        container["volumeMounts"].append({"name": CA_VOLUME, "mountPath": CA_DIR, "readOnly": True})
        secret = child_name(model.name, LLM_CERTIFICATE_SUFFIX)
        item = {"key": "tls.crt", "path": CA_FILE}
        volumes.append({"name": CA_VOLUME, "secret": {"secretName": secret, "items": [item]}})
    pod: Obj = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "restartPolicy": "Never",
        "securityContext": pod_security_context(),
        "containers": [container],
        "volumes": volumes,
    }
    spec: Obj = {
        "activeDeadlineSeconds": _deadline(model, project),
        "backoffLimit": BACKOFF_LIMIT,
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {"containerName": CONTAINER, "operator": "In", "values": list(FINAL_EXIT_CODES)},
                },
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
            ]
        },
    }
    if project.tests.ttl is not None:
        spec["ttlSecondsAfterFinished"] = duration_seconds(project.tests.ttl)
    spec["template"] = {"metadata": {"labels": dict(labels)}, "spec": pod}
    return spec


def smoke_name(model_name: str, digest: str) -> str:
    """`<model>-smoke-<hash>`, the model part shortened so that the whole fits in 63 characters."""
    prefix = model_name[: NAME_MAX - len(SUFFIX) - HASH_CHARS].rstrip("-")
    return f"{prefix}{SUFFIX}{digest[:HASH_CHARS]}"


def render_smoke_tests(model: ResolvedModel, project: Project) -> list[Obj]:
    """The ConfigMap and Job of the model's tests in its environment (none for the base, or without tests)."""
    if model.environment is None or not model.spec.tests or model.spec.serving is None:
        return []
    labels = standard_labels(model, project, SMOKE_COMPONENT)
    tests = document_text(smoke_document(model, project))
    spec = _job_spec(model, project, "", labels)  # the ConfigMap's name, once known, goes into volumes[0]
    content = {"checker": _checker_digest(), "tests": tests, "job": spec}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=True).encode()).hexdigest()
    name = smoke_name(model.name, digest)
    spec["template"]["spec"]["volumes"][0]["configMap"]["name"] = name
    data = {CHECKER_FILE: checker_source(), TESTS_FILE: tests}
    config_map: Obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(name, labels, standard_annotations(model)),
        "data": data,
    }
    annotations = standard_annotations(model, {SYNC_WAVE_ANNOTATION: SYNC_WAVE})
    job: Obj = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(name, dict(labels), annotations),
        "spec": spec,
    }
    return [config_map, job]
