"""Where a model's request metrics are, per engine, mode and runtime, and which SLOs they can enforce.

Facts checked in upstream source (KServe v0.20.0, Knative Serving 1.19-1.21, which KServe v0.20 installs
as 1.21.1: kserve/kserve hack/setup/quick-install/keda-dependency-install.sh `KNATIVE_SERVING_VERSION`):

- Knative mode: the queue-proxy sidecar counts every request with its status and a latency histogram,
  on container port `http-usermetric` (9091; knative/serving pkg/reconciler/revision/resources/queue.go,
  knative.dev/networking `UserQueueMetricsPort`). The names changed twice:
  * up to 1.18 (OpenCensus): `revision_app_request_count{response_code_class}` and
    `revision_app_request_latencies` in milliseconds (pkg/queue/request_metric.go);
  * 1.19.0-1.20.0 (OpenTelemetry): histogram `kn.queueproxy.app.duration`, unit `s`, attribute
    `http.response.status_code`; knative.dev/pkg observability/metrics/prometheus_enabled.go exports it
    with otlptranslator's UnderscoreEscapingWithSuffixes: `kn_queueproxy_app_duration_seconds`;
  * 1.20.1 and later (knative/serving#16290, "fix metric names"): `kn.serving.invocation.duration`, so
    `kn_serving_invocation_duration_seconds{http_response_status_code}`. Before 1.20.2 (#16358) the
    OpenTelemetry histogram recorded whole seconds.
  From 1.19 the queue-proxy exports request metrics only when ConfigMap config-observability sets
  `request-metrics-protocol: prometheus` (default `none`; config/core/configmaps/observability.yaml,
  pkg/queue/sharedmain/otel.go then listens on 9091).
- Standard mode and `engine: deployment` (whose images, `serving.image` too, are started with the KServe
  Python server's arguments): the model server's own metrics, on the port each runtime
  declares in kserve/kserve config/runtimes/kserve-*.yaml (`prometheus.kserve.io/port`).
  * KServe's Python model server (sklearn, xgboost, lightgbm, pmml, paddle, autogluon, predictive,
    huggingface): only latency histograms in seconds, `request_predict_seconds{model_name}`
    (python/kserve/kserve/metrics.py, observed around predict in model.py, also when it raises); the
    REST server (protocol/rest/server.py) serves them at `/metrics` and adds no per-status counter.
  * Triton (kserve-tritonserver, port 8002): counters `nv_inference_request_success` and
    `nv_inference_request_failure` per model; latency only as cumulative counters
    (`nv_inference_request_duration_us`) or opt-in summaries, no histogram
    (triton-inference-server/core src/metrics.cc).
  * MLServer (kserve-mlserver): counters `model_infer_request_success` and `model_infer_request_failure`
    (prometheus_client Counters, so `_total` in the exposition; SeldonIO/MLServer
    mlserver/handlers/dataplane.py), latency only as a Summary without quantiles; served on MLServer's
    own metrics port 8082 (mlserver/settings.py `metrics_port`), which the runtime does not change
    although its annotation says 8080 (the runtime file's own comment notes the 8082 default).
  * Other runtimes (torchserve, tensorflow-serving, openvino, vllm) and custom images: mlgitops
    assumes no series; `monitoring.metrics` names them.
- `engine: llm` (an LLMInferenceService): vLLM's own metrics on the `main` container's port 8000
  (kserve config/llmisvcconfig/config-llm-template.yaml: `vllm serve --port 8000`, plain HTTP unless the
  cluster sets `enableLLMInferenceServiceTLS`), `/metrics`: histogram `vllm:e2e_request_latency_seconds` and
  counter `vllm:request_success_total` (vllm/v1/metrics/loggers.py), no counter of failed requests. KServe
  labels the pods `app.kubernetes.io/name: <name>`, `app.kubernetes.io/component:
  llminferenceservice-workload` (pkg/controller/v1alpha2/llmisvc/workload_single_node.go `singleNodeLabels`).
- KServe's metric aggregation (`serving.kserve.io/enable-metric-aggregation`, port 9088) needs the
  qpext queue-proxy image and exists only in Knative mode (pkg/webhook/admission/pod/
  metrics_aggregate_injector.go, qpext/README.md); the PodMonitor does not rely on it.

Source map (object path → spec line): checks/sourcemap/monitoring.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlgitops.language.model import Model, Monitoring, MonitoringMetrics
from mlgitops.language.project import KnativeFeatures
from mlgitops.language.promql import Series, parse_series
from mlgitops.language.serving import Serving

QUEUE_PROXY_METRICS_PORT = "http-usermetric"  # 9091 on the queue-proxy container
DEPLOYMENT_METRICS_PORT = "http"  # render/deployment.py's container port (8080)
KSERVE_DEFAULT_METRICS_PORT = 8080  # KServe's default kserve-container metrics port (metrics_aggregate_injector.go)
METRICS_PATH = "/metrics"

_UNIT_DIVISORS = {"seconds": 1, "milliseconds": 1000, "microseconds": 1000000}


@dataclass(frozen=True)
class MetricSource:
    """What one model's predictor pods export, and where the PodMonitor scrapes it."""

    exporter: str  # for messages: what serves the metrics
    port: int | str  # a port number, or a container port name
    path: str
    requests: Series | None  # counter of every request
    errors: Series | None  # counter of failed requests
    latency: Series | None  # histogram: its name without _bucket, and label matchers
    latency_divisor: int  # from the histogram's unit to seconds
    no_series: str  # why a missing series is missing
    requests_are_successes: bool = False  # every request is requests + errors (Triton's two counters)

    @property
    def latency_bucket(self) -> Series | None:
        return Series(f"{self.latency.name}_bucket", self.latency.matchers) if self.latency else None


def _knative(features: KnativeFeatures) -> MetricSource:
    if features.requestMetrics == "opencensus":
        count = "revision_app_request_count"
        return MetricSource(
            "Knative's queue-proxy (OpenCensus)",
            QUEUE_PROXY_METRICS_PORT,
            METRICS_PATH,
            Series(count),
            Series(count, 'response_code_class="5xx"'),
            Series("revision_app_request_latencies"),
            1000,
            "",
        )
    histogram = (
        "kn_queueproxy_app_duration_seconds"
        if features.requestMetrics == "opentelemetry-1.19"
        else "kn_serving_invocation_duration_seconds"
    )
    return MetricSource(
        "Knative's queue-proxy",
        QUEUE_PROXY_METRICS_PORT,
        METRICS_PATH,
        Series(f"{histogram}_count"),
        Series(f"{histogram}_count", 'http_response_status_code=~"5.."'),
        Series(histogram),
        1,
        "",
    )


PYTHON_SERVER_RUNTIMES = frozenset(
    {
        "kserve-sklearnserver",
        "kserve-xgbserver",
        "kserve-lgbserver",
        "kserve-pmmlserver",
        "kserve-paddleserver",
        "kserve-autogluonserver",
        "kserve-predictiveserver",
        "kserve-huggingfaceserver",
        "kserve-huggingfaceserver-multinode",
    }
)
# The formats KServe serves with its Python model server by default (and engine: deployment's images).
PYTHON_SERVER_FORMATS = frozenset({"sklearn", "xgboost", "lightgbm", "pmml", "paddle", "huggingface"})
# config/runtimes/kserve-*.yaml `prometheus.kserve.io/port`, where it is not 8080.
# config/runtimes/kserve-mlserver.yaml:12-46, the formats and versions kserve-mlserver auto-selects.
MLSERVER_FORMAT_VERSIONS = {
    "sklearn": ("0", "1"),
    "xgboost": ("1", "2"),
    "lightgbm": ("3", "4"),
    "mlflow": ("1", "2"),
}
RUNTIME_METRICS_PORTS = {"kserve-tritonserver": 8002, "kserve-torchserve": 8082, "kserve-mlserver": 8082}
VLLM_PORT = 8000  # the LLMInferenceService presets' vLLM port
LLM_WORKLOAD_COMPONENT = "llminferenceservice-workload"  # kserve pkg/constants LLMComponentWorkload


def _python_server(port: int | str) -> MetricSource:
    return MetricSource(
        "KServe's Python model server",
        port,
        METRICS_PATH,
        Series("request_predict_seconds_count"),
        None,
        Series("request_predict_seconds"),
        1,
        "counts no responses by status",
    )


def _triton() -> MetricSource:
    return MetricSource(
        "Triton (kserve-tritonserver)",
        RUNTIME_METRICS_PORTS["kserve-tritonserver"],
        METRICS_PATH,
        Series("nv_inference_request_success"),
        Series("nv_inference_request_failure"),
        None,
        1,
        "exports no latency histogram",
        requests_are_successes=True,
    )


def _mlserver() -> MetricSource:
    return MetricSource(
        "MLServer (kserve-mlserver)",
        RUNTIME_METRICS_PORTS["kserve-mlserver"],
        METRICS_PATH,
        Series("model_infer_request_success_total"),
        Series("model_infer_request_failure_total"),
        None,
        1,
        "exports no latency histogram (a Summary without quantiles)",
        requests_are_successes=True,
    )


def _vllm() -> MetricSource:
    return MetricSource(
        "vLLM (an LLMInferenceService)",
        VLLM_PORT,
        METRICS_PATH,
        Series("vllm:request_success_total"),
        None,
        Series("vllm:e2e_request_latency_seconds"),
        1,
        "counts no failed requests",
    )


def _unknown(exporter: str, port: int | str) -> MetricSource:
    return MetricSource(exporter, port, METRICS_PATH, None, None, None, 1, "exports no series mlgitops knows")


def mlserver_picked(serving: Serving, fmt: str, format_version: str | None) -> bool:
    """Whether KServe picks MLServer for an InferenceService that names no runtime.

    KServe keeps the runtimes that auto-select the format (and its version, when given) and support the
    protocol, then takes the highest priority first (kserve pkg/apis/serving/v1beta1/predictor_model.go:
    88-128, `GetSupportingRuntimes`; 205-220, `sortSupportedRuntimeByPriority`). kserve-mlserver supports
    protocol v2 only and auto-selects sklearn 0/1, xgboost 1/2, lightgbm 3/4 at priority 2 and mlflow 1/2
    (config/runtimes/kserve-mlserver.yaml:12-46); the Python servers take v1 and v2 at priority 1
    (kserve-sklearnserver.yaml:11-18, kserve-xgbserver.yaml, kserve-lgbserver.yaml). So protocol v2 picks
    MLServer for those formats; v1 (KServe's default) the Python server.
    """
    versions = MLSERVER_FORMAT_VERSIONS.get(fmt)
    if versions is None or serving.protocol != "v2":
        return False
    return format_version is None or format_version in versions


def _builtin(serving: Serving, fmt: str, features: KnativeFeatures, format_version: str | None = None) -> MetricSource:
    if serving.engine == "llm":
        return _vllm()
    if serving.engine == "deployment":
        # render/deployment.py starts every image, serving.image too, with the Python server's arguments
        # (--model_name, --model_dir, --http_port): the image is that server or speaks its interface.
        return _python_server(DEPLOYMENT_METRICS_PORT)
    if serving.mode == "Knative":
        return _knative(features)
    port = serving_port(serving)
    if serving.image:
        return _unknown(f"the custom predictor image {serving.image}", port)
    runtime = serving.runtime
    if runtime is None and mlserver_picked(serving, fmt, format_version):
        return _mlserver()
    if runtime is None:
        if fmt in PYTHON_SERVER_FORMATS:
            return _python_server(port)
        return _unknown(f"the runtime KServe picks for format {fmt}", port)
    if runtime in PYTHON_SERVER_RUNTIMES:
        return _python_server(port)
    if runtime == "kserve-tritonserver":
        return _triton()
    if runtime == "kserve-mlserver":
        return _mlserver()
    return _unknown(f"runtime {runtime}", RUNTIME_METRICS_PORTS.get(runtime, port))


def serving_port(serving: Serving) -> int:
    """The model server's HTTP port in Standard mode: the first of serving.ports (KServe's Service, probe and
    agent target it: render/kserve.py `_standard_ports`), else KServe's 8080. The Python model server serves
    its metrics there."""
    return serving.ports[0].containerPort if serving.ports else KSERVE_DEFAULT_METRICS_PORT


def scrape_port(serving: Serving, port: int | str) -> int | str:
    """The port a PodMonitor endpoint selects: a number the model server declares by name in serving.ports
    is selected by that name (PodMetricsEndpoint `port`, which every Prometheus Operator release knows;
    `portNumber` is recent), others as they are."""
    if isinstance(port, int) and (serving.engine == "deployment" or serving.mode == "Standard"):
        for declared in serving.ports:
            if declared.containerPort == port and declared.name:
                return declared.name
    return port


def _declared(source: MetricSource, metrics: MonitoringMetrics) -> MetricSource:
    """The built-in source with what `monitoring.metrics` declares put over it, field by field."""
    requests = parse_series(metrics.requests) if metrics.requests else source.requests
    errors = parse_series(metrics.errors) if metrics.errors else source.errors
    latency, divisor = source.latency, source.latency_divisor
    if metrics.latency:
        latency, divisor = parse_series(metrics.latency), _UNIT_DIVISORS[metrics.latencyUnit]
    return MetricSource(
        source.exporter,
        metrics.port if metrics.port is not None else source.port,
        metrics.path or source.path,
        requests,
        errors,
        latency,
        divisor,
        source.no_series,
        source.requests_are_successes and not metrics.requests,
    )


def metric_source(spec: Model, features: KnativeFeatures) -> MetricSource | None:
    """The request metrics of a serving model resolved for one environment (None without serving)."""
    if spec.serving is None:
        return None
    source = _builtin(spec.serving, spec.model.format, features, spec.model.formatVersion)
    monitoring = spec.monitoring
    if monitoring is not None and monitoring.metrics is not None:
        source = _declared(source, monitoring.metrics)
    return source


def unalerted_slos(source: MetricSource, monitoring: Monitoring) -> list[tuple[tuple[str, ...], str]]:
    """The objectives (and no-traffic alert) `monitoring` asks for that no series of `source` can enforce:
    (spec path under the model, why)."""
    slo = monitoring.slo
    why = f"{source.exporter} {source.no_series}" if source.no_series else source.exporter
    gaps: list[tuple[tuple[str, ...], str]] = []
    if slo.latencyP95Ms is not None and source.latency is None:
        gaps.append(
            (("monitoring", "slo", "latencyP95Ms"), f"no latency histogram: {why}; declare monitoring.metrics.latency")
        )
    for field in ("errorRatePercent", "availabilityPercent"):
        if getattr(slo, field) is not None and (source.errors is None or source.requests is None):
            gaps.append(
                (
                    ("monitoring", "slo", field),
                    f"no counter of failed requests: {why}; declare monitoring.metrics.requests and .errors",
                )
            )
    if monitoring.alerts.noTraffic and source.requests is None:
        gaps.append(
            (("monitoring", "alerts", "noTraffic"), f"no request counter: {why}; declare monitoring.metrics.requests")
        )
    return gaps


def standard_metrics_port(spec: Model) -> int | None:
    """The port number the PodMonitor scrapes on a Standard-mode predictor (None: a named port)."""
    source = metric_source(spec, KnativeFeatures())
    return source.port if source is not None and isinstance(source.port, int) else None
