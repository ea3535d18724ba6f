"""`mlgitops history`: which version each environment ran, from the Git log."""

from __future__ import annotations

import argparse
import sys

from mlgitops.cli.command import Command, start
from mlgitops.util.errors import UsageError


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--env", metavar="ENV", help="only this environment")
    parser.add_argument("--format", choices=["text", "json"], default="text")


def _run(args: argparse.Namespace) -> int:
    from mlgitops.delivery.promotion.history import format_history, history

    result = history(start(args), args.model)
    if args.env is not None and args.env not in {d.environment for d in result.deployments}:
        raise UsageError(f"{args.model} has no history in environment {args.env!r}")
    sys.stdout.write(format_history(result, args.env, args.format))
    return 0


COMMAND = Command(
    name="history",
    summary="which version each environment ran, from the Git log",
    description="Which version of a model each environment ran, since when, and the commit and author that "
    "pinned it: the spec resolved at every commit that changed models/MODEL.yaml or mlgitops.yaml.",
    example="mlgitops history fraud-detector --env prod --format json",
    exit_codes="0 printed; 1 Git or the spec could not be read; 2 usage error (unknown model or environment)",
    arguments=_arguments,
    handler=_run,
)
