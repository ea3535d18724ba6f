"""Spec-level rules for what every pod needs (the rendering is in render/pods.py): the /dev/shm size of
a pod, and the checks that make a spec which cannot run a positioned error.

* `runAsUser: 0` with `runAsNonRoot: true`: the kubelet refuses to start the container.
* `/dev/shm` larger than the container's memory limit: a memory-backed emptyDir is charged to the
  container's memory, so filling it would OOM-kill the container first.
* A Deployment-engine canary at 100 %: traffic is split by pod count and the stable Deployment keeps
  `replicas.min` pods, so the canary can never take all of it.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from mlgitops.language.model import Model
from mlgitops.language.serving import Gpu, Resources, SecurityContext
from mlgitops.language.training import Step, Training
from mlgitops.language.workspace import Locator
from mlgitops.util.errors import Problem
from mlgitops.util.yamlio import JsonPath

SHM_PER_GPU_GIB = 1
"""Default /dev/shm per GPU. One training process per GPU (torchrun, DDP) passes batches from its
DataLoader workers through /dev/shm, and NCCL's shared-memory transport keeps buffers per GPU pair
there; the container runtime's 64 MiB default is what makes them crash. 1 GiB per process is the usual
starting point (NVIDIA's NGC and Triton examples run containers with `--shm-size=1g`), scaled with the
number of processes, i.e. of GPUs."""

_SUFFIXES: dict[str, Decimal | int] = {
    "": 1,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)([numkMGTPE]|[KMGTPE]i)?$")


def quantity_value(text: str) -> Decimal:
    """`2Gi` → 2147483648, `500m` → 0.5 (Kubernetes resource quantities; the spec validated the form)."""
    match = _QUANTITY.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    return Decimal(match[1]) * Decimal(_SUFFIXES[match[2] or ""])


def shared_memory_size(explicit: str | None, gpu: Gpu | None) -> str | None:
    """The /dev/shm size of a pod: the spec's, or for GPU pods 1Gi per GPU; None: the runtime's default."""
    if explicit is not None:
        return explicit
    count = gpu.count if gpu is not None else 0
    return f"{SHM_PER_GPU_GIB * count}Gi" if count else None


def step_security(training: Training, step: Step | None) -> SecurityContext:
    """training.securityContext with the fields a step sets over it (`step` None: the register step)."""
    if step is None or step.securityContext is None:
        return training.securityContext
    override = step.securityContext
    return training.securityContext.model_copy(
        update={name: getattr(override, name) for name in override.model_fields_set}
    )


def check_pods(spec: Model, locate: Locator) -> list[Problem]:
    """Pod settings of a (resolved) model that cannot run."""
    problems: list[Problem] = []
    serving = spec.serving
    if serving is not None:
        where: JsonPath = ("serving",)
        problems += _root_user(serving.securityContext, (*where, "securityContext"), locate)
        problems += _shared_memory(serving.sharedMemory, serving.gpu, serving.resources, where, locate)
        canary = serving.canary
        if serving.engine == "deployment" and canary is not None and canary.trafficPercent == 100:
            problems.append(
                Problem(
                    locate(("serving", "canary", "trafficPercent"), False),
                    "trafficPercent 100 cannot be honoured with engine: deployment (traffic is split by pod "
                    "count and the stable Deployment keeps serving.replicas.min pods); promote the canary "
                    "instead: set model.version and model.storageUri to it and remove serving.canary",
                )
            )
    training = spec.training
    if training is not None:
        problems += _root_user(training.securityContext, ("training", "securityContext"), locate)
        for i, step in enumerate(training.steps):
            where = ("training", "steps", i)
            if step.securityContext is not None:
                effective = step_security(training, step)
                problems += _root_user(effective, (*where, "securityContext"), locate)
            problems += _shared_memory(step.sharedMemory, step.gpu, step.resources, where, locate)
    return problems


def _root_user(context: SecurityContext, where: JsonPath, locate: Locator) -> list[Problem]:
    if context.runAsNonRoot and context.runAsUser == 0:
        return [
            Problem(
                locate((*where, "runAsUser"), False),
                "runAsUser 0 is root, and runAsNonRoot is true: the kubelet refuses to start the container; "
                "use a non-zero user, or set runAsNonRoot: false for an image that must run as root",
            )
        ]
    return []


def _shared_memory(
    explicit: str | None, gpu: Gpu | None, resources: Resources | None, where: JsonPath, locate: Locator
) -> list[Problem]:
    size = shared_memory_size(explicit, gpu)
    limit = resources.limits.get("memory") if resources is not None else None
    if size is None or limit is None or quantity_value(size) <= quantity_value(limit):
        return []
    if explicit is not None:
        at = locate((*where, "sharedMemory"), False)
        what = f"sharedMemory {size}"
    else:
        at = locate((*where, "gpu", "count"), False)
        what = f"the default /dev/shm for {gpu.count if gpu else 0} GPU(s), {size},"
    return [
        Problem(
            at,
            f"{what} exceeds the memory limit {limit}: a memory-backed /dev/shm counts against the "
            f"container's memory; set {'.'.join(str(p) for p in where)}.sharedMemory to at most the limit, "
            "or raise resources.limits.memory",
        )
    ]


def canary_replicas(share_percent: int, stable: int) -> int:
    """Canary pods that take `share_percent` of the pods when the stable Deployment has `stable` pods.

    The Service spreads connections over all ready pods of both Deployments, so the canary's share is
    canary / (canary + stable): canary = stable × share / (1 − share), rounded up, at least 1.
    """
    share = share_percent / 100
    return max(1, math.ceil(round(stable * share / (1 - share), 9)))


CANARY_SHARE_TOLERANCE = 0.05


def canary_share_problem(share_percent: int, canary_pods: int, stable_pods: int) -> str | None:
    """Why `canary_pods` beside `stable_pods` is not the share asked for (more than 5 points off), or None."""
    asked = share_percent / 100
    got = canary_pods / (canary_pods + stable_pods)
    if abs(got - asked) <= CANARY_SHARE_TOLERANCE:
        return None

    def share(stable: int) -> float:
        pods = canary_replicas(share_percent, stable)
        return pods / (pods + stable)

    enough = next((m for m in range(stable_pods, 10_000) if abs(share(m) - asked) <= CANARY_SHARE_TOLERANCE), None)
    hint = f"; serving.replicas.min {enough} gives {share(enough):.0%}" if enough else ""
    return (
        f"at the stable minimum the canary has {canary_pods} pod(s) beside {stable_pods}, so {got:.0%} of the "
        f"connections, not {share_percent}%{hint}"
    )
