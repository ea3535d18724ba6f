"""`cmp generate` of a whole environment split over forked workers answers exactly as without workers:
the same stream, the same warnings, and the same one-line refusals (the in-process path gives those).

The models are few here, so the share size is lowered to one model: every request below forks.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.genrepo import generate as generate_repo
from mlgitops.gitops import cmp
from mlgitops.util import forked
from tests.conftest import copy_example, run_cli


@pytest.fixture
def answered_by_workers(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each request, whether the workers' answer was used (False: it was made again in-process)."""
    seen: list[bool] = []
    real = cmp._generate_in_workers

    def spied(*args: object) -> object:
        result = real(*args)  # type: ignore[arg-type]
        seen.append(result is not None)
        return result

    monkeypatch.setattr(cmp, "_generate_in_workers", spied)
    return seen


def request(env: str, **extra: str) -> dict[str, str]:
    params = [{"name": "environment", "string": env}]
    if "labels" in extra:
        params.append({"name": "extra-labels", "map": json.loads(extra.pop("labels"))})  # type: ignore[dict-item]
    return {"ARGOCD_APP_PARAMETERS": json.dumps(params), "MLGITOPS_CMP_CACHE": "0", **extra}


def answer(root: Path, environ: dict[str, str], workers: int, monkeypatch: pytest.MonkeyPatch) -> tuple[str, ...]:
    """(stream, warnings) or ("refused", message), with `workers` processes."""
    with monkeypatch.context() as patch:
        patch.setenv(forked.WORKERS_VARIABLE, str(workers))
        try:
            result = cmp.generate(root, environ)
        except cmp.CmpError as exc:
            return ("refused", str(exc).replace(str(root), "ROOT"))
    return (result.stream, *result.warnings)


def same_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Callable[[Path], Path], environ: dict[str, str]
) -> tuple[str, ...]:
    """The answer for a project made by `make`, asserted equal with 1 and with 3 workers."""
    alone = answer(make(tmp_path / "alone"), environ, 1, monkeypatch)
    split = answer(make(tmp_path / "split"), environ, 3, monkeypatch)
    assert split == alone
    return alone


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_environment_of_the_example_and_a_generated_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int], answered_by_workers: list[bool], env: str
) -> None:
    for name, make in (("example", copy_example), ("generated", lambda d: generate_repo(d, 9))):
        environ = request(env, ARGOCD_APP_NAMESPACE="somewhere-else")
        before = len(forks)
        result = same_answers(tmp_path / name, monkeypatch, make, environ)
        assert len(forks) == before + 3
        assert answered_by_workers[-2:] == [False, True], "one worker: in-process; three: the workers' answer"
        assert result[0] != "refused" and "kind: " in result[0]
        assert "'somewhere-else'" in result[1]  # the warning comes through too


def test_extra_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int], answered_by_workers: list[bool]
) -> None:
    result = same_answers(tmp_path, monkeypatch, copy_example, request("prod", labels='{"team": "ml"}'))
    assert answered_by_workers == [False, True]
    assert result[0].count("team: ml") >= 10


def refused_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int], edit: Callable[[Path], None], env: str
) -> str:
    def make(destination: Path) -> Path:
        root = copy_example(destination)
        assert run_cli(["render"], cwd=root).exit_code == 0
        edit(root)
        return root

    before = len(forks)
    result = same_answers(tmp_path, monkeypatch, make, request(env))
    assert result[0] == "refused"
    if env in ("dev", "staging", "prod"):
        assert len(forks) > before, "the split request tried its workers first"
    return result[1]


@pytest.mark.parametrize("pattern", ["base/models/*/kustomization.yaml", "overlays/prod/kustomization.yaml"])
def test_a_stale_committed_file_is_refused_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int], pattern: str
) -> None:
    """A model's own file (checked by a worker) or the environment's (checked here)."""

    def edit(root: Path) -> None:
        target = sorted(root.glob(pattern))[0]
        target.write_text(target.read_text() + "# edited\n")

    assert "committed generated file" in refused_alike(tmp_path, monkeypatch, forks, edit, "prod")


def test_a_stray_committed_file_is_refused_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    def edit(root: Path) -> None:
        (root / "overlays/prod/stray.yaml").write_text("kind: ConfigMap\n")

    assert "stray.yaml" in refused_alike(tmp_path, monkeypatch, forks, edit, "prod")


def test_a_broken_model_is_refused_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    def edit(root: Path) -> None:
        model = sorted((root / "models").glob("*.yaml"))[-1]
        model.write_text(model.read_text().replace("serving:", "serving:\n  nonsense: 1", 1))

    message = refused_alike(tmp_path, monkeypatch, forks, edit, "staging")
    assert "nonsense" in message and ".yaml:" in message


def test_an_unknown_environment_is_refused_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    assert "unknown environment 'qa'" in refused_alike(tmp_path, monkeypatch, forks, lambda root: None, "qa")


def test_without_a_committed_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int], answered_by_workers: list[bool]
) -> None:
    def make(destination: Path) -> Path:
        root = copy_example(destination)
        for generated in ("base/models", "overlays", "plugins"):
            shutil.rmtree(root / generated, ignore_errors=True)
        return root

    assert "kind: " in same_answers(tmp_path, monkeypatch, make, request("dev"))[0]
    assert answered_by_workers == [False, True]
