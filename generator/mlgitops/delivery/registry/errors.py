"""The error every registry failure is reported as: one line, exit 1, no credential in it."""

from __future__ import annotations

from mlgitops.util.errors import MlgitopsError
from mlgitops.util.textsafe import printable


class RegistryError(MlgitopsError):
    """The registry cannot be read, or what it holds cannot be promoted (missing, deleted, failing a gate)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(printable(message))  # names, statuses and run ids come from the server: one line
        self.status = status
