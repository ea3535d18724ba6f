"""The YAML writer over random strings from every Unicode plane, read back by PyYAML and the real Kustomize.

Every string the renderer writes (a key or a value, plain, quoted or a `|` block) must read back as
exactly that string: controls (C0, DEL, C1), NEL/LS/PS, the BOM, U+FFFE/U+FFFF, leading blanks and
controls, tabs, trailing spaces on a line, characters above U+FFFF. What no generated file can carry
is refused with one line: lone surrogates (no YAML can hold them) and DEL, C1 controls (NEL too), U+FFFE
and U+FFFF (the real Kustomize cannot read them back however they are escaped; checked below). The
strings are batched into a few objects, so Kustomize runs twice for 100k strings.
"""

from __future__ import annotations

import random
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.layout.kustomize import kustomize_command
from mlgitops.util.yamlio import UnwritableTextError, dump, dump_all
from tests.conftest import copy_example, run_cli, snapshot_tree

UNWRITABLE = re.compile("[\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
BaseLoader: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)

STRINGS = 100_000
RUNS = 2  # Kustomize runs
PER_OBJECT = 5_000  # strings per object (half as values, half as keys)

# Characters that matter to a YAML writer or reader, drawn more often than their share of Unicode.
SPECIAL = (
    [chr(c) for c in range(0x20)]
    + [chr(c) for c in range(0x7F, 0xA1)]
    + list("\u2028\u2029\ufeff\ufffe\ufffd\uffff\U0010ffff\U0001f600 \t\n\r\"'#:-|>&*!%@`{}[],?\\~=<")
)


def random_char(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(SPECIAL)
    if roll < 0.55:
        return chr(rng.randint(0x20, 0x7E))
    while True:  # any plane, any code point but a surrogate
        code = (rng.randint(0, 16) << 16) | rng.randint(0, 0xFFFF)
        if not 0xD800 <= code <= 0xDFFF:
            return chr(code)


def random_string(rng: random.Random) -> str:
    text = "".join(random_char(rng) for _ in range(rng.randint(0, 14)))
    roll = rng.random()
    if roll < 0.15:  # multi-line text, the `|` block candidates
        text = "\n".join(text[i : i + 4] for i in range(0, len(text), 4)) + rng.choice(["", "\n", " ", "\n\n"])
    elif roll < 0.2:
        text = rng.choice(["", "yes", "null", "1e3", "0x1F", "- ", "? ", "#", "<<", "2Gi"]) + text
    return text


def random_strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return [random_string(rng) for _ in range(count)]


def fuzz_objects(strings: list[str], first: int) -> list[dict[str, Any]]:
    """Objects holding the strings as values (in a map and a list) and as keys."""
    objects = []
    for start in range(0, len(strings), PER_OBJECT):
        chunk = strings[start : start + PER_OBJECT]
        half = len(chunk) // 2
        values, keys = chunk[:half], chunk[half:]
        objects.append(
            {
                "apiVersion": "fuzz.mlgitops.test/v1",
                "kind": "Fuzz",
                "metadata": {"name": f"fuzz-{first + start}"},
                "values": {f"v{i}": value for i, value in enumerate(values)},
                "items": values[:200],
                "keys": {key: i for i, key in enumerate(dict.fromkeys(keys))},
            }
        )
    return objects


@pytest.mark.parametrize("run", range(RUNS))
def test_random_strings_read_back_with_pyyaml_and_kustomize(tmp_path: Path, run: int) -> None:
    count = STRINGS // RUNS
    strings = random_strings(run, count)
    writable = [text for text in strings if not UNWRITABLE.search(text)]
    refused = [text for text in strings if UNWRITABLE.search(text)]
    assert len(refused) > 1_000 and len(writable) > count // 2  # both halves are exercised
    for text in refused[:2_000]:
        with pytest.raises(UnwritableTextError):
            dump({"k": text})
        with pytest.raises(UnwritableTextError):
            dump({text: 1})
    objects = fuzz_objects([text for text in writable if text != "<<"], run * count)
    stream = dump_all(objects)

    assert list(yaml.load_all(stream, Loader=Loader)) == objects

    (tmp_path / "fuzz.yaml").write_text(stream, encoding="utf-8")
    (tmp_path / "kustomization.yaml").write_text(dump({"resources": ["fuzz.yaml"]}), encoding="utf-8")
    proc = subprocess.run([*kustomize_command(), str(tmp_path)], capture_output=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[:2000]
    # Kustomize prints YAML 1.2 (a plain `<<` key is no merge key there): read every scalar as a string
    built = {doc["metadata"]["name"]: doc for doc in yaml.load_all(proc.stdout.decode("utf-8"), Loader=BaseLoader)}
    assert len(built) == len(objects)
    for obj in objects:
        got = built[obj["metadata"]["name"]]
        assert got["values"] == obj["values"]
        assert got["items"] == obj["items"]
        assert got["keys"] == {key: str(i) for key, i in obj["keys"].items()}


@pytest.mark.parametrize(
    "text",
    [
        "\x1b[2J\nclear",
        "\tlead\ntab",
        "trail \nspace",
        "ls\u2028ps\u2029\nx",
        "\ufeffbom\nx",
        "astral \U0001f600\n\U000e0001 tag",
        "\x00\nnul first",
        " space first\nx",
        "x\n",
        "x\n\n",
    ],
)
def test_multi_line_text_reads_back_exactly(text: str) -> None:
    data = {"metadata": {"annotations": {"note": text, text: "as a key"}}, "list": [text]}
    assert yaml.load(dump(data), Loader=Loader) == data
    assert yaml.safe_load(dump(data)) == data  # the pure-Python reader too


def test_merge_key_is_refused_as_a_key_and_kept_as_a_value() -> None:
    with pytest.raises(UnwritableTextError, match="merge key"):
        dump({"a": {"<<": "x"}})
    assert yaml.load(dump({"a": "<<", "b": ["<<"]}), Loader=Loader) == {"a": "<<", "b": ["<<"]}


def test_long_keys_are_explicit_and_read_back() -> None:
    key = "k" * 1500 + "\u2028"
    data = {key: {"nested": [1, {key: "v"}]}, "list": [{key: "a\nb"}], "short": key}
    text = dump(data)
    assert "? " in text
    assert yaml.load(text, Loader=Loader) == data


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("\ud800", "lone surrogate"),
        ("a\udfffb", "lone surrogate"),
        ("\ud83d\ude00", "lone surrogate"),
        ("line\n\udc00", "lone surrogate"),
        ("first\nsecond\x9f", "Kustomize"),  # the reported annotation
        ("del\x7f", "Kustomize"),
        ("\x80", "Kustomize"),
        ("nel\x85", "Kustomize"),
        ("non\ufffe", "Kustomize"),
        ("\uffff\nx", "Kustomize"),
    ],
)
def test_unwritable_text_is_refused_with_one_line(text: str, reason: str) -> None:
    for data in ({"k": text}, {text: "v"}, [text]):
        with pytest.raises(UnwritableTextError) as info:
            dump(data)
        message = str(info.value)
        assert "\n" not in message and reason in message
        assert message.isprintable()


@pytest.mark.parametrize("escape", ["\\u007f", "\\u0080", "\\u009f", "\\ufffe", "\\uffff"])
def test_kustomize_cannot_read_back_what_the_writer_refuses(tmp_path: Path, escape: str) -> None:
    """Why those characters are refused: the real Kustomize fails on them even when escaped."""
    (tmp_path / "kustomization.yaml").write_text("resources: [a.yaml]\n")
    (tmp_path / "a.yaml").write_text(
        f'apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata: {{k: "a{escape}b"}}\n'
    )
    proc = subprocess.run([*kustomize_command(), str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "control characters are not allowed" in proc.stderr


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        ('{note: "first\\nsecond\\x9f"}', ":8:23: it holds U+009F"),  # the reported annotation
        ('{note: "bell\\u007f"}', ":8:23: it holds U+007F"),
        ('{note: "x\\uffff"}', ":8:23: it holds U+FFFF"),
        ('{"k\\x85": "v"}', ":8:17: key: it holds U+0085"),
        ('{"<<": "v"}', ":8:17: key: the key '<<'"),
        ('{note: "x\\ud800"}', ":8:"),  # the spec reader already refuses the escape
    ],
)
@pytest.mark.parametrize("command", ["render", "validate", "build"])
def test_a_spec_value_no_file_can_carry_is_one_positioned_line(
    tmp_path: Path, annotations: str, expected: str, command: str
) -> None:
    root = copy_example(tmp_path / "repo")
    spec = root / "models" / "fraud-detector.yaml"
    text = spec.read_text()
    spec.write_text(text.replace("  owner: team-risk\n", f"  owner: team-risk\n  annotations: {annotations}\n", 1))
    before = snapshot_tree(root)
    args = [command] + (["--env", "prod"] if command == "build" else [])
    result = run_cli(args, cwd=root)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith("models/fraud-detector.yaml" + expected), result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot_tree(root) == before


def test_validate_reports_unwritable_text_in_rendered_objects() -> None:
    """Text that reaches an object other than from a model file (a renderer bug, a project value)."""
    from mlgitops.util.yamlio import unwritable

    obj = {"metadata": {"annotations": {"a": "ok", "b": "x\x9f", "<<": "v"}}, "spec": ["\ufffe"]}
    found = [(path, is_key) for path, _reason, is_key in unwritable(obj)]
    assert found == [
        (("metadata", "annotations", "b"), False),
        (("metadata", "annotations", "<<"), True),
        (("spec", 0), False),
    ]
