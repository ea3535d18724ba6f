"""The report as text, JSON and GitHub annotations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgitops.util.errors import Location, Problem
from mlgitops.util.textsafe import printable
from mlgitops.validate.report import Report

if TYPE_CHECKING:
    from mlgitops.validate.findinggroups import FindingGroup


def _summary(report: Report) -> str:
    schemas = []
    if report.kube_version:
        schemas.append(f"Kubernetes {report.kube_version}")
    schemas.append(f"{report.crd_files} CRD file(s)")
    envs = len(report.environments)
    counts = f"{report.models} model(s), {report.objects} object(s) in {envs} environment(s)"
    tail = f" ({', '.join(report.environments)}); schemas: {', '.join(schemas)}"
    if report.waived:
        tail += f"; {len(report.waived)} policy finding(s) waived"
    if report.errors:
        return f"invalid: {report.errors} error(s), {report.warnings} warning(s); {counts}{tail}"
    if report.warnings:
        return f"valid with {report.warnings} warning(s): {counts}{tail}"
    return f"valid: {counts}{tail}"


def format_text(report: Report) -> str:
    """One line per spec line (findingsgroups.py: one finding, or a group with a count), then a summary line."""
    from mlgitops.validate.findinggroups import group_findings

    lines = "".join(f"{printable(str(g))}\n" for g in group_findings(report.findings))
    return lines + printable(_summary(report)) + "\n"


def format_json(report: Report) -> str:
    data = {
        "valid": report.errors == 0,
        "errors": report.errors,
        "warnings": report.warnings,
        "models": report.models,
        "objects": report.objects,
        "environments": report.environments,
        "kubernetesVersion": report.kube_version,
        "crdFiles": report.crd_files,
        # Every finding; "group" is its line in the text format (findings from one spec line share it).
        "findings": [{**f.as_dict(), "group": n} for f, n in zip(report.findings, _group_numbers(report), strict=True)],
        "waived": [{**w.finding.as_dict(), "reason": w.reason, "waivedAt": str(w.waiver)} for w in report.waived],
    }
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def _group_numbers(report: Report) -> list[int]:
    from mlgitops.validate.findinggroups import group_numbers

    return group_numbers(report.findings)


def _without_location(group: FindingGroup) -> str:
    """A group's annotation text: the location is the annotation's own file/line."""
    text = group.summary()
    first = group.first
    if len(group.findings) == 1 and first.location:
        return text.removesuffix(f" ({first.location})")
    return text


def spec_problems_json(problems: list[Problem]) -> str:
    """Spec errors (the files could not even be loaded) in the `--format json` shape."""
    findings = []
    for p in problems:
        entry: dict[str, Any] = {"severity": "error", "id": "spec", "message": p.message}
        entry["file"] = p.location.path
        if p.location.line:
            entry.update(line=p.location.line, column=p.location.column)
        findings.append(entry)
    data = {"valid": False, "errors": len(findings), "warnings": 0, "findings": findings, "waived": []}
    return json.dumps(data, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _repo_prefix(root: Path) -> str:
    """The project root relative to its Git work tree (annotations name files from the repository root)."""
    current = root.resolve()
    for parent in (current, *current.parents):
        if (parent / ".git").exists():
            relative = current.relative_to(parent).as_posix()
            return "" if relative == "." else relative + "/"
    return ""


def _annotation(severity: str, title: str, message: str, location: Location | None, prefix: str) -> str:
    props = []
    if location is not None:
        props.append(f"file={_escape_property(prefix + location.path)}")
        if location.line:
            props.append(f"line={location.line}")
            props.append(f"col={location.column}")
    props.append(f"title={_escape_property(title)}")
    return f"::{severity} {','.join(props)}::{_escape_data(printable(message))}\n"


def format_github(report: Report, root: Path) -> str:
    """GitHub Actions workflow commands: one annotation per finding, then the summary as plain text."""
    prefix = _repo_prefix(root)
    from mlgitops.validate.findinggroups import group_findings

    lines = [
        _annotation(g.first.severity, f"mlgitops {g.first.check}", _without_location(g), g.first.location, prefix)
        for g in group_findings(report.findings)
    ]
    return "".join(lines) + printable(_summary(report)) + "\n"


def spec_problem_annotations(problems: list[Problem], root: Path) -> Iterator[str]:
    """Spec errors as GitHub annotations."""
    prefix = _repo_prefix(root)
    for p in problems:
        yield _annotation("error", "mlgitops spec", p.message, p.location, prefix)
