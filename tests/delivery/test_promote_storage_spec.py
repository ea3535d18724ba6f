"""`promote` pins model.storageUri: a model whose environment names its files with KServe's storage spec
(model.storage.path), or that has none (a multi-model server), is refused with one line saying what to edit
instead, and nothing is written."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli, snapshot_tree
from tests.projects import project_yaml, write_project

MODEL = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: m}
model:
  format: sklearn
  version: "3"
  storage: {key: minio, path: models/m/3}
serving: {}
"""


def test_promote_refuses_a_storage_path_pin(tmp_path: Path) -> None:
    root = write_project(tmp_path, project_yaml("dev", "prod"), {"m": MODEL})
    assert run_cli(["render"], cwd=root).exit_code == 0
    before = snapshot_tree(root)
    result = run_cli(["promote", "m", "--to", "prod", "--from", "dev"], cwd=root)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "models/m.yaml: m names its files in dev with model.storage.path, and promote pins model.storageUri; "
        "pin the version by editing model.version and model.storage.path of environments.dev.model"
    ), result.stderr
    assert snapshot_tree(root) == before
    # An explicit version too: the environment's current pin is a path, which promote cannot replace.
    result = run_cli(
        ["promote", "m", "--to", "dev", "--version", "4", "--storage-uri", "s3://models/m/4/model"], cwd=root
    )
    assert result.exit_code == 1 and "names its files in dev with model.storage.path" in result.stderr
    assert snapshot_tree(root) == before


def test_promote_refuses_a_multi_model_server(tmp_path: Path) -> None:
    model = MODEL.replace("  storage: {key: minio, path: models/m/3}\n", "").replace(
        "serving: {}", "serving: {multiModel: true}"
    )
    root = write_project(tmp_path, project_yaml("dev", "prod"), {"m": model})
    assert run_cli(["render"], cwd=root).exit_code == 0
    before = snapshot_tree(root)
    result = run_cli(["promote", "m", "--to", "prod", "--from", "dev"], cwd=root)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "models/m.yaml: m is a multi-model server in dev (serving.multiModel): it has no model files of its own to "
        "pin; its TrainedModels name theirs (edit them where the addon's settings are)"
    ), result.stderr
    assert snapshot_tree(root) == before
