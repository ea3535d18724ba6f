"""The render cache's project key follows the installed Jsonnet evaluators (go-jsonnet first, then the
C++ one, as `addons` picks them): templates can render differently on another evaluator."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlgitops.gitops.rendercache.inputs import project_key
from mlgitops.render.addons import EVALUATOR_MODULES

TEMPLATE = "function(model, environment, project, settings={}) []\n"


def _project(root: Path, *, templates: bool) -> Path:
    (root / "mlgitops.yaml").write_text("environments: [dev]\n")
    if templates:
        (root / "templates").mkdir()
        (root / "templates" / "empty.jsonnet").write_text(TEMPLATE)
    return root


@pytest.mark.parametrize("evaluator", EVALUATOR_MODULES)
def test_key_changes_when_an_evaluator_goes_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evaluator: str
) -> None:
    root = _project(tmp_path, templates=True)
    before = project_key(root)
    monkeypatch.setitem(sys.modules, evaluator, None)  # what an uninstalled evaluator looks like to import
    assert project_key(root) != before


def test_key_without_templates_ignores_the_evaluators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _project(tmp_path, templates=False)
    before = project_key(root)
    for evaluator in EVALUATOR_MODULES:
        monkeypatch.setitem(sys.modules, evaluator, None)
    assert project_key(root) == before
