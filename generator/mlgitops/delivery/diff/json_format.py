"""The JSON format of a diff (`schemaVersion` 1; see the package docstring)."""

from __future__ import annotations

import json
from typing import Any

from mlgitops.delivery.diff.compare import canonical
from mlgitops.delivery.diff.results import DiffResult, ObjectId
from mlgitops.delivery.git_repo import Revision

SCHEMA_VERSION = 1


def _id_json(oid: ObjectId | None) -> dict[str, str] | None:
    if oid is None:
        return None
    group, kind, namespace, name = oid
    return {"group": group, "kind": kind, "namespace": namespace, "name": name}


def _revision_json(revision: Revision) -> dict[str, Any]:
    return {"label": revision.label, "commit": revision.commit, "description": revision.description}


def to_json(result: DiffResult) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "base": _revision_json(result.base),
        "head": _revision_json(result.head),
        "changed": result.changed,
        "notes": list(result.notes),
        "environments": [
            {
                "name": env.name,
                "added": env.count("added"),
                "changed": env.count("changed"),
                "removed": env.count("removed"),
                "renamed": env.renamed,
                "relabelled": env.relabelled,
                "models": [
                    {
                        "model": m.model,
                        "status": m.status,
                        "renamedFrom": m.renamed_from,
                        "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in m.changes],
                        "summary": m.summary,
                    }
                    for m in env.models
                ],
                "objects": [
                    {
                        "status": o.status,
                        **(_id_json(o.oid) or {}),
                        "model": o.owner,
                        "renamedFrom": _id_json(o.renamed_from),
                        "renamedTo": _id_json(o.renamed_to),
                        "relabelled": o.relabelled,
                        "before": canonical(o.before) if o.before is not None else None,
                        "after": canonical(o.after) if o.after is not None else None,
                        "diff": o.diff,
                    }
                    for o in env.objects
                ],
            }
            for env in result.environments
        ],
    }


def format_json(result: DiffResult) -> str:
    return json.dumps(to_json(result), indent=2, ensure_ascii=False) + "\n"
