"""Jsonnet addons: `templates/*.jsonnet` add objects to every model's render (docs/addons.md).

Each template is `function(model, environment, project, settings={})` returning a list of objects.
A template is evaluated once for every (model, environment) pair at a time: a small driver snippet maps
it over the list of pairs in one VM, since the C++ VM spends milliseconds per evaluation on its
standard library. Imports are confined to `templates/` and `templates/lib/` by an import callback; no
native functions and no ext vars are given, so evaluation depends on the files and the spec only.
`_jsonnet` is imported only when the project has templates (the Argo CD plugin path stays lean).
Templates are inputs like any spec: each evaluation runs in a child process under CPU, memory and
wall-clock limits (`mlgitops.limits`), and template files are read up to `MAX_SPEC_BYTES`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops.errors import Location, Problem, SpecError, did_you_mean
from mlgitops.limits import MAX_SPEC_BYTES, MAX_TEMPLATE_CPU_SECONDS, MAX_TEMPLATE_MEMORY_BYTES

TEMPLATES_DIR = "templates"
LIB_DIR = "templates/lib"
TEMPLATE_SUFFIX = ".jsonnet"
DRIVER = "templates/(addons)"  # the driver snippet's name in evaluator traces; never a real file

Obj = dict[str, Any]
MAX_THREADS = 4
PAIRS_PER_THREAD = 500  # below this, one evaluation (a thread's VM start costs more than it saves)

# `file:12:5` or `file:12:5-9` (one line) or `file:(12:5)-(14:2)` (several lines), as the evaluator writes them.
_POSITION = re.compile(r"(?P<path>[^\s:()]+):(?:\((?P<l2>\d+):(?P<c2>\d+)\)|(?P<line>\d+):(?P<col>\d+))")


@dataclass(frozen=True)
class AddonRequest:
    """One (model, environment) pair: the arguments every enabled template is called with."""

    model: Obj
    environment: Obj
    settings: dict[str, Obj]  # template name → the model's `addons.<template>` block (without `enabled`)


def template_names(root: Path) -> list[str]:
    """The project's templates, by name (file name without `.jsonnet`), sorted."""
    folder = root / TEMPLATES_DIR
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(TEMPLATE_SUFFIX)] for p in folder.iterdir() if p.name.endswith(TEMPLATE_SUFFIX))


def enabled_settings(addons: dict[str, Obj], names: Sequence[str]) -> dict[str, Obj]:
    """The settings of each template a model uses (every template unless `enabled: false`)."""
    out: dict[str, Obj] = {}
    for name in names:
        block = dict(addons.get(name) or {})
        if block.pop("enabled", True) is False:
            continue
        out[name] = block
    return out


def addon_settings_problem(addons: dict[str, Obj], names: Sequence[str]) -> tuple[tuple[str, ...], str] | None:
    """A model's `addons` block naming a template the project lacks, or a non-boolean `enabled`."""
    for name, block in addons.items():
        if name not in names:
            known = ", ".join(names) if names else "none (no templates/*.jsonnet)"
            return (name,), f"no template {name!r} in templates/{did_you_mean(name, names)}; the project has {known}"
        if "enabled" in block and not isinstance(block["enabled"], bool):
            return (name, "enabled"), "enabled must be true or false"
    return None


def _load_evaluator() -> Any:
    try:
        import _jsonnet
    except ImportError:
        raise SpecError.at(
            Location(TEMPLATES_DIR),
            "the project has Jsonnet templates but the jsonnet package is not installed; "
            "install it with: pip install 'mlgitops[jsonnet]'",
        ) from None
    return _jsonnet


def confined_importer(root: Path) -> Callable[[str, str], tuple[str, bytes]]:
    """An import callback that serves files of `templates/` and `templates/lib/` only.

    Paths reach the evaluator relative to `root`, so its traces read `templates/x.jsonnet:3:5`.
    The callback also serves `importstr` and `importbin`, so they are confined the same way.
    """
    real_root = root.resolve()
    allowed = {(real_root / TEMPLATES_DIR).resolve(), (real_root / LIB_DIR).resolve()}

    def load(directory: str, rel: str) -> tuple[str, bytes]:
        if rel.startswith("/") or Path(rel).is_absolute():
            raise RuntimeError("absolute import paths are refused; import from templates/ or templates/lib/")
        candidate = root / directory / rel
        real = candidate.resolve()
        if real.parent not in allowed:
            raise RuntimeError(f"{rel} is outside templates/ and templates/lib/ (imports are confined there)")
        if not real.is_file():
            raise RuntimeError(f"{rel}: no such file in templates/")
        shown = real.relative_to(real_root).as_posix()
        with real.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            raise RuntimeError(f"{rel} is larger than {MAX_SPEC_BYTES} bytes (MAX_SPEC_BYTES)")
        return shown, data

    return load


def _error_problem(text: str, template: str) -> Problem:
    """The evaluator's error text as one positioned line (the first frame in a template file)."""
    lines = text.strip().splitlines()
    head = lines[0] if lines else text
    for prefix in ("RUNTIME ERROR: ", "STATIC ERROR: "):
        if head.startswith(prefix):
            head = head[len(prefix) :]
    # A static error names its position first: `templates/x.jsonnet:1:11: unexpected ...`.
    match = _POSITION.match(head)
    if match and match.group("path") != DRIVER:
        rest = head[match.end() :]
        rest = re.sub(r"^-\d+|^-\(\d+:\d+\)", "", rest).lstrip(": ")
        return Problem(_location(match), rest or head)
    for frame in lines[1:]:
        match = _POSITION.search(frame)
        if match and match.group("path") != DRIVER:
            return Problem(_location(match), head)
    return Problem(Location(f"{TEMPLATES_DIR}/{template}{TEMPLATE_SUFFIX}", 1, 1), head)


def _location(match: re.Match[str]) -> Location:
    line = match.group("line") or match.group("l2")
    col = match.group("col") or match.group("c2")
    return Location(match.group("path"), int(line), int(col))


def _check_objects(value: Any, template: str, request: AddonRequest) -> list[Obj]:
    where = Location(f"{TEMPLATES_DIR}/{template}{TEMPLATE_SUFFIX}", 1, 1)
    model = (request.model.get("metadata") or {}).get("name")
    context = f" (model {model!r}, environment {request.environment.get('name')!r})"
    if not isinstance(value, list):
        raise SpecError.at(where, f"the template must return a list of objects, not {type(value).__name__}" + context)
    for index, obj in enumerate(value):
        if not isinstance(obj, dict):
            raise SpecError.at(where, f"item {index} is a {type(obj).__name__}, not an object" + context)
        metadata = obj.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        for field, present in (
            ("apiVersion", isinstance(obj.get("apiVersion"), str) and obj["apiVersion"]),
            ("kind", isinstance(obj.get("kind"), str) and obj["kind"]),
            ("metadata.name", isinstance(name, str) and name),
        ):
            if not present:
                raise SpecError.at(where, f"item {index} has no {field} (a string)" + context)
    return value


def _driver(names: Sequence[str]) -> str:
    """One snippet that calls every template over every pair (only the templates a pair enables)."""
    imports = ", ".join(f"{json.dumps(n)}: import {json.dumps(n + TEMPLATE_SUFFIX)}" for n in names)
    return (
        f"local templates = {{{imports}}};\n"
        "function(pairs, project)\n"
        "  local p = std.parseJson(project);\n"
        "  [{[n]: templates[n](q.model, q.environment, p, q.settings[n]) for n in std.objectFields(q.settings)}\n"
        "   for q in std.parseJson(pairs)]\n"
    )


def _evaluate(jsonnet: Any, root: Path, names: Sequence[str], pairs: list[Obj], project: str) -> Any:
    """The driver over `pairs` (JSON is handed over as strings: std.parseJson reads it faster than the
    evaluator parses the same text as code); a failure as the one-line problem of the template at fault."""
    try:
        output = jsonnet.evaluate_snippet(
            DRIVER,
            _driver(names),
            import_callback=confined_importer(root),
            tla_vars={"pairs": json.dumps(pairs, sort_keys=True), "project": project},
        )
    except RuntimeError as exc:
        if len(names) > 1:  # find the template at fault (so a position-less error names it)
            for name in names:
                _evaluate(
                    jsonnet,
                    root,
                    [name],
                    [{**q, "settings": {k: v for k, v in q["settings"].items() if k == name}} for q in pairs],
                    project,
                )
        raise SpecError([_error_problem(str(exc), names[0])]) from None
    return json.loads(output)


def _limit_child() -> None:  # pragma: no cover - runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (MAX_TEMPLATE_CPU_SECONDS, MAX_TEMPLATE_CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (MAX_TEMPLATE_MEMORY_BYTES, MAX_TEMPLATE_MEMORY_BYTES))


def _evaluate_bounded(root: Path, names: Sequence[str], pairs: list[Obj], project: str) -> Any:
    """`_evaluate` in a child process under the template limits; its problems come back as problems."""
    request = json.dumps({"root": str(root), "names": list(names), "pairs": pairs, "project": project})
    where = Location(TEMPLATES_DIR)
    limits = f"{MAX_TEMPLATE_CPU_SECONDS} s of CPU and {MAX_TEMPLATE_MEMORY_BYTES >> 20} MiB"
    import subprocess  # only when there are templates: the plugin's render path does not load it otherwise

    try:
        done = subprocess.run(
            [sys.executable, "-c", "from mlgitops.addons import evaluate_request; evaluate_request()"],
            input=request,
            capture_output=True,
            text=True,
            timeout=2 * MAX_TEMPLATE_CPU_SECONDS,
            preexec_fn=_limit_child,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SpecError.at(where, f"the Jsonnet templates did not finish within the limits ({limits})") from None
    if done.returncode != 0 or not done.stdout:
        raise SpecError.at(where, f"the Jsonnet templates were stopped at the limits ({limits})")
    answer = json.loads(done.stdout)
    if "problems" in answer:
        raise SpecError(
            [Problem(Location(path, line, column), message) for path, line, column, message in answer["problems"]]
        )
    return answer["value"]


def evaluate_request() -> None:
    """The child's side of `_evaluate_bounded`: a JSON request on stdin, the value or problems on stdout."""
    request = json.load(sys.stdin)
    try:
        value = _evaluate(
            _load_evaluator(), Path(request["root"]), request["names"], request["pairs"], request["project"]
        )
    except SpecError as exc:
        problems = [[p.location.path, p.location.line, p.location.column, p.message] for p in exc.problems]
        print(json.dumps({"problems": problems}))
        return
    print(json.dumps({"value": value}))


def evaluate_addons(root: Path, project: Obj, requests: Sequence[AddonRequest]) -> list[list[tuple[str, Obj]]]:
    """For each request, the (template, object) pairs its enabled templates return, templates in name order.

    All templates run in one evaluation per chunk of pairs, each in a bounded child process; chunks run
    side by side. Errors are reported for the first failing chunk, so the message does not depend on timing.
    """
    names = template_names(root)
    results: list[list[tuple[str, Obj]]] = [[] for _ in requests]
    if not names or not requests:
        return results
    _load_evaluator()  # a missing evaluator is one line here, before any child starts
    project_text = json.dumps(project, sort_keys=True)
    pairs = [{"model": r.model, "environment": r.environment, "settings": r.settings} for r in requests]
    workers = min(os.cpu_count() or 1, MAX_THREADS) if len(pairs) >= PAIRS_PER_THREAD else 1
    size = -(-len(pairs) // workers)
    chunks = [pairs[i : i + size] for i in range(0, len(pairs), size)]
    if len(chunks) == 1:
        values = _evaluate_bounded(root, names, chunks[0], project_text)
    else:
        from concurrent.futures import ThreadPoolExecutor  # 8 ms of imports (logging, traceback) when used

        with ThreadPoolExecutor(len(chunks)) as pool:
            futures = [pool.submit(_evaluate_bounded, root, names, chunk, project_text) for chunk in chunks]
            values = [item for future in futures for item in future.result()]
    for index, by_template in enumerate(values):
        for name in names:
            if name in by_template:
                for obj in _check_objects(by_template[name], name, requests[index]):
                    results[index].append((name, obj))
    return results
