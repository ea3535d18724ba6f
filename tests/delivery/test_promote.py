"""`mlgitops promote`: only the pin's lines change; order, canary and validity are checked before writing."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.conftest import copy_example, run_cli, snapshot_tree

DATA = Path(__file__).parents[1] / "data" / "promote"
SPEC = "models/fraud-detector.yaml"


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The removed and added lines (with their line ends), from difflib, independent of any golden file."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    removed: list[str] = []
    added: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += old[i1:i2]
            added += new[j1:j2]
    return removed, added


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "repo")


def with_spec(project: Path, newline: str = "\n") -> str:
    text = (DATA / "before.yaml").read_text().replace("\n", newline)
    (project / SPEC).write_bytes(text.encode())
    assert run_cli(["render"], cwd=project).exit_code == 0
    return text


def spec(project: Path) -> str:
    return (project / SPEC).read_bytes().decode()


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_prod_from_staging_changes_only_the_pin_line(project: Path, newline: str) -> None:
    before = with_spec(project, newline)
    result = run_cli(["promote", "fraud-detector", "--to", "prod", "--from", "staging"], cwd=project)
    assert result.exit_code == 0, result.stderr
    after = spec(project)
    removed, added = changed_lines(before, after)
    assert [line.strip() for line in removed] == [
        'model: {version: "6", storageUri: s3://ml-models/fraud-detector/6/model, '
        "registry: models:/fraud-detector/6}  # prod pin"
    ]
    assert added == [
        '    model: {version: "8.1.0", storageUri: s3://ml-models/fraud-detector/8/model, '
        "registry: models:/fraud-detector/8}  # prod pin" + newline
    ]
    assert after == (DATA / "after-prod.yaml").read_text().replace("\n", newline)
    assert run_cli(["render", "--check"], cwd=project).exit_code == 0
    built = run_cli(["build", "--env", "prod", "--model", "fraud-detector"], cwd=project)
    assert "s3://ml-models/fraud-detector/8/model" in built.stdout
    assert "fraud-detector/6/" not in built.stdout


def test_block_pin_keeps_quoting_and_comments(project: Path) -> None:
    before = with_spec(project)
    args = ["promote", "fraud-detector", "--to", "staging", "--from", "dev", "--no-render"]
    assert run_cli(args, cwd=project).exit_code == 0  # dev runs the top-level '7': the staging pin goes
    after = spec(project)
    removed, added = changed_lines(before, after)
    assert added == []
    assert [line.strip() for line in removed] == [  # staging held only the pin: it goes too
        "staging:",
        "model:",
        "version: 8.1.0      # unquoted version",
        'storageUri: "s3://ml-models/fraud-detector/8/model"',
        "registry: models:/fraud-detector/8",
    ]
    # and back: an explicit pin is added as one line
    middle = spec(project)
    args = [
        "promote",
        "fraud-detector",
        "--to",
        "staging",
        "--version",
        "8.1.0",
        "--no-render",
        "--force",
        "--reason",
        "test",
        "--storage-uri",
        "s3://ml-models/fraud-detector/8/model",
        "--registry",
        "models:/fraud-detector/8",
    ]
    assert run_cli(args, cwd=project).exit_code == 0
    removed, added = changed_lines(middle, spec(project))
    assert added == [
        "  staging: {model: {version: 8.1.0, storageUri: s3://ml-models/fraud-detector/8/model, "
        "registry: models:/fraud-detector/8}}\n"
    ]
    assert removed == []


def test_first_environment_pin_added_and_removed_round_trips(project: Path) -> None:
    before = with_spec(project)
    args = [
        "promote",
        "fraud-detector",
        "--to",
        "dev",
        "--version",
        "9",
        "--storage-uri",
        "s3://m/9/model",
        "--registry",
        "models:/fraud-detector/9",
    ]
    assert run_cli(args, cwd=project).exit_code == 0
    removed, added = changed_lines(before, spec(project))
    assert removed == []
    assert added == ['    model: {version: "9", storageUri: s3://m/9/model, registry: models:/fraud-detector/9}\n']
    assert spec(project).index(added[0]) > spec(project).index("# inside dev")
    assert run_cli(["render", "--check"], cwd=project).exit_code == 0
    back = [
        "promote",
        "fraud-detector",
        "--to",
        "dev",
        "--version",
        "7",
        "--storage-uri",
        "s3://ml-models/fraud-detector/7/model",
        "--registry",
        "models:/fraud-detector/7",
    ]
    assert run_cli(back, cwd=project).exit_code == 0
    assert spec(project) == before  # the pin equals the top-level one: removed, byte for byte


def test_order_refusal_is_one_line_and_writes_nothing(project: Path) -> None:
    with_spec(project)
    snapshot = snapshot_tree(project)
    args = ["promote", "fraud-detector", "--to", "staging", "--version", "9", "--storage-uri", "s3://m/9/model"]
    result = run_cli(args, cwd=project)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "models/fraud-detector.yaml: promotion order: '9' may enter 'staging' only after 'dev', which runs '7'; "
        "promote it to 'dev' first or use --force with --reason"
    ]
    assert snapshot_tree(project) == snapshot
    forced = run_cli([*args, "--force"], cwd=project)
    assert forced.exit_code == 2 and "--reason" in forced.stderr


def test_invalid_result_writes_nothing(project: Path) -> None:
    with_spec(project)
    snapshot = snapshot_tree(project)
    args = ["promote", "fraud-detector", "--to", "dev", "--version", "9", "--storage-uri", "ftp://nowhere"]
    result = run_cli(args, cwd=project)
    assert result.exit_code == 1
    assert result.stderr.startswith("models/fraud-detector.yaml:"), result.stderr
    assert snapshot_tree(project) == snapshot


def test_dry_run_prints_the_change_and_writes_nothing(project: Path) -> None:
    with_spec(project)
    snapshot = snapshot_tree(project)
    result = run_cli(["promote", "fraud-detector", "--to", "prod", "--from", "staging", "--dry-run"], cwd=project)
    assert result.exit_code == 0
    assert '+    model: {version: "8.1.0"' in result.stdout and '-    model: {version: "6"' in result.stdout
    assert snapshot_tree(project) == snapshot


def test_dry_run_prints_the_pr_body_instead_of_writing_it(project: Path) -> None:
    with_spec(project)
    snapshot = snapshot_tree(project)
    result = run_cli(
        [
            "promote",
            "fraud-detector",
            "--to",
            "prod",
            "--from",
            "staging",
            "--dry-run",
            "--reason",
            "why not",
            "--pr-body",
            "pr.md",
        ],
        cwd=project,
    )
    assert result.exit_code == 0, result.stderr
    assert snapshot_tree(project) == snapshot  # no pr.md either
    assert "**Reason:** why not" in result.stdout


def test_promoting_the_canary_version_completes_the_canary(project: Path) -> None:
    """The bundled example: staging runs a canary of 8; 8 through dev into staging ends it."""
    snapshot = snapshot_tree(project)
    to_staging = ["promote", "fraud-detector", "--to", "staging", "--from", "dev"]
    other = run_cli(
        ["promote", "fraud-detector", "--to", "dev", "--version", "9", "--storage-uri", "s3://m/9/model"], cwd=project
    )
    assert other.exit_code == 0
    refused = run_cli(to_staging, cwd=project)
    assert refused.exit_code == 1
    assert "runs a canary of '8'" in refused.stderr
    eight = ["--version", "8", "--storage-uri", "s3://ml-models/fraud-detector/8/model"]
    to_dev = ["promote", "fraud-detector", "--to", "dev", *eight, "--registry", "models:/fraud-detector/8"]
    assert run_cli(to_dev, cwd=project).exit_code == 0
    before = spec(project)
    done = run_cli(to_staging, cwd=project)
    assert done.exit_code == 0, done.stderr
    assert "canary completed" in done.stderr
    removed, added = changed_lines(before, spec(project))
    # staging's serving block keeps the Knative mode its canary needed; only the canary line goes.
    assert [line.strip() for line in removed] == [
        'canary: {version: "8", storageUri: s3://ml-models/fraud-detector/8/model, trafficPercent: 10}',
    ]
    assert added == [
        '    model: {version: "8", storageUri: s3://ml-models/fraud-detector/8/model, '
        "registry: models:/fraud-detector/8}\n"
    ]
    assert run_cli(["render", "--check"], cwd=project).exit_code == 0
    built = run_cli(["build", "--env", "staging", "--model", "fraud-detector"], cwd=project).stdout
    assert "fraud-detector/8/model" in built and "fraud-detector/7/model" not in built
    assert "canary" not in built.lower()
    assert snapshot != snapshot_tree(project)


def test_pr_body_names_the_change_the_reason_and_the_ml_summary(project: Path) -> None:
    args = [
        "promote",
        "fraud-detector",
        "--to",
        "prod",
        "--from",
        "staging",
        "--reason",
        "auc 0.95 for two weeks",
        "--pr-body",
        "pr.md",
    ]
    result = run_cli(args, cwd=project)
    assert result.exit_code == 0, result.stderr
    body = (project / "pr.md").read_text()
    assert body.startswith("## Promote fraud-detector to prod: 6 → 7\n")
    assert "**Reason:** auc 0.95 for two weeks" in body
    assert "**ML summary** (`mlgitops diff`): prod / fraud-detector: version 6 → 7" in body
    assert '-    model: {version: "6"' in body
    (project / "pr.md").unlink()
    diffed = run_cli(["render", "--check"], cwd=project)
    assert diffed.exit_code == 0


def test_cmp_generate_never_imports_ruamel(project: Path) -> None:
    from tests.cli.test_lean_imports import imported_modules

    proc, modules = imported_modules(project, "cmp", "generate", env={"PARAM_ENVIRONMENT": "prod"})
    assert proc.returncode == 0 and "mlgitops.gitops.cmp" in modules
    assert not [m for m in modules if m.startswith(("ruamel", "mlgitops.delivery.promotion"))]
    proc, modules = imported_modules(
        project, "promote", "fraud-detector", "--to", "prod", "--from", "staging", "--dry-run", env={}
    )
    assert proc.returncode == 0, proc.stderr
    # the probe sees them when used
    assert "ruamel.yaml" in modules and "mlgitops.delivery.promotion.yamledit" in modules


def test_with_canary_takes_the_source_canary_along(project: Path) -> None:
    args = ["promote", "fraud-detector", "--to", "prod", "--from", "staging", "--with-canary"]
    snapshot = snapshot_tree(project)
    refused = run_cli(args, cwd=project)  # prod serves in Standard mode, where KServe routes no canary traffic
    assert refused.exit_code == 1 and "routes only to the stable predictor" in refused.stderr
    assert "(in environment 'prod')" in refused.stderr
    assert snapshot_tree(project) == snapshot
    model_file = project / "models" / "fraud-detector.yaml"
    knative = "serving: {mode: Knative, autoscaling: {metric: concurrency}, replicas: {min: 3, max: 10}}"
    model_file.write_text(model_file.read_text().replace("serving: {replicas: {min: 3, max: 10}}", knative))
    assert run_cli(["render"], cwd=project).exit_code == 0
    before = spec(project)
    result = run_cli(args, cwd=project)
    assert result.exit_code == 0, result.stderr
    removed, added = changed_lines(before, spec(project))
    assert [line.strip() for line in removed] == [
        'model: {version: "6", storageUri: s3://ml-models/fraud-detector/6/model, registry: models:/fraud-detector/6}',
        knative,
    ]
    assert len(added) == 1
    assert 'canary: {version: "8", storageUri: s3://ml-models/fraud-detector/8/model, trafficPercent: 10}' in added[0]
    assert "mode: Knative" in added[0]
    assert run_cli(["render", "--check"], cwd=project).exit_code == 0
    built = run_cli(["build", "--env", "prod", "--model", "fraud-detector"], cwd=project).stdout
    assert "fraud-detector/8/model" in built and "canaryTrafficPercent: 10" in built
    again = run_cli(args, cwd=project)
    assert again.exit_code == 1 and "runs a canary of '8'" in again.stderr


def test_set_default_moves_the_top_level_pin_and_keeps_the_others_where_they_are(project: Path) -> None:
    before = spec(project)
    nine = [
        "--version",
        "9",
        "--storage-uri",
        "s3://ml-models/fraud-detector/9/model",
        "--registry",
        "models:/fraud-detector/9",
    ]
    refused = run_cli(["promote", "fraud-detector", "--to", "staging", *nine, "--set-default"], cwd=project)
    assert refused.exit_code == 2 and "only for the first environment, 'dev'" in refused.stderr
    result = run_cli(["promote", "fraud-detector", "--to", "dev", *nine, "--set-default"], cwd=project)
    assert result.exit_code == 0, result.stderr
    removed, added = changed_lines(before, spec(project))
    assert removed == [
        '  version: "7"\n',
        "  storageUri: s3://ml-models/fraud-detector/7/model\n",
        "  registry: models:/fraud-detector/7\n",
    ]
    assert added == [
        '  version: "9"\n',
        "  storageUri: s3://ml-models/fraud-detector/9/model\n",
        "  registry: models:/fraud-detector/9\n",
        '    model: {version: "7", storageUri: s3://ml-models/fraud-detector/7/model, '
        "registry: models:/fraud-detector/7}\n",
    ]
    assert run_cli(["render", "--check"], cwd=project).exit_code == 0
    for env, version in (("dev", "9"), ("staging", "7"), ("prod", "6")):
        built = run_cli(["build", "--env", env, "--model", "fraud-detector"], cwd=project).stdout
        assert f'app.kubernetes.io/version: "{version}"' in built, env
        # staging runs its canary of 8 in Knative mode: the predictor's storageUri is the canary's, and 7 lives
        # on in the previous revision (canaryTrafficPercent), as the version label says.
        serving = "8" if env == "staging" else version
        assert f"fraud-detector/{serving}/model" in built, env


def test_editor_keeps_anchors_quote_styles_and_comments_in_flow_maps() -> None:
    from mlgitops.delivery.promotion.yamledit import Editor

    text = (
        "# head\r\n"
        "model:\r\n"
        "  version: &v '7'   # anchored, single-quoted\r\n"
        "  storageUri: !!str s3://b/7\r\n"
        "environments:\r\n"
        '  dev: {model: {version: *v, storageUri: "s3://b/7"}, serving: {replicas: {min: 0}}}  # flow\r\n'
        "  prod:\r\n"
        "    # before the pin\r\n"
        "    model: {\r\n"
        '      version: "6",   # inside a flow map\r\n'
        "      storageUri: s3://b/6}\r\n"
        "\r\n"
        "    serving: {replicas: {min: 3}}\r\n"
    )
    editor = Editor(text, "m.yaml")
    editor.set_scalar(("model", "version"), "it's 8")
    editor.set_scalar(("model", "storageUri"), "s3://b/8")
    editor.set_scalar(("environments", "dev", "model", "storageUri"), "s3://b/9")
    editor.set_scalar(("environments", "prod", "model", "version"), "10")
    editor.remove_key(("environments", "dev", "model", "version"))
    removed, added = changed_lines(text, editor.text)
    assert removed == [
        "  version: &v '7'   # anchored, single-quoted\r\n",
        "  storageUri: !!str s3://b/7\r\n",
        '  dev: {model: {version: *v, storageUri: "s3://b/7"}, serving: {replicas: {min: 0}}}  # flow\r\n',
        '      version: "6",   # inside a flow map\r\n',
    ]
    assert added == [
        "  version: &v 'it''s 8'   # anchored, single-quoted\r\n",
        "  storageUri: !!str s3://b/8\r\n",
        '  dev: {model: {storageUri: "s3://b/9"}, serving: {replicas: {min: 0}}}  # flow\r\n',
        '      version: "10",   # inside a flow map\r\n',
    ]
    import yaml

    data = yaml.safe_load(editor.text)
    assert data["model"]["version"] == "it's 8" and data["environments"]["prod"]["model"]["version"] == "10"
