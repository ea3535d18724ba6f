"""`mlgitops rollback`: pin an environment back to the version it ran before."""

from __future__ import annotations

import argparse
import sys

from mlgitops.cli.command import Command, start
from mlgitops.cli.promote import change_arguments, write_pr_body


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment to roll back")
    parser.add_argument("--to-version", metavar="V", help="a version the environment ran (default: the one before)")
    parser.add_argument("--reason", required=True, metavar="TEXT", help="why (for the commit message and PR body)")
    change_arguments(parser)


def _run(args: argparse.Namespace) -> int:
    from mlgitops.delivery.promotion.history import history, rollback_target
    from mlgitops.delivery.promotion.promote import Pin, PromoteRequest, promote

    directory = start(args)
    target = rollback_target(history(directory, args.model), args.env, args.to_version)
    request = PromoteRequest(
        model=args.model,
        to_env=args.env,
        pin=Pin(target.version, target.storage_uri, target.registry, target.run_id),
        reason=args.reason,
        dry_run=args.dry_run,
        render=not args.no_render,
        force=True,
        end_canary=True,
    )
    result = promote(directory, request)
    sys.stdout.write(result.diff)
    write_pr_body(args, directory, result)
    print(f"{result.summary} (rollback to the version of {target.commit[:7]})", file=sys.stderr)
    return 0


COMMAND = Command(
    name="rollback",
    summary="pin an environment back to the version it ran before",
    description="Pin an environment back to the version it ran before (from history), as a promotion without the "
    "order check; a running canary ends. The reason is required.",
    example="mlgitops rollback fraud-detector --env prod --reason 'p95 latency regression'",
    exit_codes="0 rolled back; 1 nothing to roll back to, or the result would be invalid: nothing written; "
    "2 usage error",
    arguments=_arguments,
    handler=_run,
)
