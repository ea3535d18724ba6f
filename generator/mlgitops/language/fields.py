"""Value types and validators shared by every spec file (names, quantities, durations, URIs, images)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from mlgitops.language import kubevalues as kv
from mlgitops.language.credentials import uri_problem
from mlgitops.language.storageuri import storage_uri_problem
from mlgitops.util.reserved import metadata_key

API_VERSION = "mlgitops.io/v1alpha1"
DEFAULT_CLUSTER = "https://kubernetes.default.svc"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DURATION = re.compile(r"^(\d+h)?(\d+m)?(\d+s)?$")
_ARTIFACT = re.compile(r"^[a-zA-Z0-9][-_a-zA-Z0-9]*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
# kserve pkg/apis/serving/v1beta1/predictor.go SupportedStorageURIPrefixList, plus the OCI model-car
# prefixes of the storage initializer and the modelcar webhook (`oci+fetch://` downloads an OCI artifact,
# `oci+native://` mounts an image volume: kserve pkg/webhook/admission/pod/storage_initializer_injector.go).
_STORAGE_SCHEMES = (
    "gs",
    "s3",
    "pvc",
    "file",
    "http",
    "https",
    "hdfs",
    "webhdfs",
    "oci",
    "oci+fetch",
    "oci+native",
    "hf",
)


def dns_label(value: str) -> str:
    if len(value) > 63 or not _DNS_LABEL.match(value):
        raise ValueError(
            f"{value!r} is not a DNS-1123 label (lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)"
        )
    return value


def scalar_text(value: Any) -> Any:
    """Text fields take text only: `version: 1.10` would silently become "1.1", so a number or a
    boolean is refused with a hint to quote it (schema_errors.py words it with what was written)."""
    if isinstance(value, (bool, int, float)):
        message = "written as a YAML {kind} where text is meant: quote it"
        raise PydanticCustomError(UNQUOTED_SCALAR, message, {"kind": _yaml_kind(value)})
    return value


def _quantity_text(value: Any) -> Any:
    """Quantities keep accepting numbers (`cpu: 1`, `cpu: 0.5`): Kubernetes reads a JSON/YAML number as a
    Quantity too (apimachinery pkg/api/resource/quantity.go UnmarshalJSON), and the numeric value is what
    counts, so `1.10` and `1.1` mean the same amount."""
    if isinstance(value, bool):
        return scalar_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number (quote it if you mean the text)")
        return format(value, "g") if value != int(value) else str(int(value))
    return value


UNQUOTED_SCALAR = "unquoted_scalar"


def _yaml_kind(value: Any) -> str:
    return "boolean" if isinstance(value, bool) else "number"


def _label_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ValueError(f"{value!r} cannot be a Kubernetes label value (letters, digits, '-', '_', '.'; at most 63)")
    return value


def _quantity(value: str) -> str:
    message = kv.quantity(value)
    if message:
        raise ValueError(message)
    return value


def _duration(value: str) -> str:
    if not value or not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration (like 45m, 6h, 1h30m)")
    too_long = kv.duration_range(duration_seconds(value)) if len(value) <= 32 else "is too long"
    if too_long:
        raise ValueError(f"{value!r} {too_long}")
    return value


def without_credentials(value: str) -> str:
    message = uri_problem(value)
    if message:
        raise ValueError(message)
    return value


KSERVE_STORAGE_SCHEMES = _STORAGE_SCHEMES
# RFC 3986 section 3.1, lower case: the schemes KServe knows and those a ClusterStorageContainer adds (a
# scheme outside KSERVE_STORAGE_SCHEMES is admitted per environment by clusterFeatures.storageSchemes:
# servingfit.py).
URI_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


def _storage_scheme(value: str) -> str:
    if not URI_SCHEME.match(value) or len(value) > 63:
        raise ValueError(
            f"{value[:80]!r} is not a URI scheme (a lower-case letter, then letters, digits, '+', '-' or '.')"
        )
    return value


StorageScheme = Annotated[str, AfterValidator(_storage_scheme)]


def _storage_uri(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if not sep or not rest or not URI_SCHEME.match(scheme):
        raise ValueError(
            f"{value!r} is not a storage URI (scheme://location; KServe's schemes: {', '.join(_STORAGE_SCHEMES)}, "
            "and those of clusterFeatures.storageSchemes)"
        )
    message = storage_uri_problem(value)
    if message:
        raise ValueError(message)
    return value


def _artifact_name(value: str) -> str:
    if not _ARTIFACT.match(value):
        raise ValueError(f"{value!r} is not a valid name (letters, digits, '-' and '_')")
    return value


def qualified_image(value: str) -> str:
    """A reference a node can pull as written: registry host, repository, and a tag or digest."""
    name, at, digest = value.partition("@")
    host, slash, path = name.partition("/")
    tag = path.rpartition(":")[2] if ":" in path else ""
    if not slash or not ("." in host or ":" in host or host == "localhost"):
        raise ValueError(
            f"{value!r} is not fully qualified: name the registry host (for example ghcr.io/acme/mlgitops-cmp:0.1.0)"
        )
    if not (tag or (at and digest.startswith("sha256:"))):
        raise ValueError(f"{value!r} names no tag or digest (for example ghcr.io/acme/mlgitops-cmp:0.1.0)")
    return value


DnsLabel = Annotated[str, AfterValidator(dns_label)]
Text = Annotated[str, BeforeValidator(scalar_text)]
Version = Annotated[str, BeforeValidator(scalar_text), AfterValidator(_label_value)]
Quantity = Annotated[str, BeforeValidator(_quantity_text), AfterValidator(_quantity)]
Duration = Annotated[str, AfterValidator(_duration)]
StorageUri = Annotated[str, AfterValidator(without_credentials), AfterValidator(_storage_uri)]
ArtifactName = Annotated[str, AfterValidator(_artifact_name)]


# --- values Kubernetes, Argo and Git check (rules in kubevalues.py, credentials in credentials.py) ---

_T = TypeVar("_T")
# The model name plus the longest suffix a rendered name gets: `<name>-predictor` is a Service (and
# KServe's own predictor Service), a DNS-1035 label of at most 63; KServe also requires the
# InferenceService name to start with a letter (kserve pkg/apis/serving/v1beta1/inference_service_validation.go
# IsvcNameFmt). The Deployment `<name>-predictor-canary` is a subdomain (253), so it is not the bound.
PREDICTOR_SUFFIX = "-predictor"


def checked_by(check: Callable[[_T], str | None]) -> Callable[[_T], _T]:
    def validate(value: _T) -> _T:
        message = check(value)
        if message:
            raise ValueError(message)
        return value

    return validate


def _model_name(value: str) -> str | None:
    limit = kv.DNS1123_LABEL_MAX - len(PREDICTOR_SUFFIX)
    if kv.dns1035_label(value, limit):
        return (
            f"{value[:80]!r} is not a model name: a DNS-1123 label that starts with a letter (lower-case letters, "
            f"digits and '-'), at most {limit} characters so that the Service '<name>{PREDICTOR_SUFFIX}' fits in 63"
        )
    return None


ModelName = Annotated[str, AfterValidator(checked_by(_model_name))]
DnsSubdomain = Annotated[str, AfterValidator(checked_by(kv.dns1123_subdomain))]
LabelKey = Annotated[str, AfterValidator(checked_by(kv.qualified_name))]
LabelValue = Annotated[str, BeforeValidator(scalar_text), AfterValidator(checked_by(kv.label_value))]
LabelMap = dict[LabelKey, LabelValue]
# A label or annotation key the spec puts on rendered objects: also not one Kustomize interprets or only
# mlgitops writes (reserved.py), refused at the key.
ObjectKey = Annotated[str, AfterValidator(checked_by(kv.qualified_name)), AfterValidator(checked_by(metadata_key))]
ObjectLabelMap = dict[ObjectKey, LabelValue]
AnnotationMap = Annotated[dict[ObjectKey, Text], AfterValidator(checked_by(kv.annotations_size))]
# int32 fields: HPA minReplicas/maxReplicas/averageUtilization (k8s.io/api autoscaling/v2/types.go), KServe
# minReplicas/maxReplicas/scaleTarget (kserve pkg/apis/serving/v1beta1/component.go); int64:
# Toleration.tolerationSeconds (k8s.io/api core/v1/types.go).
Int32 = Annotated[int, AfterValidator(checked_by(kv.int32))]
Int64 = Annotated[int, AfterValidator(checked_by(kv.int64))]
ImageRef = Annotated[str, AfterValidator(checked_by(kv.image_reference))]
GitRevision = Annotated[str, BeforeValidator(scalar_text), AfterValidator(checked_by(kv.git_ref))]
ClusterUrl = Annotated[str, AfterValidator(checked_by(kv.https_url))]
CredentialFreeUri = Annotated[str, AfterValidator(without_credentials)]
ResourceName = Annotated[str, AfterValidator(checked_by(kv.container_resource_name))]
ExtendedResource = Annotated[str, AfterValidator(checked_by(kv.extended_resource_name))]
EnvName = Annotated[str, AfterValidator(checked_by(kv.env_var_name))]
ParameterName = Annotated[str, AfterValidator(checked_by(kv.argo_parameter_name))]
CronSchedule = Annotated[str, AfterValidator(checked_by(kv.cron_schedule))]
TimeZone = Annotated[str, AfterValidator(checked_by(kv.timezone))]


def duration_seconds(value: str) -> int:
    """`1h30m` → 5400."""
    total = 0
    for number, unit in re.findall(r"(\d+)([hms])", value):
        total += int(number) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, allow_inf_nan=False)


_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _run_id(value: str) -> str:
    if not _RUN_ID.match(value):
        raise ValueError(f"{value!r} is not a run id (letters, digits, '.', '_' and '-', at most 128)")
    return value


# A training run's id as a registry reports it (MLflow: 32 hex digits); rendered as an annotation value.
RunId = Annotated[str, AfterValidator(_run_id)]
