"""Hostile and broken file-system input (issue 9): escapes from the project, silent deletions, empty
deployments, EXDEV and unusable `init` paths. Each case runs the real CLI (in-process) or
`cmp generate` through tests/cmp_harness.py, and asserts the exit code, exactly one positioned line
per problem, no traceback, and a byte-identical tree (inside and outside the project) afterwards.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cmp_harness import AppRequest, GenerateResult, Parameter, PluginConfig, generate, load_plugin
from mlgitops.layout.tree import JOURNAL_FILE, STAGING_PREFIX
from mlgitops.util.lock import LOCK_FILE
from tests.conftest import REPO, CliResult, run_cli, snapshot_tree

PLUGIN_FILE = REPO / "plugins" / "argocd" / "plugin.yaml"
BIN = Path(sys.executable).parent
POSITIONED = re.compile(r"^(working tree: )?[^\s:][^:]*:\d+:\d+: \S")
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leaked}\ndata: {secret: outside}\n"


def assert_refused(result: CliResult, *fragments: str, lines: int = 1, code: int = 1) -> list[str]:
    """Exit `code`, `lines` positioned lines on stderr, nothing on stdout, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    found = result.stderr.splitlines()
    assert len(found) == lines, found
    for line in found:
        assert POSITIONED.match(line), line
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
    return found


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the project that no command may read or write."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (folder / "cm.yaml").write_text(CM)
    return folder


def everything(*roots: Path) -> dict[str, dict[str, bytes]]:
    return {str(root): snapshot_tree(root) for root in roots}


def write_platform(example: Path, kustomization: str, files: dict[str, str] | None = None) -> None:
    platform = example / "base/platform"
    platform.mkdir(parents=True, exist_ok=True)
    (platform / "kustomization.yaml").write_text(kustomization)
    for name, text in (files or {}).items():
        (platform / name).parent.mkdir(parents=True, exist_ok=True)
        (platform / name).write_text(text)


# --- escapes: base/platform ----------------------------------------------------------------------


ESCAPING_PLATFORMS = {
    "resource up and out": ("resources:\n- ../../../../tmp/x\n", "kustomization.yaml:2:3", "leaves base/platform"),
    "resource out to a sibling": ("resources:\n- ../../outside\n", "kustomization.yaml:2:3", "leaves base/platform"),
    "absolute resource": ("resources: [/etc]\n", "kustomization.yaml:1:13", "leaves base/platform"),
    "remote resource": (
        "resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v3.3.1\n",
        "kustomization.yaml:2:3",
        "is remote",
    ),
    "git remote": ("resources: [git@github.com:acme/x.git]\n", "kustomization.yaml:1:13", "is remote"),
    "helm chart": (
        "helmCharts:\n- {name: x, repo: https://charts.example.com}\n",
        "kustomization.yaml:1:1",
        "helmCharts is not allowed",
    ),
    "exec generator": ("generators: [gen.yaml]\n", "kustomization.yaml:1:1", "generators is not allowed"),
    "transformers": ("transformers: [t.yaml]\n", "kustomization.yaml:1:1", "transformers is not allowed"),
    "patch file outside": (
        "patches:\n- path: ../../../etc/passwd\n",
        "kustomization.yaml:2:9",
        "leaves base/platform",
    ),
    "generator file outside": (
        "configMapGenerator:\n- name: x\n  files: [key=../../../outside/cm.yaml]\n",
        "kustomization.yaml:3:11",
        "leaves base/platform",
    ),
    "generator env outside": (
        "configMapGenerator:\n- name: x\n  envs: [../../.env]\n",
        "kustomization.yaml:3:10",
        "leaves base/platform",
    ),
    "component outside": ("components: [../../outside]\n", "kustomization.yaml:1:14", "leaves base/platform"),
}


@pytest.mark.parametrize("case", sorted(ESCAPING_PLATFORMS))
@pytest.mark.parametrize("command", [["render"], ["build", "--env", "prod"], ["render", "--check"]])
def test_platform_kustomization_cannot_leave_base_platform(
    example: Path, outside: Path, case: str, command: list[str]
) -> None:
    kustomization, position, fragment = ESCAPING_PLATFORMS[case]
    write_platform(example, kustomization)
    before = everything(example, outside)
    result = run_cli(command, cwd=example)
    assert_refused(result, f"base/platform/{position}: ", fragment)
    assert result.stdout == ""
    assert everything(example, outside) == before


def test_nested_kustomization_is_walked_and_each_escape_reported(example: Path, outside: Path) -> None:
    write_platform(
        example,
        "resources: [sa.yaml, team]\n",
        {
            "sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: reader}\n",
            "team/kustomization.yaml": "resources:\n- ../../../outside\n- https://example.com/x.yaml\n",
        },
    )
    before = everything(example, outside)
    result = run_cli(["build", "--env", "dev"], cwd=example)
    lines = assert_refused(result, lines=2)
    assert lines[0].startswith("base/platform/team/kustomization.yaml:2:3: resources: '../../../outside' leaves")
    assert lines[1].startswith("base/platform/team/kustomization.yaml:3:3: resources: 'https://example.com/x.yaml'")
    assert everything(example, outside) == before


def test_a_confined_platform_still_builds(example: Path) -> None:
    write_platform(
        example,
        "resources: [team]\nconfigMapGenerator:\n- {name: settings, files: [conf=files/settings.txt]}\n",
        {
            "files/settings.txt": "a=1\n",
            "team/kustomization.yaml": "resources: [sa.yaml]\n",
            "team/sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: reader}\n",
        },
    )
    result = run_cli(["build", "--env", "dev"], cwd=example)
    assert result.exit_code == 0, result.stderr
    assert "name: reader" in result.stdout and "name: settings-" in result.stdout


def test_symlinked_platform_pointing_outside_is_refused(example: Path, outside: Path) -> None:
    shutil.rmtree(example / "base/platform")  # the example's own, replaced by a link out
    (example / "base/platform").symlink_to(outside)
    before = everything(example, outside)
    for command in (["render"], ["build", "--env", "prod"], ["validate"]):
        result = run_cli(command, cwd=example)
        assert_refused(result, "base/platform:1:1: base/platform resolves outside the project", str(outside))
        assert "leaked" not in result.stdout
    assert everything(example, outside) == before


def test_symlink_inside_platform_pointing_outside_is_refused(example: Path, outside: Path) -> None:
    write_platform(example, "resources: [cm.yaml]\n")
    (example / "base/platform/cm.yaml").symlink_to(outside / "cm.yaml")
    before = everything(example, outside)
    result = run_cli(["build", "--env", "dev"], cwd=example)
    assert_refused(result, "base/platform/cm.yaml:1:1: symlink resolves outside the project")
    assert everything(example, outside) == before


@pytest.mark.parametrize("top", ["base", "overlays", "plugins"])
def test_symlinked_generated_directory_is_never_written_through(example: Path, outside: Path, top: str) -> None:
    import shutil

    shutil.copytree(example / top, outside / top)
    shutil.rmtree(example / top)
    (example / top).symlink_to(outside / top)
    model = example / "models/fraud-detector.yaml"
    model.write_text(model.read_text().replace('version: "7"', 'version: "9"').replace("/7/model", "/9/model"))
    before = everything(example, outside)
    result = run_cli(["render"], cwd=example)
    lines = assert_refused(result, "a symlink (to ", "render follows no symlinks")
    assert lines[0].startswith(f"{top}:1:1: ")
    assert everything(example, outside) == before


def test_symlink_inside_a_generated_directory_is_not_read(example: Path, outside: Path) -> None:
    (example / "overlays/prod/kustomization.yaml").unlink()
    (example / "overlays/prod/kustomization.yaml").symlink_to(outside / "kustomization.yaml")
    before = everything(example, outside)
    result = run_cli(["render", "--check"], cwd=example)
    assert_refused(result, "overlays/prod/kustomization.yaml:1:1: a symlink (to ")
    assert everything(example, outside) == before


def test_symlinked_models_directory_or_file_pointing_outside(example: Path, outside: Path) -> None:
    (outside / "evil.yaml").write_text((example / "models/churn-scorer.yaml").read_text())
    (example / "models/evil.yaml").symlink_to(outside / "evil.yaml")
    before = everything(example, outside)
    result = run_cli(["build", "--env", "dev"], cwd=example)
    assert_refused(result, "models/evil.yaml:1:1: file resolves outside the repository")
    (example / "models/evil.yaml").unlink()
    moved = outside / "models"
    (example / "models").rename(moved)
    (example / "models").symlink_to(moved)
    before = everything(example, outside)
    result = run_cli(["render"], cwd=example)
    assert_refused(result, "models:1:1: models/ resolves outside the project")
    assert everything(example, outside) == before


def test_init_does_not_write_through_a_symlink_out_of_the_directory(tmp_path: Path, outside: Path) -> None:
    project = tmp_path / "new"
    project.mkdir()
    (project / "base").symlink_to(outside)
    before = everything(outside)
    result = run_cli(["init", str(project)])
    assert_refused(result, "base/platform/", "resolves outside the project", lines=4)
    assert everything(outside) == before
    assert sorted(p.name for p in project.iterdir()) == ["base"]


# --- escapes: cmp generate and diff ---------------------------------------------------------------


def cmp_generate(repo: Path, tmp_path: Path, env: str = "dev") -> GenerateResult:
    plugin: PluginConfig = load_plugin(PLUGIN_FILE)
    blocker = tmp_path / "regular-file"
    blocker.write_text("")
    sidecar_tmp = tmp_path / "sidecar-tmp"
    sidecar_tmp.mkdir(exist_ok=True)
    env_vars = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(blocker / "home"), "TMPDIR": str(sidecar_tmp)}
    request = AppRequest(
        repo_dir=repo,
        app_path=".",
        app_name="acme-ml",
        app_namespace=f"ml-{env}",
        project_name="acme-ml",
        repo_url="https://github.com/acme/ml-config.git",
        parameters=[Parameter("environment", string=env)],
    )
    return generate(plugin, request, sidecar_env=env_vars, workdir=tmp_path / "cmp-work", deadline_s=60)


def assert_cmp_refused(result: GenerateResult, *fragments: str) -> None:
    assert result.error is not None and result.stage == "generate", result.error
    assert result.objects == [] and result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert POSITIONED.match(message), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_cmp_generate_refuses_a_platform_that_leaves_the_checkout(example: Path, tmp_path: Path) -> None:
    write_platform(example, "resources:\n- ../../../../../../../../tmp\n")
    before = snapshot_tree(example)
    assert_cmp_refused(cmp_generate(example, tmp_path), "base/platform/kustomization.yaml:2:3:", "leaves base/platform")
    write_platform(example, "resources: [https://github.com/acme/evil//x?ref=main]\n")
    assert_cmp_refused(cmp_generate(example, tmp_path), "base/platform/kustomization.yaml:1:13:", "is remote")
    assert snapshot_tree(example) != before  # the platform changed between the two runs, nothing else
    assert sorted(snapshot_tree(example)) == sorted(before)


def commit_all(example: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=example, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")


def test_diff_refuses_an_escaping_platform_with_exit_2(example: Path, outside: Path) -> None:
    commit_all(example)
    write_platform(example, "resources: [../../../outside]\n")
    before = everything(example, outside)
    result = run_cli(["diff"], cwd=example)
    assert_refused(result, "working tree: base/platform/kustomization.yaml:1:13: ", "leaves base/platform", code=2)
    assert result.stdout == ""
    assert everything(example, outside) == before


def test_diff_never_reads_through_a_platform_symlink_out_of_the_project(example: Path, outside: Path) -> None:
    commit_all(example)
    write_platform(example, "resources: [cm.yaml]\n")
    (example / "base/platform/cm.yaml").symlink_to(outside / "cm.yaml")
    before = everything(example, outside)
    result = run_cli(["diff"], cwd=example)
    assert_refused(result, "working tree: base/platform/cm.yaml:1:1: symlink resolves outside the project", code=2)
    assert "leaked" not in result.stdout
    assert everything(example, outside) == before


# --- silent deletions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda m: (m / "fraud-detector.yaml").rename(m / "fraud-detector.YAML"),
            [
                "models/fraud-detector.YAML:1:1: not read as a model: models/ holds only <name>.yaml model "
                "specs (and dot-files such as .gitkeep); rename it to fraud-detector.yaml"
            ],
        ),
        (
            lambda m: (m / "churn-scorer.yaml").rename(m / "churn-scorer.yml"),
            ["models/churn-scorer.yml:1:1: not read as a model", "rename it to churn-scorer.yaml"],
        ),
        (
            lambda m: ((m / "team-a").mkdir(), (m / "churn-scorer.yaml").rename(m / "team-a/churn-scorer.yaml")),
            ["models/team-a:1:1: a directory; models/ is not read recursively"],
        ),
        (
            lambda m: (m / "README.md").write_text("# models\n"),
            ["models/README.md:1:1: not read as a model", "move it"],
        ),
    ],
    ids=["upper-case suffix", "yml", "subdirectory", "readme"],
)
def test_a_file_in_models_that_is_not_a_model_is_an_error(
    example: Path, change: Callable[[Path], object], expected: list[str]
) -> None:
    change(example / "models")
    before = snapshot_tree(example)
    for command in (["render"], ["render", "--check"], ["build", "--env", "prod"], ["validate"]):
        result = run_cli(command, cwd=example)
        assert_refused(result, *expected)
    assert snapshot_tree(example) == before
    assert_cmp_refused(cmp_generate(example, example.parent), expected[0].split(": ")[0])


def test_several_stray_files_give_one_line_each_and_dot_files_are_fine(example: Path) -> None:
    models = example / "models"
    (models / ".gitkeep").write_text("")
    (models / ".editorconfig").write_text("x")
    (models / "a.yml").write_text("")
    (models / "b.json").write_text("{}")
    result = run_cli(["render"], cwd=example)
    lines = assert_refused(result, lines=2)
    assert [line.split(":")[0] for line in lines] == ["models/a.yml", "models/b.json"]
    (models / "a.yml").unlink()
    (models / "b.json").unlink()
    assert run_cli(["render", "--check"], cwd=example).exit_code == 0


@pytest.mark.parametrize("path", ["plugins/flux", "overlays", "plugins/argocd", "base/models"])
def test_a_hand_written_file_at_a_generated_path_is_refused_not_overwritten(example: Path, path: str) -> None:
    import shutil

    shutil.rmtree(example / path)
    (example / path).write_text("hand-written notes\n")
    before = snapshot_tree(example)
    for command in (["render"], ["render", "--check"]):
        result = run_cli(command, cwd=example)
        assert_refused(result, f"{path}:1:1: a file where render writes the directory {path}")
    assert snapshot_tree(example) == before


# --- empty deployments ----------------------------------------------------------------------------


def remove_all_models(example: Path) -> None:
    for path in (example / "models").glob("*.yaml"):
        path.unlink()


def disable_everywhere(example: Path, env: str) -> None:
    for path in (example / "models").glob("*.yaml"):
        text = path.read_text()
        marker = "\nenvironments:\n"
        if marker in text:
            text = text.replace(marker, f"{marker}  {env}: {{enabled: false}}\n", 1)
            text = re.sub(rf"\n  {env}:\n(    .*\n)+", "\n", text)
            text = re.sub(rf"\n  {env}: (?!\{{enabled: false\}}).*\n", "\n", text)
        else:
            text += f"environments:\n  {env}: {{enabled: false}}\n"
        path.write_text(text)


def environment_position(example: Path, env: str) -> str:
    """`mlgitops.yaml:L:C` of the environment's name value, found independently of the tool."""
    for number, line in enumerate((example / "mlgitops.yaml").read_text().splitlines(), start=1):
        if line.startswith(f"- name: {env}"):
            return f"mlgitops.yaml:{number}:{line.index(env) + 1}"
    raise AssertionError(env)


def test_render_with_no_models_is_refused_per_environment(example: Path) -> None:
    remove_all_models(example)
    before = snapshot_tree(example)
    result = run_cli(["render"], cwd=example)
    lines = assert_refused(result, "has no model objects", "allowEmpty: true", lines=3)
    at = {env: environment_position(example, env) for env in ("dev", "staging", "prod")}
    assert [line.split(": ")[0] for line in lines] == [at["dev"], at["staging"], at["prod"]]
    assert "environment 'prod'" in lines[2]
    assert snapshot_tree(example) == before
    assert_refused(run_cli(["build", "--env", "staging"], cwd=example), f"{at['staging']}: environment 'staging'")
    assert_cmp_refused(cmp_generate(example, example.parent, "dev"), f"{at['dev']}:", "allowEmpty: true")


def test_every_model_disabled_in_one_environment_is_refused_there_only(example: Path) -> None:
    disable_everywhere(example, "staging")
    before = snapshot_tree(example)
    result = run_cli(["render"], cwd=example)
    at = environment_position(example, "staging")
    assert_refused(result, f"{at}: environment 'staging' has no model objects")
    assert snapshot_tree(example) == before
    assert run_cli(["build", "--env", "dev"], cwd=example).exit_code == 0
    assert_cmp_refused(cmp_generate(example, example.parent, "staging"), f"{at}:", "'staging'")


def test_allow_empty_lets_an_environment_be_emptied(example: Path) -> None:
    disable_everywhere(example, "staging")
    shutil.rmtree(example / "base/platform")  # only model objects, so the environment is empty
    project = example / "mlgitops.yaml"
    text = project.read_text().replace("  namespace: ml-staging\n", "  namespace: ml-staging\n  allowEmpty: true\n")
    project.write_text(text)
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 0, result.stderr
    assert "base/models" not in (example / "overlays/staging/kustomization.yaml").read_text()
    built = run_cli(["build", "--env", "staging"], cwd=example)
    assert built.exit_code == 0 and "kind: Namespace" in built.stdout and "InferenceService" not in built.stdout
    generated = cmp_generate(example, example.parent, "staging")
    assert generated.error is None and [o["kind"] for o in generated.objects] == ["Namespace"]


def change_every_generated_directory(example: Path) -> None:
    """Spec edits that change base/models, overlays, plugins/argocd and plugins/flux (8 renames)."""
    model = example / "models/support-llm.yaml"
    model.write_text(model.read_text().replace("owner: ", "owner: x", 1))
    model = example / "models/fraud-detector.yaml"
    model.write_text(model.read_text().replace("replicas: {min: 3, max: 10}", "replicas: {min: 4, max: 12}"))
    project = example / "mlgitops.yaml"
    project.write_text(project.read_text().replace("revision: main", "revision: release"))


# --- EXDEV and init paths --------------------------------------------------------------------------


@pytest.mark.parametrize("failing_call", [1, 2, 3, 5, 8])
def test_rename_across_file_systems_is_one_line_and_leaves_the_tree(
    example: Path, monkeypatch: pytest.MonkeyPatch, failing_call: int
) -> None:
    change_every_generated_directory(example)
    before = snapshot_tree(example)
    real_rename = os.rename
    calls = {"n": 0}

    def cross_device(source: str | Path, target: str | Path) -> None:
        calls["n"] += 1
        if calls["n"] == failing_call:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(source))
        real_rename(source, target)

    monkeypatch.setattr(os, "rename", cross_device)
    result = run_cli(["render"], cwd=example)
    monkeypatch.undo()
    assert_refused(result, "cannot swap in the new ", "another file system")
    assert snapshot_tree(example) == before
    assert not list(example.glob(STAGING_PREFIX + "*"))
    assert not (example / JOURNAL_FILE).exists() and not (example / LOCK_FILE).exists()
    assert run_cli(["render"], cwd=example).exit_code == 0


def test_a_full_disk_while_staging_is_one_line_and_leaves_the_tree(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    change_every_generated_directory(example)
    before = snapshot_tree(example)
    real_write = os.write  # staging writes files with os.write (tree._write_new)
    calls = {"n": 0}

    def full_disk(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    result = run_cli(["render"], cwd=example)
    monkeypatch.undo()
    assert_refused(result, "cannot write the new ", "No space left on device")
    assert snapshot_tree(example) == before and not list(example.glob(STAGING_PREFIX + "*"))


def test_init_under_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    before = snapshot_tree(tmp_path)
    result = run_cli(["init", "afile/sub"], cwd=tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [f"{tmp_path}/afile/sub: {tmp_path}/afile is a file, not a directory"]
    assert snapshot_tree(tmp_path) == before


def test_init_where_nothing_can_be_created_is_one_line(tmp_path: Path) -> None:
    result = run_cli(["init", "/proc/mlgitops-test/x"])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    expected = "/proc/mlgitops-test/x: cannot write /proc/mlgitops-test: No such file or directory"
    assert result.stderr.splitlines() == [expected]
    assert not Path("/proc/mlgitops-test").exists()


def test_init_that_fails_mid_way_removes_what_it_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlgitops.gitops import scaffold

    real_write = scaffold._write

    def write_then_fail(root: Path, files: dict[str, str]) -> None:
        real_write(root, files)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(root / "README.md"))

    monkeypatch.setattr(scaffold, "_write", write_then_fail)
    result = run_cli(["init", "deep/new"], cwd=tmp_path)
    assert result.exit_code == 1 and "No space left on device" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_allow_empty_without_a_namespace_passes_through_to_argo_cds_own_guard(example: Path) -> None:
    """An emptied environment with allowEmpty renders an empty stream, and its Application (or the
    ApplicationSet's) sets syncPolicy.automated.allowEmpty, without which Argo CD refuses to prune to
    nothing (argo-cd pkg/apis/application/v1alpha1/types.go, SyncPolicyAutomated.AllowEmpty)."""
    import yaml

    disable_everywhere(example, "dev")
    shutil.rmtree(example / "base/platform")  # only model objects, so the environment is empty
    project = example / "mlgitops.yaml"
    text = project.read_text().replace("  namespace: ml-dev\n", "  namespace: ml-dev\n  createNamespace: false\n", 1)
    project.write_text(text)
    assert_cmp_refused(cmp_generate(example, example.parent, "dev"), "has no model objects", "allowEmpty: true")
    project.write_text(text.replace("  createNamespace: false\n", "  createNamespace: false\n  allowEmpty: true\n", 1))
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 0, result.stderr
    generated = cmp_generate(example, example.parent, "dev")
    assert generated.error is None and generated.empty
    dev = yaml.safe_load((example / "plugins/argocd/application-acme-ml-dev.yaml").read_text())
    staging = yaml.safe_load((example / "plugins/argocd/application-acme-ml-staging.yaml").read_text())
    assert dev["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True, "allowEmpty": True}
    assert staging["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    with_appset = project.read_text().replace("  mode: plugin\n", "  mode: plugin\n  applicationSet: true\n")
    project.write_text(with_appset)
    assert run_cli(["render"], cwd=example).exit_code == 0
    appset = (example / "plugins/argocd/applicationset-acme-ml.yaml").read_text()
    assert "{{- if .allowEmpty }}" in appset
    elements = yaml.safe_load(appset)["spec"]["generators"][0]["list"]["elements"]
    assert [e["allowEmpty"] for e in elements] == [True, False, False]


@pytest.mark.parametrize(
    ("where", "command", "expected"),
    [
        ("models/blocking.yaml", ["render"], "models/blocking.yaml:1:1: not a regular file"),
        ("base/platform/pipe.yaml", ["build", "--env", "dev"], "base/platform/pipe.yaml:1:1: a special file"),
        ("overlays/prod/pipe.yaml", ["render", "--check"], "overlays/prod/pipe.yaml:1:1: a special file"),
    ],
)
def test_a_fifo_is_refused_without_being_read(example: Path, where: str, command: list[str], expected: str) -> None:
    """Reading a FIFO blocks forever: the CLI runs in a subprocess with a timeout so a regression fails."""
    if where.startswith("base/platform/"):
        write_platform(example, "resources: []\n")
    os.mkfifo(example / where)
    argv = [str(BIN / "mlgitops"), "-C", str(example), *command]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0].startswith(expected), proc.stderr
    assert len(proc.stderr.splitlines()) == 1
