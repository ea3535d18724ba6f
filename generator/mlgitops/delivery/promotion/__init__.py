"""Moving a model version between environments as a reviewed Git change.

`promote`: the command (sources, order check, canary completion, render, PR body); `yamledit`: the
round-trip edit that changes only the pin's lines; `history`: which version each environment ran,
from the Git log, and the rollback target. The model registry lives in `mlgitops.delivery.registry`.
"""
