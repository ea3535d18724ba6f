"""The credential check over a whole model spec: every variable, parameter and command a credential could be
written into (the recognising is credentials.py's)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mlgitops.language.credentials import SECRETS_ADVICE, holds_literal, is_credential_name, uri_problem
from mlgitops.language.model import Model
from mlgitops.util.errors import Location, Problem

Locate = Callable[[tuple[str | int, ...], bool], Location]


def credential_problems(spec: Model, locate: Locate) -> list[Problem]:
    """Credentials in a model's variables (serving, transformer, explainer, training), parameters (of training
    and of the storage spec) and commands, each at its position. A `{secret, key}` variable is a reference,
    never a literal."""
    problems: list[Problem] = []

    def check(path: tuple[str | int, ...], name: str | None, value: str, what: str) -> None:
        message = uri_problem(value)
        if message is None and name is not None and is_credential_name(name) and holds_literal(value):
            message = f"{what} {name!r} holds a literal credential; {SECRETS_ADVICE}"
        if message is not None:
            problems.append(Problem(locate(path, False), message))

    def check_env(path: tuple[str | int, ...], env: Mapping[str, object]) -> None:
        for name, value in env.items():
            if isinstance(value, str):
                check((*path, name), name, value, "variable")

    serving = spec.serving
    if serving is not None:
        check_env(("serving", "env"), serving.env)
        for j, value in enumerate(serving.args):
            check(("serving", "args", j), None, value, "args")
        for part in ("transformer", "explainer"):
            container = getattr(serving, part)
            if container is None:
                continue
            check_env(("serving", part, "env"), container.env)
            for field, values in (("command", container.command), ("args", container.args)):
                for j, value in enumerate(values):
                    check(("serving", part, field, j), None, value, field)
    storage = spec.model.storage
    if storage is not None:  # the storage-config entry's overrides are written into the InferenceService
        for name, value in storage.parameters.items():
            check(("model", "storage", "parameters", name), name, value, "storage parameter")
    training = spec.training
    if training is None:
        return problems
    for name, value in training.parameters.items():
        check(("training", "parameters", name), name, value, "parameter")
    for i, step in enumerate(training.steps):
        check_env(("training", "steps", i, "env"), step.env)
        for field, values in (("command", step.command or []), ("args", step.args)):
            for j, value in enumerate(values):
                check(("training", "steps", i, field, j), None, value, field)
        for word in (step.script or "").split():  # a URI with a credential anywhere in a script's source
            if uri_problem(word) is not None:
                check(("training", "steps", i, "script"), None, word, "script")
                break
    if training.register_ is not None:
        for field, values in (("command", training.register_.command), ("args", training.register_.args)):
            for j, value in enumerate(values):
                check(("training", "register", field, j), None, value, field)
    return problems
