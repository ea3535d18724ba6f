"""`make test` runs the suite with `pytest -n auto --dist loadgroup` and relies on the group of the heavy session
fixtures (tests/conftest.py) to start one control plane, one mlflow server and one installed wheel per run. The
grouping is pytest-xdist's; with pytest 9.2 it silently stopped (xdist 3.8 rewrites `_nodeid`, which pytest 9.2
no longer reads), so this checks it with the installed pytest and pytest-xdist, and the suite's own hook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFTEST = """\
import os
import pytest

from tests.conftest import pytest_collection_modifyitems  # the suite's grouping hook

STARTS = os.environ["STARTS_FILE"]


@pytest.fixture(scope="session")
def cluster():
    with open(STARTS, "a") as handle:
        handle.write(os.environ.get("PYTEST_XDIST_WORKER", "-") + "\\n")
"""

MODULE = """\
import time


def test_uses_it(cluster):
    time.sleep(0.3)


def test_uses_it_too(cluster):
    time.sleep(0.3)


def test_does_not():
    time.sleep(0.3)
"""


def test_heavy_session_fixtures_start_once_across_workers(tmp_path: Path) -> None:
    project = tmp_path / "suite"
    project.mkdir()
    (project / "conftest.py").write_text(CONFTEST)
    for name in "abcd":
        (project / f"test_{name}.py").write_text(MODULE)
    starts = tmp_path / "starts"
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-p",
            "no:cacheprovider",
            str(project),
        ],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo), "STARTS_FILE": str(starts), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "12 passed" in done.stdout
    assert len(starts.read_text().split()) == 1, "each worker started the session fixture: loadgroup grouped nothing"
