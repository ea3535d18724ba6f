"""`mlgitops build`: an environment's final manifests, rendered in memory."""

from __future__ import annotations

import argparse
import sys

from mlgitops.cli.command import Command, workspace


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", required=True, help="environment name from mlgitops.yaml")
    parser.add_argument("--model", help="only this model's objects")


def _run(args: argparse.Namespace) -> int:
    from mlgitops.layout.build import build
    from mlgitops.layout.journal import refuse_leftovers

    project = workspace(args, only_model=args.model)
    refuse_leftovers(project.root, "build")
    sys.stdout.write(build(project, args.env, args.model))
    return 0


COMMAND = Command(
    name="build",
    summary="print an environment's final manifests (kustomize output)",
    description="Print an environment's final manifests, exactly as Argo CD or Flux apply them (kustomize build "
    "of overlays/ENV, rendered in memory: the working tree is not changed).",
    example="mlgitops build --env staging --model fraud-detector | kubectl diff -f -",
    exit_codes="0 printed; 1 a spec problem or kustomize failed; 2 usage error (unknown environment or model)",
    arguments=_arguments,
    handler=_run,
)
