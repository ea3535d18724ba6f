"""`mlgitops cmp generate|parameters`: the Argo CD config management plugin's commands, run by the sidecar."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlgitops.cli.command import Command, internal_error, start


def _run(args: argparse.Namespace) -> int:
    """Every failure is one line on stderr (Argo CD shows it as the error)."""
    from mlgitops.gitops import cmp

    if args.cmp_command == "serve":
        return _serve(args)
    try:
        if args.cmp_command == "parameters":
            import json

            print(json.dumps(cmp.parameters(start(args), os.environ), sort_keys=True))
            return 0
        result = cmp.generate(start(args), os.environ)
    except cmp.CmpError:
        raise
    except Exception as exc:
        if args.debug:
            raise
        raise cmp.CmpError(internal_error(exc)) from None
    if result.warnings:
        from mlgitops.util.textsafe import printable

        for warning in result.warnings:
            print(printable(f"warning: {warning}"), file=sys.stderr)
    sys.stdout.write(result.stream)
    what = f"environment {result.environment!r}" + (f", model {result.model!r}" if result.model else "")
    print(f"rendered {what}", file=sys.stderr)
    return 0


def _serve(args: argparse.Namespace) -> int:
    """Start the warm server; with --then, replace this process with PROGRAM whether or not it started (the
    plugin works without it, only slower)."""
    from mlgitops.cli import warm

    then: list[str] = args.then or []
    if args.then is not None and not then:
        print("mlgitops: cmp serve --then needs a program", file=sys.stderr)
        return 2
    path = args.socket or os.environ.get(warm.SOCKET_VARIABLE)
    code = _start_server(warm, path, args.run_command_line, background=args.background or bool(then))
    if then:
        sys.stderr.flush()
        os.execvp(then[0], then)
    return code


def _start_server(warm: Any, path: str | None, run: Callable[[list[str]], int], *, background: bool) -> int:
    if not path:
        print(f"mlgitops: cmp serve needs --socket PATH or ${warm.SOCKET_VARIABLE}", file=sys.stderr)
        return 2
    warm.preload()
    try:
        server = warm.listen(Path(path))
    except warm.ServeError as exc:
        print(f"mlgitops: cmp serve: {exc}; cmp generate runs without it", file=sys.stderr)
        return 1
    key = warm.code_key()
    if background:
        if os.fork():
            server.close()
            print(f"mlgitops: serving cmp generate on {path}", file=sys.stderr)
            return 0
        os.setsid()  # out of the starter's process group and session
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
    warm.serve(server, key, run)
    return 0


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--socket", metavar="PATH", help="the Unix socket (default: $MLGITOPS_CMP_SERVER)")
    parser.add_argument("--background", action="store_true", help="return once listening; serve in the background")
    parser.add_argument(
        "--then",
        nargs=argparse.REMAINDER,
        metavar="PROGRAM",
        help="then run PROGRAM [ARGS...] in this process (the sidecar: argocd-cmp-server); implies --background",
    )


COMMAND = Command(
    name="cmp",
    summary="Argo CD config management plugin commands (run by the sidecar)",
    description="The Argo CD config management plugin's commands, run by the sidecar; settings come from "
    "PARAM_*, ARGOCD_ENV_* and ARGOCD_APP_* variables.",
    example="ARGOCD_ENV_ENVIRONMENT=staging mlgitops cmp generate",
    exit_codes="0 printed; 1 a spec or render problem (one line on stderr, shown by Argo CD); 2 a bad setting",
    handler=_run,
    dest="cmp_command",
    subcommands=(
        Command(
            name="generate",
            summary="print an environment's manifests (settings from PARAM_*, ARGOCD_ENV_*, ...)",
            description="Print one environment's manifests (and with PARAM_MODEL one model's) for Argo CD; the "
            "repository must hold the rendered files as committed.",
            example="ARGOCD_ENV_ENVIRONMENT=prod PARAM_MODEL=fraud-detector mlgitops cmp generate",
            exit_codes="0 printed; 1 a spec or render problem (one line on stderr); 2 a bad setting",
        ),
        Command(
            name="parameters",
            summary="print the parameter announcements (JSON) for the Argo CD UI",
            description="Print the parameter announcements (JSON) the Argo CD UI shows for the plugin.",
            example="mlgitops cmp parameters",
            exit_codes="0 printed; 1 the project cannot be read",
        ),
        Command(
            name="serve",
            summary="keep mlgitops imported and answer `cmp generate` from forks of it (the sidecar starts it)",
            description="Listen on a Unix socket (in a directory only this user may enter) and run each `cmp "
            "generate` whose $MLGITOPS_CMP_SERVER names it in a fork of this process, which has imported "
            "mlgitops already; without a server, `cmp generate` runs as before.",
            example="MLGITOPS_CMP_SERVER=/tmp/mlgitops-cmp/generate.sock mlgitops cmp serve --then "
            "/var/run/argocd/argocd-cmp-server",
            exit_codes="0 serving (with --background: listening); 1 the socket cannot be made; 2 no socket named "
            "(with --then, PROGRAM's own)",
            arguments=_serve_arguments,
        ),
    ),
)
