"""The Jsonnet evaluator as installed: a main dependency (an `init` project, which has a template,
renders with a plain `pip install mlgitops`), checked by the sidecar install check, and started only
in the forked child that evaluates (a Go runtime does not survive a fork, so the parent never loads it)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from mlgitops.render import addons
from tests.conftest import REPO, run_cli
from tests.render.test_addons import example_with_addons


def test_the_evaluator_is_a_main_dependency_on_every_platform() -> None:
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    evaluators = [d for d in dependencies if d.startswith(("gojsonnet", "jsonnet"))]
    # go-jsonnet everywhere it has wheels, the C++ evaluator on Intel Macs: the markers cover every platform
    assert [d.split(";")[1].strip() for d in evaluators] == [
        "sys_platform != 'darwin' or platform_machine != 'x86_64'",
        "sys_platform == 'darwin' and platform_machine == 'x86_64'",
    ]


def test_the_install_check_evaluates_a_template() -> None:
    assert addons.evaluator_problem() is None


def test_the_install_check_reports_a_missing_evaluator(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in addons.EVALUATOR_MODULES:
        monkeypatch.setitem(sys.modules, name, None)  # `import name` now raises ImportError (in the fork too)
    problem = addons.evaluator_problem()
    assert problem is not None and "no Jsonnet evaluator is installed" in problem


def test_render_never_loads_the_evaluator_in_its_own_process(tmp_path: Path) -> None:
    before = set(sys.modules)
    repo = example_with_addons(tmp_path / "repo")
    assert (repo / "base/models/fraud-detector/networkpolicy-fraud-detector-ingress.yaml").is_file()
    assert not set(addons.EVALUATOR_MODULES) & (set(sys.modules) - before)
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0


def test_the_docs_show_the_bundled_network_policy_template_as_it_is() -> None:
    page = (REPO / "docs" / "addons.md").read_text()
    blocks = page.split('```jsonnet title="templates/network-policy.jsonnet"\n')[1:]
    assert len(blocks) == 1
    shown = blocks[0].split("```")[0]
    assert shown.startswith("local lib = import") and shown in (REPO / "templates/network-policy.jsonnet").read_text()
