"""`mlgitops diff`: the rendered manifests of two Git revisions, compared."""

from __future__ import annotations

import argparse
import sys

from mlgitops.cli.command import Command, internal_error, start
from mlgitops.util.errors import MlgitopsError


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base", metavar="REF", help="base revision (default: merge-base of HEAD and main)")
    parser.add_argument("--head", metavar="REF", help="head revision (default: the working tree)")
    parser.add_argument("--env", action="extend", nargs="+", metavar="ENV", help="only these environments (repeatable)")
    parser.add_argument("--format", choices=["text", "markdown", "json"], default="text")


def _run(args: argparse.Namespace) -> int:
    """Every failure exits 2: CI reads 1 as "there are changes"."""
    from mlgitops.delivery.diff.command import run
    from mlgitops.delivery.diff.results import DiffError

    try:
        output, changed = run(start(args), base=args.base, head=args.head, envs=args.env, fmt=args.format)
    except (MlgitopsError, KeyboardInterrupt):
        raise
    except Exception as exc:  # RecursionError, MemoryError, OSError included
        if args.debug:
            raise
        raise DiffError(internal_error(exc)) from None
    sys.stdout.write(output)
    return 1 if changed else 0


COMMAND = Command(
    name="diff",
    summary="compare the rendered manifests of two Git revisions (exit 0 same, 1 changed, 2 error)",
    description="Compare the rendered manifests of two Git revisions, per environment and object; renames and "
    "version-label-only changes are shown as such.",
    example="mlgitops diff --base origin/main --format markdown > diff.md",
    exit_codes='0 no changes; 1 changes; 2 any error (CI reads 1 as "there are changes")',
    arguments=_arguments,
    handler=_run,
)
