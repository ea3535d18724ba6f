"""One builder for the small projects tests write: `mlgitops.yaml` and model files as text, and a project
directory made from them. Text (not dicts) on purpose: tests check `file:line:col` positions, so each test
sees exactly the lines it wrote."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

API_VERSION = "apiVersion: mlgitops.io/v1alpha1\n"

L4_GPU_CLASS = """\
gpuClasses:
  l4:
    nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
"""
A100_GPU_CLASS = """\
gpuClasses:
  a100:
    nodeSelector: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
"""
# A cluster whose Knative allows node selectors and tolerations on pods, behind the Gateway API.
KNATIVE_FEATURES = (
    "clusterFeatures: {gatewayApi: true, knative: {podspecNodeSelector: true, podspecTolerations: true}}\n"
)


def project_yaml(*environments: str, name: str = "acme", extra: str = "") -> str:
    """`mlgitops.yaml` with these environments (default dev and prod), each in namespace `ml-<env>`, then `extra`.

    >>> print(project_yaml("prod"), end="")
    apiVersion: mlgitops.io/v1alpha1
    kind: Project
    metadata: {name: acme}
    repoURL: https://example.com/acme.git
    environments:
    - {name: prod, namespace: ml-prod}
    """
    envs = "".join(f"- {{name: {env}, namespace: ml-{env}}}\n" for env in environments or ("dev", "prod"))
    return (
        f"{API_VERSION}kind: Project\nmetadata: {{name: {name}}}\nrepoURL: https://example.com/{name}.git\n"
        f"environments:\n{envs}{extra}"
    )


def model_yaml(name: str = "m", *, format: str = "sklearn", version: str = "3", body: str = "") -> str:
    """A model file: its header (name, format, a versioned storage URI), then `body` (serving:, training:, ...).

    >>> print(model_yaml(format="huggingface"), end="")
    apiVersion: mlgitops.io/v1alpha1
    kind: Model
    metadata: {name: m}
    model: {format: huggingface, version: "3", storageUri: s3://models/m/3/model}
    """
    return (
        f"{API_VERSION}kind: Model\nmetadata: {{name: {name}}}\n"
        f'model: {{format: {format}, version: "{version}", storageUri: s3://models/{name}/{version}/model}}\n' + body
    )


def write_project(root: Path, project: str, models: Mapping[str, str]) -> Path:
    """`root` with `mlgitops.yaml` and `models/<name>.yaml` for each model; returns `root`."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "mlgitops.yaml").write_text(project)
    for name, text in models.items():
        (root / "models" / f"{name}.yaml").write_text(text)
    return root
