"""Noise: one spec line gives one validate line (with a count), `render` says when nothing changed,
the text diff shows renames like the Markdown one, and version-label-only changes are "relabelled"."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlgitops.gitops.scaffold import InitOptions, init_project
from mlgitops.util.errors import Location
from mlgitops.validate.findinggroups import group_findings, group_numbers
from mlgitops.validate.report import Finding
from tests.conftest import CliResult, run_cli

MODEL = "models/example-classifier.yaml"
GIT = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "ml-config"
    init_project(InitOptions(root, repo_url="https://github.com/acme/ml-config.git"))
    return root


def edit(root: Path, old: str, new: str) -> None:
    path = root / MODEL
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def column_of(root: Path, needle: str) -> str:
    for number, line in enumerate((root / MODEL).read_text().splitlines(), start=1):
        if needle in line:
            return f"{MODEL}:{number}:{line.index(needle) + 1}"
    raise AssertionError(needle)


def validate(root: Path, fmt: str) -> CliResult:
    return run_cli(["validate", "--format", fmt], cwd=root)


# --- validate: grouped findings ------------------------------------------------------------------------


def test_one_training_image_line_is_one_finding_line_with_a_count(project: Path) -> None:
    edit(project, "example-classifier-train:1.0.0", "example-classifier-train:latest")
    where = column_of(project, "ghcr.io/my-org/example-classifier-train:latest")
    text = validate(project, "text")
    assert text.exit_code == 1
    lines = [line for line in text.stdout.splitlines() if "[image-pinned]" in line]
    assert lines == [
        "error [image-pinned] WorkflowTemplate/example-classifier-train: image "
        "'ghcr.io/my-org/example-classifier-train:latest' uses the mutable tag latest (allowed only in the first "
        f"environment, the dev stage); pin a version tag or a digest ({where}); 5 findings in prod"
    ]
    # the summary still counts every finding
    assert text.stdout.splitlines()[-1].startswith("invalid: 5 error(s)")

    data = json.loads(validate(project, "json").stdout)
    pinned = [f for f in data["findings"] if f["id"] == "image-pinned"]
    assert len(pinned) == 5 and data["errors"] == 5
    assert len({f["path"] for f in pinned}) == 5  # every step's container, each its own finding
    assert {f["group"] for f in pinned} == {pinned[0]["group"]}
    assert {(f["file"], f["line"], f["column"]) for f in pinned} == {tuple(where.rsplit(":", 2)[:1]) + tuple(
        int(n) for n in where.rsplit(":", 2)[1:])}  # fmt: skip

    github = validate(project, "github").stdout.splitlines()
    annotations = [a for a in github if "mlgitops image-pinned" in a]
    assert len(annotations) == 1 and annotations[0].endswith("; 5 findings in prod")
    file, line, column = where.rsplit(":", 2)
    assert annotations[0].startswith(f"::error file={file},line={line},col={column},")


def test_findings_in_several_environments_name_them(project: Path) -> None:
    edit(project, "storageUri: s3://my-models/example-classifier/1/model", "storageUri: s3://my-models/current/model")
    text = validate(project, "text")
    [line] = [line for line in text.stdout.splitlines() if "[storage-uri-version]" in line]
    assert line.startswith("error [storage-uri-version] InferenceService/example-classifier: ")
    assert line.endswith(f"({column_of(project, 's3://my-models/current')}); 3 findings in dev, staging, prod")
    data = json.loads(validate(project, "json").stdout)
    envs = [f["environment"] for f in data["findings"] if f["id"] == "storage-uri-version"]
    assert envs == ["dev", "staging", "prod"]


def finding(env: str, name: str, message: str, location: Location | None) -> Finding:
    return Finding("error", "x", env, "v1", "Service", name, "/spec", message, location)


def test_grouping_needs_the_same_spec_line_check_and_message() -> None:
    here, there = Location("models/m.yaml", 3, 5), Location("models/m.yaml", 4, 5)
    findings = [
        finding("dev", "a", "bad", here),
        finding("prod", "a", "bad", there),  # another line
        finding("prod", "b", "bad", here),
        finding("prod", "c", "worse", here),  # another message
        finding("dev", "d", "bad", None),  # no spec line: never grouped
        finding("prod", "d", "bad", None),
    ]
    groups = group_findings(findings)
    assert [len(g.findings) for g in groups] == [2, 1, 1, 1, 1]
    assert str(groups[0]) == "error [x] Service/a, Service/b: bad (models/m.yaml:3:5); 2 findings in dev, prod"
    assert str(groups[1]) == str(findings[1]).replace(" (", " (", 1)  # a single finding reads as before
    assert str(groups[1]) == "error [x] prod Service/a /spec: bad (models/m.yaml:4:5)"
    assert group_numbers(findings) == [1, 2, 1, 3, 4, 5]


def test_many_objects_are_counted_not_listed() -> None:
    here = Location("models/m.yaml", 3, 5)
    groups = group_findings([finding("prod", f"o{i}", "bad", here) for i in range(6)])
    assert str(groups[0]) == (
        "error [x] Service/o0, Service/o1, Service/o2 and 3 more: bad (models/m.yaml:3:5); 6 findings in prod"
    )


# --- diff: renames and relabelled objects ---------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def committed(project: Path) -> Path:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "init")
    return project


def table(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("environment "))
    rows = {}
    for line in lines[start + 1 :]:
        if not line.strip() or line.startswith("("):
            break
        name, *cells = line.split(None, 5)
        rows[name] = cells
    assert lines[start].split() == ["environment", "added", "changed", "removed", "renamed"]
    return rows


def test_version_bump_relabels_training_objects_without_counting_them(committed: Path) -> None:
    edit(committed, 'version: "1"', 'version: "2"')
    edit(committed, "example-classifier/1/model", "example-classifier/2/model")
    assert run_cli(["render"], cwd=committed).exit_code == 0
    result = run_cli(["diff", "--base", "HEAD"], cwd=committed)
    assert result.exit_code == 1
    rows = table(result.stdout)
    assert rows["dev"] == ["0", "1", "0", "0"]
    assert rows["prod"] == ["0", "1", "0", "0", "(2 relabelled)"]
    lines = result.stdout.splitlines()
    title = '~ prod  2 objects relabelled, nothing else changed (app.kubernetes.io/version "1" → "2")'
    at = lines.index(title)
    assert lines[at + 1 : at + 3] == [
        "    argoproj.io/CronWorkflow ml-config-prod/example-classifier-train",
        "    argoproj.io/WorkflowTemplate ml-config-prod/example-classifier-train",
    ]
    # no per-object diff for them, and the InferenceService keeps its diff
    assert not any(re.match(r"^~ prod  argoproj\.io/", line) for line in lines)
    assert "~ prod  serving.kserve.io/InferenceService ml-config-prod/example-classifier" in lines

    data: dict[str, Any] = json.loads(run_cli(["diff", "--base", "HEAD", "--format", "json"], cwd=committed).stdout)
    prod = data["environments"][2]
    assert (prod["changed"], prod["relabelled"]) == (1, 2)
    relabelled = [o for o in prod["objects"] if o["relabelled"]]
    assert {o["kind"] for o in relabelled} == {"CronWorkflow", "WorkflowTemplate"}
    assert all(o["status"] == "changed" and o["diff"] for o in relabelled)  # JSON keeps the diff

    markdown = run_cli(["diff", "--base", "HEAD", "--format", "markdown"], cwd=committed).stdout
    assert "| prod | 0 | 1 | 0 | 0 |" in markdown
    assert "<b>prod</b>: 1 changed, 2 relabelled" in markdown
    assert "#### Changed: `argoproj.io/WorkflowTemplate" not in markdown


def test_a_real_training_change_is_not_relabelled(committed: Path) -> None:
    edit(committed, 'version: "1"', 'version: "2"')
    edit(committed, "example-classifier-train:1.0.0", "example-classifier-train:1.0.1")
    assert run_cli(["render"], cwd=committed).exit_code == 0
    data = json.loads(run_cli(["diff", "--base", "HEAD", "--format", "json"], cwd=committed).stdout)
    prod = data["environments"][2]
    # a new training image: the WorkflowTemplate runs it, and both training objects record it in their
    # lineage annotation (lineage.mlgitops.io/training-image), so neither is merely relabelled
    assert [o["kind"] for o in prod["objects"] if o["relabelled"]] == []
    assert {o["kind"] for o in prod["objects"] if o["status"] == "changed" and not o["relabelled"]} >= {
        "WorkflowTemplate", "CronWorkflow", "InferenceService"}  # fmt: skip


def test_an_inference_service_label_is_not_relabelling(committed: Path) -> None:
    """KServe copies InferenceService labels onto the predictor's pods: a version label move there rolls them."""
    edit(committed, 'version: "1"', 'version: "2"')  # storageUri kept: only the label moves
    assert run_cli(["render"], cwd=committed).exit_code == 0
    data = json.loads(run_cli(["diff", "--base", "HEAD", "--format", "json"], cwd=committed).stdout)
    dev = data["environments"][0]
    assert (dev["changed"], dev["relabelled"]) == (1, 0)


def test_text_diff_shows_renames_in_the_table_like_markdown(committed: Path) -> None:
    old = committed / MODEL
    new = committed / "models/example-clf.yaml"
    new.write_text(old.read_text().replace("name: example-classifier\n", "name: example-clf\n"))
    old.unlink()
    assert run_cli(["render"], cwd=committed).exit_code == 0
    result = run_cli(["diff", "--base", "HEAD"], cwd=committed)
    rows = table(result.stdout)
    # every object of the model is renamed: dev serves (InferenceService, PodMonitor, PrometheusRule,
    # dashboard), prod also trains (WorkflowTemplate, CronWorkflow) and has 2 replicas (the scaffolded
    # templates/pdb.jsonnet's PodDisruptionBudget)
    assert rows["dev"] == ["4", "0", "4", "4"]
    assert rows["prod"] == ["7", "0", "7", "7"]
    markdown = run_cli(["diff", "--base", "HEAD", "--format", "markdown"], cwd=committed).stdout
    assert "| dev | 4 | 0 | 4 | 4 |" in markdown and "| prod | 7 | 0 | 7 | 7 |" in markdown
    assert (
        "+ dev  serving.kserve.io/InferenceService ml-config-dev/example-clf  (renamed from "
        "serving.kserve.io/InferenceService ml-config-dev/example-classifier; the old object is deleted)"
    ) in result.stdout.splitlines()
