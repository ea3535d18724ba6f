"""Fetch the pinned conformance cases (tools/conformance.lock) into a cache outside the repository.

`python tools/conformance_data.py fetch` runs `npm pack PACKAGE@VERSION` once per package into
`$MLGITOPS_CONFORMANCE_DIR` (default `~/.cache/mlgitops/conformance`), extracts it to
`DIR/<package>/<version>/` and checks every locked file's SHA-256; `path PACKAGE` prints that directory.
Nothing is copied into the repository: the tests read the files from the cache (tests/conformance.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

LOCK = Path(__file__).resolve().parent / "conformance.lock"


def cache_root() -> Path:
    configured = os.environ.get("MLGITOPS_CONFORMANCE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "mlgitops" / "conformance"


def locked() -> dict[tuple[str, str], dict[str, str]]:
    """(package, version) → {file: sha256}, from tools/conformance.lock."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for line in LOCK.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        spec, name, digest = line.split()
        package, version = spec.rsplit("@", 1)
        found.setdefault((package, version), {})[name] = digest
    return found


def directory(package: str, version: str) -> Path:
    return cache_root() / package / version


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def problems(package: str, version: str, files: dict[str, str]) -> list[str]:
    """Why the cached copy of PACKAGE@VERSION is not the locked one (empty: it is)."""
    where = directory(package, version)
    wrong = []
    for name, digest in files.items():
        path = where / name
        if not path.is_file():
            wrong.append(f"{path} is missing")
        elif sha256(path) != digest:
            wrong.append(f"{path} has SHA-256 {sha256(path)}, not the locked {digest}")
    return wrong


def fetch(package: str, version: str, files: dict[str, str]) -> None:
    if not problems(package, version, files):
        return
    target = directory(package, version)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", "--silent", f"{package}@{version}"], cwd=tmp, check=True, stdout=subprocess.DEVNULL
        )
        (tarball,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            if not hasattr(tarfile, "data_filter"):  # Python before 3.11.4: no extraction filters
                raise SystemExit("conformance_data.py needs Python 3.11.4 or later (tarfile extraction filters)")
            archive.extractall(Path(tmp) / "x", filter="data")
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(Path(tmp) / "x" / "package", target)
    wrong = problems(package, version, files)
    if wrong:
        shutil.rmtree(target)
        raise SystemExit(f"{package}@{version}: " + "; ".join(wrong))


def main(argv: list[str]) -> int:
    if argv[:1] == ["fetch"]:
        for (package, version), files in locked().items():
            fetch(package, version, files)
            print(f"{package}@{version}: {directory(package, version)}")
        return 0
    if len(argv) == 2 and argv[0] == "path":
        for package, version in locked():
            if package == argv[1]:
                print(directory(package, version))
                return 0
    print("usage: conformance_data.py fetch | path PACKAGE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
