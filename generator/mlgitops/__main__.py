"""Entry point: `mlgitops` and `python -m mlgitops`."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    # pydantic looks up third-party plugins through importlib.metadata on first use, which costs
    # tens of milliseconds on every Argo CD refresh; the CLI uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from mlgitops._cli import run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
