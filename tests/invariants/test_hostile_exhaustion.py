"""Hostile input, round 2 (issue 20): patches that grow without end, odd list indexes, a registry that
trickles its headers, huge files at the diff base, and `promote` interrupted or fed odd YAML.

The spec cases run the real CLI in a subprocess under 512 MiB of address space and 10 s of CPU
(tests/limits.py): a regression is a killed process, not a hung suite. Every refusal is one positioned,
printable line on stderr, and leaves every file as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from limits import assert_refused, run_limited
from mlgitops.language.model import Patch, PatchOp
from mlgitops.render.patches import PatchError, PatchLedger, apply_op, apply_patches, json_measure
from mlgitops.util.errors import Location, SpecError
from mlgitops.util.limits import MAX_OBJECT_BYTES, MAX_OBJECT_DEPTH, MAX_PATCH_WORK_BYTES, MAX_REVISION_FILE_BYTES
from tests.conftest import copy_example, run_cli, snapshot_tree

FRAUD = "models/fraud-detector.yaml"


def _with_patch_ops(tmp_path: Path, ops: list[str]) -> tuple[Path, int]:
    """The example with one patch of `ops` on fraud-detector's InferenceService; the line of the first op.

    Without the example's Jsonnet templates: their child processes do not start under the test's 512 MiB.
    """
    repo = copy_example(tmp_path / "repo")
    shutil.rmtree(repo / "templates")
    path = repo / FRAUD
    text = path.read_text(encoding="utf-8")
    first_op_line = text.count("\n") + 4
    text += "patches:\n- target: {kind: InferenceService}\n  ops:\n" + "".join(f"  - {op}\n" for op in ops)
    path.write_text(text, encoding="utf-8")
    return repo, first_op_line


def _refused_render(repo: Path, *fragments: str) -> str:
    before = snapshot_tree(repo)
    result = run_limited(["render"], repo)
    (line,) = assert_refused(result, *fragments)
    assert result.stdout == ""
    assert snapshot_tree(repo) == before, "the command changed files"
    return line


# --- 1. patches that grow an object without end ------------------------------------------------------


@pytest.mark.parametrize("count", [16, 40])
def test_a_copy_bomb_is_refused_at_the_op_that_passes_the_object_limit(tmp_path: Path, count: int) -> None:
    """Each `copy /spec` into `/spec` doubles the object: 40 of them were 2**40 times the spec."""
    ops = [f"{{op: copy, from: /spec, path: /spec/c{i}}}" for i in range(count)]
    repo, first = _with_patch_ops(tmp_path, ops)
    line = _refused_render(repo, f"{MAX_OBJECT_BYTES} bytes as JSON (MAX_OBJECT_BYTES")
    # the spec's InferenceService is about 500 bytes: the 12th doubling passes 1.5 MiB, no later op runs
    (failed,) = [i for i in range(count) if line.startswith(f"{FRAUD}:{first + i}:5: op copy /spec/c{i} ")]
    assert 8 <= failed <= 14, line


def test_copying_and_removing_a_large_value_again_and_again_is_bounded(tmp_path: Path) -> None:
    """The object never passes the size limit, but the work of copying it does."""
    grow = [f"{{op: copy, from: /spec, path: /spec/c{i}}}" for i in range(9)]  # each doubles /spec: a few 100 KB
    churn = ["{op: copy, from: /spec, path: /spec/x}", "{op: remove, path: /spec/x}"] * 40
    repo, first = _with_patch_ops(tmp_path, grow + churn)
    line = _refused_render(repo, f"more than {MAX_PATCH_WORK_BYTES} bytes of objects and values (MAX_PATCH_WORK_BYTES)")
    op_line = int(line.split(":")[1])
    assert first + len(grow) < op_line < first + len(grow + churn) - 20, line


def test_values_stacked_inside_each_other_are_refused_past_the_depth_limit(tmp_path: Path) -> None:
    """Each op adds a value 25 levels deep at the bottom of the previous one (a RecursionError before)."""
    value = "{a: " * 25 + "{}" + "}" * 25
    ops, path = [], "/spec"
    for _ in range(8):
        ops.append(f"{{op: add, path: '{path}/z', value: {value}}}")
        path += "/z" + "/a" * 25
    repo, first = _with_patch_ops(tmp_path, ops)
    line = _refused_render(repo, f"more than the limit of {MAX_OBJECT_DEPTH} (MAX_OBJECT_DEPTH)")
    assert line.startswith(f"{FRAUD}:{first + 2}:5: op add /spec/z/a/"), line


def _op(**fields: Any) -> PatchOp:
    return PatchOp.model_validate(fields)


def test_the_size_tracked_op_by_op_is_the_size_of_the_result() -> None:
    doc: dict[str, Any] = {"spec": {"list": [1, "two", None], "a": {"b": 1.5, "é": True}}}
    ledger = PatchLedger.of(doc)
    ops = [
        _op(op="add", path="/spec/list/-", value={"k": [False]}),
        _op(op="add", path="/spec/list/0", value="zero"),
        _op(op="add", path="/spec/a/b", value=[1, 2, 3]),  # add over an existing key replaces it
        _op(op="remove", path="/spec/list/1"),
        _op(op="replace", path="/spec/a/é", value={"deep": {"er": "x" * 100}}),
        _op(op="copy", **{"from": "/spec/a", "path": "/spec/copied"}),
        _op(op="move", **{"from": "/spec/list", "path": "/spec/a/moved"}),
    ]
    for op in ops:
        apply_op(doc, op, ledger)
        assert ledger.size == json_measure(doc, MAX_OBJECT_BYTES)[0], op
    compact = len(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode())
    assert compact <= ledger.size <= compact + 20  # one separator more per map or list (13 of them)


def test_the_measure_stops_past_its_limit() -> None:
    wide = {f"k{i}": "v" * 1000 for i in range(10_000)}  # about 10 MB
    size, _ = json_measure([wide] * 100, 50_000)  # a billion bytes shared by reference
    assert 50_000 < size < 50_000 + 10 * 1_012 * 10_000 + 100


def test_a_failed_patch_is_undone_before_the_next_one_runs() -> None:
    objects = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": []}}]
    service = {"kind": "Service"}
    patches = [
        Patch.model_validate(
            {
                "target": service,
                "ops": [
                    {"op": "add", "path": "/spec/x", "value": 1},
                    {"op": "add", "path": "/spec/ports/-", "value": 80},
                    {"op": "test", "path": "/spec/x", "value": 2},  # fails: both adds are undone
                ],
            }
        ),
        Patch.model_validate({"target": service, "ops": [{"op": "test", "path": "/spec/ports", "value": []}]}),
        Patch.model_validate({"target": service, "ops": [{"op": "remove", "path": "/spec/x"}]}),
    ]
    with pytest.raises(SpecError) as info:
        apply_patches(objects, patches, lambda path: Location("m.yaml", len(path), 1))
    messages = sorted(p.message for p in info.value.problems)
    assert messages == [  # the second patch found the ports empty again, the third no /spec/x
        "op remove /spec/x on Service: /spec/x does not exist",
        "op test /spec/x on Service: test failed: /spec/x is 1, not 2",
    ]
    assert objects[0]["spec"] == {"ports": []}  # the input is left as it was


# --- 2. list indexes are ASCII digits (RFC 6901) -----------------------------------------------------


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("²", "'²' is not an index"),  # str.isdigit, but int() fails: a traceback before
        ("١", "'١' is not an index"),  # ARABIC-INDIC DIGIT ONE: silently index 1 before
        ("１", "'１' is not an index"),  # FULLWIDTH DIGIT ONE
        ("01", "'01' is not an index"),
        ("+1", "'+1' is not an index"),
        (" 1", "' 1' is not an index"),
        ("1_0", "'1_0' is not an index"),
        ("-", "'-' is not an index"),  # only add appends with '-'
        ("9" * 5000, "out of range for a list of 2"),  # more digits than int() converts
        ("2", "index '2' is out of range for a list of 2"),
    ],
)
def test_a_list_index_is_ascii_digits_without_a_leading_zero(token: str, message: str) -> None:
    doc = {"spec": {"list": ["a", "b"]}}
    with pytest.raises(PatchError, match=message[:40].replace("+", r"\+")):
        apply_op(doc, _op(op="replace", path=f"/spec/list/{token}", value="x"))
    with pytest.raises(PatchError):
        apply_op(doc, _op(op="test", path=f"/spec/list/{token}", value="b"))
    assert doc == {"spec": {"list": ["a", "b"]}}


def test_ascii_indexes_and_append_still_apply() -> None:
    doc: dict[str, Any] = {"spec": {"list": ["a", "b"]}}
    apply_op(doc, _op(op="replace", path="/spec/list/1", value="B"))
    apply_op(doc, _op(op="add", path="/spec/list/2", value="c"))  # the end of the list is allowed for add
    apply_op(doc, _op(op="add", path="/spec/list/-", value="d"))
    apply_op(doc, _op(op="test", path="/spec/list/0", value="a"))
    assert doc["spec"]["list"] == ["a", "B", "c", "d"]


@pytest.mark.parametrize("token", ["²", "١"])
def test_a_non_ascii_index_in_a_model_is_one_positioned_line(tmp_path: Path, token: str) -> None:
    ops = [
        "{op: add, path: /spec/predictor/tolerations, value: [{key: a, operator: Exists}, {key: b, operator: Exists}]}",
        f"{{op: replace, path: /spec/predictor/tolerations/{token}, value: {{key: c, operator: Exists}}}}",
    ]
    repo, first = _with_patch_ops(tmp_path, ops)
    line = _refused_render(repo, f"{token!r} is not an index into a list of 2 (RFC 6901: ASCII digits")
    assert line.startswith(f"{FRAUD}:{first + 1}:5: op replace"), line


# --- 4. a huge file at the diff base ----------------------------------------------------------------

GIT = ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]

# Prints the largest resident size (KiB) of the command and the git it runs: ru_maxrss of waited-for
# descendants (this wrapper waits only for them).
PEAK_RSS = """
import resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=300)
sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.stderr.write(proc.stderr)
sys.exit(proc.returncode)
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, timeout=300)


def test_diff_refuses_a_huge_file_at_the_base_by_its_header(tmp_path: Path) -> None:
    """The base revision's archive is read as a stream: a 160 MiB file (the issue had 300 MB, read twice
    into memory) is refused by its tar header, and the command never holds it."""
    repo = copy_example(tmp_path / "repo")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "core.bigFileThreshold", "1m")  # git itself streams the blob (not the subject here)
    (repo / "data").mkdir()
    size = 160 << 20
    with open(repo / "data" / "table.bin", "wb") as out:
        out.truncate(size)  # zeros: small in Git, 160 MiB in an archive
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "example with data")
    before = snapshot_tree(repo)
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "mlgitops", "diff", "--base", "HEAD"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        f"HEAD: data/table.bin: {size} bytes, over the limit of "
        f"{MAX_REVISION_FILE_BYTES} bytes for one file of a revision (MAX_REVISION_FILE_BYTES); move it out "
        "of the project directory or mark it `export-ignore` in .gitattributes"
    ]
    peak = int(proc.stdout.strip().splitlines()[-1]) * 1024
    assert peak < size, f"the command's resident size reached {peak >> 20} MiB"
    assert snapshot_tree(repo) == before


def test_export_ignore_keeps_a_data_file_out_of_the_diff(tmp_path: Path) -> None:
    """The way out the message names: with `export-ignore`, git archive leaves the file out."""
    repo = copy_example(tmp_path / "repo")
    _git(repo, "init", "-q", "-b", "main")
    (repo / "data").mkdir()
    with open(repo / "data" / "table.bin", "wb") as out:
        out.truncate(MAX_REVISION_FILE_BYTES + 1)
    (repo / ".gitattributes").write_text("data/** export-ignore\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "example with ignored data")
    proc = subprocess.run(
        [sys.executable, "-m", "mlgitops", "diff", "--base", "HEAD"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr


# --- 5. promote: line breaks ruamel counts, the scaffolded model, signals -----------------------------

NINE = ["--version", "9", "--storage-uri", "s3://ml-models/fraud-detector/9/model"]


@pytest.mark.parametrize("brk", ["\r", "\x85", "\u2028", "\u2029"], ids=["cr", "nel", "ls", "ps"])
@pytest.mark.parametrize("where", ["top-comment", "comment-before-the-pin"])
def test_odd_line_breaks_inside_a_comment_keep_edits_on_their_lines(tmp_path: Path, brk: str, where: str) -> None:
    """A lone CR ends a line for the YAML reader (NEL, LS and PS do not): the editor counts lines the
    same way (an IndexError, or an edit on the wrong line, before)."""
    repo = copy_example(tmp_path / "repo")
    path = repo / FRAUD
    text = path.read_text(encoding="utf-8")
    if where == "top-comment":
        text = text.replace("# A scikit-learn model", f"# A scikit-learn{brk}# model", 1)
    else:
        text = text.replace("  prod:\n", f"  # prod pins{brk}# an older version\n  prod:\n", 1)
    path.write_bytes(text.encode("utf-8"))
    result = run_cli(["promote", "fraud-detector", "--to", "prod", *NINE, "--force", "--reason", "r"], cwd=repo)
    assert result.exit_code == 0, result.stderr
    after = path.read_bytes().decode("utf-8")
    expected = text.replace(
        'model: {version: "6", storageUri: s3://ml-models/fraud-detector/6/model, registry: models:/fraud-detector/6}',
        'model: {version: "9", storageUri: s3://ml-models/fraud-detector/9/model, registry: null}',
    )
    assert after == expected  # the comment's line break and every other byte kept
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0


def test_a_lone_cr_near_the_end_is_not_an_index_error(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    path = repo / FRAUD
    text = path.read_text(encoding="utf-8")
    comments = "\r".join(f"# {letter}" for letter in "abcdefghijklmnop")  # 16 lines for YAML, 1 for a split on LF
    text = text.replace("  prod:\n", f"  {comments}\n  prod:\n")
    path.write_bytes(text.encode("utf-8"))
    result = run_cli(["promote", "fraud-detector", "--to", "prod", *NINE, "--force", "--reason", "r"], cwd=repo)
    assert "Traceback" not in result.stderr and "IndexError" not in result.stderr
    assert result.exit_code == 0, result.stderr
    assert 'prod:\n    model: {version: "9"' in path.read_bytes().decode("utf-8")


def test_set_default_on_the_model_init_scaffolds(tmp_path: Path) -> None:
    """The scaffolded model has no `environments.<first>` entry: nothing there to remove."""
    created = run_cli(["init", str(tmp_path / "demo")])
    assert created.exit_code == 0, created.stderr
    repo = tmp_path / "demo"
    (name,) = [p.stem for p in (repo / "models").glob("*.yaml")]
    first = run_cli(
        ["promote", name, "--to", "staging", "--version", "2", "--storage-uri", "s3://m/2/model", "--set-default"],
        cwd=repo,
    )
    assert first.exit_code == 2 and "only for the first environment" in first.stderr
    result = run_cli(
        [
            "promote",
            name,
            "--to",
            "dev",
            "--version",
            "2",
            "--storage-uri",
            f"s3://my-models/{name}/2/model",
            "--set-default",
        ],
        cwd=repo,
    )
    assert result.exit_code == 0, result.stderr
    for env, version in (("dev", "2"), ("staging", "1"), ("prod", "1")):
        built = run_cli(["build", "--env", env, "--model", name], cwd=repo)
        assert built.exit_code == 0, built.stderr
        labels = [doc["metadata"].get("labels") or {} for doc in yaml.safe_load_all(built.stdout) if doc]
        assert {label.get("app.kubernetes.io/version") for label in labels} - {None} == {version}, env
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0


# Runs `mlgitops ARGS` with one pause at POINT of the render: it prints PAUSED and waits there until a
# signal arrives (the hook lives in the test, not in mlgitops). Each pause happens once, so the undo
# render after the signal runs through. SIGINT gets Python's handler, as in a terminal: a test run started in the
# background (nohup, `&` in a script) starts its children with SIGINT ignored, which promote leaves ignored.
PAUSING = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)
import mlgitops.gitops.rendercache.render as cached
import mlgitops.layout.tree as tree

point, args = sys.argv[1], sys.argv[2:]
paused = []

def pause():
    if not paused:
        paused.append(1)
        sys.stdout.write("PAUSED\\n")
        sys.stdout.flush()
        while True:
            time.sleep(0.05)

real_journal, real_write = tree._write_journal, cached.write

def journal(*a):
    if point == "before-commit":
        pause()
    real_journal(*a)
    if point == "after-commit":
        pause()

def write(*a, **k):
    status = real_write(*a, **k)
    if point == "after-swap":
        pause()
    return status

tree._write_journal, cached.write = journal, write
from mlgitops.__main__ import main
sys.exit(main(args))
"""


@pytest.mark.parametrize("point", ["before-commit", "after-commit", "after-swap"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_promote_interrupted_during_its_render_changes_nothing(tmp_path: Path, point: str, signum: int) -> None:
    repo = copy_example(tmp_path / "repo")
    assert run_cli(["render"], cwd=repo).exit_code == 0
    before = snapshot_tree(repo)
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSING, point, "promote", "fraud-detector", "--to", "dev", *NINE],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "PAUSED\n"
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in stderr, stderr
    if signum == signal.SIGTERM:
        assert proc.returncode == -signal.SIGTERM, stderr  # it still ends as SIGTERM ends a process
    else:
        assert (proc.returncode, stderr) == (130, "interrupted\n")
    assert snapshot_tree(repo) == before, "the promotion was left half made"
    assert not list(repo.glob(".mlgitops-staging-*")) and not (repo / ".mlgitops-journal.json").exists()
    again = run_cli(["promote", "fraud-detector", "--to", "dev", *NINE], cwd=repo)  # and it can be done again
    assert again.exit_code == 0, again.stderr
    assert run_cli(["render", "--check"], cwd=repo).exit_code == 0
