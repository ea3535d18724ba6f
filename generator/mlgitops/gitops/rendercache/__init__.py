"""Incremental `render`: a validated cache of what each model rendered to (render.py, store.py)."""
