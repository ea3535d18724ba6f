"""The YAML mistakes people make by hand get a message that says what to change, at file:line:col:
a tab in the indentation, a key indented like none of its siblings, a key deeper than a line that
already has a value, and a block key (`gates`) dedented out of its block (`training.gates`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgitops.util.errors import SpecError
from mlgitops.util.yamlio import parse_document
from tests.conftest import run_cli

SPEC = """\
serving:
  engine: kserve
  mode: Standard
  protocol: v2
training:
  image: x
"""


def message(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        parse_document(text, "models/x.yaml")
    return str(caught.value)


@pytest.mark.parametrize("text", [SPEC.replace("  mode", "\tmode"), SPEC.replace("  image", "\timage")])
def test_a_tab_in_the_indentation(text: str) -> None:
    line = 3 if "\tmode" in text else 6
    assert message(text) == (
        f"models/x.yaml:{line}:1: invalid YAML: tabs are not allowed in YAML indentation: indent with spaces"
    )


def test_a_key_indented_one_space_too_far() -> None:
    assert message(SPEC.replace("kserve", "kserve  # or deployment").replace("  mode", "   mode")) == (
        "models/x.yaml:3:4: invalid YAML: 'mode' (line 3) is indented 3 space(s), like none of the keys above "
        "it: they are at 2 ('engine', line 2), 0 ('serving', line 1); indent 'mode' like the key it is a sibling of"
    )


def test_a_key_indented_one_space_too_little() -> None:
    assert message(SPEC.replace("  protocol", " protocol")).startswith(
        "models/x.yaml:4:2: invalid YAML: 'protocol' (line 4) is indented 1 space(s), like none of the keys above it"
    )


def test_a_key_deeper_than_a_line_with_a_value() -> None:
    assert message(SPEC.replace("  protocol", "    protocol")) == (
        "models/x.yaml:4:13: invalid YAML: 'protocol' (line 4) is indented 4 space(s), more than 'mode' (line 3, "
        "2 space(s)), which already has a value on its line: indent a key like its sibling keys, or deeper only "
        "under a key with no value"
    )


def test_gates_dedented_out_of_training_names_the_block(tmp_path: Path) -> None:
    assert run_cli(["init", "demo"], cwd=tmp_path).exit_code == 0
    model = tmp_path / "demo" / "models" / "example-classifier.yaml"
    text = model.read_text()
    assert "  gates:" in text
    model.write_text(text.replace("  gates:", "gates:").replace("  - {metric: accuracy", "- {metric: accuracy"))
    result = run_cli(["validate"], cwd=tmp_path / "demo")
    assert result.exit_code == 1
    line = next(n for n, row in enumerate(model.read_text().splitlines(), 1) if row.startswith("gates:"))
    assert (
        f"models/example-classifier.yaml:{line}:1: unknown key 'gates': it belongs in training.gates "
        "(is it indented too little?)" in result.stderr
    )
    assert "patches" not in result.stderr
