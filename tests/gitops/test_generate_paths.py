"""Argo CD regenerates only what changed (issue 26, item 5): with `deployment.per: model`, each Application's
`argocd.argoproj.io/manifest-generate-paths` names only what that Application reads, so a commit to one model
regenerates that model's Applications (one per environment) and no other.

Checked on a real Git repository, commit after commit: the changed files are `git diff --name-only` between two
commits, `touched` applies Argo CD's rule (`refresh_paths`, `files_have_changed`) to every Application, and every
Application the rule leaves alone answers the same at both commits (the plugin's `cmp generate`, or the real
Kustomize over its path), so reusing Argo CD's cached manifests for it is right. Each listed path exists."""

from __future__ import annotations

import posixpath
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmp_harness import filepath_match
from mlgitops.gitops import cmp
from mlgitops.layout.kustomize import kustomize_command
from tests.conftest import run_cli
from tests.projects import model_yaml, project_yaml, write_project
from tests.render.test_render import PLATFORM

ANNOTATION = "argocd.argoproj.io/manifest-generate-paths"
ENVS = ("dev", "staging", "prod")
MODELS = ("m0", "m1", "m2", "m3")
GRAPH = """\
apiVersion: mlgitops.io/v1alpha1
kind: Graph
metadata: {name: pipeline}
nodes:
  root:
    routerType: Sequence
    steps:
    - {model: m0}
    - {model: m1, data: $response}
"""
# A template that adds an object to every model in every environment.
TEMPLATE = """\
function(model, environment, project, settings={}) [{
  apiVersion: 'v1', kind: 'ConfigMap',
  metadata: {name: model.metadata.name + '-card'},
  data: {owner: 'ml'},
}]
"""
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


# --- Argo CD's rule ------------------------------------------------------------------------------


def refresh_paths(app: dict[str, Any]) -> list[str]:
    """Argo CD's `GetAppRefreshPaths` (argoproj/argo-cd, util/app/path/path.go): the annotation split at `;`,
    empty items skipped; an item starting with `/` loses that `/` (it is repository-relative), any other is
    joined to the source path and cleaned (`filepath.Clean(filepath.Join(source.Path, item))`)."""
    value = app["metadata"].get("annotations", {}).get(ANNOTATION, "")
    paths = []
    for item in value.split(";") if value else []:
        item = item.strip()  # argo-cd v3 trims each item (GetSourceRefreshPaths)
        if not item:
            continue
        if item.startswith("/"):
            paths.append(item[1:])
        else:
            paths.append(posixpath.normpath(posixpath.join(app["spec"]["source"]["path"], item)))
    return paths


def _absolute(path: str) -> str:
    return path if path.startswith("/") else "/" + path  # path.go, ensureAbsPath


def _under(root: str, file: str) -> bool:
    """Argo CD's `security.EnforceToCurrentRoot(root, file)` succeeds (util/security/path_traversal.go): the
    file's directory is the cleaned root, or below it, or the root is `/`."""
    root = posixpath.normpath(root)
    directory = posixpath.dirname(file) or "/"
    return root == "/" or directory == root or directory.startswith(root + "/")


def files_have_changed(paths: list[str], changed: list[str]) -> bool:
    """Argo CD's `AppFilesHaveChanged` (util/app/path/path.go): no changed files or no refresh paths regenerate;
    else a changed file regenerates when it equals a refresh path, lies under it, or matches it as a
    `filepath.Match` pattern (a malformed pattern matches nothing)."""
    if not changed or not paths:
        return True
    for file in map(_absolute, changed):
        for item in map(_absolute, paths):
            if file == item or _under(item, file):
                return True
            try:
                if filepath_match(item, file):
                    return True
            except ValueError:
                pass
    return False


# Single-source cases of argo-cd's own `Test_AppFilesHaveChanged` (util/app/path/path_test.go): annotation, source
# path, changed files, whether the Application regenerates.
UPSTREAM_CASES = [
    (None, "", ["README.md"], True),  # default no path
    (".", "source/path", [], True),  # no files changed (a push without the list)
    (".", "source/path", ["source/path/my-deployment.yaml"], True),
    (".", "source/path", ["README.md"], False),
    ("/source/path", "source/path", ["source/path/my-deployment.yaml"], True),
    ("/source/path1", "source/path", ["source/path/my-deployment.yaml"], False),
    ("/source/**/my-deployment.yaml", "source/path", ["source/path/my-deployment.yaml"], True),
    ("/source/**/my-service.yaml", "source/path", ["source/path/my-deployment.yaml"], False),
    ("/source/path/my-deployment-?.yaml", "source/path", ["source/path/my-deployment-0.yaml"], True),
    ("/source/path/my-deployment-?.yaml", "source/path", ["source/path/my-deployment.yaml"], False),
    ("/source/path[0-9]/my-deployment.yaml", "source/path", ["source/path1/my-deployment.yaml"], True),
    ("/source/path[0-9]/my-*.yaml", "source/path", ["README.md"], False),
    (".;../shared", "my-app", ["shared/my-deployment.yaml"], True),
    (".;../shared", "my-app", ["README.md"], False),
    ("./my-deployment.yaml", "source/path", ["source/path/my-deployment.yaml"], True),
    ("./my-deployment.yaml", "source/path", ["README.md"], False),
    ("/source/path/my-deployment.yaml", "source/path", ["source/path/my-deployment.yaml"], True),
    ("/source/path1/README.md", "source/path", ["source/path/my-deployment.yaml"], False),
    ("./README.md;../shared/my-deployment.yaml", "my-app", ["shared/my-deployment.yaml"], True),
    (".README.md;../shared/my-deployment.yaml", "my-app", ["kustomization.yaml"], False),
    (".", "source/path", ["/source/path/my-deployment.yaml"], True),  # changed file absolute path
]
# The shapes mlgitops writes: `.` of the repository root, a directory against a file beside it, a file.
OUR_CASES = [
    (".", ".", ["models/m1.yaml"], True),
    ("/models/m1", "overlays/dev/m1", ["models/m1.yaml"], False),
    ("/base/models/m1", "overlays/dev/m1", ["base/models/m10/kustomization.yaml"], False),
    ("/overlays/dev/kustomization.yaml", ".", ["overlays/dev/kustomization.yaml"], True),
    ("/overlays/dev/kustomization.yaml", ".", ["overlays/dev/m1/kustomization.yaml"], False),
    (".;/base/models/m1", "overlays/dev/m1", ["base/models/m1/inferenceservice-m1.yaml"], True),
]


@pytest.mark.parametrize(("annotation", "path", "changed", "regenerates"), UPSTREAM_CASES + OUR_CASES)
def test_the_rule_follows_argo_cd(annotation: str | None, path: str, changed: list[str], regenerates: bool) -> None:
    app = {
        "metadata": {"annotations": {} if annotation is None else {ANNOTATION: annotation}},
        "spec": {"source": {"path": path}},
    }
    assert files_have_changed(refresh_paths(app), changed) is regenerates


# --- the repository ------------------------------------------------------------------------------


def git(root: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=root, capture_output=True, text=True, check=True).stdout


def commit(root: Path, message: str, *, render: bool = True) -> str:
    if render:
        result = run_cli(["render"], cwd=root)
        assert result.exit_code == 0, result.stderr
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def changed_files(root: Path, before: str, after: str) -> list[str]:
    return git(root, "diff", "--name-only", before, after).splitlines()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


def _repo(root: Path, mode: str) -> Path:
    argocd = "{mode: plugin, image: ghcr.io/acme/mlgitops-cmp:0.1.0}" if mode == "plugin" else "{mode: rendered}"
    project = project_yaml(*ENVS, extra=f"argocd: {argocd}\ndeployment: {{per: model}}\n")
    body = "serving: {engine: kserve, serviceAccount: model-reader}\n"
    write_project(root, project, {name: model_yaml(name, body=body) for name in MODELS})
    (root / "graphs").mkdir()
    (root / "graphs/pipeline.yaml").write_text(GRAPH)
    for path, text in PLATFORM.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / ".gitignore").write_text(".mlgitops-cache/\n")
    git(root, "init", "-q", "-b", "main")
    return root


def applications(root: Path) -> dict[str, dict[str, Any]]:
    apps = {}
    for path in sorted((root / "plugins/argocd").glob("application-*.yaml")):
        app = yaml.safe_load(path.read_text())
        apps[app["metadata"]["name"]] = app
    return apps


def answers(root: Path, apps: dict[str, dict[str, Any]]) -> dict[str, str]:
    """What each Application deploys from the checkout: the plugin's stream (or its refusal) for a plugin source,
    the real Kustomize's output (or error) for a directory."""
    out = {}
    for name, app in apps.items():
        source = app["spec"]["source"]
        if "plugin" in source:
            environ = {f"PARAM_{cmp.escaped(p['name'])}": p["string"] for p in source["plugin"]["parameters"]}
            environ |= {"MLGITOPS_CMP_CACHE": "0", "ARGOCD_APP_SOURCE_PATH": source["path"]}
            try:
                out[name] = cmp.generate(root / source["path"], environ).stream
            except cmp.CmpError as exc:
                out[name] = f"refused: {exc}"
        else:
            proc = subprocess.run([*kustomize_command(), str(root / source["path"])], capture_output=True, text=True)
            out[name] = proc.stdout if proc.returncode == 0 else f"failed: {proc.stderr}"
    return out


def _names(*, envs: tuple[str, ...] = ENVS, models: tuple[str, ...] = MODELS) -> set[str]:
    return {f"acme-{env}-{model}" for env in envs for model in models}


SHARED = {f"acme-{env}-shared" for env in ENVS}


def _missing(root: Path, apps: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    return {
        name: missing
        for name, app in apps.items()
        if (missing := [p for p in refresh_paths(app) if not (root / p).exists()])
    }


# The commits, in order: a message, a change to the tree, whether to render before committing, the prefixes
# of every file the commit changes (each one changes something), and the Applications Argo CD must regenerate,
# per argocd.mode.
Step = tuple[str, Callable[[Path], None], bool, tuple[str, ...], dict[str, set[str]]]


def _bump(root: Path) -> None:
    """A new version everywhere, and two replicas in staging: the base and staging's overlay change."""
    model = root / "models/m1.yaml"
    edit(model, 'version: "3", storageUri: s3://models/m1/3/model', 'version: "4", storageUri: s3://models/m1/4/model')
    model.write_text(model.read_text() + "environments: {staging: {serving: {replicas: {min: 2}}}}\n")


def _prod_defaults(root: Path) -> None:
    edit(
        root / "mlgitops.yaml",
        "- {name: prod, namespace: ml-prod}\n",
        "- {name: prod, namespace: ml-prod, defaults: {serving: {replicas: {min: 2}}}}\n",
    )


def _platform(root: Path) -> None:
    edit(
        root / "base/platform/serviceaccounts.yaml",
        "metadata: {name: trainer}",
        "metadata: {name: trainer, labels: {team: ml}}",
    )


def _graph(root: Path) -> None:
    edit(root / "graphs/pipeline.yaml", "nodes:\n", "timeout: 30\nnodes:\n")


def _first_template(root: Path) -> None:
    (root / "templates").mkdir()
    (root / "templates/card.jsonnet").write_text(TEMPLATE)


def _drop_listing_entry(root: Path) -> None:
    edit(root / "overlays/dev/kustomization.yaml", "- m2\n", "")


STEPS: list[Step] = [
    # one model's spec and its regenerated base and overlay: that model's Application in each environment
    (
        "m1: version 4, two replicas in staging",
        _bump,
        True,
        ("models/m1.yaml", "base/models/m1/", "overlays/staging/m1/"),
        {"plugin": _names(models=("m1",)), "rendered": _names(models=("m1",))},
    ),
    # the plugin reads mlgitops.yaml for every model; Kustomize reads only what the change regenerated
    (
        "prod: two replicas",
        _prod_defaults,
        True,
        ("mlgitops.yaml", "overlays/prod/m"),
        {"plugin": _names(), "rendered": _names(envs=("prod",))},
    ),
    # base/platform is deployed by the shared units; no one-model render reads it
    ("platform: a label", _platform, False, ("base/platform/",), {"plugin": SHARED, "rendered": SHARED}),
    # the graph is deployed by the shared units; its models' Applications (m0, m1) do not read it
    (
        "graph: a timeout",
        _graph,
        True,
        ("graphs/pipeline.yaml", "base/graphs/pipeline/"),
        {"plugin": SHARED, "rendered": SHARED},
    ),
    # the first template, committed without a render: every plugin render changes (here to a refusal: the
    # committed tree is stale); the committed Kustomize directories do not change
    ("templates/card.jsonnet", _first_template, False, ("templates/",), {"plugin": _names(), "rendered": set()}),
    ("render the template", lambda root: None, True, ("base/models/",), {"plugin": _names(), "rendered": _names()}),
    # the plugin checks a model's entries in overlays/<env>/kustomization.yaml; no Kustomize unit reads that file
    (
        "dev listing without m2",
        _drop_listing_entry,
        False,
        ("overlays/dev/kustomization.yaml",),
        {"plugin": _names(envs=("dev",)), "rendered": set()},
    ),
]


@pytest.mark.parametrize("mode", ["plugin", "rendered"])
def test_a_commit_regenerates_exactly_the_applications_whose_manifests_it_can_change(tmp_path: Path, mode: str) -> None:
    root = _repo(tmp_path / "repo", mode)
    head = commit(root, "models m0 to m3")
    apps = applications(root)
    assert set(apps) == _names() | SHARED
    # every listed path exists, but for templates/ in plugin mode: the plugin reads it once it exists, so the
    # commit that adds the first template must regenerate (the "templates/card.jsonnet" step)
    plugin_apps = _names() if mode == "plugin" else set()
    assert _missing(root, apps) == {name: ["templates"] for name in plugin_apps}
    before = answers(root, apps)
    assert all(
        not text.startswith(("refused", "failed")) and "kind: InferenceService" in text
        for name, text in before.items()
        if name not in SHARED
    )
    for message, change, render, prefixes, expected in STEPS:
        change(root)
        after_head = commit(root, message, render=render)
        changed = changed_files(root, head, after_head)
        assert all(file.startswith(prefixes) for file in changed), (message, changed)
        assert all(any(file.startswith(prefix) for file in changed) for prefix in prefixes), (message, changed)
        touched = {name for name, app in apps.items() if files_have_changed(refresh_paths(app), changed)}
        after = answers(root, apps)
        stale = sorted(name for name in apps if name not in touched and after[name] != before[name])
        assert not stale, (message, "Argo CD would keep stale manifests for", stale)
        assert touched == expected[mode], (message, changed)
        assert applications(root) == apps, message  # Argo CD goes on reading the same annotations
        head, before = after_head, after
    assert _missing(root, apps) == {}


def test_the_annotation_of_a_model_application_in_each_mode(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo", "plugin")
    commit(root, "models")
    apps = applications(root)
    assert apps["acme-staging-m2"]["metadata"]["annotations"][ANNOTATION] == (
        "/mlgitops.yaml;/templates;/models/m2.yaml;/base/models/m2;/overlays/staging/m2;"
        "/overlays/staging/kustomization.yaml"
    )
    edit(
        root / "mlgitops.yaml",
        "argocd: {mode: plugin, image: ghcr.io/acme/mlgitops-cmp:0.1.0}",
        "argocd: {mode: rendered}",
    )
    commit(root, "rendered")
    rendered = applications(root)["acme-staging-m2"]
    assert rendered["spec"]["source"]["path"] == "overlays/staging/m2"
    assert rendered["metadata"]["annotations"][ANNOTATION] == ".;/base/models/m2"
