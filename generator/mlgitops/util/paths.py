"""Where things are in a project: the hand-written inputs and the directories mlgitops generates."""

from __future__ import annotations

PROJECT_FILE = "mlgitops.yaml"
MODELS_DIR = "models"
MODEL_SUFFIX = ".yaml"
GRAPHS_DIR = "graphs"  # inference graphs over the models
GRAPH_SUFFIX = ".yaml"
TEMPLATES_DIR = "templates"  # Jsonnet addons
PLATFORM_DIR = "base/platform"  # hand-written, included by every overlay

BASE_MODELS_DIR = "base/models"
BASE_GRAPHS_DIR = "base/graphs"
OVERLAYS_DIR = "overlays"
# Inside overlays/<env>/: the graphs' overlays (a `_` no model name, a DNS label, can have).
OVERLAY_GRAPHS = "_graphs"
KUSTOMIZATION = "kustomization.yaml"
# The directories `render` owns and writes (layout/tree.py).
GENERATED_ROOTS = (BASE_MODELS_DIR, BASE_GRAPHS_DIR, OVERLAYS_DIR, "plugins/argocd", "plugins/flux")
