"""`mlgitops status` against the local control plane (real kube-apiserver, etcd and KServe manager):
the bundled example applied for real, then hand edits, deletions, removed models, canaries, training
runs, the Flux revision and too-narrow credentials. Conditions a running pod would set are written
through the status subresource, as the kubelet and controllers would (no kubelet runs here)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from conftest import copy_example, kustomize_objects, run_cli

_COUNTER = iter(range(1, 1000))
_RUN = f"{os.getpid() % 100000}"  # namespaces stay unique when a control plane outlives one test run


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def deployed(tmp_path: Path, cluster: Any, environment: str) -> tuple[Path, str]:
    """A copy of the example whose namespaces and project name are this test's own, committed to Git,
    with ENVIRONMENT's objects applied for real; (root, namespace)."""
    prefix = f"s{_RUN}-{next(_COUNTER)}"
    root = copy_example(tmp_path / "repo")
    project = (root / "mlgitops.yaml").read_text()
    project = re.sub(r"namespace: ml-", f"namespace: {prefix}-", project).replace("name: acme-ml", f"name: {prefix}")
    (root / "mlgitops.yaml").write_text(project)
    assert run_cli(["render"], cwd=root).exit_code == 0
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "example")
    objects = kustomize_objects(root / "overlays" / environment)
    assert [str(r) for r in cluster.refusals(objects, dry_run=False)] == []
    return root, f"{prefix}-{environment}"


def status(root: Path, cluster: Any, *args: str, kubeconfig: Path | None = None) -> tuple[int, str, str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlgitops",
            "status",
            "--kubeconfig",
            str(kubeconfig or cluster.kubeconfig),
            *args,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout, done.stderr


def report(root: Path, cluster: Any, environment: str) -> tuple[int, dict[str, Any]]:
    code, out, err = status(root, cluster, "--env", environment, "--format", "json")
    assert code in (0, 1), err
    return code, json.loads(out)


def model(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in data["models"] if m["name"] == name)


def set_status(cluster: Any, obj: dict[str, Any], state: dict[str, Any]) -> None:
    """Write STATE through the status subresource, as the controller or kubelet would."""
    resource = cluster.resource(obj["apiVersion"], obj["kind"])
    resource.status.patch(
        body={"status": state},
        name=obj["metadata"]["name"],
        namespace=obj["metadata"]["namespace"],
        content_type="application/merge-patch+json",
    )


def mark_rolled_out(cluster: Any, namespace: str, name: str) -> None:
    """Make the Deployment's pods Running and Ready, as a kubelet would (no kubelet runs here), then wait
    until the real Deployment controller counts them available."""
    deployment = cluster.get("apps/v1", "Deployment", name, namespace)
    selector = ",".join(f"{k}={v}" for k, v in deployment["spec"]["selector"]["matchLabels"].items())
    wanted = deployment["spec"].get("replicas", 1)

    def pods() -> list[dict[str, Any]] | None:
        found = cluster.resource("v1", "Pod").get(namespace=namespace, label_selector=selector).to_dict()["items"]
        return found if len(found) >= wanted else None

    now = "2026-12-07T00:00:00Z"
    for pod in cluster.wait_for(f"the pods of {name}", pods):
        set_status(
            cluster,
            {"apiVersion": "v1", "kind": "Pod", "metadata": pod["metadata"]},
            {
                "phase": "Running",
                "podIP": "10.1.0.1",
                "conditions": [
                    {"type": t, "status": "True", "lastTransitionTime": now}
                    for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
                ],
            },
        )

    def available() -> bool:
        state = cluster.get("apps/v1", "Deployment", name, namespace).get("status") or {}
        return bool(state.get("availableReplicas", 0) >= wanted)

    cluster.wait_for(f"{name} to be available", available)


# --- drift ---------------------------------------------------------------------------------------


def test_no_drift_right_after_the_render_is_applied(tmp_path: Path, cluster: Any) -> None:
    root, _ = deployed(tmp_path, cluster, "prod")
    _, data = report(root, cluster, "prod")
    assert {m["name"]: m["drift"] for m in data["models"]} == {
        "churn-scorer": [],
        "fraud-detector": [],
        "support-llm": [],
    }
    assert data["platformDrift"] == []
    assert data["environment"] == "prod"


def test_a_hand_edit_of_a_live_field_is_drift(tmp_path: Path, cluster: Any) -> None:
    root, namespace = deployed(tmp_path, cluster, "prod")
    hpa = cluster.resource("autoscaling/v2", "HorizontalPodAutoscaler")
    hpa.patch(
        body={"spec": {"maxReplicas": 42}},
        name="churn-scorer-predictor",
        namespace=namespace,
        content_type="application/merge-patch+json",
        field_manager="kubectl-edit",
    )
    code, data = report(root, cluster, "prod")
    assert code == 1
    rendered_max = next(
        o["spec"]["maxReplicas"]
        for o in kustomize_objects(root / "overlays" / "prod")
        if o["kind"] == "HorizontalPodAutoscaler" and o["metadata"]["name"] == "churn-scorer-predictor"
    )
    assert model(data, "churn-scorer")["drift"] == [
        {
            "kind": "HorizontalPodAutoscaler",
            "name": "churn-scorer-predictor",
            "path": "/spec/maxReplicas",
            "live": 42,
            "rendered": rendered_max,
            "change": "changed",
        },
    ]
    assert model(data, "fraud-detector")["drift"] == []
    # the text form names it on the model's detail lines
    code, out, _ = status(root, cluster, "--env", "prod", "--model", "churn-scorer")
    assert code == 1
    assert (
        f"changed: HorizontalPodAutoscaler/churn-scorer-predictor /spec/maxReplicas: live 42, rendered {rendered_max}"
        in out
    )


def test_a_deleted_object_is_missing(tmp_path: Path, cluster: Any) -> None:
    root, namespace = deployed(tmp_path, cluster, "prod")
    cluster.resource("monitoring.coreos.com/v1", "PrometheusRule").delete(name="fraud-detector", namespace=namespace)
    code, data = report(root, cluster, "prod")
    assert code == 1
    assert model(data, "fraud-detector")["drift"] == [
        {
            "kind": "PrometheusRule",
            "name": "fraud-detector",
            "path": "",
            "live": None,
            "rendered": "present",
            "change": "missing",
        },
    ]


def test_a_model_removed_from_git_but_still_live_is_extra(tmp_path: Path, cluster: Any) -> None:
    root, _ = deployed(tmp_path, cluster, "prod")
    (root / "models" / "churn-scorer.yaml").unlink()
    assert run_cli(["render"], cwd=root).exit_code == 0
    code, data = report(root, cluster, "prod")
    assert code == 1
    removed = model(data, "churn-scorer")
    assert removed["gitVersion"] is None
    extra = sorted((d["kind"], d["name"]) for d in removed["drift"])
    assert ("Deployment", "churn-scorer-predictor") in extra
    assert ("HorizontalPodAutoscaler", "churn-scorer-predictor-canary") in extra
    assert {d["change"] for d in removed["drift"]} == {"extra"}


# --- serving -------------------------------------------------------------------------------------


def test_a_deployment_canary_split_and_rollout(tmp_path: Path, cluster: Any) -> None:
    root, namespace = deployed(tmp_path, cluster, "prod")
    _, data = report(root, cluster, "prod")
    churn = model(data, "churn-scorer")
    assert churn["ready"] is False
    assert "0/" in churn["reason"]
    names = ("churn-scorer-predictor", "churn-scorer-predictor-canary")
    stable, canary = (cluster.get("apps/v1", "Deployment", name, namespace) for name in names)
    assert churn["version"] == stable["metadata"]["labels"]["app.kubernetes.io/version"]
    share = round(100 * canary["spec"]["replicas"] / (canary["spec"]["replicas"] + stable["spec"]["replicas"]))
    assert churn["canary"] == {"version": canary["metadata"]["labels"]["app.kubernetes.io/version"], "percent": share}
    for name in names:
        mark_rolled_out(cluster, namespace, name)
    _, data = report(root, cluster, "prod")
    assert model(data, "churn-scorer")["ready"] is True
    assert model(data, "churn-scorer")["reason"] is None


def test_an_inference_service_canary_and_kserve_readiness(tmp_path: Path, cluster: Any) -> None:
    root, namespace = deployed(tmp_path, cluster, "staging")
    _, data = report(root, cluster, "staging")
    fraud = model(data, "fraud-detector")
    isvc = cluster.get("serving.kserve.io/v1beta1", "InferenceService", "fraud-detector", namespace)
    assert fraud["version"] == isvc["metadata"]["labels"]["app.kubernetes.io/version"] == fraud["gitVersion"]
    assert fraud["canary"]["version"] == isvc["metadata"]["annotations"]["mlgitops.io/canary-version"]
    assert fraud["ready"] is False  # no kubelet: KServe's predictor never becomes available
    assert fraud["reason"]


# --- training and revision ----------------------------------------------------------------------


def test_the_last_training_run_with_its_gate_values(tmp_path: Path, cluster: Any) -> None:
    root, namespace = deployed(tmp_path, cluster, "prod")
    workflows = cluster.resource("argoproj.io/v1alpha1", "Workflow")
    for name, created, auc, ran in (
        ("old", "2026-12-01T00:00:00Z", "0.80", "reject"),
        ("new", "2026-12-02T00:00:00Z", "0.95", "register"),
    ):
        workflows.create(
            namespace=namespace,
            body={
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Workflow",
                "metadata": {
                    "name": f"fraud-detector-train-{name}",
                    "labels": {"workflows.argoproj.io/cron-workflow": "fraud-detector-train"},
                },
                "spec": {"workflowTemplateRef": {"name": "fraud-detector-train"}},
            },
        )
        time.sleep(1.1)  # creationTimestamp has one-second resolution
        live = cluster.get("argoproj.io/v1alpha1", "Workflow", f"fraud-detector-train-{name}", namespace)
        live["status"] = {
            "phase": "Succeeded",
            "finishedAt": created,
            "nodes": {
                "a": {
                    "id": "a",
                    "name": "a",
                    "type": "Pod",
                    "templateName": "evaluate",
                    "phase": "Succeeded",
                    "outputs": {
                        "parameters": [{"name": "auc", "value": auc}, {"name": "p95_latency_ms", "value": "31"}]
                    },
                },
                "b": {"id": "b", "name": "b", "type": "Pod", "templateName": ran, "phase": "Succeeded"},
            },
        }
        workflows.replace(body=live, namespace=namespace)
    _, data = report(root, cluster, "prod")
    training = model(data, "fraud-detector")["training"]
    assert training == {
        "workflow": "fraud-detector-train-new",
        "phase": "Succeeded",
        "finishedAt": "2026-12-02T00:00:00Z",
        "gates": {"verdict": "passed", "metrics": {"auc": "0.95", "p95_latency_ms": "31"}},
    }


def test_the_revision_flux_applied_beside_head(tmp_path: Path, cluster: Any) -> None:
    root, _ = deployed(tmp_path, cluster, "prod")
    head = _git(root, "rev-parse", "HEAD")
    project = yaml.safe_load((root / "mlgitops.yaml").read_text())["metadata"]["name"]
    kustomization = next(
        o
        for o in yaml.safe_load_all(
            (root / "plugins/flux/in-cluster" / f"kustomization-{project}-prod.yaml").read_text()
        )
        if o
    )
    kustomization["metadata"]["namespace"] = "flux-system"
    cluster.apply(kustomization)
    _, data = report(root, cluster, "prod")
    assert data["revision"]["applied"] is None
    set_status(cluster, kustomization, {"lastAppliedRevision": f"main@sha1:{head}"})
    _, data = report(root, cluster, "prod")
    assert data["revision"] == {"tool": "flux", "applied": head, "head": head, "current": True, "reason": None}
    (root / "README.md").write_text("a new commit\n")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "next")
    _, data = report(root, cluster, "prod")
    assert data["revision"]["current"] is False
    assert data["revision"]["head"] == _git(root, "rev-parse", "HEAD")


# --- errors ---------------------------------------------------------------------------------------


def narrow_kubeconfig(cluster: Any, tmp_path: Path, namespace: str) -> Path:
    """A kubeconfig whose user may only get and list in NAMESPACE (a Role, no cluster-wide reads)."""
    pki = cluster.directory / "state" / "pki"
    key, csr, crt = tmp_path / "reader.key", tmp_path / "reader.csr", tmp_path / "reader.crt"
    subprocess.run(
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=reader", "-keyout", key, "-out", csr],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            "openssl",
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            pki / "ca.crt",
            "-CAkey",
            pki / "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            crt,
        ],
        check=True,
        capture_output=True,
    )
    cluster.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "reader", "namespace": namespace},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}],
        }
    )
    cluster.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "reader", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "User", "name": "reader", "apiGroup": "rbac.authorization.k8s.io"}],
        }
    )
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    import base64

    config["users"][0]["user"] = {
        "client-certificate-data": base64.b64encode(crt.read_bytes()).decode(),
        "client-key-data": base64.b64encode(key.read_bytes()).decode(),
    }
    path = tmp_path / "reader.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_credentials_that_read_one_namespace(tmp_path: Path, cluster: Any) -> None:
    root, namespace = deployed(tmp_path, cluster, "prod")
    reader = narrow_kubeconfig(cluster, tmp_path, namespace)
    code, out, err = status(root, cluster, "--env", "prod", "--format", "json", kubeconfig=reader)
    assert code in (0, 1), err
    data = json.loads(out)
    assert model(data, "fraud-detector")["drift"] == []  # compared field by field: no dry-run permission
    assert any("no permission for server-side dry runs" in n for n in data["notes"])
    assert data["revision"]["reason"] == "no permission to read Kustomization or Application objects"
    # another environment's namespace: one line naming what was refused, exit 2
    code, out, err = status(root, cluster, "--env", "staging", kubeconfig=reader)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "forbidden" in err and "reader" in err


def test_an_unreachable_server_is_an_error_not_a_hang(tmp_path: Path) -> None:
    import os
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "c",
                    "cluster": {
                        "server": f"https://127.0.0.1:{silent.getsockname()[1]}",
                        "insecure-skip-tls-verify": True,
                    },
                }
            ],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c",
        }
        path = tmp_path / "silent.kubeconfig"
        path.write_text(yaml.safe_dump(config))
        root = copy_example(tmp_path / "repo")
        done = subprocess.run(
            [sys.executable, "-m", "mlgitops", "status", "--env", "prod", "--kubeconfig", str(path)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "MLGITOPS_STATUS_TIMEOUT": "2"},
        )
    assert done.returncode == 2
    assert done.stderr.strip().endswith("does not answer: no answer within 6 s"), done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_no_kubeconfig_is_an_error(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    result = run_cli(["status", "--env", "prod", "--kubeconfig", str(tmp_path / "none")], cwd=root)
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"{tmp_path / 'none'}: no kubeconfig there (give --kubeconfig PATH or set KUBECONFIG)"
    )
