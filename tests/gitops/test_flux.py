"""plugins/flux/: the GitRepository and per-environment Kustomizations, checked against the upstream
Flux CRDs and against what the real Kustomize prints for the overlays they point at."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.schemas.crd import SchemaSet, load_crd_schemas
from mlgitops.gitops.flux import flux_objects, git_url
from mlgitops.language.loader import load_workspace
from mlgitops.util.yamlio import load_plain
from tests.conftest import REPO, kustomize_objects, run_cli, snapshot_tree

SUBSTITUTE = "kustomize.toolkit.fluxcd.io/substitute"
ENVS = ["dev", "staging", "prod"]


@pytest.fixture(scope="module")
def flux_schemas(crds_dir: Path) -> SchemaSet:
    return load_crd_schemas(crds_dir)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def add_flux_settings(root: Path, settings: str) -> None:
    text = (root / "mlgitops.yaml").read_text().rstrip("\n")
    (root / "mlgitops.yaml").write_text(f"{text}\nflux: {settings}\n")


def rendered(root: Path) -> None:
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr


def flux_dir_objects(root: Path) -> list[dict[str, Any]]:
    files = sorted((root / "plugins" / "flux").glob("*/*.yaml"))  # one directory per cluster
    return [obj for path in files for obj in load_plain(path.read_text())]


def kustomizations(root: Path) -> dict[str, dict[str, Any]]:
    """Flux Kustomizations on disk, by environment."""
    found = {}
    for obj in flux_dir_objects(root):
        if obj["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1":
            found[obj["metadata"]["labels"]["mlgitops.io/environment"]] = obj
    return found


def assert_valid(schemas: SchemaSet, objects: list[dict[str, Any]]) -> None:
    """Flux objects against Flux's CRDs; the Namespaces, ServiceAccounts and RBAC (flux_rbac.py) against
    Kubernetes' own schemas."""
    from mlgitops.checks.schemas.kube import load_kube_schemas

    kube = load_kube_schemas()
    assert kube is not None
    for obj in objects:
        if obj["apiVersion"].startswith("kustomize.config.k8s.io/"):
            continue  # plugins/flux/<cluster>/kustomization.yaml, read by Kustomize, not applied
        found = schemas if schemas.has(obj["apiVersion"], obj["kind"]) else kube
        assert found.has(obj["apiVersion"], obj["kind"]), obj["kind"]
        assert found.validate(obj) == [], (obj["kind"], obj["metadata"]["name"])


def test_committed_flux_files_match_the_crds_and_point_at_the_overlays(flux_schemas: SchemaSet) -> None:
    objects = flux_dir_objects(REPO)
    assert_valid(flux_schemas, objects)
    repos = {o["metadata"]["name"]: o for o in objects if o["kind"] == "GitRepository"}
    # prod is syncPolicy: manual and follows release tags through its own GitRepository (test_gitops_cluster.py)
    assert sorted(repos) == ["acme-ml", "acme-ml-prod"]
    repo = repos["acme-ml"]
    assert repo["apiVersion"] == "source.toolkit.fluxcd.io/v1"
    assert repo["spec"]["url"] == "https://github.com/acme/ml-config.git"
    assert repo["spec"]["ref"] == {"branch": "main"}
    assert repos["acme-ml-prod"]["spec"]["ref"] == {"semver": ">=1.0.0"}
    by_env = kustomizations(REPO)
    assert list(by_env) == sorted(ENVS)
    for env, ks in by_env.items():
        spec = ks["spec"]
        assert spec["path"] == f"./overlays/{env}"
        assert (REPO / spec["path"] / "kustomization.yaml").is_file()
        assert spec["prune"] is True and spec["wait"] is True
        # every environment serves support-llm on an L4: the GPU default
        assert (spec["interval"], spec["retryInterval"], spec["timeout"]) == ("10m", "2m", "30m")
        source = repos["acme-ml-prod" if env == "prod" else "acme-ml"]
        assert spec["sourceRef"] == {
            "kind": "GitRepository",
            "name": source["metadata"]["name"],
            "namespace": source["metadata"]["namespace"],
        }
        assert ks["metadata"]["namespace"] == "flux-system"
        assert "dependsOn" not in spec  # off by default
        assert "postBuild" not in spec  # strict substitution would break workflow scripts
    # Every environment names the same cluster: one directory, itself a Kustomize base listing every Flux object.
    assert sorted(p.name for p in (REPO / "plugins" / "flux").iterdir()) == ["in-cluster"]
    built = kustomize_objects(REPO / "plugins" / "flux" / "in-cluster")
    on_disk = [o for o in objects if not o["apiVersion"].startswith("kustomize.config.k8s.io/")]
    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    assert sorted(built, key=key) == sorted(on_disk, key=key)


def test_every_option_still_matches_the_crds(example: Path, flux_schemas: SchemaSet) -> None:
    edit(
        example / "mlgitops.yaml",
        "repoURL: https://github.com/acme/ml-config.git",
        "repoURL: git@github.com:acme/ml-config.git",
    )
    add_flux_settings(
        example,
        "{namespace: gitops, interval: 1h, retryInterval: 1m, timeout: 10m, dependsOn: true, "
        "substitution: true, secretRef: ml-config-deploy-key}",
    )
    rendered(example)
    objects = flux_dir_objects(example)
    assert_valid(flux_schemas, objects)
    repo = next(o for o in objects if o["kind"] == "GitRepository")
    assert repo["spec"]["url"] == "ssh://git@github.com/acme/ml-config.git"
    assert repo["spec"]["secretRef"] == {"name": "ml-config-deploy-key"}
    assert repo["metadata"]["namespace"] == "gitops"
    for ks in kustomizations(example).values():
        assert ks["metadata"]["namespace"] == "gitops"
        assert ks["spec"]["sourceRef"]["namespace"] == "gitops"
        spec = ks["spec"]
        assert (spec["interval"], spec["retryInterval"], spec["timeout"]) == ("1h", "1m", "10m")


@pytest.mark.parametrize("depends_on", [True, False])
def test_depends_on_follows_the_declared_order_only_when_asked(example: Path, depends_on: bool) -> None:
    # Declare the environments in an order that is not alphabetical: prod, then dev, then staging.
    text = (example / "mlgitops.yaml").read_text()
    head, _, rest = text.partition("environments:")
    body, _, tail = rest.partition("gpuClasses:")
    blocks = re.split(r"(?m)^(?=- name: )", body)
    intro, envs = blocks[0], {b.split()[2]: b for b in blocks[1:]}
    body = intro + envs["prod"] + envs["dev"] + envs["staging"]
    (example / "mlgitops.yaml").write_text(head + "environments:" + body + "gpuClasses:" + tail)
    add_flux_settings(example, f"{{dependsOn: {str(depends_on).lower()}}}")
    rendered(example)
    by_env = kustomizations(example)
    depends = {env: ks["spec"].get("dependsOn") for env, ks in by_env.items()}
    if depends_on:
        assert depends == {
            "prod": None,
            "dev": [{"name": "acme-ml-prod"}],
            "staging": [{"name": "acme-ml-dev"}],
        }
        names = {ks["metadata"]["name"] for ks in by_env.values()}
        assert all(d[0]["name"] in names for d in depends.values() if d)
    else:
        assert depends == {"prod": None, "dev": None, "staging": None}


def test_target_namespace_only_when_the_overlay_carries_the_namespace(example: Path) -> None:
    edit(example / "mlgitops.yaml", "  namespace: ml-staging\n", "  namespace: ml-staging\n  createNamespace: false\n")
    rendered(example)
    by_env = kustomizations(example)
    for env in ENVS:
        objects = kustomize_objects(example / "overlays" / env)
        namespaces = [o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"]
        target = by_env[env]["spec"].get("targetNamespace")
        if env == "staging":
            assert namespaces == [] and target is None
        else:
            assert namespaces == [f"ml-{env}"] and target == f"ml-{env}"
        # Whatever the Flux Kustomization says, Kustomize already puts everything in that namespace.
        assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {f"ml-{env}"}


_VAR = re.compile(r"(?<!\$)\$\{([^}]*)\}")


def unset_variables(objects: list[dict[str, Any]], variables: dict[str, str]) -> list[tuple[str, str]]:
    """What kustomize-controller's strict post-build substitution would fail on: `${VAR}` in an object
    that does not opt out, with VAR not among the substituted variables (`$${...}` is an escape)."""
    missing = []
    for obj in objects:
        if obj["metadata"].get("annotations", {}).get(SUBSTITUTE) == "disabled":
            continue
        for name in _VAR.findall(str(obj)):
            if name.split(":")[0].split("/")[0] not in variables:
                missing.append((obj["metadata"]["name"], name))
    return missing


def add_shell_variable_to_a_step(root: Path) -> None:
    edit(
        root / "models" / "fraud-detector.yaml",
        "command: [python, -m, fraud.prepare]",
        'command: [sh, -c, "python -m fraud.prepare --out ${MLGITOPS_OUTPUT_DIR}"]',
    )


def test_substitution_off_by_default_leaves_workflows_alone(example: Path) -> None:
    add_shell_variable_to_a_step(example)
    rendered(example)
    assert all("postBuild" not in ks["spec"] for ks in kustomizations(example).values())
    for env in ENVS:
        for obj in kustomize_objects(example / "overlays" / env):
            assert SUBSTITUTE not in obj["metadata"].get("annotations", {})


def test_substitution_marks_every_argo_workflows_object(example: Path) -> None:
    add_shell_variable_to_a_step(example)
    add_flux_settings(example, "{substitution: true}")
    rendered(example)
    by_env = kustomizations(example)
    # In the committed base files themselves...
    base_files = sorted((example / "base" / "models").glob("*/*.yaml"))
    base_objects = [load_plain(path.read_text())[0] for path in base_files]
    argo_in_base = [o for o in base_objects if o["apiVersion"].startswith("argoproj.io/")]
    assert {o["kind"] for o in argo_in_base} == {"WorkflowTemplate", "CronWorkflow"}
    for obj in argo_in_base:
        assert obj["metadata"]["annotations"][SUBSTITUTE] == "disabled"
    # ...and in what Flux builds from each overlay (the real Kustomize).
    for env in ENVS:
        variables = by_env[env]["spec"]["postBuild"]["substitute"]
        assert variables == {"MLGITOPS_ENVIRONMENT": env, "MLGITOPS_NAMESPACE": f"ml-{env}"}
        objects = kustomize_objects(example / "overlays" / env)
        argo = [o for o in objects if o["apiVersion"].startswith("argoproj.io/")]
        assert bool(argo) == (env == "prod"), env  # models train in prod only (training.environments)
        for obj in objects:
            annotated = obj["metadata"].get("annotations", {}).get(SUBSTITUTE) == "disabled"
            assert annotated == obj["apiVersion"].startswith("argoproj.io/"), (env, obj["kind"])
        assert unset_variables(objects, variables) == []
        # The opt-out is what keeps the workflow script intact: without it Flux would fail.
        stripped = [
            {**o, "metadata": {**o["metadata"], "annotations": {}}} if o["kind"] == "WorkflowTemplate" else o
            for o in objects
        ]
        unset = unset_variables(stripped, variables)
        assert (("fraud-detector-train", "MLGITOPS_OUTPUT_DIR") in unset) == (env == "prod")


def test_scp_like_url_becomes_ssh_and_revision_picks_the_ref(example: Path) -> None:
    edit(
        example / "mlgitops.yaml",
        "repoURL: https://github.com/acme/ml-config.git",
        "repoURL: git@gitlab.example.com:ml/config.git",
    )
    edit(example / "mlgitops.yaml", "revision: main", "revision: refs/tags/v1.4.0")
    workspace = load_workspace(example)
    repo = flux_objects(workspace)[0]
    assert repo["spec"]["url"] == "ssh://git@gitlab.example.com/ml/config.git"
    assert repo["spec"]["ref"] == {"name": "refs/tags/v1.4.0"}
    edit(example / "mlgitops.yaml", "revision: refs/tags/v1.4.0", "revision: " + "a" * 40)
    assert flux_objects(load_workspace(example))[0]["spec"]["ref"] == {"commit": "a" * 40}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/ml-config.git", "https://github.com/acme/ml-config.git"),
        ("ssh://git@github.com:2222/acme/ml-config.git", "ssh://git@github.com:2222/acme/ml-config.git"),
        ("ssh://git@[fd00::1]:2222/ml.git", "ssh://git@[fd00::1]:2222/ml.git"),
        ("git@github.com:acme/ml-config.git", "ssh://git@github.com/acme/ml-config.git"),
        ("git.example.com:/srv/git/ml.git", "ssh://git.example.com/srv/git/ml.git"),
        ("https://", None),
        ("git://github.com/acme/ml-config.git", None),
        ("/srv/git/ml-config.git", None),
    ],
)
def test_git_url(url: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(ValueError):
            git_url(url)
    else:
        assert git_url(url) == expected


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("repoURL", "file:///srv/git/ml-config.git", "not file://"),
        ("repoURL", "ssh://git@github.com:acme/ml-config.git", "did you mean ssh://git@github.com/acme/ml-config.git?"),
        ("repoURL", "ml-config", "use an https:// or ssh:// URL"),
        ("revision", "HEAD", "name the branch"),
    ],
)
def test_what_flux_cannot_use_is_an_error(example: Path, key: str, value: str, message: str) -> None:
    project = example / "mlgitops.yaml"
    lines = project.read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{key}:"))
    lines[index] = f"{key}: {value}\n"
    project.write_text("".join(lines))
    before = snapshot_tree(example)
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"mlgitops.yaml:{index + 1}:{len(key) + 3}: ")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert snapshot_tree(example) == before


def test_removing_an_environment_removes_its_kustomization(example: Path) -> None:
    project = example / "mlgitops.yaml"
    original = project.read_text()
    edit(project, "gpuClasses:", "- name: qa\n  namespace: ml-qa\ngpuClasses:")
    rendered(example)
    qa = example / "plugins" / "flux" / "in-cluster" / "kustomization-acme-ml-qa.yaml"
    assert qa.is_file()
    project.write_text(original)
    rendered(example)
    assert not qa.exists()
    assert sorted(kustomizations(example)) == sorted(ENVS)
    assert "acme-ml-qa" not in (example / "plugins" / "flux" / "in-cluster" / "kustomization.yaml").read_text()
