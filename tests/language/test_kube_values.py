"""Values Kubernetes, Argo or Git would refuse are refused at their spec line (kubevalues.py).

Unit tests give each rule values it must accept and values it must refuse; the end-to-end cases run
the real CLI (`render` and `validate`) on a copy of the bundled example and expect exit 1, exactly one
`file:line:col: message` line per problem at the right position, no traceback and no change on disk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlgitops.language import kubevalues as kv
from tests.conftest import copy_example, run_cli, snapshot_tree

FRAUD = "models/fraud-detector.yaml"
CHURN = "models/churn-scorer.yaml"
LLM = "models/support-llm.yaml"
PROJECT = "mlgitops.yaml"


def accepts(rule: Callable[[str], str | None], values: list[str]) -> None:
    for value in values:
        assert rule(value) is None, (value, rule(value))


def refuses(rule: Callable[[str], str | None], values: list[str]) -> None:
    for value in values:
        message = rule(value)
        assert message, value
        assert "\n" not in message, message  # the value is quoted, never printed raw


# --- unit level ----------------------------------------------------------------------------------


def test_label_keys_and_annotation_keys() -> None:
    accepts(kv.qualified_name, ["domain", "app.kubernetes.io/name", "a", "A_b.c-9", "example.com/" + "x" * 63])
    refuses(
        kv.qualified_name,
        ["bad key", "", "-a", "a-", "x" * 64, "/name", "Example.com/name", "a/b/c", "domain/", "ünïcode", "a\nb"],
    )
    refuses(kv.qualified_name, ["a" * 254 + "/name"])  # the prefix is a subdomain of at most 253


def test_label_values() -> None:
    accepts(kv.label_value, ["", "payments", "v1.2.3", "A_b-c", "x" * 63])
    refuses(kv.label_value, ["pay\nments", "x" * 64, "x" * 100, "-a", "a.", "with space", "a/b"])


def test_annotation_total_size() -> None:
    assert kv.annotations_size({"a": "x" * 1000}) is None
    assert kv.annotations_size({"a": "x" * (256 * 1024 - 1)}) is None
    assert "256 KiB" in (kv.annotations_size({"a": "x" * (256 * 1024)}) or "")
    # Multi-byte characters count in bytes, as the API server counts them.
    assert kv.annotations_size({"a": "é" * (128 * 1024)}) is not None


def test_dns_names() -> None:
    accepts(kv.dns1123_label, ["argocd", "flux-system", "a", "0abc", "x" * 63])
    refuses(kv.dns1123_label, ["../../etc", "Flux", "a_b", "-a", "a-", "x" * 64, "", "a.b"])
    accepts(kv.dns1123_subdomain, ["model-reader", "my.sa", "a" * 253])
    refuses(kv.dns1123_subdomain, ["My-SA", "a..b", ".a", "a" * 254, "", "a b"])
    accepts(lambda v: kv.dns1035_label(v, 53), ["fraud-detector", "a" * 53])
    refuses(lambda v: kv.dns1035_label(v, 53), ["7up", "a" * 54, "a-"])


def test_integer_ranges() -> None:
    assert kv.int32(2**31 - 1) is None
    assert kv.int32(99999999999999999999) is not None
    assert kv.int32(2**31) is not None
    assert kv.int64(2**63 - 1) is None
    assert kv.int64(2**63) is not None


def test_quantities_follow_the_apimachinery_parser() -> None:
    accepts(
        kv.quantity,
        [
            "0",
            "1",
            "500m",
            "2Gi",
            "1.5",
            ".5",
            "1.",
            "+1",
            "1e3",
            "1E3",
            "1e+3",
            "1e-3",
            "100n",
            "3u",
            "9.2E",
            "9223372036854775807",
            "0.000000001",
            "7Ei",
        ],
    )
    refuses(
        kv.quantity,
        [
            "2 GB",
            "1gi",
            "1K",
            "1KiB",
            "",
            ".",
            "e3",
            "1e",
            "1.2.3",
            "-1",
            "-500m",
            "1e400",
            "1e4294967296",
            "9223372036854775808",
            "8Ei",
            "9Ei",
            "10E",
            "0x10",
            "1_000",
            "１",
        ],
    )


def test_hostile_sizes_are_refused_with_a_message() -> None:
    """Values far beyond any limit are refused by the rule itself, never by an exception inside it."""
    for value in ("1e" + "9" * 5000, "1e-" + "9" * 5000, "1" * 5000, "1Ki" + "9" * 50):
        assert kv.quantity(value), value
    assert kv.image_reference("a/" * 5000 + "a")
    assert kv.cron_schedule("*/" + "1" * 5000 + " * * * *")
    assert kv.cron_schedule("@every " + "9" * 5000 + "h")
    assert kv.git_ref("a/" * 50000)


def test_spec_durations_beyond_go_are_refused_without_a_traceback() -> None:
    from pydantic import ValidationError

    from mlgitops.language.project import FluxSettings

    assert FluxSettings.model_validate({"interval": "2562047h"}).interval == "2562047h"  # just under 2^63 ns
    for value in ("2562048h", "9" * 5000 + "h"):
        with pytest.raises(ValidationError) as caught:
            FluxSettings.model_validate({"interval": value})
        assert "too long" in str(caught.value) or "Go duration" in str(caught.value)


def test_container_resource_names() -> None:
    accepts(kv.container_resource_name, ["cpu", "memory", "ephemeral-storage", "hugepages-2Mi", "nvidia.com/gpu"])
    refuses(kv.container_resource_name, ["gpu", "CPU", "storage", "kubernetes.io/x y", "bad key/x", "requests.a/b"])
    accepts(kv.extended_resource_name, ["nvidia.com/gpu", "amd.com/gpu", "example.com/fpga-1"])
    refuses(kv.extended_resource_name, ["gpu", "kubernetes.io/gpu", "nvidia.com/", "nvidia.com/" + "g" * 64, "a b/c"])


def test_env_var_names_follow_the_relaxed_kubernetes_rule() -> None:
    accepts(kv.env_var_name, ["PATH", "my.env-name", "1LEADING_DIGIT", "with space", "a:b"])
    refuses(kv.env_var_name, ["", "A=B", "tab\tname", "new\nline", "ümlaut"])


def test_argo_parameter_names() -> None:
    accepts(kv.argo_parameter_name, ["data-uri", "base_model", "x1"])
    refuses(kv.argo_parameter_name, ["data.uri", "a b", "", "ä"])


def test_git_revisions_follow_check_ref_format() -> None:
    accepts(kv.git_ref, ["main", "HEAD", "refs/tags/v1.2", "release/2026-11", "a" * 40, "feature@x"])
    refuses(
        kv.git_ref,
        [
            "main\nx",
            "",
            "a..b",
            "a b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[b",
            "a\\b",
            "/main",
            "main/",
            "main.",
            "a//b",
            "@",
            "a@{1}",
            ".hidden",
            "x/.y",
            "a.lock",
            "x/a.lock",
            "del\x7f",
        ],
    )


def test_image_references_follow_the_distribution_grammar() -> None:
    accepts(
        kv.image_reference,
        [
            "python",
            "python:3.12",
            "ghcr.io/acme/fraud-train@sha256:" + "a" * 64,
            "localhost:5000/x/y:tag",
            "registry.example.com:443/a/b_c__d---e.f:v1",
            "[::1]:5000/img",
            "kserve/sklearnserver:v0.20.0",
            "a/b:tag@sha256:" + "0" * 64,
        ],
    )
    refuses(
        kv.image_reference,
        [
            "ghcr.io/acme/img\n",
            "python 3",
            "",
            "Acme/Img",
            "img:",
            "img:-tag",
            "img@sha256:abc",
            "img:" + "t" * 129,
            "img@sha256:" + "a" * 63,
            "a/" + "b" * 260,
            "http://registry/img",
            "img::tag",
            " img",
        ],
    )


def test_cluster_urls() -> None:
    accepts(kv.https_url, ["https://kubernetes.default.svc", "https://10.0.0.1:6443", "https://h.example.com/k8s/c1"])
    refuses(
        kv.https_url,
        [
            "not a url",
            "http://kubernetes.default.svc",
            "https://",
            "kubernetes.default.svc",
            "https://u:p@host",
            "https://host:99999",
            "https://host\n",
            "https://host/?x=1",
        ],
    )


@pytest.mark.parametrize(
    "schedule",
    [
        "0 3 * * 1",
        "*/15 * * * *",
        "0 0 1 JAN,jul *",
        "0 9-17/2 * * MON-FRI",
        "5 4 * * sun",
        "0 0 ? * *",
        "@daily",
        "@hourly",
        "@yearly",
        "@every 1h30m",
        "@every 90s",
        "0,30 * 1-31 1-12 0-6",
        "7/5 * * * *",
    ],
)
def test_cron_schedules_argo_accepts(schedule: str) -> None:
    assert kv.cron_schedule(schedule) is None


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ("61 25 * * *", "minute field '61'"),
        ("0 25 * * *", "hour field '25'"),
        ("0 0 0 * *", "day-of-month field '0'"),
        ("0 0 1 13 *", "month field '13'"),
        ("0 0 * * 7", "day-of-week field '7'"),
        ("0 0 * * MOX", "day-of-week field 'MOX'"),
        ("0 0 * JAN-XYZ *", "month field"),
        ("*/0 * * * *", "step must be positive"),
        ("5-1 * * * *", "starts after it ends"),
        ("1/2/3 * * * *", "more than one '/'"),
        ("every day", "exactly 5 fields"),
        ("0 3 * * 1 2026", "found 6"),
        ("0 3 * *", "found 4"),
        ("@often", "not a cron descriptor"),
        ("@every day", "Go duration"),
        ("@every -1h", "positive"),
        ("CRON_TZ=UTC 0 3 * * *", "training.timezone"),
        ("", "must not be empty"),
        ("-1 * * * *", "minute field"),
    ],
)
def test_cron_schedules_argo_refuses(schedule: str, fragment: str) -> None:
    message = kv.cron_schedule(schedule)
    assert message is not None and fragment in message, message


def test_time_zones() -> None:
    accepts(kv.timezone, ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"])
    refuses(kv.timezone, ["Local", "../etc/passwd", "/etc/localtime", "Europe/Berln", "Mars/Olympus", "Europe", ""])


def test_go_durations() -> None:
    assert kv.go_duration_nanoseconds("1h30m") == 5400 * 10**9
    assert kv.go_duration_nanoseconds("1.5h") == 5400 * 10**9
    assert kv.go_duration_nanoseconds("300ms") == 3 * 10**8
    assert kv.go_duration_nanoseconds("0") == 0
    assert kv.go_duration_nanoseconds("-1s") == -(10**9)
    for bad in ("", "1", "1d", "h", "1h 30m", "3000000h", "--1s", "+-1s", "1.2.3s"):
        assert kv.go_duration_nanoseconds(bad) is None, bad
    assert kv.duration_range(3600) is None
    assert kv.duration_range(10**12) is not None


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


def test_tolerations_follow_kubernetes_validation() -> None:
    from pydantic import ValidationError

    from mlgitops.language.project import Toleration

    accepted = [
        {"operator": "Exists"},
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "ml", "effect": "NoExecute", "tolerationSeconds": 300},
    ]
    for data in accepted:
        Toleration.model_validate(data)
    refused = [
        ({"value": "ml"}, "without a key"),
        ({"key": "a", "operator": "Exists", "value": "ml"}, "must not have a value"),
        ({"key": "a", "effect": "NoSchedule", "tolerationSeconds": 5}, "NoExecute"),
        ({"key": "a", "value": "m l"}, "label value"),
        ({"key": "a b", "operator": "Exists"}, "not a valid key"),
        ({"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2**63}, "64-bit"),
    ]
    for data, fragment in refused:
        with pytest.raises(ValidationError) as caught:
            Toleration.model_validate(data)
        assert fragment in str(caught.value), (data, str(caught.value))
