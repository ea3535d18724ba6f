"""The rules Kubernetes, Argo and Git apply to values mlgitops copies from a spec into an object.

Each rule is a pure function: the error message (without the value's field name) or None when the
value is accepted. `mlgitops.language` turns them into pydantic validators, so a value the cluster would refuse
is reported at its spec line instead of at apply time. Each rule names the upstream file it follows.
"""

from __future__ import annotations

import re
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from urllib.parse import urlsplit

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# k8s.io/apimachinery/pkg/util/validation/validation.go: IsDNS1123Label, IsDNS1123Subdomain,
# IsDNS1035Label, IsQualifiedName, IsValidLabelValue.
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
QUALIFIED_NAME_MAX = 63
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
LABEL_VALUE_MAX = 63
# k8s.io/apimachinery/pkg/api/validation/objectmeta.go: TotalAnnotationSizeLimitB.
ANNOTATIONS_SIZE_MAX = 256 * 1024


def _show(value: str) -> str:
    """The value quoted for a message, shortened so a hostile value cannot flood the output."""
    return repr(value if len(value) <= 80 else value[:77] + "...")


def dns1123_label(value: str) -> str | None:
    if len(value) > DNS1123_LABEL_MAX or not _DNS1123_LABEL.fullmatch(value):
        return (
            f"{_show(value)} is not a DNS-1123 label (lower-case letters, digits and '-', "
            f"starting and ending with a letter or digit, at most {DNS1123_LABEL_MAX} characters)"
        )
    return None


def dns1123_subdomain(value: str) -> str | None:
    if len(value) > DNS1123_SUBDOMAIN_MAX or not _DNS1123_SUBDOMAIN.fullmatch(value):
        return (
            f"{_show(value)} is not a DNS-1123 subdomain (dot-separated lower-case labels of letters, "
            f"digits and '-', at most {DNS1123_SUBDOMAIN_MAX} characters)"
        )
    return None


def dns1035_label(value: str, max_length: int = DNS1123_LABEL_MAX) -> str | None:
    if len(value) > max_length or not _DNS1035_LABEL.fullmatch(value):
        return (
            f"{_show(value)} is not a DNS-1035 label of at most {max_length} characters (lower-case letters, "
            "digits and '-', starting with a letter and ending with a letter or digit)"
        )
    return None


def qualified_name(value: str) -> str | None:
    """A label key, annotation key or resource name: an optional DNS subdomain prefix and `/`, then a name."""
    prefix, slash, name = value.rpartition("/")
    if slash:
        if not prefix:
            return f"{_show(value)} has an empty prefix before '/'"
        if len(prefix) > DNS1123_SUBDOMAIN_MAX or not _DNS1123_SUBDOMAIN.fullmatch(prefix):
            return f"the prefix of {_show(value)} must be a DNS-1123 subdomain (like example.com)"
    if not name or len(name) > QUALIFIED_NAME_MAX or not _QUALIFIED_NAME.fullmatch(name):
        return (
            f"{_show(value)} is not a valid key: an optional DNS subdomain prefix and '/', then a name of at most "
            f"{QUALIFIED_NAME_MAX} letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return None


def label_value(value: str) -> str | None:
    if len(value) > LABEL_VALUE_MAX or not _LABEL_VALUE.fullmatch(value):
        return (
            f"{_show(value)} cannot be a Kubernetes label value (letters, digits, '-', '_', '.', starting "
            f"and ending with a letter or digit; at most {LABEL_VALUE_MAX} characters)"
        )
    return None


def annotations_size(annotations: dict[str, str]) -> str | None:
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > ANNOTATIONS_SIZE_MAX:
        return f"annotations total {size} bytes; Kubernetes accepts at most {ANNOTATIONS_SIZE_MAX} (256 KiB)"
    return None


def env_var_name(value: str) -> str | None:
    """k8s.io/apimachinery/pkg/util/validation/validation.go IsRelaxedEnvVarName (the rule since the
    RelaxedEnvironmentVariableValidation gate went on by default): printable ASCII except '='."""
    if not value:
        return "an environment variable name must not be empty"
    if any(not (" " <= ch <= "~") or ch == "=" for ch in value):
        return f"{_show(value)} is not an environment variable name (printable ASCII characters other than '=')"
    return None


_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")


def config_map_key(value: str) -> str | None:
    """k8s.io/apimachinery/pkg/util/validation/validation.go IsConfigMapKey (Secret keys follow it too), with
    its hasChDirPrefix: not `.`, and not starting with `..`."""
    if len(value) > 253 or not _CONFIG_KEY.fullmatch(value) or value == "." or value.startswith(".."):
        return (
            f"{_show(value)} is not a Secret or ConfigMap key (letters, digits, '-', '_', '.'; at most 253; "
            "not '.' and not starting with '..')"
        )
    return None


# argoproj/argo-workflows workflow/validate/validate.go: paramOrArtifactNameRegex.
_ARGO_PARAMETER = re.compile(r"[-a-zA-Z0-9_]+")


def argo_parameter_name(value: str) -> str | None:
    if not _ARGO_PARAMETER.fullmatch(value):
        return f"{_show(value)} is not an Argo Workflows parameter name (letters, digits, '-' and '_')"
    return None


def int32(value: int) -> str | None:
    if not -(2**31) <= value <= INT32_MAX:
        return f"{value} does not fit the field's 32-bit integer (at most {INT32_MAX})"
    return None


def int64(value: int) -> str | None:
    if not -(2**63) <= value <= INT64_MAX:
        return f"{value} does not fit the field's 64-bit integer (at most {INT64_MAX})"
    return None


# --- ports and probes ----------------------------------------------------------------------------

# k8s.io/apimachinery/pkg/util/validation/validation.go: IsValidPortNum, IsValidPortName (IANA_SVC_NAME,
# RFC 6335 section 5.1), IsHTTPHeaderName (letters, digits and '-': Go's net/http names, stricter than an
# RFC 7230 token).
PORT_NAME_MAX = 15
_PORT_NAME = re.compile(r"[-a-z0-9]+")
_HTTP_HEADER_NAME = re.compile(r"[-A-Za-z0-9]+")


def port_number(value: int) -> str | None:
    if not 1 <= value <= 65535:
        return f"{value} is not a port number (1 to 65535)"
    return None


def port_name(value: str) -> str | None:
    """A container port name (and a probe's named port): an IANA service name."""
    if (
        len(value) > PORT_NAME_MAX
        or not _PORT_NAME.fullmatch(value)
        or not re.search(r"[a-z]", value)
        or value.startswith("-")
        or value.endswith("-")
        or "--" in value
    ):
        return (
            f"{_show(value)} is not a port name (an IANA service name: at most {PORT_NAME_MAX} lower-case letters, "
            "digits and '-', with at least one letter, no '-' at either end and no '--')"
        )
    return None


def http_header_name(value: str) -> str | None:
    if not _HTTP_HEADER_NAME.fullmatch(value):
        return f"{_show(value)} is not an HTTP header name Kubernetes accepts (letters, digits and '-')"
    return None


# --- resources -----------------------------------------------------------------------------------

# kubernetes/kubernetes pkg/apis/core/validation/validation.go validateContainerResourceName, and
# pkg/apis/core/helper/helpers.go IsExtendedResourceName / IsNativeResource.
_STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def extended_resource_name(value: str) -> str | None:
    """A device plugin's resource (`nvidia.com/gpu`): a domain-prefixed name outside `kubernetes.io/`."""
    if "/" not in value or "kubernetes.io/" in value or value.startswith("requests."):
        return (
            f"{_show(value)} is not an extended resource name (a domain-prefixed name like nvidia.com/gpu, "
            "outside the kubernetes.io/ domain)"
        )
    if qualified_name("requests." + value) is not None:
        return f"{_show(value)} is not an extended resource name ({qualified_name(value) or 'too long'})"
    return None


def container_resource_name(value: str) -> str | None:
    if "/" not in value:
        if value in _STANDARD_CONTAINER_RESOURCES or value.startswith("hugepages-"):
            return qualified_name(value)
        return (
            f"{_show(value)} is not a container resource (cpu, memory, ephemeral-storage, hugepages-<size>, "
            "or a domain-prefixed extended resource like nvidia.com/gpu)"
        )
    if "kubernetes.io/" in value:
        return qualified_name(value)
    return extended_resource_name(value)


# k8s.io/apimachinery/pkg/api/resource/quantity.go (ParseQuantity and its grammar) and suffix.go
# (interpret). The parser has no limit on digits, but it caps binary quantities at 2^63-1 and reads
# an exponent into an int32 that silently wraps, then sets the number's scale to its decimal places minus
# that exponent, in int32 arithmetic too (amount.go Scale.infScale); values beyond 2^63-1, and exponents
# whose scale would wrap, are refused here instead.
_QUANTITY = re.compile(
    r"(?P<number>[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+))(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?"
)
_DECIMAL_SUFFIX = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIX = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
# Scaling by any int32 exponent (the default context refuses beyond about 2 million: InvalidOperation).
_SCALING = Context(Emax=MAX_EMAX, Emin=MIN_EMIN)


def quantity(value: str) -> str | None:
    match = _QUANTITY.fullmatch(value)
    if not match:
        return f"{_show(value)} is not a Kubernetes quantity (like 500m, 2, 4Gi, 1e3)"
    number = Decimal(match["number"])
    if number < 0:
        return f"{_show(value)} is negative; resource quantities must be at least 0"
    suffix = match["suffix"] or ""
    if len(suffix) > 12:  # an exponent beyond what Kubernetes reads (an int32, after int64 parsing)
        return f"{_show(value)} has an exponent out of range"
    if suffix in _BINARY_SUFFIX:
        amount = number * 2 ** _BINARY_SUFFIX[suffix]
    else:
        exponent = int(suffix[1:]) if suffix[:1] in ("e", "E") and len(suffix) > 1 else _DECIMAL_SUFFIX[suffix]
        places = -int(number.as_tuple().exponent)
        if number and not places - INT32_MAX <= exponent <= INT32_MAX:  # Kubernetes would read another number
            return f"{_show(value)} has an exponent out of range"
        # Compare magnitudes without building 10**exponent for a hostile exponent.
        if number and number.adjusted() + exponent > 19:
            return f"{_show(value)} is larger than Kubernetes can hold (2^63-1)"
        amount = number.scaleb(exponent, _SCALING) if number else number
    if amount > INT64_MAX:
        return f"{_show(value)} is larger than Kubernetes can hold (2^63-1)"
    return None


# --- durations -----------------------------------------------------------------------------------

# Go's time.ParseDuration (src/time/format.go): a sum of decimal numbers with units; time.Duration
# is an int64 of nanoseconds, so a duration must stay below about 292 years.
_GO_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9}
_GO_DURATION_UNITS["h"] = 3600 * 10**9
_GO_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")


def go_duration_nanoseconds(value: str) -> int | None:
    """The nanoseconds of a Go duration string, or None when Go's parser would refuse it."""
    text = value[1:] if value.startswith(("+", "-")) else value
    sign = -1 if value.startswith("-") else 1
    if text == "0":
        return 0
    if not text:
        return None
    total = Decimal(0)
    position = 0
    while position < len(text):
        part = _GO_DURATION_PART.match(text, position)
        if not part:
            return None
        total += Decimal(part[1]) * _GO_DURATION_UNITS[part[2]]
        position = part.end()
    if total > INT64_MAX:
        return None
    return sign * int(total)


def duration_range(seconds: int) -> str | None:
    if seconds * 10**9 > INT64_MAX:
        return "is longer than a Go duration can hold (about 292 years)"
    return None


# --- names and references ------------------------------------------------------------------------


def git_ref(value: str) -> str | None:
    """A revision Argo CD and Flux can check out: a branch, tag, full ref, commit SHA or HEAD.

    git/git refs.c check_refname_component and Documentation/git-check-ref-format.txt.
    """
    why = None
    if not value:
        why = "it is empty"
    elif any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        why = "it contains a control character"
    elif any(ch in value for ch in " ~^:?*[\\"):
        why = "it contains one of: space ~ ^ : ? * [ \\"
    elif ".." in value or "@{" in value or "//" in value:
        why = "it contains '..', '@{' or '//'"
    elif value == "@" or value.startswith("/") or value.endswith(("/", ".")):
        why = "it is '@', starts with '/' or ends with '/' or '.'"
    elif any(part.startswith(".") or part.endswith(".lock") for part in value.split("/")):
        why = "a component starts with '.' or ends with '.lock'"
    if why:
        return f"{_show(value)} is not a Git revision ({why}; see git check-ref-format)"
    return None


# distribution/reference regexp.go (the grammar) and normalize.go/reference.go (NameTotalLengthMax);
# opencontainers/go-digest algorithm.go for the length of registered digest algorithms.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?")
IMAGE_NAME_MAX = 255
_DIGEST_HEX_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}


def image_reference(value: str) -> str | None:
    if len(value) > 1024:  # a name of 255, a tag of 128 and a long digest fit well within this
        return f"{_show(value)} is too long for a container image reference"
    match = _REFERENCE.fullmatch(value)
    if not match:
        return (
            f"{_show(value)} is not a container image reference ([registry/]repository[:tag][@digest], "
            "with a lower-case repository and no spaces)"
        )
    if len(match["name"]) > IMAGE_NAME_MAX:
        return f"the repository name of {_show(value)} is longer than {IMAGE_NAME_MAX} characters"
    if match["digest"]:
        algorithm, _, hex_digits = match["digest"].partition(":")
        expected = _DIGEST_HEX_LENGTH.get(algorithm)
        if expected is not None and len(hex_digits) != expected:
            return f"the {algorithm} digest of {_show(value)} must have {expected} hex digits, not {len(hex_digits)}"
    return None


def https_url(value: str) -> str | None:
    """A Kubernetes API server URL for an Argo CD destination (argo-cd pkg/apis/application/v1alpha1/types.go
    ApplicationDestination.Server, matched against the `server` of a cluster Secret; API servers serve https)."""
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return f"{_show(value)} is not a URL (it contains spaces or control characters)"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        return f"{_show(value)} is not a URL ({exc})"
    if parts.scheme != "https" or not parts.hostname:
        return f"{_show(value)} is not an https:// URL of a Kubernetes API server"
    if "@" in parts.netloc:
        return "a cluster URL must not carry user information; Argo CD keeps cluster credentials in its cluster Secrets"
    if port == 0:
        return f"{_show(value)} has port 0"
    if parts.fragment or parts.query:
        return f"{_show(value)} must not have a query or fragment"
    return None


# --- cron ----------------------------------------------------------------------------------------

# argoproj/argo-workflows workflow/validate/validate.go validates every schedule with robfig/cron v3's
# ParseStandard (robfig/cron parser.go): five fields (minute hour day-of-month month day-of-week) or a
# descriptor; each field a comma list of `*`/`?`, N, N-M, with an optional /step; month and weekday
# names (JAN, MON), case-insensitive.
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day-of-week", 0, 6, {d: i for i, d in enumerate(_WEEKDAYS)}),
)
CRON_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_ATOI = re.compile(r"[+-]?[0-9]+")


def _cron_number(text: str, names: dict[str, int] | None) -> int | None:
    if names and text.lower() in names:
        return names[text.lower()]
    if not _ATOI.fullmatch(text) or text.startswith("-"):  # mustParseInt refuses a negative number
        return None
    digits = text.lstrip("+0") or "0"  # strconv.Atoi: any number of leading zeros, then an int64
    return int(digits) if len(digits) <= 19 and int(digits) <= INT64_MAX else None


def _cron_range(part: str, low: int, high: int, names: dict[str, int] | None) -> str | None:
    """Why `part` is not a valid range of the field (robfig/cron parser.go getRange), or None."""
    range_and_step = part.split("/")
    if len(range_and_step) > 2:
        return "has more than one '/'"
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = low, high
    else:
        if len(low_and_high) > 2:
            return "has more than one '-'"
        first = _cron_number(low_and_high[0], names)
        if first is None:
            return f"{_show(low_and_high[0])} is not a number" + (" or a name" if names else "")
        start = end = first
        if len(low_and_high) == 2:
            last = _cron_number(low_and_high[1], names)
            if last is None:
                return f"{_show(low_and_high[1])} is not a number" + (" or a name" if names else "")
            end = last
    if len(range_and_step) == 2:
        step = _cron_number(range_and_step[1], None)
        if step is None:
            return f"step {_show(range_and_step[1])} is not a number"
        if step == 0:
            return "step must be positive"
        if len(low_and_high) == 1:
            end = high
    if start < low or end > high:
        return f"is outside {low}-{high}"
    if start > end:
        return f"starts after it ends ({start} > {end})"
    return None


def cron_schedule(value: str) -> str | None:
    if not value.strip():
        return "a cron schedule must not be empty"
    if value.startswith(("TZ=", "CRON_TZ=")):
        return "set training.timezone instead of a TZ= or CRON_TZ= prefix in the schedule"
    if value.startswith("@"):
        if value in CRON_DESCRIPTORS:
            return None
        if value.startswith("@every "):
            nanoseconds = go_duration_nanoseconds(value.removeprefix("@every "))
            if nanoseconds is None:
                return f"{_show(value)}: @every takes a Go duration like 1h30m"
            if nanoseconds <= 0:
                return f"{_show(value)}: the @every interval must be positive"
            return None
        return f"{_show(value)} is not a cron descriptor ({', '.join(CRON_DESCRIPTORS)}, @every <duration>)"
    fields = value.split()
    if len(fields) != len(_CRON_FIELDS):
        return (
            f"{_show(value)} is not a cron expression: Argo Workflows expects exactly 5 fields "
            f"(minute hour day-of-month month day-of-week), found {len(fields)}"
        )
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for part in text.split(","):
            why = _cron_range(part, low, high, names)
            if why:
                return f"{_show(value)}: the {name} field {_show(part)} {why}"
    return None


# --- time zones ----------------------------------------------------------------------------------

_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")


def _zone_database_available() -> bool:
    import importlib.util
    import os
    import zoneinfo

    return importlib.util.find_spec("tzdata") is not None or any(
        os.path.isfile(os.path.join(path, "UTC")) for path in zoneinfo.TZPATH
    )


def timezone(value: str) -> str | None:
    """An IANA time zone name (argo-workflows CronWorkflow `timezone`, loaded with Go's time.LoadLocation).

    Checked against this machine's tz database when it has one (the system's or the `tzdata` package);
    on a machine without any, only the form of the name is checked.
    """
    if value == "Local" or len(value) > 255 or not _ZONE_NAME.fullmatch(value):
        return f"{_show(value)} is not an IANA time zone name (like Europe/Berlin or UTC)"
    if not _zone_database_available():
        return None
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"{_show(value)} is not an IANA time zone name (like Europe/Berlin or UTC)"
    return None
