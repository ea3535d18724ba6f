"""Smoke tests: a model's `tests:` block, `tests:` of mlgitops.yaml, and the files the tests send.

Each test is one HTTP request to the model's in-cluster address and what the answer must be. They are
rendered per environment as a Job (render/smoke.py) and run from a laptop or CI by `mlgitops test`
(delivery/smoke.py); docs/smoke-tests.md describes both. A `bodyFile` is read here, once, confined to
the project and bounded like every input, so that a missing or oversized file is a spec error at its
line rather than a failing Job.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, model_validator

from mlgitops.language.fields import Duration, ImageRef, Strict, Text
from mlgitops.util.confine import escape_problem
from mlgitops.util.errors import Location, Problem
from mlgitops.util.limits import MAX_SMOKE_BODY_BYTES, MAX_SMOKE_TESTS
from mlgitops.util.yamlio import JsonPath

# A Python image runs the checker (data/smoke/check.py needs Python 3.8 or later, standard library only).
DEFAULT_SMOKE_IMAGE = "python:3.12-alpine"

_TEST_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_REQUEST_PATH = re.compile(r"^/[!-~]*$")  # printable ASCII, no spaces
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")  # RFC 9110 token
_HEADER_VALUE = re.compile(r"^[ -~]{0,1000}$")  # printable ASCII: no line breaks, no control characters
# Set by the HTTP client itself; a second value would make the request ambiguous.
_CLIENT_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "te", "upgrade"})
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})


def _test_name(value: str) -> str:
    if not _TEST_NAME.match(value):
        raise ValueError(
            f"{value[:80]!r} is not a test name (a letter or digit, then letters, digits, '.', '_' or '-'; at most 63)"
        )
    return value


def _request_path(value: str) -> str:
    if len(value) > 2000 or not _REQUEST_PATH.match(value):
        raise ValueError(
            f"{value[:80]!r} is not a request path: it starts with '/' and holds printable ASCII without spaces "
            "(at most 2000 characters; percent-encode the rest)"
        )
    return value


def _header_name(value: str) -> str:
    if not _HEADER_NAME.match(value):
        raise ValueError(f"{value[:80]!r} is not an HTTP header name (RFC 9110 token characters)")
    lower = value.lower()
    if lower in _CLIENT_HEADERS:
        raise ValueError(f"header {value!r} is set by the HTTP client; leave it out")
    if lower in _CREDENTIAL_HEADERS:
        raise ValueError(
            f"header {value!r} carries a credential, which would be written into Git and the rendered ConfigMap; "
            "the in-cluster address needs none"
        )
    return value


def _header_value(value: str) -> str:
    if not _HEADER_VALUE.match(value):
        raise ValueError("a header value is printable ASCII on one line, at most 1000 characters")
    return value


def _body_file(value: str) -> str:
    parts = value.split("/")
    if (
        not value
        or len(value) > 500
        or value.startswith("/")
        or "\\" in value
        or "\0" in value
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise ValueError(
            f"{value[:80]!r} is not a file of the project: a relative path with '/' separators and no '.' or '..' "
            "parts (for example smoke/iris.json)"
        )
    if any(part.startswith(".") for part in parts):
        raise ValueError(f"{value[:80]!r}: {_HIDDEN}")
    return value


# `.git/config` may hold a CI token in a remote URL; no dot-file is a request body.
_HIDDEN = "hidden files and directories (.git, .env, ...) are not read as a request body"


def _json_pointer(value: str) -> str:
    if value and not value.startswith("/"):
        raise ValueError(f"{value[:80]!r} is not a JSON Pointer (RFC 6901): it must be empty or start with '/'")
    if re.search(r"~[^01]|~$", value):
        raise ValueError(f"{value[:80]!r} is not a JSON Pointer (RFC 6901): '~' must be followed by 0 or 1")
    return value


def json_data_problem(value: Any, depth: int = 0) -> str | None:
    """Why `value` (read from YAML) is not JSON data, or None."""
    if depth > 64:
        return "is nested too deeply"
    if value is None or isinstance(value, (bool, int, str)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "holds a number JSON cannot represent (inf or nan)"
    if isinstance(value, list):
        return next((p for item in value if (p := json_data_problem(item, depth + 1))), None)
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return "has a key that is not text (quote it)"
        return next((p for item in value.values() if (p := json_data_problem(item, depth + 1))), None)
    return f"holds a {type(value).__name__}, which is not JSON data"


def _json_data(value: Any) -> Any:
    problem = json_data_problem(value)
    if problem:
        raise ValueError(f"the value {problem}")
    return value


TestName = Annotated[str, AfterValidator(_test_name)]
RequestPath = Annotated[str, AfterValidator(_request_path)]
HeaderName = Annotated[str, AfterValidator(_header_name)]
HeaderValue = Annotated[Text, AfterValidator(_header_value)]
ProjectFile = Annotated[str, AfterValidator(_body_file)]
JsonPointer = Annotated[str, AfterValidator(_json_pointer)]
JsonData = Annotated[Any, AfterValidator(_json_data)]


class JsonExpectation(Strict):
    """One value of the JSON answer and what it must be: `equals`, `oneOf`, or a range (`min`, `max`)."""

    path: JsonPointer = Field(
        description="JSON Pointer (RFC 6901) to the value in the answer, '' for the whole answer (for example "
        "/predictions/0 or /outputs/0/data/0)"
    )
    equals: JsonData = Field(default=None, description="the value it must equal (for example 1, or 'fraud')")
    oneOf: list[JsonData] | None = Field(
        default=None, min_length=1, description="values it must equal one of (for example [0, 1])"
    )
    min: int | float | None = Field(default=None, description="the smallest number it may be (for example 0.5)")
    max: int | float | None = Field(default=None, description="the largest number it may be (for example 1)")

    @model_validator(mode="after")
    def _one_kind(self) -> JsonExpectation:
        kinds = [kind for kind in ("equals", "oneOf") if getattr(self, kind) is not None]
        if self.min is not None or self.max is not None:
            kinds.append("min/max")
        if len(kinds) != 1:
            raise ValueError("give exactly one of equals, oneOf, or min and/or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class SmokeRequest(Strict):
    """The request of a smoke test. Without a body it is a GET, with one a POST (JSON by default)."""

    path: RequestPath | None = Field(
        default=None,
        description="path on the model's address (for example /v1/models/iris:predict); default from the "
        "protocol: v1 /v1/models/<name>:predict (GET without a body: /v1/models/<name>), v2 "
        "/v2/models/<name>/infer (GET: /v2/models/<name>/ready)",
    )
    body: JsonData = Field(
        default=None,
        description="the JSON body, written as YAML (for example {instances: [[6.8, 2.8, 4.8, 1.4]]})",
    )
    bodyFile: ProjectFile | None = Field(
        default=None,
        description="a file of the project sent as the body, instead of body (for example smoke/iris.json); "
        "UTF-8, checked to be JSON unless a Content-Type header says otherwise",
    )
    headers: dict[HeaderName, HeaderValue] = Field(
        default_factory=dict,
        description="request headers (for example {Content-Type: application/json}); no credentials",
    )

    @model_validator(mode="after")
    def _one_body(self) -> SmokeRequest:
        if self.body is not None and self.bodyFile is not None:
            raise ValueError("give either body or bodyFile, not both")
        return self

    @property
    def has_body(self) -> bool:
        return self.body is not None or self.bodyFile is not None


class SmokeExpect(Strict):
    """What the answer must be."""

    status: int = Field(default=200, ge=100, le=599, description="the HTTP status; default 200")
    json_: list[JsonExpectation] = Field(
        default_factory=list,
        alias="json",
        description="values of the JSON answer (for example [{path: /predictions/0, equals: 1}])",
    )
    latencyMs: int | None = Field(
        default=None,
        ge=1,
        le=600_000,
        description="the most milliseconds the whole answer may take (for example 500)",
    )


class SmokeTest(Strict):
    """One request to the deployed model and what its answer must be."""

    name: TestName = Field(description="the test's name, unique in the model (for example predict-iris)")
    request: SmokeRequest = Field(
        default_factory=lambda: SmokeRequest(),
        description="the request (for example {body: {instances: [[1, 2, 3, 4]]}})",
    )
    expect: SmokeExpect = Field(
        default_factory=lambda: SmokeExpect(),
        description="the answer (for example {status: 200, json: [{path: /predictions/0, oneOf: [0, 1]}]})",
    )
    retries: int = Field(
        default=2, ge=0, le=10, description="attempts after a failed one, 1, 2, 4 and then 8 s apart; default 2"
    )


SmokeTests = Annotated[list[SmokeTest], Field(max_length=MAX_SMOKE_TESTS)]


class SmokeSettings(Strict):
    """`tests:` in mlgitops.yaml: how every model's smoke-test Job runs (docs/smoke-tests.md)."""

    image: ImageRef = Field(
        default=DEFAULT_SMOKE_IMAGE,
        description=f"a Python 3.8+ image that runs the checker; pin it by digest in your registry (for example "
        f"registry.acme.io/python:3.12-alpine@sha256:...); default {DEFAULT_SMOKE_IMAGE}",
    )
    timeout: Duration = Field(default="30s", description="the most one request may take; default 30s")
    wait: Duration = Field(
        default="10m",
        description="how long the Job waits for the model to answer at all (it may start before the model is "
        "ready); keep it below Flux's timeout; default 10m",
    )
    ttl: Duration | None = Field(
        default="24h",
        description="ttlSecondsAfterFinished of the Job: Kubernetes deletes it this long after it finished, and "
        "Argo CD or Flux then create it again (a new run); null keeps it; default 24h",
    )


# --- checks a schema cannot express --------------------------------------------------------------

Locate = Callable[[JsonPath, bool], Location]


# --- body files ----------------------------------------------------------------------------------


def _declares_other_type(headers: dict[str, str]) -> bool:
    """A Content-Type header other than JSON: the file is sent as it is, unchecked."""
    for name, value in headers.items():
        if name.lower() == "content-type":
            return "json" not in value.lower()
    return False


def read_project_file(root: Path, relative: str) -> str:
    """A UTF-8 text file of the project, confined and bounded (ValueError says why it cannot be read)."""
    escape = escape_problem(root, relative, "bodyFile")
    if escape is not None:
        raise ValueError(escape.message)
    target = (root / relative).resolve().relative_to(root.resolve())
    if any(part.startswith(".") for part in target.parts):
        raise ValueError(f"{relative} leads to {target.as_posix()}: {_HIDDEN}")
    try:
        fd = os.open(root / relative, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise ValueError(f"{relative}: {'file not found' if error.errno == errno.ENOENT else error.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{relative}: not a regular file")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_SMOKE_BODY_BYTES and (chunk := os.read(fd, 1 << 16)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise ValueError(f"{relative}: cannot read: {error.strerror}") from None
    finally:
        os.close(fd)
    if size > MAX_SMOKE_BODY_BYTES:
        raise ValueError(f"{relative} exceeds the limit of {MAX_SMOKE_BODY_BYTES} bytes (MAX_SMOKE_BODY_BYTES)")
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{relative}: not UTF-8 text ({error.reason})") from None


def smoke_bodies(
    root: Path, tests: list[SmokeTest], locate: Locate, read: dict[str, str]
) -> tuple[dict[str, str], list[Problem]]:
    """(bodyFile → its text, problems) for the tests; `read` caches what was read (shared by environments)."""
    bodies: dict[str, str] = {}
    problems: list[Problem] = []
    total = 0
    for index, test in enumerate(tests):
        request = test.request
        where = ("tests", index, "request", "bodyFile")
        if request.bodyFile is None:
            if request.body is not None:
                total += len(json.dumps(request.body, ensure_ascii=True))
            continue
        text = read.get(request.bodyFile)
        if text is None:
            try:
                text = read_project_file(root, request.bodyFile)
            except ValueError as error:
                problems.append(Problem(locate(where, False), str(error)))
                continue
            if not _declares_other_type(request.headers):
                try:
                    json.loads(text)
                except ValueError as error:
                    message = f"{request.bodyFile} is not JSON ({error}); send JSON, or set a Content-Type header"
                    problems.append(Problem(locate(where, False), message))
                    continue
            read[request.bodyFile] = text
        bodies[request.bodyFile] = text
        total += len(text.encode("utf-8"))
    if total > MAX_SMOKE_BODY_BYTES and not problems:
        problems.append(
            Problem(
                locate(("tests",), True),
                f"the tests' bodies take {total} bytes; they go into one ConfigMap, so at most "
                f"{MAX_SMOKE_BODY_BYTES} (MAX_SMOKE_BODY_BYTES)",
            )
        )
    return bodies, problems
