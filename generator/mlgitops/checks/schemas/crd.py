"""Offline schema validation of rendered Kubernetes objects against CustomResourceDefinitions.

`load_crd_schemas` reads a directory of CRD manifests (as upstream publishes them or as
`kubectl get crd -o yaml` prints them) and turns every `spec.versions[].schema.openAPIV3Schema`
into a strict JSON Schema, the way kubeconform's openapi2jsonschema does:

* `x-kubernetes-int-or-string: true` becomes `type: [integer, string]`;
* `nullable: true` also allows `null`;
* objects with `x-kubernetes-preserve-unknown-fields: true` stay open;
* every other object with `properties` gets `additionalProperties: false` (this catches typos),
  including the root object;
* `apiVersion`, `kind` and `metadata` at the root are left to the API server (only their JSON
  type is checked, and they are never required).

Not checked (the API server does): `format`, CEL `x-kubernetes-validations`, list-map key
uniqueness. Versions with `served: false` are skipped.

Only the files that may define a rendered kind are parsed, from libyaml's event stream
(`crdyaml`: ~0.1 s for the 2 MB KServe CRD, against ~0.8 s through PyYAML's constructor).
Converted schemas are also cached in memory and on disk (one JSON file per CRD file, keyed by the
sha256 of its content). `SchemaSet.validate` returns one `SchemaViolation` per problem, with a JSON
Pointer to the offending field; an object the compiled check (`quickcheck`) finds valid is not
walked by jsonschema at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from mlgitops.checks.schemas.crdyaml import load_all as load_all_fast
from mlgitops.checks.schemas.messages import SchemaViolation, violations
from mlgitops.checks.schemas.quickcheck import Checker, UndecidedError
from mlgitops.util.errors import MlgitopsError

JsonSchema = dict[str, Any]
SchemaKey = tuple[str, str]
"""(apiVersion, kind), e.g. ("serving.kserve.io/v1beta1", "InferenceService")."""

# Bump whenever the conversion changes: it is part of every on-disk cache file name.
_CACHE_FORMAT = 1
_CRD_SUFFIXES = (".yaml", ".yml", ".json")
_ROOT_FIELDS: dict[str, JsonSchema] = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"type": "object"},
}
# JSON Schema keywords copied unchanged from the OpenAPI v3 schema; everything else
# (descriptions, defaults, x-kubernetes-* markers, CEL rules, formats) is dropped.
_VALUE_KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minProperties",
        "maxProperties",
        "required",
    }
)
_LOGIC_KEYWORDS = ("anyOf", "oneOf", "allOf")
PARALLEL_MIN_BYTES = 32 * 1024 * 1024

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_KIND_WORD = re.compile(rb"""\bkind["']?\s*:\s*["']?([A-Za-z0-9]+)""")


class CrdSchemaError(MlgitopsError):
    """A CRD file cannot be read or is not a valid CRD manifest."""


@dataclass(frozen=True)
class _Entry:
    api_version: str
    kind: str
    schema: JsonSchema


class _LazyFile:
    """A CRD file whose schemas are converted on first use.

    `candidates` holds every word that follows a `kind:` key anywhere in the file (descriptions
    included), a cheap over-approximation of the kinds it defines: files that cannot define a kind
    are never parsed, which keeps `validate` from parsing megabytes of unrelated CRDs.
    """

    def __init__(self, path: Path, content: bytes) -> None:
        self.path = path
        self.content = content
        self.candidates = frozenset(m.decode() for m in _KIND_WORD.findall(content))
        self._entries: tuple[_Entry, ...] | None = None

    @property
    def pending(self) -> bool:
        return self._entries is None

    def entries(self) -> tuple[_Entry, ...]:
        if self._entries is None:
            self._entries = _load_content(self.path, self.content)
        return self._entries

    def load_from_caches(self) -> bool:
        """Take the conversion from the memory or disk cache, if there; True when found."""
        entries = _cached(self.content)[0]
        if entries is not None:
            self._entries = entries
        return entries is not None

    def store(self, entries: tuple[_Entry, ...]) -> None:
        """Keep a conversion made elsewhere (another process), and cache it like our own."""
        digest, cache_file = _cached(self.content)[1:]
        if cache_file:
            _write_cache(cache_file, digest, entries)
        _MEMO[digest] = entries
        self._entries = entries


class SchemaSet:
    """Strict JSON Schemas of custom resources, keyed by (apiVersion, kind)."""

    def __init__(self, schemas: Mapping[SchemaKey, JsonSchema] | None = None, files: Iterable[_LazyFile] = ()) -> None:
        self._schemas: dict[SchemaKey, JsonSchema] = dict(schemas or {})
        self._files = list(files)  # in name order: a later file wins
        self._validators: dict[SchemaKey, Draft7Validator] = {}
        self._checkers: dict[SchemaKey, Checker] = {}

    def _lookup(self, key: SchemaKey) -> JsonSchema | None:
        if key in self._schemas:
            return self._schemas[key]
        for lazy in reversed(self._files):
            if key[1] in lazy.candidates:
                for entry in lazy.entries():
                    if (entry.api_version, entry.kind) == key:
                        return entry.schema
        return None

    def _all(self) -> dict[SchemaKey, JsonSchema]:
        merged: dict[SchemaKey, JsonSchema] = {}
        for lazy in self._files:
            merged.update({(e.api_version, e.kind): e.schema for e in lazy.entries()})
        merged.update(self._schemas)
        return merged

    def prefetch(self, keys: Iterable[SchemaKey]) -> None:
        """Convert, in parallel processes, the not-yet-converted files that may define `keys`, when
        there are megabytes of them (`PARALLEL_MIN_BYTES`); else they convert on first use.

        Parsed from libyaml's events (schemas/crdyaml.py), the upstream CRDs of a typical render (KServe and
        three Argo Workflows files, 8 MB) convert in ~0.3 s: starting processes and sending the
        schemas back costs about what it saves. Warm starts (disk or memory cache) do no work here.
        """
        wanted = {kind for _api_version, kind in keys}
        todo = [f for f in self._files if f.pending and f.candidates & wanted]
        todo = [f for f in todo if not f.load_from_caches()]
        workers = min(len(todo), os.cpu_count() or 1)
        if workers < 2 or sum(len(f.content) for f in todo) < PARALLEL_MIN_BYTES:
            return
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_convert_file, [(f.path, f.content) for f in todo]))
        for lazy, entries in zip(todo, results, strict=True):
            lazy.store(entries)

    @property
    def file_count(self) -> int:
        """How many CRD files the set was read from."""
        return len(self._files)

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:
        return f"SchemaSet({len(self._files)} files)"

    def has(self, api_version: str, kind: str) -> bool:
        """Whether a schema for this apiVersion (group/version) and kind is known."""
        return self._lookup((api_version, kind)) is not None

    def kinds(self) -> list[SchemaKey]:
        """All known (apiVersion, kind) pairs, sorted (converts every file)."""
        return sorted(self._all())

    def schema(self, api_version: str, kind: str) -> JsonSchema:
        """The converted JSON Schema (shared, do not mutate); KeyError if unknown."""
        found = self._lookup((api_version, kind))
        if found is None:
            raise KeyError((api_version, kind))
        return found

    def validate(self, obj: Mapping[str, Any]) -> list[SchemaViolation]:
        """Validate one object; KeyError if its apiVersion/kind has no schema (check `has`)."""
        key = (str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        validator = self._validators.get(key)
        if validator is None:
            schema = self._lookup(key)
            if schema is None:
                raise KeyError(f"no CRD schema for apiVersion {key[0]!r}, kind {key[1]!r}")
            validator = Draft7Validator(schema)
            self._validators[key] = validator
            self._checkers[key] = Checker(schema)
        try:
            if self._checkers[key].valid(obj):
                return []  # nothing for jsonschema to report (schemas/quickcheck.py)
        except UndecidedError:
            pass
        found: set[SchemaViolation] = set()
        error: ValidationError
        for error in validator.iter_errors(obj):
            found.update(violations(error))
        return sorted(found)


# --------------------------------------------------------------------------- loading


_MEMO: dict[str, tuple[_Entry, ...]] = {}


def clear_memory_cache() -> None:
    """Forget the in-process cache of converted CRD files (the disk cache is kept)."""
    _MEMO.clear()


def cache_dir() -> Path | None:
    """Where converted schemas are cached: $MLGITOPS_CACHE_DIR, $XDG_CACHE_HOME/mlgitops, ~/.cache."""
    explicit = os.environ.get("MLGITOPS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg) / "mlgitops"
    try:
        return Path.home() / ".cache" / "mlgitops"
    except RuntimeError:  # no home directory can be determined
        return None


PROJECT_CRDS_DIR = "crds"


def project_crd_dir(root: Path) -> Path | None:
    """The project's `crds/` when it holds CRD files (`validate` reads it unless `--crds` is given)."""
    directory = root / PROJECT_CRDS_DIR
    try:
        if any(p.suffix in _CRD_SUFFIXES and p.is_file() for p in directory.iterdir()):
            return directory
    except OSError:
        return None
    return None


def load_crd_schemas(directory: Path) -> SchemaSet:
    """Read every *.yaml, *.yml and *.json CRD file in `directory` into a SchemaSet.

    Files are read now but parsed and converted only when one of their kinds is first needed.
    Non-CRD documents are ignored; `kind: List` documents are searched. If two files define the
    same apiVersion and kind, the later file (in name order) wins.
    """
    try:
        files = sorted(p for p in directory.iterdir() if p.suffix in _CRD_SUFFIXES and p.is_file())
    except OSError as e:
        raise CrdSchemaError(f"{directory}: cannot list CRD directory: {e.strerror or e}") from e
    lazy = []
    for path in files:
        try:
            lazy.append(_LazyFile(path, path.read_bytes()))
        except OSError as e:
            raise CrdSchemaError(f"{path}: cannot read CRD file: {e.strerror or e}") from e
    return SchemaSet(files=lazy)


def _cached(content: bytes) -> tuple[tuple[_Entry, ...] | None, str, Path | None]:
    """(cached conversion or None, content digest, disk cache file or None)."""
    digest = hashlib.sha256(content).hexdigest()
    directory = cache_dir()
    cache_file = directory / "crdschema" / f"v{_CACHE_FORMAT}-{digest}.json" if directory else None
    entries = _MEMO.get(digest)
    if entries is None and cache_file:
        entries = _read_cache(cache_file, digest)
        if entries is not None:
            _MEMO[digest] = entries
    return entries, digest, cache_file


def _convert_file(job: tuple[Path, bytes]) -> tuple[_Entry, ...]:
    path, content = job
    return tuple(_convert_documents(path, _parse(path, content)))


def _load_content(path: Path, content: bytes) -> tuple[_Entry, ...]:
    entries, digest, cache_file = _cached(content)
    if entries is None:
        entries = _convert_file((path, content))
        if cache_file:
            _write_cache(cache_file, digest, entries)
        _MEMO[digest] = entries
    return entries


def _parse(path: Path, content: bytes) -> list[Any]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CrdSchemaError(f"{path}: not UTF-8 text: {e.reason} at byte {e.start}") from e
    if path.suffix == ".json":
        try:
            return [json.loads(text)]
        except json.JSONDecodeError as e:
            raise CrdSchemaError(f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from e
    fast = load_all_fast(text)  # the same documents, several times faster (schemas/crdyaml.py)
    if fast is not None:
        return fast
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise CrdSchemaError(f"{where}: invalid YAML: {problem}") from e


def _convert_documents(path: Path, documents: Iterable[Any]) -> Iterator[_Entry]:
    for doc in documents:
        if not isinstance(doc, dict):
            continue
        kind = doc.get("kind")
        if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
            yield from _convert_documents(path, doc["items"])
        elif kind == "CustomResourceDefinition" and str(doc.get("apiVersion", "")).startswith("apiextensions.k8s.io/"):
            yield from _convert_crd(path, doc)


def _convert_crd(path: Path, crd: dict[str, Any]) -> Iterator[_Entry]:
    metadata = crd.get("metadata")
    name = metadata.get("name", "?") if isinstance(metadata, dict) else "?"

    def invalid(what: str) -> CrdSchemaError:
        return CrdSchemaError(f"{path}: CustomResourceDefinition {name}: {what}")

    spec = crd.get("spec")
    if not isinstance(spec, dict):
        raise invalid("spec is not a mapping")
    group, names = spec.get("group"), spec.get("names")
    if not isinstance(group, str) or not isinstance(names, dict) or not isinstance(names.get("kind"), str):
        raise invalid("spec.group or spec.names.kind is missing")
    kind: str = names["kind"]
    # apiextensions.k8s.io/v1beta1 CRDs may have one top-level schema for all versions.
    legacy = spec.get("validation")
    default_schema = legacy.get("openAPIV3Schema") if isinstance(legacy, dict) else None
    versions = spec.get("versions")
    if versions is None and isinstance(spec.get("version"), str):
        versions = [{"name": spec["version"]}]
    if not isinstance(versions, list):
        raise invalid("spec.versions is not a list")
    for version in versions:
        if not isinstance(version, dict) or not isinstance(version.get("name"), str):
            raise invalid("spec.versions[] entry without a name")
        if version.get("served") is False:
            continue
        holder = version.get("schema")
        schema = holder.get("openAPIV3Schema") if isinstance(holder, dict) else default_schema
        if schema is None:
            continue
        if not isinstance(schema, dict):
            raise invalid(f"version {version['name']}: openAPIV3Schema is not a mapping")
        yield _Entry(f"{group}/{version['name']}", kind, convert_openapi_schema(schema))


def convert_openapi_schema(schema: Mapping[str, Any]) -> JsonSchema:
    """Convert a CRD's root `openAPIV3Schema` to a strict Draft 7 JSON Schema (see module doc)."""
    out = _convert_node(schema, in_logic=False)
    properties = out.get("properties")
    if isinstance(properties, dict):
        properties.update(_ROOT_FIELDS)
    required = [r for r in out.get("required", ()) if r not in _ROOT_FIELDS]
    if required:
        out["required"] = required
    else:
        out.pop("required", None)
    return out


def _convert_node(node: Mapping[str, Any], *, in_logic: bool) -> JsonSchema:
    out: JsonSchema = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                str(name): _convert_node(sub, in_logic=in_logic) for name, sub in value.items() if isinstance(sub, dict)
            }
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = _convert_node(value, in_logic=in_logic or key == "not")
        elif key == "additionalProperties" and isinstance(value, bool):
            out[key] = value
        elif key in _LOGIC_KEYWORDS and isinstance(value, list):
            out[key] = [_convert_node(sub, in_logic=True) for sub in value if isinstance(sub, dict)]
        elif key in _VALUE_KEYWORDS:
            out[key] = value
    # OpenAPI 3.0 boolean exclusiveMinimum/Maximum modify minimum/maximum.
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if node.get(exclusive) is True and bound in out:
            out[exclusive] = out.pop(bound)
    if node.get("x-kubernetes-int-or-string") is True:
        out["type"] = ["integer", "string"]
        branches = out.get("anyOf")
        if isinstance(branches, list) and all(
            set(b) == {"type"} and b["type"] in ("integer", "string") for b in branches
        ):
            del out["anyOf"]  # the type list says the same, with a clearer error message
    if node.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            out["type"] = [*kind, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    properties = out.get("properties")
    if node.get("x-kubernetes-embedded-resource") is True and isinstance(properties, dict):
        for field, field_schema in _ROOT_FIELDS.items():
            properties.setdefault(field, dict(field_schema))
    # Inside anyOf/oneOf/allOf/not a structural schema may list only some of the properties,
    # so closing those branches would reject valid objects.
    if (
        properties is not None
        and not in_logic
        and "additionalProperties" not in out
        and node.get("x-kubernetes-preserve-unknown-fields") is not True
    ):
        out["additionalProperties"] = False
    return out


# --------------------------------------------------------------------------- disk cache


def _read_cache(cache_file: Path, digest: str) -> tuple[_Entry, ...] | None:
    try:
        with cache_file.open("rb") as f:
            data = json.load(f)
        if data.get("format") != _CACHE_FORMAT or data.get("sha256") != digest:
            return None
        entries = tuple(_Entry(e["apiVersion"], e["kind"], e["schema"]) for e in data["schemas"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None  # missing, unreadable or corrupt: convert again
    for entry in entries:
        if not (isinstance(entry.api_version, str) and isinstance(entry.kind, str) and isinstance(entry.schema, dict)):
            return None
    return entries


def _write_cache(cache_file: Path, digest: str, entries: tuple[_Entry, ...]) -> None:
    data = {
        "format": _CACHE_FORMAT,
        "sha256": digest,
        "schemas": [{"apiVersion": e.api_version, "kind": e.kind, "schema": e.schema} for e in entries],
    }
    tmp_name: str | None = None
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=cache_file.parent, prefix=".tmp-", suffix=".json", delete=False
        ) as f:
            tmp_name = f.name
            f.write(json.dumps(data, separators=(",", ":")))  # the C encoder; json.dump streams in Python
        os.replace(tmp_name, cache_file)
        tmp_name = None
    except OSError:
        pass  # read-only or full cache directory: caching is only an optimisation
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
