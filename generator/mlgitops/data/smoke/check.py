"""The mlgitops smoke checker: a model's `tests:` sent to a running model server, each answer judged.

One file, Python's standard library only (3.8 or later), so that any Python image runs it. mlgitops
renders it into each smoke-test ConfigMap next to `tests.json` and the Job runs

    python3 -I -B /smoke/check.py --tests /smoke/tests.json --url http://<service>.<namespace>

(with `--ca-file FILE` for a server whose TLS certificate only FILE vouches for, as KServe's self-signed
certificate of an LLMInferenceService's workload).

`mlgitops test` imports it and runs the same checks from a laptop or CI. It prints one line per test and
exits 0 when every test passes, 1 when one fails and 2 when its input is unusable; with
`--termination-log`, the failed tests' lines go there too, so that the Job's pod status names them
(`mlgitops promote --require-tests` reads them).

Every wait is bounded: one attempt by the request timeout (the attempt runs in a helper thread whose
socket is shut down when the time is up, so neither a slow DNS answer nor a server trickling bytes
keeps it longer), the attempts of a test by its retries, and the whole run by the readiness wait plus
the tests' attempts. While the readiness wait lasts, an answer that says "not there yet" (no
connection, a timeout, or HTTP 502, 503 or 504) is tried again without using up a retry: the Job may
start before the model is ready.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

FORMAT = 1
MAX_RESPONSE_BYTES = 8 << 20
MAX_REASON_CHARS = 300
# What the pod status keeps of a termination message (Kubernetes truncates it to 4096 bytes).
MAX_TERMINATION_BYTES = 4096
UNAVAILABLE_STATUSES = (502, 503, 504)
POLL_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 8.0


class DocumentError(Exception):
    """`tests.json` (or a flag) is unusable: exit 2."""


class Response:
    """What one attempt got back: an HTTP answer, or why there was none (`error`)."""

    def __init__(self, status: int = 0, body: bytes = b"", elapsed_ms: int = 0, error: str = "") -> None:
        self.status = status
        self.body = body
        self.elapsed_ms = elapsed_ms
        self.error = error

    @property
    def unavailable(self) -> bool:
        """No model answered yet: no connection, no answer in time, or a gateway's "try later"."""
        return bool(self.error) or self.status in UNAVAILABLE_STATUSES


class Outcome:
    """One test's result: `reason` is empty when it passed."""

    def __init__(self, name: str, reason: str, attempts: int, response: Response) -> None:
        self.name = name
        self.reason = reason
        self.attempts = attempts
        self.response = response

    @property
    def passed(self) -> bool:
        return not self.reason

    def line(self) -> str:
        if self.passed:
            return f"PASS {self.name}: {self.response.status} in {self.response.elapsed_ms} ms"
        tries = f" ({self.attempts} attempts)" if self.attempts > 1 else ""
        return f"FAIL {self.name}: {self.reason}{tries}"


# --- the document --------------------------------------------------------------------------------


def load_document(text: str) -> dict[str, Any]:
    """The parsed `tests.json`, its shape checked (DocumentError names what is wrong)."""
    try:
        doc = json.loads(text)
    except ValueError as error:
        raise DocumentError(f"tests.json is not JSON: {error}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DocumentError(f"tests.json is not an mlgitops smoke-test document of format {FORMAT}")
    tests = doc.get("tests")
    if not isinstance(tests, list) or not tests:
        raise DocumentError("tests.json lists no tests")
    for index, test in enumerate(tests):
        if not isinstance(test, dict) or not isinstance(test.get("name"), str):
            raise DocumentError(f"tests.json: test {index} has no name")
        for key, kind in (("method", str), ("path", str), ("status", int), ("retries", int), ("headers", dict)):
            if not isinstance(test.get(key), kind):
                raise DocumentError(f"tests.json: test {test['name']!r} has no valid {key!r}")
        if not isinstance(test.get("json", []), list):
            raise DocumentError(f"tests.json: test {test['name']!r} has no valid 'json'")
    return doc


# --- judging an answer ---------------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: 1 equals 1.0, but true is not 1 and "1" is not 1."""
    if _number(a) and _number(b):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(a[i], b[i]) for i in range(len(a)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[key], b[key]) for key in a)
    return type(a) is type(b) and bool(a == b)


_MISSING = object()


def pointer_value(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 JSON Pointer, or `_MISSING`."""
    if pointer == "":
        return document
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and token.isascii() and (token == "0" or token[0] != "0"):
            index = int(token)
            if index >= len(node):
                return _MISSING
            node = node[index]
        else:
            return _MISSING
    return node


def check_value(expectation: dict[str, Any], value: Any) -> str:
    """Why `value` does not meet one `expect.json` entry, or ""."""
    where = expectation.get("path", "")
    label = where or "the response"
    if value is _MISSING:
        return f"{label}: no such value in the response"
    if "equals" in expectation and not json_equal(value, expectation["equals"]):
        return f"{label} is {_shown(value)}, expected {_shown(expectation['equals'])}"
    if "oneOf" in expectation and not any(json_equal(value, option) for option in expectation["oneOf"]):
        return f"{label} is {_shown(value)}, expected one of {_shown(expectation['oneOf'])}"
    for bound, word in (("min", "at least"), ("max", "at most")):
        if bound not in expectation:
            continue
        if not _number(value):
            return f"{label} is {_shown(value)}, expected a number {word} {_shown(expectation[bound])}"
        limit = expectation[bound]
        if (bound == "min" and value < limit) or (bound == "max" and value > limit):
            return f"{label} is {_shown(value)}, expected {word} {_shown(limit)}"
    return ""


def judge(test: dict[str, Any], response: Response) -> str:
    """Why the response fails the test, or "" when it passes."""
    if response.error:
        return response.error
    if response.status != test["status"]:
        text = response.body[:200].decode("utf-8", "replace")
        detail = f": {' '.join(text.split())}" if text.strip() else ""
        return f"status {response.status}, expected {test['status']}{detail}"
    latency = test.get("latencyMs")
    if latency is not None and response.elapsed_ms > latency:
        return f"took {response.elapsed_ms} ms, expected at most {latency} ms"
    checks = test.get("json") or []
    if checks:
        try:
            document = json.loads(response.body.decode("utf-8"))
        except ValueError:
            return f"the response is not JSON: {_shown(response.body[:60].decode('utf-8', 'replace'))}"
        for expectation in checks:
            reason = check_value(expectation, pointer_value(document, expectation.get("path", "")))
            if reason:
                return reason
    return ""


# --- sending a request ---------------------------------------------------------------------------


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Verification against the system's authorities, or against `ca_file` only (a self-signed server
    certificate is its own authority)."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        raise DocumentError(f"--ca-file {ca_file}: {getattr(error, 'strerror', None) or error}") from None


def _connection(url: str, timeout: float, ca_file: str | None = None) -> tuple[http.client.HTTPConnection, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DocumentError(f"{url!r} is not an http(s) URL")
    try:
        port = parts.port
    except ValueError:
        raise DocumentError(f"{url!r} has no valid port") from None
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, port, timeout=timeout, context=tls_context(ca_file)
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    return connection, parts.path.rstrip("/")


def _network_reason(error: BaseException) -> str:
    if isinstance(error, socket.gaierror):
        return "cannot resolve the host name"
    if isinstance(error, ConnectionRefusedError):
        return "cannot connect: connection refused"
    if isinstance(error, (ConnectionResetError, http.client.RemoteDisconnected)):
        return "the connection was closed without an answer"
    if isinstance(error, ssl.SSLError):
        return f"TLS: {error.reason or error}"
    text = str(error) or type(error).__name__
    return f"cannot connect: {text}"[:MAX_REASON_CHARS]


def send(
    url: str,
    test: dict[str, Any],
    headers: dict[str, str],
    timeout: float,
    ca_file: str | None = None,
) -> Response:
    """One attempt of `test` against `url`, over within `timeout` seconds whatever the server does.

    `ca_file` is read at each attempt: KServe issues a new certificate when the model's pods change."""
    connection, prefix = _connection(url, timeout, ca_file)
    body = test.get("body")
    payload = body.encode("utf-8") if isinstance(body, str) else None
    sent_headers = {"Accept": "application/json"}
    if payload is not None:
        sent_headers["Content-Type"] = "application/json"
    sent_headers.update(test["headers"])
    sent_headers.update(headers)
    result: list[Response] = []
    started = time.monotonic()

    def attempt() -> None:
        try:
            connection.request(test["method"], prefix + test["path"], body=payload, headers=sent_headers)
            answer = connection.getresponse()
            data = answer.read(MAX_RESPONSE_BYTES + 1)
            elapsed = int((time.monotonic() - started) * 1000)
            if len(data) > MAX_RESPONSE_BYTES:
                result.append(Response(answer.status, b"", elapsed, f"the answer exceeds {MAX_RESPONSE_BYTES} bytes"))
            else:
                result.append(Response(answer.status, data, elapsed))
        except (OSError, http.client.HTTPException, ValueError) as error:
            if isinstance(error, socket.timeout):
                result.append(Response(error=f"no answer within {timeout:g} s"))
            else:
                result.append(Response(error=_network_reason(error)))

    worker = threading.Thread(target=attempt, name="mlgitops-smoke", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():  # a trickling server or a hanging DNS lookup: give up and unblock the thread
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        connection.close()
        worker.join(1.0)
        return Response(error=f"no answer within {timeout:g} s")
    return result[0] if result else Response(error="no answer")


# --- running the tests ---------------------------------------------------------------------------


def run(
    doc: dict[str, Any],
    url: str,
    *,
    timeout: float,
    wait: float,
    headers: dict[str, str] | None = None,
    ca_file: str | None = None,
    report: Callable[[Outcome], object] | None = None,
    now: Callable[[], float] = time.monotonic,
    pause: Callable[[float], object] = time.sleep,
) -> list[Outcome]:
    """Run every test of `doc` against `url` in order; `report(outcome)` is called as each one ends."""
    wait_until = now() + max(wait, 0.0)
    outcomes: list[Outcome] = []
    for test in doc["tests"]:
        attempts = 0
        retries = max(int(test["retries"]), 0)
        backoff = 1.0
        while True:
            attempts += 1
            response = send(url, test, headers or {}, timeout, ca_file)
            reason = judge(test, response)
            if not reason:
                break
            left = wait_until - now()
            if response.unavailable and left > 0:
                pause(min(POLL_SECONDS, left))
                attempts -= 1  # waiting for the model is not an attempt of the test
                continue
            if retries <= 0:
                break
            retries -= 1
            pause(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        outcome = Outcome(test["name"], reason[:MAX_REASON_CHARS], max(attempts, 1), response)
        outcomes.append(outcome)
        if report is not None:
            report(outcome)
    return outcomes


def termination_message(outcomes: list[Outcome]) -> str:
    """The failed tests' lines, within what a pod's termination message keeps."""
    lines = [outcome.line() for outcome in outcomes if not outcome.passed]
    text = ""
    for line in lines:
        candidate = f"{text}{line}\n"
        if len(candidate.encode("utf-8")) > MAX_TERMINATION_BYTES - 20:
            return text + "FAIL ...\n"
        text = candidate
    return text


def _print_line(outcome: Outcome) -> None:
    print(outcome.line(), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check.py", description="Run mlgitops smoke tests against a model.")
    parser.add_argument("--tests", required=True, metavar="FILE", help="the tests.json mlgitops rendered")
    parser.add_argument("--url", required=True, help="the model's address, e.g. http://iris-predictor.ml-dev")
    parser.add_argument("--timeout", type=float, help="seconds per request (default: the document's)")
    parser.add_argument("--wait", type=float, help="seconds to wait for the model to answer (default: the document's)")
    parser.add_argument("--termination-log", metavar="FILE", help="where to write the failed tests' lines")
    parser.add_argument("--ca-file", metavar="FILE", help="verify an https server against this certificate only")
    args = parser.parse_args(argv)
    try:
        with open(args.tests, encoding="utf-8") as handle:
            doc = load_document(handle.read())
        timeout = args.timeout if args.timeout is not None else float(doc.get("timeoutSeconds", 30))
        wait = args.wait if args.wait is not None else float(doc.get("waitSeconds", 0))
        outcomes = run(doc, args.url, timeout=timeout, wait=wait, ca_file=args.ca_file, report=_print_line)
    except (OSError, DocumentError) as error:
        print(f"ERROR {error}", file=sys.stderr)
        return 2
    failed = [outcome for outcome in outcomes if not outcome.passed]
    where = f"{doc.get('model', '?')} {doc.get('version', '?')}"
    if doc.get("environment"):
        where += f" in {doc['environment']}"
    print(f"{where}: {len(outcomes) - len(failed)} of {len(outcomes)} smoke tests passed", flush=True)
    if args.termination_log and failed:
        try:
            with open(args.termination_log, "w", encoding="utf-8") as handle:
                handle.write(termination_message(outcomes))
        except OSError:
            pass
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
