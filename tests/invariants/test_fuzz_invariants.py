"""The project's invariants, executable: a property-based differential fuzzer over generated projects.

Projects come from tests/fuzz_projects.py (models on KServe or Deployments, training, canaries,
monitoring, environments, JSON and merge patches, Jsonnet addons, base/platform, odd-but-valid YAML).
For every project that renders:

* `build --env E` prints the bytes (and so the objects) `kubectl kustomize overlays/E` prints;
* every object Kustomize prints for E was seen by `validate`'s policies when `validate` exits 0;
* `cmp generate`, run as argocd-cmp-server runs it (tests/cmp_harness.py), prints what `build` prints;
* a render that uses the render cache (after an edit) writes what a full render without it writes;
* `render --check` after `render` passes and writes nothing (bytes and mtimes of the whole tree).

For every broken variant (a wrong type, an unknown key, a bad patch path, a tab, a duplicate key, ...):
exit 1, exactly one positioned `file:line:col: message` line naming the broken file, no traceback, and
the tree untouched, from `render`, `build` and `validate`.

Profiles (HYPOTHESIS_PROFILE): `default` is derandomized and small (the normal test run, about a
minute); `long` (`make fuzz`) runs thousands of examples with a random seed and prints statistics.
Failures the fuzzer found are kept below as plain regression tests.

    PYTHONPATH=generator .venv/bin/pytest -q tests/invariants/test_fuzz_invariants.py     # default profile
    make fuzz                                                                 # HYPOTHESIS_PROFILE=long
    HYPOTHESIS_PROFILE=dev .venv/bin/pytest -q tests/invariants/test_fuzz_invariants.py  # random, no shrinking
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

import mlgitops
from cmp_harness import AppRequest, Parameter, generate, load_plugin
from fuzz_projects import Broken, ProjectData, broken_projects, edited_projects, projects
from limits import POSITIONED
from mlgitops.layout.kustomize import kustomize_command
from tests.conftest import CliResult, object_identity, run_cli

_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "print_blob": True,
}
settings.register_profile("default", derandomize=True, database=None, **_COMMON)
settings.register_profile("long", max_examples=1000, **_COMMON)
# for working on the fuzzer: random, no shrinking (a failure is printed as drawn)
settings.register_profile("dev", phases=[Phase.explicit, Phase.generate], database=None, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
settings.load_profile(PROFILE)
LONG = PROFILE in ("long", "dev")


def examples(default: int) -> settings:
    """`default` examples in the normal run; twenty times as many in the long one."""
    return settings(max_examples=default * 20 if LONG else default)


# --- helpers ---------------------------------------------------------------------------------------

Snapshot = dict[str, tuple[bytes | None, int]]
GENERATED = ("base/models", "overlays", "plugins")


def write_project(data: ProjectData, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for path, text in data.texts.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
    return root


def replace_inputs(data: ProjectData, root: Path) -> None:
    """Make root's hand-written files exactly data's (generated files stay)."""
    for folder in ("models", "templates", "base/platform"):
        for path in sorted((root / folder).rglob("*"), reverse=True) if (root / folder).is_dir() else []:
            if path.is_file() and path.relative_to(root).as_posix() not in data.texts:
                path.unlink()
    write_project(data, root)


def full_snapshot(root: Path) -> Snapshot:
    """Every file (bytes, mtime) and directory (mtime) under root, the render cache included."""
    out: Snapshot = {}
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        out[path.relative_to(root).as_posix()] = (path.read_bytes() if path.is_file() else None, stat.st_mtime_ns)
    return out


def generated_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix().startswith(GENERATED)
    }


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mlgitops-fuzz-") as tmp:
        yield Path(tmp)


@contextlib.contextmanager
def environ(**values: str) -> Iterator[None]:
    with mock.patch.dict(os.environ, values):
        yield


def render(root: Path, *args: str) -> CliResult:
    result = run_cli(["render", *args], cwd=root)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def assert_refusal(result: CliResult, path: str | None = None, *, one: bool = True) -> str:
    """Exit 1, one positioned printable line on stderr (one per problem unless `one`), nothing on stdout."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.split("\n")
    assert lines[-1] == "", f"stderr must end with a newline: {result.stderr!r}"
    lines = lines[:-1]
    assert lines and (len(lines) == 1 or not one), f"expected one line, got {lines}"
    for line in lines:
        assert POSITIONED.match(line) and line.isprintable(), f"not a positioned line: {line!r}"
    if path is not None:
        assert lines[0].startswith(path + ":"), f"expected a problem in {path}: {lines[0]!r}"
    assert result.exit_code == 1, (result.exit_code, lines[0])
    assert result.stdout == ""
    return lines[0]


def rendered(data: ProjectData, root: Path) -> bool:
    """Write and render the project; False (after checking the refusal is one positioned line) if invalid."""
    write_project(data, root)
    before = full_snapshot(root)
    result = render(root)
    if result.exit_code != 0:
        assert_refusal(result, one=False)
        assert full_snapshot(root) == before, "a refused render changed the tree"
        event("refused: " + result.stderr.split(": ", 1)[1][:60].strip())
        return False
    event("rendered")
    return True


def kustomize(directory: Path) -> str:
    proc = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def identities(stream: str) -> list[tuple[str, str, str, str]]:
    return [object_identity(doc) for doc in yaml.safe_load_all(stream) if doc]


# --- build == Kustomize, validate saw everything ----------------------------------------------------


def check_build_and_validate(data: ProjectData, env_index: int) -> None:
    with scratch() as tmp:
        root = tmp / "repo"
        if not rendered(data, root):
            return
        env = data.environments[env_index % len(data.environments)]
        built = run_cli(["build", "--env", env], cwd=root)
        assert built.exit_code == 0, built.stderr
        oracle = kustomize(root / "overlays" / env)  # one Kustomize process per example
        assert identities(built.stdout) == identities(oracle)
        assert built.stdout == oracle, "build and kubectl kustomize print different bytes"

        seen: set[tuple[str, str, str, str]] = set()
        from mlgitops.validate import run as validate_run

        real = validate_run.check_objects

        def spy(objects: list[dict[str, Any]], *args: Any, **kwargs: Any) -> Any:
            seen.update(object_identity(o) for o in objects)
            return real(objects, *args, **kwargs)

        before = full_snapshot(root)
        with mock.patch.object(validate_run, "check_objects", spy):
            result = run_cli(["validate"], cwd=root)
        assert "Traceback" not in result.stderr
        assert full_snapshot(root) == before, "validate changed the tree"
        event(f"validate exit {result.exit_code}")
        if result.exit_code == 0:
            unseen = [i for i in identities(oracle) if i not in seen and (i[0], i[1], "", i[3]) not in seen]
            assert unseen == [], f"Kustomize deploys objects validate never checked: {unseen}"


@examples(10)
@given(projects(), st.integers(0, 2))
def test_build_equals_kustomize_and_validate_sees_every_object(data: ProjectData, env_index: int) -> None:
    check_build_and_validate(data, env_index)


# --- cmp generate == build ----------------------------------------------------------------------------


def sidecar_env(tmp: Path) -> dict[str, str]:
    blocker = tmp / "regular-file"
    blocker.write_text("")
    (tmp / "sidecar-tmp").mkdir()
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(blocker / "home"),  # cannot be created: no answer cache
        "TMPDIR": str(tmp / "sidecar-tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(Path(mlgitops.__file__).resolve().parents[1]),  # this checkout's code
    }


def check_cmp(data: ProjectData, env_index: int, by_path: bool, one_model: bool) -> None:
    with scratch() as tmp:
        root = tmp / "repo"
        if not rendered(data, root):
            return
        env = data.environments[env_index % len(data.environments)]
        model = data.model_names[0] if one_model else None
        expected = run_cli(["build", "--env", env, *(["--model", model] if model else [])], cwd=root)
        params = [] if by_path else [Parameter("environment", string=env)]
        if model:
            params.append(Parameter("model", string=model))
        request = AppRequest(
            repo_dir=root,
            app_path=f"overlays/{env}" if by_path else ".",
            app_name="acme-ml",
            app_namespace=f"ml-{env}",
            project_name="acme-ml",
            repo_url="https://github.com/acme/ml-config.git",
            parameters=params or None,
        )
        plugin = load_plugin(root / "plugins/argocd/plugin.yaml")
        env_vars = sidecar_env(tmp)
        result = generate(plugin, request, sidecar_env=env_vars, workdir=tmp / "cmp-work", deadline_s=120)
        assert list((tmp / "sidecar-tmp").iterdir()) == [], "cmp generate left files in TMPDIR"
        if expected.exit_code != 0:  # a model disabled in this environment: both refuse
            assert_refusal(expected)
            assert result.error is not None and "Traceback" not in result.stderr
            message = result.stderr.strip()
            assert message and "\n" not in message, f"cmp generate's refusal is not one line: {result.stderr!r}"
            return
        assert result.error is None, (result.error, result.stderr)
        # argocd-cmp-server drops the one trailing newline of the plugin's output (cmp_harness._run_command)
        assert result.stdout == expected.stdout.removesuffix("\n"), "cmp generate and build print different bytes"
        assert result.objects == [doc for doc in yaml.safe_load_all(expected.stdout) if doc]


@examples(3)
@given(projects(), st.integers(0, 2), st.booleans(), st.booleans())
def test_cmp_generate_equals_build(data: ProjectData, env_index: int, by_path: bool, one_model: bool) -> None:
    check_cmp(data, env_index, by_path, one_model)


# --- render cache, render --check ------------------------------------------------------------------


def check_cache_and_check(pair: tuple[ProjectData, ProjectData]) -> None:
    first, second = pair
    with scratch() as tmp:
        root = tmp / "repo"
        if not rendered(first, root):
            return
        replace_inputs(second, root)
        cached = render(root)  # the render cache of the first render is there
        with environ(MLGITOPS_RENDER_CACHE="0"):
            oracle_root = write_project(second, tmp / "oracle")
            full = render(oracle_root)
        assert cached.exit_code == full.exit_code, (cached.stderr, full.stderr)
        if full.exit_code != 0:  # the same refusal, with or without the cache
            assert_refusal(full, one=False)
            assert cached.stderr == full.stderr
        if full.exit_code != 0:
            return
        assert generated_files(root) == generated_files(oracle_root), "the cached render differs from a full one"
        for tree in (root, oracle_root):
            before = full_snapshot(tree)
            check = render(tree, "--check")
            assert check.exit_code == 0, check.stdout + check.stderr
            assert full_snapshot(tree) == before, "render --check wrote to the tree"


@examples(12)
@given(edited_projects())
def test_render_cache_and_render_check(pair: tuple[ProjectData, ProjectData]) -> None:
    check_cache_and_check(pair)


# --- broken input ------------------------------------------------------------------------------------


def check_broken(broken: Broken, env_index: int) -> None:
    with scratch() as tmp:
        root = tmp / "repo"
        write_project(broken.project, root)
        before = full_snapshot(root)
        env = broken.project.environments[env_index % len(broken.project.environments)]
        for args in (["render"], ["build", "--env", env], ["validate"]):
            result = run_cli(args, cwd=root)
            assert result.exit_code != 0, f"{broken.how}: {args[0]} accepted a broken {broken.path}"
            if result.stderr.count("\n") > 1 or not result.stderr.startswith(broken.path + ":"):
                # several problems, or one elsewhere: only when the original project was refused too
                original = write_project(broken.original, tmp / "original")
                assert render(original).exit_code == 1, f"{broken.how} in {broken.path}: {result.stderr}"
                assert_refusal(result, one=False)
                event("original refused too")
                return
            assert_refusal(result, broken.path)
            assert full_snapshot(root) == before, f"{args[0]} changed the tree of a broken project"
        event(broken.how)


@examples(25)
@given(broken_projects(), st.integers(0, 2))
def test_broken_input_is_one_positioned_line(broken: Broken, env_index: int) -> None:
    check_broken(broken, env_index)


# --- regressions the fuzzer found --------------------------------------------------------------------


def test_empty_document_in_a_platform_file_is_skipped_as_kustomize_skips_it(example: Path) -> None:
    """`---` right after `---` in a base/platform file: render crashed (platformfiles.py serialized the
    document's null node to `...` and could not read that back)."""
    accounts = example / "base/platform/serviceaccounts.yaml"
    accounts.write_text("---\n---  # empty\n" + accounts.read_text().replace("\n---\n", "\n---\n---\n", 1))
    result = render(example)
    assert result.exit_code == 0, result.stderr
    for env in ("dev", "prod"):
        built = run_cli(["build", "--env", env], cwd=example)
        assert built.exit_code == 0, built.stderr
        assert built.stdout == kustomize(example / "overlays" / env)
