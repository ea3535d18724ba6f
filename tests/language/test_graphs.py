"""`graphs/<name>.yaml` (issue 25): the Graph file kind is read strictly, patched per environment, and refused
with a position where KServe's InferenceGraph webhook would refuse it or where a step's model does not serve an
InferenceService in that environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgitops.language.graph_resolve import resolve_graph
from mlgitops.language.loader import load_workspace
from mlgitops.util.errors import SpecError
from tests.projects import model_yaml, project_yaml, write_project

MODELS = {
    "iris": model_yaml("iris", body="serving: {}\n"),
    "xgb": model_yaml("xgb", format="xgboost", body="serving: {}\n"),
    "solo": model_yaml("solo", body="serving: {}\nenvironments: {prod: {enabled: false}}\n"),
    "plain": model_yaml("plain", body="serving: {engine: deployment}\n"),
}
CHAIN = """\
apiVersion: mlgitops.io/v1alpha1
kind: Graph
metadata: {name: chain, owner: team-a}
nodes:
  root:
    routerType: Sequence
    steps:
    - {name: first, model: iris}
    - {name: second, model: xgb, data: $request}
environments:
  dev: {timeout: 30}
"""


def _project(root: Path, graphs: dict[str, str], models: dict[str, str] | None = None) -> Path:
    write_project(root, project_yaml("dev", "prod"), MODELS if models is None else models)
    (root / "graphs").mkdir()
    for name, text in graphs.items():
        (root / "graphs" / f"{name}.yaml").write_text(text)
    return root


def _problems(root: Path, graphs: dict[str, str]) -> list[str]:
    _project(root, graphs)
    with pytest.raises(SpecError) as caught:
        load_workspace(root)
    return [str(p) for p in caught.value.problems]


def _at(text: str, needle: str) -> str:
    """`graphs/…:LINE:COL` of the first occurrence of `needle` in the file."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return f"{number}:{line.index(needle) + 1}"
    raise AssertionError(needle)


def test_a_graph_loads_and_resolves_per_environment(tmp_path: Path) -> None:
    workspace = load_workspace(_project(tmp_path, {"chain": CHAIN}))
    [graph] = workspace.graphs
    assert graph.path == "graphs/chain.yaml"
    dev = resolve_graph(workspace, graph, "dev")
    prod = resolve_graph(workspace, graph, "prod")
    assert dev is not None and prod is not None
    assert (dev.spec.timeout, prod.spec.timeout) == (30, None)
    assert dev.spec_location(("timeout",)).line == 11  # the environment patch wrote it
    assert [s.model for s in prod.spec.nodes["root"].steps] == ["iris", "xgb"]


def test_a_partial_load_reads_no_graph(tmp_path: Path) -> None:
    _project(tmp_path, {"chain": CHAIN.replace("model: xgb", "model: nowhere")})
    assert load_workspace(tmp_path, only_model="iris").graphs == []  # a broken graph does not stop one model


def test_a_graph_disabled_in_an_environment_resolves_to_none(tmp_path: Path) -> None:
    text = CHAIN.replace("  dev: {timeout: 30}", "  dev: {enabled: false}")
    workspace = load_workspace(_project(tmp_path, {"chain": text}))
    assert resolve_graph(workspace, workspace.graphs[0], "dev") is None


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("model: xgb", "model: xbg", "xbg", "no model 'xbg' (did you mean 'xgb'?) in the project"),
        ("model: xgb", "model: solo", "solo", "model 'solo' is disabled here (its environments.prod.enabled: false)"),
        ("model: xgb", "model: plain", "plain", "model 'plain' serves with engine: deployment here"),
        ("{name: second, model: xgb", "{name: first, model: xgb", "first, model: xgb", "two steps named 'first'"),
        ("model: xgb, data", "model: xgb, nodeName: root, data", "{name: second",
         "exactly one target: model, nodeName, serviceName or serviceUrl (here: model and nodeName)"),
        ("  root:\n", "  start:\n", "nodes:", "no node named 'root'"),
        ("model: xgb, data", "nodeName: elsewhere, data", "elsewhere", "no node 'elsewhere'"),
        ("routerType: Sequence", "routerType: Splitter", "{name: first", "a Splitter step needs a weight"),
        ("data: $request}", "data: $request}\n  tail:\n    routerType: Sequence\n    steps: [{nodeName: root}]\n",
         "- {name: first", "unused"),
    ],
)  # fmt: skip
def test_graph_mistakes_are_refused_at_their_line(
    tmp_path: Path, old: str, new: str, needle: str, message: str
) -> None:
    text = CHAIN.replace(old, new)
    if message == "unused":  # a cycle: root → tail → root
        text = text.replace("- {name: first, model: iris}", "- {name: first, nodeName: tail}")
        needle, message = "root:", "nodes route to each other in a cycle: root → tail → root"
    problems = _problems(tmp_path, {"chain": text})
    assert any(p.startswith(f"graphs/chain.yaml:{_at(text, needle)}: ") and message in p for p in problems), problems


def test_splitter_weights_must_sum_to_100(tmp_path: Path) -> None:
    text = (
        CHAIN.replace("routerType: Sequence", "routerType: Splitter")
        .replace("model: iris}", "model: iris, weight: 20}")
        .replace("data: $request}", "weight: 70}")
    )
    assert _problems(tmp_path, {"chain": text}) == [
        f"graphs/chain.yaml:{_at(text, '- {name: first')}: the weights of Splitter node 'root' sum to 90, not 100"
    ]


def test_a_problem_only_an_environment_has_names_the_environments(tmp_path: Path) -> None:
    text = CHAIN.replace("  dev: {timeout: 30}", "  prod: {nodes: {root: {steps: [{model: solo}]}}}")
    [problem] = _problems(tmp_path, {"chain": text})
    assert problem.startswith(f"graphs/chain.yaml:{_at(text, 'solo}')}: model 'solo' is disabled here")
    assert problem.endswith("(in environment 'prod')")


def test_graph_file_mistakes(tmp_path: Path) -> None:
    assert _problems(tmp_path / "a", {"other": CHAIN}) == [
        f"graphs/other.yaml:{_at(CHAIN, 'chain')}: metadata.name 'chain' must match the file name 'other'"
    ]
    typo = CHAIN.replace("routerType: Sequence", "routerTyp: Sequence")
    assert any("routerTyp" in p for p in _problems(tmp_path / "b", {"chain": typo}))
    clash = CHAIN.replace("name: chain", "name: iris")
    assert _problems(tmp_path / "c", {"iris": clash})[0].startswith(f"graphs/iris.yaml:{_at(clash, 'iris,')}: graph")
    patch = CHAIN.replace("  dev: {timeout: 30}", "  staging: {timeout: 30}\n  dev: {serving: {}}")
    problems = _problems(tmp_path / "d", {"chain": patch})
    assert problems[0].startswith(f"graphs/chain.yaml:{_at(patch, 'staging')}: unknown environment 'staging'")
    assert "may set enabled, metadata, mode, nodes, replicas, resources, timeout; not 'serving'" in problems[1]


def test_anything_but_graph_files_in_graphs_is_refused(tmp_path: Path) -> None:
    _project(tmp_path, {"chain": CHAIN})
    (tmp_path / "graphs" / "notes.yml").write_text("x: 1\n")
    (tmp_path / "graphs" / ".gitkeep").write_text("")
    with pytest.raises(SpecError) as caught:
        load_workspace(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "graphs/notes.yml:1:1: not read as a graph: graphs/ holds only <name>.yaml graph specs (and dot-files such "
        "as .gitkeep); rename it to notes.yaml"
    ]


def test_a_directory_in_graphs_is_refused_as_models_refuses_one(tmp_path: Path) -> None:
    _project(tmp_path, {"chain": CHAIN})
    (tmp_path / "graphs" / "team.yaml").mkdir()  # a directory named like a graph file is still a directory
    with pytest.raises(SpecError) as caught:
        load_workspace(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "graphs/team.yaml:1:1: a directory; graphs/ is not read recursively: move its graphs up as graphs/<name>.yaml"
    ]
