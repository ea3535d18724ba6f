"""Multi-model serving on the local control plane: the real KServe v0.20.0 manager counts the InferenceService a
`serving.multiModel` model renders as a multi-model server (its TrainedModel controller's IsMMSPredictor), creates
the model config ConfigMap the TrainedModels are written into, and finds their memory within the predictor's limit.
The corpus case sklearn-iris-example (tests/corpus_kserve.py) is applied for real, its TrainedModels from the
Jsonnet addon; the same InferenceService with a storageUri is the negative control."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.policies.admission import trained_model_problems
from tests.language.test_corpus import CASES, render_case

pytestmark = pytest.mark.cluster

_RUN = f"{os.getpid() % 100000}"


def _conditions(cluster: Any, name: str, namespace: str) -> dict[str, str]:
    def read() -> dict[str, str]:
        found = cluster.get("serving.kserve.io/v1alpha1", "TrainedModel", name, namespace) or {}
        conditions = found.get("status", {}).get("conditions") or []
        by_type = {c["type"]: c["status"] for c in conditions}
        return by_type if "IsMMSPredictor" in by_type else {}

    result: dict[str, str] = cluster.wait_for(f"TrainedModel {namespace}/{name} conditions", read)
    return result


def _apply(cluster: Any, objects: list[dict[str, Any]], namespace: str) -> None:
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
        cluster.apply(obj)


def test_kserve_loads_trained_models_into_a_multi_model_server(cluster: Any, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "sklearn-iris-example")
    objects = render_case(case, tmp_path)
    namespace = f"mms-{_RUN}"
    _apply(cluster, copy.deepcopy(list(objects.values())), namespace)
    for key in objects:
        if key.startswith("TrainedModel/"):
            conditions = _conditions(cluster, key.partition("/")[2], namespace)
            assert conditions["IsMMSPredictor"] == "True", conditions
            assert conditions["MemoryResourceAvailable"] == "True", conditions  # 2 x 256Mi within 512Mi
    config = cluster.wait_for(
        "the model config ConfigMap",
        lambda: cluster.get("v1", "ConfigMap", "modelconfig-sklearn-iris-example-0", namespace),
    )
    assert "models.json" in config["data"]

    # The negative control: with a model of its own, KServe loads no TrainedModel into the predictor.
    single = copy.deepcopy(list(objects.values()))
    [isvc] = [o for o in single if o["kind"] == "InferenceService"]
    isvc["spec"]["predictor"]["model"]["storageUri"] = "gs://kfserving-examples/models/sklearn/1.0/model"
    _apply(cluster, single, f"single-{_RUN}")
    conditions = _conditions(cluster, "model1-sklearn", f"single-{_RUN}")
    assert conditions["IsMMSPredictor"] == "False", conditions


def test_kserve_refuses_what_the_trained_model_crd_admits(cluster: Any) -> None:
    """Two rules of KServe's TrainedModel webhook beyond its CRD (docs/serving.md): a name of letters, digits, `_`
    and `-`, and a storageUri the model agent can pull (s3, gs, http, https)."""

    def trained(name: str, uri: str) -> dict[str, Any]:
        return {
            "apiVersion": "serving.kserve.io/v1alpha1",
            "kind": "TrainedModel",
            "metadata": {"name": name, "namespace": f"tm-{_RUN}"},
            "spec": {
                "inferenceService": "server",
                "model": {"framework": "sklearn", "storageUri": uri, "memory": "1Gi"},
            },
        }

    refused = cluster.refusals(
        [trained("iris.v1", "s3://m/iris/1"), trained("iris-v1", "pvc://m/iris/1"), trained("ok", "s3://m/1")]
    )
    assert [r.name for r in refused] == ["iris.v1", "iris-v1"], [str(r) for r in refused]
    assert "a Trained Model name must consist of alphanumeric characters, '_', or '-'" in refused[0].message
    assert "The storage uri must start with one of the prefixes: s3://, gs://, https://, http://" in refused[1].message

    # validate's trained-model-admission policy refuses exactly what the webhook refuses (the API server admits
    # DNS subdomains as names first: '_' never reaches the webhook, '.' does)
    cases = [
        ("a", "s3://m/1"),
        ("iris-v-1", "gs://m/1"),
        ("iris.v1", "http://m/1"),
        ("iris.v.1", "https://m/1"),
        ("b", "S3://m/1"),
        ("c", "abfs://m/1"),
        ("d", "hf://org/model"),
        ("e", "pvc://claim/m"),
        ("f", "s3:/m/1"),
        ("g", "https:/m"),
        ("h", ""),
    ]
    objects = [trained(name, uri) for name, uri in cases]
    by_webhook = {r.name for r in cluster.refusals(objects)}
    by_validate = {obj["metadata"]["name"] for obj in objects if list(trained_model_problems(obj))}
    assert by_validate == by_webhook, (by_validate, by_webhook)
    assert by_webhook == {"iris.v1", "iris.v.1", "b", "c", "d", "e", "f", "g", "h"}
