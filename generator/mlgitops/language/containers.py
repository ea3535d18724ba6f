"""Container contents shared by serving and training steps: env, envFrom and volumes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from mlgitops.language import kubevalues as kv
from mlgitops.language.fields import DnsLabel, DnsSubdomain, EnvName, Quantity, Strict, Text, checked_by

ConfigKey = Annotated[str, AfterValidator(checked_by(kv.config_map_key))]
# The step directories render/training.py mounts (training.STEP_DIR_VOLUMES) are reserved too.
_RESERVED_VOLUME_NAMES = ("tmp", "devshm", "model-store", "mlgitops-outputs", "mlgitops-params", "mlgitops-metrics")
VOLUME_SOURCES = ("pvc", "secret", "configMap", "emptyDir", "csi", "ephemeral")
_RESERVED_MOUNTS = {
    "/tmp": "size or switch it with securityContext.readOnlyRootFilesystem",
    "/dev/shm": "size or switch it with sharedMemory",
    # KServe's storage initializer and engine: deployment put the model there
    "/mnt/models": "size or switch it with model.storageUri",
    # A training step's own directories (render/training.py mounts each one a step declares).
    "/tmp/mlgitops/outputs": "a step writes its outputs there",
    "/tmp/mlgitops/params": "a step writes its params there",
    "/tmp/mlgitops/metrics": "a step writes its metrics there",
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


# kubernetes pkg/apis/core/validation/volumes.go, csiDriverNameRexpFmt (at most 63 characters).
_CSI_DRIVER = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,61}[a-zA-Z0-9]$")
_LEADING_NUMBER = re.compile(r"^\+?([0-9]+\.?[0-9]*|\.[0-9]+)")


def _csi_driver(value: str) -> str:
    if not _CSI_DRIVER.fullmatch(value):
        raise ValueError(
            f"{value[:80]!r} is not a CSI driver name (letters, digits, '-', '_' and '.', starting and ending with "
            "a letter or digit, at most 63 characters; for example secrets-store.csi.k8s.io)"
        )
    return value


def _positive_size(value: str) -> str:
    number = _LEADING_NUMBER.match(value)
    if number is not None and Decimal(number[1]) == 0:
        raise ValueError(f"{value!r}: a claim's storage request must be greater than zero (for example 10Gi)")
    return value


class Csi(Strict):
    """An inline volume of a CSI driver (Kubernetes `csi`): the driver mounts what its attributes name,
    for example a secrets-store SecretProviderClass or an object-store bucket."""

    driver: Annotated[str, AfterValidator(_csi_driver)] = Field(
        description="the CSI driver's registered name (for example secrets-store.csi.k8s.io)"
    )
    volumeAttributes: dict[Annotated[str, Field(min_length=1)], Text] = Field(
        default_factory=dict,
        description="driver-specific settings (for example {secretProviderClass: vault-db})",
    )
    readOnly: bool | None = Field(default=None, description="ask the driver for a read-only volume; default false")


AccessMode = Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
_DEFAULT_ACCESS_MODES: tuple[AccessMode, ...] = ("ReadWriteOnce",)


class Ephemeral(Strict):
    """A PersistentVolumeClaim created with the pod and deleted with it (Kubernetes `ephemeral`): scratch
    space from a storage class, larger or faster than the node's disk."""

    storageClass: DnsSubdomain | None = Field(
        default=None, description="StorageClass of the claim; default: the cluster's default class (e.g. fast-ssd)"
    )
    size: Annotated[Quantity, AfterValidator(_positive_size)] = Field(
        description="storage requested (for example 100Gi)"
    )
    accessModes: list[AccessMode] = Field(
        default_factory=lambda: list(_DEFAULT_ACCESS_MODES),
        min_length=1,
        description="access modes of the claim; default [ReadWriteOnce]",
    )


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
    csi: Csi | None = Field(
        default=None,
        description="a CSI driver's inline volume (for example {driver: secrets-store.csi.k8s.io, "
        "volumeAttributes: {secretProviderClass: vault-db}})",
    )
    ephemeral: Ephemeral | None = Field(
        default=None,
        description="a claim made and deleted with the pod (for example {storageClass: fast-ssd, size: 100Gi})",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Volume:
        sources = [n for n in VOLUME_SOURCES if getattr(self, n) is not None]
        if len(sources) != 1:
            found = f"found {' and '.join(sources)}" if sources else "found none"
            raise ValueError(f"volume {self.name!r}: set exactly one of {', '.join(VOLUME_SOURCES)} ({found})")
        if self.name in _RESERVED_VOLUME_NAMES:
            raise ValueError(f"volume name {self.name!r} is reserved for the volume mlgitops adds itself; rename it")
        reserved = _RESERVED_MOUNTS.get(self.mountPath.rstrip("/") or "/")
        if reserved is not None:
            raise ValueError(f"{self.mountPath} is mounted by mlgitops itself; {reserved}")
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
