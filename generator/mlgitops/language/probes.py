"""Container ports and probes (`serving.ports`, `serving.probes`, `serving.transformer.probes`): the
Kubernetes objects, with the rules the API server applies to them (k8s.io/kubernetes
pkg/apis/core/validation/validation.go `validateContainerPorts`, `validateProbe`,
`validateReadinessProbe`, `validateLivenessProbe`, `validateStartupProbe`, `validateHandler`,
`validateHTTPGetAction`, `ValidatePortNumOrName`; the value rules are in kubevalues.py).

Left out on purpose: a probe's `host` (Pod Security `baseline` refuses it since Kubernetes 1.34,
check_hostProbesAndHostLifecycle.go) and a port's `hostPort`/`hostIP` (refused by `baseline` too).
Rules that depend on the engine and mode (Knative's single port, the ports mlgitops declares itself)
are in servingfit.py.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from mlgitops.language import kubevalues as kv
from mlgitops.language.fields import Int32, Int64, Strict, Text, checked_by

PortNumber = Annotated[int, AfterValidator(checked_by(kv.port_number))]
PortName = Annotated[str, AfterValidator(checked_by(kv.port_name))]
HeaderName = Annotated[str, AfterValidator(checked_by(kv.http_header_name))]


class ContainerPort(Strict):
    """One port the model server listens on (a container `ports` entry)."""

    name: PortName | None = Field(
        default=None,
        description="port name, an IANA service name a probe or the PodMonitor can select (for example http)",
    )
    containerPort: PortNumber = Field(description="port number the server listens on (for example 8085)")
    protocol: Literal["TCP", "UDP", "SCTP"] = Field(default="TCP", description="TCP, UDP or SCTP; default TCP")


def _distinct_ports(ports: list[ContainerPort]) -> list[ContainerPort]:
    names: set[str] = set()
    numbers: set[tuple[int, str]] = set()
    for port in ports:
        if port.name is not None:
            if port.name in names:
                raise ValueError(f"two ports are named {port.name!r}")
            names.add(port.name)
        if (port.containerPort, port.protocol) in numbers:
            raise ValueError(f"port {port.containerPort}/{port.protocol} is listed twice")
        numbers.add((port.containerPort, port.protocol))
    return ports


Ports = Annotated[list[ContainerPort], AfterValidator(_distinct_ports)]
PortRef = Annotated[int, AfterValidator(checked_by(kv.port_number))] | PortName


class HttpHeader(Strict):
    name: HeaderName = Field(description="header name (for example X-Probe)")
    value: Text = Field(description="header value (for example kubelet)")


class HttpGet(Strict):
    """An HTTP GET the kubelet sends; a 2xx or 3xx answer passes."""

    path: Text | None = Field(default=None, min_length=1, description="request path; default / (for example /ready)")
    port: PortRef = Field(description="port number or a declared port's name (for example 8080 or http)")
    scheme: Literal["HTTP", "HTTPS"] | None = Field(default=None, description="HTTP or HTTPS; default HTTP")
    httpHeaders: list[HttpHeader] = Field(
        default_factory=list, description="extra request headers (for example [{name: X-Probe, value: kubelet}])"
    )


class TcpSocket(Strict):
    """A TCP connection the kubelet opens; an accepted connection passes."""

    port: PortRef = Field(description="port number or a declared port's name (for example 8080)")


class Grpc(Strict):
    """A gRPC health check (grpc.health.v1) the kubelet sends."""

    port: PortNumber = Field(description="port number of the gRPC server (for example 8081)")
    service: Text | None = Field(default=None, description="service name in the health request (for example ready)")


class Exec(Strict):
    """A command run inside the container; exit status 0 passes."""

    command: list[Text] = Field(min_length=1, description="the command (for example [cat, /tmp/ready])")


_HANDLERS = ("httpGet", "tcpSocket", "grpc", "exec")


class Probe(Strict):
    """A Kubernetes probe: exactly one of httpGet, tcpSocket, grpc or exec, and its timing."""

    httpGet: HttpGet | None = Field(default=None, description="an HTTP GET (for example {path: /ready, port: 8080})")
    tcpSocket: TcpSocket | None = Field(default=None, description="a TCP connection (for example {port: 8080})")
    grpc: Grpc | None = Field(default=None, description="a gRPC health check (for example {port: 8081})")
    exec: Exec | None = Field(default=None, description="a command (for example {command: [cat, /tmp/ready]})")
    initialDelaySeconds: Int32 | None = Field(
        default=None, ge=0, description="seconds after start before the first probe; default 0 (for example 5)"
    )
    periodSeconds: Int32 | None = Field(default=None, ge=1, description="seconds between probes; default 10")
    timeoutSeconds: Int32 | None = Field(default=None, ge=1, description="seconds a probe may take; default 1")
    successThreshold: Int32 | None = Field(
        default=None, ge=1, description="passes in a row that count as success; default 1 (1 for liveness and startup)"
    )
    failureThreshold: Int32 | None = Field(default=None, ge=1, description="failures in a row that count; default 3")
    terminationGracePeriodSeconds: Int64 | None = Field(
        default=None,
        ge=1,
        description="seconds a failed liveness or startup probe leaves the container to stop (for example 30)",
    )

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        handlers = [name for name in _HANDLERS if getattr(self, name) is not None]
        if len(handlers) != 1:
            found = f"found {' and '.join(handlers)}" if handlers else "found none"
            raise ValueError(f"a probe needs exactly one of httpGet, tcpSocket, grpc, exec ({found})")
        return self

    def named_port(self) -> tuple[str, str] | None:
        """(handler, port name) when the probe names its port instead of giving its number."""
        for handler in (self.httpGet, self.tcpSocket):
            if handler is not None and isinstance(handler.port, str):
                return ("httpGet" if isinstance(handler, HttpGet) else "tcpSocket"), handler.port
        return None


class Probes(Strict):
    """The container's probes, rendered as readinessProbe, livenessProbe and startupProbe."""

    readiness: Probe | None = Field(
        default=None,
        description="when the container receives traffic (for example {httpGet: {path: /ready, port: 8080}})",
    )
    liveness: Probe | None = Field(
        default=None, description="when the kubelet restarts the container (for example {tcpSocket: {port: 8080}})"
    )
    startup: Probe | None = Field(
        default=None,
        description="holds the other probes back until it passes, for slow model loads (for example {httpGet: "
        "{path: /ready, port: 8080}, failureThreshold: 60})",
    )

    @model_validator(mode="after")
    def _kinds(self) -> Probes:
        if self.readiness is not None and self.readiness.terminationGracePeriodSeconds is not None:
            raise ValueError("readiness.terminationGracePeriodSeconds: Kubernetes refuses it on a readiness probe")
        for kind in ("liveness", "startup"):
            probe: Probe | None = getattr(self, kind)
            if probe is not None and probe.successThreshold not in (None, 1):
                raise ValueError(f"{kind}.successThreshold must be 1 (Kubernetes refuses another value)")
        return self

    def items(self) -> list[tuple[str, Probe]]:
        """(spec key, probe) for each probe set, in rendering order."""
        return [(kind, probe) for kind in ("readiness", "liveness", "startup") if (probe := getattr(self, kind))]


# The container field each spec key renders.
PROBE_FIELDS = {"readiness": "readinessProbe", "liveness": "livenessProbe", "startup": "startupProbe"}
