"""CLI behaviour shared by every command: JSON Schema output, error format, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from mlgitops.util.yamlio import parse_document
from tests.conftest import REPO, run_cli


def test_schema_accepts_the_bundled_files_and_rejects_a_misspelt_key() -> None:
    result = run_cli(["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    validator = jsonschema.Draft202012Validator(schema)
    files = [REPO / "mlgitops.yaml", *sorted((REPO / "models").glob("*.yaml"))]
    for path in files:
        data = parse_document(path.read_text(), path.name).data
        assert list(validator.iter_errors(data)) == [], path
    broken = parse_document((REPO / "models/fraud-detector.yaml").read_text(), "x").data
    broken["serving"]["replicaz"] = broken["serving"].pop("replicas")
    assert list(validator.iter_errors(broken))


@pytest.mark.parametrize("kind", ["model", "project"])
def test_schema_of_one_kind(kind: str) -> None:
    schema = json.loads(run_cli(["schema", "--kind", kind]).stdout)
    assert schema["title"] == kind.capitalize()
    assert schema["additionalProperties"] is False


def test_usage_errors_exit_2_without_traceback(example: Path) -> None:
    result = run_cli(["build"], cwd=example)
    assert result.exit_code == 2
    assert "--env" in result.stderr
    result = run_cli(["no-such-command"])
    assert result.exit_code == 2


def test_debug_shows_a_traceback_and_normal_mode_does_not(example: Path) -> None:
    (example / "models/fraud-detector.yaml").write_text("kind: [\n")
    plain = subprocess.run(
        [sys.executable, "-m", "mlgitops", "-C", str(example), "validate"], capture_output=True, text=True
    )
    assert plain.returncode == 1
    assert "Traceback" not in plain.stderr
    assert plain.stderr.startswith("models/fraud-detector.yaml:2:1: invalid YAML")
    debug = subprocess.run(
        [sys.executable, "-m", "mlgitops", "--debug", "-C", str(example), "validate"], capture_output=True, text=True
    )
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr


def test_project_root_is_found_from_a_subdirectory(example: Path) -> None:
    result = run_cli(["build", "--env", "dev", "--model", "fraud-detector"], cwd=example / "models")
    assert result.exit_code == 0
    assert "kind: InferenceService" in result.stdout
