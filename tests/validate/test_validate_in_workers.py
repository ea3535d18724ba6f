"""`validate` split over forked workers reports exactly what a run in one process reports.

The models are few here, so the share size is lowered to one model (the `forks` fixture): every run with more
than one worker forks. A spy on the join tells the workers' answer from a fallback to one process.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench.genrepo import generate
from mlgitops.util import forked
from mlgitops.validate import workers as validate_workers
from tests.conftest import copy_example, run_cli

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]


@pytest.fixture
def joins(monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> list[int]:
    """How many share answers each worker run joined (a fallback to one process joins none)."""
    seen: list[int] = []
    real = validate_workers._joined

    def spied(workspace, parts, *args):  # type: ignore[no-untyped-def]
        seen.append(len(parts))
        return real(workspace, parts, *args)

    monkeypatch.setattr(validate_workers, "_joined", spied)
    return seen


def validate_with(root: Path, workers: int, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, str]:
    with monkeypatch.context() as patch:
        patch.setenv(forked.WORKERS_VARIABLE, str(workers))
        result = run_cli(["validate", "--format", "json", *args], cwd=root)
    return result.exit_code, result.stdout, result.stderr


def same_report(root: Path, workers: int, monkeypatch: pytest.MonkeyPatch, *args: str) -> dict[str, object]:
    """The report of `root` with `workers` workers, checked equal to the one without; returned parsed."""
    alone = validate_with(root, 1, monkeypatch, *args)
    split = validate_with(root, workers, monkeypatch, *args)
    assert alone[0] in (0, 1), alone[2]
    assert split == alone
    report: dict[str, object] = json.loads(alone[1])
    return report


def ids(report: dict[str, object]) -> list[str]:
    findings = report["findings"]
    assert isinstance(findings, list)
    return [finding["id"] for finding in findings]


def reader_missing(report: dict[str, object]) -> set[str]:
    """The objects reported to name the missing ServiceAccount `model-reader`."""
    findings = report["findings"]
    assert isinstance(findings, list)
    return {f["name"] for f in findings if f["id"] == "missing-reference" and "'model-reader'" in f["message"]}


@pytest.mark.parametrize("workers", [2, 3])
def test_the_example_and_generated_projects_report_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, joins: list[int], crds_dir: Path, workers: int
) -> None:
    roots = [copy_example(tmp_path / "example"), generate(tmp_path / "generated", 11)]
    for root in roots:
        report = same_report(root, workers, monkeypatch, "--crds", str(crds_dir))
        assert report["models"] == len(list((root / "models").glob("*.yaml")))
    assert joins == [workers, workers]  # both split runs were the workers' (one share per worker at most)


def test_a_reference_rendered_in_another_share_is_not_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, joins: list[int]
) -> None:
    """The generated models name the ServiceAccount `model-reader`. Without it, every share reports it missing;
    once the last model's addon renders it, no share's model may report it, though only one share renders it."""
    root = generate(tmp_path / "repo", 9)
    # the KServe models 0, 3 and 6, one in each share
    assert reader_missing(same_report(root, 3, monkeypatch)) == {"model-0000", "model-0003", "model-0006"}
    (root / "templates").mkdir()
    (root / "templates" / "reader.jsonnet").write_text(
        "function(model, environment, project, settings={})\n"
        "  if model.metadata.name == 'model-0008' then\n"
        "    [{apiVersion: 'v1', kind: 'ServiceAccount', metadata: {name: 'model-reader'}}]\n"
        "  else []\n"
    )
    report = same_report(root, 3, monkeypatch)
    assert reader_missing(report) == set()
    assert ids(report).count("missing-reference") == 3  # what no share renders stays: a training ConfigMap
    assert joins == [3, 3]


def test_an_unwritable_text_is_reported_once_for_every_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, joins: list[int]
) -> None:
    """A template writes a character Kustomize cannot read back into every model's ConfigMap: one place in
    the specs, so one finding, though every share meets it."""
    root = generate(tmp_path / "repo", 6)
    (root / "templates").mkdir()
    (root / "templates" / "note.jsonnet").write_text(
        "function(model, environment, project, settings={})\n"
        "  [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: model.metadata.name + '-note'},\n"
        "    data: {note: 'a\\u0085b'}}]\n"
    )
    assert ids(same_report(root, 3, monkeypatch)).count("unwritable-text") == 1
    assert joins == [3]


def test_serving_mode_changes_against_the_base_are_found_by_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, joins: list[int]
) -> None:
    """Each worker reads its own share's modes from the base revision, written out once."""
    root = generate(tmp_path / "repo", 9)
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run([*GIT, *argv], cwd=root, check=True)
    for path in sorted((root / "models").glob("*.yaml")):
        text = path.read_text().replace("  engine: kserve\n", "  engine: kserve\n  mode: Knative\n")
        path.write_text(text.replace("{metric: cpu, target: 70}", "{metric: concurrency, target: 10}"))
    changes = ids(same_report(root, 3, monkeypatch)).count("serving-mode-change")
    assert changes == 3 * 3  # models 0, 3 and 6 serve on KServe Standard at the base, in 3 environments
    assert joins == [3]


@pytest.mark.parametrize("broken", ["model-0000", "model-0005"])
def test_an_error_in_any_share_reads_as_without_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, joins: list[int], broken: str
) -> None:
    root = generate(tmp_path / "repo", 6)
    path = root / "models" / f"{broken}.yaml"
    path.write_text(path.read_text().replace("serving:\n", "serving:\n  replicaz: 3\n", 1))
    alone, split = validate_with(root, 1, monkeypatch), validate_with(root, 3, monkeypatch)
    assert alone[0] == 1 and "replicaz" in alone[2]
    assert split == alone
    assert joins == []  # the error came from the run in one process


def test_a_project_with_inference_graphs_is_checked_in_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, joins: list[int], forks: list[int]
) -> None:
    root = copy_example(tmp_path / "example")
    (root / "graphs").mkdir()
    (root / "graphs" / "chain.yaml").write_text(
        "apiVersion: mlgitops.io/v1alpha1\nkind: Graph\nmetadata: {name: chain, owner: team-a}\n"
        "nodes:\n  root:\n    routerType: Sequence\n    steps:\n    - {name: first, model: fraud-detector}\n"
    )
    same_report(root, 3, monkeypatch)
    assert joins == [] and forks == []  # graphs read every model: no worker was started


def test_training_schedules_across_environments_are_joined_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, joins: list[int]
) -> None:
    """The training models (1, 4, 7: one per share) train on a schedule in two environments: each worker's
    schedule findings come after every environment's, as in one process."""
    root = generate(tmp_path / "repo", 9)
    for path in sorted((root / "models").glob("*.yaml")):
        text = path.read_text()
        path.write_text(
            text.replace('  schedule: "0 3 * * 1"\n', '  schedule: "0 3 * * 1"\n  environments: [staging, prod]\n')
        )
    report = same_report(root, 3, monkeypatch)
    findings = report["findings"]
    assert isinstance(findings, list)
    scheduled = [(f["environment"], f["name"]) for f in findings if f["id"] == "training-environments"]
    assert scheduled == [(env, f"model-000{i}-train") for i in (1, 4, 7) for env in ("staging", "prod")]
    assert joins == [3]


def test_a_base_whose_deleted_model_does_not_load_is_skipped_as_without_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, joins: list[int]
) -> None:
    """A model broken at the base and deleted since: no share reads it, yet the base as a whole does not load,
    so the mode check is skipped with a note, as in one process."""
    root = generate(tmp_path / "repo", 6)
    broken = root / "models" / "model-0099.yaml"
    broken.write_text(
        generate(tmp_path / "one", 1)
        .joinpath("models/model-0000.yaml")
        .read_text()
        .replace("model-0000", "model-0099")
        .replace("serving:\n", "serving:\n  replicaz: 3\n", 1)
    )
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "base"]):
        subprocess.run([*GIT, *argv], cwd=root, check=True)
    broken.unlink()
    alone, split = validate_with(root, 1, monkeypatch), validate_with(root, 3, monkeypatch)
    assert "the serving.mode check against the base was skipped" in alone[2]
    assert split == alone
    assert joins == []  # the workers' run gave way to the one in one process
