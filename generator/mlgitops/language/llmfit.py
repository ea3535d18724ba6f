"""What KServe v0.20 refuses of large models (llm.py: multi-node serving, `engine: llm`, its router), and the
parallel sizes a multi-node replica implies.

Facts read in kserve/kserve v0.20.0:

* Multi-node InferenceService (predictor.workerSpec). The validating webhook
  (pkg/apis/serving/v1beta1/inference_service_validation.go, `validateMultiNodeVariables`, messages in
  component.go) refuses a workerSpec whose model's storageUri is not `pvc://` or `oci://`, whose
  autoscaler class is not `none`, whose model sets `TENSOR_PARALLEL_SIZE` or `PIPELINE_PARALLEL_SIZE` in its
  env, or that asks for a GPU resource outside nvidia.com/gpu, amd.com/gpu, intel.com/gpu and
  habana.ai/gaudi unless annotation `serving.kserve.io/gpu-resource-types` names it; and a canary with a
  workerSpec. The reconciler builds worker pods only for raw Deployments (Standard mode: components/
  predictor.go passes the worker pod spec to `reconcileRawDeployment` alone) and only from a ServingRuntime
  that has a workerSpec (`multiNodeProcess`: "you cannot set WorkerSpec in the InferenceService if the
  ServingRuntime does not have a WorkerSpec"); the stock one is `kserve-huggingfaceserver-multinode`, so a
  custom predictor container (`serving.image`) cannot be multi-node. The Ray backend (the default) runs
  ceil(tensor × pipeline / GPUs per pod) pods per replica (`computeRayNodeAndGPUs`).
* LLMInferenceService (pkg/controller/v1alpha2/llmisvc). The model is fetched from `hf://`, `s3://`,
  `pvc://`, `oci://` or `oci+native://` only (workload_storage.go: "unsupported schema in model URI"). A
  multi-node workload (`worker`) needs the LLMInferenceServiceConfig `kserve-config-llm-worker-pipeline-
  parallel` (config_merge.go), which v0.20 does not ship (config/llmisvcconfig/: only the data-parallel
  worker presets), so only single-node parallelism (`parallelism.tensor`) runs on a stock install. The
  managed Gateway and HTTPRoute (`router: {gateway: {}, route: {}}`) need the Gateway API.

Checks a schema cannot express are here (`large_model_problems`, called by resolve.check_model) and, for what
depends on the environment's cluster, `llm_fit_problems` (clusterfit.check_cluster_fit). Rendered by
render/llm.py and render/kserve.py; source map: checks/sourcemap/llm.py and serving.py.
"""

from __future__ import annotations

import math

from mlgitops.language.llm import Workers
from mlgitops.language.model import Model
from mlgitops.language.project import ClusterFeatures, Project
from mlgitops.language.serving import Gpu, Serving
from mlgitops.language.workspace import Locator
from mlgitops.util.errors import Problem

__all__ = [
    "KSERVE_GPU_RESOURCES",
    "kserve_nodes",
    "large_model_problems",
    "llm_fit_problems",
    "pipeline_parallel",
    "tensor_parallel",
]


# kserve pkg/constants/constants.go: the GPU resources KServe knows without gpu-resource-types; the env
# variables a multi-node model may not set; the storage schemes of each path.
KSERVE_GPU_RESOURCES = ("nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu", "habana.ai/gaudi")
PARALLEL_SIZE_ENV = ("TENSOR_PARALLEL_SIZE", "PIPELINE_PARALLEL_SIZE")
MULTINODE_SCHEMES = ("pvc", "oci")
LLM_SCHEMES = ("hf", "s3", "pvc", "oci", "oci+native")
MULTINODE_RUNTIME = "kserve-huggingfaceserver-multinode"
# KServe's stock ClusterServingRuntimes (config/runtimes/): the multi-node one is the only one with a workerSpec.
STOCK_RUNTIMES = frozenset(
    {
        "kserve-huggingfaceserver",
        "kserve-lgbserver",
        "kserve-mlserver",
        "kserve-paddleserver",
        "kserve-pmmlserver",
        "kserve-predictiveserver",
        "kserve-sklearnserver",
        "kserve-tensorflow-serving",
        "kserve-torchserve",
        "kserve-tritonserver",
        "kserve-xgbserver",
    }
)
# Serving fields an LLMInferenceService has no place for (engine: llm).
NOT_LLM_FIELDS = ("runtime", "runtimeVersion", "protocol", "canary", "transformer", "logger", "timeout",
                  "containerConcurrency", "autoscaling", "batcher", "explainer")  # fmt: skip


def tensor_parallel(workers: Workers, gpu: Gpu) -> int:
    return workers.tensorParallelSize or max(gpu.count, 1)


def pipeline_parallel(workers: Workers) -> int:
    return workers.pipelineParallelSize or workers.size or 1


def kserve_nodes(workers: Workers, gpu: Gpu) -> int:
    """Pods per replica KServe's Ray backend runs: every pod asks for `gpu.count` GPUs (head and workers)."""
    total = tensor_parallel(workers, gpu) * pipeline_parallel(workers)
    return math.ceil(total / gpu.count) if gpu.count else total


def _scheme(uri: str | None) -> str:
    return (uri or "").partition("://")[0]


def large_model_problems(spec: Model, project: Project, locate: Locator) -> list[Problem]:
    """`serving.workers`, `serving.router` and `engine: llm` against what KServe v0.20 runs (module docstring)."""
    serving = spec.serving
    if serving is None:
        return []
    problems: list[Problem] = []

    def at(*path: str | int, message: str) -> None:
        problems.append(Problem(locate(path, False), message))

    if serving.router is not None and serving.engine != "llm":
        at("serving", "router", message="serving.router applies to engine: llm (an LLMInferenceService) only")
    if serving.engine == "deployment" and serving.workers is not None:
        at("serving", "workers", message="serving.workers needs engine: kserve or llm; engine: deployment runs "
           "one pod per replica")  # fmt: skip
    if serving.engine == "llm":
        problems.extend(_llm_problems(spec, serving, locate))
    elif serving.engine == "kserve" and serving.workers is not None:
        problems.extend(_multinode_problems(spec, serving, serving.workers, locate))
        gpu_class = project.gpuClasses.get(serving.gpu.class_ or "")
        if serving.gpu.count and gpu_class is not None and gpu_class.resource not in KSERVE_GPU_RESOURCES:
            at("serving", "gpu", "class", message=f"KServe v0.20 counts the GPUs of multi-node pods as "
               f"{', '.join(KSERVE_GPU_RESOURCES)} only; GPU class {serving.gpu.class_!r} asks for "
               f"{gpu_class.resource}")  # fmt: skip
    return problems


def _multinode_problems(spec: Model, serving: Serving, workers: Workers, locate: Locator) -> list[Problem]:
    problems: list[Problem] = []
    why = "KServe v0.20 multi-node serving (predictor.workerSpec)"

    def at(path: tuple[str | int, ...], message: str) -> None:
        problems.append(Problem(locate(path, False), message))

    if serving.mode != "Standard":
        at(("serving", "mode"), f"{why} runs in mode: Standard only: KServe builds worker pods for raw Deployments "
           "and ignores workerSpec in mode: Knative")  # fmt: skip
    if serving.image is not None:
        at(("serving", "image"), f"{why} needs a ServingRuntime with a workerSpec (such as {MULTINODE_RUNTIME}); a "
           "custom predictor container has none")  # fmt: skip
    if serving.runtime in STOCK_RUNTIMES:
        at(("serving", "runtime"), f"{why} needs a ServingRuntime with a workerSpec; the stock {serving.runtime} "
           f"has none (use {MULTINODE_RUNTIME}, or a runtime of your own with a workerSpec)")  # fmt: skip
    if serving.canary is not None:
        at(("serving", "canary"), f"{why} has no canary: KServe refuses a canary predictor of a multi-node model")
    if serving.autoscaling is not None:
        at(("serving", "autoscaling"), f"{why} does not autoscale: KServe admits only autoscaler class none "
           "(mlgitops renders it); remove serving.autoscaling and set serving.replicas.min")  # fmt: skip
    scheme = _scheme(spec.model.storageUri)
    if spec.model.storageUri is None:
        at(("model", "storage"), f"{why} needs model.storageUri: KServe's webhook refuses a multi-node model "
           "without one (MissingStorageURI)")  # fmt: skip
    elif scheme not in MULTINODE_SCHEMES:
        at(("model", "storageUri"), f"{why} loads the model from pvc:// or oci:// only (every pod reads the same "
           f"files), not {scheme}://: KServe's webhook refuses it")  # fmt: skip
    for name in PARALLEL_SIZE_ENV:
        if name in serving.env:
            at(("serving", "env", name), f"{name} is set by KServe from serving.workers on a multi-node model; its "
               "webhook refuses it in env")  # fmt: skip
    nodes = kserve_nodes(workers, serving.gpu)
    if workers.size is not None and workers.size != nodes:
        tp, pp = tensor_parallel(workers, serving.gpu), pipeline_parallel(workers)
        at(("serving", "workers", "size"), f"size {workers.size} does not match the pods KServe runs per replica: "
           f"ceil(tensorParallelSize {tp} × pipelineParallelSize {pp} / {max(serving.gpu.count, 1)} GPUs per pod) "
           f"= {nodes}; change size or the parallel sizes")  # fmt: skip
    return problems


def _llm_problems(spec: Model, serving: Serving, locate: Locator) -> list[Problem]:
    problems: list[Problem] = []

    def at(path: tuple[str | int, ...], message: str) -> None:
        problems.append(Problem(locate(path, False), message))

    for name in NOT_LLM_FIELDS:
        if getattr(serving, name) is not None:
            at(("serving", name), f"serving.{name} does not apply to engine: llm (an LLMInferenceService has no "
               "such field)")  # fmt: skip
    if serving.mode != "Standard":
        at(("serving", "mode"), "engine: llm has no Knative mode: an LLMInferenceService runs as Deployments")
    if serving.ports:
        at(("serving", "ports"), "serving.ports does not apply to engine: llm: vLLM serves on the port of KServe's "
           "preset (8000)")  # fmt: skip
    if spec.model.storage is not None:
        at(("model", "storage"), "model.storage is the InferenceService's storage spec; an LLMInferenceService "
           "takes model.storageUri only (spec.model.uri)")  # fmt: skip
    scheme = _scheme(spec.model.storageUri)
    if spec.model.storageUri is not None and scheme not in LLM_SCHEMES:
        at(("model", "storageUri"), f"an LLMInferenceService loads its model from {', '.join(LLM_SCHEMES)} only "
           f"(KServe v0.20 refuses {scheme}:// as an unsupported schema)")  # fmt: skip
    workers = serving.workers
    if workers is not None:
        pp = pipeline_parallel(workers)
        if pp > 1 or (workers.size or 1) > 1:
            where = ("serving", "workers", "pipelineParallelSize" if workers.pipelineParallelSize else "size")
            at(where, "a multi-node LLMInferenceService (pipeline parallelism) needs the LLMInferenceServiceConfig "
               "kserve-config-llm-worker-pipeline-parallel, which KServe v0.20 does not ship: use one pod per "
               "replica (tensorParallelSize up to serving.gpu.count)")  # fmt: skip
        tp = tensor_parallel(workers, serving.gpu)
        if tp > max(serving.gpu.count, 1):
            at(("serving", "workers", "tensorParallelSize"), f"tensorParallelSize {tp} needs {tp} GPUs in the pod; "
               f"serving.gpu.count is {serving.gpu.count}")  # fmt: skip
    return problems


def llm_fit_problems(spec: Model, features: ClusterFeatures, locate: Locator) -> list[Problem]:
    """What the environment's cluster lacks for an LLMInferenceService's router."""
    serving = spec.serving
    if serving is None or serving.engine != "llm" or serving.router is None:
        return []
    if serving.router.gateway and not features.gatewayApi:
        return [
            Problem(
                locate(("serving", "router", "gateway"), False),
                "router.gateway makes KServe manage an HTTPRoute on a Gateway, which needs the Gateway API in the "
                "cluster: set clusterFeatures.gatewayApi: true where it is installed, or leave gateway false (the "
                "model is then reached through its Service)",
            )
        ]
    return []
