"""Pod Security (issue 10, item 6): every rendered pod meets the `restricted` level by default, the spec
switch relaxes it for images that cannot, and `validate` checks every pod (rendered or hand-written in
base/platform) against the level of the environment's namespace (`clusterFeatures.podSecurity`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.podsecurity import site_problems
from mlgitops.checks.policies.sites import pod_sites
from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from mlgitops.util.jsonpointer import get_path
from mlgitops.validate.report import ValidateOptions
from mlgitops.validate.run import load_schema_sources, validate_objects
from tests.conftest import CliResult, run_cli
from tests.projects import KNATIVE_FEATURES, L4_GPU_CLASS, project_yaml

Obj = dict[str, Any]

PROJECT = project_yaml(extra=L4_GPU_CLASS + KNATIVE_FEATURES)

MODEL = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {{name: {name}}}
model: {{format: {format}, version: "3", storageUri: s3://models/{name}/3/model}}
serving:
  engine: {engine}
  mode: {mode}
  replicas: {{min: 1, max: 4}}
  resources: {{requests: {{cpu: "1", memory: 1Gi}}, limits: {{cpu: "2", memory: 2Gi}}}}
{extra}"""

TRAINING = """\
training:
  image: ghcr.io/acme/train:1.4.2
  steps:
  - {name: fit, command: [python, -m, m.fit], outputs: [model]}
  - {name: evaluate, after: [fit], command: [python, -m, m.evaluate], inputs: [model], metrics: [auc]}
  gates: [{metric: auc, op: ">=", value: 0.9}]
"""

CANARY = '  canary: {version: "4", storageUri: s3://models/NAME/4/model, trafficPercent: 20}\n'
# KServe's Standard mode routes a canary no traffic (refused with traffic: stockfit.py): a dark launch there.
DARK_CANARY = CANARY.replace("trafficPercent: 20", "trafficPercent: 0")

RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


pytestmark = pytest.mark.usefixtures("private_validate_cache")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(PROJECT)
    return root


def write_model(
    root: Path,
    name: str,
    *,
    fmt: str = "sklearn",
    engine: str = "kserve",
    mode: str = "Standard",
    extra: str = "",
) -> Path:
    path = root / "models" / f"{name}.yaml"
    text = MODEL.format(name=name, format=fmt, engine=engine, mode=mode, extra=extra.replace("NAME", name))
    path.write_text(text)
    return path


def objects_of(root: Path, env: str) -> dict[tuple[str, str], Obj]:
    workspace = load_workspace(root)
    objects = environment_objects(workspace, env, render_models(workspace), with_namespace=False)
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def validate(root: Path, crds: Path, *args: str) -> CliResult:
    return run_cli(["validate", "--crds", str(crds), *args], cwd=root)


def findings(result: CliResult, check: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if f"[{check}]" in line]


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


# --- what is rendered -------------------------------------------------------------------------------------


def test_every_rendered_container_is_restricted_and_the_objects_pass_their_schemas(repo: Path, crds_dir: Path) -> None:
    """Each engine and the training templates, field by field; then the upstream schemas and all policies."""
    runtime = "  runtime: kserve-sklearnserver\n"
    write_model(repo, "standard", extra=runtime + DARK_CANARY + TRAINING)
    write_model(repo, "knative", mode="Knative", extra=runtime)
    write_model(repo, "plain", engine="deployment", extra=CANARY)
    objects = objects_of(repo, "prod")

    isvc = objects[("InferenceService", "standard")]
    for predictor in (isvc["spec"]["predictor"], isvc["spec"]["canary"][0]["predictor"]):
        # Standard mode: pod-level seccomp covers the storage-initializer KServe injects
        assert predictor["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
        assert predictor["model"]["securityContext"] == {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True}
        assert predictor["volumes"] == [{"name": "tmp", "emptyDir": {}}]
        assert predictor["model"]["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]

    knative = objects[("InferenceService", "knative")]["spec"]["predictor"]
    assert "securityContext" not in knative  # Knative refuses a pod-level securityContext by default
    assert knative["model"]["securityContext"] == {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True}

    for name in ("plain-predictor", "plain-predictor-canary"):
        pod = objects[("Deployment", name)]["spec"]["template"]["spec"]
        assert pod["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
        server, init = pod["containers"][0], pod["initContainers"][0]
        assert server["securityContext"] == {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True}
        assert init["name"] == "storage-initializer"
        assert init["securityContext"] == {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True}
        assert {"name": "tmp", "mountPath": "/tmp"} in server["volumeMounts"]
        assert {"name": "tmp", "mountPath": "/tmp"} in init["volumeMounts"]
        assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]

    template = objects[("WorkflowTemplate", "standard-train")]
    # workflow level: every pod, Argo's init and wait containers included
    assert template["spec"]["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    steps = {t["name"]: t for t in template["spec"]["templates"] if "container" in t}
    assert set(steps) == {"fit", "evaluate", "register", "reject"}
    for step in steps.values():
        # training images are the user's own: writable root unless asked
        assert step["container"]["securityContext"] == {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": False}
        # so no /tmp volume; a step's volumes are the directories it writes (render/training.py, STEP_DIRS)
        step_dirs = {"mlgitops-outputs", "mlgitops-params", "mlgitops-metrics"}
        assert {v["name"] for v in step.get("volumes", [])} <= step_dirs
        assert all(v["emptyDir"] == {} for v in step.get("volumes", []))

    sources = load_schema_sources(ValidateOptions(crds=(crds_dir,)))
    project = load_workspace(repo).project
    assert validate_objects(list(objects.values()), sources, environment="prod", project=project) == []


def test_read_only_root_only_where_the_server_allows_it(repo: Path) -> None:
    write_model(repo, "llm", fmt="huggingface")  # vLLM and Triton cache under $HOME
    write_model(repo, "custom", engine="deployment", extra="  image: ghcr.io/acme/server:2.0\n")
    write_model(repo, "asked", fmt="huggingface", extra="  securityContext: {readOnlyRootFilesystem: true}\n")
    write_model(repo, "auto", fmt="sklearn")  # no runtime named: KServe may pick kserve-mlserver
    write_model(repo, "named", fmt="sklearn", extra="  runtime: kserve-sklearnserver\n")
    objects = objects_of(repo, "dev")
    auto = objects[("InferenceService", "auto")]["spec"]["predictor"]["model"]
    assert auto["securityContext"]["readOnlyRootFilesystem"] is False
    named = objects[("InferenceService", "named")]["spec"]["predictor"]["model"]
    assert named["securityContext"]["readOnlyRootFilesystem"] is True
    llm = objects[("InferenceService", "llm")]["spec"]["predictor"]
    assert llm["model"]["securityContext"]["readOnlyRootFilesystem"] is False
    assert "volumes" not in llm
    custom = objects[("Deployment", "custom-predictor")]["spec"]["template"]["spec"]
    assert custom["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is False
    assert custom["initContainers"][0]["securityContext"]["readOnlyRootFilesystem"] is True  # ours, always
    asked = objects[("InferenceService", "asked")]["spec"]["predictor"]
    assert asked["model"]["securityContext"]["readOnlyRootFilesystem"] is True
    assert asked["volumes"] == [{"name": "tmp", "emptyDir": {}}]


def test_step_security_context_overrides_the_training_one_field_by_field(repo: Path) -> None:
    write_model(
        repo,
        "m",
        extra="training:\n  image: ghcr.io/acme/train:1.4.2\n"
        "  securityContext: {runAsUser: 1000}\n"
        "  steps:\n"
        "  - {name: fit, command: [python, -m, m.fit], securityContext: {readOnlyRootFilesystem: true}}\n"
        "  - {name: report, after: [fit], command: [python, -m, m.report]}\n",
    )
    template = objects_of(repo, "prod")[("WorkflowTemplate", "m-train")]  # trains in the last environment
    steps = {t["name"]: t for t in template["spec"]["templates"] if "container" in t}
    fit, report = steps["fit"], steps["report"]
    assert fit["container"]["securityContext"] == {
        **RESTRICTED_CONTAINER,
        "readOnlyRootFilesystem": True,
        "runAsUser": 1000,
    }
    assert fit["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    assert fit["container"]["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert report["container"]["securityContext"]["runAsUser"] == 1000
    assert report["container"]["securityContext"]["readOnlyRootFilesystem"] is False


# --- the spec switch and the validate policy -----------------------------------------------------------------


def test_root_image_switch_fails_restricted_at_its_line_and_passes_baseline(repo: Path, crds_dir: Path) -> None:
    model = write_model(repo, "m", engine="deployment", extra="  securityContext: {runAsNonRoot: false}\n")
    pod = objects_of(repo, "dev")[("Deployment", "m-predictor")]["spec"]["template"]["spec"]
    assert pod["containers"][0]["securityContext"]["runAsNonRoot"] is False
    assert pod["initContainers"][0]["securityContext"]["runAsNonRoot"] is True  # the initializer stays non-root

    result = validate(repo, crds_dir)
    assert result.exit_code == 1
    lines = findings(result, "pod-security")
    assert [line.split()[2] for line in lines] == ["dev", "prod"]
    where = f"models/m.yaml:{line_of(model, 'securityContext: {runAsNonRoot: false}')}:"
    for line in lines:
        assert "Deployment/m-predictor /spec/template/spec/containers/0/securityContext/runAsNonRoot" in line
        assert "container kserve-container: runAsNonRoot is not true" in line
        assert "restricted Pod Security level" in line
        assert where in line

    # the namespace runs at baseline: a root image is allowed there
    baseline = PROJECT.replace("clusterFeatures: {", "clusterFeatures: {podSecurity: baseline, ")
    (repo / "mlgitops.yaml").write_text(baseline)
    result = validate(repo, crds_dir, "--strict")
    assert result.exit_code == 0, result.stdout


def test_root_user_with_run_as_non_root_is_a_positioned_error(repo: Path) -> None:
    model = write_model(repo, "m", extra="  securityContext: {runAsUser: 0}\n")
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1
    line = line_of(model, "runAsUser: 0")
    assert result.stderr.startswith(f"models/m.yaml:{line}:")
    assert "runAsUser 0 is root, and runAsNonRoot is true" in result.stderr
    assert not (repo / "base").exists()


PRIVILEGED_POD = """\
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-agent}
spec:
  selector: {matchLabels: {app: node-agent}}
  template:
    metadata: {labels: {app: node-agent}}
    spec:
      hostNetwork: true
      containers:
      - name: agent
        image: ghcr.io/acme/agent:1.0
        resources: {limits: {cpu: "1", memory: 1Gi}}
        securityContext: {privileged: true}
      volumes:
      - {name: root, hostPath: {path: /}}
"""

UNHARDENED_POD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: proxy}
spec:
  selector: {matchLabels: {app: proxy}}
  template:
    metadata: {labels: {app: proxy}}
    spec:
      containers:
      - name: proxy
        image: ghcr.io/acme/proxy:1.0
        resources: {limits: {cpu: "1", memory: 1Gi}}
"""


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("privileged", []),
        (
            "baseline",
            [
                "DaemonSet/node-agent /spec/template/spec/hostNetwork: hostNetwork is true (a host namespace)",
                "DaemonSet/node-agent /spec/template/spec/volumes/0/hostPath: volume root is a hostPath",
                "DaemonSet/node-agent /spec/template/spec/containers/0/securityContext/privileged: "
                "container agent: privileged is true",
            ],
        ),
        (
            "restricted",
            [
                "DaemonSet/node-agent /spec/template/spec/hostNetwork: hostNetwork is true (a host namespace)",
                "DaemonSet/node-agent /spec/template/spec/volumes/0/hostPath: volume root is a hostPath",
                "DaemonSet/node-agent /spec/template/spec/containers/0/securityContext/privileged: "
                "container agent: privileged is true; allowPrivilegeEscalation is not false; runAsNonRoot is not "
                "true (on the container or the pod); no seccompProfile RuntimeDefault or Localhost (on the "
                "container or the pod); capabilities do not drop ALL",
                "Deployment/proxy /spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation: "
                "container proxy: allowPrivilegeEscalation is not false; runAsNonRoot is not true (on the "
                "container or the pod); no seccompProfile RuntimeDefault or Localhost (on the container or the "
                "pod); capabilities do not drop ALL",
            ],
        ),
    ],
)
def test_platform_pods_are_checked_against_the_strictest_environment_level(
    repo: Path, crds_dir: Path, level: str, expected: list[str]
) -> None:
    write_model(repo, "m")
    # dev is privileged; prod sets the level under test; base/platform is deployed to both
    project = PROJECT.replace(
        "- {name: dev, namespace: ml-dev}",
        "- {name: dev, namespace: ml-dev, clusterFeatures: {podSecurity: privileged}}",
    ).replace(
        "- {name: prod, namespace: ml-prod}",
        f"- {{name: prod, namespace: ml-prod, clusterFeatures: {{podSecurity: {level}}}}}",
    )
    (repo / "mlgitops.yaml").write_text(project)
    platform = repo / "base" / "platform"
    platform.mkdir(parents=True)
    (platform / "kustomization.yaml").write_text("resources: [agent.yaml, proxy.yaml]\n")
    (platform / "agent.yaml").write_text(PRIVILEGED_POD)
    (platform / "proxy.yaml").write_text(UNHARDENED_POD)
    result = validate(repo, crds_dir)
    lines = findings(result, "pod-security")
    got = [line.split(" ", 3)[3].rsplit(", which", 1)[0] for line in lines]
    assert sorted(got) == sorted(expected)
    assert result.exit_code == (1 if expected else 0)
    for line in lines:
        assert f"which the {level} Pod Security level of base/platform (clusterFeatures.podSecurity) forbids" in line
        assert "(base/platform/" in line  # file:line of the hand-written object


# --- the rules, one by one ----------------------------------------------------------------------------------


def pod(spec: Obj, metadata: Obj | None = None) -> Obj:
    template: Obj = {"spec": spec}
    if metadata:
        template["metadata"] = metadata
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"template": template}}


def problems(obj: Obj, level: str) -> list[str]:
    out = []
    for site in pod_sites(obj):
        workflow = ("spec",) if obj["kind"] == "WorkflowTemplate" else None
        containers = (*site.init_containers, *site.containers)
        out += [message for _, message in site_problems(obj, site.path, containers, workflow, level)]
    return out


GOOD = {"name": "c", "image": "i:1", "securityContext": RESTRICTED_CONTAINER}


@pytest.mark.parametrize(
    ("spec", "metadata", "baseline", "restricted"),
    [
        ({"containers": [GOOD]}, None, [], []),
        ({"hostPID": True, "containers": [GOOD]}, None, ["hostPID is true (a host namespace)"], None),
        (
            {"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}, "containers": [GOOD]},
            None,
            ["sysctl kernel.msgmax is not in the safe set"],
            None,
        ),
        (
            {
                "securityContext": {"sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}]},
                "containers": [GOOD],
            },
            None,
            [],
            [],
        ),
        (
            {
                "containers": [
                    {
                        **GOOD,
                        "securityContext": {
                            **RESTRICTED_CONTAINER,
                            "capabilities": {"drop": ["ALL"], "add": ["CHOWN"]},
                        },
                    }
                ]
            },
            None,
            [],
            ["container c: adds CHOWN (only NET_BIND_SERVICE may be added)"],
        ),
        (
            {
                "containers": [
                    {
                        **GOOD,
                        "securityContext": {
                            **RESTRICTED_CONTAINER,
                            "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]},
                        },
                    }
                ]
            },
            None,
            ["container c: adds capability SYS_ADMIN"],
            None,
        ),
        (
            {"containers": [{**GOOD, "ports": [{"containerPort": 80, "hostPort": 80}]}]},
            None,
            ["container c: hostPort 80"],
            None,
        ),
        (
            {"volumes": [{"name": "share", "nfs": {"server": "n", "path": "/"}}], "containers": [GOOD]},
            None,
            [],
            [
                "volume share has type nfs (allowed: configMap, csi, downwardAPI, emptyDir, ephemeral, image, "
                "persistentVolumeClaim, projected, secret)"
            ],
        ),
        (
            {"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [GOOD]},
            None,
            ["seccompProfile is Unconfined"],
            None,
        ),
        (
            {"containers": [GOOD]},
            {"annotations": {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}},
            ["AppArmor profile 'unconfined' (allowed: runtime/default, localhost/*)"],
            None,
        ),
        (
            {
                "containers": [
                    {**GOOD, "securityContext": {**RESTRICTED_CONTAINER, "seLinuxOptions": {"type": "spc_t"}}}
                ]
            },
            None,
            ["container c: SELinux type spc_t"],
            None,
        ),
        (  # pod-level runAsNonRoot and seccomp cover containers that leave them unset
            {
                "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [
                    {
                        "name": "c",
                        "image": "i:1",
                        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                    }
                ],
            },
            None,
            [],
            [],
        ),
        (
            {"containers": [{**GOOD, "securityContext": {**RESTRICTED_CONTAINER, "runAsUser": 0}}]},
            None,
            [],
            ["container c: runAsUser is 0 (root)"],
        ),
        (  # a user namespace lifts the non-root rules
            {
                "hostUsers": False,
                "containers": [
                    {**GOOD, "securityContext": {**RESTRICTED_CONTAINER, "runAsNonRoot": False, "runAsUser": 0}}
                ],
            },
            None,
            [],
            [],
        ),
        (
            {"containers": [{**GOOD, "readinessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}}}]},
            None,
            ["container c: a probe or lifecycle handler names host 10.0.0.1"],
            None,
        ),
    ],
)
def test_pod_security_rules(spec: Obj, metadata: Obj | None, baseline: list[str], restricted: list[str] | None) -> None:
    """Each rule of kubernetes/pod-security-admission policy/check_*.go (None: restricted adds nothing)."""
    obj = pod(spec, metadata)
    assert problems(obj, "privileged") == []
    assert problems(obj, "baseline") == baseline
    assert problems(obj, "restricted") == (baseline if restricted is None else restricted)


def test_argo_templates_inherit_the_workflow_security_context_unless_they_set_their_own() -> None:
    container = {
        "image": "i:1",
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True},
    }
    workflow: Obj = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "w"},
        "spec": {
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "templates": [
                {"name": "inherits", "container": container},
                {"name": "overrides", "securityContext": {"runAsNonRoot": True}, "container": container},
            ],
        },
    }
    assert problems(workflow, "restricted") == [
        "container main (template overrides): no seccompProfile RuntimeDefault or Localhost "
        "(on the container or the pod)"
    ]
    assert get_path(workflow, ("spec", "templates", 0, "name")) == "inherits"
