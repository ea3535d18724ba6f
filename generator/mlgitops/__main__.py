"""Entry point: `mlgitops` and `python -m mlgitops`."""

from __future__ import annotations

import gc
import os
import sys

# Collections of the youngest generation every 700 allocations (CPython's default) cost a fifth of
# importing pydantic and the spec models, and a third of a large render, while nearly nothing the
# commands allocate is cyclic garbage (plain dicts and lists, freed by reference counting). A run is
# one short process, so the young generation is collected rarely; the older ones keep their ratios.
GC_THRESHOLDS = (50_000, 20, 20)


def main(argv: list[str] | None = None) -> int:
    # The sidecar's warm server (cli/warm.py's SOCKET_VARIABLE, spelt out: nothing is imported before it)
    if argv is None and sys.argv[1:3] == ["cmp", "generate"] and os.environ.get("MLGITOPS_CMP_SERVER"):
        from mlgitops.cli.warm import run_in_server

        code = run_in_server(sys.argv[1:])
        if code is not None:  # None: no server took the request, this process runs it
            return code
    # pydantic looks up third-party plugins through importlib.metadata on first use, which costs
    # tens of milliseconds on every Argo CD refresh; the CLI uses none. Its plugin loader module
    # imports importlib.metadata even then: pydantic_plugins.py stands in for it.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from mlgitops.util.pydantic_plugins import skip_discovery

    skip_discovery()
    gc.set_threshold(*GC_THRESHOLDS)
    from mlgitops.cli.main import run

    try:
        return run(sys.argv[1:] if argv is None else argv)
    finally:
        gc.unfreeze()  # commands freeze what they loaded (cli.command.workspace); a caller's process gets it back


if __name__ == "__main__":
    sys.exit(main())
