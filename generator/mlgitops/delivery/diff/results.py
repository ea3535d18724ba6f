"""What a diff found: changed objects, model summaries, per environment (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mlgitops.delivery.git_repo import Revision
from mlgitops.util.errors import MlgitopsError
from mlgitops.util.kubenames import Obj

Status = Literal["added", "changed", "removed"]
Format = Literal["text", "markdown", "json"]
ObjectId = tuple[str, str, str, str]  # (group, kind, namespace, name)


class DiffError(MlgitopsError):
    """Any failure of `mlgitops diff` (exit 2, so CI can tell it from "there are changes")."""

    exit_code = 2


@dataclass
class Tracked:
    obj: Obj
    owner: str | None  # the model that renders it; None for the Namespace and base/platform objects


def object_id(obj: Obj) -> ObjectId:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", ""))


def describe(oid: ObjectId) -> str:
    """`serving.kserve.io/InferenceService ml-prod/fraud-detector` (core kinds without a group)."""
    group, kind, namespace, name = oid
    return f"{group + '/' if group else ''}{kind} {namespace + '/' if namespace else ''}{name}"


@dataclass
class ObjectChange:
    env: str
    status: Status
    oid: ObjectId
    before: Obj | None  # masked
    after: Obj | None  # masked
    owner: str | None
    diff: str = ""
    renamed_from: ObjectId | None = None
    renamed_to: ObjectId | None = None
    relabelled: bool = False
    """A training object (WorkflowTemplate, CronWorkflow) changed only in its own `app.kubernetes.io/version`
    label, as a model version bump leaves it: counted apart from "changed" (compare.RELABEL_KINDS)."""


@dataclass
class FieldChange:
    field: str
    old: str | None
    new: str | None


@dataclass
class ModelChange:
    env: str
    model: str
    status: Literal["added", "changed", "removed", "renamed"]
    summary: str
    changes: list[FieldChange]
    renamed_from: str | None = None


@dataclass
class EnvironmentDiff:
    name: str
    objects: list[ObjectChange] = field(default_factory=list)
    models: list[ModelChange] = field(default_factory=list)

    def count(self, status: Status) -> int:
        """Objects of that status; "changed" leaves out the relabelled ones."""
        return sum(1 for o in self.objects if o.status == status and not o.relabelled)

    @property
    def renamed(self) -> int:
        return sum(1 for o in self.objects if o.renamed_from is not None)

    @property
    def relabelled(self) -> int:
        return sum(1 for o in self.objects if o.relabelled)

    @property
    def changed(self) -> bool:
        return bool(self.objects)

    def counts_text(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in ("added", "changed", "removed") if self.count(s)]
        if self.renamed:
            parts.append(f"{self.renamed} renamed")
        if self.relabelled:
            parts.append(f"{self.relabelled} relabelled")
        return ", ".join(parts) or "no changes"


@dataclass
class DiffResult:
    base: Revision
    head: Revision
    environments: list[EnvironmentDiff]
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(env.changed for env in self.environments)
