"""Hostile input, round 2 (issue 20): ways out of the boxes mlgitops puts specs and templates in.

Each case edits a copy of the bundled example, runs the real CLI (in-process, or the real Kustomize
and git where the claim is about them), and checks the refusal is one positioned printable line with
every file left as it was, or that what is written can no longer carry the attack.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import copy_example, kustomize_objects, run_cli, snapshot_tree

SIGNATURE = "function(model, environment, project, settings={})"
FRAUD = "models/fraud-detector.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "repo")


def refused(repo: Path, *args: str) -> str:
    """Run a command that must be refused: exit 1, exactly one printable line on stderr, nothing written."""
    before = snapshot_tree(repo)
    result = run_cli(list(args or ("render",)), cwd=repo)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert snapshot_tree(repo) == before
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].isprintable() and "Traceback" not in lines[0], lines[0]
    return lines[0]


def write_template(repo: Path, name: str, body: str) -> Path:
    path = repo / "templates" / f"{name}.jsonnet"
    path.write_text(f"{SIGNATURE}\n{body}\n")
    return path


def edit(repo: Path, relative: str, old: str, new: str) -> None:
    path = repo / relative
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# --- 1. Jsonnet imports confined to templates/, symlinks included ------------------------------------------


def _fake_git(repo: Path) -> None:
    (repo / ".git").mkdir()
    (repo / ".git/config").write_text('[http]\n\textraheader = "AUTHORIZATION: bearer ci-token-1234"\n')


def test_lib_symlinked_to_dot_git_serves_nothing(repo: Path) -> None:
    _fake_git(repo)
    shutil.rmtree(repo / "templates/lib")
    (repo / "templates/lib").symlink_to(repo / ".git", target_is_directory=True)
    (repo / "templates/network-policy.jsonnet").unlink()
    template = write_template(
        repo,
        "leak",
        "  [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'leak'},\n    data: {c: importstr 'lib/config'}}]",
    )
    line = refused(repo, "render")
    column = template.read_text().splitlines()[2].index("importstr") + 1
    assert line.startswith(f'templates/leak.jsonnet:3:{column}: couldn\'t open import "lib/config": '), line
    assert "resolves outside templates/" in line and "ci-token" not in line
    assert template.exists()
    for command in (["build", "--env", "dev"], ["validate"]):
        result = run_cli(command, cwd=repo)
        assert result.exit_code == 1 and "ci-token" not in result.stdout + result.stderr


def test_lib_symlinked_out_of_the_project_is_one_clean_line(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    shutil.copytree(repo / "templates/lib", outside)
    shutil.rmtree(repo / "templates/lib")
    (repo / "templates/lib").symlink_to(outside, target_is_directory=True)
    line = refused(repo, "render")
    assert line == (
        'templates/network-policy.jsonnet:4:13: couldn\'t open import "lib/mlgitops.libsonnet": '
        "lib/mlgitops.libsonnet resolves outside templates/ and templates/lib/ (imports are confined there, "
        "symlinks included)"
    ), line
    assert str(tmp_path) not in line


def test_a_file_symlinked_to_another_template_directory_file_is_served(repo: Path) -> None:
    """A link that stays inside templates/ is not an escape."""
    (repo / "templates/lib/alias.libsonnet").symlink_to(repo / "templates/lib/mlgitops.libsonnet")
    edit(repo, "templates/pdb.jsonnet", "lib/mlgitops.libsonnet", "lib/alias.libsonnet")
    result = run_cli(["render", "--check"], cwd=repo)
    assert result.exit_code == 0, result.stderr


# --- 6. history: commit authors and subjects cannot drive the terminal ------------------------------------


def test_history_escapes_terminal_controls_from_authors_and_subjects(repo: Path) -> None:
    from tests.delivery.test_diff import git

    git(repo, "init", "-q")
    git(repo, "add", "-A")
    author = "user.name=Mallory\x1b[2J\x1b]0;owned\x07 Smith"
    git(repo, "-c", author, "commit", "-q", "-m", "start \u202eevil\u2066 \x1b[31mred")
    result = run_cli(["history", "fraud-detector"], cwd=repo)
    assert result.exit_code == 0, result.stderr
    rows = result.stdout.splitlines()[1:]  # under the header row
    assert len(rows) == 3  # dev, staging, prod: one line each
    for row in rows:
        assert all(c.isprintable() or c == "\t" for c in row), row
        assert "\x1b" not in row and "\u202e" not in row and "\x07" not in row
        assert row.endswith("\tMallory\\x1b[2J\\x1b]0;owned\\x07 Smith\tstart \\u202eevil\\u2066 \\x1b[31mred"), row
    as_json = run_cli(["history", "fraud-detector", "--format", "json"], cwd=repo)
    assert "\x1b" not in as_json.stdout and "\u202e" not in as_json.stdout


# --- 7. promote --pr-body: the reason is plain text in Markdown -------------------------------------------


def test_pr_body_reason_is_plain_markdown_text(repo: Path) -> None:
    import html
    import re

    reason = (
        "@acme/admins see ![x](https://evil.example/p.png) <img src=x onerror=alert(1)> [ok](javascript:x) "
        "*b* `c` &amp; \\(x\\) \x1b[2J\u202e"
    )
    result = run_cli(
        [
            "promote",
            "fraud-detector",
            "--to",
            "prod",
            "--from",
            "staging",
            "--reason",
            reason,
            "--pr-body",
            "pr.md",
            "--no-render",
        ],
        cwd=repo,
    )
    assert result.exit_code == 0, result.stderr
    [line] = [line for line in (repo / "pr.md").read_text().splitlines() if line.startswith("**Reason:**")]
    shown = line.removeprefix("**Reason:** ")
    assert "\x1b" not in shown and "\u202e" not in shown and "<" not in shown and ">" not in shown
    # every Markdown-active character is backslash-escaped, so nothing starts a mention, link, image or span
    assert not re.search(r"(?<!\\)[@!\[\]()*`_~|]", shown), shown
    unescaped = html.unescape(re.sub(r"\\(.)", r"\1", shown))
    assert unescaped == reason.replace("\x1b", "\\x1b").replace("\u202e", "\\u202e")


# --- 5. storage URIs: normalised, then refused when they climb, read local files or reach the metadata service


UNSAFE_URIS = [
    ("s3://ml-models/fraud-detector/7/../6/model", "has a '..' path segment"),
    ("s3://ml-models/fraud-detector/7/%2E%2E/6/model", "has a '..' path segment"),
    ("gs://ml-models/fraud-detector/7/..\\\\6/model", "has a '..' path segment"),
    ("http://169.254.169.254/latest/meta-data/iam/7/model", "names the cloud metadata service (169.254.169.254)"),
    ("http://2852039166/7/model", "names the cloud metadata service (169.254.169.254)"),
    ("http://[::ffff:a9fe:a9fe]/7/model", "names the cloud metadata service (169.254.169.254)"),
    ("https://Metadata.Google.Internal./computeMetadata/v1/7", "names the cloud metadata service"),
    ("http://[fd00:ec2::254]/latest/7/model", "names the cloud metadata service (fd00:ec2::254)"),
    ("http://169.254.170.2:8080/v2/credentials/7", "names the link-local address 169.254.170.2"),
    ("file:///var/run/secrets/kubernetes.io/serviceaccount/7/token", "is a file:// URI"),
]


@pytest.mark.parametrize(("uri", "message"), UNSAFE_URIS, ids=[u for u, _ in UNSAFE_URIS])
def test_unsafe_storage_uri_in_a_spec_is_a_positioned_error(repo: Path, uri: str, message: str) -> None:
    edit(repo, FRAUD, "storageUri: s3://ml-models/fraud-detector/7/model", f"storageUri: {uri!r}".replace("'", '"'))
    line = refused(repo, "validate")
    assert line.startswith(f"{FRAUD}:12:15: "), line
    assert message in line, line


def test_dot_dot_cannot_fool_the_version_check_through_a_patch(repo: Path) -> None:
    """An InferenceService storageUri written by a patch is checked like the spec's."""
    edit(
        repo,
        FRAUD,
        "environments:\n",
        "patches:\n- target: {kind: InferenceService}\n  ops:\n"
        "  - {op: replace, path: /spec/predictor/model/storageUri, value: 's3://ml-models/fraud-detector/7/../6/model'}\n"
        "environments:\n",
    )
    result = run_cli(["validate"], cwd=repo)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "error [storage-uri-version] InferenceService/fraud-detector: " in result.stdout
    assert "has a '..' path segment" in result.stdout


@contextlib.contextmanager
def rewriting_registry(upstream: str, artifact_uri: str) -> Iterator[str]:
    """A registry in front of the real MLflow server that answers every download-URI request with
    `artifact_uri` (what a compromised registry, or one that allows host-addressed sources, hands out)."""
    import http.server
    import json
    import threading
    import urllib.error
    import urllib.request

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if "/model-versions/get-download-uri" in self.path:
                status, body = 200, json.dumps({"artifact_uri": artifact_uri}).encode()
            else:
                try:
                    with urllib.request.urlopen(upstream + self.path, timeout=30) as response:
                        status, body = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, body = exc.code, exc.read()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/9/model", "names the cloud metadata service (169.254.169.254)"),
        ("s3://ml-models/fraud-detector/9/../../other-team/model", "has a '..' path segment"),
        ("file:///etc/9/model", "is a file:// URI"),
    ],
)
def test_promote_refuses_an_unsafe_uri_from_the_registry(
    repo: Path, registry: Any, monkeypatch: pytest.MonkeyPatch, uri: str, message: str
) -> None:
    import uuid

    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    name = f"fraud-{uuid.uuid4().hex[:8]}"
    version, _ = registry.version(name, {"auc": 0.95, "p95_latency_ms": 31.0}, source=f"s3://ml-models/{name}/9/model",
                                  alias="champion")  # fmt: skip
    with rewriting_registry(registry.url, uri) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        line = refused(repo, "promote", "fraud-detector", "--to", "dev", "--alias", "champion",
                       "--registered-model", name)  # fmt: skip
    assert line.startswith(f"registry: '{name}' version '{version}' is stored where the cluster cannot load it: "), line
    assert message in line, line


# --- 2. what templates may return: namespaced objects; named cluster-scoped kinds; no lists --------------

CLUSTER_ADMIN = """  [{
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: {name: model.metadata.name + '-root'},
    roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin'},
    subjects: [{kind: 'ServiceAccount', name: 'default', namespace: environment.namespace}],
  }]"""


def _name_position(template: Path) -> str:
    """`templates/x.jsonnet:L:C` of the first `metadata: {name: ...}` the template writes."""
    lines = template.read_text().splitlines()
    number, line = next((n, line) for n, line in enumerate(lines, 1) if "metadata: {name:" in line)
    return f"templates/{template.name}:{number}:{line.index('name:', line.index('metadata')) + 1}"


@pytest.mark.parametrize("command", [("render",), ("validate",), ("build", "--env", "prod")])
def test_a_cluster_scoped_template_object_is_refused(repo: Path, command: tuple[str, ...]) -> None:
    template = write_template(repo, "root", CLUSTER_ADMIN)
    line = refused(repo, *command)
    assert line.startswith(_name_position(template) + ": ClusterRoleBinding "), line
    assert "is cluster-scoped (rbac.authorization.k8s.io/v1); templates return namespaced objects only" in line
    assert "addons: {clusterScoped: [{group: 'rbac.authorization.k8s.io', kind: ClusterRoleBinding}]}" in line


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [("v1", "List"), ("v1", "ConfigMapList"), ("rbac.authorization.k8s.io/v1", "ClusterRoleBindingList")],
)
def test_list_kinds_are_refused(repo: Path, api_version: str, kind: str) -> None:
    template = write_template(
        repo,
        "wrapped",
        f"  [{{apiVersion: '{api_version}', kind: '{kind}', metadata: {{name: 'x'}},\n"
        "    items: [{apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: {name: 'r'},\n"
        "             roleRef: {apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin'}}]}]",
    )
    line = refused(repo, "render")
    assert line.startswith(_name_position(template) + f": {kind} 'x' is a list kind, which Kustomize replaces"), line


def _allow(repo: Path, entries: str) -> None:
    text = (repo / "mlgitops.yaml").read_text().rstrip("\n")
    (repo / "mlgitops.yaml").write_text(f"{text}\naddons: {{clusterScoped: {entries}}}\n")


def test_an_allowed_cluster_scoped_kind_renders_as_kustomize_builds_it(repo: Path) -> None:
    from mlgitops.language.loader import load_workspace
    from mlgitops.layout.overlay import environment_objects
    from mlgitops.render.pipeline import render_models
    from tests.conftest import object_identity

    kinds = "{group: rbac.authorization.k8s.io, kind: ClusterRole}, {group: argoproj.io, kind: ClusterWorkflowTemplate}"
    _allow(repo, f"[{kinds}]")
    write_template(
        repo,
        "reader",
        "  if std.get(model, 'serving', null) == null then [] else [\n"
        "    {apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole',\n"
        "     metadata: {name: model.metadata.name + '-' + environment.name + '-reader'},\n"
        "     rules: [{apiGroups: [''], resources: ['nodes'], verbs: ['get']}]},\n"
        "    {apiVersion: 'argoproj.io/v1alpha1', kind: 'ClusterWorkflowTemplate',\n"
        "     metadata: {name: model.metadata.name + '-shared'}, spec: {templates: []}},\n"
        "  ]",
    )
    assert run_cli(["render"], cwd=repo).exit_code == 0
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0
    workspace = load_workspace(repo)
    renders = render_models(workspace)
    for env in ("dev", "staging", "prod"):
        built = {object_identity(o): o for o in kustomize_objects(repo / "overlays" / env)}
        computed = {object_identity(o): o for o in environment_objects(workspace, env, renders)}
        platform = {k for k in built if k not in computed}
        assert all(k[1] in ("ConfigMap", "ServiceAccount", "Role", "RoleBinding") for k in platform), platform
        assert {k: built[k] for k in computed} == computed  # the Kustomize invariant, cluster kinds included
        role = built[("rbac.authorization.k8s.io/v1", "ClusterRole", "", f"fraud-detector-{env}-reader")]
        assert "namespace" not in role["metadata"]  # Kustomize knows ClusterRole: no namespace
        # Kustomize's schema does not know ClusterWorkflowTemplate: it sets the namespace, and the overlays' transformer
        # takes it off again (layout/overlay.py `_unnamespace`), as in the objects mlgitops computes
        assert ("argoproj.io/v1alpha1", "ClusterWorkflowTemplate", "", "fraud-detector-shared") in built
        stream = run_cli(["build", "--env", env], cwd=repo)
        assert stream.exit_code == 0, stream.stderr
        assert {object_identity(o) for o in yaml.safe_load_all(stream.stdout) if o} == set(built)
    project = load(repo / "plugins/argocd/appproject-acme-ml.yaml")["spec"]
    cluster = project["clusterResourceWhitelist"]
    entry = {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "fraud-detector-prod-reader"}
    assert entry in cluster
    assert {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole"} not in project["namespaceResourceWhitelist"]
    flux_role = load(repo / "plugins/flux/in-cluster/clusterrole-acme-ml-prod-flux.yaml")
    assert {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["clusterroles"],
        "resourceNames": ["fraud-detector-prod-reader"],
        "verbs": ["get", "list", "watch", "patch", "update", "delete"],
    } in flux_role["rules"]
    assert run_cli(["validate"], cwd=repo).exit_code in (0, 1)  # loads: nothing refused the allowed kinds


def test_flux_kustomizations_run_as_a_service_account_no_wider_than_the_appproject(repo: Path) -> None:
    from mlgitops.util.kubekinds import resource_name

    project = load(repo / "plugins/argocd/appproject-acme-ml.yaml")["spec"]
    allowed_namespaced = {(e["group"], resource_name(e["kind"])) for e in project["namespaceResourceWhitelist"]}
    allowed_cluster = {(e["group"], resource_name(e["kind"]), e["name"]) for e in project["clusterResourceWhitelist"]}
    allowed_namespaces = {d["namespace"] for d in project["destinations"]}
    folder = repo / "plugins/flux/in-cluster"
    objects = kustomize_objects(folder)  # what `kubectl apply -k plugins/flux/in-cluster` applies
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    accounts = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in by_kind["ServiceAccount"]}
    for ks in by_kind["Kustomization"]:
        account = ks["spec"]["serviceAccountName"]
        assert (ks["metadata"]["namespace"], account) in accounts  # impersonated in the Kustomization's namespace
    roles = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in by_kind["Role"]}
    cluster_roles = {o["metadata"]["name"]: o for o in by_kind["ClusterRole"]}
    for binding in [*by_kind["RoleBinding"], *by_kind["ClusterRoleBinding"]]:
        env = binding["metadata"]["labels"]["mlgitops.io/environment"]
        subjects = [(s["kind"], s["namespace"], s["name"]) for s in binding["subjects"]]
        assert subjects == [("ServiceAccount", "flux-system", f"acme-ml-{env}")]
        if binding["kind"] == "RoleBinding":
            role = roles[(binding["metadata"]["namespace"], binding["roleRef"]["name"])]
            assert binding["metadata"]["namespace"] in allowed_namespaces
            for rule in role["rules"]:
                if rule["verbs"] == ["bind", "escalate"]:
                    assert rule["resources"] == ["roles"]  # only because the AppProject admits Roles
                    assert ("rbac.authorization.k8s.io", "roles") in allowed_namespaced
                    continue
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        assert (group, resource) in allowed_namespaced, (group, resource)
        else:
            role = cluster_roles[binding["roleRef"]["name"]]
            for rule in role["rules"]:
                assert "create" not in rule["verbs"] and len(rule["resourceNames"]) == 1
                [group], [resource], [name] = rule["apiGroups"], rule["resources"], rule["resourceNames"]
                assert (group, resource, name) in allowed_cluster
    env_of_role = {o["metadata"]["labels"]["mlgitops.io/environment"]: o["metadata"]["namespace"]
                   for o in by_kind["Role"]}  # fmt: skip
    assert env_of_role == {"dev": "ml-dev", "staging": "ml-staging", "prod": "ml-prod"}
    assert sorted(o["metadata"]["name"] for o in by_kind["Namespace"]) == ["ml-dev", "ml-prod", "ml-staging"]


# --- 3. no Secret values in Git from templates or patches --------------------------------------------------


@pytest.mark.parametrize("field", ["data", "stringData"])
def test_a_template_secret_with_literal_values_is_refused(repo: Path, field: str) -> None:
    value = "{password: 'aHVudGVyMg=='}" if field == "data" else "{password: 'hunter2'}"
    template = write_template(
        repo, "creds", f"  [{{apiVersion: 'v1', kind: 'Secret', metadata: {{name: 'db-creds'}}, {field}: {value}}}]"
    )
    line = refused(repo, "render")
    expected = f": Secret 'db-creds' holds literal {field}, which would be committed"
    assert line.startswith(_name_position(template) + expected), line
    assert "hunter2" not in line and "aHVudGVyMg" not in line


def test_a_secret_without_values_is_allowed_and_a_patch_cannot_add_them(repo: Path) -> None:
    write_template(
        repo,
        "creds",
        "  [{apiVersion: 'v1', kind: 'Secret', metadata: {name: model.metadata.name + '-db'}, type: 'Opaque'}]",
    )
    assert run_cli(["render"], cwd=repo).exit_code == 0
    edit(
        repo,
        FRAUD,
        "environments:\n",
        "patches:\n- target: {kind: Secret}\n  ops:\n  - {op: add, path: /stringData, value: {password: hunter2}}\n"
        "environments:\n",
    )
    line = refused(repo, "render")
    number = (repo / FRAUD).read_text().splitlines().index("patches:") + 2  # the list
    assert line.startswith(f"{FRAUD}:{number}:1: Secret 'fraud-detector-db' holds literal stringData"), line
    assert "hunter2" not in line


# --- 4. Pod Security: every pod and container, wherever it comes from ------------------------------------


def _patched(repo: Path, ops: str, kind: str = "InferenceService") -> list[str]:
    """`validate` after the fraud-detector's objects of `kind` get `ops`: its pod-security findings."""
    edit(repo, FRAUD, "environments:\n", f"patches:\n- target: {{kind: {kind}}}\n  ops:\n{ops}environments:\n")
    result = run_cli(["validate"], cwd=repo)
    assert result.exit_code == 1, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if "[pod-security]" in line]


def test_older_predictor_form_is_checked(repo: Path) -> None:
    findings = _patched(
        repo,
        "  - {op: move, from: /spec/predictor/model, path: /spec/predictor/sklearn}\n"
        "  - {op: add, path: /spec/predictor/sklearn/securityContext, value: {privileged: true}}\n",
    )
    assert any(
        "InferenceService/fraud-detector" in line and "container kserve-container: privileged is true" in line
        for line in findings
    ), findings


def test_worker_spec_is_checked(repo: Path) -> None:
    findings = _patched(
        repo,
        "  - op: add\n    path: /spec/predictor/workerSpec\n"
        "    value: {hostNetwork: true, containers: [{name: worker, image: ghcr.io/acme/w:1,\n"
        "            securityContext: {capabilities: {add: [SYS_ADMIN]}}}]}\n",
    )
    text = "\n".join(findings)
    assert "hostNetwork is true (a host namespace)" in text, text
    assert "container worker: adds capability SYS_ADMIN" in text, text


@pytest.mark.parametrize("where", ["/spec/templates/1/podSpecPatch", "/spec/podSpecPatch"])
def test_argo_pod_spec_patch_is_checked(repo: Path, where: str) -> None:
    patch = "hostPID: true\\ncontainers:\\n- name: main\\n  securityContext: {privileged: true}\\n"
    findings = _patched(repo, f'  - {{op: add, path: {where}, value: "{patch}"}}\n', kind="WorkflowTemplate")
    text = "\n".join(findings)
    assert "WorkflowTemplate/fraud-detector-train" in text, text
    assert "podSpecPatch: hostPID is true (a host namespace)" in text, text
    assert "podSpecPatch: container main: privileged is true" in text, text


def test_an_unparsable_pod_spec_patch_is_reported(repo: Path) -> None:
    findings = _patched(
        repo, '  - {op: add, path: /spec/templates/1/podSpecPatch, value: "[not: a map"}\n', kind="WorkflowTemplate"
    )
    assert any("podSpecPatch is not YAML" in line for line in findings), findings


def test_a_pod_spec_in_an_addon_kind_is_checked(repo: Path) -> None:
    write_template(
        repo,
        "runtime",
        # one model's: the same identity from every model is refused before any policy runs
        "  if model.metadata.name != 'fraud-detector' then [] else\n"
        "  [{apiVersion: 'serving.kserve.io/v1alpha1', kind: 'ServingRuntime', metadata: {name: 'custom-rt'},\n"
        "    spec: {supportedModelFormats: [{name: 'sklearn'}], hostIPC: true,\n"
        "           containers: [{name: 'kserve-container', image: 'ghcr.io/acme/rt:1',\n"
        "                         securityContext: {privileged: true}}]}}]",
    )
    result = run_cli(["validate"], cwd=repo)
    assert result.exit_code == 1, result.stdout + result.stderr
    text = "\n".join(line for line in result.stdout.splitlines() if "[pod-security]" in line)
    assert "ServingRuntime/custom-rt" in text and "hostIPC is true" in text, text
    assert "container kserve-container: privileged is true" in text, text
