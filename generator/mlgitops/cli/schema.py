"""`mlgitops schema`: the JSON Schema of the spec files, for editors."""

from __future__ import annotations

import argparse

from mlgitops.cli.command import Command


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kind", choices=["all", "model", "project", "graph"], default="all")


def _run(args: argparse.Namespace) -> int:
    import json

    from mlgitops.language.schema import json_schema

    print(json.dumps(json_schema(args.kind), indent=2, sort_keys=True))
    return 0


COMMAND = Command(
    name="schema",
    summary="print the JSON Schema of the spec files (for editors)",
    description="Print the JSON Schema of mlgitops.yaml, models/*.yaml and graphs/*.yaml, for editors (YAML "
    "language server).",
    example="mlgitops schema --kind model > .vscode/mlgitops-model.schema.json",
    exit_codes="0 printed; 2 usage error",
    arguments=_arguments,
    handler=_run,
)
