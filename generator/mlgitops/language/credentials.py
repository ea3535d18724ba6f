"""Recognising credentials written into a spec: user information in URIs, and secret-named variables.

A spec lives in Git and its rendered objects are shown by `diff`, so a credential in it is leaked to
everyone who can read the repository. The pure functions here are shared by spec validation (which
refuses such values) and by output that must mask them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

SECRETS_ADVICE = (
    "keep credentials out of Git: put them in a Kubernetes Secret, or give the workload's ServiceAccount "
    "access through workload identity (IRSA, GKE or Azure workload identity)"
)

# `scheme://authority`: the authority ends at the first '/', '?', '#' or whitespace; user information
# is everything before its last '@' (RFC 3986 section 3.2). Found from each "://" (a regex searching
# for the scheme first is quadratic on long text without one).
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_AUTHORITY = re.compile(r"[^/?#\s]*")
# Schemes whose user name alone is an account, not a secret (`ssh://git@github.com/...`).
_USER_NAME_SCHEMES = ("ssh", "git+ssh", "ssh+git", "sftp")

# Whole words (between '_') that make a variable name a credential's, and pairs of words.
_SECRET_WORDS = frozenset(
    {"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN", "APIKEY", "CREDENTIALS", "CREDENTIAL"}
)
_SECRET_PAIRS = frozenset(
    {
        ("API", "KEY"),
        ("ACCESS", "KEY"),
        ("PRIVATE", "KEY"),
        ("STORAGE", "KEY"),
        ("ACCOUNT", "KEY"),
        ("SIGNING", "KEY"),
        ("ENCRYPTION", "KEY"),
        ("MASTER", "KEY"),
        ("CONNECTION", "STRING"),
        ("SAS", "TOKEN"),
    }
)
_SECRET_NAMES = frozenset({"AWS_ACCESS_KEY_ID", "GOOGLE_APPLICATION_CREDENTIALS"})
# A last word that makes the variable describe a secret rather than hold it (`DB_PASSWORD_FILE`).
_DESCRIBING_WORDS = frozenset({"NAME", "FILE", "PATH", "DIR", "REF", "ARN", "URL", "URI", "ENDPOINT", "KEY_ID"})

# Values that refer to a secret instead of holding it: `$(VAR)` (Kubernetes), `{{...}}` (Argo),
# `${VAR}` / `$VAR` (shell), or an absolute file path (a mounted Secret).
_REFERENCE = re.compile(r"\$\([A-Za-z_][A-Za-z0-9_.-]*\)|\{\{[^{}]*\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|/[^\s]*")


def _userinfo_spans(text: str) -> Iterator[tuple[int, int]]:
    separator = text.find("://")
    while separator >= 0:
        begin = separator
        while begin > 0 and text[begin - 1] in _SCHEME_CHARS:
            begin -= 1
        while begin < separator and not text[begin].isalpha():
            begin += 1
        scheme = text[begin:separator]
        start = separator + 3
        authority = _AUTHORITY.match(text, start)
        end = authority.end() if authority else start
        userinfo, at, _host = text[start:end].rpartition("@")
        if scheme and at and userinfo and (scheme.lower() not in _USER_NAME_SCHEMES or ":" in userinfo):
            yield start, start + len(userinfo)
        separator = text.find("://", max(end, start))


def uri_credentials(uri: str) -> str | None:
    """The user information of the first URI in `uri` that carries a credential, or None.

    `s3://KEY:SECRET@bucket/x` → `KEY:SECRET`; `https://token@host/x` → `token`; `ssh://git@host/x` → None.
    """
    for start, end in _userinfo_spans(uri):
        return uri[start:end]
    return None


def mask_uri(uri: str) -> str:
    """`uri` with the user information of every URI in it replaced by `***`."""
    parts: list[str] = []
    last = 0
    for start, end in _userinfo_spans(uri):
        parts.append(uri[last:start])
        parts.append("***")
        last = end
    parts.append(uri[last:])
    return "".join(parts)


def is_credential_name(name: str) -> bool:
    """Whether a variable or parameter named `name` conventionally holds a credential.

    `AWS_SECRET_ACCESS_KEY`, `DB_PASSWORD`, `HF_TOKEN`, `OPENAI_API_KEY`, `AZURE_STORAGE_KEY` → True;
    `TOKENIZER`, `MAX_TOKENS`, `DB_PASSWORD_FILE`, `SECRET_NAME` → False.
    """
    normalized = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")
    if normalized in _SECRET_NAMES:
        return True
    words = normalized.split("_")
    if words[-1] in _DESCRIBING_WORDS or "_".join(words[-2:]) in _DESCRIBING_WORDS:
        return False
    if any(word in _SECRET_WORDS for word in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


def holds_literal(value: str) -> bool:
    """Whether `value` is literal text, not empty and not only a reference to a secret kept elsewhere."""
    return bool(value.strip()) and not _REFERENCE.fullmatch(value.strip())


def uri_problem(value: str) -> str | None:
    """The message for a value that carries a credential in a URI, or None."""
    if uri_credentials(value) is None:
        return None
    return f"{mask_uri(value)!r} carries a credential in its user information (shown here as ***); {SECRETS_ADVICE}"
