"""The `tests:` block of a model and `tests:` of mlgitops.yaml: every mistake is one `file:line:col` line and a
non-zero exit with nothing written, a `bodyFile` is confined to the project and bounded, and the block is
patched per environment like every other."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import run_cli, snapshot_tree
from projects import model_yaml, project_yaml, write_project

SERVING = "serving: {}\n"


def make(root: Path, body: str, *, extra: str = "") -> Path:
    write_project(root, project_yaml(extra=extra), {"iris": model_yaml("iris", body=body)})
    (root / "smoke").mkdir(exist_ok=True)
    (root / "smoke" / "iris.json").write_text('{"instances": [[1, 2, 3, 4]]}\n')
    return root


def _replace(root: Path, make_new: object) -> None:
    """The body file replaced by what `make_new(path)` puts there."""
    path = root / "smoke" / "iris.json"
    path.unlink()
    assert callable(make_new)
    make_new(path)


def _git_config(root: Path, path: Path) -> None:
    """A `.git/config` with a token in its remote URL, and PATH a symlink to it (inside the project)."""
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text('{"url": "https://ci:token@git.example.com/acme.git"}\n')
    path.symlink_to("../.git/config")


def refused(root: Path) -> list[str]:
    """Render: refused with exit 1, nothing written; the problem lines."""
    before = snapshot_tree(root)
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert snapshot_tree(root) == before
    return result.stderr.splitlines()


@pytest.mark.parametrize(
    ("tests", "where", "message"),
    [
        ("- {name: a, bogus: 1}\n", "7:13", "unknown key 'bogus' in tests[0]"),
        ("- {name: 'a b'}\n", "7:10", "is not a test name"),
        ("- {name: a}\n- {name: a}\n", "8:10", "duplicate test name 'a'"),
        ("- {name: a, request: {path: 'v1/x'}}\n", "7:29", "is not a request path"),
        ("- {name: a, request: {path: '/a b'}}\n", "7:29", "is not a request path"),
        ("- {name: a, request: {body: {x: 1}, bodyFile: smoke/iris.json}}\n", "7:22", "either body or bodyFile"),
        ("- {name: a, request: {headers: {Authorization: Bearer x}}}\n", "7:33", "carries a credential"),
        ("- {name: a, request: {headers: {Content-Length: '3'}}}\n", "7:33", "set by the HTTP client"),
        ("- {name: a, request: {headers: {X-A: 3}}}\n", "7:38", "quote it"),
        ("- {name: a, request: {bodyFile: ../x.json}}\n", "7:33", "is not a file of the project"),
        ("- {name: a, request: {bodyFile: /etc/passwd}}\n", "7:33", "is not a file of the project"),
        ("- {name: a, request: {bodyFile: .git/config}}\n", "7:33", "hidden files and directories"),
        ("- {name: a, expect: {status: 42}}\n", "7:30", "greater than or equal to 100"),
        ("- {name: a, expect: {json: [{path: x, equals: 1}]}}\n", "7:36", "is not a JSON Pointer"),
        ("- {name: a, expect: {json: [{path: /x}]}}\n", "7:29", "exactly one of equals, oneOf, or min"),
        ("- {name: a, expect: {json: [{path: /x, equals: 1, min: 0}]}}\n", "7:29", "exactly one of"),
        ("- {name: a, expect: {json: [{path: /x, min: 2, max: 1}]}}\n", "7:29", "min (2) is greater than max (1)"),
        ("- {name: a, retries: 11}\n", "7:22", "less than or equal to 10"),
    ],
)
def test_a_bad_test_is_one_line_at_its_place(tmp_path: Path, tests: str, where: str, message: str) -> None:
    lines = refused(make(tmp_path, SERVING + "tests:\n" + tests))
    assert lines[0].startswith(f"models/iris.yaml:{where}: "), lines
    assert message in lines[0]


def test_tests_need_a_served_model_speaking_http(tmp_path: Path) -> None:
    lines = refused(make(tmp_path, "tests:\n- {name: a}\n"))
    assert lines == ["models/iris.yaml:5:1: tests need a served model: add a serving block"]
    lines = refused(make(tmp_path, "serving: {protocol: grpc-v2}\ntests:\n- {name: a}\n"))
    assert lines == ["models/iris.yaml:6:1: tests send HTTP requests; protocol grpc-v2 serves gRPC only (use v1 or v2)"]


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (lambda root: (root / "smoke" / "iris.json").unlink(), "smoke/iris.json: file not found"),
        (lambda root: (root / "smoke" / "iris.json").write_text("{not json"), "smoke/iris.json is not JSON"),
        (lambda root: (root / "smoke" / "iris.json").write_bytes(b'{"a": "\xff"}'), "not UTF-8 text"),
        (
            lambda root: (root / "smoke" / "iris.json").write_text(" " * (256 * 1024 + 1)),
            "exceeds the limit of 262144 bytes (MAX_SMOKE_BODY_BYTES)",
        ),
        (
            lambda root: ((root / "smoke" / "iris.json").unlink(), (root / "smoke" / "iris.json").mkdir()),
            "not a regular file",
        ),
        (
            lambda root: _replace(root, os.mkfifo),
            "not a regular file",
        ),
        (
            lambda root: (
                (root / "smoke" / "iris.json").unlink(),
                (root / "smoke" / "iris.json").symlink_to("/etc/hostname"),
            ),
            "bodyFile resolves outside the project (to /etc/hostname)",
        ),
        (
            lambda root: _replace(root, lambda path: _git_config(root, path)),
            "smoke/iris.json leads to .git/config: hidden files and directories (.git, .env, ...) are not read",
        ),
    ],
    ids=["missing", "not-json", "not-utf8", "too-large", "directory", "fifo", "symlink-out", "symlink-to-git"],
)
def test_a_body_file_is_read_confined_and_bounded(tmp_path: Path, prepare: object, message: str) -> None:
    root = make(tmp_path, SERVING + "tests:\n- {name: a, request: {bodyFile: smoke/iris.json}}\n")
    assert callable(prepare)
    prepare(root)
    lines = refused(root)
    assert len(lines) == 1, lines  # reported once, not once per environment
    assert lines[0].startswith("models/iris.yaml:7:33: ") and message in lines[0], lines


def test_a_body_file_of_another_content_type_is_sent_unchecked(tmp_path: Path) -> None:
    root = make(
        tmp_path,
        SERVING + "tests:\n- {name: a, request: {bodyFile: smoke/x.csv, headers: {Content-Type: text/csv}}}\n",
    )
    (root / "smoke" / "x.csv").write_text("1,2,3,4\n")
    assert run_cli(["render"], cwd=root).exit_code == 0
    document = json.loads(_tests_json(root, "dev"))
    assert document["tests"][0]["body"] == "1,2,3,4\n"
    assert document["tests"][0]["headers"] == {"Content-Type": "text/csv"}


def test_the_bodies_together_are_bounded(tmp_path: Path) -> None:
    big = {"instances": [[0.5] * 1000] * 30}  # ~120 KB of JSON: twice, more than the limit together
    (tmp_path / "smoke").mkdir()
    (tmp_path / "smoke" / "big.json").write_text(json.dumps(big))
    tests = (
        "tests:\n- {name: a, request: {bodyFile: smoke/big.json}}\n- {name: b, request: {bodyFile: smoke/big.json}}\n"
    )
    tests += "- {name: c, request: {bodyFile: smoke/big.json}}\n"
    write_project(tmp_path, project_yaml(), {"iris": model_yaml("iris", body=SERVING + tests)})
    lines = refused(tmp_path)
    assert lines[0].startswith("models/iris.yaml:6:1: the tests' bodies take ")
    assert "at most 262144 (MAX_SMOKE_BODY_BYTES)" in lines[0]


def test_the_project_settings_are_checked(tmp_path: Path) -> None:
    root = make(tmp_path, SERVING + "tests:\n- {name: a}\n", extra="tests: {image: 'Not An Image', timeout: 5x}\n")
    lines = refused(root)
    assert any(line.startswith("mlgitops.yaml:8:16: ") and "not a container image reference" in line for line in lines)
    assert any(line.startswith("mlgitops.yaml:8:41: ") and "is not a duration" in line for line in lines)


def _tests_json(root: Path, env: str) -> str:
    import yaml

    for doc in yaml.safe_load_all((root / "overlays" / env / "iris" / "resources.yaml").read_text()):
        if doc and doc["kind"] == "ConfigMap":
            text: str = doc["data"]["tests.json"]
            return text
    raise AssertionError("no smoke ConfigMap")


def test_tests_are_patched_per_environment(tmp_path: Path) -> None:
    body = (
        SERVING
        + "tests:\n- {name: a, expect: {latencyMs: 100}}\n"
        + "environments:\n  prod:\n    tests: [{name: b, request: {bodyFile: smoke/iris.json}}]\n"
        + "  dev: {serving: {protocol: v2}}\n"
    )
    root = make(tmp_path, body)
    assert run_cli(["render"], cwd=root).exit_code == 0
    dev, prod = json.loads(_tests_json(root, "dev")), json.loads(_tests_json(root, "prod"))
    assert [(t["name"], t["method"], t["path"], t.get("latencyMs")) for t in dev["tests"]] == [
        ("a", "GET", "/v2/models/iris/ready", 100)
    ]
    assert [(t["name"], t["method"], t["path"]) for t in prod["tests"]] == [("b", "POST", "/v1/models/iris:predict")]
    assert prod["tests"][0]["body"] == '{"instances": [[1, 2, 3, 4]]}\n'
    assert (dev["environment"], prod["environment"]) == ("dev", "prod")
    assert not list((root / "base" / "models" / "iris").glob("job-*")), "the base has no smoke objects"


def test_an_environment_patch_is_blamed_for_its_own_mistake(tmp_path: Path) -> None:
    body = (
        SERVING
        + "tests:\n- {name: a}\nenvironments:\n  prod:\n    tests: [{name: b, request: {bodyFile: smoke/no.json}}]\n"
    )
    lines = refused(make(tmp_path, body))
    assert lines == ["models/iris.yaml:10:43: smoke/no.json: file not found (in environment 'prod')"]


def test_project_defaults_may_set_tests(tmp_path: Path) -> None:
    extra = ""
    project = project_yaml(extra=extra).replace(
        "- {name: prod, namespace: ml-prod}", "- {name: prod, namespace: ml-prod, defaults: {tests: []}}"
    )
    write_project(tmp_path, project, {"iris": model_yaml("iris", body=SERVING + "tests:\n- {name: a}\n")})
    assert run_cli(["render"], cwd=tmp_path).exit_code == 0
    assert _tests_json(tmp_path, "dev")
    assert "kind: Job" not in (tmp_path / "overlays" / "prod" / "iris" / "kustomization.yaml").read_text()
    assert not (tmp_path / "overlays" / "prod" / "iris" / "resources.yaml").exists()
