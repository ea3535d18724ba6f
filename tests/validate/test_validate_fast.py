"""The two fast parts of a cold `validate`: CRD files loaded from libyaml's events (schemas/crdyaml.py) give
exactly PyYAML's documents, and the compiled schema check (quickcheck.py) says "valid" exactly when
jsonschema finds nothing, so the findings, their order and their messages stay those of jsonschema."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from bench.genrepo import generate
from mlgitops.checks.schemas import crd, crdyaml
from mlgitops.checks.schemas.crd import SchemaSet, load_crd_schemas
from mlgitops.checks.schemas.kube import load_kube_schemas
from mlgitops.checks.schemas.quickcheck import Checker, UndecidedError
from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from mlgitops.validate.output import format_json
from mlgitops.validate.report import ValidateOptions
from mlgitops.validate.run import validate_workspace
from tests.conftest import copy_example
from tests.validate.test_validate_dedup import STRICT_ISVC


def typed(value: Any) -> Any:
    """`value` with every scalar's type spelled out (True == 1 and 1 == 1.0 in Python)."""
    if isinstance(value, dict):
        return {repr(typed(k)): typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, repr(value))


def test_every_upstream_crd_loads_as_pyyaml_loads_it(crds_dir: Path) -> None:
    files = sorted(p for p in crds_dir.iterdir() if p.suffix in (".yaml", ".yml"))
    assert len(files) >= 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = crdyaml.load_all(text)
        assert fast is not None, path.name
        assert typed(fast) == typed(list(yaml.load_all(text, Loader=yaml.CSafeLoader))), path.name


SCALARS = """\
a: 1
b: 010
c: 0x1f
d: 1_000
e: 1.5e+3
f: .inf
g: -.Inf
h: yes
i: Off
j: ~
k:
l: null
m: 2001-12-14
n: 2001-12-14t21:59:43.10-05:00
o: '1'
p: "x\\ty"
q: |
  block
r: >-
  folded
  text
s: [1, two, {three: 3.0}]
t: {}
"u v": 190:20:30
1: int key
2.5: float key
true: bool key
"""


@pytest.mark.parametrize(
    "text",
    [SCALARS, "", "---\n", "--- 1\n--- a\n...\n", "a: 1\na: 2\n", "- - - x\n", "? a\n: b\n", "a: !!str 1\n"],
)
def test_documents_equal_pyyaml(text: str) -> None:
    expected = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    fast = crdyaml.load_all(text)
    if fast is None:  # left to PyYAML: only for the features the module names
        assert "!!" in text
        return
    assert typed(fast) == typed(expected)


@pytest.mark.parametrize(
    "text",
    ["a: &x 1\nb: *x\n", "<<: {a: 1}\nb: 2\n", "a: !!str 1\n", "? [a]\n: 1\n", "a: b: c\n", "=: 1\n", "!custom x\n"],
)
def test_anything_else_is_left_to_pyyaml(text: str) -> None:
    assert crdyaml.load_all(text) is None


def test_a_broken_crd_file_reports_as_before(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec: [\n")
    with pytest.raises(crd.CrdSchemaError, match=r"broken.yaml:4:1: invalid YAML"):
        crd._parse(broken, broken.read_bytes())


# --- the compiled check ---------------------------------------------------------------------------


def _objects(tmp_path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for root in (copy_example(tmp_path / "ex"), generate(tmp_path / "gen", 6)):
        workspace = load_workspace(root)
        renders = render_models(workspace)
        for env in workspace.project.environment_names:
            out.extend(environment_objects(workspace, env, renders))
    return out


WRONG_VALUES: list[Any] = [None, True, 0, -3, 1.5, 2.0, "", "x" * 300, "Always", [], [{}], {}, {"unknown": 1}, 10**12]


def _mutate(obj: Any, rng: random.Random) -> Any:
    """One random edit somewhere in `obj`: a value replaced, a key dropped, or an unknown key added."""
    out = copy.deepcopy(obj)
    holders: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, (dict, list)) and node:
            holders.append(node)
            for child in node.values() if isinstance(node, dict) else node:
                walk(child)

    walk(out)
    holder = rng.choice(holders)
    if isinstance(holder, list):
        holder[rng.randrange(len(holder))] = rng.choice(WRONG_VALUES)
        return out
    key = rng.choice(list(holder))
    action = rng.random()
    if action < 0.6:
        holder[key] = rng.choice(WRONG_VALUES)
    elif action < 0.8:
        del holder[key]
    else:
        holder[f"{key}X"] = holder[key]
    return out


def _schemas(crds_dir: Path) -> tuple[SchemaSet, Any]:
    return load_crd_schemas(crds_dir), load_kube_schemas()


def test_checker_agrees_with_jsonschema_on_rendered_and_mutated_objects(tmp_path: Path, crds_dir: Path) -> None:
    crds, kube = _schemas(crds_dir)
    rng = random.Random(14)
    seen = {"valid": 0, "invalid": 0, "undecided": 0}
    for obj in _objects(tmp_path):
        api_version, kind = obj["apiVersion"], obj["kind"]
        if crds.has(api_version, kind):
            schema = crds.schema(api_version, kind)
        elif kube is not None and kube.has(api_version, kind):
            schema = kube._set(api_version, kind).schema(api_version, kind)
        else:
            continue
        checker, validator = Checker(schema), Draft7Validator(schema)
        for candidate in [obj] + [_mutate(obj, rng) for _ in range(6)]:
            expected = not any(True for _ in validator.iter_errors(candidate))
            try:
                answer = checker.valid(candidate)
            except UndecidedError:
                seen["undecided"] += 1
                continue
            assert answer == expected, json.dumps(candidate)[:400]
            seen["valid" if answer else "invalid"] += 1
    assert seen["valid"] > 100 and seen["invalid"] > 100, seen


@pytest.mark.parametrize(
    ("schema", "value", "valid"),
    [
        ({"type": "integer"}, 2.0, True),
        ({"type": "integer"}, True, False),
        ({"type": "number"}, False, False),
        ({"type": ["integer", "string"]}, "80%", True),
        ({"enum": ["a", "b"]}, "c", False),
        ({"pattern": "^[a-z]+$"}, "abc", True),
        ({"pattern": "^[a-z]+$"}, 3, True),
        ({"minimum": 1, "exclusiveMaximum": 5}, 5, False),
        ({"maxLength": 2}, "abc", False),
        ({"required": ["a"], "properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"a": "x"}, True),
        ({"properties": {"a": {}}, "additionalProperties": False}, {"b": 1}, False),
        ({"additionalProperties": {"type": "string"}}, {"b": 1}, False),
        ({"items": {"type": "string"}, "maxItems": 1}, ["a", "b"], False),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, 1, True),
        ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1, False),
        ({"not": {"type": "string"}}, 1, True),
        (
            {"$defs": {"s": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/s", "type": "integer"}}},
            {"a": "x"},
            True,
        ),
        ({"format": "ipv4", "x-kubernetes-list-type": "set"}, "not an address", True),
    ],
)
def test_keywords_follow_jsonschema(schema: dict[str, Any], value: Any, valid: bool) -> None:
    assert Draft7Validator(schema).is_valid(value) is valid
    assert Checker(schema).valid(value) is valid


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"multipleOf": 2}, 4),
        ({"uniqueItems": True}, [1]),
        ({"enum": [1, 2]}, 1),
        ({"dependencies": {"a": ["b"]}}, {}),
        ({"$ref": "#/definitions/x"}, 1),
        ({"type": "decimal"}, 1),
        ({"type": "string"}, b"bytes"),
    ],
)
def test_what_it_does_not_decide_it_leaves_to_jsonschema(schema: dict[str, Any], value: Any) -> None:
    with pytest.raises(UndecidedError):
        Checker(schema).valid(value)


def test_validate_report_is_the_same_without_the_checker(
    tmp_path: Path, crds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole reports, with findings from jsonschema (a deliberately narrow InferenceService schema)."""
    root = generate(tmp_path / "gen", 6)
    strict = tmp_path / "strict"
    strict.mkdir()
    (strict / "isvc.yaml").write_text(STRICT_ISVC)
    options = ValidateOptions(crds=(strict, crds_dir))
    fast = format_json(validate_workspace(load_workspace(root), options))
    assert '"schema"' in fast
    monkeypatch.setattr(Checker, "valid", lambda self, value: False)
    assert format_json(validate_workspace(load_workspace(root), options)) == fast
