"""What the real API server and KServe's admission webhooks make of every rendered object: the bundled
example (every environment, as `kubectl kustomize overlays/<env>` outputs it, which is what Argo CD and
Flux apply), `init`'s project and every reachable corpus case, applied server-side as a dry run on the
local control plane (tests/cluster.py). A refusal here is a deployment that fails on a stock cluster
although every schema passed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import kustomize_objects, run_cli
from tests.language.test_corpus import REACHABLE, render_case

pytestmark = pytest.mark.cluster

ENVIRONMENTS = ("dev", "staging", "prod")


def _in_namespace(objects: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    for obj in objects:
        obj.setdefault("metadata", {}).setdefault("namespace", namespace)
    return objects


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_object_of_the_example_is_accepted(cluster: Any, example: Path, environment: str) -> None:
    objects = kustomize_objects(example / "overlays" / environment)
    assert len(objects) > 10
    refused = cluster.refusals(objects)
    assert [str(r) for r in refused] == []


def test_every_object_of_an_init_project_is_accepted(cluster: Any, tmp_path: Path) -> None:
    project = tmp_path / "fresh"
    project.mkdir()
    assert run_cli(["init", "--name", "fresh"], cwd=project).exit_code == 0
    assert run_cli(["render"], cwd=project).exit_code == 0
    objects = [obj for env in sorted((project / "overlays").iterdir()) for obj in kustomize_objects(env)]
    assert objects
    assert [str(r) for r in cluster.refusals(objects)] == []


@pytest.mark.parametrize("case", REACHABLE, ids=[c.name for c in REACHABLE])
def test_every_corpus_case_is_accepted(cluster: Any, tmp_path: Path, case: Any) -> None:
    objects = _in_namespace(list(render_case(case, tmp_path).values()), "corpus")
    assert [str(r) for r in cluster.refusals(objects)] == []


def test_kserve_admission_webhooks_are_live(cluster: Any) -> None:
    """A negative control: an InferenceService only KServe's own validator refuses (its name must start
    with a letter; Kubernetes' name rules allow a digit), so the passes above went through the webhooks."""
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "9-digits-first", "namespace": "webhook-check"},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://b/m"}}},
    }
    refused = cluster.refusals([isvc])
    assert len(refused) == 1
    assert 'admission webhook "inferenceservice.kserve-webhook-server.validator" denied' in refused[0].message
    isvc["metadata"]["name"] = "letters-first"
    assert cluster.refusals([isvc]) == []
