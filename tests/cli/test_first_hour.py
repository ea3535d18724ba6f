"""A newcomer's first hour: `make help` reads plainly, the promtool tests skip (not fail) on a machine
without promtool unless MLGITOPS_REQUIRE_ALL=1, and the example's summary counts objects per kind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import tests.conftest
from tests.conftest import REPO, copy_example


def test_make_help_shows_no_make_variables() -> None:
    out = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "$(" not in out
    for target in ("example", "test", "promtool", "docs", "crds"):
        assert f"  {target} " in out, target


def _without_promtool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PROMTOOL", "")
    monkeypatch.setenv("PROMTOOL_PREFIX", str(tmp_path / "none"))
    monkeypatch.setenv("PATH", str(tmp_path))


def test_promtool_missing_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.render.test_monitoring import _promtool

    _without_promtool(monkeypatch, tmp_path)
    monkeypatch.setattr(tests.conftest, "REQUIRE_ALL", False)
    with pytest.raises(pytest.skip.Exception, match="promtool not found"):
        _promtool()


def test_promtool_missing_fails_under_require_all(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.render.test_monitoring import _promtool

    _without_promtool(monkeypatch, tmp_path)
    monkeypatch.setattr(tests.conftest, "REQUIRE_ALL", True)
    with pytest.raises(pytest.fail.Exception, match="MLGITOPS_REQUIRE_ALL=1"):
        _promtool()


def test_the_example_summary_counts_objects_per_environment_and_kind(tmp_path: Path) -> None:
    example = copy_example(tmp_path / "example")
    out = subprocess.run(
        [sys.executable, str(REPO / "tools" / "summary.py"), str(example)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("kind "))
    assert header.split() == ["kind", "dev", "staging", "prod"]
    assert any(line.split()[0] == "serving.kserve.io/InferenceService" for line in lines if line.strip())
    assert "crds/README.md" in out and (REPO / "crds" / "README.md").is_file()
    assert len(lines) < 40  # a summary, not the manifests
