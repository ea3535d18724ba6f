"""The pip requirement that installs the running mlgitops elsewhere (CI, the plugin sidecar image).

`mlgitops init` writes it into the CI definitions and `mlgitops sidecar dockerfile` into the image's
`MLGITOPS_PIP_SPEC` build argument, so both install what wrote them:

- installed from a Git URL (`pip install git+https://host/org/mlgitops@REF`, which works before a release
  is on a package index): that URL at the exact commit pip installed, `git+URL@COMMIT`, read from the
  install's PEP 610 record (direct_url.json); a `user:token@` in the URL is left out;
- otherwise (a release from an index, a wheel, a checkout): `mlgitops==VERSION`.

`--pip-spec` on both commands overrides it (a wheel URL, an internal index's requirement, a Git tag).
"""

from __future__ import annotations

import json
from importlib import metadata


def release_spec() -> str:
    from mlgitops import __version__

    return f"mlgitops=={__version__}"


def default_pip_spec() -> str:
    """`git+URL@COMMIT` for an install from Git, else `mlgitops==VERSION`."""
    try:
        record = metadata.distribution("mlgitops").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        record = None
    return from_direct_url(record) or release_spec()


def from_direct_url(record: str | None) -> str | None:
    """The Git requirement a PEP 610 direct_url.json records, or None (not from Git, or unreadable)."""
    if not record:
        return None
    try:
        data = json.loads(record)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    vcs = data.get("vcs_info")
    url = data.get("url")
    if not isinstance(vcs, dict) or vcs.get("vcs") != "git" or not isinstance(url, str):
        return None
    commit = vcs.get("commit_id")
    if not isinstance(commit, str) or not commit.isalnum():
        return None
    scheme, sep, rest = url.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        url = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    if any(c.isspace() or c in "'\"$`\\" for c in url):
        return None  # written into YAML and a Dockerfile: nothing that needs quoting
    subdirectory = data.get("subdirectory")
    tail = f"#subdirectory={subdirectory}" if isinstance(subdirectory, str) and subdirectory.isprintable() else ""
    return f"git+{url}@{commit}{tail}"


def check_pip_spec(spec: str) -> str | None:
    """Why `spec` cannot go into the CI definitions and the Dockerfile, or None."""
    if not spec.strip():
        return "is empty"
    if any(not c.isprintable() for c in spec) or any(c in "'\"`$\\" for c in spec):
        return "has a quote, `$`, a backslash or a control character (it is written into YAML and a Dockerfile)"
    return None
