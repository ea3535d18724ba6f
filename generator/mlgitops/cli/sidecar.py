"""`mlgitops sidecar dockerfile`: the Argo CD plugin sidecar image for this mlgitops version."""

from __future__ import annotations

import argparse
import sys

from mlgitops.cli.command import PIP_SPEC_HELP, Command
from mlgitops.util.errors import UsageError


def _dockerfile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pip-spec", metavar="SPEC", help=PIP_SPEC_HELP)


def _run(args: argparse.Namespace) -> int:
    from mlgitops.gitops.sidecar import dockerfile
    from mlgitops.util.pipspec import check_pip_spec

    if args.pip_spec is not None and (problem := check_pip_spec(args.pip_spec)) is not None:
        raise UsageError(f"--pip-spec {args.pip_spec!r}: {problem}")
    sys.stdout.write(dockerfile(args.pip_spec))
    return 0


_EXAMPLE = "mlgitops sidecar dockerfile | docker build -t ghcr.io/acme/mlgitops-cmp:VERSION -"

COMMAND = Command(
    name="sidecar",
    summary="the Argo CD plugin sidecar image for this mlgitops version",
    description="The Argo CD config management plugin sidecar image for this mlgitops version.",
    example=_EXAMPLE,
    exit_codes="0 printed; 2 usage error",
    handler=_run,
    dest="sidecar_command",
    subcommands=(
        Command(
            name="dockerfile",
            summary="print a Dockerfile installing this version (mlgitops sidecar dockerfile | docker build -t REF -)",
            description="Print a Dockerfile that installs exactly this mlgitops version into the plugin sidecar "
            "image (no checkout needed); build it, push it and set argocd.image to the reference.",
            example=_EXAMPLE,
            exit_codes="0 printed; 2 usage error",
            arguments=_dockerfile_arguments,
        ),
    ),
)
