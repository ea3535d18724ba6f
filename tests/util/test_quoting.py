"""Numbers and booleans where text is meant: an error at the value, quoting what the user wrote.

`version: 1.10` used to become the label "1.1" and `version: 8` passed silently; now every field the
schema types as text refuses a YAML number or boolean with `quote it ("...")`. Quantities keep
accepting numbers (`cpu: 1`), as Kubernetes does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgitops.gitops.scaffold import InitOptions, init_project
from tests.conftest import run_cli, snapshot_tree

MODEL = "models/example-classifier.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "ml-config"
    init_project(InitOptions(root, repo_url="https://github.com/acme/ml-config.git"))
    return root


def edit(root: Path, old: str, new: str) -> tuple[int, int]:
    """Replace `old` in the example model; return the (line, column) where `new` starts."""
    path = root / MODEL
    text = path.read_text()
    assert text.count(old) == 1, old
    start = text.index(old)
    path.write_text(text.replace(old, new))
    before = text[:start]
    return before.count("\n") + 1, start - (before.rfind("\n") + 1) + 1


def value_position(root: Path, line: int, needle: str) -> int:
    return (root / MODEL).read_text().splitlines()[line - 1].index(needle) + 1


@pytest.mark.parametrize(
    ("written", "reads_as"),
    [
        ("1.10", "the number 1.10, which YAML reads as 1.1"),
        ("8", "the number 8"),
        ("1e3", "the number 1e3, which YAML reads as 1000.0"),
        ("true", "the boolean true"),
        ("0x1F", "the number 0x1F, which YAML reads as 31"),
    ],
)
def test_unquoted_version_is_an_error_at_the_value(project: Path, written: str, reads_as: str) -> None:
    line, _ = edit(project, 'version: "1"', f"version: {written}")
    before = snapshot_tree(project)
    result = run_cli(["render"], cwd=project)
    assert result.exit_code == 1
    column = value_position(project, line, written)
    assert result.stderr.splitlines() == [
        f'{MODEL}:{line}:{column}: model.version is written as {reads_as}: quote it ("{written}")'
    ]
    assert "Traceback" not in result.stderr
    assert snapshot_tree(project) == before  # nothing written


@pytest.mark.parametrize(
    ("old", "new", "field", "written"),
    [
        ("format: sklearn", "format: sklearn\n  formatVersion: 1.0", "model.formatVersion", "1.0"),
        ("owner: team-ml", "owner: team-ml\n  labels: {tier: 2}", "metadata.labels.tier", "2"),
        ("owner: team-ml", "owner: 42", "metadata.owner", "42"),
        ('{data-uri: "s3://my-data/example-classifier/"}', "{epochs: 10}", "training.parameters.epochs", "10"),
        ("command: [python, -m, classifier.prepare]", "command: [python, 3]", "training.steps[0].command[1]", "3"),
        ("retries: 1}", "retries: 1, args: [--seed, 42]}", "training.steps[1].args[1]", "42"),
        ("retries: 1}", "retries: 1, env: {DEBUG: false}}", "training.steps[1].env.DEBUG", "false"),
    ],
)
def test_every_text_field_refuses_numbers(project: Path, old: str, new: str, field: str, written: str) -> None:
    edit(project, old, new)
    result = run_cli(["render"], cwd=project)
    assert result.exit_code == 1, result.stderr
    [line] = result.stderr.splitlines()
    kind = "boolean" if written in ("true", "false") else "number"
    assert f": {field} is written as the {kind} {written}" in line, line
    assert line.endswith(f'quote it ("{written}")'), line
    # positioned at the value itself
    where = line.split(": ", 1)[0]
    path, row, column = where.rsplit(":", 2)
    assert path == MODEL
    assert (project / MODEL).read_text().splitlines()[int(row) - 1][int(column) - 1 :].startswith(written)


def test_environment_patch_is_quoted_as_written_there(project: Path) -> None:
    text = (project / MODEL).read_text()
    (project / MODEL).write_text(
        text.replace(
            "  prod:\n    serving: {replicas: {min: 2, max: 6}}",
            "  prod:\n    serving: {replicas: {min: 2, max: 6}}\n    model: {version: 2.50}",
        )
    )
    result = run_cli(["render"], cwd=project)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    row = next(i for i, t in enumerate((project / MODEL).read_text().splitlines(), 1) if "2.50" in t)
    assert line.startswith(f"{MODEL}:{row}:")
    assert 'model.version is written as the number 2.50, which YAML reads as 2.5: quote it ("2.50")' in line
    assert "prod" in line


def test_project_text_fields_refuse_numbers(project: Path) -> None:
    path = project / "mlgitops.yaml"
    path.write_text(path.read_text().replace("revision: main", "revision: 2024"))
    result = run_cli(["render"], cwd=project)
    assert result.exit_code == 1
    assert result.stderr.rstrip().endswith('revision is written as the number 2024: quote it ("2024")')
    assert result.stderr.startswith("mlgitops.yaml:")


@pytest.mark.parametrize("quantity", ["1", "0.5", "2"])
def test_quantities_accept_numbers(project: Path, quantity: str) -> None:
    edit(project, 'limits: {cpu: "1"', f"limits: {{cpu: {quantity}")
    result = run_cli(["render"], cwd=project)
    assert result.exit_code == 0, result.stderr
    rendered = (project / "base" / "models" / "example-classifier").rglob("*.yaml")
    assert any(f'cpu: "{quantity}"' in p.read_text() or f"cpu: '{quantity}'" in p.read_text() for p in rendered)


def test_quantity_refuses_a_boolean(project: Path) -> None:
    edit(project, 'limits: {cpu: "1"', "limits: {cpu: true")
    result = run_cli(["render"], cwd=project)
    assert result.exit_code == 1
    assert 'is written as the boolean true: quote it ("true")' in result.stderr


def test_quoted_values_still_work(project: Path) -> None:
    edit(project, 'version: "1"', 'version: "1.10"')
    result = run_cli(["render"], cwd=project)
    assert result.exit_code == 0, result.stderr
    rendered = "".join(p.read_text() for p in (project / "base").rglob("*.yaml"))
    assert 'app.kubernetes.io/version: "1.10"' in rendered
