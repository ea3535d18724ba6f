"""Print the package's branch coverage from `.coverage` (written by `make test COVERAGE=1`): the total, then
the least-covered modules, so CI's log says where the tests are thinnest."""

from __future__ import annotations

import io
import sys

import coverage

LEAST = 15


def main() -> int:
    measured = coverage.Coverage()
    measured.load()
    table = io.StringIO()
    try:
        total = measured.report(file=table, sort="cover", skip_empty=True)
    except coverage.CoverageException as exc:
        print(f"coverage: {exc}", file=sys.stderr)
        return 1
    lines = table.getvalue().splitlines()
    header, rows = lines[:2], [line for line in lines[2:] if line and not line.startswith(("-", "TOTAL"))]
    print(f"branch coverage of mlgitops (the tests' own process): {total:.1f} %")
    print(f"the {LEAST} least-covered modules:")
    print("\n".join([*header, *rows[:LEAST]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
