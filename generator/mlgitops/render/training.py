"""`training` → an Argo WorkflowTemplate (and a CronWorkflow when scheduled), both named
`training.name`, by default `<model>-train` (language/training.py, `training_name`).

Steps become one container template each (a `script` template for a step with `script`), wired as a
DAG (`depends` from `after`); artifacts pass between steps by name; metric steps write one file per
metric, read back as output parameters; a `register` task runs only when every gate holds. Argo CD
cannot apply `generateName` objects, so scheduled runs are a CronWorkflow that references the
template, never a bare Workflow.

The directories a step writes (`/tmp/mlgitops/outputs`, `params`, `metrics`) exist when its code
starts: each one the step declares is an emptyDir mounted there (nothing in an image creates them,
and a read-only root could not). A script step's interpreter is its `command` (default `[python]`);
Argo runs `command + [the script's file]` (`workflow/controller/operator.go` appends
`/argo/staging/script`). Run policies: `ttlStrategy` (training.ttl, or 24h after success and 168h
after failure), the CronWorkflow's `concurrencyPolicy` and history limits, `imagePullSecrets` and
`podMetadata` for every pod of the workflow.

Source map (object path → spec line): checks/sourcemap/training.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlgitops.language.containers import EnvValue
from mlgitops.language.fields import duration_seconds
from mlgitops.language.node_classes import step_node_class
from mlgitops.language.project import Project
from mlgitops.language.resolve import ResolvedModel, default_register_command
from mlgitops.language.stepgraph import input_producers
from mlgitops.language.training import DEFAULT_INTERPRETER, Step, Training, training_name
from mlgitops.render import workflow_parts as structure
from mlgitops.render.common import gpu_placement, metadata, resources, standard_labels, workflow_annotations
from mlgitops.render.containers import add_contents, env_list
from mlgitops.render.gates import all_hold, failure_message
from mlgitops.render.lineage import data_parameters
from mlgitops.render.pods import harden_template, pod_security_context, step_hardening, step_shared_memory
from mlgitops.util.kubenames import Obj

WORK_DIR = "/tmp/mlgitops"
INPUT_DIR = f"{WORK_DIR}/inputs"
OUTPUT_DIR = f"{WORK_DIR}/outputs"
METRICS_DIR = f"{WORK_DIR}/metrics"
SUCCEEDED_TTL_S = 24 * 3600
FAILED_TTL_S = 7 * 24 * 3600
# The directories a step declares, each an emptyDir of its own: (spec field, volume name, mount path).
STEP_DIRS = (
    ("outputs", "mlgitops-outputs", OUTPUT_DIR),
    ("params", "mlgitops-params", structure.PARAMS_DIR),
    ("metrics", "mlgitops-metrics", METRICS_DIR),
)
DEFAULT_HISTORY = 3


def retry_strategy(step: Step) -> Obj:
    """`retryStrategy` for a step with `retry` (or the older `retries: N`), bounded by the step's own `timeout`.

    No `backoff.maxDuration`: Argo measures it from the FIRST attempt's start and also caps every
    retry pod's deadline with it (argoproj/argo-workflows v4.1 `workflow/controller/operator.go`,
    `processNodeRetries`: `firstChildNode.StartedAt.Add(maxDuration)` becomes `executionDeadline`;
    `workflow/controller/workflowpod.go`, `getDeadline`), so a fixed 30m made a 4 h step that fails
    unretryable and killed any retry at the 30-minute mark. Without it, each attempt is its own pod
    node whose `timeout` counts from that attempt's start (`checkTemplateTimeouts` on the attempt's
    node), so a step runs at most (retries + 1) × timeout plus the backoff, and the workflow's
    `activeDeadlineSeconds` (training.timeout) still bounds the whole run (`processNodeRetries`
    stops retrying past the workflow deadline).

    `retryPolicy` is rendered only when the spec chooses one: Argo's default is `OnFailure`, which
    retries a failed main container (crash, OOM kill, timeout) but not an Error of Argo's own
    (`RetryPolicyActual` in `pkg/apis/workflow/v1alpha1/workflow_types.go`; `docs/retries.md`).
    """
    retry = step.retry_strategy
    assert retry is not None
    strategy: Obj = {"limit": retry.limit}
    if retry.policy is not None:
        strategy["retryPolicy"] = retry.policy
    backoff = retry.backoff
    strategy["backoff"] = {"duration": backoff.duration, "factor": backoff.factor, "cap": backoff.cap}
    return strategy


def _env(training: Training, step_env: Mapping[str, EnvValue]) -> list[Obj]:
    env: dict[str, EnvValue] = {
        "MLGITOPS_INPUT_DIR": INPUT_DIR,
        "MLGITOPS_OUTPUT_DIR": OUTPUT_DIR,
        "MLGITOPS_METRICS_DIR": METRICS_DIR,
    }
    for name in training.parameters:
        env[name.upper().replace("-", "_").replace(".", "_")] = f"{{{{workflow.parameters.{name}}}}}"
    env.update(step_env)
    return env_list(env)


def _producers(training: Training) -> dict[str, dict[str, str]]:
    """step name → {input artifact → the step that outputs it} (validation guarantees one)."""
    return {
        step: {artifact: names[0] for artifact, names in inputs.items()}
        for step, inputs in input_producers(training).items()
    }


def _step_template(
    step: Step, training: Training, project: Project, model_name: str, extra_env: dict[str, str] | None = None
) -> Obj:
    node_class = step_node_class(training.nodeClass, step.nodeClass)
    gpu_limits, placement = gpu_placement(project, step.gpu, node_class)
    template: Obj = {"name": step.name}
    template_inputs: Obj = {}
    parameters = structure.input_parameters(step)
    if parameters:
        template_inputs["parameters"] = [{"name": name} for name in parameters]
    if step.inputs:
        template_inputs["artifacts"] = [{"name": a, "path": f"{INPUT_DIR}/{a}"} for a in step.inputs]
    if template_inputs:
        template["inputs"] = template_inputs
    outputs: Obj = {}
    if step.outputs:
        outputs["artifacts"] = [{"name": a, "path": f"{OUTPUT_DIR}/{a}"} for a in step.outputs]
    out_parameters = [{"name": m, "valueFrom": {"path": f"{METRICS_DIR}/{m}"}} for m in step.metrics]
    out_parameters += [{"name": p, "valueFrom": {"path": f"{structure.PARAMS_DIR}/{p}"}} for p in step.params]
    if out_parameters:
        outputs["parameters"] = out_parameters
    if outputs:
        template["outputs"] = outputs
    if step.retry_strategy is not None:
        template["retryStrategy"] = retry_strategy(step)
    if step.timeout:
        template["timeout"] = step.timeout
    if step.cache is not None:
        template["memoize"] = structure.memoize(step, training, model_name)
    template.update(placement)
    command = list(step.command) if step.command is not None else list(DEFAULT_INTERPRETER)
    container: Obj = {"image": step.image or training.image, "command": command}
    if step.script is not None:
        container["source"] = step.script
    if step.args:
        container["args"] = list(step.args)
    container["env"] = _env(training, {**structure.step_env(step), **(extra_env or {}), **step.env})
    container_resources = resources(step.resources, gpu_limits)
    if container_resources:
        container["resources"] = container_resources
    harden_template(template, container, step_hardening(training, step), step_shared_memory(step))
    own_volumes = add_contents(container, {}, step.envFrom, step.volumes)
    dirs = [(volume, path) for field, volume, path in STEP_DIRS if getattr(step, field)]
    if dirs:
        mounts = [{"name": volume, "mountPath": path} for volume, path in dirs]
        container["volumeMounts"] = [*container.get("volumeMounts", []), *mounts]
        own_volumes += [{"name": volume, "emptyDir": {}} for volume, _ in dirs]
    if own_volumes:
        template["volumes"] = [*template.get("volumes", []), *own_volumes]
    template["script" if step.script is not None else "container"] = container
    return template


def _register_template(training: Training, metric_steps: list[Step], inputs: list[str]) -> Obj:
    register = training.register_
    command = list(register.command) if register else default_register_command(training) or []
    image = (register.image if register else None) or training.image
    metrics = [m for s in metric_steps for m in s.metrics]
    template: Obj = {"name": "register"}
    template_inputs: Obj = {}
    if metrics:
        template_inputs["parameters"] = [{"name": m} for m in metrics]
    if inputs:
        template_inputs["artifacts"] = [{"name": a, "path": f"{INPUT_DIR}/{a}"} for a in inputs]
    if template_inputs:
        template["inputs"] = template_inputs
    container: Obj = {"image": image, "command": command}
    if register and register.args:
        container["args"] = list(register.args)
    env = {f"METRIC_{m.upper().replace('-', '_')}": f"{{{{inputs.parameters.{m}}}}}" for m in metrics}
    container["env"] = _env(training, env)
    harden_template(template, container, step_hardening(training, None), None)
    template["container"] = container
    return template


def _reject_template(training: Training) -> Obj:
    """Runs only when a gate does not hold, and fails: the Workflow ends Failed, not Succeeded with a
    Skipped `register` (a Skipped task counts as success: `assessDAGPhase`, workflow/controller/dag.go).

    The message (computed by Argo, gates.failure_message) goes to the pod's log and, through
    `terminationMessagePolicy: FallbackToLogsOnError`, into the node's message (`inferFailedReason`,
    workflow/controller/operator.go, appends the container's termination message), which `argo get`
    and the UI show. It needs only `sh` in the training image (no extra image to pull).
    """
    container: Obj = {
        "image": training.image,
        "command": ["sh", "-c", "printf '%s\\n' \"$MLGITOPS_GATES_FAILED\" >&2; exit 1"],
        "env": [{"name": "MLGITOPS_GATES_FAILED", "value": "{{inputs.parameters.message}}"}],
        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    template: Obj = {"name": "reject", "inputs": {"parameters": [{"name": "message"}]}, "container": container}
    harden_template(template, container, step_hardening(training, None), None)
    return template


def ttl_strategy(training: Training) -> Obj:
    """`ttlStrategy`: training.ttl's durations in seconds, or 24h after success and 168h after failure."""
    ttl = training.ttl
    if ttl is None:
        return {"secondsAfterSuccess": SUCCEEDED_TTL_S, "secondsAfterFailure": FAILED_TTL_S}
    fields = (
        ("secondsAfterCompletion", ttl.afterCompletion),
        ("secondsAfterSuccess", ttl.afterSuccess),
        ("secondsAfterFailure", ttl.afterFailure),
    )
    return {key: duration_seconds(value) for key, value in fields if value is not None}


def pod_metadata(model_name: str, training: Training) -> Obj:
    """`podMetadata`: training.podMetadata's labels (mlgitops' two pod labels win on a clash) and annotations."""
    own = training.podMetadata
    labels = {key: own.labels[key] for key in sorted(own.labels)} if own is not None else {}
    labels.update({"app.kubernetes.io/name": model_name, "app.kubernetes.io/component": "training"})
    metadata: Obj = {"labels": labels}
    if own is not None and own.annotations:
        metadata["annotations"] = {key: own.annotations[key] for key in sorted(own.annotations)}
    return metadata


def render_workflow_template(model: ResolvedModel, project: Project) -> Obj:
    training = model.spec.training
    assert training is not None
    if model.spec.data:  # datasets are workflow parameters (and so step environment variables)
        training = training.model_copy(update={"parameters": {**training.parameters, **data_parameters(model.spec)}})
    producers = _producers(training)
    tasks: list[Obj] = []
    templates: list[Obj] = []
    above = structure.ancestors(training)
    loops: list[Obj] = []
    for step in training.steps:
        task: Obj = {"name": step.name, "template": step.name}
        if step.after:
            task["depends"] = " && ".join(step.after)
        if step.when:
            task["when"] = structure.when(step, training, above)
        artifacts = [
            {"name": a, "from": f"{{{{tasks.{producers[step.name][a]}.outputs.artifacts.{a}}}}}"} for a in step.inputs
        ]
        parameters = structure.param_arguments(step, training, above)
        if step.parallelism is not None:
            loop = structure.loop_template(step, parameters, artifacts)
            loops.append(loop)
            task["template"] = loop["name"]
            parameters = [*parameters, structure.loop_items_argument(step, training)]
        else:
            task.update(structure.loop_fields(step, training))
            parameters = [*structure.item_arguments(step), *parameters]
        task_arguments: Obj = {}
        if parameters:
            task_arguments["parameters"] = parameters
        if artifacts:
            task_arguments["artifacts"] = artifacts
        if task_arguments:
            task["arguments"] = task_arguments
        tasks.append(task)
    metric_steps = [s for s in training.steps if s.metrics]
    if training.gates:
        gate_step = {m: s.name for s in metric_steps for m in s.metrics}
        register_inputs = [a for s in metric_steps for a in s.inputs]
        arguments: Obj = {
            "parameters": [
                {"name": m, "value": f"{{{{tasks.{s.name}.outputs.parameters.{m}}}}}"}
                for s in metric_steps
                for m in s.metrics
            ]
        }
        if register_inputs:
            first = metric_steps[0].name
            arguments["artifacts"] = [
                {"name": a, "from": f"{{{{tasks.{producers[first][a]}.outputs.artifacts.{a}}}}}"}
                for a in register_inputs
            ]
        after_metrics = " && ".join(s.name for s in metric_steps)
        holds = all_hold(training.gates, gate_step)
        tasks.append(
            {
                "name": "register",
                "template": "register",
                "depends": after_metrics,
                "when": f"{{{{= {holds} }}}}",
                "arguments": arguments,
            }
        )
        tasks.append(
            {
                "name": "reject",
                "template": "reject",
                "depends": after_metrics,
                "when": f"{{{{= !({holds}) }}}}",
                "arguments": {
                    "parameters": [
                        {"name": "message", "value": f"{{{{= {failure_message(training.gates, gate_step)} }}}}"}
                    ]
                },
            }
        )
    templates.append({"name": "pipeline", "dag": {"tasks": tasks}})
    templates.extend(_step_template(step, training, project, model.name) for step in training.steps)
    templates.extend(loops)
    if training.onExit is not None:
        templates.append(_step_template(training.onExit, training, project, model.name, structure.ON_EXIT_ENV))
    if training.gates:
        templates.append(_register_template(training, metric_steps, register_inputs))
        templates.append(_reject_template(training))

    spec: Obj = {"entrypoint": "pipeline"}
    if training.serviceAccount:
        spec["serviceAccountName"] = training.serviceAccount
    if training.imagePullSecrets:
        spec["imagePullSecrets"] = [{"name": name} for name in training.imagePullSecrets]
    if training.onExit is not None:
        spec["onExit"] = training.onExit.name
    if training.parameters:
        spec["arguments"] = {"parameters": [{"name": k, "value": v} for k, v in training.parameters.items()]}
    if training.timeout:
        spec["activeDeadlineSeconds"] = duration_seconds(training.timeout)
    spec["podGC"] = {"strategy": "OnPodSuccess"}
    spec["ttlStrategy"] = ttl_strategy(training)
    spec["podMetadata"] = pod_metadata(model.name, training)
    # Pod level, for every pod of the workflow: covers Argo's own init and wait containers too (their
    # other settings come from workflow-controller-configmap `executor`; see render/pods.py).
    spec["securityContext"] = pod_security_context()
    spec["templates"] = templates
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": metadata(
            training_name(model.name, training),
            standard_labels(model, project, "training"),
            workflow_annotations(model, project),
        ),
        "spec": spec,
    }


def render_cron_workflow(model: ResolvedModel, project: Project) -> Obj | None:
    training = model.spec.training
    if training is None or not training.schedules:
        return None
    spec: Obj = {"schedules": training.schedules}
    if training.timezone:
        spec["timezone"] = training.timezone
    spec["concurrencyPolicy"] = training.concurrencyPolicy or "Forbid"
    history = training.history
    spec["successfulJobsHistoryLimit"] = history.successful if history is not None else DEFAULT_HISTORY
    spec["failedJobsHistoryLimit"] = history.failed if history is not None else DEFAULT_HISTORY
    spec["workflowSpec"] = {"workflowTemplateRef": {"name": training_name(model.name, training)}}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": metadata(
            training_name(model.name, training),
            standard_labels(model, project, "training"),
            workflow_annotations(model, project),
        ),
        "spec": spec,
    }
