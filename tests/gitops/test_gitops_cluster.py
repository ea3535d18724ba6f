"""What the Argo CD and Flux objects do on a real cluster, beyond their schemas (issue 10, items 7, 14, 15
and 16): the AppProject admits exactly what the project deploys, Flux never deploys a manual environment
on merge, health checks wait long enough for GPU models, and every ServiceAccount, ConfigMap and Secret a
pod names exists in its environment."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.checks.references import references
from mlgitops.checks.schemas.crd import SchemaSet, load_crd_schemas
from tests.conftest import REPO, finding_lines, kustomize_objects, run_cli, snapshot_tree

Obj = dict[str, Any]
ENV_NAMESPACES = {"dev": "ml-dev", "staging": "ml-staging", "prod": "ml-prod"}


@pytest.fixture(scope="module")
def schemas(crds_dir: Path) -> SchemaSet:
    return load_crd_schemas(crds_dir)


def project_data(repo: Path) -> Obj:
    data: Obj = yaml.safe_load((repo / "mlgitops.yaml").read_text())
    return data


def write_project(repo: Path, data: Obj) -> None:
    (repo / "mlgitops.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def environment(data: Obj, name: str) -> Obj:
    found: Obj = next(e for e in data["environments"] if e["name"] == name)
    return found


def render(repo: Path) -> None:
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 0, result.stderr


def valid(schemas: SchemaSet, obj: Obj) -> list[Any]:
    """Schema violations of a generated object: Flux's and Argo CD's against their CRDs, the Flux
    ServiceAccounts, RBAC and Namespaces (flux_rbac.py) against Kubernetes' own schemas."""
    if schemas.has(obj["apiVersion"], obj["kind"]):
        return list(schemas.validate(obj))
    from mlgitops.checks.schemas.kube import load_kube_schemas

    kube = load_kube_schemas()
    assert kube is not None and kube.has(obj["apiVersion"], obj["kind"]), obj["kind"]
    return list(kube.validate(obj))


def generated(repo: Path, folder: str) -> dict[str, Obj]:
    """Objects of plugins/<folder>/ by `Kind/name` (not the kustomization.yaml); for flux, of every
    cluster's directory (plugins/flux/<cluster>/)."""
    found = {}
    pattern = "*/*.yaml" if folder == "flux" else "*.yaml"
    for path in sorted((repo / "plugins" / folder).glob(pattern)):
        obj = yaml.safe_load(path.read_text())
        if obj["kind"] != "Kustomization" or obj["apiVersion"].startswith("kustomize.toolkit"):
            found[f"{obj['kind']}/{obj['metadata']['name']}"] = obj
    return found


def app_project(repo: Path) -> Obj:
    return generated(repo, "argocd")["AppProject/acme-ml"]


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


# --- item 7: the AppProject ----------------------------------------------------------------------

CLUSTER_SCOPED = {("", "Namespace"), ("rbac.authorization.k8s.io", "ClusterRole")}


def permitted(project: Obj, group: str, kind: str, name: str, namespaced: bool) -> bool:
    """Argo CD's `AppProject.IsGroupKindNamePermitted` (argo-cd 37ee0097,
    pkg/apis/application/v1alpha1/app_project_types.go; lists matched with filepath.Match in types.go)."""
    spec = project["spec"]

    def match(item: Obj, with_name: bool) -> bool:
        if not (fnmatch.fnmatchcase(kind, item["kind"]) and fnmatch.fnmatchcase(group, item["group"])):
            return False
        return not with_name or not item.get("name") or fnmatch.fnmatchcase(name, item["name"])

    if namespaced:
        white = spec.get("namespaceResourceWhitelist")
        black = spec.get("namespaceResourceBlacklist") or []
        allowed = white is None or (len(white) != 0 and any(match(i, False) for i in white))
        return allowed and not any(match(i, False) for i in black)
    white = spec.get("clusterResourceWhitelist") or []
    black = spec.get("clusterResourceBlacklist") or []
    return any(match(i, True) for i in white) and not any(match(i, True) for i in black)


def deployed_objects(repo: Path) -> list[Obj]:
    """What each environment deploys, built by the real Kustomize from the committed overlays."""
    return [obj for env in ENV_NAMESPACES for obj in kustomize_objects(repo / "overlays" / env)]


def test_crd_supports_names_in_the_cluster_whitelist(crds_dir: Path) -> None:
    crd = yaml.safe_load((crds_dir / "argo-cd_appprojects.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert "name" in spec["clusterResourceWhitelist"]["items"]["properties"]
    assert set(spec["namespaceResourceWhitelist"]["items"]["properties"]) == {"group", "kind"}


def test_the_example_app_project_admits_exactly_what_it_deploys(schemas: SchemaSet) -> None:
    project = app_project(REPO)
    assert schemas.validate(project) == []
    objects = deployed_objects(REPO)
    kinds = set()
    for obj in objects:
        group, kind = obj["apiVersion"].rpartition("/")[0], obj["kind"]
        namespaced = (group, kind) not in CLUSTER_SCOPED
        assert permitted(project, group, kind, obj["metadata"]["name"], namespaced), (kind, obj["metadata"]["name"])
        if namespaced:
            kinds.add((group, kind))
    listed = {(i["group"], i["kind"]) for i in project["spec"]["namespaceResourceWhitelist"]}
    assert listed == kinds, "exactly the namespaced kinds deployed, no more"
    assert ("", "ServiceAccount") in listed and ("rbac.authorization.k8s.io", "RoleBinding") in listed  # base/platform
    assert project["spec"]["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace", "name": ns} for ns in sorted(ENV_NAMESPACES.values())
    ]


@pytest.mark.parametrize(
    ("group", "kind", "name", "namespaced"),
    [
        ("", "Namespace", "kube-system", False),  # another Namespace: not the project's
        ("", "Namespace", "ml-prod-2", False),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding", "admin", False),
        ("", "Secret", "anything", True),  # not rendered anywhere
        ("apps", "DaemonSet", "miner", True),
        ("argoproj.io", "Workflow", "run", True),  # the project renders templates, never bare Workflows
    ],
)
def test_the_example_app_project_refuses_the_rest(group: str, kind: str, name: str, namespaced: bool) -> None:
    assert not permitted(app_project(REPO), group, kind, name, namespaced)


def test_the_old_app_project_admitted_everything() -> None:
    """Without namespaceResourceWhitelist, Argo CD admits every namespaced kind (nil whitelist)."""
    old = {"spec": {"clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}]}}
    assert permitted(old, "apps", "DaemonSet", "miner", True)
    assert permitted(old, "", "Namespace", "kube-system", False)


PLATFORM_EXTRA = """\
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: fraud-detector}
spec: {maxUnavailable: 1, selector: {matchLabels: {app: fraud-detector}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: acme-ml-metrics-reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
"""


def test_platform_kinds_are_read_from_base_platform(example: Path, schemas: SchemaSet) -> None:
    platform = example / "base" / "platform"
    (platform / "extra").mkdir()
    (platform / "extra" / "objects.yaml").write_text(PLATFORM_EXTRA)
    (platform / "extra" / "kustomization.yaml").write_text("resources: [objects.yaml]\n")
    kustomization = platform / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text() + "- extra\nsecretGenerator:\n- {name: registry-token, literals: [token=x]}\n"
    )
    render(example)
    project = app_project(example)
    assert schemas.validate(project) == []
    listed = {(i["group"], i["kind"]) for i in project["spec"]["namespaceResourceWhitelist"]}
    assert {("policy", "PodDisruptionBudget"), ("", "Secret")} <= listed
    assert ("rbac.authorization.k8s.io", "ClusterRole") not in listed
    cluster = project["spec"]["clusterResourceWhitelist"]
    assert {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "acme-ml-metrics-reader"} in cluster
    for obj in kustomize_objects(example / "overlays" / "prod"):
        group, kind = obj["apiVersion"].rpartition("/")[0], obj["kind"]
        namespaced = (group, kind) not in CLUSTER_SCOPED
        assert permitted(project, group, kind, obj["metadata"]["name"], namespaced), kind


def test_without_created_namespaces_no_cluster_object_is_admitted(example: Path, schemas: SchemaSet) -> None:
    data = project_data(example)
    for env in data["environments"]:
        env["createNamespace"] = False
    write_project(example, data)
    render(example)
    project = app_project(example)
    assert schemas.validate(project) == []
    assert project["spec"]["clusterResourceWhitelist"] == []
    assert not permitted(project, "", "Namespace", "ml-prod", False)


def test_a_namespace_in_base_platform_is_a_positioned_error(example: Path) -> None:
    (example / "base" / "platform" / "ns.yaml").write_text(
        "# a namespace\napiVersion: v1\nkind: Namespace\nmetadata: {name: ml-shared}\n"
    )
    kustomization = example / "base" / "platform" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "- ns.yaml\n")
    before = snapshot_tree(example)
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    assert error_line(result.stderr).startswith("base/platform/ns.yaml:2:1: no Namespace objects in base/platform")
    assert snapshot_tree(example) == before


def test_a_remote_platform_resource_is_a_positioned_error(example: Path) -> None:
    kustomization = example / "base" / "platform" / "kustomization.yaml"
    lines = kustomization.read_text().splitlines()
    kustomization.write_text("\n".join([*lines, "- https://example.com/rbac.yaml", ""]))
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    line = error_line(result.stderr)
    assert line.startswith(f"base/platform/kustomization.yaml:{len(lines) + 1}:3: ")
    assert "is remote; base/platform may use only files inside base/platform" in line


# --- item 14: manual environments in Flux --------------------------------------------------------


def test_the_example_prod_follows_release_tags(schemas: SchemaSet) -> None:
    objects = generated(REPO, "flux")
    for obj in objects.values():
        assert valid(schemas, obj) == [], obj["metadata"]["name"]
    main, tags = objects["GitRepository/acme-ml"], objects["GitRepository/acme-ml-prod"]
    assert main["spec"]["ref"] == {"branch": "main"}
    assert tags["spec"]["ref"] == {"semver": ">=1.0.0"}
    assert tags["spec"]["url"] == main["spec"]["url"] and tags["spec"]["interval"] == main["spec"]["interval"]
    assert tags["metadata"]["labels"]["mlgitops.io/environment"] == "prod"
    prod = objects["Kustomization/acme-ml-prod"]["spec"]
    assert prod["sourceRef"] == {"kind": "GitRepository", "name": "acme-ml-prod", "namespace": "flux-system"}
    assert "suspend" not in prod, "it still reconciles (and corrects drift) at the tagged revision"
    for env in ("dev", "staging"):
        spec = objects[f"Kustomization/acme-ml-{env}"]["spec"]
        assert spec["sourceRef"]["name"] == "acme-ml" and "suspend" not in spec


def test_a_manual_environment_without_its_own_revision_is_suspended(example: Path, schemas: SchemaSet) -> None:
    data = project_data(example)
    del environment(data, "prod")["flux"]
    write_project(example, data)
    render(example)
    objects = generated(example, "flux")
    assert sorted(k for k in objects if k.startswith("GitRepository/")) == ["GitRepository/acme-ml"]
    prod = objects["Kustomization/acme-ml-prod"]
    assert schemas.validate(prod) == []
    assert prod["spec"]["suspend"] is True
    assert all("suspend" not in objects[f"Kustomization/acme-ml-{e}"]["spec"] for e in ("dev", "staging"))


def test_an_automatic_environment_may_follow_its_own_branch(example: Path, schemas: SchemaSet) -> None:
    data = project_data(example)
    environment(data, "staging")["flux"] = {"revision": "release/staging"}
    write_project(example, data)
    render(example)
    objects = generated(example, "flux")
    staging_repo = objects["GitRepository/acme-ml-staging"]
    assert schemas.validate(staging_repo) == []
    assert staging_repo["spec"]["ref"] == {"branch": "release/staging"}
    spec = objects["Kustomization/acme-ml-staging"]["spec"]
    assert spec["sourceRef"]["name"] == "acme-ml-staging" and "suspend" not in spec


def test_a_manual_environment_on_the_merge_branch_is_refused(example: Path) -> None:
    data = project_data(example)
    environment(data, "prod")["flux"] = {"revision": "main"}
    write_project(example, data)
    before = snapshot_tree(example)
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    line = error_line(result.stderr)
    text = (example / "mlgitops.yaml").read_text().splitlines()
    row = next(i for i, t in enumerate(text, 1) if "revision: main" in t and t.startswith(" "))
    assert line.startswith(f"mlgitops.yaml:{row}:"), line
    assert "would deploy each merge" in line
    assert snapshot_tree(example) == before


def test_validate_catches_a_manual_environment_on_the_merge_branch(example: Path) -> None:
    data = project_data(example)
    environment(data, "prod")["flux"] = {"revision": "main"}
    write_project(example, data)
    result = run_cli(["validate"], cwd=example)
    assert result.exit_code == 1 and "would deploy each merge" in error_line(result.stderr)


def test_revision_and_semver_together_are_refused(example: Path) -> None:
    data = project_data(example)
    environment(data, "prod")["flux"] = {"revision": "release", "semver": ">=1.0.0"}
    write_project(example, data)
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    assert "set either revision or semver, not both" in error_line(result.stderr)


# --- item 15: health timeouts --------------------------------------------------------------------


def timeouts(repo: Path) -> dict[str, str]:
    objects = generated(repo, "flux")
    return {env: objects[f"Kustomization/acme-ml-{env}"]["spec"]["timeout"] for env in ENV_NAMESPACES}


def test_gpu_environments_get_time_for_a_node_and_a_model_download(example: Path) -> None:
    assert timeouts(REPO) == {"dev": "30m", "staging": "30m", "prod": "30m"}  # support-llm serves on an L4
    (example / "models" / "support-llm.yaml").unlink()
    render(example)
    assert timeouts(example) == {"dev": "10m", "staging": "10m", "prod": "10m"}


def test_the_gpu_default_follows_each_environment(example: Path) -> None:
    model = example / "models" / "support-llm.yaml"
    model.write_text(model.read_text().replace("  dev:\n    serving:", "  dev:\n    enabled: false\n    serving:"))
    render(example)
    assert timeouts(example) == {"dev": "10m", "staging": "30m", "prod": "30m"}


def test_timeouts_per_environment_and_per_project(example: Path, schemas: SchemaSet) -> None:
    data = project_data(example)
    data["flux"] = {"timeout": "15m"}
    environment(data, "prod")["flux"]["timeout"] = "1h"
    write_project(example, data)
    render(example)
    assert timeouts(example) == {"dev": "15m", "staging": "15m", "prod": "1h"}
    for obj in generated(example, "flux").values():
        assert valid(schemas, obj) == []


def test_a_bad_environment_timeout_is_positioned(example: Path) -> None:
    data = project_data(example)
    environment(data, "prod")["flux"]["timeout"] = "half an hour"
    write_project(example, data)
    result = run_cli(["validate"], cwd=example)
    assert result.exit_code == 1
    line = error_line(result.stderr)
    assert line.startswith("mlgitops.yaml:") and "environments[2].flux.timeout" in line and "not a duration" in line


# --- item 16: ServiceAccounts, ConfigMaps and Secrets --------------------------------------------


def test_the_example_is_valid_strictly(crds_dir: Path) -> None:
    result = run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=REPO)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "missing-reference" not in result.stdout


def missing(result_stdout: str) -> list[str]:
    """Every missing-reference finding of a `--format json` run, one text line each."""
    return [line for line in finding_lines(result_stdout) if "[missing-reference]" in line]


def drop_platform(repo: Path) -> None:
    for path in sorted((repo / "base" / "platform").iterdir()):
        path.unlink()
    (repo / "base" / "platform").rmdir()
    render(repo)


def test_validate_reports_what_no_environment_has(example: Path) -> None:
    drop_platform(example)
    result = run_cli(["validate", "--format", "json"], cwd=example)
    assert result.exit_code == 1
    found = missing(result.stdout)
    for env in ENV_NAMESPACES:
        names = {f.split("'")[1] for f in found if f.split()[2] == env}
        trains = env == "prod"  # the example trains in prod only (training.environments)
        assert names == ({"model-reader", "trainer", "artifact-repositories"} if trains else {"model-reader"}), env
    kinds = {f.split()[3].partition("/")[0] for f in found}
    assert kinds == {"Deployment", "InferenceService", "WorkflowTemplate"}
    model = (example / "models" / "churn-scorer.yaml").read_text().splitlines()
    row = next(i for i, t in enumerate(model, 1) if "serviceAccount: model-reader" in t)
    deployment = [f for f in found if f.startswith("error [missing-reference] prod Deployment/churn-scorer-predictor ")]
    assert len(deployment) == 1
    assert (
        "/spec/template/spec/serviceAccountName: ServiceAccount 'model-reader' does not exist in ml-prod"
        in (deployment[0])
    )
    assert deployment[0].endswith(f"(models/churn-scorer.yaml:{row}:19)")
    artifact = [f for f in found if "ConfigMap 'artifact-repositories'" in f and " prod WorkflowTemplate/fraud" in f]
    assert len(artifact) == 1 and "(models/fraud-detector.yaml:" in artifact[0]


def test_objects_the_cluster_provides_are_declared(example: Path) -> None:
    drop_platform(example)
    data = project_data(example)
    data["clusterFeatures"]["provides"] = {
        "serviceAccounts": ["model-reader", "trainer"],
        "configMaps": ["artifact-repositories"],
    }
    write_project(example, data)
    result = run_cli(["validate"], cwd=example)
    assert result.exit_code == 0, result.stdout
    # per environment: the project's clusters provide only the serving identity, prod's the training ones too
    data["clusterFeatures"]["provides"] = {"serviceAccounts": ["model-reader"]}
    environment(data, "prod")["clusterFeatures"] = {
        "provides": {"serviceAccounts": ["model-reader", "trainer"], "configMaps": ["artifact-repositories"]}
    }
    write_project(example, data)
    assert run_cli(["validate"], cwd=example).exit_code == 0
    environment(data, "prod")["clusterFeatures"] = {"provides": {"serviceAccounts": ["model-reader"]}}
    write_project(example, data)
    result = run_cli(["validate", "--format", "json"], cwd=example)
    found = missing(result.stdout)
    assert found and {f.split()[2] for f in found} == {"prod"}
    assert all("model-reader" not in f for f in found)


POD = {
    "serviceAccountName": "runner",
    "imagePullSecrets": [{"name": "registry"}],
    "volumes": [
        {"name": "a", "secret": {"secretName": "tls"}},
        {"name": "b", "configMap": {"name": "settings"}},
        {"name": "c", "configMap": {"name": "maybe", "optional": True}},
        {"name": "d", "projected": {"sources": [{"secret": {"name": "projected-secret"}}]}},
    ],
    "containers": [
        {
            "name": "main",
            "image": "x:1",
            "env": [
                {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
                {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "modes", "key": "m", "optional": True}}},
            ],
            "envFrom": [{"configMapRef": {"name": "env-config"}}, {"secretRef": {"name": "env-secret"}}],
        }
    ],
}


def test_every_kind_of_reference_is_followed() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": POD}},
    }
    found = {(r.kind, r.name, "/".join(map(str, r.path))) for r in references(deployment)}
    assert found == {
        ("ServiceAccount", "runner", "spec/template/spec/serviceAccountName"),
        ("Secret", "registry", "spec/template/spec/imagePullSecrets/0/name"),
        ("Secret", "tls", "spec/template/spec/volumes/0/secret/secretName"),
        ("ConfigMap", "settings", "spec/template/spec/volumes/1/configMap/name"),
        ("Secret", "projected-secret", "spec/template/spec/volumes/3/projected/sources/0/secret/name"),
        ("Secret", "api", "spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/name"),
        ("ConfigMap", "env-config", "spec/template/spec/containers/0/envFrom/0/configMapRef/name"),
        ("Secret", "env-secret", "spec/template/spec/containers/0/envFrom/1/secretRef/name"),
    }


def test_workflow_references() -> None:
    workflow = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "CronWorkflow",
        "metadata": {"name": "w"},
        "spec": {
            "workflowSpec": {
                "serviceAccountName": "trainer",
                "executor": {"serviceAccountName": "executor"},
                "artifactRepositoryRef": {"configMap": "my-artifacts", "key": "s3"},
                "templates": [{"name": "t", "container": {"image": "x:1", "envFrom": [{"secretRef": {"name": "s"}}]}}],
            }
        },
    }
    found = {(r.kind, r.name) for r in references(workflow)}
    assert found == {
        ("ServiceAccount", "trainer"),
        ("ServiceAccount", "executor"),
        ("ConfigMap", "my-artifacts"),
        ("Secret", "s"),
    }
    del workflow["spec"]["workflowSpec"]["artifactRepositoryRef"]
    assert ("ConfigMap", "artifact-repositories") not in {(r.kind, r.name) for r in references(workflow)}
    workflow["spec"]["workflowSpec"]["templates"][0]["outputs"] = {"artifacts": [{"name": "m", "path": "/tmp/m"}]}
    implicit = [r for r in references(workflow) if r.name == "artifact-repositories"]
    assert len(implicit) == 1 and implicit[0].implicit


def test_platform_kinds_follow_bases_like_resources(example: Path, schemas: SchemaSet) -> None:
    """`bases:` (Kustomize's older name for directory resources) is confined and read by the same walk."""
    legacy = example / "base" / "platform" / "legacy"
    legacy.mkdir()
    (legacy / "pdb.yaml").write_text(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: shared}\n"
        "spec: {maxUnavailable: 1, selector: {matchLabels: {app: shared}}}\n"
    )
    (legacy / "kustomization.yaml").write_text("resources: [pdb.yaml]\n")
    kustomization = example / "base" / "platform" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "bases: [legacy]\n")
    render(example)
    project = app_project(example)
    assert schemas.validate(project) == []
    listed = {(i["group"], i["kind"]) for i in project["spec"]["namespaceResourceWhitelist"]}
    assert ("policy", "PodDisruptionBudget") in listed
