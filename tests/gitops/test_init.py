"""`mlgitops init`: a new user's first minutes, with the real CLI, real git and the real Kustomize."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from mlgitops.gitops.scaffold import ci_definition, schema_text
from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from tests.conftest import kustomize_objects, object_identity, run_cli, snapshot_tree

MLGITOPS = str(Path(sys.executable).parent / "mlgitops")
ENVS = ["dev", "staging", "prod"]
MODEL = "models/example-classifier.yaml"
PLATFORM = {
    ("v1", "ServiceAccount", "model-reader"),
    ("v1", "ServiceAccount", "trainer"),
    ("rbac.authorization.k8s.io/v1", "Role", "argo-workflows-executor"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "trainer-argo-workflows-executor"),
    ("v1", "ConfigMap", "artifact-repositories"),
}


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A command as a user types it (no in-process shortcuts)."""
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def git(cwd: Path, *args: str) -> str:
    argv = [
        "git",
        "-c",
        "user.name=New User",
        "-c",
        "user.email=new.user@example.com",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "init.defaultBranch=main",
        *args,
    ]
    proc = run(argv, cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_new_user_gets_a_working_project(tmp_path: Path) -> None:
    created = run([MLGITOPS, "init", "demo"], tmp_path)
    assert created.returncode == 0, created.stderr
    assert "'demo'" in created.stdout and "git init" in created.stdout
    demo = tmp_path / "demo"
    git(demo, "init", "-q")
    git(demo, "add", "-A")
    git(demo, "commit", "-q", "-m", "mlgitops init")
    assert git(demo, "status", "--porcelain") == ""  # .gitignore leaves nothing behind

    check = run([MLGITOPS, "render", "--check"], demo)
    assert (check.returncode, check.stdout) == (0, ""), check.stderr

    # Every environment builds with plain Kustomize: its namespace, the hand-written platform
    # resources, and exactly the objects mlgitops computes for it, all in the environment's namespace.
    workspace = load_workspace(demo)
    renders = render_models(workspace)
    for env in ENVS:
        objects = kustomize_objects(demo / "overlays" / env)
        namespace = f"demo-{env}"
        expected = {object_identity(o) for o in environment_objects(workspace, env, renders)}
        expected |= {(api, kind, namespace, name) for api, kind, name in PLATFORM}
        assert {object_identity(o) for o in objects} == expected
        assert ("v1", "Namespace", "", namespace) in expected
        kinds = {o["kind"] for o in objects}
        assert "InferenceService" in kinds
        trains = env == ENVS[-1]  # training.environments defaults to the last environment
        assert ("WorkflowTemplate" in kinds) == ("CronWorkflow" in kinds) == trains

    # Editing the model makes the check fail, naming the stale files and the fix, until `render` runs.
    model = demo / MODEL
    text = model.read_text()
    model.write_text(text.replace('version: "1"', 'version: "2"').replace("/1/model", "/2/model"))
    stale = run([MLGITOPS, "render", "--check"], demo)
    assert stale.returncode == 1
    assert "base/models/example-classifier/inferenceservice-example-classifier.yaml" in stale.stdout.split()
    assert "`mlgitops render`" in stale.stderr
    assert git(demo, "status", "--porcelain").split() == ["M", MODEL]  # --check wrote nothing
    rendered = run([MLGITOPS, "render"], demo)
    assert rendered.returncode == 0, rendered.stderr
    assert run([MLGITOPS, "render", "--check"], demo).returncode == 0
    prod = kustomize_objects(demo / "overlays" / "prod")
    service = next(o for o in prod if o["kind"] == "InferenceService")
    assert service["metadata"]["labels"]["app.kubernetes.io/version"] == "2"
    changed = git(demo, "status", "--porcelain")
    assert "base/models/example-classifier/inferenceservice-example-classifier.yaml" in changed


def test_spec_files_point_editors_at_the_schema(tmp_path: Path) -> None:
    assert run_cli(["init", "demo"], cwd=tmp_path).exit_code == 0
    demo = tmp_path / "demo"
    printed = run([MLGITOPS, "schema"], demo).stdout
    validator = Draft202012Validator(yaml.safe_load(printed))
    for spec in ("mlgitops.yaml", MODEL):
        first = (demo / spec).read_text().splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, first
        schema_file = (demo / spec).parent / match[1]
        assert schema_file.resolve() == (demo / ".mlgitops" / "schema.json").resolve()
        assert schema_file.read_text() == printed == schema_text()
        errors = list(validator.iter_errors(yaml.safe_load((demo / spec).read_text())))
        assert errors == [], (spec, [e.message for e in errors])
    broken = yaml.safe_load((demo / MODEL).read_text())
    broken["serving"]["replcas"] = {"min": 1}
    assert any("replcas" in e.message for e in validator.iter_errors(broken))


def test_init_overwrites_nothing_without_force(tmp_path: Path) -> None:
    assert run_cli(["init", "demo"], cwd=tmp_path).exit_code == 0
    demo = tmp_path / "demo"
    model = demo / MODEL
    model.write_text(model.read_text().replace("owner: team-ml", "owner: team-risk"))
    before = snapshot_tree(demo)
    again = run_cli(["init", "demo"], cwd=tmp_path)
    assert again.exit_code == 2
    assert again.stdout == ""
    assert len(again.stderr.splitlines()) == 1
    assert "mlgitops.yaml" in again.stderr and "--force" in again.stderr
    assert snapshot_tree(demo) == before

    forced = run_cli(["init", "demo", "--force"], cwd=tmp_path)
    assert forced.exit_code == 0, forced.stderr
    assert "owner: team-ml" in model.read_text()
    assert run_cli(["render", "--check"], cwd=demo).exit_code == 0


def test_init_into_a_directory_with_only_unrelated_files(tmp_path: Path) -> None:
    (tmp_path / "LICENSE").write_text("Apache-2.0\n")
    (tmp_path / "src").mkdir()
    result = run_cli(["init"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "LICENSE").read_text() == "Apache-2.0\n"
    expected = re.sub(r"[^a-z0-9-]+", "-", tmp_path.name.lower())
    assert load_workspace(tmp_path).project.metadata.name == expected


def test_forced_init_that_cannot_render_writes_nothing(tmp_path: Path) -> None:
    assert run_cli(["init", "demo"], cwd=tmp_path).exit_code == 0
    demo = tmp_path / "demo"
    broken = "apiVersion: mlgitops.io/v1alpha1\nkind: Model\nmetadata: {name: broken}\n"
    (demo / "models" / "broken.yaml").write_text(broken)
    project = demo / "mlgitops.yaml"
    project.write_text(project.read_text().replace("revision: main", "revision: dev"))
    before = snapshot_tree(demo)
    result = run_cli(["init", "demo", "--force"], cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stderr.startswith("models/broken.yaml:")
    assert snapshot_tree(demo) == before


def test_forced_init_over_a_directory_in_the_way_writes_nothing(tmp_path: Path) -> None:
    assert run_cli(["init", "demo"], cwd=tmp_path).exit_code == 0
    demo = tmp_path / "demo"
    (demo / "README.md").unlink()
    (demo / "README.md").mkdir()
    (demo / MODEL).write_text((demo / MODEL).read_text().replace("owner: team-ml", "owner: team-risk"))
    before = snapshot_tree(demo)
    result = run_cli(["init", "demo", "--force"], cwd=tmp_path)
    assert result.exit_code == 2
    assert "README.md is not a regular file" in result.stderr
    assert snapshot_tree(demo) == before


def test_forced_init_keeps_the_tree_consistent_with_other_models(tmp_path: Path) -> None:
    assert run_cli(["init", "demo"], cwd=tmp_path).exit_code == 0
    demo = tmp_path / "demo"
    other = (demo / MODEL).read_text().replace("name: example-classifier", "name: other-model")
    (demo / "models" / "other-model.yaml").write_text(other)
    assert run_cli(["init", "demo", "--force"], cwd=tmp_path).exit_code == 0
    assert (demo / "base" / "models" / "other-model" / "kustomization.yaml").is_file()
    assert run_cli(["render", "--check"], cwd=demo).exit_code == 0


@pytest.mark.parametrize(
    ("ci", "present", "absent"),
    [
        ("github", ".github/workflows/mlgitops.yml", ".gitlab-ci.yml"),
        ("gitlab", ".gitlab-ci.yml", ".github"),
        ("none", None, ".github"),
    ],
)
def test_ci_choice(tmp_path: Path, ci: str, present: str | None, absent: str) -> None:
    url = "git@gitlab.example.com:ml/x.git"
    result = run_cli(["init", "demo", "--ci", ci, "--name", "fraud", "--repo-url", url], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    demo = tmp_path / "demo"
    if present:
        assert (demo / present).read_text() == ci_definition(ci)
    assert not (demo / absent).exists()
    workspace = load_workspace(demo)
    assert workspace.project.metadata.name == "fraud"
    assert workspace.project.repoURL == url
    namespaces = [e.namespace for e in workspace.project.environments]
    assert namespaces == ["fraud-dev", "fraud-staging", "fraud-prod"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "demo", "--name", "Fraud_Detector"], "--name"),
        (["init", "demo", "--repo-url", "file:///srv/ml.git"], "--repo-url"),
        (["init", "notes.txt"], "not a directory"),
        (["init", "demo", "--ci", "jenkins"], "invalid choice"),
    ],
)
def test_usage_problems_exit_2_and_write_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    before = snapshot_tree(tmp_path)
    result = run_cli(args, cwd=tmp_path)
    assert result.exit_code == 2
    assert message in result.stderr
    assert snapshot_tree(tmp_path) == before


def test_long_directory_names_still_give_valid_namespaces(tmp_path: Path) -> None:
    name = "a" * 70
    result = run_cli(["init", name], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    project = load_workspace(tmp_path / name).project
    assert len(project.metadata.name) <= 63
    assert all(len(e.namespace) <= 63 for e in project.environments)


def test_init_honours_global_directory_option(tmp_path: Path) -> None:
    proc = run([MLGITOPS, "-C", str(tmp_path), "init", "demo"], Path("/"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "demo" / "mlgitops.yaml").is_file()


def test_a_full_temporary_directory_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """init tries the new project in a temporary directory first; a full disk there is not a traceback."""
    import errno
    import tempfile

    def full(*args: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    existing = tmp_path / "demo"
    existing.mkdir()
    (existing / "README.md").write_text("# a repository init adopts\n")
    monkeypatch.setattr(tempfile, "TemporaryDirectory", full)
    result = run_cli(["init", str(existing)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "No space left on device" in result.stderr and "TMPDIR" in result.stderr
    assert sorted(p.name for p in existing.iterdir()) == ["README.md"]
