"""The parser, assembled from the command modules, and `run`: one handler called, its errors turned into one line
each on stderr and a non-zero exit, never a traceback (`--debug` shows one)."""

from __future__ import annotations

import argparse
import os
import sys
import textwrap

from mlgitops.cli import (
    build,
    cmp,
    diff,
    history,
    init,
    promote,
    render,
    rollback,
    schema,
    sidecar,
    status,
    test,
    validate,
)
from mlgitops.cli.command import Command, Handler
from mlgitops.util.errors import MlgitopsError

COMMANDS: tuple[Command, ...] = tuple(
    module.COMMAND
    for module in (init, render, build, validate, cmp, sidecar, schema, diff, promote, history, status, rollback, test)
)


def _add(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    command: Command,
    common: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    codes = "\n  ".join(command.exit_codes.split("; "))
    parser = commands.add_parser(
        command.name,
        help=command.summary,
        description=textwrap.fill(command.description, 100),
        epilog=f"example:\n  {command.example}\n\nexit codes:\n  {codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    if command.arguments is not None:
        command.arguments(parser)
    if command.subcommands:
        metavar = command.dest.upper()
        inner = parser.add_subparsers(dest=command.dest, metavar=metavar, required=True)
        for subcommand in command.subcommands:
            _add(inner, subcommand, common)
    if command.handler is not None:
        parser.set_defaults(handler=command.handler)
    return parser


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="mlgitops",
        description="GitOps for machine learning: render model specs into Kustomize overlays and Argo manifests.",
    )
    top.add_argument("-C", dest="directory", metavar="DIR", help="run as if started in DIR")
    top.add_argument("--debug", action="store_true", help="show a traceback on errors")
    top.add_argument("--version", action="version", version=_version())
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # `-C DIR` also after the command (`mlgitops render -C path`); SUPPRESS keeps one given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-C", dest="directory", metavar="DIR", default=argparse.SUPPRESS, help="run as if started in DIR"
    )
    for command in COMMANDS:
        _add(commands, command, common)
    return top


def _version() -> str:
    from mlgitops import __version__

    return f"mlgitops {__version__}"


def run(argv: list[str]) -> int:
    from mlgitops.util.textsafe import printable

    args = parser().parse_args(argv)
    args.run_command_line = run  # `cmp serve` answers each request with it (cli/warm.py), without importing this
    handler: Handler = args.handler
    try:
        return handler(args)
    except MlgitopsError as exc:
        if args.debug:
            raise
        for line in (str(exc) or type(exc).__name__).split("\n"):
            print(printable(line), file=sys.stderr)
        return exc.exit_code
    except (RecursionError, MemoryError) as exc:
        # The spec readers bound depth and size (mlgitops.util.limits), so this is a defect; still one line.
        if args.debug:
            raise
        print(f"mlgitops: input too large or too deeply nested to process ({type(exc).__name__})", file=sys.stderr)
        return 2 if args.command == "diff" else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
