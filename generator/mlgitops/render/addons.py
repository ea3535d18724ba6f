"""Jsonnet addons: `templates/*.jsonnet` add objects to every model's render (docs/addons.md).

Each template is `function(model, environment, project, settings={})` returning a list of objects.
A template is evaluated for every (model, environment) pair at a time: a small driver snippet maps
it over the list of pairs in one VM (a VM start is the fixed cost). Imports are confined to `templates/`
and `templates/lib/` by an import callback; no native functions and no ext vars are given, so
evaluation depends on the files and the spec only. Templates are inputs like any spec: each evaluation
runs in a forked child process under CPU, memory and wall-clock limits (`mlgitops.util.limits`), which alone
imports the evaluator (go-jsonnet, else the C++ one), and template files are read up to `MAX_SPEC_BYTES`.
Without templates nothing of this runs (the Argo CD plugin path stays lean).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgitops.util.errors import Location, Problem, SpecError, did_you_mean
from mlgitops.util.forked import in_worker
from mlgitops.util.kubenames import Obj
from mlgitops.util.limits import MAX_SPEC_BYTES, MAX_TEMPLATE_CPU_SECONDS, MAX_TEMPLATE_MEMORY_BYTES
from mlgitops.util.paths import TEMPLATES_DIR
from mlgitops.util.reserved import object_problem

LIB_DIR = "templates/lib"
TEMPLATE_SUFFIX = ".jsonnet"
DRIVER = "templates/(addons)"  # the driver snippet's name in evaluator traces; never a real file

MAX_CHILDREN = 4
PAIRS_PER_CHILD = 500  # below this, one evaluation (another child costs more than it saves)
# A child holds every pair it evaluates. go-jsonnet maps 1.6 GiB of address space on start and about 0.1 MiB more
# per pair of the bundled example: 3000 pairs (a chunk of 2000 models on 2 cores) came within 0.2 GiB of the
# child's limit (MAX_TEMPLATE_MEMORY_BYTES over the parent's size) and crossed it now and then. So no chunk is
# larger than this; more chunks than children run in waves, and a child's size does not grow with the project.
MAX_PAIRS_PER_CHUNK = 1000

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


# go-jsonnet first: the reference implementation, with wheels for Linux x86_64 and arm64 and macOS
# arm64, and its standard library comes pre-parsed (a VM starts in about 1 ms; the C++ one parses it,
# 40 ms and more). The C++ `jsonnet` is the fallback (macOS x86_64, where go-jsonnet has no wheel).
# The Go runtime does not survive a fork: only the forked child that evaluates imports the evaluator.
EVALUATOR_MODULES = ("_gojsonnet", "_jsonnet")


_DISTRIBUTIONS = {"_gojsonnet": "gojsonnet", "_jsonnet": "jsonnet"}  # module → its package on PyPI


def evaluator_identity() -> str:
    """Which Jsonnet evaluators `_load_evaluator` may pick, without importing them (the Go runtime must
    not start in this process): per module, blocked, missing, or its file (path, size, mtime) and its
    distribution's version. The same templates can render differently on another evaluator or release,
    so the render cache and the `cmp generate` answer cache key on this."""
    return "\0".join(_module_identity(name) for name in EVALUATOR_MODULES)


def _module_identity(name: str) -> str:
    import importlib.util

    if name in sys.modules and sys.modules[name] is None:
        return f"{name}: blocked"
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        return f"{name}: missing"
    try:
        info = os.stat(spec.origin)
    except OSError:
        return f"{name}: unreadable"
    version = _distribution_version(os.path.dirname(spec.origin), _DISTRIBUTIONS[name])
    return f"{name}: {spec.origin}\0{info.st_size}\0{info.st_mtime_ns}\0{version}"


def _distribution_version(folder: str, distribution: str) -> str:
    """The version in the `<distribution>-<version>.dist-info` beside the module ('?' when none is there)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return "?"
    prefix, suffix = distribution + "-", ".dist-info"
    found = sorted(n[len(prefix) : -len(suffix)] for n in names if n.lower().startswith(prefix) and n.endswith(suffix))
    return ",".join(found) or "?"


def _missing_evaluator() -> SpecError:
    return SpecError.at(
        Location(TEMPLATES_DIR),
        "the project has Jsonnet templates but no Jsonnet evaluator is installed; "
        "install one with: pip install gojsonnet (or: pip install jsonnet)",
    )


def _load_evaluator() -> Any:
    try:
        import _gojsonnet

        return _gojsonnet
    except ImportError:
        pass
    try:
        import _jsonnet

        return _jsonnet
    except ImportError:
        raise _missing_evaluator() from None


class ConfinedImporter:
    """An import callback that serves files of `templates/` and `templates/lib/` only.

    Paths reach the evaluator relative to `root`, so its traces read `templates/x.jsonnet:3:5`.
    The callback also serves `importstr` and `importbin`, so they are confined the same way. A refusal
    is kept in `refused` as well as raised: the error text is rebuilt from it, the same with every
    evaluator (go-jsonnet's binding passes a callback's message on garbled).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = root.resolve()
        # The directories themselves, not where a symlink at `templates/lib` leads: a file is served only
        # when its resolved path lies directly in the real `templates/` or in `lib/` under it, so a link
        # to `.git`, `models/` or `/etc` serves nothing.
        templates = (self.real_root / TEMPLATES_DIR).resolve()
        inside = templates.parent == self.real_root and templates.name == TEMPLATES_DIR
        self.allowed = {templates, templates / "lib"} if inside else set()
        self.refused: tuple[str, str, str] | None = None  # (importing directory, path, reason)

    def __call__(self, directory: str, rel: str) -> tuple[str, bytes]:
        try:
            return self._load(directory, rel)
        except RuntimeError as exc:
            self.refused = (directory, rel, str(exc))
            raise
        except (OSError, ValueError) as exc:  # an unreadable file: refused like any other (one clean line)
            self.refused = (directory, rel, f"{rel} cannot be read ({type(exc).__name__})")
            raise RuntimeError(self.refused[2]) from None

    def refusal(self) -> Problem | None:
        """The refused import as a problem at the `import` that names it (found in the importing directory's
        files: go-jsonnet's binding garbles the error text, sometimes past decoding, when a callback raises)."""
        if self.refused is None:
            return None
        directory, rel, reason = self.refused
        message = f"couldn't open import {json.dumps(rel)}: {reason}"
        statement = re.compile(r"\bimport(?:str|bin)?\s*(['\"])" + re.escape(rel) + r"\1")
        folder = (self.root / directory).resolve()
        if folder.parent not in (self.real_root, self.real_root / TEMPLATES_DIR) or not folder.is_dir():
            return None
        for path in sorted(folder.iterdir()):
            if path.suffix not in (TEMPLATE_SUFFIX, ".libsonnet") or not path.is_file():
                continue
            text = path.read_text(errors="replace")[:MAX_SPEC_BYTES]
            found = statement.search(text)
            if found:
                line = text.count("\n", 0, found.start()) + 1
                column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
                return Problem(Location(path.relative_to(self.real_root).as_posix(), line, column), message)
        return None

    def _load(self, directory: str, rel: str) -> tuple[str, bytes]:
        if rel.startswith("/") or Path(rel).is_absolute():
            raise RuntimeError("absolute import paths are refused; import from templates/ or templates/lib/")
        real = (self.root / directory / rel).resolve()
        if real.parent not in self.allowed:
            raise RuntimeError(
                f"{rel} resolves outside templates/ and templates/lib/ (imports are confined there, symlinks included)"
            )
        if not real.is_file():
            raise RuntimeError(f"{rel}: no such file in templates/")
        shown = real.relative_to(self.real_root).as_posix()
        with real.open("rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            raise RuntimeError(f"{rel} is larger than {MAX_SPEC_BYTES} bytes (MAX_SPEC_BYTES)")
        return shown, data


def _sentence(message: str) -> str:
    """An evaluator's message in mlgitops' style (go-jsonnet capitalises: `Field does not exist`)."""
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        return message[0].lower() + message[1:]
    return message


def _error_problem(text: str, template: str) -> Problem:
    """The evaluator's error text as one positioned line (the first frame in a template file)."""
    lines = text.strip().splitlines()
    head = lines[0] if lines else text
    for prefix in ("RUNTIME ERROR: ", "STATIC ERROR: "):
        if head.startswith(prefix):
            head = head[len(prefix) :]
    # A static error names its position first: `templates/x.jsonnet:1:11: unexpected ...` (C++),
    # `templates/x.jsonnet:1:11-12 Unexpected ...` (go-jsonnet, which reports it as a runtime error).
    match = _POSITION.match(head)
    if match and match.group("path") != DRIVER:
        rest = head[match.end() :]
        rest = re.sub(r"^-\d+|^-\(\d+:\d+\)", "", rest).lstrip(": ")
        return Problem(_location(match), _sentence(rest or head))
    for frame in lines[1:]:
        match = _POSITION.search(frame)
        if match and match.group("path") != DRIVER:
            return Problem(_location(match), _sentence(head))
    return Problem(Location(f"{TEMPLATES_DIR}/{template}{TEMPLATE_SUFFIX}", 1, 1), _sentence(head))


def _location(match: re.Match[str]) -> Location:
    line = match.group("line") or match.group("l2")
    col = match.group("col") or match.group("c2")
    return Location(match.group("path"), int(line), int(col))


def _check_objects(root: Path, value: Any, template: str, request: AddonRequest) -> list[Obj]:
    """The template's result, refused unless a list of objects with apiVersion, kind and metadata.name; a
    refusal points at the object literal when the template writes one, else at the function's body."""
    from mlgitops.render.jsonnet_positions import body_location, object_location

    file = f"{TEMPLATES_DIR}/{template}{TEMPLATE_SUFFIX}"
    model = (request.model.get("metadata") or {}).get("name")
    context = f" (model {model!r}, environment {request.environment.get('name')!r})"

    def where(obj: Any = None, path: tuple[str | int, ...] = ()) -> Location:
        return object_location(root, file, obj, path) or body_location(root, file) or Location(file, 1, 1)

    if not isinstance(value, list):
        raise SpecError.at(where(), f"the template must return a list of objects, not {type(value).__name__}" + context)
    for index, obj in enumerate(value):
        if not isinstance(obj, dict):
            raise SpecError.at(where(), f"item {index} is a {type(obj).__name__}, not an object" + context)
        metadata = obj.get("metadata")
        name = metadata.get("name") if isinstance(metadata, dict) else None
        for field, present in (
            ("apiVersion", isinstance(obj.get("apiVersion"), str) and obj["apiVersion"]),
            ("kind", isinstance(obj.get("kind"), str) and obj["kind"]),
            ("metadata.name", isinstance(name, str) and name),
        ):
            if not present:
                raise SpecError.at(where(obj), f"item {index} has no {field} (a string)" + context)
        refused = object_problem(obj)  # what Kustomize would act on, or a lineage annotation (reserved.py)
        if refused is not None:
            path, message = refused
            shown = ".".join(str(p) for p in path)
            raise SpecError.at(where(obj, path), f"item {index}: {shown}: {message}" + context)
    return value


def _driver(names: Sequence[str]) -> str:
    """One snippet that calls every template over every pair (only the templates a pair enables).

    A template that is not a function is refused here, in the same words with every evaluator."""
    imports = ", ".join(f"{json.dumps(n)}: import {json.dumps(n + TEMPLATE_SUFFIX)}" for n in names)
    return (
        f"local templates = {{{imports}}};\n"
        "local call(n, q, p) =\n"
        "  local t = templates[n];\n"
        "  if std.isFunction(t) then t(q.model, q.environment, p, q.settings[n])\n"
        "  else error 'the template must be a function(model, environment, project, settings={}), not '\n"
        "    + std.type(t) + ' (the value of the file)';\n"
        "function(pairs, project)\n"
        "  local p = std.parseJson(project);\n"
        "  [{[n]: call(n, q, p) for n in std.objectFields(q.settings)} for q in std.parseJson(pairs)]\n"
    )


def _evaluate(jsonnet: Any, root: Path, names: Sequence[str], pairs: list[Obj], project: str) -> str:
    """The driver over `pairs`, as JSON text (JSON is handed over as strings: std.parseJson reads it
    faster than the evaluator parses the same text as code); a failure as the one-line problem of the
    template at fault."""
    importer = ConfinedImporter(root)
    try:
        output: str = jsonnet.evaluate_snippet(
            DRIVER,
            _driver(names),
            import_callback=importer,
            tla_vars={"pairs": json.dumps(pairs, sort_keys=True), "project": project},
        )
    except (RuntimeError, UnicodeDecodeError) as exc:
        refusal = importer.refusal()
        if refusal is not None:
            raise SpecError([refusal]) from None
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
    return output


def _limit_child() -> None:  # pragma: no cover - runs in the child
    """Lower the child's CPU and address-space limits to the template limits (never raise one: a process
    already under tighter limits keeps them)."""
    import resource

    faulthandler = sys.modules.get("faulthandler")  # enabled by pytest, inherited by the fork
    if faulthandler is not None:
        faulthandler.disable()  # a child stopped at a limit is reported in one line, without a dump of its stack
    # A forked child's CPU time starts at zero (fork(2)), so RLIMIT_CPU counts the evaluation only; its
    # address space starts as the parent's, so the evaluation gets MAX_TEMPLATE_MEMORY_BYTES beyond that.
    for index, (which, bound) in enumerate(
        ((resource.RLIMIT_CPU, MAX_TEMPLATE_CPU_SECONDS), (resource.RLIMIT_AS, MAX_TEMPLATE_MEMORY_BYTES))
    ):
        limit = _effective(index, bound + (_inherited_address_space() if index else 0))
        try:
            resource.setrlimit(which, (limit, limit))
        except (ValueError, OSError):  # macOS does not enforce RLIMIT_AS and may refuse to set it
            if which == resource.RLIMIT_CPU or sys.platform.startswith("linux"):
                raise


def _inherited_address_space() -> int:  # pragma: no cover - runs in the child
    """Bytes of address space the process has mapped (Linux; 0 elsewhere, where RLIMIT_AS is not enforced)."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _effective(which: int, bound: int) -> int:
    """The limit a child gets: `bound`, or the process's own hard limit when lower (0: CPU, 1: memory)."""
    import resource

    hard = resource.getrlimit((resource.RLIMIT_CPU, resource.RLIMIT_AS)[which])[1]
    return bound if hard == resource.RLIM_INFINITY else min(bound, hard)


def _child_answer(root: Path, names: Sequence[str], pairs: list[Obj], project: str) -> bytes:  # pragma: no cover
    """What a child writes back: `v` and the value's JSON, or `p` and its problems as JSON."""
    try:
        return b"v" + _evaluate(_load_evaluator(), root, names, pairs, project).encode()
    except SpecError as exc:
        problems = [[p.location.path, p.location.line, p.location.column, p.message] for p in exc.problems]
        return b"p" + json.dumps(problems).encode()
    except MemoryError:
        raise  # at the memory limit: the parent reports the limits
    except Exception as exc:  # the evaluator itself failed (its binding raised something unexpected)
        return b"p" + json.dumps([[TEMPLATES_DIR, 0, 0, f"the Jsonnet evaluator failed: {exc!r}"]]).encode()


def _start_child(root: Path, names: Sequence[str], pairs: list[Obj], project: str) -> tuple[int, int]:
    """Fork a child that evaluates `pairs` under the template limits; its pid and the pipe it answers on.

    A fork of this process, not a new interpreter: the child starts with mlgitops imported (a spawned
    interpreter took 60 ms before its first template), and the evaluator is imported in the child only.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: never returns
        status = 1
        try:
            os.close(read_end)
            # The Go runtime writes its fatal errors (at a limit: "out of memory", a stack dump) to fd 2:
            # the parent reports a stopped child in one line instead.
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 2)
            _limit_child()
            view = memoryview(_child_answer(root, names, pairs, project))
            while view:
                view = view[os.write(write_end, view) :]
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _collect(children: list[tuple[int, int]], wall_seconds: float) -> list[bytes] | None:
    """Every child's answer, in order; None when one is stopped (a signal, a failure, the wall clock)."""
    import select
    import time

    answers = {fd: bytearray() for _, fd in children}
    deadline = time.monotonic() + wall_seconds
    poll = select.poll()
    for _, fd in children:
        poll.register(fd, select.POLLIN)
    waiting = len(children)
    stopped = False
    try:
        while waiting and not stopped:
            remaining = deadline - time.monotonic()
            ready = poll.poll(remaining * 1000) if remaining > 0 else []
            if not ready:
                stopped = True
            for fd, _ in ready:
                chunk = os.read(fd, 1 << 20)
                if chunk:
                    answers[fd] += chunk
                else:
                    poll.unregister(fd)
                    waiting -= 1
    finally:
        for pid, fd in children:
            os.close(fd)
            if stopped:
                os.kill(pid, 9)  # SIGKILL (`signal` is not imported for its name)
            _, status = os.waitpid(pid, 0)
            stopped = stopped or not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0)
    if stopped:
        return None
    return [bytes(answers[fd]) for _, fd in children]


def _evaluate_bounded(root: Path, names: Sequence[str], chunks: list[list[Obj]], project: str) -> list[Any]:
    """`_evaluate` over each chunk, each in a forked child under the template limits (side by side);
    the values in order, or the first chunk's problems, so the message does not depend on timing."""
    children: list[tuple[int, int]] = []
    try:
        for chunk in chunks:
            children.append(_start_child(root, names, chunk, project))
    finally:
        answers = _collect(children, 2 * MAX_TEMPLATE_CPU_SECONDS)
    if answers is None:
        cpu, memory = _effective(0, MAX_TEMPLATE_CPU_SECONDS), _effective(1, MAX_TEMPLATE_MEMORY_BYTES) >> 20
        message = f"the Jsonnet templates were stopped at the limits ({cpu} s of CPU and {memory} MiB)"
        raise SpecError.at(Location(TEMPLATES_DIR), message)
    values: list[Any] = []
    for answer in answers:
        if answer[:1] == b"p":
            problems = json.loads(answer[1:])
            raise SpecError([Problem(Location(path, line, col), message) for path, line, col, message in problems])
        values.extend(json.loads(answer[1:]))
    return values


def chunked(pairs: list[Obj], children: int) -> list[list[list[Obj]]]:
    """`pairs` in waves of at most `children` chunks of one size (the last may be smaller), none over
    MAX_PAIRS_PER_CHUNK. The chunk count is a multiple of `children`, so no wave leaves a core idle while
    another chunk waits.

    >>> [[len(chunk) for chunk in wave] for wave in chunked(list(range(3000)), 2)]
    [[750, 750], [750, 750]]
    >>> [[len(chunk) for chunk in wave] for wave in chunked(list(range(700)), 2)]
    [[350, 350]]
    """
    if not pairs:
        return []
    count = max(children, -(-len(pairs) // MAX_PAIRS_PER_CHUNK))
    count = -(-count // children) * children
    size = -(-len(pairs) // count)
    chunks = [pairs[i : i + size] for i in range(0, len(pairs), size)]
    return [chunks[i : i + children] for i in range(0, len(chunks), children)]


def evaluate_addons(root: Path, project: Obj, requests: Sequence[AddonRequest]) -> list[list[tuple[str, Obj]]]:
    """For each request, the (template, object) pairs its enabled templates return, templates in name order.

    All templates run in one evaluation per chunk of pairs, each in a bounded child process; chunks run
    side by side, in waves of as many as there are children (`chunked`). Errors are reported for the first
    failing chunk, so the message does not depend on timing.
    """
    names = template_names(root)
    results: list[list[tuple[str, Obj]]] = [[] for _ in requests]
    if not names or not requests:
        return results
    project_text = json.dumps(project, sort_keys=True)
    pairs = [{"model": r.model, "environment": r.environment, "settings": r.settings} for r in requests]
    # One child at a time in a render worker: the other workers use the other CPUs (util/forked.py).
    side_by_side = 1 if in_worker() else min(os.cpu_count() or 1, MAX_CHILDREN)
    waves = chunked(pairs, side_by_side if len(pairs) >= PAIRS_PER_CHILD else 1)
    values: list[Any] = []
    for wave in waves:  # in order: a problem is the first failing chunk's, whatever the timing
        values.extend(_evaluate_bounded(root, names, wave, project_text))
    for index, by_template in enumerate(values):
        for name in names:
            if name in by_template:
                for obj in _check_objects(root, by_template[name], name, requests[index]):
                    results[index].append((name, obj))
    return results


def evaluator_problem() -> str | None:
    """Why this install cannot evaluate templates (None: it can), found by evaluating a one-line
    template the way `render` does (forked child, limits, confined imports): the sidecar image check."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="mlgitops-jsonnet-check-") as tmp:
        root = Path(tmp)
        (root / TEMPLATES_DIR).mkdir()
        (root / TEMPLATES_DIR / f"check{TEMPLATE_SUFFIX}").write_text(
            "function(model, environment, project, settings={})\n"
            "  [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: model.metadata.name}}]\n"
        )
        request = AddonRequest({"metadata": {"name": "check"}}, {"name": "check"}, {"check": {}})
        try:
            [[(_, obj)]] = evaluate_addons(root, {}, [request])
        except (SpecError, ValueError) as exc:
            return f"Jsonnet templates cannot be evaluated: {exc}"
        if obj != {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "check"}}:
            return f"Jsonnet templates evaluate wrongly: {obj}"
    return None
