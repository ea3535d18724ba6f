"""Jsonnet addons over many (model, environment) pairs: chunks of bounded size, evaluated in waves of at most
as many children as cores, so a child's memory does not grow with the project (render/addons.py `chunked`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from mlgitops.render import addons
from mlgitops.render.addons import MAX_PAIRS_PER_CHUNK, AddonRequest, chunked, evaluate_addons
from mlgitops.util.errors import SpecError

TEMPLATE = """function(model, environment, project, settings={})
  if model.metadata.name == 'm5' && environment.name == 'prod' then error 'boom ' + model.metadata.name
  else [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: model.metadata.name + '-' + environment.name}}]
"""


@pytest.mark.parametrize(
    ("pairs", "children"),
    [(0, 2), (1, 1), (499, 1), (700, 2), (2000, 2), (3000, 2), (3001, 2), (10000, 2), (30000, 4), (5, 4)],
)
def test_chunks_are_bounded_and_keep_the_order(pairs: int, children: int) -> None:
    items: list[Any] = list(range(pairs))
    waves = chunked(items, children)
    assert [item for wave in waves for chunk in wave for item in chunk] == items
    assert all(1 <= len(wave) <= children for wave in waves)
    assert all(0 < len(chunk) <= MAX_PAIRS_PER_CHUNK for wave in waves for chunk in wave)
    # no more waves than the bound on chunk size needs (so no core waits while chunks are left)
    assert len(waves) == (math.ceil(pairs / (MAX_PAIRS_PER_CHUNK * children)) if pairs else 0)


def test_more_pairs_than_a_child_takes_are_evaluated_in_waves_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "named.jsonnet").write_text(TEMPLATE.replace("'m5'", "'none'"))
    monkeypatch.setattr(addons, "MAX_PAIRS_PER_CHUNK", 2)
    monkeypatch.setattr(addons, "PAIRS_PER_CHILD", 1)
    started: list[list[int]] = []
    evaluate = addons._evaluate_bounded

    def spy(root: Path, names: Any, chunks: list[list[Any]], project: str) -> list[Any]:
        started.append([len(chunk) for chunk in chunks])
        return evaluate(root, names, chunks, project)

    monkeypatch.setattr(addons, "_evaluate_bounded", spy)
    requests = [
        AddonRequest({"metadata": {"name": f"m{i}"}}, {"name": env}, {"named": {}})
        for i in range(4)
        for env in ("dev", "prod")
    ]
    results = evaluate_addons(tmp_path, {}, requests)
    assert [[obj["metadata"]["name"] for _, obj in found] for found in results] == [
        [f"m{i}-{env}"] for i in range(4) for env in ("dev", "prod")
    ]
    assert sum(map(sum, started)) == 8
    assert len(started) > 1  # more than one wave
    assert all(size <= 2 for wave in started for size in wave)


def test_a_problem_in_a_later_wave_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "named.jsonnet").write_text(TEMPLATE)
    monkeypatch.setattr(addons, "MAX_PAIRS_PER_CHUNK", 2)
    monkeypatch.setattr(addons, "PAIRS_PER_CHILD", 1)
    requests = [
        AddonRequest({"metadata": {"name": f"m{i}"}}, {"name": env}, {"named": {}})
        for i in range(8)
        for env in ("dev", "prod")
    ]
    with pytest.raises(SpecError, match="boom m5") as raised:
        evaluate_addons(tmp_path, {}, requests)
    assert [p.location.path for p in raised.value.problems] == ["templates/named.jsonnet"]
