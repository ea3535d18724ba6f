"""Keys that Kustomize interprets, or that only mlgitops writes: refused wherever user content reaches
a rendered object.

What Kustomize deploys must be what `build`, `cmp generate`, `diff` and `validate` show. Kustomize
acts on some input instead of passing it through: an object annotated
`config.kubernetes.io/local-config: "true"` is dropped from every build (so Flux prunes it), the
`config.kubernetes.io/`, `internal.config.kubernetes.io/`, `kustomize.config.k8s.io/` and
`config.k8s.io/` annotations and labels carry its own bookkeeping, and map keys starting with `$`
(`$patch`, `$setElementOrder/...`, `$retainKeys`, `$deleteFromPrimitiveList/...`) are strategic-merge
directives. `lineage.mlgitops.io/` (and `*.lineage.mlgitops.io/`) annotations record what produced a
model; only the renderer writes them (lineage.py).

Where each source of user content is checked:

- `metadata.labels` / `metadata.annotations` of a model, and the training pods' `podMetadata`: the
  spec's key type (language/fields.py `ObjectKey`), positioned at the key;
- project `nodeClasses.*.affinity` (free-form): spec/project.py, at the field;
- `patches`: patches.apply_patches, at the op;
- Jsonnet addon output: addons._check_objects, at the object in the template;
- `base/platform/` resource files and kustomizations: platform_tree.check_platform, at the key.

This module imports nothing beyond the standard library (the CMP path loads it).
"""

from __future__ import annotations

from typing import Any

KUSTOMIZE_DOMAINS = ("config.kubernetes.io", "config.k8s.io")  # with subdomains (internal., kustomize.)
LINEAGE_DOMAIN = "lineage.mlgitops.io"

Path = tuple[str | int, ...]


def _domain(key: str) -> str | None:
    prefix, slash, _ = key.rpartition("/")
    return prefix if slash else None


def _within(prefix: str, domain: str) -> bool:
    return prefix == domain or prefix.endswith("." + domain)


def kustomize_key(key: str) -> str | None:
    """Why Kustomize would act on the label or annotation `key` (None: it passes it through)."""
    prefix = _domain(key)
    if prefix is None:
        return None
    for domain in KUSTOMIZE_DOMAINS:
        if _within(prefix, domain):
            return (
                f"{key[:120]!r}: Kustomize interprets {domain} keys itself (config.kubernetes.io/local-config "
                "drops the object from every build, so Flux would prune it); use a key of another domain"
            )
    return None


def lineage_key(key: str) -> str | None:
    """Why `key` may not be written by anyone but the renderer (None: it may)."""
    prefix = _domain(key)
    if prefix is not None and _within(prefix, LINEAGE_DOMAIN):
        return (
            f"{key[:120]!r}: {LINEAGE_DOMAIN} keys record what produced the model and only mlgitops writes them "
            "(from model.runId, data and training); remove it"
        )
    return None


def metadata_key(key: str) -> str | None:
    """Why a label or annotation key from user content is refused (None: accepted)."""
    return kustomize_key(key) or lineage_key(key)


def directive(key: str) -> str | None:
    """Why a map key is refused as a Kustomize strategic-merge directive (None: it is not one)."""
    if key.startswith("$"):
        return (
            f"{key[:120]!r}: a key starting with '$' is a Kustomize strategic-merge directive ($patch, "
            "$setElementOrder, $retainKeys, $deleteFromPrimitiveList), which Kustomize acts on instead of "
            "deploying; remove it"
        )
    return None


def directive_in(value: Any) -> tuple[Path, str] | None:
    """The first `$` key anywhere in `value` (path to it, message), walked without recursion."""
    pending: list[tuple[Path, Any]] = [((), value)]
    while pending:
        path, node = pending.pop()
        if isinstance(node, dict):
            for key in node:
                message = directive(key) if isinstance(key, str) else None
                if message is not None:
                    return (*path, key), message
            pending.extend(((*path, key), node[key]) for key in reversed(list(node)))
        elif isinstance(node, list):
            pending.extend(((*path, index), item) for index, item in reversed(list(enumerate(node))))
    return None


def metadata_problem(obj: Any) -> tuple[Path, str] | None:
    """A reserved key in the object's own `metadata.labels` or `metadata.annotations`."""
    metadata = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(metadata, dict):
        return None
    for field in ("labels", "annotations"):
        values = metadata.get(field)
        if isinstance(values, dict):
            for key in values:
                message = metadata_key(key) if isinstance(key, str) else None
                if message is not None:
                    return ("metadata", field, key), message
    return None


def object_problem(obj: Any) -> tuple[Path, str] | None:
    """What Kustomize would act on in a whole object from user content (an addon's, a platform file's)."""
    return metadata_problem(obj) or directive_in(obj)
