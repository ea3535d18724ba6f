"""Smoke-test Jobs on the local control plane (real kube-apiserver, kube-controller-manager and KServe), and
`promote --require-tests` reading them.

The rendered ConfigMap and Job are applied for real; the real Job controller creates their pod. No kubelet
runs here, so the pod never runs: the tests write what the kubelet would (the pod's phase and the smoke
container's exit code and termination message) through the pod's status subresource, and the real Job
controller turns that into the Job's status (a failed test: the pod failure policy's FailJob, a pass:
Complete), and the real TTL controller deletes a finished Job. `promote --require-tests` then reads the
Job (and its pods) through the API server: refused while it runs, when it failed (naming the failed test)
and when it is gone, allowed when it completed. Flux's own health check of Jobs (kustomize-controller with
`wait: true`) keeps the Kustomization from Ready while the Job runs and marks it failed when the Job fails.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import kustomize_objects, run_cli, snapshot_tree
from projects import model_yaml, project_yaml, write_project

_COUNTER = iter(range(1, 1000))
_RUN = f"{os.getpid() % 100000}"
NOW = "2026-12-07T00:00:00Z"

RESOURCES = "{requests: {cpu: '1', memory: 1Gi}, limits: {cpu: '1', memory: 1Gi}}"
MODEL = (
    f"serving: {{runtime: kserve-sklearnserver, resources: {RESOURCES}}}\n"
    """\
tests:
- name: ready
- name: predict
  request: {body: {instances: [[6.8, 2.8, 4.8, 1.4]]}}
  expect: {json: [{path: /predictions/0, equals: 1}]}
environments:
  staging: {model: {version: "4", storageUri: s3://models/iris/4/model}}
"""
)


def deploy(tmp_path: Path, cluster: Any, *, extra: str = "", model: str = MODEL) -> tuple[Path, str, dict[str, Any]]:
    """A project whose staging runs iris 4 and prod iris 3, staging's objects applied for real;
    (root, staging namespace, the smoke Job as applied)."""
    prefix = f"k{_RUN}-{next(_COUNTER)}"
    project = project_yaml("dev", "staging", "prod", name=prefix, extra=extra).replace(
        "namespace: ml-", f"namespace: {prefix}-"
    )
    root = write_project(tmp_path / "repo", project, {"iris": model_yaml("iris", body=model)})
    assert run_cli(["render"], cwd=root).exit_code == 0
    objects = kustomize_objects(root / "overlays" / "staging")
    assert [str(r) for r in cluster.refusals(objects, dry_run=False)] == []
    job = next(o for o in objects if o["kind"] == "Job")
    return root, f"{prefix}-staging", job


def job_pod(cluster: Any, namespace: str, name: str) -> dict[str, Any]:
    """The pod the real Job controller created for the Job."""

    def pods() -> list[dict[str, Any]] | None:
        found = (
            cluster.resource("v1", "Pod")
            .get(namespace=namespace, label_selector=f"batch.kubernetes.io/job-name={name}")
            .to_dict()["items"]
        )
        return found or None

    pod: dict[str, Any] = cluster.wait_for(f"the pod of Job {name}", pods)[0]
    return pod


def finish(cluster: Any, pod: dict[str, Any], exit_code: int, message: str = "") -> None:
    """What the kubelet writes when the smoke container exits."""
    terminated = {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error"}
    terminated.update({"startedAt": NOW, "finishedAt": NOW})
    if message:
        terminated["message"] = message
    cluster.resource("v1", "Pod").status.patch(
        name=pod["metadata"]["name"],
        namespace=pod["metadata"]["namespace"],
        content_type="application/merge-patch+json",
        body={
            "status": {
                "phase": "Succeeded" if exit_code == 0 else "Failed",
                "containerStatuses": [
                    {
                        "name": "smoke",
                        "image": pod["spec"]["containers"][0]["image"],
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"terminated": terminated},
                    }
                ],
            }
        },
    )


def condition(cluster: Any, namespace: str, name: str, kind: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        job = cluster.get("batch/v1", "Job", name, namespace) or {}
        return next(
            (c for c in (job.get("status") or {}).get("conditions", []) if c["type"] == kind and c["status"] == "True"),
            None,
        )

    found: dict[str, Any] = cluster.wait_for(f"Job {name} {kind}", probe)
    return found


def promote(root: Path, cluster: Any) -> Any:
    return run_cli(
        [
            "promote",
            "iris",
            "--to",
            "prod",
            "--from",
            "staging",
            "--require-tests",
            "--kubeconfig",
            str(cluster.kubeconfig),
        ],
        cwd=root,
    )


def test_the_job_controller_runs_the_rendered_job_hardened(tmp_path: Path, cluster: Any) -> None:
    _, namespace, job = deploy(tmp_path, cluster)
    pod = job_pod(cluster, namespace, job["metadata"]["name"])
    spec = pod["spec"]
    container = spec["containers"][0]
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["args"][container["args"].index("--url") + 1] == f"http://iris-predictor.{namespace}"
    assert spec["automountServiceAccountToken"] is False
    volume = next(v for v in spec["volumes"] if v["name"] == "tests")
    assert cluster.get("v1", "ConfigMap", volume["configMap"]["name"], namespace) is not None
    # the predictor Service the Job calls is the one KServe's reconciler makes for the InferenceService
    cluster.wait_for(
        "KServe's predictor Service", lambda: cluster.get("v1", "Service", "iris-predictor", namespace), timeout=120
    )


def test_promotion_waits_for_a_running_job(tmp_path: Path, cluster: Any) -> None:
    root, namespace, job = deploy(tmp_path, cluster)
    job_pod(cluster, namespace, job["metadata"]["name"])
    before = snapshot_tree(root)
    result = promote(root, cluster)
    assert result.exit_code == 1
    assert (
        "have not finished: Job" in result.stderr
        and f"{namespace}/{job['metadata']['name']} is running" in result.stderr
    )
    assert snapshot_tree(root) == before


def test_promotion_is_refused_naming_the_failed_test(tmp_path: Path, cluster: Any) -> None:
    root, namespace, job = deploy(tmp_path, cluster)
    name = job["metadata"]["name"]
    finish(
        cluster, job_pod(cluster, namespace, name), 1, "FAIL predict: /predictions/0 is 2, expected 1 (3 attempts)\n"
    )
    failed = condition(cluster, namespace, name, "Failed")
    assert failed["reason"] == "PodFailurePolicy"  # the Job controller applied the rendered pod failure policy
    before = snapshot_tree(root)
    result = promote(root, cluster)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"models/iris.yaml: --require-tests: the smoke tests of iris 4 in 'staging' failed: Job {namespace}/{name}: "
        f"PodFailurePolicy: {failed['message']}; FAIL predict: /predictions/0 is 2, expected 1 (3 attempts)"
    ]
    assert snapshot_tree(root) == before


def test_promotion_is_allowed_when_the_job_completed(tmp_path: Path, cluster: Any) -> None:
    root, namespace, job = deploy(tmp_path, cluster)
    name = job["metadata"]["name"]
    finish(cluster, job_pod(cluster, namespace, name), 0)
    condition(cluster, namespace, name, "Complete")
    result = promote(root, cluster)
    assert result.exit_code == 0, result.stderr
    assert f"smoke tests passed in staging: Job {namespace}/{name} completed" in result.stderr
    assert "prod 3 -> 4" in result.stderr
    assert 'version: "4"' in (root / "models" / "iris.yaml").read_text().split("prod:")[1]


def test_the_job_of_another_version_or_other_tests_does_not_count(tmp_path: Path, cluster: Any) -> None:
    root, namespace, job = deploy(tmp_path, cluster)
    name = job["metadata"]["name"]
    finish(cluster, job_pod(cluster, namespace, name), 0)
    condition(cluster, namespace, name, "Complete")
    model = root / "models" / "iris.yaml"
    model.write_text(model.read_text().replace("equals: 1", "equals: 2"))  # new tests, not deployed yet
    assert run_cli(["render"], cwd=root).exit_code == 0
    result = promote(root, cluster)
    assert result.exit_code == 1
    assert "have not run: no Job iris-smoke-" in result.stderr
    assert f"the namespace has {name} (version 4, completed)" in result.stderr


def test_a_job_removed_after_its_ttl_is_not_evidence_and_not_drift(tmp_path: Path, cluster: Any) -> None:
    root, namespace, job = deploy(tmp_path, cluster, extra="tests: {ttl: 2s}\n")
    name = job["metadata"]["name"]
    finish(cluster, job_pod(cluster, namespace, name), 0)
    condition(cluster, namespace, name, "Complete")
    cluster.wait_for("the TTL controller", lambda: cluster.get("batch/v1", "Job", name, namespace) is None, timeout=90)
    result = promote(root, cluster)
    assert result.exit_code == 1 and "(not synced yet, or deleted after tests.ttl" in result.stderr
    status = run_cli(
        ["status", "--env", "staging", "--model", "iris", "--format", "json", "--kubeconfig", str(cluster.kubeconfig)],
        cwd=root,
    )
    import json

    report = json.loads(status.stdout)
    drift = next(m for m in report["models"] if m["name"] == "iris")["drift"]
    assert [d for d in drift if d["kind"] == "Job"] == []
    assert any("removed after tests.ttl" in note for note in report.get("notes", [])), report


def test_require_tests_usage_and_cluster_errors(tmp_path: Path, cluster: Any) -> None:
    root, _, _ = deploy(tmp_path, cluster)
    result = run_cli(
        ["promote", "iris", "--to", "prod", "--version", "5", "--storage-uri", "s3://m/5", "--require-tests"], cwd=root
    )
    assert result.exit_code == 2 and "--require-tests needs --from ENV" in result.stderr
    missing = tmp_path / "nowhere" / "kubeconfig"
    result = run_cli(
        ["promote", "iris", "--to", "prod", "--from", "staging", "--require-tests", "--kubeconfig", str(missing)],
        cwd=root,
    )
    assert result.exit_code == 2 and "no kubeconfig there" in result.stderr


@pytest.mark.parametrize("env", ["dev"])
def test_a_model_without_tests_cannot_require_them(tmp_path: Path, cluster: Any, env: str) -> None:
    root, _, _ = deploy(
        tmp_path, cluster, model=MODEL.replace("environments:\n", f"environments:\n  {env}: {{tests: []}}\n")
    )
    result = run_cli(
        [
            "promote",
            "iris",
            "--to",
            "staging",
            "--from",
            env,
            "--require-tests",
            "--kubeconfig",
            str(cluster.kubeconfig),
        ],
        cwd=root,
    )
    assert result.exit_code == 2 and "iris has no tests in 'dev'" in result.stderr


# --- Flux -------------------------------------------------------------------------------------------


def _flux_ready(cluster: Any, name: str) -> dict[str, Any]:
    found = cluster.get("kustomize.toolkit.fluxcd.io/v1", "Kustomization", name, "flux-system") or {}
    conditions = {c["type"]: c for c in (found.get("status") or {}).get("conditions", [])}
    ready: dict[str, Any] = conditions.get("Ready", {})
    return ready


def test_flux_with_wait_is_not_ready_while_the_job_runs_and_fails_with_it(tmp_path: Path, cluster: Any) -> None:
    """The smoke objects of staging alone, applied by the real kustomize-controller from an ExternalArtifact
    (tests/controlplane/test_cluster_flux.py), with `wait: true` as mlgitops renders it for every environment."""
    from tests.controlplane.test_cluster_flux import ArtifactServer

    prefix = f"x{_RUN}-{next(_COUNTER)}"
    project = project_yaml("dev", "staging", "prod", name=prefix).replace("namespace: ml-", f"namespace: {prefix}-")
    root = write_project(tmp_path / "repo", project, {"iris": model_yaml("iris", body=MODEL)})
    assert run_cli(["render"], cwd=root).exit_code == 0
    namespace = f"{prefix}-staging"
    smoke = [o for o in kustomize_objects(root / "overlays" / "staging") if o["kind"] in ("ConfigMap", "Job")]
    assert len(smoke) == 2
    flux = json_dir(tmp_path / "artifact", smoke)
    cluster.ensure_namespace(namespace)
    artifacts = ArtifactServer()
    try:
        artifact = artifacts.publish(flux, "1" * 40)
        source = cluster.resource("source.toolkit.fluxcd.io/v1", "ExternalArtifact")
        source.create(
            namespace="flux-system",
            body={"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
                  "metadata": {"name": prefix, "namespace": "flux-system"}, "spec": {}},
        )  # fmt: skip
        live = cluster.get("source.toolkit.fluxcd.io/v1", "ExternalArtifact", prefix, "flux-system")
        ready = {"type": "Ready", "status": "True", "reason": "Succeeded", "message": "published",
                 "lastTransitionTime": NOW, "observedGeneration": live["metadata"]["generation"]}  # fmt: skip
        source.status.patch(
            name=prefix,
            namespace="flux-system",
            content_type="application/merge-patch+json",
            body={"status": {"artifact": artifact, "conditions": [ready]}},
        )
        cluster.apply(
            {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": prefix, "namespace": "flux-system"},
                "spec": {
                    "interval": "5s",
                    "retryInterval": "2s",
                    "timeout": "5m",
                    "path": "./",
                    "prune": True,
                    "wait": True,
                    "sourceRef": {"kind": "ExternalArtifact", "name": prefix, "namespace": "flux-system"},
                },
            }
        )
        job = next(o for o in smoke if o["kind"] == "Job")["metadata"]["name"]
        pod = job_pod(cluster, namespace, job)  # Flux applied the Job; the Job controller made its pod
        cluster.wait_for("Flux's health check", lambda: _flux_ready(cluster, prefix) or None)
        time.sleep(7)  # more than an interval and a retry interval: still waiting for the Job
        assert _flux_ready(cluster, prefix).get("status") != "True"
        finish(cluster, pod, 1, "FAIL predict: /predictions/0 is 2, expected 1\n")
        condition(cluster, namespace, job, "Failed")

        def failed() -> dict[str, Any] | None:
            state = _flux_ready(cluster, prefix)
            return state if state.get("status") == "False" and "Failed" in state.get("message", "") else None

        state = cluster.wait_for("Flux to report the failed Job", failed, timeout=120)
        assert state["reason"] == "HealthCheckFailed"
        assert f"Job/{namespace}/{job} status: 'Failed'" in state["message"]

        # a commit fixes the tests: a new Job (the old one pruned), which completes: Ready
        model = root / "models" / "iris.yaml"
        model.write_text(model.read_text().replace("- name: ready\n", "- name: ready\n  retries: 3\n"))
        assert run_cli(["render"], cwd=root).exit_code == 0
        smoke = [o for o in kustomize_objects(root / "overlays" / "staging") if o["kind"] in ("ConfigMap", "Job")]
        fixed = next(o for o in smoke if o["kind"] == "Job")["metadata"]["name"]
        assert fixed != job
        artifact = artifacts.publish(json_dir(tmp_path / "artifact-2", smoke), "2" * 40)
        source.status.patch(
            name=prefix,
            namespace="flux-system",
            content_type="application/merge-patch+json",
            body={"status": {"artifact": artifact, "conditions": [ready]}},
        )
        finish(cluster, job_pod(cluster, namespace, fixed), 0)

        def passed() -> dict[str, Any] | None:
            state = _flux_ready(cluster, prefix)
            return state if state.get("status") == "True" else None

        cluster.wait_for("Flux to be Ready with the completed Job", passed, timeout=120)
        cluster.wait_for("the failed Job pruned", lambda: cluster.get("batch/v1", "Job", job, namespace) is None)
    finally:
        artifacts.server.shutdown()


def json_dir(directory: Path, objects: list[dict[str, Any]]) -> Path:
    """A directory Flux can build: the objects and a kustomization.yaml listing them."""
    import yaml

    directory.mkdir(parents=True)
    (directory / "objects.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    (directory / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [objects.yaml]\n"
    )
    return directory
