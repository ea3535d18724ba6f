"""Argo Workflows training configurations of the corpus: argoproj/argo-workflows' examples/.

Every mlgitops model needs a model source, so each spec names one (`s3://corpus/...`) that the
training objects never use; steps render as DAG tasks (the `steps:` form of some examples runs the same
way) and every container gets mlgitops' restricted securityContext and MLGITOPS_* directories. None of
that is counted as a loss: what each example exists to show is asserted below.
"""

from __future__ import annotations

import json

from corpus_case import Case, Objects, env_value, task, template

ARGO = "argoproj/argo-workflows"
SOURCE = 'model: {format: custom, version: "1", storageUri: "s3://corpus/models/unused"}\n'


def _diamond(objs: Objects) -> None:
    assert "depends" not in task(objs, "a")
    assert task(objs, "b")["depends"] == "a" and task(objs, "c")["depends"] == "a"
    assert set(task(objs, "d")["depends"].split(" && ")) == {"b", "c"}
    assert template(objs, "d")["container"]["command"] == ["echo", "D"]


def _parameters(objs: Objects) -> None:
    spec = objs["WorkflowTemplate"]["spec"]
    assert spec["arguments"]["parameters"] == [{"name": "message", "value": "hello world"}]
    container = template(objs, "whalesay")["container"]
    assert env_value(container, "MESSAGE") == "{{workflow.parameters.message}}"
    assert container["image"] == "docker/whalesay:latest" and container["command"] == ["cowsay"]


def _retry_backoff(objs: Objects) -> None:
    strategy = template(objs, "retry-backoff")["retryStrategy"]
    assert int(strategy["limit"]) == 10
    # The sample's "1" and "5" are seconds: a Backoff duration without a unit is read as seconds
    # (argo-workflows pkg/apis/workflow/v1alpha1/workflow_types.go, Backoff.Duration).
    assert strategy["backoff"] == {"duration": "1s", "factor": 2, "maxDuration": "1m", "cap": "5s"}
    # Argo's default retryPolicy when none is written is OnFailure (workflow/controller/operator.go).
    assert strategy.get("retryPolicy", "OnFailure") == "OnFailure"


def _retry_container(objs: Objects) -> None:
    strategy = template(objs, "retry-container")["retryStrategy"]
    assert int(strategy["limit"]) == 10 and "backoff" not in strategy
    assert strategy.get("retryPolicy", "OnFailure") == "OnFailure"


def _exit_handler(objs: Objects) -> None:
    spec = objs["WorkflowTemplate"]["spec"]
    assert spec["onExit"] == "exit-handler"
    handler = next(t for t in spec["templates"] if t["name"] == "exit-handler")
    assert "{{workflow.status}}" in handler["container"]["args"][0]
    assert template(objs, "intentional-fail")["container"]["args"] == ["echo intentional failure; exit 1"]


def _memoize(objs: Objects) -> None:
    whalesay = template(objs, "whalesay")
    memoize = whalesay["memoize"]
    assert memoize["maxAge"] == "10s" and memoize["cache"] == {"configMap": {"name": "memoize-simple-train-cache"}}
    assert "workflow.parameters['message']" in memoize["key"]  # a new message misses the cache, as upstream
    assert whalesay["outputs"]["parameters"] == [{"name": "hello", "valueFrom": {"path": "/tmp/mlgitops/params/hello"}}]


def _cron(objs: Objects) -> None:
    cron = objs["CronWorkflow"]["spec"]
    assert cron["schedules"] == ["* * * * *"] and cron["timezone"] == "America/Los_Angeles"
    # The sample's startingDeadlineSeconds: 0 runs no missed schedule, exactly as leaving it unset does
    # (workflow/cron/operator.go, shouldOutstandingWorkflowsBeRun: a missed run starts only while
    # now < missed + startingDeadlineSeconds, and never without the field).
    assert cron["concurrencyPolicy"] == "Replace" and cron.get("startingDeadlineSeconds", 0) == 0
    assert (cron["successfulJobsHistoryLimit"], cron["failedJobsHistoryLimit"]) == (4, 4)
    assert cron["workflowSpec"]["workflowTemplateRef"]["name"] == objs["WorkflowTemplate"]["metadata"]["name"]


def _artifacts(objs: Objects) -> None:
    [out] = template(objs, "cowsay")["outputs"]["artifacts"]
    [into] = template(objs, "print-message")["inputs"]["artifacts"]
    assert out["name"] == into["name"] == "message"
    assert task(objs, "print-message")["arguments"]["artifacts"] == [
        {"name": "message", "from": "{{tasks.cowsay.outputs.artifacts.message}}"}
    ]


def _task_timeout(objs: Objects) -> None:
    assert [template(objs, n)["timeout"] for n in ("a", "b", "c")] == ["20s", "10s", "20s"]
    assert task(objs, "b")["depends"] == "a" and task(objs, "c")["depends"] == "a"


def _parallelism(objs: Objects) -> None:
    loop = template(objs, "sleep-loop")
    assert loop["parallelism"] == 2
    assert loop["dag"]["tasks"][0]["template"] == "sleep"
    [items] = task(objs, "sleep")["arguments"]["parameters"]
    assert items["name"] == "mlgitops-items"
    assert json.loads(items["value"])[:2] == ["this", "workflow"] and len(json.loads(items["value"])) == 10


def _output_parameter(objs: Objects) -> None:
    assert template(objs, "generate-parameter")["outputs"]["parameters"] == [
        {"name": "hello-param", "valueFrom": {"path": "/tmp/mlgitops/params/hello-param"}}
    ]
    consume = task(objs, "consume-parameter")
    assert consume["arguments"]["parameters"] == [
        {"name": "hello-param", "value": "{{tasks.generate-parameter.outputs.parameters.hello-param}}"}
    ]
    assert template(objs, "consume-parameter")["inputs"]["parameters"] == [{"name": "hello-param"}]
    assert template(objs, "consume-parameter")["container"]["args"] == ["{{inputs.parameters.hello-param}}"]


def _loops_maps(objs: Objects) -> None:
    loop = task(objs, "test-linux")
    assert {"image": "alpine", "tag": "3.6"} in loop["withItems"] and len(loop["withItems"]) == 4
    container = template(objs, "test-linux")["container"]
    assert container["image"] == "{{inputs.parameters.mlgitops-item-image}}:{{inputs.parameters.mlgitops-item-tag}}"
    assert {"name": "mlgitops-item-tag", "value": "{{item.tag}}"} in loop["arguments"]["parameters"]
    assert container["command"] == ["cat"] and container["args"] == ["/etc/os-release"]


def _hello(objs: Objects) -> None:
    container = template(objs, "whalesay")["container"]
    assert container["image"] == "docker/whalesay:latest"
    assert (container["command"], container["args"]) == (["cowsay"], ["hello world"])
    assert objs["WorkflowTemplate"]["spec"]["automountServiceAccountToken"] is False


def _multiroot(objs: Objects) -> None:
    assert "depends" not in task(objs, "a") and "depends" not in task(objs, "b")
    assert task(objs, "c")["depends"] == "a"
    assert set(task(objs, "d")["depends"].split(" && ")) == {"a", "b"}


def _continue_on_fail(objs: Objects) -> None:
    assert task(objs, "d")["depends"] == "b.Failed && c"
    assert set(task(objs, "g")["depends"].split(" && ")) == {"e", "f"}
    assert template(objs, "b")["container"]["args"] == ["echo intentional failure; exit 1"]


def _multiple_schedules(objs: Objects) -> None:
    cron = objs["CronWorkflow"]["spec"]
    assert cron["schedules"] == ["*/3 * * * *", "*/2 * * * *"] and cron["timezone"] == "America/Los_Angeles"
    assert cron["concurrencyPolicy"] == "Replace"


def _pod_spec_patch(objs: Objects) -> None:
    spec = objs["WorkflowTemplate"]["spec"]
    assert spec["arguments"]["parameters"] == [{"name": "cpu-limit", "value": "100m"}]
    patch = template(objs, "whalesay")["podSpecPatch"]
    assert '"cpu": "{{workflow.parameters.cpu-limit}}"' in patch


def _random_fail(objs: Objects) -> None:
    strategy = template(objs, "random-fail-template")["retryStrategy"]
    assert int(strategy["limit"]) == 10 and "backoff" not in strategy
    assert template(objs, "random-fail-template")["container"]["image"] == "python:alpine3.6"


def _scripts_python(objs: Objects) -> None:
    generate = template(objs, "generate")
    assert "container" not in generate
    script = generate["script"]
    assert (script["image"], script["command"]) == ("python:alpine3.23", ["python"])
    assert script["source"] == "import random\ni = random.randint(1, 100)\nprint(i)\n"
    assert task(objs, "print")["arguments"]["parameters"] == [
        {"name": "result", "value": "{{tasks.generate.outputs.result}}"}
    ]
    assert template(objs, "print")["container"]["args"] == ["echo result was: {{inputs.parameters.result}}"]


def _coinflip(objs: Objects) -> None:
    flip = template(objs, "flip-coin")["script"]
    assert flip["command"] == ["python"] and "print(result)" in flip["source"]
    for side in ("heads", "tails"):
        when = task(objs, side)["when"]
        assert when == f"{{{{= trim(tasks['flip-coin'].outputs.result) == '{side}' }}}}"
        assert task(objs, side)["depends"] == "flip-coin"
        assert template(objs, side)["container"]["args"] == [f'echo "it was {side}"']


def _coinflip_recursive(objs: Objects) -> None:
    """The upstream `tails` step calls the template it is in (`coinflip`): here the `pipeline` DAG, the
    entrypoint, calls itself under the same `when` the renderer writes for `heads`."""
    spec = objs["WorkflowTemplate"]["spec"]
    assert spec["entrypoint"] == "pipeline"
    assert template(objs, "flip-coin")["script"]["command"] == ["python"]
    heads, tails = task(objs, "heads"), task(objs, "tails")
    assert tails["template"] == "pipeline" and tails["depends"] == heads["depends"] == "flip-coin"
    assert tails["when"] == heads["when"].replace("'heads'", "'tails'")
    assert heads["when"] == "{{= trim(tasks['flip-coin'].outputs.result) == 'heads' }}"
    assert template(objs, "heads")["container"]["args"] == ['echo "it was heads"']
    assert {t["name"] for t in spec["templates"]} == {"pipeline", "flip-coin", "heads"}


def _gc_ttl(objs: Objects) -> None:
    spec = objs["WorkflowTemplate"]["spec"]
    assert spec["ttlStrategy"] == {"secondsAfterCompletion": 10, "secondsAfterSuccess": 5, "secondsAfterFailure": 5}
    container = template(objs, "hello-world")["container"]
    assert (container["image"], container["command"], container["args"]) == ("busybox", ["echo"], ["hello world"])


def _image_pull_secrets(objs: Objects) -> None:
    assert objs["WorkflowTemplate"]["spec"]["imagePullSecrets"] == [{"name": "docker-registry-secret"}]
    assert template(objs, "hello-world")["container"]["command"] == ["echo"]


def _pod_metadata(objs: Objects) -> None:
    metadata = objs["WorkflowTemplate"]["spec"]["podMetadata"]
    assert metadata["annotations"] == {"iam.amazonaws.com/role": "role-arn"}
    assert {k: metadata["labels"][k] for k in ("app", "tier")} == {"app": "print-message", "tier": "demo"}
    assert template(objs, "print-message")["container"]["args"] == ["hello1"]


def _loops_param_result(objs: Objects) -> None:
    generate = template(objs, "generate")["script"]
    assert "json.dump([i for i in range(20, 31)], sys.stdout)" in generate["source"]
    loop = task(objs, "sleep")
    assert loop["withParam"] == "{{tasks.generate.outputs.result}}" and loop["depends"] == "generate"
    assert "{{inputs.parameters.mlgitops-item}}" in template(objs, "sleep")["container"]["args"][0]


def _cron_backfill(objs: Objects) -> None:
    workflow, cron = objs["WorkflowTemplate"], objs["CronWorkflow"]
    # The backfill Workflows start the template by its name, `job`.
    assert workflow["metadata"]["name"] == "job"
    assert cron["spec"]["workflowSpec"] == {"workflowTemplateRef": {"name": "job"}}
    assert workflow["spec"]["arguments"]["parameters"] == [{"name": "date", "value": "yesterday"}]
    assert cron["spec"]["schedules"] == ["0 2 * * *"]
    # The sample sets no policy: Argo's defaults are Allow, 3 succeeded and 1 failed run kept
    # (workflow/cron/operator.go, enforceHistoryLimit).
    assert (cron["spec"]["concurrencyPolicy"], cron["spec"]["successfulJobsHistoryLimit"]) == ("Allow", 3)
    assert cron["spec"]["failedJobsHistoryLimit"] == 1
    main = template(objs, "main")["script"]
    assert main["command"] == ["sh"] and 'date="{{workflow.parameters.date}}"' in main["source"]


def _patch(*ops: str, kind: str = "WorkflowTemplate") -> str:
    return f"patches:\n- target: {{kind: {kind}}}\n  ops:\n" + "".join(f"  - {op}\n" for op in ops)


CASES = [
    Case(
        "dag-diamond",
        ARGO,
        "examples/dag-diamond.yaml",
        "approximate",
        SOURCE + "training:\n  image: alpine:3.7\n  steps:\n"
        "  - {name: a, command: [echo, A]}\n"
        "  - {name: b, after: [a], command: [echo, B]}\n"
        "  - {name: c, after: [a], command: [echo, C]}\n"
        "  - {name: d, after: [b, c], command: [echo, D]}\n",
        _diamond,
        loss="task names are lower-cased DNS labels (a, b, c, d); one template per task instead of a shared "
        "echo template with a message parameter",
    ),
    Case(
        "arguments-parameters",
        ARGO,
        "examples/arguments-parameters.yaml",
        "approximate",
        SOURCE + "training:\n  image: docker/whalesay:latest\n  parameters: {message: hello world}\n"
        "  steps:\n  - {name: whalesay, command: [cowsay]}\n",
        _parameters,
        loss="the workflow parameter reaches the container as $MESSAGE, not as the argument "
        "{{inputs.parameters.message}}",
    ),
    Case(
        "retry-backoff",
        ARGO,
        "examples/retry-backoff.yaml",
        "exact",
        SOURCE + "training:\n  image: python:alpine\n  steps:\n"
        "  - {name: retry-backoff, command: [python, -c], retry: {limit: 10, backoff: {duration: 1s, factor: 2, "
        "cap: 5s}},\n"
        "     args: ['import random; import sys; exit_code = random.choice([0, 1, 1]); sys.exit(exit_code)']}\n"
        + _patch("{op: add, path: /spec/templates/1/retryStrategy/backoff/maxDuration, value: 1m}"),
        _retry_backoff,
        replaced_by="retry: {limit, backoff}",
        first_class="retry.backoff.maxDuration",
    ),
    Case(
        "retry-container",
        ARGO,
        "examples/retry-container.yaml",
        "exact",
        SOURCE + "training:\n  image: python:alpine\n  steps:\n"
        "  - {name: retry-container, command: [python, -c], retries: 10, retryPolicy: OnFailure,\n"
        "     args: ['import random; import sys; exit_code = random.choice([0, 1, 1]); sys.exit(exit_code)']}\n"
        + _patch("{op: remove, path: /spec/templates/1/retryStrategy/backoff}"),
        _retry_container,
        first_class="a retry without backoff (retries and retry always render one)",
    ),
    Case(
        "exit-handlers",
        ARGO,
        "examples/exit-handlers.yaml",
        "approximate",
        SOURCE + "training:\n  image: alpine:latest\n  steps:\n"
        "  - {name: intentional-fail, command: [sh, -c], args: ['echo intentional failure; exit 1']}\n"
        "  onExit: {name: exit-handler, command: [sh, -c],"
        " args: ['echo send e-mail: {{workflow.name}} {{workflow.status}}']}\n",
        _exit_handler,
        loss="the handler is one notifying container; the sample's celebrate/cry steps gated on "
        "{{workflow.status}} are left out",
        replaced_by="training.onExit",
    ),
    Case(
        "memoize-simple",
        ARGO,
        "examples/memoize-simple.yaml",
        "approximate",
        SOURCE + "training:\n  image: docker/whalesay:latest\n  parameters: {message: test-5}\n  steps:\n"
        "  - {name: whalesay, command: [sh, -c], args: ['cowsay $MESSAGE > $MLGITOPS_PARAMS_DIR/hello'],"
        " params: [hello], cache: {maxAge: 10s}}\n",
        _memoize,
        loss="the cache key is a SHA-256 of the step's definition and the message parameter (not the message "
        "itself), the cache ConfigMap is mlgitops' memoize-simple-train-cache (not my-config), and the output "
        "is written to /tmp/mlgitops/params/hello (not /tmp/hello_world.txt)",
        replaced_by="cache: {maxAge}, params",
    ),
    Case(
        "hello-world",
        ARGO,
        "examples/cron-workflow.yaml",
        "approximate",
        SOURCE + "training:\n  image: busybox\n  schedule: '* * * * *'\n  timezone: America/Los_Angeles\n"
        "  concurrencyPolicy: Replace\n  history: {successful: 4, failed: 4}\n"
        "  steps:\n  - {name: hello-world-with-time, command: [echo],"
        " args: ['hello world. Scheduled on: {{workflow.scheduledTime}}']}\n",
        _cron,
        loss="the CronWorkflow references a WorkflowTemplate (hello-world-train) instead of inlining the "
        "workflow spec; the scheduled workflow is the same",
        replaced_by="training.concurrencyPolicy, training.history",
    ),
    Case(
        "artifact-passing",
        ARGO,
        "examples/artifact-passing.yaml",
        "approximate",
        SOURCE + "training:\n  image: docker/whalesay:latest\n  steps:\n"
        "  - {name: cowsay, command: [sh, -c], args: ['cowsay hello world | tee $MLGITOPS_OUTPUT_DIR/message'],"
        " outputs: [message]}\n"
        "  - {name: print-message, after: [cowsay], image: 'alpine:latest', command: [sh, -c],"
        " args: ['cat $MLGITOPS_INPUT_DIR/message'], inputs: [message]}\n",
        _artifacts,
        loss="artifact paths are mlgitops' (/tmp/mlgitops/outputs/message, /tmp/mlgitops/inputs/message), "
        "not /tmp/hello_world.txt and /tmp/message",
    ),
    Case(
        "dag-task-level-timeout",
        ARGO,
        "examples/dag-task-level-timeout.yaml",
        "approximate",
        SOURCE + "training:\n  image: busybox\n  steps:\n"
        "  - {name: a, command: [sleep, 15s], timeout: 20s}\n"
        "  - {name: b, after: [a], command: [sleep, 15s], timeout: 10s}\n"
        "  - {name: c, after: [a], command: [sleep, 15s], timeout: 20s}\n",
        _task_timeout,
        loss="each task's timeout is written on its own template, not passed as a parameter to a shared one",
    ),
    Case(
        "parallelism-limit",
        ARGO,
        "examples/parallelism-limit.yaml",
        "approximate",
        SOURCE + "training:\n  image: busybox\n  steps:\n"
        "  - {name: sleep, command: [sh, -c, sleep 10], parallelism: 2,\n"
        "     forEach: [this, workflow, should, take, at, least, '60', seconds, to, complete]}\n",
        _parallelism,
        loss="the limit of 2 is on a loop template (sleep-loop, over a JSON-list parameter) instead of the "
        "workflow's spec.parallelism; with one step it bounds the same pods",
        replaced_by="forEach with parallelism",
    ),
    Case(
        "output-parameter",
        ARGO,
        "examples/output-parameter.yaml",
        "approximate",
        SOURCE + "training:\n  image: docker/whalesay:latest\n  steps:\n"
        "  - {name: generate-parameter, command: [sh, -c], params: [hello-param],\n"
        "     args: ['sleep 1; echo -n hello world > $MLGITOPS_PARAMS_DIR/hello-param']}\n"
        "  - {name: consume-parameter, after: [generate-parameter], command: [cowsay], paramInputs: [hello-param],"
        " args: ['{{inputs.parameters.hello-param}}']}\n",
        _output_parameter,
        loss="a DAG dependency instead of two sequential steps; the parameter's file is "
        "/tmp/mlgitops/params/hello-param (not /tmp/hello_world.txt) and the input keeps the output's name "
        "(hello-param, not message); the same order and data flow",
        replaced_by="params, paramInputs",
    ),
    Case(
        "loops-maps",
        ARGO,
        "examples/loops-maps.yaml",
        "approximate",
        SOURCE + "training:\n  image: debian:9.1\n  steps:\n"
        "  - {name: test-linux, command: [cat], args: [/etc/os-release], forEach: [{image: debian, tag: '9.1'},\n"
        "     {image: debian, tag: '8.9'}, {image: alpine, tag: '3.6'}, {image: ubuntu, tag: '17.10'}]}\n"
        + _patch(
            "{op: replace, path: /spec/templates/1/container/image, "
            "value: '{{inputs.parameters.mlgitops-item-image}}:{{inputs.parameters.mlgitops-item-tag}}'}",
        ),
        _loops_maps,
        loss="the spec names a placeholder image (debian:9.1) that a patch replaces with the per-item one; the "
        "item's keys arrive as mlgitops-item-image and mlgitops-item-tag, not image and tag",
        replaced_by="forEach",
        first_class="a step image taken from the forEach item",
    ),
    Case(
        "coinflip-recursive",
        ARGO,
        "examples/coinflip-recursive.yaml",
        "approximate",
        SOURCE + "training:\n  image: busybox\n  steps:\n"
        "  - name: flip-coin\n    image: python:alpine3.23\n    script: |\n      import random\n"
        '      result = "heads" if random.randint(0,1) == 0 else "tails"\n      print(result)\n    stdout: true\n'
        "  - {name: heads, after: [flip-coin], command: [sh, -c], args: ['echo \"it was heads\"'],\n"
        "     when: [{param: result, op: ==, value: heads}]}\n"
        "patches:  # tails: the pipeline calls itself until heads (steps form a DAG; no field recurses)\n"
        "- target: {kind: WorkflowTemplate}\n  ops:\n"
        "  - {op: test, path: /spec/templates/0/name, value: pipeline}\n"
        "  - op: add\n    path: /spec/templates/0/dag/tasks/-\n"
        "    value: {name: tails, depends: flip-coin, template: pipeline,\n"
        "            when: \"{{= trim(tasks['flip-coin'].outputs.result) == 'tails' }}\"}\n",
        _coinflip_recursive,
        loss="DAG tasks instead of step groups (as coinflip); the recursive call (tails runs the whole pipeline "
        "again) is a patch adding a DAG task, its `when` written as the renderer writes heads'",
        first_class="a step that runs the pipeline again (recursion)",
    ),
    Case(
        "hello-world-wf",
        ARGO,
        "examples/hello-world.yaml",
        "approximate",
        SOURCE + "training:\n  image: docker/whalesay:latest\n  steps:\n"
        "  - {name: whalesay, command: [cowsay], args: [hello world]}\n"
        + _patch(
            "{op: add, path: /spec/automountServiceAccountToken, value: false}",
            "{op: add, path: /spec/executor, value: {serviceAccountName: default}}",
        ),
        _hello,
        loss="the stored version's executorServiceAccountTokenName is not reproduced",
    ),
    Case(
        "dag-multiroot",
        ARGO,
        "examples/dag-multiroot.yaml",
        "approximate",
        SOURCE + "training:\n  image: busybox\n  steps:\n"
        "  - {name: a, command: [echo, A]}\n  - {name: b, command: [echo, B]}\n"
        "  - {name: c, after: [a], command: [echo, C]}\n  - {name: d, after: [a, b], command: [echo, D]}\n",
        _multiroot,
        loss="task names are lower-cased DNS labels; one template per task instead of a shared echo template",
    ),
    Case(
        "dag-continue-on-fail",
        ARGO,
        "examples/dag-continue-on-fail.yaml",
        "approximate",
        SOURCE + "training:\n  image: busybox\n  steps:\n"
        "  - {name: a, command: [echo], args: [hello world]}\n"
        "  - {name: b, after: [a], command: [sh, -c], args: ['echo intentional failure; exit 1']}\n"
        "  - {name: c, after: [a], command: [echo], args: [hello world]}\n"
        "  - {name: d, after: [b, c], command: [echo], args: [hello world]}\n"
        "  - {name: e, after: [a], command: [sh, -c], args: ['echo intentional failure; exit 1']}\n"
        "  - {name: f, after: [a], command: [echo], args: [hello world]}\n"
        "  - {name: g, after: [e, f], command: [echo], args: [hello world]}\n"
        + _patch("{op: replace, path: /spec/templates/0/dag/tasks/3/depends, value: b.Failed && c}"),
        _continue_on_fail,
        loss="task names are lower-cased DNS labels",
        first_class="a step that runs after another one fails (depends on b.Failed); `when` compares metrics "
        "and params only",
    ),
    Case(
        "hello-world-multiple-schedules",
        ARGO,
        "examples/cron-workflow-multiple-schedules.yaml",
        "approximate",
        SOURCE + "training:\n  image: docker/whalesay:latest\n  schedule: ['*/3 * * * *', '*/2 * * * *']\n"
        "  timezone: America/Los_Angeles\n  concurrencyPolicy: Replace\n"
        "  steps:\n  - {name: whalesay, command: [cowsay],"
        " args: ['hello world. Scheduled on: {{workflow.scheduledTime}}']}\n",
        _multiple_schedules,
        loss="the CronWorkflow references a WorkflowTemplate rather than inlining the workflow spec",
        replaced_by="training.concurrencyPolicy",
    ),
    Case(
        "pod-spec-patch",
        ARGO,
        "examples/pod-spec-patch.yaml",
        "exact",
        SOURCE + "training:\n  image: docker/whalesay:latest\n  parameters: {cpu-limit: 100m}\n  steps:\n"
        "  - {name: whalesay, command: [cowsay], args: [hello world]}\n"
        + _patch(
            "{op: add, path: /spec/templates/1/podSpecPatch, value: "
            '\'{"containers":[{"name":"main", "resources":{"limits":'
            '{"cpu": "{{workflow.parameters.cpu-limit}}" }}}]}\'}'
        ),
        _pod_spec_patch,
    ),
    Case(
        "random-fail-template",
        ARGO,
        "examples/workflow-template/templates.yaml",
        "exact",
        SOURCE + "training:\n  image: python:alpine3.6\n  steps:\n"
        "  - {name: random-fail-template, command: [python, -c], retries: 10, retryPolicy: OnFailure,\n"
        "     args: ['import random; import sys; exit_code = random.choice([0, 1, 1]); sys.exit(exit_code)']}\n"
        + _patch("{op: remove, path: /spec/templates/1/retryStrategy/backoff}"),
        _random_fail,
        first_class="a retry without backoff (retries and retry always render one)",
    ),
    Case(
        "scripts-python",
        ARGO,
        "examples/scripts-python.yaml",
        "approximate",
        SOURCE + "training:\n  image: alpine:3.23\n  steps:\n"
        "  - name: generate\n    image: python:alpine3.23\n    script: |\n      import random\n"
        "      i = random.randint(1, 100)\n      print(i)\n    stdout: true\n"
        "  - {name: print, after: [generate], command: [sh, -c], paramInputs: [result],\n"
        "     args: ['echo result was: {{inputs.parameters.result}}']}\n",
        _scripts_python,
        loss="a DAG dependency instead of two sequential steps; the printing step's input keeps the output's "
        "name (result, not message)",
    ),
    Case(
        "coinflip",
        ARGO,
        "examples/coinflip.yaml",
        "approximate",
        SOURCE + "training:\n  image: busybox\n  steps:\n"
        "  - name: flip-coin\n    image: python:alpine3.23\n    script: |\n      import random\n"
        '      result = "heads" if random.randint(0,1) == 0 else "tails"\n      print(result)\n    stdout: true\n'
        "  - {name: heads, after: [flip-coin], command: [sh, -c], args: ['echo \"it was heads\"'],\n"
        "     when: [{param: result, op: ==, value: heads}]}\n"
        "  - {name: tails, after: [flip-coin], command: [sh, -c], args: ['echo \"it was tails\"'],\n"
        "     when: [{param: result, op: ==, value: tails}]}\n",
        _coinflip,
        loss="DAG tasks with `depends` instead of two step groups; the `when` is an expression tag comparing the "
        "trimmed output, the same test for what the script prints",
    ),
    Case(
        "gc-ttl",
        ARGO,
        "examples/gc-ttl.yaml",
        "exact",
        SOURCE + "training:\n  image: busybox\n  ttl: {afterCompletion: 10s, afterSuccess: 5s, afterFailure: 5s}\n"
        "  steps:\n  - {name: hello-world, command: [echo], args: [hello world]}\n",
        _gc_ttl,
    ),
    Case(
        "image-pull-secrets",
        ARGO,
        "examples/image-pull-secrets.yaml",
        "exact",
        SOURCE + "training:\n  image: busybox\n  imagePullSecrets: [docker-registry-secret]\n"
        "  steps:\n  - {name: hello-world, command: [echo], args: [hello world]}\n",
        _image_pull_secrets,
    ),
    Case(
        "pod-metadata-wf-field",
        ARGO,
        "examples/pod-metadata-wf-field.yaml",
        "approximate",
        SOURCE + "training:\n  image: busybox\n"
        "  podMetadata: {annotations: {iam.amazonaws.com/role: role-arn}, labels: {app: print-message, tier: demo}}\n"
        "  steps:\n  - {name: print-message, command: [echo], args: [hello1]}\n",
        _pod_metadata,
        loss="the pods also carry mlgitops' app.kubernetes.io/name and component labels; the message is the step's "
        "argument, not an input parameter a steps template passes",
    ),
    Case(
        "loops-param-result",
        ARGO,
        "examples/loops-param-result.yaml",
        "approximate",
        SOURCE + "training:\n  image: alpine:3.23\n  steps:\n"
        "  - name: generate\n    image: python:alpine3.23\n    script: |\n      import json\n      import sys\n"
        "      json.dump([i for i in range(20, 31)], sys.stdout)\n    stdout: true\n"
        "  - {name: sleep, after: [generate], command: [sh, -c], forEach: {fromStep: generate, output: result},\n"
        "     args: ['echo sleeping for {{inputs.parameters.mlgitops-item}} seconds; "
        "sleep {{inputs.parameters.mlgitops-item}}; echo done']}\n",
        _loops_param_result,
        loss="a DAG dependency instead of two sequential steps; the item arrives as mlgitops-item, not seconds",
    ),
    Case(
        "daily-job",
        ARGO,
        "examples/cron-backfill.yaml",
        "approximate",
        SOURCE + "training:\n  name: job\n  image: busybox\n  schedule: '0 2 * * *'\n"
        "  concurrencyPolicy: Allow\n  history: {successful: 3, failed: 1}\n"
        "  parameters: {date: yesterday}\n  steps:\n"
        "  - name: main\n    command: [sh]\n    script: |\n"
        '      date="{{workflow.parameters.date}}"\n      if [ $date = yesterday ]; then\n'
        "        date=$(date -d yesterday +%Y-%m-%d)\n      fi\n"
        '      echo "run for $date"\n',
        _cron_backfill,
        loss="the CronWorkflow is named job, like the template (not daily-job); the script reads the workflow "
        "parameter, not an input parameter of the template; the backfill Workflows, which start `job` by name, are "
        "not part of a model",
    ),
]
