"""`mlgitops init`: a new, working project in one command.

The hand-written starting files (project, an example model, `base/platform/`, README, `.gitignore`,
a CI definition, the spec schema for editors) come from the package's `data/` directory; the
generated tree is then written by the ordinary `render`.

Init adopts an existing repository: it writes the starting files that are missing, leaves every file
that exists as it is (its `.gitignore` gets the missing lines appended), and lists both. An existing
project (`mlgitops.yaml`, models or generated files) stops it before it writes anything, unless
`force` (which overwrites the starting files).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from mlgitops.util.errors import MlgitopsError, UsageError
from mlgitops.util.paths import MODELS_DIR, PROJECT_FILE, TEMPLATES_DIR

CiKind = Literal["github", "gitlab", "jenkins-x", "none"]
CI_CHOICES: tuple[CiKind, ...] = ("github", "gitlab", "jenkins-x", "none")
SCHEMA_FILE = ".mlgitops/schema.json"
EXAMPLE_MODEL = "example-classifier"
DEFAULT_NAME = "ml-project"
# Where each CI definition lands in a project, and its source in the package's data/ci/.
CI_FILES: dict[str, tuple[str, str]] = {
    "github": (".github/workflows/mlgitops.yml", "github/mlgitops.yml"),
    "gitlab": (".gitlab-ci.yml", "gitlab/gitlab-ci.yml"),
}
# The promotion workflow (workflow_dispatch → `mlgitops promote` → a pull request), GitHub only.
PROMOTE_WORKFLOW = (".github/workflows/mlgitops-promote.yml", "github/mlgitops-promote.yml")
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
    "crds/README.md": "crds-README.md",
    "templates/pdb.jsonnet": "templates/pdb.jsonnet",  # a Jsonnet addon (docs/addons.md)
    "templates/lib/mlgitops.libsonnet": "templates/lib/mlgitops.libsonnet",  # the addons' shared helpers
}
# Where init's README guidance goes when the repository already has a README.md of its own.
GUIDE_FILE = "docs/mlgitops.md"
DEFAULT_REVISION = "main"
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
    image: str | None = None  # the plugin sidecar image; without it, argocd.mode is rendered
    pip_spec: str | None = None  # what CI installs; default: this mlgitops (pipspec.default_pip_spec)
    revision: str | None = None  # the branch Argo CD and Flux follow; default: the repository's current branch


@dataclass
class InitResult:
    root: Path
    name: str
    written: list[str] = field(default_factory=list)  # hand-written starting files (added or overwritten)
    rendered: list[str] = field(default_factory=list)  # generated files
    left_alone: list[str] = field(default_factory=list)  # starting files that existed and were kept
    merged: dict[str, int] = field(default_factory=dict)  # existing files lines were appended to: how many
    plugin_mode: bool = False
    guide: str = "README.md"  # where the project's guidance was written (GUIDE_FILE beside an existing README)
    repo_url_from: str = "placeholder"  # "--repo-url", "origin" (the remote's URL) or "placeholder"
    revision: str = DEFAULT_REVISION
    revision_from: str = "default"  # "--revision", "branch" (the current branch) or "default"


def ci_definition(kind: str, pip_spec: str | None = None) -> str:
    """The CI definition for `github` or `gitlab`, installing exactly this mlgitops (pipspec.py)."""
    return _ci_text(CI_FILES[kind][1], pip_spec)


def promote_workflow(pip_spec: str | None = None) -> str:
    """The GitHub Actions promotion workflow, installing exactly this mlgitops (pipspec.py)."""
    return _ci_text(PROMOTE_WORKFLOW[1], pip_spec)


def _ci_text(template: str, pip_spec: str | None) -> str:
    from mlgitops import __version__
    from mlgitops.util.pipspec import default_pip_spec

    text = _data("ci", template).replace("{{pip_spec}}", pip_spec or default_pip_spec())
    return text.replace("{{version}}", __version__)


def schema_text() -> str:
    """Exactly what `mlgitops schema` prints."""
    from mlgitops.language.schema import json_schema

    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def _yaml_text(text: str) -> str:
    """`text` as a YAML scalar: plain when YAML reads it back as that text, else double-quoted."""
    import yaml

    try:
        plain = yaml.safe_load(text) == text and ": " not in text and " #" not in text
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text)


def _data(*parts: str) -> str:
    node = resources.files("mlgitops").joinpath("data", *parts)
    return node.read_text(encoding="utf-8")


def project_name(options: InitOptions) -> str:
    """`--name`, or the directory's name made into a DNS label."""
    from mlgitops.language.fields import dns_label
    from mlgitops.util.kubenames import dns_safe

    if options.name is not None:
        try:
            dns_label(options.name)
        except ValueError as exc:
            raise UsageError(f"--name: {exc}") from None
        return options.name
    raw = options.directory.resolve().name
    derived = dns_safe(raw)[:63].strip("-") if raw else ""
    return derived or DEFAULT_NAME


def argocd_block(image: str | None) -> str:
    """The `argocd:` settings of a new project: rendered mode, or plugin mode with the given image."""
    from mlgitops import __version__

    if image is not None:
        return (
            "argocd:\n"
            "  mode: plugin  # the mlgitops sidecar renders at sync (rendered: Applications point at overlays/<env>)\n"
            f"  image: {json.dumps(image)}  # built with `mlgitops sidecar dockerfile`\n"
        )
    return (
        "argocd:\n"
        "  mode: rendered  # Applications point a stock Argo CD at the committed overlays/<env>\n"
        "  # To render at sync time with the mlgitops plugin instead: build and push the sidecar image\n"
        f"  # (mlgitops sidecar dockerfile | docker build -t REGISTRY/mlgitops-cmp:{__version__} -), then set:\n"
        "  # mode: plugin\n"
        f"  # image: REGISTRY/mlgitops-cmp:{__version__}\n"
    )


def scaffold_files(
    name: str,
    repo_url: str,
    ci: CiKind,
    image: str | None = None,
    revision: str = DEFAULT_REVISION,
    pip_spec: str | None = None,
) -> dict[str, str]:
    """The hand-written starting files, by project-relative path."""
    namespace = name[: 63 - _LONGEST_ENV_SUFFIX].rstrip("-")
    from mlgitops import __version__

    values = {
        "{{project}}": name,
        "{{namespace}}": namespace,
        "{{repo_url}}": json.dumps(repo_url),
        "{{revision}}": _yaml_text(revision),
        "{{version}}": __version__,
        "{{argocd}}\n": argocd_block(image),
    }
    files: dict[str, str] = {}
    for path, template in _TEMPLATES.items():
        text = _data("scaffold", template)
        for token, value in values.items():
            text = text.replace(token, value)
        files[path] = text
    files[SCHEMA_FILE] = schema_text()
    if ci == "jenkins-x":  # several files: Lighthouse triggers and the Tekton PipelineRuns (jenkinsx.py)
        from mlgitops.gitops.jenkinsx import pipeline_files

        files.update(pipeline_files(files[PROJECT_FILE], revision, lambda template: _ci_text(template, pip_spec)))
    elif ci != "none":
        files[CI_FILES[ci][0]] = ci_definition(ci, pip_spec)
    if ci == "github":
        files[PROMOTE_WORKFLOW[0]] = promote_workflow(pip_spec)
    return dict(sorted(files.items()))


def _conflicts(root: Path, files: dict[str, str]) -> list[str]:
    """Existing paths init would write, plus models and generated files already there."""
    from mlgitops.util.paths import GENERATED_ROOTS

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


def _preflight(root: Path, files: dict[str, str], kept: list[str]) -> None:
    """Render the would-be project in a scratch directory, so a failure leaves `root` untouched.

    `files` are written, `kept` (existing starting files init leaves alone) copied from `root`.
    """
    try:
        _trial_render(root, files, kept)
    except OSError as exc:  # a full or read-only temporary directory: not the project's fault
        raise MlgitopsError(
            f"init: cannot try the new project in a temporary directory ({tempfile.gettempdir()}): "
            f"{exc.strerror or exc}; set TMPDIR to a writable directory with free space"
        ) from None


def _trial_render(root: Path, files: dict[str, str], kept: list[str]) -> None:
    from mlgitops.gitops.generate import generated_files
    from mlgitops.language.loader import load_workspace

    with tempfile.TemporaryDirectory(prefix="mlgitops-init-") as scratch:
        scratch_root = Path(scratch)
        existing_models = root / MODELS_DIR
        if existing_models.is_dir():
            shutil.copytree(existing_models, scratch_root / MODELS_DIR, symlinks=True)
        platform = root / "base" / "platform"  # an existing one may list files init does not write
        if platform.is_dir():
            shutil.copytree(platform, scratch_root / "base" / "platform", symlinks=True)
        templates = root / TEMPLATES_DIR  # an existing one is the team's: its templates are rendered too
        if templates.is_dir() and not templates.is_symlink():
            shutil.copytree(templates, scratch_root / TEMPLATES_DIR, symlinks=True)
        for path in kept:
            if path == f"{TEMPLATES_DIR}/":
                continue
            (scratch_root / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / path, scratch_root / path)
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
    from mlgitops.util.confine import check_generated_paths, check_inside
    from mlgitops.util.paths import GENERATED_ROOTS

    check_inside(root, list(files))
    check_generated_paths(root, GENERATED_ROOTS)


def _merged_gitignore(existing: str, ours: str) -> tuple[str, int]:
    """`existing` with the lines of `ours` it lacks appended (comments only with their lines)."""
    have = {line.strip() for line in existing.splitlines()}
    missing = [line for line in ours.splitlines() if line.strip() and not line.startswith("#")]
    missing = [line for line in missing if line.strip() not in have]
    if not missing:
        return existing, 0
    separator = "" if not existing or existing.endswith("\n") else "\n"
    added = "\n# mlgitops (added by `mlgitops init`)\n" + "\n".join(missing) + "\n"
    return existing + separator + added, len(missing)


@dataclass
class _Plan:
    """What init does to a directory: files to write, existing files kept, files merged into."""

    write: dict[str, str]
    left_alone: list[str]
    merged: dict[str, int]


def _plan(root: Path, files: dict[str, str], force: bool) -> _Plan:
    if force or not root.is_dir():
        return _Plan(dict(files), [], {})
    write: dict[str, str] = {}
    left_alone: list[str] = []
    merged: dict[str, int] = {}
    has_templates = (root / TEMPLATES_DIR).exists() or (root / TEMPLATES_DIR).is_symlink()
    for path, content in files.items():
        if has_templates and path.startswith(f"{TEMPLATES_DIR}/"):
            if f"{TEMPLATES_DIR}/" not in left_alone:
                left_alone.append(f"{TEMPLATES_DIR}/")
            continue
        target = root / path
        if not target.exists() and not target.is_symlink():
            write[path] = content
        elif path == ".gitignore" and target.is_file() and not target.is_symlink():
            text, count = _merged_gitignore(target.read_text(encoding="utf-8"), content)
            if count:
                write[path] = text
                merged[path] = count
            else:
                left_alone.append(path)
        else:
            left_alone.append(path)
    return _Plan(write, left_alone, merged)


def _existing_project(root: Path, files: dict[str, str]) -> list[str]:
    """`mlgitops.yaml`, models and generated files already in `root`: a project init would overwrite."""
    return [path for path in _conflicts(root, files) if path not in files or path == PROJECT_FILE]


def init_project(options: InitOptions) -> InitResult:
    """Add the starting files to `options.directory` (created if needed), then render them.

    Existing files are left as they are (`.gitignore` gets the missing lines), unless `force`.
    A failure leaves nothing behind: directories init created are removed, files it added deleted,
    and files it changed restored.
    """
    from mlgitops.gitops.flux import git_url

    root = options.directory
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    name = project_name(options)
    repo_url, repo_url_from = options.repo_url, "--repo-url"
    if repo_url is None:
        repo_url, repo_url_from = origin_url(root), "origin"
    if repo_url is None:
        repo_url, repo_url_from = f"https://github.com/your-org/{name}.git", "placeholder"
    try:
        git_url(repo_url)
    except ValueError as exc:
        raise UsageError(f"--repo-url {repo_url!r}: {exc}") from None
    revision, revision_from = options.revision, "--revision"
    if revision is None:
        revision, revision_from = current_branch(root), "branch"
    if revision is None:
        revision, revision_from = DEFAULT_REVISION, "default"
    elif revision_from == "--revision":
        _check_revision(revision)
    if options.image is not None:
        _check_image(options.image)
    if options.pip_spec is not None:
        from mlgitops.util.pipspec import check_pip_spec

        problem = check_pip_spec(options.pip_spec)
        if problem is not None:
            raise UsageError(f"--pip-spec {options.pip_spec!r}: {problem}")
    files = scaffold_files(name, repo_url, options.ci, options.image, revision, options.pip_spec)
    guide = "README.md"
    if not options.force and ((root / "README.md").exists() or (root / "README.md").is_symlink()):
        guide = GUIDE_FILE
        files = dict(sorted({**files, GUIDE_FILE: files["README.md"]}.items()))
    if root.is_dir() and not options.force:
        conflicts = _existing_project(root, files)
        if conflicts:
            more = len(conflicts) - 5
            shown = ", ".join(conflicts[:5]) + (f" and {more} more" if more > 0 else "")
            raise UsageError(
                f"{root} already has {shown}; init adds a project to a repository that has none "
                "(pass --force to overwrite its starting files)"
            )
    plan = _plan(root, files, options.force)
    if root.is_dir():
        _check_confined(root, files)
        _check_writable(root, plan.write)
        _preflight(root, plan.write, plan.left_alone)
    created = _missing_parents(root)
    added = [path for path in plan.write if not (root / path).exists()]
    originals = {path: (root / path).read_bytes() for path in plan.write if (root / path).is_file()}
    try:
        root.mkdir(parents=True, exist_ok=True)
        result = _write_and_render(root, name, plan.write)
    except OSError as exc:
        _undo(root, created, added, originals)
        where = f" {exc.filename}" if exc.filename else ""
        raise InitError(f"{root}: cannot write{where}: {exc.strerror or exc}") from None
    except BaseException:
        _undo(root, created, added, originals)
        raise
    result.left_alone = plan.left_alone
    result.merged = plan.merged
    result.plugin_mode = options.image is not None
    result.guide = guide
    result.repo_url_from = repo_url_from
    result.revision, result.revision_from = revision, revision_from
    return result


def _git_query(root: Path, *args: str) -> str | None:
    """A one-line answer of git in `root` (or its nearest existing parent), or None."""
    import subprocess

    where = root
    while not where.is_dir() and where.parent != where:
        where = where.parent
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    answer = proc.stdout.strip()
    return answer if proc.returncode == 0 and answer and "\n" not in answer else None


def current_branch(root: Path) -> str | None:
    """The branch checked out in the repository holding `root` (also before its first commit), or None."""
    branch = _git_query(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    if branch is None:
        return None
    try:
        _check_revision(branch)
    except UsageError:
        return None
    return branch


def origin_url(root: Path) -> str | None:
    """The URL of the `origin` remote of the repository holding `root`, without user information, or None.

    An https URL's `user:token@` is dropped (a credential never goes into mlgitops.yaml); a URL Flux could
    not fetch is ignored (init then writes the placeholder).
    """
    from mlgitops.gitops.flux import git_url

    url = _git_query(root, "remote", "get-url", "origin")
    if url is None:
        return None
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("https", "http"):
        authority, slash, path = rest.partition("/")
        url = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    try:
        git_url(url)
    except ValueError:
        return None
    return url


def _check_revision(revision: str) -> None:
    from mlgitops.language import kubevalues

    problem = kubevalues.git_ref(revision)
    if problem is not None:
        raise UsageError(f"--revision {revision!r}: {problem}")


def _check_image(image: str) -> None:
    from mlgitops.language import kubevalues
    from mlgitops.language.fields import qualified_image

    problem = kubevalues.image_reference(image)
    if problem is None:
        try:
            qualified_image(image)
        except ValueError as exc:
            problem = str(exc)
    if problem is not None:
        raise UsageError(f"--image {image!r}: {problem}")


def _write_and_render(root: Path, name: str, files: dict[str, str]) -> InitResult:
    from mlgitops.gitops.generate import render
    from mlgitops.util.lock import project_lock

    with project_lock(root, "init"):
        _write(root, files)
        status = render(root, command="init")
    return InitResult(root=root, name=name, written=list(files), rendered=status.stale)


def _undo(root: Path, created: list[Path], added: list[str], originals: dict[str, bytes]) -> None:
    if created:
        shutil.rmtree(created[0], ignore_errors=True)
        return
    for path in added:
        (root / path).unlink(missing_ok=True)
    for path, content in originals.items():
        (root / path).write_bytes(content)
