"""The local control plane: the real etcd, kube-apiserver and KServe controller manager (with its
admission webhooks) as processes on loopback, for the end-to-end tests and `mlgitops status`.

    python tools/controlplane.py up DIR     start everything, write DIR/kubeconfig, return
    python tools/controlplane.py down DIR   stop everything started in DIR

The programs come from `tools/build-controlplane` (real upstream code built from the Go module proxy
through the wrapper modules under tools/). The CRDs are upstream files read from the Go module cache
of the pinned versions (tools/crds.lock). No container engine or kubelet exists here: nothing runs a
model; what this proves and what it does not is in docs/controlplane.md.

Each process runs in its own session; DIR/pids lists them, DIR/logs/ holds their output. A start that
fails stops everything it started and names the component and its log.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import crdsource  # noqa: E402

START_TIMEOUT = float(os.environ.get("MLGITOPS_CONTROLPLANE_TIMEOUT", "120"))
KSERVE_NAMESPACE = "kserve"
ARGO_NAMESPACE = "argo"
ARGO_MODULE = "github.com/argoproj/argo-workflows/v4"
LOOPBACK_ENV = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


class ControlPlaneError(Exception):
    """A one-line reason the control plane could not be started or stopped."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


REQUIRED = ("etcd", "k8s", "kserve", "argo")  # components `up` starts (tools/build-controlplane names)


def bin_dir() -> Path:
    """Where tools/build-controlplane put the binaries `up` needs (`make controlplane` builds them)."""
    done = subprocess.run([str(HERE / "build-controlplane"), "--built", *REQUIRED], capture_output=True, text=True)
    if done.returncode != 0:
        raise ControlPlaneError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "build failed")
    return Path(done.stdout.strip().splitlines()[-1])


# --- PKI (openssl) ------------------------------------------------------------------------------


def openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise ControlPlaneError(f"openssl {args[0]} failed: {done.stderr.strip().splitlines()[-1:]}")


def make_pki(pki: Path) -> None:
    """A CA; serving certificates for the API server and the webhooks (127.0.0.1, localhost); an admin
    client certificate in system:masters; the service-account signing key pair."""
    pki.mkdir(parents=True)
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=mlgitops-local-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=pki,
    )
    ext = pki / "serving.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    (pki / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject, extfile in (
        ("apiserver", "/CN=kube-apiserver", "serving.ext"),
        ("webhook", "/CN=127.0.0.1", "serving.ext"),
        ("admin", "/O=system:masters/CN=admin", "client.ext"),
    ):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            subject,
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            cwd=pki,
        )
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            extfile,
            "-out",
            f"{name}.crt",
            cwd=pki,
        )
    openssl("genrsa", "-out", "sa.key", "2048", cwd=pki)
    openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def kubeconfig(server: str, pki: Path) -> dict[str, Any]:
    def b64(name: str) -> str:
        return base64.b64encode((pki / name).read_bytes()).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority-data": b64("ca.crt")}}],
        "users": [
            {
                "name": "admin",
                "user": {"client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key")},
            }
        ],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
        "current-context": "local",
    }


# --- processes ----------------------------------------------------------------------------------


@dataclass
class Plane:
    """What `up` started in DIR, written to DIR/pids as JSON."""

    directory: Path
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def pid_file(self) -> Path:
        return self.directory / "pids"

    def log(self, name: str) -> Path:
        return self.directory / "logs" / f"{name}.log"

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        self.log(name).parent.mkdir(parents=True, exist_ok=True)
        with self.log(name).open("ab") as out:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **LOOPBACK_ENV, **(env or {})},
                start_new_session=True,
            )
        self.pids[name] = process.pid
        self.pid_file.write_text(json.dumps(self.pids, indent=1) + "\n")
        return process

    def stop(self) -> None:
        for name, pid in reversed(list(self.pids.items())):
            stop_process(pid)
            del self.pids[name]
        self.pid_file.unlink(missing_ok=True)


def alive(pid: int) -> bool:
    """Whether PID runs (a zombie, whoever's child it is, has stopped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def stop_process(pid: int, grace: float = 10.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not alive(pid):
                return
            time.sleep(0.1)


def wait_until(plane: Plane, name: str, ready: Any, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ControlPlaneError(f"{name} exited with {process.returncode}; see {plane.log(name)}")
        try:
            if ready():
                return
        except (OSError, ssl.SSLError, ValueError):
            pass
        time.sleep(0.25)
    raise ControlPlaneError(f"{name} did not come up within {START_TIMEOUT:.0f} s; see {plane.log(name)}")


def https_ok(url: str, pki: Path) -> bool:
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    with urllib.request.urlopen(url, context=context, timeout=2) as answer:
        return bool(answer.status == 200)


def _default_account(server: str, pki: Path) -> bool:
    """Whether the controller manager has made the `default` namespace's ServiceAccount."""
    try:
        return https_ok(f"{server}/api/v1/namespaces/default/serviceaccounts/default", pki)
    except urllib.error.HTTPError:
        return False


def tls_answers(port: int, pki: Path) -> bool:
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1"),
    ):
        return True


# --- objects ------------------------------------------------------------------------------------


def load_all(text: str) -> list[Any]:
    """The documents of a YAML stream, with libyaml when PyYAML has it (the KServe and Argo CRDs are
    megabytes: the pure-Python parser takes a minute on them)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [doc for doc in yaml.load_all(text, Loader=loader) if doc]


def api(config_file: Path) -> Any:
    """A dynamic client of the official `kubernetes` package for DIR/kubeconfig."""
    from kubernetes import client, config, dynamic

    api_client = config.new_client_from_config(config_file=str(config_file))  # type: ignore[no-untyped-call]
    return dynamic.DynamicClient(api_client), client  # type: ignore[no-untyped-call]


def apply(dyn: Any, obj: dict[str, Any]) -> None:
    resource = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    namespace = obj["metadata"].get("namespace")
    resource.server_side_apply(
        body=obj,
        name=obj["metadata"]["name"],
        namespace=namespace,
        field_manager="mlgitops-controlplane",
        force_conflicts=True,
    )


def install_crds(config_file: Path) -> list[str]:
    """Server-side apply every pinned upstream CRD (and the ones KServe creates objects of), then
    wait until each is Established."""

    dyn, _ = api(config_file)
    names = []
    for path in crdsource.controlplane_crd_files():
        for crd in load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            crd.pop("status", None)
            apply(dyn, crd)
            names.append(crd["metadata"]["name"])
    crds = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    deadline = time.monotonic() + START_TIMEOUT
    for name in names:
        while True:
            conditions = crds.get(name=name).to_dict().get("status", {}).get("conditions", [])
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise ControlPlaneError(f"CRD {name} was not Established within {START_TIMEOUT:.0f} s")
            time.sleep(0.2)
    _wait_until_listable(dyn, crds, names, deadline)
    return names


def _wait_until_listable(dyn: Any, crds: Any, names: list[str], deadline: float) -> None:
    """Established is not enough: the API server answers 429 until a new kind's watch cache is ready."""
    from kubernetes.client.exceptions import ApiException

    for name in names:
        crd = crds.get(name=name).to_dict()
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        version = next(v["name"] for v in crd["spec"]["versions"] if v.get("storage"))
        while True:
            try:
                dyn.resources.get(api_version=f"{group}/{version}", kind=kind).get()
                break
            except ApiException as error:
                if error.status != 429 or time.monotonic() > deadline:
                    raise ControlPlaneError(f"CRD {name} does not list: {error.status} {error.reason}") from None
                time.sleep(0.2)


def kserve_config(deployment_mode: str) -> dict[str, Any]:
    """KServe's own `inferenceservice-config` ConfigMap of the pinned version, with the default
    deployment mode set."""

    source = crdsource.module_dir("github.com/kserve/kserve") / "config/configmap/inferenceservice.yaml"
    configmap = next(d for d in load_all(source.read_text()) if d and d.get("kind") == "ConfigMap")
    deploy = json.loads(configmap["data"]["deploy"])
    deploy["defaultDeploymentMode"] = deployment_mode
    configmap["data"]["deploy"] = json.dumps(deploy)
    configmap["metadata"]["namespace"] = KSERVE_NAMESPACE
    configmap["data"].pop("_example", None)
    return dict(configmap)


def kserve_runtimes() -> list[dict[str, Any]]:
    """KServe's stock ClusterServingRuntimes of the pinned release (config/runtimes, built with the real
    Kustomize as KServe's install does): without them the reconciler finds no runtime for a model."""
    kubectl = Path(sys.executable).parent / "kubectl"
    source = crdsource.module_dir("github.com/kserve/kserve") / "config/runtimes"
    done = subprocess.run([str(kubectl), "kustomize", str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        raise ControlPlaneError(f"kubectl kustomize {source}: {done.stderr.strip()[:300]}")
    return load_all(done.stdout)


def argo_install() -> list[dict[str, Any]]:
    """The stock Argo Workflows cluster install of the pinned release (its own kustomization, built with
    the real Kustomize): the controller's ServiceAccount, Role, ClusterRoles and bindings, and its
    ConfigMap with metrics off (the controller runs here as a process, not as the Deployment)."""
    kubectl = Path(sys.executable).parent / "kubectl"
    source = crdsource.module_dir(ARGO_MODULE) / "manifests/cluster-install-no-crds"
    done = subprocess.run([str(kubectl), "kustomize", str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        raise ControlPlaneError(f"kubectl kustomize {source}: {done.stderr.strip()[:300]}")
    objects = [o for o in load_all(done.stdout) if o["kind"] not in ("Deployment", "Service")]
    for obj in objects:
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "workflow-controller-configmap":
            obj["data"] = {
                **(obj.get("data") or {}),
                "metricsConfig": "enabled: false\n",
                "telemetryConfig": "enabled: false\n",
            }
    return objects


def impersonating(config: dict[str, Any], user: str, namespace: str) -> dict[str, Any]:
    """CONFIG (the admin kubeconfig) acting as USER: a controller then has exactly that user's rights."""
    copy = json.loads(json.dumps(config))
    copy["users"][0]["user"]["as"] = user
    copy["contexts"][0]["context"]["namespace"] = namespace
    return copy


def kserve_webhooks(port: int, ca: bytes) -> Iterator[dict[str, Any]]:
    """KServe's webhook configurations of the pinned version, pointed at the local manager by URL."""

    source = crdsource.module_dir("github.com/kserve/kserve") / "config/webhook/manifests.yaml"
    for doc in load_all(source.read_text()):
        if not doc:
            continue
        doc["metadata"].pop("creationTimestamp", None)
        for hook in doc["webhooks"]:
            path = hook["clientConfig"]["service"]["path"]
            hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}", "caBundle": base64.b64encode(ca).decode()}
            hook["timeoutSeconds"] = 10
        yield doc


# --- up and down --------------------------------------------------------------------------------


def up(directory: Path, deployment_mode: str = "Standard") -> None:
    plane = Plane(directory)
    if plane.pid_file.exists():
        running = {n: p for n, p in json.loads(plane.pid_file.read_text()).items() if alive(p)}
        if running:
            raise ControlPlaneError(f"already running in {directory} ({', '.join(running)}); run `down` first")
        plane.pid_file.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    bins = bin_dir()
    for program in ("etcd", "kube-apiserver", "kube-controller-manager", "kserve-manager", "workflow-controller"):
        if not (bins / program).exists():
            raise ControlPlaneError(f"{program} is missing from {bins}; run `make controlplane`")
    state = directory / "state"
    if state.exists():
        import shutil

        shutil.rmtree(state)
    pki = state / "pki"
    make_pki(pki)
    try:
        start_all(plane, bins, state, pki, deployment_mode)
    except BaseException:
        plane.stop()
        raise


def start_all(plane: Plane, bins: Path, state: Path, pki: Path, deployment_mode: str) -> None:
    client_port, peer_port, api_port, webhook_port = free_port(), free_port(), free_port(), free_port()
    etcd = plane.start(
        "etcd",
        [
            str(bins / "etcd"),
            "--name=default",
            f"--data-dir={state / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{client_port}",
            f"--advertise-client-urls=http://127.0.0.1:{client_port}",
            f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
            f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync=true",
            "--watch-progress-notify-interval=5s",
            "--max-request-bytes=8388608",
            "--quota-backend-bytes=2147483648",
            "--log-level=warn",
            f"--listen-metrics-urls=http://127.0.0.1:{free_port()}",
        ],
    )

    def etcd_healthy() -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{client_port}/health", timeout=2) as answer:
            return bool(json.load(answer).get("health") == "true")

    wait_until(plane, "etcd", etcd_healthy, etcd)

    server = f"https://127.0.0.1:{api_port}"
    apiserver = plane.start(
        "kube-apiserver",
        [
            str(bins / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{client_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={server}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount",
            f"--cert-dir={state / 'apiserver'}",
        ],
    )
    wait_until(plane, "kube-apiserver", lambda: https_ok(f"{server}/readyz", pki), apiserver)

    import yaml

    config_file = plane.directory / "kubeconfig"
    config_file.write_text(yaml.safe_dump(kubeconfig(server, pki), sort_keys=False))
    config_file.chmod(0o600)
    # kube-controller-manager: ServiceAccounts (every namespace's `default`), their tokens, Deployments
    # to ReplicaSets and Pods, garbage collection, namespace deletion.
    controllers = plane.start(
        "kube-controller-manager",
        [
            str(bins / "kube-controller-manager"),
            f"--kubeconfig={config_file}",
            f"--authentication-kubeconfig={config_file}",
            f"--authorization-kubeconfig={config_file}",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            "--leader-elect=false",
            f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--root-ca-file={pki / 'ca.crt'}",
            "--use-service-account-credentials=false",
            f"--cert-dir={state / 'controller-manager'}",
        ],
    )
    wait_until(plane, "kube-controller-manager", lambda: _default_account(server, pki), controllers)
    install_crds(config_file)

    dyn, _ = api(config_file)
    apply(dyn, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": KSERVE_NAMESPACE}})
    apply(dyn, kserve_config(deployment_mode))

    # KServe's manager serves its webhooks with the certificate controller-runtime finds under
    # $TMPDIR/k8s-webhook-server/serving-certs.
    tmp = state / "kserve-tmp"
    certs = tmp / "k8s-webhook-server" / "serving-certs"
    certs.mkdir(parents=True)
    (certs / "tls.crt").write_bytes((pki / "webhook.crt").read_bytes())
    (certs / "tls.key").write_bytes((pki / "webhook.key").read_bytes())
    kserve = plane.start(
        "kserve-manager",
        [
            str(bins / "kserve-manager"),
            "--metrics-addr=0",
            f"--health-probe-addr=127.0.0.1:{free_port()}",
            f"--webhook-port={webhook_port}",
        ],
        env={"KUBECONFIG": str(config_file), "POD_NAMESPACE": KSERVE_NAMESPACE, "TMPDIR": str(tmp)},
    )
    wait_until(plane, "kserve-manager", lambda: tls_answers(webhook_port, pki), kserve)
    for webhook in kserve_webhooks(webhook_port, (pki / "ca.crt").read_bytes()):
        apply(dyn, webhook)
    for runtime in kserve_runtimes():
        apply(dyn, runtime)

    # The Argo Workflows controller, with the rights of its stock ServiceAccount (impersonated), so that
    # what the upstream RBAC does not allow fails here as on a cluster.
    apply(dyn, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ARGO_NAMESPACE}})
    for obj in argo_install():
        apply(dyn, obj)
    argo_config = plane.directory / "argo.kubeconfig"
    admin = yaml.safe_load(config_file.read_text())
    argo_config.write_text(
        yaml.safe_dump(impersonating(admin, f"system:serviceaccount:{ARGO_NAMESPACE}:argo", ARGO_NAMESPACE))
    )
    argo_config.chmod(0o600)
    version = crdsource.module_version(ARGO_MODULE)
    argo = plane.start(
        "workflow-controller",
        [
            str(bins / "workflow-controller"),
            f"--kubeconfig={argo_config}",
            "--configmap=workflow-controller-configmap",
            f"--executor-image=quay.io/argoproj/argoexec:{version}",
            "--loglevel=info",
        ],
        env={"LEADER_ELECTION_DISABLE": "true", "ARGO_NAMESPACE": ARGO_NAMESPACE},
    )

    def argo_healthy() -> bool:
        with urllib.request.urlopen("http://127.0.0.1:6060/healthz", timeout=2) as answer:
            return bool(answer.status == 200)

    wait_until(plane, "workflow-controller", argo_healthy, argo)
    (plane.directory / "endpoints.json").write_text(
        json.dumps({"server": server, "etcd": f"http://127.0.0.1:{client_port}", "kserveWebhookPort": webhook_port})
        + "\n"
    )


def down(directory: Path) -> None:
    plane = Plane(directory)
    if not plane.pid_file.exists():
        return
    plane.pids = json.loads(plane.pid_file.read_text())
    plane.stop()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("up", "down"):
        print("usage: controlplane.py up|down DIR", file=sys.stderr)
        return 2
    directory = Path(argv[1]).resolve()
    try:
        if argv[0] == "up":
            started = time.monotonic()
            up(directory)
            print(f"control plane up in {time.monotonic() - started:.1f} s: KUBECONFIG={directory / 'kubeconfig'}")
        else:
            down(directory)
    except ControlPlaneError as error:
        print(f"controlplane: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
