"""`diff`'s ML summary shows changes of serving args, env names (never values), transformer and logger."""

from __future__ import annotations

import re
from pathlib import Path

from tests.delivery.test_diff import as_json, commit_all, diff, edit, git, repo, scratch_tmp  # noqa: F401

LLM = "models/support-llm.yaml"
LITERAL = "hunter2-not-for-output"


def test_summary_names_args_env_transformer_and_logger(repo: Path) -> None:  # noqa: F811
    edit(
        repo / LLM,
        '  serviceAccount: model-reader\n  args: ["--max-model-len=8192"]',
        "  serviceAccount: model-reader\n"
        '  args: ["--max-model-len=4096"]\n'
        "  env: {HF_TOKEN: {secret: hf-token, key: token}, VLLM_LOGGING_LEVEL: " + LITERAL + "}\n"
        "  logger: {mode: request, url: 'http://drift.monitoring'}\n"
        "  transformer: {image: ghcr.io/acme/tokenize:1.0}",
    )
    result = diff(repo)
    assert result.exit_code == 1, result.stderr
    [line] = [line for line in result.stdout.splitlines() if re.match(r"^prod\s+support-llm\s", line)]
    assert "args '--max-model-len=8192' → '--max-model-len=4096'" in line
    assert "transformer none → ghcr.io/acme/tokenize:1.0 (" in line
    assert "logger none → request to http://drift.monitoring" in line
    assert "env +HF_TOKEN +VLLM_LOGGING_LEVEL" in line
    summary = result.stdout.split("--- a/", 1)[0]
    assert LITERAL not in summary and "hf-token" not in summary
    data = as_json(repo)
    [model] = [m for m in data["environments"][2]["models"] if m["model"] == "support-llm"]
    changes = {c["field"]: (c["old"], c["new"]) for c in model["changes"]}
    assert changes["env"] == (None, "+HF_TOKEN +VLLM_LOGGING_LEVEL")
    assert "serving.env.HF_TOKEN" not in changes  # covered by the env entry, not listed again

    # a changed value is named, not shown
    commit_all(repo, "llm serving")
    edit(repo / LLM, "VLLM_LOGGING_LEVEL: " + LITERAL, "VLLM_LOGGING_LEVEL: other-" + LITERAL)
    result = diff(repo)
    [line] = [line for line in result.stdout.splitlines() if re.match(r"^prod\s+support-llm\s", line)]
    assert line.endswith("env ~VLLM_LOGGING_LEVEL"), line
    assert LITERAL not in result.stdout.split("--- a/", 1)[0]
    assert git(repo, "status", "--porcelain").strip() == "M models/support-llm.yaml"
