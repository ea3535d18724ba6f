"""Utilities every stage uses: errors and their one-line rendering, input limits, YAML in and out, text made safe
for terminals, JSON Pointer and Merge Patch, path confinement, the project lock, Kubernetes kind facts and reserved
keys. Imports nothing else of mlgitops."""
