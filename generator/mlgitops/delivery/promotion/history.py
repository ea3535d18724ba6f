"""`mlgitops history` and `mlgitops rollback`: which version each environment ran, from the Git log.

Every commit that touched `models/<name>.yaml` or `mlgitops.yaml` is loaded as it was (the two files
only, in a temporary directory, through the normal loader) and the model resolved in each of its
environments; an entry starts where an environment's version or storage URI changes. A commit whose
spec does not load is skipped (named in the result). A renamed environment starts a new timeline.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.delivery.git_repo import LogEntry, file_at, log_touching, open_repository
from mlgitops.language.loader import find_root, load_workspace
from mlgitops.util.errors import MlgitopsError, UsageError
from mlgitops.util.paths import MODELS_DIR, PROJECT_FILE
from mlgitops.util.textsafe import printable

if TYPE_CHECKING:
    from mlgitops.delivery.promotion.promote import Pin


@dataclass
class Deployment:
    """One stretch of time an environment ran one version, starting at `commit`."""

    environment: str
    version: str
    storage_uri: str
    registry: str | None
    run_id: str | None
    since: str
    commit: str
    author: str
    subject: str


@dataclass
class History:
    model: str
    deployments: list[Deployment] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # commits whose spec did not load

    def of(self, env: str) -> list[Deployment]:
        return [d for d in self.deployments if d.environment == env]


def _pins_at(repo_files: dict[str, bytes], model: str) -> dict[str, Pin]:
    from mlgitops.delivery.promotion.promote import resolved_pin

    with tempfile.TemporaryDirectory(prefix="mlgitops-history-") as folder:
        root = Path(folder)
        (root / MODELS_DIR).mkdir()
        for relative, data in repo_files.items():
            (root / relative).write_bytes(data)
        workspace = load_workspace(root, only_model=model)
        spec = workspace.model(model)
        pins: dict[str, Pin] = {}
        for env in workspace.project.environment_names:
            pin = resolved_pin(workspace, spec, env)
            if pin is not None:
                pins[env] = pin
        return pins


def history(start: Path, model: str) -> History:
    root = find_root(start)
    repo = open_repository(root)
    model_path = f"{MODELS_DIR}/{model}.yaml"
    result = History(model)
    current: dict[str, Pin] = {}
    for entry in log_touching(repo, [model_path, PROJECT_FILE]):
        files = {relative: file_at(repo, entry.commit, relative) for relative in (PROJECT_FILE, model_path)}
        if files[PROJECT_FILE] is None or files[model_path] is None:
            current = {}
            continue
        try:
            pins = _pins_at({k: v for k, v in files.items() if v is not None}, model)
        except MlgitopsError:
            result.skipped.append(entry.commit[:7])
            continue
        for env, pin in pins.items():
            if current.get(env) != pin:
                result.deployments.append(_deployment(env, pin, entry))
        current = pins
    if not result.deployments and not result.skipped:
        raise UsageError(f"no commit of HEAD's history has {model_path}")
    return result


def _deployment(env: str, pin: Pin, entry: LogEntry) -> Deployment:
    return Deployment(
        env, pin.version, pin.storage_uri, pin.registry, pin.run_id,
        entry.date, entry.commit, entry.author, entry.subject,
    )  # fmt: skip


def format_history(result: History, env: str | None, fmt: str) -> str:
    rows = [d for d in result.deployments if env is None or d.environment == env]
    if fmt == "json":
        # camelCase keys, as in every other JSON mlgitops writes (storageUri, runId)
        deployments = [{_camel(k): v for k, v in asdict(d).items()} for d in rows]
        payload = {"model": result.model, "deployments": deployments, "skipped": result.skipped}
        return json.dumps(payload, indent=2, sort_keys=True) + "\n"
    # Author and subject are anyone's text (a commit can carry terminal escapes and bidi controls):
    # printable() shows them as escapes, so a row can neither drive the terminal nor split in two.
    lines = [
        "\t".join(
            printable(part)
            for part in (d.environment, d.version, f"since {d.since}", d.commit[:7], d.author, d.subject)
        )
        for d in rows
    ]
    if lines:
        lines.insert(0, HISTORY_HEADER)
    lines += [f"skipped {commit}: the spec did not load at this commit" for commit in result.skipped]
    return "\n".join(lines) + ("\n" if lines else "")


HISTORY_HEADER = "\t".join(("ENVIRONMENT", "VERSION", "SINCE", "COMMIT", "AUTHOR", "SUBJECT"))


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def rollback_target(result: History, env: str, to_version: str | None) -> Deployment:
    """The deployment to go back to: the one before the current, or the latest of `to_version`."""
    rows = result.of(env)
    if not rows:
        raise UsageError(f"{result.model} has no history in environment {env!r}")
    current = rows[-1]
    earlier = [d for d in rows[:-1] if d.version != current.version]
    if to_version is not None:
        earlier = [d for d in rows if d.version == to_version]
        if not earlier:
            ran = ", ".join(dict.fromkeys(d.version for d in rows))
            raise MlgitopsError(f"{env!r} never ran {result.model} version {to_version!r} (it ran {ran})")
    if not earlier:
        raise MlgitopsError(f"{env!r} has run only {current.version!r} of {result.model}: nothing to roll back to")
    return earlier[-1]
