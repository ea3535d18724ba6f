"""The warm `cmp generate` (mlgitops cmp serve, cli/warm.py), run as argocd-cmp-server runs the plugin
(tests/cmp_harness.py): the same answers as without the server, byte for byte, failures included; the request
really runs in the server's fork; a stale, absent or foreign server leaves the command to run as before; a fork
whose caller is gone ends; the socket's directory must be private."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cmp_harness import AppRequest, GenerateResult, Parameter, PluginConfig, generate, load_plugin
from mlgitops.cli import warm
from tests.conftest import REPO, copy_example

PLUGIN_FILE = REPO / "plugins" / "argocd" / "plugin.yaml"
BIN = Path(sys.executable).parent
MLGITOPS = str(BIN / "mlgitops")


def _wait_for(path: Path) -> None:
    for _ in range(400):
        if path.exists():
            return
        time.sleep(0.05)
    pytest.fail(f"no socket at {path}")


def _children_cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[13]) + int(fields[14])


def _live_children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


@pytest.fixture(scope="module")
def plugin() -> PluginConfig:
    return load_plugin(PLUGIN_FILE)


@pytest.fixture
def sidecar_env(tmp_path: Path) -> dict[str, str]:
    tmp = tmp_path / "sidecar-tmp"
    tmp.mkdir()
    return {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(tmp_path / "no-home"), "TMPDIR": str(tmp), "LANG": "C.UTF-8"}


@pytest.fixture
def server(tmp_path: Path, sidecar_env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    path = tmp_path / "warm" / "generate.sock"
    process = subprocess.Popen([MLGITOPS, "cmp", "serve", "--socket", str(path)], env=sidecar_env)
    try:
        _wait_for(path)
        yield process, path
    finally:
        process.terminate()
        process.wait(timeout=30)


def _run(plugin: PluginConfig, env: dict[str, str], repo: Path, workdir: Path, **params: str) -> GenerateResult:
    request = AppRequest(
        repo_dir=repo,
        app_path=".",
        app_name="acme-ml",
        app_namespace="ml-prod",
        project_name="acme-ml",
        repo_url="https://github.com/acme/ml-config.git",
        parameters=[Parameter(name, string=value) for name, value in params.items()],
    )
    return generate(plugin, request, sidecar_env=env, workdir=workdir, deadline_s=60)


def _answer(result: GenerateResult) -> tuple[object, ...]:
    return (result.error, result.stage, result.stdout, result.stderr)


def test_answers_as_without_the_server_and_runs_in_its_fork(
    plugin: PluginConfig,
    sidecar_env: dict[str, str],
    server: tuple[subprocess.Popen[bytes], Path],
    tmp_path: Path,
) -> None:
    process, path = server
    example = copy_example(tmp_path / "example")
    broken = copy_example(tmp_path / "broken")
    spec = broken / "models" / "fraud-detector.yaml"
    spec.write_text(spec.read_text() + "servng: {}\n")  # a misspelt top-level key
    warm_env = {**sidecar_env, warm.SOCKET_VARIABLE: str(path)}
    requests = [
        (example, {"environment": "prod", "model": "fraud-detector"}),
        (example, {"environment": "dev"}),
        (example, {"environment": "prod", "model": "no-such-model"}),
        (broken, {"environment": "prod", "model": "fraud-detector"}),
    ]
    before = _children_cpu_ticks(process.pid)
    for repo, params in requests:
        cold = _run(plugin, sidecar_env, repo, tmp_path / "cold-work", **params)
        served = _run(plugin, warm_env, repo, tmp_path / "warm-work", **params)
        assert _answer(served) == _answer(cold), params
    assert _run(plugin, sidecar_env, example, tmp_path / "w", environment="prod").error is None
    assert cold.error is not None and "servng" in cold.stderr, "the broken spec failed in both"
    time.sleep(0.2)  # the server reaps its forks
    assert _children_cpu_ticks(process.pid) > before, "no request ran in the server's forks"


def test_no_server_or_a_stale_socket_runs_the_command_itself(
    plugin: PluginConfig, sidecar_env: dict[str, str], tmp_path: Path
) -> None:
    example = copy_example(tmp_path / "example")
    cold = _run(plugin, sidecar_env, example, tmp_path / "a", environment="staging")
    assert cold.error is None
    missing = {**sidecar_env, warm.SOCKET_VARIABLE: str(tmp_path / "none" / "generate.sock")}
    assert _answer(_run(plugin, missing, example, tmp_path / "b", environment="staging")) == _answer(cold)
    left = tmp_path / "left" / "generate.sock"  # a socket file whose server ended: nobody listens
    left.parent.mkdir(mode=0o700)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(left))
    listener.close()
    stale = {**sidecar_env, warm.SOCKET_VARIABLE: str(left)}
    assert _answer(_run(plugin, stale, example, tmp_path / "c", environment="staging")) == _answer(cold)


def _raw_request(path: Path, key: str, argv: list[str], cwd: Path, env: dict[str, str]) -> socket.socket:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(str(path))
    with open(os.devnull, "rb") as null_in, open(os.devnull, "wb") as null_out:
        fds = [null_in.fileno(), null_out.fileno(), null_out.fileno()]
        socket.send_fds(connection, [warm.encode_request(key, str(cwd), argv, env)], fds)
    return connection


def test_requests_read_back_as_written() -> None:
    environ = {"A": "1", "EMPTY": "", "EQUALS": "x=y", "UNICODE": "modèle", "PARAM_MODEL": "fraud-detector"}
    argv = ["cmp", "generate", "", "--flag=a b"]
    request = warm.encode_request("key\nwith lines", "/tmp/a b", argv, environ)
    assert int.from_bytes(request[:4], "big") == len(request) - 4
    assert warm.decode_request(request[4:]) == ("key\nwith lines", "/tmp/a b", argv, environ)
    assert warm.decode_request(warm.encode_request("k", "/", [], {})[4:]) == ("k", "/", [], {})
    with pytest.raises(ValueError):
        warm.decode_request(b"k\0/\x003\0only-one")


def test_another_code_version_is_refused_and_the_server_stops(
    server: tuple[subprocess.Popen[bytes], Path], sidecar_env: dict[str, str], tmp_path: Path
) -> None:
    process, path = server
    connection = _raw_request(path, "0" * 64, ["cmp", "generate"], tmp_path, sidecar_env)
    assert connection.recv(1) == b"S"
    connection.close()
    assert process.wait(timeout=30) == -signal.SIGTERM, "a server older than the code on disk stops"


def test_a_fork_and_its_children_end_when_the_caller_is_gone(
    server: tuple[subprocess.Popen[bytes], Path], sidecar_env: dict[str, str], tmp_path: Path
) -> None:
    process, path = server
    example = copy_example(tmp_path / "example")
    fake = tmp_path / "fake-bin"  # `diff` runs git, which here never ends: the fork waits for it
    fake.mkdir()
    started = tmp_path / "git-started"
    (fake / "git").write_text(f"#!/bin/sh\necho $$ > {started}.tmp && mv {started}.tmp {started}\nexec sleep 600\n")
    (fake / "git").chmod(0o755)
    env = {**sidecar_env, "PATH": f"{fake}:{sidecar_env['PATH']}"}
    connection = _raw_request(path, warm.code_key(), ["diff"], example, env)
    assert connection.recv(1) == b"A"
    for _ in range(400):
        if started.exists():
            break
        time.sleep(0.05)
    git = int(started.read_text())
    forks = _live_children(process.pid)
    assert len(forks) == 1 and Path(f"/proc/{git}").exists()
    connection.close()  # the caller is gone (argocd-cmp-server killed it)
    for _ in range(200):
        if not _live_children(process.pid) and not Path(f"/proc/{git}").exists():
            break
        time.sleep(0.05)
    assert _live_children(process.pid) == set(), "the fork outlived its caller"
    assert not Path(f"/proc/{git}").exists(), "the fork's child outlived its caller"


def test_the_socket_directory_must_be_private(sidecar_env: dict[str, str], tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    result = subprocess.run(
        [MLGITOPS, "cmp", "serve", "--socket", str(shared / "generate.sock")],
        env=sidecar_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"mlgitops: cmp serve: {shared}: must belong to this user and be closed to others (mode 700);"
        " cmp generate runs without it\n"
    )
    assert not (shared / "generate.sock").exists()


def test_then_runs_the_program_after_starting_the_server(sidecar_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "warm" / "generate.sock"
    result = subprocess.run(
        [MLGITOPS, "cmp", "serve", "--socket", str(path), "--then", sys.executable, "-c", "print('then')"],
        env=sidecar_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (0, "then\n"), result.stderr
    assert result.stderr == f"mlgitops: serving cmp generate on {path}\n"
    probe = socket.socket(socket.AF_UNIX)
    probe.connect(str(path))  # the server listens in the background
    probe.close()
    subprocess.run(["pkill", "-f", f"cmp serve --socket {path}"], check=False)
