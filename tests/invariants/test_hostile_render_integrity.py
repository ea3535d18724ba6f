"""Hostile input, round 2 (issue 20): what Kustomize deploys stays what mlgitops shows and checks.

Leftovers of an interrupted render committed to the repository, a journal pointing outside the
project, keys Kustomize acts on, duplicate objects, forged lineage, the evaluator in the CMP cache
key, a refused revision in `diff`, and a promotion through a YAML alias. Each refusal is one
positioned line, a non-zero exit and no file changed; real git and the real Kustomize are used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlgitops.layout.tree import JOURNAL_FILE
from tests.conftest import copy_example, kustomize_objects, run_cli, snapshot_tree
from tests.delivery.test_diff import commit_all, edit, git

FRAUD = "models/fraud-detector.yaml"
UNIT = "overlays/prod/fraud-detector"
STAGING = ".mlgitops-staging-ci"


def one_line(stderr: str, where: str, *fragments: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith(where), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def refused(root: Path, args: list[str], where: str, *fragments: str, code: int = 1) -> str:
    before = snapshot_tree(root)
    result = run_cli(args, cwd=root)
    assert result.exit_code == code, (args, result.exit_code, result.stderr)
    assert result.stdout == ""
    assert snapshot_tree(root) == before, f"{args} changed files"
    return one_line(result.stderr, where, *fragments)


def cmp_generate(root: Path, env: str = "prod", **extra: str) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "ARGOCD_ENV_ENVIRONMENT": env, **extra}
    environ["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "mlgitops", "cmp", "generate"], cwd=root, env=environ, capture_output=True, text=True
    )


# --- 1, 2: an interrupted render's journal and staging directory -----------------------------------


@pytest.fixture
def committed_journal(tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose committed overlays/prod is tampered with, plus a committed journal and staging
    directory (git-ignored, added with `git add -f`) holding the correct unit; and CI's clone of it."""
    source = copy_example(tmp_path / "source")
    (source / ".gitignore").write_text(f"{JOURNAL_FILE}\n.mlgitops-staging-*/\n")
    shutil.copytree(source / UNIT, source / STAGING / "new" / UNIT)  # the correct unit
    edit(source / UNIT / "kustomization.yaml", "namespace: ml-prod", "namespace: ml-tampered")
    (source / JOURNAL_FILE).write_text(json.dumps({"staging": STAGING, "swap": [UNIT], "remove": []}) + "\n")
    git(source, "init", "-q")
    commit_all(source, "tampered overlay")
    assert git(source, "status", "--porcelain", "--ignored").strip() != ""  # the leftovers are ignored...
    git(source, "add", "-f", JOURNAL_FILE, STAGING)  # ...but committed all the same
    git(source, "commit", "-q", "-m", "leftovers")
    checkout = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", str(source), str(checkout)], check=True)
    assert (checkout / JOURNAL_FILE).is_file() and (checkout / STAGING / "new" / UNIT).is_dir()
    return source, checkout


def test_render_check_refuses_a_committed_journal_and_changes_nothing(committed_journal: tuple[Path, Path]) -> None:
    _source, checkout = committed_journal
    refused(checkout, ["render", "--check"], f"{JOURNAL_FILE}:1:1: ", "never completes or acts on one")
    assert "ml-tampered" in (checkout / UNIT / "kustomization.yaml").read_text()  # still what is committed


@pytest.mark.parametrize(
    "args", [["build", "--env", "prod"], ["diff", "--base", "HEAD"], ["diff", "--base", "HEAD~1", "--head", "HEAD"]]
)
def test_build_and_diff_refuse_a_committed_journal(committed_journal: tuple[Path, Path], args: list[str]) -> None:
    source, _checkout = committed_journal
    code = 2 if args[0] == "diff" else 1
    line = refused(source, args, "", f"{JOURNAL_FILE}:1:1: ", "`mlgitops " + args[0], code=code)
    if "--head" in args:
        assert line.startswith(f"HEAD: {JOURNAL_FILE}:1:1: ")


@pytest.mark.parametrize("cache", ["0", "1"])
def test_cmp_generate_refuses_a_committed_journal(
    committed_journal: tuple[Path, Path], tmp_path: Path, cache: str
) -> None:
    _source, checkout = committed_journal
    extra = {"MLGITOPS_CMP_CACHE": cache, "MLGITOPS_CMP_CACHE_DIR": str(tmp_path / "cache"), "HOME": str(tmp_path)}
    journal = (checkout / JOURNAL_FILE).read_bytes()
    if cache == "1":  # an answer cached without the journal must not stand in for the refusal
        (checkout / JOURNAL_FILE).unlink()
        edit(checkout / UNIT / "kustomization.yaml", "namespace: ml-tampered", "namespace: ml-prod")
        shutil.rmtree(checkout / STAGING)
        assert cmp_generate(checkout, **extra).returncode == 0
        (checkout / JOURNAL_FILE).write_bytes(journal)
    before = snapshot_tree(checkout)
    proc = cmp_generate(checkout, **extra)
    assert proc.returncode != 0 and proc.stdout == ""
    one_line(proc.stderr, f"{JOURNAL_FILE}:1:1: ", "`mlgitops cmp generate` never completes")
    assert snapshot_tree(checkout) == before


def test_render_check_refuses_a_staging_directory_alone(example: Path) -> None:
    (example / (STAGING + "x") / "new").mkdir(parents=True)
    refused(example, ["render", "--check"], f"{STAGING}x:1:1: a staging directory of an interrupted render")
    assert run_cli(["render"], cwd=example).exit_code == 0  # render itself clears it
    assert not (example / (STAGING + "x")).exists()


def _outside_unit(tmp_path: Path, example: Path) -> Path:
    outside = tmp_path / "outside"
    shutil.copytree(example / UNIT, outside / "new" / UNIT)
    (outside / "new" / UNIT / "kustomization.yaml").write_text("# not from mlgitops\n")
    (outside / "old").mkdir()
    return outside


@pytest.mark.parametrize("how", ["staging-is-a-symlink", "inside-staging-a-symlink"])
def test_a_journal_whose_staging_leads_outside_is_refused(tmp_path: Path, example: Path, how: str) -> None:
    outside = _outside_unit(tmp_path, example)
    staging = example / (STAGING + "evil")
    if how == "staging-is-a-symlink":
        staging.symlink_to(outside, target_is_directory=True)
    else:
        (staging / "new").mkdir(parents=True)
        (staging / "new" / "overlays").symlink_to(outside / "new" / "overlays", target_is_directory=True)
    (example / JOURNAL_FILE).write_text(json.dumps({"staging": staging.name, "swap": [UNIT], "remove": []}))
    before, outside_before = snapshot_tree(example), snapshot_tree(outside)
    for args in (["render"], ["render", "--check"]):
        result = run_cli(args, cwd=example)
        assert result.exit_code == 1, result.stderr
        one_line(result.stderr, f"{JOURNAL_FILE}:1:1: ")
        if args == ["render"]:
            assert "is a symlink" in result.stderr and "not a journal mlgitops wrote" in result.stderr
    assert snapshot_tree(example) == before and snapshot_tree(outside) == outside_before
    assert (example / UNIT / "kustomization.yaml").read_text().startswith("# Generated by mlgitops")


# --- 3, 5: keys Kustomize acts on, lineage only mlgitops writes --------------------------------------


@pytest.mark.parametrize(
    ("block", "key"),
    [
        ("annotations", "config.kubernetes.io/local-config"),
        ("annotations", "internal.config.kubernetes.io/path"),
        ("labels", "kustomize.config.k8s.io/id"),
        ("annotations", "config.k8s.io/owned-by"),
        ("annotations", "lineage.mlgitops.io/run-id"),
        ("annotations", "data.lineage.mlgitops.io/transactions"),
        ("labels", "lineage.mlgitops.io/model-version"),
    ],
)
def test_reserved_metadata_keys_are_refused_at_the_key(example: Path, block: str, key: str) -> None:
    spec = example / FRAUD
    if block == "labels":
        edit(spec, "  labels: {domain: payments}\n", f'  labels: {{domain: payments, {key}: "true"}}\n')
        where = f"{FRAUD}:8:{len('  labels: {domain: payments, ') + 1}: "
    else:
        edit(spec, "  labels: {domain: payments}\n", f'  labels: {{domain: payments}}\n  {block}: {{{key}: "true"}}\n')
        where = f"{FRAUD}:9:{len(f'  {block}: {{') + 1}: "
    for args in (["render"], ["validate"], ["build", "--env", "prod"]):
        message = "Kustomize interprets" if "lineage" not in key else "only mlgitops writes them"
        refused(example, args, where, message)


def test_local_config_really_drops_the_object_in_kustomize(tmp_path: Path) -> None:
    """Why the annotation is refused: Kustomize leaves such an object out of the build."""
    folder = tmp_path / "k"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (folder / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
        "  annotations: {config.kubernetes.io/local-config: 'true'}\n"
    )
    assert kustomize_objects(folder) == []


PATCH_OPS = {
    "local-config": "{op: add, path: /metadata/annotations/config.kubernetes.io~1local-config, value: 'true'}",
    "lineage": "{op: add, path: /metadata/annotations/lineage.mlgitops.io~1run-id, value: forged}",
    "lineage-replaced": "{op: replace, path: /metadata/annotations/lineage.mlgitops.io~1model-version, value: '1'}",
    "lineage-removed": "{op: remove, path: /metadata/annotations/lineage.mlgitops.io~1training-image}",
    "patch-directive-value": "{op: add, path: /spec/predictor/x, value: {$patch: replace}}",
    "directive-path": "{op: add, path: /spec/$setElementOrder~1containers, value: []}",
    "label-key": "{op: add, path: /metadata/labels/config.kubernetes.io~1local-config, value: 'true'}",
}


@pytest.mark.parametrize("case", sorted(PATCH_OPS))
def test_patches_may_not_write_what_kustomize_acts_on(example: Path, case: str) -> None:
    spec = example / FRAUD
    op = PATCH_OPS[case]
    spec.write_text(spec.read_text() + f"patches:\n- target: {{kind: InferenceService}}\n  ops:\n  - {op}\n")
    last = len(spec.read_text().splitlines())
    refused(example, ["render"], f"{FRAUD}:{last}:5: ", "op ")


def test_addon_output_with_a_directive_or_reserved_key_is_refused_in_the_template(example: Path) -> None:
    template = example / "templates" / "sneaky.jsonnet"
    template.write_text(
        "function(model, environment, project, settings={})\n"
        "  [{\n"
        "    apiVersion: 'v1',\n"
        "    kind: 'ConfigMap',\n"
        "    metadata: {\n"
        "      name: model.metadata.name + '-sneaky',\n"
        "      annotations: { 'config.kubernetes.io/local-config': 'true' },\n"
        "    },\n"
        "  }]\n"
    )
    refused(example, ["render"], "templates/sneaky.jsonnet:7:22: ", "Kustomize interprets")
    template.write_text(template.read_text().replace("'config.kubernetes.io/local-config': 'true'", "a: 'b'"))
    template.write_text(template.read_text().replace("    },\n  }]", "    },\n    data: { '$patch': 'delete' },\n  }]"))
    refused(example, ["validate"], "templates/sneaky.jsonnet:9:13: ", "strategic-merge directive")


def test_platform_files_with_reserved_keys_are_refused(example: Path) -> None:
    accounts = example / "base/platform/serviceaccounts.yaml"
    text = accounts.read_text()
    accounts.write_text(
        text.replace("metadata:\n", "metadata:\n  annotations: {config.kubernetes.io/local-config: 'true'}\n", 1)
    )
    line = accounts.read_text().splitlines().index("  annotations: {config.kubernetes.io/local-config: 'true'}") + 1
    where = f"base/platform/serviceaccounts.yaml:{line}:17: "
    for args in (["render"], ["build", "--env", "dev"], ["validate"]):
        refused(example, args, where, "Kustomize interprets")
    accounts.write_text(text + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {$patch: delete}\n")
    refused(example, ["render"], "base/platform/serviceaccounts.yaml:", "strategic-merge directive")
    accounts.write_text(text)
    kustomization = example / "base/platform/kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text() + "commonAnnotations: {config.kubernetes.io/local-config: 'true'}\n"
    )
    last = len(kustomization.read_text().splitlines())
    refused(example, ["render"], f"base/platform/kustomization.yaml:{last}:21: ", "Kustomize interprets")


def test_node_class_affinity_may_not_carry_a_directive(example: Path) -> None:
    project = example / "mlgitops.yaml"
    project.write_text(project.read_text() + "nodeClasses:\n  cpu:\n    affinity: {nodeAffinity: {$patch: replace}}\n")
    refused(example, ["validate"], "mlgitops.yaml:", "nodeAffinity", "$patch", "strategic-merge directive")


# --- 4: one object identity, several models --------------------------------------------------------

SHARED_TEMPLATE = (
    "function(model, environment, project, settings={})\n"
    "  [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared-settings' }, data: { team: 'ml' } }]\n"
)


def test_an_object_made_for_several_models_is_refused_in_its_template(example: Path, tmp_path: Path) -> None:
    (example / "templates" / "shared.jsonnet").write_text(SHARED_TEMPLATE)
    where = "templates/shared.jsonnet:2:55: "
    for args in (["render"], ["render", "--check"], ["validate"], ["build", "--env", "dev"]):
        refused(
            example, args, where, "environment 'dev': ConfigMap 'shared-settings' of model ", "is also made by model"
        )
    proc = cmp_generate(example, "dev", MLGITOPS_CMP_CACHE="0")
    assert proc.returncode != 0 and proc.stdout == "" and proc.stderr.startswith(where)
    # what the refusal prevents: the real Kustomize refuses the overlay such a render would write
    overlay = tmp_path / "overlay"
    for name in ("a", "b"):
        (overlay / name).mkdir(parents=True)
        (overlay / name / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared-settings}\n")
        (overlay / name / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (overlay / "kustomization.yaml").write_text("resources: [a, b]\n")
    with pytest.raises(subprocess.CalledProcessError):
        kustomize_objects(overlay)


def test_a_model_taking_another_models_object_name_is_refused_by_the_cached_render(example: Path) -> None:
    """The incremental render (only the changed model rendered) reaches the full render's check."""
    assert run_cli(["render"], cwd=example).exit_code == 0
    template = example / "templates" / "named.jsonnet"
    template.write_text(
        "function(model, environment, project, settings={})\n"
        "  [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: std.get(settings, 'name', model.metadata.name "
        "+ '-cfg') } }]\n"
    )
    assert run_cli(["render"], cwd=example).exit_code == 0  # a new template: full render, cache recorded
    spec = example / FRAUD
    spec.write_text(spec.read_text() + "addons: {named: {name: churn-scorer-cfg}}\n")
    refused(example, ["render"], "templates/named.jsonnet:2:", "is also made by model 'churn-scorer'")


# --- 6: the evaluator in the cmp generate answer cache key -------------------------------------------


def test_cmp_cache_key_follows_the_jsonnet_evaluator(
    example: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from mlgitops.gitops.cmp_cache import request_key
    from mlgitops.render.addons import EVALUATOR_MODULES

    def key() -> str:
        return request_key(example, example, "prod", None, {})

    before = key()
    monkeypatch.setitem(sys.modules, EVALUATOR_MODULES[0], None)  # go-jsonnet gone: the C++ one (or none) runs
    assert key() != before
    monkeypatch.delitem(sys.modules, EVALUATOR_MODULES[0])
    assert key() == before
    # another release of the same file size and time: the distribution's version still tells them apart
    fake = tmp_path / "site"
    fake.mkdir()
    (fake / f"{EVALUATOR_MODULES[0]}.py").write_text("")
    (fake / "gojsonnet-0.0.1.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(fake))
    first = key()
    (fake / "gojsonnet-0.0.1.dist-info").rename(fake / "gojsonnet-0.0.2.dist-info")
    assert key() != first
    shutil.rmtree(example / "templates")
    without = key()
    monkeypatch.setitem(sys.modules, EVALUATOR_MODULES[0], None)
    assert key() == without  # no templates: the evaluator is no input


# --- 7: diff of a revision render refuses ------------------------------------------------------------


def test_diff_of_a_revision_with_an_environment_render_refuses_is_an_error(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    git(repo, "init", "-q")
    commit_all(repo, "example")
    for name in ("fraud-detector", "churn-scorer", "support-llm"):
        spec = repo / "models" / f"{name}.yaml"
        edit(spec, "\nenvironments:\n  dev:\n", "\nenvironments:\n  dev:\n    enabled: false\n")
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 1
    render = run_cli(["render"], cwd=repo)
    assert render.exit_code == 1, render.stderr
    expected = render.stderr.strip()
    assert "environment 'dev' has no model objects" in expected
    result = run_cli(["diff"], cwd=repo)
    assert result.exit_code == 2, result.stdout[-500:]
    assert result.stdout == ""
    one_line(result.stderr, "working tree: " + expected.split(": ", 1)[0])
    assert result.stderr.strip().endswith(expected.split(": ", 1)[1])
    commit_all(repo, "dev emptied")
    committed = run_cli(["diff", "--base", "HEAD~1", "--head", "HEAD", "--env", "dev"], cwd=repo)
    assert committed.exit_code == 2 and "has no model objects" in committed.stderr


# --- 8: promote through a YAML alias ----------------------------------------------------------------

ALIASED = (
    "  staging:\n"
    '    model: &pin {version: "8", storageUri: s3://ml-models/fraud-detector/8/model}\n'
    "  prod:\n"
    "    model: *pin\n"
)


def _aliased(project: Path) -> Path:
    spec = project / FRAUD
    text = spec.read_text()
    start, end = text.index("  staging:\n"), text.index("    monitoring: {alerts: {noTraffic: true}}")
    spec.write_text(text[:start] + ALIASED + text[end:])
    assert run_cli(["render"], cwd=project).exit_code == 0
    pins = yaml.safe_load(spec.read_text())["environments"]
    assert pins["prod"]["model"] == pins["staging"]["model"]
    return spec


def test_promote_through_an_alias_is_refused_at_the_alias(example: Path) -> None:
    spec = _aliased(example)
    line = spec.read_text().splitlines().index("    model: *pin") + 1
    args = ["promote", "fraud-detector", "--to", "prod", "--version", "9", "--storage-uri", "s3://b/9", "--force"]
    refused(
        example, [*args, "--reason", "hotfix"], f"{FRAUD}:{line}:12: ", "environments.prod.model is the YAML alias *pin"
    )


def test_promote_of_the_anchored_pin_is_refused_at_the_anchor(example: Path) -> None:
    spec = _aliased(example)
    line = (
        spec.read_text()
        .splitlines()
        .index('    model: &pin {version: "8", storageUri: s3://ml-models/fraud-detector/8/model}')
        + 1
    )
    args = ["promote", "fraud-detector", "--to", "staging", "--from", "dev"]
    refused(example, args, f"{FRAUD}:{line}:12: ", "anchored &pin and repeated by the alias *pin")
