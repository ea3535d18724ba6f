"""The three forms of a status report: text (one line per model; details for one model), JSON (for
other tools: keep the keys) and markdown (to post on a pull request)."""

from __future__ import annotations

import json
from typing import Any

from mlgitops.delivery.status.report import Drift, ModelStatus, StatusReport
from mlgitops.util.textsafe import printable


def _version(model: ModelStatus) -> str:
    text = f"v{model.version}" if model.version is not None else "-"
    if model.git_version is not None and model.git_version != model.version:
        text += f" (Git: v{model.git_version})"
    return text


def _canary(model: ModelStatus) -> str:
    if model.canary is None:
        return f"canary v{model.git_canary} not live" if model.git_canary else ""
    percent = model.canary.get("percent")
    return f"canary v{model.canary['version']}" + (f" {percent}%" if percent is not None else "")


def _ready(model: ModelStatus) -> str:
    if model.ready is None:
        return "-"
    return "ready" if model.ready else f"NOT READY ({model.reason})"


def _training(model: ModelStatus) -> str:
    run = model.training
    if not run:
        return ""
    if run["workflow"] is None:
        return "training: no run yet"
    text = f"training: {run['phase'] or 'Pending'}"
    if run.get("finishedAt"):
        text += f" {run['finishedAt']}"
    gates = run.get("gates")
    if gates and gates.get("verdict"):
        text += f", gates {gates['verdict']}"
    return text


def _drift(drift: list[Drift]) -> str:
    return f"drift: {len(drift)}" if drift else "no drift"


def _traffic(model: ModelStatus) -> str:
    parts = [f"{t.get('revision') or 'v' + str(t.get('version'))} {t.get('percent')}%" for t in model.traffic]
    return "traffic " + ", ".join(parts) if parts else ""


def _drift_line(d: Drift) -> str:
    if d.change != "changed":
        return f"{d.change}: {d.kind}/{d.name}"
    return f"changed: {d.kind}/{d.name} {d.path}: live {json.dumps(d.live)}, rendered {json.dumps(d.rendered)}"


def _revision(report: StatusReport) -> str:
    revision = report.revision
    if revision.applied is None:
        return f"revision: unknown ({revision.reason})"
    state = {True: "= HEAD", False: f"!= HEAD {(revision.head or '')[:12]}", None: ""}[revision.current]
    return f"revision: {revision.tool} applied {revision.applied[:12]} {state}".rstrip()


def text(report: StatusReport, detailed: bool) -> str:
    lines = [f"environment {report.environment}, {_revision(report)}"]
    for model in report.models:
        fields = [
            model.name,
            _version(model),
            _canary(model),
            _ready(model),
            _traffic(model),
            _training(model),
            _drift(model.drift),
        ]
        lines.append("  ".join(f for f in fields if f))
        if detailed:
            lines += [f"  {_drift_line(d)}" for d in model.drift]
    if report.platform_drift:
        lines.append(f"platform (base/platform): {_drift(report.platform_drift)}")
        lines += [f"  {_drift_line(d)}" for d in report.platform_drift] if detailed else []
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(printable(line) for line in lines) + "\n"


def markdown(report: StatusReport) -> str:
    def cell(value: str) -> str:
        return printable(value).replace("|", "\\|") or " "

    lines = [
        f"### mlgitops status: {cell(report.environment)}",
        "",
        cell(_revision(report)),
        "",
        "| model | version | canary | ready | traffic | training | drift |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in report.models:
        row = [m.name, _version(m), _canary(m), _ready(m), _traffic(m), _training(m), _drift(m.drift)]
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    drift = [(m.name, d) for m in report.models for d in m.drift]
    if drift:
        lines += ["", "<details><summary>drift</summary>", ""]
        lines += [f"- `{cell(name)}` {cell(_drift_line(d))}" for name, d in drift]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def as_json(report: StatusReport) -> str:
    data: dict[str, Any] = report.as_json()
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
