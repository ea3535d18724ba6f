"""`validate` checks each distinct object body against its schema once across environments: the
findings (messages, paths, spec locations) are the same as checking every object."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.genrepo import generate
from mlgitops.checks.schemas import dedup
from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from mlgitops.validate.output import format_json
from mlgitops.validate.report import ValidateOptions
from mlgitops.validate.run import validate_workspace
from tests.conftest import copy_example


def _no_dedup(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = iter(range(10**9))
    monkeypatch.setattr(dedup, "body_key", lambda obj: str(next(counter)))


STRICT_ISVC = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: inferenceservices.serving.kserve.io}
spec:
  group: serving.kserve.io
  names: {kind: InferenceService, plural: inferenceservices}
  scope: Namespaced
  versions:
  - name: v1beta1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              predictor:
                type: object
                properties:
                  minReplicas: {type: integer, maximum: 0}
"""


def _strict_crds(tmp_path: Path) -> Path:
    """A deliberately narrow InferenceService schema: every model gets schema findings."""
    folder = tmp_path / "strict-crds"
    folder.mkdir()
    (folder / "isvc.yaml").write_text(STRICT_ISVC)
    return folder


@pytest.mark.parametrize("source", ["example", "generated"])
def test_dedup_gives_the_same_report(
    source: str, tmp_path: Path, crds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_example(tmp_path / "ex") if source == "example" else generate(tmp_path / "gen", 9)
    options = ValidateOptions(crds=(_strict_crds(tmp_path), crds_dir))
    deduplicated = format_json(validate_workspace(load_workspace(root), options))
    assert '"rule": "schema"' in deduplicated or "schema" in deduplicated
    _no_dedup(monkeypatch)
    full = format_json(validate_workspace(load_workspace(root), options))
    assert deduplicated == full


def test_identical_bodies_are_checked_once(tmp_path: Path, crds_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    memos: list[dedup.SchemaMemo] = []
    original = dedup.SchemaMemo.__init__

    def keep(self: dedup.SchemaMemo, check: Callable[[dict[str, Any]], Any]) -> None:
        original(self, check)
        memos.append(self)

    monkeypatch.setattr(dedup.SchemaMemo, "__init__", keep)
    workspace = load_workspace(generate(tmp_path / "gen", 9))
    report = validate_workspace(workspace, ValidateOptions(crds=(crds_dir,)))
    distinct = set()
    renders = render_models(workspace)
    for env in workspace.project.environment_names:
        for obj in environment_objects(workspace, env, renders):
            bare = copy.deepcopy(obj)
            bare["metadata"].pop("namespace", None)
            bare["metadata"]["labels"].pop("mlgitops.io/environment")
            distinct.add(yaml.safe_dump(bare, sort_keys=True))
    assert len(memos) == 1
    assert memos[0].checked == len(distinct) < report.objects


def test_body_key_ignores_only_namespace_and_environment_label() -> None:
    a = {"kind": "X", "metadata": {"name": "n", "namespace": "ml-dev", "labels": {"mlgitops.io/environment": "dev"}}}
    b = {"kind": "X", "metadata": {"name": "n", "namespace": "ml-prod", "labels": {"mlgitops.io/environment": "prod"}}}
    c = {"kind": "X", "metadata": {"name": "n", "namespace": "ml-prod", "labels": {"team": "a"}}}
    assert dedup.body_key(a) == dedup.body_key(b)
    assert dedup.body_key(a) != dedup.body_key(c)
    assert a["metadata"]["namespace"] == "ml-dev"  # the object is not changed
