"""The training run's name and policies (training.name, ttl, concurrencyPolicy, history, imagePullSecrets,
podMetadata), script steps and a step's standard output as its param `result`, csi and ephemeral volumes,
and the step directories that exist when a step starts (issue 25): rendered, checked against the Argo
Workflows CRDs, mapped back to their spec lines, and refused with a position where Argo would not run them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.schemas.crd import SchemaSet, load_crd_schemas
from mlgitops.checks.sourcemap.common import parse_pointer
from mlgitops.checks.sourcemap.dispatch import spec_source
from mlgitops.language.loader import load_workspace
from mlgitops.language.resolve import resolve
from mlgitops.render.model import render_model
from tests.argo_when import should_execute
from tests.checks.test_sourcemap import fields_with_an_existing_source
from tests.conftest import run_cli
from tests.projects import model_yaml, project_yaml, write_project

Obj = dict[str, Any]

# dev removes every schedule (as the bundled example does); the model trains in prod.
PROJECT = project_yaml(
    "dev",
    "prod",
    extra="clusterFeatures:\n  provides: {configMaps: [artifact-repositories], secrets: [registry-creds]}\n",
).replace(
    "{name: dev, namespace: ml-dev}",
    "{name: dev, namespace: ml-dev, allowEmpty: true, defaults: {training: {schedule: null}}}",
)

TRAINING = """\
training:
  name: m-nightly
  environments: [prod]
  image: ghcr.io/acme/train:1.4.2
  schedule: "0 3 * * *"
  concurrencyPolicy: Replace
  history: {successful: 5, failed: 10}
  ttl: {afterCompletion: 48h, afterFailure: 168h}
  imagePullSecrets: [registry-creds]
  podMetadata: {labels: {team: risk}, annotations: {iam.amazonaws.com/role: trainer}}
  steps:
  - name: flip
    script: |
      import random
      print("heads" if random.randint(0, 1) == 0 else "tails")
    stdout: true
  - name: heads
    after: [flip]
    command: [echo, heads]
    when: [{param: result, op: ==, value: heads}]
  - name: use
    after: [flip]
    command: [sh, -c, 'echo $MLGITOPS_PARAM_RESULT > $MLGITOPS_OUTPUT_DIR/model']
    paramInputs: [result]
    outputs: [model]
    volumes:
    - {name: vault, mountPath: /secrets, csi: {driver: secrets-store.csi.k8s.io, readOnly: true,
       volumeAttributes: {secretProviderClass: vault-db}}}
    - {name: scratch, mountPath: /scratch, ephemeral: {storageClass: fast-ssd, size: 100Gi}}
  - name: gen
    image: python:3.12
    command: [python, -u]
    script: "import json, sys; json.dump([1, 2, 3], sys.stdout)"
    stdout: true
  - name: each
    after: [gen]
    command: [sh, -c, 'echo $MLGITOPS_ITEM > $MLGITOPS_PARAMS_DIR/n']
    forEach: {fromStep: gen, output: result}
    params: [n]
"""
MODEL = model_yaml(body=TRAINING)


def project(tmp_path: Path, model: str = MODEL, project_text: str = PROJECT, **others: str) -> Path:
    return write_project(tmp_path / "repo", project_text, {"m": model, **others})


def rendered(root: Path, env: str = "prod") -> tuple[dict[str, Obj], Any]:
    workspace = load_workspace(root)
    resolved = resolve(workspace, workspace.model("m"), env)
    assert resolved is not None
    return {o["kind"]: o for o in render_model(resolved, workspace.project)}, resolved


def templates(workflow: Obj) -> dict[str, Obj]:
    return {t["name"]: t for t in workflow["spec"]["templates"]}


def tasks(workflow: Obj) -> dict[str, Obj]:
    return {t["name"]: t for t in templates(workflow)["pipeline"]["dag"]["tasks"]}


def load_problems(root: Path) -> list[str]:
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stderr.splitlines()


def line_of(text: str, needle: str, after: str | None = None) -> int:
    """The first line holding `needle` (after the first line holding `after`)."""
    lines = text.splitlines()
    start = 0 if after is None else next(i for i, line in enumerate(lines) if after in line)
    return next(i for i, line in enumerate(lines[start:], start + 1) if needle in line)


@pytest.fixture(scope="module")
def schemas(crds_dir: Path) -> SchemaSet:
    return load_crd_schemas(crds_dir)


# --- rendering, against the CRDs ------------------------------------------------------------------


def test_run_policies_render_where_argo_reads_them(tmp_path: Path, schemas: SchemaSet) -> None:
    objects, _ = rendered(project(tmp_path))
    workflow, cron = objects["WorkflowTemplate"], objects["CronWorkflow"]
    for obj in (workflow, cron):
        assert schemas.validate(obj) == [], schemas.validate(obj)
    assert workflow["metadata"]["name"] == cron["metadata"]["name"] == "m-nightly"
    assert cron["spec"]["workflowSpec"] == {"workflowTemplateRef": {"name": "m-nightly"}}
    spec = workflow["spec"]
    assert spec["ttlStrategy"] == {"secondsAfterCompletion": 48 * 3600, "secondsAfterFailure": 168 * 3600}
    assert spec["imagePullSecrets"] == [{"name": "registry-creds"}]
    assert spec["podMetadata"] == {
        "labels": {"team": "risk", "app.kubernetes.io/name": "m", "app.kubernetes.io/component": "training"},
        "annotations": {"iam.amazonaws.com/role": "trainer"},
    }
    assert (cron["spec"]["concurrencyPolicy"], cron["spec"]["successfulJobsHistoryLimit"]) == ("Replace", 5)
    assert cron["spec"]["failedJobsHistoryLimit"] == 10


def test_without_the_fields_the_defaults_stay(tmp_path: Path) -> None:
    plain = model_yaml(
        body="training:\n  image: ghcr.io/acme/train:1\n  schedule: '0 3 * * *'\n"
        "  steps: [{name: a, command: [echo]}]\n"
    )
    objects, _ = rendered(project(tmp_path, plain))
    workflow, cron = objects["WorkflowTemplate"], objects["CronWorkflow"]
    assert workflow["metadata"]["name"] == cron["metadata"]["name"] == "m-train"
    assert workflow["spec"]["ttlStrategy"] == {"secondsAfterSuccess": 86400, "secondsAfterFailure": 604800}
    assert "imagePullSecrets" not in workflow["spec"]
    assert workflow["spec"]["podMetadata"] == {
        "labels": {"app.kubernetes.io/name": "m", "app.kubernetes.io/component": "training"}
    }
    assert [cron["spec"][k] for k in ("concurrencyPolicy", "successfulJobsHistoryLimit", "failedJobsHistoryLimit")] == [
        "Forbid",
        3,
        3,
    ]


def test_ttl_renders_only_what_is_set_so_after_completion_takes_effect(tmp_path: Path) -> None:
    """Argo prefers afterFailure and afterSuccess to afterCompletion (gc_controller.go, `ttl`): mixing the
    defaults into a ttl that sets only afterCompletion would make it dead."""
    model = MODEL.replace("ttl: {afterCompletion: 48h, afterFailure: 168h}", "ttl: {afterCompletion: 10s}")
    objects, _ = rendered(project(tmp_path, model))
    assert objects["WorkflowTemplate"]["spec"]["ttlStrategy"] == {"secondsAfterCompletion": 10}


def test_a_script_step_is_an_argo_script_template(tmp_path: Path) -> None:
    objects, _ = rendered(project(tmp_path))
    by_name = templates(objects["WorkflowTemplate"])
    flip, gen = by_name["flip"], by_name["gen"]
    assert "container" not in flip and flip["script"]["command"] == ["python"]  # the default interpreter
    assert flip["script"]["source"].startswith("import random\n")
    assert flip["script"]["image"] == "ghcr.io/acme/train:1.4.2"
    assert (gen["script"]["image"], gen["script"]["command"]) == ("python:3.12", ["python", "-u"])
    # The script gets what a container step gets: the hardening and the environment.
    assert flip["script"]["securityContext"]["allowPrivilegeEscalation"] is False
    assert {e["name"] for e in flip["script"]["env"]} >= {"MLGITOPS_OUTPUT_DIR", "MLGITOPS_INPUT_DIR"}


def test_stdout_is_the_param_result_later_steps_read(tmp_path: Path) -> None:
    objects, _ = rendered(project(tmp_path))
    by_task = tasks(objects["WorkflowTemplate"])
    assert by_task["use"]["arguments"]["parameters"] == [{"name": "result", "value": "{{tasks.flip.outputs.result}}"}]
    assert by_task["each"]["withParam"] == "{{tasks.gen.outputs.result}}"
    when = by_task["heads"]["when"]
    assert "tasks['flip'].outputs.result" in when
    # Argo captures the output only when the parent template names it (operator.go, hasOutputResultRef, whose
    # two patterns are these), and the `when` holds exactly for the text the script printed.
    assert should_execute(when, {"tasks.flip.outputs.result": "heads"}) is True
    assert should_execute(when, {"tasks.flip.outputs.result": "tails"}) is False


def test_a_step_writes_into_directories_that_exist(tmp_path: Path) -> None:
    """Nothing in an image creates /tmp/mlgitops/outputs, params or metrics: each one a step declares is an
    emptyDir mounted there, and only those."""
    objects, _ = rendered(project(tmp_path))
    by_name = templates(objects["WorkflowTemplate"])

    def dirs(template: Obj) -> dict[str, str]:
        body = template.get("container") or template["script"]
        empty = {v["name"] for v in template.get("volumes", []) if v.get("emptyDir") == {}}
        return {m["name"]: m["mountPath"] for m in body.get("volumeMounts", []) if m["name"] in empty}

    assert dirs(by_name["use"]) == {"mlgitops-outputs": "/tmp/mlgitops/outputs"}
    assert dirs(by_name["each"]) == {"mlgitops-params": "/tmp/mlgitops/params"}
    assert dirs(by_name["heads"]) == {}
    # Every declared output path is inside its mounted directory.
    assert by_name["use"]["outputs"]["artifacts"][0]["path"].startswith("/tmp/mlgitops/outputs/")
    assert by_name["each"]["outputs"]["parameters"][0]["valueFrom"]["path"].startswith("/tmp/mlgitops/params/")


def test_csi_and_ephemeral_volumes(tmp_path: Path, schemas: SchemaSet) -> None:
    objects, _ = rendered(project(tmp_path))
    volumes = {v["name"]: v for v in templates(objects["WorkflowTemplate"])["use"]["volumes"]}
    assert volumes["vault"]["csi"] == {
        "driver": "secrets-store.csi.k8s.io",
        "readOnly": True,
        "volumeAttributes": {"secretProviderClass": "vault-db"},
    }
    assert volumes["scratch"]["ephemeral"] == {
        "volumeClaimTemplate": {
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "fast-ssd",
                "resources": {"requests": {"storage": "100Gi"}},
            }
        }
    }
    # The same volume sources on a served model: the InferenceService's predictor accepts them too.
    serving = (
        "serving:\n  engine: kserve\n  volumes:\n"
        "  - {name: scratch, mountPath: /scratch, ephemeral: {size: 1Gi}}\n"
        "  - {name: vault, mountPath: /v, csi: {driver: secrets-store.csi.k8s.io}}\n"
    )
    served = MODEL.replace("training:\n", serving + "training:\n", 1)
    objects, _ = rendered(project(tmp_path / "served", served))
    isvc = objects["InferenceService"]
    assert schemas.validate(isvc) == []
    kinds = {v["name"]: sorted(set(v) - {"name"}) for v in isvc["spec"]["predictor"]["volumes"]}
    assert kinds["scratch"] == ["ephemeral"] and kinds["vault"] == ["csi"]


def test_the_example_validates_strictly_with_every_new_field(tmp_path: Path, crds_dir: Path) -> None:
    root = project(tmp_path)
    assert run_cli(["render"], cwd=root).exit_code == 0
    result = run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=root)
    assert result.exit_code == 0, result.stdout + result.stderr


# --- training.name: one function names and finds the objects ---------------------------------------


def test_the_name_reaches_the_cache_and_the_training_alert(tmp_path: Path) -> None:
    cached = MODEL.replace("    params: [n]\n", "    params: [n]\n    cache: {maxAge: 1h}\n").replace(
        "    forEach: {fromStep: gen, output: result}\n", ""
    )
    text = PROJECT + "  argoWorkflows: {memoizeCache: true}\n"
    monitored = cached + "monitoring: {alerts: {trainingMaxAgeDays: 3}}\n"
    objects, _ = rendered(project(tmp_path, monitored, text))
    memoize = templates(objects["WorkflowTemplate"])["each"]["memoize"]
    assert memoize["cache"] == {"configMap": {"name": "m-nightly-cache"}}
    rules = [r for g in objects["PrometheusRule"]["spec"]["groups"] for r in g["rules"]]
    expressions = [r["expr"] for r in rules if r.get("alert") == "ModelTrainingNotSucceeded"]
    assert expressions and all('name="m-nightly"' in e and "m-train" not in e for e in expressions)


def test_status_finds_the_runs_of_a_named_template(tmp_path: Path) -> None:
    """`status` selects a model's Workflows by the names of its rendered training objects."""
    from mlgitops.delivery.status.report import last_run

    objects, _ = rendered(project(tmp_path))
    asked: list[str] = []

    class Cluster:
        def resource(self, api_version: str, kind: str) -> str:
            return kind

        def list(self, resource: str, namespace: str, selector: str) -> list[Obj]:
            asked.append(selector)
            if selector == "workflows.argoproj.io/cron-workflow=m-nightly":
                return [{"metadata": {"name": "m-nightly-1", "creationTimestamp": "1"}, "status": {"phase": "Running"}}]
            return []

    training = [objects["WorkflowTemplate"], objects["CronWorkflow"]]
    run = last_run(Cluster(), "ml-prod", training, [])  # type: ignore[arg-type]
    assert run is not None and run["workflow"] == "m-nightly-1"
    assert asked == [
        "workflows.argoproj.io/workflow-template=m-nightly",
        "workflows.argoproj.io/cron-workflow=m-nightly",
    ]


def test_two_models_with_one_training_name_are_refused_at_the_name(tmp_path: Path) -> None:
    other = model_yaml("other", body=TRAINING.replace("name: m-nightly", "name: m-nightly  # taken"))
    root = project(tmp_path, other=other)
    problems = load_problems(root)
    row = line_of(other, "name: m-nightly")
    assert len(problems) == 1 and problems[0].startswith(f"models/other.yaml:{row}:9: environment 'prod':")
    assert "'m-nightly' of model 'other' is also made by model 'm'" in problems[0]


def test_a_training_name_that_is_no_dns_label_or_too_long_for_a_cronworkflow(tmp_path: Path) -> None:
    bad = MODEL.replace("name: m-nightly", "name: M_Nightly")
    assert load_problems(project(tmp_path / "a", bad))[0].startswith(f"models/m.yaml:{line_of(bad, 'M_Nightly')}:9:")
    long = "n" * 53
    scheduled = MODEL.replace("name: m-nightly", f"name: {long}")
    [problem] = load_problems(project(tmp_path / "b", scheduled))
    assert problem.startswith(f"models/m.yaml:{line_of(scheduled, long)}:9: a scheduled model's CronWorkflow")
    assert "at most 52" in problem
    # Without a schedule only the WorkflowTemplate exists, which Argo allows up to 63 characters.
    unscheduled = scheduled.replace('  schedule: "0 3 * * *"\n', "").replace("  concurrencyPolicy: Replace\n", "")
    unscheduled = unscheduled.replace("  history: {successful: 5, failed: 10}\n", "")
    assert run_cli(["render"], cwd=project(tmp_path / "c", unscheduled)).exit_code == 0


# --- positioned refusals -------------------------------------------------------------------------


def test_cron_fields_without_any_schedule_are_refused_at_the_field(tmp_path: Path) -> None:
    model = MODEL.replace('  schedule: "0 3 * * *"\n', "")
    problems = load_problems(project(tmp_path / "a", model))
    assert [p.split(": ")[0] for p in problems] == [
        f"models/m.yaml:{line_of(model, 'concurrencyPolicy')}:3",
        f"models/m.yaml:{line_of(model, 'history:')}:3",
    ]
    assert "exists only with a schedule" in problems[0]
    # A schedule in the one environment where the model trains is enough; dev's default removes it there.
    scheduled_in_prod = model + 'environments:\n  prod: {training: {schedule: "0 4 * * *"}}\n'
    assert run_cli(["render"], cwd=project(tmp_path / "b", scheduled_in_prod)).exit_code == 0
    objects, _ = rendered(tmp_path / "b" / "repo")
    assert objects["CronWorkflow"]["spec"]["concurrencyPolicy"] == "Replace"


@pytest.mark.parametrize(
    ("old", "new", "where", "message"),
    [
        ("ttl: {afterCompletion: 48h, afterFailure: 168h}", "ttl: {}", ("ttl: {}",), "set at least one of"),
        ("afterCompletion: 48h", "afterCompletion: 600000h", ("600000h",), "longer than Argo's ttlStrategy holds"),
        ("history: {successful: 5", "history: {successful: -1", ("successful: -1",), "greater than or equal to 0"),
        ("concurrencyPolicy: Replace", "concurrencyPolicy: Skip", ("Skip",), "'Allow', 'Forbid' or 'Replace'"),
        ("labels: {team: risk}", "labels: {config.kubernetes.io/local-config: 'true'}", ("local-config",),
         "Kustomize interprets"),
        ("annotations: {iam", "annotations: {lineage.mlgitops.io/x: y, iam", ("lineage.mlgitops.io/x",),
         "only mlgitops writes"),
        ("imagePullSecrets: [registry-creds]", "imagePullSecrets: [Registry]", ("Registry",), "Registry"),
        ("    script: |\n", "    args: [-u]\n    script: |\n", ("args: [-u]",), "runs a script"),
        ("  - name: each\n", "  - name: each\n    stdout: true\n", ("stdout: true", "name: each"),
         "Argo fails the loop"),
        ("    params: [n]\n", "    params: [n]\n  - {name: last, command: [echo], stdout: true, params: [result]}\n",
         ("params: [result]",), "name this param otherwise"),
        ("    command: [echo, heads]\n", "", ("- name: heads",), "set command"),
        ("forEach: {fromStep: gen, output: result}", "forEach: {fromStep: flip2, output: result}", ("flip2",),
         "not a step"),
        ("when: [{param: result,", "when: [{param: results,", ("results",), "no step it runs after emits"),
        ("paramInputs: [result]", "paramInputs: [results]", ("results",), "did you mean 'result'"),
        ("csi: {driver: secrets-store.csi.k8s.io", "csi: {driver: -bad", ("-bad",), "CSI driver name"),
        ("size: 100Gi", "size: '0'", ("size: '0'",), "greater than zero"),
        ("{name: scratch, mountPath: /scratch", "{name: scratch, mountPath: /tmp/mlgitops/outputs",
         ("/tmp/mlgitops/outputs,",), "a step writes its outputs there"),
        ("{name: scratch,", "{name: mlgitops-params,", ("mlgitops-params",), "reserved"),
    ],
)  # fmt: skip
def test_refused_with_a_position(tmp_path: Path, old: str, new: str, where: tuple[str, ...], message: str) -> None:
    assert old in MODEL
    model = MODEL.replace(old, new, 1)
    problems = load_problems(project(tmp_path, model))
    row = line_of(model, *where)
    assert any(p.startswith(f"models/m.yaml:{row}:") and message in p for p in problems), (row, problems)


def test_the_on_exit_step_takes_no_stdout(tmp_path: Path) -> None:
    model = MODEL + "  onExit: {name: notify, command: [echo], stdout: true}\n"
    [problem] = load_problems(project(tmp_path, model))
    assert problem.startswith(f"models/m.yaml:{line_of(model, 'onExit')}:") and "takes no stdout" in problem


def test_a_cached_step_may_use_ephemeral_scratch_but_not_a_csi_volume(tmp_path: Path) -> None:
    text = PROJECT + "  argoWorkflows: {memoizeCache: true}\n"
    base = model_yaml(
        body="training:\n  image: ghcr.io/acme/train:1\n  steps:\n"
        "  - {name: a, command: [echo], params: [p], cache: {maxAge: 1h}, volumes: [VOLUME]}\n"
    )
    scratch = base.replace("VOLUME", "{name: s, mountPath: /s, ephemeral: {size: 1Gi}}")
    assert run_cli(["render"], cwd=project(tmp_path / "a", scratch, text)).exit_code == 0
    csi = base.replace("VOLUME", "{name: s, mountPath: /s, csi: {driver: d.example.com}}")
    [problem] = load_problems(project(tmp_path / "b", csi, text))
    assert "volume s" in problem and "memoization key" in problem


def test_a_credential_in_a_script_is_refused(tmp_path: Path) -> None:
    model = MODEL.replace("import random\n", "import random  # s3://key:secret@bucket/x\n")
    [problem] = load_problems(project(tmp_path, model))
    assert problem.startswith(f"models/m.yaml:{line_of(model, 'script: |')}:") and "***" in problem
    assert "secret@" not in problem


# --- the source map ------------------------------------------------------------------------------


def test_every_new_field_maps_to_the_line_a_person_edits(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert fields_with_an_existing_source(root) > 150
    objects, resolved = rendered(root)
    workspace = load_workspace(root)

    def source(kind: str, pointer: str) -> tuple[str | int, ...]:
        obj = objects[kind]
        return spec_source(obj, parse_pointer(obj, pointer), resolved.spec, workspace.project, "prod").path

    names = [t["name"] for t in objects["WorkflowTemplate"]["spec"]["templates"]]
    flip, use, each = names.index("flip"), names.index("use"), names.index("each")
    assert source("WorkflowTemplate", "/metadata/name") == ("training", "name")
    assert source("CronWorkflow", "/metadata/name") == ("training", "name")
    assert source("WorkflowTemplate", "/spec/ttlStrategy/secondsAfterFailure") == ("training", "ttl", "afterFailure")
    assert source("WorkflowTemplate", "/spec/imagePullSecrets/0/name") == ("training", "imagePullSecrets", 0)
    assert source("WorkflowTemplate", "/spec/podMetadata/labels/team") == ("training", "podMetadata", "labels", "team")
    assert source("WorkflowTemplate", "/spec/podMetadata/annotations/iam.amazonaws.com~1role") == (
        "training",
        "podMetadata",
        "annotations",
        "iam.amazonaws.com/role",
    )
    assert source("CronWorkflow", "/spec/concurrencyPolicy") == ("training", "concurrencyPolicy")
    assert source("CronWorkflow", "/spec/failedJobsHistoryLimit") == ("training", "history", "failed")
    assert source("WorkflowTemplate", f"/spec/templates/{flip}/script/source") == ("training", "steps", 0, "script")
    assert source("WorkflowTemplate", f"/spec/templates/{flip}/script/command/0") == ("training", "steps", 0, "script")
    assert source("WorkflowTemplate", f"/spec/templates/{flip}/script/image") == ("training", "image")
    assert source("WorkflowTemplate", f"/spec/templates/{flip}/script/securityContext/runAsNonRoot") == (
        "training",
        "securityContext",
    )
    volumes = [v["name"] for v in objects["WorkflowTemplate"]["spec"]["templates"][use]["volumes"]]
    assert source("WorkflowTemplate", f"/spec/templates/{use}/volumes/{volumes.index('vault')}/csi/driver") == (
        "training",
        "steps",
        2,
        "volumes",
        0,
    )
    outputs_dir = volumes.index("mlgitops-outputs")
    outputs_field = ("training", "steps", 2, "outputs")
    assert source("WorkflowTemplate", f"/spec/templates/{use}/volumes/{outputs_dir}") == outputs_field
    assert source("WorkflowTemplate", f"/spec/templates/{each}/container/volumeMounts/0/mountPath") == (
        "training",
        "steps",
        4,
        "params",
    )
