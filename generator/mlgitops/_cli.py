"""The command line: parse arguments, call one library function, print its result.

Commands import their modules only when they run, so `mlgitops cmp generate` (the Argo CD hot path)
loads nothing it does not use. User errors are one line each on stderr and a non-zero exit, never a
traceback (`--debug` shows one).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.errors import MlgitopsError

if TYPE_CHECKING:
    from mlgitops.loader import Workspace

Handler = Callable[[argparse.Namespace], int]


def _workspace(args: argparse.Namespace, only_model: str | None = None) -> Workspace:
    from mlgitops.loader import find_root, load_workspace

    start = Path(args.directory) if args.directory else Path.cwd()
    return load_workspace(find_root(start), only_model=only_model)


def _cmd_init(args: argparse.Namespace) -> int:
    from mlgitops.scaffold import InitOptions, init_project

    base = Path(args.directory) if args.directory else Path.cwd()
    options = InitOptions(
        base / args.path, name=args.name, repo_url=args.repo_url, ci=args.ci, force=args.force, image=args.image
    )
    result = init_project(options)
    shown = args.path if args.directory is None else str(options.directory)
    print(
        f"created project {result.name!r} in {shown}: {len(result.written)} starting file(s), "
        f"{len(result.rendered)} rendered file(s)"
    )
    for path in result.written:
        merged = result.merged.get(path)
        print(f"  merged     {path} ({merged} line(s) appended)" if merged else f"  added      {path}")
    for path in result.left_alone:
        print(f"  left alone {path} (it exists)")
    if not result.plugin_mode:
        print(
            "argocd.mode is rendered (a stock Argo CD deploys overlays/<env>); for the mlgitops plugin, build the "
            "image (mlgitops sidecar dockerfile) and set argocd.image and argocd.mode: plugin in mlgitops.yaml"
        )
    if (options.directory / ".git").exists():
        print(f"next: cd {shlex.quote(shown)} && git add -A && git commit -m 'mlgitops init'")
    else:
        print(f"next: cd {shlex.quote(shown)} && git init && git add -A && git commit -m 'mlgitops init'")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from mlgitops import tree

    workspace = _workspace(args)
    status = tree.render(workspace, check=args.check)
    if status.recovered:
        print(status.recovered, file=sys.stderr)
    if args.check:
        if status.stale:
            from mlgitops.textsafe import printable

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
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from mlgitops.build import build

    workspace = _workspace(args, only_model=args.model)
    sys.stdout.write(build(workspace, args.env, args.model))
    return 0


def _cmd_cmp(args: argparse.Namespace) -> int:
    """Argo CD plugin commands: every failure is one line on stderr (Argo CD shows it as the error)."""
    from mlgitops import cmp

    start = Path(args.directory) if args.directory else Path.cwd()
    try:
        if args.cmp_command == "parameters":
            import json

            print(json.dumps(cmp.parameters(start, os.environ), sort_keys=True))
            return 0
        result = cmp.generate(start, os.environ)
    except cmp.CmpError:
        raise
    except Exception as exc:
        if args.debug:
            raise
        raise cmp.CmpError(_internal_error(exc)) from None
    if result.warnings:
        from mlgitops.textsafe import printable

        for warning in result.warnings:
            print(printable(f"warning: {warning}"), file=sys.stderr)
    sys.stdout.write(result.stream)
    what = f"environment {result.environment!r}" + (f", model {result.model!r}" if result.model else "")
    print(f"rendered {what}", file=sys.stderr)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from mlgitops import validate
    from mlgitops.crdschema import project_crd_dir
    from mlgitops.errors import SpecError

    base = Path(args.directory) if args.directory else Path.cwd()
    try:
        workspace = _workspace(args)
        crd_dirs = tuple(base / d for d in args.crds)
        default_crds = project_crd_dir(workspace.root)
        if not crd_dirs and default_crds is not None:
            crd_dirs = (default_crds,)
        options = validate.ValidateOptions(
            crds=crd_dirs, kube_version=args.kube_version, strict=args.strict, base=args.base
        )
        report = validate.validate_workspace(workspace, options)
    except SpecError as exc:
        if args.format == "json":
            sys.stdout.write(validate.spec_problems_json(exc.problems))
        elif args.format == "github":
            sys.stdout.writelines(validate.spec_problem_annotations(exc.problems, base))
        raise
    from mlgitops.textsafe import printable

    for note in report.notes:
        print(printable(note), file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(validate.format_json(report))
    elif args.format == "github":
        sys.stdout.write(validate.format_github(report, workspace.root))
    else:
        sys.stdout.write(validate.format_text(report))
    return report.exit_code


def _internal_error(exc: BaseException) -> str:
    """One line for an unexpected exception (its traceback is what `--debug` is for)."""
    from mlgitops.textsafe import printable

    detail = " ".join(str(exc).split())
    return printable(f"internal error: {type(exc).__name__}{': ' + detail if detail else ''}")


def _cmd_diff(args: argparse.Namespace) -> int:
    """Every failure exits 2: CI reads 1 as "there are changes"."""
    from mlgitops.diff import DiffError, run

    start = Path(args.directory) if args.directory else Path.cwd()
    try:
        output, changed = run(start, base=args.base, head=args.head, envs=args.env, fmt=args.format)
    except (MlgitopsError, KeyboardInterrupt):
        raise
    except Exception as exc:  # RecursionError, MemoryError, OSError included
        if args.debug:
            raise
        raise DiffError(_internal_error(exc)) from None
    sys.stdout.write(output)
    return 1 if changed else 0


def _cmd_sidecar(args: argparse.Namespace) -> int:
    from mlgitops.sidecar import dockerfile

    sys.stdout.write(dockerfile())
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    from mlgitops.schema import json_schema

    print(json.dumps(json_schema(args.kind), indent=2, sort_keys=True))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgitops",
        description="GitOps for machine learning: render model specs into Kustomize overlays and Argo manifests.",
    )
    parser.add_argument("-C", dest="directory", metavar="DIR", help="run as if started in DIR")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = commands.add_parser("init", help="scaffold a working project (example model, environments, CI)")
    init.add_argument("path", nargs="?", default=".", metavar="DIR", help="where to create it (default: .)")
    init.add_argument("--name", help="project name (default: the directory's name)")
    init.add_argument("--repo-url", help="the Git URL Argo CD and Flux read (default: a placeholder to edit)")
    init.add_argument(
        "--ci",
        choices=["github", "gitlab", "none"],
        default="github",
        help="which CI definition to add (default: github)",
    )
    init.add_argument(
        "--force", action="store_true", help="overwrite existing starting files (default: keep them, merge .gitignore)"
    )
    init.add_argument(
        "--image",
        metavar="REF",
        help="the Argo CD plugin sidecar image you pushed (mlgitops sidecar dockerfile); sets argocd.mode: plugin "
        "(default: rendered)",
    )
    init.set_defaults(handler=_cmd_init)

    render = commands.add_parser("render", help="write base/, overlays/ and plugins/ from the specs")
    render.add_argument("--check", action="store_true", help="write nothing; exit 1 listing stale files")
    render.set_defaults(handler=_cmd_render)

    build = commands.add_parser("build", help="print an environment's final manifests (kustomize output)")
    build.add_argument("--env", required=True, help="environment name from mlgitops.yaml")
    build.add_argument("--model", help="only this model's objects")
    build.set_defaults(handler=_cmd_build)

    validate = commands.add_parser(
        "validate", help="check the specs, then every rendered object against schemas and policies"
    )
    validate.add_argument(
        "--crds",
        action="append",
        default=[],
        metavar="DIR",
        help="directory of CustomResourceDefinition manifests for custom resources (repeatable; "
        "default: the project's crds/ when it holds files)",
    )
    validate.add_argument(
        "--kube-version", metavar="X.Y", help="Kubernetes release for built-in kinds (default: newest known)"
    )
    validate.add_argument("--strict", action="store_true", help="kinds without a schema and warnings are errors")
    validate.add_argument(
        "--format", choices=["text", "json", "github"], default="text", help="text, json or GitHub annotations"
    )
    validate.add_argument(
        "--base",
        metavar="REF",
        help="the revision deployed now, to check changes KServe refuses (default: diff's merge-base, in Git)",
    )
    validate.set_defaults(handler=_cmd_validate)

    cmp = commands.add_parser("cmp", help="Argo CD config management plugin commands (run by the sidecar)")
    cmp_commands = cmp.add_subparsers(dest="cmp_command", metavar="CMP_COMMAND", required=True)
    cmp_commands.add_parser(
        "generate", help="print an environment's manifests (settings from PARAM_*, ARGOCD_ENV_*, ...)"
    )
    cmp_commands.add_parser("parameters", help="print the parameter announcements (JSON) for the Argo CD UI")
    cmp.set_defaults(handler=_cmd_cmp)

    sidecar = commands.add_parser("sidecar", help="the Argo CD plugin sidecar image for this mlgitops version")
    sidecar_commands = sidecar.add_subparsers(dest="sidecar_command", metavar="SIDECAR_COMMAND", required=True)
    sidecar_commands.add_parser(
        "dockerfile",
        help="print a Dockerfile installing this version (mlgitops sidecar dockerfile | docker build -t REF -)",
    )
    sidecar.set_defaults(handler=_cmd_sidecar)

    schema = commands.add_parser("schema", help="print the JSON Schema of the spec files (for editors)")
    schema.add_argument("--kind", choices=["all", "model", "project"], default="all")
    schema.set_defaults(handler=_cmd_schema)

    diff = commands.add_parser(
        "diff",
        help="compare the rendered manifests of two Git revisions (exit 0 same, 1 changed, 2 error)",
    )
    diff.add_argument("--base", metavar="REF", help="base revision (default: merge-base of HEAD and main)")
    diff.add_argument("--head", metavar="REF", help="head revision (default: the working tree)")
    diff.add_argument("--env", action="extend", nargs="+", metavar="ENV", help="only these environments (repeatable)")
    diff.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    diff.set_defaults(handler=_cmd_diff)
    return parser


def _version() -> str:
    from mlgitops import __version__

    return f"mlgitops {__version__}"


def run(argv: list[str]) -> int:
    from mlgitops.textsafe import printable

    parser = _parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except MlgitopsError as exc:
        if args.debug:
            raise
        for line in (str(exc) or type(exc).__name__).split("\n"):
            print(printable(line), file=sys.stderr)
        return exc.exit_code
    except (RecursionError, MemoryError) as exc:
        # The spec readers bound depth and size (mlgitops.limits), so this is a defect; still one line.
        if args.debug:
            raise
        print(f"mlgitops: input too large or too deeply nested to process ({type(exc).__name__})", file=sys.stderr)
        return 2 if args.command == "diff" else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
