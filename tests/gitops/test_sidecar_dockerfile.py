"""`mlgitops sidecar dockerfile`: a Dockerfile that needs no checkout of mlgitops, installs exactly the
running version, and runs the same steps as docker/install.sh (no container engine here: the steps are
compared with install.sh, and run for real by the `installed` fixture in tests/conftest.py)."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from mlgitops import __version__
from mlgitops.gitops.argocd import plugin_config
from mlgitops.gitops.sidecar import PREFIX, dockerfile, install_commands
from tests.conftest import REPO, Installed, run_cli


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word, " ".join(rest.split())))
    return found


def test_the_cli_prints_it() -> None:
    result = run_cli(["sidecar", "dockerfile"])
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == dockerfile()


def test_it_pins_this_version_and_needs_no_build_context() -> None:
    steps = instructions(dockerfile())
    assert ("ARG", f"MLGITOPS_PIP_SPEC=mlgitops=={__version__}") in steps
    assert not any(word in ("COPY", "ADD") for word, _ in steps)  # `docker build -` sends no context
    assert [word for word, _ in steps] == ["FROM", "ENV", "RUN", "ARG", "RUN", "ENV", "USER", "WORKDIR", "CMD"]
    # same base image, user and entry point as this repository's Dockerfile
    ours = dict((w, a) for w, a in instructions((REPO / "Dockerfile").read_text()) if w in ("FROM", "USER", "CMD"))
    assert {w: a for w, a in steps if w in ("FROM", "USER", "CMD")} == ours
    assert f"docker build --tag REGISTRY/mlgitops-cmp:{__version__} -" in dockerfile()


def install_sh_commands() -> list[str]:
    """docker/install.sh's commands after its argument handling, with its variables as the Dockerfile sets them."""
    text = (REPO / "docker" / "install.sh").read_text()
    commands = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "set ", "SOURCE=", "PREFIX=", "PYTHON=", "HERE=", "case ", "fi")):
            continue
        if line.startswith("if "):
            continue  # `if [ ! -x "$PREFIX/bin/python" ]; then` (a fresh image has no venv yet)
        commands.append(line)
    values = {
        "$PYTHON": "python3",
        "$PREFIX": PREFIX,
        "$SOURCE": "$MLGITOPS_PIP_SPEC",
        "$HERE/check.py": "-m mlgitops.gitops.sidecar",
    }
    out = []
    for command in commands:
        command = unquoted(command)
        for old, new in values.items():
            command = command.replace(old, new)
        out.append(command)
    return out


def unquoted(command: str) -> str:
    return " ".join(command.replace('"', "").split())


def test_its_install_steps_are_docker_install_sh() -> None:
    run = [args for word, args in instructions(dockerfile()) if word == "RUN"][-1]
    assert run.split(" && ") == [" ".join(c.split()) for c in install_commands("$MLGITOPS_PIP_SPEC")]
    assert install_sh_commands() == [unquoted(c) for c in run.split(" && ")]


def test_docker_check_py_runs_the_packaged_checks() -> None:
    assert "from mlgitops.gitops.sidecar import check_install" in (REPO / "docker" / "check.py").read_text()


def test_the_install_steps_give_a_working_sidecar(installed: Installed, tmp_path: Path) -> None:
    """The `installed` fixture ran the RUN steps (with the wheel as MLGITOPS_PIP_SPEC and a temporary
    PREFIX), ending with the packaged checks; here the plugin's commands run from that install."""
    assert run_cli(["init", "demo"], cwd=tmp_path).exit_code == 0
    bindir = installed.prefix / "bin"
    generate = plugin_config()["spec"]["generate"]["command"]
    env = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ARGOCD_ENV_ENVIRONMENT": "dev",
        "PARAM_ENVIRONMENT": "dev",
        "ARGOCD_APP_NAME": "demo-dev",
    }
    proc = subprocess.run(generate, cwd=tmp_path / "demo", env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, (shlex.join(generate), proc.stderr)
    assert "kind: InferenceService" in proc.stdout
    checked = subprocess.run(
        [str(bindir / "python"), "-m", "mlgitops.gitops.sidecar", str(installed.prefix)],
        env={"PATH": f"{bindir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    broken = subprocess.run(
        [str(bindir / "python"), "-m", "mlgitops.gitops.sidecar", str(installed.prefix)],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert broken.returncode == 1 and "is not on PATH" in broken.stderr  # the checks can fail


def test_the_image_has_git_for_a_git_url_spec() -> None:
    """`--build-arg MLGITOPS_PIP_SPEC=git+https://...` (before a release) needs git, which the slim image lacks."""
    steps = instructions(dockerfile())
    git = next(args for word, args in steps if word == "RUN")
    assert "apt-get install --yes --no-install-recommends git" in git
    assert steps.index(("RUN", git)) < next(i for i, (w, _) in enumerate(steps) if w == "ARG")


def test_pip_spec_option_and_the_git_install_default() -> None:
    from mlgitops.util.pipspec import from_direct_url

    spec = "git+https://github.com/acme/mlgitops@0123abcd"
    result = run_cli(["sidecar", "dockerfile", "--pip-spec", spec])
    assert result.exit_code == 0, result.stderr
    assert ("ARG", f"MLGITOPS_PIP_SPEC={spec}") in instructions(result.stdout)
    bad = run_cli(["sidecar", "dockerfile", "--pip-spec", "x'; rm -rf /"])
    assert bad.exit_code == 2 and "--pip-spec" in bad.stderr
    # installed with `pip install git+https://...@main`: the URL at the commit pip installed, no credentials
    record = (
        '{"url": "https://user:tok@github.com/acme/mlgitops.git", '
        '"vcs_info": {"vcs": "git", "requested_revision": "main", "commit_id": "0123abcd"}}'
    )
    assert from_direct_url(record) == "git+https://github.com/acme/mlgitops.git@0123abcd"
    assert from_direct_url('{"url": "file:///src/mlgitops", "dir_info": {"editable": true}}') is None
    assert from_direct_url(None) is None and from_direct_url("not json") is None
