"""Large models in the spec: `serving.workers` (multi-node serving) and `serving.router` (an LLMInferenceService's,
`engine: llm`). What KServe v0.20 refuses of them, and the parallel sizes they imply, are llmfit.py's."""

from __future__ import annotations

from pydantic import Field

from mlgitops.language.fields import Int32, Strict

__all__ = ["LlmRouter", "Workers"]


class Workers(Strict):
    """Multi-node serving: one replica of the model spans `size` pods (a head and its workers), each with
    `serving.gpu`'s GPUs. engine: kserve renders the predictor's workerSpec (mode: Standard, a multi-node
    ServingRuntime such as kserve-huggingfaceserver-multinode, a pvc:// or oci:// model); engine: llm renders
    `parallelism`."""

    size: Int32 | None = Field(
        default=None,
        ge=1,
        description="pods per replica, the head included (for example 2); default: what the parallel sizes need, "
        "ceil(tensorParallelSize × pipelineParallelSize / serving.gpu.count); when set, it must be that number",
    )
    tensorParallelSize: Int32 | None = Field(
        default=None,
        ge=1,
        description="GPUs one shard of the model is split over, vLLM's --tensor-parallel-size (for example 4); "
        "default: serving.gpu.count (1 without GPUs)",
    )
    pipelineParallelSize: Int32 | None = Field(
        default=None,
        ge=1,
        description="pipeline stages, vLLM's --pipeline-parallel-size, usually one per pod (for example 2); "
        "default: size (1 without it)",
    )


class LlmRouter(Strict):
    """How requests reach an LLMInferenceService (spec.router, as KServe's LLM samples write it)."""

    gateway: bool = Field(
        default=False,
        description="true: KServe manages an HTTPRoute on its default Gateway (router.route and router.gateway "
        "{}); needs the Gateway API (clusterFeatures.gatewayApi)",
    )
    scheduler: bool = Field(
        default=False,
        description="true: the inference scheduler (Gateway API Inference Extension endpoint picker) balances "
        "requests by load and prefix cache (router.scheduler {}); needs its InferencePool CRDs in the cluster",
    )
