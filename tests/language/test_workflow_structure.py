"""The training workflow's structure (issue 16): forEach (withItems / withParam) with parallelism,
params between steps, `when` on any step, retry, cache (memoize) and training.onExit; positioned
errors for what Argo cannot run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from mlgitops.util.errors import SpecError
from mlgitops.validate.report import ValidateOptions
from mlgitops.validate.run import load_schema_sources, validate_objects
from tests.argo_when import executor_output, should_execute
from tests.conftest import run_cli, snapshot_tree
from tests.projects import model_yaml, project_yaml

Obj = dict[str, Any]

PROJECT = project_yaml(
    "prod",
    extra="""\
clusterFeatures:
  provides: {configMaps: [artifact-repositories]}
  argoWorkflows: {memoizeCache: true}   # the controller may write the memoization cache (docs/workflows.md)
""",
)

MODEL = model_yaml(
    body="""\
training:
  image: ghcr.io/acme/train:1.4.2
  parameters: {data-uri: "s3://data/m/"}
  steps:
  - name: shard
    command: [python, -m, m.shard]
    params: [shards]
    cache: {maxAge: 24h}
  - name: sweep
    command: [python, -m, m.fit]
    forEach: [{lr: '0.01', depth: '3'}, {lr: '0.1', depth: '5'}]
    parallelism: 2
    params: [score]
    retry: {limit: 3, backoff: {duration: 1m, factor: 3, cap: 20m}, policy: OnTransientError}
  - name: eval-shard
    after: [shard]
    command: [python, -m, m.eval]
    forEach: {fromStep: shard, output: shards}
    params: [acc]
  - name: pick
    after: [sweep, eval-shard]
    command: [python, -m, m.pick]
    paramInputs: [score, acc]
    params: [best-lr]
    metrics: [auc]
    outputs: [model]
  - name: publish
    after: [pick]
    command: [python, -m, m.publish]
    inputs: [model]
    when: [{param: best-lr, op: "!=", value: none}, {metric: auc, op: ">=", value: 0.9}]
    retries: 2
  onExit: {name: notify, command: [python, -m, m.notify]}
"""
)


def project(tmp_path: Path, model: str = MODEL) -> Path:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(PROJECT)
    (root / "models" / "m.yaml").write_text(model)
    return root


def workflow(root: Path) -> Obj:
    workspace = load_workspace(root)
    objs = environment_objects(workspace, "prod", render_models(workspace), with_namespace=False)
    return next(o for o in objs if o["kind"] == "WorkflowTemplate")


def tasks_of(wf: Obj) -> dict[str, Obj]:
    pipeline = next(t for t in wf["spec"]["templates"] if t["name"] == "pipeline")
    return {t["name"]: t for t in pipeline["dag"]["tasks"]}


def templates_of(wf: Obj) -> dict[str, Obj]:
    return {t["name"]: t for t in wf["spec"]["templates"]}


def env_of(template: Obj) -> dict[str, str]:
    return {e["name"]: e["value"] for e in template["container"]["env"]}


@pytest.fixture
def rendered(tmp_path: Path) -> Obj:
    return workflow(project(tmp_path))


def test_the_workflow_passes_the_argo_crd_schema(rendered: Obj, crds_dir: Path) -> None:
    sources = load_schema_sources(ValidateOptions(crds=(crds_dir,)))
    assert [str(f) for f in validate_objects([rendered], sources, environment="prod")] == []


def test_strict_validate_passes(tmp_path: Path, crds_dir: Path) -> None:
    root = project(tmp_path)
    assert run_cli(["render"], cwd=root).exit_code == 0
    result = run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=root)
    assert result.exit_code == 0, result.stdout + result.stderr


# --- forEach -----------------------------------------------------------------------------------------


def test_for_each_over_values_with_parallelism_loops_in_its_own_template(rendered: Obj) -> None:
    task = tasks_of(rendered)["sweep"]
    assert task["template"] == "sweep-loop"
    (items,) = task["arguments"]["parameters"]
    assert items["name"] == "mlgitops-items"
    assert json.loads(items["value"]) == [{"depth": "3", "lr": "0.01"}, {"depth": "5", "lr": "0.1"}]
    loop = templates_of(rendered)["sweep-loop"]
    assert loop["parallelism"] == 2
    assert loop["inputs"] == {"parameters": [{"name": "mlgitops-items"}]}
    (inner,) = loop["dag"]["tasks"]
    assert inner["template"] == "sweep"
    assert inner["withParam"] == "{{inputs.parameters.mlgitops-items}}"
    assert inner["arguments"]["parameters"] == [
        {"name": "mlgitops-item", "value": "{{item}}"},
        {"name": "mlgitops-item-depth", "value": "{{item.depth}}"},
        {"name": "mlgitops-item-lr", "value": "{{item.lr}}"},
    ]
    # The loop's params leave the loop template aggregated, as Argo aggregates a loop's outputs.
    assert loop["outputs"]["parameters"] == [
        {"name": "score", "valueFrom": {"parameter": "{{tasks.sweep.outputs.parameters.score}}"}}
    ]


def test_the_item_reaches_the_container_as_environment_variables(rendered: Obj) -> None:
    sweep = templates_of(rendered)["sweep"]
    assert [p["name"] for p in sweep["inputs"]["parameters"]] == [
        "mlgitops-item",
        "mlgitops-item-depth",
        "mlgitops-item-lr",
    ]
    env = env_of(sweep)
    assert env["MLGITOPS_ITEM"] == "{{inputs.parameters.mlgitops-item}}"
    assert env["MLGITOPS_ITEM_LR"] == "{{inputs.parameters.mlgitops-item-lr}}"
    assert env["MLGITOPS_ITEM_DEPTH"] == "{{inputs.parameters.mlgitops-item-depth}}"
    assert env["MLGITOPS_PARAMS_DIR"] == "/tmp/mlgitops/params"
    assert sweep["outputs"]["parameters"] == [{"name": "score", "valueFrom": {"path": "/tmp/mlgitops/params/score"}}]


def test_for_each_from_a_step_is_with_param_on_the_task(rendered: Obj) -> None:
    task = tasks_of(rendered)["eval-shard"]
    assert task["template"] == "eval-shard"
    assert task["withParam"] == "{{tasks.shard.outputs.parameters.shards}}"
    assert task["depends"] == "shard"
    assert task["arguments"]["parameters"] == [{"name": "mlgitops-item", "value": "{{item}}"}]
    assert "eval-shard-loop" not in templates_of(rendered)


def test_for_each_over_plain_values_is_with_items(tmp_path: Path) -> None:
    loop = "forEach: [{lr: '0.01', depth: '3'}, {lr: '0.1', depth: '5'}]\n    parallelism: 2\n"
    text = MODEL.replace(loop, "forEach: ['0.01', '0.1']\n")
    wf = workflow(project(tmp_path, text))
    task = tasks_of(wf)["sweep"]
    assert task["template"] == "sweep"
    assert task["withItems"] == ["0.01", "0.1"]
    assert task["arguments"]["parameters"] == [{"name": "mlgitops-item", "value": "{{item}}"}]
    assert "MLGITOPS_ITEM_LR" not in env_of(templates_of(wf)["sweep"])


# --- params and when ----------------------------------------------------------------------------------


def test_param_inputs_come_from_the_step_that_writes_them(rendered: Obj) -> None:
    task = tasks_of(rendered)["pick"]
    assert task["arguments"]["parameters"] == [
        {"name": "score", "value": "{{tasks.sweep.outputs.parameters.score}}"},
        {"name": "acc", "value": "{{tasks.eval-shard.outputs.parameters.acc}}"},
    ]
    pick = templates_of(rendered)["pick"]
    assert pick["inputs"]["parameters"] == [{"name": "score"}, {"name": "acc"}]
    env = env_of(pick)
    assert env["MLGITOPS_PARAM_SCORE"] == "{{inputs.parameters.score}}"
    assert env["MLGITOPS_PARAM_ACC"] == "{{inputs.parameters.acc}}"
    assert pick["outputs"]["parameters"] == [
        {"name": "auc", "valueFrom": {"path": "/tmp/mlgitops/metrics/auc"}},
        {"name": "best-lr", "valueFrom": {"path": "/tmp/mlgitops/params/best-lr"}},
    ]


def test_when_is_one_expression_tag_argo_decides_on(rendered: Obj) -> None:
    when = tasks_of(rendered)["publish"]["when"]
    assert when.startswith("{{= ") and when.endswith(" }}")

    def outputs(best_lr: str, auc: str) -> dict[str, str]:
        return {
            "tasks.pick.outputs.parameters.best-lr": executor_output(best_lr),
            "tasks.pick.outputs.parameters.auc": executor_output(auc),
        }

    assert should_execute(when, outputs("0.01\n", "0.95\n")) is True
    assert should_execute(when, outputs("none\n", "0.95")) is False
    assert should_execute(when, outputs("0.1", "8.9e-01")) is False


# --- retry, cache, onExit -------------------------------------------------------------------------------


def test_retry_renders_limit_backoff_and_policy(rendered: Obj) -> None:
    assert templates_of(rendered)["sweep"]["retryStrategy"] == {
        "limit": 3,
        "retryPolicy": "OnTransientError",
        "backoff": {"duration": "1m", "factor": 3, "cap": "20m"},
    }


def test_retries_n_keeps_working_with_argos_default_policy(rendered: Obj) -> None:
    assert templates_of(rendered)["publish"]["retryStrategy"] == {
        "limit": 2,
        "backoff": {"duration": "30s", "factor": 2, "cap": "10m"},
    }


def test_both_retry_forms_are_a_positioned_error(tmp_path: Path) -> None:
    text = MODEL.replace("    parallelism: 2\n", "    parallelism: 2\n    retries: 1\n")
    root = project(tmp_path, text)
    before = snapshot_tree(root)
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1
    assert re.match(r"models/m\.yaml:\d+:\d+: .*set either retry: \{limit, backoff, policy\} or retries", result.stderr)
    assert snapshot_tree(root) == before


def test_cache_is_memoize_with_a_hashed_key(rendered: Obj) -> None:
    memoize = templates_of(rendered)["shard"]["memoize"]
    assert memoize["maxAge"] == "24h"
    assert memoize["cache"] == {"configMap": {"name": "m-train-cache"}}
    key = memoize["key"]
    assert re.fullmatch(
        r"\{\{= sprig\.sha256sum\(toJson\(\['[0-9a-f]{16}', workflow\.parameters\['data-uri'\]\]\)\) \}\}", key
    ), key


def test_the_cache_key_changes_with_the_step_definition(tmp_path: Path) -> None:
    first = templates_of(workflow(project(tmp_path / "a")))["shard"]["memoize"]["key"]
    changed = MODEL.replace("command: [python, -m, m.shard]", "command: [python, -m, m.shard, --v2]")
    second = templates_of(workflow(project(tmp_path / "b", changed)))["shard"]["memoize"]["key"]
    assert first != second


def test_on_exit_runs_a_template_with_the_workflow_status(rendered: Obj) -> None:
    assert rendered["spec"]["onExit"] == "notify"
    notify = templates_of(rendered)["notify"]
    assert notify["container"]["command"] == ["python", "-m", "m.notify"]
    assert env_of(notify)["MLGITOPS_WORKFLOW_STATUS"] == "{{workflow.status}}"
    assert "notify" not in tasks_of(rendered)


# --- what cannot work -------------------------------------------------------------------------------------


def problems(root: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_workspace(root)
    return [str(p) for p in err.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "forEach: {fromStep: shard, output: shards}",
            "forEach: {fromStep: shrad, output: shards}",
            "fromStep: shrad",
            "forEach of step 'eval-shard' reads from 'shrad', which is not a step (did you mean 'shard'?)",
        ),
        (
            "forEach: {fromStep: shard, output: shards}",
            "forEach: {fromStep: shard, output: shard}",
            "output: shard}",
            "step 'shard' writes no param 'shard' (did you mean 'shards'?)",
        ),
        (
            "    after: [shard]\n    command: [python, -m, m.eval]",
            "    command: [python, -m, m.eval]",
            "fromStep: shard",
            "step 'eval-shard' loops over an output of 'shard' but does not run after it",
        ),
        (
            "    params: [score]\n",
            "    params: [score]\n    outputs: [weights]\n",
            "inputs: [model]",
            None,
        ),
        (
            "    paramInputs: [score, acc]\n",
            "    paramInputs: [score, acc]\n    inputs: [weights]\n",
            "inputs: [weights]",
            "step 'pick' takes artifact 'weights' from step 'sweep', which runs once per forEach item",
        ),
        (
            "when: [{param: best-lr",
            "when: [{param: score, op: '>', value: 1}, {param: best-lr",
            "when: [{param: score",
            "param 'score' comes from step 'sweep', which runs once per forEach item",
        ),
        (
            "paramInputs: [score, acc]",
            "paramInputs: [score, acc, accuracy]",
            "paramInputs: [score, acc, accuracy]",
            "step 'pick' reads param 'accuracy', which no step it runs after writes",
        ),
    ],
)
def test_positioned_errors(tmp_path: Path, old: str, new: str, needle: str, message: str | None) -> None:
    assert old in MODEL
    text = MODEL.replace(old, new, 1)
    if message is None:  # a fanned-out step may output artifacts; only a consumer is refused
        workflow(project(tmp_path, text))
        return
    if "inputs: [weights]" in new:
        text = text.replace("    params: [score]\n", "    params: [score]\n    outputs: [weights]\n", 1)
    found = problems(project(tmp_path, text))
    line = line_of(text, needle)
    assert any(p.startswith(f"models/m.yaml:{line}:") and message in p for p in found), found


def test_cache_on_a_step_with_artifact_inputs_is_refused(tmp_path: Path) -> None:
    text = MODEL.replace("    retries: 2\n", "    retries: 2\n    cache: {maxAge: 1h}\n")
    (found,) = problems(project(tmp_path, text))
    assert found.startswith(f"models/m.yaml:{line_of(text, 'cache: {maxAge: 1h}')}:")
    assert "step 'publish' takes artifacts, whose contents cannot be part of Argo's memoization key" in found


def test_on_exit_takes_no_dependencies(tmp_path: Path) -> None:
    text = MODEL.replace("onExit: {name: notify,", "onExit: {name: notify, after: [pick],")
    (found,) = problems(project(tmp_path, text))
    assert "the onExit step runs once when the workflow ends" in found
    assert "takes no after" in found


# --- source map ----------------------------------------------------------------------------------------


def test_every_new_rendered_field_maps_to_the_spec_field_it_came_from(tmp_path: Path) -> None:
    from mlgitops.checks.sourcemap.common import parse_pointer
    from mlgitops.checks.sourcemap.dispatch import spec_source
    from mlgitops.language.resolve import resolve
    from mlgitops.render.model import render_model
    from tests.checks.test_sourcemap import _MISSING, _leaves, _lookup

    workspace = load_workspace(project(tmp_path))
    (model,) = workspace.models
    resolved = resolve(workspace, model, "prod")
    assert resolved is not None
    spec_data = resolved.spec.model_dump(by_alias=True)
    wf = next(o for o in render_model(resolved, workspace.project) if o["kind"] == "WorkflowTemplate")
    for path in _leaves(wf):
        source = spec_source(wf, path, resolved.spec, workspace.project, "prod")
        assert _lookup(spec_data, source.path) is not _MISSING, (path, source)

    names = [t["name"] for t in wf["spec"]["templates"]]
    tasks = [t["name"] for t in wf["spec"]["templates"][0]["dag"]["tasks"]]

    def source(pointer: str) -> tuple[str | int, ...]:
        return spec_source(wf, parse_pointer(wf, pointer), resolved.spec, workspace.project, "prod").path

    steps = [s.name for s in resolved.spec.training.steps]  # type: ignore[union-attr]
    task = {name: tasks.index(name) for name in tasks}
    template = {name: names.index(name) for name in names}
    assert source(f"/spec/templates/0/dag/tasks/{task['publish']}/when") == ("training", "steps", 4, "when")
    assert source(f"/spec/templates/0/dag/tasks/{task['eval-shard']}/withParam") == ("training", "steps", 2, "forEach")
    assert source(f"/spec/templates/0/dag/tasks/{task['pick']}/arguments/parameters/0/value") == (
        "training",
        "steps",
        3,
        "paramInputs",
    )
    assert source(f"/spec/templates/{template['sweep-loop']}/parallelism") == ("training", "steps", 1, "parallelism")
    assert source(f"/spec/templates/{template['shard']}/memoize/maxAge") == ("training", "steps", 0, "cache")
    assert source(f"/spec/templates/{template['sweep']}/retryStrategy/limit") == ("training", "steps", 1, "retry")
    assert source(f"/spec/templates/{template['pick']}/outputs/parameters/1/name") == ("training", "steps", 3, "params")
    assert source("/spec/onExit") == ("training", "onExit")
    assert source(f"/spec/templates/{template['notify']}/container/command/0") == ("training", "onExit", "command", 0)
    assert steps[1] == "sweep"


# --- diff ML summary ------------------------------------------------------------------------------------


def _spec(text: str) -> Any:
    import yaml

    from mlgitops.language.model import Model

    return Model.model_validate(yaml.safe_load(text))


def test_diff_summary_names_for_each_when_and_on_exit_changes() -> None:
    from mlgitops.delivery.diff.summary import _model_summary

    old = _spec(MODEL)
    new = _spec(
        MODEL.replace(
            "forEach: [{lr: '0.01', depth: '3'}, {lr: '0.1', depth: '5'}]", "forEach: [{lr: '0.01', depth: '3'}]"
        )
        .replace("value: 0.9}]", "value: 0.92}]")
        .replace("  onExit: {name: notify, command: [python, -m, m.notify]}\n", "")
    )
    summary, changes = _model_summary(old, new)
    assert "step sweep forEach 2 items (2 at a time) → 1 items (2 at a time)" in summary
    assert "step publish when 'best-lr != none and auc >= 0.9' → 'best-lr != none and auc >= 0.92'" in summary
    assert "onExit notify → none" in summary
    assert "\n" not in summary
    assert {c.field for c in changes} >= {"step sweep forEach", "step publish when", "onExit"}
    unchanged, _ = _model_summary(old, _spec(MODEL))
    assert "forEach" not in unchanged and "when" not in unchanged
    # Renaming the training objects (what other systems find them by) is named, once, with both names.
    renamed, changes = _model_summary(old, _spec(MODEL.replace("training:\n", "training:\n  name: m-nightly\n", 1)))
    assert renamed == "training name m-train → m-nightly", renamed
    assert [c.field for c in changes] == ["training name"]


def test_reading_outputs_of_a_step_that_may_be_skipped_needs_the_same_when(tmp_path: Path) -> None:
    # `pick` runs only when a param holds; `publish` reads its model and metrics.
    gated = MODEL.replace(
        "    paramInputs: [score, acc]\n",
        "    paramInputs: [score, acc]\n    when: [{param: shards, op: '!=', value: '[]'}]\n",
    ).replace("    after: [sweep, eval-shard]\n", "    after: [sweep, eval-shard, shard]\n")
    found = problems(project(tmp_path / "a", gated))
    assert any(
        p.startswith(f"models/m.yaml:{line_of(gated, 'inputs: [model]')}:")
        and "reads an output of step 'pick', which is skipped unless its when holds" in p
        for p in found
    ), found
    same = gated.replace(
        "    when: [{param: best-lr",
        "    after: [pick, shard]\n    when: [{param: shards, op: '!=', value: '[]'}, {param: best-lr",
    ).replace("    after: [pick]\n", "")
    workflow(project(tmp_path / "b", same))  # the reader repeats the condition: accepted


def test_a_when_text_value_cannot_end_the_expression_tag(tmp_path: Path) -> None:
    root = project(tmp_path, MODEL.replace("value: none}", "value: 'a}}b'}"))
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1
    assert re.match(r"models/m\.yaml:\d+:\d+: .*may not contain '\{\{' or '\}\}'", result.stderr), result.stderr
