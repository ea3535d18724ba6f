"""docs/schema.json is the schema the bundled example's `yaml-language-server` comments point at: it must
exist and say exactly what `mlgitops schema` says."""

from __future__ import annotations

import re

from mlgitops.gitops.scaffold import schema_text
from tests.conftest import REPO

REGENERATE = ".venv/bin/mlgitops schema > docs/schema.json"


def test_docs_schema_is_current() -> None:
    committed = (REPO / "docs" / "schema.json").read_text()
    assert committed == schema_text(), f"docs/schema.json is out of date with mlgitops.language; run `{REGENERATE}`"


def test_example_spec_files_point_at_it() -> None:
    specs = [REPO / "mlgitops.yaml", *sorted((REPO / "models").glob("*.yaml"))]
    for spec in specs:
        first = spec.read_text().splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, f"{spec.relative_to(REPO)}: no yaml-language-server comment"
        assert (spec.parent / match[1]).resolve() == (REPO / "docs" / "schema.json").resolve()
