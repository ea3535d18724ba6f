"""Argo CD config management plugin (CMP) entry points: `mlgitops cmp generate` and `cmp parameters`.

`argocd-cmp-server` runs these without a shell, in the Application's path inside a tar-extracted
copy of the repository (files 0644, `HOME` not writable, a private writable `/tmp`). Settings arrive
as environment variables (see `read_settings`). `generate` prints the environment's manifests on
stdout and nothing else; anything that goes wrong is one line on stderr and a non-zero exit, because
Argo CD shows stderr in the Application's condition and discards stdout.

`generate` reads only `mlgitops.yaml`, `models/` and `base/platform/` (confined to the checkout,
platform_tree.py) and renders the overlay in memory: it takes no lock and writes nothing there, and
refuses a checkout holding an interrupted render's journal or staging directory (journal.py).

This module is the sync-time hot path: it imports the loader, the renderer and pydantic only when a
command actually needs them. A whole environment of many models is loaded, rendered and built in shares
by forked workers (`_generate_in_workers`, util/forked.py); anything unusual on that way is answered again
in-process, so that every refusal reads the same.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mlgitops.util.errors import MlgitopsError, UsageError, did_you_mean

if TYPE_CHECKING:
    from mlgitops.language.loader import Workspace
    from mlgitops.language.project import Project

# The plugin parameters, by the names Applications use in `plugin.parameters`.
ENVIRONMENT = "environment"
MODEL = "model"
EXTRA_LABELS = "extra-labels"
PARAMETER_NAMES = (ENVIRONMENT, MODEL, EXTRA_LABELS)

# Labels mlgitops sets itself; extra-labels must not overwrite them.
_RESERVED_LABELS = frozenset(
    {
        "app.kubernetes.io/name",
        "app.kubernetes.io/version",
        "app.kubernetes.io/component",
        "app.kubernetes.io/part-of",
        "app.kubernetes.io/managed-by",
    }
)
_RESERVED_PREFIX = "mlgitops.io/"
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_MODEL_LIST_LIMIT = 20

T = TypeVar("T")


class CmpError(MlgitopsError):
    """A plugin failure, reported as a single line (Argo CD shows it in the Application)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Settings:
    """What one Application asks the plugin for."""

    environment: str | None = None
    model: str | None = None
    extra_labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Generated:
    """The manifest stream of one `generate` call and the warnings to log beside it."""

    stream: str
    warnings: list[str]
    environment: str
    model: str | None


def escaped(name: str) -> str:
    """How Argo CD turns a parameter name or map key into part of a `PARAM_*` variable name."""
    return re.sub(r"[^A-Z0-9_]", "_", name.upper())


# --- settings ------------------------------------------------------------------------------------


def _parameters_json(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """`ARGOCD_APP_PARAMETERS` by parameter name (empty when absent or `null`)."""
    raw = environ.get("ARGOCD_APP_PARAMETERS", "").strip()
    if raw in ("", "null"):
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise CmpError(f"ARGOCD_APP_PARAMETERS is not valid JSON: {getattr(exc, 'msg', exc)}") from None
    if not isinstance(data, list):
        raise CmpError("ARGOCD_APP_PARAMETERS must be a JSON array of parameters")
    found: dict[str, dict[str, Any]] = {}
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise CmpError("ARGOCD_APP_PARAMETERS: every parameter needs a string 'name'")
        name = item["name"]
        if name not in PARAMETER_NAMES:
            raise CmpError(
                f"unknown plugin parameter {name!r}{did_you_mean(name, PARAMETER_NAMES)}; "
                f"the mlgitops plugin takes {', '.join(PARAMETER_NAMES)}"
            )
        kinds = [kind for kind in ("string", "array", "map") if kind in item]
        wanted = "map" if name == EXTRA_LABELS else "string"
        if "array" in kinds or (name != EXTRA_LABELS and "map" in kinds):
            raise CmpError(f"plugin parameter {name!r} must be a {wanted}, not {'/'.join(kinds)}")
        if "string" in item and not isinstance(item["string"], str):
            raise CmpError(f"plugin parameter {name!r}: 'string' must be a string")
        if "map" in item and not (
            isinstance(item["map"], dict) and all(isinstance(v, str) for v in item["map"].values())
        ):
            raise CmpError(f"plugin parameter {name!r}: 'map' must map strings to strings")
        found[name] = item
    return found


def _string_setting(environ: Mapping[str, str], params: dict[str, dict[str, Any]], name: str) -> str | None:
    """`PARAM_<NAME>`, then `ARGOCD_ENV_<NAME>`, then the JSON; empty means unset."""
    key = escaped(name)
    from_json = params.get(name, {}).get("string")
    for candidate in (environ.get(f"PARAM_{key}"), environ.get(f"ARGOCD_ENV_{key}"), from_json):
        if candidate is not None and candidate.strip():
            return candidate.strip()
    return None


def _parse_label_text(text: str, origin: str) -> dict[str, str]:
    """`key=value,key2=value2`, or a JSON object."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise CmpError(f"{origin}: not a valid JSON object") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise CmpError(f"{origin}: expected a JSON object of strings")
        return dict(data)
    labels: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise CmpError(f"{origin}: expected key=value pairs separated by commas, got {key.strip()!r}")
        labels[key.strip()] = value.strip()
    return labels


def _extra_labels(environ: Mapping[str, str], params: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The `extra-labels` map.

    Argo CD passes a map parameter both as `PARAM_EXTRA_LABELS_<KEY>` (keys upper-cased, so lossy) and
    in `ARGOCD_APP_PARAMETERS` (exact): the map is read from the JSON. A string parameter
    (`PARAM_EXTRA_LABELS`) or the plugin env `EXTRA_LABELS` may give `key=value,...` instead.
    """
    key = escaped(EXTRA_LABELS)
    item = params.get(EXTRA_LABELS, {})
    if environ.get(f"PARAM_{key}", "").strip():
        labels = _parse_label_text(environ[f"PARAM_{key}"], f"PARAM_{key}")
    elif "map" in item:
        labels = dict(item["map"])
    elif any(name.startswith(f"PARAM_{key}_") for name in environ):
        raise CmpError(
            f"extra-labels came only as PARAM_{key}_* variables, whose keys Argo CD upper-cases; "
            "ARGOCD_APP_PARAMETERS (which Argo CD always sets) is needed for the exact keys"
        )
    elif environ.get(f"ARGOCD_ENV_{key}", "").strip():
        labels = _parse_label_text(environ[f"ARGOCD_ENV_{key}"], f"ARGOCD_ENV_{key}")
    elif str(item.get("string", "")).strip():
        labels = _parse_label_text(item["string"], "plugin parameter 'extra-labels'")
    else:
        labels = {}
    for name, value in labels.items():
        _check_label(name, value)
    return {name: labels[name] for name in sorted(labels)}


def _check_label(key: str, value: str) -> None:
    prefix, slash, name = key.rpartition("/")
    if (
        not name
        or len(name) > 63
        or not _LABEL_NAME.match(name)
        or (slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)))
    ):
        raise CmpError(f"extra-labels: {key!r} is not a valid Kubernetes label key")
    if key in _RESERVED_LABELS or key.startswith(_RESERVED_PREFIX):
        raise CmpError(f"extra-labels: {key!r} is set by mlgitops and cannot be overridden")
    if len(value) > 63 or (value and not _LABEL_NAME.match(value)):
        raise CmpError(f"extra-labels: the value of {key!r} is not a valid Kubernetes label value")


def read_settings(environ: Mapping[str, str]) -> Settings:
    """The plugin settings of one request.

    Each setting is looked up as `PARAM_<NAME>` (an Application `plugin.parameters` entry), then
    `ARGOCD_ENV_<NAME>` (a `plugin.env` entry), then in the `ARGOCD_APP_PARAMETERS` JSON. Names are
    escaped as Argo CD does: `extra-labels` → `PARAM_EXTRA_LABELS`.
    """
    params = _parameters_json(environ)
    model = _string_setting(environ, params, MODEL)
    if model is not None and not re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", model):
        raise CmpError(f"plugin parameter 'model': {model!r} is not a model name", exit_code=2)
    return Settings(
        environment=_string_setting(environ, params, ENVIRONMENT),
        model=model,
        extra_labels=_extra_labels(environ, params),
    )


# --- locating the project ------------------------------------------------------------------------


def tree_boundary(start: Path, environ: Mapping[str, str]) -> Path | None:
    """The top of the extracted repository copy, as far as it can be known.

    Argo CD starts the plugin in `<extracted root>/<ARGOCD_APP_SOURCE_PATH>`, so the root is that many
    levels above the working directory. Without the variable (a run by hand) there is no bound.
    """
    if "ARGOCD_APP_SOURCE_PATH" not in environ:
        return None
    parts = [p for p in environ["ARGOCD_APP_SOURCE_PATH"].replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise CmpError("ARGOCD_APP_SOURCE_PATH must not contain '..'", exit_code=2)
    current = start.resolve()
    if len(parts) >= len(current.parts):
        raise CmpError(f"working directory {start} is shallower than ARGOCD_APP_SOURCE_PATH", exit_code=2)
    for _ in parts:
        current = current.parent
    return current


def find_project(start: Path, environ: Mapping[str, str]) -> Path:
    """The directory holding `mlgitops.yaml`: `start` or a parent, inside the extracted tree."""
    from mlgitops.util.paths import PROJECT_FILE
    from mlgitops.util.projectroot import find_root

    boundary = tree_boundary(start, environ)
    try:
        return find_root(start, boundary)
    except UsageError:
        where = "the application path or a parent inside the repository" if boundary else f"{start} or above"
        raise CmpError(
            f"no {PROJECT_FILE} found in {where}; point the Application at a repository that mlgitops renders"
            " (with --plugin-use-manifest-generate-paths, list /mlgitops.yaml in the"
            " argocd.argoproj.io/manifest-generate-paths annotation)"
        ) from None


def path_environment(root: Path, start: Path) -> str | None:
    """`prod` when the application path is `overlays/prod`."""
    try:
        relative = start.resolve().relative_to(root)
    except ValueError:
        return None
    parts = relative.parts
    if len(parts) == 2 and parts[0] == "overlays":
        return parts[1]
    return None


def _one_line(error: MlgitopsError) -> CmpError:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    message = "; ".join(lines) if len(lines) <= 1 else f"{len(lines)} problems: " + "; ".join(lines)
    return CmpError(message or type(error).__name__, exit_code=error.exit_code)


# --- generate ------------------------------------------------------------------------------------


def _as_one_line(action: Callable[[Path, Mapping[str, str]], T]) -> Callable[[Path, Mapping[str, str]], T]:
    """Report any user error of `action` as one CmpError line (Argo CD shows stderr in the condition)."""

    @functools.wraps(action)
    def wrapper(start: Path, environ: Mapping[str, str]) -> T:
        try:
            return action(start, environ)
        except CmpError:
            raise
        except MlgitopsError as exc:
            raise _one_line(exc) from None

    return wrapper


@_as_one_line
def generate(start: Path, environ: Mapping[str, str]) -> Generated:
    """Render the manifests one Application asks for (see the module docstring).

    A repeated request (same inputs, byte for byte) is answered from cmp_cache.py without loading
    the specs; only successful answers are stored.
    """
    from mlgitops.gitops import cmp_cache
    from mlgitops.layout.journal import refuse_leftovers

    directory = cmp_cache.cache_dir(environ)
    if directory is None:
        return _generate(start, environ)
    settings = read_settings(environ)
    root = find_project(start, environ)
    refuse_leftovers(root, "cmp generate")  # before the cache: an answer never stands in for the refusal
    env = settings.environment or path_environment(root, start)
    key = cmp_cache.request_key(root, start, env, settings.model, environ)
    cached = cmp_cache.load(directory, key)
    if cached is not None:
        return Generated(cached.stream, list(cached.warnings), cached.environment, cached.model)
    result = _generate(start, environ)
    cmp_cache.store(directory, key, cmp_cache.Answer(result.stream, result.warnings, result.environment, result.model))
    return result


def _generate(start: Path, environ: Mapping[str, str]) -> Generated:
    from mlgitops.language.loader import load_workspace
    from mlgitops.layout.build import build_prepared, prepare
    from mlgitops.layout.journal import refuse_leftovers

    settings = read_settings(environ)
    root = find_project(start, environ)
    refuse_leftovers(root, "cmp generate")
    answered = _generate_in_workers(root, start, settings, environ)
    if answered is not None:
        return answered
    workspace = load_workspace(root, only_model=settings.model)
    import gc

    gc.freeze()  # the specs live until the answer is printed: the collector need not walk them (cli.command.workspace)
    env, warnings = _requested_environment(workspace.project, root, start, settings, environ)
    prepared = prepare(workspace, env, settings.model)
    verify_committed_files(workspace, env, settings.model, files=lambda: prepared.files)
    prepared.forget_files()  # the stream is made from the objects; the files' text would only take memory
    stream = build_prepared(prepared, extra_labels=settings.extra_labels)
    _refuse_empty(stream, workspace.project, env, settings.model)
    return Generated(stream=stream, warnings=warnings, environment=env, model=settings.model)


def _refuse_empty(stream: str, project: Project, env: str, model: str | None) -> None:
    if not _has_objects(stream) and not project.environment(env).allowEmpty:
        what = f"model {model!r} in " if model else ""
        raise CmpError(
            f"{what}environment {env!r} renders no objects; refusing an empty render "
            "(Argo CD would prune everything the Application manages)"
        )


def _requested_environment(
    project: Project, root: Path, start: Path, settings: Settings, environ: Mapping[str, str]
) -> tuple[str, list[str]]:
    """The environment a request renders, and the warnings it gets; CmpError when it names none or two."""
    from mlgitops.language.loader import unknown_environment

    names = project.environment_names
    from_path = path_environment(root, start)
    env = settings.environment or from_path
    if env is None:
        raise CmpError(
            f"no environment: set the plugin parameter 'environment' (one of {', '.join(names)}) "
            "or point the Application's path at overlays/<environment>",
            exit_code=2,
        )
    if env not in names:
        raise UsageError(unknown_environment(env, names))
    if from_path is not None and from_path in names and from_path != env:
        raise CmpError(
            f"plugin parameter 'environment' is {env!r} but the application path is overlays/{from_path}",
            exit_code=2,
        )
    warnings: list[str] = []
    namespace = project.environment(env).namespace
    requested = environ.get("ARGOCD_APP_NAMESPACE", "")
    if requested and requested != namespace:
        warnings.append(
            f"the Application's destination namespace {requested!r} is not {namespace!r}, the namespace of "
            f"environment {env!r}; the objects keep {namespace!r}"
        )
    return env, warnings


def _generate_in_workers(root: Path, start: Path, settings: Settings, environ: Mapping[str, str]) -> Generated | None:
    """A whole environment's answer from forked workers, each loading, rendering and building a share of the
    models (layout/build.py `build_share`), when there are enough models and no inference graphs; None
    when that does not apply or anything on the way fails (the caller then answers in-process, so an error
    reads the same)."""
    from mlgitops.util.paths import GRAPHS_DIR

    if settings.model is not None or os.path.lexists(root / GRAPHS_DIR):
        return None  # first: a one-model request (the hot path) lists and imports nothing more here
    from mlgitops.language.loader import load_project, model_paths
    from mlgitops.language.workspace import ModelsInWorkers, Workspace
    from mlgitops.layout.build import build_share, environment_stream, stream_documents
    from mlgitops.layout.overlay import environment_files, environment_objects
    from mlgitops.render.pipeline import addon_locator, check_not_empty, check_unique_objects
    from mlgitops.util.forked import map_forked, model_shares
    from mlgitops.util.paths import BASE_MODELS_DIR, OVERLAYS_DIR, PLATFORM_DIR
    from mlgitops.util.samefile import same_file

    cut = model_shares(sorted(Path(path).stem for path in model_paths(root)[0]))
    if len(cut) < 2:
        return None
    try:
        project, project_doc = load_project(root)  # first: its spec classes are then imported once, here
        env, warnings = _requested_environment(project, root, start, settings, environ)
        workspace = Workspace(root, project, project_doc, models=ModelsInWorkers())
        compare = (root / OVERLAYS_DIR).is_dir() or (root / BASE_MODELS_DIR).is_dir()
        labels = settings.extra_labels
        parts = map_forked(lambda share: build_share(root, env, share, labels, compare), cut)
        outlines = [item for part in parts for item in part.outlines]
        check_unique_objects(workspace, outlines, [env], addon_locator(workspace))
        check_not_empty(workspace, outlines, [env])
        with_platform = (root / PLATFORM_DIR).is_dir()
        if compare:
            own = environment_files(workspace, env, outlines, include_platform=with_platform)
            rendered = {path for part in parts for path in part.files} | set(own)
            stale = [path for part in parts for path in part.stale]
            stale += [path for path, text in own.items() if not same_file(root / path, text)]
            if stale or _stray_files(root, env, None, rendered):
                return None  # refused in-process, with the message listing them
        documents = stream_documents(environment_objects(workspace, env, [], with_namespace=True), labels)
        if documents is None or any(part.documents is None for part in parts):
            return None  # outside what the in-memory stream reproduces: the real Kustomize builds it
        documents += [document for part in parts for document in part.documents or []]
        stream = environment_stream(workspace, env, documents, with_platform, labels)
        if stream is None:
            return None
        _refuse_empty(stream, project, env, None)
        return Generated(stream=stream, warnings=warnings, environment=env, model=None)
    except Exception:
        return None


def _has_objects(stream: str) -> bool:
    """Whether a Kustomize stream holds at least one document with content."""
    start = 0
    while start < len(stream):  # line by line without a list of every line (an environment's stream is MiBs)
        end = stream.find("\n", start)
        end = len(stream) if end < 0 else end + 1
        lines = stream[start:end].splitlines()  # str.splitlines also breaks at \r, \x85, \u2028, ...
        start = end
        for line in lines:
            text = line.strip()
            if text and text != "---" and not text.startswith("#") and text not in ("{}", "null"):
                return True
    return False


# --- parameters ----------------------------------------------------------------------------------


@_as_one_line
def parameters(start: Path, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    """The dynamic parameter announcements for the Argo CD UI: this project's environments and models.

    Only `mlgitops.yaml` is read and validated; model files are listed, not loaded, so one broken
    model does not blank the form. `extra-labels` is announced statically in plugin.yaml.
    """
    return _parameters(start, environ)


def _parameters(start: Path, environ: Mapping[str, str]) -> list[dict[str, Any]]:
    from mlgitops.language.loader import load_project, model_paths

    root = find_project(start, environ)
    project, _doc = load_project(root)
    names = project.environment_names
    paths, _problems = model_paths(root)  # stray files are reported by generate, not here
    models = sorted(Path(p).stem for p in paths)
    from_path = path_environment(root, start)
    environment: dict[str, Any] = {
        "name": ENVIRONMENT,
        "title": "Environment",
        "tooltip": f"The mlgitops.yaml environment to render: one of {', '.join(names)}."
        + (" Defaults to the application path overlays/<environment>." if from_path in names else ""),
        "required": from_path not in names,
        "itemType": "string",
        "collectionType": "string",
    }
    if from_path in names:
        environment["string"] = from_path
    shown = ", ".join(models[:_MODEL_LIST_LIMIT])
    if len(models) > _MODEL_LIST_LIMIT:
        shown += f" and {len(models) - _MODEL_LIST_LIMIT} more"
    model = {
        "name": MODEL,
        "title": "Model",
        "tooltip": "Render only this model (one Application per model); empty renders every model"
        + (f". Models: {shown}." if models else "."),
        "required": False,
        "itemType": "string",
        "collectionType": "string",
    }
    return [environment, model]


# --- committed files -----------------------------------------------------------------------------

_STALE_SHOWN = 3


def verify_committed_files(
    workspace: Workspace, env: str, model: str | None, *, files: Callable[[], dict[str, str]] | None = None
) -> None:
    """Refuse when the repository commits generated files that differ from what this render deploys.

    Flux, `mlgitops diff` and reviewers see the committed `base/models/` and `overlays/`; in plugin
    mode Argo CD applies what the sidecar's mlgitops renders from the specs. Where the repository
    commits the generated tree, the two must agree, or the sync would deploy something nobody
    reviewed (a stale render, or a sidecar on another mlgitops version). Only the files this call
    renders are compared: the environment's overlay and its models' bases or, with `model`, that
    model's base and overlay files and its entries in the overlay's kustomization.yaml. `files` gives
    the files of a render already made (build.Prepared), so generate renders once.
    """
    from mlgitops import __version__
    from mlgitops.layout.build import build_files
    from mlgitops.util.paths import BASE_MODELS_DIR, KUSTOMIZATION, OVERLAYS_DIR
    from mlgitops.util.samefile import same_file

    root = workspace.root
    if not ((root / OVERLAYS_DIR).is_dir() or (root / BASE_MODELS_DIR).is_dir()):
        return  # the repository does not commit the generated tree
    rendered = files() if files is not None else build_files(workspace, env, model)[0]
    overlay_kustomization = f"{OVERLAYS_DIR}/{env}/{KUSTOMIZATION}"
    stale: list[str] = []
    expected_entries: list[str] = []
    for path, content in rendered.items():
        if model is not None and path == overlay_kustomization:
            expected_entries = _kustomization_entries(content)
            continue
        if not same_file(root / path, content):
            stale.append(path)
    stale += _stray_files(root, env, model, rendered)
    if model is not None:
        try:
            committed = (root / overlay_kustomization).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            committed = ""
        if any(entry not in committed for entry in expected_entries):
            stale.append(overlay_kustomization)
    if stale:
        stale = sorted(set(stale))
        shown = ", ".join(stale[:_STALE_SHOWN])
        more = f" and {len(stale) - _STALE_SHOWN} more" if len(stale) > _STALE_SHOWN else ""
        raise CmpError(
            f"{len(stale)} committed generated file(s) ({shown}{more}) are not what mlgitops {__version__} renders "
            f"from the specs, so Argo CD would deploy what the repository does not show; run `mlgitops render` "
            "and commit the result (or run the sidecar on the mlgitops version that rendered them)"
        )


def _stray_files(root: Path, env: str, model: str | None, rendered: Collection[str]) -> list[str]:
    """Files in the directories a render of `env` (or of `model` in it) writes that it does not write."""
    from mlgitops.util.paths import BASE_GRAPHS_DIR, BASE_MODELS_DIR, OVERLAYS_DIR

    folders = [f"{BASE_MODELS_DIR}/{model}", f"{OVERLAYS_DIR}/{env}/{model}"] if model else [f"{OVERLAYS_DIR}/{env}"]
    if model is None:
        bases = (BASE_MODELS_DIR + "/", BASE_GRAPHS_DIR + "/")
        folders += sorted({p.rpartition("/")[0] for p in rendered if p.startswith(bases)})
    stray: list[str] = []
    for folder in folders:
        for dirpath, _dirnames, filenames in os.walk(root / folder):
            prefix = Path(dirpath).relative_to(root).as_posix()
            stray.extend(f"{prefix}/{name}" for name in filenames if f"{prefix}/{name}" not in rendered)
    return stray


def _kustomization_entries(text: str) -> list[str]:
    """The lines one model contributes to an overlay's kustomization.yaml (its base, resources, patches)."""
    from mlgitops.util.yamlio import load_plain

    docs = load_plain(text)
    data = docs[0] if docs and isinstance(docs[0], dict) else {}
    entries = [f"- {resource}\n" for resource in data.get("resources", [])]
    entries += [f"path: {patch['path']}\n" for patch in data.get("patches", []) if "path" in patch]
    return entries
