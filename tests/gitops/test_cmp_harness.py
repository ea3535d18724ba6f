"""Tests for tests/cmp_harness.py, the Python emulation of argocd-cmp-server.

The fake plugins are ``[python, -c, "..."]`` commands (``sys.executable``, so no shim is involved) or
``sh -c``. Section numbers refer to /work/shared/reference/argocd-cmp-contract.md.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmp_harness import (
    AppRequest,
    CmpError,
    GenerateResult,
    Parameter,
    PluginConfig,
    PluginConfigError,
    build_env,
    command_args_to_log,
    effective_announcements,
    escape_param_name,
    filepath_match,
    generate,
    go_json_marshal,
    load_plugin,
    os_expand,
    parameters,
    request_env_entries,
    split_manifests,
)

PY = sys.executable

# A prelude for the Python plugins: emit(data) prints one ConfigMap carrying `data`.
EMIT = textwrap.dedent(
    """\
    import json, os, subprocess, sys, time
    def emit(data, name="out"):
        print(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}))
    """
)

CM_YAML = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n"


def py(code: str) -> list[str]:
    return [PY, "-c", EMIT + textwrap.dedent(code)]


def write_plugin(
    tmp_path: Path,
    generate_cmd: Sequence[str],
    *,
    init_cmd: Sequence[str] | None = None,
    dynamic_cmd: Sequence[str] | None = None,
    static: list[dict[str, Any]] | None = None,
    extra_spec: dict[str, Any] | None = None,
) -> PluginConfig:
    spec: dict[str, Any] = {"version": "v1", "generate": {"command": list(generate_cmd)}}
    if init_cmd is not None:
        spec["init"] = {"command": list(init_cmd)}
    params: dict[str, Any] = {}
    if dynamic_cmd is not None:
        params["dynamic"] = {"command": list(dynamic_cmd)}
    if static is not None:
        params["static"] = static
    if params:
        spec["parameters"] = params
    spec.update(extra_spec or {})
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ConfigManagementPlugin",
        "metadata": {"name": "fake"},
    }
    doc["spec"] = spec
    path = tmp_path / "plugin.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_plugin(path)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A small checkout: an app dir, a shared dir, a .git dir, an executable script, a private dir."""
    root = tmp_path / "repo"
    (root / "app" / "private").mkdir(parents=True)
    (root / "shared").mkdir()
    (root / ".git" / "objects" / "ab").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / ".git" / "objects" / "ab" / "cd").write_text("blob")
    (root / "app" / "values.yaml").write_text("replicas: 2\n")
    (root / "app" / "run.sh").write_text("#!/bin/sh\necho '{kind: FromScript, metadata: {name: s}}'\n")
    (root / "app" / "run.sh").chmod(0o755)
    (root / "app" / "private" / "secret.txt").write_text("s")
    (root / "app" / "private" / "secret.txt").chmod(0o600)
    (root / "app" / "private").chmod(0o700)
    (root / "shared" / "base.yaml").write_text("base: true\n")
    (root / "app" / "link.yaml").symlink_to("../shared/base.yaml")
    (root / "top.log").write_text("log")
    (root / "app" / "nested.log").write_text("log")
    return root


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "cmpwork"
    d.mkdir()
    return d


@pytest.fixture
def sidecar_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "SIDECAR_ONLY": "yes",
        "ARGOCD_APP_NAME": "from-sidecar",  # request vars must win over the sidecar's own env
    }


def run(
    plugin: PluginConfig,
    repo: Path,
    workdir: Path,
    sidecar_env: dict[str, str],
    **kwargs: Any,
) -> GenerateResult:
    deadline_s = kwargs.pop("deadline_s", 30.0)
    exclude = kwargs.pop("exclude", (".git/*",))
    oob = kwargs.pop("allow_out_of_bounds_symlinks", False)
    kwargs.setdefault("app_path", "app")
    request = AppRequest(repo_dir=repo, **kwargs)
    return generate(
        plugin,
        request,
        sidecar_env=sidecar_env,
        workdir=workdir,
        deadline_s=deadline_s,
        exclude=exclude,
        allow_out_of_bounds_symlinks=oob,
    )


def only_data(result: GenerateResult) -> dict[str, str]:
    assert result.error is None, result.error
    assert len(result.objects) == 1, result.objects
    data = result.objects[0]["data"]
    assert isinstance(data, dict)
    return data


def pid_alive(pid: int) -> bool:
    """True unless the process is gone or a zombie (PID 1 in a container may not reap orphans)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return text.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_until(pred: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def leftover_uuid_dirs(workdir: Path) -> list[Path]:
    base = workdir / "_cmp_server"
    return list(base.iterdir()) if base.exists() else []


# ------------------------------------------------------------------------------------------------
# plugin.yaml (§1)
# ------------------------------------------------------------------------------------------------


def test_load_plugin_ignores_unknown_keys_and_later_documents(tmp_path: Path) -> None:
    path = tmp_path / "plugin.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            apiVersion: not/checked/at/all
            kind: ConfigManagementPlugin
            metadata: {name: mlspec, labels: {a: b}}
            spec:
              version: v1
              lockRepo: true            # v1 leftover, silently ignored
              allowConcurrency: true
              somethingNew: {x: 1}
              Generate: {command: [python3, -m, mlspec.cmp, generate], args: [--x]}
              parameters:
                static:
                  - {name: environment, title: Environment, required: true, string: dev, bogus: 1}
                  - {name: flags, collectionType: array, array: []}
            ---
            kind: SomethingElse
            metadata: {name: ignored}
            """
        )
    )
    plugin = load_plugin(path)
    assert plugin.full_name == "mlspec-v1"
    assert plugin.generate.argv == ["python3", "-m", "mlspec.cmp", "generate", "--x"]
    assert not plugin.init.defined
    assert list(plugin.static_parameters) == [
        {"name": "environment", "title": "Environment", "required": True, "string": "dev"},
        {"name": "flags", "collectionType": "array"},  # empty array dropped (omitempty)
    ]


def test_full_name_without_version(tmp_path: Path) -> None:
    path = tmp_path / "plugin.yaml"
    path.write_text("kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {generate: {command: [x]}}\n")
    assert load_plugin(path).full_name == "p"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("kind: ConfigManagementPlugin\nmetadata: {}\nspec: {generate: {command: [x]}}", "metadata.name"),
        ("kind: Plugin\nmetadata: {name: p}\nspec: {generate: {command: [x]}}", "found Plugin"),
        ("kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {generate: {args: [x]}}", "spec.generate"),
        (
            "kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {version: 1, generate: {command: [x]}}",
            "number",
        ),
        ("kind: ConfigManagementPlugin\nmetadata: {name: p}\nspec: {generate: {command: x}}", "[]string"),
        ("", "metadata.name"),
    ],
)
def test_load_plugin_validation(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "plugin.yaml"
    path.write_text(body)
    with pytest.raises(PluginConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_plugin(path)


# ------------------------------------------------------------------------------------------------
# Go-compatible helpers
# ------------------------------------------------------------------------------------------------


def test_go_json_marshal_sorting_compactness_and_escaping() -> None:
    params = [
        {"name": "x", "array": ["a"]},
        {"name": "y", "map": {"image.tag": "v1"}},
        {"string": "s", "name": "z"},
    ]
    assert go_json_marshal(params) == (
        '[{"array":["a"],"name":"x"},{"map":{"image.tag":"v1"},"name":"y"},{"name":"z","string":"s"}]'
    )
    assert go_json_marshal({"s": "<a & b>\u2028\u2029é€😀"}) == '{"s":"\\u003ca \\u0026 b\\u003e\\u2028\\u2029é€😀"}'
    assert go_json_marshal('\n\t\r\b\f\x01"\\') == '"\\n\\t\\r\\b\\f\\u0001\\"\\\\"'
    assert go_json_marshal({"b": 1, "a": [1.0, 0.5, 1e21, 1e-7, 1e16, True, None]}) == (
        '{"a":[1,0.5,1e+21,1e-7,10000000000000000,true,null],"b":1}'
    )
    # keys sorted by UTF-8 bytes ("Z" < "a" < "é"), and map keys are HTML-escaped too
    assert go_json_marshal({"é": 1, "a": 2, "Z": 3, "<": 4}) == '{"\\u003c":4,"Z":3,"a":2,"é":1}'


def test_os_expand_semantics() -> None:
    env = {"ARGOCD_APP_NAME": "demo", "X": "x"}
    assert os_expand("$ARGOCD_APP_NAME-${X}", env) == "demo-x"
    assert os_expand("$$HOME costs $$5", env) == "$HOME costs $5"
    assert os_expand("$UNKNOWN|${UNKNOWN}|$1|${}|end$", env) == "||||end$"
    assert os_expand("no vars", env) == "no vars"


def test_escape_param_name() -> None:
    assert escape_param_name("helm-parameters") == "HELM_PARAMETERS"
    assert escape_param_name("valueFiles") == "VALUEFILES"
    assert escape_param_name("image.tag") == "IMAGE_TAG"
    assert escape_param_name("straße") == "STRA_E"  # Go's per-rune ToUpper: no "SS" expansion


def test_filepath_match_semantics() -> None:
    assert filepath_match(".git/*", ".git/HEAD")
    assert not filepath_match(".git/*", ".git")  # the dir itself is still sent (empty)
    assert not filepath_match(".git/*", ".git/objects/ab")  # pruned via SkipDir on .git/objects instead
    assert filepath_match("*.log", "top.log")
    assert not filepath_match("*.log", "app/nested.log")  # unlike fnmatch, * stops at /
    assert filepath_match("*/*.log", "app/nested.log")
    assert filepath_match("[a-c]?x", "b1x") and not filepath_match("[^a]x", "ax")
    with pytest.raises(ValueError, match="syntax error in pattern"):
        filepath_match("[", "a")


def test_command_args_to_log_quotes_like_go() -> None:
    assert command_args_to_log(["sh", "-c", "exit 3", "", 'a"b\tc', "plain"]) == ('sh -c "exit 3" "" "a\\"b\\tc" plain')


# ------------------------------------------------------------------------------------------------
# Environment (§2 "Environment", "Parameter rules")
# ------------------------------------------------------------------------------------------------


def full_request(repo: Path) -> AppRequest:
    return AppRequest(
        repo_dir=repo,
        app_path="app",
        app_name="ml_demo",
        app_namespace="models",
        plugin_env=[("GREETING", "hi $ARGOCD_APP_NAME@${ARGOCD_APP_REVISION_SHORT} $HOME $$1 k=$KUBE_VERSION")],
        parameters=[
            Parameter(name="environment", string="<prod>"),
            Parameter(name="overlays", array=["a", "b"]),
            Parameter(name="extra-labels", map={"team.name": "ml", "tier": "gpu"}),
            Parameter(name="empty", string=""),
        ],
        kube_version="v1.31.2+k3s1",
    )


def test_request_env_entries_exact_order_and_values(repo: Path) -> None:
    entries = request_env_entries(full_request(repo), "generate")
    assert entries == [
        "ARGOCD_APP_NAME=ml_demo",
        "ARGOCD_APP_NAMESPACE=models",
        "ARGOCD_APP_PROJECT_NAME=default",
        "ARGOCD_APP_REVISION=0123456789abcdef0123456789abcdef01234567",
        "ARGOCD_APP_REVISION_SHORT=0123456",
        "ARGOCD_APP_REVISION_SHORT_8=01234567",
        "ARGOCD_APP_SOURCE_REPO_URL=https://example.com/repo.git",
        "ARGOCD_APP_SOURCE_PATH=app",
        "ARGOCD_APP_SOURCE_TARGET_REVISION=main",
        "KUBE_VERSION=1.31.2",
        "KUBE_API_VERSIONS=apps/v1,apps/v1/Deployment,v1,v1/ConfigMap,v1/Service",
        # $HOME is not a build var, so it expands to ""; $$ gives $
        "ARGOCD_ENV_GREETING=hi ml_demo@0123456  $1 k=1.31.2",
        'ARGOCD_APP_PARAMETERS=[{"name":"environment","string":"\\u003cprod\\u003e"},'
        '{"array":["a","b"],"name":"overlays"},'
        '{"map":{"team.name":"ml","tier":"gpu"},"name":"extra-labels"},'
        '{"name":"empty","string":""}]',
        "PARAM_ENVIRONMENT=<prod>",
        "PARAM_OVERLAYS_0=a",
        "PARAM_OVERLAYS_1=b",
        "PARAM_EXTRA_LABELS_TEAM_NAME=ml",
        "PARAM_EXTRA_LABELS_TIER=gpu",
        "PARAM_EMPTY=",
    ]


def test_parameter_env_variants(repo: Path) -> None:
    announce = request_env_entries(full_request(repo), "parameters")
    names = [e.split("=", 1)[0] for e in announce]
    assert names[:4] == [
        "ARGOCD_APP_NAME",
        "ARGOCD_APP_SOURCE_REPO_URL",
        "ARGOCD_APP_SOURCE_PATH",
        "ARGOCD_APP_SOURCE_TARGET_REVISION",
    ]
    assert "ARGOCD_APP_NAMESPACE" not in names and "KUBE_VERSION" not in names
    # ARGOCD_ENV_ is expanded only against the 4 announcement vars
    assert "ARGOCD_ENV_GREETING=hi ml_demo@  $1 k=" in announce
    # Plugin block without parameters -> literal null; no plugin block -> no plugin vars at all
    assert "ARGOCD_APP_PARAMETERS=null" in request_env_entries(AppRequest(repo_dir=repo, app_path="app"))
    bare = request_env_entries(AppRequest(repo_dir=repo, app_path="app", plugin_block=False))
    assert not [e for e in bare if e.startswith(("ARGOCD_APP_PARAMETERS", "ARGOCD_ENV_", "PARAM_"))]
    with pytest.raises(ValueError, match="plugin_block"):
        request_env_entries(AppRequest(repo_dir=repo, app_path="app", plugin_block=False, plugin_env=[("A", "b")]))


def test_env_seen_by_plugin_and_precedence(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    plugin = write_plugin(tmp_path, py("emit(dict(os.environ))"))
    request = full_request(repo)
    result = generate(plugin, request, sidecar_env=sidecar_env, workdir=workdir)
    env = only_data(result)
    env.pop("LC_CTYPE", None)  # added by the plugin's own Python (PEP 538 locale coercion)
    assert env == build_env(request, sidecar_env)
    assert env["ARGOCD_APP_NAME"] == "ml_demo"  # request beats sidecar
    assert env["SIDECAR_ONLY"] == "yes"  # sidecar env is inherited
    assert env["HOME"] == sidecar_env["HOME"]
    assert env["ARGOCD_ENV_GREETING"] == "hi ml_demo@0123456  $1 k=1.31.2"
    assert json.loads(env["ARGOCD_APP_PARAMETERS"])[0] == {"name": "environment", "string": "<prod>"}
    assert env["PARAM_EXTRA_LABELS_TEAM_NAME"] == "ml"
    assert env["PARAM_EMPTY"] == ""


def test_later_param_entries_win_on_collision(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    plugin = write_plugin(tmp_path, py("emit({k: v for k, v in os.environ.items() if k.startswith('PARAM_')})"))
    params = [
        Parameter(name="a-b", string="first"),
        Parameter(name="a.b", string="second"),  # also escapes to PARAM_A_B
        Parameter(name="p", map={"0": "from-map"}, array=["from-array"]),  # array is emitted after map
    ]
    result = run(plugin, repo, workdir, sidecar_env, parameters=params)
    data = only_data(result)
    assert data["PARAM_A_B"] == "second"
    assert data["PARAM_P_0"] == "from-array"
    assert any("PARAM_A_B" in w and "collision" in w for w in result.warnings)


# ------------------------------------------------------------------------------------------------
# Checkout: tar, exclusions, modes, symlinks, cwd (§2 "How the repo arrives")
# ------------------------------------------------------------------------------------------------

WALK_ROOT = """
root = os.path.dirname(os.getcwd())
out = {"@cwd": os.getcwd()}
for dirpath, dirnames, filenames in os.walk(root):
    for n in dirnames + filenames:
        p = os.path.join(dirpath, n)
        rel = os.path.relpath(p, root)
        st = os.lstat(p)
        out[rel] = ("link:" + os.readlink(p)) if os.path.islink(p) else oct(st.st_mode & 0o7777)
emit(out)
"""


def test_checkout_modes_exclusions_and_symlinks(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    plugin = write_plugin(tmp_path, py(WALK_ROOT))
    result = run(plugin, repo, workdir, sidecar_env)
    tree = only_data(result)
    cwd = Path(tree.pop("@cwd"))
    assert cwd.name == "app"
    assert cwd.parent.parent == (workdir / "_cmp_server").resolve()
    # regular files forced to 0644 (exec bit and 0600 lost), dirs forced to 0755 (0700 lost)
    assert tree["app/run.sh"] == "0o644"
    assert tree["app/private/secret.txt"] == "0o644"
    assert tree["app/private"] == "0o755"
    assert tree["app"] == "0o755"
    # .git/* excluded: the .git dir itself is still sent, but empty
    assert tree[".git"] == "0o755"
    assert not [k for k in tree if k.startswith(".git/")]
    # inbound relative symlink kept as a relative link
    assert tree["app/link.yaml"] == "link:../shared/base.yaml"
    # the uuid dir is deleted afterwards
    assert not cwd.parent.exists()
    assert leftover_uuid_dirs(workdir) == []


def test_exclusion_star_does_not_cross_slash_and_git_kept_without_exclusions(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    plugin = write_plugin(tmp_path, py(WALK_ROOT))
    tree = only_data(run(plugin, repo, workdir, sidecar_env, exclude=("*.log",)))
    assert "top.log" not in tree
    assert "app/nested.log" in tree
    assert ".git/HEAD" in tree and ".git/objects/ab/cd" in tree  # Argo's default: nothing excluded


def test_preserve_file_mode_keeps_exec_bit(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    plugin = write_plugin(tmp_path, py(WALK_ROOT), extra_spec={"preserveFileMode": True})
    tree = only_data(run(plugin, repo, workdir, sidecar_env))
    assert tree["app/run.sh"] == "0o755"
    assert tree["app/private"] == "0o700"


def test_repo_script_without_exec_bit_cannot_be_executed(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    plugin = write_plugin(tmp_path, ["./run.sh"])
    result = run(plugin, repo, workdir, sidecar_env)
    assert result.error is not None
    assert result.error == "fork/exec ./run.sh: permission denied"
    # the documented workaround: run it through an interpreter from the sidecar's PATH
    ok = run(write_plugin(tmp_path, ["sh", "run.sh"]), repo, workdir, sidecar_env)
    assert ok.error is None and ok.objects == [{"kind": "FromScript", "metadata": {"name": "s"}}]


def test_out_of_bounds_symlinks(tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]) -> None:
    plugin = write_plugin(tmp_path, py(WALK_ROOT))
    (repo / "app" / "abs").symlink_to("/etc/hostname")
    result = run(plugin, repo, workdir, sidecar_env)
    assert result.error == "repository contains out-of-bounds symlinks. file: app/abs"
    assert result.stage == "repo"
    # With --allow-oob-symlinks the sidecar still re-roots absolute targets inside the tree...
    tree = only_data(run(plugin, repo, workdir, sidecar_env, allow_out_of_bounds_symlinks=True))
    assert tree["app/abs"] == "link:etc/hostname"
    # ...and rejects targets that leave it.
    (repo / "app" / "escape").symlink_to("../../outside")
    result = run(plugin, repo, workdir, sidecar_env, allow_out_of_bounds_symlinks=True)
    assert result.error is not None and "illegal filepath in symlink" in result.error
    assert leftover_uuid_dirs(workdir) == []


def test_app_path_escaping_is_rejected(tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]) -> None:
    plugin = write_plugin(tmp_path, py("emit({})"))
    (tmp_path / "repo2").mkdir()  # "../repo2" passes the repo-server's naive prefix check...
    (tmp_path / "repo2" / "f").write_text("x")
    assert run(plugin, repo, workdir, sidecar_env, app_path="../repo2").error == (
        "illegal appPath: out of workDir bound"  # ...and is stopped by the sidecar
    )
    assert run(plugin, repo, workdir, sidecar_env, app_path="../other").error == "../other: app path outside root"
    assert run(plugin, repo, workdir, sidecar_env, app_path="/etc").error == "/etc: app path is absolute"
    missing = run(plugin, repo, workdir, sidecar_env, app_path="nope").error
    assert missing is not None and missing.endswith("app path does not exist")


# ------------------------------------------------------------------------------------------------
# Running commands: errors, stdout handling (§2 "Timeouts, exit codes, stderr")
# ------------------------------------------------------------------------------------------------


def test_nonzero_exit_error_format_and_stdout_discarded(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    cmd = ["sh", "-c", "echo 'kind: ConfigMap'; echo ' oops ' >&2; exit 3", "", "x y"]
    result = run(write_plugin(tmp_path, cmd), repo, workdir, sidecar_env)
    argv = 'sh -c "echo \'kind: ConfigMap\'; echo \' oops \' >&2; exit 3" "" "x y"'
    assert result.error == f"`{argv}` failed exit status 3: oops"
    assert result.stage == "generate"
    assert result.objects == [] and result.stdout == "" and not result.empty
    assert result.stderr == " oops \n"
    # no stderr -> no ": ..." suffix
    silent = run(write_plugin(tmp_path, ["sh", "-c", "exit 1"]), repo, workdir, sidecar_env)
    assert silent.error == '`sh -c "exit 1"` failed exit status 1'


def test_init_failure_stops_before_generate(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    marker = tmp_path / "generate-ran"
    plugin = write_plugin(
        tmp_path,
        ["sh", "-c", f"touch {marker}; echo 'kind: X'"],
        init_cmd=["sh", "-c", "echo init-out; echo bad init >&2; exit 2"],
    )
    result = run(plugin, repo, workdir, sidecar_env)
    assert result.error == '`sh -c "echo init-out; echo bad init >&2; exit 2"` failed exit status 2: bad init'
    assert result.stage == "init"
    assert not marker.exists()


def test_init_output_is_discarded_and_shares_env_and_cwd(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    plugin = write_plugin(
        tmp_path,
        py("emit({'init': open('init.txt').read()})"),
        init_cmd=["sh", "-c", 'echo "kind: Ignored"; printf %s "$ARGOCD_APP_NAME" > init.txt'],
    )
    assert only_data(run(plugin, repo, workdir, sidecar_env)) == {"init": "demo"}


def test_command_not_found_uses_sidecar_path(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    result = run(write_plugin(tmp_path, ["no-such-cmp-binary"]), repo, workdir, sidecar_env)
    assert result.error == 'exec: "no-such-cmp-binary": executable file not found in $PATH'


def test_exactly_one_trailing_newline_stripped(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    plugin = write_plugin(tmp_path, ["sh", "-c", "printf 'kind: A\\nmetadata: {name: a}\\n\\n\\n'"])
    result = run(plugin, repo, workdir, sidecar_env)
    assert result.stdout == "kind: A\nmetadata: {name: a}\n\n"
    assert result.objects == [{"kind": "A", "metadata": {"name": "a"}}]


# ------------------------------------------------------------------------------------------------
# Output parsing (§3)
# ------------------------------------------------------------------------------------------------


def test_json_stream_of_concatenated_objects(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    code = """
    a = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
    b = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}}
    c = a | {"kind": "Service"}
    sys.stdout.write("  \\n" + json.dumps(a) + json.dumps(b) + "\\nnull\\n" + json.dumps(c))
    """
    result = run(write_plugin(tmp_path, py(code)), repo, workdir, sidecar_env)
    assert result.error is None
    assert [o["kind"] for o in result.objects] == ["ConfigMap", "Secret", "Service"]


def test_yaml_documents_skip_empty_null_and_comment_docs(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    out = "---\n# only a comment\n---\n" + CM_YAML.format(name="a", value="2024-01-01") + "---\nnull\n---\n~\n---\n"
    out += "--- # comment after separator is fine\n" + CM_YAML.format(name="b", value="yes")
    plugin = write_plugin(tmp_path, [PY, "-c", f"import sys; sys.stdout.write({out!r})"])
    result = run(plugin, repo, workdir, sidecar_env)
    assert result.error is None
    assert [o["metadata"]["name"] for o in result.objects] == ["a", "b"]
    assert result.objects[0]["data"]["k"] == "2024-01-01"  # dates stay strings, as with go-yaml


def test_split_manifests_json_vs_yaml_detection() -> None:
    assert split_manifests('{"kind": "A"}{"kind": "B"}') == [{"kind": "A"}, {"kind": "B"}]
    # JSON inside YAML mode: not a JSON stream because the first non-blank char is not "{"
    assert split_manifests('- {"kind": "A"}') == [[{"kind": "A"}]]
    with pytest.raises(CmpError, match="invalid Yaml document separator: foo"):
        split_manifests("kind: A\n--- foo\nkind: B\n")


@pytest.mark.parametrize(
    ("stdout", "prefix"),
    [
        # a log line as its own YAML document reaches the repo-server as a string
        ("INFO rendering\n---\n" + CM_YAML.format(name="a", value="1"), "failed to convert CMP manifests"),
        # a log line glued to the first document is a YAML syntax error in the sidecar
        (
            "Rendering...\n" + CM_YAML.format(name="a", value="1"),
            "failed to unmarshal manifest: error converting YAML",
        ),
        # one JSON object then a log line: the decoder falls back to YAML -> string document
        ('{"kind": "ConfigMap", "metadata": {"name": "a"}}\nINFO done\n', "failed to convert CMP manifests"),
        # two JSON objects then a log line: a JSON syntax error in the sidecar
        ('{"kind": "A"}\n{"kind": "B"}\nINFO done\n', "failed to unmarshal manifest: invalid character 'I'"),
    ],
)
def test_stray_log_line_is_rejected(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str], stdout: str, prefix: str
) -> None:
    plugin = write_plugin(tmp_path, [PY, "-c", f"import sys; sys.stdout.write({stdout!r})"])
    result = run(plugin, repo, workdir, sidecar_env)
    assert result.error is not None and result.error.startswith(prefix), result.error
    assert result.objects == [] and not result.empty


@pytest.mark.parametrize(
    ("stdout", "detail"),
    [
        ("apiVersion: v1\nmetadata: {name: a}\n", "Object 'Kind' is missing"),
        ("kind: ''\n", "Object 'Kind' is missing"),
        ("apiVersion: a/b/c\nkind: X\n", "Object 'Kind' is missing"),  # unparsable GroupVersion
        ("- kind: ConfigMap\n", "cannot unmarshal array"),  # a top-level list is not supported
        ("[]", "cannot unmarshal array"),
    ],
)
def test_documents_must_be_mappings_with_kind(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str], stdout: str, detail: str
) -> None:
    plugin = write_plugin(tmp_path, [PY, "-c", f"import sys; sys.stdout.write({stdout!r})"])
    result = run(plugin, repo, workdir, sidecar_env)
    assert result.error is not None
    assert result.error.startswith(
        "failed to convert CMP manifests to unstructured objects: failed to unmarshal manifest: "
    )
    assert detail in result.error
    assert result.stage == "convert"


def test_list_kinds_are_flattened(tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]) -> None:
    out = textwrap.dedent(
        """\
        apiVersion: v1
        kind: List
        items:
          - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
          - {apiVersion: apps/v1, kind: Deployment, metadata: {name: b}}
        ---
        apiVersion: v1
        kind: ConfigMapList
        items: null
        ---
        apiVersion: v1
        kind: ServiceList
        items:
          - {apiVersion: v1, kind: Service, metadata: {name: c}}
        """
    )
    plugin = write_plugin(tmp_path, [PY, "-c", f"import sys; sys.stdout.write({out!r})"])
    result = run(plugin, repo, workdir, sidecar_env)
    assert result.error is None
    assert [(o["kind"], o["metadata"]["name"]) for o in result.objects] == [
        ("ConfigMap", "a"),
        ("Deployment", "b"),
        ("Service", "c"),
    ]


def test_duplicates_last_wins_with_warning(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    out = (
        CM_YAML.format(name="cfg", value="first")
        + "---\n"
        + CM_YAML.format(name="other", value="x")
        + "---\n"
        # same object: the namespace defaults to the destination namespace
        + CM_YAML.format(name="cfg", value="second").replace("metadata:\n", "metadata:\n  namespace: models\n")
    )
    plugin = write_plugin(tmp_path, [PY, "-c", f"import sys; sys.stdout.write({out!r})"])
    result = run(plugin, repo, workdir, sidecar_env, app_namespace="models")
    assert result.error is None
    assert [(o["metadata"]["name"], o["data"]["k"]) for o in result.objects] == [
        ("other", "x"),
        ("cfg", "second"),
    ]
    assert result.warnings == ["Resource /ConfigMap/models/cfg appeared 2 times among application resources."]


@pytest.mark.parametrize("cmd", [["sh", "-c", "true"], ["sh", "-c", "echo; echo '---'; echo '# nothing'"]])
def test_empty_output_is_success_but_flagged(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str], cmd: list[str]
) -> None:
    result = run(write_plugin(tmp_path, cmd), repo, workdir, sidecar_env)
    assert result.error is None
    assert result.empty is True
    assert result.objects == []
    assert any("zero resources" in w for w in result.warnings)


# ------------------------------------------------------------------------------------------------
# Deadline and process-group handling
# ------------------------------------------------------------------------------------------------


def test_deadline_kills_leader_and_group(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    pidfile = tmp_path / "grandchild.pid"
    code = f"""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    open({str(pidfile)!r}, "w").write(str(child.pid))
    print("kind: NeverSeen")
    sys.stdout.flush()
    time.sleep(60)
    """
    result = run(write_plugin(tmp_path, py(code)), repo, workdir, sidecar_env, deadline_s=1.5)
    assert result.timed_out
    assert result.error is not None
    assert result.error.startswith(f"`{PY} -c ") and result.error.endswith("failed signal: killed")
    assert result.objects == []
    # SIGKILL at 1.4 s (not before); the plugin would otherwise sleep 60 s. The upper bound only separates
    # the two, so a loaded machine cannot fail it.
    assert 1.3 <= result.duration_s < 30
    assert wait_until(lambda: not pid_alive(int(pidfile.read_text())), 3.0)
    assert leftover_uuid_dirs(workdir) == []


def test_group_gets_sigkill_five_seconds_after_sigterm(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    pidfile = tmp_path / "stubborn.pid"
    stubborn = (
        "import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        f"open({str(pidfile)!r} + '.tmp', 'w').write(str(os.getpid()));"
        f"os.rename({str(pidfile)!r} + '.tmp', {str(pidfile)!r}); time.sleep(60)"
    )
    code = f"""
    subprocess.Popen([sys.executable, "-c", {stubborn!r}])  # inherits stdout: keeps the pipe open
    while not os.path.exists({str(pidfile)!r}):
        time.sleep(0.01)
    time.sleep(60)
    """
    result = run(write_plugin(tmp_path, py(code)), repo, workdir, sidecar_env, deadline_s=1.0)
    assert result.timed_out
    assert result.error is not None and result.error.endswith("failed signal: killed")
    assert 5.5 <= result.duration_s < 30  # 0.9 s deadline + 5 s SIGTERM->SIGKILL grace; else 60 s
    assert wait_until(lambda: not pid_alive(int(pidfile.read_text())), 2.0)


def test_background_child_is_killed_after_normal_finish(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    pidfile = tmp_path / "bg.pid"
    code = f"""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    open({str(pidfile)!r}, "w").write(str(child.pid))
    emit({{"ok": "1"}})
    """
    result = run(write_plugin(tmp_path, py(code)), repo, workdir, sidecar_env)
    assert only_data(result) == {"ok": "1"}
    assert not result.timed_out
    assert result.duration_s < 30  # did not wait for the 60 s child
    assert wait_until(lambda: not pid_alive(int(pidfile.read_text())), 3.0)


def test_background_child_holding_stdout_blocks_until_deadline(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    code = """
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # inherits stdout
    emit({"ok": "1"})
    """
    result = run(write_plugin(tmp_path, py(code)), repo, workdir, sidecar_env, deadline_s=1.5)
    # Go's cmd.Wait waits for the pipes: the leader exited 0, so the output is still accepted...
    assert only_data(result) == {"ok": "1"}
    # ...but only once the deadline fired and the group was terminated.
    assert result.timed_out
    assert 1.3 <= result.duration_s < 30  # the deadline, not the 60 s child
    assert any("background process" in w for w in result.warnings)


def test_deadline_covers_the_whole_request(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    marker = tmp_path / "ran"
    plugin = write_plugin(tmp_path, ["sh", "-c", f"touch {marker}"])
    # 0.1 s minus the 100 ms buffer: the deadline is gone before the tarball is even received
    result = run(plugin, repo, workdir, sidecar_env, deadline_s=0.1)
    assert result.timed_out and result.stage == "stream"
    assert result.error is not None and result.error.endswith("context deadline exceeded")
    assert not marker.exists()
    assert leftover_uuid_dirs(workdir) == []


# ------------------------------------------------------------------------------------------------
# Concurrency
# ------------------------------------------------------------------------------------------------


def test_eight_concurrent_requests_are_isolated(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    code = """
    open("scratch.txt", "w").write(os.environ["PARAM_ID"])
    time.sleep(0.3)
    emit({"id": open("scratch.txt").read(), "cwd": os.getcwd()}, name=os.environ["ARGOCD_APP_NAME"])
    """
    plugin = write_plugin(tmp_path, py(code))

    def one(i: int) -> GenerateResult:
        request = AppRequest(
            repo_dir=repo,
            app_path="app",
            app_name=f"app-{i}",
            parameters=[Parameter(name="id", string=str(i))],
        )
        return generate(plugin, request, sidecar_env=sidecar_env, workdir=workdir, deadline_s=30.0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(8)))
    cwds = set()
    for i, result in enumerate(results):
        assert result.error is None, result.error
        [obj] = result.objects
        assert obj["metadata"]["name"] == f"app-{i}"
        assert obj["data"]["id"] == str(i)
        cwds.add(obj["data"]["cwd"])
    assert len(cwds) == 8
    assert leftover_uuid_dirs(workdir) == []


# ------------------------------------------------------------------------------------------------
# Parameter announcements (§1 spec.parameters)
# ------------------------------------------------------------------------------------------------

STATIC: list[dict[str, Any]] = [
    {"name": "environment", "title": "Environment", "required": True, "string": "dev"},
    {"name": "overlays", "collectionType": "array", "array": ["base"]},
]


def test_parameters_dynamic_then_static_with_announcement_env(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    code = """
    keys = sorted(k for k in os.environ if k.startswith(("ARGOCD_", "KUBE_", "PARAM_")))
    anns = [{"name": k, "string": os.environ[k]} for k in keys]
    anns.append({"name": "environment", "title": "from-dynamic", "unknownField": 1})
    print(json.dumps(anns))
    """
    plugin = write_plugin(tmp_path, ["true"], dynamic_cmd=py(code), static=STATIC)
    request = AppRequest(
        repo_dir=repo,
        app_path="app",
        plugin_env=[("X", "$ARGOCD_APP_NAME")],
        parameters=[Parameter(name="environment", string="prod")],
    )
    anns = parameters(plugin, request, sidecar_env=sidecar_env, workdir=workdir)
    names = [a["name"] for a in anns]
    assert names[-2:] == ["environment", "overlays"]  # static appended after dynamic
    dynamic = {a["name"]: a.get("string", "") for a in anns[:-3]}
    assert dynamic == {
        "ARGOCD_APP_NAME": "demo",
        "ARGOCD_APP_SOURCE_PATH": "app",
        "ARGOCD_APP_SOURCE_REPO_URL": "https://example.com/repo.git",
        "ARGOCD_APP_SOURCE_TARGET_REVISION": "main",
        "ARGOCD_ENV_X": "demo",
        "ARGOCD_APP_PARAMETERS": '[{"name":"environment","string":"prod"}]',
        "PARAM_ENVIRONMENT": "prod",
    }
    assert anns[-3] == {"name": "environment", "title": "from-dynamic"}  # unknown field dropped
    assert effective_announcements(anns)["environment"]["title"] == "Environment"  # static wins
    assert leftover_uuid_dirs(workdir) == []


@pytest.mark.parametrize(
    ("stdout", "match"),
    [
        ('{"name": "x"}', "cannot unmarshal object"),
        ("", "error unmarshaling dynamic parameter output"),
        ('[{"title": "no name"}]', "has no name"),
        ('[{"name": "x", "required": "yes"}]', "of type bool"),
    ],
)
def test_parameters_rejects_bad_dynamic_output(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str], stdout: str, match: str
) -> None:
    plugin = write_plugin(tmp_path, ["true"], dynamic_cmd=[PY, "-c", f"import sys; sys.stdout.write({stdout!r})"])
    with pytest.raises(CmpError, match=match):
        parameters(plugin, AppRequest(repo_dir=repo, app_path="app"), sidecar_env=sidecar_env, workdir=workdir)


def test_parameters_static_only_and_command_failure(
    tmp_path: Path, repo: Path, workdir: Path, sidecar_env: dict[str, str]
) -> None:
    request = AppRequest(repo_dir=repo, app_path="app")
    static_only = write_plugin(tmp_path, ["true"], static=STATIC)
    assert parameters(static_only, request, sidecar_env=sidecar_env, workdir=workdir) == STATIC
    failing = write_plugin(tmp_path, ["true"], dynamic_cmd=["sh", "-c", "echo nope >&2; exit 4"])
    with pytest.raises(CmpError) as info:
        parameters(failing, request, sidecar_env=sidecar_env, workdir=workdir)
    assert str(info.value) == (
        'error executing dynamic parameter output command: `sh -c "echo nope >&2; exit 4"` failed exit status 4: nope'
    )
