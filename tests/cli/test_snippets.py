"""Every spec snippet in README.md and docs/*.md works when pasted into a fresh `mlgitops init` project.

Writing snippets (the convention this test enforces):

- Every fenced block whose info string starts with `yaml` is checked. Its first word is `yaml`; the
  second word (GitHub ignores it when highlighting) says what the block is:
  - ```` ```yaml ```` (nothing more): a whole spec file, `kind: Model`, `kind: Project` or `kind: Graph`. A
    Model is added to the project as `models/<metadata.name>.yaml`, a Graph as `graphs/<metadata.name>.yaml`;
    a Project replaces `mlgitops.yaml`.
  - ```` ```yaml model-fragment ````: part of a model spec, merged into init's example model.
  - ```` ```yaml project-fragment ````: part of `mlgitops.yaml`, merged into init's project.
  - ```` ```yaml not-spec ````: anything else (Kubernetes or Argo objects, rendered output, a
    kustomization); it must still parse as YAML.
- Merging: mappings merge key by key; a list of mappings that all have a `name` merges item by item
  on `name` (so an `environments:` or `steps:` fragment changes or adds one entry); any other value
  replaces what was there.
- The project is then rendered and validated (with the upstream CRDs); it must load, render and
  validate without errors. Placeholders such as `sha256:...`, GPU classes init does not define or
  service accounts without RBAC fail here, as they would for a reader who pasted them.
- Every fenced ```jsonnet block names its file, ```` ```jsonnet title="templates/<name>.jsonnet" ````, and
  is added to an init project under that name: what it imports must be in the init project (init writes
  `templates/lib/mlgitops.libsonnet`), and the project must render and validate with it.
- Every `addons:` mapping in a page (in any code block or inline code) names templates an init project
  has, or that a ```jsonnet block of the same page defines; a spec snippet naming such a template is checked
  with it.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlgitops.gitops.generate import render
from mlgitops.gitops.scaffold import InitOptions, init_project
from mlgitops.language.loader import load_workspace
from mlgitops.util.errors import MlgitopsError
from mlgitops.util.yamlio import dump, parse_document
from mlgitops.validate.report import ValidateOptions
from mlgitops.validate.run import validate_workspace
from tests.conftest import CRDS, REPO

KINDS = ("", "model-fragment", "project-fragment", "not-spec")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<ticks>`{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Snippet:
    source: str  # file:line of the opening fence
    kind: str
    text: str

    def __str__(self) -> str:
        return self.source


def extract(path: Path, language: str = "yaml") -> list[Snippet]:
    """The fenced ```yaml (or `language`) blocks of a Markdown file (indented ones in lists too)."""
    snippets: list[Snippet] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, ticks, info = match["indent"], match["ticks"], match["info"].split()
        end = index + 1
        while end < len(lines) and not re.match(rf"^\s*{ticks}\s*$", lines[end]):
            end += 1
        if info and info[0] == language:
            body = [line[len(indent) :] if line.startswith(indent) else line for line in lines[index + 1 : end]]
            kind = info[1] if len(info) > 1 else ""
            snippets.append(Snippet(f"{path.relative_to(REPO)}:{index + 1}", kind, "\n".join(body) + "\n"))
        index = end + 1
    return snippets


PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
SNIPPETS = [s for doc in PAGES for s in extract(doc)]
JSONNET = [s for doc in PAGES for s in extract(doc, "jsonnet")]
_TITLE = re.compile(r'^title="(templates/[a-z0-9-]+\.jsonnet)"$')
_ADDONS = re.compile(r"addons:\s*\{([^`\n]*)\}")
_IMPORT = re.compile(r"\bimport(?:str|bin)?\s+'([^']+)'")
SPEC_SNIPPETS = [s for s in SNIPPETS if s.kind != "not-spec"]


def merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    if _named_list(base) and _named_list(patch):
        items = {item["name"]: item for item in base}
        order = [item["name"] for item in base]
        for item in patch:
            if item["name"] not in items:
                order.append(item["name"])
            items[item["name"]] = merge(items.get(item["name"], {}), item)
        return [items[name] for name in order]
    return patch


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "name" in i for i in value)


@pytest.fixture(scope="module")
def fresh_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("init") / "ml-config"
    init_project(InitOptions(root, repo_url="https://github.com/acme/ml-config.git"))
    return root


def _paste(root: Path, snippet: Snippet) -> None:
    data = parse_document(snippet.text, snippet.source).data
    model_path = root / "models" / "example-classifier.yaml"
    project_path = root / "mlgitops.yaml"
    if snippet.kind == "":
        kind = data.get("kind") if isinstance(data, dict) else None
        assert kind in ("Model", "Project", "Graph"), (
            f"{snippet}: a ```yaml block is a whole Model, Project or Graph spec; tag a part of one "
            "`model-fragment` or `project-fragment`, anything else `not-spec` (see this test's docstring)"
        )
        if kind in ("Model", "Graph"):
            folder = root / ("models" if kind == "Model" else "graphs")
            folder.mkdir(exist_ok=True)
            (folder / f"{data['metadata']['name']}.yaml").write_text(snippet.text)
        else:
            project_path.write_text(snippet.text)
        return
    target = model_path if snippet.kind == "model-fragment" else project_path
    current = parse_document(target.read_text(), str(target)).data
    target.write_text(dump(merge(current, data)))


def test_every_yaml_block_is_tagged_with_a_known_kind() -> None:
    assert SNIPPETS, "no ```yaml blocks found in README.md and docs/"
    unknown = [f"{s} ({s.kind})" for s in SNIPPETS if s.kind not in KINDS]
    assert not unknown, f"unknown snippet kinds (use one of {KINDS[1:]} or none): {unknown}"


@pytest.mark.parametrize("snippet", [s for s in SNIPPETS if s.kind == "not-spec"], ids=str)
def test_other_yaml_blocks_parse(snippet: Snippet) -> None:
    parse_document(snippet.text, snippet.source)


@pytest.mark.parametrize("snippet", SPEC_SNIPPETS, ids=str)
def test_spec_snippet_renders_and_validates_in_an_init_project(
    snippet: Snippet, fresh_project: Path, tmp_path: Path
) -> None:
    root = tmp_path / "ml-config"
    shutil.copytree(fresh_project, root, symlinks=True)
    page = snippet.source.rpartition(":")[0]
    data = parse_document(snippet.text, snippet.source).data
    named = set(data.get("addons") or {}) if isinstance(data, dict) else set()
    for template in JSONNET:  # a template the snippet's `addons` names, defined by a ```jsonnet block of its page
        path = _template_path(template)
        if template.source.startswith(f"{page}:") and Path(path).stem in named:
            (root / path).write_text(template.text)
    _paste(root, snippet)
    try:
        render(root)
        report = validate_workspace(load_workspace(root), ValidateOptions(crds=(CRDS,), compare_base=False))
    except MlgitopsError as exc:
        pytest.fail(f"{snippet}: pasted into an init project, it fails:\n{exc}")
    errors = [str(f) for f in report.findings if f.severity == "error"]
    assert not errors, f"{snippet}: pasted into an init project, validate finds:\n" + "\n".join(errors)


def test_the_readme_model_is_checked_whole() -> None:
    """The README's model example is the first thing a reader pastes: it must be a whole Model."""
    readme = [s for s in SNIPPETS if s.source.startswith("README.md") and s.kind == ""]
    assert any("kind: Model" in s.text for s in readme)


def test_merge_of_named_lists_changes_one_entry() -> None:
    base = {"environments": [{"name": "dev", "a": 1}, {"name": "prod", "a": 1}], "x": [1, 2]}
    patch = {"environments": [{"name": "prod", "a": 2}, {"name": "qa"}], "x": [3]}
    assert merge(base, patch) == {
        "environments": [{"name": "dev", "a": 1}, {"name": "prod", "a": 2}, {"name": "qa"}],
        "x": [3],
    }


def _template_path(snippet: Snippet) -> str:
    match = _TITLE.match(snippet.kind)
    assert match, f'{snippet}: a ```jsonnet block names its file: ```jsonnet title="templates/<name>.jsonnet"'
    return match[1]


def test_every_jsonnet_block_is_tagged_with_its_file() -> None:
    assert JSONNET, "no ```jsonnet blocks found in README.md and docs/"
    for snippet in JSONNET:
        _template_path(snippet)


@pytest.mark.parametrize("snippet", JSONNET, ids=str)
def test_jsonnet_snippet_imports_what_init_provides_and_renders(
    snippet: Snippet, fresh_project: Path, tmp_path: Path
) -> None:
    root = tmp_path / "ml-config"
    shutil.copytree(fresh_project, root, symlinks=True)
    for imported in _IMPORT.findall(snippet.text):
        assert (root / "templates" / imported).is_file(), (
            f"{snippet}: imports {imported!r}, which an init project does not have (templates/{imported})"
        )
    (root / _template_path(snippet)).write_text(snippet.text)
    try:
        render(root)
        report = validate_workspace(load_workspace(root), ValidateOptions(crds=(CRDS,), compare_base=False))
    except MlgitopsError as exc:
        pytest.fail(f"{snippet}: as {_template_path(snippet)} in an init project, it fails:\n{exc}")
    errors = [str(f) for f in report.findings if f.severity == "error"]
    assert not errors, f"{snippet}: in an init project, validate finds:\n" + "\n".join(errors)


def _addon_names(text: str) -> set[str]:
    names: set[str] = set()
    for match in _ADDONS.finditer(text):
        try:
            data = parse_document("{" + match[1] + "}", "addons").data
        except MlgitopsError:
            continue
        if isinstance(data, dict):
            names.update(str(key) for key in data)
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_named_addon_templates_exist_in_an_init_project_or_on_the_page(page: Path, fresh_project: Path) -> None:
    text = page.read_text(encoding="utf-8")
    known = {p.stem for p in (fresh_project / "templates").glob("*.jsonnet")}
    known |= {Path(_template_path(s)).stem for s in JSONNET if s.source.startswith(f"{page.relative_to(REPO)}:")}
    unknown = _addon_names(text) - known - {"NAME", "name", "<name>"}
    assert not unknown, f"{page.relative_to(REPO)}: addons name templates an init project lacks: {sorted(unknown)}"
