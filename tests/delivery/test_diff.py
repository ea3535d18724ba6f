"""`mlgitops diff` over real Git repositories built in a temporary directory."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from mlgitops.delivery.diff import snapshot as diff_snapshot
from mlgitops.delivery.diff.markdown import MARKDOWN_BUDGET
from mlgitops.delivery.diff.results import object_id
from mlgitops.delivery.diff.snapshot import Snapshot, add_model_objects
from tests.conftest import CliResult, copy_example, run_cli, snapshot_tree

GIT_CONFIG = [
    "-c", "user.name=Test", "-c", "user.email=test@example.com",
    "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main",
]  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *GIT_CONFIG, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new))


@pytest.fixture
def scratch_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files of the command go here, so a test can prove none are left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def repo(tmp_path: Path, scratch_tmp: Path) -> Path:
    """The bundled example, committed on `main` of a fresh repository."""
    root = copy_example(tmp_path / "repo")
    git(root, "init", "-q")
    commit_all(root, "example")
    return root


def diff(repo: Path, *args: str) -> CliResult:
    return run_cli(["diff", *args], cwd=repo)


def as_json(repo: Path, *args: str) -> dict[str, Any]:
    result = diff(repo, "--format", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def envs_with_changes(data: dict[str, Any]) -> list[str]:
    return [e["name"] for e in data["environments"] if e["added"] or e["changed"] or e["removed"]]


def bump_prod(repo: Path) -> None:
    model = repo / "models/fraud-detector.yaml"
    old = 'model: {version: "6", storageUri: s3://ml-models/fraud-detector/6/model, registry: models:/fraud-detector/6}'
    edit(model, old, old.replace("6", "7"))
    edit(model, "serving: {replicas: {min: 3, max: 10}}", "serving: {replicas: {min: 4, max: 12}}")


def assert_valid_markdown(text: str) -> None:
    """Every fence closed by a fence of the same length, every <details> closed, outside any fence."""
    fence: str | None = None
    depth = 0
    for line in text.splitlines():
        match = re.match(r"^(`{3,})(.*)$", line)
        if fence is None:
            if match:
                fence = match.group(1)
                continue
            depth += line.count("<details>") - line.count("</details>")
            assert depth >= 0, line
        elif match and match.group(1) == fence and not match.group(2).strip():
            fence = None
    assert fence is None, "unclosed code fence"
    assert depth == 0, "unclosed <details>"


# --- the cases of the issue ----------------------------------------------------------------------


def test_no_change_exits_0(repo: Path) -> None:
    result = diff(repo)
    assert result.exit_code == 0, result.stderr
    assert "no changes in 3 environments" in result.stdout
    assert as_json(repo)["changed"] is False


def test_version_bump_in_prod_only_names_prod_alone(repo: Path) -> None:
    bump_prod(repo)
    result = diff(repo)
    assert result.exit_code == 1, result.stderr
    lines = result.stdout.splitlines()
    summary = [line for line in lines if re.match(r"^prod\s+fraud-detector\s", line)]
    assert summary == ["prod  fraud-detector  version 6 → 7, replicas 3–10 → 4–12"]
    titles = [line for line in lines if re.match(r"^[-+~] (dev|staging|prod)  ", line)]
    smoke = r"^([-+]) prod  (ConfigMap|batch/Job) ml-prod/fraud-detector-smoke-[0-9a-f]{8}  \(renamed (from|to) "
    assert [line for line in titles if not re.match(smoke, line)] == [
        "~ prod  argoproj.io/CronWorkflow ml-prod/fraud-detector-train",
        "~ prod  argoproj.io/WorkflowTemplate ml-prod/fraud-detector-train",
        "~ prod  serving.kserve.io/InferenceService ml-prod/fraud-detector",
    ]
    # the smoke tests of the new version: a new ConfigMap and Job, the old pair deleted (docs/smoke-tests.md)
    assert sorted(m[1] + m[2] for line in titles if (m := re.match(smoke, line))) == [
        "+ConfigMap",
        "+batch/Job",
        "-ConfigMap",
        "-batch/Job",
    ]
    assert "ml-dev" not in result.stdout and "ml-staging" not in result.stdout
    assert not re.search(r"^(dev|staging)\s", result.stdout, re.M)
    replicas = "-    maxReplicas: 10\n-    minReplicas: 3\n+    maxReplicas: 12\n+    minReplicas: 4\n"
    assert replicas in result.stdout
    assert "+      storageUri: s3://ml-models/fraud-detector/7/model" in result.stdout
    # the summary comes before the raw diffs
    assert result.stdout.index("version 6 → 7") < result.stdout.index("--- a/prod/")

    data = as_json(repo)
    assert envs_with_changes(data) == ["prod"]
    prod = data["environments"][2]
    assert (prod["added"], prod["changed"], prod["removed"], prod["renamed"]) == (2, 3, 2, 2)  # 2: the smoke pair
    [model] = prod["models"]
    assert model["model"] == "fraud-detector" and model["status"] == "changed"
    assert {c["field"]: (c["old"], c["new"]) for c in model["changes"]} == {
        "version": ("6", "7"),
        "replicas": ("3–10", "4–12"),
    }

    # the same change committed, compared commit to commit, whatever the working tree holds
    commit_all(repo, "promote")
    (repo / "models/churn-scorer.yaml").unlink()
    committed = diff(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert committed.exit_code == 1
    assert committed.stdout.split("\n\n", 1)[1] == result.stdout.split("\n\n", 1)[1]
    assert committed.stdout.startswith("base  HEAD~1 (")


def test_new_model_is_added_everywhere(repo: Path) -> None:
    (repo / "models/price-model.yaml").write_text(
        "apiVersion: mlgitops.io/v1alpha1\nkind: Model\nmetadata: {name: price-model, owner: team-pricing}\n"
        'model: {format: lightgbm, version: "1", storageUri: s3://models/price-model/1/model}\n'
        "serving: {replicas: {min: 1, max: 2}, gpu: {count: 1, class: l4}}\n"
    )
    data = as_json(repo)
    for env in data["environments"]:
        # its InferenceService and the NetworkPolicy of templates/network-policy.jsonnet (one replica at
        # least in every environment: no PodDisruptionBudget from templates/pdb.jsonnet)
        assert (env["added"], env["changed"], env["removed"]) == (2, 0, 0)
        by_kind = {obj["kind"]: obj for obj in env["objects"]}
        assert sorted(by_kind) == ["InferenceService", "NetworkPolicy"]
        assert by_kind["NetworkPolicy"]["name"] == "price-model-ingress"
        obj = by_kind["InferenceService"]
        assert (obj["kind"], obj["name"], obj["model"]) == ("InferenceService", "price-model", "price-model")
        assert obj["before"] is None and obj["after"]["metadata"]["name"] == "price-model"
    assert data["environments"][1]["models"][0]["summary"] == "added: version 1, replicas 1–2, GPUs 1×l4"
    assert data["environments"][0]["models"][0]["summary"] == "added: version 1, replicas 0–1, GPUs 1×l4"
    text = diff(repo).stdout
    assert "+ dev  serving.kserve.io/InferenceService ml-dev/price-model  (added)" in text
    assert "--- /dev/null\n+++ b/dev/serving.kserve.io/InferenceService/ml-dev/price-model" in text
    assert "+  name: price-model" in text  # shown whole


def test_removed_model_is_removed_everywhere(repo: Path) -> None:
    (repo / "models/churn-scorer.yaml").unlink()
    result = diff(repo)
    assert result.exit_code == 1
    data = as_json(repo)
    counts = {e["name"]: (e["added"], e["changed"], e["removed"]) for e in data["environments"]}
    # Deployment, Service, HPA, PodMonitor, PrometheusRule and the template's NetworkPolicy everywhere; the
    # template's PodDisruptionBudget where it has 2 replicas (staging, prod); prod's canary Deployment and HPA
    assert counts == {"dev": (0, 0, 6), "staging": (0, 0, 7), "prod": (0, 0, 9)}
    for env in data["environments"]:
        [model] = env["models"]
        assert (model["model"], model["status"], model["summary"]) == (
            "churn-scorer",
            "removed",
            "removed (was version 3)",
        )
    assert "- prod  apps/Deployment ml-prod/churn-scorer-predictor-canary  (removed)" in result.stdout
    assert "+++ /dev/null" in result.stdout
    assert "-  name: churn-scorer-predictor" in result.stdout  # shown whole


def test_project_defaults_change_touches_every_environment(repo: Path) -> None:
    project = repo / "mlgitops.yaml"
    edit(
        project,
        "    serving: {replicas: {min: 0, max: 1}}",
        "    serving: {replicas: {min: 0, max: 1}, autoscaling: {target: 60}}",
    )
    edit(
        project,
        "  namespace: ml-staging\n",
        "  namespace: ml-staging\n  defaults: {serving: {autoscaling: {target: 60}}}\n",
    )
    edit(
        project,
        "  namespace: ml-prod\n",
        "  namespace: ml-prod\n  defaults: {serving: {autoscaling: {target: 60}}}\n",
    )
    data = as_json(repo)
    assert envs_with_changes(data) == ["dev", "staging", "prod"]
    for env in data["environments"]:
        assert env["added"] == env["removed"] == 0
        assert {m["model"] for m in env["models"]} == {"fraud-detector", "churn-scorer", "support-llm"}
        for model in env["models"]:
            assert model["summary"].startswith("changed: serving.autoscaling.target"), model
    text = diff(repo).stdout
    # the HPA of churn-scorer
    assert "-        averageUtilization: 75\n+        averageUtilization: 60\n" in text
    assert "+    scaleTarget: 60" in text


def test_broken_spec_at_head_exits_2_and_touches_nothing(repo: Path, scratch_tmp: Path) -> None:
    bump_prod(repo)
    edit(repo / "models/fraud-detector.yaml", "  replicas: {min: 1, max: 4}", "  replicaz: {min: 1, max: 4}")
    index = (repo / ".git/index").read_bytes()
    status = git(repo, "status", "--porcelain")
    before = snapshot_tree(repo)
    for fmt in ("text", "markdown", "json"):
        result = diff(repo, "--format", fmt)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.startswith("working tree: models/fraud-detector.yaml:20:3: unknown key 'replicaz'")
        assert "Traceback" not in result.stderr
    assert snapshot_tree(repo) == before
    assert (repo / ".git/index").read_bytes() == index
    assert git(repo, "status", "--porcelain") == status
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    assert list(scratch_tmp.iterdir()) == []


def test_broken_spec_at_base_names_the_revision(repo: Path, scratch_tmp: Path) -> None:
    edit(repo / "mlgitops.yaml", "  namespace: ml-prod\n", "  namespace: ml-prod\n  syncPolicy: sometimes\n")
    commit_all(repo, "broken")
    edit(repo / "mlgitops.yaml", "  syncPolicy: sometimes\n", "")
    result = diff(repo, "--base", "HEAD")
    assert result.exit_code == 2
    assert re.match(r"^HEAD: mlgitops\.yaml:\d+:\d+: .*syncPolicy", result.stderr), result.stderr
    assert result.stdout == ""
    assert list(scratch_tmp.iterdir()) == []


def test_interrupt_cleans_up(repo: Path, scratch_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bump_prod(repo)

    def interrupted(root: Path, **_options: Any) -> Any:
        assert any(scratch_tmp.iterdir())  # the base revision is unpacked by now
        raise KeyboardInterrupt

    monkeypatch.setattr(diff_snapshot, "load_workspace", interrupted)
    result = diff(repo)
    assert result.exit_code == 130
    assert list(scratch_tmp.iterdir()) == []
    assert len(git(repo, "worktree", "list").splitlines()) == 1


def test_markdown_over_budget_is_truncated_and_stays_valid(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "big")
    source = (root / "models/fraud-detector.yaml").read_text()
    # copies without smoke tests: the label change would rename each copy's smoke ConfigMap and Job, and their
    # Added and Removed lists would fill the budget this test measures the sharing of
    source = re.sub(r"^tests:.*?(?=^data:)", "", source, flags=re.S | re.M)
    assert "tests:" not in source
    for i in range(40):
        (root / f"models/fraud-{i:02d}.yaml").write_text(source.replace("fraud-detector", f"fraud-{i:02d}"))
    git(root, "init", "-q")
    commit_all(root, "big")
    edit(root / "mlgitops.yaml", "  name: acme-ml\n", "  name: acme-ai\n")  # the part-of label of every object

    full = diff(root, "--format", "json")
    assert full.exit_code == 1
    total = sum(e["changed"] for e in json.loads(full.stdout)["environments"])
    assert total > 200

    result = diff(root, "--format", "markdown")
    assert result.exit_code == 1
    text = result.stdout
    assert len(text) <= MARKDOWN_BUDGET
    assert len(text) > MARKDOWN_BUDGET - 5_000  # the budget is used, not wasted
    assert_valid_markdown(text)
    assert text.count("<details>") == text.count("</details>") >= 1
    assert "```diff" in text
    note = text.strip().splitlines()[-1]
    assert note.startswith("> **Truncated** to fit 65,536 characters. Not shown: ")
    assert "dev: " in note
    assert "staging: " in note and "prod: " in note and " diffs" in note
    assert re.search(r"^\| prod \| \d+ \| ", text, re.M)  # the summary table is complete
    shown = text.count("#### Changed:")
    assert 0 < shown < total
    # the budget is shared: the last environment (prod) is not starved by the first ones
    for env in ("dev", "staging", "prod"):
        section = text.split(f"<summary><b>{env}</b>")[1].split("</details>")[0]
        assert section.count("#### Changed:") >= 10, env


def test_markdown_small_diff_is_complete(repo: Path) -> None:
    bump_prod(repo)
    (repo / "models/churn-scorer.yaml").unlink()
    text = diff(repo, "--format", "markdown").stdout
    assert_valid_markdown(text)
    assert text.startswith("<!-- mlgitops-diff -->\n")
    assert "Truncated" not in text
    # churn-scorer: 2 Deployments, 2 HPAs, Service, PodMonitor, rules, and the templates' NetworkPolicy and PDB;
    # fraud-detector's new version: its smoke ConfigMap and Job renamed (added and removed)
    assert "| prod | 2 | 3 | 11 | 2 |" in text
    assert "| prod | fraud-detector | version 6 → 7, replicas 3–10 → 4–12 |" in text
    assert "<summary><b>prod</b>: 2 added, 3 changed, 11 removed, 2 renamed</summary>" in text
    assert "- `apps/Deployment ml-prod/churn-scorer-predictor-canary`" in text  # removed: listed
    assert "-  name: churn-scorer-predictor" not in text  # not shown whole
    assert text.count("#### Changed:") == 3


def test_secret_in_platform_is_masked(repo: Path) -> None:
    platform = repo / "base/platform"
    shutil.rmtree(platform)  # the example's own platform, replaced by this test's
    platform.mkdir()
    (platform / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [secret.yaml, config.yaml]\n"
    )
    (platform / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: registry-creds}\n"
        "data: {token: c2VjcmV0LXRva2VuLW9sZA==}\n"
        "stringData: {username: robot, password: hunter2-old}\n"
    )
    (platform / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: artifact-repo}\ndata: {bucket: s3://ml-artifacts}\n"
    )
    assert run_cli(["render"], cwd=repo).exit_code == 0
    commit_all(repo, "platform")
    edit(platform / "secret.yaml", "hunter2-old", "hunter2-new")
    edit(platform / "secret.yaml", "c2VjcmV0LXRva2VuLW9sZA==", "c2VjcmV0LXRva2VuLW5ldw==")
    edit(platform / "kustomization.yaml", "config.yaml]", "config.yaml, extra.yaml]")
    (platform / "extra.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: webhook}\nstringData: {url: https://hooks.example/abc-secret}\n"
    )
    outputs = {fmt: diff(repo, "--format", fmt) for fmt in ("text", "markdown", "json")}
    for fmt, result in outputs.items():
        assert result.exit_code == 1, (fmt, result.stderr)
        for secret in ("hunter2", "c2VjcmV0", "secret-token", "abc-secret", "robot"):
            assert secret not in result.stdout, (fmt, secret)
    text = outputs["text"].stdout
    assert '-  password: "<redacted>"\n+  password: "<redacted, changed>"' in text
    assert '-  token: "<redacted>"\n+  token: "<redacted, changed>"' in text
    assert '   username: "<redacted>"' in text  # unchanged: context, not a change
    assert "+ prod  Secret ml-prod/webhook  (added)" in text
    assert '+  url: "<redacted>"' in text
    data = json.loads(outputs["json"].stdout)
    for env in data["environments"]:
        assert (env["added"], env["changed"], env["removed"]) == (1, 1, 0)
        changed = next(o for o in env["objects"] if o["status"] == "changed")
        assert changed["after"]["stringData"] == {"password": "<redacted, changed>", "username": "<redacted>"}
        assert changed["model"] is None
        assert env["models"] == []
    assert_valid_markdown(outputs["markdown"].stdout)


def test_renamed_model_pairs_its_objects(repo: Path) -> None:
    old = repo / "models/churn-scorer.yaml"
    (repo / "models/churn-model.yaml").write_text(old.read_text().replace("name: churn-scorer", "name: churn-model"))
    old.unlink()
    result = diff(repo)
    assert result.exit_code == 1
    data = as_json(repo)
    prod = data["environments"][2]
    # the 7 generated objects and the templates' NetworkPolicy and PodDisruptionBudget
    assert (prod["added"], prod["removed"], prod["renamed"]) == (9, 9, 9)
    [model] = prod["models"]
    assert (model["model"], model["status"], model["renamedFrom"]) == (
        "churn-model",
        "renamed",
        "churn-scorer",
    )
    added = {o["name"]: o for o in prod["objects"] if o["status"] == "added"}
    assert added["churn-model-predictor-canary"]["renamedFrom"]["name"] == "churn-scorer-predictor-canary"
    for obj in prod["objects"]:
        if obj["status"] == "added":
            # a diff against the old object, not the whole new one
            plus = [line for line in obj["diff"].splitlines() if line.startswith("+") and not line.startswith("+++")]
            # the rules name the model in every expression; other objects in a few fields
            assert 0 < len(plus) <= (80 if obj["kind"] == "PrometheusRule" else 8), obj["diff"]
        else:
            assert obj["renamedTo"] is not None and obj["diff"] == ""
    lines = result.stdout.splitlines()
    assert "prod     churn-model  renamed from churn-scorer, no other spec change" in lines
    added_title = (
        "+ prod  Service ml-prod/churn-model-predictor  "
        "(renamed from Service ml-prod/churn-scorer-predictor; the old object is deleted)"
    )
    removed_title = "- prod  Service ml-prod/churn-scorer-predictor  (renamed to Service ml-prod/churn-model-predictor)"
    # the removed side follows its added side, with only the diff between them
    between = lines[lines.index(added_title) + 1 : lines.index(removed_title)]
    assert between and not any(re.match(r"^[-+~] (dev|staging|prod)  ", line) for line in between)


def test_env_filter(repo: Path) -> None:
    edit(repo / "models/fraud-detector.yaml", "trafficPercent: 10}", "trafficPercent: 50}")
    assert diff(repo, "--env", "prod").exit_code == 0
    assert diff(repo, "--env", "dev", "--env", "prod").exit_code == 0
    staging = diff(repo, "--env", "staging")
    assert staging.exit_code == 1
    assert "staging  fraud-detector  canary 8 at 10% → 8 at 50%" in staging.stdout
    data = as_json(repo, "--env", "prod", "staging")
    assert [e["name"] for e in data["environments"]] == ["staging", "prod"]
    unknown = diff(repo, "--env", "prd")
    assert unknown.exit_code == 2
    assert "unknown environment 'prd' (did you mean 'prod'?)" in unknown.stderr


def test_json_schema_is_stable(repo: Path) -> None:
    bump_prod(repo)
    (repo / "models/churn-scorer.yaml").unlink()
    data = as_json(repo)
    assert set(data) == {"schemaVersion", "base", "head", "changed", "notes", "environments"}
    assert data["schemaVersion"] == 1 and data["changed"] is True
    assert set(data["base"]) == {"label", "commit", "description"}
    assert re.fullmatch(r"[0-9a-f]{40}", data["base"]["commit"])
    assert data["head"]["commit"] is None and data["head"]["label"] == "working tree"
    assert [e["name"] for e in data["environments"]] == ["dev", "staging", "prod"]
    for env in data["environments"]:
        assert set(env) == {"name", "added", "changed", "removed", "renamed", "relabelled", "models", "objects"}
        for model in env["models"]:
            assert set(model) == {"model", "status", "renamedFrom", "changes", "summary"}
            assert model["status"] in ("added", "changed", "removed", "renamed")
            for change in model["changes"]:
                assert set(change) == {"field", "old", "new"}
        for obj in env["objects"]:
            assert set(obj) == {
                "status", "group", "kind", "namespace", "name", "model",
                "renamedFrom", "renamedTo", "relabelled", "before", "after", "diff",
            }  # fmt: skip
            assert obj["status"] in ("added", "changed", "removed")
            assert isinstance(obj["diff"], str)
    prod = data["environments"][2]
    isvc = next(o for o in prod["objects"] if o["kind"] == "InferenceService")
    assert (isvc["group"], isvc["namespace"], isvc["name"]) == (
        "serving.kserve.io",
        "ml-prod",
        "fraud-detector",
    )
    assert list(isvc["after"])[:3] == ["apiVersion", "kind", "metadata"]
    service = next(o for o in prod["objects"] if o["kind"] == "Service")
    assert service["group"] == "" and service["status"] == "removed" and service["after"] is None


# --- repositories and revisions ------------------------------------------------------------------


def test_project_in_a_subdirectory(tmp_path: Path, scratch_tmp: Path) -> None:
    top = tmp_path / "mono"
    project = copy_example(top / "deploy" / "ml")
    (top / "README").write_text("other things\n")
    git(top, "init", "-q")
    commit_all(top, "mono")
    bump_prod(project)
    result = run_cli(["diff"], cwd=project / "models")
    assert result.exit_code == 1, result.stderr
    assert "prod  fraud-detector  version 6 → 7" in result.stdout
    commit_all(top, "bump")
    assert run_cli(["diff", "--base", "HEAD~1", "--head", "HEAD"], cwd=project).stdout.endswith(
        result.stdout.split("\n\n", 1)[1]
    )
    assert list(scratch_tmp.iterdir()) == []


def test_default_base_is_the_merge_base_with_main(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    bump_prod(repo)
    commit_all(repo, "bump on a branch")
    fork = git(repo, "rev-parse", "main").strip()
    git(repo, "checkout", "-q", "main")
    edit(repo / "models/support-llm.yaml", 'version: "12"', 'version: "13"')  # main moves on
    commit_all(repo, "main moves")
    git(repo, "checkout", "-q", "feature")
    data = as_json(repo)
    assert data["base"]["commit"] == fork
    assert "merge-base of HEAD and main" in data["base"]["description"]
    assert envs_with_changes(data) == ["prod"]  # main's own change is not part of this branch's diff


def test_project_new_at_head_is_compared_with_an_empty_base(tmp_path: Path, scratch_tmp: Path) -> None:
    top = tmp_path / "r"
    top.mkdir()
    (top / "README").write_text("x\n")
    git(top, "init", "-q")
    commit_all(top, "empty")
    copy_example(top)
    data = as_json(top)
    [note] = data["notes"]
    assert note.endswith(": no mlgitops.yaml in the repository root; compared as an empty project")
    assert all(e["removed"] == e["changed"] == 0 and e["added"] > 0 for e in data["environments"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "no-such-branch"], "unknown revision 'no-such-branch'"),
        (["--head=-rf"], "invalid revision '-rf'"),
    ],
)
def test_bad_revisions_exit_2(repo: Path, args: list[str], message: str) -> None:
    result = diff(repo, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_outside_git_exits_2(tmp_path: Path) -> None:
    project = copy_example(tmp_path / "plain")
    result = run_cli(["diff"], cwd=project)
    assert result.exit_code == 2
    assert "not inside a Git work tree" in result.stderr


def test_output_is_deterministic(repo: Path) -> None:
    bump_prod(repo)
    (repo / "models/churn-scorer.yaml").unlink()
    first = [diff(repo, "--format", fmt).stdout for fmt in ("text", "markdown", "json")]
    again = [diff(repo, "--format", fmt).stdout for fmt in ("text", "markdown", "json")]
    assert first == again


def test_objects_are_exactly_what_build_computes(example: Path) -> None:
    """The diff's per-environment objects equal `overlay.environment_objects` (tested against kustomize)."""
    from mlgitops.delivery.git_repo import Revision
    from mlgitops.language.loader import load_workspace
    from mlgitops.layout.overlay import environment_objects
    from mlgitops.render.pipeline import render_models

    workspace = load_workspace(example)
    renders = render_models(workspace)
    snapshot = Snapshot(Revision("working tree", None, "the working tree"), workspace)
    add_model_objects(snapshot, workspace.project.environment_names)
    for env in workspace.project.environment_names:
        ours = {oid: tracked.obj for oid, tracked in snapshot.objects[env].items()}
        expected = {object_id(o): o for o in environment_objects(workspace, env, renders)}
        assert ours == expected
    # and the rendered objects themselves were not modified on the way
    every = [o for r in renders for objs in (r.base, *r.environments.values()) for o in objs or []]
    assert every and all("namespace" not in o["metadata"] for o in every)


def test_broken_platform_is_an_error_naming_the_revision(repo: Path, scratch_tmp: Path) -> None:
    platform = repo / "base/platform"
    shutil.rmtree(platform)  # the example's own platform, replaced by this test's
    platform.mkdir()
    (platform / "kustomization.yaml").write_text("resources: [missing.yaml]\n")
    result = diff(repo)
    assert result.exit_code == 2
    assert result.stderr.startswith("working tree: base/platform/kustomization.yaml:1:13: resources: 'missing.yaml'")
    assert "is not a file or directory in base/platform" in result.stderr
    assert str(scratch_tmp) not in result.stderr  # no temporary paths in messages
    assert result.stdout == ""
    assert list(scratch_tmp.iterdir()) == []
