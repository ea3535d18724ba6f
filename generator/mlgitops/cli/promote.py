"""`mlgitops promote`: pin a model version in an environment as a reviewable change."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.cli.command import Command, start
from mlgitops.util.errors import UsageError

if TYPE_CHECKING:
    from mlgitops.delivery.promotion.promote import PromoteResult


def change_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags `promote` and `rollback` share: how the change is written."""
    parser.add_argument("--dry-run", action="store_true", help="print the change, write nothing")
    parser.add_argument("--no-render", action="store_true", help="edit the spec only")
    parser.add_argument("--pr-body", metavar="FILE", help="write the pull request text (markdown) to FILE")


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--to", required=True, metavar="ENV", help="the environment to pin")
    parser.add_argument("--from", dest="from_env", metavar="ENV", help="take the pin this environment resolves to")
    parser.add_argument("--version", metavar="V", help="an explicit version (with --storage-uri)")
    parser.add_argument("--storage-uri", metavar="URI", help="where the explicit version is stored")
    parser.add_argument("--registry", metavar="URI", help="the explicit version's registry URI (models:/...)")
    parser.add_argument("--alias", metavar="ALIAS", help="the registry version this alias names (MLflow)")
    parser.add_argument("--registry-version", metavar="V", help="a version of the registered model (MLflow)")
    parser.add_argument(
        "--registered-model",
        metavar="NAME",
        help="the registered model (default: the name in model.registry, else the model's name)",
    )
    parser.add_argument("--reason", metavar="TEXT", help="why (for the commit message and PR body)")
    change_arguments(parser)
    parser.add_argument("--force", action="store_true", help="skip the promotion-order check (needs --reason)")
    parser.add_argument("--end-canary", action="store_true", help="end a running canary of another version")
    parser.add_argument("--with-canary", action="store_true", help="the --from environment's canary goes along")
    parser.add_argument(
        "--set-default", action="store_true", help="first environment only: move the top-level pin instead"
    )
    parser.add_argument(
        "--require-tests",
        action="store_true",
        help="refuse unless the smoke Job of the version in --from ENV completed (reads the cluster)",
    )
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help="with --require-tests: default $KUBECONFIG, else ~/.kube/config"
    )
    parser.add_argument(
        "--context", metavar="NAME", help="with --require-tests: the kubeconfig context (default: current)"
    )


def write_pr_body(args: argparse.Namespace, directory: Path, result: PromoteResult) -> None:
    """The pull request text; on --dry-run it is printed, not written (a dry run writes nothing)."""
    if args.pr_body:
        from mlgitops.delivery.promotion.promote import pr_body

        if args.dry_run:
            sys.stdout.write(pr_body(result))
            return
        try:
            (directory / args.pr_body).write_text(pr_body(result), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.pr_body}: cannot write the PR body: {exc.strerror}") from None


def _run(args: argparse.Namespace) -> int:
    from mlgitops.delivery.promotion.promote import Pin, PromoteRequest, SmokeGate, promote

    sources = [args.from_env, args.version, args.alias, args.registry_version]
    if sum(source is not None for source in sources) != 1:
        raise UsageError(
            "give exactly one source: --from ENV, --version V with --storage-uri URI, --alias ALIAS or "
            "--registry-version V"
        )
    if args.version is not None and not args.storage_uri:
        raise UsageError("--version needs --storage-uri")
    if args.registered_model is not None and args.alias is None and args.registry_version is None:
        raise UsageError("--registered-model goes with --alias or --registry-version")
    if args.require_tests and args.from_env is None:
        raise UsageError("--require-tests needs --from ENV: the environment whose smoke Job must have passed")
    if (args.kubeconfig is not None or args.context is not None) and not args.require_tests:
        raise UsageError("--kubeconfig and --context go with --require-tests")
    registry = None
    if args.alias is not None or args.registry_version is not None:
        from mlgitops.delivery.registry.pin import RegistryQuery

        registry = RegistryQuery(args.alias, args.registry_version, args.registered_model)
    request = PromoteRequest(
        model=args.model,
        to_env=args.to,
        from_env=args.from_env,
        pin=Pin(args.version, args.storage_uri, args.registry) if args.version is not None else None,
        reason=args.reason,
        dry_run=args.dry_run,
        render=not args.no_render,
        force=args.force,
        end_canary=args.end_canary,
        set_default=args.set_default,
        with_canary=args.with_canary,
        registry=registry,
        require_tests=SmokeGate(args.kubeconfig, args.context) if args.require_tests else None,
    )
    directory = start(args)
    result = promote(directory, request)
    sys.stdout.write(result.diff)
    if result.registry is not None:
        found = result.registry
        print(
            f"registry: {found.registered_model}{registry.shown if registry else ''} is {found.reference} "
            f"(run {found.run_id or '-'}); gates hold: {len(found.evidence)}",
            file=sys.stderr,
        )
    if result.tests:
        print(result.tests, file=sys.stderr)
    write_pr_body(args, directory, result)
    print(result.summary + (" (dry run: nothing written)" if args.dry_run else ""), file=sys.stderr)
    if result.rendered:
        print(f"rendered {len(result.rendered)} changed file(s)", file=sys.stderr)
    return 0


COMMAND = Command(
    name="promote",
    summary="pin a model version in an environment as a reviewable change",
    description="Pin a model version in an environment (environments.ENV.model of models/MODEL.yaml), editing only "
    "the pin's lines, then render. A version enters an environment only when the previous one runs it. "
    "--alias / --registry-version read the MLflow registry (registry.uri or MLFLOW_TRACKING_URI, token from "
    "MLFLOW_TRACKING_TOKEN) and check training.gates against the run's metrics. --require-tests reads the "
    "cluster: the smoke Job of the --from environment's version must have completed.",
    example="mlgitops promote fraud-detector --to prod --from staging --reason 'auc 0.95 over two weeks'",
    exit_codes="0 promoted (or nothing to change); 1 refused (order, canary, registry, a gate, smoke tests) or the "
    "result would be invalid: nothing written; 2 usage error, or the cluster cannot be read",
    arguments=_arguments,
    handler=_run,
)
