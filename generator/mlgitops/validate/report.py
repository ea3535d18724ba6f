"""What `validate` reports: findings, waived findings, the options and the report that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgitops.checks.policies.catalog import Severity
from mlgitops.util.errors import Location
from mlgitops.util.paths import PLATFORM_DIR

PLATFORM = PLATFORM_DIR
"""The `environment` of findings about hand-written base/platform objects (shared by every environment)."""
SCHEMA = "schema"
NO_SCHEMA = "no-schema"
UNWRITABLE = "unwritable-text"  # text render refuses to write (yamlio.unwritable_reason)


@dataclass(frozen=True)
class Finding:
    """One problem with one rendered object (or, for `no-schema`, with one kind)."""

    severity: Severity
    check: str
    """A policy id, `schema` or `no-schema`."""
    environment: str
    api_version: str
    kind: str
    name: str
    path: str
    """JSON Pointer inside the object ("" for the whole object)."""
    message: str
    location: Location | None = None
    """The spec field (or hand-written file) the value came from."""

    @property
    def subject(self) -> str:
        """`env Kind/name /path` (the parts that apply)."""
        parts = [self.environment] if self.environment else []
        parts.append(f"{self.kind}/{self.name}" if self.name else f"{self.api_version} {self.kind}".strip())
        if self.path:
            parts.append(self.path)
        return " ".join(parts)

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"{self.severity} [{self.check}] {self.subject}: {self.message}{where}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity,
            "id": self.check,
            "environment": self.environment,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "path": self.path,
            "message": self.message,
        }
        if self.location is not None:
            out["file"] = self.location.path
            if self.location.line:
                out["line"] = self.location.line
                out["column"] = self.location.column
        return out


@dataclass(frozen=True)
class Waived:
    """A policy finding switched off by a `policies.disabled` entry."""

    finding: Finding
    reason: str
    waiver: Location


@dataclass(frozen=True)
class ValidateOptions:
    crds: tuple[Path, ...] = ()
    """Directories of CustomResourceDefinition manifests."""
    kube_version: str | None = None
    """Kubernetes MAJOR.MINOR for built-in kinds; None: the newest kubernetes-validate ships."""
    strict: bool = False
    """Kinds without a schema and warnings are errors."""
    base: str | None = None
    """Git revision deployed now, for checks of changes (`serving-mode-change`); None: diff's merge-base."""
    compare_base: bool = True
    """Compare with the base revision at all (skipped quietly outside Git or without commits)."""


@dataclass
class Report:
    findings: list[Finding]
    waived: list[Waived]
    environments: list[str]
    models: int
    objects: int
    kube_version: str | None
    crd_files: int
    notes: list[str] = field(default_factory=list)
    """One-line remarks for stderr (e.g. kubernetes-validate is not installed)."""

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0
