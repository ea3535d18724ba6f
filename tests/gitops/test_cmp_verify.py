"""Plugin mode deploys what the repository shows (issue 10, item 8).

Run through tests/cmp_harness.py as argocd-cmp-server runs the plugin: `cmp generate` refuses when the
committed generated files are not what it renders; `requires:` in mlgitops.yaml pins the mlgitops
versions that may render the project (every command refuses outside it); plugin mode needs a fully
qualified sidecar image."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from cmp_harness import AppRequest, GenerateResult, Parameter, PluginConfig, generate, load_plugin
from mlgitops import __version__
from mlgitops.language.versionpin import satisfies
from tests.conftest import REPO, run_cli, snapshot_tree

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def plugin() -> PluginConfig:
    return load_plugin(REPO / "plugins" / "argocd" / "plugin.yaml")


def run_plugin(plugin: PluginConfig, repo: Path, tmp_path: Path, params: dict[str, str]) -> GenerateResult:
    blocker = tmp_path / "not-a-home"
    blocker.write_text("")
    tmp = tmp_path / "sidecar-tmp"
    tmp.mkdir(exist_ok=True)
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(blocker / "home"), "TMPDIR": str(tmp), "LANG": "C.UTF-8"}
    request = AppRequest(
        repo_dir=repo,
        app_path=".",
        app_name="acme-ml",
        app_namespace=f"ml-{params['environment']}",
        project_name="acme-ml",
        repo_url="https://github.com/acme/ml-config.git",
        parameters=[Parameter(name, string=value) for name, value in params.items()],
    )
    return generate(plugin, request, sidecar_env=env, workdir=tmp_path / "cmp-work", deadline_s=60)


def refusal(result: GenerateResult) -> str:
    assert result.error is not None and result.stage == "generate"
    assert result.objects == [] and result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    return message


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


# --- committed files ----------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{"environment": "prod"}, {"environment": "prod", "model": "fraud-detector"}])
def test_fresh_committed_files_are_deployed(
    plugin: PluginConfig, example: Path, tmp_path: Path, params: dict[str, str]
) -> None:
    result = run_plugin(plugin, example, tmp_path, params)
    assert result.error is None, result.error
    assert any(o["kind"] == "InferenceService" for o in result.objects)


def test_a_stale_overlay_patch_is_refused(plugin: PluginConfig, example: Path, tmp_path: Path) -> None:
    patch = example / "overlays" / "prod" / "fraud-detector" / "kustomization.yaml"  # its inline patches
    edit(patch, "value: 3", "value: 5")
    message = refusal(run_plugin(plugin, example, tmp_path, {"environment": "prod"}))
    assert message.startswith("1 committed generated file(s) (overlays/prod/fraud-detector/kustomization.yaml)")
    assert f"are not what mlgitops {__version__} renders" in message
    assert "run `mlgitops render` and commit the result" in message
    # The same file, seen from the one-model Application of that model, and not from another model's.
    message = refusal(run_plugin(plugin, example, tmp_path, {"environment": "prod", "model": "fraud-detector"}))
    assert "overlays/prod/fraud-detector/kustomization.yaml" in message
    assert run_plugin(plugin, example, tmp_path, {"environment": "prod", "model": "support-llm"}).error is None
    # Other environments do not deploy that file.
    assert run_plugin(plugin, example, tmp_path, {"environment": "staging"}).error is None


def test_a_spec_change_without_a_render_is_refused(plugin: PluginConfig, example: Path, tmp_path: Path) -> None:
    edit(example / "models" / "fraud-detector.yaml", "replicas: {min: 1, max: 4}", "replicas: {min: 2, max: 4}")
    for env in ("dev", "staging", "prod"):
        message = refusal(run_plugin(plugin, example, tmp_path, {"environment": env}))
        assert "base/models/fraud-detector/inferenceservice-fraud-detector.yaml" in message, message
    assert run_cli(["render"], cwd=example).exit_code == 0
    assert run_plugin(plugin, example, tmp_path, {"environment": "prod"}).error is None


def test_many_stale_files_are_named_a_few_and_counted(plugin: PluginConfig, example: Path, tmp_path: Path) -> None:
    edit(example / "mlgitops.yaml", "name: acme-ml", "name: acme-ai")  # the part-of label of every object
    message = refusal(run_plugin(plugin, example, tmp_path, {"environment": "prod"}))
    count = int(message.split(" ", 1)[0])
    assert count > 5
    assert f"and {count - 3} more)" in message


def test_leftover_and_missing_files_are_stale(plugin: PluginConfig, example: Path, tmp_path: Path) -> None:
    leftover = example / "overlays" / "dev" / "gone" / "patches" / "cronworkflow-gone.yaml"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("[]\n")
    message = refusal(run_plugin(plugin, example, tmp_path, {"environment": "dev"}))
    assert "overlays/dev/gone/patches/cronworkflow-gone.yaml" in message
    leftover.unlink()
    # a leftover inside one model's overlay directory, seen from that model's Application
    stray = example / "overlays" / "prod" / "fraud-detector" / "resources" / "service-stray.yaml"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text("{}\n")
    message = refusal(run_plugin(plugin, example, tmp_path, {"environment": "prod", "model": "fraud-detector"}))
    assert "overlays/prod/fraud-detector/resources/service-stray.yaml" in message
    stray.unlink()
    (example / "base" / "models" / "support-llm" / "cronworkflow-support-llm-train.yaml").unlink()
    message = refusal(run_plugin(plugin, example, tmp_path, {"environment": "staging", "model": "support-llm"}))
    assert "base/models/support-llm/cronworkflow-support-llm-train.yaml" in message


def test_a_model_missing_from_the_overlay_kustomization_is_refused(
    plugin: PluginConfig, example: Path, tmp_path: Path
) -> None:
    edit(example / "overlays" / "staging" / "kustomization.yaml", "- churn-scorer\n", "")
    message = refusal(run_plugin(plugin, example, tmp_path, {"environment": "staging", "model": "churn-scorer"}))
    assert "overlays/staging/kustomization.yaml" in message
    assert run_plugin(plugin, example, tmp_path, {"environment": "staging", "model": "support-llm"}).error is None


def test_a_repository_without_the_generated_tree_renders_from_specs(
    plugin: PluginConfig, example: Path, tmp_path: Path
) -> None:
    shutil.rmtree(example / "overlays")
    shutil.rmtree(example / "base" / "models")
    result = run_plugin(plugin, example, tmp_path, {"environment": "prod"})
    assert result.error is None, result.error


# --- requires: -----------------------------------------------------------------------------------


def pin(repo: Path, specifier: str) -> int:
    """Add `requires:` after metadata; the line it is on."""
    text = (repo / "mlgitops.yaml").read_text()
    edit(repo / "mlgitops.yaml", "repoURL:", f'requires: "{specifier}"\nrepoURL:')
    return text[: text.index("repoURL:")].count("\n") + 1


@pytest.mark.parametrize(
    "command",
    [["render"], ["render", "--check"], ["build", "--env", "dev"], ["validate"], ["cmp", "parameters"]],
)
def test_every_command_refuses_outside_the_pinned_range(example: Path, command: list[str]) -> None:
    line = pin(example, ">=0.2,<0.3")
    before = snapshot_tree(example)
    result = run_cli(command, cwd=example)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"mlgitops.yaml:{line}:11: this project requires mlgitops >=0.2,<0.3, but this is mlgitops {__version__}; "
        "install a version in that range (or, for the Argo CD plugin, deploy a sidecar image built from one)\n"
    )
    assert snapshot_tree(example) == before


def test_the_sidecar_refuses_outside_the_pinned_range(plugin: PluginConfig, example: Path, tmp_path: Path) -> None:
    pin(example, "~=0.2.0")
    message = refusal(run_plugin(plugin, example, tmp_path, {"environment": "dev"}))
    assert f"requires mlgitops ~=0.2.0, but this is mlgitops {__version__}" in message


def test_the_pin_is_checked_before_fields_this_version_does_not_know(example: Path) -> None:
    pin(example, ">=9")
    edit(example / "mlgitops.yaml", "revision: main", "revision: main\nfeatureFromTheFuture: true")
    result = run_cli(["render"], cwd=example)
    assert "requires mlgitops >=9" in result.stderr and "featureFromTheFuture" not in result.stderr


def test_a_matching_pin_changes_nothing(plugin: PluginConfig, example: Path, tmp_path: Path) -> None:
    pin(example, f">={__version__},<{int(__version__.split('.')[0]) + 1}")
    assert run_cli(["render", "--check"], cwd=example).exit_code == 0
    assert run_plugin(plugin, example, tmp_path, {"environment": "dev"}).error is None


@pytest.mark.parametrize("specifier", ["banana", ">=0.1,", "=>0.1", ">=0.1.*", "~=1", ">=1.0rc1"])
def test_an_unsupported_pin_is_a_positioned_error(example: Path, specifier: str) -> None:
    line = pin(example, specifier)
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"mlgitops.yaml:{line}:11: requires: ")


@pytest.mark.parametrize(
    ("version", "specifier", "inside"),
    [
        ("0.1.0", ">=0.1,<0.2", True),
        ("0.2.0", ">=0.1,<0.2", False),
        ("0.1.9", "<0.1.10", True),
        ("0.1.0", "==0.1", True),
        ("0.1.0", "==0.1.*", True),
        ("0.2.0", "==0.1.*", False),
        ("0.1.3", "!=0.1.*", False),
        ("0.1.5", "~=0.1.2", True),
        ("0.2.0", "~=0.1.2", False),
        ("0.1.1", "~=0.1.2", False),
        ("1.4", "~=1.2", True),
        ("2.0", "~=1.2", False),
        ("0.1.0", "> 0.0.9, != 0.1.0", False),
    ],
)
def test_specifier_semantics(version: str, specifier: str, inside: bool) -> None:
    """PEP 440 semantics for release versions (what `packaging.specifiers.SpecifierSet` answers)."""
    assert satisfies(version, specifier) is inside


# --- argocd.image --------------------------------------------------------------------------------


def set_argocd(repo: Path, argocd: dict[str, object] | None) -> None:
    data = yaml.safe_load((repo / "mlgitops.yaml").read_text())
    if argocd is None:
        del data["argocd"]
    else:
        data["argocd"] = argocd
    (repo / "mlgitops.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def test_plugin_mode_without_an_image_is_refused(example: Path) -> None:
    set_argocd(example, {"mode": "plugin"})
    before = snapshot_tree(example)
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    lines = (example / "mlgitops.yaml").read_text().splitlines()
    row = next(i for i, t in enumerate(lines, 1) if t.strip() == "mode: plugin")
    assert result.stderr.startswith(f"mlgitops.yaml:{row}:9: argocd.mode is plugin but argocd.image")
    assert "mlgitops sidecar dockerfile" in result.stderr and result.stderr.count("\n") == 1
    assert snapshot_tree(example) == before
    set_argocd(example, None)  # rendered mode by default: plain Kustomize, no sidecar needed
    assert run_cli(["render"], cwd=example).exit_code == 0
    assert not (example / "plugins" / "argocd" / "sidecar").exists()


def test_plugin_applications_are_regenerated_when_the_committed_tree_changes() -> None:
    for path in sorted((REPO / "plugins" / "argocd").glob("application-*.yaml")):
        app = yaml.safe_load(path.read_text())
        paths = app["metadata"]["annotations"]["argocd.argoproj.io/manifest-generate-paths"].split(";")
        assert {"/overlays", "/base/models", "/models", "/mlgitops.yaml"} <= set(paths), path.name


def test_rendered_mode_needs_no_image_and_gets_no_sidecar(example: Path) -> None:
    set_argocd(example, {"mode": "rendered"})
    assert run_cli(["render"], cwd=example).exit_code == 0
    assert not (example / "plugins" / "argocd" / "sidecar").exists()
    assert (example / "plugins" / "argocd" / "plugin.yaml").is_file()


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("mlgitops-cmp:0.1.0", "is not fully qualified"),
        ("acme/mlgitops-cmp:0.1.0", "is not fully qualified"),
        ("ghcr.io/acme/mlgitops-cmp", "names no tag or digest"),
        ("localhost:5000/mlgitops-cmp", "names no tag or digest"),
    ],
)
def test_the_image_must_be_fully_qualified(example: Path, image: str, message: str) -> None:
    set_argocd(example, {"mode": "plugin", "image": image})
    result = run_cli(["render"], cwd=example)
    assert result.exit_code == 1
    assert result.stderr.startswith("mlgitops.yaml:") and message in result.stderr


@pytest.mark.parametrize(
    "image", ["ghcr.io/acme/mlgitops-cmp:0.1.0", "localhost:5000/cmp:1", "registry.example.com/cmp@sha256:" + "a" * 64]
)
def test_qualified_images_are_accepted(example: Path, image: str) -> None:
    set_argocd(example, {"mode": "plugin", "image": image})
    assert run_cli(["render"], cwd=example).exit_code == 0
    patch = (example / "plugins" / "argocd" / "sidecar" / "repo-server-patch.yaml").read_text()
    assert f"image: {image}\n" in patch
