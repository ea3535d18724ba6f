"""Offline schema validation of built-in Kubernetes kinds (Deployment, Service, ...).

The schemas come from the `kubernetes-validate` package (the `validate` extra), which ships the
Kubernetes OpenAPI schemas of many releases as JSON Schema, including "strict" variants that set
`additionalProperties: false` everywhere, so a misspelt field is an error rather than silently
pruned by the API server. We use the strict variant.

Its own `validate()` stops at the first problem and re-reads the 1.8 MB definitions file for every
object, so we read the shipped files once per run and validate through `crd.SchemaSet`, which
reports every problem with a JSON Pointer and the same messages as for custom resources.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import lru_cache
from importlib import resources
from importlib.abc import Traversable
from typing import Any

from mlgitops.checks.schemas.crd import SchemaSet
from mlgitops.checks.schemas.messages import SchemaViolation
from mlgitops.util.errors import UsageError

__all__ = ["KubeSchemas", "available", "load_kube_schemas", "shipped_versions"]

PACKAGE = "kubernetes_validate"
_SCHEMA_DIR = "kubernetes-json-schema"
_DEFINITIONS_REF = "/api/_definitions.json#"
_VERSION_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$")
_REQUESTED = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?$")


def available() -> bool:
    """Whether the `kubernetes-validate` package is installed."""
    return importlib.util.find_spec(PACKAGE) is not None


def _root() -> Traversable:
    return resources.files(PACKAGE).joinpath(_SCHEMA_DIR)


@lru_cache(maxsize=1)
def shipped_versions() -> tuple[tuple[int, int], ...]:
    """(major, minor) of every Kubernetes release the installed package has strict schemas for."""
    found = set()
    for entry in _root().iterdir():
        match = _VERSION_DIR.match(entry.name)
        if match and entry.is_dir():
            found.add((int(match[1]), int(match[2])))
    return tuple(sorted(found))


def _version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _choose(requested: str | None) -> tuple[int, int]:
    versions = shipped_versions()
    if not versions:
        raise UsageError(f"the installed {PACKAGE} package ships no Kubernetes schemas")
    if requested is None:
        return versions[-1]
    match = _REQUESTED.match(requested.strip())
    if not match:
        raise UsageError(f"--kube-version {requested}: expected MAJOR.MINOR, like 1.34")
    wanted = (int(match[1]), int(match[2]))
    if wanted not in versions:
        shipped = f"{_version_text(versions[0])} to {_version_text(versions[-1])}"
        raise UsageError(
            f"--kube-version {requested}: no schemas for Kubernetes {_version_text(wanted)} "
            f"(this kubernetes-validate ships {shipped})"
        )
    return wanted


def _file_name(api_version: str, kind: str) -> str:
    """`apps/v1`, `Deployment` → `deployment-apps-v1.json` (the package's naming scheme)."""
    group, _, version = api_version.rpartition("/")
    short_group = group.split(".", 1)[0]
    stem = f"{kind.lower()}-{short_group}-{version}" if group else f"{kind.lower()}-{version}"
    return f"{stem}.json"


def _rewrite_refs(node: Any) -> Any:
    """Point `$ref`s at the definitions embedded in the same document (`#/$defs/...`) and drop
    `$id`, `$schema` and descriptions (an inner `$id` would change what `#` refers to)."""
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(_DEFINITIONS_REF):
            out[key] = "#" + value[len(_DEFINITIONS_REF) :]
        elif key in ("$id", "$schema", "description") and not isinstance(value, dict):
            continue
        elif key in ("properties", "patternProperties", "$defs") and isinstance(value, dict):
            # keys here are field names (JSONSchemaProps has fields called description and $ref)
            out[key] = {name: _rewrite_refs(sub) for name, sub in value.items()}
        else:
            out[key] = _rewrite_refs(value)
    return out


class KubeSchemas:
    """Strict schemas of the built-in kinds of one Kubernetes release, loaded on demand."""

    def __init__(self, version: tuple[int, int]) -> None:
        self.version = _version_text(version)
        self._folder = _root().joinpath(f"v{version[0]}.{version[1]}.0-local-strict")
        self._definitions: dict[str, Any] | None = None
        self._sets: dict[tuple[str, str], SchemaSet | None] = {}

    def __repr__(self) -> str:
        return f"KubeSchemas({self.version})"

    def _set(self, api_version: str, kind: str) -> SchemaSet | None:
        key = (api_version, kind)
        if key in self._sets:
            return self._sets[key]
        found: SchemaSet | None = None
        entry = self._folder.joinpath(_file_name(api_version, kind))
        if entry.is_file():
            schema = json.loads(entry.read_text(encoding="utf-8"))
            group, _, version = api_version.rpartition("/")
            # The file name drops the group's domain: make sure this is the same group and kind
            # (a CRD group like autoscaling.example.com must not match autoscaling/v2).
            gvks = schema.get("x-kubernetes-group-version-kind") or []
            wanted = (group, version, kind)
            if any((g.get("group", ""), g.get("version"), g.get("kind")) == wanted for g in gvks):
                converted = _rewrite_refs(schema)
                converted["$defs"] = self._defs()
                found = SchemaSet({key: converted})
        self._sets[key] = found
        return found

    def _defs(self) -> dict[str, Any]:
        if self._definitions is None:
            data = json.loads(self._folder.joinpath("_definitions.json").read_text(encoding="utf-8"))
            defs = data.get("$defs", {})
            self._definitions = {name: _rewrite_refs(value) for name, value in defs.items()}
        return self._definitions

    def has(self, api_version: str, kind: str) -> bool:
        """Whether this is a built-in kind of this release."""
        return self._set(api_version, kind) is not None

    def validate(self, obj: dict[str, Any]) -> list[SchemaViolation]:
        """Every schema problem of one object; KeyError for a kind that is not built in (check `has`)."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        schemas = self._set(api_version, kind)
        if schemas is None:
            raise KeyError(f"no Kubernetes {self.version} schema for {api_version!r}, kind {kind!r}")
        return schemas.validate(obj)


def load_kube_schemas(version: str | None = None) -> KubeSchemas | None:
    """Schemas for Kubernetes `version` (MAJOR.MINOR; default: the newest shipped), or None when the
    `kubernetes-validate` package is not installed. UsageError for a release it does not ship."""
    if not available():
        return None
    return KubeSchemas(_choose(version))
