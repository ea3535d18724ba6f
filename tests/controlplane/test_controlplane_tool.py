"""tools/controlplane.py as `make controlplane-up`/`-down` use it: a second start in the same directory,
a missing binary and a component that does not come up are one line naming it (and its log), and leave
nothing running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cluster import REPO

TOOL = REPO / "tools" / "controlplane.py"


def run_tool(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOL), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


def test_a_second_start_in_the_same_directory_is_refused(cluster: Any) -> None:
    before = json.loads((cluster.directory / "pids").read_text())
    done = run_tool("up", str(cluster.directory))
    assert done.returncode == 1
    assert done.stderr.startswith(f"controlplane: already running in {cluster.directory} (etcd, kube-apiserver")
    assert len(done.stderr.splitlines()) == 1
    assert json.loads((cluster.directory / "pids").read_text()) == before  # the running one is untouched


def test_a_missing_binary_is_named(tmp_path: Path) -> None:
    done = run_tool("up", str(tmp_path / "plane"), env={"MLGITOPS_CONTROLPLANE_CACHE": str(tmp_path / "empty")})
    assert done.returncode == 1
    assert done.stderr == "controlplane: build-controlplane: etcd is not built; run `make controlplane`\n"
    assert not (tmp_path / "plane" / "pids").exists()


def test_a_component_that_does_not_come_up_is_named_and_nothing_is_left_running(cluster: Any, tmp_path: Path) -> None:
    # the binaries exist (the session's control plane runs); give the first component no time at all
    done = run_tool("up", str(tmp_path / "plane"), env={"MLGITOPS_CONTROLPLANE_TIMEOUT": "0"})
    assert done.returncode == 1
    log = tmp_path / "plane" / "logs" / "etcd.log"
    assert done.stderr == f"controlplane: etcd did not come up within 0 s; see {log}\n"
    assert log.is_file()
    assert not (tmp_path / "plane" / "pids").exists()  # every started process was stopped


def test_down_stops_what_up_started_and_is_idempotent(tmp_path: Path) -> None:
    plane = tmp_path / "plane"
    plane.mkdir()
    sleeper = subprocess.Popen(["sleep", "300"], start_new_session=True)
    (plane / "pids").write_text(json.dumps({"sleeper": sleeper.pid}))
    assert run_tool("down", str(plane)).returncode == 0
    assert sleeper.wait(timeout=30) is not None
    assert not (plane / "pids").exists()
    assert run_tool("down", str(plane)).returncode == 0
