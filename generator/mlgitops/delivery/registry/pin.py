"""The model registry behind `promote --alias` / `--registry-version` (MLflow, through its REST API).

Which server: `registry.uri` in mlgitops.yaml, else `$MLFLOW_TRACKING_URI`. The token comes from
`$MLFLOW_TRACKING_TOKEN` only and is never written, printed or put into a message.

Which registered model: `--registered-model NAME` when given; else the name in the `model.registry`
reference the target environment resolves to now (`models:/<name>/<version>`, as an earlier
promotion from the registry wrote it); else the model's `metadata.name`.

What a promotion takes from the registry: the version's storage location (the download URI, with a
`runs:/` source resolved against its run's artifact location), `model.registry: models:/<name>/<version>`
and `model.runId`. The spec's `training.gates` must hold for the run's metrics, or nothing is written.

Nothing here is imported by `mlgitops cmp generate` (tests/cli/test_lean_imports.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mlgitops.delivery.registry.errors import RegistryError
from mlgitops.delivery.registry.gates import evidence, failed_gates
from mlgitops.delivery.registry.mlflow import DEFAULT_TIMEOUT_SECONDS, MlflowRest, ModelVersion
from mlgitops.language.model import Model
from mlgitops.language.project import Project
from mlgitops.language.training import Gate
from mlgitops.util.errors import UsageError

URI_VARIABLE = "MLFLOW_TRACKING_URI"
TOKEN_VARIABLE = "MLFLOW_TRACKING_TOKEN"
# MLflow's own client reads its request timeout from this variable (mlflow/environment_variables.py).
TIMEOUT_VARIABLE = "MLFLOW_HTTP_REQUEST_TIMEOUT"
MODELS_SCHEME = "models:/"
RUNS_SCHEME = "runs:/"


@dataclass(frozen=True)
class RegistryQuery:
    """Exactly one of `alias` and `version`; `registered_model` overrides the name the spec implies."""

    alias: str | None = None
    version: str | None = None
    registered_model: str | None = None

    @property
    def shown(self) -> str:
        return f"@{self.alias}" if self.alias is not None else f" version {self.version}"


@dataclass
class RegistryPin:
    """What the registry says about one version, and the evidence the promotion records."""

    version: str
    storage_uri: str
    reference: str  # models:/<name>/<version>
    run_id: str | None
    registered_model: str
    server: str  # the tracking URI, credentials masked
    alias: str | None = None
    evidence: list[str] = field(default_factory=list)


def _connection(project: Project, environ: Mapping[str, str]) -> MlflowRest:
    settings = project.registry
    uri = settings.uri if settings is not None and settings.uri else environ.get(URI_VARIABLE, "").strip()
    if not uri:
        raise UsageError(
            "--alias/--registry-version need a model registry: add `registry: {type: mlflow, uri: https://...}` "
            f"to mlgitops.yaml or set {URI_VARIABLE}"
        )
    if not uri.startswith(("http://", "https://")):
        raise UsageError(
            f"{URI_VARIABLE} must be the http(s) URL of an MLflow tracking server (a file or database tracking "
            "URI cannot be read without the mlflow package)"
        )
    timeout = DEFAULT_TIMEOUT_SECONDS
    if environ.get(TIMEOUT_VARIABLE):
        try:
            timeout = float(environ[TIMEOUT_VARIABLE])
        except ValueError:
            timeout = -1.0
        if not 0 < timeout <= 600:
            raise UsageError(f"{TIMEOUT_VARIABLE} must be a number of seconds between 0 and 600")
    return MlflowRest(uri, environ.get(TOKEN_VARIABLE) or None, timeout)


def registered_model_name(spec: Model, query: RegistryQuery) -> str:
    """The registered model to look in (see the module docstring)."""
    if query.registered_model:
        return query.registered_model
    reference = spec.model.registry or ""
    if reference.startswith(MODELS_SCHEME):
        rest = reference[len(MODELS_SCHEME) :]
        if "@" in rest:
            return rest.partition("@")[0]
        name, _, version = rest.rpartition("/")
        if name and version:
            return name
    return spec.metadata.name


def _version(client: MlflowRest, name: str, query: RegistryQuery) -> ModelVersion:
    try:
        if query.alias is not None:
            return client.version_by_alias(name, query.alias)
        return client.version(name, str(query.version))
    except RegistryError as exc:
        if exc.status in (400, 404):
            what = f"alias {query.alias!r}" if query.alias is not None else f"version {query.version!r}"
            raise RegistryError(f"registry: {what} of registered model {name!r} not found ({exc})") from None
        raise


def _storage_uri(client: MlflowRest, version: ModelVersion) -> str:
    uri = client.download_uri(version.name, version.version)
    if uri.startswith(RUNS_SCHEME):
        run_id, _, path = uri[len(RUNS_SCHEME) :].partition("/")
        artifacts = client.run(run_id).artifact_uri.rstrip("/")
        if not artifacts:
            raise RegistryError(f"registry: run {run_id} has no artifact location ({client.shown_uri})")
        uri = f"{artifacts}/{path}" if path else artifacts
    if uri.startswith(MODELS_SCHEME):
        raise RegistryError(
            f"registry: {version.name!r} version {version.version!r}: the server did not resolve {uri!r} to a "
            "storage location"
        )
    from pydantic import TypeAdapter, ValidationError

    from mlgitops.language.fields import StorageUri

    try:
        TypeAdapter(StorageUri).validate_python(uri)
    except ValidationError as exc:
        reason = exc.errors()[0].get("msg", "not a storage URI").removeprefix("Value error, ")
        raise RegistryError(
            f"registry: {version.name!r} version {version.version!r} is stored where the cluster cannot load it: "
            f"{reason}; point the experiment's artifact location at object storage"
        ) from None
    return uri


def resolve_registry_pin(
    project: Project,
    spec: Model,
    query: RegistryQuery,
    gates: Sequence[Gate],
    environ: Mapping[str, str] | None = None,
) -> RegistryPin:
    """Resolve `query` in the registry (the model named after `spec`, the target environment's) and check
    `gates` against the metrics of the version's run."""
    if (query.alias is None) == (query.version is None):
        raise UsageError("give exactly one of --alias and --registry-version")
    client = _connection(project, os.environ if environ is None else environ)
    name = registered_model_name(spec, query)
    version = _version(client, name, query)
    label = f"{name}{query.shown}"
    if query.alias is not None:
        label += f" (version {version.version})"
    if version.status != "READY":
        raise RegistryError(f"registry: {label} is {version.status}, not READY")
    storage = _storage_uri(client, version)
    metrics: dict[str, float] = {}
    if version.run_id:
        try:
            run = client.run(version.run_id)
        except RegistryError as exc:
            if exc.status == 404:
                raise RegistryError(
                    f"registry: {label}: its run {version.run_id} does not exist (deleted and removed)"
                ) from None
            raise
        if run.lifecycle_stage == "deleted":
            raise RegistryError(
                f"registry: {label}: its run {version.run_id} is deleted; restore the run or promote another version"
            )
        metrics = run.metrics
    elif gates:
        raise RegistryError(f"registry: {label} has no run, so its gates cannot be checked")
    failures = failed_gates(gates, metrics)
    if failures:
        raise RegistryError(f"registry: {label}: {'; '.join(failures)}; nothing was changed")
    return RegistryPin(
        version=version.version,
        storage_uri=storage,
        reference=f"{MODELS_SCHEME}{name}/{version.version}",
        run_id=version.run_id or None,
        registered_model=name,
        server=client.shown_uri,
        alias=query.alias,
        evidence=evidence(gates, metrics),
    )
