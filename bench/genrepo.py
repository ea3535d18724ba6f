"""Generate an mlgitops repository with N models over dev, staging and prod, in one of two shapes.

`synthetic` (the default): models cycle through three small shapes: KServe Standard with a staging canary
(a dark launch: Standard mode routes it no traffic), a GPU model trained on a schedule with gates and served
on Knative, and `engine: deployment`.

`example` (MLGITOPS_BENCH_SHAPE=example, or --shape example): the bundled example project as it is, with every
feature on: its mlgitops.yaml, `base/platform/`, the Jsonnet addons of `templates/`, and its models (a
Knative model with a concurrency metric and a staging canary, a GPU LLM with a gated fine-tuning workflow, a
Deployment-engine model with a canary, monitoring on) cycled and renamed. This is the shape teams run.

    python bench/genrepo.py DIR --models 1000 [--shape example]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1]  # the bundled example project is the repository's root
SHAPE_VARIABLE = "MLGITOPS_BENCH_SHAPE"

PROJECT = """\
apiVersion: mlgitops.io/v1alpha1
kind: Project
metadata: {name: bench}
repoURL: https://github.com/acme/ml-config.git
revision: main
environments:
- name: dev
  namespace: ml-dev
  defaults:
    serving: {replicas: {min: 0, max: 1}}
    training: {schedule: null}
- name: staging
  namespace: ml-staging
- name: prod
  namespace: ml-prod
  syncPolicy: manual
clusterFeatures:
  knative: {podspecNodeSelector: true, podspecTolerations: true, requestMetricsPrometheus: true}
gpuClasses:
  a100:
    nodeSelector: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
argocd: {mode: plugin, image: "ghcr.io/acme/mlgitops-cmp:0.1.0"}
"""

KSERVE = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {{name: {name}, owner: team-{team}}}
model: {{format: sklearn, version: "{v}", storageUri: "s3://models/{name}/{v}/model"}}
serving:
  engine: kserve
  serviceAccount: model-reader
  replicas: {{min: 1, max: 4}}
  autoscaling: {{metric: cpu, target: 70}}
  resources: {{requests: {{cpu: "1", memory: 2Gi}}, limits: {{cpu: "2", memory: 4Gi}}}}
monitoring:
  slo: {{latencyP95Ms: 250, errorRatePercent: 1, availabilityPercent: 99.5}}
  alerts: {{runbook: "https://runbooks.example.com/{name}"}}
  dashboard: false
environments:
  dev: {{serving: {{replicas: {{min: 1}}}}}}
  staging:
    serving: {{canary: {{version: "{v2}", storageUri: "s3://models/{name}/{v2}/model", trafficPercent: 0}}}}
  prod:
    model: {{version: "{v0}", storageUri: "s3://models/{name}/{v0}/model"}}
    serving: {{replicas: {{min: 3, max: 10}}}}
"""

TRAINED = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {{name: {name}, owner: team-{team}}}
model: {{format: huggingface, version: "{v}", storageUri: "s3://models/{name}/{v}/model"}}
serving:
  mode: Knative
  replicas: {{min: 1, max: 3}}
  resources: {{requests: {{cpu: "4", memory: 16Gi}}, limits: {{memory: 16Gi}}}}
  gpu: {{count: 1, class: a100}}
training:
  image: ghcr.io/acme/train@sha256:{digest}
  schedule: "0 3 * * 1"
  timeout: 6h
  parameters: {{data-uri: "s3://data/{name}/"}}
  steps:
  - {{name: prepare, command: [python, -m, m.prepare], outputs: [features]}}
  - {{name: train, after: [prepare], command: [python, -m, m.train], inputs: [features], outputs: [model],
     gpu: {{count: 1, class: a100}}, retries: 2, timeout: 4h}}
  - {{name: evaluate, after: [train], command: [python, -m, m.evaluate], inputs: [model], metrics: [auc]}}
  gates: [{{metric: auc, op: ">=", value: 0.9}}]
data: [{{name: events, uri: "s3://data/{name}/events", version: "2026-11-01"}}]
monitoring:
  slo: {{latencyP95Ms: 250, errorRatePercent: 1, availabilityPercent: 99.5}}
  alerts: {{runbook: "https://runbooks.example.com/{name}"}}
  dashboard: true
environments:
  prod: {{serving: {{replicas: {{min: 2, max: 6}}}}}}
"""

DEPLOYMENT = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {{name: {name}, owner: team-{team}}}
model: {{format: xgboost, version: "{v}", storageUri: "gs://models/{name}/{v}/model.bst"}}
serving:
  engine: deployment
  replicas: {{min: 2, max: 8}}
  resources: {{requests: {{cpu: 500m, memory: 1Gi}}, limits: {{cpu: "1", memory: 2Gi}}}}
monitoring:
  slo: {{latencyP95Ms: 250, errorRatePercent: 1, availabilityPercent: 99.5}}
  alerts: {{runbook: "https://runbooks.example.com/{name}"}}
  dashboard: false
environments:
  dev: {{serving: {{replicas: {{min: 1}}}}}}
  prod: {{serving: {{replicas: {{min: 4, max: 16}}}}}}
"""

SHAPES = (KSERVE, TRAINED, DEPLOYMENT)


def model_name(index: int) -> str:
    return f"model-{index:04d}"


def shape() -> str:
    """`synthetic` or `example`, from MLGITOPS_BENCH_SHAPE (every benchmark reads it through here)."""
    chosen = os.environ.get(SHAPE_VARIABLE, "synthetic")
    if chosen not in ("synthetic", "example"):
        raise SystemExit(f"{SHAPE_VARIABLE}={chosen!r}: choose synthetic or example")
    return chosen


def _example_models() -> list[Path]:
    return sorted((EXAMPLE / "models").glob("*.yaml"))


_FIRST_VERSION = re.compile(r'(\n  version: )"[^"]*"')


def model_text(index: int, version: int = 5) -> str:
    """Model `index`'s file; a different `version` changes what it serves (a one-model change)."""
    if shape() == "example":
        source = _example_models()[index % len(_example_models())]
        text = source.read_text().replace(source.stem, model_name(index))
        return _FIRST_VERSION.sub(lambda m: f'{m.group(1)}"{version}"', text, count=1) if version != 5 else text
    shape_text = SHAPES[index % len(SHAPES)]
    return shape_text.format(
        name=model_name(index), team=index % 7, v=version, v0=version - 1, v2=version + 1, digest=f"{index:064x}"
    )


def generate(directory: Path, models: int) -> Path:
    """Write mlgitops.yaml and `models` model files into `directory` (created if needed)."""
    (directory / "models").mkdir(parents=True, exist_ok=True)
    if shape() == "example":
        shutil.copy2(EXAMPLE / "mlgitops.yaml", directory / "mlgitops.yaml")
        shutil.copytree(EXAMPLE / "base" / "platform", directory / "base" / "platform", dirs_exist_ok=True)
        shutil.copytree(EXAMPLE / "templates", directory / "templates", dirs_exist_ok=True)
    else:
        (directory / "mlgitops.yaml").write_text(PROJECT)
    for index in range(models):
        (directory / "models" / f"{model_name(index)}.yaml").write_text(model_text(index))
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--shape", choices=["synthetic", "example"], default=None)
    args = parser.parse_args()
    if args.shape:
        os.environ[SHAPE_VARIABLE] = args.shape
    generate(args.directory, args.models)


if __name__ == "__main__":
    main()
