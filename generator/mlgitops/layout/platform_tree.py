"""The hand-written `base/platform/` tree, confined to itself before any Kustomize run reads it.

`kubectl kustomize` restricts only the files a kustomization *loads* (patches, generator files) to
its own directory (`--load-restrictor LoadRestrictionsRootOnly`, the default); `resources:` may
still name any directory on the machine, or a remote URL that Kustomize clones, and `helmCharts`,
`generators`, `transformers` and `validators` can run programs. So every kustomization reachable
from `base/platform/` is read here first and every path in it is checked:

- local paths only, and each one stays inside `base/platform/` (builds copy that directory alone
  into a scratch directory, so a path out of it could only lead out of the project);
- no remote resources, no Helm charts, no plugin fields;
- every symlink under `base/platform/` resolves inside the project;
- nothing Kustomize would act on instead of deploying (reserved.py): no `$` directive key in a
  resource file, no `config.kubernetes.io/`-like or `lineage.mlgitops.io/` label or annotation on a
  resource or in the kustomization's `commonLabels`, `commonAnnotations` and `labels`.

Only then is `base/platform/` copied (symlinks followed) into the scratch directory Kustomize runs in.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlgitops.util.confine import escape_problem
from mlgitops.util.errors import Location, Problem, SpecError
from mlgitops.util.paths import PLATFORM_DIR
from mlgitops.util.reserved import directive, metadata_key
from mlgitops.util.yamlio import Document, JsonPath, parse_document

# Kustomize's recognised kustomization file names (api/konfig/general.go).
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
# Fields that pull in Helm charts or KRM plugins (exec, containers): never allowed.
FORBIDDEN_FIELDS = (
    "helmCharts",
    "helmGlobals",
    "helmChartInflationGenerator",
    "generators",
    "transformers",
    "validators",
)
_LIST_OF_PATHS = ("crds", "configurations")
_LIST_OF_DIRS_OR_FILES = ("resources", "bases", "components")
_LIST_WITH_PATH = ("patches", "patchesJson6902", "replacements")
_GENERATORS = ("configMapGenerator", "secretGenerator")


@dataclass
class PlatformTree:
    """What a checked `base/platform/` declares: its resource files and its generated objects."""

    resource_files: list[str] = field(default_factory=list)  # project-relative, in walk order
    generated: list[tuple[str, str, Location]] = field(default_factory=list)  # (kind, name, where)


class _Walk:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []
        self.visited: set[str] = set()
        self.pending: list[str] = [PLATFORM_DIR]
        self.tree = PlatformTree()

    def problem(self, doc: Document, path: JsonPath, message: str) -> None:
        self.problems.append(Problem(doc.location(path), message))

    def local(self, doc: Document, path: JsonPath, folder: str, entry: Any, field: str) -> str | None:
        """The project-relative path of `entry` (relative to `folder`), or None after a problem."""
        if not isinstance(entry, str) or not entry.strip():
            self.problem(doc, path, f"{field}: expected a path, got {entry!r}")
            return None
        if "://" in entry or entry.startswith(("git@", "github.com/", "gitlab.com/", "bitbucket.org/")):
            self.problem(
                doc,
                path,
                f"{field}: {entry!r} is remote; base/platform may use only files inside base/platform "
                "(builds are offline and confined to the project)",
            )
            return None
        joined = posixpath.normpath(posixpath.join(folder, entry))
        if posixpath.isabs(entry) or not (joined == PLATFORM_DIR or joined.startswith(PLATFORM_DIR + "/")):
            self.problem(
                doc,
                path,
                f"{field}: {entry!r} leaves base/platform (it names {joined}); every file base/platform uses "
                "must be inside base/platform, which builds copy alone",
            )
            return None
        escape = escape_problem(self.root, joined, "it")
        if escape is not None:
            self.problem(doc, path, f"{field}: {entry!r}: {escape.message}")
            return None
        return joined

    def file(self, doc: Document, path: JsonPath, folder: str, entry: Any, field: str) -> None:
        joined = self.local(doc, path, folder, entry, field)
        if joined is not None and not (self.root / joined).is_file():
            self.problem(doc, path, f"{field}: {entry!r} is not a file in {folder}")

    def resource(self, doc: Document, path: JsonPath, folder: str, entry: Any, field: str) -> None:
        joined = self.local(doc, path, folder, entry, field)
        if joined is None:
            return
        target = self.root / joined
        if target.is_dir():
            self.pending.append(joined)
        elif target.is_file():
            self.tree.resource_files.append(joined)
        else:
            self.problem(
                doc,
                path,
                f"{field}: {entry!r} is not a file or directory in {folder} (remote resources are not allowed)",
            )

    def kustomization(self, folder: str) -> None:
        if folder in self.visited:
            return
        self.visited.add(folder)
        names = [name for name in KUSTOMIZATION_NAMES if (self.root / folder / name).is_file()]
        if not names:
            self.problems.append(Problem(Location(folder, 1, 1), "no kustomization.yaml in this directory"))
            return
        relative = f"{folder}/{names[0]}"
        try:
            text = (self.root / relative).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(Problem(Location(relative, 1, 1), f"cannot read: {exc}"))
            return
        doc = parse_document(text, relative)
        if not isinstance(doc.data, dict):
            self.problem(doc, (), "expected a Kustomization mapping")
            return
        self.fields(doc, folder, doc.data)

    def fields(self, doc: Document, folder: str, data: dict[str, Any]) -> None:
        self.reserved_labels(doc, data)
        for name in FORBIDDEN_FIELDS:
            if name in data:
                self.problems.append(
                    Problem(
                        doc.location((name,), key=True),
                        f"{name} is not allowed in base/platform (Helm charts and plugins run programs or "
                        "fetch from the network); commit the rendered objects instead",
                    )
                )
        for name in _LIST_OF_DIRS_OR_FILES:
            for index, entry in _items(data.get(name)):
                self.resource(doc, (name, index), folder, entry, name)
        for name in _LIST_OF_PATHS:
            for index, entry in _items(data.get(name)):
                self.file(doc, (name, index), folder, entry, name)
        for index, entry in _items(data.get("patchesStrategicMerge")):
            if not (isinstance(entry, str) and "\n" in entry):  # a multi-line entry is an inline patch
                self.file(doc, ("patchesStrategicMerge", index), folder, entry, "patchesStrategicMerge")
        for name in _LIST_WITH_PATH:
            for index, entry in _items(data.get(name)):
                if isinstance(entry, dict) and "path" in entry:
                    self.file(doc, (name, index, "path"), folder, entry["path"], name)
        openapi = data.get("openapi")
        if isinstance(openapi, dict) and "path" in openapi:
            self.file(doc, ("openapi", "path"), folder, openapi["path"], "openapi")
        for name, kind in zip(_GENERATORS, ("ConfigMap", "Secret"), strict=True):
            for index, generator in _items(data.get(name)):
                if not isinstance(generator, dict):
                    continue
                self.tree.generated.append((kind, str(generator.get("name", "")), doc.location((name, index))))
                for key in ("files", "envs"):
                    for item, entry in _items(generator.get(key)):
                        source = entry
                        if isinstance(entry, str) and "=" in entry:  # `key=path`
                            source = entry.partition("=")[2]
                        self.file(doc, (name, index, key, item), folder, source, f"{name}.{key}")
                if "env" in generator:
                    self.file(doc, (name, index, "env"), folder, generator["env"], f"{name}.env")

    def symlinks(self) -> None:
        top = self.root / PLATFORM_DIR
        for dirpath, dirnames, filenames in os.walk(top):
            for name in sorted(dirnames + filenames):
                full = Path(dirpath) / name
                relative = full.relative_to(self.root).as_posix()
                if full.is_symlink():
                    found = escape_problem(self.root, relative, "symlink")
                    if found is not None:
                        self.problems.append(found)
                        continue
                if not full.exists():
                    self.problems.append(Problem(Location(relative, 1, 1), "a symlink to nothing"))
                elif not (full.is_file() or full.is_dir()):  # follows an inside symlink
                    self.problems.append(
                        Problem(
                            Location(relative, 1, 1),
                            "a special file (FIFO, socket or device); base/platform holds only regular files",
                        )
                    )

    def reserved_labels(self, doc: Document, data: dict[str, Any]) -> None:
        """Labels and annotations the kustomization sets on every platform object (reserved.py)."""
        fields: list[tuple[JsonPath, Any]] = [
            ((name,), data.get(name)) for name in ("commonLabels", "commonAnnotations")
        ]
        fields += [
            (("labels", index, "pairs"), entry.get("pairs"))
            for index, entry in _items(data.get("labels"))
            if isinstance(entry, dict)
        ]
        for path, values in fields:
            if isinstance(values, dict):
                for key in values:
                    message = metadata_key(key) if isinstance(key, str) else None
                    if message is not None:
                        self.problem_key(doc, (*path, key), message)

    def problem_key(self, doc: Document, path: JsonPath, message: str) -> None:
        self.problems.append(Problem(doc.location(path, key=True), message))

    def resource_contents(self) -> None:
        """What Kustomize would act on in a resource file instead of deploying it (reserved.py)."""
        for relative in self.tree.resource_files:
            try:
                text = (self.root / relative).read_text(encoding="utf-8")
                nodes = list(yaml.compose_all(text, Loader=_LOADER))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue  # reported as unreadable where the objects are read (platformfiles, Kustomize)
            for node in nodes:
                found = _reserved_node(node)
                if found is not None:
                    mark, message = found
                    self.problems.append(Problem(Location(relative, mark.line + 1, mark.column + 1), message))
                    break


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _reserved_node(document: yaml.Node | None) -> tuple[yaml.Mark, str] | None:
    """The first `$` key anywhere in a composed document, or reserved key in its own metadata labels or
    annotations, with where its key is written (each node visited once: aliases are not expanded)."""
    if not isinstance(document, yaml.MappingNode):
        return None
    for key, value in document.value:
        if key.value == "metadata" and isinstance(value, yaml.MappingNode):
            for field, values in value.value:
                if field.value in ("labels", "annotations") and isinstance(values, yaml.MappingNode):
                    for name, _ in values.value:
                        message = metadata_key(str(name.value)) if isinstance(name, yaml.ScalarNode) else None
                        if message is not None:
                            return name.start_mark, message
    seen: set[int] = set()
    pending: list[yaml.Node] = [document]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                message = directive(str(key.value)) if isinstance(key, yaml.ScalarNode) else None
                if message is not None:
                    return key.start_mark, message
                pending.append(value)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
    return None


def _items(value: Any) -> list[tuple[int, Any]]:
    return list(enumerate(value)) if isinstance(value, list) else []


def check_platform(root: Path) -> PlatformTree:
    """Refuse a `base/platform/` tree that reaches outside itself, remotely, or into plugins.

    Returns what the tree declares, so readers of its objects (`platformfiles`) need no second walk.
    """
    top = escape_problem(root, PLATFORM_DIR, "base/platform")
    if top is not None:
        raise SpecError([top])
    walk = _Walk(root)
    walk.symlinks()
    if walk.problems:
        raise SpecError(walk.problems)
    while walk.pending:
        walk.kustomization(walk.pending.pop())
    if not walk.problems:
        walk.resource_contents()
    if walk.problems:
        raise SpecError(walk.problems)
    return walk.tree


def copy_platform(root: Path, destination: Path) -> None:
    """Check `base/platform/`, then copy it (symlinks followed) to the same place under `destination`."""
    check_platform(root)
    shutil.copytree(root / PLATFORM_DIR, destination / PLATFORM_DIR, symlinks=False)
