"""`mlgitops status`: what runs where, read from a live cluster."""

from __future__ import annotations

import argparse
import sys

from mlgitops.cli.command import Command, workspace
from mlgitops.util.errors import UsageError


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", metavar="ENV", help="the environment (default: the only one)")
    parser.add_argument("--model", metavar="M", help="only this model, with the details of its drift")
    parser.add_argument("--kubeconfig", metavar="PATH", help="default: $KUBECONFIG, else ~/.kube/config")
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current one)")
    parser.add_argument("--format", choices=["text", "json", "markdown"], default="text")


def _run(args: argparse.Namespace) -> int:
    from mlgitops.delivery.status import output
    from mlgitops.delivery.status.live import connect
    from mlgitops.delivery.status.report import collect

    project = workspace(args)
    environment = args.env
    names = project.project.environment_names
    if environment is None:
        if len(names) != 1:
            raise UsageError(f"choose an environment with --env ({', '.join(names)})")
        environment = names[0]
    if args.model is not None:
        project.model(args.model)  # an unknown model is a usage error, before any cluster call
    cluster = connect(args.kubeconfig, args.context)
    report = collect(project, environment, cluster, args.model)
    if args.format == "json":
        sys.stdout.write(output.as_json(report))
    elif args.format == "markdown":
        sys.stdout.write(output.markdown(report))
    else:
        sys.stdout.write(output.text(report, detailed=args.model is not None))
    return 0 if report.healthy else 1


COMMAND = Command(
    name="status",
    summary="per model: live version, readiness, traffic, training, drift",
    description="What runs where, per model: the version that serves (and the one Git pins), readiness, the "
    "traffic split, the last training run and its gates, every object that differs from the render "
    "(server-side apply dry run; secrets masked), and the Git revision Flux or Argo CD last applied. "
    "Reads only: nothing is written to the cluster.",
    example="mlgitops status --env prod --format markdown",
    exit_codes="0 every model ready and no drift; 1 drift or not ready; 2 error (no cluster, no permission, bad "
    "kubeconfig, no answer in time)",
    arguments=_arguments,
    handler=_run,
)
