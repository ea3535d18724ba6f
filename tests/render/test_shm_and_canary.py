"""/dev/shm for GPU pods (issue 10, item 13) and the Deployment-engine canary share at every scale
(item 5): the rendered objects field by field, against the upstream schemas, and the positioned errors
for specs that cannot work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgitops.language.loader import load_workspace
from mlgitops.language.podspec import canary_replicas
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from mlgitops.validate.report import ValidateOptions
from mlgitops.validate.run import load_schema_sources, validate_objects
from tests.conftest import CliResult, finding_lines, run_cli
from tests.projects import A100_GPU_CLASS, model_yaml, project_yaml

Obj = dict[str, Any]

PROJECT = project_yaml(extra=A100_GPU_CLASS)

HEADER = model_yaml(format="huggingface")

SHM_VOLUME_4GI = {"name": "devshm", "emptyDir": {"medium": "Memory", "sizeLimit": "4Gi"}}
SHM_MOUNT = {"name": "devshm", "mountPath": "/dev/shm"}


pytestmark = pytest.mark.usefixtures("private_validate_cache")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(PROJECT)
    return root


def write_model(root: Path, body: str) -> Path:
    path = root / "models" / "m.yaml"
    path.write_text(HEADER + body)
    return path


def objects_of(root: Path, env: str) -> dict[tuple[str, str], Obj]:
    workspace = load_workspace(root)
    objects = environment_objects(workspace, env, render_models(workspace), with_namespace=False)
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def assert_valid(root: Path, crds: Path, objects: dict[tuple[str, str], Obj]) -> None:
    sources = load_schema_sources(ValidateOptions(crds=(crds,)))
    project = load_workspace(root).project
    assert validate_objects(list(objects.values()), sources, environment="prod", project=project) == []


def render(root: Path) -> CliResult:
    return run_cli(["render"], cwd=root)


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


# --- /dev/shm ----------------------------------------------------------------------------------------------

TRAINING = """\
training:
  image: ghcr.io/acme/train:1.4.2
  steps:
  - {name: tokenize, command: [python, -m, m.tokenize], outputs: [tokens]}
  - {name: finetune, after: [tokenize], command: [python, -m, m.finetune], inputs: [tokens],
     gpu: {count: 4, class: a100}, resources: {limits: {memory: 256Gi}}}
  - {name: evaluate, after: [finetune], command: [python, -m, m.evaluate], gpu: {count: 1, class: a100},
     sharedMemory: 8Gi, resources: {limits: {memory: 64Gi}}}
"""


def test_gpu_training_steps_get_a_memory_backed_dev_shm(repo: Path, crds_dir: Path) -> None:
    """Before: the 64 MiB runtime default. Now: 1Gi per GPU, or the step's sharedMemory; CPU steps unchanged."""
    write_model(repo, TRAINING)
    objects = objects_of(repo, "prod")
    templates = {t["name"]: t for t in objects[("WorkflowTemplate", "m-train")]["spec"]["templates"]}
    finetune, evaluate, tokenize = templates["finetune"], templates["evaluate"], templates["tokenize"]
    assert finetune["volumes"] == [SHM_VOLUME_4GI]
    assert finetune["container"]["volumeMounts"] == [SHM_MOUNT]
    assert evaluate["volumes"] == [{"name": "devshm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}]
    assert evaluate["container"]["volumeMounts"] == [SHM_MOUNT]
    # A CPU step gets no /dev/shm (only the directory of its outputs: render/training.py, STEP_DIRS).
    assert tokenize["volumes"] == [{"name": "mlgitops-outputs", "emptyDir": {}}]
    assert tokenize["container"]["volumeMounts"] == [{"name": "mlgitops-outputs", "mountPath": "/tmp/mlgitops/outputs"}]
    assert_valid(repo, crds_dir, objects)


def test_gpu_serving_gets_dev_shm_on_both_engines(repo: Path, crds_dir: Path) -> None:
    serving = (
        "serving:\n  engine: {engine}\n  gpu: {{count: 4, class: a100}}\n"
        "  resources: {{limits: {{cpu: '8', memory: 64Gi}}}}\n"
    )
    write_model(repo, serving.format(engine="deployment") + "  image: ghcr.io/acme/llm-server:1.0\n")
    deployment = objects_of(repo, "prod")
    pod = deployment[("Deployment", "m-predictor")]["spec"]["template"]["spec"]
    assert SHM_VOLUME_4GI in pod["volumes"]
    assert SHM_MOUNT in pod["containers"][0]["volumeMounts"]
    assert SHM_MOUNT not in pod["initContainers"][0]["volumeMounts"]
    assert_valid(repo, crds_dir, deployment)

    write_model(repo, serving.format(engine="kserve"))
    kserve = objects_of(repo, "prod")
    predictor = kserve[("InferenceService", "m")]["spec"]["predictor"]
    # Named like kserve-huggingfaceserver's own `devshm` volume: KServe merges the predictor's volumes into
    # the runtime's by name (and mounts by mountPath), so the runtime's volume gets the size, not a twin.
    assert predictor["volumes"] == [SHM_VOLUME_4GI]
    assert predictor["model"]["volumeMounts"] == [SHM_MOUNT]
    assert_valid(repo, crds_dir, kserve)


def test_cpu_serving_has_no_dev_shm_unless_asked(repo: Path) -> None:
    write_model(repo, "serving:\n  engine: kserve\n  sharedMemory: 512Mi\n")
    predictor = objects_of(repo, "dev")[("InferenceService", "m")]["spec"]["predictor"]
    assert predictor["volumes"] == [{"name": "devshm", "emptyDir": {"medium": "Memory", "sizeLimit": "512Mi"}}]
    write_model(repo, "serving:\n  engine: kserve\n")
    assert "volumes" not in objects_of(repo, "dev")[("InferenceService", "m")]["spec"]["predictor"]


def test_dev_shm_larger_than_the_memory_limit_is_a_positioned_error(repo: Path) -> None:
    model = write_model(
        repo,
        "serving:\n  gpu: {count: 1, class: a100}\n  sharedMemory: 16Gi\n  resources: {limits: {memory: 8Gi}}\n",
    )
    result = render(repo)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"models/m.yaml:{line_of(model, 'sharedMemory: 16Gi')}:")
    assert "sharedMemory 16Gi exceeds the memory limit 8Gi" in result.stderr
    assert not (repo / "base").exists()


def test_default_dev_shm_above_the_limit_points_at_the_gpu_count(repo: Path) -> None:
    model = write_model(
        repo,
        "training:\n  image: ghcr.io/acme/train:1.4.2\n  steps:\n"
        "  - {name: fit, command: [python, -m, m.fit], gpu: {count: 8, class: a100},\n"
        "     resources: {limits: {memory: 4Gi}}}\n",
    )
    result = render(repo)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"models/m.yaml:{line_of(model, 'gpu: {count: 8')}:")
    assert "the default /dev/shm for 8 GPU(s), 8Gi, exceeds the memory limit 4Gi" in result.stderr
    assert "training.steps.0.sharedMemory" in result.stderr


# --- the Deployment-engine canary --------------------------------------------------------------------------

CANARY_MODEL = """\
serving:
  engine: deployment
  image: ghcr.io/acme/server:1.0
  replicas: {{min: {low}, max: {high}}}
  autoscaling: {{metric: cpu, target: 75}}
  resources: {{limits: {{cpu: "1", memory: 1Gi}}}}
  canary: {{version: "4", storageUri: s3://models/m/4/model, trafficPercent: {share}}}
"""


@pytest.mark.parametrize(
    ("share", "low", "high", "bounds"),
    [(20, 4, 16, (1, 4)), (10, 9, 36, (1, 4)), (50, 2, 10, (2, 10)), (25, 3, 30, (1, 10))],
)
def test_canary_has_its_own_hpa_with_bounds_from_the_share(
    repo: Path, crds_dir: Path, share: int, low: int, high: int, bounds: tuple[int, int]
) -> None:
    """Before: a fixed canary replica count sized for `min` (20 % became 6 % at 16 stable pods)."""
    write_model(repo, CANARY_MODEL.format(low=low, high=high, share=share))
    objects = objects_of(repo, "prod")
    canary = objects[("Deployment", "m-predictor-canary")]
    assert "replicas" not in canary["spec"]
    stable_hpa = objects[("HorizontalPodAutoscaler", "m-predictor")]["spec"]
    hpa = objects[("HorizontalPodAutoscaler", "m-predictor-canary")]
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "m-predictor-canary"}
    assert hpa["spec"]["scaleTargetRef"] == target
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == bounds
    assert hpa["spec"]["metrics"] == stable_hpa["metrics"]  # same metric and target
    assert hpa["metadata"]["labels"]["app.kubernetes.io/version"] == "4"
    # the share of the pods at both ends of the range is the one asked for
    for canary_pods, stable_pods in zip(bounds, (low, high), strict=True):
        assert canary_pods / (canary_pods + stable_pods) == pytest.approx(share / 100)
    assert_valid(repo, crds_dir, objects)


@pytest.mark.parametrize("stable", [1, 2, 3, 4, 7, 16, 100])
@pytest.mark.parametrize("share", [1, 5, 10, 20, 33, 50, 80, 95])
def test_canary_replicas_never_undershoot_the_share(share: int, stable: int) -> None:
    """ceil: at least the share (at least one pod), and one pod fewer would be below it."""
    pods = canary_replicas(share, stable)
    assert pods >= 1
    assert pods / (pods + stable) >= share / 100 - 1e-9
    if pods > 1:
        assert (pods - 1) / (pods - 1 + stable) < share / 100


def test_full_canary_on_the_deployment_engine_is_a_positioned_error(repo: Path) -> None:
    model = write_model(repo, CANARY_MODEL.format(low=1, high=4, share=100))
    result = render(repo)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"models/m.yaml:{line_of(model, 'trafficPercent: 100')}:")
    assert "trafficPercent 100 cannot be honoured with engine: deployment" in result.stderr


def test_coarse_canary_share_is_a_warning_at_the_spec_line(repo: Path, crds_dir: Path) -> None:
    """10 % over one stable pod is one canary pod beside one: half the connections."""
    model = write_model(repo, CANARY_MODEL.format(low=1, high=4, share=10))
    result = run_cli(["validate", "--crds", str(crds_dir), "--format", "json"], cwd=repo)
    lines = [line for line in finding_lines(result.stdout) if "[canary-share]" in line]
    where = f"(models/m.yaml:{line_of(model, 'trafficPercent: 10')}:"
    assert len(lines) == 2  # dev and prod
    for line in lines:
        assert line.startswith("warning [canary-share] ")
        assert "HorizontalPodAutoscaler/m-predictor-canary /spec/minReplicas" in line
        assert "the canary has 1 pod(s) beside 1, so 50% of the connections, not 10%" in line
        assert "serving.replicas.min 6 gives 14%" in line  # within 5 points
        assert where in line
    assert result.exit_code == 0  # a warning; --strict makes it an error
    assert run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=repo).exit_code == 1

    write_model(repo, CANARY_MODEL.format(low=9, high=36, share=10))
    result = run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=repo)
    assert result.exit_code == 0, result.stdout


GPU_JOB = """\
apiVersion: batch/v1
kind: Job
metadata: {name: benchmark}
spec:
  template:
    spec:
      restartPolicy: Never
      nodeSelector: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}
      containers:
      - name: bench
        image: ghcr.io/acme/bench:1.0
        resources: {limits: {nvidia.com/gpu: "8", cpu: "8", memory: 64Gi}}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          runAsNonRoot: true
          seccompProfile: {type: RuntimeDefault}
VOLUMES"""


@pytest.mark.parametrize(
    ("volumes", "warned"),
    [
        ("", True),
        (
            "        volumeMounts: [{name: shm, mountPath: /dev/shm}]\n      volumes: [{name: shm, emptyDir: {}}]\n",
            True,
        ),
        (
            "        volumeMounts: [{name: shm, mountPath: /dev/shm}]\n"
            "      volumes: [{name: shm, emptyDir: {medium: Memory, sizeLimit: 8Gi}}]\n",
            False,
        ),
    ],
)
def test_gpu_pod_without_a_memory_backed_dev_shm_is_a_warning(
    repo: Path, crds_dir: Path, volumes: str, warned: bool
) -> None:
    """The class, caught in a hand-written base/platform object (a disk-backed emptyDir does not count)."""
    write_model(repo, "serving:\n  engine: kserve\n  gpu: {count: 1, class: a100}\n")
    platform = repo / "base" / "platform"
    platform.mkdir(parents=True)
    (platform / "kustomization.yaml").write_text("resources: [job.yaml]\n")
    (platform / "job.yaml").write_text(GPU_JOB.replace("VOLUMES", volumes))
    result = run_cli(["validate", "--crds", str(crds_dir)], cwd=repo)
    lines = [line for line in result.stdout.splitlines() if "[gpu-shared-memory]" in line]
    if warned:
        assert lines == [
            "warning [gpu-shared-memory] base/platform Job/benchmark "
            "/spec/template/spec/containers/0/resources/limits/nvidia.com~1gpu: requests GPUs without a "
            "memory-backed emptyDir at /dev/shm, so it gets the runtime's 64 MiB; mlgitops renders one for GPU "
            "pods (sharedMemory); mount one in hand-written objects (base/platform/job.yaml:12:46)"
        ]
    else:
        assert lines == []  # and the rendered GPU predictor has its own
