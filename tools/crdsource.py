"""Pinned upstream CRDs (tools/crds.lock), read from the Go module cache of each pinned module version.

    python tools/crdsource.py fetch [DIR]   copy the `validate` CRDs into DIR (default: crds/),
                                            each checked against its SHA-256

The files are upstream data, never committed: `go mod download` brings the module (from the Go module
proxy, or the local module cache) and each file is checked against the hash in the lock before use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "crds.lock"


class CrdSourceError(Exception):
    """A one-line reason a pinned CRD could not be had."""


@dataclass(frozen=True)
class PinnedCrd:
    name: str  # the file name it gets (as in ../shared/crds)
    use: str  # "validate": fetched by `make crds`; "cluster": only installed in the control plane
    module: str
    version: str
    path: str  # inside the module
    sha256: str


def pinned() -> list[PinnedCrd]:
    rows = []
    for line in LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(PinnedCrd(*line.split()))
    return rows


def module_version(module: str) -> str:
    versions = {crd.version for crd in pinned() if crd.module == module}
    if len(versions) != 1:
        raise CrdSourceError(f"{LOCK.name} pins {module} {len(versions)} times")
    return versions.pop()


@cache
def module_dir(module: str) -> Path:
    """The module's directory in the Go module cache (downloaded when missing)."""
    version = module_version(module)
    if shutil.which("go") is None:
        raise CrdSourceError("`go` is not on PATH; the pinned CRDs come from the Go module proxy")
    done = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        cwd=HERE,
        env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"},
    )
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError:
        answer = {"Error": done.stderr.strip() or "no answer"}
    if "Error" in answer or "Dir" not in answer:
        raise CrdSourceError(f"go mod download {module}@{version}: {answer.get('Error', 'no Dir')}".splitlines()[0])
    return Path(answer["Dir"])


def checked_file(crd: PinnedCrd) -> Path:
    path = module_dir(crd.module) / crd.path
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != crd.sha256:
        raise CrdSourceError(f"{crd.module}@{crd.version}/{crd.path}: SHA-256 {digest}, the lock says {crd.sha256}")
    return path


def controlplane_crd_files() -> list[Path]:
    return [checked_file(crd) for crd in pinned()]


def fetch(destination: Path) -> list[Path]:
    destination.mkdir(parents=True, exist_ok=True)
    written = []
    for crd in pinned():
        if crd.use == "validate":
            target = destination / crd.name
            shutil.copyfile(checked_file(crd), target)
            written.append(target)
    return written


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "fetch" or len(argv) > 2:
        print("usage: crdsource.py fetch [DIR]", file=sys.stderr)
        return 2
    destination = Path(argv[1] if len(argv) == 2 else "crds")
    try:
        written = fetch(destination)
    except CrdSourceError as error:
        print(f"crds: {error}", file=sys.stderr)
        return 1
    print(f"crds: {len(written)} pinned upstream CRD file(s) in {destination}/ (versions: tools/crds.lock)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
