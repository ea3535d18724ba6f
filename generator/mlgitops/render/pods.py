"""What every rendered pod needs to run on a real cluster: its security context, a writable /tmp and
a big enough /dev/shm. The one place the serving and training renderers take them from.

Pod Security. Every container mlgitops renders carries the whole `restricted` set of the Pod
Security Standards (kubernetes/pod-security-admission `policy/check_*.go`): runAsNonRoot, seccomp
RuntimeDefault, allowPrivilegeEscalation false, capabilities drop ALL. The pod-level
`seccompProfile` is added too wherever the API allows it, so that containers other controllers
inject into the pod (KServe's storage-initializer in Standard mode, Argo's init and wait containers)
get it as well. Knative refuses a pod-level securityContext unless its
`kubernetes.podspec-securitycontext` flag is on (knative/serving `pkg/apis/serving/fieldmask.go`,
`PodSecurityContextMask`), so a Knative predictor carries container-level fields only.

`allowPrivilegeEscalation` and `capabilities` exist only per container, so injected containers need
their own settings: KServe's `ClusterStorageContainer` (the Helm chart sets them; the kustomize
install does not) and Argo's `executor` in workflow-controller-configmap. docs/real-cluster.md shows
both patches.

/dev/shm. A memory-backed emptyDir for GPU pods (size: podspec.py, which also refuses one larger than
the container's memory limit).

Read-only root. Only where the image is known to write nowhere else than /tmp and the model
directory: the KServe Python model servers below (kserve/kserve `python/*.Dockerfile`: USER 1000 or
1001, a venv outside $HOME), as our `engine: deployment` default or as the InferenceService's named
runtime, and KServe's storage initializer (it writes temporary files with Python's
`tempfile`, i.e. to /tmp). The huggingface server is left writable: vLLM and Triton cache under $HOME.

Source map (object path → spec line): checks/sourcemap/serving.py and training.py, through common.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlgitops.language.model import Model
from mlgitops.language.podspec import shared_memory_size, step_security
from mlgitops.language.serving import SecurityContext, Serving
from mlgitops.language.training import Step, Training
from mlgitops.util.kubenames import Obj

TMP_VOLUME = "tmp"
TMP_DIR = "/tmp"
# The name KServe's huggingface runtime gives its /dev/shm volume (config/runtimes/kserve-huggingfaceserver.yaml):
# KServe merges a predictor's volumes into the runtime's by name and its volumeMounts by mountPath
# (strategic merge in pkg/controller/v1beta1/inferenceservice/utils/utils.go, MergePodSpec and
# MergeRuntimeContainers), so the same name gives one volume, not a second mount at /dev/shm.
SHM_VOLUME = "devshm"
SHM_DIR = "/dev/shm"
# KServe's Python model servers, by model format: the `engine: deployment` default image for the format
# (spec.DEFAULT_SERVER_IMAGES) and KServe's ServingRuntime of that server. They run as a numeric non-root
# user and write only to /tmp and /mnt/models. An InferenceService without `serving.runtime` may get
# another runtime (kserve-mlserver has the higher priority for sklearn, xgboost and lightgbm over v2:
# config/runtimes/kserve-mlserver.yaml), so it is not assumed read-only.
READ_ONLY_SERVERS = {
    "sklearn": "kserve-sklearnserver",
    "xgboost": "kserve-xgbserver",
    "lightgbm": "kserve-lgbserver",
    "pmml": "kserve-pmmlserver",
    "paddle": "kserve-paddleserver",
}

RUNTIME_DEFAULT_SECCOMP: Obj = {"type": "RuntimeDefault"}


@dataclass(frozen=True)
class Hardening:
    """The resolved security settings of one container."""

    run_as_non_root: bool
    run_as_user: int | None
    read_only_root: bool


def _resolve(context: SecurityContext, read_only_default: bool) -> Hardening:
    read_only = context.readOnlyRootFilesystem
    return Hardening(
        context.runAsNonRoot,
        context.runAsUser,
        read_only_default if read_only is None else read_only,
    )


def serving_hardening(spec: Model) -> Hardening:
    serving = spec.serving
    assert serving is not None
    runtime = READ_ONLY_SERVERS.get(spec.model.format)
    if serving.engine == "deployment":
        known_server = runtime is not None and serving.image is None
    else:
        known_server = runtime is not None and serving.runtime == runtime
    return _resolve(serving.securityContext, known_server)


def step_hardening(training: Training, step: Step | None) -> Hardening:
    """A training step (or, `step` None, the register step): writable root unless asked."""
    return _resolve(step_security(training, step), False)


STORAGE_INITIALIZER = Hardening(run_as_non_root=True, run_as_user=None, read_only_root=True)


def container_security_context(hardening: Hardening) -> Obj:
    """A container's `securityContext`: complete on its own, whatever the pod level says."""
    context: Obj = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    context["readOnlyRootFilesystem"] = hardening.read_only_root
    context["runAsNonRoot"] = hardening.run_as_non_root
    if hardening.run_as_user is not None:
        context["runAsUser"] = hardening.run_as_user
    context["seccompProfile"] = dict(RUNTIME_DEFAULT_SECCOMP)
    return context


def pod_security_context() -> Obj:
    """The pod-level `securityContext`: seccomp only (user settings stay per container, so that a
    container the controller injects keeps the user its image declares)."""
    return {"seccompProfile": dict(RUNTIME_DEFAULT_SECCOMP)}


def serving_shared_memory(serving: Serving) -> str | None:
    return shared_memory_size(serving.sharedMemory, serving.gpu)


def step_shared_memory(step: Step) -> str | None:
    return shared_memory_size(step.sharedMemory, step.gpu)


@dataclass(frozen=True)
class PodFiles:
    """Volumes a pod needs and the mounts its main container gets."""

    volumes: tuple[Obj, ...]
    mounts: tuple[Obj, ...]


def pod_files(hardening: Hardening, shared_memory: str | None) -> PodFiles:
    """A writable /tmp for a read-only root, and a memory-backed /dev/shm of the given size."""
    volumes: list[Obj] = []
    mounts: list[Obj] = []
    if hardening.read_only_root:
        volumes.append(tmp_volume())
        mounts.append(tmp_mount())
    if shared_memory is not None:
        volumes.append({"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": shared_memory}})
        mounts.append({"name": SHM_VOLUME, "mountPath": SHM_DIR})
    return PodFiles(tuple(volumes), tuple(mounts))


def tmp_volume() -> Obj:
    return {"name": TMP_VOLUME, "emptyDir": {}}


def tmp_mount() -> Obj:
    return {"name": TMP_VOLUME, "mountPath": TMP_DIR}


def harden_template(template: Obj, container: Obj, hardening: Hardening, shared_memory: str | None) -> None:
    """Give an Argo template (pod-level `volumes`) and its container the security context and files."""
    container["securityContext"] = container_security_context(hardening)
    files = pod_files(hardening, shared_memory)
    if files.mounts:
        container["volumeMounts"] = [*container.get("volumeMounts", []), *files.mounts]
    if files.volumes:
        template["volumes"] = [*template.get("volumes", []), *files.volumes]
