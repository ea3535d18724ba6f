"""`engine: kserve` → one InferenceService (serving.kserve.io/v1beta1, KServe >= 0.20).

Source map (object path → spec line): checks/sourcemap/serving.py.
"""

from __future__ import annotations

from mlgitops.language.clusterfit import features_for, knative_allows
from mlgitops.language.llmfit import pipeline_parallel, tensor_parallel
from mlgitops.language.project import Project
from mlgitops.language.resolve import ResolvedModel
from mlgitops.language.serving import Serving
from mlgitops.render.common import gpu_placement, metadata, resources, standard_annotations, standard_labels
from mlgitops.render.containers import add_contents
from mlgitops.render.kserve_components import (
    batcher,
    collocated_transformer,
    explainer_component,
    keda_autoscaling,
    port_list,
    probe_fields,
    storage_block,
    transformer_component,
)
from mlgitops.render.metric_sources import KSERVE_DEFAULT_METRICS_PORT, standard_metrics_port
from mlgitops.render.pods import (
    container_security_context,
    pod_files,
    pod_security_context,
    serving_hardening,
    serving_shared_memory,
)
from mlgitops.util.kubenames import CANARY_ANNOTATION, DEPLOYMENT_MODE_ANNOTATION, STORAGE_URI_ENV, Obj, dns_safe

# kserve pkg/constants/constants.go: AutoscalerClass annotation and its `keda` class (KServe then writes a
# KEDA ScaledObject from predictor.autoScaling instead of an HPA); InferenceServiceContainerName;
# CustomSpecStorageUriEnvVarKey, the variable through which a custom predictor container gets the storage
# initializer (the model in /mnt/models).
AUTOSCALER_CLASS_ANNOTATION = "serving.kserve.io/autoscalerClass"
PREDICTOR_CONTAINER = "kserve-container"
WORKER_CONTAINER = "worker-container"  # WorkerContainerName: the multi-node runtime's worker container


def _pod_fields(model: ResolvedModel) -> tuple[Obj, Obj]:
    """(predictor pod fields, model container fields) that make the predictor pod run hardened.

    KServe merges these into the ServingRuntime's container and pod (strategic merge: securityContext
    field by field, volumes by name, volumeMounts by mountPath), so they add to what the runtime sets.
    Knative refuses a pod-level securityContext by default: there the container carries everything.
    """
    serving = model.spec.serving
    assert serving is not None
    hardening = serving_hardening(model.spec)
    files = pod_files(hardening, serving_shared_memory(serving))
    pod: Obj = {}
    if serving.mode == "Standard":
        pod["securityContext"] = pod_security_context()
    container: Obj = {}
    if serving.mode == "Standard":
        container["ports"] = _standard_ports(model)
    elif serving.ports:
        container["ports"] = port_list(serving.ports)
    container.update(probe_fields(serving.probes))
    container["securityContext"] = container_security_context(hardening)
    if files.mounts:
        container["volumeMounts"] = list(files.mounts)
    volumes = [*files.volumes, *add_contents(container, serving.env, serving.envFrom, serving.volumes)]
    if volumes:
        pod["volumes"] = volumes
    return pod, container


def _standard_ports(model: ResolvedModel) -> list[Obj]:
    """The ports of a Standard-mode predictor container: KServe's serving port, and the metrics port when the
    model server serves metrics elsewhere.

    Prometheus keeps a PodMonitor endpoint's `port`/`portNumber` only among the ports a pod declares, and no
    ServingRuntime KServe ships declares one (kserve config/runtimes/kserve-*.yaml: only the
    `prometheus.kserve.io/port` annotation). KServe merges `ports` into the runtime's container
    (`MergeRuntimeContainers`, pkg/controller/v1beta1/inferenceservice/utils/utils.go:253) and then targets
    ports[0] where it targeted 8080 before: the Service (reconcilers/service/service_reconciler.go:117-156,
    InferenceServiceDefaultHttpPort when none is declared), the readiness probe
    (reconcilers/deployment/deployment_reconciler.go:307-326) and the agent (webhook/admission/pod/
    agent_injector.go:335). Knative takes one port only and its queue-proxy serves the request metrics, so
    Knative mode declares none.
    """
    serving = model.spec.serving
    assert serving is not None
    if serving.ports:  # the first is the serving port; the server listens there (serving.args)
        ports = port_list(serving.ports)
    else:
        ports = [{"name": "http", "containerPort": KSERVE_DEFAULT_METRICS_PORT, "protocol": "TCP"}]
    metrics_port = standard_metrics_port(model.spec)
    if metrics_port is not None and metrics_port not in {port["containerPort"] for port in ports}:
        named = "metrics" not in {port.get("name") for port in ports}
        ports.append({**({"name": "metrics"} if named else {}), "containerPort": metrics_port, "protocol": "TCP"})
    return ports


def _model_block(model: ResolvedModel, storage_uri: str | None, container_resources: Obj) -> Obj:
    spec = model.spec
    serving = spec.serving
    assert serving is not None
    fmt: Obj = {"name": spec.model.format}
    if spec.model.formatVersion:
        fmt["version"] = spec.model.formatVersion
    block: Obj = {"modelFormat": fmt}
    if serving.runtime:
        block["runtime"] = serving.runtime
    if serving.runtimeVersion:
        block["runtimeVersion"] = serving.runtimeVersion
    if serving.protocol:  # unset: the runtime's default (KServe's is v1)
        block["protocolVersion"] = serving.protocol
    if storage_uri is not None:
        block["storageUri"] = storage_uri
    storage = storage_block(spec.model.storage, with_path=storage_uri is None)
    if storage is not None:
        block["storage"] = storage
    if serving.args:
        block["args"] = list(serving.args)
    if container_resources:
        block["resources"] = container_resources
    block.update(_pod_fields(model)[1])
    return block


def _custom_container(model: ResolvedModel, storage_uri: str, container_resources: Obj) -> Obj:
    """`serving.image`: the predictor is that container (predictor.containers[0]), and KServe's storage
    initializer downloads `storage_uri` into /mnt/models because STORAGE_URI is set on it."""
    serving = model.spec.serving
    assert serving is not None
    container: Obj = {"name": PREDICTOR_CONTAINER, "image": serving.image}
    if serving.args:
        container["args"] = list(serving.args)
    if container_resources:
        container["resources"] = container_resources
    container.update(_pod_fields(model)[1])
    env = [*container.get("env", []), {"name": STORAGE_URI_ENV, "value": storage_uri}]
    if serving.protocol:
        env.append({"name": "PROTOCOL", "value": serving.protocol})
    container["env"] = sorted(env, key=lambda entry: str(entry["name"]))
    # Keep the key order of a model block: env before envFrom and mounts.
    return {key: container[key] for key in sorted(container, key=_CONTAINER_ORDER.index)}


_CONTAINER_ORDER = [
    "name",
    "image",
    "args",
    "env",
    "envFrom",
    "ports",
    "readinessProbe",
    "livenessProbe",
    "startupProbe",
    "resources",
    "securityContext",
    "volumeMounts",
]


def _predictor_extras(serving: Serving) -> Obj:
    """Component fields of the predictor: timeout, containerConcurrency, logger, batcher."""
    extra: Obj = {}
    if serving.timeout is not None:
        extra["timeout"] = serving.timeout
    if serving.containerConcurrency is not None:
        extra["containerConcurrency"] = serving.containerConcurrency
    if serving.logger is not None:
        logger: Obj = {"mode": serving.logger.mode}
        if serving.logger.url:
            logger["url"] = serving.logger.url
        extra["logger"] = logger
    batching = batcher(serving)
    if batching is not None:
        extra["batcher"] = batching
    return extra


def _multinode_resources(container_resources: Obj, gpu_limits: dict[str, str]) -> Obj:
    """A multi-node pod's resources with its GPUs requested too: KServe counts the GPUs of the head and worker
    pods from their requests when it sizes the Ray cluster (components/predictor.go `computeRayNodeAndGPUs`)."""
    if not gpu_limits:
        return container_resources
    return {**container_resources, "requests": {**container_resources.get("requests", {}), **gpu_limits}}


def _worker_spec(model: ResolvedModel, placement: Obj, container_resources: Obj) -> Obj | None:
    """`serving.workers` → predictor.workerSpec: the parallel sizes, and worker pods placed, sized and hardened
    like the head (KServe merges this over the runtime's workerSpec, by container name)."""
    serving = model.spec.serving
    assert serving is not None
    workers = serving.workers
    if workers is None:
        return None
    hardening = serving_hardening(model.spec)
    files = pod_files(hardening, serving_shared_memory(serving))
    container: Obj = {"name": WORKER_CONTAINER}
    if container_resources:
        container["resources"] = container_resources
    container["securityContext"] = container_security_context(hardening)
    if files.mounts:
        container["volumeMounts"] = list(files.mounts)
    spec: Obj = {
        "tensorParallelSize": tensor_parallel(workers, serving.gpu),
        "pipelineParallelSize": pipeline_parallel(workers),
    }
    if serving.serviceAccount:
        spec["serviceAccountName"] = serving.serviceAccount
    spec.update(placement)
    spec["securityContext"] = pod_security_context()
    spec["containers"] = [container]
    if files.volumes:
        spec["volumes"] = list(files.volumes)
    return spec


def render_inference_service(model: ResolvedModel, project: Project) -> Obj:
    serving = model.spec.serving
    assert serving is not None
    gpu_limits, placement = gpu_placement(project, serving.gpu, serving.nodeClass)
    if serving.mode == "Knative" and placement:
        # Knative refuses placement fields its config-features flags do not enable (clusterfit.py); GPU
        # limits need no flag. Resolution refuses an environment that needs a missing flag, so this only
        # trims the base, which is rendered for what every environment has.
        features = features_for(project, model.environment)
        placement = {field: value for field, value in placement.items() if knative_allows(field, features)}
    container_resources = resources(serving.resources, gpu_limits)
    if serving.workers is not None:
        container_resources = _multinode_resources(container_resources, gpu_limits)
    canary = serving.canary
    # Knative keeps the previous revision itself: the predictor points at the new version and
    # canaryTrafficPercent splits traffic. Standard declares both versions (spec.canary[]).
    knative_canary = canary is not None and serving.mode == "Knative"
    uri = canary.storageUri if canary is not None and knative_canary else model.spec.model.storageUri

    predictor: Obj = {}
    if serving.serviceAccount:
        predictor["serviceAccountName"] = serving.serviceAccount
    predictor["minReplicas"] = serving.replicas.min
    if serving.workers is None:  # multi-node serving does not autoscale (autoscaler class none)
        predictor["maxReplicas"] = serving.replicas.upper
    keda = keda_autoscaling(serving.autoscaling)
    if keda is not None:
        predictor["autoScaling"] = keda
    elif serving.autoscaling:
        predictor["scaleMetric"] = serving.autoscaling.metric
        predictor["scaleTarget"] = serving.autoscaling.target
    predictor.update(_predictor_extras(serving))
    if canary is not None and knative_canary:
        predictor["canaryTrafficPercent"] = canary.trafficPercent
    predictor.update(placement)
    pod_fields = _pod_fields(model)[0]
    predictor.update(pod_fields)
    # The collocated transformer is the second container of every predictor's pod, the canaries' too.
    beside = [transformer] if (transformer := collocated_transformer(serving)) is not None else []
    if serving.image:
        assert uri is not None  # servingfit.py: a custom predictor image has no storage spec, so a storageUri
        predictor["containers"] = [_custom_container(model, uri, container_resources), *beside]
    else:
        predictor["model"] = _model_block(model, uri, container_resources)
        if beside:
            predictor["containers"] = beside
    worker_spec = _worker_spec(model, placement, container_resources)
    if worker_spec is not None:
        predictor["workerSpec"] = worker_spec

    spec: Obj = {"predictor": predictor}
    if canary is not None and not knative_canary:
        canary_predictor: Obj = {"name": f"v{dns_safe(canary.version)}"}
        if serving.serviceAccount:
            canary_predictor["serviceAccountName"] = serving.serviceAccount
        canary_predictor.update(placement)
        canary_predictor.update(pod_fields)
        if serving.image:
            canary_predictor["containers"] = [
                _custom_container(model, canary.storageUri, container_resources),
                *beside,
            ]
        else:
            canary_model = _model_block(model, canary.storageUri, container_resources)
            canary_predictor["model"] = {"name": PREDICTOR_CONTAINER, **canary_model}
            if beside:
                canary_predictor["containers"] = beside
        spec["canary"] = [{"trafficPercent": canary.trafficPercent, "predictor": canary_predictor}]

    component = transformer_component(serving, project)
    if component is not None:
        spec["transformer"] = component
    explainer = explainer_component(serving)
    if explainer is not None:
        spec["explainer"] = explainer

    extra: dict[str, str] = {DEPLOYMENT_MODE_ANNOTATION: serving.mode}
    if keda is not None:
        extra[AUTOSCALER_CLASS_ANNOTATION] = "keda"
    elif serving.workers is not None:  # the only class KServe admits for a workerSpec
        extra[AUTOSCALER_CLASS_ANNOTATION] = "none"
    if canary is not None:
        extra[CANARY_ANNOTATION] = canary.version
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata(
            model.name, standard_labels(model, project, "predictor"), standard_annotations(model, extra)
        ),
        "spec": spec,
    }
