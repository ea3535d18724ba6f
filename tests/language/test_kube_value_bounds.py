"""Boundary tables (min-1, min, max, max+1) for the integer and quantity rules of
generator/mlgitops/language/kubevalues.py: every Kubernetes quantity suffix, and the int32/int64 fields."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlgitops.language import kubevalues as kv

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@pytest.mark.parametrize(
    ("check", "low", "high"),
    [(kv.int32, INT32_MIN, INT32_MAX), (kv.int64, INT64_MIN, INT64_MAX)],
    ids=["int32", "int64"],
)
def test_integer_bounds(check: Callable[[int], str | None], low: int, high: int) -> None:
    assert check(low - 1) is not None
    assert check(low) is None
    assert check(0) is None
    assert check(high) is None
    message = check(high + 1)
    assert message is not None and str(high + 1) in message and str(high) in message


def test_the_module_constants_are_the_go_limits() -> None:
    assert (kv.INT32_MAX, kv.INT64_MAX) == (INT32_MAX, INT64_MAX)


DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


def _largest(suffix: str) -> int:
    """The largest whole number N for which `N<suffix>` is at most 2^63-1."""
    if suffix in BINARY:
        return INT64_MAX // 2 ** BINARY[suffix]
    exponent = DECIMAL[suffix]
    return INT64_MAX * 10**-exponent if exponent < 0 else INT64_MAX // 10**exponent


@pytest.mark.parametrize("suffix", [*DECIMAL, *BINARY])
def test_quantity_bounds_for_every_suffix(suffix: str) -> None:
    assert kv.quantity(f"-1{suffix}") is not None and "negative" in (kv.quantity(f"-1{suffix}") or "")  # min-1
    assert kv.quantity(f"0{suffix}") is None  # min
    assert kv.quantity(f"1{suffix}") is None
    assert kv.quantity(f"{_largest(suffix)}{suffix}") is None  # max
    too_large = kv.quantity(f"{_largest(suffix) + 1}{suffix}")  # max+1
    assert too_large is not None and "larger than Kubernetes can hold" in too_large


@pytest.mark.parametrize(
    ("value", "largest"),
    [("E", "9E"), ("Ei", "7Ei"), ("Pi", "8191Pi"), ("P", "9223P"), ("Ti", "8388607Ti"), ("k", "9223372036854775k")],
)
def test_quantity_maxima_by_hand(value: str, largest: str) -> None:
    """The table above, for a few suffixes, worked out by hand (not from the same formula)."""
    assert kv.quantity(largest) is None
    assert kv.quantity(str(int(largest.removesuffix(value)) + 1) + value) is not None


@pytest.mark.parametrize("value", ["1K", "1ki", "1KI", "1mi", "1g", "1e", "1 Gi", "Gi", "1Gi ", "1.Gi5"])
def test_quantity_suffixes_are_case_sensitive_and_exact(value: str) -> None:
    assert kv.quantity(value) is not None


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("9.223372036854775807E", True),
        ("9.223372036854775808E", False),
        ("9223372036854775807", True),
        ("9223372036854775808", False),
        ("9223372036854775807e0", True),
        ("9.223372036854775807e18", True),
        ("9.223372036854775808e18", False),
        ("1e19", False),
        ("0e99", True),
        ("0.5Ki", True),
        (".5", True),
    ],
)
def test_quantity_bounds_with_fractions_and_exponents(value: str, ok: bool) -> None:
    assert (kv.quantity(value) is None) is ok


OUT_OF_RANGE = "has an exponent out of range"
TOO_LARGE = "is larger than Kubernetes can hold (2^63-1)"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1e-2147483647", None),  # scale 0 + 2147483647: the largest that fits
        ("1e-2147483648", OUT_OF_RANGE),  # an int32, but -(-2^31) wraps to -2^31: read as 1e+2147483648
        ("1.5e-2147483646", None),  # one decimal place: scale 1 + 2147483646
        ("1.5e-2147483647", OUT_OF_RANGE),  # 1 + 2147483647 wraps
        ("1.50e-2147483646", OUT_OF_RANGE),  # two places: 2 + 2147483646 wraps
        ("1e-99999999999", OUT_OF_RANGE),  # int32(-99999999999) is another exponent
        ("1e-1000000000", None),  # a 12-character suffix that fits: rounded up to 1n by Kubernetes
        ("1e-3000000", None),  # far below 1n, and far beyond what a default decimal context scales
        ("0e-9999999999", None),  # zero is zero whatever exponent Kubernetes reads
        ("0e99999999999", None),
        ("1e2147483647", TOO_LARGE),
        ("1e2147483648", OUT_OF_RANGE),  # int32(2^31) is -2^31
        ("1e" + "9" * 11, OUT_OF_RANGE),
    ],
)
def test_quantity_exponents_kubernetes_reads_as_written(value: str, problem: str | None) -> None:
    """k8s.io/apimachinery/pkg/api/resource suffix.go `interpret` parses the exponent with
    `strconv.ParseInt(suffix[1:], 10, 64)` and returns `int32(parsed)`; quantity.go's ParseQuantity then sets
    `amount.SetScale(amount.Scale() + Scale(exponent).infScale())`, where amount.go's infScale is
    `inf.Scale(-s)`: all int32, all wrapping. A quantity whose scale would wrap is one Kubernetes reads as
    another number, so it is refused."""
    message = kv.quantity(value)
    if problem is None:
        assert message is None, message
    else:
        assert message == f"{value!r} {problem}"


# --- lengths: the longest accepted, one more refused ------------------------------------------------


def _subdomain(length: int) -> str:
    """A DNS-1123 subdomain of exactly LENGTH characters (labels of 63, dot-separated)."""
    labels, text = [], ""
    while len(text) < length:
        room = length - len(text) - (1 if text else 0)
        labels.append("a" * min(63, max(room, 1)))
        text = ".".join(labels)
    return text


@pytest.mark.parametrize(
    ("check", "make", "low", "high"),
    [
        (kv.dns1123_label, lambda n: "a" * n, 1, 63),
        (kv.dns1123_subdomain, _subdomain, 1, 253),
        (kv.dns1035_label, lambda n: "a" * n, 1, 63),
        (kv.qualified_name, lambda n: "a" * n, 1, 63),
        (kv.qualified_name, lambda n: _subdomain(n) + "/name", 1, 253),  # the prefix
        (kv.label_value, lambda n: "a" * n, 0, 63),
        (kv.config_map_key, lambda n: "a" * n, 1, 253),
    ],
    ids=[
        "dns1123-label",
        "dns1123-subdomain",
        "dns1035-label",
        "qualified-name",
        "qualified-prefix",
        "label-value",
        "config-map-key",
    ],
)
def test_length_bounds(check: Callable[[str], str | None], make: Callable[[int], str], low: int, high: int) -> None:
    if low > 0:
        assert check(make(low - 1)) is not None  # min-1: empty
    assert check(make(low)) is None
    assert check(make(high)) is None
    assert check(make(high + 1)) is not None


def test_dns1035_label_takes_its_own_maximum() -> None:
    assert kv.dns1035_label("a" * 52, max_length=52) is None
    assert kv.dns1035_label("a" * 53, max_length=52) is not None


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (".", False),
        ("..", False),
        ("...", False),
        ("..a", False),
        (".a", True),
        ("a..", True),
        ("a..b", True),
        ("a.", True),
        ("a b", False),
    ],
)
def test_config_map_key_dots(value: str, ok: bool) -> None:
    """k8s.io/apimachinery/pkg/util/validation/validation.go IsConfigMapKey and its hasChDirPrefix: a key is
    not `.` or `..` and does not start with `..` (it becomes a file name in a volume)."""
    assert (kv.config_map_key(value) is None) is ok


def test_annotations_size_bound_counts_bytes() -> None:
    limit = kv.ANNOTATIONS_SIZE_MAX
    assert kv.annotations_size({"k": "v" * (limit - 1)}) is None
    assert kv.annotations_size({"k": "v" * limit}) is not None
    assert kv.annotations_size({"k": "é" * ((limit - 1) // 2)}) is None  # two bytes each
    assert kv.annotations_size({"k": "é" * (limit // 2)}) is not None


@pytest.mark.parametrize(("length", "shown"), [(80, "a" * 79 + "!"), (81, "a" * 77 + "...")])
def test_a_refused_value_is_shown_quoted_and_at_most_80_characters(length: int, shown: str) -> None:
    message = kv.config_map_key("a" * (length - 1) + "!")
    assert message is not None and message.startswith(repr(shown) + " is not")


def test_image_reference_length_bounds() -> None:
    """The repository name: at most 255 characters (distribution/reference NameTotalLengthMax); the whole
    reference at most 1024; a tag at most 128."""
    name = "/".join(["a" * 63] * 4)  # 255 characters
    assert len(name) == 255
    assert kv.image_reference(name) is None
    assert kv.image_reference(name + "b") is not None
    assert kv.image_reference(name + ":" + "t" * 128) is None
    assert kv.image_reference(name + ":" + "t" * 129) is not None
    digest = "@sha256:" + "0" * 64
    assert kv.image_reference("a" + digest) is None
    assert kv.image_reference("a@sha256:" + "0" * 63) is not None
    assert kv.image_reference("a@sha256:" + "0" * 65) is not None


def test_image_reference_size_cap() -> None:
    """The whole reference is capped at 1024 characters, a bound on hostile input of this rule's own (the API
    server checks only that `image` is non-empty without surrounding spaces): the longest reference of the
    registered algorithms is 520 characters (a name of 255, a tag of 128, a sha512 digest), so only a digest of
    an algorithm go-digest does not register, whose length this rule leaves to the runtime, reaches it."""
    at_cap = "a@blake3:" + "0" * (1024 - len("a@blake3:"))
    assert len(at_cap) == 1024 and kv.image_reference(at_cap) is None
    assert kv.image_reference(at_cap + "0") == f"{kv._show(at_cap + '0')} is too long for a container image reference"
    longest = "/".join(["a" * 63] * 4) + ":" + "t" * 128 + "@sha512:" + "0" * 128
    assert len(longest) == 520 and kv.image_reference(longest) is None
