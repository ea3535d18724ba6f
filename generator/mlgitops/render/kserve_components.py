"""The InferenceService's parts beyond the model block: container ports and probes, the batcher, the storage
spec, the transformer (a component of its own or collocated in the predictor's pod) and the explainer.

Every container here is hardened as render/pods.py hardens the rest: the `restricted` security context on the
container, seccomp on the pod where the mode allows a pod-level securityContext (Standard; Knative refuses
it). Images mlgitops knows nothing of keep a writable root, with the serving block's user settings.

Source map (object path → spec line): checks/sourcemap/serving.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlgitops.language.probes import PROBE_FIELDS, ContainerPort, Probes
from mlgitops.language.project import Project
from mlgitops.language.serving import Autoscaling, Explainer, ModelStorage, Serving, Transformer
from mlgitops.language.servingfit import TRANSFORMER_PORT
from mlgitops.render.common import node_class_placement, resources
from mlgitops.render.containers import env_list
from mlgitops.render.pods import Hardening, container_security_context, pod_security_context
from mlgitops.util.kubenames import Obj

# kserve pkg/constants/constants.go: InferenceServiceContainerName (KServe names a custom explainer's and a
# standalone transformer's container so) and TransformerContainerName (the collocated transformer).
COMPONENT_CONTAINER = "kserve-container"
TRANSFORMER_CONTAINER = "transformer-container"


def port_list(ports: Sequence[ContainerPort]) -> list[Obj]:
    """Container `ports` entries as written (the protocol always explicit, TCP unless given)."""
    rendered: list[Obj] = []
    for port in ports:
        entry: Obj = {"name": port.name} if port.name else {}
        entry.update({"containerPort": port.containerPort, "protocol": port.protocol})
        rendered.append(entry)
    return rendered


def probe_fields(probes: Probes | None) -> Obj:
    """readinessProbe, livenessProbe and startupProbe of a container, as the Kubernetes objects."""
    if probes is None:
        return {}
    fields: Obj = {}
    for kind, probe in probes.items():
        rendered: Obj = probe.model_dump(exclude_none=True)
        http = rendered.get("httpGet")
        if isinstance(http, dict) and not http.get("httpHeaders"):
            http.pop("httpHeaders", None)
        fields[PROBE_FIELDS[kind]] = rendered
    return fields


def batcher(serving: Serving) -> Obj | None:
    """predictor.batcher: the fields written (an empty block enables the batcher with the agent's defaults)."""
    if serving.batcher is None:
        return None
    return serving.batcher.model_dump(exclude_none=True)


def storage_block(storage: ModelStorage | None, with_path: bool) -> Obj | None:
    """predictor.model.storage; `path` only where no storageUri is rendered beside it (KServe loads the URI)."""
    if storage is None:
        return None
    block: Obj = {}
    if storage.key is not None:
        block["key"] = storage.key
    if with_path and storage.path is not None:
        block["path"] = storage.path
    if storage.parameters:
        block["parameters"] = {key: storage.parameters[key] for key in sorted(storage.parameters)}
    return block


def keda_autoscaling(scaling: Autoscaling | None) -> Obj | None:
    """A component's autoScaling for an external Prometheus metric (kserve pkg/apis/serving/v1beta1/component.go
    AutoScalingSpec/ExternalMetricSource; the KEDA reconciler's prometheus trigger takes target.value as its
    threshold)."""
    if scaling is None or scaling.metric != "prometheus":
        return None
    metric = {"backend": "prometheus", "serverAddress": scaling.serverAddress, "query": scaling.query}
    target = {"type": "Value", "value": scaling.target}
    external: Obj = {"metric": metric, "target": target}
    auth = scaling.authentication
    if auth is not None:  # ExtMetricAuthentication: the trigger's authenticationRef and authModes (comma-separated)
        external["authenticationRef"] = {"authenticationRef": {"name": auth.name}}
        if auth.modes:
            external["authenticationRef"]["authModes"] = ",".join(auth.modes)
    return {"metrics": [{"type": "External", "external": external}]}


def _unknown_image(serving: Serving) -> Hardening:
    """An image mlgitops knows nothing of: the serving securityContext's user settings, a writable root."""
    context = serving.securityContext
    return Hardening(context.runAsNonRoot, context.runAsUser, read_only_root=False)


def _container(name: str, spec: Transformer | Explainer, serving: Serving) -> Obj:
    container: Obj = {"name": name, "image": spec.image}
    if spec.command:
        container["command"] = list(spec.command)
    if spec.args:
        container["args"] = list(spec.args)
    if spec.env:
        container["env"] = env_list(spec.env)
    return container


def _finish(container: Obj, spec: Transformer | Explainer, serving: Serving) -> Obj:
    own = resources(spec.resources, {})
    if own:
        container["resources"] = own
    container["securityContext"] = container_security_context(_unknown_image(serving))
    return container


def collocated_transformer(serving: Serving) -> Obj | None:
    """The transformer as a container of the predictor's pod (predictor.containers, `transformer-container`):
    it serves the pod's port, unnamed (Knative admits no other name than h2c and http1, and a second `http`
    would make the PodMonitor's port name match two containers)."""
    spec = serving.transformer
    if spec is None or not spec.collocated:
        return None
    container = _container(TRANSFORMER_CONTAINER, spec, serving)
    container["ports"] = [{"containerPort": TRANSFORMER_PORT, "protocol": "TCP"}]
    container.update(probe_fields(spec.probes))
    return _finish(container, spec, serving)


def transformer_component(serving: Serving, project: Project) -> Obj | None:
    """spec.transformer: a component of its own, with its replicas, autoscaling and placement."""
    spec = serving.transformer
    if spec is None or spec.collocated:
        return None
    component: Obj = {}
    if spec.replicas is not None:
        component["minReplicas"] = spec.replicas.min
        component["maxReplicas"] = spec.replicas.upper
    keda = keda_autoscaling(spec.autoscaling)
    if keda is not None:
        component["autoScaling"] = keda
    elif spec.autoscaling is not None:
        component["scaleMetric"] = spec.autoscaling.metric
        component["scaleTarget"] = spec.autoscaling.target
    if spec.nodeClass is not None:
        component.update(node_class_placement(project, None, spec.nodeClass))
    if serving.mode == "Standard":
        component["securityContext"] = pod_security_context()
    container = _container(TRANSFORMER_CONTAINER, spec, serving)
    container.update(probe_fields(spec.probes))
    component["containers"] = [_finish(container, spec, serving)]
    return component


def explainer_component(serving: Serving) -> Obj | None:
    """spec.explainer: one custom container (KServe names it kserve-container and adds --model_name,
    --predictor_host and --http_port unless given: pkg/apis/serving/v1beta1/explainer_custom.go)."""
    spec = serving.explainer
    if spec is None:
        return None
    component: Obj = {}
    if serving.mode == "Standard":
        component["securityContext"] = pod_security_context()
    component["containers"] = [_finish(_container(COMPONENT_CONTAINER, spec, serving), spec, serving)]
    return component
