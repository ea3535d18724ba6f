"""The policies over the serving parts of issue 25, and the source map that places their findings: image
pinning and Pod Security for the explainer and the collocated transformer, `storage-uri-version` for Hugging
Face and ModelScope revisions and for KServe's storage spec path; every rendered field of the new parts maps
back to the spec line that wrote it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.checks.sourcemap.dispatch import spec_source
from mlgitops.language.loader import load_workspace
from mlgitops.language.resolve import resolve
from mlgitops.render.model import render_model
from mlgitops.util.jsonpointer import get_path
from tests.conftest import finding_lines, run_cli
from tests.projects import model_yaml, project_yaml, write_project

PROJECT = project_yaml("dev", "prod", extra="nodeClasses:\n  cpu: {nodeSelector: {pool: cpu}}\n")


def _validate(tmp_path: Path, models: dict[str, str], project: str = PROJECT) -> list[str]:
    root = write_project(tmp_path, project, models)
    rendered = run_cli(["render"], cwd=root)
    assert rendered.exit_code == 0, rendered.stderr
    result = run_cli(["validate", "--format", "json"], cwd=root)
    return finding_lines(result.stdout)


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


LATEST = model_yaml(
    "m",
    body="""\
serving:
  resources: {limits: {cpu: "1", memory: 1Gi}}
  ports: [{name: http, containerPort: 8085}]
  transformer: {image: ghcr.io/acme/tokenize:latest, collocated: true, resources: {limits: {cpu: "1"}}}
  explainer: {image: ghcr.io/acme/anchors, resources: {limits: {cpu: "1"}}}
""",
)


def test_image_pinning_covers_the_explainer_and_the_collocated_transformer(tmp_path: Path) -> None:
    lines = [line for line in _validate(tmp_path, {"m": LATEST}) if "[image-pinned]" in line]
    transformer = f"(models/m.yaml:{_line_of(LATEST, 'ghcr.io/acme/tokenize')}:"
    explainer = f"(models/m.yaml:{_line_of(LATEST, 'ghcr.io/acme/anchors')}:"
    assert any(
        "prod InferenceService/m /spec/predictor/containers/0/image" in line
        and "latest" in line
        and transformer in line
        for line in lines
    ), lines
    assert any(
        "prod InferenceService/m /spec/explainer/containers/0/image" in line and "no tag" in line and explainer in line
        for line in lines
    ), lines
    assert not any(line.startswith("error [image-pinned] dev ") for line in lines), lines  # allowed in dev


def test_pod_security_covers_the_explainer(tmp_path: Path) -> None:
    """The explainer takes serving.securityContext's user settings: running it as root breaks `restricted`,
    and the finding points at that setting."""
    text = LATEST.replace(":latest", ":1.0").replace("ghcr.io/acme/anchors", "ghcr.io/acme/anchors:1.0")
    text += "  securityContext: {runAsNonRoot: false}\n"
    lines = [line for line in _validate(tmp_path, {"m": text}) if "[pod-security]" in line]
    where = f"(models/m.yaml:{_line_of(text, 'runAsNonRoot: false')}:"
    for container in ("/spec/explainer/containers/0", "/spec/predictor/containers/0"):
        assert any(container in line and "runAsNonRoot" in line and where in line for line in lines), (container, lines)


def test_autoscaling_mode_covers_the_transformer(tmp_path: Path) -> None:
    """A Standard-mode transformer scaling on concurrency gets an HPA that cannot: reported at its metric."""
    text = model_yaml(
        "m",
        body="serving:\n  transformer: {image: ghcr.io/acme/t:1.0, autoscaling: {metric: concurrency, target: 4}}\n",
    )
    lines = [line for line in _validate(tmp_path, {"m": text}) if "[autoscaling-mode]" in line]
    column = text.splitlines()[5].index("concurrency") + 1
    assert lines and all(
        "/spec/transformer/scaleMetric" in line and f"(models/m.yaml:6:{column})" in line for line in lines
    ), lines


@pytest.mark.parametrize(
    ("uri", "version", "pinned"),
    [
        ("hf://meta-llama/Llama-3.1-8B:0e9e39f249a16976918f6564b8830bc894c89659", "3", True),
        ("hf://meta-llama/Llama-3.1-8B:main", "3", False),
        ("hf://meta-llama/Llama-3.1-8B", "3", False),
        ("hf://meta-llama/Llama-3.1-8B:0e9e39f2", "3", False),  # a short hash is not a pin
        ("hf://acme/fraud:v3", "3", True),  # the version as the revision, like an OCI tag
        ("modelscope://Qwen/Qwen2.5:0e9e39f249a16976918f6564b8830bc894c89659", "3", True),
    ],
)
def test_hub_revision_pins(tmp_path: Path, uri: str, version: str, pinned: bool) -> None:
    project = PROJECT + "clusterFeatures: {storageSchemes: [modelscope]}\n"
    text = model_yaml("m", format="huggingface", version=version, body="serving: {}\n").replace(
        f"storageUri: s3://models/m/{version}/model", f'storageUri: "{uri}"'
    )
    lines = [line for line in _validate(tmp_path, {"m": text}, project) if "[storage-uri-version]" in line]
    if pinned:
        assert lines == []
    else:
        column = text.splitlines()[3].index("storageUri: ") + len("storageUri: ") + 1
        assert len(lines) == 2 and all(f"(models/m.yaml:4:{column})" in line for line in lines), lines
        if ":" in uri.rpartition("/")[2]:
            assert "is a branch or tag, which moves: pin a commit hash" in lines[0]


def test_storage_spec_path_must_carry_the_version(tmp_path: Path) -> None:
    unversioned = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: m}
model:
  format: sklearn
  version: "3"
  storage: {key: minio, path: models/m/current}
serving: {}
"""
    lines = [line for line in _validate(tmp_path / "bad", {"m": unversioned}) if "[storage-uri-version]" in line]
    assert lines and all(
        "/spec/predictor/model/storage/path" in line
        and "storage.path 'models/m/current' does not contain the model version '3'" in line
        and f"(models/m.yaml:{_line_of(unversioned, 'path: models')}:" in line
        for line in lines
    ), lines
    versioned = unversioned.replace("models/m/current", "models/m/3")
    assert [line for line in _validate(tmp_path / "ok", {"m": versioned}) if "[storage-uri-version]" in line] == []


# --- the source map -------------------------------------------------------------------------------------

MAPPED = model_yaml(
    "m",
    body="""\
serving:
  ports: [{name: http, containerPort: 8085}, {name: grpc, containerPort: 8086}]
  args: [--http_port=8085]
  probes:
    readiness: {httpGet: {path: /ready, port: http}, periodSeconds: 5}
    startup: {tcpSocket: {port: 8085}, failureThreshold: 30}
  batcher: {maxBatchSize: 8, maxLatency: 100}
  transformer:
    image: ghcr.io/acme/tokenize:1.0
    collocated: true
    args: [--predictor_host=localhost:8085]
    env: {LEVEL: info}
    probes: {liveness: {tcpSocket: {port: 8080}}}
    resources: {limits: {cpu: "1"}}
  explainer:
    image: ghcr.io/acme/anchors:1.0
    command: [python]
    args: [-m, anchors]
    env: {STORAGE_URI: s3://models/m/3/explainer}
    resources: {limits: {memory: 2Gi}}
""",
).replace("storageUri: s3://models/m/3/model", "storageUri: s3://models/m/3/model, storage: {key: minio}")

APART = model_yaml(
    "a",
    body="""\
serving:
  transformer:
    image: ghcr.io/acme/tokenize:1.0
    nodeClass: cpu
    replicas: {min: 2, max: 4}
    autoscaling: {metric: cpu, target: 60}
    probes: {readiness: {httpGet: {path: /ready, port: 8080}}}
""",
)


def _leaves(node: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _leaves(value, (*path, key))]
    if isinstance(node, list):
        return [leaf for i, value in enumerate(node) for leaf in _leaves(value, (*path, i))]
    return [path]


# Rendered paths whose value mlgitops adds itself: their spec field is the one that asks for it.
OWN = {
    ("spec", "predictor", "containers", 0, "ports"): ("serving", "transformer", "collocated"),
}


@pytest.mark.parametrize(("name", "text"), [("m", MAPPED), ("a", APART)])
def test_every_new_field_maps_to_the_line_that_wrote_it(tmp_path: Path, name: str, text: str) -> None:
    root = write_project(tmp_path, PROJECT, {name: text})
    workspace = load_workspace(root)
    resolved = resolve(workspace, workspace.model(name), "prod")
    assert resolved is not None
    [isvc] = [o for o in render_model(resolved, workspace.project) if o["kind"] == "InferenceService"]
    data = yaml.safe_load(text)
    new_parts = (
        ("spec", "predictor", "batcher"),
        ("spec", "predictor", "containers"),
        ("spec", "transformer"),
        ("spec", "explainer"),
        *(("spec", "predictor", "model", field) for field in ("ports", "storage")),
        *(("spec", "predictor", "model", f"{kind}Probe") for kind in ("readiness", "liveness", "startup")),
    )
    checked = 0
    for leaf in _leaves(isvc):
        if not any(leaf[: len(part)] == part for part in new_parts):
            continue
        source = spec_source(isvc, leaf, resolved.spec, workspace.project, "prod").path
        own = next((spec for rendered, spec in OWN.items() if leaf[: len(rendered)] == rendered), None)
        if "securityContext" in leaf:
            assert source == ("serving", "securityContext"), leaf
            continue
        if own is not None:
            assert source == own, (leaf, source)
        elif leaf[-2:] == ("nodeSelector", "pool"):
            assert source == ("serving", "transformer", "nodeClass"), (leaf, source)
        elif leaf[-3] == "containers" and leaf[-1] == "name":  # the container is there because the block is
            assert source in (("serving", "transformer"), ("serving", "explainer")), (leaf, source)
            assert get_path(data, source) is not None
        elif leaf[:5] == ("spec", "predictor", "model", "ports", 0) and name == "a":
            assert source == ("serving", "ports"), (leaf, source)  # mlgitops' own: the field that replaces it
        else:
            # the spec value itself, or its closest written parent (a default such as a port's protocol)
            written = source
            while written and get_path(data, written) is None:
                written = written[:-1]
            assert len(written) >= 3 and len(source) - len(written) <= 1, (leaf, source)
        checked += 1
    assert checked >= (12 if name == "a" else 30), checked
