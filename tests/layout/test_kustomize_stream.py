"""`build` / `cmp generate` print the in-memory render byte for byte as the real Kustomize prints the overlay.

The oracle is always the real Kustomize (`kubectl kustomize`): of the committed overlay, of the
rendered files in a scratch tree (with and without `extra-labels`, with and without `model`), and of
hostile strings written as objects. Where kustomize_stream.py declines a value, the build falls back
to the real Kustomize; the tests check that the common inputs never need it.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.language.loader import load_workspace
from mlgitops.layout import build, kustomize_stream
from mlgitops.layout.kustomize import kustomize_command
from mlgitops.util.yamlio import dump, dump_all
from tests.conftest import copy_example, run_cli
from tests.render.test_render import PLATFORM, _generated_repo
from tests.util.test_yaml_writer_fuzz import random_strings

UNWRITABLE = re.compile("[\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _kustomize(directory: Path) -> str:
    proc = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, text=True, check=True)
    return proc.stdout


def _check_every_build(repo: Path, *, models: int | None = None, expect_fast: bool = True) -> int:
    """Every environment, whole and per model, with and without extra labels: memory == Kustomize."""
    workspace = load_workspace(repo)
    checked = 0
    for env in workspace.project.environment_names:
        whole = build.prepare(workspace, env)
        if (repo / "overlays" / env).is_dir():  # the committed overlay itself
            assert build.build_prepared(whole) == _kustomize(repo / "overlays" / env), env
        names = [m.name for m in workspace.models][:models]
        for model in [None, *names]:
            try:
                prepared = build.prepare(workspace, env, model)
            except Exception:  # a model disabled in this environment
                continue
            for labels in ({}, {"team": "risk", "cost-center": "ml-42"}):
                fast = build._from_memory(prepared, labels)
                oracle = build._with_kustomize(prepared, labels)
                if expect_fast:
                    assert fast is not None, (env, model, labels)
                assert build.build_prepared(prepared, extra_labels=labels) == oracle, (env, model, labels)
                if fast is not None:
                    assert fast == oracle, (env, model, labels)
                checked += 1
    return checked


def test_bundled_example_byte_identical(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "example")
    assert (repo / "base/platform").is_dir()
    assert _check_every_build(repo) >= 18


def test_bundled_example_without_platform_byte_identical(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "example")
    shutil.rmtree(repo / "base/platform")
    assert run_cli(["render"], cwd=repo).exit_code == 0
    assert _check_every_build(repo) >= 18


@pytest.mark.parametrize("with_platform", [True, False])
def test_generated_repository_byte_identical(tmp_path: Path, with_platform: bool) -> None:
    repo = _generated_repo(tmp_path / "g")
    if not with_platform:
        shutil.rmtree(repo / "base/platform")
    assert run_cli(["render"], cwd=repo).exit_code == 0
    assert _check_every_build(repo, models=4) >= 30


def test_cli_build_and_cmp_generate_print_the_same_bytes_as_kustomize(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "example")
    for env in ("dev", "staging", "prod"):
        result = run_cli(["build", "--env", env], cwd=repo)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == _kustomize(repo / "overlays" / env)


def test_platform_that_renames_falls_back_to_kustomize(tmp_path: Path) -> None:
    """A generated ConfigMap gets a hash suffix and the overlay rewrites references to it: Kustomize builds."""
    repo = copy_example(tmp_path / "example")
    kustomization = repo / "base/platform/kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text() + "configMapGenerator:\n- name: model-settings\n  literals: [mode=fast]\n"
    )
    workspace = load_workspace(repo)
    prepared = build.prepare(workspace, "prod")
    assert build._from_memory(prepared, {}) is None
    text = build.build_prepared(prepared)
    assert text == _kustomize(repo / "overlays/prod")
    assert re.search(r"name: model-settings-[a-z0-9]{10}\n", text)


def test_platform_object_clashing_with_a_model_object_is_left_to_kustomize(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "example")
    (repo / "base/platform/clash.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: churn-scorer-predictor}\nspec: {ports: [{port: 1}]}\n"
    )
    kustomization = repo / "base/platform/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("resources:\n", "resources:\n- clash.yaml\n", 1))
    result = run_cli(["build", "--env", "prod"], cwd=repo)
    assert result.exit_code == 1
    assert "kustomize build failed" in result.stderr and result.stdout == ""


def test_generated_platform_fixture_is_used() -> None:
    assert "base/platform/kustomization.yaml" in PLATFORM  # the generated repositories carry a platform


# --- hostile strings and object order against the real Kustomize ----------------------------------

SPECIAL_WORDS = [
    "",
    "yes",
    "No",
    "on",
    "null",
    "~",
    "<<",
    "1e3",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "08",
    "-1",
    "+.5",
    ".inf",
    "-.Inf",
    "12:30:45",
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "2Gi",
    "500m",
    "30s",
    "4h",
    "0 3 * * 1",
    "*/30 * * * *",
    "--model_dir=/mnt/models",
    "- item",
    "-",
    "?",
    ":",
    "a:",
    "a: b",
    "a #b",
    "#x",
    "---x",
    "...",
    "'q'",
    '"q"',
    "it's",
    "back\\slash",
    " lead",
    "trail ",
    "two  spaces",
    "@at",
    "%pct",
    "`tick",
    "{{workflow.name}}",
    "[x]",
    "a, b",
    "x\ny",
    "x\ny\n",
    "x\n\ny\n",
    "x\ny\n\n",
    " x\ny",
    "x \ny",
    "x\n y",
    "\tx",
]


def _random_ascii(rng: random.Random) -> str:
    alphabet = "abcXYZ019 -:#'\"\\.,?*&!|>%@`{}[]=/_"
    length = rng.choice([rng.randint(0, 12), rng.randint(60, 200)])
    text = "".join(rng.choice(alphabet) if rng.random() < 0.6 else " " for _ in range(length))
    if rng.random() < 0.1:
        text = "\n".join(text[i : i + 9] for i in range(0, len(text), 9)) + rng.choice(["", "\n"])
    return text


def _objects_for(strings: list[str]) -> list[dict[str, Any]]:
    objects = []
    for index, text in enumerate(strings):
        objects.append(
            {
                "apiVersion": "fuzz.mlgitops.test/v1",
                "kind": "Fuzz",
                "metadata": {"name": f"fuzz-{index:05d}", "annotations": {"note": text}},
                "spec": {
                    "value": text,
                    "list": [text, {"nested": text}, [text]],
                    "deep": {"deeper": {"deepest": {"text": text}}},
                    "keys": {text: "v", "other": 1} if text != "<<" else {},
                    "numbers": [1, -7, 0.5, 2.0, True, None, 3.25],
                },
            }
        )
    return objects


def _kustomize_documents(tmp_path: Path, objects: list[dict[str, Any]]) -> dict[str, str]:
    (tmp_path / "objects.yaml").write_text(dump_all(objects), encoding="utf-8")
    (tmp_path / "kustomization.yaml").write_text(dump({"resources": ["objects.yaml"]}), encoding="utf-8")
    text = _kustomize(tmp_path)
    documents = build._split_stream(text)
    base_loader: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    return {yaml.load(doc, Loader=base_loader)["metadata"]["name"]: doc for doc in documents}


def test_hostile_strings_are_byte_identical_or_declined(tmp_path: Path) -> None:
    rng = random.Random(14)
    strings = SPECIAL_WORDS + [_random_ascii(rng) for _ in range(1500)]
    strings += [s for s in random_strings(3, 1500) if not UNWRITABLE.search(s)]  # every Unicode plane
    objects = _objects_for(strings)
    printed = _kustomize_documents(tmp_path, objects)
    written = 0
    for obj in objects:
        name = obj["metadata"]["name"]
        try:
            text = kustomize_stream.document(obj)
        except kustomize_stream.UnsupportedValueError:
            continue
        assert text == printed[name], (obj["spec"]["value"], text, printed[name])
        written += 1
    assert written >= 1000  # most printable-ASCII text is written, long folded lines included


def test_legacy_order_matches_kustomize(tmp_path: Path) -> None:
    kinds = [
        ("v1", "Service"),
        ("apps/v1", "Deployment"),
        ("v1", "ConfigMap"),
        ("v1", "Namespace"),
        ("batch/v1", "CronJob"),
        ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
        ("argoproj.io/v1alpha1", "WorkflowTemplate"),
        ("argoproj.io/v1alpha1", "CronWorkflow"),
        ("serving.kserve.io/v1beta1", "InferenceService"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("v1", "ServiceAccount"),
        ("example.com/v1", "Zebra"),
        ("example.com/v2", "Zebra"),
    ]
    rng = random.Random(5)
    objects: list[dict[str, Any]] = []
    for api, kind in kinds:
        for name in ("b", "a-1", "a", "z"):
            for namespace in ("ml-prod", "ml", None):
                metadata: dict[str, Any] = {"name": name}
                if namespace and kind not in ("Namespace", "ValidatingWebhookConfiguration"):
                    metadata["namespace"] = namespace
                objects.append({"apiVersion": api, "kind": kind, "metadata": metadata})
    unique = {(o["apiVersion"], o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects}
    shuffled = list(unique.values())
    rng.shuffle(shuffled)
    (tmp_path / "objects.yaml").write_text(dump_all(shuffled), encoding="utf-8")
    (tmp_path / "kustomization.yaml").write_text(dump({"resources": ["objects.yaml"]}), encoding="utf-8")
    expected = _kustomize(tmp_path)
    ordered = sorted(shuffled, key=kustomize_stream.sort_key)
    assert kustomize_stream.stream(ordered) == expected
