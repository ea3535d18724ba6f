"""Values Kubernetes, Argo or Git would refuse (language/kubevalues.py): each rule given values it must accept
and values it must refuse. Pure and fast, so `make mutation` runs them per mutant; the same rules through the
real CLI, at their spec lines, are in test_kube_values_cli.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlgitops.language import kubevalues as kv

FRAUD = "models/fraud-detector.yaml"
CHURN = "models/churn-scorer.yaml"
LLM = "models/support-llm.yaml"
PROJECT = "mlgitops.yaml"


def accepts(rule: Callable[[str], str | None], values: list[str]) -> None:
    for value in values:
        assert rule(value) is None, (value, rule(value))


def refuses(rule: Callable[[str], str | None], values: list[str]) -> None:
    for value in values:
        message = rule(value)
        assert message, value
        assert "\n" not in message, message  # the value is quoted, never printed raw


# --- unit level ----------------------------------------------------------------------------------


def test_label_keys_and_annotation_keys() -> None:
    accepts(kv.qualified_name, ["domain", "app.kubernetes.io/name", "a", "A_b.c-9", "example.com/" + "x" * 63])
    refuses(
        kv.qualified_name,
        ["bad key", "", "-a", "a-", "x" * 64, "/name", "Example.com/name", "a/b/c", "domain/", "ünïcode", "a\nb"],
    )
    refuses(kv.qualified_name, ["a" * 254 + "/name"])  # the prefix is a subdomain of at most 253


def test_label_values() -> None:
    accepts(kv.label_value, ["", "payments", "v1.2.3", "A_b-c", "x" * 63])
    refuses(kv.label_value, ["pay\nments", "x" * 64, "x" * 100, "-a", "a.", "with space", "a/b"])


def test_annotation_total_size() -> None:
    assert kv.annotations_size({"a": "x" * 1000}) is None
    assert kv.annotations_size({"a": "x" * (256 * 1024 - 1)}) is None
    assert "256 KiB" in (kv.annotations_size({"a": "x" * (256 * 1024)}) or "")
    # Multi-byte characters count in bytes, as the API server counts them.
    assert kv.annotations_size({"a": "é" * (128 * 1024)}) is not None


def test_dns_names() -> None:
    accepts(kv.dns1123_label, ["argocd", "flux-system", "a", "0abc", "x" * 63])
    refuses(kv.dns1123_label, ["../../etc", "Flux", "a_b", "-a", "a-", "x" * 64, "", "a.b"])
    accepts(kv.dns1123_subdomain, ["model-reader", "my.sa", "a" * 253])
    refuses(kv.dns1123_subdomain, ["My-SA", "a..b", ".a", "a" * 254, "", "a b"])
    accepts(lambda v: kv.dns1035_label(v, 53), ["fraud-detector", "a" * 53])
    refuses(lambda v: kv.dns1035_label(v, 53), ["7up", "a" * 54, "a-"])


def test_integer_ranges() -> None:
    assert kv.int32(2**31 - 1) is None
    assert kv.int32(99999999999999999999) is not None
    assert kv.int32(2**31) is not None
    assert kv.int64(2**63 - 1) is None
    assert kv.int64(2**63) is not None


def test_quantities_follow_the_apimachinery_parser() -> None:
    accepts(
        kv.quantity,
        [
            "0",
            "1",
            "500m",
            "2Gi",
            "1.5",
            ".5",
            "1.",
            "+1",
            "1e3",
            "1E3",
            "1e+3",
            "1e-3",
            "100n",
            "3u",
            "9.2E",
            "9223372036854775807",
            "0.000000001",
            "7Ei",
        ],
    )
    refuses(
        kv.quantity,
        [
            "2 GB",
            "1gi",
            "1K",
            "1KiB",
            "",
            ".",
            "e3",
            "1e",
            "1.2.3",
            "-1",
            "-500m",
            "1e400",
            "1e4294967296",
            "9223372036854775808",
            "8Ei",
            "9Ei",
            "10E",
            "0x10",
            "1_000",
            "１",
        ],
    )


def test_hostile_sizes_are_refused_with_a_message() -> None:
    """Values far beyond any limit are refused by the rule itself, never by an exception inside it."""
    for value in ("1e" + "9" * 5000, "1e-" + "9" * 5000, "1" * 5000, "1Ki" + "9" * 50):
        assert kv.quantity(value), value
    assert kv.image_reference("a/" * 5000 + "a")
    assert kv.cron_schedule("*/" + "1" * 5000 + " * * * *")
    assert len(kv.cron_schedule("*/" + "1" * 5000 + " * * * *") or "") < 300  # each part shown shortened
    assert kv.cron_schedule("@every " + "9" * 5000 + "h")
    assert kv.git_ref("a/" * 50000)


def test_spec_durations_beyond_go_are_refused_without_a_traceback() -> None:
    from pydantic import ValidationError

    from mlgitops.language.project import FluxSettings

    assert FluxSettings.model_validate({"interval": "2562047h"}).interval == "2562047h"  # just under 2^63 ns
    for value in ("2562048h", "9" * 5000 + "h"):
        with pytest.raises(ValidationError) as caught:
            FluxSettings.model_validate({"interval": value})
        assert "too long" in str(caught.value) or "Go duration" in str(caught.value)


def test_container_resource_names() -> None:
    accepts(kv.container_resource_name, ["cpu", "memory", "ephemeral-storage", "hugepages-2Mi", "nvidia.com/gpu"])
    refuses(kv.container_resource_name, ["gpu", "CPU", "storage", "kubernetes.io/x y", "bad key/x", "requests.a/b"])
    accepts(kv.extended_resource_name, ["nvidia.com/gpu", "amd.com/gpu", "example.com/fpga-1"])
    refuses(kv.extended_resource_name, ["gpu", "kubernetes.io/gpu", "nvidia.com/", "nvidia.com/" + "g" * 64, "a b/c"])


def test_container_resource_names_are_qualified_names_first() -> None:
    """k8s.io/kubernetes pkg/apis/core/validation/validation.go validateContainerResourceName starts with
    validateResourceName, IsQualifiedName on the whole name: a hugepages-<size> name is a standard container
    resource only when it is also a qualified name, and a name in the kubernetes.io/ domain is native
    (helper.IsNativeResource), so it needs only to be qualified."""
    accepts(kv.container_resource_name, ["hugepages-1Gi", "kubernetes.io/network-bandwidth", "x.kubernetes.io/y"])
    for name in ("hugepages-2 Mi", "hugepages-" + "x" * 54, "kubernetes.io/-x"):
        message = kv.container_resource_name(name)
        assert message is not None and message.startswith(f"{name!r} is not a valid key"), (name, message)


def test_env_var_names_follow_the_relaxed_kubernetes_rule() -> None:
    accepts(kv.env_var_name, ["PATH", "my.env-name", "1LEADING_DIGIT", "with space", "a:b"])
    refuses(kv.env_var_name, ["", "A=B", "tab\tname", "new\nline", "ümlaut"])
    assert kv.env_var_name("") == "an environment variable name must not be empty"


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        (" ", True),  # U+0020, the first printable ASCII character
        ("!", True),
        ("~", True),  # U+007E, the last
        ("a~", True),
        ("\x1f", False),  # the last control character before the space
        ("\x7f", False),  # DEL: ASCII, not printable
        ("a\x7f", False),  # any one character refuses the name, not only the first
        ("\x80", False),  # past unicode.MaxASCII
        ("=", False),
        ("A=", False),
    ],
)
def test_env_var_name_edges_of_printable_ascii(name: str, ok: bool) -> None:
    """k8s.io/apimachinery/pkg/util/validation/validation.go IsRelaxedEnvVarName: a non-empty name whose every
    rune passes `r <= unicode.MaxASCII && unicode.IsPrint(r) && r != '='` (printable ASCII is U+0020 to U+007E)."""
    message = kv.env_var_name(name)
    assert (message is None) is ok, (name, message)
    if not ok:
        assert "printable ASCII characters other than '='" in (message or "")


def test_port_numbers() -> None:
    """validation.go IsValidPortNum: `1 <= port && port <= 65535`."""
    for number, ok in [(0, False), (1, True), (8080, True), (65535, True), (65536, False), (-1, False)]:
        message = kv.port_number(number)
        assert (message is None) is ok, number
        if not ok:
            assert message == f"{number} is not a port number (1 to 65535)"


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("http", True),
        ("h2c", True),
        ("a", True),
        ("a-b", True),
        ("1a", True),  # digits are allowed as long as there is one letter
        ("a" * 15, True),  # at most 15 characters
        ("a" * 16, False),
        ("123", False),  # must contain at least one letter
        ("", False),
        ("-http", False),  # must not begin or end with a hyphen
        ("http-", False),
        ("ht--tp", False),  # no consecutive hyphens
        ("HTTP", False),  # lower case only (RFC 6335 is case-insensitive; Kubernetes is not)
        ("ht_tp", False),
        ("ht tp", False),
    ],
)
def test_port_names_are_iana_service_names(name: str, ok: bool) -> None:
    """validation.go IsValidPortName: at most 15 characters of [-a-z0-9], at least one letter [a-z], no '--',
    no '-' at either end."""
    message = kv.port_name(name)
    assert (message is None) is ok, (name, message)
    if not ok:
        assert message is not None and message.startswith(f"{name!r} is not a port name")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("X-Probe", True),
        ("x-probe-2", True),
        ("Authorization", True),
        ("-", True),
        ("X_Probe", False),  # RFC 7230 token characters outside [-A-Za-z0-9] are refused
        ("X.Probe", False),
        ("X~Probe", False),
        ("X Probe", False),
        ("X:Probe", False),
        ("", False),
    ],
)
def test_http_header_names_kubernetes_accepts(name: str, ok: bool) -> None:
    """validation.go IsHTTPHeaderName, which validateHTTPGetAction applies to a probe's httpHeaders: the
    regexp `^[-A-Za-z0-9]+$` (Go's net/http header names, a stricter subset than an RFC 7230 token)."""
    message = kv.http_header_name(name)
    assert (message is None) is ok, (name, message)
    if not ok:
        assert message is not None and message.startswith(f"{name!r} is not an HTTP header name")


def test_argo_parameter_names() -> None:
    accepts(kv.argo_parameter_name, ["data-uri", "base_model", "x1"])
    refuses(kv.argo_parameter_name, ["data.uri", "a b", "", "ä"])


def test_git_revisions_follow_check_ref_format() -> None:
    accepts(kv.git_ref, ["main", "HEAD", "refs/tags/v1.2", "release/2026-11", "a" * 40, "feature@x"])
    refuses(
        kv.git_ref,
        [
            "main\nx",
            "",
            "a..b",
            "a b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[b",
            "a\\b",
            "/main",
            "main/",
            "main.",
            "a//b",
            "@",
            "a@{1}",
            ".hidden",
            "x/.y",
            "a.lock",
            "x/a.lock",
            "del\x7f",
        ],
    )


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("", "it is empty"),
        ("a\x1fb", "it contains a control character"),  # bytes below \040
        ("a\x7fb", "it contains a control character"),  # and \177 DEL
        ("a b", "it contains one of: space ~ ^ : ? * [ \\"),  # the space is not a control character
        ("a~1", "it contains one of: space ~ ^ : ? * [ \\"),
        ("a..b", "it contains '..', '@{' or '//'"),
        ("a@{u}", "it contains '..', '@{' or '//'"),
        ("a//b", "it contains '..', '@{' or '//'"),
        ("@", "it is '@', starts with '/' or ends with '/' or '.'"),
        ("/a", "it is '@', starts with '/' or ends with '/' or '.'"),
        ("a/", "it is '@', starts with '/' or ends with '/' or '.'"),
        ("a.", "it is '@', starts with '/' or ends with '/' or '.'"),
        ("x/.y", "a component starts with '.' or ends with '.lock'"),
        ("x.lock/y", "a component starts with '.' or ends with '.lock'"),
    ],
)
def test_git_revision_refusals_name_the_rule(ref: str, reason: str) -> None:
    """git/git Documentation/git-check-ref-format.txt, one rule each: no ASCII control characters (bytes below
    \\040, or \\177 DEL), space, ~ ^ : ? * [ or \\; no '..', '@{' or '//'; not the single character '@', no
    '/' at either end, no '.' at the end; no component that begins with '.' or ends with '.lock'."""
    assert kv.git_ref(ref) == f"{ref!r} is not a Git revision ({reason}; see git check-ref-format)"


def test_git_revisions_may_use_every_other_printable_character() -> None:
    """check-ref-format refuses only the characters listed above: upper case, '!', '#', '{', '@' not before
    '{', a '.' inside a component, all pass."""
    accepts(kv.git_ref, ["Feature-X", "fix!", "issue#12", "v1.2.3-rc.1", "a{b}", "user@host", "a.b/c.d", "x/a.locked"])


def test_image_references_follow_the_distribution_grammar() -> None:
    accepts(
        kv.image_reference,
        [
            "python",
            "python:3.12",
            "ghcr.io/acme/fraud-train@sha256:" + "a" * 64,
            "localhost:5000/x/y:tag",
            "registry.example.com:443/a/b_c__d---e.f:v1",
            "[::1]:5000/img",
            "kserve/sklearnserver:v0.20.0",
            "a/b:tag@sha256:" + "0" * 64,
        ],
    )
    refuses(
        kv.image_reference,
        [
            "ghcr.io/acme/img\n",
            "python 3",
            "",
            "Acme/Img",
            "img:",
            "img:-tag",
            "img@sha256:abc",
            "img:" + "t" * 129,
            "img@sha256:" + "a" * 63,
            "a/" + "b" * 260,
            "http://registry/img",
            "img::tag",
            " img",
        ],
    )


def test_cluster_urls() -> None:
    accepts(kv.https_url, ["https://kubernetes.default.svc", "https://10.0.0.1:6443", "https://h.example.com/k8s/c1"])
    refuses(
        kv.https_url,
        [
            "not a url",
            "http://kubernetes.default.svc",
            "https://",
            "kubernetes.default.svc",
            "https://u:p@host",
            "https://host:99999",
            "https://host\n",
            "https://host/?x=1",
        ],
    )


def test_cluster_url_refusals_name_the_problem() -> None:
    """A destination server Argo CD can match and reach: https with a host, a port Kubernetes' IsValidPortNum
    accepts (1-65535; `url.Parse` takes port 0), no credentials, no spaces or control characters anywhere."""
    assert kv.https_url("https://host:0") == "'https://host:0' has port 0"
    assert kv.https_url("https://host:1") is None
    assert kv.https_url("https://u:p@host") == (
        "a cluster URL must not carry user information; Argo CD keeps cluster credentials in its cluster Secrets"
    )
    for url in ("https://kube rnetes", "https://ho\x00st", "https://host/\u200bx"):  # a space; control; format
        assert kv.https_url(url) == f"{url!r} is not a URL (it contains spaces or control characters)", url
    assert kv.https_url("https://host#f") == "'https://host#f' must not have a query or fragment"


@pytest.mark.parametrize(
    "schedule",
    [
        "0 3 * * 1",
        "*/15 * * * *",
        "0 0 1 JAN,jul *",
        "0 9-17/2 * * MON-FRI",
        "5 4 * * sun",
        "0 0 ? * *",
        "@daily",
        "@hourly",
        "@yearly",
        "@every 1h30m",
        "@every 90s",
        "0,30 * 1-31 1-12 0-6",
        "7/5 * * * *",
        "+5 * * * *",  # strconv.Atoi takes a sign
        "0" * 40 + "7 * * * *",  # and any number of leading zeros
        "*/9223372036854775807 * * * *",
    ],
)
def test_cron_schedules_argo_accepts(schedule: str) -> None:
    assert kv.cron_schedule(schedule) is None


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ("61 25 * * *", "minute field '61'"),
        ("0 25 * * *", "hour field '25'"),
        ("0 0 0 * *", "day-of-month field '0'"),
        ("0 0 1 13 *", "month field '13'"),
        ("0 0 * * 7", "day-of-week field '7'"),
        ("0 0 * * MOX", "day-of-week field 'MOX'"),
        ("0 0 * JAN-XYZ *", "month field"),
        ("*/0 * * * *", "step must be positive"),
        ("5-1 * * * *", "starts after it ends"),
        ("1/2/3 * * * *", "more than one '/'"),
        ("every day", "exactly 5 fields"),
        ("0 3 * * 1 2026", "found 6"),
        ("0 3 * *", "found 4"),
        ("@often", "not a cron descriptor"),
        ("@every day", "Go duration"),
        ("@every -1h", "positive"),
        ("CRON_TZ=UTC 0 3 * * *", "training.timezone"),
        ("", "must not be empty"),
        ("-1 * * * *", "minute field"),
    ],
)
def test_cron_schedules_argo_refuses(schedule: str, fragment: str) -> None:
    message = kv.cron_schedule(schedule)
    assert message is not None and fragment in message, message


@pytest.mark.parametrize(
    ("schedule", "ending"),
    [
        ("1/2/3 * * * *", "the minute field '1/2/3' has more than one '/'"),
        ("1-2-3 * * * *", "the minute field '1-2-3' has more than one '-'"),
        ("x * * * *", "the minute field 'x' 'x' is not a number"),
        ("1-x * * * *", "the minute field '1-x' 'x' is not a number"),
        ("0 0 * * MOX", "the day-of-week field 'MOX' 'MOX' is not a number or a name"),
        ("0 0 * JAN-XYZ *", "the month field 'JAN-XYZ' 'XYZ' is not a number or a name"),
        ("*/x * * * *", "the minute field '*/x' step 'x' is not a number"),
        ("*/-1 * * * *", "the minute field '*/-1' step '-1' is not a number"),  # mustParseInt: negative
        ("*/0 * * * *", "the minute field '*/0' step must be positive"),
        ("0 20-10/2 * * *", "the hour field '20-10/2' starts after it ends (20 > 10)"),
        ("0 9-30/2 * * *", "the hour field '9-30/2' is outside 0-23"),
        ("1" * 19 + " * * * *", f"the minute field '{'1' * 19}' is outside 0-59"),  # Atoi reads it
        ("9223372036854775807 * * * *", "the minute field '9223372036854775807' is outside 0-59"),  # 2^63-1
        (
            "9223372036854775808 * * * *",  # 2^63: beyond Atoi's int64
            "the minute field '9223372036854775808' '9223372036854775808' is not a number",
        ),
    ],
)
def test_cron_refusals_name_the_field_and_the_rule(schedule: str, ending: str) -> None:
    """robfig/cron v3 parser.go getRange, as Argo Workflows' ParseStandard runs it: one '/' at most, one '-' at
    most, numbers by strconv.Atoi (mustParseInt refuses a negative one) or names where the field has them, a
    positive step, `N/step` meaning N to the field's maximum, and the range inside the field's bounds."""
    message = kv.cron_schedule(schedule)
    assert message == f"{schedule!r}: {ending}", message


def test_cron_schedule_messages() -> None:
    """The refusals before any field is read, each with its own line."""
    assert kv.cron_schedule(" ") == "a cron schedule must not be empty"
    for prefixed in ("TZ=UTC 0 3 * * *", "CRON_TZ=Europe/Berlin 0 3 * * *"):
        assert kv.cron_schedule(prefixed) == (
            "set training.timezone instead of a TZ= or CRON_TZ= prefix in the schedule"
        ), prefixed


def test_every_takes_a_positive_interval() -> None:
    """robfig/cron parser.go reads `@every <d>` with Go's time.ParseDuration and constantdelay.go's Every clamps
    any interval below one second to one second: `@every 0s` or a negative interval would run every second,
    so they are refused as mistakes; any positive interval is accepted as written."""
    assert kv.cron_schedule("@every 1ns") is None
    assert kv.cron_schedule("@every 0s") == "'@every 0s': the @every interval must be positive"
    assert kv.cron_schedule("@every -1ns") == "'@every -1ns': the @every interval must be positive"


def test_time_zones() -> None:
    accepts(kv.timezone, ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"])
    refuses(kv.timezone, ["Local", "../etc/passwd", "/etc/localtime", "Europe/Berln", "Mars/Olympus", "Europe", ""])


def _zone_sources(monkeypatch: pytest.MonkeyPatch, *, package: bool, system: list[str]) -> None:
    """This machine's tz database as the rule sees it: the `tzdata` package, and zoneinfo.TZPATH."""
    import importlib.util
    import zoneinfo

    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        if name == "tzdata":
            return real("json") if package else None  # any spec stands for an installed package
        return real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(zoneinfo, "TZPATH", tuple(system))


def test_the_zone_database_is_the_package_or_a_system_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Python's zoneinfo reads the system's tz files (zoneinfo.TZPATH) or the `tzdata` package; a system
    directory counts when it holds the file UTC."""
    (tmp_path / "with").mkdir()
    (tmp_path / "with" / "UTC").write_bytes(b"TZif")
    (tmp_path / "without").mkdir()
    for package, system, found in [
        (False, [], False),
        (True, [], True),
        (False, [str(tmp_path / "without")], False),
        (False, [str(tmp_path / "without"), str(tmp_path / "with")], True),
        (True, [str(tmp_path / "with")], True),
    ]:
        _zone_sources(monkeypatch, package=package, system=system)
        assert kv._zone_database_available() is found, (package, system)


def test_time_zones_without_a_zone_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a database only the form is checked: an IANA-style name of at most 255 characters (one file
    name), never `Local` (Go's time.LoadLocation gives the controller's own zone for it)."""
    _zone_sources(monkeypatch, package=False, system=[])
    accepts(kv.timezone, ["UTC", "Europe/Berln", "Mars/Olympus", "a" * 255])
    refuses(kv.timezone, ["Local", "a" * 256, "../etc/passwd", "/etc/localtime", "", "Europe/"])


def test_go_durations() -> None:
    assert kv.go_duration_nanoseconds("1h30m") == 5400 * 10**9
    assert kv.go_duration_nanoseconds("1.5h") == 5400 * 10**9
    assert kv.go_duration_nanoseconds("300ms") == 3 * 10**8
    assert kv.go_duration_nanoseconds("0") == 0
    assert kv.go_duration_nanoseconds("-1s") == -(10**9)
    for bad in ("", "1", "1d", "h", "1h 30m", "3000000h", "--1s", "+-1s", "1.2.3s"):
        assert kv.go_duration_nanoseconds(bad) is None, bad
    assert kv.duration_range(3600) is None
    assert kv.duration_range(10**12) == "is longer than a Go duration can hold (about 292 years)"


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [("+1s", 10**9), ("+0", 0), ("-0", 0), ("+1.5m", 90 * 10**9), (".5s", 5 * 10**8), ("5.s", 5 * 10**9)],
)
def test_go_duration_signs_and_fractions(text: str, nanoseconds: int) -> None:
    """Go's time.ParseDuration (src/time/format.go): `[-+]?([0-9]*(\\.[0-9]*)?[a-z]+)+`; a leading '+' or '-'
    is consumed first, then "0" alone is zero; a number needs digits before or after its '.'."""
    assert kv.go_duration_nanoseconds(text) == nanoseconds
    for bad in ("+", "-", ".s", "+.s"):
        assert kv.go_duration_nanoseconds(bad) is None, bad


def test_tolerations_follow_kubernetes_validation() -> None:
    from pydantic import ValidationError

    from mlgitops.language.project import Toleration

    accepted = [
        {"operator": "Exists"},
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "ml", "effect": "NoExecute", "tolerationSeconds": 300},
    ]
    for data in accepted:
        Toleration.model_validate(data)
    refused = [
        ({"value": "ml"}, "without a key"),
        ({"key": "a", "operator": "Exists", "value": "ml"}, "must not have a value"),
        ({"key": "a", "effect": "NoSchedule", "tolerationSeconds": 5}, "NoExecute"),
        ({"key": "a", "value": "m l"}, "label value"),
        ({"key": "a b", "operator": "Exists"}, "not a valid key"),
        ({"key": "a", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2**63}, "64-bit"),
    ]
    for data, fragment in refused:
        with pytest.raises(ValidationError) as caught:
            Toleration.model_validate(data)
        assert fragment in str(caught.value), (data, str(caught.value))
