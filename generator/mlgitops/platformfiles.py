"""What the hand-written `base/platform/` holds, read from its files without running Kustomize.

`render` needs the kinds (and, for cluster-scoped kinds, the names) of these objects to write the
AppProject's whitelists, and it must stay fast and offline: so this follows the kustomization's
`resources` and `components` (files and directories), and its `configMapGenerator` and
`secretGenerator` entries, and reads `apiVersion`, `kind` and `metadata.name` of each document.
Anything it cannot read that way (a missing file) is a positioned error, since a whitelist computed
from a part of the platform would make Argo CD refuse the rest; remote and out-of-tree paths are
refused before, by the same confinement every build uses (`platform_tree`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from mlgitops.errors import Location, SpecError
from mlgitops.platform_tree import KUSTOMIZATION_NAMES, PLATFORM_DIR, check_platform
from mlgitops.yamlio import parse_document

# Built-in (and common add-on) kinds that are cluster-scoped; every other kind is taken as namespaced.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("apiregistration.k8s.io", "APIService"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("node.k8s.io", "RuntimeClass"),
        ("networking.k8s.io", "IngressClass"),
        ("argoproj.io", "ClusterWorkflowTemplate"),
        ("serving.kserve.io", "ClusterServingRuntime"),
        ("serving.kserve.io", "ClusterStorageContainer"),
    }
)


@dataclass(frozen=True, order=True)
class PlatformObject:
    group: str
    kind: str
    name: str
    location: Location

    @property
    def cluster_scoped(self) -> bool:
        return (self.group, self.kind) in CLUSTER_SCOPED_KINDS


def _kustomization_file(folder: Path) -> Path | None:
    for name in KUSTOMIZATION_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def _relative(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _documents(root: Path, path: Path) -> list[PlatformObject]:
    relative = _relative(root, path)
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
        data = yaml.safe_load(yaml.serialize(node))
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


def _folder(root: Path, folder: Path, seen: set[Path]) -> list[PlatformObject]:
    real = folder.resolve()
    if real in seen:
        return []
    seen.add(real)
    file = _kustomization_file(folder)
    if file is None:
        raise SpecError.at(Location(_relative(root, folder), 0, 0), "no kustomization.yaml in this directory")
    relative = _relative(root, file)
    doc = parse_document(file.read_text(encoding="utf-8"), relative)
    data = doc.data if isinstance(doc.data, dict) else {}
    found: list[PlatformObject] = []
    for key in ("resources", "components"):
        entries = data.get(key) or []
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            where = doc.location((key, index))
            target = (folder / str(entry)).resolve()  # local and inside base/platform: check_platform
            if target.is_dir():
                found.extend(_folder(root, target, seen))
            elif target.is_file():
                found.extend(_documents(root, target))
            else:
                raise SpecError.at(where, f"{entry!r} does not exist")
    for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        entries = data.get(key) or []
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            name = str(entry.get("name", "")) if isinstance(entry, dict) else ""
            found.append(PlatformObject("", kind, name, doc.location((key, index))))
    return found


def platform_objects(root: Path) -> list[PlatformObject]:
    """The objects `base/platform/` declares (empty when there is no such directory).

    The tree is confined first (`platform_tree.check_platform`: local paths inside base/platform only),
    so the walk below only follows paths already known to be safe.
    """
    folder = root / PLATFORM_DIR
    if not folder.is_dir():
        return []
    check_platform(root)
    return _folder(root, folder, set())
