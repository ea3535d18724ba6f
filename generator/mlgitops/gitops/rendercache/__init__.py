"""Incremental `render`: a validated cache of what each model rendered to (render.py, store.py)."""

from mlgitops.gitops.rendercache.render import render_project

__all__ = ["render_project"]
