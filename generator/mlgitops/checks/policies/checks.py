"""The checks themselves, run over each environment's rendered objects."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator
from typing import Any

from mlgitops.checks.argo_checks import (
    executor_token_problems,
    max_duration_problems,
    scheduled_environments,
    when_problems,
)
from mlgitops.checks.podsecurity import pod_security_level, shared_memory_mounted, site_problems
from mlgitops.checks.policies.admission import trained_model_problems
from mlgitops.checks.policies.catalog import (
    ARGO_EXECUTOR_TOKEN,
    ARGO_WHEN,
    AUTOSCALING_MODE,
    CANARY_SHARE,
    DATA_PINNED,
    GPU_CLASS,
    GPU_SCALE_TO_ZERO,
    GPU_SHARED_MEMORY,
    IMAGE_PINNED,
    KNATIVE_CANARY,
    KNATIVE_PLACEMENT,
    KNATIVE_SCALE_METRIC,
    KSERVE_ANNOTATION,
    POD_SECURITY,
    PROD_LIMITS,
    RETRY_MAX_DURATION,
    SLO_ALERTED,
    STANDARD_CANARY_INGRESS,
    STORAGE_URI_VERSION,
    TRAINED_MODEL_ADMISSION,
    TRAINING_ENVIRONMENTS,
    Stage,
    Violation,
)
from mlgitops.checks.policies.podspecpatch import pod_spec_patch_problems
from mlgitops.checks.policies.sites import (
    LLM_KIND,
    SERVING_WORKLOADS,
    WORKFLOW_KINDS,
    PodSite,
    gpu_request,
    gpu_resources,
    list_paths,
    pod_sites,
)
from mlgitops.language import clusterfit
from mlgitops.language.model import Model
from mlgitops.language.podspec import canary_share_problem
from mlgitops.language.project import Project
from mlgitops.language.storageuri import storage_uri_problem
from mlgitops.render.lineage import RUN_ID_ANNOTATION
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import CANARY_ANNOTATION, PLACEMENT_FIELDS, Obj
from mlgitops.util.yamlio import JsonPath

_DIGEST = re.compile(r"@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned, or None when it has a digest or a tag other than latest."""
    if _DIGEST.search(image):
        return None
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "has a malformed digest"
    if ":" not in last:
        return "has no tag or digest"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the mutable tag latest"
    return None


def _images(obj: Obj, sites: list[PodSite], stage: Stage) -> Iterator[Violation]:
    if stage.is_dev:
        return
    for site in sites:
        for container in (*site.init_containers, *site.containers):
            image = get_path(obj, (*container, "image"))
            if not isinstance(image, str) or "{{" in image:
                continue
            problem = image_problem(image)
            if problem:
                yield Violation(
                    IMAGE_PINNED,
                    obj,
                    (*container, "image"),
                    f"image {image!r} {problem} (allowed only in the first environment, the dev stage); "
                    "pin a version tag or a digest",
                )


def _spec_gpu_class(obj: Obj, site: PodSite, spec: Model) -> tuple[bool, JsonPath] | None:
    """(has a class, where the GPU count is) from the model spec, for the pods the model rendered. An
    LLMInferenceService's prefill workload is never rendered from the spec (a `patches` op adds it) and KServe
    builds its pods from spec.prefill alone: its placement is its own, judged like any hand-written pod."""
    kind = obj.get("kind")
    if kind == LLM_KIND and site.path[:2] == ("spec", "prefill"):
        return None
    if kind in ("InferenceService", "Deployment", LLM_KIND) and spec.serving is not None:
        return spec.serving.gpu.class_ is not None, ("serving", "gpu", "count")
    if kind in WORKFLOW_KINDS and spec.training is not None:
        name = get_path(obj, (*site.path, "name"))
        for i, step in enumerate(spec.training.steps):
            if step.name == name and step.gpu is not None:
                return step.gpu.class_ is not None, ("training", "steps", i, "gpu", "count")
    return None


def _gpus(obj: Obj, sites: list[PodSite], project: Project, spec: Model | None) -> Iterator[Violation]:
    known = gpu_resources(project)
    classes = ", ".join(sorted(project.gpuClasses)) or "none defined in mlgitops.yaml"
    for site in sites:
        for container in site.containers:
            request = gpu_request(obj, container, known)
            if request is None:
                continue
            from_spec = _spec_gpu_class(obj, site, spec) if spec is not None else None
            if from_spec is not None:
                has_class, spec_path = from_spec
            else:
                site_node = get_path(obj, site.path)
                placed = isinstance(site_node, dict) and any(site_node.get(p) for p in PLACEMENT_FIELDS)
                has_class, spec_path = placed or site.inherited_placement, None
            if not has_class:
                yield Violation(
                    GPU_CLASS,
                    obj,
                    request,
                    f"requests {request[-1]} without a GPU class (no node selector or tolerations); "
                    f"set gpu.class (known: {classes})",
                    spec_path,
                )
            break  # one finding per pod


def _mode(obj: Obj) -> str | None:
    mode = get_path(obj, ("metadata", "annotations", "serving.kserve.io/deploymentMode"))
    return {"RawDeployment": "Standard", "Serverless": "Knative"}.get(str(mode), mode) if mode else None


def _llm_inference_service(obj: Obj, sites: list[PodSite], project: Project) -> Iterator[Violation]:
    """An LLMInferenceService with `replicas: 0` runs no pod at all and does not scale up on a request."""
    if obj.get("kind") != LLM_KIND or get_path(obj, ("spec", "replicas")) != 0:
        return
    known = gpu_resources(project)
    templates = [s for s in sites if s.path == ("spec", "template")]
    if any(gpu_request(obj, c, known) for site in templates for c in site.containers):
        yield Violation(
            GPU_SCALE_TO_ZERO,
            obj,
            ("spec", "replicas"),
            "replicas is 0 on a GPU LLMInferenceService: it runs no pod and does not scale up on a request; keep "
            "at least 1 replica (serving.replicas.min)",
        )


def _inference_service(obj: Obj, sites: list[PodSite], project: Project) -> Iterator[Violation]:
    if obj.get("kind") != "InferenceService":
        return
    predictor = get_path(obj, ("spec", "predictor"))
    if not isinstance(predictor, dict):
        return
    mode = _mode(obj)
    known = gpu_resources(project)
    site = next((s for s in sites if s.path == ("spec", "predictor")), None)
    gpu = site is not None and any(gpu_request(obj, c, known) for c in site.containers)
    if predictor.get("minReplicas") == 0 and gpu:
        yield Violation(
            GPU_SCALE_TO_ZERO,
            obj,
            ("spec", "predictor", "minReplicas"),
            "minReplicas is 0 on a GPU predictor; keep at least 1 replica (serving.replicas.min)",
        )
    for component in ("predictor", "transformer"):
        metric = get_path(obj, ("spec", component, "scaleMetric"))
        if mode == "Standard" and metric in ("concurrency", "rps"):
            yield Violation(
                AUTOSCALING_MODE,
                obj,
                ("spec", component, "scaleMetric"),
                f"scaleMetric {metric} needs Knative mode; Standard mode scales on cpu or memory",
            )
    if mode == "Knative" and predictor.get("canaryTrafficPercent") is not None:
        yield Violation(
            KNATIVE_CANARY,
            obj,
            ("spec", "predictor", "canaryTrafficPercent"),
            "Knative canary: the previous model lives only in the cluster's revisions, so rollback state is "
            "outside Git; engine: deployment declares both versions in Git (KServe's Standard mode routes no canary "
            "traffic)",
        )


# A model hub revision pinned to a commit: Hugging Face and ModelScope repositories are Git repositories, so
# a full commit hash names immutable files (`hf://owner/model:revision`, kserve python/storage
# kserve_storage.py `_download_hf`; `modelscope://owner/model[:revision]`, KServe's ModelScope docs); a
# branch (main) or a tag moves. SHA-1 and SHA-256 object names.
_HUB_SCHEMES = ("hf", "modelscope")
_STORAGE_PATH = "storage://"  # model.storage.path, checked as the path of a URI
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def hub_revision(uri: str) -> str | None:
    """The revision of a model hub URI (`hf://org/model:rev` → rev), or None."""
    scheme, _, rest = uri.partition("://")
    if scheme not in _HUB_SCHEMES:
        return None
    revision = rest.rpartition("/")[2].partition(":")[2]
    return revision or None


def _uri_has_version(uri: str, version: str) -> bool:
    scheme, _, rest = uri.partition("://")
    revision = hub_revision(uri)
    if revision is not None and _COMMIT.match(revision):
        return True
    segments = re.split(r"[/?#]", rest or uri)
    if revision is not None and segments:
        # A branch or tag revision may carry the version like any segment (model:v7), as an OCI tag does.
        segments = [*segments[:-1], segments[-1].rpartition(":")[0], revision]
    if scheme.startswith("oci") and segments:
        # An OCI reference (oci://, oci+fetch://, oci+native://): a digest is immutable, a tag may name it.
        name, at, _digest = segments[-1].partition("@")
        if at:
            return True
        tag = name.rpartition(":")[2] if ":" in name else ""
        segments = [*segments[:-1], name.rpartition(":")[0] or name, tag]
    return version in segments or f"v{version}" in segments


def _custom_storage_uris(obj: Obj, predictor: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    """STORAGE_URI of a custom predictor container (kserve pkg/constants CustomSpecStorageUriEnvVarKey)."""
    for container in list_paths(obj, (*predictor, "containers")):
        for env in list_paths(obj, (*container, "env")):
            uri = get_path(obj, (*env, "value"))
            if get_path(obj, (*env, "name")) == "STORAGE_URI" and isinstance(uri, str):
                yield (*env, "value"), uri


def _storage_uris(obj: Obj) -> Iterator[tuple[JsonPath, str, str | None]]:
    """(path, uri, version it should carry) for every model location an object declares."""
    kind = obj.get("kind")
    labels = get_path(obj, ("metadata", "labels")) or {}
    version = labels.get("app.kubernetes.io/version") if isinstance(labels, dict) else None
    canary_version = get_path(obj, ("metadata", "annotations", CANARY_ANNOTATION))
    if kind == "InferenceService":
        knative_canary = get_path(obj, ("spec", "predictor", "canaryTrafficPercent")) is not None
        path: JsonPath = ("spec", "predictor", "model", "storageUri")
        uri = get_path(obj, path)
        if isinstance(uri, str):
            yield path, uri, canary_version if knative_canary else version
        else:  # KServe's storage spec: the path inside the storage-config entry's bucket names the files
            path = ("spec", "predictor", "model", "storage", "path")
            location = get_path(obj, path)
            if isinstance(location, str):
                yield path, f"{_STORAGE_PATH}{location.lstrip('/')}", canary_version if knative_canary else version
        for path, uri in _custom_storage_uris(obj, ("spec", "predictor")):
            yield path, uri, canary_version if knative_canary else version
        for entry in list_paths(obj, ("spec", "canary")):
            path = (*entry, "predictor", "model", "storageUri")
            uri = get_path(obj, path)
            if isinstance(uri, str):
                yield path, uri, canary_version
            for path, uri in _custom_storage_uris(obj, (*entry, "predictor")):
                yield path, uri, canary_version
    elif kind == LLM_KIND:
        path = ("spec", "model", "uri")
        uri = get_path(obj, path)
        if isinstance(uri, str):
            yield path, uri, version
    elif kind in SERVING_WORKLOADS:
        pod_labels = get_path(obj, ("spec", "template", "metadata", "labels")) or {}
        if isinstance(pod_labels, dict):
            version = pod_labels.get("app.kubernetes.io/version", version)
        for init in list_paths(obj, ("spec", "template", "spec", "initContainers")):
            uri = get_path(obj, (*init, "args", 0))
            if get_path(obj, (*init, "name")) == "storage-initializer" and isinstance(uri, str):
                yield (*init, "args", 0), uri, version


def _storage(obj: Obj) -> Iterator[Violation]:
    # A registry run's artifact location (MLflow: <artifact root>/<run id>/artifacts/...) is as immutable
    # as a versioned path: the run id the object is annotated with counts like the version.
    annotations = get_path(obj, ("metadata", "annotations")) or {}
    run_id = annotations.get(RUN_ID_ANNOTATION) if isinstance(annotations, dict) else None
    for path, uri, version in _storage_uris(obj):
        unsafe = storage_uri_problem(uri)  # a patch or an addon can write one the spec would refuse
        if unsafe is not None:
            yield Violation(STORAGE_URI_VERSION, obj, path, unsafe)
            continue
        if isinstance(run_id, str) and run_id and _uri_has_version(uri, run_id):
            continue
        if isinstance(version, str) and version and not _uri_has_version(uri, version):
            on_path = path[-1] == "path"
            where = f"storage.path {uri.removeprefix(_STORAGE_PATH)!r}" if on_path else f"storageUri {uri!r}"
            revision = hub_revision(uri)
            pin = (
                f"; the revision {revision!r} is a branch or tag, which moves: pin a commit hash"
                if revision is not None
                else ""
            )
            yield Violation(
                STORAGE_URI_VERSION,
                obj,
                path,
                f"{where} does not contain the model version {version!r} as a path segment{pin}; "
                "use a versioned, immutable location",
            )


def _limits(obj: Obj, sites: list[PodSite], stage: Stage) -> Iterator[Violation]:
    if not stage.is_prod:
        return
    for site in sites:
        if not site.serving:
            continue
        for container in site.containers:
            limits = get_path(obj, (*container, "resources", "limits"))
            if isinstance(limits, dict) and ("cpu" in limits or "memory" in limits):
                continue
            name = get_path(obj, (*container, "name")) or container[-1]
            yield Violation(
                PROD_LIMITS,
                obj,
                (*container, "resources", "limits"),
                f"container {name} has no cpu or memory limit in {stage.environment}, the production stage; "
                "set serving.resources.limits",
            )


# KServe annotation keys (pkg/constants, pkg/credentials), by prefix.
_KSERVE_KEYS: dict[str, frozenset[str]] = {
    "serving.kserve.io": frozenset(
        {
            "deploymentMode",
            "autoscalerClass",
            "metrics",
            "targetUtilizationPercentage",
            "stop",
            "enable-tag-routing",
            "disable-localmodel",
            "gke-accelerator",
            "enable-metric-aggregation",
            "enable-prometheus-scraping",
            "nodegroup",
            "gpu-resource-types",
            "storage-initializer-uid",
            "s3-endpoint",
            "s3-region",
            "s3-verifyssl",
            "s3-usehttps",
            "s3-usevirtualbucket",
            "s3-useaccelerate",
            "s3-useanoncredential",
            "s3-cabundle-configmap",
            "s3-cabundle",
            "inferenceservice",
            "inferencegraph",
            "kind",
            "trainedmodel-allocated",
        }
    ),
    "internal.serving.kserve.io": frozenset(),
    "storage.kserve.io": frozenset({"readonly"}),
    "prometheus.kserve.io": frozenset({"port", "path"}),
    "networking.kserve.io": frozenset({"visibility"}),
    "autoscaling.knative.dev": frozenset(),
    "serving.knative.dev": frozenset(),
    "networking.knative.dev": frozenset(),
}


@functools.lru_cache(maxsize=4096)  # a pure function of the key; every object repeats the same few keys
def annotation_typo(key: str) -> str | None:
    """The KServe key `key` probably meant, when it looks like a misspelling of one."""
    prefix, slash, name = key.rpartition("/")
    if not slash:
        return None
    if prefix in _KSERVE_KEYS:
        names = _KSERVE_KEYS[prefix]
        if not names or name in names:
            return None
        lower = {n.lower(): n for n in names}
        if name.lower() in lower:
            return f"{prefix}/{lower[name.lower()]}"
        close = difflib.get_close_matches(name, names, 1, 0.85)
        return f"{prefix}/{close[0]}" if close else None
    looks_like = "kserve" in prefix or "kfserving" in prefix
    close = difflib.get_close_matches(prefix, list(_KSERVE_KEYS), 1, 0.8)
    if close or looks_like:
        target = close[0] if close else "serving.kserve.io"
        names = _KSERVE_KEYS[target]
        if names and name not in names:
            near = difflib.get_close_matches(name, names, 1, 0.85)
            name = near[0] if near else name
        return f"{target}/{name}"
    return None


def _annotation_maps(node: Any, path: JsonPath) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    """Every `annotations` map in `node`, depth first (only maps and lists are entered: most values are text)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "annotations" and isinstance(value, dict):
                yield (*path, key), value
            elif isinstance(value, dict | list):
                yield from _annotation_maps(value, (*path, key))
    else:
        for i, item in enumerate(node):
            if isinstance(item, dict | list):
                yield from _annotation_maps(item, (*path, i))


def _annotations(obj: Obj) -> Iterator[Violation]:
    for path, keys in _annotation_maps(obj, ()):
        for key in keys:
            meant = annotation_typo(str(key))
            if meant:
                yield Violation(
                    KSERVE_ANNOTATION,
                    obj,
                    (*path, key),
                    f"annotation {key!r} looks like a misspelt KServe key (did you mean {meant!r}?); KServe ignores it",
                )


def check_objects(
    objects: list[Obj],
    stage: Stage,
    project: Project,
    spec: Model | None = None,
    sites_of: list[list[PodSite]] | None = None,
) -> list[Violation]:
    """Every per-object policy, on the final objects of one environment (`spec`: the model that
    rendered them, resolved for that environment, when there is one; `sites_of`: each object's
    `pod_sites`, when the caller has them)."""
    found: list[Violation] = []
    for index, obj in enumerate(objects):
        sites = pod_sites(obj) if sites_of is None else sites_of[index]  # walks the object: once for every check
        found.extend(_images(obj, sites, stage))
        found.extend(_gpus(obj, sites, project, spec))
        found.extend(_inference_service(obj, sites, project))
        found.extend(_llm_inference_service(obj, sites, project))
        found.extend(_storage(obj))
        found.extend(_limits(obj, sites, stage))
        found.extend(_annotations(obj))
        found.extend(_cluster_fit(obj, stage, project))
        found.extend(_pod_security(obj, sites, project, stage))
        found.extend(_gpu_shared_memory(obj, sites, project))
        found.extend(_argo_when(obj))
        found.extend(Violation(ARGO_EXECUTOR_TOKEN, obj, p, m) for p, m in executor_token_problems(obj))
        found.extend(_retry_max_duration(obj))
        found.extend(Violation(TRAINED_MODEL_ADMISSION, obj, p, m) for p, m in trained_model_problems(obj))
    if spec is not None:
        found.extend(_canary_share(objects, spec))
        found.extend(_data_pinned(objects, spec, stage))
        found.extend(_slo_alerted(objects, spec, stage, project))
    return found


def _cluster_fit(obj: Obj, stage: Stage, project: Project) -> Iterator[Violation]:
    """Serving objects the environment's cluster (its clusterFeatures) refuses or ignores."""
    if obj.get("kind") != "InferenceService":
        return
    features = clusterfit.features_for(project, stage.environment)
    for path, message in clusterfit.knative_scale_metric_problems(obj):
        yield Violation(KNATIVE_SCALE_METRIC, obj, path, message)
    for path, message in clusterfit.knative_placement_problems(obj, features):
        yield Violation(KNATIVE_PLACEMENT, obj, path, message)
    for path, message in clusterfit.standard_canary_problems(obj, features):
        yield Violation(STANDARD_CANARY_INGRESS, obj, path, message)


def _workflow_spec(obj: Obj) -> JsonPath | None:
    """Where an Argo object's workflow spec is (its templates inherit pod-level fields from it)."""
    kind = obj.get("kind")
    if kind == "CronWorkflow":
        return ("spec", "workflowSpec")
    return ("spec",) if kind in WORKFLOW_KINDS else None


def _pod_security(obj: Obj, sites: list[PodSite], project: Project, stage: Stage) -> Iterator[Violation]:
    """Every pod against the Pod Security level of the environment's namespace (podsecurity.py)."""
    level = pod_security_level(project, stage.environment)
    if level == "privileged":
        return
    where = f"the {level} Pod Security level of {stage.environment} (clusterFeatures.podSecurity)"
    workflow = _workflow_spec(obj)
    for site in sites:
        containers = (*site.init_containers, *site.containers)
        for path, message in site_problems(obj, site.path, containers, workflow, level):
            yield Violation(POD_SECURITY, obj, path, f"{message}, which {where} forbids")
        if workflow is not None:  # Argo merges podSpecPatch strings into the pod: check the pod it runs
            for path, message in pod_spec_patch_problems(obj, site, workflow, level):
                yield Violation(POD_SECURITY, obj, path, f"{message}, which {where} forbids")


def _canary_share(objects: list[Obj], spec: Model) -> Iterator[Violation]:
    """The canary's share of the pods at the stable HPA's minimum, against the trafficPercent asked for."""
    serving = spec.serving
    if serving is None or serving.canary is None or serving.engine != "deployment":
        return
    hpas = {get_path(o, ("metadata", "name")): o for o in objects if o.get("kind") == "HorizontalPodAutoscaler"}
    for name, hpa in hpas.items():
        stable = hpas.get(str(name).removesuffix("-canary")) if str(name).endswith("-canary") else None
        canary_pods, stable_pods = get_path(hpa, ("spec", "minReplicas")), get_path(stable, ("spec", "minReplicas"))
        if isinstance(canary_pods, int) and isinstance(stable_pods, int):
            problem = canary_share_problem(serving.canary.trafficPercent, canary_pods, stable_pods)
            if problem:
                path = ("serving", "canary", "trafficPercent")
                yield Violation(CANARY_SHARE, hpa, ("spec", "minReplicas"), problem, path)


def _gpu_shared_memory(obj: Obj, sites: list[PodSite], project: Project) -> Iterator[Violation]:
    known = gpu_resources(project)
    for site in sites:
        for container in site.containers:
            request = gpu_request(obj, container, known)
            if request is None or shared_memory_mounted(obj, site.path, container, _workflow_spec(obj)):
                continue
            yield Violation(
                GPU_SHARED_MEMORY,
                obj,
                request,
                "requests GPUs without a memory-backed emptyDir at /dev/shm, so it gets the runtime's 64 MiB; "
                "mlgitops renders one for GPU pods (sharedMemory); mount one in hand-written objects",
            )


# --- where training runs ---------------------------------------------------------------------------


def check_training_schedules(model: str, per_environment: list[tuple[str, list[Obj]]]) -> list[tuple[str, Violation]]:
    """(environment, finding) for each environment where the model's CronWorkflow runs, when it runs in
    more than one (`per_environment`: the model's final objects in each environment it is enabled in)."""
    crons = scheduled_environments(model, per_environment)
    envs = ", ".join(env for env, _ in crons)
    message = (
        f"{model} trains on a schedule in {envs}: the same job runs in each and each registers its own versions; "
        "train in one environment (training.environments) and promote the version it registers through Git"
    )
    return [
        (env, Violation(TRAINING_ENVIRONMENTS, obj, ("spec", "schedules"), message, ("training", "schedule")))
        for env, obj in crons
    ]


# --- Argo Workflows: when expressions and retries (the checks: argo_checks.py) -----------------------


def _argo_when(obj: Obj) -> Iterator[Violation]:
    for path, message in when_problems(obj):
        yield Violation(ARGO_WHEN, obj, path, message)


def _retry_max_duration(obj: Obj) -> Iterator[Violation]:
    for path, message in max_duration_problems(obj):
        yield Violation(RETRY_MAX_DURATION, obj, path, message)


# --- data lineage (lineage.py) ---------------------------------------------------------------------


def _data_pinned(objects: list[Obj], spec: Model, stage: Stage) -> Iterator[Violation]:
    """Unpinned datasets, outside the first environment (dev may train on whatever is newest)."""
    if stage.is_dev or not spec.data:
        return
    from mlgitops.render.lineage import DATASET_ANNOTATION_PREFIX, unpinned_reason

    for index, dataset in enumerate(spec.data):
        reason = unpinned_reason(dataset)
        if reason is None:
            continue
        key = DATASET_ANNOTATION_PREFIX + dataset.name
        carrier = next((o for o in objects if key in (get_path(o, ("metadata", "annotations")) or {})), None)
        if carrier is None:
            continue
        message = (
            f"dataset {dataset.name} {reason} in {stage.environment}: pin an immutable version "
            "(a snapshot date, DVC revision, lakeFS commit or object version)"
        )
        yield Violation(DATA_PINNED, carrier, ("metadata", "annotations", key), message, ("data", index, "version"))


# --- monitoring (render/metric_sources.py) -----------------------------------------------------------


def _slo_alerted(objects: list[Obj], spec: Model, stage: Stage, project: Project) -> Iterator[Violation]:
    """Objectives (and the no-traffic alert) the environment's predictor exports no series for."""
    monitoring = spec.monitoring
    monitor = next((o for o in objects if o.get("kind") == "PodMonitor"), None)
    if monitoring is None or monitor is None:
        return
    from mlgitops.render.metric_sources import metric_source, unalerted_slos

    source = metric_source(spec, clusterfit.features_for(project, stage.environment).knative)
    if source is None:
        return
    for spec_path, why in unalerted_slos(source, monitoring):
        message = f"{'.'.join(spec_path)} is not alerted on in {stage.environment}: {why}"
        yield Violation(SLO_ALERTED, monitor, ("spec", "podMetricsEndpoints"), message, spec_path)
