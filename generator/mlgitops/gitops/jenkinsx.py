"""`mlgitops init --ci jenkins-x`: the Jenkins X 3 pipeline files (Lighthouse triggers, Tekton PipelineRuns).

Lighthouse reads `.lighthouse/<dir>/triggers.yaml` from the repository (a `TriggerConfig`); each job names
a Tekton `PipelineRun` file beside it. The pull request job renders-checks, validates and posts the diff
against the pull request's base; the release job, on pushes to the project's revision, runs the same
checks and promotes that revision to the environments that deploy on merge (`syncPolicy: auto`).

The texts come from the package's `data/ci/jenkins-x/`; scaffold.py fills in the pip requirement (the same
substitution as the GitHub and GitLab definitions), this module the branch and the environments.

>>> branch_regex("release/1.0")
'^release/1\\\\.0$'
"""

from __future__ import annotations

import json
from collections.abc import Callable

import yaml

PIPELINE_DIR = ".lighthouse/jenkins-x"
# Project path → template in the package's data/ci/.
PIPELINE_FILES = {
    f"{PIPELINE_DIR}/triggers.yaml": "jenkins-x/triggers.yaml",
    f"{PIPELINE_DIR}/pullrequest.yaml": "jenkins-x/pullrequest.yaml",
    f"{PIPELINE_DIR}/release.yaml": "jenkins-x/release.yaml",
}
# What Go's regexp.QuoteMeta escapes (Lighthouse matches `branches:` entries as Go regular expressions).
_REGEX_META = set("\\.+*?()|[]{}^$")


def branch_regex(branch: str) -> str:
    """The Lighthouse `branches:` entry that matches exactly `branch` (entries match unanchored)."""
    return "^" + "".join("\\" + c if c in _REGEX_META else c for c in branch) + "$"


def promote_environments(project_text: str) -> list[str]:
    """The environments of a project file, in promotion order, that deploy on merge (`syncPolicy: auto`)."""
    project = yaml.safe_load(project_text)
    environments = (project.get("environments") or []) if isinstance(project, dict) else []
    return [
        str(env["name"])
        for env in environments
        if isinstance(env, dict) and "name" in env and env.get("syncPolicy", "auto") != "manual"
    ]


def pipeline_files(project_text: str, revision: str, ci_text: Callable[[str], str]) -> dict[str, str]:
    """The three files by project path; `ci_text(template)` reads a data/ci/ template with the pip
    requirement filled in (scaffold.py's `_ci_text`)."""
    values = {
        "{{revision}}": revision,
        "{{revision_regex}}": json.dumps(branch_regex(revision)),
        "{{promote_environments}}": " ".join(promote_environments(project_text)),
    }
    files = {}
    for path, template in PIPELINE_FILES.items():
        text = ci_text(template)
        for token, value in values.items():
            text = text.replace(token, value)
        files[path] = text
    return files
