"""Python emulation of Argo CD's config management plugin server (``argocd-cmp-server``).

Tests use it to run a CMP v2 plugin (``plugin.yaml``) the way the Argo CD repo-server and its
sidecar would. Section references (``§2`` …) point to
``/work/shared/reference/argocd-cmp-contract.md``, which cites Argo CD at commit ``37ee0097``.

Emulated, in request order:

1. The repo-server's checks: out-of-bounds symlinks in the checkout and the app path
   (``util/app/path/path.go``). The request env is built by ``newEnv`` / ``getPluginEnvs`` /
   ``getPluginParamEnvs`` (§2 "Environment").
2. The tarball: ``filepath.Walk`` order, only regular files, dirs and symlinks, and
   ``filepath.Match`` exclusions on the repo-relative path. It is extracted into
   ``<workdir>/_cmp_server/<uuid>/``, files 0644 and dirs 0755 unless ``preserveFileMode``,
   with symlinks relativised and kept inbound (§2 "How the repo arrives").
3. ``init`` then ``generate``, with no shell, each in its own process group, under one deadline:
   ``deadline_s`` minus the 100 ms ``cmpTimeoutBuffer``. When that deadline expires, or when the
   request ends, each group gets SIGTERM and, 5 s later, SIGKILL (§2 "Timeouts").
4. The sidecar splits stdout with ``kube.SplitYAMLToString`` (apimachinery's
   ``YAMLOrJSONDecoder``). The repo-server then converts each document to ``Unstructured`` and
   flattens lists, and the controller drops duplicates, keeping the last one (§3).

Not emulated: discovery (``discover``), ``provideGitCreds`` env, ``.argocd-source*.yaml`` overrides,
tracking labels and annotations, manifest caching, and the wiping of ``_cmp_server`` at sidecar start
(which concurrent tests must not do).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import posixpath
import re
import shutil
import signal
import stat
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal, cast

import yaml

__all__ = [
    "CMP_TIMEOUT_BUFFER_S",
    "GROUP_KILL_DELAY_S",
    "AppRequest",
    "CmpError",
    "Command",
    "GenerateResult",
    "Parameter",
    "PluginConfig",
    "PluginConfigError",
    "build_env",
    "command_args_to_log",
    "effective_announcements",
    "escape_param_name",
    "filepath_match",
    "generate",
    "go_json_marshal",
    "go_quote",
    "load_plugin",
    "os_expand",
    "parameters",
    "parse_kube_version",
    "request_env_entries",
    "split_manifests",
    "to_target_objects",
]

CMP_TIMEOUT_BUFFER_S = 0.1
"""``cmpTimeoutBuffer``: the sidecar's deadline is the caller's minus this (§2 "Timeouts")."""

GROUP_KILL_DELAY_S = 5.0
"""The delay between SIGTERM and SIGKILL sent to a command's process group (``plugin.go``)."""


class CmpError(RuntimeError):
    """A failed CMP request. ``generate`` returns it as ``GenerateResult.error``; ``parameters`` raises it."""


class PluginConfigError(ValueError):
    """``plugin.yaml`` is rejected, either by the JSON decoding or by ``ValidatePluginConfig`` (§1)."""


# --------------------------------------------------------------------------------------------------
# Small Go-compatibility helpers
# --------------------------------------------------------------------------------------------------

# unicode.IsSpace: Latin-1 spaces plus the White_Space property above U+00FF.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
_GO_SHORT_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}
_JSON_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_JSON_HTML_ESCAPED = {"<", ">", "&", "\u2028", "\u2029"}


def go_trim_space(s: str) -> str:
    """``strings.TrimSpace``: Python's ``str.strip()`` also strips U+001C..U+001F, which Go keeps."""
    return s.strip(_GO_SPACE)


def go_quote(s: str) -> str:
    """``strconv.Quote``: printable runes stay raw, everything else is escaped Go-style."""
    out = ['"']
    for ch in s:
        cp = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch.isprintable() and not 0xD800 <= cp <= 0xDFFF:
            # Python's isprintable() is Go's unicode.IsPrint: categories L, M, N, P, S plus U+0020.
            out.append(ch)
        elif ch in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[ch])
        elif cp < 0x20 or cp == 0x7F:
            out.append(f"\\x{cp:02x}")
        elif 0xDC80 <= cp <= 0xDCFF:  # surrogateescape'd invalid byte: Go escapes the raw byte
            out.append(f"\\x{cp - 0xDC00:02x}")
        elif 0xD800 <= cp <= 0xDFFF:
            out.append("\\ufffd")
        elif cp < 0x10000:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


def command_args_to_log(argv: Sequence[str]) -> str:
    """``argoexec.GetCommandArgsToLog``: ``""`` for empty args, ``strconv.Quote`` for args with whitespace.

    This is the ``<argv>`` inside a CMP error message (§2 "Non-zero exit").
    """
    parts: list[str] = []
    for arg in argv:
        if arg == "":
            parts.append('""')
        elif any(ch in _GO_SPACE for ch in arg):
            parts.append(go_quote(arg))
        else:
            parts.append(arg)
    return " ".join(parts)


def _go_json_string(s: str) -> str:
    out = ['"']
    for ch in s:
        cp = ord(ch)
        if ch in _JSON_SHORT_ESCAPES:
            out.append(_JSON_SHORT_ESCAPES[ch])
        elif cp < 0x20 or ch in _JSON_HTML_ESCAPED:
            out.append(f"\\u{cp:04x}")
        elif 0xD800 <= cp <= 0xDFFF:  # invalid UTF-8 in Go: coerced to U+FFFD
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _go_json_float(f: float) -> str:
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError(f"json: unsupported value: {f!r}")
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        # Python's repr uses an exponent here too; Go drops one leading zero of a negative exponent.
        r = repr(f)
        return re.sub(r"e-0(\d)$", r"e-\1", r)
    return format(Decimal(repr(f)).normalize(), "f")


def go_json_marshal(value: object) -> str:
    """Go's ``json.Marshal`` for JSON-like Python values (§2 "Parameter rules").

    The output is compact and map keys are sorted by their UTF-8 bytes. ``<``, ``>``, ``&``, U+2028 and
    U+2029 are ``\\u``-escaped. Control characters use ``\\b \\f \\n \\r \\t`` or ``\\u00XX`` (Go >= 1.22).
    Other non-ASCII stays raw. Floats get Go's shortest formatting (``1``, ``1e+21``, ``1e-7``).
    """
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_json_float(value)
    if isinstance(value, str):
        return _go_json_string(value)
    if isinstance(value, Mapping):
        items: list[tuple[str, object]] = []
        for k, v in value.items():
            if isinstance(k, bool) or not isinstance(k, str | int):
                raise TypeError(f"json: unsupported map key type {type(k).__name__}")
            items.append((str(k), v))
        items.sort(key=lambda kv: kv[0].encode("utf-8", "surrogatepass"))
        return "{" + ",".join(_go_json_string(k) + ":" + go_json_marshal(v) for k, v in items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(go_json_marshal(v) for v in value) + "]"
    raise TypeError(f"json: unsupported type: {type(value).__name__}")


def os_expand(s: str, mapping: Mapping[str, str]) -> str:
    """``os.Expand`` with Argo's ``Env.Envsubst`` callback (§2, ``types.go`` L181-193).

    ``$VAR`` and ``${VAR}`` take their values from ``mapping``, unknown names become ``""`` and ``$$``
    gives ``$``. Shell specials (``$1``, ``$*``) resolve to ``""``. A lone trailing ``$`` stays, and bad
    syntax (``${}``, an unclosed ``${``) is eaten, exactly as Go does.
    """

    def lookup(name: str) -> str:
        return "$" if name == "$" else mapping.get(name, "")

    buf: list[str] = []
    i = 0
    j = 0
    n = len(s)
    while j < n:
        if s[j] == "$" and j + 1 < n:
            buf.append(s[i:j])
            name, w = _get_shell_name(s[j + 1 :])
            if name == "" and w > 0:
                pass  # invalid syntax: eat the characters
            elif name == "":
                buf.append("$")  # "$" not followed by a name: keep it
            else:
                buf.append(lookup(name))
            j += w
            i = j + 1
        j += 1
    if not buf:
        return s
    return "".join(buf) + s[i:]


_SHELL_SPECIAL = set("*#$@!?-0123456789")


def _is_alnum(c: str) -> bool:
    return c == "_" or "0" <= c <= "9" or "a" <= c <= "z" or "A" <= c <= "Z"


def _get_shell_name(s: str) -> tuple[str, int]:
    if s[0] == "{":
        if len(s) > 2 and s[1] in _SHELL_SPECIAL and s[2] == "}":
            return s[1:2], 3
        for k in range(1, len(s)):
            if s[k] == "}":
                if k == 1:
                    return "", 2  # bad syntax: eat "${}"
                return s[1:k], k + 1
        return "", 1  # bad syntax: eat "${"
    if s[0] in _SHELL_SPECIAL:
        return s[0:1], 1
    k = 0
    while k < len(s) and _is_alnum(s[k]):
        k += 1
    return s[:k], k


def escape_param_name(name: str) -> str:
    """``escaped()`` in ``types.go``: ``strings.ToUpper``, then each rune outside ``[A-Z0-9_]`` becomes ``_``.

    Go's ToUpper maps each rune on its own, so ``ß`` stays one rune and becomes ``_``, not ``SS``.
    """
    out: list[str] = []
    for ch in name:
        up = ch.upper()
        if len(up) != 1:
            up = ch
        out.append(up if ("A" <= up <= "Z" or "0" <= up <= "9" or up == "_") else "_")
    return "".join(out)


_KUBE_VERSION_RE = re.compile(r"^\s*v?([0-9]+(?:\.[0-9]+)*)(.*)*$")


def parse_kube_version(version: str) -> str:
    """``version.ParseGeneric(v).String()``: ``v1.31.2+k3s1`` gives ``1.31.2``; ``""`` stays ``""`` (§2).

    Raises ``CmpError`` with the repo-server's message on an unparsable version.
    """
    if version == "":
        return ""
    m = _KUBE_VERSION_RE.match(version)
    err: str | None = None
    if m is None:
        err = f"could not parse {go_quote(version)} as version"
    else:
        comps = m.group(1).split(".")
        if len(comps) < 2:
            err = f"illegal version string {go_quote(version)}"
        elif comps[0].startswith("0") and comps[0] != "0":
            err = f"illegal zero-prefixed version component {go_quote(comps[0])} in {go_quote(version)}"
        else:
            return ".".join(str(int(c)) for c in comps)
    raise CmpError(f"could not parse kubernetes version {version}: {err}")


class _BadPatternError(ValueError):
    pass


def filepath_match(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match`` on Unix. Unlike ``fnmatch``, ``*`` and ``?`` never match ``/`` (§2 tar).

    Raises ``ValueError("syntax error in pattern")`` on a malformed pattern, as Go does.
    """
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and chunk == "":
            return "/" not in name
        rest, ok = _match_chunk(chunk, name)
        if ok and (rest == "" or pattern):
            name = rest
            continue
        matched = False
        if star:
            k = 0
            while k < len(name) and name[k] != "/":
                rest, ok = _match_chunk(chunk, name[k + 1 :])
                if ok:
                    if not pattern and rest:
                        k += 1
                        continue
                    name = rest
                    matched = True
                    break
                k += 1
        if matched:
            continue
        while pattern:  # the rest of the pattern must still be well-formed
            _, chunk, pattern = _scan_chunk(pattern)
            _match_chunk(chunk, "")
        return False
    return name == ""


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = False
    while pattern and pattern[0] == "*":
        pattern = pattern[1:]
        star = True
    inrange = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif c == "[":
            inrange = True
        elif c == "]":
            inrange = False
        elif c == "*" and not inrange:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _match_chunk(chunk: str, s: str) -> tuple[str, bool]:
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        c = chunk[0]
        if c == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = False
            if chunk and chunk[0] == "^":
                negated = True
                chunk = chunk[1:]
            match = False
            nrange = 0
            while True:
                if chunk and chunk[0] == "]" and nrange > 0:
                    chunk = chunk[1:]
                    break
                lo, chunk = _get_esc(chunk)
                hi = lo
                if chunk[0] == "-":
                    hi, chunk = _get_esc(chunk[1:])
                if not failed and lo <= r <= hi:
                    match = True
                nrange += 1
            if match == negated:
                failed = True
        elif c == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if c == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise _BadPatternError("syntax error in pattern")
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    if failed:
        return "", False
    return s, True


def _get_esc(chunk: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise _BadPatternError("syntax error in pattern")
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise _BadPatternError("syntax error in pattern")
    r, rest = chunk[0], chunk[1:]
    if not rest:
        raise _BadPatternError("syntax error in pattern")
    return r, rest


def _go_clean(p: str) -> str:
    """``filepath.Clean`` (POSIX); unlike ``os.path.normpath`` it turns a leading ``//`` into ``/``."""
    cleaned = posixpath.normpath(p)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def _go_join(*parts: str) -> str:
    """``filepath.Join``: joins then cleans. A later absolute element does *not* reset the path."""
    nonempty = [p for p in parts if p != ""]
    return _go_clean("/".join(nonempty)) if nonempty else ""


# --------------------------------------------------------------------------------------------------
# plugin.yaml
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """``{command: [...], args: [...]}``; argv = command + args, exec'd without a shell (§1)."""

    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()

    @property
    def argv(self) -> list[str]:
        return [*self.command, *self.args]

    @property
    def defined(self) -> bool:
        return len(self.command) > 0


@dataclass(frozen=True)
class PluginConfig:
    """A parsed and validated ``plugin.yaml`` (§1)."""

    name: str
    kind: str
    generate: Command
    api_version: str = ""
    version: str = ""
    init: Command = Command()
    discover: Mapping[str, Any] = field(default_factory=dict)
    static_parameters: Sequence[Mapping[str, Any]] = ()
    dynamic_parameters: Command = Command()
    preserve_file_mode: bool = False
    provide_git_creds: bool = False
    path: Path | None = None

    @property
    def full_name(self) -> str:
        """The socket and plugin name: ``name-version`` if ``spec.version`` is set (``config.go`` L99-108)."""
        return f"{self.name}-{self.version}" if self.version else self.name


def _go_json_type(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _ci_fields(obj: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """Pick struct fields as ``encoding/json`` does: keys match case-insensitively, unknown keys are
    ignored, the last matching key wins, and ``null`` leaves the field at its zero value."""
    wanted = {n.lower(): n for n in names}
    out: dict[str, Any] = {}
    for key, value in obj.items():
        canon = wanted.get(str(key).lower())
        if canon is not None:
            if value is None:
                out.pop(canon, None)
            else:
                out[canon] = value
    return out


def _want_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise PluginConfigError(
            f"json: cannot unmarshal {_go_json_type(value)} into Go struct field {where} of type string"
        )
    return value


def _want_bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise PluginConfigError(
            f"json: cannot unmarshal {_go_json_type(value)} into Go struct field {where} of type bool"
        )
    return value


def _want_obj(value: Any, where: str, go_type: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PluginConfigError(
            f"json: cannot unmarshal {_go_json_type(value)} into Go struct field {where} of type {go_type}"
        )
    return value


def _want_str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise PluginConfigError(
            f"json: cannot unmarshal {_go_json_type(value)} into Go struct field {where} of type []string"
        )
    out: list[str] = []
    for item in value:
        if item is None:
            out.append("")
        else:
            out.append(_want_str(item, where))
    return out


def _want_str_map(value: Any, where: str) -> dict[str, str]:
    obj = _want_obj(value, where, "map[string]string")
    return {str(k): ("" if v is None else _want_str(v, where)) for k, v in obj.items()}


def _decode_command(value: Any, where: str) -> Command:
    obj = _ci_fields(_want_obj(value, where, "plugin.Command"), ("command", "args"))
    return Command(
        command=tuple(_want_str_list(obj["command"], f"{where}.command")) if "command" in obj else (),
        args=tuple(_want_str_list(obj["args"], f"{where}.args")) if "args" in obj else (),
    )


_ANNOUNCEMENT_FIELDS = (
    "name",
    "title",
    "tooltip",
    "required",
    "itemType",
    "collectionType",
    "string",
    "array",
    "map",
)


def _decode_announcement(value: Any, where: str) -> dict[str, Any]:
    """Decode one ``ParameterAnnouncement`` as ``json.Unmarshal`` would, then drop zero fields as the
    proto ``omitempty`` tags do on the wire. Keys come out in canonical spelling and order."""
    obj = _ci_fields(_want_obj(value, where, "apiclient.ParameterAnnouncement"), _ANNOUNCEMENT_FIELDS)
    out: dict[str, Any] = {}
    for key in _ANNOUNCEMENT_FIELDS:
        if key not in obj:
            continue
        sub = f"ParameterAnnouncement.{key}"
        decoded: Any
        if key == "required":
            decoded = _want_bool(obj[key], sub)
        elif key == "array":
            decoded = _want_str_list(obj[key], sub)
        elif key == "map":
            decoded = _want_str_map(obj[key], sub)
        else:
            decoded = _want_str(obj[key], sub)
        if decoded not in ("", False, [], {}):
            out[key] = decoded
    return out


class _GoYamlLoader(yaml.SafeLoader):
    """A SafeLoader that leaves dates as strings, as go-yaml v2 (behind ``sigs.k8s.io/yaml``) does."""


_GoYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_key(k: object) -> str:
    if k is None:
        return "null"
    if isinstance(k, bool):
        return "true" if k else "false"
    if isinstance(k, float):
        return _go_json_float(k) if k == k and abs(k) != float("inf") else str(k)
    return str(k)


def _jsonify(value: Any) -> Any:
    """Mirror ``yaml.YAMLToJSON``: keys and non-JSON scalars (binary, explicit timestamps) become strings."""
    if isinstance(value, dict):
        return {_yaml_key(k): _jsonify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonify(v) for v in value]
    if isinstance(value, set):
        return {_yaml_key(k): None for k in value}
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class _YamlError(Exception):
    pass


def _yaml_first_doc(text: str) -> Any:
    """``yaml.YAMLToJSON`` reads only the first YAML document."""
    docs = cast(Generator[Any, None, None], yaml.load_all(text, Loader=_GoYamlLoader))
    try:
        first = next(docs, None)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else 0
        raise _YamlError(f"yaml: line {line}: {exc.problem or exc.context or exc}") from exc
    except yaml.YAMLError as exc:
        raise _YamlError(f"yaml: {exc}") from exc
    finally:
        docs.close()
    return _jsonify(first)


def load_plugin(path: Path) -> PluginConfig:
    """Parse ``plugin.yaml`` as ``ReadPluginConfig`` does (§1, ``config.go`` L68-97).

    The file goes YAML → JSON (first document only), then through a non-strict ``json.Unmarshal``:
    unknown keys are ignored, keys match case-insensitively, and a wrongly typed known field is an
    error (``version: 1`` is a number, not a string). Only three things are validated:
    ``metadata.name`` non-empty, ``kind == ConfigManagementPlugin`` and ``spec.generate.command``
    non-empty. ``apiVersion`` is not checked, and ``discover`` is optional.
    """
    try:
        raw = _yaml_first_doc(Path(path).read_text(encoding="utf-8"))
    except _YamlError as exc:
        raise PluginConfigError(f"error converting YAML to JSON: {exc}") from exc
    if raw is None:
        raw = {}
    root = _ci_fields(_want_obj(raw, "PluginConfig", "plugin.PluginConfig"), ("apiVersion", "kind", "metadata", "spec"))
    kind = _want_str(root.get("kind", ""), "PluginConfig.kind")
    api_version = _want_str(root.get("apiVersion", ""), "PluginConfig.apiVersion")
    meta = _ci_fields(_want_obj(root.get("metadata", {}), "PluginConfig.metadata", "v1.ObjectMeta"), ("name",))
    name = _want_str(meta.get("name", ""), "PluginConfig.metadata.name")
    spec = _ci_fields(
        _want_obj(root.get("spec", {}), "PluginConfig.spec", "plugin.PluginConfigSpec"),
        ("version", "init", "generate", "discover", "parameters", "preserveFileMode", "provideGitCreds"),
    )
    params = _ci_fields(
        _want_obj(spec.get("parameters", {}), "PluginConfigSpec.parameters", "plugin.Parameters"),
        ("static", "dynamic"),
    )
    static_raw = params.get("static", [])
    if not isinstance(static_raw, list):
        raise PluginConfigError(
            f"json: cannot unmarshal {_go_json_type(static_raw)} into Go struct field "
            "Parameters.spec.parameters.static "
            "of type []*apiclient.ParameterAnnouncement"
        )
    config = PluginConfig(
        name=name,
        kind=kind,
        api_version=api_version,
        version=_want_str(spec.get("version", ""), "PluginConfigSpec.spec.version"),
        init=_decode_command(spec.get("init", {}), "PluginConfigSpec.spec.init"),
        generate=_decode_command(spec.get("generate", {}), "PluginConfigSpec.spec.generate"),
        discover=dict(_want_obj(spec.get("discover", {}), "PluginConfigSpec.spec.discover", "plugin.Discover")),
        static_parameters=tuple(
            _decode_announcement(a, "Parameters.spec.parameters.static") for a in static_raw if a is not None
        ),
        dynamic_parameters=_decode_command(params.get("dynamic", {}), "Parameters.spec.parameters.dynamic"),
        preserve_file_mode=_want_bool(spec.get("preserveFileMode", False), "PluginConfigSpec.spec.preserveFileMode"),
        provide_git_creds=_want_bool(spec.get("provideGitCreds", False), "PluginConfigSpec.spec.provideGitCreds"),
        path=Path(path),
    )
    if config.name == "":
        raise PluginConfigError("invalid plugin configuration file. metadata.name should be non-empty")
    if config.kind != "ConfigManagementPlugin":
        raise PluginConfigError(
            f"invalid plugin configuration file. kind should be ConfigManagementPlugin, found {config.kind}"
        )
    if not config.generate.defined:
        raise PluginConfigError("invalid plugin configuration file. spec.generate command should be non-empty")
    return config


# --------------------------------------------------------------------------------------------------
# The request and its environment
# --------------------------------------------------------------------------------------------------


@dataclass
class Parameter:
    """One ``source.plugin.parameters[]`` entry. Each kind that is set (not ``None``) is emitted (§2)."""

    name: str
    string: str | None = None
    array: list[str] | None = None
    map: dict[str, str] | None = None


@dataclass
class AppRequest:
    """What the repo-server knows about the Application source it sends to the plugin.

    ``app_path`` is ``source.path``, relative to ``repo_dir``. ``app_name`` is ``app.InstanceName()``;
    pass ``<appNamespace>_<name>`` for apps outside the control-plane namespace. ``app_namespace`` is the
    **destination** namespace. ``plugin_block=False`` means the Application has no ``plugin:`` key at all,
    so no ``ARGOCD_ENV_*``, ``ARGOCD_APP_PARAMETERS`` or ``PARAM_*`` are sent (§2 footnote ²). If it
    is False, ``plugin_env`` and ``parameters`` must be empty.
    """

    repo_dir: Path
    app_path: str
    app_name: str = "demo"
    app_namespace: str = "default"
    project_name: str = "default"
    revision: str = "0123456789abcdef0123456789abcdef01234567"
    repo_url: str = "https://example.com/repo.git"
    target_revision: str = "main"
    plugin_env: Sequence[tuple[str, str]] = ()
    parameters: list[Parameter] | None = None
    kube_version: str = "1.31.2"
    kube_api_versions: str = "apps/v1,apps/v1/Deployment,v1,v1/ConfigMap,v1/Service"
    plugin_block: bool = True


EnvPurpose = Literal["generate", "parameters"]


def _param_env_entries(params: Sequence[Parameter] | None) -> list[str]:
    """``ApplicationSourcePluginParameters.Environ`` (``types.go``): the JSON first, then per parameter
    the string, then the map entries, then the array items.

    Note: Go emits map entries in random map order; here they follow the dict's order. Argo sends an
    empty list over protobuf as nil, so both ``None`` and ``[]`` marshal to ``null``.
    """
    payload: list[dict[str, Any]] | None = None
    if params:
        payload = []
        for p in params:
            obj: dict[str, Any] = {"name": p.name}
            if p.string is not None:
                obj["string"] = p.string
            if p.map is not None:
                obj["map"] = dict(p.map)
            if p.array is not None:
                obj["array"] = list(p.array)
            payload.append(obj)
    out = ["ARGOCD_APP_PARAMETERS=" + go_json_marshal(payload)]
    for p in params or ():
        base = "PARAM_" + escape_param_name(p.name)
        if p.string is not None:
            out.append(f"{base}={p.string}")
        if p.map is not None:
            out.extend(f"{base}_{escape_param_name(k)}={v}" for k, v in p.map.items())
        if p.array is not None:
            out.extend(f"{base}_{i}={v}" for i, v in enumerate(p.array))
    return out


def request_env_entries(request: AppRequest, purpose: EnvPurpose = "generate") -> list[str]:
    """The ``NAME=value`` list the repo-server sends with the tarball, in Argo's order (§2 "Environment").

    For ``generate`` (also used for init) these are the 9 ``ARGOCD_APP_*`` build vars, ``KUBE_VERSION`` and
    ``KUBE_API_VERSIONS``. For ``parameters`` they are only ``ARGOCD_APP_NAME``,
    ``ARGOCD_APP_SOURCE_REPO_URL``, ``ARGOCD_APP_SOURCE_PATH`` and ``ARGOCD_APP_SOURCE_TARGET_REVISION``
    (``populatePluginAppDetails``). When the plugin block exists, ``ARGOCD_ENV_<name>`` follows. Its value
    is ``os.Expand``-ed against those build vars only. Then come ``ARGOCD_APP_PARAMETERS`` and ``PARAM_*``.
    """
    if not request.plugin_block and (request.plugin_env or request.parameters):
        raise ValueError(
            "plugin_env/parameters given but plugin_block=False: an Application without a plugin block has neither"
        )
    rev = request.revision
    if purpose == "generate":
        build = [
            f"ARGOCD_APP_NAME={request.app_name}",
            f"ARGOCD_APP_NAMESPACE={request.app_namespace}",
            f"ARGOCD_APP_PROJECT_NAME={request.project_name}",
            f"ARGOCD_APP_REVISION={rev}",
            f"ARGOCD_APP_REVISION_SHORT={rev[:7]}",
            f"ARGOCD_APP_REVISION_SHORT_8={rev[:8]}",
            f"ARGOCD_APP_SOURCE_REPO_URL={request.repo_url}",
            f"ARGOCD_APP_SOURCE_PATH={request.app_path}",
            f"ARGOCD_APP_SOURCE_TARGET_REVISION={request.target_revision}",
            f"KUBE_VERSION={parse_kube_version(request.kube_version)}",
            f"KUBE_API_VERSIONS={request.kube_api_versions}",
        ]
    else:
        build = [
            f"ARGOCD_APP_NAME={request.app_name}",
            f"ARGOCD_APP_SOURCE_REPO_URL={request.repo_url}",
            f"ARGOCD_APP_SOURCE_PATH={request.app_path}",
            f"ARGOCD_APP_SOURCE_TARGET_REVISION={request.target_revision}",
        ]
    if not request.plugin_block:
        return build
    build_vars: dict[str, str] = {}
    for entry in build:
        k, _, v = entry.partition("=")
        build_vars[k] = v
    out = list(build)
    out.extend(f"ARGOCD_ENV_{name}={os_expand(value, build_vars)}" for name, value in request.plugin_env)
    out.extend(_param_env_entries(request.parameters))
    return out


def _child_env(sidecar_env: Mapping[str, str], entries: Sequence[str]) -> dict[str, str]:
    """``append(os.Environ(), environ(entries)...)``. Entries are split on the first ``=`` (``toEnvEntry``),
    and empty names are dropped. Go's exec keeps the last duplicate, so request vars win."""
    env = dict(sidecar_env)
    for entry in entries:
        name, sep, value = entry.partition("=")
        if sep and name:
            env[name] = value
    return env


def build_env(request: AppRequest, sidecar_env: Mapping[str, str], purpose: EnvPurpose = "generate") -> dict[str, str]:
    """The exact environment the plugin command sees: the sidecar's env, then the request entries."""
    return _child_env(sidecar_env, request_env_entries(request, purpose))


def _param_collisions(entries: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    for entry in entries:
        name = entry.partition("=")[0]
        if name.startswith("PARAM_"):
            seen[name] = seen.get(name, 0) + 1
    return [
        f"{name} is produced by {n} parameter entries (escaping collision); plugins should read ARGOCD_APP_PARAMETERS"
        for name, n in seen.items()
        if n > 1
    ]


# --------------------------------------------------------------------------------------------------
# Repository transport: repo-server checks, tar, sidecar extraction
# --------------------------------------------------------------------------------------------------


class _StageError(Exception):
    def __init__(self, stage: str, message: str, *, stderr: str = "", timed_out: bool = False) -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.stderr = stderr
        self.timed_out = timed_out


def _check_out_of_bounds_symlinks(root: str) -> None:
    """``CheckOutOfBoundsSymlinks(repoRoot, ".git")``: every absolute symlink, and every relative one whose
    path at any step leaves the repo, is rejected. The repo-server runs this on every git checkout
    unless ``--allow-oob-symlinks`` is set."""
    skip = _go_join(root, ".git")

    def visit(path: str) -> None:
        if path == skip:
            return
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(path)
            rel = posixpath.relpath(path, root)
            if posixpath.isabs(target):
                raise _StageError("repo", f"repository contains out-of-bounds symlinks. file: {rel}")
            current = posixpath.dirname(path)
            for part in target.split("/"):
                current = _go_join(current, part)
                r = posixpath.relpath(current, root)
                if r == ".." or r.startswith("../"):
                    raise _StageError("repo", f"repository contains out-of-bounds symlinks. file: {rel}")
        elif stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(path)):
                visit(_go_join(path, name))

    visit(root)


def _app_rel_path(root: str, app_path: str) -> str:
    """``apppathutil.Path`` then ``files.RelativePath``, keeping Argo's naive string-prefix checks."""
    if posixpath.isabs(app_path):
        raise _StageError("repo", f"{app_path}: app path is absolute")
    full = _go_join(root, app_path)
    if not full.startswith(_go_clean(root)):
        raise _StageError("repo", f"{app_path}: app path outside root")
    if not os.path.exists(full):
        raise _StageError("repo", f"{full}: app path does not exist")
    if not os.path.isdir(full):
        raise _StageError("repo", f"{full}: app path is not a directory")
    return posixpath.relpath(full, root)


def _tar_repo(root: str, exclude: Sequence[str], out: IO[bytes]) -> int:
    """``files.Tgz`` (``util/io/files/tar.go``): a ``filepath.Walk`` in lexical order without following
    symlinks. ``filepath.Match`` exclusions on the repo-relative path skip a whole dir. Only regular
    files, dirs and symlinks are included. Returns the number of regular files written."""
    written = 0
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:

        def visit(path: str, rel: str) -> None:
            nonlocal written
            st = os.lstat(path)
            for pattern in exclude:
                try:
                    if filepath_match(pattern, rel):
                        return  # a file is skipped, a dir is filepath.SkipDir
                except _BadPatternError as exc:
                    raise _StageError(
                        "repo",
                        f"error compressing repo files: error verifying exclusion pattern {go_quote(pattern)}: {exc}",
                    ) from exc
            mode = st.st_mode
            info = tarfile.TarInfo(rel)
            info.mode = stat.S_IMODE(mode)
            info.mtime = int(st.st_mtime)
            if stat.S_ISDIR(mode):
                info.type = tarfile.DIRTYPE
                tf.addfile(info)
                for name in sorted(os.listdir(path)):
                    visit(_go_join(path, name), name if rel == "." else f"{rel}/{name}")
            elif stat.S_ISLNK(mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                tf.addfile(info)
            elif stat.S_ISREG(mode):
                info.type = tarfile.REGTYPE
                info.size = st.st_size
                with open(path, "rb") as fh:
                    tf.addfile(info, fh)
                written += 1

        try:
            visit(root, ".")
        except OSError as exc:
            raise _StageError("repo", f"error compressing repo files: {exc}") from exc
    return written


def _inbound(candidate: str, base: str) -> bool:
    target = _go_clean(candidate) if posixpath.isabs(candidate) else _go_join(base, candidate)
    return target.startswith(_go_clean(base) + "/")


def _mkdir_all(path: str, mode: int) -> None:
    """``os.MkdirAll(path, mode)``: create the missing components, each with ``mode``."""
    missing: list[str] = []
    p = path
    while not os.path.isdir(p):
        missing.append(p)
        p = posixpath.dirname(p)
    for d in reversed(missing):
        os.mkdir(d)
        os.chmod(d, mode)


def _untar(dst: str, src: IO[bytes], preserve_file_mode: bool) -> None:
    """``files.untar`` (§2 "How the repo arrives").

    Files are written 0644 and dirs 0755 unless ``preserveFileMode``. A symlink's target is joined
    onto its dir (so an absolute target is re-rooted in the tree), resolved against what has been
    extracted so far, and must stay strictly inside ``dst``. It is then written as a relative link.
    """
    with tarfile.open(fileobj=src, mode="r") as tf:
        for member in tf:
            if member.name in (".", "./"):
                continue
            target = _go_join(dst, member.name)
            if not _inbound(target, dst):
                raise _StageError("stream", f"error decompressing tgz file: illegal filepath in archive: {target}")
            if member.isdir():
                mode = member.mode & 0o777 if preserve_file_mode else 0o755
                _mkdir_all(target, mode)
            elif member.issym():
                link_target = _go_join(posixpath.dirname(target), member.linkname)
                try:
                    real = os.path.realpath(link_target, strict=True)
                except FileNotFoundError:
                    real = link_target
                except OSError as exc:
                    raise _StageError(
                        "stream", f"error decompressing tgz file: error checking symlink realpath: {exc}"
                    ) from exc
                if not _inbound(real, dst):
                    raise _StageError(
                        "stream", f"error decompressing tgz file: illegal filepath in symlink: {link_target}"
                    )
                os.symlink(posixpath.relpath(real, posixpath.dirname(target)), target)
            elif member.isreg():
                _mkdir_all(posixpath.dirname(target), 0o755)
                fh = tf.extractfile(member)
                assert fh is not None
                with fh, open(target, "wb") as out:
                    shutil.copyfileobj(fh, out)
                os.chmod(target, member.mode & 0o777 if preserve_file_mode else 0o644)


@contextlib.contextmanager
def _checkout(
    plugin: PluginConfig,
    request: AppRequest,
    workdir: Path,
    exclude: Sequence[str],
    ctx: _RequestContext,
    allow_out_of_bounds_symlinks: bool,
) -> Iterator[str]:
    """Send the repo and receive it in a fresh ``_cmp_server/<uuid>/`` dir. Yields the app dir, then
    deletes the uuid dir (``getTempDirMustCleanup``)."""
    root = _go_clean(str(Path(request.repo_dir).resolve()))
    if not allow_out_of_bounds_symlinks:
        _check_out_of_bounds_symlinks(root)
    app_rel = _app_rel_path(root, request.app_path)
    base = Path(workdir).resolve() / "_cmp_server"
    base.mkdir(mode=0o700, parents=True, exist_ok=True)
    uuid_dir = str(base / str(uuid.uuid4()))
    ctx.add_dir(uuid_dir)
    try:
        with tempfile.TemporaryFile() as tgz:
            if _tar_repo(root, exclude, tgz) == 0:
                raise _StageError("repo", f"error compressing repo files: no files to send({root})")
            tgz.seek(0)
            os.mkdir(uuid_dir)
            os.chmod(uuid_dir, 0o755)
            if ctx.expired():
                raise _StageError(
                    "stream",
                    "error receiving tgz file: stream context error: context deadline exceeded",
                    timed_out=True,
                )
            _untar(uuid_dir, tgz, plugin.preserve_file_mode)
        app_dir = _go_clean(_go_join(uuid_dir, app_rel))
        if not app_dir.startswith(uuid_dir):
            raise _StageError("stream", "illegal appPath: out of workDir bound")
        yield app_dir
    finally:
        shutil.rmtree(uuid_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Running commands (plugin.go runCommand)
# --------------------------------------------------------------------------------------------------

_GO_SIGNAL_NAMES = {
    1: "hangup",
    2: "interrupt",
    3: "quit",
    4: "illegal instruction",
    5: "trace/breakpoint trap",
    6: "aborted",
    7: "bus error",
    8: "floating point exception",
    9: "killed",
    10: "user defined signal 1",
    11: "segmentation fault",
    12: "user defined signal 2",
    13: "broken pipe",
    14: "alarm clock",
    15: "terminated",
}

_pending_kills: set[threading.Timer] = set()
_pending_lock = threading.Lock()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _schedule_group_kill(groups: Sequence[int], delay: float) -> None:
    def fire() -> None:
        with _pending_lock:
            _pending_kills.discard(timer)
        for g in groups:
            _signal_group(g, signal.SIGKILL)

    timer = threading.Timer(delay, fire)
    timer.daemon = True
    with _pending_lock:
        _pending_kills.add(timer)
    timer.start()


@atexit.register
def _flush_pending_kills() -> None:
    """At interpreter exit, fire the delayed SIGKILLs now so no plugin processes outlive the test run."""
    with _pending_lock:
        timers = list(_pending_kills)
    for t in timers:
        t.cancel()
        t.function()


class _RequestContext:
    """The request ``ctx``. It expires at the deadline, and ``cancel()`` is what ``<-ctx.Done()`` triggers:
    SIGTERM to every process group started, then SIGKILL 5 s later (``plugin.go`` runCommand goroutine)."""

    def __init__(self, deadline_at: float) -> None:
        self.deadline_at = deadline_at
        self.kill_at: float | None = None
        self._groups: list[int] = []
        self._dirs: list[str] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline_at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def add_group(self, pgid: int) -> None:
        with self._lock:
            self._groups.append(pgid)

    def cancel(self) -> None:
        with self._lock:
            if self.kill_at is not None:
                return
            self.kill_at = time.monotonic() + GROUP_KILL_DELAY_S
            groups = list(self._groups)
        for g in groups:
            _signal_group(g, signal.SIGTERM)
        if groups:
            _schedule_group_kill(groups, GROUP_KILL_DELAY_S)

    def add_dir(self, path: str) -> None:
        with self._lock:
            self._dirs.append(path)

    def finish(self) -> None:
        """End the request: cancel it, then retry removing uuid dirs a dying background process kept busy."""
        self.cancel()
        give_up = time.monotonic() + 1.0
        for d in self._dirs:
            while os.path.lexists(d) and time.monotonic() < give_up:
                shutil.rmtree(d, ignore_errors=True)
                if os.path.lexists(d):
                    time.sleep(0.05)

    def kill_now(self) -> None:
        with self._lock:
            groups = list(self._groups)
        for g in groups:
            _signal_group(g, signal.SIGKILL)


@dataclass
class _Outcome:
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    timed_out: bool = False


def _look_path(name: str, path_env: str) -> tuple[str | None, str | None]:
    """``exec.LookPath`` against the **sidecar's** ``PATH`` (the request env cannot change the lookup)."""
    for d in path_env.split(":") if path_env else []:
        cand = posixpath.join(d or ".", name)
        try:
            st = os.stat(cand)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) and st.st_mode & 0o111:
            if not posixpath.isabs(cand):
                return (
                    None,
                    f"exec: {go_quote(name)}: cannot run executable found relative to current directory",
                )
            return cand, None
    return None, f"exec: {go_quote(name)}: executable file not found in $PATH"


def _exit_cause(returncode: int) -> str:
    if returncode >= 0:
        return f"exit status {returncode}"
    return "signal: " + _GO_SIGNAL_NAMES.get(-returncode, f"signal {-returncode}")


def _run_command(
    command: Command, cwd: str, env: Mapping[str, str], ctx: _RequestContext, sidecar_path: str
) -> _Outcome:
    """``runCommand`` in ``plugin.go`` (§2 "Timeouts, exit codes, stderr").

    Like Go's ``cmd.Wait``, this waits for stdout and stderr to close, not only for the direct child.
    A background process that keeps them open therefore holds the command until the deadline. On
    expiry the direct child gets SIGKILL (``exec.CommandContext``), the request is cancelled (SIGTERM
    to the groups) and, if the pipes are still open 5 s later, the groups get SIGKILL. Go itself has
    no final bound; this harness gives up 2 s after that SIGKILL.
    """
    argv = command.argv
    if not argv:
        return _Outcome(error="Command is empty")
    exe = argv[0]
    if "/" not in exe:
        found, err = _look_path(exe, sidecar_path)
        if err is not None or found is None:
            return _Outcome(error=err)
        exe = found
    if ctx.expired():
        return _Outcome(error="context deadline exceeded", timed_out=True)
    try:
        proc = subprocess.Popen(
            argv,
            executable=exe,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return _Outcome(error=f"fork/exec {exe}: {reason[:1].lower()}{reason[1:]}")
    ctx.add_group(proc.pid)
    timed_out = False
    try:
        try:
            out, err_b = proc.communicate(timeout=max(ctx.remaining(), 0.0))
        except subprocess.TimeoutExpired:
            timed_out = True
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            ctx.cancel()
            try:
                out, err_b = proc.communicate(timeout=max((ctx.kill_at or 0.0) - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                ctx.kill_now()
                try:
                    out, err_b = proc.communicate(timeout=2.0)
                except subprocess.TimeoutExpired:
                    # The pipes are held outside the process group (setsid); Argo would hang here.
                    for pipe in (proc.stdout, proc.stderr):
                        if pipe is not None:
                            pipe.close()
                    proc.wait()
                    out, err_b = b"", b"harness: output pipes still held by a process outside the group"
    except BaseException:
        proc.kill()
        _signal_group(proc.pid, signal.SIGKILL)
        raise
    stdout = out.decode("utf-8", "replace")
    stderr = err_b.decode("utf-8", "replace")
    stdout = stdout[:-1] if stdout.endswith("\n") else stdout
    if proc.returncode != 0:
        msg = f"`{command_args_to_log(argv)}` failed {_exit_cause(proc.returncode)}"
        trimmed = go_trim_space(stderr)
        if trimmed:
            msg += f": {trimmed}"
        return _Outcome(stdout="", stderr=stderr, error=msg, timed_out=timed_out)
    return _Outcome(stdout=stdout, stderr=stderr, timed_out=timed_out)


# --------------------------------------------------------------------------------------------------
# Parsing generate output (§3)
# --------------------------------------------------------------------------------------------------

_JSON_WS = " \t\n\r"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _json_error(exc: ValueError, data: str, eof: str = "unexpected EOF") -> str:
    if isinstance(exc, json.JSONDecodeError):
        if exc.msg == "Expecting value" and exc.pos < len(data):
            c = data[exc.pos]
            quoted = "'\\''" if c == "'" else "'" + go_quote(c)[1:-1].replace('\\"', '"') + "'"
            return f"invalid character {quoted} looking for beginning of value"
        if exc.pos >= len(data):
            return eof
        return f"{exc.msg} (at offset {exc.pos})"
    return str(exc)


def _split_yaml(text: str, first_err: str | None = None) -> list[Any]:
    """``YAMLReader.Read`` plus ``YAMLToJSON`` for each chunk.

    A line starting with ``---`` ends a document only when it is followed by nothing but spaces or a
    comment. Any other text after ``---`` is a syntax error. A separator met while the buffer is still
    empty stays in the buffer, as in Go. ``first_err`` is the JSON error from a JSON-to-YAML switch:
    Go reports it, instead of the YAML error, when the *first* YAML document fails.
    """

    def fail(index: int, msg: str) -> _StageError:
        return _StageError("split", f"failed to unmarshal manifest: {first_err if first_err and index == 0 else msg}")

    lines: list[str] = []
    pieces = text.split("\n")
    terminated = text.endswith("\n")
    if terminated:
        pieces.pop()
    for idx, piece in enumerate(pieces):
        has_newline = terminated or idx < len(pieces) - 1
        if has_newline and piece.endswith("\r"):
            piece = piece[:-1]
        lines.append(piece + "\n")
    chunks: list[str] = []
    buf: list[str] = []
    for line in lines:
        if line.startswith("---"):
            trimmed = go_trim_space(line[3:])
            if trimmed and not trimmed.startswith("#"):
                raise fail(len(chunks), f"invalid Yaml document separator: {trimmed}")
            if buf:
                chunks.append("".join(buf))
                buf = []
                continue
        buf.append(line)
    if buf:
        chunks.append("".join(buf))
    docs: list[Any] = []
    for index, chunk in enumerate(chunks):
        try:
            docs.append(_yaml_first_doc(chunk))
        except _YamlError as exc:
            raise fail(index, f"error converting YAML to JSON: {exc}") from exc
    return docs


def split_manifests(stdout: str) -> list[Any]:
    """``kube.SplitYAMLToString`` with apimachinery v0.36's ``YAMLOrJSONDecoder`` (§3 step 1).

    If the first non-blank character within the first 4096 bytes is ``{``, stdout is read as a stream
    of JSON values. If that stream breaks after 0 or 1 values, the decoder rewinds and reads the rest
    as YAML, so ``{...}`` followed by a log line yields a string document. After 2 or more values, a
    break is a syntax error. Otherwise stdout is ``---``-separated YAML. Empty and ``null`` documents
    are dropped. Returns the decoded documents, or raises ``CmpError`` for a syntax error, which the
    sidecar reports as ``failed to unmarshal manifest: ...``.
    """
    try:
        return _split(stdout)
    except _StageError as exc:
        raise CmpError(exc.message) from exc


def _split(data: str) -> list[Any]:
    head = data.encode("utf-8", "surrogatepass")[:4096].decode("utf-8", "ignore")
    if not head.lstrip(_GO_SPACE).startswith("{"):
        return [d for d in _split_yaml(data) if d is not None]
    docs: list[Any] = []
    count = 0
    pos = 0
    while True:
        i = pos
        while i < len(data) and data[i] in _JSON_WS:
            i += 1
        if i >= len(data):
            return docs
        try:
            value, end = _JSON_DECODER.raw_decode(data, i)
        except ValueError as exc:
            detail = _json_error(exc, data)
            if count > 1:
                raise _StageError("split", f"failed to unmarshal manifest: {detail}") from exc
            # Rewind to the end of the last good value, eat whitespace up to and including one newline,
            # then continue in YAML mode (decoder.go YAMLOrJSONDecoder.Decode / consumeWhitespace).
            first_err = f"json: offset {i + 1}: {detail}"
            k = pos
            while k < len(data) and data[k] in _GO_SPACE:
                k += 1
                if data[k - 1] == "\n":
                    break
            if k >= len(data):
                raise _StageError("split", f"failed to unmarshal manifest: {first_err}") from exc
            rest = _split_yaml(data[k:], first_err)
            return docs + [d for d in rest if d is not None]
        count += 1
        pos = end
        if value is not None:
            docs.append(value)


_CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CSIDriver",
        "CSINode",
        "CertificateSigningRequest",
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterServingRuntime",
        "ClusterStorageContainer",
        "ComponentStatus",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)


def _api_version_valid(api_version: Any) -> bool:
    if not isinstance(api_version, str) or api_version in ("", "/"):
        return True
    return api_version.count("/") <= 1


def to_target_objects(docs: Sequence[Any]) -> list[dict[str, Any]]:
    """The repo-server side (§3 steps 2-3): each document must be a mapping whose ``kind`` is a
    non-empty string and whose ``apiVersion`` parses; otherwise ``CmpError("failed to convert CMP
    manifests to unstructured objects: failed to unmarshal manifest: ...")``. Anything with an
    ``items`` array is flattened one level, whatever its kind (``Unstructured.IsList``). A list with
    ``items: null`` and no ``spec`` or ``status`` is dropped. Items are not checked for ``kind``.
    """
    prefix = "failed to convert CMP manifests to unstructured objects: failed to unmarshal manifest: "
    objects: list[dict[str, Any]] = []
    for doc in docs:
        if not isinstance(doc, dict):
            raise CmpError(
                prefix + "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
                f"{_go_json_type(doc)} into Go value of type map[string]interface {{}}"
            )
        kind = doc.get("kind")
        if not isinstance(kind, str) or kind == "" or not _api_version_valid(doc.get("apiVersion")):
            raise CmpError(
                prefix
                + "error unmarshaling JSON: while decoding JSON: "
                + f"Object 'Kind' is missing in '{_safe_json(doc)}'"
            )
        items = doc.get("items")
        if isinstance(items, list):
            for item in items:
                if not isinstance(item, dict):
                    raise CmpError("items member is not an object: map[string]interface {}")
                objects.append(item)
        elif "items" in doc and items is None and "spec" not in doc and "status" not in doc:
            continue
        else:
            objects.append(doc)
    return objects


def _safe_json(value: Any) -> str:
    try:
        return go_json_marshal(value)
    except (TypeError, ValueError):
        return json.dumps(value, default=str)


def _resource_key(obj: Mapping[str, Any], index: int, app_namespace: str) -> tuple[str, str, str, str]:
    """``kube.GetResourceKey`` after ``NormalizeTargetObjects`` has set or cleared the namespace.

    The harness does not know the cluster's scopes, so a short list of well-known cluster-scoped kinds
    stands in for them; every other kind is treated as namespaced.
    """
    api_version = _str_field(obj, "apiVersion")
    group = api_version.split("/", 1)[0] if "/" in api_version else ""
    kind = _str_field(obj, "kind")
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name = _str_field(meta, "name")
    namespace = _str_field(meta, "namespace")
    if kind in _CLUSTER_SCOPED_KINDS:
        namespace = ""
    elif namespace == "":
        namespace = app_namespace
    generate_name = _str_field(meta, "generateName")
    if name == "" and generate_name:
        name = f"{generate_name}{index}"
    return group, kind, namespace, name


def _str_field(obj: Mapping[str, Any], key: str) -> str:
    """``unstructured.NestedString`` semantics: a missing or non-string value reads as ``""``."""
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _dedupe(objects: Sequence[dict[str, Any]], app_namespace: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The controller's ``NormalizeTargetObjects``: the last duplicate wins and a
    ``RepeatedResourceWarning`` is recorded (§3 step 4)."""
    by_key: dict[tuple[str, str, str, str], list[int]] = {}
    for i, obj in enumerate(objects):
        by_key.setdefault(_resource_key(obj, i, app_namespace), []).append(i)
    keep = sorted(idx[-1] for idx in by_key.values())
    warnings = [
        f"Resource {'/'.join(key)} appeared {len(idx)} times among application resources."
        for key, idx in by_key.items()
        if len(idx) > 1
    ]
    return [objects[i] for i in keep], warnings


# --------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------


@dataclass
class GenerateResult:
    """The outcome of one manifest request.

    ``error`` is the message produced where the failure happened, without the outer gRPC wrapping. For
    example ``"`sh -c \"exit 3\"` failed exit status 3: boom"``, or ``"failed to convert CMP manifests to
    unstructured objects: failed to unmarshal manifest: ..."``. ``stage`` says which layer produced
    it: ``repo``, ``stream``, ``init``, ``generate``, ``split`` or ``convert``. ``objects`` are flattened
    and de-duplicated. ``empty`` flags a successful run that produced zero objects: Argo accepts that
    and, with prune, deletes everything (§3 step 5). ``timed_out`` is set when the deadline expired
    while a command was running or about to start.
    """

    objects: list[dict[str, Any]]
    error: str | None
    stderr: str
    warnings: list[str]
    empty: bool
    duration_s: float
    stdout: str = ""
    timed_out: bool = False
    stage: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def generate(
    plugin: PluginConfig,
    request: AppRequest,
    *,
    sidecar_env: Mapping[str, str],
    workdir: Path,
    deadline_s: float = 60.0,
    exclude: Sequence[str] = (".git/*",),
    allow_out_of_bounds_symlinks: bool = False,
) -> GenerateResult:
    """Run ``init`` (its output is discarded) and then ``generate``, as a GenerateManifest request does.

    ``sidecar_env`` is the sidecar's ``os.Environ()``. It is also the ``PATH`` used to find
    ``command[0]``, so pass ``PATH`` in it. ``workdir`` plays ``$ARGOCD_CMP_WORKDIR``. ``exclude``
    plays ``--plugin-tar-exclude``; Argo's default is none, and this harness excludes ``.git/*`` (which
    still leaves an empty ``.git`` dir). ``deadline_s`` is the caller's timeout (the controller default
    is 60 s). One deadline of ``deadline_s - 0.1`` covers the whole request (§2 "Timeouts").

    Safe to call from several threads at once: every call gets its own uuid dir and process groups.
    """
    start = time.monotonic()
    ctx = _RequestContext(start + deadline_s - CMP_TIMEOUT_BUFFER_S)
    warnings: list[str] = []
    stderr = ""
    stdout = ""
    timed_out = False
    objects: list[dict[str, Any]] = []
    error: str | None = None
    stage: str | None = None
    try:
        try:
            entries = request_env_entries(request, "generate")
        except CmpError as exc:
            raise _StageError("repo", str(exc)) from exc
        warnings.extend(_param_collisions(entries))
        env = _child_env(sidecar_env, entries)
        sidecar_path = sidecar_env.get("PATH", "")
        with _checkout(plugin, request, workdir, exclude, ctx, allow_out_of_bounds_symlinks) as app_dir:
            if plugin.init.defined:
                init = _run_command(plugin.init, app_dir, env, ctx, sidecar_path)
                timed_out = timed_out or init.timed_out
                if init.error is not None:
                    raise _StageError("init", init.error, stderr=init.stderr, timed_out=init.timed_out)
            gen = _run_command(plugin.generate, app_dir, env, ctx, sidecar_path)
            timed_out = timed_out or gen.timed_out
            stderr = gen.stderr
            if gen.error is not None:
                raise _StageError("generate", gen.error, stderr=gen.stderr, timed_out=gen.timed_out)
            stdout = gen.stdout
            if gen.timed_out:
                warnings.append(
                    "the deadline expired while waiting for output: "
                    "a background process kept stdout/stderr open "
                    "(Argo's cmd.Wait blocks on the pipes, not just the direct child)"
                )
            if stdout == "":
                warnings.append("Plugin command returned zero output")
            docs = _split(stdout)
        try:
            flat = to_target_objects(docs)
        except CmpError as exc:
            raise _StageError("convert", str(exc)) from exc
        objects, dup_warnings = _dedupe(flat, request.app_namespace)
        warnings.extend(dup_warnings)
        if not objects:
            warnings.append(
                "generate produced zero resources: Argo treats this as success (prune would delete everything)"
            )
    except _StageError as exc:
        error, stage = exc.message, exc.stage
        stderr = exc.stderr or stderr
        timed_out = timed_out or exc.timed_out
        objects = []
        stdout = ""
    finally:
        ctx.finish()
    return GenerateResult(
        objects=objects,
        error=error,
        stderr=stderr,
        warnings=warnings,
        empty=error is None and not objects,
        duration_s=time.monotonic() - start,
        stdout=stdout,
        timed_out=timed_out,
        stage=stage,
    )


def parameters(
    plugin: PluginConfig,
    request: AppRequest,
    *,
    sidecar_env: Mapping[str, str],
    workdir: Path,
    deadline_s: float = 60.0,
    exclude: Sequence[str] = (".git/*",),
    allow_out_of_bounds_symlinks: bool = False,
) -> list[dict[str, Any]]:
    """Emulate ``GetParametersAnnouncement``: run ``spec.parameters.dynamic`` in its own copy of the repo.

    The env is the parameter-announcement variant (see ``request_env_entries(..., "parameters")``).
    stdout must be a JSON array of ``ParameterAnnouncement`` objects; ``null`` counts as none, as in Go.
    As a harness-only strictness, each dynamic entry must also have a non-empty ``name``. The result is
    the dynamic entries followed by the static ones. Argo sends both lists as they are, and the later
    (static) entry wins for a repeated name: see ``effective_announcements``. Any failure raises ``CmpError``.
    """
    static = [dict(a) for a in plugin.static_parameters]
    if not plugin.dynamic_parameters.defined:
        return static
    ctx = _RequestContext(time.monotonic() + deadline_s - CMP_TIMEOUT_BUFFER_S)
    try:
        entries = request_env_entries(request, "parameters")
        env = _child_env(sidecar_env, entries)
        with _checkout(plugin, request, workdir, exclude, ctx, allow_out_of_bounds_symlinks) as app_dir:
            out = _run_command(plugin.dynamic_parameters, app_dir, env, ctx, sidecar_env.get("PATH", ""))
        if out.error is not None:
            raise CmpError(f"error executing dynamic parameter output command: {out.error}")
        prefix = "error unmarshaling dynamic parameter output into ParametersAnnouncementResponse: "
        try:
            raw = json.loads(out.stdout, parse_constant=_reject_constant)
        except ValueError as exc:
            raise CmpError(prefix + _json_error(exc, out.stdout, "unexpected end of JSON input")) from exc
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise CmpError(
                prefix
                + f"json: cannot unmarshal {_go_json_type(raw)} into Go value of type "
                + "[]*apiclient.ParameterAnnouncement"
            )
        dynamic: list[dict[str, Any]] = []
        for i, item in enumerate(raw):
            if item is None:
                continue
            try:
                ann = _decode_announcement(item, "ParameterAnnouncement")
            except PluginConfigError as exc:
                raise CmpError(prefix + str(exc)) from exc
            if not ann.get("name"):
                raise CmpError(f"dynamic parameter announcement #{i} has no name (harness check): {_safe_json(item)}")
            dynamic.append(ann)
    except _StageError as exc:
        raise CmpError(exc.message) from exc
    finally:
        ctx.finish()
    return dynamic + static


def effective_announcements(announcements: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Map names to announcements; a later entry replaces an earlier one of that name (static wins, §1)."""
    out: dict[str, dict[str, Any]] = {}
    for ann in announcements:
        out[str(ann.get("name", ""))] = dict(ann)
    return out
