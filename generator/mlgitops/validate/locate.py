"""Where a finding comes from: the spec field, the addon template or the base/platform file behind a rendered value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from mlgitops.checks.sourcemap.dispatch import spec_source
from mlgitops.language.loader import ModelFile, Workspace
from mlgitops.language.model import Model
from mlgitops.language.resolve import resolve, spec_location
from mlgitops.render.model import object_key
from mlgitops.render.patches import patched_op
from mlgitops.util.errors import Location
from mlgitops.util.kubenames import Obj
from mlgitops.util.paths import PLATFORM_DIR
from mlgitops.util.yamlio import JsonPath

Locate = Callable[[Obj, JsonPath, "JsonPath | None"], "Location | None"]
"""(object, path inside it, spec path named by a policy) → where in the hand-written files."""


def model_locator(
    workspace: Workspace, model: ModelFile, env: str, addon_templates: dict[tuple[str, str, str], str] | None = None
) -> Locate:
    resolved = resolve(workspace, model, env)
    spec = resolved.spec if resolved is not None else model.spec

    def locate(obj: Obj, path: JsonPath, spec_path: JsonPath | None) -> Location | None:
        addon = _addon_location(workspace, spec, addon_templates, obj, path)
        if addon is not None:
            return addon
        if spec_path is not None:
            return spec_location(workspace, model, env, spec_path)
        source = spec_source(obj, path, spec, workspace.project, env)
        if source.in_project:
            return workspace.project_doc.location(source.path)
        return spec_location(workspace, model, env, source.path)

    return locate


def _addon_location(
    workspace: Workspace, spec: Model, templates: dict[tuple[str, str, str], str] | None, obj: Obj, path: JsonPath
) -> Location | None:
    """An addon object's field in its template (jsonnet_positions.py), unless the model's `patches` set it."""
    template = (templates or {}).get(object_key(obj))
    if template is None or (spec.patches and patched_op(spec.patches, obj, path) is not None):
        return None
    from mlgitops.render.jsonnet_positions import object_location

    file = f"templates/{template}.jsonnet"
    return object_location(workspace.root, file, obj, path) or Location(file, 1, 1)


def graph_locator(workspace: Workspace, name: str, env: str) -> Locate:
    """Findings on an inference graph's object, at the line of its graph file (or environment patch) that made
    the value (checks/sourcemap/graph.py)."""
    from mlgitops.checks.sourcemap.graph import graph_source
    from mlgitops.language.graph_resolve import resolve_graph

    graph = next(g for g in workspace.graphs if g.name == name)
    resolved = resolve_graph(workspace, graph, env) or resolve_graph(workspace, graph, None)
    assert resolved is not None

    def locate(obj: Obj, path: JsonPath, spec_path: JsonPath | None) -> Location | None:
        return resolved.spec_location(graph_source(obj, path, resolved.spec))

    return locate


def namespace_locator(workspace: Workspace, env: str) -> Locate:
    index = workspace.project.environment_names.index(env)

    def locate(obj: Obj, path: JsonPath, spec_path: JsonPath | None) -> Location | None:
        return workspace.project_doc.location(("environments", index, "namespace"))

    return locate


class PlatformFiles:
    """Where each hand-written base/platform object is defined, for `file:line` in findings."""

    def __init__(self, root: Path) -> None:
        self._nodes: dict[tuple[str, str], tuple[str, yaml.Node]] = {}
        folder = root / PLATFORM_DIR
        for path in sorted(folder.rglob("*")):
            if path.suffix not in (".yaml", ".yml") or not path.is_file():
                continue
            relative = path.relative_to(root).as_posix()
            try:
                nodes = list(yaml.compose_all(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue  # kustomize reported anything that matters
            for node in nodes:
                kind, name = _child(node, "kind"), _child(_child(node, "metadata"), "name")
                if isinstance(kind, yaml.ScalarNode) and isinstance(name, yaml.ScalarNode):
                    self._nodes.setdefault((kind.value, name.value), (relative, node))

    def locate(self, obj: Obj, path: JsonPath, spec_path: JsonPath | None) -> Location | None:
        found = self._nodes.get((str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))))
        if found is None:
            return None
        relative, node = found
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            node = child
        return Location(relative, node.start_mark.line + 1, node.start_mark.column + 1)


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                found: yaml.Node = value
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item: yaml.Node = node.value[part]
        return item
    return None
