"""trained-model-admission: what KServe's TrainedModel webhook refuses beyond its CRD (KServe v0.20,
trainedmodel_webhook.go and pkg/agent/storage/provider.go), as validate reports it. The local control plane's
test (tests/controlplane/test_cluster_multimodel.py) checks the same rule against the real webhook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.policies.admission import trained_model_problems
from tests.conftest import run_cli
from tests.corpus_kserve import TRAINED_MODELS
from tests.language.test_corpus import PROJECT


def trained(name: Any, uri: Any, kind: str = "TrainedModel", api: str = "serving.kserve.io/v1alpha1") -> dict[str, Any]:
    model = {"framework": "sklearn", "memory": "1Gi"} | ({} if uri is None else {"storageUri": uri})
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": {"model": model}}


@pytest.mark.parametrize(
    ("name", "admitted"),
    [
        ("a", True),
        ("A_b-9", True),
        ("_", True),
        ("iris.v1", False),
        ("iris v1", False),
        ("iris\n", False),  # Go's `$` ends the text: no trailing newline
        ("", False),
        ("modèle", False),
    ],
)
def test_names(name: str, admitted: bool) -> None:
    paths = [path for path, _ in trained_model_problems(trained(name, "s3://m/1"))]
    assert paths == ([] if admitted else [("metadata", "name")])


@pytest.mark.parametrize(
    ("uri", "admitted"),
    [
        ("s3://b/m", True),
        ("gs://b/m", True),
        ("http://host/m", True),
        ("https://host/m", True),
        ("s3://", True),  # a prefix match, as the webhook's
        ("S3://b/m", False),
        ("abfs://c/m", False),  # KServe declares Azure but leaves it out of the supported protocols
        ("pvc://claim/m", False),
        ("hf://org/model", False),
        ("s3:/b/m", False),
        (" s3://b/m", False),
        ("", False),
        (None, False),
        (42, False),
    ],
)
def test_storage_uris(uri: Any, admitted: bool) -> None:
    paths = [path for path, _ in trained_model_problems(trained("m", uri))]
    assert paths == ([] if admitted else [("spec", "model", "storageUri")])


def test_messages_name_the_value_and_the_rule() -> None:
    (name_problem, uri_problem) = (m for _, m in trained_model_problems(trained("a.b", "pvc://c/" + "x" * 200)))
    assert name_problem == "TrainedModel name 'a.b': KServe's webhook admits letters, digits, '_' and '-' only"
    assert uri_problem.startswith("TrainedModel storageUri 'pvc://c/xxx")
    assert "x" * 60 not in uri_problem  # a long value is shortened
    assert uri_problem.endswith("admits only s3://, gs://, https://, http:// (what its model agent pulls)")
    assert [m for _, m in trained_model_problems(trained("m", None))] == [
        "TrainedModel storageUri none: KServe's webhook admits only s3://, gs://, https://, http:// (what its model"
        " agent pulls)"
    ]


@pytest.mark.parametrize(
    ("kind", "api"), [("InferenceService", "serving.kserve.io/v1beta1"), ("TrainedModel", "example.com/v1")]
)
def test_other_objects_are_left_alone(kind: str, api: str) -> None:
    assert list(trained_model_problems(trained("a.b", "pvc://x", kind=kind, api=api))) == []


def test_validate_reports_addon_trained_models_at_the_template_line(tmp_path: Path, crds_dir: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "mlgitops.yaml").write_text(PROJECT)
    (tmp_path / "templates" / "trained-models.jsonnet").write_text(TRAINED_MODELS)
    (tmp_path / "models" / "iris.yaml").write_text(
        "apiVersion: mlgitops.io/v1alpha1\nkind: Model\nmetadata:\n  name: iris\n"
        'model: {format: sklearn, version: "1"}\n'
        "serving:\n  multiModel: true\n  replicas: {min: 1}\n"
        "  resources: {requests: {cpu: 100m, memory: 512Mi}, limits: {cpu: 100m, memory: 512Mi}}\n"
        "addons:\n  trained-models:\n    models:\n"
        "    - {name: model1.sklearn, framework: sklearn, storageUri: gs://b/1, memory: 256Mi}\n"
        "    - {name: model2-sklearn, framework: sklearn, storageUri: pvc://claim/1, memory: 256Mi}\n"
        "    - {name: model3-sklearn, framework: sklearn, storageUri: s3://b/3, memory: 256Mi}\n"
    )
    assert run_cli(["render"], cwd=tmp_path).exit_code == 0
    result = run_cli(["validate", "--crds", str(crds_dir), "--format", "json"], cwd=tmp_path)
    assert result.exit_code == 1, result.stderr
    findings = [f for f in json.loads(result.stdout)["findings"] if f["id"] == "trained-model-admission"]
    assert sorted((f["name"], f["path"], f["file"], f["line"], f["column"]) for f in findings) == [
        ("model1.sklearn", "/metadata/name", "templates/trained-models.jsonnet", 7, 19),
        ("model2-sklearn", "/spec/model/storageUri", "templates/trained-models.jsonnet", 10, 42),
    ]
