"""What a spec directory may hold and what a spec may say before it is validated: the files of `models/` or
`graphs/` (anything else there is an error, not skipped), and text no generated file can carry."""

from __future__ import annotations

import os
from pathlib import Path

from mlgitops.util.confine import escape_problem
from mlgitops.util.errors import Location, Problem, SpecError
from mlgitops.util.yamlio import Document, unwritable


def spec_file_paths(
    root: Path, directory: str, suffix: str, kind: str, allowed: str
) -> tuple[list[str], list[Problem]]:
    """The `<name>SUFFIX` files of one spec directory (`models/`, `graphs/`), and a problem for everything else
    there but dot-files: whatever would be skipped silently is an error. `allowed` says what the directory holds."""
    folder = root / directory
    if not folder.exists() and not folder.is_symlink():
        return [], []
    escape = escape_problem(root, directory, f"{directory}/")
    if escape is not None:
        return [], [escape]
    if not folder.is_dir():
        return [], [Problem(Location(directory, 1, 1), f"not a directory; {allowed}")]
    paths: list[str] = []
    problems: list[Problem] = []
    for entry in sorted(folder.iterdir()):
        name = entry.name
        relative = f"{directory}/{name}"
        if name.startswith("."):
            continue
        if entry.is_dir():
            problems.append(
                Problem(
                    Location(relative, 1, 1),
                    f"a directory; {directory}/ is not read recursively: move its {kind}s up as "
                    f"{directory}/<name>{suffix}",
                )
            )
        elif name.endswith(suffix) and len(name) > len(suffix):
            paths.append(relative)
        else:
            stem, extension = os.path.splitext(name)
            fix = f"rename it to {stem}{suffix}" if extension.lower() in (".yaml", ".yml") else "move it elsewhere"
            problems.append(Problem(Location(relative, 1, 1), f"not read as a {kind}: {allowed}; {fix}"))
    return paths, problems


def refuse_unwritable_text(doc: Document) -> None:
    """Text no generated file can carry (yamlio.unwritable_reason), at the line that holds it."""
    problems = [Problem(doc.location(path, key=is_key), reason) for path, reason, is_key in unwritable(doc.data)]
    if problems:
        raise SpecError(problems)
