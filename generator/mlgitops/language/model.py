"""`models/<name>.yaml` as a whole: patches, monitoring, data lineage and the `Model` itself."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from mlgitops.language.fields import CredentialFreeUri, Duration, LabelValue, Strict, Text
from mlgitops.language.project import Policies, Project
from mlgitops.language.serving import ModelMetadata, ModelSource, Serving
from mlgitops.language.smoketests import SmokeTests
from mlgitops.language.training import Training

# --- patches: RFC 6902 operations on the rendered objects (applied in mlgitops.render.patches) ---


def _json_pointer(value: str) -> str:
    if value and not value.startswith("/"):
        raise ValueError(f"{value[:80]!r} is not a JSON Pointer (RFC 6901): it must be empty or start with '/'")
    if re.search(r"~[^01]|~$", value):
        raise ValueError(f"{value[:80]!r} is not a JSON Pointer (RFC 6901): '~' must be followed by 0 or 1")
    return value


JsonPointer = Annotated[str, AfterValidator(_json_pointer)]


class PatchTarget(Strict):
    kind: str = Field(min_length=1, description="Kind of the generated object to patch, e.g. InferenceService.")
    name: str | None = Field(
        default=None, description="Its metadata.name; needed when the model renders several objects of the kind."
    )
    apiVersion: str | None = Field(
        default=None, description="Optionally, its apiVersion (e.g. serving.kserve.io/v1beta1)."
    )


class PatchOp(Strict):
    op: Literal["add", "remove", "replace", "move", "copy", "test"] = Field(description="An RFC 6902 operation.")
    path: JsonPointer = Field(description="JSON Pointer (RFC 6901) into the generated object.")
    value: Any = Field(default=None, description="The value for add, replace and test.")
    from_: JsonPointer | None = Field(default=None, alias="from", description="The source pointer for move and copy.")

    @model_validator(mode="after")
    def _operands(self) -> PatchOp:
        if self.op in ("add", "replace", "test") and "value" not in self.model_fields_set:
            raise ValueError(f"op {self.op!r} needs a 'value'")
        if self.op in ("move", "copy") and self.from_ is None:
            raise ValueError(f"op {self.op!r} needs a 'from'")
        if self.op not in ("move", "copy") and self.from_ is not None:
            raise ValueError(f"op {self.op!r} takes no 'from'")
        return self


class Patch(Strict):
    target: PatchTarget = Field(description="the generated object to patch (for example {kind: InferenceService})")
    ops: list[PatchOp] = Field(min_length=1, description="Applied in order; all of them or none.")


class Slo(Strict):
    """Service level objectives of a serving model; each one set renders its recording rules and alerts."""

    latencyP95Ms: int | None = Field(
        default=None, gt=0, le=600000, description="95th percentile request latency objective, in milliseconds"
    )
    errorRatePercent: float | None = Field(
        default=None,
        gt=0,
        lt=100,
        description="highest share of failed (5xx) requests, in percent; alerts on the ratio over 5m and 1h",
    )
    availabilityPercent: float | None = Field(
        default=None,
        gt=0,
        lt=100,
        description="share of successful requests over 30 days, in percent; multi-window burn-rate alerts "
        "(1h/5m at 14.4x and 6h/30m at 6x the error budget)",
    )


class MonitoringAlerts(Strict):
    """How the rendered alerts are labelled and which optional alerts are rendered."""

    severity: LabelValue = Field(default="page", description="the severity label of the SLO alerts")
    runbook: CredentialFreeUri | None = Field(default=None, description="runbook_url annotation of every alert")
    noTraffic: bool = Field(
        default=False, description="alert when the model serves no request for 15 minutes (set it in prod)"
    )
    trainingMaxAgeDays: int | None = Field(
        default=None,
        gt=0,
        le=366,
        description="alert when scheduled training has not succeeded for this many days (default 8: a weekly "
        "schedule and a day)",
    )


def _series_selector(value: str) -> str:
    from mlgitops.language.promql import parse_series

    parse_series(value)
    return value


# A selector appears in several rules of the PrometheusRule of every environment: kept short, so the
# object stays far below etcd's 1.5 MiB.
MAX_SELECTOR_CHARS = 1000
SeriesSelector = Annotated[str, Field(max_length=MAX_SELECTOR_CHARS), AfterValidator(_series_selector)]


def _histogram_selector(value: str) -> str:
    from mlgitops.language.promql import parse_series

    series = parse_series(value)
    if not series.name or series.name.endswith("_bucket"):
        raise ValueError(f"{value[:80]!r}: name the histogram by its metric name, without _bucket")
    if any(m.split("=")[0].rstrip("!~ ").strip() == "le" for m in series.matchers.split(",") if m):
        raise ValueError(f"{value[:80]!r}: the le label is the histogram's own; match other labels")
    return value


HistogramSelector = Annotated[str, Field(max_length=MAX_SELECTOR_CHARS), AfterValidator(_histogram_selector)]
_PortName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=15)]  # IANA_SVC_NAME


class MonitoringMetrics(Strict):
    """Where the predictor's request series are, when its runtime's own are not known to mlgitops or not
    wanted: each field replaces the built-in one (docs/monitoring.md lists those per engine and runtime)."""

    port: Annotated[int, Field(ge=1, le=65535)] | _PortName | None = Field(
        default=None,
        description="port number or container port name the PodMonitor scrapes (for example 8082); "
        "default: the runtime's metrics port",
    )
    path: Annotated[str, Field(pattern=r"^/[^\s]*$", max_length=200)] | None = Field(
        default=None, description="HTTP path of the metrics (for example /metrics); default /metrics"
    )
    requests: SeriesSelector | None = Field(
        default=None,
        description="counter of every request the predictor pods export, a PromQL series selector (for "
        "example rest_server_requests_total); rules add the model's scrape labels",
    )
    errors: SeriesSelector | None = Field(
        default=None,
        description="counter of failed requests, a PromQL series selector (for example "
        "'rest_server_requests_total{status_code=~\"5..\"}'); with requests, alerts on errorRatePercent "
        "and availabilityPercent",
    )
    latency: HistogramSelector | None = Field(
        default=None,
        description="latency histogram: its name without _bucket, with optional label matchers (for example "
        "'rest_server_request_duration_seconds{path=~\"/v2/models/.*\"}'); alerts on latencyP95Ms",
    )
    latencyUnit: Literal["seconds", "milliseconds", "microseconds"] = Field(
        default="seconds", description="unit of the latency histogram's buckets; default seconds"
    )

    @model_validator(mode="after")
    def _errors_need_requests(self) -> MonitoringMetrics:
        if self.errors is not None and self.requests is None:
            raise ValueError("errors needs requests: the error ratio is errors over all requests")
        return self


class Monitoring(Strict):
    """Prometheus Operator objects of a model: PodMonitor, PrometheusRule, optional Grafana dashboard."""

    enabled: bool = Field(default=True, description="false: render no monitoring objects in this environment")
    scrapeInterval: Duration = Field(default="30s", description="how often Prometheus scrapes the predictor")
    slo: Slo = Field(default_factory=Slo, description="service level objectives")
    alerts: MonitoringAlerts = Field(default_factory=MonitoringAlerts, description="alert labels and options")
    dashboard: bool = Field(
        default=False, description='render a Grafana dashboard ConfigMap (label grafana_dashboard: "1")'
    )
    metrics: MonitoringMetrics | None = Field(
        default=None,
        description="where the request series are when the runtime's are unknown (for example {requests: "
        "my_requests_total, errors: 'my_requests_total{code=~\"5..\"}'}); default: the runtime's own",
    )


_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


def _dataset_name(value: str) -> str:
    if not _DATASET_NAME.match(value):
        raise ValueError(
            f"{value[:60]!r} is not a dataset name (a lower-case letter, then letters, digits, '-' or '_'; at most 41)"
        )
    return value


class Dataset(Strict):
    """One dataset the model's training reads, pinned to an immutable version."""

    name: Annotated[str, AfterValidator(_dataset_name)] = Field(
        description="dataset name; training gets DATA_<NAME>_URI and DATA_<NAME>_VERSION"
    )
    uri: CredentialFreeUri = Field(min_length=1, description="where the dataset lives (s3://, gs://, lakefs://, ...)")
    version: Text | None = Field(
        default=None,
        description="immutable version: a snapshot date, DVC revision, lakeFS commit or object version",
    )


class Model(Strict):
    apiVersion: Literal["mlgitops.io/v1alpha1"] = Field(description="spec version; always mlgitops.io/v1alpha1")
    kind: Literal["Model"] = Field(description="file kind; Model for models/<name>.yaml")
    metadata: ModelMetadata = Field(
        description="model name, owner, labels (for example {name: fraud-detector, owner: team-risk})",
    )
    model: ModelSource = Field(
        description="the trained model to serve (for example {format: sklearn, version: '6', storageUri: s3://...})",
    )
    serving: Serving | None = Field(
        default=None,
        description="how the model is served (for example {engine: kserve, replicas: {min: 2}})",
    )
    training: Training | None = Field(
        default=None,
        description="the Argo training workflow (for example {image: ..., steps: [...], gates: [...]})",
    )
    policies: Policies = Field(
        default_factory=Policies,
        description="policies switched off for this model (for example {disabled: [{id: ..., reason: ...}]})",
    )
    patches: list[Patch] = Field(
        default_factory=list,
        description="RFC 6902 operations on the generated objects, for fields the spec does not model "
        "(docs/patches.md). An environment's `patches` replaces this list (RFC 7386).",
    )
    environments: dict[str, dict[str, Any] | None] = Field(
        default_factory=dict,
        description="JSON Merge Patch of this spec per environment (for example {dev: {enabled: false}})",
    )
    monitoring: Monitoring | None = Field(default=None, description="metrics scraping, SLO alerts and dashboard")
    data: list[Dataset] = Field(default_factory=list, description="datasets the training reads (data lineage)")

    addons: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per Jsonnet template of templates/ (by name): its settings, or `enabled: false` to opt out "
        "(docs/addons.md).",
    )
    tests: SmokeTests = Field(
        default_factory=list,
        description="smoke tests: requests to the deployed model and the answers they need, run by a Job in every "
        "environment and by `mlgitops test` (docs/smoke-tests.md; for example [{name: predict, request: {body: "
        "{instances: [[1, 2]]}}, expect: {json: [{path: /predictions/0, equals: 1}]}}])",
    )

    @model_validator(mode="after")
    def _unique_datasets(self) -> Model:
        seen: set[str] = set()
        for dataset in self.data:
            key = dataset.name.upper().replace("-", "_")
            if key in seen:
                raise ValueError(f"dataset {dataset.name!r} is listed twice (names differing only in '-'/'_' clash)")
            seen.add(key)
        return self


# Model server images by model format for `engine: deployment` (KServe's runtimes, Apache-2.0).
# mlgitops.yaml `images.servers` adds or overrides entries; `serving.image` overrides them per model.
DEFAULT_SERVER_IMAGES = {
    "sklearn": "kserve/sklearnserver:v0.20.0",
    "xgboost": "kserve/xgbserver:v0.20.0",
    "lightgbm": "kserve/lgbserver:v0.20.0",
    "huggingface": "kserve/huggingfaceserver:v0.20.0",
    "pmml": "kserve/pmmlserver:v0.20.0",
    "paddle": "kserve/paddleserver:v0.20.0",
}


def server_image(spec: Model, project: Project) -> str | None:
    """The model server image `engine: deployment` runs for this model, if one is known."""
    if spec.serving is not None and spec.serving.image:
        return spec.serving.image
    fmt = spec.model.format
    return project.images.servers.get(fmt) or DEFAULT_SERVER_IMAGES.get(fmt)


# Keys an environment patch (project defaults or a model's `environments.<env>`) may set.
PATCHABLE_MODEL_KEYS = (
    "metadata",
    "model",
    "serving",
    "training",
    "patches",
    "monitoring",
    "data",
    "addons",
    "tests",
)
