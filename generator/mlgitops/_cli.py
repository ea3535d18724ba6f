"""The command line: parse arguments, call one library function, print its result.

Commands import their modules only when they run, so `mlgitops cmp generate` (the Argo CD hot path)
loads nothing it does not use. User errors are one line each on stderr and a non-zero exit, never a
traceback (`--debug` shows one).
"""

from __future__ import annotations

import argparse
import gc
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.errors import MlgitopsError, UsageError

PIP_SPEC_HELP = (
    "the pip requirement that installs mlgitops there (default: this mlgitops: mlgitops==VERSION, or "
    "git+URL@COMMIT when it was installed from Git)"
)

if TYPE_CHECKING:
    from mlgitops.loader import Workspace
    from mlgitops.promotion.promote import PromoteResult

Handler = Callable[[argparse.Namespace], int]


def _workspace(args: argparse.Namespace, only_model: str | None = None) -> Workspace:
    from mlgitops.loader import find_root, load_workspace

    start = Path(args.directory) if args.directory else Path.cwd()
    workspace = load_workspace(find_root(start), only_model=only_model)
    # The specs live until the command ends: frozen, the collector stops walking them again and again
    # (at 2000 models each full collection took ~0.2 s); __main__.main unfreezes when the command returns.
    gc.freeze()
    return workspace


def _cmd_init(args: argparse.Namespace) -> int:
    from mlgitops.scaffold import GUIDE_FILE, InitOptions, init_project

    base = Path(args.directory) if args.directory else Path.cwd()
    options = InitOptions(
        base / args.path,
        name=args.name,
        repo_url=args.repo_url,
        ci=args.ci,
        force=args.force,
        image=args.image,
        revision=args.revision,
        pip_spec=args.pip_spec,
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
    if result.guide == GUIDE_FILE:
        print(f"the project's guide is in {GUIDE_FILE} (README.md exists and was left alone)")
    if result.repo_url_from == "origin":
        print("repoURL is the origin remote's URL; revision " + _revision_note(result.revision, result.revision_from))
    elif result.repo_url_from == "placeholder":
        print(
            "repoURL is a placeholder: set it in mlgitops.yaml (or pass --repo-url, or add an origin remote "
            "first); revision " + _revision_note(result.revision, result.revision_from)
        )
    else:
        print("revision " + _revision_note(result.revision, result.revision_from))
    if not result.plugin_mode:
        print(
            "argocd.mode is rendered (a stock Argo CD deploys overlays/<env>); for the mlgitops plugin, build the "
            "image (mlgitops sidecar dockerfile) and set argocd.image and argocd.mode: plugin in mlgitops.yaml"
        )
    cd = "" if Path(shown) == Path(".") else f"cd {shlex.quote(shown)} && "
    if _inside_git(options.directory):
        print(f"next: {cd}git add -A && git commit -m 'mlgitops init'")
    else:
        print(f"next: {cd}git init && git add -A && git commit -m 'mlgitops init'")
    return 0


def _revision_note(revision: str, source: str) -> str:
    where = {"branch": "(the current branch)", "--revision": "(--revision)"}.get(
        source, "(the default; not in a Git repository with a branch yet)"
    )
    return f"{revision} {where}: Argo CD and Flux deploy from it"


def _inside_git(directory: Path) -> bool:
    from mlgitops.scaffold import current_branch

    return (directory / ".git").exists() or current_branch(directory) is not None


def _cmd_render(args: argparse.Namespace) -> int:
    if args.check:
        from mlgitops import tree

        status = tree.render(_workspace(args), check=True)
    else:  # the render cache: only changed models are loaded and rendered (rendercache/render.py)
        from mlgitops.projectroot import find_root
        from mlgitops.rendercache import render_project

        status = render_project(find_root(Path(args.directory) if args.directory else Path.cwd()))
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
    else:
        print("up to date: no generated file changed", file=sys.stderr)
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from mlgitops.build import build
    from mlgitops.journal import refuse_leftovers

    workspace = _workspace(args, only_model=args.model)
    refuse_leftovers(workspace.root, "build")
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
    from mlgitops.errors import SpecError
    from mlgitops.schemas.crd import project_crd_dir

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
    from mlgitops.pipspec import check_pip_spec
    from mlgitops.sidecar import dockerfile

    if args.pip_spec is not None and (problem := check_pip_spec(args.pip_spec)) is not None:
        raise UsageError(f"--pip-spec {args.pip_spec!r}: {problem}")
    sys.stdout.write(dockerfile(args.pip_spec))
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    from mlgitops.schema import json_schema

    print(json.dumps(json_schema(args.kind), indent=2, sort_keys=True))
    return 0


def _write_pr_body(args: argparse.Namespace, start: Path, result: PromoteResult) -> None:
    """The pull request text; on --dry-run it is printed, not written (a dry run writes nothing)."""
    if args.pr_body:
        from mlgitops.promotion.promote import pr_body

        if args.dry_run:
            sys.stdout.write(pr_body(result))
            return
        try:
            (start / args.pr_body).write_text(pr_body(result), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.pr_body}: cannot write the PR body: {exc.strerror}") from None


def _cmd_promote(args: argparse.Namespace) -> int:
    from mlgitops.promotion.promote import Pin, PromoteRequest, promote

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
    registry = None
    if args.alias is not None or args.registry_version is not None:
        from mlgitops.registry import RegistryQuery

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
    )
    start = Path(args.directory) if args.directory else Path.cwd()
    result = promote(start, request)
    sys.stdout.write(result.diff)
    if result.registry is not None:
        found = result.registry
        print(
            f"registry: {found.registered_model}{registry.shown if registry else ''} is {found.reference} "
            f"(run {found.run_id or '-'}); gates hold: {len(found.evidence)}",
            file=sys.stderr,
        )
    _write_pr_body(args, start, result)
    print(result.summary + (" (dry run: nothing written)" if args.dry_run else ""), file=sys.stderr)
    if result.rendered:
        print(f"rendered {len(result.rendered)} changed file(s)", file=sys.stderr)
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    from mlgitops.promotion.history import format_history, history

    start = Path(args.directory) if args.directory else Path.cwd()
    result = history(start, args.model)
    if args.env is not None and args.env not in {d.environment for d in result.deployments}:
        raise UsageError(f"{args.model} has no history in environment {args.env!r}")
    sys.stdout.write(format_history(result, args.env, args.format))
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from mlgitops.status import output
    from mlgitops.status.live import connect
    from mlgitops.status.report import collect

    workspace = _workspace(args)
    environment = args.env
    names = workspace.project.environment_names
    if environment is None:
        if len(names) != 1:
            raise UsageError(f"choose an environment with --env ({', '.join(names)})")
        environment = names[0]
    if args.model is not None:
        workspace.model(args.model)  # an unknown model is a usage error, before any cluster call
    cluster = connect(args.kubeconfig, args.context)
    report = collect(workspace, environment, cluster, args.model)
    if args.format == "json":
        sys.stdout.write(output.as_json(report))
    elif args.format == "markdown":
        sys.stdout.write(output.markdown(report))
    else:
        sys.stdout.write(output.text(report, detailed=args.model is not None))
    return 0 if report.healthy else 1


def _cmd_rollback(args: argparse.Namespace) -> int:
    from mlgitops.promotion.history import history, rollback_target
    from mlgitops.promotion.promote import Pin, PromoteRequest, promote

    start = Path(args.directory) if args.directory else Path.cwd()
    target = rollback_target(history(start, args.model), args.env, args.to_version)
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
    result = promote(start, request)
    sys.stdout.write(result.diff)
    _write_pr_body(args, start, result)
    print(f"{result.summary} (rollback to the version of {target.commit[:7]})", file=sys.stderr)
    return 0


# Each command's `--help`: what it does, an example, and its exit codes (CI scripts branch on them).
_HELP: dict[str, tuple[str, str, str]] = {
    "init": (
        "Scaffold a working project: mlgitops.yaml with dev, staging and prod, an example model, the "
        "platform objects its training needs, CI, and the rendered files.",
        "mlgitops init my-models --repo-url https://github.com/acme/my-models.git",
        "0 created; 1 the project could not be written (the message says why); 2 usage error",
    ),
    "render": (
        "Write base/, overlays/ and plugins/ from mlgitops.yaml and models/*.yaml. Files are replaced only "
        "when their content changes; with --check nothing is written.",
        "mlgitops render\n  mlgitops render -C path/to/repo --check",
        "0 rendered or up to date; 1 a spec problem (file:line:col on stderr), or with --check generated "
        "files are stale; 2 usage error",
    ),
    "build": (
        "Print an environment's final manifests, exactly as Argo CD or Flux apply them (kustomize build "
        "of overlays/ENV, rendered in memory: the working tree is not changed).",
        "mlgitops build --env staging --model fraud-detector | kubectl diff -f -",
        "0 printed; 1 a spec problem or kustomize failed; 2 usage error (unknown environment or model)",
    ),
    "validate": (
        "Check the specs, then every rendered object of every environment against the Kubernetes and "
        "custom resource schemas and the project's policies. Findings sharing one spec line are shown once, "
        "with a count.",
        "mlgitops validate --crds crds/ --format github",
        "0 no errors (warnings allowed unless --strict); 1 errors found; 2 usage error",
    ),
    "cmp": (
        "The Argo CD config management plugin's commands, run by the sidecar; settings come from "
        "PARAM_*, ARGOCD_ENV_* and ARGOCD_APP_* variables.",
        "ARGOCD_ENV_ENVIRONMENT=staging mlgitops cmp generate",
        "0 printed; 1 a spec or render problem (one line on stderr, shown by Argo CD); 2 a bad setting",
    ),
    "cmp generate": (
        "Print one environment's manifests (and with PARAM_MODEL one model's) for Argo CD; the repository "
        "must hold the rendered files as committed.",
        "ARGOCD_ENV_ENVIRONMENT=prod PARAM_MODEL=fraud-detector mlgitops cmp generate",
        "0 printed; 1 a spec or render problem (one line on stderr); 2 a bad setting",
    ),
    "cmp parameters": (
        "Print the parameter announcements (JSON) the Argo CD UI shows for the plugin.",
        "mlgitops cmp parameters",
        "0 printed; 1 the project cannot be read",
    ),
    "sidecar": (
        "The Argo CD config management plugin sidecar image for this mlgitops version.",
        "mlgitops sidecar dockerfile | docker build -t ghcr.io/acme/mlgitops-cmp:VERSION -",
        "0 printed; 2 usage error",
    ),
    "sidecar dockerfile": (
        "Print a Dockerfile that installs exactly this mlgitops version into the plugin sidecar image "
        "(no checkout needed); build it, push it and set argocd.image to the reference.",
        "mlgitops sidecar dockerfile | docker build -t ghcr.io/acme/mlgitops-cmp:VERSION -",
        "0 printed; 2 usage error",
    ),
    "schema": (
        "Print the JSON Schema of mlgitops.yaml and models/*.yaml, for editors (YAML language server).",
        "mlgitops schema --kind model > .vscode/mlgitops-model.schema.json",
        "0 printed; 2 usage error",
    ),
    "diff": (
        "Compare the rendered manifests of two Git revisions, per environment and object; renames and "
        "version-label-only changes are shown as such.",
        "mlgitops diff --base origin/main --format markdown > diff.md",
        "0 no changes; 1 changes; 2 any error (CI reads 1 as \"there are changes\")",
    ),
    "promote": (
        "Pin a model version in an environment (environments.ENV.model of models/MODEL.yaml), editing only "
        "the pin's lines, then render. A version enters an environment only when the previous one runs it. "
        "--alias / --registry-version read the MLflow registry (registry.uri or MLFLOW_TRACKING_URI, token from "
        "MLFLOW_TRACKING_TOKEN) and check training.gates against the run's metrics.",
        "mlgitops promote fraud-detector --to prod --from staging --reason 'auc 0.95 over two weeks'",
        "0 promoted (or nothing to change); 1 refused (order, canary, registry, a gate) or the result would be "
        "invalid: nothing written; 2 usage error",
    ),
    "history": (
        "Which version of a model each environment ran, since when, and the commit and author that pinned "
        "it: the spec resolved at every commit that changed models/MODEL.yaml or mlgitops.yaml.",
        "mlgitops history fraud-detector --env prod --format json",
        "0 printed; 1 Git or the spec could not be read; 2 usage error (unknown model or environment)",
    ),
    "status": (
        "What runs where, per model: the version that serves (and the one Git pins), readiness, the "
        "traffic split, the last training run and its gates, every object that differs from the render "
        "(server-side apply dry run; secrets masked), and the Git revision Flux or Argo CD last applied. "
        "Reads only: nothing is written to the cluster.",
        "mlgitops status --env prod --format markdown",
        "0 every model ready and no drift; 1 drift or not ready; 2 error (no cluster, no permission, bad "
        "kubeconfig, no answer in time)",
    ),
    "rollback": (
        "Pin an environment back to the version it ran before (from history), as a promotion without the "
        "order check; a running canary ends. The reason is required.",
        "mlgitops rollback fraud-detector --env prod --reason 'p95 latency regression'",
        "0 rolled back; 1 nothing to roll back to, or the result would be invalid: nothing written; "
        "2 usage error",
    ),
}


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    common: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    import textwrap

    description, example, exit_codes = _HELP[name]
    codes = "\n  ".join(exit_codes.split("; "))
    return commands.add_parser(
        name.rpartition(" ")[2],
        help=summary,
        description=textwrap.fill(description, 100),
        epilog=f"example:\n  {example}\n\nexit codes:\n  {codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgitops",
        description="GitOps for machine learning: render model specs into Kustomize overlays and Argo manifests.",
    )
    parser.add_argument("-C", dest="directory", metavar="DIR", help="run as if started in DIR")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # `-C DIR` also after the command (`mlgitops render -C path`); SUPPRESS keeps one given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-C", dest="directory", metavar="DIR", default=argparse.SUPPRESS, help="run as if started in DIR"
    )

    init = _command(commands, "init", "scaffold a working project (example model, environments, CI)", common)
    init.add_argument("path", nargs="?", default=".", metavar="DIR", help="where to create it (default: .)")
    init.add_argument("--name", help="project name (default: the directory's name)")
    init.add_argument(
        "--repo-url",
        help="the Git URL Argo CD and Flux read (default: the origin remote's URL, else a placeholder to edit)",
    )
    init.add_argument("--pip-spec", metavar="SPEC", help=PIP_SPEC_HELP)
    init.add_argument(
        "--revision",
        help="the branch Argo CD and Flux deploy from (default: the current branch, else main)",
    )
    init.add_argument(
        "--ci",
        choices=["github", "gitlab", "jenkins-x", "none"],
        default="github",
        help="which CI definition to add (default: github; jenkins-x: Lighthouse triggers and Tekton pipelines)",
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

    render = _command(commands, "render", "write base/, overlays/ and plugins/ from the specs", common)
    render.add_argument("--check", action="store_true", help="write nothing; exit 1 listing stale files")
    render.set_defaults(handler=_cmd_render)

    build = _command(commands, "build", "print an environment's final manifests (kustomize output)", common)
    build.add_argument("--env", required=True, help="environment name from mlgitops.yaml")
    build.add_argument("--model", help="only this model's objects")
    build.set_defaults(handler=_cmd_build)

    validate = _command(
        commands, "validate", "check the specs, then every rendered object against schemas and policies", common
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

    cmp = _command(commands, "cmp", "Argo CD config management plugin commands (run by the sidecar)", common)
    cmp_commands = cmp.add_subparsers(dest="cmp_command", metavar="CMP_COMMAND", required=True)
    generate_summary = "print an environment's manifests (settings from PARAM_*, ARGOCD_ENV_*, ...)"
    _command(cmp_commands, "cmp generate", generate_summary, common)
    _command(cmp_commands, "cmp parameters", "print the parameter announcements (JSON) for the Argo CD UI", common)
    cmp.set_defaults(handler=_cmd_cmp)

    sidecar = _command(commands, "sidecar", "the Argo CD plugin sidecar image for this mlgitops version", common)
    sidecar_commands = sidecar.add_subparsers(dest="sidecar_command", metavar="SIDECAR_COMMAND", required=True)
    sidecar_dockerfile = _command(
        sidecar_commands,
        "sidecar dockerfile",
        "print a Dockerfile installing this version (mlgitops sidecar dockerfile | docker build -t REF -)",
        common,
    )
    sidecar_dockerfile.add_argument("--pip-spec", metavar="SPEC", help=PIP_SPEC_HELP)
    sidecar.set_defaults(handler=_cmd_sidecar)

    schema = _command(commands, "schema", "print the JSON Schema of the spec files (for editors)", common)
    schema.add_argument("--kind", choices=["all", "model", "project"], default="all")
    schema.set_defaults(handler=_cmd_schema)

    diff_summary = "compare the rendered manifests of two Git revisions (exit 0 same, 1 changed, 2 error)"
    diff = _command(commands, "diff", diff_summary, common)
    diff.add_argument("--base", metavar="REF", help="base revision (default: merge-base of HEAD and main)")
    diff.add_argument("--head", metavar="REF", help="head revision (default: the working tree)")
    diff.add_argument("--env", action="extend", nargs="+", metavar="ENV", help="only these environments (repeatable)")
    diff.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    diff.set_defaults(handler=_cmd_diff)

    promote = _command(commands, "promote", "pin a model version in an environment as a reviewable change", common)
    promote.add_argument("model", metavar="MODEL")
    promote.add_argument("--to", required=True, metavar="ENV", help="the environment to pin")
    promote.add_argument("--from", dest="from_env", metavar="ENV", help="take the pin this environment resolves to")
    promote.add_argument("--version", metavar="V", help="an explicit version (with --storage-uri)")
    promote.add_argument("--storage-uri", metavar="URI", help="where the explicit version is stored")
    promote.add_argument("--registry", metavar="URI", help="the explicit version's registry URI (models:/...)")
    promote.add_argument("--alias", metavar="ALIAS", help="the registry version this alias names (MLflow)")
    promote.add_argument("--registry-version", metavar="V", help="a version of the registered model (MLflow)")
    promote.add_argument(
        "--registered-model",
        metavar="NAME",
        help="the registered model (default: the name in model.registry, else the model's name)",
    )
    promote.add_argument("--reason", metavar="TEXT", help="why (for the commit message and PR body)")
    promote.add_argument("--dry-run", action="store_true", help="print the change, write nothing")
    promote.add_argument("--no-render", action="store_true", help="edit the spec only")
    promote.add_argument("--pr-body", metavar="FILE", help="write the pull request text (markdown) to FILE")
    promote.add_argument("--force", action="store_true", help="skip the promotion-order check (needs --reason)")
    promote.add_argument("--end-canary", action="store_true", help="end a running canary of another version")
    promote.add_argument("--with-canary", action="store_true", help="the --from environment's canary goes along")
    promote.add_argument(
        "--set-default", action="store_true", help="first environment only: move the top-level pin instead"
    )
    promote.set_defaults(handler=_cmd_promote)

    history = _command(commands, "history", "which version each environment ran, from the Git log", common)
    history.add_argument("model", metavar="MODEL")
    history.add_argument("--env", metavar="ENV", help="only this environment")
    history.add_argument("--format", choices=["text", "json"], default="text")
    history.set_defaults(handler=_cmd_history)

    status = _command(commands, "status", "per model: live version, readiness, traffic, training, drift", common)
    status.add_argument("--env", metavar="ENV", help="the environment (default: the only one)")
    status.add_argument("--model", metavar="M", help="only this model, with the details of its drift")
    status.add_argument("--kubeconfig", metavar="PATH", help="default: $KUBECONFIG, else ~/.kube/config")
    status.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current one)")
    status.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    status.set_defaults(handler=_cmd_status)

    rollback = _command(commands, "rollback", "pin an environment back to the version it ran before", common)
    rollback.add_argument("model", metavar="MODEL")
    rollback.add_argument("--env", required=True, metavar="ENV", help="the environment to roll back")
    rollback.add_argument("--to-version", metavar="V", help="a version the environment ran (default: the one before)")
    rollback.add_argument("--reason", required=True, metavar="TEXT", help="why (for the commit message and PR body)")
    rollback.add_argument("--dry-run", action="store_true", help="print the change, write nothing")
    rollback.add_argument("--no-render", action="store_true", help="edit the spec only")
    rollback.add_argument("--pr-body", metavar="FILE", help="write the pull request text (markdown) to FILE")
    rollback.set_defaults(handler=_cmd_rollback)
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
