"""`mlgitops init`: scaffold a working project."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from mlgitops.cli.command import PIP_SPEC_HELP, Command, start


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", default=".", metavar="DIR", help="where to create it (default: .)")
    parser.add_argument("--name", help="project name (default: the directory's name)")
    parser.add_argument(
        "--repo-url",
        help="the Git URL Argo CD and Flux read (default: the origin remote's URL, else a placeholder to edit)",
    )
    parser.add_argument("--pip-spec", metavar="SPEC", help=PIP_SPEC_HELP)
    parser.add_argument(
        "--revision",
        help="the branch Argo CD and Flux deploy from (default: the current branch, else main)",
    )
    parser.add_argument(
        "--ci",
        choices=["github", "gitlab", "jenkins-x", "none"],
        default="github",
        help="which CI definition to add (default: github; jenkins-x: Lighthouse triggers and Tekton pipelines)",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite existing starting files (default: keep them, merge .gitignore)"
    )
    parser.add_argument(
        "--image",
        metavar="REF",
        help="the Argo CD plugin sidecar image you pushed (mlgitops sidecar dockerfile); sets argocd.mode: plugin "
        "(default: rendered)",
    )


def _run(args: argparse.Namespace) -> int:
    from mlgitops.gitops.scaffold import GUIDE_FILE, InitOptions, init_project

    options = InitOptions(
        start(args) / args.path,
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
    from mlgitops.gitops.scaffold import current_branch

    return (directory / ".git").exists() or current_branch(directory) is not None


COMMAND = Command(
    name="init",
    summary="scaffold a working project (example model, environments, CI)",
    description="Scaffold a working project: mlgitops.yaml with dev, staging and prod, an example model, the "
    "platform objects its training needs, CI, and the rendered files.",
    example="mlgitops init my-models --repo-url https://github.com/acme/my-models.git",
    exit_codes="0 created; 1 the project could not be written (the message says why); 2 usage error",
    arguments=_arguments,
    handler=_run,
)
