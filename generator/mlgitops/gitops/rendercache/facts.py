"""The values the environment-wide files read from one model: its *facts*.

The files under `overlays/<env>/<model>/` and `base/models/<model>/` depend on that model alone (and
the project). Everything else `render` writes (`overlays/<env>/kustomization.yaml`, `overlays/_units/`,
`plugins/argocd/`, `plugins/flux/`) reads only these from each model:

- whether it renders in each environment, and whether with objects (`overlay_files`,
  `check_not_empty`, `deployunits.units`, the Argo CD Applications and Flux Kustomizations per unit);
- the (group, kind) of every object it renders anywhere (the AppProject whitelist, argocd.py);
- its `metadata.labels` (`deployment.per: group`, deployunits.py);
- the environments where it serves on GPUs (Flux's health timeout, flux.py `serves_gpu_model`);
- the identity of every object it renders in each environment: not read by those files, but
  `overlay.check_unique_objects` compares them across models, which a render of the changed models
  alone cannot.

The inference graphs (`graphs/`) read of each model only whether it renders in an environment and whether as
an InferenceService there: the presence and the identities above. Their own files are environment-wide
files (shared), and `graphs/` is part of the project key (inputs.py).

So when a changed model's facts equal the recorded ones, every environment-wide file is unchanged.
A new reader of models in those modules must add what it reads here; the randomised equality test
(tests/gitops/test_render_cache.py) compares incremental and full renders to catch a miss.

The same holds for a render split over forked workers (gitops/generate.py): the process writing the
environment-wide files has only each model's outline (`pipeline.outline`: the objects' apiVersion, kind,
name and labels, the model's labels and GPU environments), never the model itself, and a reader of
`workspace.models` there raises (tests/gitops/test_parallel_render.py compares with a render without
workers).
"""

from __future__ import annotations

from typing import Any

from mlgitops.language.loader import Workspace
from mlgitops.render.pipeline import ModelRender


def model_facts(workspace: Workspace, item: ModelRender) -> dict[str, Any]:
    """JSON-ready facts of one rendered model (equal facts: equal environment-wide files)."""
    presence: dict[str, str] = {}
    for env in workspace.project.environment_names:
        objects = item.environments.get(env)
        presence[env] = "absent" if objects is None else ("objects" if objects else "empty")
    kinds = sorted(
        {
            (obj["apiVersion"].rpartition("/")[0], obj["kind"])
            for objects in (item.base, *item.environments.values())
            for obj in objects or []
        }
    )
    # Identities per environment: a changed model taking another model's object name must reach the
    # full render, whose check_unique_objects refuses it (overlay.py). A smoke-test object's name ends in a
    # hash of its content (render/smoke.py), new with every version: it is recorded without the hash, which
    # no other object's name ends in (generated names never do; a template would have to compute it).
    identities = {
        env: sorted([obj["apiVersion"].rpartition("/")[0], obj["kind"], _stable_name(obj)] for obj in objects)
        for env, objects in sorted(item.environments.items())
        if objects
    }
    return {
        "environments": presence,
        "objects": identities,
        "kinds": [list(kind) for kind in kinds],
        "labels": dict(sorted(item.labels.items())),
        "gpu": list(item.gpu_environments),
    }


def _stable_name(obj: dict[str, Any]) -> str:
    from mlgitops.render.smoke import HASH_CHARS, SMOKE_COMPONENT

    name: str = obj["metadata"]["name"]
    labels = obj["metadata"].get("labels") or {}
    if labels.get("app.kubernetes.io/component") == SMOKE_COMPONENT and obj["kind"] in ("Job", "ConfigMap"):
        return name[:-HASH_CHARS]
    return name
