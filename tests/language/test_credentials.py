"""Credentials written into a spec are refused at their line, and never printed (credentials.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlgitops.language.credentials import holds_literal, is_credential_name, mask_uri, uri_credentials
from tests.conftest import copy_example, run_cli, snapshot_tree

FRAUD = "models/fraud-detector.yaml"
PROJECT = "mlgitops.yaml"
SECRET = "wJalrXUtnFEMI-K7MDENG"  # every refused case below contains it; no output may


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "DB_PASSWORD",
        "PASSWORD",
        "postgres-password",
        "HF_TOKEN",
        "hf-token",
        "GITHUB_TOKEN",
        "OPENAI_API_KEY",
        "WANDB_APIKEY",
        "AZURE_STORAGE_KEY",
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_CLIENT_SECRET",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "MY_SECRET_VALUE",
        "SECRET",
        "SSH_PRIVATE_KEY",
        "GPG_PASSPHRASE",
    ],
)
def test_credential_names(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "TOKENIZER",
        "MAX_TOKENS",
        "DATA_URI",
        "SECRET_NAME",
        "DB_PASSWORD_FILE",
        "AWS_ROLE_ARN",
        "TOKEN_URL",
        "PATH",
        "KEY",
        "PRIMARY_KEY_COLUMN",
        "SECRETARY",
        "MLGITOPS_INPUT_DIR",
    ],
)
def test_names_that_are_not_credentials(name: str) -> None:
    assert not is_credential_name(name)


def test_uri_credentials_and_masking() -> None:
    assert uri_credentials("s3://KEY:SECRET@bucket/model") == "KEY:SECRET"
    assert uri_credentials("https://user:token@github.com/acme/repo.git") == "user:token"
    assert uri_credentials("https://ghp_abc@github.com/acme/repo.git") == "ghp_abc"
    assert uri_credentials("https://u:p@ss@host/x") == "u:p@ss"  # the authority's last '@' ends the user info
    assert uri_credentials("--data=gs://k:s@bucket/x and more") == "k:s"
    assert uri_credentials("ssh://git:pw@host/x") == "git:pw"
    for clean in (
        "s3://bucket/model",
        "ssh://git@github.com/acme/repo.git",
        "git@github.com:acme/repo.git",
        "https://host/path@v1",
        "https://host/x?u=a@b",
        "mailto:a@b.c",
        "https://@host/x",
        "",
    ):
        assert uri_credentials(clean) is None, clean
    assert mask_uri("s3://KEY:SECRET@bucket/m") == "s3://***@bucket/m"
    assert mask_uri("a https://u:p@h/x b s3://k@b/y") == "a https://***@h/x b s3://***@b/y"
    assert mask_uri("ssh://git@host/x") == "ssh://git@host/x"
    assert mask_uri("no uri here") == "no uri here"


def test_references_are_not_literals() -> None:
    for reference in (
        "$(DB_PASSWORD)",
        "{{workflow.parameters.token}}",
        "${TOKEN}",
        "$TOKEN",
        "/var/run/secrets/t",
        "",
    ):
        assert not holds_literal(reference), reference
    for literal in ("hunter2", '{"type": "service_account"}', "$(A) and text", "token /path"):
        assert holds_literal(literal), literal


# --- end to end ----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    path: str
    old: str
    new: str
    needle: str
    message: str


CASES = [
    Case(
        "storage-uri",
        FRAUD,
        "storageUri: s3://ml-models/fraud-detector/7/model",
        f"storageUri: s3://AKIAEXAMPLE:{SECRET}@ml-models/fraud-detector/7/model",
        "s3://AKIA",
        "s3://***@ml-models",
    ),
    Case(
        "canary-storage-uri-in-patch",
        FRAUD,
        'canary: {version: "8", storageUri: s3://ml-models/fraud-detector/8/model',
        f'canary: {{version: "8", storageUri: s3://k:{SECRET}@ml-models/fraud-detector/8/model',
        "s3://k",
        "in environment 'staging'",
    ),
    Case(
        "registry",
        FRAUD,
        "registry: models:/fraud-detector/7",
        f"registry: https://admin:{SECRET}@mlflow.example.com/models/fraud-detector/7",
        "https://admin",
        "credential",
    ),
    Case(
        "repo-url-password",
        PROJECT,
        "repoURL: https://github.com/acme/ml-config.git",
        f"repoURL: https://ci:{SECRET}@github.com/acme/ml-config.git",
        "https://ci",
        "https://***@github.com",
    ),
    Case(
        "repo-url-token-as-user",
        PROJECT,
        "repoURL: https://github.com/acme/ml-config.git",
        f"repoURL: https://ghp_{SECRET}@github.com/acme/ml-config.git",
        "https://ghp",
        "Secret",
    ),
    Case(
        "step-env-aws-secret",
        FRAUD,
        "{name: prepare, command",
        f"{{name: prepare, env: {{AWS_SECRET_ACCESS_KEY: {SECRET}}}, command",
        SECRET,
        "variable 'AWS_SECRET_ACCESS_KEY' holds a literal credential",
    ),
    Case(
        "step-env-password",
        FRAUD,
        "{name: prepare, command",
        f'{{name: prepare, env: {{DB_PASSWORD: "{SECRET}"}}, command',
        f'"{SECRET}',
        "ServiceAccount",
    ),
    Case(
        "step-env-uri",
        FRAUD,
        "{name: prepare, command",
        f"{{name: prepare, env: {{SOURCE: 's3://k:{SECRET}@bucket/x'}}, command",
        "'s3://",
        "s3://***@bucket",
    ),
    Case(
        "google-credentials-content",
        FRAUD,
        "{name: prepare, command",
        f'{{name: prepare, env: {{GOOGLE_APPLICATION_CREDENTIALS: \'{{"private_key": "{SECRET}"}}\'}}, command',
        "'{",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ),
    Case(
        "parameter-token",
        FRAUD,
        'parameters: {data-uri: "s3://ml-data/fraud/2026-08/"}',
        f'parameters: {{data-uri: "s3://ml-data/fraud/2026-08/", hf-token: {SECRET}}}',
        SECRET,
        "parameter 'hf-token'",
    ),
    Case(
        "parameter-uri",
        FRAUD,
        'parameters: {data-uri: "s3://ml-data/fraud/2026-08/"}',
        f'parameters: {{data-uri: "s3://AKIA:{SECRET}@ml-data/fraud/2026-08/"}}',
        '"s3://',
        "s3://***@ml-data",
    ),
    Case(
        "args-uri",
        FRAUD,
        "command: [python, -m, fraud.prepare]",
        f"command: [python, -m, fraud.prepare], args: ['--db=postgres://u:{SECRET}@db/x']",
        "'--db",
        "postgres://***@db",
    ),
]


def _edit(repo: Path, case: Case) -> tuple[int, int]:
    path = repo / case.path
    text = path.read_text()
    assert case.old in text, case.old
    start = text.index(case.old)
    text = text.replace(case.old, case.new, 1)
    path.write_text(text)
    index = text.index(case.needle, start)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


@pytest.mark.parametrize("command", [["render"], ["validate"], ["render", "--check"]])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_credential_is_refused_at_its_line_and_never_shown(tmp_path: Path, case: Case, command: list[str]) -> None:
    repo = copy_example(tmp_path / "repo")
    line, column = _edit(repo, case)
    before = snapshot_tree(repo)
    result = run_cli(command, cwd=repo)
    assert result.exit_code == 1, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.fullmatch(r"[\w./-]+:\d+:\d+: .+", lines[0]), lines[0]
    assert lines[0].startswith(f"{case.path}:{line}:{column}: "), (line, column, result.stderr)
    assert case.message in lines[0], result.stderr
    assert SECRET not in result.stderr
    assert snapshot_tree(repo) == before


def test_references_to_secrets_are_accepted(tmp_path: Path) -> None:
    """Names that describe a secret, values that refer to one, and ssh user names all render."""
    repo = copy_example(tmp_path / "repo")
    path = repo / FRAUD
    env = (
        "env: {GOOGLE_APPLICATION_CREDENTIALS: /var/secrets/google/key.json, DB_PASSWORD: $(DB_PASSWORD_FROM_SECRET), "
        "HF_TOKEN: '{{workflow.parameters.hf-token-ref}}', SECRET_NAME: model-store, TOKENIZER: bert-base}"
    )
    path.write_text(path.read_text().replace("{name: prepare, command", "{name: prepare, " + env + ", command"))
    project = repo / PROJECT
    project.write_text(
        project.read_text().replace(
            "repoURL: https://github.com/acme/ml-config.git", "repoURL: git@github.com:acme/ml-config.git"
        )
    )
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 0, result.stderr
    template = (repo / "base/models/fraud-detector/workflowtemplate-fraud-detector-train.yaml").read_text()
    assert "/var/secrets/google/key.json" in template


HOSTILE = r"""
import resource, time
resource.setrlimit(resource.RLIMIT_CPU, (120, 120))  # a safety net so a quadratic rule cannot hang the suite
resource.setrlimit(resource.RLIMIT_AS, (512 * 2**20, 512 * 2**20))
from mlgitops.language import credentials, kubevalues as kv
def texts(size):
    return ["a" * size, "a://" * (size // 4), "s3://" + "k" * size + "@", "-" * size, "1" * size + "x",
            "a." * (size // 2) + "!", "a/" * (size // 2), "$(" * (size // 2), "{{" * (size // 2), "_" * size]
rules = [credentials.uri_credentials, credentials.mask_uri, credentials.is_credential_name,
         credentials.holds_literal, kv.qualified_name, kv.label_value, kv.dns1123_subdomain, kv.quantity,
         kv.image_reference, kv.git_ref, kv.https_url, kv.cron_schedule, kv.timezone, kv.env_var_name,
         kv.argo_parameter_name, kv.container_resource_name, kv.go_duration_nanoseconds]
def cpu(rule, size):
    inputs = texts(size)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for text in inputs:
            rule(text)
        best = min(best, time.process_time() - start)
    return best
for rule in rules:
    small, big = cpu(rule, 2**18), cpu(rule, 2**20)
    print(rule.__name__, small, big)
"""


def test_rules_stay_linear_on_megabyte_inputs() -> None:
    """Every rule on hostile strings of 256 KiB and 1 MiB: four times the input may cost about four times the
    CPU time, never sixteen (a quadratic rule). CPU time, best of three, as a ratio: the machine's speed and
    load cancel out. Below 20 ms at 1 MiB a rule is linear whatever the ratio says (a quadratic one would
    take minutes), so timer noise on fast rules cannot fail the test."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", HOSTILE], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = {
        name: (float(small), float(big)) for name, small, big in (line.split() for line in proc.stdout.splitlines())
    }
    assert len(figures) == 17
    superlinear = {
        name: round(big / small, 1) for name, (small, big) in figures.items() if big >= 0.02 and big > 8 * small
    }
    assert superlinear == {}, figures


@pytest.mark.parametrize("model", [None, "fraud-detector"])
@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (
            "storageUri: s3://ml-models/fraud-detector/7/model",
            f"storageUri: s3://AKIAEXAMPLE:{SECRET}@ml-models/fraud-detector/7/model",
            f"{FRAUD}:12:15: model.storageUri:",
        ),
        ('schedule: "0 3 * * 1"', 'schedule: "61 25 * * *"', f"{FRAUD}:26:13: training.schedule:"),
    ],
)
def test_argocd_plugin_refuses_the_same_values(
    tmp_path: Path, model: str | None, old: str, new: str, fragment: str
) -> None:
    """`cmp generate`, run the way argocd-cmp-server runs it, fails with the same one positioned line."""
    import sys

    from cmp_harness import AppRequest, Parameter, generate, load_plugin
    from tests.conftest import REPO

    repo = copy_example(tmp_path / "repo")
    path = repo / FRAUD
    path.write_text(path.read_text().replace(old, new, 1))
    home_blocker = tmp_path / "regular-file"
    home_blocker.write_text("")
    sidecar_tmp = tmp_path / "sidecar-tmp"
    sidecar_tmp.mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(home_blocker / "home"),
        "TMPDIR": str(sidecar_tmp),
        "LANG": "C.UTF-8",
    }
    params = [Parameter("environment", string="prod")]
    if model:
        params.append(Parameter("model", string=model))
    request = AppRequest(
        repo_dir=repo,
        app_path=".",
        app_name="acme-ml",
        app_namespace="ml-prod",
        project_name="acme-ml",
        repo_url="https://github.com/acme/ml-config.git",
        parameters=params,
    )
    before = snapshot_tree(repo)
    result = generate(
        load_plugin(REPO / "plugins" / "argocd" / "plugin.yaml"),
        request,
        sidecar_env=env,
        workdir=tmp_path / "cmp-work",
        deadline_s=60,
    )
    assert result.error is not None and result.objects == [] and result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert fragment in message, message
    assert SECRET not in message and SECRET not in (result.error or "")
    assert snapshot_tree(repo) == before
