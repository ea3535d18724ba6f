"""Every entry of kubevalues' tables, with the boundary on each side: the cron names and descriptors robfig/cron
reads, the units of Go durations, the digest lengths of registered algorithms and the longest Go duration.
Each expected value is written out here, not computed from the tables under test."""

from __future__ import annotations

import pytest

from mlgitops.language import kubevalues as kv

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


@pytest.mark.parametrize("name", MONTHS + [m.upper() for m in MONTHS])
def test_every_month_name_is_a_month(name: str) -> None:
    assert kv.cron_schedule(f"0 3 1 {name} *") is None
    assert kv.cron_schedule(f"0 3 1 * {name}") is not None  # not a weekday


@pytest.mark.parametrize("name", WEEKDAYS + [d.title() for d in WEEKDAYS])
def test_every_weekday_name_is_a_weekday(name: str) -> None:
    assert kv.cron_schedule(f"0 3 * * {name}") is None
    assert kv.cron_schedule(f"0 3 * {name} *") is not None  # not a month


def test_names_keep_their_order_in_ranges() -> None:
    assert kv.cron_schedule("0 3 * jan-dec mon-fri") is None
    assert kv.cron_schedule("0 3 * * sun-sat") is None
    assert "starts after it ends (12 > 1)" in (kv.cron_schedule("0 3 * dec-jan *") or "")
    assert "starts after it ends (6 > 0)" in (kv.cron_schedule("0 3 * * sat-sun") or "")


@pytest.mark.parametrize(
    ("position", "name", "low", "high"),
    [
        (0, "minute", 0, 59),
        (1, "hour", 0, 23),
        (2, "day-of-month", 1, 31),
        (3, "month", 1, 12),
        (4, "day-of-week", 0, 6),
    ],
)
def test_cron_field_bounds(position: int, name: str, low: int, high: int) -> None:
    """robfig/cron v3 parser.go: minutes 0-59, hours 0-23, dom 1-31, months 1-12, dow 0-6; getRange refuses a
    range that starts below the field's minimum or ends above its maximum."""

    def schedule(value: str) -> str:
        fields = ["1"] * 5
        fields[position] = value
        return " ".join(fields)

    assert kv.cron_schedule(schedule(str(low))) is None
    assert kv.cron_schedule(schedule(str(high))) is None
    assert kv.cron_schedule(schedule(f"{low}-{high}")) is None
    assert kv.cron_schedule(schedule(f"*/{high}")) is None
    for outside in ([str(low - 1)] if low > 0 else []) + [str(high + 1), f"{low}-{high + 1}"]:
        message = kv.cron_schedule(schedule(outside))
        assert message == f"{schedule(outside)!r}: the {name} field {outside!r} is outside {low}-{high}", message


@pytest.mark.parametrize(
    "descriptor", ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]
)
def test_every_descriptor_robfig_cron_knows(descriptor: str) -> None:
    assert kv.cron_schedule(descriptor) is None
    assert kv.cron_schedule(descriptor + "s") is not None


@pytest.mark.parametrize(
    ("text", "nanoseconds"),
    [
        ("1ns", 1),
        ("1us", 1_000),
        ("1\u00b5s", 1_000),  # MICRO SIGN, as Go's time.ParseDuration spells it
        ("1\u03bcs", 1_000),  # GREEK SMALL LETTER MU, which Go accepts too
        ("1ms", 1_000_000),
        ("1s", 1_000_000_000),
        ("1m", 60_000_000_000),
        ("1h", 3_600_000_000_000),
        ("2h45m3.5s", (2 * 3600 + 45 * 60 + 3.5) * 1_000_000_000),
    ],
)
def test_go_duration_units(text: str, nanoseconds: float) -> None:
    assert kv.go_duration_nanoseconds(text) == int(nanoseconds)
    assert kv.go_duration_nanoseconds("-" + text) == -int(nanoseconds)


def test_go_duration_bounds() -> None:
    assert kv.go_duration_nanoseconds("9223372036854775807ns") == 2**63 - 1
    assert kv.go_duration_nanoseconds("9223372036854775808ns") is None
    assert kv.duration_range(9_223_372_036) is None  # 9223372036 s still fits in 2^63-1 ns
    assert kv.duration_range(9_223_372_037) is not None


@pytest.mark.parametrize(("algorithm", "digits"), [("sha256", 64), ("sha384", 96), ("sha512", 128)])
def test_digest_lengths_of_registered_algorithms(algorithm: str, digits: int) -> None:
    image = "ghcr.io/acme/model@{}:{}"
    assert kv.image_reference(image.format(algorithm, "a" * digits)) is None
    for wrong in (digits - 1, digits + 1):
        message = kv.image_reference(image.format(algorithm, "a" * wrong))
        assert message is not None and f"must have {digits} hex digits, not {wrong}" in message
    assert kv.image_reference(image.format("blake3", "a" * 40)) is None  # an unregistered algorithm: any length
