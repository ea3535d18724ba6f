"""What goes inside a container, shared by the serving and training renderers: environment variables
(literal, or one key of a Secret or ConfigMap), `envFrom`, and user volumes with their mounts.

Volumes: `pvc`, `secret`, `configMap`, `emptyDir`, `csi` (an inline CSI volume) and `ephemeral` (a
claim the pod's `volumeClaimTemplate` makes and deletes with the pod: Kubernetes names it
`<pod>-<volume>`), every one a type the `restricted` Pod Security Standard allows.

A `{secret, key}` value renders as `valueFrom.secretKeyRef`, so the Secret's value never reaches Git
or `diff`; literal values that look like credentials are refused earlier (credentials.py).

Source map (object path → spec line): checks/sourcemap/common.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlgitops.language.containers import ConfigMapKeyRef, EnvFromSource, EnvValue, SecretKeyRef, Volume
from mlgitops.util.kubenames import Obj


def env_var(name: str, value: EnvValue) -> Obj:
    """One `env` entry of a container."""
    if isinstance(value, SecretKeyRef):
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": value.secret, "key": value.key}}}
    if isinstance(value, ConfigMapKeyRef):
        return {"name": name, "valueFrom": {"configMapKeyRef": {"name": value.configMap, "key": value.key}}}
    return {"name": name, "value": value}


def env_list(env: Mapping[str, EnvValue]) -> list[Obj]:
    """A container's `env`, sorted by name (deterministic whatever the order of merged patches)."""
    return [env_var(name, env[name]) for name in sorted(env)]


def env_from(sources: Sequence[EnvFromSource]) -> list[Obj]:
    """A container's `envFrom`, in the order written (later sources win on a clash, as in Kubernetes)."""
    out: list[Obj] = []
    for source in sources:
        if source.secret is not None:
            out.append({"secretRef": {"name": source.secret}})
        elif source.configMap is not None:
            out.append({"configMapRef": {"name": source.configMap}})
    return out


def _volume_source(volume: Volume) -> Obj:
    if volume.pvc is not None:
        return {"persistentVolumeClaim": {"claimName": volume.pvc, **({"readOnly": True} if volume.readOnly else {})}}
    if volume.secret is not None:
        return {"secret": {"secretName": volume.secret}}
    if volume.configMap is not None:
        return {"configMap": {"name": volume.configMap}}
    if volume.csi is not None:
        csi: Obj = {"driver": volume.csi.driver}
        if volume.csi.readOnly is not None:
            csi["readOnly"] = volume.csi.readOnly
        if volume.csi.volumeAttributes:
            csi["volumeAttributes"] = dict(volume.csi.volumeAttributes)
        return {"csi": csi}
    if volume.ephemeral is not None:
        claim = volume.ephemeral
        spec: Obj = {"accessModes": list(claim.accessModes)}
        if claim.storageClass is not None:
            spec["storageClassName"] = claim.storageClass
        spec["resources"] = {"requests": {"storage": claim.size}}
        return {"ephemeral": {"volumeClaimTemplate": {"spec": spec}}}
    assert volume.emptyDir is not None
    return {"emptyDir": volume.emptyDir.model_dump(exclude_none=True)}


@dataclass(frozen=True)
class UserVolumes:
    """The pod's `volumes` entries and the container's `volumeMounts` for the user's volumes."""

    volumes: tuple[Obj, ...]
    mounts: tuple[Obj, ...]


def user_volumes(volumes: Sequence[Volume]) -> UserVolumes:
    pod: list[Obj] = []
    mounts: list[Obj] = []
    for volume in volumes:
        pod.append({"name": volume.name, **_volume_source(volume)})
        mount: Obj = {"name": volume.name, "mountPath": volume.mountPath}
        if volume.readOnly:
            mount["readOnly"] = True
        mounts.append(mount)
    return UserVolumes(tuple(pod), tuple(mounts))


def add_contents(
    container: Obj, env: Mapping[str, EnvValue], sources: Sequence[EnvFromSource], volumes: Sequence[Volume]
) -> list[Obj]:
    """Give `container` its env, envFrom and mounts (after any it has); return the pod volumes to add."""
    if env:
        container["env"] = [*container.get("env", []), *env_list(env)]
    if sources:
        container["envFrom"] = env_from(sources)
    own = user_volumes(volumes)
    if own.mounts:
        container["volumeMounts"] = [*container.get("volumeMounts", []), *own.mounts]
    return list(own.volumes)
