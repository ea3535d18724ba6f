"""env / envFrom / volumes of serving and training steps (render/containers.py): rendered field by field on
both engines and in the WorkflowTemplate, checked against the upstream CRDs, followed by missing-reference,
and refused with a position when the shape is wrong."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CRDS, copy_example, run_cli, snapshot_tree

MODEL = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: contents}
model: {format: sklearn, version: "3", storageUri: "s3://m/contents/3/model"}
serving:
  engine: ENGINE
  resources: {limits: {cpu: "1", memory: 2Gi}}
  args: ["--workers=2"]
  env: {HF_TOKEN: {secret: hf-token, key: token}, LOG_LEVEL: info, COLS: {configMap: features, key: columns}}
  envFrom: [{secret: llm-s3}, {configMap: llm-settings}]
  volumes:
  - {name: cache, mountPath: /cache, pvc: model-cache}
  - {name: certs, mountPath: /certs, readOnly: true, secret: tls-certs}
  - {name: scratch, mountPath: /scratch, emptyDir: {medium: Memory, sizeLimit: 1Gi}}
training:
  image: ghcr.io/acme/t:1.0
  steps:
  - name: train
    command: [python, train.py]
    env: {WANDB_API_KEY: {secret: wandb, key: api-key}, EPOCHS: "3"}
    envFrom: [{configMap: train-settings}]
    volumes: [{name: data, mountPath: /data, pvc: datasets, readOnly: true}]
"""
SECRETS = ["hf-token", "llm-s3", "tls-certs", "wandb"]
CONFIG_MAPS = ["features", "llm-settings", "train-settings"]
CLAIMS = ["model-cache", "datasets"]


def _project(root: Path, engine: str, provide: bool = True) -> Path:
    repo = copy_example(root)
    text = MODEL.replace("ENGINE", engine)
    if engine == "deployment":  # the example's dev scales to zero, which needs KServe Knative
        text += "environments:\n  dev: {serving: {replicas: {min: 1}}}\n"
    (repo / "models/contents.yaml").write_text(text)
    if provide:
        project = yaml.safe_load((repo / "mlgitops.yaml").read_text())
        provides = project.setdefault("clusterFeatures", {}).setdefault("provides", {})
        provides.setdefault("secrets", []).extend(SECRETS)
        provides.setdefault("configMaps", []).extend(CONFIG_MAPS)
        provides.setdefault("persistentVolumeClaims", []).extend(CLAIMS)
        (repo / "mlgitops.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    assert run_cli(["render"], cwd=repo).exit_code == 0
    return repo


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _isvc_container(repo: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    isvc = _load(repo / "base/models/contents/inferenceservice-contents.yaml")
    predictor = isvc["spec"]["predictor"]
    return predictor, predictor["model"]


def _by_name(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in entries}


def test_kserve_env_envfrom_volumes_render_and_pass_the_crds(tmp_path: Path) -> None:
    repo = _project(tmp_path / "repo", "kserve")
    predictor, model = _isvc_container(repo)
    env = _by_name(model["env"])
    assert env["HF_TOKEN"] == {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "token"}}}
    assert env["COLS"]["valueFrom"] == {"configMapKeyRef": {"name": "features", "key": "columns"}}
    assert env["LOG_LEVEL"] == {"name": "LOG_LEVEL", "value": "info"}
    assert model["envFrom"] == [{"secretRef": {"name": "llm-s3"}}, {"configMapRef": {"name": "llm-settings"}}]
    assert model["args"] == ["--workers=2"]
    volumes = _by_name(predictor["volumes"])
    assert volumes["cache"] == {"name": "cache", "persistentVolumeClaim": {"claimName": "model-cache"}}
    assert volumes["certs"] == {"name": "certs", "secret": {"secretName": "tls-certs"}}
    assert volumes["scratch"] == {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}
    mounts = _by_name(model["volumeMounts"])
    assert mounts["certs"] == {"name": "certs", "mountPath": "/certs", "readOnly": True}
    assert mounts["cache"] == {"name": "cache", "mountPath": "/cache"}
    result = run_cli(["validate", "--strict", "--crds", str(CRDS)], cwd=repo)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_deployment_engine_gets_the_same_contents(tmp_path: Path) -> None:
    repo = _project(tmp_path / "repo", "deployment")
    deployment = _load(repo / "base/models/contents/deployment-contents-predictor.yaml")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"][-1] == "--workers=2"
    assert container["args"][0] == "--model_name=contents"
    assert _by_name(container["env"])["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hf-token", "key": "token"}
    assert container["envFrom"][0] == {"secretRef": {"name": "llm-s3"}}
    names = [v["name"] for v in pod["volumes"]]
    assert names[0] == "model-store" and {"cache", "certs", "scratch"} <= set(names)
    assert len(names) == len(set(names))
    mounts = [m["mountPath"] for m in container["volumeMounts"]]
    assert mounts[0] == "/mnt/models" and {"/cache", "/certs", "/scratch"} <= set(mounts)
    result = run_cli(["validate", "--strict", "--crds", str(CRDS)], cwd=repo)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_training_step_contents(tmp_path: Path) -> None:
    repo = _project(tmp_path / "repo", "kserve")
    template = _load(repo / "base/models/contents/workflowtemplate-contents-train.yaml")
    step = next(t for t in template["spec"]["templates"] if t["name"] == "train")
    env = _by_name(step["container"]["env"])
    assert env["WANDB_API_KEY"]["valueFrom"] == {"secretKeyRef": {"name": "wandb", "key": "api-key"}}
    assert env["EPOCHS"] == {"name": "EPOCHS", "value": "3"}
    assert "MLGITOPS_OUTPUT_DIR" in env  # the step's own variables stay
    assert step["container"]["envFrom"] == [{"configMapRef": {"name": "train-settings"}}]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "datasets", "readOnly": True}} in step["volumes"]
    assert {"name": "data", "mountPath": "/data", "readOnly": True} in step["container"]["volumeMounts"]


def test_missing_reference_follows_env_envfrom_and_volumes(tmp_path: Path) -> None:
    repo = _project(tmp_path / "repo", "kserve", provide=False)
    result = run_cli(["validate", "--strict", "--crds", str(CRDS)], cwd=repo)
    assert result.exit_code == 1
    pattern = r"(Secret|ConfigMap|PersistentVolumeClaim) '([a-z0-9-]+)' does not exist"
    found = set(re.findall(pattern, result.stdout))
    expected = {("Secret", name) for name in SECRETS} | {("ConfigMap", name) for name in CONFIG_MAPS}
    expected |= {("PersistentVolumeClaim", name) for name in CLAIMS}
    assert expected <= found, found
    assert "clusterFeatures.provides.persistentVolumeClaims" in result.stdout


WRONG = [
    (
        "  volumes: [{name: x, mountPath: /x, pvc: a, secret: b}]\n",
        "set exactly one of pvc, secret, configMap, emptyDir, csi, ephemeral (found pvc and secret)",
    ),
    ("  volumes: [{name: x, mountPath: /x}]\n", "(found none)"),
    ("  volumes: [{name: x, mountPath: /dev/shm, emptyDir: {}}]\n", "sharedMemory"),
    ("  volumes: [{name: devshm, mountPath: /shm, emptyDir: {}}]\n", "reserved"),
    ("  volumes: [{name: m, mountPath: /mnt/models/, pvc: p}]\n", "model.storageUri"),
    ("  volumes: [{name: tmp, mountPath: /t, emptyDir: {}}]\n", "reserved"),
    ("  volumes: [{name: x, mountPath: relative, emptyDir: {}}]\n", "absolute path"),
    ("  volumes: [{name: x, mountPath: /x, hostPath: /etc}]\n", "hostPath"),
    (
        "  volumes: [{name: x, mountPath: /x, emptyDir: {}}, {name: x, mountPath: /y, emptyDir: {}}]\n",
        "two volumes have the name 'x'",
    ),
    ("  envFrom: [{secret: a, configMap: b}]\n", "exactly one of secret or configMap"),
    ("  env: {A: {secret: a}}\n", "key"),
    ("  env: {HF_TOKEN: hf_abcdefghijklmnop}\n", "literal credential"),
]


@pytest.mark.parametrize(("line", "message"), WRONG)
def test_wrong_shapes_are_positioned_errors(tmp_path: Path, line: str, message: str) -> None:
    repo = copy_example(tmp_path / "repo")
    text = MODEL.replace("ENGINE", "kserve")
    text = re.sub(r"  env: \{HF_TOKEN.*\n  envFrom: .*\n  volumes:\n(  - .*\n)+", "", text)
    text = text.replace('  args: ["--workers=2"]\n', '  args: ["--workers=2"]\n' + line)
    (repo / "models/contents.yaml").write_text(text)
    before = snapshot_tree(repo)
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1, result.stdout
    assert re.search(r"models/contents\.yaml:9:\d+: ", result.stderr), result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "hf_abcdefghijklmnop" not in result.stderr
    assert snapshot_tree(repo) == before
