"""The smoke checker against a real KServe model server (tests/kserve_server.py: the `kserve` package's
ModelServer on loopback, serving a tiny model over KServe's v1 and v2 REST protocols), through
`mlgitops test` and through the exact command the rendered Job runs: passing tests, and failures on a
value, on the status, on the latency, on a server that never answers and on one that trickles bytes
(each bounded), and the readiness wait for a model that loads late."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import kustomize_objects, run_cli
from kserve_server import serving
from projects import model_yaml, project_yaml, write_project

V1_TESTS = """\
serving: {runtime: kserve-sklearnserver}
tests:
- name: ready
- name: predict
  request: {body: {instances: [[6.8, 2.8, 4.8, 1.4], [1, 1, 1, 1]]}}
  expect:
    json:
    - {path: /predictions/0, equals: 1}
    - {path: /predictions/1, oneOf: [0]}
    - {path: /predictions, equals: [1, 0]}
- name: predict-file
  request: {bodyFile: smoke/iris.json}
  expect: {json: [{path: /predictions/0, min: 1, max: 2}], latencyMs: 5000}
- name: refuses-three-features
  request: {body: {instances: [[1, 2, 3]]}}
  expect: {status: 400, json: [{path: /error, equals: each instance has 4 features}]}
"""


# One worker runs this module under `make test` (pytest-xdist): the model server below starts once.
pytestmark = pytest.mark.xdist_group("kserve-model-server")


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("kserve")) as url:
        yield url


def project(root: Path, body: str, *, extra: str = "") -> Path:
    write_project(root, project_yaml(extra=extra), {"iris": model_yaml("iris", body=body)})
    (root / "smoke").mkdir(exist_ok=True)
    (root / "smoke" / "iris.json").write_text('{"instances": [[5, 5, 5, 5]]}\n')
    return root


def smoke(root: Path, url: str, *args: str) -> tuple[int, list[str], str]:
    result = run_cli(["test", "iris", "--env", "dev", "--url", url, *args], cwd=root)
    return result.exit_code, result.stdout.splitlines(), result.stderr


def one_test(request: str, expect: str, retries: int = 0, serving_block: str = "serving: {}\n") -> str:
    return f"{serving_block}tests:\n- name: t\n  request: {request}\n  expect: {expect}\n  retries: {retries}\n"


# --- through `mlgitops test` ---------------------------------------------------------------------


def test_every_test_passes_against_the_model(tmp_path: Path, model_server: str) -> None:
    code, lines, err = smoke(project(tmp_path, V1_TESTS), model_server)
    assert code == 0, (lines, err)
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "PASS ready",
        "PASS predict",
        "PASS predict-file",
        "PASS refuses-three-features",
    ]
    assert lines[-1] == f"iris 3 in dev at {model_server}: 4 of 4 smoke tests passed"
    assert err == ""


def test_the_v2_protocol_paths_are_the_defaults(tmp_path: Path, model_server: str) -> None:
    body = one_test(
        "{body: {inputs: [{name: x, shape: [2, 4], datatype: FP32, data: [1, 1, 1, 1, 9, 9, 9, 9]}]}}",
        "{json: [{path: /outputs/0/data, equals: [0, 2]}, {path: /model_name, equals: iris}]}",
        serving_block="serving: {protocol: v2}\n",
    )
    body += "- name: ready\n"  # GET /v2/models/iris/ready
    code, lines, _ = smoke(project(tmp_path, body), model_server)
    assert code == 0, lines
    assert lines[0].startswith("PASS t: 200") and lines[1].startswith("PASS ready: 200")


def test_a_wrong_value_fails_and_names_it(tmp_path: Path, model_server: str) -> None:
    body = one_test("{body: {instances: [[6.8, 2.8, 4.8, 1.4]]}}", "{json: [{path: /predictions/0, equals: 2}]}")
    code, lines, _ = smoke(project(tmp_path, body), model_server)
    assert code == 1
    assert lines[0] == "FAIL t: /predictions/0 is 1, expected 2"
    assert lines[-1].endswith("0 of 1 smoke tests passed")


@pytest.mark.parametrize(
    ("expectation", "reason"),
    [
        ("{path: /predictions/0, min: 1.5}", "/predictions/0 is 1, expected at least 1.5"),
        ("{path: /predictions/0, max: 0}", "/predictions/0 is 1, expected at most 0"),
        ("{path: /predictions/0, oneOf: [0, 2]}", "/predictions/0 is 1, expected one of [0, 2]"),
        ("{path: /predictions/0, equals: true}", "/predictions/0 is 1, expected true"),
        ("{path: /predictions/0, equals: '1'}", '/predictions/0 is 1, expected "1"'),
        ("{path: /predictions/3, equals: 1}", "/predictions/3: no such value in the response"),
        ("{path: /predictions, min: 0}", "/predictions is [1], expected a number at least 0"),
    ],
)
def test_each_kind_of_expectation_fails_with_its_reason(
    tmp_path: Path, model_server: str, expectation: str, reason: str
) -> None:
    body = one_test("{body: {instances: [[6.8, 2.8, 4.8, 1.4]]}}", f"{{json: [{expectation}]}}")
    code, lines, _ = smoke(project(tmp_path, body), model_server)
    assert (code, lines[0]) == (1, f"FAIL t: {reason}")


def test_a_wrong_status_fails_with_what_the_server_said(tmp_path: Path, model_server: str) -> None:
    body = one_test("{body: {instances: [[1, 2, 3]]}}", "{}", retries=1)
    code, lines, _ = smoke(project(tmp_path, body), model_server)
    assert code == 1
    assert lines[0] == 'FAIL t: status 400, expected 200: {"error":"each instance has 4 features"} (2 attempts)'


def test_a_slow_answer_fails_on_latency(tmp_path: Path, model_server: str) -> None:
    body = one_test("{body: {instances: [[1, 2, 3, 4]]}, headers: {x-delay: '0.6'}}", "{latencyMs: 200}")
    code, lines, _ = smoke(project(tmp_path, body), model_server)
    assert code == 1
    assert lines[0].startswith("FAIL t: took ") and lines[0].endswith(" ms, expected at most 200 ms")
    took = int(lines[0].split("took ")[1].split(" ms")[0])
    assert 600 <= took < 5000


def test_a_server_that_never_answers_is_given_up_on_in_time(tmp_path: Path, model_server: str) -> None:
    body = one_test("{body: {instances: [[1, 2, 3, 4]]}, headers: {x-delay: '3600'}}", "{}")
    started = time.monotonic()
    code, lines, _ = smoke(project(tmp_path, body), model_server, "--timeout", "1")
    elapsed = time.monotonic() - started
    assert (code, lines[0]) == (1, "FAIL t: no answer within 1 s")
    assert elapsed < 6, elapsed  # one attempt of 1 s, plus loading the project


@pytest.fixture
def trickler() -> Iterator[str]:
    """A server that accepts, then sends one byte of an HTTP answer every 0.3 s, forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                    if stop.wait(0.3):
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    listener.close()


def test_a_server_trickling_bytes_is_given_up_on_in_time(tmp_path: Path, trickler: str) -> None:
    """Each byte arrives well within the socket timeout: only the attempt's own deadline ends it."""
    body = one_test("{body: {instances: [[1, 2, 3, 4]]}}", "{}")
    started = time.monotonic()
    code, lines, _ = smoke(project(tmp_path, body), trickler, "--timeout", "1.5")
    assert (code, lines[0]) == (1, "FAIL t: no answer within 1.5 s")
    assert time.monotonic() - started < 7


def test_nothing_listening_is_a_refused_connection(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens there
    code, lines, _ = smoke(project(tmp_path, one_test("{}", "{}")), f"http://127.0.0.1:{port}")
    assert (code, lines[0]) == (1, "FAIL t: cannot connect: connection refused")


def test_the_wait_covers_a_model_server_that_starts_late(tmp_path: Path) -> None:
    """Until the model server is up, nothing answers on its port (as a Service without ready endpoints): within
    --wait that is tried again without using up the test's retries; without a wait it is a failure."""
    from kserve_server import free_port

    root = project(tmp_path / "p", one_test("{body: {instances: [[1, 2, 3, 4]]}}", "{}"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code, lines, _ = smoke(root, url)
    assert (code, lines[0]) == (1, "FAIL t: cannot connect: connection refused")
    answer: list[tuple[int, list[str], str]] = []
    waiting = threading.Thread(target=lambda: answer.append(smoke(root, url, "--wait", "90")))
    waiting.start()
    time.sleep(2)
    with serving(tmp_path, port=port):
        waiting.join(120)
    assert answer and answer[0][0] == 0, answer
    assert answer[0][1][0].startswith("PASS t: 200")


@pytest.fixture
def unavailable_then_ok() -> Iterator[tuple[str, list[int]]]:
    """A gateway that answers 503, then 502, then 504, then 200 (what Knative's activator or an ingress says
    while the model scales up); the statuses it sent."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    sent: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = [503, 502, 504][len(sent)] if len(sent) < 3 else 200
            sent.append(status)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", sent
    server.shutdown()
    server.server_close()


def test_gateway_statuses_are_waited_for_within_the_wait_only(tmp_path: Path, unavailable_then_ok: Any) -> None:
    url, sent = unavailable_then_ok
    root = project(tmp_path, one_test("{}", "{}"))
    code, lines, _ = smoke(root, url)
    assert (code, lines[0], sent) == (1, "FAIL t: status 503, expected 200: {}", [503])
    code, lines, _ = smoke(root, url, "--wait", "30")
    assert code == 0 and lines[0].startswith("PASS t: 200"), lines
    assert sent == [503, 502, 504, 200]


def test_usage_errors(tmp_path: Path) -> None:
    root = project(tmp_path, V1_TESTS)
    assert run_cli(["test", "iris", "--env", "qa"], cwd=root).exit_code == 2
    result = run_cli(["test", "iris", "--env", "dev", "--url", "ftp://x"], cwd=root)
    assert result.exit_code == 2 and "is not an http(s) URL" in result.stderr
    result = run_cli(["test", "iris", "--env", "dev", "--header", "no-colon"], cwd=root)
    assert result.exit_code == 2 and "write NAME: VALUE" in result.stderr
    write_project(tmp_path / "bare", project_yaml(), {"iris": model_yaml("iris", body="serving: {}\n")})
    result = run_cli(["test", "iris", "--env", "dev"], cwd=tmp_path / "bare")
    assert result.exit_code == 2 and "iris has no tests in 'dev'" in result.stderr


# --- the Job's own command -----------------------------------------------------------------------


def _job_objects(root: Path, env: str) -> tuple[dict[str, Any], dict[str, Any]]:
    objects = kustomize_objects(root / "overlays" / env)
    config_map = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("iris-smoke"))
    job = next(o for o in objects if o["kind"] == "Job")
    return config_map, job


def run_job_command(root: Path, tmp_path: Path, url: str) -> tuple[int, str, Path]:
    """Run the rendered Job's container command (as `kubectl kustomize` outputs it) with the ConfigMap's
    files where the Job mounts them, against URL instead of the in-cluster address."""
    config_map, job = _job_objects(root, "dev")
    container = job["spec"]["template"]["spec"]["containers"][0]
    mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "tests")
    files = tmp_path / "mounted"
    files.mkdir()
    for name, text in config_map["data"].items():
        (files / name).write_text(text)
    log = tmp_path / "termination-log"
    argv = [part.replace(mount, str(files)) for part in [*container["command"], *container["args"]]]
    argv[argv.index("--url") + 1] = url
    argv[argv.index("--termination-log") + 1] = str(log)
    assert argv[0] == "python3"
    done = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, log


def test_the_rendered_job_runs_the_tests(tmp_path: Path, model_server: str) -> None:
    root = project(tmp_path / "p", V1_TESTS)
    assert run_cli(["render"], cwd=root).exit_code == 0
    code, out, log = run_job_command(root, tmp_path, model_server)
    assert code == 0, out
    assert out.splitlines()[-1] == "iris 3 in dev: 4 of 4 smoke tests passed"
    assert not log.exists()


def test_the_rendered_job_fails_and_leaves_the_failed_tests_in_its_termination_message(
    tmp_path: Path, model_server: str
) -> None:
    body = V1_TESTS.replace("equals: [1, 0]", "equals: [1, 1]").replace("status: 400", "status: 404")
    root = project(tmp_path / "p", body)
    assert run_cli(["render"], cwd=root).exit_code == 0
    code, out, log = run_job_command(root, tmp_path, model_server)
    assert code == 1
    assert log.read_text().splitlines() == [
        "FAIL predict: /predictions is [1, 0], expected [1, 1] (3 attempts)",
        'FAIL refuses-three-features: status 400, expected 404: {"error":"each instance has 4 features"} (3 attempts)',
    ]
    assert "2 of 4 smoke tests passed" in out


def test_an_unusable_document_exits_2(tmp_path: Path) -> None:
    from mlgitops.render.smoke import checker_source

    checker = tmp_path / "check.py"
    checker.write_text(checker_source())
    (tmp_path / "tests.json").write_text(json.dumps({"format": 1, "tests": []}))
    done = subprocess.run(
        [sys.executable, "-I", "-B", str(checker), "--tests", str(tmp_path / "tests.json"), "--url", "http://x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr == "ERROR tests.json lists no tests\n"


# --- the judging rules ---------------------------------------------------------------------------


def test_json_equality_follows_json_not_python() -> None:
    from mlgitops.data.smoke.check import json_equal, pointer_value

    assert json_equal(1, 1.0) and json_equal([1, {"a": 2}], [1.0, {"a": 2}])
    assert not json_equal(True, 1) and not json_equal(0, False) and not json_equal("1", 1)
    assert not json_equal([1], [1, 1]) and not json_equal({"a": 1}, {"a": 1, "b": 2})
    doc = {"a/b": {"m~n": [10, 20]}, "": 3}
    assert pointer_value(doc, "/a~1b/m~0n/1") == 20
    assert pointer_value(doc, "/") == 3
    assert pointer_value(doc, "") is doc
    missing = pointer_value(doc, "/a~1b/m~0n/01")
    assert missing is pointer_value(doc, "/nope") and missing is not None


def test_the_checker_is_python_3_8_and_standard_library_only() -> None:
    """What any Python image runs: 3.8 syntax, and imports from the standard library alone."""
    import ast

    from mlgitops.render.smoke import checker_source

    tree = ast.parse(checker_source(), feature_version=(3, 8))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
