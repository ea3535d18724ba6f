"""Reading `graphs/*.yaml`, resolving a graph for an environment, and the checks every resolved graph passes.

Resolution: the graph file, then its own `environments.<env>` patch (RFC 7386, as a model's); the project's
`defaults` are for models and do not reach graphs. The result is validated again and checked against the
project's models in that environment: a step's `model` must be a model of the project, enabled there, and
serve with engine: kserve there (KServe's graph router reaches a step's `serviceName` as an InferenceService:
kserve pkg/controller/v1alpha1/inferencegraph/controller.go resolves it with a Get of that kind). The graph
rules of KServe's validating webhook (pkg/apis/serving/v1alpha1/inference_graph_validation.go) are checked
here too, at the line that breaks them: a `root` node, step names unique in a node, exactly one target per
step, every Splitter step weighted and the weights summing to 100; plus a `nodeName` that names a node
and nodes that do not route to themselves in a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from mlgitops.language.graph import GRAPH_KIND, PATCHABLE_GRAPH_KEYS, ROOT_NODE, Graph
from mlgitops.language.resolve import _Layer, _layered_locator, is_enabled, resolve
from mlgitops.language.schema_errors import validation_problems
from mlgitops.language.specfiles import refuse_unwritable_text, spec_file_paths
from mlgitops.language.stepgraph import find_cycle
from mlgitops.language.workspace import GraphFile, Locator, Workspace, document_locator, unknown_environment
from mlgitops.util.errors import Location, Problem, SpecError, did_you_mean
from mlgitops.util.mergepatch import merge_patch
from mlgitops.util.paths import GRAPH_SUFFIX, GRAPHS_DIR
from mlgitops.util.yamlio import JsonPath, parse_document

Reader = Callable[[Path, str], str]


@dataclass
class ResolvedGraph:
    """A graph as one environment sees it (`environment` None: the environment-free base)."""

    file: GraphFile
    environment: str | None
    spec: Graph
    locate: Locator

    @property
    def name(self) -> str:
        return self.spec.metadata.name

    def spec_location(self, path: JsonPath) -> Location:
        return self.locate(path, False)


_ALLOWED = f"graphs/ holds only <name>{GRAPH_SUFFIX} graph specs (and dot-files such as .gitkeep)"


def graph_paths(root: Path) -> tuple[list[str], list[Problem]]:
    """The graph files in `graphs/`, and a problem for anything else there (it would be skipped silently)."""
    return spec_file_paths(root, GRAPHS_DIR, GRAPH_SUFFIX, "graph", _ALLOWED)


def parse_graph(relative: str, text: str) -> GraphFile:
    """Parse and validate one graph file on its own (no project-level checks)."""
    doc = parse_document(text, relative)
    if not isinstance(doc.data, dict):
        raise SpecError.at(doc.location(()), f"expected a mapping (apiVersion, kind: {GRAPH_KIND}, metadata, nodes)")
    refuse_unwritable_text(doc)
    try:
        spec = Graph.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, doc.data, Graph, document_locator(doc), (doc,))) from None
    stem = Path(relative).stem
    if spec.metadata.name != stem:
        message = f"metadata.name {spec.metadata.name!r} must match the file name {stem!r}"
        raise SpecError.at(doc.location(("metadata", "name")), message)
    return GraphFile(path=relative, doc=doc, spec=spec)


def load_graphs(root: Path, workspace: Workspace, read: Reader) -> list[Problem]:
    """Read, validate and check every graph of a fully loaded workspace into `workspace.graphs`."""
    paths, problems = graph_paths(root)
    models = {model.name for model in workspace.models}
    for relative in paths:
        try:
            graph = parse_graph(relative, read(root, relative))
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        if graph.name in models:
            problems.append(
                Problem(
                    graph.doc.location(("metadata", "name")),
                    f"graph {graph.name!r} has the name of a model: the graph's router Deployment and Service would "
                    "take the model's names; rename the graph",
                )
            )
            continue
        found = check_workspace_graph(workspace, graph)
        problems.extend(found)
        if not found:
            workspace.graphs.append(graph)
    workspace.graphs.sort(key=lambda g: g.name)
    return problems


def graph_enabled(graph: GraphFile, env: str) -> bool:
    patch = graph.spec.environments.get(env) or {}
    return patch.get("enabled", True) is not False


def resolve_graph(workspace: Workspace, graph: GraphFile, env: str | None) -> ResolvedGraph | None:
    """The graph in `env` (None: the base), or None when it opts out of `env`; SpecError when it is invalid."""
    if env is None:
        return ResolvedGraph(graph, None, graph.spec, document_locator(graph.doc))
    if not graph_enabled(graph, env):
        return None
    patch = {k: v for k, v in (graph.spec.environments.get(env) or {}).items() if k != "enabled"}
    locate = _layered_locator(graph.doc, [_Layer(graph.doc, ("environments", env), patch)] if patch else [])
    spec = graph.spec
    if patch:
        data = merge_patch({k: v for k, v in graph.doc.data.items() if k != "environments"}, patch)
        try:
            spec = Graph.model_validate(data)
        except ValidationError as exc:
            problems = validation_problems(exc, data, Graph, locate, (graph.doc,))
            raise SpecError([_in_env(p, env) for p in problems]) from None
    return ResolvedGraph(graph, env, spec, locate)


def _in_env(problem: Problem, env: str) -> Problem:
    return Problem(problem.location, f"{problem.message} (in environment {env!r})")


def check_workspace_graph(workspace: Workspace, graph: GraphFile) -> list[Problem]:
    """The environments a graph patches, then the graph resolved as the base and in every environment."""
    envs = workspace.project.environment_names
    doc = graph.doc
    problems: list[Problem] = []
    for env, patch in graph.spec.environments.items():
        if env not in envs:
            problems.append(Problem(doc.location(("environments", env), key=True), unknown_environment(env, envs)))
            continue
        for key, value in (patch or {}).items():
            if key == "enabled" and not isinstance(value, bool):
                problems.append(Problem(doc.location(("environments", env, key)), "enabled must be true or false"))
            elif key not in (*PATCHABLE_GRAPH_KEYS, "enabled"):
                problems.append(
                    Problem(
                        doc.location(("environments", env, key), key=True),
                        f"a graph's environment patch may set enabled, {', '.join(PATCHABLE_GRAPH_KEYS)}; not "
                        f"{key!r}{did_you_mean(key, (*PATCHABLE_GRAPH_KEYS, 'enabled'))}",
                    )
                )
    if problems:
        return problems
    # A problem of the file itself once, not once per environment: the base's are reported as they are, and
    # one that only environments have is reported once with the environments it occurs in.
    base: set[tuple[Location, str]] = set()
    where: dict[tuple[Location, str], list[str]] = {}
    for environment in (None, *envs):
        try:
            resolved = resolve_graph(workspace, graph, environment)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        if resolved is None:
            continue
        for problem in check_graph(workspace, resolved):
            found_at = (problem.location, problem.message)
            if environment is None:
                base.add(found_at)
                problems.append(problem)
            elif found_at not in base:
                where.setdefault(found_at, []).append(environment)
    for (location, message), found in where.items():
        names = ", ".join(repr(env) for env in found)
        problems.append(Problem(location, f"{message} (in environment{'s' if len(found) > 1 else ''} {names})"))
    return problems


def check_graph(workspace: Workspace, graph: ResolvedGraph) -> list[Problem]:
    """KServe's graph rules and the models of the project, at the line that breaks them (module docstring)."""
    spec, env = graph.spec, graph.environment
    problems: list[Problem] = []

    def at(path: JsonPath, message: str, *, key: bool = False) -> None:
        problems.append(Problem(graph.locate(path, key), message))

    if ROOT_NODE not in spec.nodes:
        at(("nodes",), f"no node named {ROOT_NODE!r}: KServe's graph router takes every request at node "
           f"{ROOT_NODE!r}", key=True)  # fmt: skip
    routes: dict[str, list[str]] = {}
    for node_name, node in spec.nodes.items():
        where: JsonPath = ("nodes", node_name)
        routes[node_name] = []
        names: set[str] = set()
        for i, step in enumerate(node.steps):
            here = (*where, "steps", i)
            if step.name is not None:
                if step.name in names:
                    at((*here, "name"), f"node {node_name!r} has two steps named {step.name!r}; KServe refuses it")
                names.add(step.name)
            targets = [t for t in ("model", "nodeName", "serviceName", "serviceUrl") if getattr(step, t) is not None]
            if len(targets) != 1:
                given = " and ".join(targets) if targets else "none"
                at(here, f"a step names exactly one target: model, nodeName, serviceName or serviceUrl (here: {given})")
                continue
            if step.nodeName is not None:
                routes[node_name].append(step.nodeName)
                if step.nodeName not in spec.nodes:
                    at((*here, "nodeName"), f"no node {step.nodeName!r}{did_you_mean(step.nodeName, list(spec.nodes))}")
            if step.model is not None:
                problem = _model_problem(workspace, step.model, env)
                if problem is not None:
                    at((*here, "model"), problem)
        if node.routerType == "Splitter":
            unweighted = [i for i, step in enumerate(node.steps) if step.weight is None]
            for i in unweighted:
                at((*where, "steps", i), "a Splitter step needs a weight (KServe refuses one without)")
            total = sum(step.weight or 0 for step in node.steps)
            if not unweighted and total != 100:
                at((*where, "steps"), f"the weights of Splitter node {node_name!r} sum to {total}, not 100")
    cycle = find_cycle({name: [n for n in targets if n in spec.nodes] for name, targets in routes.items()})
    if cycle:
        at(("nodes", cycle[0]), "nodes route to each other in a cycle: " + " → ".join(cycle), key=True)
    return problems


def _model_problem(workspace: Workspace, name: str, env: str | None) -> str | None:
    """Why a step cannot reach model `name` in `env` (None: it can)."""
    files = {model.name: model for model in workspace.models}
    model = files.get(name)
    if model is None:
        known = sorted(files)
        listed = ", ".join(known) if known else "none in models/"
        return f"no model {name!r}{did_you_mean(name, known)} in the project (models: {listed})"
    if env is None:
        return None
    if not is_enabled(model, env):
        return (
            f"model {name!r} is disabled here (its environments.{env}.enabled: false), so the graph has no "
            f"InferenceService to reach; disable the graph here too (environments: {{{env}: {{enabled: false}}}})"
        )
    resolved = resolve(workspace, model, env)
    serving = resolved.spec.serving if resolved is not None else None
    if serving is None or serving.engine != "kserve":
        what = "does not serve" if serving is None else f"serves with engine: {serving.engine}"
        return (
            f"model {name!r} {what} here; a graph step reaches an InferenceService (engine: kserve): use serviceUrl "
            "for another endpoint"
        )
    return None


__all__ = [
    "ResolvedGraph",
    "check_graph",
    "check_workspace_graph",
    "graph_enabled",
    "graph_paths",
    "load_graphs",
    "parse_graph",
    "resolve_graph",
]
