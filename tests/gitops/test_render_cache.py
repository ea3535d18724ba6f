"""The render cache (rendercache/): a render that uses it writes exactly what a full render writes.

Each test renders with the cache, then compares the generated tree with a full render of a copy made
with `MLGITOPS_RENDER_CACHE=0` from an empty tree. Covered: a stale cache after editing
`mlgitops.yaml`, `base/platform/`, `templates/`, a model (with and without a change of its facts);
corrupted, truncated and hand-edited caches; generated files edited, deleted or added by hand; a
deleted and an added model; a failed render; `render --check` ignoring the cache; random edit
sequences of a generated repository.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
from pathlib import Path

import pytest

from bench.genrepo import generate, model_name, model_text
from mlgitops.gitops.rendercache import render as render_module
from mlgitops.gitops.rendercache import store
from mlgitops.gitops.rendercache.render import CACHE_SWITCH
from tests.conftest import run_cli, snapshot_tree

GENERATED = ("base/", "overlays/", "plugins/")
PLATFORM_SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: model-reader}\n"


def generated(root: Path) -> dict[str, bytes]:
    return {path: data for path, data in snapshot_tree(root).items() if path.startswith(GENERATED)}


def full_render(root: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The generated tree of a full render of root's inputs, from an empty tree, without any cache."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(root, scratch, ignore=shutil.ignore_patterns("base", "overlays", "plugins", ".mlgitops-cache"))
    if (root / "base/platform").is_dir():
        shutil.copytree(root / "base/platform", scratch / "base/platform")
    with monkeypatch.context() as patch:
        patch.setenv(CACHE_SWITCH, "0")
        result = run_cli(["render"], cwd=scratch)
    assert result.exit_code == 0, result.stderr
    return generated(scratch)


def render(root: Path) -> str:
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    return result.stderr


def assert_exact(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = full_render(root, tmp_path / "oracle", monkeypatch)
    actual = generated(root)
    assert sorted(actual) == sorted(expected)
    assert [p for p in expected if actual[p] != expected[p]] == []
    assert run_cli(["render", "--check"], cwd=root).exit_code == 0


@pytest.fixture
def full_renders(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The roots of the full (cache-less) renders made since the fixture started."""
    calls: list[Path] = []
    real = render_module._full

    def counted(root: Path, key: str) -> object:
        calls.append(root)
        return real(root, key)

    monkeypatch.setattr(render_module, "_full", counted)
    return calls


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = generate(tmp_path / "repo", 9)
    render(root)
    assert store.load(root) is not None
    return root


def add_platform(root: Path) -> None:
    (root / "base/platform").mkdir(parents=True)
    (root / "base/platform/kustomization.yaml").write_text("resources: [sa.yaml]\n")
    (root / "base/platform/sa.yaml").write_text(PLATFORM_SA)


def rewrite_cache(root: Path, edit: object) -> None:
    """Hand-edit the cache's JSON and give it a valid checksum again (a deliberate, consistent edit)."""
    path = store.cache_path(root)
    _header, _, body = path.read_bytes().partition(b"\n")
    data = json.loads(body)
    assert callable(edit)
    edit(data)
    body = json.dumps(data).encode()
    path.write_bytes(f"{store.FORMAT} {hashlib.sha256(body).hexdigest()}\n".encode() + body)


def test_up_to_date_and_one_model_changed(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_renders: list[Path]
) -> None:
    assert render(repo) == "up to date: no generated file changed\n"
    (repo / f"models/{model_name(4)}.yaml").write_text(model_text(4, version=9))
    assert render(repo).startswith("rendered ")
    assert full_renders == []  # both from the cache
    assert_exact(repo, tmp_path, monkeypatch)
    entry = store.load(repo)
    assert entry is not None and entry.models[model_name(4)].input == store.content_hash(
        (repo / f"models/{model_name(4)}.yaml").read_bytes()
    )
    assert render(repo) == "up to date: no generated file changed\n"


def test_a_model_whose_facts_change_renders_the_environment_files_too(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = generated(repo)
    text = model_text(1) + "  dev: {enabled: false}\n"  # model-0001 leaves dev: the dev kustomization changes
    (repo / f"models/{model_name(1)}.yaml").write_text(text)
    render(repo)
    assert_exact(repo, tmp_path, monkeypatch)
    after = generated(repo)
    assert before["overlays/dev/kustomization.yaml"] != after["overlays/dev/kustomization.yaml"]
    assert not any(p.startswith(f"overlays/dev/{model_name(1)}/") for p in after)


def rename_prod_namespace(root: Path) -> None:
    (root / "mlgitops.yaml").write_text((root / "mlgitops.yaml").read_text().replace("ml-prod", "ml-live"))


def add_template(root: Path) -> None:
    (root / "templates").mkdir()
    (root / "templates/extra.jsonnet").write_text("function(model, environment, project, settings={}) []\n")


@pytest.mark.parametrize("edit", [rename_prod_namespace, add_platform, add_template])
def test_a_change_outside_the_models_invalidates_the_cache(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: object
) -> None:
    key = store.load(repo)
    assert callable(edit) and key is not None
    edit(repo)
    render(repo)
    assert_exact(repo, tmp_path, monkeypatch)
    new = store.load(repo)
    assert new is not None and new.key != key.key


def test_a_platform_file_edited_later_invalidates_the_cache(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_platform(repo)
    render(repo)
    first = store.load(repo)
    (repo / "base/platform/sa.yaml").write_text(PLATFORM_SA.replace("ServiceAccount", "ConfigMap"))
    render(repo)
    assert_exact(repo, tmp_path, monkeypatch)
    second = store.load(repo)
    assert first is not None and second is not None and first.key != second.key
    assert b"kind: ConfigMap" in generated(repo)["plugins/argocd/appproject-bench.yaml"]  # the whitelist follows


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), id="truncated"),
        pytest.param(lambda p: p.write_bytes(b"\0garbage\xff"), id="garbage"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes().replace(b'"input":"', b'"input":"0', 1)), id="checksum"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p: p.unlink() or p.mkdir(), id="a-directory"),
    ],
)
def test_a_corrupt_cache_means_a_full_render(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: object, full_renders: list[Path]
) -> None:
    assert callable(damage)
    (repo / f"models/{model_name(2)}.yaml").write_text(model_text(2, version=11))
    damage(store.cache_path(repo))
    assert store.load(repo) is None
    render(repo)
    assert full_renders == [repo]
    assert_exact(repo, tmp_path, monkeypatch)


def _forge_model_hash(data: dict[str, object]) -> None:
    """A consistent lie: model-0003's record claims the current file, with another file's hashes."""
    models = data["models"]
    assert isinstance(models, dict)
    entry = models[model_name(3)]
    entry["files"] = {path: "0" * 40 for path in entry["files"]}


def _forge_path(data: dict[str, object]) -> None:
    shared = data["shared"]
    assert isinstance(shared, dict)
    shared["overlays/../../outside.yaml"] = "0" * 40


def _forge_facts(data: dict[str, object]) -> None:
    models = data["models"]
    assert isinstance(models, dict)
    models[model_name(5)]["facts"]["labels"] = {"team": "x"}
    models[model_name(5)]["input"] = "0" * 40  # and the model looks changed


@pytest.mark.parametrize("forge", [_forge_model_hash, _forge_path, _forge_facts])
def test_a_hand_edited_cache_never_changes_the_output(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forge: object
) -> None:
    rewrite_cache(repo, forge)
    render(repo)
    assert_exact(repo, tmp_path, monkeypatch)
    assert not (tmp_path / "outside.yaml").exists()


def test_generated_files_edited_deleted_or_added_by_hand_are_repaired(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = repo / f"overlays/prod/{model_name(1)}/kustomization.yaml"
    edited.write_text(edited.read_text() + "# hand edit\n")
    (repo / f"base/models/{model_name(2)}/kustomization.yaml").unlink()
    stray = repo / f"overlays/dev/{model_name(3)}/stray.yaml"
    stray.write_text("# Generated by mlgitops from models/x.yaml. Do not edit by hand.\nkind: X\n")
    shared = repo / "plugins/argocd/kustomization.yaml"
    shared.write_text(shared.read_text() + "# hand edit\n")
    assert render(repo).startswith("rendered ")
    assert not stray.exists()
    assert_exact(repo, tmp_path, monkeypatch)


def test_a_hand_written_file_in_a_model_directory_is_still_refused(repo: Path) -> None:
    stray = repo / f"overlays/dev/{model_name(3)}/notes.yaml"
    stray.write_text("my notes\n")
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1 and "not written by mlgitops" in result.stderr
    assert stray.read_text() == "my notes\n"


def test_a_deleted_and_an_added_model(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / f"models/{model_name(4)}.yaml").unlink()
    render(repo)
    assert not [p for p in generated(repo) if model_name(4) in p.split("/")]
    assert_exact(repo, tmp_path, monkeypatch)
    (repo / f"models/{model_name(40)}.yaml").write_text(model_text(40))
    render(repo)
    assert_exact(repo, tmp_path, monkeypatch)


def test_a_failed_render_leaves_the_tree_and_the_cache(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, cache = snapshot_tree(repo), store.cache_path(repo).read_bytes()
    (repo / f"models/{model_name(2)}.yaml").write_text(model_text(2).replace("replicas: {min: 2", "replicas: {min: -2"))
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1 and result.stderr.startswith(f"models/{model_name(2)}.yaml:")
    after = snapshot_tree(repo)
    assert {p for p in set(before) | set(after) if before.get(p) != after.get(p)} == {f"models/{model_name(2)}.yaml"}
    assert store.cache_path(repo).read_bytes() == cache
    (repo / f"models/{model_name(2)}.yaml").write_text(model_text(2, version=7))
    render(repo)
    assert_exact(repo, tmp_path, monkeypatch)


def test_render_check_does_not_trust_the_cache(repo: Path) -> None:
    """A generated file edited together with a cache that agrees with it: `--check` still sees it."""
    path = f"overlays/prod/{model_name(1)}/kustomization.yaml"
    (repo / path).write_text((repo / path).read_text() + "# hand edit\n")
    digest = store.content_hash((repo / path).read_bytes())
    rewrite_cache(repo, lambda data: data["models"][model_name(1)]["files"].__setitem__(path, digest))
    result = run_cli(["render", "--check"], cwd=repo)
    assert result.exit_code == 1 and result.stdout.splitlines() == [path]


def _random_edit(rng: random.Random, root: Path, step: int) -> None:
    models = sorted(p.stem for p in (root / "models").glob("*.yaml"))
    index = int(rng.choice(models).rpartition("-")[2])
    path = root / f"models/{model_name(index)}.yaml"
    choice = rng.choice([0, 0, 0, 8, 8, 1, 2, 3, 4, 5, 6, 7])  # mostly what a day brings: model edits
    if choice == 0:
        path.write_text(model_text(index, version=rng.randrange(6, 60)))
    elif choice == 1 and len(models) > 3:
        path.unlink()
    elif choice == 2:
        (root / f"models/{model_name(100 + step)}.yaml").write_text(model_text(100 + step))
    elif choice == 3:
        text = model_text(index)
        if "\n  dev:" not in text:
            text += "  dev: {enabled: false}\n"
        elif "\n  staging:" not in text:
            text += "  staging: {enabled: false}\n"
        else:  # the KServe shape patches both: dev's one-line patch becomes the opt-out
            text = re.sub(r"\n  dev: \{.*\}\n", "\n  dev: {enabled: false}\n", text)
            assert "dev: {enabled: false}" in text
        path.write_text(text)
    elif choice == 4:
        path.write_text(
            model_text(index).replace(
                f"owner: team-{index % 7}", f"owner: team-{index % 7}, labels: {{team: t{rng.randrange(3)}}}"
            )
        )
    elif choice == 5:
        project = root / "mlgitops.yaml"
        project.write_text(project.read_text().replace("syncPolicy: manual", "syncPolicy: auto", 1))
    elif choice == 6:
        files = sorted(p for p in (root / "overlays").rglob("*.yaml"))
        victim = rng.choice(files)
        victim.write_text(victim.read_text() + "# edited\n")
    elif choice == 7:
        files = sorted(p for p in (root / "base/models").rglob("*.yaml"))
        rng.choice(files).unlink()
    else:
        path.write_text(model_text(index, version=5).replace("max: 4", f"max: {rng.randrange(5, 9)}"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_edit_sequences_render_what_a_full_render_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, full_renders: list[Path]
) -> None:
    rng = random.Random(seed)
    root = generate(tmp_path / "repo", 8)
    render(root)
    steps = 10
    for step in range(steps):
        _random_edit(rng, root, step)
        render(root)
        assert_exact(root, tmp_path, monkeypatch)
    assert 1 < full_renders.count(root) < steps  # both paths were taken (the first render is a full one)


def test_promote_renders_the_one_model_through_the_cache(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_renders: list[Path]
) -> None:
    before = generated(repo)
    argv = ["promote", model_name(1), "--to", "dev", "--version", "77"]
    result = run_cli([*argv, "--storage-uri", f"s3://models/{model_name(1)}/77/model"], cwd=repo)
    assert result.exit_code == 0, result.stderr
    assert full_renders == []
    after = generated(repo)
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    assert changed and all(p.split("/")[2] == model_name(1) for p in changed)  # its own directories only
    assert_exact(repo, tmp_path, monkeypatch)
