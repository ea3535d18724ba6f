"""The Markdown format of a diff: a pull-request comment within GitHub's size limit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from mlgitops.delivery.diff.results import DiffResult, EnvironmentDiff, describe
from mlgitops.delivery.diff.text import model_rows, plural
from mlgitops.util.kubenames import VERSION_LABEL
from mlgitops.util.textsafe import markdown_text, printable, printable_lines

MARKDOWN_BUDGET = 65_536  # GitHub's limit for one comment
MARKER = "<!-- mlgitops-diff -->"


def _html(text: str) -> str:
    """Text inside HTML (`<summary>`): tags and entities escaped, non-printables as escapes."""
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(text: str) -> str:
    """Text from specs in Markdown: shown literally, never as links, images, emphasis or HTML."""
    return markdown_text(text)


def _cell(text: str) -> str:
    return _text(text)


def _code(text: str) -> str:
    """Inline code that survives any backticks in `text` (non-printables escaped: one line)."""
    text = printable(text)
    ticks = "`" * (max((len(s) for s in _backtick_runs(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _backtick_runs(text: str) -> Iterable[str]:
    current = ""
    for char in text:
        if char == "`":
            current += "`"
        elif current:
            yield current
            current = ""
    if current:
        yield current


def _fence(body: str, info: str = "diff") -> tuple[str, str]:
    ticks = "`" * max(3, max((len(s) for s in _backtick_runs(body)), default=0) + 1)
    return f"{ticks}{info}\n", f"{ticks}\n"


@dataclass
class _Section:
    """A part of the comment that can be cut: fixed text around pieces kept in order while they fit."""

    name: str
    opening: str
    pieces: list[tuple[str, str]]  # (kind, text); kind "item" (a listed object), "row" or "diff"
    closing: str
    diff_titles: dict[int, tuple[str, str]] = field(default_factory=dict)  # piece index → (title, diff)

    def size(self) -> int:
        return len(self.opening) + sum(len(t) for _k, t in self.pieces) + len(self.closing)

    def render(self, allowance: int) -> tuple[str, Counter[str], bool]:
        """The text within `allowance`, what was left out by kind, and whether a diff was cut short."""
        left_out: Counter[str] = Counter()
        if len(self.opening) + len(self.closing) > allowance:
            left_out["section"] += 1
            for kind, _text in self.pieces:
                left_out[kind] += 1
            return "", left_out, False
        room = allowance - len(self.opening) - len(self.closing)
        parts = [self.opening]
        stopped = cut = False
        for index, (kind, text) in enumerate(self.pieces):
            if not stopped and len(text) <= room:
                parts.append(text)
                room -= len(text)
                continue
            if not stopped and index in self.diff_titles:
                title, body = self.diff_titles[index]
                partial = _diff_block(title, body, room)
                if partial:
                    parts.append(partial)
                    room -= len(partial)
                    cut = True
                    stopped = True
                    continue
            stopped = True
            left_out[kind] += 1
        parts.append(self.closing)
        return "".join(parts), left_out, cut


def _diff_block(title: str, diff: str, room: int) -> str:
    """The fenced diff block, whole, or cut at a line to fit `room` ("" when too little would fit)."""
    opening, closing = _fence(diff)
    head = f"{title}\n\n{opening}"
    whole = f"{head}{diff}\n{closing}\n"
    if len(whole) <= room:
        return whole
    lines = diff.split("\n")
    kept: list[str] = []
    size = len(head) + len(closing) + 1 + len(f"… {len(lines)} more lines not shown\n")
    for line in lines:
        if size + len(line) + 1 > room:
            break
        kept.append(line)
        size += len(line) + 1
    if len(kept) < 10:
        return ""
    note = f"… {len(lines) - len(kept)} more lines not shown\n"
    return f"{head}{chr(10).join(kept)}\n{note}{closing}\n"


def _allocate(sizes: list[int], available: int) -> list[int]:
    """Share `available` fairly: sections smaller than an equal share get all they need."""
    allowance = [0] * len(sizes)
    pending = sorted(range(len(sizes)), key=lambda i: sizes[i])
    while pending:
        share = available // len(pending)
        index = pending[0]
        if sizes[index] <= share:
            allowance[index] = sizes[index]
            available -= sizes[index]
            pending.pop(0)
            continue
        for index in pending:
            allowance[index] = share
        break
    return allowance


def _environment_section(env: EnvironmentDiff) -> _Section:
    pieces: list[tuple[str, str]] = []
    for status, heading in (("added", "Added"), ("removed", "Removed")):
        items = [o for o in env.objects if o.status == status]
        if not items:
            continue
        lines = []
        for o in items:
            line = f"- {_code(describe(o.oid))}"
            if o.renamed_from is not None:
                line += f" (renamed from {_code(describe(o.renamed_from))}; diff below)"
            elif o.renamed_to is not None:
                line += f" (renamed to {_code(describe(o.renamed_to))})"
            lines.append(line + "\n")
        lines[0] = f"**{heading}**\n\n{lines[0]}"
        lines[-1] += "\n"
        pieces.extend(("item", line) for line in lines)
    section = _Section(
        env.name,
        f"<details>\n<summary><b>{_html(env.name)}</b>: {_html(env.counts_text())}</summary>\n\n",
        pieces,
        "</details>\n\n",
    )
    relabelled = [o for o in env.objects if o.relabelled]
    if relabelled:
        lines = [f"- {_code(describe(o.oid))}\n" for o in relabelled]
        lines[0] = f"**Relabelled** (only {_code(VERSION_LABEL)} changed)\n\n{lines[0]}"
        lines[-1] += "\n"
        pieces.extend(("item", line) for line in lines)
    for o in env.objects:
        if (o.status != "changed" and o.renamed_from is None) or o.relabelled:
            continue
        verb = "Changed" if o.status == "changed" else "Renamed"
        title = f"#### {verb}: {_code(describe(o.oid))}"
        body = printable_lines(o.diff)
        section.diff_titles[len(section.pieces)] = (title, body)
        section.pieces.append(("diff", _diff_block(title, body, len(body) * 2 + 1_000)))
    return section


def _truncation_note(budget: int, left_out: dict[str, Counter[str]], cut: list[str]) -> str:
    parts: list[str] = list(cut)
    for name, counts in left_out.items():
        if name == "":
            parts.append(f"{counts['row']} model summary rows")
            continue
        if counts["section"]:
            parts.append(f"all of {name}")
            continue
        what = []
        if counts["diff"]:
            what.append(plural(counts["diff"], "diff"))
        if counts["item"]:
            what.append(plural(counts["item"], "listed object"))
        if what:
            parts.append(f"{name}: {', '.join(what)}")
    return (
        f"> **Truncated** to fit {budget:,} characters. Not shown: {'; '.join(parts)}. "
        "Run `mlgitops diff` locally (or with `--format json`) for the full diff.\n"
    )


def format_markdown(result: DiffResult, budget: int = MARKDOWN_BUDGET) -> str:
    head = [f"{MARKER}\n### mlgitops diff\n\n"]
    head.append(f"Base {_code(result.base.description)} → head {_code(result.head.description)}.\n\n")
    head.extend(f"> {_text(note)}\n\n" for note in result.notes)
    changed = [env for env in result.environments if env.changed]
    if not changed:
        head.append(f"No changes in {plural(len(result.environments), 'environment')}.\n")
        return "".join(head)
    head.append("| Environment | Added | Changed | Removed | Renamed |\n|---|---:|---:|---:|---:|\n")
    for env in changed:
        head.append(
            f"| {_cell(env.name)} | {env.count('added')} | {env.count('changed')} | "
            f"{env.count('removed')} | {env.renamed} |\n"
        )
    head.append("\n")
    unchanged = len(result.environments) - len(changed)
    if unchanged:
        head.append(f"{plural(unchanged, 'other environment')} unchanged.\n\n")

    sections: list[_Section] = []
    rows = model_rows(result)
    if rows:
        sections.append(
            _Section(
                "",
                "**Model changes**\n\n| Environment | Model | Change |\n|---|---|---|\n",
                [("row", f"| {_cell(e)} | {_cell(m)} | {_cell(s)} |\n") for e, m, s in rows],
                "\n",
            )
        )
    sections.extend(_environment_section(env) for env in changed)

    text = "".join(head)
    note_room = 600 + 80 * len(sections)
    allowance = _allocate([s.size() for s in sections], max(budget - len(text) - note_room, 0))
    left_out: dict[str, Counter[str]] = {}
    cut: list[str] = []
    body: list[str] = []
    for section, room in zip(sections, allowance, strict=True):
        rendered, missing, was_cut = section.render(room)
        body.append(rendered)
        if missing:
            left_out[section.name] = missing
        if was_cut:
            cut.append(f"the end of one diff in {section.name}")
    text += "".join(body)
    if left_out or cut:
        note = _truncation_note(budget, left_out, cut)
        if len(text) + len(note) + 1 > budget:  # many environments: a shorter note
            note = f"> **Truncated** to fit {budget:,} characters; run `mlgitops diff` to see it all.\n"
        text += "\n" + note
    return text
