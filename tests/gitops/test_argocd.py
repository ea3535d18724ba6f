"""plugins/argocd/: plugin.yaml as argocd-cmp-server reads it, the repo-server sidecar Component built by
the real Kustomize over a stock-like Deployment, and the AppProject, Applications and ApplicationSet
against the upstream Argo CD CRDs (../shared/crds)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmp_harness import load_plugin
from mlgitops.checks.schemas.crd import SchemaSet, load_crd_schemas
from mlgitops.gitops.argocd import (
    ARGOCD_DIR,
    PLUGIN_CHECKSUM_ANNOTATION,
    PLUGIN_CONFIG_PATH,
    PLUGIN_FULL_NAME,
    argocd_files,
    argocd_objects,
)
from mlgitops.language.loader import load_workspace
from mlgitops.util.yamlio import GENERATED_MARK
from tests.conftest import REPO, copy_example, kustomize_objects, object_identity, run_cli

Obj = dict[str, Any]
EXAMPLE_IMAGE = "ghcr.io/acme/mlgitops-cmp:0.1.0"  # argocd.image of the bundled example


@pytest.fixture(scope="module")
def schemas(crds_dir: Path) -> SchemaSet:
    found = load_crd_schemas(crds_dir)
    for kind in ("Application", "ApplicationSet", "AppProject"):
        assert found.has("argoproj.io/v1alpha1", kind), f"no {kind} CRD in {crds_dir}"
    return found


def configure(repo: Path, argocd: Obj | None = None, **environment_changes: Obj) -> Path:
    """Rewrite the example's mlgitops.yaml with other `argocd` settings or environment fields."""
    path = repo / "mlgitops.yaml"
    data = yaml.safe_load(path.read_text())
    if argocd is not None:
        data["argocd"] = {"image": EXAMPLE_IMAGE, **argocd}
    for env in data["environments"]:
        env.update(environment_changes.get(env["name"], {}))
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return repo


def objects_of(repo: Path) -> list[Obj]:
    return argocd_objects(load_workspace(repo))


VARIANTS = {
    "plugin, applications": {"mode": "plugin"},
    "rendered, applications": {"mode": "rendered"},
    "plugin, applicationset": {"mode": "plugin", "applicationSet": True},
    "rendered, applicationset": {"mode": "rendered", "applicationSet": True, "namespace": "gitops"},
}
CLUSTER_NAME = {"staging": {"cluster": None, "clusterName": "staging-eu"}}


# --- plugin.yaml ----------------------------------------------------------------------------------


def test_plugin_yaml_as_argocd_reads_it() -> None:
    plugin = load_plugin(REPO / ARGOCD_DIR / "plugin.yaml")
    assert plugin.full_name == PLUGIN_FULL_NAME == "mlgitops-v1"
    assert plugin.kind == "ConfigManagementPlugin"
    assert dict(plugin.discover) == {}, "no discovery: Applications must name the plugin"
    assert plugin.generate.argv == ["mlgitops", "cmp", "generate"]
    assert not plugin.init.defined
    assert plugin.dynamic_parameters.argv == ["mlgitops", "cmp", "parameters"]
    assert [(p["name"], p.get("collectionType")) for p in plugin.static_parameters] == [("extra-labels", "map")]
    assert not plugin.preserve_file_mode and not plugin.provide_git_creds
    assert shutil.which(plugin.generate.argv[0], path=str(Path(sys.executable).parent))


def test_plugin_and_sidecar_do_not_depend_on_the_project(example: Path) -> None:
    """One sidecar serves every repository: only the image (argocd.image) may differ."""
    base = argocd_files(load_workspace(example))
    configure(example, {"mode": "rendered", "applicationSet": True, "namespace": "gitops", "image": "reg.io/cmp:9"})
    (example / "mlgitops.yaml").write_text((example / "mlgitops.yaml").read_text().replace("acme-ml", "other-ml"))
    other = argocd_files(load_workspace(example))
    shared = [p for p in base if p.startswith(f"{ARGOCD_DIR}/sidecar/") or p.endswith("/plugin.yaml")]
    assert len(shared) == 4
    for path in shared:
        if path.endswith("repo-server-patch.yaml"):
            assert base[path].replace(EXAMPLE_IMAGE, "reg.io/cmp:9") == other[path]
        else:
            assert base[path] == other[path], path


# --- AppProject, Applications, ApplicationSet -----------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("cluster_name", [False, True])
def test_objects_validate_against_the_crds(example: Path, schemas: SchemaSet, variant: str, cluster_name: bool) -> None:
    configure(example, VARIANTS[variant], **(CLUSTER_NAME if cluster_name else {}))
    objects = objects_of(example)
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "AppProject"
    assert kinds[1:] == (["ApplicationSet"] if "applicationset" in variant else ["Application"] * 3)
    for obj in objects:
        assert schemas.validate(obj) == [], obj["metadata"]["name"]
        assert obj["metadata"]["namespace"] == VARIANTS[variant].get("namespace", "argocd")


def test_the_crd_check_can_fail(example: Path, schemas: SchemaSet) -> None:
    application = objects_of(example)[1]
    application["spec"]["syncPolicy"]["automated"]["prune"] = "yes"
    application["spec"]["source"]["plugn"] = {}
    paths = sorted(v.json_path for v in schemas.validate(application))
    assert paths == ["/spec/source/plugn", "/spec/syncPolicy/automated/prune"]


def test_sync_policy_follows_the_environment(example: Path) -> None:
    apps = {a["metadata"]["name"]: a for a in objects_of(example)[1:]}
    for name in ("acme-ml-dev", "acme-ml-staging"):
        assert apps[name]["spec"]["syncPolicy"] == {"automated": {"prune": True, "selfHeal": True}}
    assert "syncPolicy" not in apps["acme-ml-prod"]["spec"], "syncPolicy: manual means no automated sync"


def test_destinations(example: Path) -> None:
    configure(example, None, **CLUSTER_NAME)
    project, *apps = objects_of(example)
    destinations = {a["metadata"]["name"]: a["spec"]["destination"] for a in apps}
    assert destinations == {
        "acme-ml-dev": {"server": "https://kubernetes.default.svc", "namespace": "ml-dev"},
        "acme-ml-staging": {"name": "staging-eu", "namespace": "ml-staging"},
        "acme-ml-prod": {"server": "https://kubernetes.default.svc", "namespace": "ml-prod"},
    }
    assert project["spec"]["destinations"] == list(destinations.values())
    assert project["spec"]["sourceRepos"] == ["https://github.com/acme/ml-config.git"]
    assert all(a["spec"]["project"] == project["metadata"]["name"] for a in apps)


def test_plugin_mode_source(example: Path) -> None:
    for app in objects_of(example)[1:]:
        env = app["metadata"]["labels"]["mlgitops.io/environment"]
        assert app["spec"]["source"] == {
            "repoURL": "https://github.com/acme/ml-config.git",
            "targetRevision": "main",
            "path": ".",
            "plugin": {"name": "mlgitops-v1", "parameters": [{"name": "environment", "string": env}]},
        }
        paths = app["metadata"]["annotations"]["argocd.argoproj.io/manifest-generate-paths"].split(";")
        assert "/mlgitops.yaml" in paths and "/models" in paths


def test_rendered_mode_points_at_committed_overlays(example: Path) -> None:
    configure(example, {"mode": "rendered"})
    for app in objects_of(example)[1:]:
        source = app["spec"]["source"]
        env = app["metadata"]["labels"]["mlgitops.io/environment"]
        assert source["path"] == f"overlays/{env}" and "plugin" not in source
        assert (example / source["path"] / "kustomization.yaml").is_file()


_ACTION = re.compile(r"(\{\{.*?\}\})")


def go_template(text: str, data: Obj) -> str:
    """The Go text/template subset the ApplicationSet uses: `{{ .k }}`, `{{ .k | toJson }}`,
    `{{ if .k }}`/`{{ else }}`/`{{ end }}`, and `{{-`/`-}}` whitespace trimming (missingkey=error)."""
    parts = _ACTION.split(text)
    for i in range(1, len(parts), 2):
        if parts[i].startswith("{{-"):
            parts[i - 1] = parts[i - 1].rstrip(" \t\r\n")
        if parts[i].endswith("-}}"):
            parts[i + 1] = parts[i + 1].lstrip(" \t\r\n")
    out: list[str] = []
    stack: list[tuple[bool, bool]] = []
    active = True
    for i, part in enumerate(parts):
        if i % 2 == 0:
            if active:
                out.append(part)
            continue
        action = part[2:-2].strip("-").strip()
        if action.startswith("if "):
            condition = bool(data[action[3:].strip().removeprefix(".")])
            stack.append((active, condition))
            active = active and condition
        elif action == "else":
            parent, condition = stack[-1]
            active = parent and not condition
        elif action == "end":
            active = stack.pop()[0]
        elif active:
            name, _, pipe = action.partition("|")
            value = data[name.strip().removeprefix(".")]
            if pipe.strip() == "toJson":
                out.append(json.dumps(value))
            else:
                assert not pipe, action
                out.append(value if isinstance(value, str) else json.dumps(value))
    assert not stack, "unbalanced if/end"
    return "".join(out)


def _render_strings(value: Any, data: Obj) -> Any:
    if isinstance(value, str):
        return go_template(value, data)
    if isinstance(value, dict):
        return {k: _render_strings(v, data) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_strings(v, data) for v in value]
    return value


def _merge(base: Obj, patch: Obj) -> Obj:
    merged = dict(base)
    for key, value in patch.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and key in merged else value
    return merged


def expand(appset: Obj) -> list[Obj]:
    """What the ApplicationSet controller makes of a list generator, template and templatePatch."""
    spec = appset["spec"]
    assert spec["goTemplate"] is True and spec["goTemplateOptions"] == ["missingkey=error"]
    (generator,) = spec["generators"]
    apps = []
    for element in generator["list"]["elements"]:
        template = _render_strings(copy.deepcopy(spec["template"]), element)
        patch = yaml.safe_load(go_template(spec["templatePatch"], element))
        app = _merge(template, patch)
        app["metadata"]["namespace"] = appset["metadata"]["namespace"]
        apps.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **app})
    return apps


@pytest.mark.parametrize("mode", ["plugin", "rendered"])
def test_application_set_makes_the_same_applications(example: Path, schemas: SchemaSet, mode: str) -> None:
    configure(example, {"mode": mode}, **CLUSTER_NAME)
    separate = objects_of(example)[1:]
    configure(example, {"mode": mode, "applicationSet": True})
    _project, appset = objects_of(example)
    generated = expand(appset)
    for app in generated:
        assert schemas.validate(app) == [], app["metadata"]["name"]
    assert generated == separate


# --- the files, Kustomize, the sidecar ------------------------------------------------------------


def test_kustomize_builds_the_applications(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    built = {object_identity(o): o for o in kustomize_objects(repo / ARGOCD_DIR)}
    assert built == {object_identity(o): o for o in objects_of(repo)}


STOCK_REPO_SERVER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: argocd-repo-server
spec:
  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}
  template:
    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}
    spec:
      initContainers:
      - name: copyutil
        image: quay.io/argoproj/argocd:v3.5.1
        command: [/bin/cp, -n, /usr/local/bin/argocd, /var/run/argocd/argocd-cmp-server]
        volumeMounts: [{name: var-files, mountPath: /var/run/argocd}]
      containers:
      - name: argocd-repo-server
        image: quay.io/argoproj/argocd:v3.5.1
        volumeMounts:
        - {name: var-files, mountPath: /var/run/argocd}
        - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}
        - {name: tmp, mountPath: /tmp}
      volumes:
      - {name: var-files, emptyDir: {}}
      - {name: plugins, emptyDir: {}}
      - {name: tmp, emptyDir: {}}
"""


def test_sidecar_component_on_a_stock_repo_server(tmp_path: Path) -> None:
    install = tmp_path / "argocd-install"
    install.mkdir()
    shutil.copytree(REPO / ARGOCD_DIR / "sidecar", install / "mlgitops")
    (install / "repo-server.yaml").write_text(STOCK_REPO_SERVER)
    (install / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: argocd\n"
        "resources: [repo-server.yaml]\ncomponents: [mlgitops]\n"
    )
    objects = {o["kind"]: o for o in kustomize_objects(install)}
    assert set(objects) == {"ConfigMap", "Deployment"}
    pod = objects["Deployment"]["spec"]["template"]
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    assert set(containers) == {"mlgitops-cmp", "argocd-repo-server"}
    sidecar = containers["mlgitops-cmp"]
    # the warm server (mlgitops cmp serve) starts first, then argocd-cmp-server takes its process
    assert sidecar["command"] == ["mlgitops", "cmp", "serve", "--then", "/var/run/argocd/argocd-cmp-server"]
    assert sidecar["image"] == EXAMPLE_IMAGE
    security = sidecar["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 999
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    env = {e["name"]: e["value"] for e in sidecar["env"]}
    assert env["HOME"] == "/tmp"
    assert env["MLGITOPS_CMP_SERVER"].startswith("/tmp/"), "the socket lives in the sidecar's writable /tmp"
    mounts = {m["mountPath"]: m for m in sidecar["volumeMounts"]}
    assert set(mounts) == {"/var/run/argocd", "/home/argocd/cmp-server/plugins", PLUGIN_CONFIG_PATH, "/tmp"}
    assert mounts[PLUGIN_CONFIG_PATH]["subPath"] == "plugin.yaml", "a directory mount breaks argocd-cmp-server"
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert mounts["/var/run/argocd"]["name"] == "var-files" and mounts["/tmp"]["name"] != "tmp"
    assert volumes[mounts["/tmp"]["name"]] == {"name": mounts["/tmp"]["name"], "emptyDir": {}}
    configmap = volumes[mounts[PLUGIN_CONFIG_PATH]["name"]]["configMap"]["name"]
    assert objects["ConfigMap"]["metadata"]["name"] == configmap
    assert objects["ConfigMap"]["metadata"]["namespace"] == "argocd"
    assert containers["argocd-repo-server"]["volumeMounts"][2] == {"mountPath": "/tmp", "name": "tmp"}

    mounted = objects["ConfigMap"]["data"]["plugin.yaml"]
    assert mounted == (REPO / ARGOCD_DIR / "plugin.yaml").read_text()
    (tmp_path / "plugin.yaml").write_text(mounted)
    assert load_plugin(tmp_path / "plugin.yaml").full_name == PLUGIN_FULL_NAME
    checksum = pod["metadata"]["annotations"][PLUGIN_CHECKSUM_ANNOTATION]
    assert checksum == hashlib.sha256(mounted.encode()).hexdigest()


def test_render_switches_to_an_application_set(example: Path) -> None:
    configure(example, {"applicationSet": True})
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 0, result.stderr
    files = sorted(p.relative_to(example).as_posix() for p in (example / ARGOCD_DIR).rglob("*") if p.is_file())
    assert files == [
        f"{ARGOCD_DIR}/applicationset-acme-ml.yaml",
        f"{ARGOCD_DIR}/appproject-acme-ml.yaml",
        f"{ARGOCD_DIR}/kustomization.yaml",
        f"{ARGOCD_DIR}/plugin.yaml",
        f"{ARGOCD_DIR}/sidecar/kustomization.yaml",
        f"{ARGOCD_DIR}/sidecar/plugin-configmap.yaml",
        f"{ARGOCD_DIR}/sidecar/repo-server-patch.yaml",
    ]
    for path in files:
        assert (example / path).read_text().startswith(GENERATED_MARK), path
    assert run_cli(["render", "--check"], cwd=example).exit_code == 0
