"""Where things are in a project: the hand-written inputs and the directories mlgitops generates."""

from __future__ import annotations

PROJECT_FILE = "mlgitops.yaml"
MODELS_DIR = "models"
MODEL_SUFFIX = ".yaml"
TEMPLATES_DIR = "templates"  # Jsonnet addons
PLATFORM_DIR = "base/platform"  # hand-written, included by every overlay

BASE_MODELS_DIR = "base/models"
OVERLAYS_DIR = "overlays"
KUSTOMIZATION = "kustomization.yaml"
# The directories `render` owns and writes (layout/tree.py).
GENERATED_ROOTS = (BASE_MODELS_DIR, OVERLAYS_DIR, "plugins/argocd", "plugins/flux")
