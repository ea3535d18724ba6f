"""Serving specs that pass every schema but break on a stock cluster (issue 10, items 1-3).

For each class: a spec that used to render the broken object is now a one-line `file:line:col` error at
the spec line that caused it (render exits 1 and leaves the tree as it was), the fixed spec renders the
right object (read back through the real Kustomize), and `validate` finds the class in objects the specs
did not render (a hand-written InferenceService in base/platform), against the upstream CRDs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CliResult, copy_example, run_cli, snapshot_tree
from tests.projects import L4_GPU_CLASS, model_yaml, project_yaml

PROJECT = project_yaml("dev", "staging", "prod", extra=L4_GPU_CLASS)

MODEL = model_yaml(
    body="""\
serving:
  mode: Standard
  replicas: {min: 1, max: 4}
  autoscaling: {metric: cpu, target: 70}
  resources: {requests: {cpu: "1", memory: 1Gi}, limits: {cpu: "2", memory: 2Gi}}
"""
)

LLM = model_yaml(
    "llm",
    format="huggingface",
    version="12",
    body="""\
serving:
  mode: Knative
  replicas: {min: 1, max: 3}
  autoscaling: {metric: concurrency, target: 4}
  resources: {requests: {cpu: "4", memory: 24Gi}, limits: {cpu: "8", memory: 32Gi}}
  gpu: {count: 1, class: l4}
""",
)

KNATIVE_FLAGS_FIX = (
    "set kubernetes.podspec-nodeselector: enabled, kubernetes.podspec-tolerations: enabled in ConfigMap "
    "config-features (namespace knative-serving) and declare clusterFeatures.knative {podspecNodeSelector: true, "
    "podspecTolerations: true} in mlgitops.yaml"
)
CANARY_FIX = (
    "use mode: Knative (canaryTrafficPercent splits traffic between revisions) or engine: deployment "
    "(the split is by replica count), or set trafficPercent: 0 for a dark launch"
)


pytestmark = pytest.mark.usefixtures("private_validate_cache")


def project(root: Path, extra: str = "", models: dict[str, str] | None = None) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(PROJECT + extra)
    for name, text in (models or {}).items():
        (root / "models" / f"{name}.yaml").write_text(text)
    return root


def position(path: Path, line_needle: str, value: str, root: Path) -> str:
    """`file:line:col` (relative to `root`) of `value` on the first line containing `line_needle`."""
    lines = path.read_text().splitlines()
    number = next(i for i, text in enumerate(lines, start=1) if line_needle in text)
    column = lines[number - 1].index(value, lines[number - 1].index(line_needle)) + 1
    return f"{path.relative_to(root).as_posix()}:{number}:{column}"


def refused(root: Path) -> list[str]:
    """Render a spec that must be refused: exit 1, nothing on stdout, one error per line, tree untouched."""
    before = snapshot_tree(root)
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert all(re.match(r"^[\w./-]+:\d+:\d+: \S", line) for line in lines), lines
    assert snapshot_tree(root) == before
    return lines


def built(root: Path, env: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The environment's final objects, from the real Kustomize over the committed overlay."""
    rendered = run_cli(["render"], cwd=root)
    assert rendered.exit_code == 0, rendered.stderr
    result = run_cli(["build", "--env", env], cwd=root)
    assert result.exit_code == 0, result.stderr
    objects = [o for o in yaml.safe_load_all(result.stdout) if o]
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def validate(root: Path, crds: Path, *args: str) -> CliResult:
    return run_cli(["validate", "--crds", str(crds), *args], cwd=root)


def findings(result: CliResult, policy: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if f"[{policy}]" in line]


def platform(root: Path, text: str) -> Path:
    """A hand-written object in base/platform (deployed to every environment)."""
    folder = root / "base" / "platform"
    folder.mkdir(parents=True)
    (folder / "kustomization.yaml").write_text("resources: [isvc.yaml]\n")
    (folder / "isvc.yaml").write_text(text)
    return folder / "isvc.yaml"


def hand_written_isvc(mode: str, predictor: str, annotations: str = "", spec_extra: str = "") -> str:
    return (
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"
        f"metadata:\n  name: hand\n  annotations:\n    serving.kserve.io/deploymentMode: {mode}\n{annotations}"
        "spec:\n  predictor:\n"
        "    model: {modelFormat: {name: sklearn}, storageUri: s3://models/hand/1/model,\n"
        "            resources: {limits: {cpu: '1', memory: 1Gi}},\n"
        "            securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false,\n"
        "                              capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}}\n"
        f"{predictor}{spec_extra}"
    )


# --- 1. Knative autoscaling metric ----------------------------------------------------------------


def test_switching_to_knative_keeps_cpu_autoscaling_refused_at_the_patch(tmp_path: Path) -> None:
    root = project(tmp_path / "r", models={"m": MODEL + "environments:\n  dev:\n    serving: {mode: Knative}\n"})
    model = root / "models" / "m.yaml"
    assert refused(root) == [
        f"{position(model, 'serving: {mode: Knative}', 'Knative', root)}: autoscaling on cpu with mode: Knative is "
        "refused by KServe's webhook, which admits only concurrency or rps for the Knative autoscaler; set "
        "serving.autoscaling to {metric: concurrency, target: N} (or rps) where the mode changes, or keep "
        "mode: Standard (in environment 'dev')"
    ]


def test_knative_from_project_defaults_is_blamed_on_mlgitops_yaml(tmp_path: Path) -> None:
    root = project(tmp_path / "r", models={"m": MODEL})
    text = (root / "mlgitops.yaml").read_text()
    (root / "mlgitops.yaml").write_text(
        text.replace(
            "- {name: dev, namespace: ml-dev}", "- {name: dev, namespace: ml-dev, defaults: {serving: {mode: Knative}}}"
        )
    )
    lines = refused(root)
    assert len(lines) == 1
    assert lines[0].startswith(position(root / "mlgitops.yaml", "defaults: {serving", "Knative", root) + ": ")
    assert "autoscaling on cpu with mode: Knative" in lines[0]


def test_a_metric_set_after_the_mode_is_blamed_on_the_metric(tmp_path: Path) -> None:
    text = MODEL.replace("mode: Standard", "mode: Knative").replace("metric: cpu", "metric: concurrency")
    text += "environments:\n  prod:\n    serving: {autoscaling: {metric: memory}}\n"
    root = project(tmp_path / "r", models={"m": text})
    lines = refused(root)
    assert len(lines) == 1
    assert lines[0].startswith(position(root / "models" / "m.yaml", "metric: memory", "memory", root) + ": ")
    assert lines[0].endswith("(in environment 'prod')")


def test_knative_with_concurrency_renders_the_knative_metric(tmp_path: Path) -> None:
    patch = "environments:\n  dev:\n    serving: {mode: Knative, autoscaling: {metric: concurrency, target: 10}}\n"
    root = project(tmp_path / "r", models={"m": MODEL + patch})
    isvc = built(root, "dev")[("InferenceService", "m")]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
    assert (isvc["spec"]["predictor"]["scaleMetric"], isvc["spec"]["predictor"]["scaleTarget"]) == ("concurrency", 10)
    prod = built(root, "prod")[("InferenceService", "m")]
    assert prod["spec"]["predictor"]["scaleMetric"] == "cpu"


def test_knative_hpa_class_admits_cpu(tmp_path: Path) -> None:
    # KServe sends a Knative InferenceService with Knative's HPA class to its HPA metric checks instead.
    text = MODEL.replace(
        "metadata: {name: m}",
        "metadata:\n  name: m\n  annotations:\n    autoscaling.knative.dev/class: hpa.autoscaling.knative.dev",
    )
    root = project(tmp_path / "r", models={"m": text.replace("mode: Standard", "mode: Knative")})
    isvc = built(root, "staging")[("InferenceService", "m")]
    assert isvc["spec"]["predictor"]["scaleMetric"] == "cpu"


def test_validate_finds_cpu_scale_metric_on_a_knative_platform_object(tmp_path: Path, crds_dir: Path) -> None:
    root = project(tmp_path / "r")
    isvc = platform(root, hand_written_isvc("Serverless", "    scaleMetric: cpu\n"))
    result = validate(root, crds_dir)
    assert result.exit_code == 1
    where = position(isvc, "scaleMetric: cpu", "cpu", root)
    assert findings(result, "knative-scale-metric") == [
        "error [knative-scale-metric] base/platform InferenceService/hand /spec/predictor/scaleMetric: scaleMetric "
        "cpu in Knative mode is refused at admission (KServe admits concurrency or rps unless the annotation "
        "autoscaling.knative.dev/class is hpa.autoscaling.knative.dev); set serving.autoscaling.metric to "
        f"concurrency or rps ({where})"
    ]
    # serving.kserve.io/autoscalerClass plays no part in Knative mode; Knative's own HPA class does.
    isvc.write_text(
        hand_written_isvc("Knative", "    scaleMetric: cpu\n", "    serving.kserve.io/autoscalerClass: hpa\n")
    )
    assert len(findings(validate(root, crds_dir), "knative-scale-metric")) == 1
    isvc.write_text(
        hand_written_isvc(
            "Knative", "    scaleMetric: cpu\n", "    autoscaling.knative.dev/class: hpa.autoscaling.knative.dev\n"
        )
    )
    result = validate(root, crds_dir, "--strict")
    assert result.exit_code == 0, result.stdout


# --- 2. Knative pod placement ---------------------------------------------------------------------


def test_gpu_class_on_knative_without_the_flags_is_refused_naming_them(tmp_path: Path) -> None:
    # Dev and staging declare the flags; prod is a stock install.
    flags = "  clusterFeatures: {knative: {podspecNodeSelector: true, podspecTolerations: true}}\n"
    text = PROJECT.replace("- {name: dev, namespace: ml-dev}\n", "- name: dev\n  namespace: ml-dev\n" + flags)
    text = text.replace(
        "- {name: staging, namespace: ml-staging}\n", "- name: staging\n  namespace: ml-staging\n" + flags
    )
    root = tmp_path / "r"
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(text)
    (root / "models" / "llm.yaml").write_text(LLM)
    assert refused(root) == [
        f"{position(root / 'models' / 'llm.yaml', 'gpu: {count: 1, class: l4}', 'l4', root)}: GPU class 'l4' places "
        "pods with nodeSelector and tolerations, which Knative refuses unless enabled: "
        f"{KNATIVE_FLAGS_FIX}; or serve in mode: Standard (in environment 'prod')"
    ]


def test_only_the_missing_flag_is_named(tmp_path: Path) -> None:
    root = project(tmp_path / "r", "clusterFeatures: {knative: {podspecNodeSelector: true}}\n", {"llm": LLM})
    lines = refused(root)
    assert len(lines) == 3  # one per environment, all at the GPU class
    for line in lines:
        assert "places pods with tolerations, which Knative refuses unless enabled: set " in line
        assert (
            "kubernetes.podspec-tolerations: enabled in ConfigMap config-features (namespace knative-serving)" in line
        )
        assert "nodeselector" not in line


def test_switching_a_gpu_model_to_knative_is_blamed_on_the_mode(tmp_path: Path) -> None:
    text = LLM.replace("mode: Knative", "mode: Standard").replace(
        "metric: concurrency, target: 4", "metric: cpu, target: 70"
    )
    text += "environments:\n  dev:\n    serving: {mode: Knative, autoscaling: {metric: concurrency}}\n"
    root = project(tmp_path / "r", models={"llm": text})
    lines = refused(root)
    assert len(lines) == 1
    model = root / "models" / "llm.yaml"
    assert lines[0].startswith(position(model, "serving: {mode: Knative", "Knative", root) + ": GPU class 'l4'")


def test_gpu_on_knative_with_the_flags_renders_placement_and_limits(tmp_path: Path) -> None:
    features = "clusterFeatures: {knative: {podspecNodeSelector: true, podspecTolerations: true}}\n"
    root = project(tmp_path / "r", features, {"llm": LLM})
    predictor = built(root, "prod")[("InferenceService", "llm")]["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert predictor["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_gpu_limits_and_standard_placement_need_no_flags(tmp_path: Path) -> None:
    standard = LLM.replace("mode: Knative", "mode: Standard").replace("metric: concurrency", "metric: cpu")
    no_class = LLM.replace("gpu: {count: 1, class: l4}", "gpu: {count: 1}").replace("name: llm", "name: plain")
    root = project(tmp_path / "r", models={"llm": standard, "plain": no_class})
    objects = built(root, "prod")
    assert objects[("InferenceService", "llm")]["spec"]["predictor"]["nodeSelector"] == {
        "nvidia.com/gpu.product": "NVIDIA-L4"
    }
    plain = objects[("InferenceService", "plain")]["spec"]["predictor"]
    assert "nodeSelector" not in plain and "tolerations" not in plain
    assert plain["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_flags_in_one_environment_only_place_pods_there(tmp_path: Path, crds_dir: Path) -> None:
    # The base is rendered for what every environment has (no flags): prod's overlay adds the placement.
    flags = "  clusterFeatures: {knative: {podspecNodeSelector: true, podspecTolerations: true}}\n"
    text = PROJECT.replace("- {name: prod, namespace: ml-prod}\n", "- name: prod\n  namespace: ml-prod\n" + flags)
    text = text.replace("namespace: ml-dev}", "namespace: ml-dev, allowEmpty: true}")
    text = text.replace("namespace: ml-staging}", "namespace: ml-staging, allowEmpty: true}")
    root = tmp_path / "r"
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(text)
    (root / "models" / "llm.yaml").write_text(
        LLM + "environments:\n  dev: {enabled: false}\n  staging: {enabled: false}\n"
    )
    predictor = built(root, "prod")[("InferenceService", "llm")]["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert predictor["tolerations"][0]["key"] == "nvidia.com/gpu"
    base = yaml.safe_load((root / "base" / "models" / "llm" / "inferenceservice-llm.yaml").read_text())
    assert "nodeSelector" not in base["spec"]["predictor"] and "tolerations" not in base["spec"]["predictor"]
    result = validate(root, crds_dir, "--strict")
    assert result.exit_code == 0, result.stdout


def test_validate_finds_placement_on_a_knative_platform_object(tmp_path: Path, crds_dir: Path) -> None:
    root = project(tmp_path / "r")
    predictor = "    nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4}\n    affinity: {}\n"
    isvc = platform(root, hand_written_isvc("Knative", predictor))
    result = validate(root, crds_dir)
    assert result.exit_code == 1
    assert findings(result, "knative-placement") == [
        "error [knative-placement] base/platform InferenceService/hand /spec/predictor/nodeSelector: nodeSelector in "
        "Knative mode is refused by Knative's webhook unless enabled: set kubernetes.podspec-nodeselector: enabled "
        "in ConfigMap config-features (namespace knative-serving) and declare clusterFeatures.knative "
        f"{{podspecNodeSelector: true}} in mlgitops.yaml ({position(isvc, 'nodeSelector', '{', root)})"
    ]
    # base/platform is deployed everywhere: a flag declared for one environment only is not enough.
    text = (root / "mlgitops.yaml").read_text()
    (root / "mlgitops.yaml").write_text(
        text.replace(
            "- {name: dev, namespace: ml-dev}",
            "- {name: dev, namespace: ml-dev, clusterFeatures: {knative: {podspecNodeSelector: true}}}",
        )
    )
    assert len(findings(validate(root, crds_dir), "knative-placement")) == 1
    (root / "mlgitops.yaml").write_text(text + "clusterFeatures: {knative: {podspecNodeSelector: true}}\n")
    result = validate(root, crds_dir, "--strict")
    assert result.exit_code == 0, result.stdout


# --- 3. Standard-mode canary ----------------------------------------------------------------------

CANARY = (
    "environments:\n  staging:\n    serving:\n"
    '      canary: {version: "4", storageUri: s3://models/m/4/model, trafficPercent: 10}\n'
)


def test_standard_canary_is_refused_at_the_canary(tmp_path: Path) -> None:
    root = project(tmp_path / "r", models={"m": MODEL + CANARY})
    assert refused(root) == [
        f"{position(root / 'models' / 'm.yaml', 'canary:', '10', root)}: KServe v0.20 gives a Standard-mode canary "
        "none of its 10%: it runs the canary's Deployment, but its ingress (Gateway API HTTPRoute or Ingress) routes "
        f"only to the stable predictor; {CANARY_FIX} (in environment 'staging')"
    ]


def test_standard_canary_is_refused_with_gateway_api_declared_too(tmp_path: Path) -> None:
    # KServe v0.20's HTTPRoute has one backend, the stable predictor (httproute_reconciler.go:224-242).
    gateway = "  clusterFeatures: {gatewayApi: true}\n"
    text = PROJECT.replace(
        "- {name: staging, namespace: ml-staging}\n", "- name: staging\n  namespace: ml-staging\n" + gateway
    )
    root = tmp_path / "r"
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(text)
    (root / "models" / "m.yaml").write_text(MODEL + CANARY)
    assert len(refused(root)) == 1


def test_dark_launch_knative_and_deployment_canaries_need_no_gateway_api(tmp_path: Path) -> None:
    dark = MODEL + CANARY.replace("trafficPercent: 10", "trafficPercent: 0")
    knative = (MODEL + CANARY).replace("mode: Standard", "mode: Knative").replace("metric: cpu", "metric: rps")
    plain = (MODEL + CANARY).replace("mode: Standard", "engine: deployment")
    root = project(
        tmp_path / "r",
        models={"m": dark, "k": knative.replace("name: m}", "name: k}"), "d": plain.replace("name: m}", "name: d}")},
    )
    objects = built(root, "staging")
    assert objects[("InferenceService", "m")]["spec"]["canary"][0]["trafficPercent"] == 0
    assert objects[("InferenceService", "k")]["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert objects[("HorizontalPodAutoscaler", "d-predictor-canary")]["spec"]["minReplicas"] >= 1


def test_validate_finds_a_standard_canary_without_gateway_api(tmp_path: Path, crds_dir: Path) -> None:
    root = project(tmp_path / "r")
    canary = (
        "  canary:\n  - trafficPercent: 20\n    predictor:\n      name: v2\n"
        "      model: {name: kserve-container, modelFormat: {name: sklearn}, storageUri: s3://models/hand/2/model,\n"
        "              resources: {limits: {cpu: '1', memory: 1Gi}},\n"
        "            securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false,\n"
        "                              capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}}\n"
    )
    isvc = platform(root, hand_written_isvc("RawDeployment", "", spec_extra=canary))
    result = validate(root, crds_dir)
    assert result.exit_code == 1
    assert findings(result, "standard-canary-ingress") == [
        "error [standard-canary-ingress] base/platform InferenceService/hand /spec/canary/0/trafficPercent: canary "
        "trafficPercent 20 is applied by no KServe v0.20 ingress (the HTTPRoute and the Ingress route only to the "
        f"stable predictor): the canary gets no traffic; {CANARY_FIX} "
        f"({position(isvc, 'trafficPercent: 20', '20', root)})"
    ]
    (root / "mlgitops.yaml").write_text(PROJECT + "clusterFeatures: {gatewayApi: true}\n")
    assert len(findings(validate(root, crds_dir), "standard-canary-ingress")) == 1


# --- the bundled example --------------------------------------------------------------------------


def test_bundled_example_validates_strictly(tmp_path: Path, crds_dir: Path) -> None:
    root = copy_example(tmp_path / "repo")
    result = validate(root, crds_dir, "--strict")
    assert result.exit_code == 0, result.stdout
    dev = built(root, "dev")[("InferenceService", "fraud-detector")]
    assert dev["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"
    assert dev["spec"]["predictor"]["scaleMetric"] == "concurrency"
    llm = built(root, "prod")[("InferenceService", "support-llm")]["spec"]["predictor"]
    assert llm["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}


def test_bundled_example_on_a_stock_cluster_is_refused(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "repo")
    project_file = root / "mlgitops.yaml"
    text = project_file.read_text()
    stock = re.sub(r"(?m)^clusterFeatures:\n(  .*\n)+", "", text)
    stock = re.sub(r"(?m)^  clusterFeatures:\n(    .*\n)+", "", stock)
    assert "clusterFeatures" not in stock
    project_file.write_text(stock)
    lines = refused(root)
    llm = root / "models" / "support-llm.yaml"
    # The staging canary runs on Knative (KServe splits Standard canaries not at all): no canary refusal.
    # Knative's placement flags and its request metrics (the models on Knative are monitored) remain.
    placement = [line for line in lines if "kubernetes.podspec-nodeselector: enabled" in line]
    metrics = [line for line in lines if "request-metrics-protocol: prometheus" in line]
    assert len(placement) + len(metrics) == len(lines)
    assert [line.split(": ", 1)[0] for line in placement] == [
        position(llm, "  gpu: {count: 1, class: l4}", "l4", root),
        position(llm, "  gpu: {count: 1, class: l4}", "l4", root),
        position(llm, "serving: {gpu: {count: 1, class: l4}", "l4", root),
    ]
    assert {line.split(": ", 1)[0].rsplit(":", 2)[0] for line in metrics} == {
        "models/fraud-detector.yaml",
        "models/support-llm.yaml",
    }


def test_the_real_cluster_page_names_each_feature_and_is_linked() -> None:
    repo = Path(__file__).resolve().parents[2]
    page = (repo / "docs" / "real-cluster.md").read_text()
    assert page.startswith("# Running on a real cluster\n")
    for needle in (
        "kubernetes.podspec-nodeselector",
        "kubernetes.podspec-tolerations",
        "kubernetes.podspec-affinity",
        "config-features",
        "enableGatewayApi",
        "inferenceservice-config",
        "nvidia.com/gpu.product",
        "knative-scale-metric",
        "knative-placement",
        "standard-canary-ingress",
    ):
        assert needle in page, needle
    assert "docs/real-cluster.md" in (repo / "README.md").read_text()
