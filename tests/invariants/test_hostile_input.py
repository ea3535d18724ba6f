"""Hostile and broken spec content: nothing hangs, nothing exhausts, every refusal is one line.

Each case edits a copy of the bundled example, runs the real CLI in a subprocess under 512 MiB of
address space and 10 s of CPU (tests/limits.py), and checks the exit code, exactly one positioned,
printable line per problem on stderr, no traceback, and every file left byte for byte as it was.
The worst cases also go through `mlgitops cmp generate` as argocd-cmp-server runs it
(tests/cmp_harness.py), with the same limits on the plugin process.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from cmp_harness import AppRequest, Parameter, generate, load_plugin
from limits import POSITIONED, assert_refused, run_limited, set_limits
from mlgitops.util.errors import Location, Problem, SpecError
from mlgitops.util.limits import (
    MAX_COLLECTION_ITEMS,
    MAX_ENVIRONMENTS,
    MAX_EXPANDED_CHARS,
    MAX_INTEGER_DIGITS,
    MAX_MESSAGE_CHARS,
    MAX_NESTING_DEPTH,
    MAX_PROBLEMS,
    MAX_SPEC_BYTES,
    MAX_STEPS,
    MAX_TEMPLATE_ENTRIES,
    MAX_YAML_NODES,
)
from tests.conftest import REPO, copy_example, snapshot_tree

FRAUD = "models/fraud-detector.yaml"
PROJECT = "mlgitops.yaml"

# The alias bomb: nine references per level, eight levels: 9**9 = 387,420,489 scalars.
ALIAS_BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
)


def replace(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, f"fixture text not found: {old!r}"
        return text.replace(old, new, 1)

    return edit


def append(extra: str) -> Callable[[str], str]:
    return lambda text: text + extra


def indented(block: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in block.splitlines())


def reversed_chain(count: int) -> Callable[[str], str]:
    """`count` chained steps (each consumes its predecessor's artifact), listed last first."""

    def edit(text: str) -> str:
        start, end = text.index("  steps:\n"), text.index("  gates:\n")
        steps = []
        for i in reversed(range(count)):
            after = f", after: [s{i - 1}], inputs: [a{i - 1}]" if i else ""
            steps.append(f"  - {{name: s{i}{after}, command: [python, -m, fraud.s{i}], outputs: [a{i}]}}\n")
        steps.append(
            f"  - {{name: evaluate, after: [s{count - 1}], command: [python, -m, fraud.evaluate], "
            f"inputs: [a{count - 1}], metrics: [auc, p95_latency_ms]}}\n"
        )
        return text[:start] + "  steps:\n" + "".join(steps) + text[end:]

    return edit


@dataclass
class Case:
    name: str
    path: str
    edit: Callable[[str], str]
    where: str  # the expected `file:line:col` (or `file:line:`) of the problem
    message: str  # a fragment of it
    command: tuple[str, ...] = ("render",)


EXHAUSTION = [
    Case(
        "alias-bomb-in-a-model",
        FRAUD,
        replace(
            "  labels: {domain: payments}\n", "  labels: {domain: payments}\n  annotations:\n" + indented(ALIAS_BOMB, 4)
        ),
        FRAUD + ":",
        f"more than {MAX_YAML_NODES} YAML nodes after expanding aliases (MAX_YAML_NODES)",
    ),
    Case(
        "alias-bomb-in-the-project-file",
        PROJECT,
        append("x-bomb:\n" + indented(ALIAS_BOMB, 2)),
        PROJECT + ":",
        "(MAX_YAML_NODES)",
        ("validate",),
    ),
    Case(
        "alias-bomb-in-cmp-build",
        FRAUD,
        append("bomb:\n" + indented(ALIAS_BOMB, 2)),
        FRAUD + ":",
        "(MAX_YAML_NODES)",
        ("build", "--env", "prod"),
    ),
    Case(
        "long-string-repeated-by-aliases",
        FRAUD,
        append("text: &t " + "y" * 200_000 + "\nrepeat: [" + ", ".join(["*t"] * 30) + "]\n"),
        FRAUD + ":",
        f"more than {MAX_EXPANDED_CHARS} characters of text after expanding aliases (MAX_EXPANDED_CHARS)",
    ),
    Case(
        "flow-nesting-500-deep",
        FRAUD,
        append("extra: " + "[" * 500 + "]" * 500 + "\n"),
        FRAUD + ":",
        f"nested deeper than {MAX_NESTING_DEPTH} levels (MAX_NESTING_DEPTH)",
    ),
    Case(
        "flow-nesting-beyond-the-parser",
        FRAUD,
        append("extra: " + "{a: " * 1500 + "1" + "}" * 1500 + "\n"),
        FRAUD + ":",
        "invalid YAML",
    ),
    Case(
        "deep-environment-patch",
        FRAUD,
        replace(
            "    serving: {replicas: {min: 3, max: 10}}",
            "    serving:\n" + "".join("  " * (3 + i) + f"k{i}:\n" for i in range(40)) + "  " * 43 + "v: 1",
        ),
        FRAUD + ":",
        "(MAX_NESTING_DEPTH)",
    ),
    Case(
        "file-too-large",
        FRAUD,
        append(("# " + "z" * 1000 + "\n") * (MAX_SPEC_BYTES // 1000)),
        FRAUD + ":1:1",
        f"exceeds the limit of {MAX_SPEC_BYTES} bytes (MAX_SPEC_BYTES)",
    ),
    Case(
        "project-file-too-large",
        PROJECT,
        append(("# " + "z" * 1000 + "\n") * (MAX_SPEC_BYTES // 1000)),
        PROJECT + ":1:1",
        "(MAX_SPEC_BYTES)",
    ),
    Case(
        "1200-steps-in-reverse-order",
        FRAUD,
        reversed_chain(1200),
        FRAUD + ":30:3",
        f"a sequence of 1201 entries exceeds the limit of {MAX_COLLECTION_ITEMS} (MAX_COLLECTION_ITEMS)",
    ),
    Case(
        "more-steps-than-the-step-limit",
        FRAUD,
        reversed_chain(MAX_STEPS + 100),
        FRAUD + ":30:3",
        f"{MAX_STEPS + 101} training steps exceed the limit of {MAX_STEPS} (MAX_STEPS)",
    ),
    Case(
        "steps-times-workflow-parameters",
        FRAUD,
        lambda text: reversed_chain(MAX_STEPS - 1)(text).replace(
            '  parameters: {data-uri: "s3://ml-data/fraud/2026-08/"}',
            "  parameters: {" + ", ".join(f"p{i}: v{i}" for i in range(999)) + "}",
        ),
        FRAUD + ":28:3",
        f"the {MAX_STEPS} training steps repeat {MAX_STEPS * 999} environment variables and GPU placement entries "
        f"(every step gets every workflow parameter); the limit is {MAX_TEMPLATE_ENTRIES} (MAX_TEMPLATE_ENTRIES)",
    ),
    Case(
        "too-many-environments",
        PROJECT,
        replace(
            "- name: prod\n",
            "".join(f"- {{name: e{i}, namespace: ml-e{i}}}\n" for i in range(MAX_ENVIRONMENTS)) + "- name: prod\n",
        ),
        PROJECT + ":9:1",
        f"{MAX_ENVIRONMENTS + 3} environments exceed the limit of {MAX_ENVIRONMENTS} (MAX_ENVIRONMENTS)",
    ),
    Case(
        "mapping-with-too-many-keys",
        FRAUD,
        replace("  labels: {domain: payments}", "  labels: {" + ", ".join(f"k{i}: v" for i in range(1500)) + "}"),
        FRAUD + ":8:11",
        "a mapping of 1500 entries exceeds the limit of 1000 (MAX_COLLECTION_ITEMS)",
    ),
]

TRACEBACKS = [
    Case("cpu-1e400", FRAUD, replace('limits: {cpu: "2"', "limits: {cpu: 1e400"), FRAUD + ":22:64", "out of range"),
    Case(
        "version-inf",
        FRAUD,
        replace('  version: "7"', "  version: .inf"),
        FRAUD + ":11:12",
        'model.version is written as the number .inf, which YAML reads as Infinity: quote it (".inf")',
    ),
    Case(
        "gate-value-nan",
        FRAUD,
        replace("value: 0.92", "value: .nan"),
        FRAUD + ":36:36",
        "training.gates[0].value: Input should be a finite number",
    ),
    Case(
        "integer-of-5000-digits",
        FRAUD,
        replace("value: 50}", "value: " + "9" * 5000 + "}"),
        FRAUD + ":37:47",
        f"an integer of 5000 digits exceeds the limit of {MAX_INTEGER_DIGITS} (MAX_INTEGER_DIGITS)",
    ),
    Case(
        "hex-integer-of-5000-digits",
        FRAUD,
        replace("  owner: team-risk", "  owner: 0x" + "f" * 5000),
        FRAUD + ":7:10",
        "(MAX_INTEGER_DIGITS)",
    ),
    Case(
        "self-referencing-alias",
        FRAUD,
        replace("  labels: {domain: payments}", "  labels: &x {domain: *x}"),
        FRAUD + ":8:11",
        "an alias refers to a node that contains it",
    ),
    Case(
        "self-referencing-alias-in-defaults",
        PROJECT,
        replace("    training: {schedule: null}", "    training: &loop {schedule: null, again: [*loop]}"),
        PROJECT + ":14:15",
        "an alias refers to a node that contains it",
    ),
    Case(
        "replicas-inf-in-an-environment",
        FRAUD,
        replace("replicas: {min: 3, max: 10}", "replicas: {min: 3, max: .inf}"),
        FRAUD + ":48:39",
        "serving.replicas.max: Input should be a finite number (in environment 'prod')",
    ),
    Case(
        "replicas-huge-float",
        FRAUD,
        replace("replicas: {min: 3, max: 10}", "replicas: {min: 3, max: 1e999}"),
        FRAUD + ":48:39",
        "out of range",
    ),
    Case(
        "label-value-nan",
        FRAUD,
        replace("  labels: {domain: payments}", "  labels: {domain: .nan}"),
        FRAUD + ":8:20",
        'metadata.labels.domain is written as the number .nan, which YAML reads as NaN: quote it (".nan")',
    ),
    Case(
        "undefined-alias",
        FRAUD,
        replace("  owner: team-risk", "  owner: *nowhere"),
        FRAUD + ":7:10",
        "found undefined alias",
    ),
]

TEXT = [
    Case(
        "megabyte-value-quoted-in-the-message",
        FRAUD,
        replace('  version: "7"', '  version: "' + "7" * 500_000 + '"'),
        FRAUD + ":11:12",
        "characters not shown)...",
    ),
    Case(
        "escape-sequence-in-a-key",
        FRAUD,
        replace("  owner: team-risk", '  owner: team-risk\n  "\\e[2J\\e[31mbogus": 1'),
        FRAUD + ":8:3",
        "unknown key '\\x1b[2J\\x1b[31mbogus' in metadata",
    ),
    Case(
        "newline-inside-a-quoted-key",
        FRAUD,
        replace("  owner: team-risk", '  owner: team-risk\n  "bad\\nkey": 1'),
        FRAUD + ":8:3",
        "unknown key 'bad\\nkey'",
    ),
    Case(
        "raw-control-character",
        FRAUD,
        replace("  owner: team-risk", '  owner: "team\x1b[2J-risk"'),
        FRAUD + ":7:15",
        "character U+001B is not allowed",
    ),
    Case(
        "raw-control-character-after-non-ascii",
        FRAUD,
        replace("  owner: team-risk", '  owner: "équipe-risque"\n  x: "é\x07"'),
        FRAUD + ":8:8",
        "character U+0007 is not allowed",
    ),
    Case(
        "bidi-override-and-line-separator-in-a-value",
        FRAUD,
        replace("  name: fraud-detector", '  name: "fraud\\u202edetector\\u2028"'),
        FRAUD + ":6:9",
        "fraud\\u202edetector\\u2028",
    ),
]


def _run_case(tmp_path: Path, case: Case) -> list[str]:
    repo = copy_example(tmp_path / "repo")
    target = repo / case.path
    target.write_text(case.edit(target.read_text(encoding="utf-8")), encoding="utf-8")
    before = snapshot_tree(repo)
    result = run_limited(list(case.command), repo)
    lines = assert_refused(result, case.message)
    assert lines[0].startswith(case.where), lines[0]
    assert result.stdout == ""
    assert snapshot_tree(repo) == before, "the command changed files"
    return lines


@pytest.mark.parametrize("case", EXHAUSTION, ids=lambda c: c.name)
def test_resource_exhaustion_is_refused_within_bounds(tmp_path: Path, case: Case) -> None:
    _run_case(tmp_path, case)


@pytest.mark.parametrize("case", TRACEBACKS, ids=lambda c: c.name)
def test_odd_values_are_one_line_not_a_traceback(tmp_path: Path, case: Case) -> None:
    _run_case(tmp_path, case)


@pytest.mark.parametrize("case", TEXT, ids=lambda c: c.name)
def test_control_characters_are_escaped_and_positioned(tmp_path: Path, case: Case) -> None:
    _run_case(tmp_path, case)


def test_a_chain_just_under_the_step_limit_renders_in_dependency_order(tmp_path: Path) -> None:
    """Steps listed last first, up to the limit, render (no recursion, no per-step sets)."""
    repo = copy_example(tmp_path / "repo")
    # The Go runtime of the Jsonnet evaluator, like kubectl's, reserves more address space at start than
    # limits.MEMORY_BYTES; the example's templates are not what this test is about.
    shutil.rmtree(repo / "templates")
    model = repo / FRAUD
    model.write_text(reversed_chain(MAX_STEPS - 1)(model.read_text()))
    result = run_limited(["render"], repo)
    assert result.returncode == 0, result.stderr[-2000:]
    template = (repo / "base/models/fraud-detector/workflowtemplate-fraud-detector-train.yaml").read_text()
    tasks = {t["name"]: t for t in yaml.safe_load(template)["spec"]["templates"][0]["dag"]["tasks"]}
    last = MAX_STEPS - 2
    assert tasks[f"s{last}"]["depends"] == f"s{last - 1}"
    assert (
        tasks[f"s{last}"]["arguments"]["artifacts"][0]["from"]
        == f"{{{{tasks.s{last - 1}.outputs.artifacts.a{last - 1}}}}}"
    )


def test_step_graph_of_12000_chained_steps_is_linear_in_memory_and_stack(tmp_path: Path) -> None:
    """The graph functions themselves, far beyond the spec limit, under the same process limits."""
    code = """
from mlgitops.language.training import Training
from mlgitops.language.stepgraph import find_cycle, input_producers
n = 12000
steps = [{"name": f"s{i}", "after": [f"s{i-1}"] if i else [], "command": ["x"],
          "inputs": [f"a{i-1}"] if i else [], "outputs": [f"a{i}"]} for i in reversed(range(n))]
training = Training.model_validate({"image": "x", "steps": steps})
assert find_cycle({s.name: list(s.after) for s in training.steps}) is None
ring = {s.name: list(s.after) for s in training.steps}
ring["s0"] = ["s11999"]
assert find_cycle(ring)[0] == find_cycle(ring)[-1]
producers = input_producers(training)
assert producers["s11999"] == {"a11998": ["s11998"]}
assert all(len(found) == 1 for inputs in producers.values() for found in inputs.values())
print("ok")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=set_limits, timeout=120, check=False
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_steps_times_gpu_placement_is_bounded(tmp_path: Path) -> None:
    """A GPU class's placement is repeated in every step that uses it: bounded like the parameters."""
    repo = copy_example(tmp_path / "repo")
    project = repo / PROJECT
    tolerations = ", ".join(f"{{key: k{i}, operator: Exists}}" for i in range(999))
    project.write_text(
        replace(
            "    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]\n  l4:",
            f"    tolerations: [{tolerations}]\n  l4:",
        )(project.read_text())
    )
    model = repo / FRAUD
    chain = reversed_chain(100)(model.read_text()).replace("outputs: [a", "gpu: {count: 1, class: a100}, outputs: [a")
    model.write_text(chain)
    before = snapshot_tree(repo)
    result = run_limited(["render"], repo)
    assert_refused(result, FRAUD + ":29:3: the 101 training steps repeat 100101 ", "(MAX_TEMPLATE_ENTRIES)")
    assert snapshot_tree(repo) == before


def test_many_unknown_step_references_are_capped(tmp_path: Path) -> None:
    """Each unknown `after` looks for a close step name; past MAX_PROBLEMS the rest is not computed."""
    repo = copy_example(tmp_path / "repo")
    model = repo / FRAUD
    chain = reversed_chain(MAX_STEPS - 1)(model.read_text())
    chain = chain.replace(
        "{name: s0, command:", "{name: s0, after: [" + ", ".join(f"nope{i}" for i in range(900)) + "], command:"
    )
    model.write_text(chain)
    result = run_limited(["render"], repo)
    lines = assert_refused(result, "which is not a step", problems=MAX_PROBLEMS + 1)
    assert all(line.startswith(FRAUD + ":528:") for line in lines)
    assert lines[-1].endswith(f"more problems in this file are not shown (MAX_PROBLEMS is {MAX_PROBLEMS})")


def test_a_fifo_in_models_does_not_hang(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    os.mkfifo(repo / "models" / "pipe.yaml")
    result = run_limited(["render", "--check"], repo)
    assert_refused(result, "models/pipe.yaml:1:1: not a regular file")


def test_problem_is_always_one_printable_line() -> None:
    nasty = "a\nb\r\x1b[2J\x00\x7f\x85\x9b\u202e\u2066\u2028\u2029\u061c\t"
    text = str(Problem(Location(f"models/{nasty}.yaml", 3, 4), f"value {nasty}"))
    assert "\n" not in text and text.isprintable(), repr(text)
    assert text.startswith(
        "models/a\\nb\\r\\x1b[2J\\x00\\x7f\\x85\\x9b\\u202e\\u2066\\u2028\\u2029\\u061c\\t.yaml:3:4: "
    )
    assert str(SpecError([Problem(Location("x", 1, 1), "p\nq")])) == "x:1:1: p\\nq"
    assert str(Problem(Location("m.yaml", 1, 2), "plain é ✓ 日本")) == "m.yaml:1:2: plain é ✓ 日本"
    long = str(Problem(Location("m.yaml", 1, 2), "value " + "v" * 10_000 + " end"))
    assert len(long) < MAX_MESSAGE_CHARS + 50 and long.startswith("m.yaml:1:2: value vvv") and long.endswith("v end")


# --- the same specs through the Argo CD plugin ----------------------------------------------------

PLUGIN_FILE = REPO / "plugins" / "argocd" / "plugin.yaml"
LIMITS_WRAPPER = Path(__file__).parents[1].joinpath("limits.py")


def _limited_plugin() -> object:
    """plugins/argocd/plugin.yaml, with `generate` run under tests/limits.py's limits."""
    plugin = load_plugin(PLUGIN_FILE)
    command = dataclasses.replace(
        plugin.generate, command=[sys.executable, str(LIMITS_WRAPPER), *plugin.generate.command]
    )
    return dataclasses.replace(plugin, generate=command)


CMP_CASES = [
    case
    for case in EXHAUSTION + TRACEBACKS + TEXT
    if case.name
    in {
        "alias-bomb-in-a-model",
        "alias-bomb-in-the-project-file",
        "flow-nesting-500-deep",
        "deep-environment-patch",
        "1200-steps-in-reverse-order",
        "self-referencing-alias",
        "cpu-1e400",
        "escape-sequence-in-a-key",
    }
]


def test_the_plugin_cases_exist() -> None:
    assert len(CMP_CASES) == 8


@pytest.mark.parametrize("case", CMP_CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("model", [None, "fraud-detector"])
def test_cmp_generate_refuses_hostile_specs(tmp_path: Path, case: Case, model: str | None) -> None:
    repo = copy_example(tmp_path / "repo")
    target = repo / case.path
    target.write_text(case.edit(target.read_text(encoding="utf-8")), encoding="utf-8")
    before = snapshot_tree(repo)
    blocker = tmp_path / "regular-file"
    blocker.write_text("")
    sidecar_tmp = tmp_path / "sidecar-tmp"
    sidecar_tmp.mkdir()
    sidecar_env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(blocker / "home"),
        "TMPDIR": str(sidecar_tmp),
        "LANG": "C.UTF-8",
    }
    params = [Parameter("environment", string="prod")]
    if model:
        params.append(Parameter("model", string=model))
    request = AppRequest(repo_dir=repo, app_path=".", parameters=params)
    result = generate(
        _limited_plugin(),  # type: ignore[arg-type]
        request,
        sidecar_env=sidecar_env,
        workdir=tmp_path / "cmp-work",
        deadline_s=60,
    )
    assert not result.timed_out
    assert result.error is not None and result.stage == "generate", result.error
    assert result.objects == [] and result.stdout == ""
    assert "exit status 1" in result.error, result.error  # not killed by a signal
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith(case.where) and case.message in message, message
    assert message.isprintable()
    assert snapshot_tree(repo) == before
    assert list(sidecar_tmp.iterdir()) == []


# --- every written value replaced by an odd one ---------------------------------------------------

ODD_VALUES = [
    ".inf",
    "-.inf",
    ".nan",
    "1e400",
    "1e300",
    "-1",
    "0x" + "f" * 90,
    "9" * 99,
    "~",
    "[]",
    "{}",
    "{a: {b: [c]}}",
    "!!binary aGVsbG8=",
    "!!timestamp 2001-12-14",
    "!foo bar",
    '"\\e[2J"',
    '"\\u202e\\u2028"',
    '"a\\nb"',
    '""',
    "-0.0",
]
_INLINE_VALUE = re.compile(r"(?<=: )[^\s{}\[\],#][^,{}\[\]#]*?(?=[,}\]]|$)")


def _odd_variants() -> list[tuple[str, int, int, str]]:
    """(file, line, which value on the line, odd value): every inline value of two files, three times."""
    variants = []
    turn = 0
    for name in (FRAUD, PROJECT):
        for number, line in enumerate((REPO / name).read_text().split("\n"), start=1):
            for which, _ in enumerate(_INLINE_VALUE.finditer(line)):
                for _ in range(3):
                    variants.append((name, number, which, ODD_VALUES[turn % len(ODD_VALUES)]))
                    turn += 1
    return variants


def test_odd_values_anywhere_are_spec_errors_or_render(tmp_path: Path) -> None:
    """In-process, for speed: no value in any field may end in anything but a result or a SpecError."""
    from mlgitops.gitops import generate

    work = tmp_path / "specs"  # only the hand-written files: `render --check` renders all in memory
    (work / "models").mkdir(parents=True)
    originals = {
        name: (REPO / name).read_text()
        for name in (PROJECT, *(f"models/{p.name}" for p in (REPO / "models").iterdir()))
    }
    for name, text in originals.items():
        (work / name).write_text(text)
    variants = _odd_variants()
    assert len(variants) > 200
    refused = 0
    for name, number, which, odd in variants:
        lines = originals[name].split("\n")
        found = list(_INLINE_VALUE.finditer(lines[number - 1]))[which]
        lines[number - 1] = lines[number - 1][: found.start()] + odd + lines[number - 1][found.end() :]
        (work / name).write_text("\n".join(lines))
        try:
            generate.render(work, check=True)
        except SpecError as exc:
            refused += 1
            for text in str(exc).split("\n"):
                assert POSITIONED.match(text) and text.isprintable(), (name, number, odd, text)
        (work / name).write_text(originals[name])
    assert refused > len(variants) // 2  # most odd values are wrong somewhere; the test must see errors


@pytest.mark.parametrize("error", [RecursionError, MemoryError])
@pytest.mark.parametrize(("command", "code"), [(["render"], 1), (["diff"], 2)])
def test_cli_turns_exhaustion_into_one_line(
    example: Path, monkeypatch: pytest.MonkeyPatch, error: type[Exception], command: list[str], code: int
) -> None:
    """Defence in depth: should a bound be missed, the CLI still prints one line, not a traceback."""
    from mlgitops.delivery.diff import command as diff_command
    from mlgitops.gitops import generate
    from mlgitops.gitops.rendercache import render as cached_render
    from tests.conftest import run_cli

    def exhausted(*args: object, **kwargs: object) -> None:
        raise error("exhausted")

    monkeypatch.setattr(generate, "render", exhausted)
    monkeypatch.setattr(cached_render, "render_project", exhausted)  # `render` without --check
    monkeypatch.setattr(diff_command, "run", exhausted)
    result = run_cli(command, cwd=example)
    assert result.exit_code == code
    if command == ["diff"]:  # every diff failure is an internal error, exit 2
        assert result.stderr == f"internal error: {error.__name__}: exhausted\n"
    else:
        assert result.stderr == f"mlgitops: input too large or too deeply nested to process ({error.__name__})\n"


def test_control_characters_in_a_model_file_name_are_escaped(tmp_path: Path) -> None:
    repo = copy_example(tmp_path / "repo")
    text = (repo / FRAUD).read_text()
    (repo / "models" / "evil\x1b[2J\nname\u202e.yaml").write_text(text)
    before = snapshot_tree(repo)
    result = run_limited(["render"], repo)
    assert_refused(
        result,
        "models/evil\\x1b[2J\\nname\\u202e.yaml:6:9: metadata.name 'fraud-detector' must match the file name",
    )
    assert snapshot_tree(repo) == before
