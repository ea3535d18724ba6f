"""`mlgitops promote`: move a model version into an environment as a small, reviewable spec edit.

The pin (`model.version`, `model.storageUri`, `model.registry`) goes into `environments.<env>.model`
of `models/<name>.yaml`, and is removed again when it equals what the environment resolves to
without it. The edited text is validated through the normal loader before anything is written, and
the spec is then rendered under the project lock (mlgitops.layout.tree), so a failed promotion leaves every
file as it was.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.delivery.promotion.interrupt import Interrupted, interruptible
from mlgitops.language.loader import find_root, load_workspace, parse_model
from mlgitops.language.resolve import check_workspace_model, resolve
from mlgitops.language.workspace import ModelFile, Workspace, unknown_environment
from mlgitops.util.errors import MlgitopsError, UsageError

if TYPE_CHECKING:
    from mlgitops.delivery.promotion.yamledit import Editor
    from mlgitops.delivery.registry.pin import RegistryPin, RegistryQuery

PIN_KEYS = ("version", "storageUri", "registry", "runId")


class PromoteError(MlgitopsError):
    """The promotion is refused (order, canary, or a pin the spec cannot take)."""


@dataclass(frozen=True)
class Pin:
    version: str
    storage_uri: str
    registry: str | None = None
    run_id: str | None = None

    def values(self) -> dict[str, str]:
        out = {"version": self.version, "storageUri": self.storage_uri}
        if self.registry:
            out["registry"] = self.registry
        if self.run_id:
            out["runId"] = self.run_id
        return out


@dataclass(frozen=True)
class SmokeGate:
    """`--require-tests`: where to read the smoke Job of the source environment (delivery/smoke.py)."""

    kubeconfig: str | None = None
    context: str | None = None


@dataclass
class PromoteRequest:
    model: str
    to_env: str
    from_env: str | None = None
    pin: Pin | None = None
    reason: str | None = None
    dry_run: bool = False
    render: bool = True
    force: bool = False
    end_canary: bool = False
    set_default: bool = False
    with_canary: bool = False
    registry: RegistryQuery | None = None
    require_tests: SmokeGate | None = None


@dataclass
class PromoteResult:
    path: str
    before: str
    after: str
    old: Pin
    new: Pin
    environment: str
    canary_completed: bool = False
    rendered: list[str] = field(default_factory=list)
    ml_summary: str = ""
    model: str = ""
    reason: str | None = None
    registry: RegistryPin | None = None
    tests: str = ""  # with --require-tests: the smoke Job that passed

    @property
    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                f"a/{self.path}",
                f"b/{self.path}",
            )
        )

    @property
    def summary(self) -> str:
        what = f"{self.path}: {self.environment} {self.old.version} -> {self.new.version}"
        if self.before == self.after:
            return f"{what} (already pinned: nothing changed)"
        return what + (" (canary completed)" if self.canary_completed else "")


def resolved_pin(workspace: Workspace, model: ModelFile, env: str) -> Pin | None:
    resolved = resolve(workspace, model, env)
    if resolved is None:
        return None
    source = resolved.spec.model
    if resolved.spec.serving is not None and resolved.spec.serving.multiModel:
        raise PromoteError(
            f"{model.path}: {model.name} is a multi-model server in {env} (serving.multiModel): it has no model "
            "files of its own to pin; its TrainedModels name theirs (edit them where the addon's settings are)"
        )
    if source.storageUri is None:
        raise PromoteError(
            f"{model.path}: {model.name} names its files in {env} with model.storage.path, and promote pins "
            "model.storageUri; pin the version by editing model.version and model.storage.path of "
            f"environments.{env}.model"
        )
    return Pin(source.version, source.storageUri, source.registry, source.runId)


def _canary_version(workspace: Workspace, model: ModelFile, env: str) -> str | None:
    resolved = resolve(workspace, model, env)
    if resolved is None or resolved.spec.serving is None or resolved.spec.serving.canary is None:
        return None
    return resolved.spec.serving.canary.version


def _check_env(workspace: Workspace, env: str) -> None:
    names = workspace.project.environment_names
    if env not in names:
        raise UsageError(unknown_environment(env, names))


def check_order(workspace: Workspace, model: ModelFile, env: str, version: str) -> None:
    """A version enters `env` only when the environment before it runs it now (one-line refusal)."""
    names = workspace.project.environment_names
    index = names.index(env)
    if index == 0:
        return
    previous = names[index - 1]
    running = resolved_pin(workspace, model, previous)
    if running is None or running.version != version:
        now = f"runs {running.version!r}" if running else "does not serve the model"
        raise PromoteError(
            f"{model.path}: promotion order: {version!r} may enter {env!r} only after {previous!r}, "
            f"which {now}; promote it to {previous!r} first or use --force with --reason"
        )


def _edited_text(workspace: Workspace, model: ModelFile, request: PromoteRequest, new: Pin) -> tuple[str, bool]:
    from mlgitops.delivery.promotion.yamledit import Editor

    env = request.to_env
    root = workspace.root
    text = (root / model.path).read_bytes().decode("utf-8")
    editor = Editor(text, model.path, unshared=True)  # an edit through a YAML alias would reach other environments
    canary = _canary_version(workspace, model, env)
    completed = False
    canary_path = ("environments", env, "serving", "canary")
    if canary is not None and (canary == new.version or request.end_canary):
        if editor.node(canary_path) is None:
            raise PromoteError(
                f"{model.path}: the canary of {env!r} is not set in environments.{env}.serving.canary; "
                "end it there by hand first"
            )
        editor.remove_key(canary_path)
        completed = canary == new.version
    elif canary is not None:
        raise PromoteError(
            f"{model.path}: {env!r} runs a canary of {canary!r}; promote {canary!r} to complete it, "
            "or pass --end-canary to end it"
        )
    base = model.doc.data.get("model") or {}
    base_pin = {k: base.get(k) for k in PIN_KEYS}
    wanted = {k: new.values().get(k) for k in PIN_KEYS}
    if request.set_default:
        names = workspace.project.environment_names
        for other in names[1:]:
            current = resolved_pin(workspace, model, other)
            if current is not None and editor.node(("environments", other, "model")) is None:
                _set_env_pin(editor, other, dict(current.values()))
        _set_pin(editor, ("model",), {k: v for k, v in wanted.items() if v is not None})
        if editor.node(("environments", env, "model")) is not None:  # the scaffolded model pins no environment
            editor.remove_key(("environments", env, "model"))
    elif wanted == base_pin:
        for key in PIN_KEYS:
            # removing the last key removes the emptied mapping too
            if editor.node(("environments", env, "model")) is None:
                break
            editor.remove_key(("environments", env, "model", key))
    else:
        # a key the pin leaves unset must not be inherited from the top level: null removes it
        cleared: dict[str, str | None] = {k: v for k, v in wanted.items() if v is not None or base_pin[k] is not None}
        _set_env_pin(editor, env, cleared)
    if request.with_canary:
        _copy_canary(editor, workspace, model, request)
    return editor.text, completed


def _copy_canary(editor: Editor, workspace: Workspace, model: ModelFile, request: PromoteRequest) -> None:
    """`--with-canary`: the source environment's canary goes along into the target's patch."""
    from mlgitops.delivery.promotion.yamledit import scalar

    if request.from_env is None:
        raise UsageError("--with-canary needs --from ENV (the environment whose canary goes along)")
    resolved = resolve(workspace, model, request.from_env)
    canary = resolved.spec.serving.canary if resolved and resolved.spec.serving else None
    if canary is None:
        raise PromoteError(f"{model.path}: {request.from_env!r} runs no canary to promote with --with-canary")
    text = (
        f"{{version: {scalar(canary.version)}, storageUri: {scalar(canary.storageUri)}, "
        f"trafficPercent: {canary.trafficPercent}}}"
    )
    env = request.to_env
    if editor.node(("environments", env, "serving", "canary")) is not None:
        raise PromoteError(f"{model.path}: {env!r} runs a canary already; end it first (--end-canary)")
    if editor.node(("environments", env, "serving")) is not None:
        editor.add_key(("environments", env, "serving", "canary"), text)
    elif editor.node(("environments", env)) is not None:
        editor.add_key(("environments", env, "serving"), f"{{canary: {text}}}")
    else:
        editor.add_key(("environments", env), f"{{serving: {{canary: {text}}}}}")


def _set_pin(editor: Editor, path: tuple[str, ...], wanted: dict[str, str | None]) -> None:
    """Make the pin keys at `path` exactly `wanted` (a None value is written as null; a key not in it goes)."""
    from mlgitops.delivery.promotion.yamledit import scalar

    for key in PIN_KEYS:
        node = editor.node(path)
        present = node is not None and key in node
        if key not in wanted:
            if present:
                editor.remove_key((*path, key))
        elif present:
            value = wanted[key]
            if node[key] != value and (value is None or str(node[key]) != value):
                editor.set_scalar((*path, key), value)
        else:
            editor.add_key((*path, key), scalar(wanted[key]))


def _set_env_pin(editor: Editor, env: str, wanted: dict[str, str | None]) -> None:
    from mlgitops.delivery.promotion.yamledit import flow_map

    if editor.node(("environments", env, "model")) is not None:
        _set_pin(editor, ("environments", env, "model"), wanted)
    elif editor.node(("environments", env)) is not None:
        editor.add_key(("environments", env, "model"), flow_map(wanted))
    elif editor.node(("environments",)) is not None:
        editor.add_key(("environments", env), "{model: " + flow_map(wanted) + "}")
    else:
        nl = "\r\n" if "\r\n" in editor.text else "\n"
        tail = "" if editor.text.endswith("\n") else nl
        editor.text += f"{tail}environments:{nl}  {env}:{nl}    model: {flow_map(wanted)}{nl}"


def _write_atomic(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def promote(start: Path, request: PromoteRequest) -> PromoteResult:
    """Edit, validate, write and render one promotion (with `dry_run`, only compute it)."""
    from mlgitops.gitops.rendercache.render import render_project
    from mlgitops.util.lock import project_lock

    if request.force and not request.reason:
        raise UsageError("--force needs --reason (it is recorded in the commit message and PR body)")
    root = find_root(start)
    # SIGTERM and SIGINT raise Interrupted inside (and are delivered again once the lock is released): the
    # promotion is undone, never left half made.
    with interruptible() as guard, project_lock(root, f"promote {request.model}", required=not request.dry_run):
        workspace = load_workspace(root, only_model=request.model)
        model = workspace.model(request.model)
        _check_env(workspace, request.to_env)
        first = workspace.project.environment_names[0]
        if request.set_default and request.to_env != first:
            raise UsageError(f"--set-default moves the top-level pin: only for the first environment, {first!r}")
        found: RegistryPin | None = None
        if request.from_env is not None:
            _check_env(workspace, request.from_env)
            source = resolved_pin(workspace, model, request.from_env)
            if source is None:
                raise PromoteError(f"{model.path}: {request.model} is not enabled in {request.from_env!r}")
        elif request.pin is not None:
            source = request.pin
        elif request.registry is not None:
            from mlgitops.delivery.registry.pin import resolve_registry_pin

            target = resolve(workspace, model, request.to_env)
            if target is None:
                raise PromoteError(f"{model.path}: {request.model} is not enabled in {request.to_env!r}")
            # the gates of the environment's training, or (where the model does not train) the spec's own
            training = target.spec.training or model.spec.training
            gates = list(training.gates) if training is not None else []
            found = resolve_registry_pin(workspace.project, target.spec, request.registry, gates)
            source = Pin(found.version, found.storage_uri, found.reference, found.run_id)
        else:
            raise UsageError("give --from ENV, --version with --storage-uri, or --alias / --registry-version")
        old = resolved_pin(workspace, model, request.to_env)
        if old is None:
            raise PromoteError(f"{model.path}: {request.model} is not enabled in {request.to_env!r}")
        if not request.force:
            check_order(workspace, model, request.to_env, source.version)
        tests = _require_tests(workspace, model, request)
        after, completed = _edited_text(workspace, model, request, source)
        before = (root / model.path).read_bytes().decode("utf-8")
        result = PromoteResult(model.path, before, after, old, source, request.to_env, completed)
        result.model, result.reason = model.name, request.reason
        result.registry, result.tests = found, tests
        old_spec = resolve(workspace, model, request.to_env)
        names = workspace.project.environment_names
        others = {env: resolved_pin(workspace, model, env) for env in names if env != request.to_env}
        edited = parse_model(model.path, after)
        workspace.models = [edited]
        workspace.resolved.clear()
        problems = check_workspace_model(workspace, edited)
        if problems:
            from mlgitops.util.errors import SpecError

            raise SpecError(problems)
        landed = resolved_pin(workspace, edited, request.to_env)
        if landed != source:
            raise PromoteError(f"{model.path}: the edited spec resolves {request.to_env!r} to {landed}, not {source}")
        moved = [env for env, pin in others.items() if resolved_pin(workspace, edited, env) != pin]
        if moved:  # the editor refuses aliases and merge keys: this is the backstop for any other sharing
            raise PromoteError(
                f"{model.path}: the edit would also change the pin of {', '.join(map(repr, moved))}, not only "
                f"{request.to_env!r}; nothing was written"
            )
        new_spec = resolve(workspace, edited, request.to_env)
        from mlgitops.delivery.diff.summary import model_summary

        result.ml_summary = (
            model_summary(old_spec.spec if old_spec else None, new_spec.spec if new_spec else None)
            if before != after
            else "no change"
        )
        if request.dry_run or before == after:
            return result
        try:
            _write_atomic(root / model.path, after)
            if request.render:
                result.rendered = list(render_project(root, command=f"promote {request.model}").stale)
            guard.disarm()  # done: a signal from here on is delivered when the promotion is complete
        except BaseException as exc:
            guard.disarm()  # the undo is not interrupted: a second signal waits for it
            _undo(root, model.path, before, rerender=request.render and isinstance(exc, _INTERRUPTS))
            raise
        return result


_INTERRUPTS = (Interrupted, KeyboardInterrupt)


def _require_tests(workspace: Workspace, model: ModelFile, request: PromoteRequest) -> str:
    """With --require-tests, the line naming the smoke Job of the source environment that passed (else "")."""
    if request.require_tests is None:
        return ""
    if request.from_env is None:
        raise UsageError("--require-tests needs --from ENV: the environment whose smoke Job must have passed")
    from mlgitops.delivery.smoke import require_smoke_success
    from mlgitops.delivery.status.live import connect

    cluster = connect(request.require_tests.kubeconfig, request.require_tests.context)
    return require_smoke_success(cluster, workspace, model, request.from_env)


def _undo(root: Path, path: str, before: str, *, rerender: bool) -> None:
    """Put the model file back and, after an interrupt, the generated tree in line with it again.

    The render may have been stopped anywhere: before its journal (the tree is as it was), after it
    (render_project's recovery completes the swap first) or after the swap; rendering the restored
    spec gives the tree as it was before the promotion in every case.
    """
    _write_atomic(root / path, before)
    if rerender:
        from mlgitops.gitops.rendercache.render import render_project

        with contextlib.suppress(MlgitopsError):  # the tree stays stale: `render --check` says so
            render_project(root, command="promote (undo)")


def pr_body(result: PromoteResult) -> str:
    """Markdown for the pull request: what changes where, why, the ML summary line and the spec diff."""
    from mlgitops.language.credentials import mask_uri
    from mlgitops.util.textsafe import markdown_text

    title = f"Promote {result.model} to {result.environment}: {result.old.version} → {result.new.version}"
    lines = [f"## {title}", ""]
    if result.reason:
        lines += [f"**Reason:** {markdown_text(' '.join(result.reason.split()))}", ""]
    lines += [
        "| | version | storage URI | registry |",
        "| --- | --- | --- | --- |",
        f"| before | `{result.old.version}` | `{mask_uri(result.old.storage_uri)}` | `{result.old.registry or '-'}` |",
        f"| after | `{result.new.version}` | `{mask_uri(result.new.storage_uri)}` | `{result.new.registry or '-'}` |",
        "",
        f"**ML summary** (`mlgitops diff`): {result.environment} / {result.model}: {result.ml_summary}",
        "",
    ]
    if result.registry is not None:
        lines += registry_section(result.registry)
    if result.tests:
        lines += [f"**Smoke tests** (`--require-tests`): {markdown_text(result.tests)}", ""]
    if result.canary_completed:
        lines += [f"The canary of `{result.new.version}` in {result.environment} is completed (its block removed).", ""]
    lines += [f"### Spec change (`{result.path}`)", "", "```diff", result.diff.rstrip("\n"), "```", ""]
    if result.rendered:
        lines += [f"Rendered files changed: {len(result.rendered)}", ""]
        lines += [f"- `{path}`" for path in result.rendered]
        lines.append("")
    return "\n".join(lines)


def registry_section(found: RegistryPin) -> list[str]:
    """The registry evidence of a `--alias` / `--registry-version` promotion (no credentials: the URI is masked)."""
    asked = f"alias `{found.alias}`" if found.alias is not None else f"version `{found.version}`"
    lines = [
        "### Registry evidence",
        "",
        f"- {asked} of registered model `{found.registered_model}` on `{found.server}`: `{found.reference}`",
        f"- run: `{found.run_id or '-'}`",
    ]
    if found.evidence:
        lines += [f"- gate `{line.partition(':')[0]}`:{line.partition(':')[2]}" for line in found.evidence]
    else:
        lines.append("- gates: none in training.gates")
    return [*lines, ""]
