"""Values Kubernetes, Argo or Git would refuse are refused at their spec line (language/kubevalues.py): the real
CLI (`render` and `validate`) on a copy of the bundled example, expecting exit 1, exactly one
`file:line:col: message` line per problem at the right position, no traceback and no change on disk."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import copy_example, run_cli, snapshot_tree

FRAUD = "models/fraud-detector.yaml"
CHURN = "models/churn-scorer.yaml"
LLM = "models/support-llm.yaml"
PROJECT = "mlgitops.yaml"


# --- end to end ----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    path: str
    old: str
    new: str
    needle: str  # the text the problem points at, searched from where `new` starts
    message: str


def position(text: str, start: int, needle: str) -> tuple[int, int]:
    index = text.index(needle, start)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


CASES = [
    Case(
        "label-key",
        FRAUD,
        "labels: {domain: payments}",
        'labels: {"bad key": payments}',
        '"bad key"',
        "not a valid key",
    ),
    Case(
        "label-value-newline",
        FRAUD,
        "labels: {domain: payments}",
        'labels: {domain: "pay\\nments"}',
        '"pay',
        "label value",
    ),
    Case(
        "label-value-100",
        FRAUD,
        "labels: {domain: payments}",
        "labels: {domain: " + "p" * 100 + "}",
        "ppp",
        "label value",
    ),
    Case(
        "annotation-key",
        CHURN,
        "  owner: team-growth",
        "  owner: team-growth\n  annotations: {a b: x}",
        "a b",
        "not a valid key",
    ),
    Case("model-name-too-long", FRAUD, "  name: fraud-detector", "  name: " + "f" * 54, "fff", "at most 53"),
    Case(
        "argocd-namespace",
        PROJECT,
        "  mode: plugin\n",
        "  mode: plugin\n  namespace: ../../etc\n",
        "../../etc",
        "DNS-1123 label",
    ),
    Case(
        "flux-namespace",
        PROJECT,
        "\nargocd:\n",
        "\nflux: {namespace: Flux_System}\nargocd:\n",
        "Flux_System",
        "DNS-1123 label",
    ),
    Case("revision-newline", PROJECT, "revision: main", 'revision: "main\\nx"', '"main', "Git revision"),
    Case("revision-dotdot", PROJECT, "revision: main", "revision: main..dev", "main..dev", "Git revision"),
    Case(
        "cluster-not-url",
        PROJECT,
        "  namespace: ml-prod\n  cluster: https://kubernetes.default.svc",
        "  namespace: ml-prod\n  cluster: not a url",
        "not a url",
        "not a URL",
    ),
    Case(
        "cluster-http",
        PROJECT,
        "  namespace: ml-prod\n  cluster: https://kubernetes.default.svc",
        "  namespace: ml-prod\n  cluster: http://kubernetes.default.svc",
        "http://",
        "https://",
    ),
    Case(
        "image-newline",
        FRAUD,
        "  image: ghcr.io/acme/fraud-train@sha256:3f1c0e1b6a1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e",
        '  image: "ghcr.io/acme/fraud-train\\n"',
        '"ghcr',
        "image reference",
    ),
    Case(
        "step-image-newline",
        FRAUD,
        "{name: prepare, command",
        '{name: prepare, image: "python:3.12\\nx", command',
        '"python',
        "image reference",
    ),
    Case(
        "training-image-space",
        FRAUD,
        "ghcr.io/acme/fraud-train@sha256",
        "ghcr.io/acme/fraud train@sha256",
        "ghcr.io",
        "image reference",
    ),
    Case(
        "serving-image-space",
        CHURN,
        "  engine: deployment",
        "  engine: deployment\n  image: kserve/xgb server:1",
        "kserve/xgb",
        "image reference",
    ),
    Case(
        "replicas-max-huge",
        FRAUD,
        "replicas: {min: 1, max: 4}",
        "replicas: {min: 1, max: 99999999999999999999}",
        "99999",
        "32-bit",
    ),
    Case(
        "autoscaling-target-huge",
        FRAUD,
        "autoscaling: {metric: cpu, target: 70}",
        "autoscaling: {metric: cpu, target: 3000000000}",
        "3000000000",
        "32-bit",
    ),
    Case(
        "gpu-count-huge",
        LLM,
        "gpu: {count: 1, class: l4}\ntraining",
        "gpu: {count: 4294967296, class: l4}\ntraining",
        "4294967296",
        "32-bit",
    ),
    Case(
        "quantity-negative",
        FRAUD,
        'requests: {cpu: "1", memory: 2Gi}',
        'requests: {cpu: "-1", memory: 2Gi}',
        '"-1"',
        "negative",
    ),
    Case(
        "quantity-too-large",
        FRAUD,
        'requests: {cpu: "1", memory: 2Gi}',
        'requests: {cpu: "1", memory: 9Ei}',
        "9Ei",
        "2^63-1",
    ),
    Case(
        "resource-name",
        FRAUD,
        'requests: {cpu: "1", memory: 2Gi}',
        'requests: {cpu: "1", gpu: "1"}',
        "gpu",
        "not a container resource",
    ),
    Case(
        "service-account",
        FRAUD,
        "  serviceAccount: model-reader",
        "  serviceAccount: Model_Reader",
        "Model_Reader",
        "DNS-1123 subdomain",
    ),
    Case(
        "env-name",
        FRAUD,
        "command: [python, -m, fraud.prepare],",
        'command: [python, -m, fraud.prepare], env: {"A=B": x},',
        '"A=B"',
        "environment variable name",
    ),
    Case("parameter-name", FRAUD, "parameters: {data-uri:", "parameters: {data.uri:", "data.uri", "parameter name"),
    Case("cron-minute", FRAUD, 'schedule: "0 3 * * 1"', 'schedule: "61 25 * * *"', '"61', "minute field '61'"),
    Case("cron-words", FRAUD, 'schedule: "0 3 * * 1"', 'schedule: "every day"', '"every', "exactly 5 fields"),
    Case(
        "cron-in-list",
        FRAUD,
        'schedule: "0 3 * * 1"',
        'schedule: ["0 3 * * 1", "0 3 * * 8"]',
        '"0 3 * * 8"',
        "day-of-week",
    ),
    Case("timezone", LLM, "timezone: Europe/Berlin", "timezone: Europe/Berln", "Europe/Berln", "IANA time zone"),
    Case(
        "gpu-resource",
        PROJECT,
        "  a100:\n    resource: nvidia.com/gpu",
        "  a100:\n    resource: gpu",
        "gpu",
        "extended resource",
    ),
    Case(
        "node-selector-value",
        PROJECT,
        "nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4}",
        "nodeSelector: {nvidia.com/gpu.product: NVIDIA L4}",
        "NVIDIA L4",
        "label value",
    ),
    Case(
        "node-selector-key",
        PROJECT,
        "nodeSelector: {nvidia.com/gpu.product: NVIDIA-L4}",
        "nodeSelector: {nvidia com/gpu: NVIDIA-L4}",
        "nvidia com",
        "DNS-1123 subdomain",
    ),
    Case(
        "toleration-key",
        PROJECT,
        "tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]\n  l4",
        "tolerations: [{key: nvidia.com/g pu, operator: Exists, effect: NoSchedule}]\n  l4",
        "nvidia.com/g pu",
        "not a valid key",
    ),
    Case(
        "toleration-seconds",
        PROJECT,
        "tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]\n  l4",
        "tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoExecute, tolerationSeconds: 1"
        + "0" * 30
        + "}]\n  l4",
        "1000",
        "64-bit",
    ),
    Case(
        "flux-interval-too-long",
        PROJECT,
        "\nargocd:\n",
        "\nflux: {interval: 9999999h}\nargocd:\n",
        "9999999h",
        "Go duration",
    ),
    Case(
        "override-in-env-patch",
        FRAUD,
        "    serving: {replicas: {min: 3, max: 10}}",
        "    serving: {replicas: {min: 3, max: 10000000000}}",
        "10000000000",
        "in environment 'prod'",
    ),
]


def _edit(repo: Path, case: Case) -> tuple[int, int]:
    path = repo / case.path
    text = path.read_text()
    assert case.old in text, case.old
    start = text.index(case.old)
    text = text.replace(case.old, case.new, 1)
    path.write_text(text)
    return position(text, start, case.needle)


def _assert_one_problem(stderr: str, where: str, message: str) -> None:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(where + ": "), (where, stderr)
    assert message in lines[0], stderr
    assert re.fullmatch(r"[\w./-]+:\d+:\d+: .+", lines[0]), lines[0]


@pytest.mark.parametrize("command", [["render"], ["validate"]])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refused_value_is_reported_at_its_line(tmp_path: Path, case: Case, command: list[str]) -> None:
    repo = copy_example(tmp_path / "repo")
    line, column = _edit(repo, case)
    before = snapshot_tree(repo)
    result = run_cli(command, cwd=repo)
    assert result.exit_code == 1, result.stderr
    assert result.stdout == ""
    _assert_one_problem(result.stderr, f"{case.path}:{line}:{column}", case.message)
    assert snapshot_tree(repo) == before


def test_scheduled_model_name_must_leave_room_for_argo(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    long_name = "f" * 47  # `<name>-train` is 53 characters; Argo accepts 52 for a CronWorkflow
    source = repo / FRAUD
    text = source.read_text().replace("  name: fraud-detector", f"  name: {long_name}", 1)
    source.unlink()
    (repo / "models" / f"{long_name}.yaml").write_text(text)
    before = snapshot_tree(repo)
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1, result.stderr
    _assert_one_problem(result.stderr, f"models/{long_name}.yaml:6:9", "at most 52")
    assert snapshot_tree(repo) == before
    # Without a schedule the same name is fine (no CronWorkflow is rendered).
    (repo / "models" / f"{long_name}.yaml").write_text(text.replace('  schedule: "0 3 * * 1"\n', ""))
    assert run_cli(["render", "--check"], cwd=repo).exit_code in (0, 1)
    result = run_cli(["validate"], cwd=repo)
    assert "at most 52" not in result.stderr


def test_several_problems_one_line_each(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    path = repo / FRAUD
    text = path.read_text()
    text = text.replace("labels: {domain: payments}", 'labels: {"bad key": "pay\\nments"}')
    text = text.replace('schedule: "0 3 * * 1"', 'schedule: "every day"')
    path.write_text(text)
    before = snapshot_tree(repo)
    result = run_cli(["validate"], cwd=repo)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ")[0] for line in lines] == [f"{FRAUD}:8:12", f"{FRAUD}:8:23", f"{FRAUD}:26:13"], lines
    assert snapshot_tree(repo) == before


def test_accepted_values_still_render(tmp_path: Path) -> None:
    """Edge values on the accepting side of each rule render and validate."""
    repo = copy_example(tmp_path / "repo")
    path = repo / FRAUD
    text = path.read_text()
    text = text.replace("labels: {domain: payments}", "labels: {domain: payments, example.com/tier: " + "t" * 63 + "}")
    text = text.replace(
        'schedule: "0 3 * * 1"', 'schedule: ["0 3 * * MON-FRI", "@every 12h", "*/15 0-6 1,15 JAN-MAR *"]'
    )
    text = text.replace("  serviceAccount: model-reader", "  serviceAccount: model.reader")
    text = text.replace("replicas: {min: 1, max: 4}", "replicas: {min: 1, max: 2147483647}")
    path.write_text(text)
    project = repo / PROJECT
    project.write_text(project.read_text().replace("revision: main", "revision: refs/tags/v1.2"))
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 0, result.stderr
    template = (repo / "base/models/fraud-detector/cronworkflow-fraud-detector-train.yaml").read_text()
    assert "@every 12h" in template
