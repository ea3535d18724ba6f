"""plugins/flux/<cluster>/: environments on different clusters get one directory each, applied to
that cluster only, each a Kustomize base of valid Flux objects (upstream CRDs) for its environments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.schemas.crd import SchemaSet, load_crd_schemas
from mlgitops.util.yamlio import GENERATED_MARK, load_plain
from tests.conftest import kustomize_objects, run_cli

FLUX = Path("plugins/flux")


@pytest.fixture(scope="module")
def flux_schemas(crds_dir: Path) -> SchemaSet:
    return load_crd_schemas(crds_dir)


def set_clusters(root: Path, clusters: dict[str, str]) -> None:
    """Replace each environment's `cluster:` line (the example has `cluster: https://kubernetes.default.svc`)."""
    lines = (root / "mlgitops.yaml").read_text().splitlines()
    env = None
    for index, line in enumerate(lines):
        if line.startswith("- name: "):
            env = line.split()[2]
        elif line.strip().startswith("cluster: ") and env in clusters:
            lines[index] = f"  {clusters[env]}"
    (root / "mlgitops.yaml").write_text("\n".join(lines) + "\n")


def render(root: Path, *extra: str) -> None:
    result = run_cli(["render", *extra], cwd=root)
    assert result.exit_code == 0, result.stderr


def directory_objects(folder: Path) -> list[dict[str, Any]]:
    """The Flux objects of a cluster's directory (its ServiceAccounts and RBAC: see
    tests/invariants/test_hostile_escapes.py)."""
    return [
        obj
        for path in sorted(folder.glob("*.yaml"))
        for obj in load_plain(path.read_text())
        if ".toolkit.fluxcd.io/" in obj["apiVersion"]
    ]


def test_each_cluster_gets_its_own_directory(example: Path, flux_schemas: SchemaSet) -> None:
    set_clusters(
        example,
        {
            "dev": "clusterName: dev-cluster",
            "staging": "cluster: https://staging.k8s.acme.example:6443",
            "prod": "cluster: https://prod.k8s.acme.example",
        },
    )
    render(example)
    flux = example / FLUX
    assert sorted(p.name for p in flux.iterdir()) == [
        "dev-cluster",
        "prod-k8s-acme-example",
        "staging-k8s-acme-example-6443",
    ]
    assert not (flux / "kustomization.yaml").exists()  # nothing applies every cluster's objects to one
    expected = {
        "dev-cluster": ("dev", "acme-ml"),
        "staging-k8s-acme-example-6443": ("staging", "acme-ml"),
        "prod-k8s-acme-example": ("prod", "acme-ml-prod"),  # prod follows release tags through its own source
    }
    for directory, (env, source) in expected.items():
        folder = flux / directory
        objects = directory_objects(folder)
        for obj in objects:
            assert flux_schemas.validate(obj) == [], (directory, obj["kind"], obj["metadata"]["name"])
        kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objects)
        assert kinds == [("GitRepository", source), ("Kustomization", f"acme-ml-{env}")]
        kustomization = next(o for o in objects if o["kind"] == "Kustomization")
        assert kustomization["spec"]["sourceRef"]["name"] == source
        assert kustomization["spec"]["path"] == f"./overlays/{env}"
        # the real Kustomize builds the directory into exactly its objects
        key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
        built = [o for o in kustomize_objects(folder) if ".toolkit.fluxcd.io/" in o["apiVersion"]]
        assert sorted(built, key=key) == sorted(objects, key=key)
        # and the environment's ServiceAccount with its RBAC, nothing for the other clusters' environments
        assert {o["metadata"]["labels"]["mlgitops.io/environment"] for o in kustomize_objects(folder)
                if o["kind"] != "Namespace" and "toolkit" not in o["apiVersion"]} == {env}  # fmt: skip
        for path in folder.iterdir():
            lines = path.read_text().splitlines()
            assert lines[0].startswith(GENERATED_MARK)
            assert lines[1].endswith(f"environments {env}.") and lines[1].startswith("# Flux for ")
            assert lines[2] == f"# Apply this directory to that cluster only: kubectl apply -k plugins/flux/{directory}"
    assert "cluster 'dev-cluster'" in (flux / "dev-cluster" / "kustomization.yaml").read_text()
    assert run_cli(["render", "--check"], cwd=example).exit_code == 0


def test_depends_on_chains_only_environments_of_one_cluster(example: Path) -> None:
    set_clusters(example, {"prod": "clusterName: prod"})
    text = (example / "mlgitops.yaml").read_text().rstrip("\n")
    (example / "mlgitops.yaml").write_text(text + "\nflux: {dependsOn: true}\n")
    render(example)
    shared = {o["metadata"]["name"]: o for o in directory_objects(example / FLUX / "in-cluster")}
    assert sorted(shared) == ["acme-ml", "acme-ml-dev", "acme-ml-staging"]
    assert shared["acme-ml-staging"]["spec"]["dependsOn"] == [{"name": "acme-ml-dev"}]
    assert "dependsOn" not in shared["acme-ml-dev"]["spec"]
    prod = {o["kind"]: o for o in directory_objects(example / FLUX / "prod")}
    assert sorted(prod) == ["GitRepository", "Kustomization"]
    # staging's Kustomization lives in another cluster: prod cannot wait for it
    assert "dependsOn" not in prod["Kustomization"]["spec"]


def test_environments_that_name_no_cluster_share_in_cluster(example: Path) -> None:
    lines = [
        line
        for line in (example / "mlgitops.yaml").read_text().splitlines()
        if not line.strip().startswith("cluster: ")
    ]
    (example / "mlgitops.yaml").write_text("\n".join(lines) + "\n")
    render(example)
    assert sorted(p.name for p in (example / FLUX).iterdir()) == ["in-cluster"]


def test_clusters_whose_names_coincide_get_distinct_directories(example: Path) -> None:
    set_clusters(example, {"staging": "clusterName: prod-k8s", "prod": "cluster: https://prod.k8s"})
    render(example)
    assert sorted(p.name for p in (example / FLUX).iterdir()) == ["in-cluster", "prod-k8s", "prod-k8s-2"]
    assert [
        o["metadata"]["name"] for o in directory_objects(example / FLUX / "prod-k8s-2") if o["kind"] == "Kustomization"
    ] == ["acme-ml-prod"]
