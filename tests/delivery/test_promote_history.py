"""`mlgitops history` and `mlgitops rollback` over a real Git repository."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import copy_example, run_cli
from tests.delivery.test_diff import git

EIGHT = ["--version", "8", "--storage-uri", "s3://ml-models/fraud-detector/8/model",
         "--registry", "models:/fraud-detector/8"]  # fmt: skip


def commit(repo: Path, author: str, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "-c", f"user.name={author}", "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def promote(repo: Path, *args: str) -> None:
    result = run_cli(["promote", "fraud-detector", *args], cwd=repo)
    assert result.exit_code == 0, result.stderr


def history(repo: Path, *args: str) -> list[dict[str, str]]:
    result = run_cli(["history", "fraud-detector", "--format", "json", *args], cwd=repo)
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, str]] = json.loads(result.stdout)["deployments"]
    return rows


def build_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """example → dev 8 → staging 8 (canary completed) → prod 8 → revert → staging renamed preprod."""
    repo = copy_example(tmp_path / "repo")
    git(repo, "init", "-q")
    ids = {"example": commit(repo, "Ann", "example")}
    promote(repo, "--to", "dev", *EIGHT)
    ids["dev"] = commit(repo, "Ben", "promote 8 to dev")
    promote(repo, "--to", "staging", "--from", "dev")
    ids["staging"] = commit(repo, "Cat", "promote 8 to staging")
    promote(repo, "--to", "prod", "--from", "staging")
    ids["prod"] = commit(repo, "Dan", "promote 8 to prod")
    git(repo, "-c", "user.name=Eve", "revert", "--no-edit", "HEAD")
    ids["revert"] = git(repo, "rev-parse", "HEAD").strip()
    for relative, old, new in [("mlgitops.yaml", "- name: staging", "- name: preprod"),
                               ("models/fraud-detector.yaml", "  staging:", "  preprod:")]:  # fmt: skip
        text = (repo / relative).read_text()
        assert text.count(old) == 1
        (repo / relative).write_text(text.replace(old, new))
    assert run_cli(["render"], cwd=repo).exit_code == 0
    ids["rename"] = commit(repo, "Fay", "rename staging to preprod")
    return repo, ids


def test_history_follows_promotions_revert_and_rename(tmp_path: Path) -> None:
    repo, ids = build_repo(tmp_path)
    prod = [(r["version"], r["commit"], r["author"]) for r in history(repo, "--env", "prod")]
    assert prod == [("6", ids["example"], "Ann"), ("8", ids["prod"], "Dan"), ("6", ids["revert"], "Eve")]
    staging = [(r["version"], r["commit"]) for r in history(repo, "--env", "staging")]
    assert staging == [("7", ids["example"]), ("8", ids["staging"])]
    preprod = [(r["version"], r["commit"], r["author"]) for r in history(repo, "--env", "preprod")]
    assert preprod == [("8", ids["rename"], "Fay")]
    dev = [r["version"] for r in history(repo, "--env", "dev")]
    assert dev == ["7", "8"]
    text = run_cli(["history", "fraud-detector", "--env", "prod"], cwd=repo)
    assert text.exit_code == 0
    header, *rows = text.stdout.splitlines()
    assert header.split("\t") == ["ENVIRONMENT", "VERSION", "SINCE", "COMMIT", "AUTHOR", "SUBJECT"]
    assert [line.split("\t")[:2] for line in rows] == [["prod", "6"], ["prod", "8"], ["prod", "6"]]
    assert f"\t{ids['prod'][:7]}\tDan\tpromote 8 to prod" in text.stdout


def test_rollback_goes_to_the_version_before(tmp_path: Path) -> None:
    repo, _ = build_repo(tmp_path)
    refused = run_cli(["rollback", "fraud-detector", "--env", "prod"], cwd=repo)
    assert refused.exit_code == 2 and "--reason" in refused.stderr
    result = run_cli(["rollback", "fraud-detector", "--env", "prod", "--reason", "8 back after the fix"], cwd=repo)
    assert result.exit_code == 0, result.stderr
    assert "prod 6 -> 8" in result.stderr
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0
    built = run_cli(["build", "--env", "prod", "--model", "fraud-detector"], cwd=repo).stdout
    assert "s3://ml-models/fraud-detector/8/model" in built and "fraud-detector/6/model" not in built
    commit(repo, "Gil", "roll prod back to 8")
    back = run_cli(["rollback", "fraud-detector", "--env", "prod", "--to-version", "6", "--reason", "x"], cwd=repo)
    assert back.exit_code == 0, back.stderr
    never = run_cli(["rollback", "fraud-detector", "--env", "prod", "--to-version", "5", "--reason", "x"], cwd=repo)
    assert never.exit_code == 1
    assert never.stderr.strip() == "'prod' never ran fraud-detector version '5' (it ran 6, 8)"


def test_rollback_restores_the_run_id_of_the_version_it_goes_back_to(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    model = repo / "models" / "fraud-detector.yaml"
    six = "registry: models:/fraud-detector/6}"
    assert model.read_text().count(six) == 1
    model.write_text(model.read_text().replace(six, "registry: models:/fraud-detector/6, runId: 5f0c1a2b}"))
    assert run_cli(["render"], cwd=repo).exit_code == 0
    git(repo, "init", "-q")
    commit(repo, "Ann", "prod runs 6 from run 5f0c1a2b")
    promote(repo, "--to", "prod", "--force", "--reason", "hotfix", *EIGHT)
    commit(repo, "Ben", "prod runs 8")
    assert history(repo, "--env", "prod")[0]["runId"] == "5f0c1a2b"
    result = run_cli(["rollback", "fraud-detector", "--env", "prod", "--reason", "8 regressed"], cwd=repo)
    assert result.exit_code == 0, result.stderr
    built = run_cli(["build", "--env", "prod", "--model", "fraud-detector"], cwd=repo).stdout
    assert "lineage.mlgitops.io/run-id: 5f0c1a2b" in built
    assert "runId: 5f0c1a2b" in model.read_text()
