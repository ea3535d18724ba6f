"""One line per spec line: validate's findings grouped by where they come from.

A field of a model renders into every environment and often into several objects (each training
step, the canary), so one mistake becomes many findings that differ only in environment, object and
path. The text and GitHub formats show such findings once, with a count and the environments; the
JSON format keeps every finding and says which group (text line) it belongs to.

Findings group when they share severity, check, message and spec location (`file:line:col`);
findings without a spec line are never grouped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlgitops.validate.report import Finding

SHOWN_OBJECTS = 3
"""How many distinct objects a grouped line names before saying how many more there are."""


@dataclass(frozen=True)
class FindingGroup:
    findings: tuple[Finding, ...]

    @property
    def first(self) -> Finding:
        return self.findings[0]

    @property
    def environments(self) -> list[str]:
        return list(dict.fromkeys(f.environment for f in self.findings if f.environment))

    @property
    def objects(self) -> list[str]:
        return list(dict.fromkeys(f"{f.kind}/{f.name}" if f.name else f.kind for f in self.findings))

    def summary(self) -> str:
        """`Kind/a, Kind/b: message (file:line:col); 6 findings in dev, staging, prod` (subject first)."""
        first = self.first
        if len(self.findings) == 1:
            return f"{first.subject}: {first.message}" + (f" ({first.location})" if first.location else "")
        objects = self.objects
        named = ", ".join(objects[:SHOWN_OBJECTS])
        if len(objects) > SHOWN_OBJECTS:
            named += f" and {len(objects) - SHOWN_OBJECTS} more"
        envs = self.environments
        where = f" in {', '.join(envs)}" if envs else ""
        return f"{named}: {first.message} ({first.location}); {len(self.findings)} findings{where}"

    def __str__(self) -> str:
        return f"{self.first.severity} [{self.first.check}] {self.summary()}"


def _grouped_indices(findings: Sequence[Finding]) -> list[list[int]]:
    members: dict[object, list[int]] = {}
    for index, finding in enumerate(findings):
        location = finding.location
        key: object = (
            (finding.severity, finding.check, finding.message, location) if location and location.line else index
        )
        members.setdefault(key, []).append(index)
    return list(members.values())


def group_findings(findings: Sequence[Finding]) -> list[FindingGroup]:
    """The findings in groups, in the order each group's first finding appears."""
    return [FindingGroup(tuple(findings[i] for i in group)) for group in _grouped_indices(findings)]


def group_numbers(findings: Sequence[Finding]) -> list[int]:
    """For each finding (by position), the 1-based number of its group: its line in the text output."""
    numbers = [0] * len(findings)
    for number, group in enumerate(_grouped_indices(findings), start=1):
        for index in group:
            numbers[index] = number
    return numbers
