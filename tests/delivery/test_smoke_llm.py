"""Smoke tests of an `engine: llm` model: the Job calls the LLMInferenceService's workload Service (port 8000,
KServe v0.20 pkg/controller/v1alpha2/llmisvc/workload.go) with OpenAI's paths by default, and on a cluster
that serves it over TLS (inferenceservice-config `ingress.enableLLMInferenceServiceTLS`) verifies KServe's
self-signed certificate with the `tls.crt` of the Secret KServe creates for it
(workload_tls_self_signed.go), never mounting the key. The rendered Job's own command runs against an
HTTPS server holding a certificate built as KServe builds it: it passes with that certificate, fails on
another one, and is checked with Kubernetes' schemas and `validate`'s missing-reference rule."""

from __future__ import annotations

import datetime
import http.server
import json
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import kustomize_objects, run_cli
from projects import project_yaml, write_project

pytestmark = pytest.mark.usefixtures("private_validate_cache")

# prod's cluster serves LLM workloads over TLS; dev's is a stock install (TLS off). A short readiness wait: a
# certificate that does not verify is retried while it lasts (KServe reissues it as the model's pods change).
PROJECT = project_yaml("dev", extra="tests: {wait: 3s, timeout: 10s}\n").replace(
    "tests:", "- name: prod\n  namespace: ml-prod\n  clusterFeatures: {llmInferenceServiceTls: true}\ntests:"
)
MODEL = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: qwen}
model: {format: huggingface, version: "2", storageUri: "hf://Qwen/Qwen2.5-0.5B-Instruct:2"}
serving:
  engine: llm
  resources: {requests: {cpu: "2", memory: 8Gi}, limits: {cpu: "4", memory: 8Gi}}
tests:
- name: served
  expect: {json: [{path: /data/0/id, equals: qwen}]}
- name: completes
  request: {body: {model: qwen, prompt: Hello, max_tokens: 4}}
  expect: {json: [{path: /object, equals: text_completion}]}
"""


def _render(root: Path, model: str = MODEL) -> dict[str, list[Any]]:
    write_project(root, PROJECT, {"qwen": model})
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    return {env: kustomize_objects(root / "overlays" / env) for env in ("dev", "prod")}


def _job(objects: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    config_map = next(o for o in objects if o["kind"] == "ConfigMap" and "check.py" in o.get("data", {}))
    return config_map, next(o for o in objects if o["kind"] == "Job")


def _arg(job: dict[str, Any], flag: str) -> str | None:
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    return args[args.index(flag) + 1] if flag in args else None


def test_the_job_calls_the_workload_service_with_openai_paths(tmp_path: Path) -> None:
    objects = _render(tmp_path)
    config_map, dev = _job(objects["dev"])
    assert _arg(dev, "--url") == "http://qwen-kserve-workload-svc.ml-dev.svc:8000"
    assert _arg(dev, "--ca-file") is None
    assert [v["name"] for v in dev["spec"]["template"]["spec"]["volumes"]] == ["tests", "tmp"]
    tests = json.loads(config_map["data"]["tests.json"])["tests"]
    assert [(t["method"], t["path"]) for t in tests] == [("GET", "/v1/models"), ("POST", "/v1/completions")]
    _, prod = _job(objects["prod"])
    assert _arg(prod, "--url") == "https://qwen-kserve-workload-svc.ml-prod.svc:8000"
    assert _arg(prod, "--ca-file") == "/server-certificate/ca.crt"
    volume = next(v for v in prod["spec"]["template"]["spec"]["volumes"] if v["name"] == "server-certificate")
    # the certificate only: the Secret's tls.key never reaches the smoke pod
    assert volume == {
        "name": "server-certificate",
        "secret": {"secretName": "qwen-kserve-self-signed-certs", "items": [{"key": "tls.crt", "path": "ca.crt"}]},
    }
    mounts = prod["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "server-certificate", "mountPath": "/server-certificate", "readOnly": True} in mounts


def test_validate_knows_kserve_creates_the_certificate_secret(tmp_path: Path, crds_dir: Path) -> None:
    _render(tmp_path)
    result = run_cli(["validate", "--crds", str(crds_dir)], cwd=tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    # a negative control: a Secret KServe does not create is still a missing reference
    other = MODEL.replace("engine: llm\n", "engine: llm\n  env: {TOKEN: {secret: hf, key: t}}\n")
    _render(tmp_path, other)
    result = run_cli(["validate", "--crds", str(crds_dir)], cwd=tmp_path)
    assert result.exit_code == 1
    assert "Secret 'hf' does not exist in ml-prod" in result.stdout
    assert "kserve-self-signed-certs" not in result.stdout


@pytest.mark.parametrize(
    ("parent", "suffix", "expected"),
    [
        # computed by knative.dev/pkg kmeta.ChildName, the function KServe names these objects with
        ("qwen", "-kserve-workload-svc", "qwen-kserve-workload-svc"),
        ("m" * 43, "-kserve-workload-svc", "m" * 43 + "-kserve-workload-svc"),
        ("m" * 44, "-kserve-workload-svc", "mmmmmmmmmmm201890ef2238b12b11faf03d19bdac64-kserve-workload-svc"),
        ("a" * 60, "-kserve-workload-svc", "aaaaaaaaaaacc7ed669cf88f201c3297c6a91e1d18d-kserve-workload-svc"),
        (
            "fraud-detector-large-language-model-serving-x",
            "-kserve-self-signed-certs",
            "fraud-10fb0cb5e9eea69fa3f5e6020e18a702-kserve-self-signed-certs",
        ),
    ],
)
def test_child_names_are_knatives(parent: str, suffix: str, expected: str) -> None:
    from mlgitops.util.kubenames import child_name

    assert child_name(parent, suffix) == expected


# --- the Job's command against an HTTPS server -------------------------------------------------------


def _certificate(directory: Path, hosts: list[str]) -> tuple[Path, Path]:
    """A certificate as KServe's createSelfSignedTLSCertificate makes it: self-signed, not a CA, server auth,
    the Service's DNS names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kserve Self Signed")])
    now = datetime.datetime.now(datetime.UTC)
    usage = x509.KeyUsage(True, False, True, False, False, False, False, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True)
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class _OpenAIish(http.server.BaseHTTPRequestHandler):
    """Answers the two OpenAI paths the defaults call, as vLLM's server shapes them."""

    def _answer(self, document: dict[str, Any]) -> None:
        data = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/v1/models":
            self._answer({"object": "list", "data": [{"id": "qwen", "object": "model"}]})
        else:
            self.send_error(404)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/v1/completions":
            self._answer({"object": "text_completion", "choices": [{"text": " world"}]})
        else:
            self.send_error(404)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    cert, key = _certificate(tmp_path / "server", ["localhost", "qwen-kserve-workload-svc.ml-prod.svc"])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OpenAIish)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert
    server.shutdown()
    server.server_close()


def _run_job(root: Path, tmp_path: Path, port: int, certificate: Path) -> subprocess.CompletedProcess[str]:
    """The prod Job's container command with its two volumes laid out as the kubelet would (the ConfigMap's
    files, and the Secret's items: tls.crt at ca.crt), the URL's host made local."""
    config_map, job = _job(kustomize_objects(root / "overlays" / "prod"))
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    files = {"tests": dict(config_map["data"])}
    secret = next(v["secret"] for v in pod["volumes"] if v["name"] == "server-certificate")
    secret_data = {"tls.crt": certificate.read_text(), "tls.key": "not for the smoke pod"}
    files["server-certificate"] = {item["path"]: secret_data[item["key"]] for item in secret["items"]}
    argv = [*container["command"], *container["args"]]
    for volume, content in files.items():
        local = tmp_path / "mounted" / volume
        local.mkdir(parents=True)
        for name, text in content.items():
            (local / name).write_text(text)
        argv = [part.replace(mounts[volume], str(local)) for part in argv]
    argv[argv.index("--url") + 1] = argv[argv.index("--url") + 1].replace(
        "qwen-kserve-workload-svc.ml-prod.svc:8000", f"localhost:{port}"
    )
    argv[argv.index("--termination-log") + 1] = str(tmp_path / "termination-log")
    assert argv[0] == "python3"
    return subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True, timeout=120)


def test_the_job_verifies_kserves_certificate(tmp_path: Path, https_server: tuple[int, Path]) -> None:
    port, certificate = https_server
    _render(tmp_path / "p")
    done = _run_job(tmp_path / "p", tmp_path / "ok", port, certificate)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "qwen 2 in prod: 2 of 2 smoke tests passed"


def test_the_job_refuses_a_server_another_certificate_vouches_for(
    tmp_path: Path, https_server: tuple[int, Path]
) -> None:
    port, _ = https_server
    other, _ = _certificate(tmp_path / "other", ["localhost"])
    _render(tmp_path / "p")
    done = _run_job(tmp_path / "p", tmp_path / "bad", port, other)
    assert done.returncode == 1
    failures = [line for line in done.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 2 and all("TLS: CERTIFICATE_VERIFY_FAILED" in line for line in failures), done.stdout


def test_mlgitops_test_takes_the_certificate(tmp_path: Path, https_server: tuple[int, Path]) -> None:
    port, certificate = https_server
    _render(tmp_path)
    url = f"https://localhost:{port}"
    result = run_cli(["test", "qwen", "--env", "prod", "--url", url, "--ca-file", str(certificate)], cwd=tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    # without it, the system's authorities do not vouch for a self-signed certificate
    result = run_cli(["test", "qwen", "--env", "prod", "--url", url], cwd=tmp_path)
    assert result.exit_code == 1 and "TLS: CERTIFICATE_VERIFY_FAILED" in result.stdout
    result = run_cli(
        ["test", "qwen", "--env", "prod", "--url", url, "--ca-file", str(tmp_path / "none.crt")], cwd=tmp_path
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"--ca-file {tmp_path / 'none.crt'}: No such file or directory"]
