"""The corpus: real upstream configurations (tests/corpus_kserve.py, tests/corpus_argo.py) written as
mlgitops specs, rendered, checked against the upstream CRDs (../shared/crds) and asserted field by
field on what each example exists to show; a case's Jsonnet addons (`templates`) render with it. Cases the
target upstream cannot run (newer-upstream: a field KServe v0.20's CRD lacks) are rendered too and must fail
on that field alone; none is out of reach, and none is skipped as a pass."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from corpus_argo import CASES as ARGO_CASES
from corpus_case import Case, Objects
from corpus_kserve import CASES as KSERVE_CASES
from mlgitops.checks.schemas.crd import SchemaSet, load_crd_schemas
from mlgitops.language.loader import load_workspace
from mlgitops.language.resolve import resolve
from mlgitops.render.addons import template_names
from mlgitops.render.model import render_model
from mlgitops.render.pipeline import model_addons

CASES = [*KSERVE_CASES, *ARGO_CASES]
REACHABLE = [c for c in CASES if c.status in ("exact", "approximate")]
NEWER_UPSTREAM = [c for c in CASES if c.status == "newer-upstream"]

PROJECT = """\
apiVersion: mlgitops.io/v1alpha1
kind: Project
metadata: {name: corpus}
repoURL: https://github.com/example/corpus.git
environments:
- {name: prod, namespace: corpus}
clusterFeatures:
  argoWorkflows: {memoizeCache: true}   # memoize-simple: the controller may write its cache
  gatewayApi: true                      # the LLM samples' managed Gateway and HTTPRoute (router.gateway)
"""


@pytest.fixture(scope="module")
def schemas(crds_dir: Path) -> SchemaSet:
    return load_crd_schemas(crds_dir)


def render_case(case: Case, root: Path) -> Objects:
    if case.models:
        return _render_graph_case(case, root)
    (root / "models").mkdir(parents=True)
    features = f"  {case.cluster_features}\n" if case.cluster_features else ""
    (root / "mlgitops.yaml").write_text(PROJECT + features)
    head = f"apiVersion: mlgitops.io/v1alpha1\nkind: Model\nmetadata:\n  name: {case.name}\n"
    body = case.spec
    if body.startswith("metadata:\n"):  # the case adds labels or annotations to the metadata block
        body = body.removeprefix("metadata:\n")
    else:
        head = head.rstrip("\n") + "\n"
    (root / "models" / f"{case.name}.yaml").write_text(head + body)
    for name, text in case.templates:
        (root / "templates").mkdir(exist_ok=True)
        (root / "templates" / f"{name}.jsonnet").write_text(text)
    workspace = load_workspace(root)
    resolved = resolve(workspace, workspace.model(case.name), "prod")
    assert resolved is not None
    addons = model_addons(workspace, {(case.name, "prod"): resolved}, template_names(root))
    added = addons.get((case.name, "prod"), [])
    assert bool(added) == bool(case.templates), "a case's templates render objects, and only they do"
    objects = render_model(resolved, workspace.project, added)
    from_addons = {(obj["kind"], obj["metadata"]["name"]) for _, obj in added}
    # Generated objects by kind (one of each), addon objects by `Kind/name`.
    by_kind = {
        f"{o['kind']}/{o['metadata']['name']}" if (o["kind"], o["metadata"]["name"]) in from_addons else o["kind"]: o
        for o in objects
    }
    assert len(by_kind) == len(objects), "a corpus case renders one generated object of each kind"
    return by_kind


def _render_graph_case(case: Case, root: Path) -> Objects:
    """A graph case: its models and its graph, rendered for prod; the graph by kind, the models' objects by
    `Kind/name`."""
    from mlgitops.render.pipeline import render_models

    (root / "models").mkdir(parents=True)
    (root / "graphs").mkdir()
    (root / "mlgitops.yaml").write_text(PROJECT + (f"  {case.cluster_features}\n" if case.cluster_features else ""))
    for name, body in case.models:
        (root / "models" / f"{name}.yaml").write_text(
            f"apiVersion: mlgitops.io/v1alpha1\nkind: Model\nmetadata: {{name: {name}}}\n{body}"
        )
    (root / "graphs" / f"{case.name}.yaml").write_text(
        f"apiVersion: mlgitops.io/v1alpha1\nkind: Graph\nmetadata: {{name: {case.name}}}\n{case.spec}"
    )
    objects: Objects = {}
    for item in render_models(load_workspace(root)):
        for obj in item.environments["prod"] or []:
            key = obj["kind"] if item.graph else f"{obj['kind']}/{obj['metadata']['name']}"
            assert key not in objects
            objects[key] = obj
    return objects


def test_the_corpus_is_large_and_mostly_upstream_kserve() -> None:
    """KServe's samples (kserve/kserve) and the examples of its documentation (kserve/website, a page's YAML),
    and Argo Workflows' examples."""
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    assert len({(c.repo, c.path) for c in CASES}) == len(CASES)
    kserve = [c for c in CASES if c.repo in ("kserve/kserve", "kserve/website")]
    assert 0.55 <= len(kserve) / len(CASES) <= 0.75
    kinds = {"kserve/kserve": ".yaml", "kserve/website": ".md", "argoproj/argo-workflows": ".yaml"}
    assert all(c.repo in kinds and c.path.endswith(kinds[c.repo]) for c in CASES)


def _hatches(case: Case) -> str:
    """What a reachable case needs beyond the fields: `patches`, an addon (templates/), or neither."""
    if _patch_paths(case):
        return "patches"
    return "addon" if case.templates else "neither"


def test_classification_counts() -> None:
    """The honest figures (docs/patches.md states them): exact + approximate over all cases; of those, how many
    need `patches`, an addon or neither. No case is out of reach (issue 25): the two left are newer-upstream,
    configurations whose field KServe v0.20's own CRD lacks (test_a_newer_upstream_case_...)."""
    counts = Counter(c.status for c in CASES)
    assert counts == {"exact": 38, "approximate": 34, "newer-upstream": 2}, counts
    assert "out-of-reach" not in counts
    hatches = Counter(_hatches(c) for c in REACHABLE)
    assert hatches == {"neither": 59, "patches": 11, "addon": 2}, hatches
    assert (counts["exact"] + counts["approximate"]) / len(CASES) >= 0.90
    assert hatches["neither"] / len(CASES) >= 0.70  # first-class: no patches, no addon
    for case in CASES:
        if case.status == "exact":
            assert not case.loss, case.name
        else:
            assert case.loss, f"{case.name}: say what is lost or missing"
        if case.status == "out-of-reach":
            assert not case.spec and case.check is None and case.first_class, case.name
        elif case.status == "newer-upstream":
            assert case.spec and case.check is None and case.first_class and case.newer_field, case.name
        else:
            assert case.spec and case.check is not None and not case.newer_field, case.name
        if case.templates:
            assert "addons:" in case.spec and case.first_class, f"{case.name}: an addon names the field it stands for"


@pytest.mark.parametrize("case", REACHABLE, ids=[c.name for c in REACHABLE])
def test_reachable_case_renders_validates_and_shows_what_upstream_shows(
    case: Case, tmp_path: Path, schemas: SchemaSet
) -> None:
    objects = render_case(case, tmp_path)
    for obj in objects.values():
        assert schemas.has(obj["apiVersion"], obj["kind"]), obj["kind"]
        assert schemas.validate(obj) == [], (obj["kind"], schemas.validate(obj))
    assert case.check is not None
    case.check(objects)


@pytest.mark.parametrize("case", NEWER_UPSTREAM, ids=[c.name for c in NEWER_UPSTREAM])
def test_a_newer_upstream_case_fails_only_on_the_field_the_target_crd_lacks(
    case: Case, tmp_path: Path, schemas: SchemaSet
) -> None:
    """The configuration renders, with a patch adding the newer field; the target CRD (KServe v0.20) refuses
    exactly that field, and the same spec without the patch validates: nothing else keeps it from running."""
    objects = render_case(case, tmp_path / "with")
    problems = [(kind, v.json_path, v.message) for kind, obj in objects.items() for v in schemas.validate(obj)]
    field = case.newer_field.rpartition("/")[2]
    assert problems == [("InferenceService", case.newer_field, f'unknown field "{field}"')], problems
    without = replace(case, spec=case.spec[: case.spec.index("patches:\n")])
    for obj in render_case(without, tmp_path / "without").values():
        assert schemas.validate(obj) == [], (obj["kind"], schemas.validate(obj))


# Patch paths a first-class field now renders (issue 16): a case reaching one of them through `patches`
# should use the field instead.
FIELD_PATHS = {
    "/spec/predictor/model/args": "serving.args",
    "/spec/predictor/model/env": "serving.env",
    "/spec/predictor/model/runtimeVersion": "serving.runtimeVersion",
    "/spec/predictor/timeout": "serving.timeout",
    "/spec/predictor/containerConcurrency": "serving.containerConcurrency",
    "/spec/predictor/logger": "serving.logger",
    "/spec/predictor/autoScaling": "serving.autoscaling",
    "/spec/predictor/containers": "serving.image",
    "/spec/predictor/model/ports": "serving.ports",
    "/spec/predictor/containers/0/ports": "serving.ports",
    "/spec/predictor/model/readinessProbe": "serving.probes",
    "/spec/predictor/model/livenessProbe": "serving.probes",
    "/spec/predictor/model/startupProbe": "serving.probes",
    "/spec/predictor/batcher": "serving.batcher",
    "/spec/predictor/model/storage": "model.storage",
    "/spec/transformer": "serving.transformer",
    "/spec/explainer": "serving.explainer",
    "/spec/onExit": "training.onExit",
    "/memoize": "cache",
    "/outputs": "params",
    "/inputs": "paramInputs",
    "/withItems": "forEach",
    "/spec/parallelism": "forEach with parallelism",
}


def _patch_paths(case: Case) -> list[str]:
    patches = yaml.safe_load(case.spec).get("patches", [])
    return [str(op["path"]) for patch in patches for op in patch["ops"]]


def test_patches_reach_only_what_no_field_expresses() -> None:
    """20 cases moved from `patches` to first-class fields (`replaced_by`; issue 16, then issue 25's ports,
    probes, transformer and training run policies), 16 of them entirely; the 11 still patched keep patches only
    for what no field expresses, and name that missing field when one is planned (as the addon cases do)."""
    patched = [c for c in REACHABLE if _patch_paths(c)]
    moved = [c for c in REACHABLE if c.replaced_by]
    assert (len(patched), len(moved), len([c for c in moved if c not in patched])) == (11, 20, 16)
    for case in patched:
        for path in _patch_paths(case):
            field = next((f for p, f in FIELD_PATHS.items() if path == p or path.endswith(p)), None)
            assert field is None, f"{case.name}: {path} is written by {field}"
    assert [c.name for c in REACHABLE if c.first_class and c not in patched and not c.templates] == []


def test_the_patches_page_states_the_corpus_figures_and_what_is_out_of_reach() -> None:
    readme = (Path(__file__).resolve().parents[2] / "docs" / "patches.md").read_text()
    match = re.search(
        r"(\d+) upstream configurations.*?expresses (\d+) \((\d+) %\): (\d+) exactly,\s+(\d+) approximately\.\s+"
        r"(\d+) of\s+them still use `patches`.*?(\d+) need\s+an\s+addon.*?"
        r"(\d+) of the (\d+) \((\d+) %\) need\s+neither",
        readme,
        re.DOTALL,
    )
    assert match is not None
    counts = Counter(c.status for c in CASES)
    reachable = counts["exact"] + counts["approximate"]
    hatches = Counter(_hatches(c) for c in REACHABLE)
    expected = (
        len(CASES),
        reachable,
        reachable * 100 // len(CASES),
        counts["exact"],
        counts["approximate"],
        hatches["patches"],
        hatches["addon"],
        hatches["neither"],
        reachable,
        hatches["neither"] * 100 // reachable,
    )
    assert tuple(int(g) for g in match.groups()) == expected
    section = readme[match.end() : readme.index("\n## ", match.end())]
    for case in CASES:
        if case.status in ("out-of-reach", "newer-upstream"):
            assert case.path.removeprefix("docs/samples/v1beta1/") in section, case.name
