"""The text format of a diff (the terminal)."""

from __future__ import annotations

from mlgitops.delivery.diff.compare import relabel_summary
from mlgitops.delivery.diff.results import DiffResult, EnvironmentDiff, ObjectChange, describe
from mlgitops.util.textsafe import printable, printable_lines

GROUP_AT = 4  # this many models with the same summary line in one environment share one line


def model_rows(result: DiffResult) -> list[tuple[str, str, str]]:
    """(environment, models, summary): one row per model, or one per summary shared by many models."""
    rows: list[tuple[str, str, str]] = []
    for env in result.environments:
        by_summary: dict[str, list[str]] = {}
        for m in env.models:
            by_summary.setdefault(m.summary, []).append(m.model)
        done: set[str] = set()
        for m in env.models:
            names = by_summary[m.summary]
            if len(names) < GROUP_AT:
                rows.append((env.name, m.model, m.summary))
            elif m.summary not in done:
                done.add(m.summary)
                rows.append((env.name, f"{', '.join(names[:3])}, … ({len(names)} models)", m.summary))
    return rows


def _model_lines(result: DiffResult) -> list[str]:
    rows = [(printable(e), printable(m), printable(s)) for e, m, s in model_rows(result)]
    if not rows:
        return []
    env_width = max(len(r[0]) for r in rows)
    model_width = max((len(r[1]) for r in rows if len(r[1]) <= 40), default=0)  # grouped rows stick out
    return [f"{e.ljust(env_width)}  {m.ljust(model_width)}  {s}" for e, m, s in rows]


def _object_title(change: ObjectChange) -> str:
    mark = {"added": "+", "changed": "~", "removed": "-"}[change.status]
    title = f"{mark} {change.env}  {describe(change.oid)}"
    if change.renamed_from is not None:
        title += f"  (renamed from {describe(change.renamed_from)}; the old object is deleted)"
    elif change.renamed_to is not None:
        title += f"  (renamed to {describe(change.renamed_to)})"
    elif change.status != "changed":
        title += f"  ({change.status})"
    return printable(title)


def format_text(result: DiffResult) -> str:
    lines = [f"base  {printable(result.base.description)}", f"head  {printable(result.head.description)}"]
    lines.extend(f"note  {printable(note)}" for note in result.notes)
    lines.append("")
    changed = [env for env in result.environments if env.changed]
    if not changed:
        lines.append(f"no changes in {plural(len(result.environments), 'environment')}")
        return "\n".join(lines) + "\n"
    names = {env.name: printable(env.name) for env in changed}
    width = max(len("environment"), *(len(name) for name in names.values()))
    # The columns of the Markdown table; a rename is one added and one removed object, paired.
    lines.append(f"{'environment'.ljust(width)}  added  changed  removed  renamed")
    for env in changed:
        relabelled = f"  ({env.relabelled} relabelled)" if env.relabelled else ""
        lines.append(
            f"{names[env.name].ljust(width)}  {env.count('added'):>5}  {env.count('changed'):>7}  "
            f"{env.count('removed'):>7}  {env.renamed:>7}{relabelled}"
        )
    unchanged = len(result.environments) - len(changed)
    if unchanged:
        lines.append(f"({plural(unchanged, 'other environment')} unchanged)")
    models = _model_lines(result)
    if models:
        lines.append("")
        lines.extend(models)
    for env in changed:
        for change in env.objects:
            if change.relabelled:
                continue
            lines.append("")
            lines.append(_object_title(change))
            if change.diff:
                lines.append(printable_lines(change.diff))
        lines.extend(relabelled_lines(env))
    return "\n".join(lines) + "\n"


def relabelled_lines(env: EnvironmentDiff) -> list[str]:
    """One entry for the objects whose only change is the version label (no diff each)."""
    objects = [o for o in env.objects if o.relabelled]
    if not objects:
        return []
    moves = sorted({relabel_summary(o.before, o.after) for o in objects})
    title = f"~ {env.name}  {plural(len(objects), 'object')} relabelled, nothing else changed ({'; '.join(moves)})"
    return ["", printable(title), *(printable(f"    {describe(o.oid)}") for o in objects)]


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
