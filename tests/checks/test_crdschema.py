"""Tests for mlgitops.checks.schemas.crd against the real upstream CRDs (conftest.CRDS)."""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CRDS, REQUIRED_CRD_KINDS, crd_kinds

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("crds_dir")  # skips (fails in CI) where the CRDs are missing

if importlib.util.find_spec("mlgitops") is None:  # not installed: use the source tree
    sys.path.insert(0, str(REPO / "generator"))

from mlgitops.checks.schemas import crd  # noqa: E402
from mlgitops.checks.schemas.crd import (  # noqa: E402
    CrdSchemaError,
    SchemaSet,
    SchemaViolation,
    load_crd_schemas,
)


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private cache directory for this module, so tests never touch ~/.cache."""
    cache = tmp_path_factory.mktemp("mlgitops-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLGITOPS_CACHE_DIR", str(cache))
        yield cache


@pytest.fixture(autouse=True)
def _isolated_cache(module_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLGITOPS_CACHE_DIR", str(module_cache))


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cache directory filled by the cold load of the shared CRDs (and nothing else)."""
    return tmp_path_factory.mktemp("shared-crds-cache")


@pytest.fixture(scope="module")
def schemas(shared_cache: Path) -> SchemaSet:
    """All shared CRDs, loaded cold; fills `shared_cache` as a side effect."""
    crd.clear_memory_cache()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLGITOPS_CACHE_DIR", str(shared_cache))
        loaded = load_crd_schemas(CRDS)
        loaded.kinds()  # files are converted on first use; convert them all now, under the cache
        return loaded


def doc(text: str) -> dict[str, Any]:
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def paths(violations: list[SchemaViolation]) -> list[str]:
    return [v.json_path for v in violations]


# --------------------------------------------------------------------------- samples

INFERENCE_SERVICE = """
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: iris
  namespace: models
  labels: {app.kubernetes.io/part-of: mlgitops}
  annotations: {serving.kserve.io/deploymentMode: RawDeployment}
spec:
  predictor:
    minReplicas: 1
    maxReplicas: 3
    serviceAccountName: models-sa
    nodeSelector: {kubernetes.io/arch: amd64}
    model:
      name: kserve-container
      modelFormat: {name: sklearn, version: "1"}
      runtime: kserve-sklearnserver
      protocolVersion: v2
      storageUri: s3://models/iris/v1
      env: [{name: LOG_LEVEL, value: info}]
      resources:
        requests: {cpu: 100m, memory: 256Mi}
        limits: {cpu: 1, memory: 1Gi}
"""

WORKFLOW_TEMPLATE = """
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: train-iris, namespace: ml}
spec:
  entrypoint: pipeline
  serviceAccountName: argo-workflow
  arguments:
    parameters: [{name: model-version, value: v1}]
  templates:
  - name: pipeline
    dag:
      tasks:
      - {name: fetch, template: fetch-data}
      - name: train
        template: train-model
        depends: fetch
        arguments:
          parameters: [{name: version, value: "{{workflow.parameters.model-version}}"}]
  - name: fetch-data
    activeDeadlineSeconds: 600
    retryStrategy: {limit: 3, retryPolicy: OnFailure}
    container:
      image: python:3.11-slim
      command: [python, -c]
      args: ["print('fetch')"]
      resources: {requests: {cpu: 500m, memory: 1Gi}}
  - name: train-model
    inputs:
      parameters: [{name: version}]
    retryStrategy:
      limit: "2"
      backoff: {duration: 10s, factor: 2, maxDuration: 5m}
    container:
      image: ghcr.io/example/train:1.0
      args: [--version, "{{inputs.parameters.version}}"]
      env: [{name: MLFLOW_TRACKING_URI, value: "http://mlflow:5000"}]
"""

CRON_WORKFLOW = """
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: train-iris-nightly, namespace: ml}
spec:
  schedules: ["0 3 * * *"]
  timezone: Europe/Berlin
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 60
  successfulJobsHistoryLimit: 3
  workflowSpec:
    workflowTemplateRef: {name: train-iris}
    arguments:
      parameters: [{name: model-version, value: v2}]
"""

APPLICATION = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: iris-prod
  namespace: argocd
  finalizers: [resources-finalizer.argocd.argoproj.io]
spec:
  project: ml-models
  source:
    repoURL: https://github.com/example/ml-gitops.git
    targetRevision: main
    path: deploy/overlays/prod
  destination: {server: "https://kubernetes.default.svc", namespace: models}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
    retry:
      limit: 5
      backoff: {duration: 5s, factor: 2, maxDuration: 3m}
"""

APP_PROJECT = """
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata: {name: ml-models, namespace: argocd}
spec:
  description: Machine-learning models
  sourceRepos: [https://github.com/example/ml-gitops.git]
  destinations:
  - {server: "https://kubernetes.default.svc", namespace: models}
  clusterResourceWhitelist:
  - {group: "", kind: Namespace}
  namespaceResourceWhitelist:
  - {group: serving.kserve.io, kind: InferenceService}
  - {group: argoproj.io, kind: "*"}
"""

APPLICATION_SET = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: iris, namespace: argocd}
spec:
  goTemplate: true
  goTemplateOptions: [missingkey=error]
  generators:
  - list:
      elements:
      - {env: staging, cluster: "https://staging.example.com"}
      - {env: prod, cluster: "https://kubernetes.default.svc", replicas: 3, extra: {nested: [1, 2]}}
  template:
    metadata:
      name: "iris-{{.env}}"
      labels: {env: "{{.env}}"}
    spec:
      project: ml-models
      source:
        repoURL: https://github.com/example/ml-gitops.git
        targetRevision: main
        path: "deploy/overlays/{{.env}}"
      destination: {server: "{{.cluster}}", namespace: models}
"""

KUSTOMIZATION = """
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: iris-prod, namespace: flux-system}
spec:
  interval: 10m
  retryInterval: 1m
  timeout: 5m
  path: ./deploy/overlays/prod
  prune: true
  wait: true
  targetNamespace: models
  sourceRef: {kind: GitRepository, name: ml-gitops}
  postBuild:
    substitute: {model_version: v1}
"""

GIT_REPOSITORY = """
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: ml-gitops, namespace: flux-system}
spec:
  interval: 1m
  url: https://github.com/example/ml-gitops.git
  ref: {branch: main}
  secretRef: {name: git-credentials}
"""

VALID_SAMPLES = {
    "InferenceService": INFERENCE_SERVICE,
    "WorkflowTemplate": WORKFLOW_TEMPLATE,
    "CronWorkflow": CRON_WORKFLOW,
    "Application": APPLICATION,
    "AppProject": APP_PROJECT,
    "ApplicationSet": APPLICATION_SET,
    "Kustomization": KUSTOMIZATION,
    "GitRepository": GIT_REPOSITORY,
}


# --------------------------------------------------------------------------- loading


def test_all_shared_crds_are_loaded(schemas: SchemaSet) -> None:
    kinds = schemas.kinds()
    assert {kind for _, kind in kinds} == crd_kinds(CRDS)  # every kind of every file, nothing else
    assert {kind for _, kind in kinds} >= REQUIRED_CRD_KINDS
    for expected in (
        ("argoproj.io/v1alpha1", "WorkflowTemplate"),
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
        ("monitoring.coreos.com/v1", "PodMonitor"),
        ("serving.kserve.io/v1beta1", "InferenceService"),
        ("source.toolkit.fluxcd.io/v1", "GitRepository"),
    ):
        assert expected in kinds
    assert schemas.has("serving.kserve.io/v1beta1", "InferenceService")
    assert not schemas.has("serving.kserve.io/v1alpha1", "InferenceService")
    assert not schemas.has("apps/v1", "Deployment")


def test_unknown_kind_is_left_to_the_caller(schemas: SchemaSet) -> None:
    with pytest.raises(KeyError, match="Deployment"):
        schemas.validate({"apiVersion": "apps/v1", "kind": "Deployment"})


def test_converted_schema_is_strict_and_lean(schemas: SchemaSet) -> None:
    schema = schemas.schema("argoproj.io/v1alpha1", "WorkflowTemplate")
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["spec"]  # upstream also requires metadata: the API server's business
    template = schema["properties"]["spec"]["properties"]["templates"]["items"]
    assert template["additionalProperties"] is False
    assert template["properties"]["retryStrategy"]["properties"]["limit"] == {"type": ["integer", "string"]}
    # withItems is x-kubernetes-preserve-unknown-fields without a type: anything goes
    assert template["properties"]["dag"]["properties"]["tasks"]["items"]["properties"]["withItems"] == {}
    assert _keywords(schema) <= {
        *("type", "properties", "additionalProperties", "items", "required", "enum", "pattern"),
        *("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"),
    }  # descriptions, defaults, formats, x-kubernetes-* and int-or-string anyOfs are gone


def _keywords(node: dict[str, Any]) -> set[str]:
    found = set(node)
    for sub in node.get("properties", {}).values():
        found |= _keywords(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found |= _keywords(node[key])
    return found


# --------------------------------------------------------------------------- valid samples


@pytest.mark.parametrize("kind", sorted(VALID_SAMPLES))
def test_valid_samples_pass(schemas: SchemaSet, kind: str) -> None:
    obj = doc(VALID_SAMPLES[kind])
    assert obj["kind"] == kind
    assert schemas.validate(obj) == []


def test_minimal_inference_service_needs_no_model_name(schemas: SchemaSet) -> None:
    obj = doc(INFERENCE_SERVICE)
    model = obj["spec"]["predictor"]["model"]
    del model["name"], model["runtime"], model["resources"]
    assert schemas.validate(obj) == []


def test_metadata_apiversion_kind_are_not_checked_by_the_crd(schemas: SchemaSet) -> None:
    obj = doc(WORKFLOW_TEMPLATE)
    del obj["metadata"]  # the CRD lists metadata as required; the API server checks it
    assert schemas.validate(obj) == []
    obj["metadata"] = {"name": "x", "whatever": {"a": 1}}
    assert schemas.validate(obj) == []


# --------------------------------------------------------------------------- typos


def test_misspelt_template_field_has_exact_path(schemas: SchemaSet) -> None:
    obj = doc(WORKFLOW_TEMPLATE)
    template = obj["spec"]["templates"][1]
    template["activeDeadlineSecs"] = template.pop("activeDeadlineSeconds")
    assert schemas.validate(obj) == [
        SchemaViolation(
            "/spec/templates/1/activeDeadlineSecs",
            'unknown field "activeDeadlineSecs" (did you mean "activeDeadlineSeconds"?)',
        )
    ]


def test_misspelt_container_field(schemas: SchemaSet) -> None:
    obj = doc(WORKFLOW_TEMPLATE)
    obj["spec"]["templates"][2]["container"]["imagee"] = "x"
    assert paths(schemas.validate(obj)) == ["/spec/templates/2/container/imagee"]


def test_misspelt_storage_uri(schemas: SchemaSet) -> None:
    obj = doc(INFERENCE_SERVICE)
    model = obj["spec"]["predictor"]["model"]
    model["storageURI"] = model.pop("storageUri")
    assert schemas.validate(obj) == [
        SchemaViolation("/spec/predictor/model/storageURI", 'unknown field "storageURI" (did you mean "storageUri"?)')
    ]


def test_top_level_typo_is_caught(schemas: SchemaSet) -> None:
    obj = doc(GIT_REPOSITORY)
    obj["specs"] = obj.pop("spec")
    assert paths(schemas.validate(obj)) == ["/specs"]


def test_cron_workflow_singular_schedule_is_gone(schemas: SchemaSet) -> None:
    obj = doc(CRON_WORKFLOW)
    obj["spec"]["schedule"] = obj["spec"].pop("schedules")[0]
    assert schemas.validate(obj) == [
        SchemaViolation("/spec/schedule", 'unknown field "schedule" (did you mean "schedules"?)'),
        SchemaViolation("/spec/schedules", 'missing required field "schedules"'),
    ]


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("Application", ["spec", "source", "targetRevison"]),
        ("AppProject", ["spec", "destinations", 0, "namepsace"]),
        ("ApplicationSet", ["spec", "template", "spec", "destination", "sever"]),
        ("Kustomization", ["spec", "sourceRef", "nmae"]),
        ("GitRepository", ["spec", "ref", "brnach"]),
        ("CronWorkflow", ["spec", "workflowSpec", "workflowTemplateRef", "nam"]),
        ("InferenceService", ["spec", "predictor", "model", "modelFormat", "nme"]),
    ],
)
def test_typo_fails_in_every_kind(schemas: SchemaSet, kind: str, path: list[str | int]) -> None:
    obj = doc(VALID_SAMPLES[kind])
    node: Any = obj
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = "typo"
    violations = schemas.validate(obj)
    pointer = "/" + "/".join(str(p) for p in path)
    assert [v for v in violations if v.json_path == pointer], violations
    assert violations[0] == SchemaViolation(pointer, violations[0].message)
    assert violations[0].message.startswith(f'unknown field "{path[-1]}"')


# --------------------------------------------------------------------------- types and required


def test_int_or_string_accepts_both_but_not_boolean(schemas: SchemaSet) -> None:
    obj = doc(WORKFLOW_TEMPLATE)
    strategy = obj["spec"]["templates"][1]["retryStrategy"]
    for ok in (3, "3", "{{inputs.parameters.retries}}"):
        strategy["limit"] = ok
        assert schemas.validate(obj) == []
    strategy["limit"] = True
    assert schemas.validate(obj) == [
        SchemaViolation("/spec/templates/1/retryStrategy/limit", "expected integer or string, got boolean")
    ]


def test_wrong_types(schemas: SchemaSet) -> None:
    obj = doc(INFERENCE_SERVICE)
    predictor = obj["spec"]["predictor"]
    predictor["minReplicas"] = "1"
    predictor["nodeSelector"]["kubernetes.io/arch"] = 64
    predictor["model"]["env"] = {"name": "LOG_LEVEL"}
    assert schemas.validate(obj) == [
        SchemaViolation("/spec/predictor/minReplicas", "expected integer, got string"),
        SchemaViolation("/spec/predictor/model/env", "expected array, got object"),
        SchemaViolation("/spec/predictor/nodeSelector/kubernetes.io~1arch", "expected string, got integer"),
    ]


def test_argo_parameter_value_must_be_a_string(schemas: SchemaSet) -> None:
    obj = doc(CRON_WORKFLOW)
    obj["spec"]["workflowSpec"]["arguments"]["parameters"][0]["value"] = 2
    assert schemas.validate(obj) == [
        SchemaViolation("/spec/workflowSpec/arguments/parameters/0/value", "expected string, got integer")
    ]


def test_required_fields(schemas: SchemaSet) -> None:
    obj = doc(INFERENCE_SERVICE)
    del obj["spec"]["predictor"]["model"]["modelFormat"]["name"]
    obj["spec"]["canary"] = [{"trafficPercent": 10, "predictor": {"model": {"storageUri": "s3://m/v2"}}}]
    assert schemas.validate(obj) == [
        SchemaViolation("/spec/canary/0/predictor/model/modelFormat", 'missing required field "modelFormat"'),
        SchemaViolation("/spec/canary/0/predictor/model/name", 'missing required field "name"'),
        SchemaViolation("/spec/predictor/model/modelFormat/name", 'missing required field "name"'),
    ]
    obj["spec"]["canary"][0]["predictor"]["model"].update(name="m", modelFormat={"name": "sklearn"})
    obj["spec"]["predictor"]["model"]["modelFormat"]["name"] = "sklearn"
    assert schemas.validate(obj) == []


def test_enum_pattern_and_minimum(schemas: SchemaSet) -> None:
    obj = doc(KUSTOMIZATION)
    obj["spec"]["interval"] = "10 minutes"
    obj["spec"]["deletionPolicy"] = "Never"
    obj["spec"]["prune"] = "yes"
    assert schemas.validate(obj) == [
        SchemaViolation(
            "/spec/deletionPolicy",
            'unsupported value "Never"; must be one of "MirrorPrune", "Delete", "WaitForTermination", "Orphan"',
        ),
        SchemaViolation("/spec/interval", '"10 minutes" does not match pattern "^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$"'),
        SchemaViolation("/spec/prune", "expected boolean, got string"),
    ]
    cron = doc(CRON_WORKFLOW)
    cron["spec"]["startingDeadlineSeconds"] = -1
    cron["spec"]["schedules"] = []
    violations = schemas.validate(cron)
    assert paths(violations) == ["/spec/schedules", "/spec/startingDeadlineSeconds"]
    assert violations[0].message == "expected at least 1 item(s), got 0"
    assert violations[1].message == "must be >= 0, got -1"


def test_all_errors_reported_in_deterministic_order(schemas: SchemaSet) -> None:
    obj = doc(WORKFLOW_TEMPLATE)
    templates = obj["spec"]["templates"]
    templates[2]["container"]["imagee"] = "x"
    templates[1]["retryStrategy"]["limit"] = 1.5
    templates[0]["dag"]["tasks"][1]["dependencies"] = "fetch"
    obj["spec"]["entrypoitn"] = "pipeline"
    first = schemas.validate(obj)
    assert first == sorted(first)
    assert paths(first) == [
        "/spec/entrypoitn",
        "/spec/templates/0/dag/tasks/1/dependencies",
        "/spec/templates/1/retryStrategy/limit",
        "/spec/templates/2/container/imagee",
    ]
    assert schemas.validate(copy.deepcopy(obj)) == first
    assert all("\n" not in v.message for v in first)


# --------------------------------------------------------------------------- preserve-unknown-fields


def test_preserve_unknown_fields_regions_accept_anything(schemas: SchemaSet) -> None:
    app = doc(APPLICATION)
    app["spec"]["source"]["helm"] = {"valuesObject": {"any": {"deep": [1, {"x": None}]}, "replicas": 3}}
    assert schemas.validate(app) == []
    app["spec"]["source"]["helm"]["valuesObject"] = "not-an-object"  # still typed as an object
    assert paths(schemas.validate(app)) == ["/spec/source/helm/valuesObject"]

    wft = doc(WORKFLOW_TEMPLATE)
    wft["spec"]["templates"][0]["dag"]["tasks"][0]["withItems"] = [1, "two", {"three": [3]}]
    wft["spec"]["templates"][1]["plugin"] = {"my-plugin": {"arbitrary": {"config": True}}}
    assert schemas.validate(wft) == []

    isvc = doc(INFERENCE_SERVICE)
    isvc["status"] = {"url": "http://iris.models", "somethingNew": {"a": 1}}
    assert schemas.validate(isvc) == []


# --------------------------------------------------------------------------- synthetic CRDs

SYNTHETIC_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "names": {"kind": "Widget", "plural": "widgets"},
        "scope": "Namespaced",
        "versions": [
            {"name": "v1alpha1", "served": False, "storage": False, "schema": {"openAPIV3Schema": {}}},
            {"name": "v1beta1", "served": True, "storage": False},  # no schema: skipped
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "required": ["spec"],
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "note": {"type": "string", "nullable": True},
                                    "mode": {"type": "string", "enum": ["a", "b"], "nullable": True},
                                    "port": {
                                        "x-kubernetes-int-or-string": True,
                                        "anyOf": [{"type": "integer"}, {"type": "string"}],
                                    },
                                    "size": {"x-kubernetes-int-or-string": True, "nullable": True},
                                    "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
                                    "open": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                        "properties": {"known": {"type": "integer"}},
                                    },
                                    "either": {
                                        "type": "object",
                                        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                                        "oneOf": [
                                            {"required": ["a"], "properties": {"a": {"type": "string"}}},
                                            {"required": ["b"]},
                                        ],
                                    },
                                    "embedded": {
                                        "type": "object",
                                        "x-kubernetes-embedded-resource": True,
                                        "properties": {"spec": {"type": "object"}},
                                    },
                                },
                            },
                        },
                    }
                },
            },
        ],
    },
}


# Old-style (apiextensions.k8s.io/v1beta1) CRD: one schema for all versions, and the root
# does not declare apiVersion/kind/metadata.
GADGET_CRD = """
apiVersion: apiextensions.k8s.io/v1beta1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  version: v1
  names: {kind: Gadget, plural: gadgets}
  validation:
    openAPIV3Schema:
      type: object
      properties:
        spec:
          type: object
          properties:
            size: {type: integer}
"""


@pytest.fixture
def widgets(tmp_path: Path) -> SchemaSet:
    crd_dir = tmp_path / "crds"
    crd_dir.mkdir()
    # as `kubectl get crd -o json` prints several CRDs: a List
    (crd_dir / "widgets.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [SYNTHETIC_CRD]}))
    (crd_dir / "README.md").write_text("not a CRD: ignored\n")
    (crd_dir / "other.yml").write_text("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\n" + GADGET_CRD)
    return load_crd_schemas(crd_dir)


def widget(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}


def test_list_json_multidoc_and_unserved_versions(widgets: SchemaSet) -> None:
    assert widgets.kinds() == [("example.com/v1", "Gadget"), ("example.com/v1", "Widget")]


def test_root_fields_allowed_even_if_the_crd_does_not_declare_them(widgets: SchemaSet) -> None:
    gadget = {
        "apiVersion": "example.com/v1",
        "kind": "Gadget",
        "metadata": {"name": "g"},
        "spec": {"size": 1},
    }
    assert widgets.validate(gadget) == []
    gadget["spec"] = {"size": 1, "colour": "red"}
    gadget["status"] = {}
    assert paths(widgets.validate(gadget)) == ["/spec/colour", "/status"]


def test_nullable(widgets: SchemaSet) -> None:
    assert widgets.validate(widget(note=None, mode=None, size=None)) == []
    assert widgets.validate(widget(note="x", mode="a", size="1Gi")) == []
    assert widgets.validate(widget(port=None, mode="c")) == [
        SchemaViolation("/spec/mode", 'unsupported value "c"; must be one of "a", "b", null'),
        SchemaViolation("/spec/port", "expected integer or string, got null"),
    ]


def test_synthetic_conversion_rules(widgets: SchemaSet) -> None:
    assert widgets.validate(widget(port=80, open={"known": 1, "extra": {"x": 1}})) == []
    assert paths(widgets.validate(widget(open={"known": "one"}))) == ["/spec/open/known"]
    assert paths(widgets.validate(widget(ratio=0))) == ["/spec/ratio"]  # exclusiveMinimum: true
    assert widgets.validate(widget(ratio=0.5)) == []
    # properties listed inside oneOf branches must not close the object
    assert widgets.validate(widget(either={"a": "x"})) == []
    assert widgets.validate(widget(either={"b": "x"})) == []
    assert widgets.validate(widget(either={"a": "x", "b": "y"})) == [
        SchemaViolation("/spec/either", "matches more than one of the allowed alternatives")
    ]
    assert widgets.validate(widget(either={"c": "x"})) == [
        SchemaViolation(
            "/spec/either",
            'matches none of the allowed alternatives: /a: missing required field "a"; '
            'or /b: missing required field "b"',
        ),
        SchemaViolation("/spec/either/c", 'unknown field "c"'),
    ]
    embedded = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "spec": {}}
    assert widgets.validate(widget(embedded=embedded)) == []
    assert paths(widgets.validate({"apiVersion": "example.com/v1", "kind": "Widget"})) == ["/spec"]


def test_invalid_yaml_raises_one_line_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(yaml.safe_dump(SYNTHETIC_CRD))
    bad = tmp_path / "broken.yaml"
    bad.write_text("apiVersion: apiextensions.k8s.io/v1\nkind: [unclosed\n")
    with pytest.raises(CrdSchemaError) as info:
        load_crd_schemas(tmp_path).kinds()
    message = str(info.value)
    assert message.startswith(f"{bad}:") and "invalid YAML" in message and "\n" not in message


def test_invalid_crd_and_missing_directory(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec: 3\n")
    with pytest.raises(CrdSchemaError, match=r"bad\.yaml: .*spec is not a mapping"):
        load_crd_schemas(tmp_path).kinds()
    with pytest.raises(CrdSchemaError, match="does-not-exist"):
        load_crd_schemas(tmp_path / "does-not-exist")


# --------------------------------------------------------------------------- caching


def test_cache_dir_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLGITOPS_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert crd.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("MLGITOPS_CACHE_DIR")
    assert crd.cache_dir() == tmp_path / "xdg" / "mlgitops"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert crd.cache_dir() == tmp_path / "home" / ".cache" / "mlgitops"


def test_disk_cache_round_trip_gives_identical_schemas(
    schemas: SchemaSet, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = sorted((shared_cache / "crdschema").glob("*.json"))
    assert len(cached) == len(list(CRDS.glob("*.yaml")))
    monkeypatch.setenv("MLGITOPS_CACHE_DIR", str(shared_cache))
    crd.clear_memory_cache()
    warm = load_crd_schemas(CRDS)
    assert warm.kinds() == schemas.kinds()
    for key in schemas.kinds():
        assert warm.schema(*key) == schemas.schema(*key)
    assert warm.validate(doc(WORKFLOW_TEMPLATE)) == []


@pytest.fixture
def small_crds(tmp_path: Path) -> Path:
    """A directory with a few small upstream CRDs (symlinked, not copied)."""
    directory = tmp_path / "small"
    directory.mkdir()
    for name in ("argo-cd_appprojects.yaml", "flux_gitrepositories.yaml"):
        (directory / name).symlink_to(CRDS / name)
    return directory


def test_warm_load_reads_the_disk_cache(small_crds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("MLGITOPS_CACHE_DIR", str(cache))
    crd.clear_memory_cache()
    load_crd_schemas(small_crds).kinds()
    # tamper with the cached conversion: a warm load must use it rather than re-convert
    for file in (cache / "crdschema").glob("*.json"):
        data = json.loads(file.read_text())
        for entry in data["schemas"]:
            entry["schema"]["marker"] = True
        file.write_text(json.dumps(data))
    crd.clear_memory_cache()
    warm = load_crd_schemas(small_crds)
    assert all(warm.schema(*key).get("marker") is True for key in warm.kinds())


@pytest.mark.parametrize("garbage", ["{not json", "[]", '{"format": 1, "sha256": "x", "schemas": []}', ""])
def test_corrupt_cache_file_is_ignored(
    small_crds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, garbage: str
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("MLGITOPS_CACHE_DIR", str(cache))
    crd.clear_memory_cache()
    cold = load_crd_schemas(small_crds)
    cold.kinds()
    files = sorted((cache / "crdschema").glob("*.json"))
    assert len(files) == 2
    for file in files:
        file.write_text(garbage)
    crd.clear_memory_cache()
    again = load_crd_schemas(small_crds)
    assert again.kinds() == cold.kinds()
    for key in cold.kinds():
        assert again.schema(*key) == cold.schema(*key)
    for file in files:  # rewritten with a good conversion
        assert json.loads(file.read_text())["format"] == 1
    assert again.validate(doc(APP_PROJECT)) == []


def test_unwritable_cache_dir_is_skipped_silently(
    small_crds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MLGITOPS_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    crd.clear_memory_cache()
    loaded = load_crd_schemas(small_crds)
    assert loaded.has("source.toolkit.fluxcd.io/v1", "GitRepository")
    assert loaded.validate(doc(GIT_REPOSITORY)) == []
    assert not (blocker / "cache").exists()


def test_in_process_cache_shares_conversions(small_crds: Path) -> None:
    first = load_crd_schemas(small_crds)
    second = load_crd_schemas(small_crds)
    key = ("argoproj.io/v1alpha1", "AppProject")
    assert first.schema(*key) is second.schema(*key)


def test_files_are_parsed_only_when_one_of_their_kinds_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    crd.clear_memory_cache()
    parsed: list[str] = []
    real_parse = crd._parse

    def spy(path: Path, content: bytes) -> list[Any]:
        parsed.append(path.name)
        return real_parse(path, content)

    monkeypatch.setattr(crd, "_parse", spy)
    monkeypatch.setenv("MLGITOPS_CACHE_DIR", "")  # no disk cache: every conversion parses
    monkeypatch.setattr(crd, "cache_dir", lambda: None)
    loaded = load_crd_schemas(CRDS)
    assert parsed == []
    assert loaded.has("argoproj.io/v1alpha1", "AppProject")
    assert parsed == ["argo-cd_appprojects.yaml"]
    assert not loaded.has("example.com/v1", "Nothing")
    assert parsed == ["argo-cd_appprojects.yaml"]
    assert loaded.file_count == len(list(CRDS.glob("*.yaml")))
    assert loaded.has("monitoring.coreos.com/v1", "PrometheusRule")
