"""`engine: llm` → one LLMInferenceService (serving.kserve.io/v1alpha2, the version KServe v0.20's CRD stores).

KServe's LLM controller merges the object over its presets (LLMInferenceServiceConfig
`kserve-config-llm-template` and, with a router, the scheduler and route presets) with a strategic merge
patch (kserve pkg/controller/v1alpha2/llmisvc/config_merge.go): the `main` container keeps the preset's
vLLM command and probes and gets what is rendered here over them (env by name, volumeMounts by mount
path, resources, securityContext); `args` reach `vllm serve` (the preset's command ends with `--` and
`$@`). The model comes from `spec.model.uri` (downloaded into /mnt/models) and is served under
`spec.model.name`, the model's name.

* `model.storageUri` → `spec.model.uri`; `metadata.name` → `spec.model.name`;
* `serving.replicas.min` → `spec.replicas` (a fixed count: replicas.max does not apply);
* `serving.workers` → `spec.parallelism` (`tensor`, and `pipeline` when written);
* `serving.router: {gateway, scheduler}` → `spec.router` as KServe's LLM samples write it
  (docs/samples/llmisvc: `route: {}` and `gateway: {}` for the managed HTTPRoute and Gateway,
  `scheduler: {}` for the inference scheduler);
* GPUs, resources, image, args, probes, env, volumes and placement → the `main` container and
  `spec.template`.

The pod is hardened like every serving pod (render/pods.py), with a writable root as the preset requires
(nvidia-cdi-hook), and a GPU pod's /dev/shm is the preset's `dshm` volume resized (1Gi per GPU by default).

Source map (object path → spec line): checks/sourcemap/llm.py.
"""

from __future__ import annotations

from mlgitops.language.llmfit import tensor_parallel
from mlgitops.language.project import Project
from mlgitops.language.resolve import ResolvedModel
from mlgitops.render.common import gpu_placement, metadata, resources, standard_annotations, standard_labels
from mlgitops.render.containers import add_contents
from mlgitops.render.kserve_components import probe_fields
from mlgitops.render.pods import (
    SHM_DIR,
    container_security_context,
    pod_security_context,
    serving_hardening,
    serving_shared_memory,
    tmp_mount,
    tmp_volume,
)
from mlgitops.util.kubenames import Obj

LLM_API_VERSION = "serving.kserve.io/v1alpha2"
LLM_KIND = "LLMInferenceService"
MAIN_CONTAINER = "main"  # the container KServe's presets and scheduler look for by name
PRESET_SHM_VOLUME = "dshm"  # kserve config/llmisvcconfig/config-llm-template.yaml: /dev/shm, 1Gi
_CONTAINER_ORDER = ["name", "image", "args", "env", "envFrom", "resources", "readinessProbe", "livenessProbe",
                    "startupProbe", "securityContext", "volumeMounts"]  # fmt: skip


def _main_container(model: ResolvedModel, gpu_limits: dict[str, str]) -> tuple[Obj, list[Obj]]:
    """The `main` container and the pod volumes it needs."""
    serving = model.spec.serving
    assert serving is not None
    container: Obj = {"name": MAIN_CONTAINER}
    if serving.image:
        container["image"] = serving.image
    if serving.args:
        container["args"] = list(serving.args)
    container_resources = resources(serving.resources, gpu_limits)
    if container_resources:
        container["resources"] = container_resources
    container.update(probe_fields(serving.probes))  # over the preset's probes, field by field
    hardening = serving_hardening(model.spec)
    container["securityContext"] = container_security_context(hardening)
    volumes: list[Obj] = []
    mounts: list[Obj] = []
    if hardening.read_only_root:
        volumes.append(tmp_volume())
        mounts.append(tmp_mount())
    shared_memory = serving_shared_memory(serving)
    if shared_memory is not None:
        volumes.append({"name": PRESET_SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": shared_memory}})
        mounts.append({"name": PRESET_SHM_VOLUME, "mountPath": SHM_DIR})
    if mounts:
        container["volumeMounts"] = mounts
    volumes.extend(add_contents(container, serving.env, serving.envFrom, serving.volumes))
    return {key: container[key] for key in sorted(container, key=_CONTAINER_ORDER.index)}, volumes


def render_llm_inference_service(model: ResolvedModel, project: Project) -> Obj:
    serving = model.spec.serving
    assert serving is not None
    gpu_limits, placement = gpu_placement(project, serving.gpu, serving.nodeClass)
    container, volumes = _main_container(model, gpu_limits)
    template: Obj = {}
    if serving.serviceAccount:
        template["serviceAccountName"] = serving.serviceAccount
    template.update(placement)
    template["securityContext"] = pod_security_context()
    template["containers"] = [container]
    if volumes:
        template["volumes"] = volumes

    spec: Obj = {"model": {"uri": model.spec.model.storageUri, "name": model.name}}
    spec["replicas"] = serving.replicas.min
    workers = serving.workers
    if workers is not None:
        parallelism: Obj = {"tensor": tensor_parallel(workers, serving.gpu)}
        if workers.pipelineParallelSize is not None:
            parallelism["pipeline"] = workers.pipelineParallelSize
        spec["parallelism"] = parallelism
    router = serving.router
    if router is not None and (router.gateway or router.scheduler):
        routing: Obj = {}
        if router.gateway:
            routing["route"] = {}
            routing["gateway"] = {}
        if router.scheduler:
            routing["scheduler"] = {}
        spec["router"] = routing
    spec["template"] = template
    return {
        "apiVersion": LLM_API_VERSION,
        "kind": LLM_KIND,
        "metadata": metadata(model.name, standard_labels(model, project, "predictor"), standard_annotations(model)),
        "spec": spec,
    }
