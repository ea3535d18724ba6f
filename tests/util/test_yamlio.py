"""The YAML reader (positions, YAML 1.2 scalars, duplicate keys) and the fast writer."""

from __future__ import annotations

import math
import random
import string
from typing import Any

import pytest
import yaml

from mlgitops.util.errors import SpecError
from mlgitops.util.yamlio import dump, dump_all, parse_document

TRICKY_STRINGS = [
    "",
    " lead",
    "trail ",
    "x: y",
    "#c",
    "2026-08-01",
    "1:20",
    "a\n",
    "a\n\n",
    "trail \nx",
    "0o17",
    "0x1F",
    "1e3",
    ".5",
    "s3://bucket/x",
    "{{tasks.a.outputs.parameters.auc}} >= 0.92",
    ">=",
    "ü",
    "\u2028",
    "\u2029",  # NEL (U+0085) is refused: Kustomize reads it as a line break (test_yaml_writer_fuzz.py)
    "-",
    "- x",
    "@x",
    "a b",
    "nvidia.com/gpu",
    "$patch",
    "*",
    "!x",
    "%x",
    "it's",
    '"',
    "\t",
    "x\ty",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "~",
    "null",
    "true",
    "False",
    ".inf",
    "+1",
    "1_000",
    "0777",
    "=",
    "<<",
    "[a]",
    "{a}",
    "a #b",
    "x\n y",
    "\ufeffbom",
    "emoji 😀",
    "\r\n",
    "multi\nline\ntext",
    "ends\n",
]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    alphabet = string.printable + "üé\u2028\u2029\ufeff😀\U000e0001"
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        kind = rng.random()
        if kind < 0.5:
            return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        if kind < 0.6:
            return rng.choice(TRICKY_STRINGS)
        if kind < 0.7:
            return rng.randint(-(10**12), 10**12)
        if kind < 0.8:
            return rng.random() * 10 ** rng.randint(-8, 25) * rng.choice([1, -1])
        return rng.choice([True, False, None])
    if roll < 0.75:
        return {
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))): _random_value(rng, depth + 1)
            for _ in range(rng.randint(0, 4))
        }
    return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]


@pytest.mark.parametrize("seed", range(4))
def test_writer_round_trips_through_an_independent_reader(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(1500):
        value = _random_value(rng)
        text = dump(value)
        assert yaml.safe_load(text) == value, text


@pytest.mark.parametrize("text", TRICKY_STRINGS)
def test_tricky_strings_stay_strings(text: str) -> None:
    assert yaml.safe_load(dump({"k": text, "l": [text]})) == {"k": text, "l": [text]}
    assert parse_document(dump({"k": text}), "x.yaml").data == {"k": text}


def test_floats_keep_their_type_for_yaml_1_1_readers() -> None:
    for number in (1e20, 1.5, -0.25, 3.0, 1e-7):
        assert yaml.safe_load(dump({"v": number})) == {"v": number}
    assert yaml.safe_load(dump({"v": math.inf}))["v"] == math.inf


def test_quantities_are_written_plain() -> None:
    assert dump({"cpu": "500m", "memory": "2Gi", "x": "0b101"}) == 'cpu: 500m\nmemory: 2Gi\nx: "0b101"\n'


def test_stream_has_one_document_per_object() -> None:
    docs = [{"kind": "A"}, {"kind": "B", "spec": {"x": [1]}}]
    assert list(yaml.safe_load_all(dump_all(docs))) == docs


def test_reader_uses_yaml_1_2_scalars_and_records_positions() -> None:
    doc = parse_document("a: yes\nb:\n  c: 0x10\n  d: '7'\ne: [on, 1.5, ~]\n", "f.yaml")
    assert doc.data == {"a": "yes", "b": {"c": 16, "d": "7"}, "e": ["on", 1.5, None]}
    assert str(doc.location(("b", "c"))) == "f.yaml:3:6"
    assert str(doc.location(("b", "c"), key=True)) == "f.yaml:3:3"
    assert str(doc.location(("e", 2))) == "f.yaml:5:14"
    assert str(doc.location(("b", "missing"))) == "f.yaml:3:3"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("a: 1\na: 2\n", "f.yaml:2:1", "duplicate key 'a'"),
        ("a: [1\n", "f.yaml:2:1", "invalid YAML"),
        ("a: 1\n---\nb: 2\n", "f.yaml:3:1", "single YAML document"),
        ("a: !custom 1\n", "f.yaml:1:4", "unsupported YAML tag"),
        ("? [1]\n: x\n", "f.yaml:1:3", "keys must be plain strings"),
    ],
)
def test_reader_errors_name_file_line_and_column(text: str, where: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_document(text, "f.yaml")
    assert str(info.value).startswith(where + ": ")
    assert message in str(info.value)


# --- what `dump` refuses to write, and where (unwritable / unwritable_reason) ------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("plain text, ünïcödé and 🚀", None),
        ("\ud800", "it holds U+D800, a lone surrogate"),
        ("a\udfffb", "it holds U+DFFF, a lone surrogate"),
        ("\ud7ff", None),  # just below the surrogates: an ordinary character
        ("\ue000", None),  # just above them
        ("\x7f", "it holds U+007F, a control character or noncharacter"),
        ("x\x9fy", "it holds U+009F, a control character or noncharacter"),
        ("\uffff", "it holds U+FFFF, a control character or noncharacter"),
    ],
)
def test_unwritable_reason_names_the_character(text: str, reason: str | None) -> None:
    from mlgitops.util.yamlio import unwritable_reason

    found = unwritable_reason(text)
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.startswith(reason)


def test_unwritable_finds_every_key_and_value_with_its_path() -> None:
    from mlgitops.util.yamlio import unwritable

    value = {
        "fine": ["ok", {"deep\x7f": "ok", "<<": {"x": "\ud800"}}],
        "also": {"list": ["ok", "bad\uffff"]},
        7: "numeric keys are not text",
    }
    found = [(path, reason.split(",")[0], is_key) for path, reason, is_key in unwritable(value)]
    assert found == [
        (("fine", 1, "deep\x7f"), "key: it holds U+007F", True),
        (("fine", 1, "<<"), "key: the key '<<' is read by Kustomize as a YAML merge key and dropped; rename it", True),
        (("fine", 1, "<<", "x"), "it holds U+D800", False),
        (("also", "list", 1), "it holds U+FFFF", False),
    ]
    assert list(unwritable({"a": ["b", {"c": "d"}], "<<x": "y"})) == []  # only the exact key `<<` is a merge key


def test_scalars_are_written_as_every_yaml_reader_reads_them() -> None:
    """The exact text of each scalar kind; PyYAML (YAML 1.1) reads each back as the value."""
    import math

    import yaml

    from mlgitops.util.yamlio import dump

    data = {"a": False, "b": float("nan"), "c": float("inf"), "d": float("-inf"), "e": 1e20, "f": 1.5}
    data.update({"g": True, "h": None, "i": 3, "j": -0.0})
    text = dump(data)
    assert text == ("a: false\nb: .nan\nc: .inf\nd: -.inf\ne: 1.0e+20\nf: 1.5\ng: true\nh: null\ni: 3\nj: -0.0\n")
    back = yaml.safe_load(text)
    assert math.isnan(back.pop("b"))  # NaN equals nothing, itself included: compared apart
    del data["b"]
    assert back == data


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("line one\nline two\n", "|\n  line one\n  line two\n"),  # a block, clipped
        ("line one\nline two", "|-\n  line one\n  line two\n"),  # a block, stripped
        ("one\n\nthree\n", "|\n  one\n\n  three\n"),  # an empty line inside stays empty
        ("trailing \nspace\n", '"trailing \\nspace\\n"'),  # trailing blanks would be lost in a block
        ("\n\n", '"\\n\\n"'),  # nothing but line breaks
        ("two breaks at the end\n\n", '"two breaks at the end\\n\\n"'),  # a block would clip one
    ],
)
def test_multi_line_strings_are_blocks_only_when_they_read_back(text: str, written: str) -> None:
    import yaml

    from mlgitops.util.yamlio import dump

    out = dump({"k": text})
    assert out == f"k: {written}" + ("" if written.endswith("\n") else "\n")
    assert yaml.safe_load(out) == {"k": text}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a" * 59 + "\x7f", "a" * 59 + "\\x7f"),  # 60 characters: shown whole, the character escaped
        ("a" * 60 + "\x7f", "a" * 57 + "..."),  # 61: cut to 57 and an ellipsis
        ("\x7f" + "b" * 100, "\\x7f" + "b" * 56 + "..."),
    ],
)
def test_a_refusal_shows_at_most_sixty_characters_of_the_text(text: str, shown: str) -> None:
    from mlgitops.util.yamlio import UnwritableTextError, dump

    with pytest.raises(UnwritableTextError) as refused:
        dump({"k": text})
    assert str(refused.value) == (
        f"cannot write the text '{shown}': it holds U+007F, a control character or noncharacter that Kustomize "
        "cannot read back (nor Argo CD or Flux); remove it"
    )
