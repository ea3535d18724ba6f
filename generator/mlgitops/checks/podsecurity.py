"""The Pod Security Standards, checked on the pods of rendered objects (the `pod-security` policy).

The rules are those of the admission plugin every cluster runs, kubernetes/pod-security-admission
`policy/check_*.go` (https://github.com/kubernetes/pod-security-admission/tree/master/policy), for the
level the environment's namespace enforces (mlgitops.yaml `clusterFeatures.podSecurity`):

* baseline: no host namespaces, privileged containers, hostPath volumes, hostPorts, capabilities beyond
  the default set, non-default procMount, unsafe sysctls, Unconfined seccomp, custom SELinux types,
  users or roles, AppArmor profiles other than the runtime default or localhost ones, Windows
  HostProcess, probe or lifecycle hosts;
* restricted, in addition: runAsNonRoot true, runAsUser not 0, seccomp RuntimeDefault or Localhost,
  allowPrivilegeEscalation false, capabilities drop ALL (add only NET_BIND_SERVICE), and only the
  volume types configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim,
  projected, secret.

Only what the objects in Git say is checked: containers a controller injects later (KServe's
storage-initializer, Knative's queue-proxy, Argo's init and wait) carry their own settings, which
docs/real-cluster.md covers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mlgitops.language.project import Project
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import Obj
from mlgitops.util.yamlio import JsonPath

__all__ = [
    "COMPONENT_CONTAINERS",
    "POD_SECURITY_LEVELS",
    "pod_security_level",
    "shared_memory_mounted",
    "site_problems",
]

Problem = tuple[JsonPath, str]

POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
# Container-shaped fields of a KServe component besides `containers`: the `model` of the current predictor
# form, the framework fields of the older one (`predictor.sklearn`, ...: PredictorExtensionSpec inlines a
# Container) and the explainers' (kserve pkg/apis/serving/v1beta1 predictor.go, explainer.go). KServe
# names each such container kserve-container.
COMPONENT_CONTAINERS = (
    "model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "pmml", "lightgbm",
    "paddle", "art", "alibi",
)  # fmt: skip
# check_capabilities_baseline.go
_BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
# check_sysctls.go, the safe set up to Kubernetes 1.32
_SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    }
)
# check_seLinuxOptions.go (container_engine_t since 1.31)
_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
# check_restrictedVolumes.go
_RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
_ALLOWED_PROFILES = ("RuntimeDefault", "Localhost")
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def pod_security_level(project: Project, env: str) -> str:
    """The level an environment's namespace enforces; for base/platform (in every environment) the strictest."""
    if env in project.environment_names:
        return project.features(env).podSecurity
    levels = [project.features(name).podSecurity for name in project.environment_names]
    return max(levels, key=POD_SECURITY_LEVELS.index)


def _dict_at(node: Any, path: JsonPath | None) -> dict[str, Any]:
    found = get_path(node, path) if path is not None else None
    return found if isinstance(found, dict) else {}


def _entries(obj: Obj, path: JsonPath) -> tuple[JsonPath, ...]:
    items = get_path(obj, path)
    if not isinstance(items, list):
        return ()
    return tuple((*path, i) for i, item in enumerate(items) if isinstance(item, dict))


class _Pod:
    """Where the pod-level fields of one pod-shaped part of an object are.

    An Argo template inherits the workflow's securityContext (when it sets none), volumes, hostNetwork
    and podMetadata (argo-workflows workflow/controller/workflowpod.go).
    """

    def __init__(self, obj: Obj, site: JsonPath, workflow: JsonPath | None) -> None:
        own_security = (*site, "securityContext")
        self.host: JsonPath = site
        self.annotations: tuple[JsonPath, ...] = ()
        self.security: JsonPath = own_security
        self.volumes = _entries(obj, (*site, "volumes"))
        if workflow is not None:
            if not isinstance(get_path(obj, own_security), dict):
                self.security = (*workflow, "securityContext")
            self.volumes += _entries(obj, (*workflow, "volumes"))
            self.host = workflow
            self.annotations = ((*site, "metadata", "annotations"), (*workflow, "podMetadata", "annotations"))
        elif obj.get("kind") == "LLMInferenceService" and site[-1:] in (("template",), ("worker",)):
            self.annotations = ((*site[:-1], "annotations"),)  # WorkloadSpec.annotations go on its pods
        elif site[-1:] == ("spec",) and len(site) > 1:
            self.annotations = ((*site[:-1], "metadata", "annotations"),)
        elif site == ("spec",):
            self.annotations = (("metadata", "annotations"),)


def site_problems(
    obj: Obj, site: JsonPath, containers: tuple[JsonPath, ...], workflow: JsonPath | None, level: str
) -> Iterator[Problem]:
    """(path, what is wrong) for one pod-shaped part of `obj` at `level`; `workflow`: the Argo workflow
    spec the site's template belongs to."""
    if level not in ("baseline", "restricted"):
        return
    pod = _Pod(obj, site, workflow)
    yield from _pod_level(obj, pod, level)
    for container in containers:
        found = list(_container(obj, pod, container, level))
        if found:
            what = "; ".join(message for _, message in found)
            yield found[0][0], f"container {_container_name(obj, site, container)}: {what}"


def _container_name(obj: Obj, site: JsonPath, container: JsonPath) -> str:
    name = get_path(obj, (*container, "name"))
    if name:
        return str(name)
    if container[-1] in COMPONENT_CONTAINERS:
        return "kserve-container"  # the name KServe gives a component's model container
    if container[-1] in ("container", "script"):
        return f"main (template {get_path(obj, (*site, 'name'))})"  # Argo's name for it
    return str(container[-1])


def _pod_level(obj: Obj, pod: _Pod, level: str) -> Iterator[Problem]:
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if get_path(obj, (*pod.host, flag)) is True:
            yield (*pod.host, flag), f"{flag} is true (a host namespace)"
    security = _dict_at(obj, pod.security)
    yield from _either_level(security, pod.security)
    for i, sysctl in enumerate(security.get("sysctls") or []):
        name = sysctl.get("name") if isinstance(sysctl, dict) else None
        if name not in _SAFE_SYSCTLS:
            yield (*pod.security, "sysctls", i, "name"), f"sysctl {name} is not in the safe set"
    for annotation_map in pod.annotations:
        for key, value in _dict_at(obj, annotation_map).items():
            if str(key).startswith(_APPARMOR_ANNOTATION) and not (
                value == "runtime/default" or str(value).startswith("localhost/")
            ):
                yield (*annotation_map, key), f"AppArmor profile {value!r} (allowed: runtime/default, localhost/*)"
    for volume in pod.volumes:
        node = _dict_at(obj, volume)
        for kind in (key for key in node if key != "name"):
            if kind == "hostPath":
                yield (*volume, kind), f"volume {node.get('name')} is a hostPath"
            elif level == "restricted" and kind not in _RESTRICTED_VOLUMES:
                allowed = ", ".join(sorted(_RESTRICTED_VOLUMES))
                yield (*volume, kind), f"volume {node.get('name')} has type {kind} (allowed: {allowed})"


def _either_level(security: dict[str, Any], path: JsonPath) -> Iterator[Problem]:
    """Baseline checks that apply alike to a pod's and a container's securityContext."""
    if _dict_at(security, ("seccompProfile",)).get("type") == "Unconfined":
        yield (*path, "seccompProfile", "type"), "seccompProfile is Unconfined"
    selinux = _dict_at(security, ("seLinuxOptions",))
    if selinux.get("type", "") not in _SELINUX_TYPES:
        yield (*path, "seLinuxOptions", "type"), f"SELinux type {selinux.get('type')}"
    for key in ("user", "role"):
        if selinux.get(key):
            yield (*path, "seLinuxOptions", key), f"a custom SELinux {key}"
    apparmor = _dict_at(security, ("appArmorProfile",)).get("type")
    if apparmor is not None and apparmor not in _ALLOWED_PROFILES:
        yield (*path, "appArmorProfile", "type"), f"AppArmor profile {apparmor}"
    if _dict_at(security, ("windowsOptions",)).get("hostProcess") is True:
        yield (*path, "windowsOptions", "hostProcess"), "a Windows HostProcess container"


def _container(obj: Obj, pod: _Pod, container: JsonPath, level: str) -> Iterator[Problem]:
    here = (*container, "securityContext")
    security = _dict_at(obj, here)
    pod_security = _dict_at(obj, pod.security)
    user_namespace = get_path(obj, (*pod.host, "hostUsers")) is False
    linux = get_path(obj, (*pod.host, "os", "name")) != "windows"
    if security.get("privileged") is True:
        yield (*here, "privileged"), "privileged is true"
    for i, capability in enumerate(_dict_at(security, ("capabilities",)).get("add") or []):
        if capability not in _BASELINE_CAPABILITIES:
            yield (*here, "capabilities", "add", i), f"adds capability {capability}"
        elif level == "restricted" and capability != "NET_BIND_SERVICE":
            yield (*here, "capabilities", "add", i), f"adds {capability} (only NET_BIND_SERVICE may be added)"
    for i, port in enumerate(get_path(obj, (*container, "ports")) or []):
        if isinstance(port, dict) and port.get("hostPort"):
            yield (*container, "ports", i, "hostPort"), f"hostPort {port['hostPort']}"
    proc_mount = security.get("procMount")
    if proc_mount not in (None, "Default") and (level == "restricted" or not user_namespace):
        yield (*here, "procMount"), f"procMount {proc_mount}"
    yield from _either_level(security, here)
    yield from _probe_hosts(obj, container)
    if level == "restricted":
        yield from _restricted(security, pod_security, here, pod.security, user_namespace=user_namespace, linux=linux)


def _restricted(
    security: dict[str, Any],
    pod_security: dict[str, Any],
    here: JsonPath,
    pod_path: JsonPath,
    *,
    user_namespace: bool,
    linux: bool,
) -> Iterator[Problem]:
    if linux and security.get("allowPrivilegeEscalation") is not False:
        yield (*here, "allowPrivilegeEscalation"), "allowPrivilegeEscalation is not false"
    if not user_namespace:
        non_root = security.get("runAsNonRoot")
        if non_root is False or (non_root is None and pod_security.get("runAsNonRoot") is not True):
            yield (*here, "runAsNonRoot"), "runAsNonRoot is not true (on the container or the pod)"
        if security.get("runAsUser") == 0:
            yield (*here, "runAsUser"), "runAsUser is 0 (root)"
        elif security.get("runAsUser") is None and pod_security.get("runAsUser") == 0:
            yield (*pod_path, "runAsUser"), "runs as the pod's runAsUser 0 (root)"
    if not linux:
        return
    seccomp = _dict_at(security, ("seccompProfile",)).get("type")
    if seccomp is None and _dict_at(pod_security, ("seccompProfile",)).get("type") not in _ALLOWED_PROFILES:
        yield (*here, "seccompProfile"), "no seccompProfile RuntimeDefault or Localhost (on the container or the pod)"
    elif seccomp is not None and seccomp not in _ALLOWED_PROFILES:
        yield (*here, "seccompProfile", "type"), f"seccompProfile is {seccomp}"
    if "ALL" not in (_dict_at(security, ("capabilities",)).get("drop") or []):
        yield (*here, "capabilities", "drop"), "capabilities do not drop ALL"


def _probe_hosts(obj: Obj, container: JsonPath) -> Iterator[Problem]:
    """check_hostProbesAndhostLifecycle.go (1.34+): probes and lifecycle handlers may not name a host."""
    handlers: list[JsonPath] = [(*container, probe) for probe in ("livenessProbe", "readinessProbe", "startupProbe")]
    handlers += [(*container, "lifecycle", hook) for hook in ("postStart", "preStop")]
    for handler in handlers:
        for action in ("httpGet", "tcpSocket"):
            host = get_path(obj, (*handler, action, "host"))
            if host:
                yield (*handler, action, "host"), f"a probe or lifecycle handler names host {host}"


def shared_memory_mounted(obj: Obj, site: JsonPath, container: JsonPath, workflow: JsonPath | None) -> bool:
    """Whether the container mounts a memory-backed emptyDir of its pod at /dev/shm."""
    pod = _Pod(obj, site, workflow)
    memory = {
        get_path(obj, (*volume, "name"))
        for volume in pod.volumes
        if get_path(obj, (*volume, "emptyDir", "medium")) == "Memory"
    }
    mounts = get_path(obj, (*container, "volumeMounts")) or []
    return any(isinstance(m, dict) and m.get("mountPath") == "/dev/shm" and m.get("name") in memory for m in mounts)
