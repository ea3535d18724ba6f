"""The `training` block: steps, gates, retries, fan-out, caching and registration."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from mlgitops.language.containers import EnvFromSource, EnvMap, Volumes
from mlgitops.language.fields import (
    AnnotationMap,
    ArtifactName,
    CronSchedule,
    DnsLabel,
    DnsSubdomain,
    Duration,
    EnvName,
    ImageRef,
    Int32,
    ObjectLabelMap,
    ParameterName,
    Quantity,
    Strict,
    Text,
    TimeZone,
    duration_seconds,
    scalar_text,
)
from mlgitops.language.kubevalues import INT32_MAX
from mlgitops.language.serving import Gpu, Resources, SecurityContext


class Gate(Strict):
    metric: str = Field(description="metric a step writes (listed in its metrics) (for example auc)")
    op: Literal[">=", "<=", ">", "<", "==", "!="] = Field(
        description="comparison of the metric with value (for example >=)",
    )
    value: float = Field(
        allow_inf_nan=False,
        description="the threshold the metric is compared with (for example 0.92)",
    )


RetryPolicy = Literal["Always", "OnFailure", "OnError", "OnTransientError"]


class Backoff(Strict):
    """Argo `retryStrategy.backoff`: wait duration × factor^n between attempts, at most cap."""

    duration: Duration = Field(default="30s", description="wait before the first retry, e.g. 30s")
    factor: int = Field(default=2, ge=1, le=10, description="multiplier of the wait after each retry, e.g. 2")
    cap: Duration = Field(default="10m", description="longest wait between two attempts, e.g. 10m")


class Retry(Strict):
    """How a failed step is retried (Argo `retryStrategy`)."""

    limit: int = Field(ge=1, le=20, description="retries after the first attempt, e.g. 3")
    backoff: Backoff = Field(default_factory=Backoff, description="wait between attempts, e.g. {duration: 1m}")
    policy: RetryPolicy | None = Field(
        default=None, description="what is retried, e.g. OnTransientError; default: Argo's own, OnFailure"
    )


class ForEachFrom(Strict):
    """Items produced at run time: an output parameter (a JSON list) of an earlier step."""

    fromStep: str = Field(min_length=1, description="the step that writes the list, e.g. shard")
    output: ArtifactName = Field(description="its output parameter (one of its params), e.g. shards")


ForEachItem = Annotated[str | dict[EnvName, Text], BeforeValidator(scalar_text)]


class Condition(Strict):
    """One comparison of a step's `when`: a metric or an output parameter of an earlier step."""

    metric: str | None = Field(default=None, description="a metric some earlier step emits, e.g. auc")
    param: str | None = Field(default=None, description="an output parameter some earlier step writes, e.g. mode")
    op: Literal[">=", "<=", ">", "<", "==", "!="] = Field(
        description="comparison of the metric or param with value (for example >=)",
    )
    value: float | str = Field(description="a number (compared as numbers) or text (== and != only), e.g. 0.9")

    @model_validator(mode="after")
    def _one_subject(self) -> Condition:
        if (self.metric is None) == (self.param is None):
            raise ValueError("set exactly one of metric or param")
        if isinstance(self.value, str) and self.op not in ("==", "!="):
            raise ValueError(f"a text value compares only with == or !=, not {self.op}")
        if isinstance(self.value, str) and ("{{" in self.value or "}}" in self.value):
            # The comparison is inside an Argo expression tag `{{= ... }}`, which `}}` would end.
            raise ValueError("a text value may not contain '{{' or '}}'")
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ValueError("value must be a finite number")
        return self

    @property
    def subject(self) -> str:
        return self.metric if self.metric is not None else str(self.param)


class Cache(Strict):
    """Argo memoization: a step whose inputs did not change within maxAge is not run again."""

    maxAge: Duration = Field(description="how old a cached result may be to be reused, e.g. 24h")


# The output parameter a step with `stdout: true` exposes: Argo's `outputs.result` of the step's task.
RESULT = "result"
# The interpreter of a `script` step without a `command`.
DEFAULT_INTERPRETER = ("python",)
# A training object's name when `training.name` does not set one: `<model>-train`.
TRAIN_SUFFIX = "-train"


class Step(Strict):
    name: DnsLabel = Field(description="step name, a DNS label (for example train)")
    after: list[str] = Field(default_factory=list, description="steps that must finish first (for example [train])")
    image: ImageRef | None = Field(
        default=None,
        description="container image of the step; default: training.image (for example ghcr.io/acme/eval:1.0)",
    )
    command: list[Text] | None = Field(
        default=None,
        min_length=1,
        description="entrypoint, at least one item (for example [python, -m, fraud.train]); with script, the "
        "interpreter that runs it (default [python])",
    )
    script: Text | None = Field(
        default=None,
        min_length=1,
        description="source code run by command (an Argo script template) instead of a command of the image, "
        "e.g. 'import random; print(random.randint(1, 100))'",
    )
    stdout: bool = Field(
        default=False,
        description="expose the step's standard output as its param result, which later steps read with "
        "paramInputs: [result] (Argo's outputs.result); default false",
    )
    args: list[Text] = Field(default_factory=list, description="arguments of the command (for example ['--epochs=10'])")
    env: EnvMap = Field(
        default_factory=dict,
        description="variables of the step: NAME: value, or {secret: NAME, key: KEY} / {configMap: NAME, key: KEY} "
        "(for example WANDB_API_KEY: {secret: wandb, key: api-key})",
    )
    envFrom: list[EnvFromSource] = Field(
        default_factory=list,
        description="Secrets or ConfigMaps whose every key becomes a variable (for example [{configMap: features}])",
    )
    volumes: Volumes = Field(
        default_factory=list,
        description="volumes mounted into the step (for example [{name: data, mountPath: /data, pvc: datasets}])",
    )
    inputs: list[ArtifactName] = Field(
        default_factory=list,
        description="artifacts read from earlier steps, at /tmp/mlgitops/inputs/<name> (for example [model])",
    )
    outputs: list[ArtifactName] = Field(
        default_factory=list,
        description="artifacts written to /tmp/mlgitops/outputs/<name> (for example [model])",
    )
    metrics: list[ArtifactName] = Field(
        default_factory=list,
        description="metrics written to /tmp/mlgitops/metrics/<metric>, for gates (for example [auc])",
    )
    resources: Resources | None = Field(
        default=None,
        description="requests and limits of the step (for example {requests: {cpu: '2', memory: 8Gi}})",
    )
    gpu: Gpu | None = Field(default=None, description="GPUs of the step (for example {count: 1, class: a100})")
    retries: int = Field(
        default=0,
        ge=0,
        le=20,
        description="retries after a failure, 0 to 20; default 0 (for example 2); see also retry",
    )
    retryPolicy: RetryPolicy | None = Field(
        default=None,
        description="Argo retryPolicy for the retries; default: Argo's own default, OnFailure",
    )
    timeout: Duration | None = Field(default=None, description="longest the step may run (for example 2h)")
    securityContext: SecurityContext | None = Field(
        default=None, description="fields set here override training.securityContext for this step"
    )
    sharedMemory: Quantity | None = Field(
        default=None,
        description="size of the memory-backed /dev/shm; default for GPU steps: 1Gi per GPU",
    )
    nodeClass: str | None = Field(
        default=None, description="a nodeClasses entry of mlgitops.yaml for this step, e.g. highmem"
    )
    params: list[ArtifactName] = Field(
        default_factory=list,
        description="output parameters, each read from /tmp/mlgitops/params/<name>, e.g. [best-lr]",
    )
    paramInputs: list[ArtifactName] = Field(
        default_factory=list,
        description="params of earlier steps this step reads, as env MLGITOPS_PARAM_<NAME>, e.g. [best-lr]",
    )
    when: list[Condition] = Field(
        default_factory=list,
        description="run only if every condition holds, e.g. [{param: mode, op: ==, value: full}]",
    )
    forEach: list[ForEachItem] | ForEachFrom | None = Field(
        default=None,
        description="run once per item, exposed as env MLGITOPS_ITEM (object items: also MLGITOPS_ITEM_<KEY>), "
        "e.g. ['0.01', '0.1'] (text: quote numbers) or {fromStep: shard, output: shards}",
    )
    parallelism: int | None = Field(
        default=None, ge=1, le=1000, description="at most this many forEach items run at once, e.g. 4"
    )
    retry: Retry | None = Field(
        default=None, description="retry a failed step, e.g. {limit: 3, backoff: {duration: 1m}}; replaces retries"
    )
    cache: Cache | None = Field(
        default=None, description="reuse the step's result for the same inputs (Argo memoization), e.g. {maxAge: 24h}"
    )

    @model_validator(mode="after")
    def _one_retry_form(self) -> Step:
        if self.command is None and self.script is None:
            raise ValueError("set command (the image's program to run) or script (source code run by command)")
        if self.retry is not None and (self.retries or self.retryPolicy is not None):
            raise ValueError("set either retry: {limit, backoff, policy} or retries/retryPolicy, not both")
        if self.parallelism is not None and self.forEach is None:
            raise ValueError("parallelism limits a forEach: set forEach too")
        return self

    @property
    def param_outputs(self) -> list[str]:
        """The output parameters later steps may read: its params, and `result` with `stdout: true`."""
        return [*self.params, RESULT] if self.stdout else list(self.params)

    @property
    def retry_strategy(self) -> Retry | None:
        """The one retry shape: `retry`, or the older `retries: N` (with `retryPolicy`)."""
        if self.retry is not None:
            return self.retry
        if self.retries:
            return Retry(limit=self.retries, policy=self.retryPolicy)
        return None


class Register(Strict):
    """The step that records a model which passed every gate."""

    image: ImageRef | None = Field(
        default=None,
        description="image of the register step; default: training.image (for example ghcr.io/acme/register:1.0)",
    )
    command: list[Text] = Field(
        min_length=1,
        description="entrypoint; default: the metric step's sibling module (for example [python, -m, fraud.register])",
    )
    args: list[Text] = Field(
        default_factory=list,
        description="arguments of the command (for example ['--stage=staging'])",
    )


def _fits_ttl(value: str) -> str:
    if duration_seconds(value) > INT32_MAX:
        raise ValueError(f"{value!r} is longer than Argo's ttlStrategy holds ({INT32_MAX} seconds, about 68 years)")
    return value


TtlDuration = Annotated[Duration, AfterValidator(_fits_ttl)]


class Ttl(Strict):
    """How long Argo keeps a finished run before deleting it (the workflow's `ttlStrategy`). A run that
    succeeded keeps afterSuccess, one that failed afterFailure, and either falls back to afterCompletion
    (argo-workflows `workflow/gccontroller/gc_controller.go`, `ttl`)."""

    afterCompletion: TtlDuration | None = Field(
        default=None, description="keep any finished run this long, unless afterSuccess or afterFailure says, e.g. 48h"
    )
    afterSuccess: TtlDuration | None = Field(default=None, description="keep a succeeded run this long, e.g. 24h")
    afterFailure: TtlDuration | None = Field(default=None, description="keep a failed run this long, e.g. 168h")

    @model_validator(mode="after")
    def _some(self) -> Ttl:
        if self.afterCompletion is None and self.afterSuccess is None and self.afterFailure is None:
            raise ValueError("set at least one of afterCompletion, afterSuccess, afterFailure")
        return self


class History(Strict):
    """How many finished runs of a schedule the CronWorkflow keeps."""

    successful: Int32 = Field(
        default=3, ge=0, description="succeeded runs kept (successfulJobsHistoryLimit); default 3, e.g. 5"
    )
    failed: Int32 = Field(default=3, ge=0, description="failed runs kept (failedJobsHistoryLimit); default 3, e.g. 10")


class PodMetadata(Strict):
    """Labels and annotations of every pod of the training workflow (the workflow's `podMetadata`)."""

    labels: ObjectLabelMap = Field(default_factory=dict, description="pod labels, e.g. {team: risk}")
    annotations: AnnotationMap = Field(
        default_factory=dict, description="pod annotations, e.g. {iam.amazonaws.com/role: trainer}"
    )


class Training(Strict):
    name: DnsLabel | None = Field(
        default=None,
        description="name of the WorkflowTemplate and CronWorkflow, for systems that find them by name; "
        "default: <model>-train (for example fraud-nightly)",
    )
    image: ImageRef = Field(
        min_length=1,
        description="default image of every step (for example ghcr.io/acme/fraud-train:1.4)",
    )
    serviceAccount: DnsSubdomain | None = Field(
        default=None,
        description="ServiceAccount the workflow pods run as (for example trainer)",
    )
    schedule: CronSchedule | list[CronSchedule] | None = Field(
        default=None,
        description="cron schedule, or a list of them, for a CronWorkflow (for example '0 3 * * *')",
    )
    timezone: TimeZone | None = Field(
        default=None,
        description="IANA time zone of the schedule; default: the Argo controller's (for example Europe/Berlin)",
    )
    timeout: Duration | None = Field(
        default=None,
        description="longest the whole run may take, its activeDeadlineSeconds (for example 6h)",
    )
    ttl: Ttl | None = Field(
        default=None,
        description="how long finished runs are kept (ttlStrategy), e.g. {afterSuccess: 24h, afterFailure: 168h}; "
        "default: 24h after success, 168h after failure",
    )
    concurrencyPolicy: Literal["Allow", "Forbid", "Replace"] | None = Field(
        default=None,
        description="with a schedule: what a scheduled run does while the last one still runs: Allow (run both), "
        "Forbid (skip the new one), Replace (stop the old one); default Forbid",
    )
    history: History | None = Field(
        default=None,
        description="with a schedule: finished runs the CronWorkflow keeps, e.g. {successful: 5, failed: 10}; "
        "default 3 of each",
    )
    imagePullSecrets: list[DnsSubdomain] = Field(
        default_factory=list,
        description="Secrets the workflow pods pull their images with, e.g. [registry-creds]",
    )
    podMetadata: PodMetadata | None = Field(
        default=None,
        description="labels and annotations of every workflow pod, e.g. {annotations: {iam.amazonaws.com/role: r}}",
    )
    parameters: dict[ParameterName, Text] = Field(
        default_factory=dict,
        description="workflow parameters, given to steps in upper-case variables (for example {data-uri: "
        "s3://data/fraud})",
    )
    steps: list[Step] = Field(
        min_length=1,
        description="the steps, at least one (for example [{name: train, command: [python, -m, fraud.train]}])",
    )
    gates: list[Gate] = Field(
        default_factory=list,
        description="checks every run must pass before register runs (for example [{metric: auc, op: '>=', "
        "value: 0.92}])",
    )
    register_: Register | None = Field(
        default=None,
        alias="register",
        description="the step recording a model that passed every gate (for example {command: [python, -m, "
        "fraud.register]})",
    )
    securityContext: SecurityContext = Field(
        default_factory=SecurityContext,
        description="security settings of the step containers (for example {runAsUser: 1000})",
    )
    nodeClass: str | None = Field(
        default=None, description="the nodeClasses entry for steps that name none, e.g. batch"
    )
    onExit: Step | None = Field(
        default=None,
        description="a step run when the workflow ends, whatever the outcome (Argo onExit), e.g. "
        "{name: notify, command: [notify.sh]}; env MLGITOPS_WORKFLOW_STATUS holds the outcome",
    )
    environments: list[str] | None = Field(
        default=None,
        min_length=1,
        description="Environments this model trains in; default: training.environments of mlgitops.yaml",
    )

    @property
    def cron_fields(self) -> list[str]:
        """The fields that only a CronWorkflow renders (set in this spec)."""
        return [f for f in ("concurrencyPolicy", "history") if getattr(self, f) is not None]

    @property
    def schedules(self) -> list[str]:
        if self.schedule is None:
            return []
        return [self.schedule] if isinstance(self.schedule, str) else list(self.schedule)


def training_name(model_name: str, training: Training | None) -> str:
    """The name of a model's WorkflowTemplate and CronWorkflow: `training.name`, else `<model>-train`.
    Every stage that names or finds them (render, monitoring, the name checks) asks this function."""
    if training is not None and training.name is not None:
        return training.name
    return f"{model_name}{TRAIN_SUFFIX}"
