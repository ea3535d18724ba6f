"""CLI help and options: every command's --help has a description, an example and its exit codes;
`-C DIR` also after the command; `build --env` misspelt gets a did-you-mean."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from mlgitops.cli.main import parser as _parser
from tests.conftest import copy_example, run_cli

COMMANDS = [["init"], ["render"], ["build"], ["validate"], ["cmp"], ["cmp", "generate"], ["cmp", "parameters"],
            ["sidecar"], ["sidecar", "dockerfile"], ["schema"], ["diff"], ["promote"], ["history"],
            ["rollback"], ["status"], ["test"]]  # fmt: skip


def help_text(command: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_info:
        _parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    return out.getvalue()


def test_every_command_is_listed() -> None:
    listed = re.findall(r"^    (\w+)\s", help_text([]), flags=re.MULTILINE)
    assert sorted(listed) == sorted({c[0] for c in COMMANDS})


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_a_description_an_example_and_exit_codes(command: list[str]) -> None:
    text = help_text(command)
    usage, _, rest = text.partition("\n\n")
    assert usage.startswith(f"usage: mlgitops {' '.join(command)}")
    description = rest.split("\n\n", 1)[0]
    assert not description.startswith(("options:", "positional")) and len(description) > 40, text
    example = re.search(r"^example:\n  (mlgitops .+|\S+=\S+ .*mlgitops .+)$", text, flags=re.MULTILINE)
    assert example and " ".join(command) in example[1], text
    codes = re.search(r"^exit codes:\n((?:  \d+ .+\n?)+)", text, flags=re.MULTILINE)
    assert codes, text
    numbers = [line.split()[0] for line in codes[1].splitlines()]
    assert numbers[0] == "0" and len(numbers) >= 2 and numbers == sorted(numbers), numbers
    assert all(len(line) <= 110 for line in description.splitlines()), description  # wrapped


def test_exit_codes_in_help_match_behaviour(tmp_path: Path) -> None:
    """diff's help promises 2 on any error; validate's 1 on errors: both are what the commands do."""
    assert "2 any error" in help_text(["diff"])
    assert run_cli(["diff"], cwd=tmp_path).exit_code == 2  # not a project, not Git
    assert "1 errors found" in help_text(["validate"])


def test_directory_option_after_the_command(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    after = run_cli(["render", "-C", str(root), "--check"], cwd=None)
    assert after.exit_code == 0, after.stderr
    build = run_cli(["build", "-C", str(root), "--env", "dev", "--model", "fraud-detector"])
    assert build.exit_code == 0 and "kind: InferenceService" in build.stdout
    # before the command still works; after the command wins over before
    both = run_cli(["-C", str(elsewhere), "validate", "-C", str(root), "--format", "json"])
    assert both.exit_code == 0, both.stderr
    alone = run_cli(["-C", str(elsewhere), "render", "--check"])  # no project there
    assert alone.exit_code == 2 and f"no mlgitops.yaml found in {elsewhere}" in alone.stderr


def test_build_env_typo_gets_a_did_you_mean(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    result = run_cli(["build", "--env", "prodd"], cwd=root)
    assert result.exit_code == 2
    expected = "unknown environment 'prodd' (did you mean 'prod'?); the project has dev, staging, prod"
    assert result.stderr.strip() == expected
    model = run_cli(["build", "--env", "prod", "--model", "fraud-detectr"], cwd=root)
    assert model.exit_code == 2
    assert "unknown model 'fraud-detectr' (did you mean 'fraud-detector'?)" in model.stderr


def test_render_says_up_to_date(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0
    assert result.stderr.strip() == "up to date: no generated file changed"
    (root / "models" / "fraud-detector.yaml").write_text(
        (root / "models" / "fraud-detector.yaml").read_text().replace("owner: team-risk", "owner: team-fraud")
    )
    changed = run_cli(["render"], cwd=root)
    assert changed.exit_code == 0
    assert re.fullmatch(r"rendered \d+ changed file\(s\)\n", changed.stderr), changed.stderr
    assert run_cli(["render"], cwd=root).stderr.startswith("up to date")
