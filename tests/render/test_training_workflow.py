"""Argo Workflows training that works on a real controller (issue 10, items 9-12).

* retries are bounded by each attempt's own timeout, never by a `backoff.maxDuration` counted from the
  first attempt; Argo's default retryPolicy unless the spec picks one;
* gates are one expr tag whose result govaluate reads (checked with tests/argo_when.py, a model of
  Argo's `when` handling), for thresholds and metric files in any number format;
* a gate that does not hold fails the Workflow through a `reject` task naming the gate, the value and
  the threshold;
* a model trains in one environment by default, and `validate` warns when it trains on a schedule in
  more than one.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.gates import expr_number, fixed_point
from mlgitops.render.pipeline import render_models
from mlgitops.util.errors import SpecError
from mlgitops.validate.report import ValidateOptions
from mlgitops.validate.run import load_schema_sources, validate_objects
from tests.argo_when import (
    ENV_FUNCTIONS,
    ArgoError,
    evaluate,
    executor_output,
    functions_called,
    resolve_when,
    should_execute,
)
from tests.conftest import REPO, finding_lines, run_cli
from tests.projects import model_yaml, project_yaml

Obj = dict[str, Any]

PROJECT = project_yaml("dev", "staging", "prod")

MODEL = model_yaml(
    body="""\
serving:
  replicas: {min: 1, max: 2}
  resources: {requests: {cpu: "1", memory: 1Gi}, limits: {cpu: "2", memory: 2Gi}}
training:
  image: ghcr.io/acme/train:1.4.2
  schedule: "0 3 * * 1"
  steps:
  - {name: fit, command: [python, -m, m.fit], outputs: [model], retries: 2, timeout: 4h}
  - {name: score-it, after: [fit], command: [python, -m, m.score], inputs: [model], metrics: [val-loss, auc]}
  gates:
  - {metric: val-loss, op: "<", value: 0.00005}
  - {metric: auc, op: ">=", value: 0.92}
"""
)


pytestmark = pytest.mark.usefixtures("private_validate_cache")


def project(tmp_path: Path, model: str = MODEL, project_text: str = PROJECT) -> Path:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(project_text)
    (root / "models" / "m.yaml").write_text(model)
    return root


def env_objects(root: Path, env: str) -> list[Obj]:
    workspace = load_workspace(root)
    return environment_objects(workspace, env, render_models(workspace), with_namespace=False)


def template_in(root: Path, env: str = "prod") -> Obj:
    return next(o for o in env_objects(root, env) if o["kind"] == "WorkflowTemplate")


def tasks_of(template: Obj) -> dict[str, Obj]:
    pipeline = next(t for t in template["spec"]["templates"] if t["name"] == "pipeline")
    return {t["name"]: t for t in pipeline["dag"]["tasks"]}


def templates_of(template: Obj) -> dict[str, Obj]:
    return {t["name"]: t for t in template["spec"]["templates"]}


def schema_findings(objects: list[Obj], crds_dir: Path) -> list[str]:
    sources = load_schema_sources(ValidateOptions(crds=(crds_dir,)))
    return [str(f) for f in validate_objects(objects, sources, environment="prod")]


def metrics(step: str, **values: str) -> dict[str, str]:
    """The parameters Argo has once step `step` wrote these metric files."""
    return {f"tasks.{step}.outputs.parameters.{k.replace('_', '-')}": executor_output(v) for k, v in values.items()}


# --- item 9: retries ---------------------------------------------------------------------------------


def test_retries_are_bounded_by_the_step_timeout_not_a_max_duration(tmp_path: Path, crds_dir: Path) -> None:
    template = template_in(project(tmp_path))
    fit = templates_of(template)["fit"]
    # Before: backoff.maxDuration 30m from the first attempt's start, and retryPolicy Always.
    assert fit["retryStrategy"] == {"limit": 2, "backoff": {"duration": "30s", "factor": 2, "cap": "10m"}}
    assert fit["timeout"] == "4h"  # per attempt: each retry is its own pod node with its own start
    assert schema_findings([template], crds_dir) == []


def test_retry_policy_is_argos_default_unless_the_spec_chooses(tmp_path: Path, crds_dir: Path) -> None:
    root = project(tmp_path, MODEL.replace("retries: 2,", "retries: 2, retryPolicy: OnTransientError,"))
    template = template_in(root)
    assert templates_of(template)["fit"]["retryStrategy"]["retryPolicy"] == "OnTransientError"
    assert schema_findings([template], crds_dir) == []


def test_an_unknown_retry_policy_is_a_positioned_error(tmp_path: Path) -> None:
    root = project(tmp_path, MODEL.replace("retries: 2,", "retries: 2, retryPolicy: Sometimes,"))
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1
    line = MODEL.splitlines().index(next(s for s in MODEL.splitlines() if "name: fit" in s)) + 1
    assert result.stderr.startswith(f"models/m.yaml:{line}:")
    assert "retryPolicy" in result.stderr and "Traceback" not in result.stderr


# --- item 10: gate expressions -------------------------------------------------------------------------


def test_thresholds_are_fixed_point_expr_literals() -> None:
    cases = {0.00005: "0.00005", 1e-7: "0.0000001", 1e21: "1000000000000000000000", -0.5: "-0.5", 50.0: "50"}
    for value, text in cases.items():
        assert fixed_point(value) == text
        assert float(fixed_point(value)) == value  # reads back exactly
    assert expr_number(50.0) == "50.0"  # expr reads `50` as int64; `1e21` as int64 would not parse
    assert expr_number(1e21) == "1000000000000000000000.0"
    assert evaluate(expr_number(1e21), {}) == 1e21


def test_the_old_when_errors_in_argo_and_the_new_one_evaluates(tmp_path: Path) -> None:
    old = "{{tasks.score-it.outputs.parameters.val-loss}} < 5e-05 && {{tasks.score-it.outputs.parameters.auc}} >= 0.92"
    with pytest.raises(ArgoError, match="Cannot transition token types from NUMERIC"):
        should_execute(old, metrics("score-it", val_loss="0.00001", auc="0.95"))
    with pytest.raises(ArgoError):  # a metric file written as 1e-05 broke even a fixed-point threshold
        should_execute(
            "{{tasks.score-it.outputs.parameters.val-loss}} < 0.00005",
            metrics("score-it", val_loss="1e-05\n"),
        )
    when = tasks_of(template_in(project(tmp_path)))["register"]["when"]
    assert when.startswith("{{=") and when.endswith("}}") and when.count("{{") == 1  # one expr tag
    assert resolve_when(when, metrics("score-it", val_loss="1e-05\n", auc="0.95\n")) == "true"
    assert should_execute(when, metrics("score-it", val_loss="1e-05\n", auc="0.95\n")) is True


@pytest.mark.parametrize(
    ("op", "threshold", "holds", "fails"),
    [
        ("<", 0.00005, ["1e-05", "0.00001\n", " 4.9e-5 \n", "-3"], ["5e-05", "0.00005", "0.1"]),
        (">=", 1e-7, ["1e-7", "0.0000001", "1E-6\n"], ["9.9e-8", "0", "-1e-7"]),
        (">", 1e21, ["1.5e21", "2000000000000000000000"], ["1e21", "999999999999999999999"]),
        ("<=", -0.5, ["-0.5", "-5e-1", "-12"], ["-0.49", "0", "5e-1"]),
        ("==", 50, ["50", "50.0", "5e1\n", "  50\t\n"], ["50.5", "49"]),
        ("!=", 0, ["1", "-1e-300"], ["0", "0.0", "-0", "0e10"]),
    ],
)
def test_gates_hold_for_numbers_in_any_format(
    tmp_path: Path, op: str, threshold: float, holds: list[str], fails: list[str]
) -> None:
    model = MODEL.replace(
        '  - {metric: val-loss, op: "<", value: 0.00005}\n  - {metric: auc, op: ">=", value: 0.92}\n',
        f'  - {{metric: auc, op: "{op}", value: {threshold!r}}}\n',
    )
    tasks = tasks_of(template_in(project(tmp_path, model)))
    register, reject = tasks["register"]["when"], tasks["reject"]["when"]
    for text in holds + fails:
        params = metrics("score-it", auc=text, val_loss="0")
        expected = text in holds
        assert should_execute(register, params) is expected, text
        assert should_execute(reject, params) is (not expected), text  # exactly one of them runs


def test_a_metric_that_does_not_parse_errors_instead_of_registering(tmp_path: Path) -> None:
    tasks = tasks_of(template_in(project(tmp_path)))
    for text in ("n/a", "0.9 0.8", "1_000", ""):
        params = metrics("score-it", val_loss=text, auc="0.95")
        with pytest.raises(ArgoError, match="float"):
            should_execute(tasks["register"]["when"], params)
        with pytest.raises(ArgoError, match="float"):
            should_execute(tasks["reject"]["when"], params)


def test_expressions_use_only_functions_argo_defines(tmp_path: Path) -> None:
    tasks = tasks_of(template_in(project(tmp_path)))
    expressions = [tasks["register"]["when"], tasks["reject"]["when"], tasks["reject"]["arguments"]["parameters"][0]]
    for item in expressions:
        text = item["value"] if isinstance(item, dict) else item
        called = functions_called(text[3:-2])
        # asFloat: util/expr/env/env.go; trim: an expr builtin (expr-lang/expr builtin/builtin.go).
        assert called == {"asFloat", "trim"}
        assert called - {"trim"} <= ENV_FUNCTIONS


# --- item 11: a gate that does not hold fails the Workflow ------------------------------------------


def test_a_failing_gate_runs_reject_with_the_gate_value_and_threshold(tmp_path: Path, crds_dir: Path) -> None:
    template = template_in(project(tmp_path))
    tasks, templates = tasks_of(template), templates_of(template)
    register, reject = tasks["register"], tasks["reject"]
    assert register["depends"] == reject["depends"] == "score-it"
    params = metrics("score-it", val_loss="2e-4\n", auc="0.95")
    assert should_execute(register["when"], params) is False  # Skipped ...
    assert should_execute(reject["when"], params) is True  # ... and reject runs and fails
    message_tag = reject["arguments"]["parameters"][0]["value"]
    message = resolve_when(message_tag, params)
    assert message == "gate val-loss < 0.00005 does not hold (val-loss = 2e-4)"
    both = metrics("score-it", val_loss="0.1", auc=" 0.5\n")
    assert resolve_when(message_tag, both) == (
        "gate val-loss < 0.00005 does not hold (val-loss = 0.1); gate auc >= 0.92 does not hold (auc = 0.5)"
    )
    # The reject container prints the message and exits non-zero: the node, the DAG and the Workflow fail.
    container = templates["reject"]["container"]
    assert container["image"] == "ghcr.io/acme/train:1.4.2"  # no extra image to pull
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"  # the log tail is the node message
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"MLGITOPS_GATES_FAILED": "{{inputs.parameters.message}}"}
    ran = subprocess.run(
        container["command"], env={"MLGITOPS_GATES_FAILED": message}, capture_output=True, text=True, check=False
    )
    assert (ran.returncode, ran.stdout, ran.stderr) == (1, "", message + "\n")
    assert schema_findings([template], crds_dir) == []


def test_register_and_reject_names_are_reserved(tmp_path: Path) -> None:
    root = project(tmp_path, MODEL.replace("name: score-it", "name: reject"))
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1
    assert "step name 'reject' is reserved" in result.stderr
    assert result.stderr.startswith("models/m.yaml:13:")


def test_a_threshold_that_is_not_finite_is_a_positioned_error(tmp_path: Path) -> None:
    root = project(tmp_path, MODEL.replace("value: 0.92", "value: .inf"))
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1
    assert result.stderr == "models/m.yaml:16:36: training.gates[1].value: Input should be a finite number\n"


# --- item 12: where training runs -----------------------------------------------------------------


def kinds_per_env(root: Path) -> dict[str, set[str]]:
    return {env: {o["kind"] for o in env_objects(root, env)} for env in ("dev", "staging", "prod")}


def test_training_renders_only_in_the_last_environment_by_default(tmp_path: Path) -> None:
    kinds = kinds_per_env(project(tmp_path))
    assert kinds["prod"] == {"InferenceService", "WorkflowTemplate", "CronWorkflow"}
    assert kinds["dev"] == kinds["staging"] == {"InferenceService"}


def test_project_and_model_choose_where_training_runs(tmp_path: Path) -> None:
    chosen = PROJECT + "training: {environments: [staging]}\n"
    kinds = kinds_per_env(project(tmp_path / "a", project_text=chosen))
    assert [env for env, k in kinds.items() if "WorkflowTemplate" in k] == ["staging"]
    own = MODEL.replace("  schedule:", "  environments: [dev, prod]\n  schedule:")
    kinds = kinds_per_env(project(tmp_path / "b", own, chosen))
    assert [env for env, k in kinds.items() if "CronWorkflow" in k] == ["dev", "prod"]


def test_unknown_or_per_environment_training_environments_are_positioned_errors(tmp_path: Path) -> None:
    root = project(tmp_path / "a", project_text=PROJECT + "training: {environments: [prd]}\n")
    with pytest.raises(SpecError) as error:
        load_workspace(root)
    assert [str(p) for p in error.value.problems] == [
        "mlgitops.yaml:9:27: unknown environment 'prd' (did you mean 'prod'?); the project has dev, staging, prod"
    ]
    patched = MODEL + "environments:\n  staging: {training: {environments: [staging]}}\n"
    with pytest.raises(SpecError) as error:
        load_workspace(project(tmp_path / "b", patched))
    assert len(error.value.problems) == 1
    assert str(error.value.problems[0]).startswith("models/m.yaml:18:24: training.environments says which")


def test_a_model_disabled_wherever_it_trains_is_a_positioned_error(tmp_path: Path) -> None:
    root = project(tmp_path, MODEL + "environments:\n  prod: {enabled: false}\n")
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1
    assert result.stderr == (
        "models/m.yaml:8:1: m trains only in prod, where it is disabled, so it never trains; "
        "set training.environments\n"
    )


def test_validate_warns_when_a_model_trains_on_a_schedule_in_two_environments(tmp_path: Path, crds_dir: Path) -> None:
    model = MODEL.replace("  schedule:", "  environments: [staging, prod]\n  schedule:")
    provided = PROJECT + "clusterFeatures: {provides: {configMaps: [artifact-repositories]}}\n"
    root = project(tmp_path, model, provided)
    result = run_cli(["validate", "--crds", str(crds_dir), "--format", "json"], cwd=root)
    found = [line for line in finding_lines(result.stdout) if "[training-environments]" in line]
    assert found == [
        f"warning [training-environments] {env} CronWorkflow/m-train /spec/schedules: m trains on a schedule in "
        "staging, prod: the same job runs in each and each registers its own versions; train in one environment "
        "(training.environments) and promote the version it registers through Git (models/m.yaml:11:13)"
        for env in ("staging", "prod")
    ]
    assert result.exit_code == 0
    assert run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=root).exit_code == 1
    # A schedule in one environment only (the other trains on demand) is fine.
    quiet = model + "environments:\n  staging: {training: {schedule: null}}\n"
    (root / "models" / "m.yaml").write_text(quiet)
    result = run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=root)
    assert "[training-environments]" not in result.stdout
    assert result.exit_code == 0, result.stdout


def test_the_bundled_example_trains_in_prod_only_and_validates_strictly(crds_dir: Path) -> None:
    kinds = kinds_per_env(REPO)
    assert {"WorkflowTemplate", "CronWorkflow"} <= kinds["prod"]
    assert not {"WorkflowTemplate", "CronWorkflow"} & (kinds["dev"] | kinds["staging"])
    result = run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=REPO)
    assert result.exit_code == 0, result.stdout
    for name in ("fraud-detector", "support-llm"):
        template = next(
            o
            for o in env_objects(REPO, "prod")
            if o["kind"] == "WorkflowTemplate" and o["metadata"]["name"] == f"{name}-train"
        )
        for spec_template in template["spec"]["templates"]:
            assert "maxDuration" not in spec_template.get("retryStrategy", {}).get("backoff", {})
        assert {"register", "reject"} <= set(tasks_of(template))


# --- validate catches the classes in hand-written Argo objects (base/platform) ----------------------

OLD_STYLE = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "WorkflowTemplate",
    "metadata": {"name": "legacy-train"},
    "spec": {
        "entrypoint": "pipeline",
        "templates": [
            {
                "name": "pipeline",
                "dag": {
                    "tasks": [
                        {"name": "fit", "template": "fit"},
                        {
                            "name": "register",
                            "template": "fit",
                            "depends": "fit",
                            "when": "{{tasks.fit.outputs.parameters.loss}} < 0.0001",
                        },
                        {"name": "again", "template": "fit", "depends": "fit", "when": "{{workflow.name}} != 5e-05"},
                        {
                            "name": "fine",
                            "template": "fit",
                            "depends": "fit",
                            "when": "{{= asFloat(tasks['fit'].outputs.parameters['loss']) < 0.0001 }}",
                        },
                    ]
                },
            },
            {
                "name": "fit",
                "retryStrategy": {"limit": 2, "backoff": {"duration": "30s", "maxDuration": "30m"}},
                "timeout": "4h",
                "container": {"image": "ghcr.io/acme/t:1.0", "command": ["true"]},
            },
        ],
    },
}


def test_validate_flags_plain_when_comparisons_and_short_max_durations(tmp_path: Path, crds_dir: Path) -> None:
    workspace = load_workspace(project(tmp_path))
    sources = load_schema_sources(ValidateOptions(crds=(crds_dir,)))
    found = validate_objects([OLD_STYLE], sources, environment="prod", project=workspace.project)
    by_path = {(f.check, f.path): f for f in found if f.check in ("argo-when", "retry-max-duration")}
    assert set(by_path) == {
        ("argo-when", "/spec/templates/0/dag/tasks/1/when"),
        ("argo-when", "/spec/templates/0/dag/tasks/2/when"),
        ("retry-max-duration", "/spec/templates/1/retryStrategy/backoff/maxDuration"),
    }
    assert "exponent form" in by_path[("argo-when", "/spec/templates/0/dag/tasks/2/when")].message
    assert "asFloat" in by_path[("argo-when", "/spec/templates/0/dag/tasks/1/when")].message
    retry = by_path[("retry-max-duration", "/spec/templates/1/retryStrategy/backoff/maxDuration")]
    assert retry.severity == "warning" and "shorter than 3 attempts of timeout 4h" in retry.message
    # What mlgitops renders passes both.
    rendered = template_in(project(tmp_path / "b"))
    assert [f for f in validate_objects([rendered], sources, project=workspace.project) if f.check != "no-schema"] == []


@pytest.mark.parametrize(("text", "seconds"), [("30m", 1800.0), ("1h30m", 5400.0), ("90", 90.0), ("2.5s", 2.5)])
def test_argo_durations(text: str, seconds: float) -> None:
    from mlgitops.checks.argo_checks import argo_duration_seconds

    assert argo_duration_seconds(text) == seconds
