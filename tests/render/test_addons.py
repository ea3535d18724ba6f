"""Jsonnet addons (templates/*.jsonnet) with the real evaluator: objects in the base and in overlay
patches, the Kustomize-equality invariant, opt-out and settings per environment, every error class as
one positioned line with the tree untouched, confined imports, and a missing `jsonnet` package."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from tests.cli.test_lean_imports import imported_modules
from tests.conftest import REPO, copy_example, kustomize_objects, object_identity, run_cli, snapshot_tree

SIGNATURE = "function(model, environment, project, settings={})"


def _objects(directory: Path) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    return {object_identity(o): o for o in kustomize_objects(directory)}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _inline_patch(overlay: Path, kind: str, name: str) -> Any:
    """The JSON6902 operations the model overlay's kustomization.yaml applies to one object."""
    kustomization = _load(overlay / "kustomization.yaml")
    targets = [p for p in kustomization["patches"] if "target" in p]  # deletions name their object inline
    [patch] = [p["patch"] for p in targets if (p["target"]["kind"], p["target"]["name"]) == (kind, name)]
    return yaml.safe_load(patch)


EXAMPLE_TEMPLATES = REPO / "templates"


def example_with_addons(destination: Path) -> Path:
    """The bundled example, which has the two example templates (PDB, NetworkPolicy), rendered."""
    repo = copy_example(destination)
    assert sorted(p.name for p in (repo / "templates").glob("*.jsonnet")) == ["network-policy.jsonnet", "pdb.jsonnet"]
    result = run_cli(["render", "--check"], cwd=repo)
    assert result.exit_code == 0, result.stdout + result.stderr
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return example_with_addons(tmp_path / "repo")


def _write_template(repo: Path, name: str, text: str) -> Path:
    path = repo / "templates" / f"{name}.jsonnet"
    path.write_text(text)
    return path


def _line_of(path: Path, text: str) -> int:
    [line] = [n for n, content in enumerate(path.read_text().splitlines(), 1) if text in content]
    return line


def _render_fails(repo: Path) -> str:
    """Render, expecting one error line on stderr, exit 1, and no file changed."""
    before = snapshot_tree(repo)
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert snapshot_tree(repo) == before
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- the bundled example: PDB and NetworkPolicy ----------------------------------------------------------


def test_example_templates_place_addons_in_base_patches_and_resources(repo: Path) -> None:
    REPO = repo  # noqa: N806
    # NetworkPolicy: in the base (dev's), patched where the namespace differs.
    base_policy = _load(REPO / "base/models/fraud-detector/networkpolicy-fraud-detector-ingress.yaml")
    assert base_policy["spec"]["podSelector"]["matchLabels"] == {"serving.kserve.io/inferenceservice": "fraud-detector"}
    sources = [
        f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for f in base_policy["spec"]["ingress"][0]["from"]
    ]
    assert sources == ["ml-dev", "istio-system", "knative-serving", "envoy-gateway-system", "monitoring"]
    patch = _inline_patch(REPO / "overlays/staging/fraud-detector", "NetworkPolicy", "fraud-detector-ingress")
    assert patch == [
        {
            "op": "replace",
            "value": "ml-staging",
            "path": "/spec/ingress/0/from/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name",
        }
    ]
    # PDB: fraud-detector has 3 replicas in prod only, so its PDB is a prod resource, absent from the base.
    assert not (REPO / "base/models/fraud-detector/poddisruptionbudget-fraud-detector-pdb.yaml").exists()
    prod_only = yaml.safe_load_all((REPO / "overlays/prod/fraud-detector/resources.yaml").read_text())
    [pdb] = [obj for obj in prod_only if obj["kind"] == "PodDisruptionBudget"]
    assert pdb["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"serving.kserve.io/inferenceservice": "fraud-detector"}},
    }
    # churn-scorer (engine: deployment) selects its pods by the Deployment's selector labels.
    built = _objects(REPO / "overlays/prod")
    churn = built[("policy/v1", "PodDisruptionBudget", "ml-prod", "churn-scorer-pdb")]
    assert churn["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "churn-scorer",
        "app.kubernetes.io/component": "predictor",
    }
    assert ("policy/v1", "PodDisruptionBudget", "ml-dev", "churn-scorer-pdb") not in _objects(REPO / "overlays/dev")


def test_kustomize_build_equals_in_memory_objects_with_addons(repo: Path) -> None:
    workspace = load_workspace(repo)
    renders = render_models(workspace)
    platform = {(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in kustomize_objects(repo / "base/platform")}
    for env in workspace.project.environment_names:
        built = {k: v for k, v in _objects(repo / "overlays" / env).items() if (k[0], k[1], k[3]) not in platform}
        expected = {object_identity(o): o for o in environment_objects(workspace, env, renders)}
        assert built == expected, env
        kinds = {key[1] for key in built}
        assert "NetworkPolicy" in kinds, env


def test_addon_objects_that_differ_per_environment_become_patches(repo: Path) -> None:
    _write_template(
        repo,
        "config",
        SIGNATURE
        + """
  [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: model.metadata.name + '-addon'},
    data: {env: environment.name, version: model.model.version, same: 'x'}}]
""",
    )
    assert run_cli(["render"], cwd=repo).exit_code == 0
    base = _load(repo / "base/models/fraud-detector/configmap-fraud-detector-addon.yaml")
    assert base["data"] == {"env": "dev", "version": "7", "same": "x"}
    prod_patch = _inline_patch(repo / "overlays/prod/fraud-detector", "ConfigMap", "fraud-detector-addon")
    assert {"op": "replace", "path": "/data/version", "value": "6"} in prod_patch
    assert {"op": "replace", "path": "/data/env", "value": "prod"} in prod_patch
    built = _objects(repo / "overlays/prod")[("v1", "ConfigMap", "ml-prod", "fraud-detector-addon")]
    assert built["data"] == {"env": "prod", "version": "6", "same": "x"}
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0


def test_opt_out_and_settings_per_environment(repo: Path) -> None:
    project = repo / "mlgitops.yaml"
    text = project.read_text()
    # Project default: no NetworkPolicy in dev; one model asks for a wider PDB budget in prod.
    text = text.replace(
        "    training: {schedule: null}\n",
        "    training: {schedule: null}\n    addons: {network-policy: {enabled: false}}\n",
        1,
    )
    project.write_text(text)
    model = repo / "models/churn-scorer.yaml"
    model.write_text(
        model.read_text().replace(
            "  prod:\n",
            "  prod:\n    addons: {pdb: {maxUnavailable: 2}, network-policy: {fromNamespaces: [gateway]}}\n",
            1,
        )
    )
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 0, result.stderr
    dev = _objects(repo / "overlays/dev")
    assert not any(k[1] == "NetworkPolicy" for k in dev)
    staging = _objects(repo / "overlays/staging")
    policy = staging[("networking.k8s.io/v1", "NetworkPolicy", "ml-staging", "churn-scorer-ingress")]
    assert len(policy["spec"]["ingress"][0]["from"]) == 5  # the namespace, ingress and monitoring (the default)
    prod = _objects(repo / "overlays/prod")
    assert prod[("policy/v1", "PodDisruptionBudget", "ml-prod", "churn-scorer-pdb")]["spec"]["maxUnavailable"] == 2
    assert prod[("policy/v1", "PodDisruptionBudget", "ml-prod", "fraud-detector-pdb")]["spec"]["maxUnavailable"] == 1
    froms = prod[("networking.k8s.io/v1", "NetworkPolicy", "ml-prod", "churn-scorer-ingress")]["spec"]["ingress"][0]
    assert [f["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for f in froms["from"]] == [
        "ml-prod",
        "gateway",
    ]


def test_model_patches_reach_addon_objects(repo: Path) -> None:
    model = repo / "models/fraud-detector.yaml"
    model.write_text(
        model.read_text().replace(
            "environments:\n",
            (
                "patches:\n- target: {kind: NetworkPolicy, name: fraud-detector-ingress}\n"
                "  ops: [{op: add, path: /spec/policyTypes/-, value: Egress}]\nenvironments:\n"
            ),
            1,
        )
    )
    assert run_cli(["render"], cwd=repo).exit_code == 0
    for env, ns in (("dev", "ml-dev"), ("prod", "ml-prod")):
        policy = _objects(repo / "overlays" / env)[
            ("networking.k8s.io/v1", "NetworkPolicy", ns, "fraud-detector-ingress")
        ]
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]


# --- errors: one positioned line, exit 1, tree untouched ---------------------------------------------------


def test_syntax_error_is_positioned(repo: Path) -> None:
    _write_template(repo, "bad", SIGNATURE + "\n  [ { a: } ]\n")
    line = _render_fails(repo)
    assert line.startswith("templates/bad.jsonnet:2:10: unexpected"), line


def test_runtime_error_is_positioned_in_the_library_that_raised_it(repo: Path) -> None:
    (repo / "templates/lib/fail.libsonnet").write_text("{\n  check(m):: error 'no owner for ' + m.metadata.name,\n}\n")
    _write_template(repo, "rt", "local f = import 'lib/fail.libsonnet';\n" + SIGNATURE + "\n  [f.check(model)]\n")
    line = _render_fails(repo)
    assert line == "templates/lib/fail.libsonnet:2:14: no owner for churn-scorer", line


def test_runtime_error_in_the_template(repo: Path) -> None:
    _write_template(repo, "rt", SIGNATURE + "\n  [model.serving.nothing]\n")
    assert _render_fails(repo) == "templates/rt.jsonnet:2:4: field does not exist: nothing"


@pytest.mark.parametrize(
    ("body", "position", "message"),
    [
        # the function's body when no object is at fault, else the object literal the template writes
        ("{a: 1}", "2:3", "the template must return a list of objects, not dict"),
        ("[1]", "2:3", "item 0 is a int, not an object"),
        ("[{kind: 'ConfigMap', metadata: {name: 'x'}}]", "2:4", "item 0 has no apiVersion (a string)"),
        ("[{apiVersion: 'v1', metadata: {name: 'x'}}]", "2:4", "item 0 has no kind (a string)"),
        (
            "[{apiVersion: 'v1', kind: 'Secret', metadata: {name: 'y'}}, {apiVersion: 'v1', kind: 'ConfigMap', "
            "metadata: {}}]",
            "2:63",
            "item 1 has no metadata.name (a string)",
        ),
    ],
)
def test_results_that_are_not_lists_of_objects_are_refused(repo: Path, body: str, position: str, message: str) -> None:
    _write_template(repo, "shape", SIGNATURE + "\n  " + body + "\n")
    assert _render_fails(repo) == (
        f"templates/shape.jsonnet:{position}: {message} (model 'churn-scorer', environment 'dev')"
    )


def test_a_template_that_is_not_a_function(repo: Path) -> None:
    _write_template(repo, "plain", "[]\n")
    assert _render_fails(repo) == (
        "templates/plain.jsonnet:1:1: the template must be a function(model, environment, project, settings={}), "
        "not array (the value of the file)"
    )


def test_collision_with_a_generated_object(repo: Path) -> None:
    _write_template(
        repo,
        "clash",
        SIGNATURE
        + """
  [{apiVersion: 'serving.kserve.io/v1beta1', kind: 'InferenceService', metadata: {name: model.metadata.name}}]
""",
    )
    assert _render_fails(repo) == (
        # at the object's metadata.name in the template
        "templates/clash.jsonnet:2:83: InferenceService 'fraud-detector' of model 'fraud-detector' is also made by "
        "the generator; give the addon object another name"
    )


def test_collision_between_two_templates(repo: Path) -> None:
    _write_template(repo, "zz-copy", (repo / "templates/pdb.jsonnet").read_text())
    line = _render_fails(repo)
    name_line = _line_of(repo / "templates/zz-copy.jsonnet", "name: model.metadata.name + '-pdb'")
    assert line.startswith(
        f"templates/zz-copy.jsonnet:{name_line}:9: PodDisruptionBudget 'churn-scorer-pdb' of model "
        "'churn-scorer' is also made by template 'pdb'"
    ), line


def test_unknown_template_in_a_model_is_refused(repo: Path) -> None:
    model = repo / "models/churn-scorer.yaml"
    model.write_text(
        model.read_text().replace("environments:\n", "addons: {pbd: {enabled: false}}\nenvironments:\n", 1)
    )
    line = _render_fails(repo)
    assert line.startswith("models/churn-scorer.yaml:"), line
    assert "no template 'pbd' in templates/ (did you mean 'pdb'?)" in line


@pytest.mark.parametrize(
    ("statement", "target"),
    [
        ("import '../../etc/passwd'", "../../etc/passwd"),
        ("import '/etc/passwd'", "/etc/passwd"),
        ("importstr '../mlgitops.yaml'", "../mlgitops.yaml"),
        ("importbin '../models/churn-scorer.yaml'", "../models/churn-scorer.yaml"),
        ("importstr 'lib/../../mlgitops.yaml'", "lib/../../mlgitops.yaml"),
        ("import 'lib/outside.libsonnet'", "lib/outside.libsonnet"),  # a symlink out of the tree
    ],
)
def test_imports_outside_templates_are_refused(repo: Path, statement: str, target: str) -> None:
    (repo / "templates/lib/outside.libsonnet").symlink_to(repo / "mlgitops.yaml")
    _write_template(repo, "escape", f"local leaked = {statement};\n{SIGNATURE}\n  assert leaked != null; []\n")
    line = _render_fails(repo)
    assert line.startswith(f'templates/escape.jsonnet:1:16: couldn\'t open import "{target}": '), line
    assert "refused" in line or "outside templates/" in line


def test_imports_inside_templates_and_lib_are_served(repo: Path) -> None:
    (repo / "templates/lib/data.txt").write_text("hello")
    _write_template(
        repo,
        "reader",
        SIGNATURE
        + """
  [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: model.metadata.name + '-reader'},
    data: {text: importstr 'lib/data.txt', bytes: std.toString(std.length(importbin 'lib/data.txt'))}}]
""",
    )
    assert run_cli(["render"], cwd=repo).exit_code == 0
    base = _load(repo / "base/models/support-llm/configmap-support-llm-reader.yaml")
    assert base["data"] == {"text": "hello", "bytes": "5"}


def test_no_ext_vars_from_the_environment(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/root")
    _write_template(repo, "ext", SIGNATURE + "\n  [std.extVar('HOME')]\n")
    assert _render_fails(repo) == "templates/ext.jsonnet:2:4: undefined external variable: HOME"


def test_jsonnet_not_installed(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("_gojsonnet", "_jsonnet"):
        monkeypatch.setitem(sys.modules, name, None)  # `import name` now raises ImportError
    assert _render_fails(repo) == (
        "templates: the project has Jsonnet templates but no Jsonnet evaluator is installed; "
        "install one with: pip install gojsonnet (or: pip install jsonnet)"
    )


def test_without_templates_the_plugin_path_does_not_load_jsonnet(repo: Path) -> None:
    for path in sorted((repo / "templates").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (repo / "templates").rmdir()
    assert run_cli(["render"], cwd=repo).exit_code == 0
    proc, modules = imported_modules(repo, "cmp", "generate", env={"PARAM_ENVIRONMENT": "prod"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mlgitops.render.addons" in modules and not {"_gojsonnet", "_jsonnet"} & modules
    proc, modules = imported_modules(
        example_with_addons(repo.parent / "with"), "cmp", "generate", env={"PARAM_ENVIRONMENT": "prod"}
    )
    # with templates, only the forked child imports the evaluator (the Go runtime does not survive a fork)
    assert proc.returncode == 0 and "mlgitops.render.addons" in modules and not {"_gojsonnet", "_jsonnet"} & modules
    assert "kind: PodDisruptionBudget" in proc.stdout


def test_a_changed_template_misses_the_cmp_answer_cache(repo: Path, tmp_path: Path) -> None:
    import os

    from mlgitops.gitops import cmp

    environ = {
        "MLGITOPS_CMP_CACHE": "1",
        "MLGITOPS_CMP_CACHE_DIR": str(tmp_path / "cache"),
        "PATH": os.environ.get("PATH", ""),
        "ARGOCD_APP_SOURCE_PATH": "overlays/prod",
        "PARAM_ENVIRONMENT": "prod",
    }
    assert cmp.generate(repo / "overlays/prod", environ).warnings == []
    template = repo / "templates/pdb.jsonnet"
    template.write_text(template.read_text().replace("'maxUnavailable', 1", "'maxUnavailable', 2"))
    # The committed tree is now stale: a cached answer would hide it; a fresh render refuses.
    with pytest.raises(cmp.CmpError, match="not what mlgitops"):
        cmp.generate(repo / "overlays/prod", environ)


def test_a_template_that_runs_without_end_is_stopped_at_the_limits(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Templates run in a child process under CPU and memory limits (lowered here to keep the test short)."""
    from mlgitops.render import addons

    monkeypatch.setattr(addons, "MAX_TEMPLATE_CPU_SECONDS", 2)
    _write_template(repo, "spin", SIGNATURE + "\n  [std.foldl(function(a, b) a + b, std.range(1, 1000000000), 0)]\n")
    assert _render_fails(repo) == (
        "templates: the Jsonnet templates were stopped at the limits (2 s of CPU and 2048 MiB)"
    )


def test_a_template_file_over_the_size_limit_is_refused(repo: Path) -> None:
    from mlgitops.util.limits import MAX_SPEC_BYTES

    (repo / "templates" / "lib" / "big.libsonnet").write_text("// " + "x" * MAX_SPEC_BYTES + "\n{}\n")
    _write_template(
        repo, "big", SIGNATURE + "\n  local big = import 'lib/big.libsonnet';\n  if big == {} then [] else []\n"
    )
    assert "is larger than 1048576 bytes (MAX_SPEC_BYTES)" in _render_fails(repo)
