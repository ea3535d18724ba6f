"""`mlgitops render`: write the generated tree (through the render cache), or `--check` it."""

from __future__ import annotations

import argparse
import shlex
import sys

from mlgitops.cli.command import Command, start


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 listing stale files")


def _run(args: argparse.Namespace) -> int:
    from mlgitops.util.projectroot import find_root

    root = find_root(start(args))
    if args.check:
        from mlgitops.gitops import generate

        status = generate.render(root, check=True)
    else:  # the render cache: only changed models are loaded and rendered (rendercache/render.py)
        from mlgitops.gitops.rendercache.render import render_project

        status = render_project(root)
    if status.recovered:
        print(status.recovered, file=sys.stderr)
    if args.check:
        if status.stale:
            from mlgitops.util.textsafe import printable

            for path in status.stale:
                print(printable(path))
            fix = f"mlgitops -C {shlex.quote(args.directory)} render" if args.directory else "mlgitops render"
            print(
                f"{len(status.stale)} generated file(s) above do not match the specs; to fix, run `{fix}` "
                "and commit the result",
                file=sys.stderr,
            )
            return 1
        return 0
    if status.stale:
        print(f"rendered {len(status.stale)} changed file(s)", file=sys.stderr)
    else:
        print("up to date: no generated file changed", file=sys.stderr)
    return 0


COMMAND = Command(
    name="render",
    summary="write base/, overlays/ and plugins/ from the specs",
    description="Write base/, overlays/ and plugins/ from mlgitops.yaml and models/*.yaml. Files are replaced only "
    "when their content changes; with --check nothing is written.",
    example="mlgitops render\n  mlgitops render -C path/to/repo --check",
    exit_codes="0 rendered or up to date; 1 a spec problem (file:line:col on stderr), or with --check generated "
    "files are stale; 2 usage error",
    arguments=_arguments,
    handler=_run,
)
