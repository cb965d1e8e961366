"""TIME values of `hydrogen events export`: ISO 8601 instants, `now`, and ages before now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hydrogen.analytics.errors import BadValue
from hydrogen.analytics.time_window import Window, parse_time, window

NOW = datetime(2026, 3, 8, 12, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T10:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T11:00:00+01:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01 10:00:00.250", datetime(2026, 3, 1, 10, 0, 0, 250_000, tzinfo=UTC)),
        ("  2026-03-01T10:00Z ", datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ],
)
def test_iso_8601_times_are_instants_in_utc(text: str, expected: datetime) -> None:
    parsed = parse_time(text, NOW)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_a_time_without_an_offset_is_utc_not_the_machines_zone() -> None:
    assert parse_time("2026-03-01T10:00", NOW).tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("0h", timedelta(0)),
    ],
)
def test_an_age_is_that_long_before_now(text: str, ago: timedelta) -> None:
    assert parse_time(text, NOW) == NOW - ago


def test_now_is_now() -> None:
    assert parse_time("now", NOW) == NOW


@pytest.mark.parametrize(
    "text", ["yesterday", "1y", "-1h", "1.5h", "7 d", "", "2026-13-01", "h", "1H"]
)
def test_anything_else_is_refused_naming_the_value(text: str) -> None:
    with pytest.raises(BadValue) as caught:
        parse_time(text, NOW)
    assert caught.value.value == text
    assert repr(text) in str(caught.value)
    assert "ISO 8601" in str(caught.value)


def test_an_age_reaching_before_year_one_is_refused() -> None:
    with pytest.raises(BadValue, match="before year 1"):
        parse_time("99999999w", NOW)


def test_a_window_runs_from_since_to_now_by_default() -> None:
    span = window("1h", None, NOW)
    assert span == Window(NOW - timedelta(hours=1), NOW)
    assert span.since in span
    assert span.until not in span  # until is excluded


def test_a_window_that_ends_before_it_starts_is_refused_naming_until() -> None:
    with pytest.raises(BadValue) as caught:
        window("1h", "2h", NOW)
    assert caught.value.value == "2h"
    assert "not later than --since '1h'" in str(caught.value)


def test_an_empty_window_is_refused() -> None:
    with pytest.raises(BadValue, match="not later than"):
        window("2026-03-01", "2026-03-01T00:00Z", NOW)
