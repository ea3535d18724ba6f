"""What the hand-written `base/platform/` holds, read from its files without running Kustomize.

`render` needs the kinds (and, for cluster-scoped kinds, the names) of these objects to write the
AppProject's whitelists, and it must stay fast and offline: so this reads `apiVersion`, `kind` and
`metadata.name` of each document in the resource files, and the `configMapGenerator` and
`secretGenerator` entries, that the confinement walk (`platform_tree.check_platform`) found while
following `resources`, `bases` and `components`. A whitelist computed from a part of the platform
would make Argo CD refuse the rest, so anything unreadable is a positioned error; remote and
out-of-tree paths are refused by that same walk, which every build uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from mlgitops.layout.platform_tree import check_platform
from mlgitops.util.errors import Location, SpecError
from mlgitops.util.kubekinds import CLUSTER_SCOPED_KINDS
from mlgitops.util.paths import PLATFORM_DIR


@dataclass(frozen=True, order=True)
class PlatformObject:
    group: str
    kind: str
    name: str
    location: Location

    @property
    def cluster_scoped(self) -> bool:
        return (self.group, self.kind) in CLUSTER_SCOPED_KINDS


def _documents(root: Path, relative: str) -> list[PlatformObject]:
    path = root / relative
    try:
        nodes = list(yaml.compose_all(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError.at(Location(relative, 1, 1), f"cannot read: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError.at(Location(relative, line, column), f"not valid YAML: {exc.problem}") from None
    found: list[PlatformObject] = []
    for node in nodes:
        if node is None:
            continue
        # constructed from the node itself: an empty document (`---` right after `---`, which Kustomize
        # skips) is a null scalar node, and serializing that one gives `...`, which no loader reads back
        data = yaml.SafeLoader("").construct_document(node)
        if not isinstance(data, dict) or not data.get("kind"):
            continue
        api_version = str(data.get("apiVersion", ""))
        metadata = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
        where = Location(relative, node.start_mark.line + 1, node.start_mark.column + 1)
        group = api_version.rpartition("/")[0]
        if data["kind"].endswith("List") and isinstance(data.get("items"), list):
            for item in data["items"]:
                if isinstance(item, dict) and item.get("kind"):
                    item_meta = item["metadata"] if isinstance(item.get("metadata"), dict) else {}
                    found.append(
                        PlatformObject(
                            str(item.get("apiVersion", "")).rpartition("/")[0],
                            str(item["kind"]),
                            str(item_meta.get("name", "")),
                            where,
                        )
                    )
            continue
        found.append(PlatformObject(group, str(data["kind"]), str(metadata.get("name", "")), where))
    return found


def platform_objects(root: Path) -> list[PlatformObject]:
    """The objects `base/platform/` declares (empty when there is no such directory).

    The confinement check (`platform_tree.check_platform`) walks the kustomizations once, refusing
    anything remote or outside, and hands back the resource files and generated objects it found.
    """
    if not (root / PLATFORM_DIR).is_dir():
        return []
    tree = check_platform(root)
    found: list[PlatformObject] = []
    for relative in tree.resource_files:
        found.extend(_documents(root, relative))
    found.extend(PlatformObject("", kind, name, where) for kind, name, where in tree.generated)
    return found
