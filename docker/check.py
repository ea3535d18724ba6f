"""Check an mlgitops installation for the Argo CD plugin sidecar (run by docker/install.sh).

    PATH=PREFIX/bin:$PATH PREFIX/bin/python docker/check.py PREFIX

Fails (exit 1, one line per problem) unless:
- the `mlgitops` package is imported from PREFIX, not from elsewhere;
- every command in plugin.yaml resolves on PATH to an executable inside PREFIX/bin (argocd-cmp-server
  execs them without a shell, on the sidecar's PATH);
- `mlgitops --version` runs;
- the Kustomize mlgitops runs is PREFIX/bin's and builds a small kustomization;
- a Jsonnet template evaluates (projects with templates/ need the evaluator in the sidecar);
- every module of the package has its bytecode cached (the sidecar's root file system is read-only).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check.py PREFIX")
    # The checks ship in the package, so an image built from `mlgitops sidecar dockerfile` runs them too.
    from mlgitops.gitops.sidecar import check_install

    found = check_install(Path(sys.argv[1]))
    for problem in found:
        print(f"check: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
