"""What every command module provides (`Command`), and the helpers the handlers share."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlgitops.language.loader import Workspace

Handler = Callable[[argparse.Namespace], int]

PIP_SPEC_HELP = (
    "the pip requirement that installs mlgitops there (default: this mlgitops: mlgitops==VERSION, or "
    "git+URL@COMMIT when it was installed from Git)"
)


@dataclass(frozen=True)
class Command:
    """One command (or subcommand): its `--help` (what it does, an example, its exit codes, which CI scripts
    branch on), its flags and its handler. A command with `subcommands` dispatches to theirs through `dest`."""

    name: str
    summary: str
    description: str
    example: str
    exit_codes: str
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    handler: Handler | None = None
    subcommands: tuple[Command, ...] = ()
    dest: str = ""


def start(args: argparse.Namespace) -> Path:
    """Where the command runs: `-C DIR`, else the working directory."""
    return Path(args.directory) if args.directory else Path.cwd()


def workspace(args: argparse.Namespace, only_model: str | None = None) -> Workspace:
    """The project around the start directory, loaded (only `only_model` of the models, when given)."""
    from mlgitops.language.loader import find_root, load_workspace

    loaded = load_workspace(find_root(start(args)), only_model=only_model)
    # The specs live until the command ends: frozen, the collector stops walking them again and again
    # (at 2000 models each full collection took ~0.2 s); __main__.main unfreezes when the command returns.
    gc.freeze()
    return loaded


def internal_error(exc: BaseException) -> str:
    """One line for an unexpected exception (its traceback is what `--debug` is for)."""
    from mlgitops.util.textsafe import printable

    detail = " ".join(str(exc).split())
    return printable(f"internal error: {type(exc).__name__}{': ' + detail if detail else ''}")
