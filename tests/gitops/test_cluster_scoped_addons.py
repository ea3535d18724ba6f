"""Cluster-scoped objects from addons (issue 25, found again by the corpus): they come out of every overlay without a
namespace, as the API server stores them, and the AppProject and the Flux RBAC name them among the cluster-scoped
objects, also for a kind only the project knows is cluster-scoped (declared in `addons.clusterScoped`)."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from tests.conftest import kustomize_objects, object_identity, run_cli
from tests.projects import model_yaml, project_yaml, write_project

TEMPLATE = """\
function(model, environment, project, settings={}) [
  {apiVersion: 'serving.kserve.io/v1alpha1', kind: 'ClusterStorageContainer',
   metadata: {name: model.metadata.name + '-storage'},
   spec: {container: {name: 'storage-initializer', image: 'kserve/storage-initializer:v0.20.0'},
          supportedUriFormats: [{prefix: 'modelscope://'}]}},
  {apiVersion: 'kueue.x-k8s.io/v1beta1', kind: 'ResourceFlavor', metadata: {name: model.metadata.name + '-gpus'}},
]
"""
ALLOWED = """\
argocd: {mode: rendered}
addons:
  clusterScoped:
  - {group: serving.kserve.io, kind: ClusterStorageContainer}
  - {group: kueue.x-k8s.io, kind: ResourceFlavor}
"""


def _repo(root: Path) -> Path:
    write_project(root, project_yaml("dev", "prod", extra=ALLOWED), {"m": model_yaml("m", body="serving: {}\n")})
    (root / "templates").mkdir()
    (root / "templates" / "cluster.jsonnet").write_text(TEMPLATE)
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    return root


def test_cluster_scoped_addon_objects_have_no_namespace_in_any_overlay(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    workspace = load_workspace(root)
    renders = render_models(workspace)
    for env in ("dev", "prod"):
        for directory in (root / "overlays" / env, root / "overlays" / env / "m"):  # environment and model units
            built = {object_identity(o): o for o in kustomize_objects(directory)}
            assert ("serving.kserve.io/v1alpha1", "ClusterStorageContainer", "", "m-storage") in built
            assert ("kueue.x-k8s.io/v1beta1", "ResourceFlavor", "", "m-gpus") in built
            assert ("serving.kserve.io/v1beta1", "InferenceService", f"ml-{env}", "m") in built
        computed = {object_identity(o): o for o in environment_objects(workspace, env, renders)}
        assert {object_identity(o): o for o in kustomize_objects(root / "overlays" / env)} == computed
        stream = run_cli(["build", "--env", env], cwd=root)
        assert {object_identity(o) for o in yaml.safe_load_all(stream.stdout) if o} == set(computed)


def test_the_app_project_and_flux_name_them_as_cluster_scoped(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    spec = yaml.safe_load((root / "plugins/argocd/appproject-acme.yaml").read_text())["spec"]
    assert {"group": "kueue.x-k8s.io", "kind": "ResourceFlavor", "name": "m-gpus"} in spec["clusterResourceWhitelist"]
    storage = {"group": "serving.kserve.io", "kind": "ClusterStorageContainer", "name": "m-storage"}
    assert storage in spec["clusterResourceWhitelist"]
    namespaced = {(entry["group"], entry["kind"]) for entry in spec["namespaceResourceWhitelist"]}
    assert namespaced == {("serving.kserve.io", "InferenceService")}
    role = yaml.safe_load((root / "plugins/flux/in-cluster/clusterrole-acme-prod-flux.yaml").read_text())
    assert any(
        rule["apiGroups"] == ["kueue.x-k8s.io"] and rule["resourceNames"] == ["m-gpus"] for rule in role["rules"]
    )
