"""Serving fields that depend on each other, on the engine and mode, or on the environment's cluster: the
model server's ports and probes, the collocated transformer, the transformer's and the explainer's scaling,
the storage spec, and storage URI schemes. Each problem is reported at the spec line that causes it.

Upstream facts (KServe v0.20.0, Knative Serving 1.21, Kubernetes 1.34):

* **KServe's serving port.** In Standard mode KServe's Service, default readiness probe and model agent
  target the model container's first port, or the collocated transformer's (reconcilers/service/
  service_reconciler.go:108-156, reconcilers/deployment/deployment_reconciler.go:303-336,
  webhook/admission/pod/agent_injector.go:320-349): `serving.ports[0]` is the serving port.
* **Knative ports** (knative/serving pkg/apis/serving/k8s_validation.go `validateContainersPorts`,
  `validateContainerPorts`, `validateProbe`): one port across all containers (and exactly one with
  several containers), TCP, named `h2c`, `http1` or nothing, not one of the queue-proxy's
  (`reservedPorts`); a probe's named port must be that port's name (`http` when unnamed); a second
  container's liveness and readiness probes need `multi-container-probing`, off by default.
* **The collocated transformer** (kserve pkg/controller/v1beta1/inferenceservice/components/predictor.go:
  452-494 `buildPodSpec`; the KServe docs' "Collocate Transformer and Predictor") is the container
  `transformer-container` of `predictor.containers`; it serves on 8080 and calls the model server on
  localhost, so the model server must listen elsewhere. KServe refuses `STORAGE_URI` on it
  (inference_service_validation.go `validateCollocationStorageURI`). It has the predictor's pod: its own
  placement, replicas and autoscaling would be ignored, so they are refused.
* **KEDA** (reconcilers/keda/keda_reconciler.go `getKedaMetrics`; inference_service_validation.go
  `validateScalingKedaCompExtension`): the autoscaler class is the InferenceService's, and under KEDA a
  component's triggers come only from its own `autoScaling` (a `scaleMetric` is refused), so the
  transformer scales with `metric: prometheus` exactly when the predictor does.
* **The batcher** (pkg/batcher/handler.go `ServeHTTP`) batches requests whose path ends in `:predict`, the
  v1 protocol, and passes any other through.
* **Storage.** KServe's storage initializer knows the schemes of `fields.KSERVE_STORAGE_SCHEMES`; a
  ClusterStorageContainer adds others (pkg/controller/v1beta1/inferenceservice/utils/utils.go
  `ValidateStorageURI`), which `clusterFeatures.storageSchemes` declares. `engine: deployment` runs its own
  storage initializer container, which no ClusterStorageContainer replaces. The storage spec
  (`model.storage`) is read from the model block's annotations by KServe's pod webhook
  (components/component.go `addStorageSpecAnnotations`), so a custom predictor container cannot use it.
* **Multi-model serving** (`serving.multiModel`; pkg/controller/v1beta1/inferenceservice/utils/utils.go
  `IsMMSPredictor`): KServe treats a model predictor as a multi-model server, injects its model agent and
  creates the `modelconfig-<name>-0` ConfigMap TrainedModels are written into, only without a storageUri, a
  storage spec or storageUris, and never for the huggingface format; a custom container needs
  MULTI_MODEL_SERVER=true instead. The TrainedModel controller (pkg/controller/v1alpha1/trainedmodel) loads
  nothing into any other predictor (`IsNotMMSPredictor`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlgitops.language.fields import KSERVE_STORAGE_SCHEMES
from mlgitops.language.model import Model
from mlgitops.language.probes import Probes
from mlgitops.language.project import ClusterFeatures
from mlgitops.language.serving import Serving
from mlgitops.language.workspace import Locator
from mlgitops.util.errors import Problem
from mlgitops.util.yamlio import JsonPath

Latest = Callable[[Sequence[JsonPath]], JsonPath]

# knative/serving pkg/apis/serving/k8s_validation.go reservedPorts: networking.BackendHTTPPort (8012),
# BackendHTTP2Port (8013), QueueAdminPort (8022), AutoscalingQueueMetricsPort (9090), UserQueueMetricsPort
# (9091), and the profiling port (8008).
KNATIVE_RESERVED_PORTS = frozenset({8008, 8012, 8013, 8022, 9090, 9091})
KNATIVE_PORT_NAMES = ("h2c", "http1")
KNATIVE_DEFAULT_PORT_NAME = "http"
# The collocated transformer's serving port: KServe's transformer server and its default component port
# (kserve pkg/constants InferenceServiceDefaultHttpPort).
TRANSFORMER_PORT = 8080
# The port mlgitops declares on the model container itself (render/kserve.py, render/deployment.py).
OWN_PORT_NAME = "http"
OWN_PORT = 8080
STORAGE_URI_ENV = "STORAGE_URI"


def serving_problems(spec: Model, locate: Locator) -> list[Problem]:
    """Serving fields the engine, the mode or the fields beside them rule out."""
    problems = _storage_spec_problems(spec, locate)
    serving = spec.serving
    if serving is None:
        return problems
    if serving.batcher is not None and serving.protocol not in (None, "v1"):
        problems.append(
            _problem(
                locate,
                ("serving", "batcher"),
                f"KServe's batcher batches only v1 ':predict' requests (pkg/batcher/handler.go): with protocol "
                f"{serving.protocol} every request passes unbatched; drop the batcher or serve protocol v1",
                key=True,
            )
        )
    problems.extend(_port_problems(serving, locate))
    problems.extend(_transformer_problems(serving, locate))
    problems.extend(_probe_port_problems(spec, locate))
    return problems


def _problem(locate: Locator, path: JsonPath, message: str, key: bool = False) -> Problem:
    return Problem(locate(path, key), message)


def _multi_model_problems(spec: Model, serving: Serving, locate: Locator) -> list[Problem]:
    """`serving.multiModel`: a predictor KServe counts as a multi-model server (module docstring)."""
    why = "a multi-model server (serving.multiModel) loads its models from TrainedModel objects"
    found: list[tuple[JsonPath, str]] = []
    if serving.engine != "kserve":
        found.append((("serving", "multiModel"), f"{why}, which KServe's InferenceService alone takes: use engine: "
                      "kserve"))  # fmt: skip
    if spec.model.format == "huggingface":
        found.append((("model", "format"), f"{why}; KServe never serves the huggingface format that way "
                      "(IsMMSPredictor): use the runtime's own format (for example triton or sklearn)"))  # fmt: skip
    for field in ("storageUri", "storage"):
        if getattr(spec.model, field) is not None:
            found.append((("model", field), f"{why}: with model.{field} KServe treats the predictor as a "
                          "single-model server and loads no TrainedModel into it; remove it"))  # fmt: skip
    if serving.image is not None:
        found.append((("serving", "image"), f"{why}; a custom predictor container is one only with "
                      "MULTI_MODEL_SERVER=true and no model of its own: use the format's runtime"))  # fmt: skip
    if serving.canary is not None:
        found.append((("serving", "canary"), f"{why}: a canary predictor has a storageUri of its own, so KServe "
                      "would not count it as one"))  # fmt: skip
    return [_problem(locate, path, message, key=True) for path, message in found]


def _storage_spec_problems(spec: Model, locate: Locator) -> list[Problem]:
    source, serving = spec.model, spec.serving
    if serving is not None and serving.multiModel:
        return _multi_model_problems(spec, serving, locate)
    path = source.storage.path if source.storage is not None else None
    if source.storageUri is None and path is None:
        return [
            _problem(
                locate,
                ("model", "storageUri"),
                "missing required key 'storageUri' (where the model files are; or model.storage.path with "
                "model.storage.key, KServe's storage spec)",
            )
        ]
    if source.storageUri is not None and path is not None:
        return [
            _problem(
                locate,
                ("model", "storage", "path"),
                "set model.storageUri or model.storage.path, not both: KServe loads storageUri and ignores the "
                "path (keep storage.key and storage.parameters for the credentials)",
            )
        ]
    if source.storage is None or serving is None:
        return []
    if serving.engine == "deployment":
        return [
            _problem(
                locate,
                ("model", "storage"),
                "model.storage is KServe's storage spec, read by KServe's pod webhook; engine: deployment runs "
                "its own storage initializer: use model.storageUri (credentials through serving.serviceAccount)",
                key=True,
            )
        ]
    if serving.image is not None:
        return [
            _problem(
                locate,
                ("model", "storage"),
                "model.storage needs a model block (predictor.model); a custom predictor image (serving.image) "
                "gets its model through STORAGE_URI: use model.storageUri",
                key=True,
            )
        ]
    return []


def _port_problems(serving: Serving, locate: Locator) -> list[Problem]:
    problems: list[Problem] = []
    ports = serving.ports
    if serving.engine == "deployment":
        for i, port in enumerate(ports):
            if port.containerPort == OWN_PORT or port.name == OWN_PORT_NAME:
                problems.append(
                    _problem(
                        locate,
                        ("serving", "ports", i),
                        f"port {OWN_PORT} named {OWN_PORT_NAME} is the model server's own with engine: deployment "
                        "(started with --http_port=8080): declare only further ports",
                    )
                )
        return problems
    if serving.mode != "Knative":
        return problems
    collocated = serving.transformer is not None and serving.transformer.collocated
    if ports and collocated:
        return [
            _problem(
                locate,
                ("serving", "ports"),
                "with a collocated transformer in Knative mode the transformer's port is the pod's only one "
                "(Knative admits a single port across all containers): drop serving.ports",
                key=True,
            )
        ]
    if len(ports) > 1:
        problems.append(
            _problem(
                locate,
                ("serving", "ports", 1),
                "Knative admits a single container port (the serving port); declare one, or serve in mode: Standard",
            )
        )
    if ports:
        port = ports[0]
        if port.protocol != "TCP":
            problems.append(
                _problem(locate, ("serving", "ports", 0, "protocol"), "Knative admits only a TCP serving port")
            )
        if port.name is not None and port.name not in KNATIVE_PORT_NAMES:
            problems.append(
                _problem(
                    locate,
                    ("serving", "ports", 0, "name"),
                    f"Knative admits the port names h2c (HTTP/2, gRPC) and http1, or none; not {port.name!r}",
                )
            )
        if port.containerPort in KNATIVE_RESERVED_PORTS:
            reserved = ", ".join(str(p) for p in sorted(KNATIVE_RESERVED_PORTS))
            problems.append(
                _problem(
                    locate,
                    ("serving", "ports", 0, "containerPort"),
                    f"port {port.containerPort} is the queue-proxy's; Knative refuses it (reserved: {reserved})",
                )
            )
    return problems


def _transformer_problems(serving: Serving, locate: Locator) -> list[Problem]:
    transformer = serving.transformer
    if transformer is None:
        return []
    here: JsonPath = ("serving", "transformer")
    problems: list[Problem] = []
    keda = serving.autoscaling is not None and serving.autoscaling.metric == "prometheus"
    if transformer.collocated:
        for field in ("nodeClass", "replicas", "autoscaling"):
            if getattr(transformer, field) is not None:
                problems.append(
                    _problem(
                        locate,
                        (*here, field),
                        f"a collocated transformer runs in the predictor's pod, with its placement and replicas: "
                        f"drop transformer.{field} (or drop collocated: true)",
                        key=True,
                    )
                )
        if STORAGE_URI_ENV in transformer.env:
            problems.append(
                _problem(
                    locate,
                    (*here, "env", STORAGE_URI_ENV),
                    "KServe refuses STORAGE_URI on a collocated transformer (it shares the model server's "
                    "/mnt/models); drop it, or drop collocated: true",
                    key=True,
                )
            )
        problems.extend(_collocated_ports(serving, locate))
        return problems
    scaling = transformer.autoscaling
    transformer_keda = scaling is not None and scaling.metric == "prometheus"
    if transformer_keda and not keda:
        problems.append(
            _problem(
                locate,
                (*here, "autoscaling", "metric"),
                "KServe chooses one autoscaler class for the whole InferenceService: the transformer scales "
                "through KEDA (metric: prometheus) only when serving.autoscaling does too",
            )
        )
    if transformer_keda and serving.mode != "Standard":
        problems.append(
            _problem(
                locate,
                (*here, "autoscaling", "metric"),
                "autoscaling.metric: prometheus needs mode: Standard (KServe's KEDA autoscaler)",
            )
        )
    if scaling is not None and serving.mode == "Knative" and scaling.metric not in ("concurrency", "rps"):
        problems.append(
            _problem(
                locate,
                (*here, "autoscaling", "metric"),
                f"autoscaling on {scaling.metric} with mode: Knative is refused by KServe's webhook, which "
                "admits only concurrency or rps for the Knative autoscaler",
            )
        )
    return problems


def _collocated_ports(serving: Serving, locate: Locator) -> list[Problem]:
    """Standard mode: the model server must leave the transformer's port 8080 to it, and say where it
    listens (the ports mlgitops would declare by default are 8080)."""
    if serving.mode != "Standard":
        return []
    if not serving.ports:
        return [
            _problem(
                locate,
                ("serving", "transformer", "collocated"),
                f"the collocated transformer serves on port {TRANSFORMER_PORT} and calls the model server on "
                "localhost: declare the model server's own port in serving.ports (for example [{name: http, "
                "containerPort: 8085}]) and start it there (serving.args, for example --http_port=8085)",
            )
        ]
    return [
        _problem(
            locate,
            ("serving", "ports", i, "containerPort"),
            f"port {TRANSFORMER_PORT} is the collocated transformer's; the model server must listen on another",
        )
        for i, port in enumerate(serving.ports)
        if port.containerPort == TRANSFORMER_PORT
    ]


def _declared_names(serving: Serving) -> set[str]:
    """Port names a probe of the model container may name (in Knative mode: the serving port's)."""
    names = {port.name for port in serving.ports if port.name}
    if serving.engine == "deployment":
        return names | {OWN_PORT_NAME}
    if serving.mode == "Knative":
        return {serving.ports[0].name or KNATIVE_DEFAULT_PORT_NAME} if serving.ports else {KNATIVE_DEFAULT_PORT_NAME}
    return names if serving.ports else {OWN_PORT_NAME}


def _probe_port_problems(spec: Model, locate: Locator) -> list[Problem]:
    """A probe or a PodMonitor naming a port the container does not declare: the kubelet cannot resolve it
    (the probe always fails), Prometheus scrapes nothing."""
    serving = spec.serving
    assert serving is not None
    problems: list[Problem] = []
    declared = _declared_names(serving)
    transformer = serving.transformer
    collocated_knative = transformer is not None and transformer.collocated and serving.mode == "Knative"
    if serving.probes is not None:
        problems.extend(_named_ports(serving.probes, ("serving", "probes"), declared, locate))
        if collocated_knative:
            for kind in ("readiness", "liveness"):
                if getattr(serving.probes, kind) is not None:
                    problems.append(
                        _problem(
                            locate,
                            ("serving", "probes", kind),
                            f"with a collocated transformer in Knative mode the model server is a second container, "
                            f"whose {kind} probe Knative refuses unless config-features enables "
                            "multi-container-probing; probe the transformer (transformer.probes) instead",
                            key=True,
                        )
                    )
    if transformer is not None and transformer.probes is not None:
        # The transformer's port is unnamed (render/kserve_components.py); Knative calls it `http`.
        names = {KNATIVE_DEFAULT_PORT_NAME} if serving.mode == "Knative" else set()
        problems.extend(_named_ports(transformer.probes, ("serving", "transformer", "probes"), names, locate))
    metrics = spec.monitoring.metrics if spec.monitoring is not None else None
    named_metrics = metrics is not None and isinstance(metrics.port, str) and serving.mode != "Knative"
    if named_metrics and metrics is not None and metrics.port not in declared:
        problems.append(
            _problem(
                locate,
                ("monitoring", "metrics", "port"),
                f"the PodMonitor would select port {metrics.port!r}, which the model container does not declare "
                f"(declared: {', '.join(sorted(declared)) or 'none'}); Prometheus keeps only declared ports: add "
                "it to serving.ports, or give the port number",
            )
        )
    return problems


def _named_ports(probes: Probes, where: JsonPath, declared: set[str], locate: Locator) -> list[Problem]:
    problems: list[Problem] = []
    for kind, probe in probes.items():
        named = probe.named_port()
        if named is None or named[1] in declared:
            continue
        handler, name = named
        known = ", ".join(sorted(declared)) if declared else "none are named"
        problems.append(
            _problem(
                locate,
                (*where, kind, handler, "port"),
                f"the probe names port {name!r}, which the container does not declare ({known}); the kubelet "
                "cannot resolve it: name a port of serving.ports or give the number",
            )
        )
    return problems


# --- per environment ---------------------------------------------------------------------------------


def storage_scheme_problems(spec: Model, features: ClusterFeatures, locate: Locator, latest: Latest) -> list[Problem]:
    """Storage URIs whose scheme neither KServe's storage initializer nor a declared ClusterStorageContainer
    serves in this environment."""
    serving = spec.serving
    if serving is None:
        return []
    deployment = serving.engine == "deployment"
    admitted = set(KSERVE_STORAGE_SCHEMES) | (set() if deployment else set(features.storageSchemes))
    uris: list[tuple[JsonPath, str]] = []
    if spec.model.storageUri is not None:
        uris.append((("model", "storageUri"), spec.model.storageUri))
    if serving.canary is not None:
        uris.append((("serving", "canary", "storageUri"), serving.canary.storageUri))
    problems: list[Problem] = []
    for path, uri in uris:
        scheme = uri.partition("://")[0]
        if scheme in admitted:
            continue
        if deployment:
            fix = (
                "engine: deployment runs its own storage initializer (images.storageInitializer), which no "
                "ClusterStorageContainer replaces; use one of its schemes"
            )
        else:
            fix = (
                "if a ClusterStorageContainer of the cluster serves it, declare clusterFeatures.storageSchemes: "
                f"[{scheme}] in mlgitops.yaml"
            )
        problems.append(
            Problem(
                locate(latest([path]), False),
                f"{uri[:80]!r} is not a storage URI KServe can load here: its storage initializer knows no "
                f"{scheme}:// scheme (it knows {', '.join(KSERVE_STORAGE_SCHEMES)}); {fix}",
            )
        )
    return problems
