"""The smoke checker the smoke-test Jobs run and `mlgitops test` imports (`check.py`, standard library only)."""
