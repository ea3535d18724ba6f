"""`mlgitops test`: a model's smoke tests run against a URL, from a laptop or CI."""

from __future__ import annotations

import argparse

from mlgitops.cli.command import Command, workspace


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("--env", required=True, metavar="ENV", help="the environment whose tests (and address) to use")
    parser.add_argument(
        "--url",
        help="where the model answers (default: its in-cluster address, http://<name>-predictor.<namespace>, "
        "reachable from a pod of the cluster; from outside, e.g. a `kubectl port-forward` or the ingress)",
    )
    parser.add_argument(
        "--ca-file",
        metavar="FILE",
        help="verify an https URL against this certificate only (e.g. the tls.crt of KServe's "
        "<name>-kserve-self-signed-certs Secret for an LLMInferenceService)",
    )
    parser.add_argument("--timeout", type=float, metavar="SECONDS", help="per request (default: tests.timeout)")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="keep trying while the model does not answer at all, for up to this long (default 0)",
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="an extra request header, e.g. the Host an ingress routes on (repeatable)",
    )


def _run(args: argparse.Namespace) -> int:
    from mlgitops.delivery.smoke import parse_headers, run_smoke_tests
    from mlgitops.util.errors import UsageError

    if args.timeout is not None and not 0 < args.timeout <= 3600:
        raise UsageError("--timeout takes 0 < SECONDS <= 3600")
    if not 0 <= args.wait <= 3600:
        raise UsageError("--wait takes 0 <= SECONDS <= 3600")
    headers = parse_headers(args.header)
    project = workspace(args, only_model=args.model)
    result = run_smoke_tests(
        project,
        args.model,
        args.env,
        url=args.url,
        timeout=args.timeout,
        wait=args.wait,
        headers=headers,
        ca_file=args.ca_file,
        report=lambda line: print(line, flush=True),
    )
    print(result.summary(), flush=True)
    return 0 if result.passed else 1


COMMAND = Command(
    name="test",
    summary="run a model's smoke tests (tests:) against a URL",
    description="Send each smoke test of the model's tests: block, as the environment's smoke Job would, to URL "
    "and judge the answers: one line per test (PASS or FAIL with the reason), then a summary. Every request "
    "is bounded by --timeout and every test by its retries. Reads only.",
    example="mlgitops test fraud-detector --env staging --url http://localhost:8080",
    exit_codes="0 every test passed; 1 a test failed or the specs are invalid; 2 usage error",
    arguments=_arguments,
    handler=_run,
)
