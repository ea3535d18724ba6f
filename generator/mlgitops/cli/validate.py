"""`mlgitops validate`: the specs, then every rendered object, against schemas and policies."""

from __future__ import annotations

import argparse
import sys

from mlgitops.cli.command import Command, start


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--crds",
        action="append",
        default=[],
        metavar="DIR",
        help="directory of CustomResourceDefinition manifests for custom resources (repeatable; "
        "default: the project's crds/ when it holds files)",
    )
    parser.add_argument(
        "--kube-version", metavar="X.Y", help="Kubernetes release for built-in kinds (default: newest known)"
    )
    parser.add_argument("--strict", action="store_true", help="kinds without a schema and warnings are errors")
    parser.add_argument(
        "--format", choices=["text", "json", "github"], default="text", help="text, json or GitHub annotations"
    )
    parser.add_argument(
        "--base",
        metavar="REF",
        help="the revision deployed now, to check changes KServe refuses (default: diff's merge-base, in Git)",
    )


def _run(args: argparse.Namespace) -> int:
    from mlgitops.checks.schemas.crd import project_crd_dir
    from mlgitops.language.loader import find_root
    from mlgitops.util.errors import SpecError
    from mlgitops.util.textsafe import printable
    from mlgitops.validate import output
    from mlgitops.validate.report import ValidateOptions
    from mlgitops.validate.workers import validate_project

    base = start(args)
    try:
        root = find_root(base)
        crd_dirs = tuple(base / d for d in args.crds)
        default_crds = project_crd_dir(root)
        if not crd_dirs and default_crds is not None:
            crd_dirs = (default_crds,)
        options = ValidateOptions(crds=crd_dirs, kube_version=args.kube_version, strict=args.strict, base=args.base)
        report = validate_project(root, options)
    except SpecError as exc:
        if args.format == "json":
            sys.stdout.write(output.spec_problems_json(exc.problems))
        elif args.format == "github":
            sys.stdout.writelines(output.spec_problem_annotations(exc.problems, base))
        raise
    for note in report.notes:
        print(printable(note), file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(output.format_json(report))
    elif args.format == "github":
        sys.stdout.write(output.format_github(report, root))
    else:
        sys.stdout.write(output.format_text(report))
    return report.exit_code


COMMAND = Command(
    name="validate",
    summary="check the specs, then every rendered object against schemas and policies",
    description="Check the specs, then every rendered object of every environment against the Kubernetes and "
    "custom resource schemas and the project's policies. Findings sharing one spec line are shown once, "
    "with a count.",
    example="mlgitops validate --crds crds/ --format github",
    exit_codes="0 no errors (warnings allowed unless --strict); 1 errors found; 2 usage error",
    arguments=_arguments,
    handler=_run,
)
