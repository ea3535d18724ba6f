"""Container contents shared by serving and training steps: env, envFrom and volumes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from mlgitops.language import kubevalues as kv
from mlgitops.language.fields import DnsLabel, DnsSubdomain, EnvName, Quantity, Strict, Text, checked_by

ConfigKey = Annotated[str, AfterValidator(checked_by(kv.config_map_key))]
_RESERVED_VOLUME_NAMES = ("tmp", "devshm", "model-store")
_RESERVED_MOUNTS = {
    "/tmp": "securityContext.readOnlyRootFilesystem",
    "/dev/shm": "sharedMemory",
    "/mnt/models": "model.storageUri",  # KServe's storage initializer and engine: deployment put the model there
}


class SecretKeyRef(Strict):
    """`{secret: NAME, key: KEY}`: one key of a Secret (rendered as valueFrom.secretKeyRef)."""

    secret: DnsSubdomain = Field(description="Secret name (for example hf-token)")
    key: ConfigKey = Field(description="key in the Secret (for example token)")


class ConfigMapKeyRef(Strict):
    """`{configMap: NAME, key: KEY}`: one key of a ConfigMap (rendered as valueFrom.configMapKeyRef)."""

    configMap: DnsSubdomain = Field(description="ConfigMap name (for example features)")
    key: ConfigKey = Field(description="key in the ConfigMap (for example columns)")


EnvValue = Text | SecretKeyRef | ConfigMapKeyRef
EnvMap = dict[EnvName, EnvValue]


class EnvFromSource(Strict):
    """`{secret: NAME}` or `{configMap: NAME}`: every key becomes a variable."""

    secret: DnsSubdomain | None = Field(default=None, description="Secret name (for example s3-creds)")
    configMap: DnsSubdomain | None = Field(default=None, description="ConfigMap name (for example features)")

    @model_validator(mode="after")
    def _one_source(self) -> EnvFromSource:
        if (self.secret is None) == (self.configMap is None):
            raise ValueError("set exactly one of secret or configMap")
        return self


class EmptyDir(Strict):
    medium: Literal["", "Memory"] | None = Field(
        default=None, description="Memory for a tmpfs (counts against the memory limit), else the node's disk"
    )
    sizeLimit: Quantity | None = Field(default=None, description="most the volume may hold (for example 10Gi)")


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or ":" in value or ".." in value.split("/"):
        raise ValueError(f"{value[:80]!r} is not an absolute path without '..' and ':' (for example /data)")
    return value


class Volume(Strict):
    """A volume and where the container mounts it; exactly one source. The sources are all allowed by the
    `restricted` Pod Security Standard (kubernetes/pod-security-admission policy/check_restrictedVolumes.go);
    hostPath is not offered."""

    name: DnsLabel = Field(description="volume name (for example cache)")
    mountPath: Annotated[str, AfterValidator(_absolute_path)] = Field(description="for example /cache")
    readOnly: bool = Field(default=False, description="mount read-only")
    pvc: DnsSubdomain | None = Field(default=None, description="PersistentVolumeClaim name (for example datasets)")
    secret: DnsSubdomain | None = Field(default=None, description="Secret name (for example tls-certs)")
    configMap: DnsSubdomain | None = Field(default=None, description="ConfigMap name (for example app-config)")
    emptyDir: EmptyDir | None = Field(default=None, description="scratch space (for example {sizeLimit: 20Gi})")

    @model_validator(mode="after")
    def _one_source(self) -> Volume:
        sources = [n for n in ("pvc", "secret", "configMap", "emptyDir") if getattr(self, n) is not None]
        if len(sources) != 1:
            found = f"found {' and '.join(sources)}" if sources else "found none"
            raise ValueError(f"volume {self.name!r}: set exactly one of pvc, secret, configMap, emptyDir ({found})")
        if self.name in _RESERVED_VOLUME_NAMES:
            raise ValueError(f"volume name {self.name!r} is reserved for the volume mlgitops adds itself; rename it")
        reserved = _RESERVED_MOUNTS.get(self.mountPath.rstrip("/") or "/")
        if reserved is not None:
            raise ValueError(f"{self.mountPath} is mounted by mlgitops itself; size or switch it with {reserved}")
        return self


def _distinct_volumes(volumes: list[Volume]) -> list[Volume]:
    for field in ("name", "mountPath"):
        seen: set[str] = set()
        for volume in volumes:
            value = getattr(volume, field)
            if value in seen:
                raise ValueError(f"two volumes have the {field} {value!r}")
            seen.add(value)
    return volumes


Volumes = Annotated[list[Volume], AfterValidator(_distinct_volumes)]
