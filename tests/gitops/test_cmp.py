"""`mlgitops cmp generate` / `cmp parameters`, run through plugins/argocd/plugin.yaml exactly as
argocd-cmp-server runs them (tests/cmp_harness.py): argv without a shell, cwd at the Application path
inside a tar-extracted copy (files 0644), the sidecar env plus the request variables, parameters as
both `PARAM_*` and the Go-marshalled `ARGOCD_APP_PARAMETERS`, stdout parsed as Argo CD parses it.

The sidecar env has a PATH where `mlgitops` and `kubectl` resolve (this virtualenv's bin), a HOME that
cannot be created (it sits under a regular file, so even root cannot write there) and a private TMPDIR
that must be empty again afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmp_harness import AppRequest, GenerateResult, Parameter, PluginConfig, generate, load_plugin, parameters
from cmp_harness import build_env as harness_env
from mlgitops.gitops.cmp import CmpError, Settings, escaped, read_settings, tree_boundary
from tests.conftest import REPO, copy_example, object_identity, run_cli

PLUGIN_FILE = REPO / "plugins" / "argocd" / "plugin.yaml"
BIN = Path(sys.executable).parent
ENVIRONMENTS = {"dev": "ml-dev", "staging": "ml-staging", "prod": "ml-prod"}
CLUSTER_SCOPED = {"Namespace"}


@pytest.fixture(scope="module")
def plugin() -> PluginConfig:
    return load_plugin(PLUGIN_FILE)


@dataclass
class Sidecar:
    env: dict[str, str]
    tmp: Path
    workdir: Path


@pytest.fixture
def sidecar(tmp_path: Path) -> Sidecar:
    blocker = tmp_path / "regular-file"
    blocker.write_text("")
    tmp = tmp_path / "sidecar-tmp"
    tmp.mkdir()
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(blocker / "home"),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
    }
    return Sidecar(env=env, tmp=tmp, workdir=tmp_path / "cmp-work")


def run(
    plugin: PluginConfig,
    sidecar: Sidecar,
    repo: Path,
    app_path: str = ".",
    params: dict[str, str] | None = None,
    *,
    labels: dict[str, str] | None = None,
    namespace: str = "ml-dev",
    plugin_env: tuple[tuple[str, str], ...] = (),
) -> GenerateResult:
    parameter_list = [Parameter(name, string=value) for name, value in (params or {}).items()]
    if labels is not None:
        parameter_list.append(Parameter("extra-labels", map=labels))
    request = AppRequest(
        repo_dir=repo,
        app_path=app_path,
        app_name="acme-ml",
        app_namespace=namespace,
        project_name="acme-ml",
        repo_url="https://github.com/acme/ml-config.git",
        parameters=parameter_list or None,
        plugin_env=plugin_env,
    )
    result = generate(plugin, request, sidecar_env=sidecar.env, workdir=sidecar.workdir, deadline_s=60)
    assert list(sidecar.tmp.iterdir()) == [], "cmp generate left files in TMPDIR"
    return result


def expected(repo: Path, env: str, model: str | None = None) -> dict[tuple[str, str, str, str], Any]:
    args = ["build", "--env", env] + (["--model", model] if model else [])
    result = run_cli(args, cwd=repo)
    assert result.exit_code == 0, result.stderr
    return {object_identity(o): o for o in yaml.safe_load_all(result.stdout) if o}


def by_identity(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], Any]:
    return {object_identity(o): o for o in objects}


def assert_success(result: GenerateResult) -> None:
    assert result.error is None, result.error
    assert not result.empty
    assert [w for w in result.warnings if "collision" not in w] == []


def assert_one_line_failure(result: GenerateResult, *fragments: str) -> str:
    assert result.error is not None and result.stage == "generate"
    assert result.objects == [] and result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message, f"not one line: {message!r}"
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message
    assert result.error.startswith("`mlgitops cmp generate` failed exit status ")
    return message


# --- environments, models, inference -------------------------------------------------------------


@pytest.mark.parametrize("env", list(ENVIRONMENTS))
def test_each_environment_equals_mlgitops_build(
    plugin: PluginConfig, sidecar: Sidecar, example: Path, env: str
) -> None:
    result = run(plugin, sidecar, example, ".", {"environment": env}, namespace=ENVIRONMENTS[env])
    assert_success(result)
    assert by_identity(result.objects) == expected(example, env)
    for obj in result.objects:
        if obj["kind"] not in CLUSTER_SCOPED:
            assert obj["metadata"]["namespace"] == ENVIRONMENTS[env], "Argo CD would have to guess the namespace"


@pytest.mark.parametrize(
    ("env", "model"), [("prod", "fraud-detector"), ("dev", "churn-scorer"), ("staging", "support-llm")]
)
def test_one_model_application(plugin: PluginConfig, sidecar: Sidecar, example: Path, env: str, model: str) -> None:
    result = run(plugin, sidecar, example, ".", {"environment": env, "model": model}, namespace=ENVIRONMENTS[env])
    assert_success(result)
    objects = by_identity(result.objects)
    assert objects == expected(example, env, model)
    assert {o["metadata"]["labels"]["app.kubernetes.io/name"] for o in objects.values()} == {model}
    assert "Namespace" not in {o["kind"] for o in objects.values()}


def test_environment_inferred_from_the_application_path(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    result = run(plugin, sidecar, example, "overlays/staging", namespace="ml-staging")
    assert_success(result)
    assert by_identity(result.objects) == expected(example, "staging")


def test_inferred_environment_with_one_model(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    result = run(plugin, sidecar, example, "overlays/prod", {"model": "support-llm"}, namespace="ml-prod")
    assert_success(result)
    assert by_identity(result.objects) == expected(example, "prod", "support-llm")


def test_environment_from_plugin_env(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    result = run(plugin, sidecar, example, ".", plugin_env=(("ENVIRONMENT", "prod"),), namespace="ml-prod")
    assert_success(result)
    assert by_identity(result.objects) == expected(example, "prod")


def test_project_in_a_subdirectory_of_the_repository(plugin: PluginConfig, sidecar: Sidecar, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    copy_example(repo / "ml")
    (repo / "README.md").write_text("other things live here\n")
    result = run(plugin, sidecar, repo, "ml/overlays/dev")
    assert_success(result)
    assert by_identity(result.objects) == expected(repo / "ml", "dev")


def test_missing_environment(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    result = run(plugin, sidecar, example, ".")
    message = assert_one_line_failure(result, "no environment", "dev, staging, prod", "overlays/<environment>")
    assert result.error is not None and "exit status 2" in result.error
    assert message.startswith("no environment")


def test_unknown_environment(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    assert_one_line_failure(run(plugin, sidecar, example, ".", {"environment": "prd"}), "'prd'", "did you mean 'prod'")


def test_parameter_contradicting_the_path(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    result = run(plugin, sidecar, example, "overlays/prod", {"environment": "dev"})
    assert_one_line_failure(result, "'dev'", "overlays/prod")


def test_unknown_model(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    result = run(plugin, sidecar, example, ".", {"environment": "dev", "model": "fraud-detectr"})
    assert_one_line_failure(result, "unknown model 'fraud-detectr'", "did you mean 'fraud-detector'")


def test_unknown_parameter(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    result = run(plugin, sidecar, example, ".", {"enviroment": "dev"})
    assert_one_line_failure(result, "unknown plugin parameter 'enviroment'", "did you mean 'environment'")


# --- failures: broken specs, empty renders, no project -------------------------------------------


def test_broken_spec_is_one_positioned_line(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    model = example / "models" / "fraud-detector.yaml"
    model.write_text(model.read_text() + "bogus: 1\n")
    line = len(model.read_text().splitlines())
    result = run(plugin, sidecar, example, ".", {"environment": "prod"})
    assert_one_line_failure(result, f"models/fraud-detector.yaml:{line}:1:", "unknown key 'bogus'")


def test_several_problems_still_one_line(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    for name in ("fraud-detector", "churn-scorer"):
        path = example / "models" / f"{name}.yaml"
        path.write_text(path.read_text() + "bogus: 1\n")
    result = run(plugin, sidecar, example, ".", {"environment": "prod"})
    assert_one_line_failure(result, "2 problems", "models/churn-scorer.yaml:", "models/fraud-detector.yaml:")


def test_one_model_application_checks_only_that_model(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    broken = example / "models" / "churn-scorer.yaml"
    broken.write_text(broken.read_text() + "bogus: 1\n")
    result = run(plugin, sidecar, example, ".", {"environment": "prod", "model": "fraud-detector"}, namespace="ml-prod")
    assert_success(result)
    failing = run(plugin, sidecar, example, ".", {"environment": "prod", "model": "churn-scorer"})
    assert_one_line_failure(failing, "models/churn-scorer.yaml:", "unknown key 'bogus'")


EMPTY_PROJECT = """\
apiVersion: mlgitops.io/v1alpha1
kind: Project
metadata: {name: empty}
repoURL: https://github.com/acme/empty.git
environments:
- {name: dev, namespace: ml-dev, createNamespace: false}
"""


def test_empty_render_fails(plugin: PluginConfig, sidecar: Sidecar, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "mlgitops.yaml").write_text(EMPTY_PROJECT)
    result = run(plugin, sidecar, repo, ".", {"environment": "dev"})
    assert_one_line_failure(result, "has no model objects", "prune", "allowEmpty: true")
    assert not result.empty  # an error, not the "successful" empty render Argo CD would prune with


def test_model_disabled_in_the_environment_fails(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    model = example / "models" / "churn-scorer.yaml"
    text = model.read_text().replace("environments:\n  dev:\n", "environments:\n  staging: {enabled: false}\n  dev:\n")
    assert text != model.read_text()
    model.write_text(text)
    result = run(plugin, sidecar, example, ".", {"environment": "staging", "model": "churn-scorer"})
    assert_one_line_failure(result, "'churn-scorer'", "disabled", "'staging'")


def test_project_file_outside_the_extracted_tree_is_not_used(
    plugin: PluginConfig, sidecar: Sidecar, example: Path
) -> None:
    # The sidecar extracts into <workdir>/_cmp_server/<uuid>/: a project file above that must not count.
    sidecar.workdir.mkdir(parents=True)
    (sidecar.workdir / "mlgitops.yaml").write_text((example / "mlgitops.yaml").read_text())
    (sidecar.workdir / "_cmp_server").mkdir()
    (sidecar.workdir / "_cmp_server" / "mlgitops.yaml").write_text((example / "mlgitops.yaml").read_text())
    (example / "mlgitops.yaml").unlink()
    result = run(plugin, sidecar, example, "overlays/dev")
    assert_one_line_failure(result, "no mlgitops.yaml found")


# --- settings: PARAM_*, ARGOCD_ENV_*, ARGOCD_APP_PARAMETERS, extra-labels, namespace ------------------


def test_extra_labels_from_the_parameters_json(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    labels = {"team.example.com/cost-center": "ml-42", "tier": "gold"}
    result = run(plugin, sidecar, example, ".", {"environment": "staging"}, labels=labels, namespace="ml-staging")
    assert_success(result)
    want = expected(example, "staging")
    for obj in want.values():
        obj["metadata"]["labels"].update(labels)
    assert by_identity(result.objects) == want


def test_extra_labels_cannot_override_mlgitops_labels(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    for key in ("mlgitops.io/environment", "app.kubernetes.io/name"):
        result = run(plugin, sidecar, example, ".", {"environment": "dev"}, labels={key: "x"})
        assert_one_line_failure(result, f"'{key}'", "cannot be overridden")
    result = run(plugin, sidecar, example, ".", {"environment": "dev"}, labels={"bad key": "x"})
    assert_one_line_failure(result, "not a valid Kubernetes label key")


def test_namespace_mismatch_is_a_warning(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    result = run(plugin, sidecar, example, ".", {"environment": "prod"}, namespace="default")
    assert_success(result)
    assert "warning: " in result.stderr and "'default'" in result.stderr and "'ml-prod'" in result.stderr
    namespaced = [o for o in result.objects if o["kind"] not in CLUSTER_SCOPED]
    assert namespaced and {o["metadata"]["namespace"] for o in namespaced} == {"ml-prod"}


def test_parameters_only_as_json(sidecar: Sidecar, example: Path) -> None:
    """ARGOCD_APP_PARAMETERS alone (no PARAM_*) is enough: the JSON is the fallback."""
    request = AppRequest(
        repo_dir=example,
        app_path=".",
        parameters=[Parameter("environment", string="dev"), Parameter("model", string="churn-scorer")],
    )
    env = {k: v for k, v in harness_env(request, sidecar.env).items() if not k.startswith("PARAM_")}
    assert json.loads(env["ARGOCD_APP_PARAMETERS"])[0] == {"name": "environment", "string": "dev"}
    proc = subprocess.run(
        ["mlgitops", "cmp", "generate"], cwd=example, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert by_identity([o for o in yaml.safe_load_all(proc.stdout) if o]) == expected(example, "dev", "churn-scorer")


def test_settings_precedence() -> None:
    params = json.dumps([{"name": "environment", "string": "staging"}, {"name": "model", "string": "b"}])
    env = {"PARAM_ENVIRONMENT": "prod", "ARGOCD_ENV_ENVIRONMENT": "dev", "ARGOCD_APP_PARAMETERS": params}
    assert read_settings(env) == Settings(environment="prod", model="b")
    del env["PARAM_ENVIRONMENT"]
    assert read_settings(env).environment == "dev"
    env["ARGOCD_ENV_ENVIRONMENT"] = ""
    assert read_settings(env).environment == "staging"
    assert read_settings({"ARGOCD_APP_PARAMETERS": "null"}) == Settings()
    assert escaped("extra-labels") == "EXTRA_LABELS"


def test_extra_labels_sources() -> None:
    exact = json.dumps([{"name": "extra-labels", "map": {"a.io/b": "c"}}])
    assert read_settings({"ARGOCD_APP_PARAMETERS": exact, "PARAM_EXTRA_LABELS_A_IO_B": "c"}).extra_labels == {
        "a.io/b": "c"
    }
    assert read_settings({"ARGOCD_ENV_EXTRA_LABELS": "team=ml, tier=gold"}).extra_labels == {
        "team": "ml",
        "tier": "gold",
    }
    assert read_settings({"PARAM_EXTRA_LABELS": '{"x": "y"}'}).extra_labels == {"x": "y"}
    with pytest.raises(CmpError, match="upper-cases"):
        read_settings({"PARAM_EXTRA_LABELS_TEAM": "ml"})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"name": "environment"}', "JSON array"),
        ('[{"string": "dev"}]', "needs a string 'name'"),
        ('[{"name": "environment", "array": ["dev"]}]', "must be a string"),
        ('[{"name": "extra-labels", "map": {"a": 1}}]', "map strings to strings"),
    ],
)
def test_bad_parameters_json(raw: str, message: str) -> None:
    with pytest.raises(CmpError, match=message):
        read_settings({"ARGOCD_APP_PARAMETERS": raw})


def test_tree_boundary(tmp_path: Path) -> None:
    app = tmp_path / "x" / "overlays" / "prod"
    app.mkdir(parents=True)
    assert tree_boundary(app, {"ARGOCD_APP_SOURCE_PATH": "overlays/prod"}) == (tmp_path / "x").resolve()
    assert tree_boundary(app, {"ARGOCD_APP_SOURCE_PATH": "./overlays/prod/"}) == (tmp_path / "x").resolve()
    assert tree_boundary(app, {"ARGOCD_APP_SOURCE_PATH": "."}) == app.resolve()
    assert tree_boundary(app, {}) is None
    with pytest.raises(CmpError, match=r"'\.\.'"):
        tree_boundary(app, {"ARGOCD_APP_SOURCE_PATH": "../prod"})


# --- concurrency, parameters, the hot path --------------------------------------------------------


def test_eight_concurrent_calls(plugin: PluginConfig, tmp_path: Path, example: Path) -> None:
    cases = [(env, model) for env in ENVIRONMENTS for model in (None, "fraud-detector")] + [
        ("prod", "churn-scorer"),
        ("dev", "support-llm"),
    ]
    assert len(cases) == 8

    def call(index: int) -> tuple[int, GenerateResult]:
        env, model = cases[index]
        blocker = tmp_path / f"file-{index}"
        blocker.write_text("")
        tmp = tmp_path / f"tmp-{index}"
        tmp.mkdir()
        sidecar = Sidecar(
            env={"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(blocker / "home"), "TMPDIR": str(tmp)},
            tmp=tmp,
            workdir=tmp_path / "shared-workdir",  # one sidecar, one workdir, separate extracted copies
        )
        params = {"environment": env} | ({"model": model} if model else {})
        return index, run(plugin, sidecar, example, ".", params, namespace=ENVIRONMENTS[env])

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(8)))
    for index, result in results:
        env, model = cases[index]
        assert_success(result)
        assert by_identity(result.objects) == expected(example, env, model), cases[index]


def test_parameters_announcement(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    def announce(app_path: str) -> dict[str, dict[str, Any]]:
        request = AppRequest(repo_dir=example, app_path=app_path)
        found = parameters(plugin, request, sidecar_env=sidecar.env, workdir=sidecar.workdir)
        return {a["name"]: a for a in found}

    at_root = announce(".")
    assert list(at_root) == ["environment", "model", "extra-labels"]
    assert at_root["environment"]["required"] is True
    assert "dev, staging, prod" in at_root["environment"]["tooltip"]
    assert "string" not in at_root["environment"]
    assert "churn-scorer, fraud-detector, support-llm" in at_root["model"]["tooltip"]
    assert at_root["extra-labels"]["collectionType"] == "map"
    in_overlay = announce("overlays/prod")
    assert in_overlay["environment"]["string"] == "prod"
    assert in_overlay["environment"].get("required", False) is False  # Go's omitempty drops false


def test_parameters_fail_on_a_broken_project_file(plugin: PluginConfig, sidecar: Sidecar, example: Path) -> None:
    (example / "mlgitops.yaml").write_text("apiVersion: mlgitops.io/v1alpha1\nkind: Project\n")
    from cmp_harness import CmpError as HarnessError

    with pytest.raises(HarnessError, match=r"mlgitops\.yaml"):
        parameters(plugin, AppRequest(repo_dir=example, app_path="."), sidecar_env=sidecar.env, workdir=sidecar.workdir)


HOT_PATH_PROBE = """
import json, sys
from mlgitops.__main__ import main
code = main(["cmp", sys.argv[1]])
sys.stdout.flush()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""

# Modules the plugin path has no use for (other commands, validation, Git, schema generation).
NOT_ON_THE_HOT_PATH = (
    "mlgitops.gitops.argocd",
    "mlgitops.gitops.flux",
    "mlgitops.layout.tree",
    "mlgitops.delivery.diff",
    "mlgitops.validate",
    "mlgitops.checks.schemas.crd",
    "mlgitops.checks.schemas.kube",
    "mlgitops.language.schema",
    "mlgitops.gitops.scaffold",
    "mlgitops.delivery.git_repo",
    "jsonschema",
    "kubernetes_validate",
    "pydantic.json_schema_extra",
)


@pytest.mark.parametrize("command", ["generate", "parameters"])
def test_hot_path_imports_only_what_it_uses(example: Path, command: str) -> None:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "PARAM_ENVIRONMENT": "dev", "PARAM_MODEL": "fraud-detector"}
    proc = subprocess.run(
        [sys.executable, "-c", HOT_PATH_PROBE, command], cwd=example, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    modules = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert "mlgitops.gitops.cmp" in modules
    assert sorted(m for m in NOT_ON_THE_HOT_PATH if m in modules) == []
    if command == "parameters":
        heavy = {"mlgitops.layout.build", "mlgitops.layout.overlay", "mlgitops.render", "mlgitops.layout.kustomize"}
        assert not heavy & modules
