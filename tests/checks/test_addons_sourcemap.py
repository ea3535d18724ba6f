"""`validate` findings on addon objects point at the template's `file:line:col` (jsonnet_positions.py):
the field where the template writes it, else the key whose value computes it, else the object literal;
a field the model's `patches` set points at the patch instead. Checked on the bundled example's templates
with the real evaluator and validator, and on the lexer's hard cases (strings, text blocks, comments,
comprehensions, templates/lib/)."""

from __future__ import annotations

import json
from pathlib import Path

from mlgitops.render.jsonnet_positions import body_location, object_location
from mlgitops.util.errors import Location
from tests.conftest import copy_example, run_cli

PDB = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget"}


def _line(path: Path, text: str) -> int:
    """The 1-based line of `path` that contains `text` (exactly one)."""
    found = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    assert len(found) == 1, (text, found)
    return found[0]


def _findings(repo: Path, crds_dir: Path) -> list[dict[str, object]]:
    assert run_cli(["render"], cwd=repo).exit_code == 0
    result = run_cli(["validate", "--crds", str(crds_dir), "--format", "json"], cwd=repo)
    assert result.exit_code == 1, result.stdout + result.stderr
    findings: list[dict[str, object]] = json.loads(result.stdout)["findings"]
    return findings


def test_schema_findings_on_addon_objects_point_at_the_template(tmp_path: Path, crds_dir: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    pdb = repo / "templates/pdb.jsonnet"
    pdb.write_text(pdb.read_text().replace("        selector:", "        minAvailble: 1,\n        selector:", 1))
    policy = repo / "templates/network-policy.jsonnet"
    policy.write_text(policy.read_text().replace("policyTypes: ['Ingress']", "policyTypes: 'Ingress'", 1))
    findings = _findings(repo, crds_dir)
    by_kind = {(f["kind"], f["path"]): (f["file"], f["line"], f["column"]) for f in findings}
    assert {f["kind"] for f in findings} == {"PodDisruptionBudget", "NetworkPolicy"}
    assert by_kind[("PodDisruptionBudget", "/spec/minAvailble")] == (
        "templates/pdb.jsonnet",
        _line(pdb, "minAvailble: 1"),
        9,
    )
    assert by_kind[("NetworkPolicy", "/spec/policyTypes")] == (
        "templates/network-policy.jsonnet",
        _line(policy, "policyTypes: 'Ingress'"),
        9,
    )


def test_a_field_set_by_the_models_patch_points_at_the_patch(tmp_path: Path, crds_dir: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    model = repo / "models/fraud-detector.yaml"
    model.write_text(
        model.read_text().replace(
            "environments:\n",
            "patches:\n- target: {kind: NetworkPolicy, name: fraud-detector-ingress}\n"
            "  ops: [{op: replace, path: /spec/policyTypes, value: Ingress}]\nenvironments:\n",
            1,
        )
    )
    findings = _findings(repo, crds_dir)
    assert {(f["name"], f["path"], f["file"]) for f in findings} == {
        ("fraud-detector-ingress", "/spec/policyTypes", "models/fraud-detector.yaml")
    }
    assert {f["line"] for f in findings} == {_line(model, "op: replace, path: /spec/policyTypes")}


def test_fields_are_followed_as_far_as_the_template_writes_them(tmp_path: Path) -> None:
    (tmp_path / "templates/lib").mkdir(parents=True)
    (tmp_path / "templates/lib/objects.libsonnet").write_text(
        "{\n  secret(name):: {\n    apiVersion: 'v1',\n    kind: 'Secret',\n    metadata: {name: name},\n  },\n}\n"
    )
    (tmp_path / "templates/t.jsonnet").write_text(
        """// a comment with { braces ' and a "quote"
local lib = import 'lib/objects.libsonnet';
/* kind: 'PodDisruptionBudget' in a comment */
function(model, environment, project, settings={})
  local text = |||
    kind: 'PodDisruptionBudget' {
  |||;
  [
    { "apiVersion": "policy/v1", kind: 'PodDisruptionBudget',
      metadata: { name: 'x', labels: lib.labels },
      spec+: { selector: { matchLabels: { app: 'x' } } },
      rules: [{ verbs: ['get'] } for n in ['a', 'b']],
    },
    lib.secret('s'),
  ]
"""
    )
    file = "templates/t.jsonnet"
    assert body_location(tmp_path, file) == Location(file, 5, 3)
    assert object_location(tmp_path, file, PDB) == Location(file, 9, 5)
    assert object_location(tmp_path, file, PDB, ("metadata", "labels", "app")) == Location(file, 10, 30)
    assert object_location(tmp_path, file, PDB, ("spec", "selector", "matchLabels", "app")) == Location(file, 11, 43)
    assert object_location(tmp_path, file, PDB, ("rules", 1, "verbs", 0)) == Location(file, 12, 25)
    assert object_location(tmp_path, file, PDB, ("status",)) == Location(file, 9, 5)
    secret = {"apiVersion": "v1", "kind": "Secret"}
    assert object_location(tmp_path, file, secret, ("metadata", "name")) == Location(
        "templates/lib/objects.libsonnet", 5, 16
    )
    assert object_location(tmp_path, file, {"apiVersion": "v1", "kind": "ConfigMap"}) is None
