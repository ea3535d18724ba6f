"""Run the real `mlgitops` CLI under memory and CPU limits, and check how it refuses hostile input.

A regression (an alias bomb expanded, a quadratic walk, unbounded recursion) then fails the test
with a killed process instead of hanging the suite or exhausting the machine.

Also runnable as a wrapper: `python tests/limits.py COMMAND...` sets the same limits and execs
COMMAND, so a plugin command run by tests/cmp_harness.py gets them too.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

MEMORY_BYTES = 512 << 20
"""RLIMIT_AS: address space of the process (the CLI alone needs about 150 MiB). The Go runtime of
`kubectl kustomize` reserves more than this at start, so only commands that never reach Kustomize
(`render`, `validate` and `build` of a refused spec, `cmp generate` of a refused spec) run under it."""
CPU_SECONDS = 10
"""RLIMIT_CPU: the kernel kills the process (SIGXCPU, then SIGKILL) past this."""

POSITIONED = re.compile(r"^[^\s:][^:]*:\d+:\d+: \S")
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def set_limits() -> None:
    """preexec_fn: cap memory and CPU time of the child (and of anything it starts)."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


@dataclass
class Limited:
    returncode: int
    stdout: str
    stderr: str

    @property
    def killed(self) -> bool:
        return self.returncode < 0


def run_limited(args: list[str], cwd: Path) -> Limited:
    """`python -m mlgitops ARGS` in `cwd`, under the limits; no kubectl is needed for spec errors."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mlgitops", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        preexec_fn=set_limits,
        timeout=120,  # wall clock: only a backstop, RLIMIT_CPU is the real bound
        check=False,
    )
    return Limited(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def assert_refused(result: Limited, *fragments: str, problems: int = 1, exit_code: int = 1) -> list[str]:
    """Exit code, `problems` positioned printable lines on stderr, no traceback; return the lines."""
    assert not result.killed, f"killed by signal {-result.returncode} (a limit of the test was exceeded)"
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.split("\n")
    assert lines[-1] == "", "stderr must end with a newline"
    lines = lines[:-1]
    assert len(lines) == problems, f"expected {problems} line(s), got {len(lines)}: {lines[:5]}"
    for line in lines:
        assert POSITIONED.match(line), f"not a positioned line: {line!r}"
        assert not _UNPRINTABLE.search(line), f"unescaped control character in {line!r}"
    text = "\n".join(lines)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"
    assert result.returncode == exit_code, (result.returncode, text)
    return lines


if __name__ == "__main__":
    set_limits()
    os.execvp(sys.argv[1], sys.argv[1:])
