"""`mlgitops init`: a new, working project in one command.

The hand-written starting files (project, an example model, `base/platform/`, README, `.gitignore`,
a CI definition, the spec schema for editors) come from the package's `data/` directory; the
generated tree is then written by the ordinary `render`. Nothing existing is overwritten unless
asked: without `force`, any file init would write, and any model or generated file already there,
stops it before it writes anything.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from mlgitops.errors import MlgitopsError, UsageError
from mlgitops.loader import MODELS_DIR, PROJECT_FILE

CiKind = Literal["github", "gitlab", "none"]
CI_CHOICES: tuple[CiKind, ...] = ("github", "gitlab", "none")
SCHEMA_FILE = ".mlgitops/schema.json"
EXAMPLE_MODEL = "example-classifier"
DEFAULT_NAME = "ml-project"
# Where each CI definition lands in a project, and its source in the package's data/ci/.
CI_FILES: dict[str, tuple[str, str]] = {
    "github": (".github/workflows/mlgitops.yml", "github/mlgitops.yml"),
    "gitlab": (".gitlab-ci.yml", "gitlab/gitlab-ci.yml"),
}
# Project path → template in the package's data/scaffold/.
_TEMPLATES = {
    PROJECT_FILE: "mlgitops.yaml",
    f"{MODELS_DIR}/{EXAMPLE_MODEL}.yaml": "model.yaml",
    "base/platform/kustomization.yaml": "platform/kustomization.yaml",
    "base/platform/serviceaccounts.yaml": "platform/serviceaccounts.yaml",
    "base/platform/workflow-rbac.yaml": "platform/workflow-rbac.yaml",
    "base/platform/artifact-repositories.yaml": "platform/artifact-repositories.yaml",
    "README.md": "README.md",
    ".gitignore": "gitignore",
}
_LONGEST_ENV_SUFFIX = len("-staging")


class InitError(MlgitopsError):
    """The project directory cannot be created or written (exit 1; nothing is left behind)."""


@dataclass
class InitOptions:
    directory: Path
    name: str | None = None
    repo_url: str | None = None
    ci: CiKind = "github"
    force: bool = False


@dataclass
class InitResult:
    root: Path
    name: str
    written: list[str] = field(default_factory=list)  # hand-written starting files
    rendered: list[str] = field(default_factory=list)  # generated files


def ci_definition(kind: str) -> str:
    """The CI definition for `github` or `gitlab`, installing exactly this version of mlgitops."""
    from mlgitops import __version__

    return _data("ci", CI_FILES[kind][1]).replace("{{version}}", __version__)


def schema_text() -> str:
    """Exactly what `mlgitops schema` prints."""
    from mlgitops.schema import json_schema

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def _data(*parts: str) -> str:
    node = resources.files("mlgitops").joinpath("data", *parts)
    return node.read_text(encoding="utf-8")


def project_name(options: InitOptions) -> str:
    """`--name`, or the directory's name made into a DNS label."""
    from mlgitops.render.common import dns_safe
    from mlgitops.spec import _dns_label

    if options.name is not None:
        try:
            _dns_label(options.name)
        except ValueError as exc:
            raise UsageError(f"--name: {exc}") from None
        return options.name
    raw = options.directory.resolve().name
    derived = dns_safe(raw)[:63].strip("-") if raw else ""
    return derived or DEFAULT_NAME


def scaffold_files(name: str, repo_url: str, ci: CiKind) -> dict[str, str]:
    """The hand-written starting files, by project-relative path."""
    namespace = name[: 63 - _LONGEST_ENV_SUFFIX].rstrip("-")
    from mlgitops import __version__

    values = {
        "{{project}}": name,
        "{{namespace}}": namespace,
        "{{repo_url}}": json.dumps(repo_url),
        "{{version}}": __version__,
    }
    files: dict[str, str] = {}
    for path, template in _TEMPLATES.items():
        text = _data("scaffold", template)
        for token, value in values.items():
            text = text.replace(token, value)
        files[path] = text
    files[SCHEMA_FILE] = schema_text()
    if ci != "none":
        files[CI_FILES[ci][0]] = ci_definition(ci)
    return dict(sorted(files.items()))


def _conflicts(root: Path, files: dict[str, str]) -> list[str]:
    """Existing paths init would write, plus models and generated files already there."""
    from mlgitops.tree import GENERATED_ROOTS

    found = {path for path in files if (root / path).exists() or (root / path).is_symlink()}
    for folder in (MODELS_DIR, *GENERATED_ROOTS):
        top = root / folder
        if top.is_dir():
            found.update(p.relative_to(root).as_posix() for p in top.rglob("*") if not p.is_dir())
    return sorted(found, key=lambda path: (path != PROJECT_FILE, path))


def _check_writable(root: Path, files: dict[str, str]) -> None:
    for path in files:
        target = root / path
        if target.is_symlink() or target.is_dir():
            raise UsageError(f"{target} is not a regular file; remove it first")


def _write(root: Path, files: dict[str, str]) -> None:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def _preflight(root: Path, files: dict[str, str]) -> None:
    """Render the would-be project in a scratch directory, so a failure leaves `root` untouched."""
    from mlgitops.loader import load_workspace
    from mlgitops.tree import generated_files

    with tempfile.TemporaryDirectory(prefix="mlgitops-init-") as scratch:
        scratch_root = Path(scratch)
        existing_models = root / MODELS_DIR
        if existing_models.is_dir():
            shutil.copytree(existing_models, scratch_root / MODELS_DIR, symlinks=True)
        _write(scratch_root, files)
        generated_files(load_workspace(scratch_root))


def _missing_parents(root: Path) -> list[Path]:
    """The directories `root.mkdir(parents=True)` would create, outermost first; refuse a file on the way."""
    missing: list[Path] = []
    current = root
    while not current.exists() and not current.is_symlink():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    if missing and not current.is_dir():
        raise UsageError(f"{root}: {current} is a file, not a directory")
    return list(reversed(missing))


def _check_confined(root: Path, files: dict[str, str]) -> None:
    """Every file init writes, and the generated directories, must stay inside `root` (no symlinks out)."""
    from mlgitops.confine import check_generated_paths, check_inside
    from mlgitops.tree import GENERATED_ROOTS

    check_inside(root, list(files))
    check_generated_paths(root, GENERATED_ROOTS)


def init_project(options: InitOptions) -> InitResult:
    """Write the starting files into `options.directory` (created if needed), then render them.

    A failure leaves nothing behind: directories init created are removed, and so are files it added.
    """
    from mlgitops.flux import git_url

    root = options.directory
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    name = project_name(options)
    repo_url = options.repo_url or f"https://github.com/your-org/{name}.git"
    try:
        git_url(repo_url)
    except ValueError as exc:
        raise UsageError(f"--repo-url {repo_url!r}: {exc}") from None
    files = scaffold_files(name, repo_url, options.ci)
    if root.is_dir() and not options.force:
        conflicts = _conflicts(root, files)
        if conflicts:
            more = len(conflicts) - 5
            shown = ", ".join(conflicts[:5]) + (f" and {more} more" if more > 0 else "")
            raise UsageError(
                f"{root} already has {shown}; init writes a new project and overwrites nothing "
                "(pass --force to overwrite)"
            )
    if root.is_dir():
        _check_confined(root, files)
    if options.force and root.is_dir():
        _check_writable(root, files)
        _preflight(root, files)
    created = _missing_parents(root)
    added = [path for path in files if not (root / path).exists()]
    try:
        root.mkdir(parents=True, exist_ok=True)
        return _write_and_render(root, name, files)
    except OSError as exc:
        _undo(root, created, added)
        where = f" {exc.filename}" if exc.filename else ""
        raise InitError(f"{root}: cannot write{where}: {exc.strerror or exc}") from None
    except BaseException:
        _undo(root, created, added)
        raise


def _write_and_render(root: Path, name: str, files: dict[str, str]) -> InitResult:
    from mlgitops.loader import load_workspace
    from mlgitops.lock import project_lock
    from mlgitops.tree import render

    with project_lock(root, "init"):
        _write(root, files)
        status = render(load_workspace(root), command="init")
    return InitResult(root=root, name=name, written=list(files), rendered=status.stale)


def _undo(root: Path, created: list[Path], added: list[str]) -> None:
    if created:
        shutil.rmtree(created[0], ignore_errors=True)
        return
    for path in added:
        (root / path).unlink(missing_ok=True)
