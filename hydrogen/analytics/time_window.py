"""TIME values of the analytics commands, and the window [since, until) they bound.

A TIME is an ISO 8601 instant (`2026-03-01`, `2026-03-01T10:00`, `2026-03-01T10:00:00Z`,
`2026-03-01T11:00:00+01:00`), `now`, or an age: a whole number and a unit (`30s`, `15m`,
`1h`, `7d`, `2w`) meaning that long before now. An instant without an offset is UTC, never the
machine's zone, so the same command exports the same rows wherever it runs.

Pure: `now` comes in as an argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hydrogen.analytics.errors import BadValue

AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_AGE = re.compile(r"^(?P<count>[0-9]+)(?P<unit>[smhdw])$")
EXPECTED = (
    "expected an ISO 8601 time (2026-03-01, 2026-03-01T10:00:00Z, 2026-03-01T11:00+01:00), "
    "`now`, or an age such as 30m, 1h, 7d, 2w"
)


def parse_time(text: str, now: datetime) -> datetime:
    """The instant `text` names, as an aware UTC datetime; BadValue naming `text` if none."""
    value = text.strip()
    if value == "now":
        return now.astimezone(UTC)
    age = _AGE.match(value)
    if age is not None:
        try:
            return now.astimezone(UTC) - timedelta(
                seconds=int(age["count"]) * AGE_UNITS[age["unit"]]
            )
        except OverflowError:
            raise BadValue(text, "an age reaching before year 1") from None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise BadValue(text, EXPECTED) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """The instants t with since <= t < until."""

    since: datetime
    until: datetime

    def __contains__(self, at: datetime) -> bool:
        return self.since <= at < self.until


def window(since: str, until: str | None, now: datetime) -> Window:
    """The window between two TIME values (`until` defaults to now); BadValue naming the
    value that is wrong, `until` when the window is empty."""
    start = parse_time(since, now)
    end = parse_time(until, now) if until is not None else now.astimezone(UTC)
    if end <= start:
        raise BadValue(
            until if until is not None else "now",
            f"not later than --since {since!r} ({start.isoformat(timespec='seconds')})",
        )
    return Window(start, end)
