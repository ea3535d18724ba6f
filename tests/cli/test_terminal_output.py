"""Text from specs never reaches a terminal raw, and `diff` exits 2 on every failure.

Through the real CLI: the diff summary, titles and bodies (text and Markdown), `validate` text and
GitHub formats, `render --check`'s stale paths and one-line errors all escape non-printables; Markdown
output shows spec text literally (no links, images, mentions or HTML).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlgitops.delivery.diff import command as diff_command
from mlgitops.delivery.diff.markdown import format_markdown
from mlgitops.delivery.diff.results import DiffResult, EnvironmentDiff, ModelChange, ObjectChange
from mlgitops.delivery.diff.text import format_text
from mlgitops.delivery.git_repo import Revision
from mlgitops.util.textsafe import printable, printable_lines
from tests.conftest import copy_example, run_cli
from tests.delivery.test_diff import commit_all, git

MODEL = "models/fraud-detector.yaml"
# Spec text as YAML escapes it: clear screen, a bidi override, a line separator, a bell
HOSTILE_YAML = "\\e[2J\\u202e\\u2028\\a"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202e]")


def no_raw_controls(text: str) -> bool:
    return RAW.search(text) is None


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = copy_example(tmp_path / "repo")
    git(root, "init", "-q")
    commit_all(root, "example")
    return root


def add_hostile_annotations(root: Path, *, in_key: bool = True) -> None:
    """Hostile text in an annotation value, and (`in_key`) in a key, which the spec check refuses."""
    key = f'"serving.kserve.org/{HOSTILE_YAML}": "v", ' if in_key else ""
    spec = root / MODEL
    spec.write_text(
        spec.read_text().replace(
            "  owner: team-risk\n",
            f'  owner: team-risk\n  annotations: {{{key}note: "{HOSTILE_YAML}"}}\n',
            1,
        )
    )


# --- the helper ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain ü 😀", "plain ü 😀"),
        ("\x1b[2J", "\\x1b[2J"),
        ("a\nb\tc\r", "a\\nb\\tc\\r"),
        ("\x9f\x85\u2028\u202e\ufeff", "\\x9f\\x85\\u2028\\u202e\\ufeff"),
        ("\ud800\U000e0001", "\\ud800\\U000e0001"),
        ("back\\slash", "back\\slash"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert printable(printable(text)) == printable(text)  # idempotent
    if "\n" not in text:
        assert printable_lines(f"{text}\n{text}") == f"{shown}\n{shown}"


# --- diff --------------------------------------------------------------------------------------------


def test_diff_text_escapes_spec_text(repo: Path) -> None:
    add_hostile_annotations(repo, in_key=False)
    result = run_cli(["diff"], cwd=repo)
    assert result.exit_code == 1, result.stderr
    assert no_raw_controls(result.stdout), result.stdout
    assert "[2J" in result.stdout  # shown, escaped
    git(repo, "checkout", "-q", "--", MODEL)
    add_hostile_annotations(repo)  # a hostile key is a spec error: diff exits 2 with one escaped line
    result = run_cli(["diff"], cwd=repo)
    assert result.exit_code == 2 and no_raw_controls(result.stderr) and "\\x1b[2J" in result.stderr


def test_diff_markdown_escapes_and_neutralises(repo: Path) -> None:
    add_hostile_annotations(repo, in_key=False)
    result = run_cli(["diff", "--format", "markdown"], cwd=repo)
    assert result.exit_code == 1, result.stderr
    assert no_raw_controls(result.stdout)


def hostile_result() -> DiffResult:
    hostile = "![x](https://evil.example/p.png) <img src=x> [link](https://evil) @org/team *b* `c` | d \x1b[2J"
    env = EnvironmentDiff(
        "prod",
        objects=[
            ObjectChange(
                "prod",
                "changed",
                ("", "ConfigMap", "ml-prod", "cm\x1b[2J"),
                {"a": 1},
                {"a": 2},
                None,
                "--- a\n+++ b\n-x\x1b[2J\n+y\u2028",
            )
        ],
        models=[ModelChange("prod", "m", "changed", hostile, [])],
    )
    revision = Revision("b\x1b", "0" * 40, "base \x1b[31m")
    return DiffResult(revision, revision, [env], notes=[hostile])


def test_markdown_shows_spec_text_literally() -> None:
    text = format_markdown(hostile_result())
    assert no_raw_controls(text)
    assert "<img" not in text and "](https://" not in text and "![" not in text
    assert "\\@org" in text and "\\*b\\*" in text and "\\|" in text
    assert "&lt;img src=x&gt;" in text


def test_text_format_of_hostile_result_has_one_line_per_item() -> None:
    text = format_text(hostile_result())
    assert no_raw_controls(text)
    assert "ConfigMap ml-prod/cm\\x1b[2J" in text
    assert "+y\\u2028" in text  # the diff body keeps its lines, each escaped


def test_diff_unexpected_exception_exits_2_with_one_line(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("boom\nsecond line \x1b[2J")

    monkeypatch.setattr(diff_command, "compare_environment", broken)
    result = run_cli(["diff"], cwd=repo)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["internal error: RuntimeError: boom second line \\x1b[2J"]
    with pytest.raises(RuntimeError):
        run_cli(["--debug", "diff"], cwd=repo)


@pytest.mark.parametrize("error", [RecursionError("deep"), MemoryError(), OSError(28, "No space left on device")])
def test_diff_exits_2_on_any_failure(repo: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def broken(*_args: object, **_kwargs: object) -> object:
        raise error

    monkeypatch.setattr(diff_command, "_select", broken)
    result = run_cli(["diff"], cwd=repo)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"internal error: {type(error).__name__}")


def test_diff_user_errors_exit_2(tmp_path: Path, repo: Path) -> None:
    outside = copy_example(tmp_path / "plain")
    proc = subprocess.run([sys.executable, "-m", "mlgitops", "diff"], cwd=outside, capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    (repo / MODEL).write_text((repo / MODEL).read_text().replace("format: sklearn", "format: [sklearn"))
    result = run_cli(["diff"], cwd=repo)
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(f"working tree: {MODEL}:")


# --- validate, render --check, errors -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "github"])
def test_validate_escapes_spec_text(tmp_path: Path, fmt: str) -> None:
    root = copy_example(tmp_path / "repo")
    add_hostile_annotations(root)
    result = run_cli(["validate", "--format", fmt], cwd=root)
    assert no_raw_controls(result.stdout + result.stderr), result.stdout + result.stderr
    assert "\\x1b[2J" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_render_check_lists_stale_paths_one_per_line(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    (root / "base" / "models" / "evil\nname\x1b[2J.yaml").write_text("x: 1\n")
    result = run_cli(["render", "--check"], cwd=root)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["base/models/evil\\nname\\x1b[2J.yaml"]


def test_error_lines_escape_spec_text(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    spec = root / MODEL
    spec.write_text(spec.read_text().replace("format: sklearn", f'format: sklearn\n  "{HOSTILE_YAML}": 1', 1))
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1
    assert no_raw_controls(result.stderr), repr(result.stderr)
    assert all(line.startswith(f"{MODEL}:") for line in result.stderr.splitlines())


def test_cmp_errors_are_escaped(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PARAM_ENVIRONMENT": "dev\x1b[2J\u2028x"}
    proc = subprocess.run(
        [sys.executable, "-m", "mlgitops", "cmp", "generate"], cwd=root, env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert no_raw_controls(proc.stderr)
